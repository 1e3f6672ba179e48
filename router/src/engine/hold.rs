//! Destinations whose packets the engine hands to its core instead of
//! forwarding them: a MAG holds the downlink of a node that is about to
//! arrive (a live migration's stop-and-copy) and delivers it when the node
//! shows up, rather than letting neighbor (or ARP) resolution on the access
//! link lose it. IPv6 prefixes and IPv4 home addresses alike.

use crate::fib::Fib;
use ipnet::IpNet;
use std::net::IpAddr;

#[derive(Default)]
pub(super) struct Hold {
    prefixes: Fib<()>,
    packets: Vec<Vec<u8>>,
}

impl Hold {
    pub(super) fn add(&mut self, prefix: IpNet) {
        match prefix.trunc() {
            IpNet::V6(p) => self.prefixes.insert_v6(p, ()),
            IpNet::V4(p) => self.prefixes.insert_v4(p, ()),
        };
    }

    pub(super) fn remove(&mut self, prefix: IpNet) {
        match prefix.trunc() {
            IpNet::V6(p) => self.prefixes.remove_v6(&p),
            IpNet::V4(p) => self.prefixes.remove_v4(&p),
        };
    }

    /// Keeps a copy of `packet` if its destination is held; true if it was.
    pub(super) fn catch(&mut self, dst: IpAddr, packet: &[u8]) -> bool {
        if self.prefixes.is_empty() || !self.holds(dst) {
            return false;
        }
        self.packets.push(packet.to_vec());
        true
    }

    pub(super) fn holds(&self, dst: IpAddr) -> bool {
        match dst {
            IpAddr::V6(a) => self.prefixes.lookup_v6(a).is_some(),
            IpAddr::V4(a) => self.prefixes.lookup_v4(a).is_some(),
        }
    }

    pub(super) fn take(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.packets)
    }

    pub(super) fn is_idle(&self) -> bool {
        self.prefixes.is_empty() && self.packets.is_empty()
    }
}
