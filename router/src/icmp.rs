//! ICMPv6 error messages a router sends (RFC 4443 3.1-3.3); their rate limit
//! (2.4 (f)) is the engine's [`crate::token_bucket::TokenBucket`].
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Unused / MTU (Packet Too Big)                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    As much of invoking packet as possible without the ICMPv6  |
//! +               packet exceeding the minimum IPv6 MTU           +
//! ```

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    Icmpv6DstUnreachable, Icmpv6Message, Icmpv6Packet, Icmpv6ParamProblem, Icmpv6Repr,
    Icmpv6TimeExceeded, IpProtocol, Ipv6Packet, Ipv6Repr,
};
use std::net::Ipv6Addr;

const ICMPV6_HEADER_LEN: usize = 8;
const IPV6_HEADER_LEN: usize = 40;
/// Hop limit of router-originated ICMPv6 messages.
pub const ICMP_HOP_LIMIT: u8 = 64;

/// Which error to report about a packet the router could not forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpError {
    /// Hop limit exceeded in transit (type 3 code 0).
    HopLimitExceeded,
    /// No route to destination (type 1 code 0).
    NoRoute,
    /// Address unreachable: neighbor resolution failed (type 1 code 3).
    AddressUnreachable,
    /// Packet too big for the next link (type 2).
    PacketTooBig { mtu: u32 },
    /// Erroneous header field at `pointer` octets into the packet (type 4
    /// code 0), e.g. a Mobility Header's Payload Proto (RFC 6275 9.2).
    ParameterProblem { pointer: u32 },
}

