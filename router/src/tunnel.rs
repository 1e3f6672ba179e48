//! IPv6-in-IPv6 tunnels (RFC 2473): one tunnel per remote endpoint, which
//! carries a node's IPv4 packets too (IPv4-in-IPv6, RFC 5844 section 4:
//! next header 4, the same tunnel as its IPv6 traffic).
//!
//! ```text
//!  +----------------------------+--------------------------------------+
//!  | outer IPv6 header          | original (inner) IPv6 or IPv4 packet |
//!  | src = tunnel entry point   | hop limit (TTL) decremented once by  |
//!  | dst = tunnel exit point    | the entry point (RFC 2473 3.1)       |
//!  | next header = 41 (or 4)    |                                      |
//!  +----------------------------+--------------------------------------+
//! ```
//!
//! A tunnel is shared by any number of inner prefixes (every mobile node behind
//! one MAG): callers `acquire` it per prefix routed into it and `release` it when
//! the route goes, and it disappears with its last user.

use smoltcp::wire::{IpProtocol, Ipv6Packet};
use std::collections::HashMap;
use std::net::Ipv6Addr;

pub type TunnelId = usize;

/// IP protocol number of an encapsulated IPv6 packet.
pub const IPPROTO_IPV6: u8 = 41;
/// IP protocol number of an encapsulated IPv4 packet (RFC 5844 4).
pub const IPPROTO_IPIP: u8 = 4;
/// The fixed IPv6 header the encapsulation adds.
pub const ENCAP_OVERHEAD: usize = 40;
/// Default outer hop limit (RFC 2473 6.3: the IPv6 default hop limit).
pub const DEFAULT_TUNNEL_HOP_LIMIT: u8 = 64;
/// The IPv6 minimum link MTU (RFC 8200 5).
pub const IPV6_MIN_MTU: usize = 1280;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TunnelError {
    #[error("inner packet: not a valid IPv6 or IPv4 packet (truncated or wrong version/length)")]
    MalformedInner,
    #[error("outer packet: not a valid IPv6 packet carrying next header 41 or 4")]
    NotEncapsulated,
    #[error("inner hop limit exhausted at the tunnel entry point")]
    HopLimitExceeded,
    #[error("packet of {size} octets exceeds the tunnel MTU {mtu}")]
    PacketTooBig { size: usize, mtu: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunnel {
    pub local: Ipv6Addr,
    pub remote: Ipv6Addr,
    /// How many routes (inner prefixes) point into this tunnel.
    pub users: usize,
    pub encapsulated: u64,
    pub decapsulated: u64,
}

/// The tunnels of one router, keyed by remote endpoint.
#[derive(Debug, Default, Clone)]
pub struct TunnelTable {
    slots: Vec<Option<Tunnel>>,
    by_remote: HashMap<Ipv6Addr, TunnelId>,
}

impl TunnelTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the tunnel to `remote`, creating it for its first user.
    pub fn acquire(&mut self, local: Ipv6Addr, remote: Ipv6Addr) -> TunnelId {
        if let Some(&id) = self.by_remote.get(&remote)
            && let Some(Some(t)) = self.slots.get_mut(id)
        {
            t.users += 1;
            return id;
        }
        let tunnel = Tunnel {
            local,
            remote,
            users: 1,
            encapsulated: 0,
            decapsulated: 0,
        };
        let id = match self.slots.iter().position(Option::is_none) {
            Some(free) => {
                self.slots[free] = Some(tunnel);
                free
            }
            None => {
                self.slots.push(Some(tunnel));
                self.slots.len() - 1
            }
        };
        self.by_remote.insert(remote, id);
        id
    }

    /// Drops one user; returns true when that removed the tunnel.
    pub fn release(&mut self, id: TunnelId) -> bool {
        let Some(slot) = self.slots.get_mut(id) else {
            return false;
        };
        let Some(t) = slot else { return false };
        t.users = t.users.saturating_sub(1);
        if t.users > 0 {
            return false;
        }
        self.by_remote.remove(&t.remote);
        *slot = None;
        true
    }

    pub fn get(&self, id: TunnelId) -> Option<&Tunnel> {
        self.slots.get(id)?.as_ref()
    }

    pub fn find(&self, remote: &Ipv6Addr) -> Option<TunnelId> {
        self.by_remote.get(remote).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (TunnelId, &Tunnel)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(id, t)| t.as_ref().map(|t| (id, t)))
    }

    pub fn len(&self) -> usize {
        self.by_remote.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_remote.is_empty()
    }

    /// Encapsulates `inner` into tunnel `id`, writing the outer IPv6 packet to `out`.
    ///
    /// The entry point forwards the inner packet, so it decrements the inner hop
    /// limit (RFC 2473 3.1); a packet that would not fit the link MTU after
    /// encapsulation is refused with the tunnel MTU so the caller can send an ICMPv6
    /// Packet Too Big to the source (RFC 2473 7.1).
    pub fn encapsulate(
        &mut self,
        id: TunnelId,
        inner: &[u8],
        hop_limit: u8,
        link_mtu: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), TunnelError> {
        let tunnel = self
            .slots
            .get_mut(id)
            .and_then(Option::as_mut)
            .ok_or(TunnelError::NotEncapsulated)?;
        encapsulate(tunnel.local, tunnel.remote, inner, hop_limit, link_mtu, out)?;
        tunnel.encapsulated += 1;
        Ok(())
    }

    /// Checks that `outer` comes from a known tunnel endpoint and returns its id and
    /// the inner packet. The caller forwards the inner packet as usual.
    pub fn decapsulate<'a>(
        &mut self,
        outer: &'a [u8],
    ) -> Result<(TunnelId, &'a [u8]), TunnelError> {
        let (src, inner) = decapsulate(outer)?;
        let id = self.find(&src).ok_or(TunnelError::NotEncapsulated)?;
        if let Some(Some(t)) = self.slots.get_mut(id) {
            t.decapsulated += 1;
        }
        Ok((id, inner))
    }
}

