//! The LMA's side of RFC 5847: it answers every accepted MAG's Heartbeat
//! Requests with its Restart Counter, and watches each MAG that registered a
//! node with requests of its own.
//!
//! A MAG that stops answering is logged as failed, and logged again when it
//! answers. Its bindings are kept until their lifetimes end (RFC 5847 5.2
//! leaves the clean-up to the LMA): the nodes' prefixes stay anchored here, so
//! a node keeps its addresses when its MAG comes back or another MAG takes it
//! over, and the lifetime bounds how long state for a dead MAG can last. A MAG
//! that restarted re-learns the nodes on its links and re-registers them.

use crate::core::{Lma, Timer};
use crate::pbu::Sender;
use router::Instant;
use router::core::Tx;
use router::heartbeat::{HeartbeatPeer, PeerEvent, response};
use router::wire::{HeartbeatRepr, MhRepr};
use std::net::Ipv6Addr;

const HEARTBEAT_HOP_LIMIT: u8 = 64;

impl Lma {
    /// Starts watching the MAG of a binding just accepted, if not yet watched.
    pub(crate) fn watch_mag(&mut self, now: Instant, from: Sender) {
        let Some(cfg) = self.heartbeat else { return };
        if self.mags.contains_key(&from.mag) {
            return;
        }
        let peer = HeartbeatPeer::new(from.lma, from.mag, cfg, now + cfg.interval);
        self.timers.set(Timer::Heartbeat(from.mag), peer.poll_at());
        self.mags.insert(from.mag, peer);
    }

    pub(crate) fn on_heartbeat(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hb: &HeartbeatRepr,
        tx: &mut dyn Tx,
    ) {
        if self.policy.mag_by_address(&src).is_none() {
            self.counters.bump("heartbeat.drop.unknown_peer");
            log::debug!("Heartbeat from {src}, not an accepted MAG: ignored");
            return;
        }
        if !hb.response {
            self.counters.bump("heartbeat.requests_answered");
            let answer = MhRepr::Heartbeat(response(hb, self.restart_counter));
            self.auth.send(
                &mut self.engine,
                now,
                (dst, src),
                HEARTBEAT_HOP_LIMIT,
                answer,
                tx,
            );
            return;
        }
        let name = self.mag_name(&src).to_string();
        let Some(event) = self.mags.get_mut(&src).and_then(|p| p.on_response(hb)) else {
            return;
        };
        let bindings = self
            .cache
            .iter()
            .filter(|(_, b)| b.proxy_coa == src)
            .count();
        match event {
            PeerEvent::Recovered => log::info!(
                "{name} answers heartbeats again; its {bindings} bindings are unchanged (RFC 5847 5.2)"
            ),
            PeerEvent::Restarted { before, now } => log::warn!(
                "{name} restarted (Restart Counter {before} -> {now}): it re-registers the nodes it finds on its links, the {bindings} bindings it held stay until then or until they expire (RFC 5847 5.3)"
            ),
            PeerEvent::Failed { .. } => {}
        }
    }

    pub(crate) fn heartbeat_timer(&mut self, now: Instant, mag: Ipv6Addr, tx: &mut dyn Tx) {
        let Some(peer) = self.mags.get_mut(&mag) else {
            return;
        };
        let (request, event) = peer.on_timer(now);
        let (local, next) = (peer.local, peer.poll_at());
        self.timers.set(Timer::Heartbeat(mag), next);
        if let Some(PeerEvent::Failed { missed }) = event {
            self.counters.bump("heartbeat.peer_failed");
            let bindings = self
                .cache
                .iter()
                .filter(|(_, b)| b.proxy_coa == mag)
                .count();
            log::warn!(
                "{} failed: {missed} heartbeats unanswered; its {bindings} bindings are kept until their lifetimes end (RFC 5847 5.2)",
                self.mag_name(&mag)
            );
        }
        let request = MhRepr::Heartbeat(request);
        if self.auth.send(
            &mut self.engine,
            now,
            (local, mag),
            HEARTBEAT_HOP_LIMIT,
            request,
            tx,
        ) {
            self.counters.bump("heartbeat.requests_sent");
        }
    }
}
