//! Home network prefixes handed out from the policy's pools (RFC 5213 5.3.1
//! step "allocate HNPs" for nodes whose profile names a pool instead of fixed
//! prefixes). A prefix stays with its node until the binding is deleted.

use ipnet::Ipv6Net;
use router::policy::HnpPool;
use std::collections::{BTreeMap, HashSet};
use std::net::Ipv6Addr;

#[derive(Debug)]
struct Pool {
    prefix: Ipv6Net,
    length: u8,
    /// Index of the next never-used prefix.
    next: u128,
    /// Returned prefixes, handed out again before new ones.
    free: Vec<Ipv6Net>,
    in_use: HashSet<Ipv6Net>,
}

impl Pool {
    fn size(&self) -> u128 {
        let bits = u32::from(self.length - self.prefix.prefix_len());
        1u128.checked_shl(bits).unwrap_or(u128::MAX)
    }

    fn nth(&self, index: u128) -> Option<Ipv6Net> {
        let shift = 128 - u32::from(self.length);
        let offset = index.checked_shl(shift).unwrap_or(0);
        let addr = u128::from(self.prefix.network()) | offset;
        Ipv6Net::new(Ipv6Addr::from(addr), self.length).ok()
    }

    fn holds(&self, prefix: &Ipv6Net) -> bool {
        prefix.prefix_len() == self.length && self.prefix.contains(prefix)
    }
}

#[derive(Debug, Default)]
pub struct HnpPools {
    pools: BTreeMap<String, Pool>,
}

impl HnpPools {
    pub fn new(pools: &BTreeMap<String, HnpPool>) -> Self {
        let pools = pools
            .iter()
            .map(|(name, p)| {
                let pool = Pool {
                    prefix: p.prefix,
                    length: p.length,
                    next: 0,
                    free: Vec::new(),
                    in_use: HashSet::new(),
                };
                (name.clone(), pool)
            })
            .collect();
        HnpPools { pools }
    }

    /// A free prefix from `pool`, or `None` when it is exhausted or unknown.
    pub fn allocate(&mut self, pool: &str) -> Option<Ipv6Net> {
        let p = self.pools.get_mut(pool)?;
        let prefix = match p.free.pop() {
            Some(prefix) => prefix,
            None => loop {
                if p.next >= p.size() {
                    return None;
                }
                let candidate = p.nth(p.next)?;
                p.next += 1;
                // Skip prefixes claimed explicitly by a PBU.
                if !p.in_use.contains(&candidate) {
                    break candidate;
                }
            },
        };
        p.in_use.insert(prefix);
        Some(prefix)
    }

    /// Takes a specific prefix a MAG asked for; false if it is not the pool's
    /// or already someone else's.
    pub fn claim(&mut self, pool: &str, prefix: Ipv6Net) -> bool {
        let Some(p) = self.pools.get_mut(pool) else {
            return false;
        };
        if !p.holds(&prefix) || !p.in_use.insert(prefix) {
            return false;
        }
        p.free.retain(|f| *f != prefix);
        true
    }

    pub fn release(&mut self, pool: &str, prefix: Ipv6Net) {
        if let Some(p) = self.pools.get_mut(pool)
            && p.in_use.remove(&prefix)
        {
            p.free.push(prefix);
        }
    }

    /// Gives `prefix` back to whichever pool handed it out; a fixed prefix,
    /// from no pool, is left alone.
    pub fn release_anywhere(&mut self, prefix: Ipv6Net) {
        for p in self.pools.values_mut() {
            if p.holds(&prefix) && p.in_use.remove(&prefix) {
                p.free.push(prefix);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pools(prefix: &str, length: u8) -> HnpPools {
        let mut m = BTreeMap::new();
        m.insert(
            "vms".to_string(),
            HnpPool {
                prefix: prefix.parse().unwrap(),
                length,
            },
        );
        HnpPools::new(&m)
    }

    fn net(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }

    #[test]
    fn allocates_in_order_and_reuses_released() {
        let mut p = pools("2001:db8:100::/48", 64);
        assert_eq!(p.allocate("vms"), Some(net("2001:db8:100::/64")));
        assert_eq!(p.allocate("vms"), Some(net("2001:db8:100:1::/64")));
        p.release("vms", net("2001:db8:100::/64"));
        assert_eq!(p.allocate("vms"), Some(net("2001:db8:100::/64")));
        p.release_anywhere(net("2001:db8:100:1::/64"));
        p.release_anywhere(net("2001:db8:1:1::/64"));
        assert_eq!(p.allocate("vms"), Some(net("2001:db8:100:1::/64")));
        assert_eq!(p.allocate("other"), None);
    }

    #[test]
    fn exhaustion_and_claims() {
        let mut p = pools("2001:db8:100::/63", 64);
        assert!(p.claim("vms", net("2001:db8:100::/64")));
        assert!(!p.claim("vms", net("2001:db8:100::/64")));
        assert!(!p.claim("vms", net("2001:db8:200::/64")));
        assert_eq!(p.allocate("vms"), Some(net("2001:db8:100:1::/64")));
        assert_eq!(p.allocate("vms"), None);
    }
}
