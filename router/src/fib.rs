//! The forwarding table: longest-prefix match over IPv6 and IPv4 prefixes.
//!
//! One hash map per prefix length, probed from the longest length present down to
//! the shortest: a lookup costs at most one hash probe per distinct length in use
//! (a handful in practice: /128 hosts, /64 HNPs, /0 default), independent of how
//! many routes there are. That keeps forwarding flat from 1 to 100 000 bindings.

use crate::core::PortId;
use crate::tunnel::TunnelId;
use ipnet::{Ipv4Net, Ipv6Net};
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where a matching packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHop {
    /// The destination is on the link of `port`: resolve the destination itself.
    Connected { port: PortId },
    /// Through a neighbor router `gateway` on the link of `port`.
    Gateway { port: PortId, gateway: IpAddr },
    /// Into an IPv6-in-IPv6 tunnel.
    Tunnel(TunnelId),
}

/// Longest-prefix-match table for one address family, keys as left-aligned bits.
#[derive(Debug, Clone)]
struct Lpm<V> {
    by_len: BTreeMap<u8, FxHashMap<u128, V>>,
}

impl<V> Default for Lpm<V> {
    fn default() -> Self {
        Lpm {
            by_len: BTreeMap::new(),
        }
    }
}

fn mask(bits: u128, len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => bits,
        l => bits & !(u128::MAX >> l),
    }
}

impl<V> Lpm<V> {
    fn insert(&mut self, bits: u128, len: u8, v: V) -> Option<V> {
        self.by_len
            .entry(len)
            .or_default()
            .insert(mask(bits, len), v)
    }

    fn remove(&mut self, bits: u128, len: u8) -> Option<V> {
        let table = self.by_len.get_mut(&len)?;
        let old = table.remove(&mask(bits, len));
        if table.is_empty() {
            self.by_len.remove(&len);
        }
        old
    }

    fn get(&self, bits: u128, len: u8) -> Option<&V> {
        self.by_len.get(&len)?.get(&mask(bits, len))
    }

    fn lookup(&self, bits: u128) -> Option<(u8, &V)> {
        self.by_len
            .iter()
            .rev()
            .find_map(|(len, table)| table.get(&mask(bits, *len)).map(|v| (*len, v)))
    }

    fn len(&self) -> usize {
        self.by_len.values().map(FxHashMap::len).sum()
    }

    fn iter(&self) -> impl Iterator<Item = (u128, u8, &V)> {
        self.by_len
            .iter()
            .flat_map(|(len, t)| t.iter().map(move |(bits, v)| (*bits, *len, v)))
    }
}

fn v4_bits(a: Ipv4Addr) -> u128 {
    u128::from(u32::from(a)) << 96
}

fn v4_addr(bits: u128) -> Ipv4Addr {
    Ipv4Addr::from((bits >> 96) as u32)
}

/// The forwarding table of one router.
#[derive(Debug, Clone)]
pub struct Fib<V = NextHop> {
    v6: Lpm<V>,
    v4: Lpm<V>,
}

impl<V> Default for Fib<V> {
    fn default() -> Self {
        Fib {
            v6: Lpm::default(),
            v4: Lpm::default(),
        }
    }
}

