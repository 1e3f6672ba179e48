# The floods of issue 9, run by lab_flood.rs after pmip_mh.py (as one
# script) while vm1 migrates from mag1 to mag2:
#
#   pbu SECONDS RATE LMA_MAC LMA_WAN1 LMA_WAN2 MAG1 MAG1_KEY_FILE MAG2 SPI
#     from host2 on wan2, PBUs to the LMA in turn: forged from random sources
#     (no key), forged in mag2's name with a random authenticator, and
#     authentic ones, made with mag1's key (a stolen key), for made-up nodes.
#   nd SECONDS RATE ACCESS_LINK_LOCAL
#     from vm2 on mag2's access link, Router and Neighbor Solicitations (for
#     the MAG's address) from random MACs and random IPv6 sources, each with
#     its source link-layer address option.
#
# Frames go out of eth0 through a raw socket at about RATE a second for
# SECONDS; at the end one line per kind: "sent KIND COUNT".

import ipaddress
import os
import socket
import sys
import time

mode, seconds, rate = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
args = sys.argv[4:]
IFACE = "eth0"


def addr(text):
    return ipaddress.IPv6Address(text).packed


def random_mac():
    # Locally administered unicast: never a node of the lab's policy.
    return bytes([0x06]) + os.urandom(5)


def random_source(i):
    prefix = addr("fe80::") if i % 2 else addr("2001:db8:bad::")
    return prefix[:8] + os.urandom(8)


def multicast_mac(group):
    return b"\x33\x33" + group[12:]


def ethernet(dst, src, packet):
    return dst + src + b"\x86\xdd" + packet


def own_mac():
    with open(f"/sys/class/net/{IFACE}/address") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def pbu_frames():
    lma_mac, lma1, lma2, mag1, key_file, mag2, spi = args
    lma_mac = bytes.fromhex(lma_mac.replace(":", ""))
    lma1, lma2, mag1, mag2, spi = addr(lma1), addr(lma2), addr(mag1), addr(mag2), int(spi)
    with open(key_file) as f:
        key = bytes.fromhex(f.read().strip())
    me = own_mac()
    zeros = auth_option(spi, bytes(AUTHENTICATOR_LEN))
    i = 0
    while True:
        kind = ("forged_random_source", "forged_as_mag2", "authentic_unknown_node")[i % 3]
        if kind == "forged_random_source":
            src, dst = random_source(0), lma2
            mh = pbu(4, seq=i & 0xFFFF)
        elif kind == "forged_as_mag2":
            src, dst = mag2, lma2
            mh = pbu(4, auth_option(spi, os.urandom(AUTHENTICATOR_LEN)), seq=i & 0xFFFF)
        else:
            src, dst = mag1, lma1
            mn_id = b"flood%d@made.up" % i
            mh = sealed(key, src, dst, pbu(1, zeros, seq=i & 0xFFFF, mn_id=mn_id, ll_id=random_mac()))
        mh = with_checksum(src, dst, 135, mh, 4)
        yield kind, ethernet(lma_mac, me, ipv6(src, dst, 135, mh))
        i += 1


def nd_frames():
    (access,) = args
    access = addr(access)
    solicited = addr("ff02::1:ff00:0")[:13] + access[13:]
    all_routers = addr("ff02::2")
    i = 0
    while True:
        mac, src = random_mac(), random_source(i)
        sllao = bytes([1, 1]) + mac
        if i % 2:
            kind, dst = "rs", all_routers
            icmp = bytes([133, 0, 0, 0]) + bytes(4) + sllao
        else:
            kind, dst = "ns", solicited
            icmp = bytes([135, 0, 0, 0]) + bytes(4) + access + sllao
        icmp = with_checksum(src, dst, 58, icmp, 2)
        yield kind, ethernet(multicast_mac(dst), mac, ipv6(src, dst, 58, icmp, hop_limit=255))
        i += 1


frames = {"pbu": pbu_frames, "nd": nd_frames}[mode]()
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((IFACE, 0))
sent = {}
start = time.monotonic()
n = 0
for kind, frame in frames:
    elapsed = time.monotonic() - start
    if elapsed >= seconds:
        break
    ahead = n / rate - elapsed
    if ahead > 0:
        time.sleep(ahead)
    try:
        sock.send(frame)
    except OSError:
        # A full send queue under the flood: the frame is lost, as on a wire.
        sent["lost_" + kind] = sent.get("lost_" + kind, 0) + 1
        continue
    sent[kind] = sent.get(kind, 0) + 1
    n += 1
for kind, count in sorted(sent.items()):
    print(f"sent {kind} {count}", flush=True)
