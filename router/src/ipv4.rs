//! IPv4 as a router forwards it (RFC 791, RFC 1812): the header checks a
//! packet must pass before anything reads it, the TTL step of every hop, and
//! fragmentation where a packet without DF meets a smaller MTU.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |Type of Service|          Total Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Identification        |Flags|      Fragment Offset    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Source Address                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Destination Address                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Options                    |    Padding    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use smoltcp::wire::Ipv4Packet;
use std::net::Ipv4Addr;

/// Offset of the TTL in the header.
const TTL: usize = 8;
/// Offset of the flags and fragment offset.
const FRAGMENT: usize = 6;
const DONT_FRAGMENT: u16 = 0x4000;
const MORE_FRAGMENTS: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;
/// The smallest MTU every IPv4 link has (RFC 791: 68 octets).
pub const IPV4_MIN_MTU: usize = 68;

/// Why a packet is refused before it is forwarded; each names its counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ipv4Error {
    #[error("not a whole IPv4 header (truncated, version, IHL or total length)")]
    Malformed,
    #[error("header checksum does not verify")]
    BadChecksum,
}

impl Ipv4Error {
    pub fn counter(&self) -> &'static str {
        match self {
            Ipv4Error::Malformed => "drop.bad_ipv4_header",
            Ipv4Error::BadChecksum => "drop.bad_ipv4_checksum",
        }
    }
}

/// The IPv4 packet at the start of `payload`, trimmed of link-layer padding,
/// once its header is whole and its checksum verifies (RFC 1812 5.2.2).
pub fn packet(payload: &[u8]) -> Result<&[u8], Ipv4Error> {
    let p = Ipv4Packet::new_checked(payload).map_err(|_| Ipv4Error::Malformed)?;
    if p.version() != 4 {
        return Err(Ipv4Error::Malformed);
    }
    if !p.verify_checksum() {
        return Err(Ipv4Error::BadChecksum);
    }
    payload
        .get(..usize::from(p.total_len()))
        .ok_or(Ipv4Error::Malformed)
}

/// Whether a router may forward a packet between these addresses at all
/// (RFC 1812 5.3.7, 4.2.2.11): never from or to "this network", loopback,
/// link-local (RFC 3927 7), multicast or the limited broadcast.
pub fn forwardable(src: Ipv4Addr, dst: Ipv4Addr) -> bool {
    let martian = |a: Ipv4Addr| {
        a.is_unspecified()
            || a.is_loopback()
            || a.is_link_local()
            || a.is_broadcast()
            || a.is_multicast()
            || a.octets()[0] == 0
    };
    !martian(src) && !martian(dst)
}

/// The TTL of a checked packet.
pub fn ttl(packet: &[u8]) -> u8 {
    packet.get(TTL).copied().unwrap_or(0)
}

/// Decrements the TTL of a packet that has a TTL above 1, updating the
/// checksum incrementally (RFC 1624: the TTL is the high octet of its word).
pub fn decrement_ttl(packet: &mut [u8]) {
    let Some(ttl) = packet.get_mut(TTL) else {
        return;
    };
    *ttl = ttl.saturating_sub(1);
    let sum = u16::from_be_bytes([packet[10], packet[11]]);
    // HC' = ~(~HC + ~m + m') with m - m' = 0x0100, in one's complement.
    let folded = u32::from(sum) + 0x0100;
    let sum = (folded & 0xffff) + (folded >> 16);
    packet[10..12].copy_from_slice(&(sum as u16).to_be_bytes());
}

/// Whether the sender forbade fragmentation (DF set).
pub fn dont_fragment(packet: &[u8]) -> bool {
    packet
        .get(FRAGMENT..FRAGMENT + 2)
        .is_some_and(|w| u16::from_be_bytes([w[0], w[1]]) & DONT_FRAGMENT != 0)
}

/// Whether `packet` is IPv4 without DF: too big for a link, it is cut.
pub fn may_fragment(packet: &[u8]) -> bool {
    packet.first().is_some_and(|b| b >> 4 == 4) && !dont_fragment(packet)
}

