#!/bin/sh
# PID 1 of the lab's QEMU guest (see build-guest.sh): loads virtio-net, lets the
# kernel autoconfigure eth0 from the MAG's Router Advertisements (SLAAC), starts
# the probe servers, then serves the lab's commands on the second serial port.
#
# Console lines the lab waits for start with "tapmip-guest:".
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
say() { echo "tapmip-guest: $*" > /dev/ttyS0; }
say "init $(cut -d' ' -f1 /proc/uptime) s after boot"

# The lab's command channel, the second serial port, is opened once and kept
# open: the UART driver clears its FIFO on every open, losing what had arrived.
exec 3<>/dev/ttyS1
stty raw -echo <&3

modprobe -a virtio_pci virtio_net || say "loading virtio-net failed"
ip link set lo up
# A host, not a router: it accepts RAs and forms its addresses from them (the
# kernel's defaults, said here so the guest does not depend on them).
sysctl -qw net.ipv6.conf.default.forwarding=0 net.ipv6.conf.default.accept_ra=1 \
    net.ipv6.conf.default.autoconf=1
ip link set eth0 up
# IPv4 (dual stack) will start udhcpc here.

n=0
until ip -6 addr show dev eth0 scope global | grep -q 'inet6' &&
    ! ip -6 addr show dev eth0 | grep -q tentative; do
    n=$((n + 1))
    [ $n -gt 600 ] && { say "no global IPv6 address after 60 s"; break; }
    sleep 0.1
done
tapmip-probe udp-echo --listen '[::]:7000' > /tmp/udp-echo.log 2>&1 3>&- &
# One TCP probe connection per run of the server: a new one for every run.
while true; do tapmip-probe tcp-server --listen '[::]:7001'; done > /tmp/tcp-server.log 2>&1 3>&- &
say "ready $(cut -d' ' -f1 /proc/uptime) s after boot: $(ip -6 -o addr show dev eth0 scope global | awk '{print $4}')"

# Commands from the lab, one per line: "TOKEN COMMAND..."; the answer is the
# command's output, then "TOKEN EXIT_STATUS".
while true; do
    while IFS=' ' read -r token cmd <&3; do
        [ -n "$token" ] || continue
        sh -c "$cmd" < /dev/null >&3 2>&1
        echo "$token $?" >&3
    done
    sleep 1
done
