//! The home agent's Binding Cache (RFC 6275 9.1): one entry per home address,
//! naming the care-of address the home address is tunnelled to.

use router::Instant;
use std::collections::HashMap;
use std::net::Ipv6Addr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeBinding {
    pub home_address: Ipv6Addr,
    /// The policy node whose home prefix holds the home address.
    pub mn_id: String,
    pub care_of: Ipv6Addr,
    /// Sequence Number of the last Binding Update accepted (RFC 6275 9.5.1).
    pub sequence: u16,
    pub lifetime_secs: u32,
    pub expires: Instant,
    /// Binding Updates accepted for this entry, and how many changed the care-of address.
    pub updates: u32,
    pub moves: u32,
}

#[derive(Debug, Default)]
pub struct HomeBindings {
    by_home_address: HashMap<Ipv6Addr, HomeBinding>,
}

impl HomeBindings {
    pub fn get(&self, home_address: &Ipv6Addr) -> Option<&HomeBinding> {
        self.by_home_address.get(home_address)
    }

    pub(super) fn insert(&mut self, binding: HomeBinding) -> Option<HomeBinding> {
        self.by_home_address.insert(binding.home_address, binding)
    }

    pub(super) fn remove(&mut self, home_address: &Ipv6Addr) -> Option<HomeBinding> {
        self.by_home_address.remove(home_address)
    }

    /// Entries in home-address order, for tables.
    pub fn sorted(&self) -> Vec<&HomeBinding> {
        let mut all: Vec<&HomeBinding> = self.by_home_address.values().collect();
        all.sort_by_key(|b| b.home_address);
        all
    }

    pub fn len(&self) -> usize {
        self.by_home_address.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_home_address.is_empty()
    }
}
