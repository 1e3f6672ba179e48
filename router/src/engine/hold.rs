//! Destinations whose packets the engine hands to its core instead of
//! forwarding them: a MAG holds the downlink of a node that is about to
//! arrive (a live migration's stop-and-copy) and delivers it when the node
//! shows up, rather than letting neighbor resolution on the access link
//! lose it.

use crate::fib::Fib;
use ipnet::Ipv6Net;
use std::net::Ipv6Addr;

#[derive(Default)]
pub(super) struct Hold {
    prefixes: Fib<()>,
    packets: Vec<Vec<u8>>,
}

impl Hold {
    pub(super) fn add(&mut self, prefix: Ipv6Net) {
        self.prefixes.insert_v6(prefix.trunc(), ());
    }

    pub(super) fn remove(&mut self, prefix: Ipv6Net) {
        self.prefixes.remove_v6(&prefix.trunc());
    }

    /// Keeps a copy of `packet` if its destination is held; true if it was.
    pub(super) fn catch(&mut self, dst: Ipv6Addr, packet: &[u8]) -> bool {
        if self.prefixes.is_empty() || self.prefixes.lookup_v6(dst).is_none() {
            return false;
        }
        self.packets.push(packet.to_vec());
        true
    }

    pub(super) fn holds(&self, dst: Ipv6Addr) -> bool {
        self.prefixes.lookup_v6(dst).is_some()
    }

    pub(super) fn take(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.packets)
    }

    pub(super) fn is_idle(&self) -> bool {
        self.prefixes.is_empty() && self.packets.is_empty()
    }
}
