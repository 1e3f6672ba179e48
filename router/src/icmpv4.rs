//! ICMPv4 messages a router sends (RFC 792, RFC 1812 4.3): the errors about
//! packets it could not forward, and Echo Requests for simulations.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   unused (Pointer: 12)        |  Next-Hop MTU (3/4, RFC 1191) |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  the offending IP header and as much of its data as fits 576  |
//! ```
//!
//! The kinds of error are the ICMPv6 ones ([`IcmpError`]), so the engine
//! reports a problem the same way whichever family the packet was.

use crate::icmp::IcmpError;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4Repr, Icmpv4TimeExceeded, IpProtocol,
    Ipv4Packet, Ipv4Repr,
};
use std::net::Ipv4Addr;

const IPV4_HEADER_LEN: usize = 20;
const ICMP_HEADER_LEN: usize = 8;
/// An ICMPv4 error never exceeds the minimum reassembly size (RFC 1812 4.3.2.3).
const MAX_ERROR_LEN: usize = 576;
/// TTL of router-originated ICMPv4 messages.
pub const ICMPV4_TTL: u8 = 64;

/// Whether the packet may draw an error at all (RFC 1812 4.3.2.7): not an
/// ICMP error itself, not a later fragment, not to a broadcast or multicast
/// destination, not from a source that names no single host.
fn may_answer(orig: &Ipv4Packet<&[u8]>) -> bool {
    let (src, dst) = (orig.src_addr(), orig.dst_addr());
    let bad_source = src.is_unspecified()
        || src.is_broadcast()
        || src.is_multicast()
        || src.is_loopback()
        || src.octets()[0] == 0;
    if bad_source || dst.is_broadcast() || dst.is_multicast() || orig.frag_offset() != 0 {
        return false;
    }
    if orig.next_header() == IpProtocol::Icmp {
        // Errors are everything but the query messages (RFC 1812 4.3.2.7).
        let ty = orig.payload().first().copied();
        return matches!(ty, Some(0 | 8 | 13 | 14 | 15 | 16));
    }
    true
}

/// The whole IPv4 packet of an ICMPv4 error from `router` about `offending`,
/// or `None` where RFC 1812 4.3.2.7 forbids one.
pub fn error_packet(err: IcmpError, router: Ipv4Addr, offending: &[u8]) -> Option<Vec<u8>> {
    let orig = Ipv4Packet::new_checked(offending).ok()?;
    if !may_answer(&orig) {
        return None;
    }
    let src = orig.src_addr();
    let quoted = offending
        .len()
        .min(MAX_ERROR_LEN - IPV4_HEADER_LEN - ICMP_HEADER_LEN);
    let icmp_len = ICMP_HEADER_LEN + quoted;
    let mut buf = vec![0u8; IPV4_HEADER_LEN + icmp_len];
    Ipv4Repr {
        src_addr: router,
        dst_addr: src,
        next_header: IpProtocol::Icmp,
        payload_len: icmp_len,
        hop_limit: ICMPV4_TTL,
    }
    .emit(
        &mut Ipv4Packet::new_unchecked(&mut buf[..]),
        &ChecksumCapabilities::default(),
    );
    let body = &mut buf[IPV4_HEADER_LEN..];
    let (ty, code, word) = match err {
        IcmpError::HopLimitExceeded => (
            Icmpv4Message::TimeExceeded,
            u8::from(Icmpv4TimeExceeded::TtlExpired),
            0,
        ),
        IcmpError::NoRoute => (
            Icmpv4Message::DstUnreachable,
            u8::from(Icmpv4DstUnreachable::NetUnreachable),
            0,
        ),
        IcmpError::AddressUnreachable => (
            Icmpv4Message::DstUnreachable,
            u8::from(Icmpv4DstUnreachable::HostUnreachable),
            0,
        ),
        IcmpError::PacketTooBig { mtu } => (
            Icmpv4Message::DstUnreachable,
            u8::from(Icmpv4DstUnreachable::FragRequired),
            mtu.min(u32::from(u16::MAX)),
        ),
        IcmpError::ParameterProblem { pointer } => {
            (Icmpv4Message::ParamProblem, 0, (pointer.min(255)) << 24)
        }
    };
    body[4..8].copy_from_slice(&word.to_be_bytes());
    body[ICMP_HEADER_LEN..].copy_from_slice(&offending[..quoted]);
    let mut icmp = Icmpv4Packet::new_unchecked(body);
    icmp.set_msg_type(ty);
    icmp.set_msg_code(code);
    icmp.fill_checksum();
    Some(buf)
}

/// An ICMPv4 Echo Request (ident 0x7a70) from `src` to `dst`.
pub fn echo_request(src: Ipv4Addr, dst: Ipv4Addr, seq: u16) -> Vec<u8> {
    let icmp = Icmpv4Repr::EchoRequest {
        ident: 0x7a70,
        seq_no: seq,
        data: b"tapmip",
    };
    let mut buf = vec![0u8; IPV4_HEADER_LEN + icmp.buffer_len()];
    let caps = ChecksumCapabilities::default();
    Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Icmp,
        payload_len: icmp.buffer_len(),
        hop_limit: ICMPV4_TTL,
    }
    .emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), &caps);
    icmp.emit(
        &mut Icmpv4Packet::new_unchecked(&mut buf[IPV4_HEADER_LEN..]),
        &caps,
    );
    buf
}