/// Builds the whole IPv6 packet of an ICMPv6 error from `router` about `offending`,
/// or `None` where RFC 4443 2.4 (e) forbids an error: in reply to an ICMPv6 error
/// or Redirect, to a multicast destination (but Packet Too Big), or to a source
/// that does not identify one node.
pub fn error_packet(err: IcmpError, router: Ipv6Addr, offending: &[u8]) -> Option<Vec<u8>> {
    let orig = Ipv6Packet::new_checked(offending).ok()?;
    let src = orig.src_addr();
    if src.is_unspecified() || src.is_multicast() {
        return None;
    }
    if orig.dst_addr().is_multicast() && !matches!(err, IcmpError::PacketTooBig { .. }) {
        return None;
    }
    if orig.next_header() == IpProtocol::Icmpv6 {
        let ty = offending.get(IPV6_HEADER_LEN).copied();
        // Error messages have types 0..=127 (RFC 4443 2.1); 137 is Redirect.
        if ty.is_none_or(|t| t < 128 || t == 137) {
            return None;
        }
    }
    let quoted = offending
        .len()
        .min(1280 - IPV6_HEADER_LEN - ICMPV6_HEADER_LEN);
    let icmp_len = ICMPV6_HEADER_LEN + quoted;
    let mut buf = vec![0u8; IPV6_HEADER_LEN + icmp_len];
    Ipv6Repr {
        src_addr: router,
        dst_addr: src,
        next_header: IpProtocol::Icmpv6,
        payload_len: icmp_len,
        hop_limit: ICMP_HOP_LIMIT,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
    let mut icmp = Icmpv6Packet::new_unchecked(&mut buf[IPV6_HEADER_LEN..]);
    match err {
        IcmpError::HopLimitExceeded => {
            icmp.set_msg_type(Icmpv6Message::TimeExceeded);
            icmp.set_msg_code(Icmpv6TimeExceeded::HopLimitExceeded.into());
        }
        IcmpError::NoRoute => {
            icmp.set_msg_type(Icmpv6Message::DstUnreachable);
            icmp.set_msg_code(Icmpv6DstUnreachable::NoRoute.into());
        }
        IcmpError::AddressUnreachable => {
            icmp.set_msg_type(Icmpv6Message::DstUnreachable);
            icmp.set_msg_code(Icmpv6DstUnreachable::AddrUnreachable.into());
        }
        IcmpError::PacketTooBig { mtu } => {
            icmp.set_msg_type(Icmpv6Message::PktTooBig);
            icmp.set_msg_code(0);
            icmp.set_pkt_too_big_mtu(mtu);
        }
        IcmpError::ParameterProblem { pointer } => {
            icmp.set_msg_type(Icmpv6Message::ParamProblem);
            icmp.set_msg_code(Icmpv6ParamProblem::ErroneousHdrField.into());
            icmp.set_param_problem_ptr(pointer);
        }
    }
    icmp.payload_mut()[..quoted].copy_from_slice(&offending[..quoted]);
    icmp.fill_checksum(&router, &src);
    debug_assert!(
        smoltcp::wire::Icmpv6Repr::parse(
            &router,
            &src,
            &Icmpv6Packet::new_unchecked(&buf[IPV6_HEADER_LEN..]),
            &ChecksumCapabilities::default()
        )
        .is_ok()
    );
    Some(buf)
}

/// An ICMPv6 Echo Request (ident 0x7a70) from `src` to `dst`.
pub fn echo_request(src: Ipv6Addr, dst: Ipv6Addr, seq: u16) -> Vec<u8> {
    let data = b"tapmip";
    let icmp = Icmpv6Repr::EchoRequest {
        ident: 0x7a70,
        seq_no: seq,
        data,
    };
    let mut buf = vec![0u8; 40 + icmp.buffer_len()];
    Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: icmp.buffer_len(),
        hop_limit: 64,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
    icmp.emit(
        &src,
        &dst,
        &mut Icmpv6Packet::new_unchecked(&mut buf[40..]),
        &ChecksumCapabilities::default(),
    );
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::Icmpv6Repr;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn packet(src: &str, dst: &str, proto: IpProtocol, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; 40 + payload.len()];
        Ipv6Repr {
            src_addr: a(src),
            dst_addr: a(dst),
            next_header: proto,
            payload_len: payload.len(),
            hop_limit: 1,
        }
        .emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
        buf[40..].copy_from_slice(payload);
        buf
    }

    #[test]
    fn time_exceeded_quotes_the_packet() {
        let orig = packet(
            "2001:db8:1::10",
            "2001:db8:2::20",
            IpProtocol::Udp,
            &[7; 16],
        );
        let err = error_packet(IcmpError::HopLimitExceeded, a("2001:db8:1::1"), &orig).unwrap();
        let ip = Ipv6Packet::new_checked(&err[..]).unwrap();
        assert_eq!(ip.dst_addr(), a("2001:db8:1::10"));
        assert_eq!(ip.src_addr(), a("2001:db8:1::1"));
        let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(icmp.msg_type(), Icmpv6Message::TimeExceeded);
        assert!(icmp.verify_checksum(&ip.src_addr(), &ip.dst_addr()));
        assert_eq!(icmp.payload(), &orig[..]);
    }

    #[test]
    fn packet_too_big_carries_mtu_and_fits_1280() {
        let orig = packet(
            "2001:db8:1::10",
            "2001:db8:2::20",
            IpProtocol::Udp,
            &[1; 1460],
        );
        let err = error_packet(
            IcmpError::PacketTooBig { mtu: 1460 },
            a("2001:db8:1::1"),
            &orig,
        )
        .unwrap();
        assert_eq!(err.len(), 1280);
        let ip = Ipv6Packet::new_checked(&err[..]).unwrap();
        let repr = Icmpv6Repr::parse(
            &ip.src_addr(),
            &ip.dst_addr(),
            &Icmpv6Packet::new_checked(ip.payload()).unwrap(),
            &ChecksumCapabilities::default(),
        )
        .unwrap();
        assert!(matches!(repr, Icmpv6Repr::PktTooBig { mtu: 1460, .. }));
    }

    #[test]
    fn no_error_about_errors_multicast_or_unspecified() {
        let r = a("2001:db8:1::1");
        let icmp_err = packet(
            "2001:db8:1::10",
            "2001:db8:2::20",
            IpProtocol::Icmpv6,
            &[1, 0, 0, 0],
        );
        assert_eq!(error_packet(IcmpError::NoRoute, r, &icmp_err), None);
        let echo = packet(
            "2001:db8:1::10",
            "2001:db8:2::20",
            IpProtocol::Icmpv6,
            &[128, 0, 0, 0],
        );
        assert!(error_packet(IcmpError::NoRoute, r, &echo).is_some());
        let mcast = packet("2001:db8:1::10", "ff02::1", IpProtocol::Udp, &[0; 8]);
        assert_eq!(error_packet(IcmpError::NoRoute, r, &mcast), None);
        assert!(error_packet(IcmpError::PacketTooBig { mtu: 1280 }, r, &mcast).is_some());
        let unspec = packet("::", "2001:db8:2::20", IpProtocol::Udp, &[0; 8]);
        assert_eq!(error_packet(IcmpError::NoRoute, r, &unspec), None);
        assert_eq!(error_packet(IcmpError::NoRoute, r, &[0x60, 0]), None);
    }
}
