#!/bin/sh
# Builds the lab's QEMU guest from Debian packages only: the kernel and the
# virtio-net modules of linux-image-amd64, busybox from busybox-static (its
# udhcpc the guest's DHCP client, with the lab's event script), and the lab's
# own probe binary with the shared libraries ldd names for it.
#
#   build-guest.sh --out DIR --init INIT.sh --dhcp-script UDHCPC.script
#                  --probe PATH/tapmip-probe [--kernel VERSION]
#
# DIR receives vmlinuz (the kernel, as installed in /boot), initramfs.cpio (an
# uncompressed newc archive: under TCG, unpacking a compressed one costs seconds)
# and kernel-version. Nothing is downloaded.
set -eu

out= init= dhcp= probe= kver=${TAPMIP_GUEST_KERNEL:-}
while [ $# -gt 0 ]; do
    case $1 in
    --out) out=$2; shift 2 ;;
    --init) init=$2; shift 2 ;;
    --dhcp-script) dhcp=$2; shift 2 ;;
    --probe) probe=$2; shift 2 ;;
    --kernel) kver=$2; shift 2 ;;
    *) echo "build-guest: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$out" ] && [ -n "$init" ] && [ -n "$dhcp" ] && [ -n "$probe" ] || {
    echo "usage: build-guest.sh --out DIR --init INIT.sh --dhcp-script UDHCPC.script --probe TAPMIP_PROBE [--kernel VERSION]" >&2
    exit 2
}

missing() {
    echo "build-guest: $1 is missing: apt-get install $2" >&2
    exit 1
}
busybox=/bin/busybox
[ -x "$busybox" ] && "$busybox" --list | grep -qx cpio || missing "a static busybox ($busybox)" busybox-static
if [ -z "$kver" ]; then
    # The newest Debian amd64 kernel whose modules are installed too.
    for k in $(ls /boot 2>/dev/null | sed -n 's/^vmlinuz-\(.*-amd64\)$/\1/p' | sort -V); do
        [ -f "/lib/modules/$k/modules.dep" ] && kver=$k
    done
fi
[ -n "$kver" ] || missing "a Debian kernel (/boot/vmlinuz-*-amd64 with /lib/modules)" linux-image-amd64
kernel=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
[ -r "$kernel" ] || { echo "build-guest: cannot read $kernel" >&2; exit 1; }
[ -x "$probe" ] || { echo "build-guest: no probe binary at $probe (cargo build first)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tapmip-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/bin" "$root/etc/udhcpc" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/lib/modules/$kver"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$init" "$root/init"
chmod 0755 "$root/init"
cp "$dhcp" "$root/etc/udhcpc/default.script"
chmod 0755 "$root/etc/udhcpc/default.script"

# The virtio PCI transport and virtio-net, with what modules.dep says they need;
# busybox's modprobe reads the same modules.dep.
wanted="kernel/drivers/virtio/virtio_pci.ko kernel/drivers/net/virtio_net.ko"
deps=$work/modules.dep
: > "$deps"
for m in $wanted; do
    line=$(grep "^$m[.:]" "$moddir/modules.dep" || true)
    [ -n "$line" ] || { echo "build-guest: $m is not in $moddir/modules.dep" >&2; exit 1; }
    for f in $(echo "$line" | tr -d ':'); do
        grep -q "^$f:" "$deps" && continue
        grep "^$f:" "$moddir/modules.dep" >> "$deps"
        mkdir -p "$root/lib/modules/$kver/$(dirname "$f")"
        case $f in
        *.xz) xz -dc "$moddir/$f" > "$root/lib/modules/$kver/${f%.xz}" ;;
        *.zst) zstd -qdc "$moddir/$f" > "$root/lib/modules/$kver/${f%.zst}" ;;
        *) cp "$moddir/$f" "$root/lib/modules/$kver/$f" ;;
        esac
    done
done
sed 's/\.ko\.\(xz\|zst\)/.ko/g' "$deps" > "$root/lib/modules/$kver/modules.dep"

# The probe, stripped of its debug information, and the libraries it links.
strip -o "$root/bin/tapmip-probe" "$probe" 2>/dev/null || cp "$probe" "$root/bin/tapmip-probe"
for lib in $(ldd "$probe" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done

mkdir -p "$out"
(cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) > "$out/initramfs.cpio.partial"
mv "$out/initramfs.cpio.partial" "$out/initramfs.cpio"
cp "$kernel" "$out/vmlinuz"
echo "$kver" > "$out/kernel-version"
echo "build-guest: $out: Linux $kver, $(du -k "$out/initramfs.cpio" | cut -f1) KiB initramfs"
