//! Whether a node is still on its link (RFC 5213 6.9.1.3, 6.9.2): probes and
//! their answers, the checks a PBU may wait for, and the removal (with its
//! de-registration) of a node that left.

use crate::bul::Confirming;
use crate::core::{Mag, Timer};
use crate::pbu::{PBU_HOP_LIMIT, PbuContent, build_pbu};
use router::core::{PortId, Tx};
use router::mac::Mac;
use router::timestamp::timestamp;
use router::wire::{HandoffIndicator, MhRepr, PbuRepr};
use router::{Duration, Instant};
use std::net::Ipv6Addr;

/// How long a PBU waits for the probe of a silent node (NUD reports a node
/// that is gone within 3 s).
const PROBE_WAIT: Duration = Duration::from_secs(4);
/// A node heard this recently needs no probe: it cannot have left and been
/// registered elsewhere since, as a live migration's stop-and-copy alone
/// takes longer. Every PBU's timestamp is then within this of proof that the
/// node was here, which is what makes timestamps order MAGs' claims right.
const FRESH: Duration = Duration::from_millis(5);

impl Mag {
    /// Sends a NUD probe to the node's link-local (or other known) address
    /// unless NUD holds it REACHABLE and `even_if_reachable` is false; false
    /// when no probe went (no address, or one already under way).
    pub(crate) fn probe_node(
        &mut self,
        now: Instant,
        mac: Mac,
        even_if_reachable: bool,
        tx: &mut dyn Tx,
    ) -> bool {
        let Some(e) = self.bul.get(&mac) else {
            return false;
        };
        let (port, v6, v4) = (e.port, e.nud_address(), e.ipv4.map(|g| g.address.addr()));
        match (v6, v4) {
            (Some(ip), _) => self
                .engine
                .nd_mut(port)
                .is_some_and(|nd| nd.probe(now, ip, mac, even_if_reachable, tx)),
            // An IPv4-only node is checked with unicast ARP requests.
            (None, Some(ip)) => self
                .engine
                .arp_mut(port)
                .is_some_and(|arp| arp.probe(now, ip, mac, even_if_reachable, tx)),
            (None, None) => false,
        }
    }

    /// Probes the node and does `then` once it answers (or sends anything);
    /// without an address to probe, does it at once. A node that does not
    /// answer is removed when NUD gives up.
    pub(crate) fn confirm_then(
        &mut self,
        now: Instant,
        mac: Mac,
        then: Confirming,
        tx: &mut dyn Tx,
    ) {
        let Some(e) = self.bul.get(&mac) else {
            return;
        };
        if self.is_expected(&mac) {
            // A node announced as arriving is registered on the hint's word
            // once; anything more waits for its first frame here, so that no
            // PBU stamped later than a real sighting elsewhere (a migration
            // that failed) claims it for this MAG.
            self.counters.bump("mag.hint.pbu_waits_for_node");
            if let Some(e) = self.bul.get_mut(&mac) {
                e.confirming = Some(then);
            }
            self.timers.cancel(&Timer::Binding(mac));
            return;
        }
        let probeable = e.nud_address().is_some() || e.ipv4.is_some();
        if !probeable || now - e.last_heard <= FRESH {
            return self.act_on(now, mac, then, tx);
        }
        if let Some(e) = self.bul.get_mut(&mac) {
            e.confirming = Some(then);
        }
        self.probe_node(now, mac, true, tx);
        self.timers.set(Timer::Binding(mac), now + PROBE_WAIT);
    }

    fn act_on(&mut self, now: Instant, mac: Mac, then: Confirming, tx: &mut dyn Tx) {
        match then {
            Confirming::Refresh => self.refresh(now, mac, tx),
            Confirming::Transmit => {
                self.transmit_outstanding(now, mac, tx);
            }
            Confirming::Reregister => self.reregister(now, mac, tx),
        }
    }

    /// A frame from the node arrived; true when a PBU is waiting for that.
    pub(crate) fn heard(&mut self, now: Instant, mac: Mac) -> bool {
        self.bul.get_mut(&mac).is_some_and(|e| {
            e.last_heard = now;
            e.confirming.is_some()
        })
    }

    /// Remembers a source address a registered node sends from, when it is the
    /// node's own (link-local, or in one of its prefixes). A node that attached
    /// with a frame from `::` (its DAD) and found its router in an RA may never
    /// send an RS or NA; without an address, NUD could not tell when it leaves.
    pub(crate) fn learn_from_traffic(&mut self, mac: Mac, ip: Ipv6Addr) {
        let Some(e) = self.bul.get_mut(&mac) else {
            return;
        };
        let own = ip.is_unicast_link_local() || e.hnps.iter().any(|p| p.contains(&ip));
        if own && !e.addresses.contains(&ip) {
            e.learn_address(ip);
        }
    }

