//! A node's IPv4 side on its access link (RFC 5844 3.2): its home address
//! from the PBA (options 37 and 38), the routes for it, and ARP. The MAG is
//! the node's IPv4 default router: every MAG answers for the same
//! default-router address with the same MAC (as every MAG answers for
//! `fe80::1`), so a node that moves keeps its router and its ARP entry for
//! it. It answers by proxy for the other addresses of the node's link too,
//! which may be nodes behind other MAGs: all of the node's IPv4 traffic
//! then comes to the MAG and goes into the tunnel.
//!
//! ARP requests, probes and gratuitous announcements from a node are
//! attachment triggers, as QEMU and Xen announce a migrated IPv4 guest.

use crate::attach::{Sighting, Trigger};
use crate::bul::Ipv4Grant;
use crate::core::{Mag, UPLINK};
use ipnet::Ipv4Net;
use router::Instant;
use router::arp::frames::{ArpMessage, build};
use router::arp::{ArpEvent, ArpFrame};
use router::core::{PortId, Tx};
use router::mac::Mac;
use router::routes::RouteTable;
use router::wire::PbaRepr;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// The IPv4 home address an accepted PBA grants: option 37 with a success
/// status and an address, and the router of option 38 (the link's first
/// host when the LMA gave none).
pub(crate) fn granted(pba: &PbaRepr) -> Option<Ipv4Grant> {
    let reply = pba.options.ipv4_home_address_reply?;
    if reply.status >= 128 || reply.address.is_unspecified() || reply.prefix_len > 30 {
        return None;
    }
    let address = Ipv4Net::new(reply.address, reply.prefix_len).ok()?;
    let router = pba
        .options
        .ipv4_default_router
        .filter(|r| address.contains(r) && *r != reply.address)
        .unwrap_or_else(|| router::policy::first_host(address));
    Some(Ipv4Grant { address, router })
}

impl Mag {
    /// Traffic to the home address goes to the access link, traffic from it
    /// into the tunnel to the LMA (RFC 5844 3.2.4), as for an HNP; the node's
    /// MAC is known from its registration, so it needs no ARP first.
    pub(crate) fn install_ipv4(
        &mut self,
        now: Instant,
        port: PortId,
        mac: Mac,
        grant: Ipv4Grant,
        tx: &mut dyn Tx,
    ) {
        let (local, remote) = (self.proxy_coa(), self.cfg.lmaa);
        let host = Ipv4Net::from(grant.address.addr());
        let routes = self.engine.routes_mut();
        routes.connect(host, port);
        routes.tunnel_into(RouteTable::Source, host, local, remote);
        if let Some(arp) = self.engine.arp_mut(port) {
            arp.note_neighbor(now, grant.address.addr(), mac, tx);
        }
        self.sync_routers();
    }

    pub(crate) fn remove_ipv4(&mut self, port: PortId, grant: Ipv4Grant) {
        let host = Ipv4Net::from(grant.address.addr());
        let routes = self.engine.routes_mut();
        routes.remove(RouteTable::Destination, host);
        routes.remove(RouteTable::Source, host);
        if let Some(arp) = self.engine.arp_mut(port) {
            arp.forget(&grant.address.addr());
        }
        self.sync_routers();
    }

    /// Each access port answers for the default routers of the nodes
    /// registered on it, and for no other.
    pub(crate) fn sync_routers(&mut self) {
        let mut wanted: BTreeSet<(PortId, Ipv4Net)> = BTreeSet::new();
        for e in self.bul.sorted() {
            if let (true, Some(g)) = (e.is_registered(), e.ipv4) {
                let router = Ipv4Net::new(g.router, g.address.prefix_len()).unwrap_or_default();
                wanted.insert((e.port, router));
            }
        }
        for port in 1..self.engine.port_count() {
            let Some(arp) = self.engine.arp_mut(port) else {
                continue;
            };
            let had: Vec<Ipv4Net> = arp.config().addresses.clone();
            for net in &had {
                if !wanted.contains(&(port, *net)) {
                    arp.remove_address(net);
                }
            }
            for (_, net) in wanted.iter().filter(|(p, _)| *p == port) {
                arp.add_address(*net);
            }
            for net in had {
                if !wanted.iter().any(|(_, w)| w.addr() == net.addr()) {
                    self.engine.remove_local4(&net.addr());
                }
            }
        }
        for (_, net) in wanted {
            self.engine.add_local4(net.addr());
        }
    }

    pub(crate) fn on_arp(&mut self, now: Instant, port: PortId, event: ArpEvent, tx: &mut dyn Tx) {
        if port == UPLINK {
            return;
        }
        let (arp, answered) = match event {
            ArpEvent::Unreachable { mac, ip } => {
                return self.on_arp_unreachable(now, port, mac, ip, tx);
            }
            ArpEvent::Received { arp, answered } => (arp, answered),
        };
        let trigger = if arp.is_probe() {
            Trigger::ArpProbe
        } else if arp.is_gratuitous() {
            Trigger::GratuitousArp
        } else if arp.reply {
            // An answer to one of the MAG's own requests: no news.
            return;
        } else {
            Trigger::ArpRequest
        };
        let s = Sighting {
            mac: arp.sender_mac,
            trigger,
            address: None,
        };
        self.on_sighting(now, port, s, tx);
        if !answered && !arp.is_gratuitous() {
            self.answer_by_proxy(port, &arp, tx);
        }
    }

