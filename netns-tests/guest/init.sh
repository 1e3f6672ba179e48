#!/bin/sh
# PID 1 of the lab's QEMU guest (see build-guest.sh): loads virtio-net, lets the
# kernel autoconfigure eth0 from the MAG's Router Advertisements (SLAAC), takes
# an IPv4 lease from the MAG's DHCP server when the kernel command line says
# tapmip.ipv4=dhcp (a dual-stack profile), starts the probe servers, then
# serves the lab's commands on the second serial port.
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
ipv4=
grep -qw 'tapmip.ipv4=dhcp' /proc/cmdline && ipv4=dhcp
if [ -n "$ipv4" ]; then
    # busybox udhcpc, as a namespace VM runs it (domain/ipv4.rs): it renews the
    # lease itself, by unicast to the server id all MAGs share, so a renewal
    # after a migration reaches the new MAG; SIGUSR1 renews at once.
    TAPMIP_DHCP_LOG=/tmp/dhcp.events udhcpc -i eth0 -f -s /etc/udhcpc/default.script \
        -t 10 -T 1 -A 2 -O mtu -p /tmp/udhcpc.pid > /tmp/udhcpc.log 2>&1 3>&- &
fi

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
v4=
if [ -n "$ipv4" ]; then
    n=0
    until ip -4 addr show dev eth0 | grep -q 'inet '; do
        n=$((n + 1))
        [ $n -gt 300 ] && { say "no IPv4 lease after 30 s"; break; }
        sleep 0.1
    done
    v4=" $(ip -4 -o addr show dev eth0 | awk '{print $4}')"
    # The IPv4 probes' ports (domain/probes.rs), so both families run at once.
    tapmip-probe udp-echo --listen '0.0.0.0:7010' > /tmp/udp-echo4.log 2>&1 3>&- &
    while true; do tapmip-probe tcp-server --listen '0.0.0.0:7011'; done > /tmp/tcp-server4.log 2>&1 3>&- &
fi
say "ready $(cut -d' ' -f1 /proc/uptime) s after boot: $(ip -6 -o addr show dev eth0 scope global | awk '{print $4}')$v4"

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