impl<V> Fib<V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a route; returns the replaced next hop.
    pub fn insert_v6(&mut self, prefix: Ipv6Net, hop: V) -> Option<V> {
        self.v6
            .insert(u128::from(prefix.addr()), prefix.prefix_len(), hop)
    }

    pub fn remove_v6(&mut self, prefix: &Ipv6Net) -> Option<V> {
        self.v6
            .remove(u128::from(prefix.addr()), prefix.prefix_len())
    }

    /// The next hop of exactly this prefix (no longest match).
    pub fn get_v6(&self, prefix: &Ipv6Net) -> Option<&V> {
        self.v6.get(u128::from(prefix.addr()), prefix.prefix_len())
    }

    /// Longest-prefix match; returns the matching prefix length and next hop.
    pub fn lookup_v6(&self, dst: Ipv6Addr) -> Option<(u8, &V)> {
        self.v6.lookup(u128::from(dst))
    }

    pub fn insert_v4(&mut self, prefix: Ipv4Net, hop: V) -> Option<V> {
        self.v4
            .insert(v4_bits(prefix.addr()), prefix.prefix_len(), hop)
    }

    pub fn remove_v4(&mut self, prefix: &Ipv4Net) -> Option<V> {
        self.v4.remove(v4_bits(prefix.addr()), prefix.prefix_len())
    }

    pub fn get_v4(&self, prefix: &Ipv4Net) -> Option<&V> {
        self.v4.get(v4_bits(prefix.network()), prefix.prefix_len())
    }

    pub fn lookup_v4(&self, dst: Ipv4Addr) -> Option<(u8, &V)> {
        self.v4.lookup(v4_bits(dst))
    }

    pub fn len(&self) -> usize {
        self.v6.len() + self.v4.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every IPv6 route, in no particular order.
    pub fn routes_v6(&self) -> impl Iterator<Item = (Ipv6Net, &V)> {
        self.v6.iter().filter_map(|(bits, len, v)| {
            Ipv6Net::new(Ipv6Addr::from(bits), len).ok().map(|n| (n, v))
        })
    }

    /// Every IPv4 route, in no particular order.
    pub fn routes_v4(&self) -> impl Iterator<Item = (Ipv4Net, &V)> {
        self.v4
            .iter()
            .filter_map(|(bits, len, v)| Ipv4Net::new(v4_addr(bits), len).ok().map(|n| (n, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n6(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }

    #[test]
    fn longest_prefix_wins() {
        let mut f = Fib::new();
        f.insert_v6(n6("::/0"), NextHop::Connected { port: 0 });
        f.insert_v6(n6("2001:db8::/32"), NextHop::Connected { port: 1 });
        f.insert_v6(n6("2001:db8:1::/64"), NextHop::Tunnel(7));
        f.insert_v6(n6("2001:db8:1::5/128"), NextHop::Connected { port: 2 });
        let hop = |a: &str| f.lookup_v6(a.parse().unwrap()).map(|(l, h)| (l, *h));
        assert_eq!(
            hop("2001:db8:1::5"),
            Some((128, NextHop::Connected { port: 2 }))
        );
        assert_eq!(hop("2001:db8:1::6"), Some((64, NextHop::Tunnel(7))));
        assert_eq!(
            hop("2001:db8:2::1"),
            Some((32, NextHop::Connected { port: 1 }))
        );
        assert_eq!(hop("fe80::1"), Some((0, NextHop::Connected { port: 0 })));
    }

    #[test]
    fn host_bits_are_masked_and_remove_restores() {
        let mut f: Fib<u32> = Fib::new();
        assert_eq!(f.insert_v6(n6("2001:db8:1::77/64"), 1), None);
        assert_eq!(f.get_v6(&n6("2001:db8:1::/64")), Some(&1));
        assert_eq!(f.insert_v6(n6("2001:db8:1::/64"), 2), Some(1));
        assert_eq!(f.len(), 1);
        assert_eq!(f.remove_v6(&n6("2001:db8:1::/64")), Some(2));
        assert!(f.is_empty());
        assert_eq!(f.lookup_v6("2001:db8:1::1".parse().unwrap()), None);
        assert_eq!(f.remove_v6(&n6("2001:db8:1::/64")), None);
    }

    #[test]
    fn ipv4_routes() {
        let mut f: Fib<u32> = Fib::new();
        f.insert_v4("10.0.0.0/8".parse().unwrap(), 1);
        f.insert_v4("10.1.0.0/16".parse().unwrap(), 2);
        f.insert_v4("0.0.0.0/0".parse().unwrap(), 3);
        assert_eq!(f.lookup_v4("10.1.2.3".parse().unwrap()), Some((16, &2)));
        assert_eq!(f.lookup_v4("10.2.2.3".parse().unwrap()), Some((8, &1)));
        assert_eq!(f.lookup_v4("192.0.2.1".parse().unwrap()), Some((0, &3)));
        let mut all: Vec<_> = f.routes_v4().map(|(n, v)| (n.to_string(), *v)).collect();
        all.sort();
        assert_eq!(all[0], ("0.0.0.0/0".to_string(), 3));
        assert_eq!(all.len(), 3);
        assert_eq!(f.routes_v6().count(), 0);
    }

    #[test]
    fn many_routes_lookup() {
        let mut f: Fib<u32> = Fib::new();
        for i in 0..10_000u32 {
            let p = Ipv6Net::new(
                Ipv6Addr::from((0x2001_0db8_u128 << 96) | (u128::from(i) << 64)),
                64,
            )
            .unwrap();
            f.insert_v6(p, i);
        }
        let a = Ipv6Addr::from((0x2001_0db8_u128 << 96) | (1234u128 << 64) | 9);
        assert_eq!(f.lookup_v6(a), Some((64, &1234)));
        assert_eq!(f.routes_v6().count(), 10_000);
    }
}