/// The MTU a packet must fit to be carried over a link of `link_mtu`.
pub fn tunnel_mtu(link_mtu: usize) -> usize {
    link_mtu.saturating_sub(ENCAP_OVERHEAD)
}

fn valid_ipv6(packet: &[u8]) -> Option<Ipv6Packet<&[u8]>> {
    let p = Ipv6Packet::new_checked(packet).ok()?;
    (p.version() == 6 && p.total_len() == packet.len()).then_some(p)
}

/// A whole IPv4 packet with a good header, exactly `packet` long.
fn valid_ipv4(packet: &[u8]) -> bool {
    crate::ipv4::packet(packet).is_ok_and(|p| p.len() == packet.len())
}

/// The inner packet's next-header value for the outer header, and its hop
/// limit (TTL).
fn inner_kind(inner: &[u8]) -> Option<(u8, u8)> {
    match inner.first().map(|b| b >> 4) {
        Some(6) => valid_ipv6(inner).map(|p| (IPPROTO_IPV6, p.hop_limit())),
        Some(4) if valid_ipv4(inner) => Some((IPPROTO_IPIP, crate::ipv4::ttl(inner))),
        _ => None,
    }
}

/// Stateless encapsulation (see [`TunnelTable::encapsulate`]).
pub fn encapsulate(
    local: Ipv6Addr,
    remote: Ipv6Addr,
    inner: &[u8],
    hop_limit: u8,
    link_mtu: usize,
    out: &mut Vec<u8>,
) -> Result<(), TunnelError> {
    let (next_header, inner_hop_limit) = inner_kind(inner).ok_or(TunnelError::MalformedInner)?;
    if inner_hop_limit <= 1 {
        return Err(TunnelError::HopLimitExceeded);
    }
    let mtu = tunnel_mtu(link_mtu);
    if inner.len() > mtu {
        return Err(TunnelError::PacketTooBig {
            size: inner.len(),
            mtu: u32::try_from(mtu).unwrap_or(u32::MAX),
        });
    }
    let payload_len = u16::try_from(inner.len()).map_err(|_| TunnelError::MalformedInner)?;
    out.clear();
    out.resize(ENCAP_OVERHEAD + inner.len(), 0);
    let mut outer = Ipv6Packet::new_unchecked(&mut out[..]);
    outer.set_version(6);
    outer.set_traffic_class(0);
    outer.set_flow_label(0);
    outer.set_payload_len(payload_len);
    outer.set_next_header(IpProtocol::Unknown(next_header));
    outer.set_hop_limit(hop_limit);
    outer.set_src_addr(local);
    outer.set_dst_addr(remote);
    let body = outer.payload_mut();
    body.copy_from_slice(inner);
    if next_header == IPPROTO_IPIP {
        crate::ipv4::decrement_ttl(body);
    } else {
        Ipv6Packet::new_unchecked(body).set_hop_limit(inner_hop_limit - 1);
    }
    Ok(())
}

