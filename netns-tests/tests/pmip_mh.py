# Mobility Header builders shared by the lab's attack and flood scripts: the
# tests run this file and then lab_attack.py or lab_flood.py as one script. A
# PBU as a MAG builds it (RFC 5213 8.1), the authentication option and its
# authenticator (RFC 4285 5, HMAC-SHA-256-128 as tapmip computes it, see
# docs/auth.md), the checksum of the Mobility Header and of ICMPv6 (RFC 6275
# 6.1.1, RFC 4443 2.3) and a bare IPv6 header, packed by hand: scapy lacks
# the PMIPv6 options, and a flood needs no more than struct.

import hashlib
import hmac
import struct
import time

VM1_MN_ID = b"vm1@tapmip"
VM1_MAC = bytes.fromhex("525400aa0001")
AUTHENTICATOR_LEN = 16


def padding(n):
    """Pad1 or PadN of n octets (RFC 6275 6.2.2, 6.2.3)."""
    if n == 0:
        return b""
    if n == 1:
        return b"\x00"
    return bytes([1, n - 2]) + bytes(n - 2)


def aligned(body, option, x, y):
    """Appends option to body (which starts 12 octets into the MH) at xn+y."""
    at = 12 + len(body)
    return body + padding((y - at) % x) + option


def pbu(hi, auth=None, seq=4242, mn_id=VM1_MN_ID, ll_id=VM1_MAC):
    """A PBU as a MAG builds it: A, H, P set, lifetime 3600 s, MN-ID, HNP
    ::/0, HI, ATT 802.3, MN LL-ID, a timestamp of now. `auth` is the
    authentication option's octets and the alignment they need."""
    body = b""
    body = aligned(body, bytes([8, 1 + len(mn_id), 1]) + mn_id, 1, 0)
    body = aligned(body, bytes([22, 18, 0, 0]) + bytes(16), 8, 4)
    body = aligned(body, bytes([23, 2, 0, hi]), 1, 0)
    body = aligned(body, bytes([24, 2, 0, 3]), 1, 0)
    body = aligned(body, bytes([25, 8, 0, 0]) + ll_id, 8, 2)
    stamp = int(time.time() * 65536)
    body = aligned(body, bytes([27, 8]) + struct.pack("!Q", stamp), 8, 2)
    if auth is not None:
        option, x, y = auth
        body = aligned(body, option, x, y)
    body += padding(-(12 + len(body)) % 8)
    length = 12 + len(body)
    head = struct.pack("!BBBBHHHH", 59, length // 8 - 1, 5, 0, 0, seq, 0xC200, 900)
    return head + body


def auth_option(spi, data, length=None):
    """Type 9, Subtype 1 (MN-HA), SPI, data; aligned to end the message."""
    option = bytes([9, 5 + len(data) if length is None else length, 1])
    option += struct.pack("!I", spi) + data
    return option, 8, (-len(option)) % 8


def sealed(key, src, dst, mh):
    """`mh` (ending in an authenticator of zeros) with its authenticator:
    HMAC-SHA-256 over both addresses and the message up to the authenticator,
    its checksum zero, cut to 16 octets. Addresses are 16-octet strings."""
    data_at = len(mh) - AUTHENTICATOR_LEN
    covered = src + dst + mh[:4] + b"\x00\x00" + mh[6:data_at]
    tag = hmac.new(key, covered, hashlib.sha256).digest()[:AUTHENTICATOR_LEN]
    return mh[:data_at] + tag


def checksum(src, dst, next_header, payload):
    """The upper-layer checksum over the IPv6 pseudo-header (RFC 8200 8.1)."""
    data = src + dst + struct.pack("!I3xB", len(payload), next_header) + payload
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def with_checksum(src, dst, next_header, message, at):
    """`message` with its checksum (at octet `at`) filled in."""
    zeroed = message[:at] + b"\x00\x00" + message[at + 2 :]
    value = checksum(src, dst, next_header, zeroed)
    return zeroed[:at] + struct.pack("!H", value) + zeroed[at + 2 :]


def ipv6(src, dst, next_header, payload, hop_limit=64):
    """A bare IPv6 header and its payload."""
    head = struct.pack("!IHBB", 0x60000000, len(payload), next_header, hop_limit)
    return head + src + dst + payload
