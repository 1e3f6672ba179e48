//! IPv4 home addresses (RFC 5844 3.1.3): where a node's address comes from
//! and the pools it is drawn from. The LMA asks [`Ipv4Source`] of a node, so
//! a source other than the policy file (RADIUS's Framed-IP-Address, an
//! address the AAA server assigns) plugs in as one more `Fixed` answer.
//!
//! A pooled address stays with its node until the binding is deleted, as a
//! pooled HNP does: a handoff keeps it, which is what keeps the VM's IPv4
//! sessions alive across a migration.

use ipnet::Ipv4Net;
use router::policy::{Ipv4Assignment, Ipv4Pool, NodeProfile, Policy};
use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

/// An IPv4 home address with its link: what a binding keeps, what the PBA
/// carries (options 37 and 38) and what the MAG's DHCP server hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Home {
    /// The address with the prefix length of its link.
    pub address: Ipv4Net,
    pub router: Ipv4Addr,
}

impl std::fmt::Display for Ipv4Home {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} via {}", self.address, self.router)
    }
}

/// Where a node's IPv4 home address comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv4Source<'a> {
    /// Always this one (the policy's `ipv4 =`, or an AAA server's answer).
    Fixed(Ipv4Home),
    /// Any free address of the named pool.
    Pool(&'a str),
}

/// The source the policy names for `node`; `None`: not authorized for IPv4.
pub fn policy_source(node: &NodeProfile) -> Option<Ipv4Source<'_>> {
    Some(match node.ipv4.as_ref()? {
        Ipv4Assignment::Fixed { address, router } => Ipv4Source::Fixed(Ipv4Home {
            address: *address,
            router: *router,
        }),
        Ipv4Assignment::Pool(name) => Ipv4Source::Pool(name),
    })
}

/// Why no address was given; each maps to an IPv4 Home Address Reply status
/// (RFC 5844 3.3.2) and, for an IPv4-only request, a PBA status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv4Refusal {
    /// The PBU asked for an address the source does not give (130, or 171).
    NotThisAddress(Ipv4Addr),
    /// The pool has no free address (132, or 130 INSUFFICIENT_RESOURCES).
    Exhausted,
}

#[derive(Debug)]
struct Pool {
    link: Ipv4Pool,
    /// The next never-used host, as an offset from the network address.
    next: u32,
    free: Vec<Ipv4Addr>,
    in_use: HashSet<Ipv4Addr>,
}

impl Pool {
    fn home(&self, address: Ipv4Addr) -> Ipv4Home {
        Ipv4Home {
            address: Ipv4Net::new(address, self.link.prefix.prefix_len())
                .unwrap_or(self.link.prefix),
            router: self.link.router,
        }
    }

    /// Whether `a` is an address this pool hands out.
    fn holds(&self, a: Ipv4Addr) -> bool {
        let p = self.link.prefix;
        p.contains(&a) && a != p.network() && a != p.broadcast() && a != self.link.router
    }

    fn take_next(&mut self) -> Option<Ipv4Addr> {
        let base = u32::from(self.link.prefix.network());
        let size = 1u64 << (32 - u32::from(self.link.prefix.prefix_len()));
        while u64::from(self.next) < size {
            let a = Ipv4Addr::from(base.wrapping_add(self.next));
            self.next += 1;
            if self.holds(a) && !self.in_use.contains(&a) {
                return Some(a);
            }
        }
        None
    }
}

/// The policy's IPv4 pools, as the LMA draws from them.
#[derive(Debug, Default)]
pub struct Ipv4Pools {
    pools: BTreeMap<String, Pool>,
}

impl Ipv4Pools {
    pub fn new(policy: &Policy) -> Self {
        let pools = policy
            .ipv4_pools
            .iter()
            .map(|(name, link)| {
                let pool = Pool {
                    link: *link,
                    next: 0,
                    free: Vec::new(),
                    in_use: HashSet::new(),
                };
                (name.clone(), pool)
            })
            .collect();
        Ipv4Pools { pools }
    }