    /// A request from a registered node for another address of its link is
    /// answered with the MAG's MAC; one from a node still registering waits.
    /// A node's own address is never answered for: that would be a conflict
    /// to its address probe (RFC 5227).
    fn answer_by_proxy(&mut self, port: PortId, arp: &ArpFrame, tx: &mut dyn Tx) {
        let Some(e) = self.bul.get_mut(&arp.sender_mac) else {
            return;
        };
        match e.ipv4.filter(|_| e.is_registered()) {
            Some(g) => {
                let target = arp.target_ip;
                if target == g.address.addr() || !g.address.contains(&target) {
                    return;
                }
                if let Some(p) = self.engine.arp_mut(port) {
                    p.answer(arp, target, tx);
                }
                self.counters.bump("mag.arp.proxied");
            }
            None if e.families.ipv4 => e.held_arp = Some(*arp),
            None => {}
        }
    }

    /// The node is registered with IPv4: what it asked meanwhile is answered.
    pub(crate) fn ipv4_registered(&mut self, now: Instant, mac: Mac, tx: &mut dyn Tx) {
        let Some(e) = self.bul.get_mut(&mac) else {
            return;
        };
        let (held, port) = (e.held_arp.take(), e.port);
        if let Some(arp) = held {
            let own = self
                .engine
                .arp(port)
                .is_some_and(|p| p.is_own(&arp.target_ip));
            match own {
                true => {
                    if let Some(p) = self.engine.arp_mut(port) {
                        p.answer(&arp, arp.target_ip, tx);
                    }
                }
                false => self.answer_by_proxy(port, &arp, tx),
            }
        }
        self.answer_held_dhcp(now, mac, tx);
    }

    /// The first router announcement of an IPv4 node: an ARP reply to it that
    /// its default router is at the MAGs' shared MAC. A node that has the
    /// entry keeps it as it was; one that has none learns nothing it did not
    /// ask for (Linux ignores unsolicited replies then).
    pub(crate) fn announce_router4(
        &mut self,
        port: PortId,
        mac: Mac,
        g: Ipv4Grant,
        tx: &mut dyn Tx,
    ) {
        let Some(own) = self.engine.port_mac(port) else {
            return;
        };
        let reply = ArpMessage {
            reply: true,
            sender_mac: own,
            sender_ip: g.router,
            target_mac: mac,
            target_ip: g.address.addr(),
        };
        tx.send(port, &build(mac, &reply));
        self.counters.bump("mag.arp.router_announced");
    }

    /// ARP gave up on a node's home address. For an IPv4-only node that is
    /// its detachment; a dual-stack node's reachability is NUD's to judge.
    fn on_arp_unreachable(
        &mut self,
        now: Instant,
        port: PortId,
        mac: Option<Mac>,
        ip: Ipv4Addr,
        tx: &mut dyn Tx,
    ) {
        let holds = |g: Option<Ipv4Grant>| g.is_some_and(|g| g.address.addr() == ip);
        let owner = mac
            .and_then(|m| self.bul.get(&m))
            .filter(|e| e.port == port && holds(e.ipv4))
            .or_else(|| {
                self.bul
                    .sorted()
                    .into_iter()
                    .find(|e| e.port == port && holds(e.ipv4))
            })
            .filter(|e| e.nud_address().is_none())
            .map(|e| e.mac);
        let Some(node) = owner else {
            return;
        };
        if self.is_expected(&node) {
            // Announced as arriving: its silence is the pause, not a departure.
            self.counters.bump("mag.nud.expected_silent");
            return;
        }
        if self.heard_while_probing(now, node) {
            self.counters.bump("mag.nud.heard_while_probing");
            if let Some(arp) = self.engine.arp_mut(port) {
                arp.probe(now, ip, node, true, tx);
            }
            return;
        }
        self.counters.bump("mag.detach.arp");
        log::info!("{node} unreachable at {ip} (ARP): detached");
        self.remove(now, node, Some("detached"), tx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use router::wire::{Ipv4HomeAddressReply, MobilityOptions, PbaStatus};

    fn pba(status: u8, address: &str, len: u8, router: Option<&str>) -> PbaRepr {
        PbaRepr {
            status: PbaStatus::Accepted,
            key_mgmt: false,
            mobile_router: false,
            proxy: true,
            sequence: 1,
            lifetime_secs: 3600,
            options: MobilityOptions {
                ipv4_home_address_reply: Some(Ipv4HomeAddressReply {
                    status,
                    prefix_len: len,
                    address: address.parse().unwrap(),
                }),
                ipv4_default_router: router.map(|r| r.parse().unwrap()),
                ..MobilityOptions::default()
            },
        }
    }

    #[test]
    fn what_a_pba_grants() {
        let g = granted(&pba(0, "10.1.1.5", 24, Some("10.1.1.254"))).unwrap();
        assert_eq!(g.to_string(), "10.1.1.5/24 via 10.1.1.254");
        let g = granted(&pba(0, "10.1.1.5", 24, None)).unwrap();
        assert_eq!(g.router.to_string(), "10.1.1.1", "the link's first host");
        let g = granted(&pba(0, "10.1.1.5", 24, Some("10.9.9.9"))).unwrap();
        assert_eq!(
            g.router.to_string(),
            "10.1.1.1",
            "a router off the link is ignored"
        );
        assert_eq!(granted(&pba(129, "0.0.0.0", 0, None)), None);
        assert_eq!(granted(&pba(0, "0.0.0.0", 24, None)), None);
        assert_eq!(granted(&pba(0, "10.1.1.5", 31, None)), None);
    }
}
