//! The MAG's side of RFC 5847: Heartbeat Requests to the LMA every
//! HEARTBEAT_INTERVAL, answers to the LMA's requests, and recovery. When the
//! LMA answers with a new Restart Counter it has restarted and lost every
//! binding; when it answers again after missing MISSING_HEARTBEATS_ALLOWED
//! requests, refreshes may have failed meanwhile. Either way the MAG registers
//! every node it holds again as soon as the node answers, instead of leaving them unreachable until
//! their next refresh (up to 80 % of the lifetime away).

use crate::bul::Confirming;
use crate::core::{Mag, Timer};
use router::Instant;
use router::core::Tx;
use router::heartbeat::{PeerEvent, response};
use router::mac::Mac;
use router::wire::{HeartbeatRepr, MhRepr};
use std::net::Ipv6Addr;

const HEARTBEAT_HOP_LIMIT: u8 = 64;

impl Mag {
    pub(crate) fn heartbeat_timer(&mut self, now: Instant, tx: &mut dyn Tx) {
        let Some(peer) = self.lma.as_mut() else {
            return;
        };
        let (request, event) = peer.on_timer(now);
        let (local, remote, next) = (peer.local, peer.remote, peer.poll_at());
        self.timers.set(Timer::Heartbeat, next);
        if let Some(PeerEvent::Failed { missed }) = event {
            self.counters.bump("heartbeat.peer_failed");
            log::warn!(
                "the LMA {remote} failed: {missed} heartbeats unanswered (RFC 5847 5.2); {} bindings wait for it",
                self.bul.len()
            );
        }
        let request = MhRepr::Heartbeat(request);
        if self.auth.send(
            &mut self.engine,
            now,
            (local, remote),
            HEARTBEAT_HOP_LIMIT,
            request,
            tx,
        ) {
            self.counters.bump("heartbeat.requests_sent");
        }
    }

    /// A Heartbeat from the LMA (its source was checked) to `local`.
    pub(crate) fn on_heartbeat(
        &mut self,
        now: Instant,
        local: Ipv6Addr,
        hb: &HeartbeatRepr,
        tx: &mut dyn Tx,
    ) {
        if !hb.response {
            self.counters.bump("heartbeat.requests_answered");
            let answer = MhRepr::Heartbeat(response(hb, self.cfg.restart_counter));
            self.auth.send(
                &mut self.engine,
                now,
                (local, self.cfg.lmaa),
                HEARTBEAT_HOP_LIMIT,
                answer,
                tx,
            );
            return;
        }
        let Some(event) = self.lma.as_mut().and_then(|p| p.on_response(hb)) else {
            return;
        };
        let why = match event {
            PeerEvent::Restarted { before, now } => {
                format!(
                    "the LMA restarted (Restart Counter {before} -> {now}) and lost its bindings"
                )
            }
            PeerEvent::Recovered => "the LMA answers heartbeats again".to_string(),
            PeerEvent::Failed { .. } => return,
        };
        self.counters.bump("heartbeat.recoveries");
        let nodes: Vec<Mac> = self
            .bul
            .sorted()
            .iter()
            .filter(|e| e.is_registered())
            .map(|e| e.mac)
            .collect();
        log::warn!(
            "{why}: registering its {} nodes again as soon as each answers (RFC 5847 5.3)",
            nodes.len()
        );
        for mac in nodes {
            self.confirm_then(now, mac, Confirming::Refresh, tx);
        }
    }
}