/// Cuts a checked packet into fragments of at most `mtu` octets (RFC 791
/// 3.2, "fragmentation"), handing each to `emit`; a fragment of a fragment
/// keeps the offsets and the MF flag of the original. Options are copied into
/// every fragment, which is correct for the copied ones and harmless for the
/// rest. Each fragment is built in `out`, which the caller keeps so that
/// cutting packets allocates nothing once it has grown. Returns how many
/// fragments were emitted; 0 when `mtu` leaves no room for 8 octets of data.
pub fn fragment(
    packet: &[u8],
    mtu: usize,
    out: &mut Vec<u8>,
    emit: &mut dyn FnMut(&[u8]),
) -> usize {
    let Ok(p) = Ipv4Packet::new_checked(packet) else {
        return 0;
    };
    let header = usize::from(p.header_len());
    let room = mtu.saturating_sub(header) / 8 * 8;
    if room == 0 {
        return 0;
    }
    let word = u16::from_be_bytes([packet[FRAGMENT], packet[FRAGMENT + 1]]);
    let (base, last_has_more) = (word & OFFSET_MASK, word & MORE_FRAGMENTS != 0);
    let data = &packet[header..usize::from(p.total_len())];
    // A fragment reaching past 65535 octets of datagram is no valid packet
    // (RFC 791: the "ping of death"); it is not cut, the caller drops it.
    if usize::from(base) * 8 + data.len() > usize::from(u16::MAX) {
        return 0;
    }
    out.clear();
    out.resize(header + room, 0);
    let mut count = 0;
    for (i, chunk) in data.chunks(room).enumerate() {
        let last = (i + 1) * room >= data.len();
        let len = header + chunk.len();
        let buf = &mut out[..len];
        buf[..header].copy_from_slice(&packet[..header]);
        buf[header..].copy_from_slice(chunk);
        // At most 65535 - data.len(), checked above: it fits 16 bits.
        let offset = usize::from(base) * 8 + i * room;
        let more = !last || last_has_more;
        let mut frag = Ipv4Packet::new_unchecked(&mut *buf);
        frag.set_total_len(u16::try_from(len).unwrap_or(u16::MAX));
        frag.set_more_frags(more);
        frag.set_frag_offset(u16::try_from(offset).unwrap_or(0));
        frag.fill_checksum();
        emit(buf);
        count += 1;
    }
    count
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{IpProtocol, Ipv4Repr};

    /// A UDP-like IPv4 packet with `payload` octets of 0xab.
    pub(crate) fn udp4(src: &str, dst: &str, ttl: u8, payload: usize, df: bool) -> Vec<u8> {
        let repr = Ipv4Repr {
            src_addr: src.parse().unwrap(),
            dst_addr: dst.parse().unwrap(),
            next_header: IpProtocol::Udp,
            payload_len: payload,
            hop_limit: ttl,
        };
        let mut buf = vec![0xab; 20 + payload];
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut p, &ChecksumCapabilities::default());
        p.set_dont_frag(df);
        p.set_ident(0x1234);
        p.fill_checksum();
        buf
    }

    #[test]
    fn header_checks() {
        let good = udp4("10.1.1.5", "192.0.2.100", 64, 8, true);
        let mut padded = good.clone();
        padded.extend_from_slice(&[0; 18]);
        assert_eq!(
            packet(&padded),
            Ok(&good[..]),
            "Ethernet padding is trimmed"
        );
        for n in 0..good.len() {
            assert_eq!(packet(&good[..n]), Err(Ipv4Error::Malformed), "cut at {n}");
        }
        let mut bad = good.clone();
        bad[12] ^= 1;
        assert_eq!(packet(&bad), Err(Ipv4Error::BadChecksum));
        let mut v6 = good.clone();
        v6[0] = 0x65;
        assert_eq!(packet(&v6), Err(Ipv4Error::Malformed));
        let mut ihl = good;
        ihl[0] = 0x44;
        assert_eq!(packet(&ihl), Err(Ipv4Error::Malformed));
    }

    #[test]
    fn ttl_decrement_keeps_the_checksum_right() {
        for ttl in [2u8, 64, 128, 255] {
            let mut p = udp4("10.1.1.5", "192.0.2.100", ttl, 8, false);
            decrement_ttl(&mut p);
            assert_eq!(super::ttl(&p), ttl - 1);
            assert!(Ipv4Packet::new_checked(&p[..]).unwrap().verify_checksum());
        }
    }

    #[test]
    fn martians_are_not_forwarded() {
        let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert!(forwardable(a("10.1.1.5"), a("192.0.2.100")));
        for (s, d) in [
            ("0.0.0.0", "192.0.2.1"),
            ("10.1.1.5", "255.255.255.255"),
            ("127.0.0.1", "10.1.1.5"),
            ("169.254.1.1", "10.1.1.5"),
            ("10.1.1.5", "224.0.0.1"),
        ] {
            assert!(!forwardable(a(s), a(d)), "{s} -> {d}");
        }
    }

    #[test]
    fn fragments_reassemble_to_the_original() {
        let p = udp4("10.1.1.5", "192.0.2.100", 64, 3000, false);
        assert!(!dont_fragment(&p));
        let mut frags = Vec::new();
        let n = fragment(&p, 1460, &mut Vec::new(), &mut |f| frags.push(f.to_vec()));
        assert_eq!(n, 3);
        let mut data = Vec::new();
        for (i, f) in frags.iter().enumerate() {
            let fp = Ipv4Packet::new_checked(&f[..]).unwrap();
            assert!(f.len() <= 1460 && fp.verify_checksum());
            assert_eq!(usize::from(fp.frag_offset()), data.len());
            assert_eq!(fp.more_frags(), i < 2);
            assert_eq!(fp.ident(), 0x1234);
            data.extend_from_slice(fp.payload());
        }
        assert_eq!(data, p[20..]);
        // A fragment cut again keeps its place and its MF flag.
        let mut again = Vec::new();
        fragment(&frags[0], 600, &mut Vec::new(), &mut |f| {
            again.push(f.to_vec())
        });
        let last = Ipv4Packet::new_checked(&again[again.len() - 1][..]).unwrap();
        assert!(last.more_frags());
        assert_eq!(fragment(&p, 27, &mut Vec::new(), &mut |_| ()), 0);
        let mut death = udp4("10.1.1.5", "192.0.2.100", 64, 100, false);
        death[6..8].copy_from_slice(&0x1fffu16.to_be_bytes());
        Ipv4Packet::new_unchecked(&mut death[..]).fill_checksum();
        assert_eq!(
            fragment(&death, 68, &mut Vec::new(), &mut |_| ()),
            0,
            "past 65535 octets"
        );
        assert_eq!(fragment(&p[..10], 1460, &mut Vec::new(), &mut |_| ()), 0);
        assert!(dont_fragment(&udp4("10.0.0.1", "10.0.0.2", 1, 0, true)));
    }
}