/// The Echo Reply to a checked IPv4 Echo Request addressed to the router,
/// or `None` when `packet` is no valid Echo Request.
pub fn echo_reply(packet: &[u8]) -> Option<Vec<u8>> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    let header = usize::from(ip.header_len());
    let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
    if icmp.msg_type() != Icmpv4Message::EchoRequest || !icmp.verify_checksum() {
        return None;
    }
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    // The reply carries no options: a fresh header and the same ICMP body.
    let body = &packet[header..usize::from(ip.total_len())];
    let mut reply = vec![0u8; IPV4_HEADER_LEN + body.len()];
    Ipv4Repr {
        src_addr: dst,
        dst_addr: src,
        next_header: IpProtocol::Icmp,
        payload_len: body.len(),
        hop_limit: ICMPV4_TTL,
    }
    .emit(
        &mut Ipv4Packet::new_unchecked(&mut reply[..]),
        &ChecksumCapabilities::default(),
    );
    reply[IPV4_HEADER_LEN..].copy_from_slice(body);
    let mut out = Icmpv4Packet::new_unchecked(&mut reply[IPV4_HEADER_LEN..]);
    out.set_msg_type(Icmpv4Message::EchoReply);
    out.fill_checksum();
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipv4::tests::udp4;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn parse(buf: &[u8]) -> (Ipv4Packet<&[u8]>, Icmpv4Packet<&[u8]>) {
        let ip = Ipv4Packet::new_checked(buf).unwrap();
        assert!(ip.verify_checksum());
        let icmp = Icmpv4Packet::new_checked(&buf[20..]).unwrap();
        assert!(icmp.verify_checksum());
        (ip, icmp)
    }

    #[test]
    fn time_exceeded_quotes_the_packet() {
        let orig = udp4("192.0.2.100", "10.1.1.5", 1, 16, true);
        let err = error_packet(IcmpError::HopLimitExceeded, a("192.0.2.1"), &orig).unwrap();
        let (ip, icmp) = parse(&err);
        assert_eq!(
            (ip.src_addr(), ip.dst_addr()),
            (a("192.0.2.1"), a("192.0.2.100"))
        );
        assert_eq!(icmp.msg_type(), Icmpv4Message::TimeExceeded);
        assert_eq!(icmp.msg_code(), 0);
        assert_eq!(&err[28..], &orig[..]);
    }

    #[test]
    fn fragmentation_needed_carries_the_next_hop_mtu_within_576() {
        let orig = udp4("192.0.2.100", "10.1.1.5", 64, 1480, true);
        let err =
            error_packet(IcmpError::PacketTooBig { mtu: 1460 }, a("192.0.2.1"), &orig).unwrap();
        assert_eq!(err.len(), 576);
        let (_, icmp) = parse(&err);
        assert_eq!(icmp.msg_type(), Icmpv4Message::DstUnreachable);
        assert_eq!(icmp.msg_code(), 4);
        assert_eq!(&err[26..28], &1460u16.to_be_bytes());
        let unreach = error_packet(IcmpError::NoRoute, a("192.0.2.1"), &orig).unwrap();
        assert_eq!(parse(&unreach).1.msg_code(), 0);
    }

    #[test]
    fn no_error_about_errors_broadcasts_fragments_or_nobody() {
        let r = a("192.0.2.1");
        let mut icmp_err = udp4("192.0.2.100", "10.1.1.5", 1, 8, true);
        icmp_err[9] = 1;
        icmp_err[20] = 3;
        assert_eq!(error_packet(IcmpError::NoRoute, r, &icmp_err), None);
        icmp_err[20] = 8;
        assert!(error_packet(IcmpError::NoRoute, r, &icmp_err).is_some());
        let bcast = udp4("192.0.2.100", "255.255.255.255", 1, 8, true);
        assert_eq!(error_packet(IcmpError::NoRoute, r, &bcast), None);
        let nobody = udp4("0.0.0.0", "10.1.1.5", 1, 8, true);
        assert_eq!(error_packet(IcmpError::NoRoute, r, &nobody), None);
        let mut later = udp4("192.0.2.100", "10.1.1.5", 1, 8, false);
        later[7] = 1;
        assert_eq!(error_packet(IcmpError::NoRoute, r, &later), None);
        assert_eq!(error_packet(IcmpError::NoRoute, r, &[0x45, 0]), None);
    }

    #[test]
    fn echo_request_and_reply() {
        let req = echo_request(a("192.0.2.100"), a("10.1.1.1"), 7);
        let reply = echo_reply(&req).unwrap();
        let (ip, icmp) = parse(&reply);
        assert_eq!(
            (ip.src_addr(), ip.dst_addr()),
            (a("10.1.1.1"), a("192.0.2.100"))
        );
        assert_eq!(icmp.msg_type(), Icmpv4Message::EchoReply);
        assert_eq!(icmp.echo_seq_no(), 7);
        assert_eq!(echo_reply(&reply), None, "a reply is not answered");
        assert_eq!(echo_reply(&req[..25]), None);
    }
}