    /// The node answered a probe, or sent anything: it is here.
    pub(crate) fn on_confirmed(&mut self, now: Instant, mac: Mac, tx: &mut dyn Tx) {
        self.leaving_disproved(&mac);
        let Some(then) = self.bul.get_mut(&mac).and_then(|e| e.confirming.take()) else {
            return;
        };
        log::info!("{mac} is on the link: {then:?} goes ahead");
        self.act_on(now, mac, then, tx);
    }

    pub(crate) fn on_unreachable(
        &mut self,
        now: Instant,
        port: PortId,
        mac: Option<Mac>,
        ip: Ipv6Addr,
        tx: &mut dyn Tx,
    ) {
        let owner = mac
            .and_then(|m| self.bul.get(&m))
            .filter(|e| e.port == port && e.addresses.contains(&ip))
            .or_else(|| self.bul.by_address(port, &ip))
            .map(|e| (e.mac, e.nud_address()));
        let Some((node, nud_ip)) = owner else {
            return;
        };
        if self.is_expected(&node) {
            // Announced as arriving: its silence is the pause, not a departure.
            self.counters.bump("mag.nud.expected_silent");
            return;
        }
        if self.heard_while_probing(now, node) {
            self.counters.bump("mag.nud.heard_while_probing");
            if let Some(nd) = self.engine.nd_mut(port) {
                nd.probe(now, ip, node, true, tx);
            }
            return;
        }
        if nud_ip == Some(ip) {
            self.counters.bump("mag.detach.nud");
            log::info!("{node} unreachable at {ip} (NUD): detached");
            self.remove(now, node, Some("detached"), tx);
            return;
        }
        // One address gone (e.g. a temporary one retired): check the node itself.
        if let Some(e) = self.bul.get_mut(&node) {
            e.addresses.retain(|a| *a != ip);
        }
        if let (Some(nud_ip), Some(nd)) = (nud_ip, self.engine.nd_mut(port)) {
            nd.probe(now, nud_ip, node, false, tx);
        }
    }

    /// NUD only counts solicited answers; a node that sent anything while it
    /// was being probed (a migrated VM announcing itself on its return) is
    /// here, whatever the probes that went out while it was away say.
    pub(crate) fn heard_while_probing(&self, now: Instant, node: Mac) -> bool {
        let nud = self.cfg.access_nud;
        let probing = nud.retrans_timer * u32::from(nud.max_unicast_solicit);
        self.bul
            .get(&node)
            .is_some_and(|e| now - e.last_heard < probing)
    }

    /// Drops a node's binding: routes, neighbor entries and timers go, and a
    /// registered binding is de-registered at the LMA when `dereg` says why
    /// (RFC 5213 6.9.1.3; lifetime 0, not retransmitted: the MAG is done with it).
    pub(crate) fn remove(&mut self, now: Instant, mac: Mac, dereg: Option<&str>, tx: &mut dyn Tx) {
        let Some(e) = self.bul.remove(&mac) else {
            return;
        };
        self.timers.cancel(&Timer::Binding(mac));
        self.timers.cancel(&Timer::Ra(mac));
        self.timers.cancel(&Timer::Announced(mac));
        // A node said to be leaving is served by the next MAG: its binding
        // is that MAG's now, not this one's to de-register.
        let dereg = dereg.filter(|_| !self.is_leaving(&mac));
        let homes = crate::forwarding::home_nets(&e.hnps, e.ipv4.map(|g| g.address.addr()));
        self.end_hints(&mac, &homes);
        if let Some(nd) = self.engine.nd_mut(e.port) {
            for ip in &e.addresses {
                nd.forget(ip);
            }
        }
        if !e.is_registered() {
            return;
        }
        self.remove_routes(&e.hnps);
        if let Some(g) = e.ipv4 {
            self.remove_ipv4(e.port, g);
        }
        let Some(why) = dereg else {
            return;
        };
        let seq = self.take_sequence();
        let pbu: PbuRepr = build_pbu(
            seq,
            &PbuContent {
                mn_id: &e.mn_id,
                hnps: &e.hnps,
                handoff: HandoffIndicator::Unknown,
                access_technology: self.cfg.access_technology,
                mac,
                mag_link_local: self.access_link_local(e.port),
                timestamp: self.cfg.timestamps.then(|| timestamp(self.cfg.epoch, now)),
                lifetime: 0,
                ipv4: e.ipv4_request(),
            },
        );
        let (mn_id, hnps) = (e.mn_id.clone(), crate::node_link::homes(&e.hnps, e.ipv4));
        let ends = (self.proxy_coa(), self.cfg.lmaa);
        self.counters.bump("mag.pbu.dereg");
        self.auth.send(
            &mut self.engine,
            now,
            ends,
            PBU_HOP_LIMIT,
            MhRepr::Pbu(pbu),
            tx,
        );
        log::info!(
            "{mac} ({mn_id}) {why} -> de-registration PBU seq {seq} for {hnps} to {}",
            self.cfg.lmaa
        );
    }
}