    /// An address from `source`: the one the PBU asked for when `requested`
    /// is not 0.0.0.0 (RFC 5844 3.3.1), else the source's choice.
    pub fn assign(
        &mut self,
        source: &Ipv4Source<'_>,
        requested: Ipv4Addr,
    ) -> Result<Ipv4Home, Ipv4Refusal> {
        let asked = (!requested.is_unspecified()).then_some(requested);
        match source {
            Ipv4Source::Fixed(home) => match asked {
                Some(a) if a != home.address.addr() => Err(Ipv4Refusal::NotThisAddress(a)),
                _ => Ok(*home),
            },
            Ipv4Source::Pool(name) => {
                let pool = self.pools.get_mut(*name).ok_or(Ipv4Refusal::Exhausted)?;
                let address = match asked {
                    Some(a) if !pool.holds(a) || pool.in_use.contains(&a) => {
                        return Err(Ipv4Refusal::NotThisAddress(a));
                    }
                    Some(a) => {
                        pool.free.retain(|f| *f != a);
                        a
                    }
                    None => match pool.free.pop() {
                        Some(a) => a,
                        None => pool.take_next().ok_or(Ipv4Refusal::Exhausted)?,
                    },
                };
                pool.in_use.insert(address);
                Ok(pool.home(address))
            }
        }
    }

    /// Whether `source` would give `address` to a node that asks for it.
    pub fn authorizes(&self, source: &Ipv4Source<'_>, address: Ipv4Addr) -> bool {
        match source {
            Ipv4Source::Fixed(home) => home.address.addr() == address,
            Ipv4Source::Pool(name) => self.pools.get(*name).is_some_and(|p| p.holds(address)),
        }
    }

    /// Gives a pooled address back when its binding is deleted.
    pub fn release(&mut self, source: &Ipv4Source<'_>, home: &Ipv4Home) {
        if let Ipv4Source::Pool(name) = source
            && let Some(pool) = self.pools.get_mut(*name)
            && pool.in_use.remove(&home.address.addr())
        {
            pool.free.push(home.address.addr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn pools(prefix: &str) -> Ipv4Pools {
        let text = format!(
            "[ipv4_pool.v4]\nprefix = \"{prefix}\"\n[[node]]\nmn_id = \"n\"\nmac = \"52:54:00:00:00:01\"\nipv4_pool = \"v4\"\n"
        );
        Ipv4Pools::new(&Policy::parse(&text, "p.toml").unwrap())
    }

    #[test]
    fn a_pool_hands_out_hosts_skipping_the_router_and_reuses_released() {
        let mut p = pools("10.2.0.0/29");
        let src = Ipv4Source::Pool("v4");
        let first = p.assign(&src, Ipv4Addr::UNSPECIFIED).unwrap();
        assert_eq!(first.address.to_string(), "10.2.0.2/29");
        assert_eq!(first.router, a("10.2.0.1"));
        let all: Vec<_> = (0..4)
            .map(|_| {
                p.assign(&src, Ipv4Addr::UNSPECIFIED)
                    .unwrap()
                    .address
                    .addr()
            })
            .collect();
        assert_eq!(
            all,
            [a("10.2.0.3"), a("10.2.0.4"), a("10.2.0.5"), a("10.2.0.6")]
        );
        assert_eq!(
            p.assign(&src, Ipv4Addr::UNSPECIFIED),
            Err(Ipv4Refusal::Exhausted)
        );
        p.release(&src, &first);
        assert_eq!(p.assign(&src, Ipv4Addr::UNSPECIFIED), Ok(first));
    }

    #[test]
    fn asked_for_addresses_are_checked() {
        let mut p = pools("10.2.0.0/24");
        let src = Ipv4Source::Pool("v4");
        assert_eq!(
            p.assign(&src, a("10.2.0.9")).unwrap().address.addr(),
            a("10.2.0.9")
        );
        assert_eq!(
            p.assign(&src, a("10.2.0.9")),
            Err(Ipv4Refusal::NotThisAddress(a("10.2.0.9"))),
            "taken"
        );
        for bad in ["10.2.0.1", "10.2.0.0", "10.2.0.255", "10.3.0.9"] {
            assert_eq!(
                p.assign(&src, a(bad)),
                Err(Ipv4Refusal::NotThisAddress(a(bad)))
            );
        }
        assert!(p.authorizes(&src, a("10.2.0.9")) && !p.authorizes(&src, a("10.2.0.1")));
        let fixed = Ipv4Source::Fixed(Ipv4Home {
            address: "10.1.1.5/24".parse().unwrap(),
            router: a("10.1.1.1"),
        });
        assert!(p.assign(&fixed, a("10.1.1.5")).is_ok());
        assert!(p.assign(&fixed, Ipv4Addr::UNSPECIFIED).is_ok());
        assert_eq!(
            p.assign(&fixed, a("10.1.1.6")),
            Err(Ipv4Refusal::NotThisAddress(a("10.1.1.6")))
        );
        assert_eq!(
            p.assign(&Ipv4Source::Pool("none"), Ipv4Addr::UNSPECIFIED),
            Err(Ipv4Refusal::Exhausted)
        );
    }
}
