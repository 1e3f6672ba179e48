//! A plain IPv6 router core: N ports, static prefixes per port, RA, ND, forwarding.

use crate::Instant;
use crate::core::{Core, PortId, Tx};
use crate::counters::Counters;
use ipnet::Ipv6Net;
use smoltcp::wire::EthernetAddress;

/// One port of the plain router.
#[derive(Debug, Clone)]
pub struct PortConfig {
    pub mac: EthernetAddress,
    pub mtu: usize,
    /// On-link prefixes advertised in RAs on this port (the router takes ::1 in each).
    pub prefixes: Vec<Ipv6Net>,
}

#[derive(Debug, Clone)]
pub struct PlainConfig {
    pub name: String,
    pub ports: Vec<PortConfig>,
    /// Interval between unsolicited multicast RAs.
    pub ra_interval: crate::Duration,
}

pub struct PlainRouter {
    cfg: PlainConfig,
    counters: Counters,
}

impl PlainRouter {
    pub fn new(cfg: PlainConfig, _now: Instant) -> Self {
        PlainRouter {
            cfg,
            counters: Counters::default(),
        }
    }

    pub fn config(&self) -> &PlainConfig {
        &self.cfg
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Core for PlainRouter {
    fn on_frame(&mut self, _now: Instant, _port: PortId, _frame: &[u8], _tx: &mut dyn Tx) {
        self.counters.bump("rx");
    }
    fn on_timer(&mut self, _now: Instant, _tx: &mut dyn Tx) {}
    fn poll_at(&self) -> Option<Instant> {
        None
    }
}
