//! A registered node on its access link (RFC 5213 6.9.1.2, 6.10): its routes,
//! its per-node RAs, and the probes that notice when an idle node left.

use crate::access::{node_ra, ra_destination};
use crate::core::{Mag, Timer};
use ipnet::Ipv6Net;
use router::Instant;
use router::core::{PortId, Tx};
use router::mac::Mac;
use router::routes::RouteTable;

pub(crate) fn prefixes<T: std::fmt::Display>(nets: &[T]) -> String {
    let all: Vec<String> = nets.iter().map(T::to_string).collect();
    all.join(", ")
}

/// A node's HNPs and IPv4 home address, for log lines.
pub(crate) fn homes(hnps: &[Ipv6Net], ipv4: Option<crate::bul::Ipv4Grant>) -> String {
    let v4 = ipv4.map(|g| g.address.to_string());
    let all: Vec<String> = hnps.iter().map(Ipv6Net::to_string).chain(v4).collect();
    all.join(", ")
}

impl Mag {
    /// The MTU advertised to nodes on an access link: what fits both that link and
    /// the tunnel to the LMA, so nodes never send what the MAG must refuse with a
    /// Packet Too Big (RFC 2473 7.1).
    pub(crate) fn access_mtu(&self, port: PortId) -> u32 {
        let link = port
            .checked_sub(1)
            .and_then(|i| self.cfg.access.get(i))
            .map_or(1500, |a| a.mtu);
        let tunnel = router::tunnel::tunnel_mtu(self.cfg.uplink.mtu);
        u32::try_from(link.min(tunnel)).unwrap_or(1280)
    }

    /// Traffic to an HNP goes to the access link, traffic from it into the one
    /// tunnel to the LMA that every node behind this MAG shares (RFC 5213 6.10.5).
    pub(crate) fn install_routes(&mut self, port: PortId, hnps: &[Ipv6Net]) {
        let (local, remote) = (self.proxy_coa(), self.cfg.lmaa);
        let routes = self.engine.routes_mut();
        for hnp in hnps {
            routes.connect(*hnp, port);
            routes.tunnel_into(RouteTable::Source, *hnp, local, remote);
        }
    }

    pub(crate) fn remove_routes(&mut self, hnps: &[Ipv6Net]) {
        let routes = self.engine.routes_mut();
        for hnp in hnps {
            routes.remove(RouteTable::Destination, *hnp);
            routes.remove(RouteTable::Source, *hnp);
        }
    }

    /// The node's unicast RA with exactly its HNPs, then the next one
    /// scheduled; a node with an IPv4 home address has its default router
    /// announced once too (the only announcement an IPv4-only node gets).
    pub(crate) fn send_ra(&mut self, now: Instant, mac: Mac, tx: &mut dyn Tx) {
        // A node announced as arriving gets its RA once it is here.
        let Some(e) = self.bul.get(&mac).filter(|e| e.is_registered()) else {
            return;
        };
        if self.is_expected(&mac) {
            return;
        }
        let left = e
            .lifetime_left(now)
            .map_or(0, |d| u32::try_from(d.secs()).unwrap_or(u32::MAX));
        let params = node_ra(&e.hnps, left, self.cfg.ra_interval, self.access_mtu(e.port));
        let (port, dst) = (e.port, ra_destination(e.link_local));
        let (ipv6, ipv4) = (
            !e.hnps.is_empty(),
            e.ipv4.filter(|_| e.ra_sent_at.is_none()),
        );
        if ipv6 && let Some(nd) = self.engine.nd_mut(port) {
            nd.send_ra_to(mac, dst, &params, tx);
            self.counters.bump("mag.ra.sent");
        }
        if let Some(g) = ipv4 {
            self.announce_router4(port, mac, g, tx);
        }
        if let Some(e) = self.bul.get_mut(&mac) {
            e.ra_sent_at.get_or_insert(now);
        }
        self.timers.set(Timer::Ra(mac), now + self.cfg.ra_interval);
    }

    /// The periodic RA, and a reachability probe of the node: NUD alone only
    /// checks neighbors that traffic flows to, and an idle node must still be
    /// noticed when it leaves (RFC 5213 6.9.1.3 relies on detecting detachment).
    pub(crate) fn on_ra_timer(&mut self, now: Instant, mac: Mac, tx: &mut dyn Tx) {
        self.send_ra(now, mac, tx);
        let Some(last_heard) = self.bul.get(&mac).map(|e| e.last_heard) else {
            return;
        };
        // A VM that left without a word (live migration) may still be REACHABLE in
        // the cache for reachable_time; silence for a whole RA interval is doubt
        // enough to probe it (RFC 4861 7.3.1), so detachment takes seconds.
        let silent = now - last_heard >= self.cfg.ra_interval;
        // A node said to be leaving is a paused VM: probes would only fail.
        if !self.is_leaving(&mac) && self.probe_node(now, mac, silent, tx) {
            self.counters.bump("mag.nud.probes");
            log::debug!("{mac} idle: probing it");
        }
    }
}