/// Stateless decapsulation: returns the outer source and the inner packet.
pub fn decapsulate(outer: &[u8]) -> Result<(Ipv6Addr, &[u8]), TunnelError> {
    let p = valid_ipv6(outer).ok_or(TunnelError::NotEncapsulated)?;
    let IpProtocol::Unknown(next_header @ (IPPROTO_IPV6 | IPPROTO_IPIP)) = p.next_header() else {
        return Err(TunnelError::NotEncapsulated);
    };
    let src = p.src_addr();
    let inner = outer
        .get(ENCAP_OVERHEAD..)
        .ok_or(TunnelError::NotEncapsulated)?;
    let valid = match next_header {
        IPPROTO_IPIP => valid_ipv4(inner),
        _ => valid_ipv6(inner).is_some(),
    };
    if !valid {
        return Err(TunnelError::MalformedInner);
    }
    Ok((src, inner))
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::Ipv6Repr;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn udp_like(src: &str, dst: &str, hop_limit: u8, payload: usize) -> Vec<u8> {
        let repr = Ipv6Repr {
            src_addr: a(src),
            dst_addr: a(dst),
            next_header: IpProtocol::Udp,
            payload_len: payload,
            hop_limit,
        };
        let mut buf = vec![0xabu8; 40 + payload];
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
        buf
    }

    #[test]
    fn encapsulate_then_decapsulate() {
        let mut t = TunnelTable::new();
        let id = t.acquire(a("2001:db8:ff::1"), a("2001:db8:ff::2"));
        let inner = udp_like("2001:db8:c::1", "2001:db8:1::10", 64, 100);
        let mut out = Vec::new();
        t.encapsulate(id, &inner, 64, 1500, &mut out).unwrap();
        assert_eq!(out.len(), inner.len() + 40);
        let outer = Ipv6Packet::new_checked(&out[..]).unwrap();
        assert_eq!(outer.next_header(), IpProtocol::Unknown(41));
        assert_eq!(outer.hop_limit(), 64);
        assert_eq!(outer.src_addr(), a("2001:db8:ff::1"));
        assert_eq!(outer.dst_addr(), a("2001:db8:ff::2"));
        let inner_out = Ipv6Packet::new_checked(&out[40..]).unwrap();
        assert_eq!(inner_out.hop_limit(), 63);
        assert_eq!(&out[48..], &inner[8..]);

        // The exit point knows the entry point as its own tunnel's remote end.
        let mut exit = TunnelTable::new();
        let back = exit.acquire(a("2001:db8:ff::2"), a("2001:db8:ff::1"));
        let (got, inner_back) = exit.decapsulate(&out).unwrap();
        assert_eq!(got, back);
        assert_eq!(inner_back, &out[40..]);
        assert_eq!(exit.get(back).unwrap().decapsulated, 1);
    }

    #[test]
    fn decapsulate_refuses_unknown_source_and_garbage() {
        let mut t = TunnelTable::new();
        t.acquire(a("::1"), a("2001:db8:ff::9"));
        let inner = udp_like("2001:db8:c::1", "2001:db8:1::10", 64, 8);
        let mut out = Vec::new();
        encapsulate(a("2001:db8:ff::2"), a("::1"), &inner, 64, 1500, &mut out).unwrap();
        assert_eq!(t.decapsulate(&out), Err(TunnelError::NotEncapsulated));
        assert_eq!(decapsulate(&inner), Err(TunnelError::NotEncapsulated));
        for n in 0..out.len() {
            let _ = decapsulate(&out[..n]);
        }
        out.truncate(60);
        out[5] = 20; // payload length matching the truncated body
        assert_eq!(decapsulate(&out), Err(TunnelError::MalformedInner));
    }

    #[test]
    fn hop_limit_and_mtu() {
        let mut out = Vec::new();
        let l = a("2001:db8:ff::1");
        let r = a("2001:db8:ff::2");
        let dying = udp_like("2001:db8:c::1", "2001:db8:1::10", 1, 8);
        assert_eq!(
            encapsulate(l, r, &dying, 64, 1500, &mut out),
            Err(TunnelError::HopLimitExceeded)
        );
        let fits = udp_like("2001:db8:c::1", "2001:db8:1::10", 64, 1460 - 40);
        assert!(encapsulate(l, r, &fits, 64, 1500, &mut out).is_ok());
        assert_eq!(out.len(), 1500);
        let big = udp_like("2001:db8:c::1", "2001:db8:1::10", 64, 1461 - 40);
        assert_eq!(
            encapsulate(l, r, &big, 64, 1500, &mut out),
            Err(TunnelError::PacketTooBig {
                size: 1461,
                mtu: 1460
            })
        );
        assert_eq!(
            encapsulate(l, r, &[0x60, 0, 0], 64, 1500, &mut out),
            Err(TunnelError::MalformedInner)
        );
    }

    #[test]
    fn ipv4_in_ipv6_through_the_same_tunnel() {
        use crate::ipv4::tests::udp4;
        let mut t = TunnelTable::new();
        let id = t.acquire(a("2001:db8:ff::1"), a("2001:db8:ff::2"));
        let inner = udp4("192.0.2.100", "10.1.1.5", 64, 100, true);
        let mut out = Vec::new();
        t.encapsulate(id, &inner, 64, 1500, &mut out).unwrap();
        let outer = Ipv6Packet::new_checked(&out[..]).unwrap();
        assert_eq!(outer.next_header(), IpProtocol::Unknown(4));
        assert_eq!(usize::from(outer.payload_len()), inner.len());
        assert_eq!(crate::ipv4::ttl(&out[40..]), 63);
        assert!(crate::ipv4::packet(&out[40..]).is_ok(), "checksum updated");
        let mut exit = TunnelTable::new();
        exit.acquire(a("2001:db8:ff::2"), a("2001:db8:ff::1"));
        let (_, back) = exit.decapsulate(&out).unwrap();
        assert_eq!(back, &out[40..]);
        let l = a("2001:db8:ff::1");
        let r = a("2001:db8:ff::2");
        let dying = udp4("192.0.2.100", "10.1.1.5", 1, 8, true);
        assert_eq!(
            encapsulate(l, r, &dying, 64, 1500, &mut out),
            Err(TunnelError::HopLimitExceeded)
        );
        let big = udp4("192.0.2.100", "10.1.1.5", 64, 1461 - 20, false);
        assert!(matches!(
            encapsulate(l, r, &big, 64, 1500, &mut out),
            Err(TunnelError::PacketTooBig { mtu: 1460, .. })
        ));
        let mut bad = inner.clone();
        bad[10] ^= 0xff;
        assert_eq!(
            encapsulate(l, r, &bad, 64, 1500, &mut out),
            Err(TunnelError::MalformedInner)
        );
        // An IPv4 payload claiming next header 41, or the reverse, is refused.
        encapsulate(l, r, &inner, 64, 1500, &mut out).unwrap();
        out[6] = 41;
        assert_eq!(decapsulate(&out), Err(TunnelError::MalformedInner));
    }

    #[test]
    fn one_tunnel_per_remote_shared_by_users() {
        let mut t = TunnelTable::new();
        let l = a("2001:db8:ff::1");
        let id1 = t.acquire(l, a("2001:db8:ff::2"));
        let id1b = t.acquire(l, a("2001:db8:ff::2"));
        let id2 = t.acquire(l, a("2001:db8:ff::3"));
        assert_eq!(id1, id1b);
        assert_ne!(id1, id2);
        assert_eq!(t.len(), 2);
        assert!(!t.release(id1));
        assert!(t.release(id1));
        assert_eq!(t.find(&a("2001:db8:ff::2")), None);
        assert!(!t.release(id1), "releasing a removed tunnel is a no-op");
        let id3 = t.acquire(l, a("2001:db8:ff::4"));
        assert_eq!(id3, id1, "free slots are reused");
        assert_eq!(t.iter().count(), 2);
    }
}
