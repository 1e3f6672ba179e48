//! Access authentication (RFC 5213 6.9.1.1): before a MAG acts for a node that
//! appeared on its access link, it asks its policy store whether the node may
//! attach here (the policy file's node table, or a RADIUS server asked with
//! the node's MN-ID as User-Name, as the paper's MAGs did). Only an admitted
//! node gets a Binding Update List entry, a PBU and Router Advertisements.
//!
//! An answer that comes later (RADIUS) leaves the node waiting, one question
//! per node, while the loop goes on forwarding. A refusal is remembered for a
//! while, so a refused node's every frame does not become another question:
//! a refusal proper for `REFUSED_FOR`, a store that could not answer for
//! `UNANSWERED_FOR`, after which the node's next frame asks again.

use crate::attach::Sighting;
use crate::core::Mag;
use router::aaa::{Answer, Lookup, Question, Refusal, Token};
use router::core::{PortId, Tx};
use router::mac::Mac;
use router::{Duration, Instant};
use std::net::SocketAddr;

/// How long a node the store refused is not asked about again.
const REFUSED_FOR: Duration = Duration::from_secs(30);
/// How long a node no AAA server answered for waits before it is asked again.
const UNANSWERED_FOR: Duration = Duration::from_secs(5);

/// A node waiting for the store's answer: where and how it was seen.
#[derive(Debug, Clone)]
pub(crate) struct Waiting {
    pub port: PortId,
    pub sighting: Sighting,
    pub mn_id: String,
}

impl Mag {
    /// Whether the node of `s`, named `mn_id` in the node table, may attach
    /// now. `false` when it is refused or its answer is still to come; that
    /// answer then attaches it (`attach_admitted`).
    pub(crate) fn admitted(
        &mut self,
        now: Instant,
        port: PortId,
        s: Sighting,
        mn_id: &str,
        tx: &mut dyn Tx,
    ) -> bool {
        if let Some(&until) = self.refused.get(&s.mac) {
            if now < until {
                self.counters.bump("mag.attach.refused_recently");
                return false;
            }
            self.refused.remove(&s.mac);
        }
        if self.asking.contains_key(&s.mac) {
            return false;
        }
        let question = Question::Attach { mn_id, mac: s.mac };
        match self.store.lookup(now, &question, tx) {
            Lookup::Ready(Answer::Accept(_)) => true,
            Lookup::Ready(Answer::Refuse(refusal)) => {
                self.refuse(now, s.mac, mn_id, &refusal);
                false
            }
            Lookup::Pending(token) => {
                log::info!(
                    "{} ({mn_id}) seen ({}): asked the AAA server whether it may attach here; no PBU until it answers",
                    s.mac,
                    s.trigger
                );
                self.counters.bump("mag.attach.asked");
                self.asking.insert(s.mac, token);
                let waiting = Waiting {
                    port,
                    sighting: s,
                    mn_id: mn_id.to_string(),
                };
                self.waiting.insert(token, waiting);
                false
            }
        }
    }

    fn refuse(&mut self, now: Instant, mac: Mac, mn_id: &str, refusal: &Refusal) {
        let unanswered = matches!(refusal, Refusal::Unreachable { .. } | Refusal::Busy { .. });
        let (hold, outcome) = if unanswered {
            (UNANSWERED_FOR, "asked again at its next frame after")
        } else {
            (REFUSED_FOR, "not asked about again for")
        };
        self.counters.bump("mag.attach.refused");
        log::warn!(
            "{mac} ({mn_id}) may not attach here: {refusal} -> no PBU, no RA (RFC 5213 6.9.1.1); {outcome} {} s",
            hold.secs()
        );
        self.refused.insert(mac, now + hold);
    }

    /// The store answered about a waiting node.
    fn store_answered(&mut self, now: Instant, token: Token, answer: Answer, tx: &mut dyn Tx) {
        let Some(w) = self.waiting.remove(&token) else {
            return;
        };
        self.asking.remove(&w.sighting.mac);
        match answer {
            Answer::Accept(_) if !self.bul.contains(&w.sighting.mac) => {
                log::info!(
                    "{} ({}): the AAA server accepted it",
                    w.sighting.mac,
                    w.mn_id
                );
                self.attach_admitted(now, w.port, w.sighting, &w.mn_id, tx);
            }
            Answer::Accept(_) => {}
            Answer::Refuse(refusal) => self.refuse(now, w.sighting.mac, &w.mn_id, &refusal),
        }
    }

    /// A datagram on the loop's socket: a RADIUS answer, if it is authentic.
    pub(crate) fn on_store_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        tx: &mut dyn Tx,
    ) {
        if let Some((token, answer)) = self.store.on_datagram(now, from, datagram) {
            self.store_answered(now, token, answer, tx);
        }
    }

    /// The store's retransmissions, and the lookups that gave up.
    pub(crate) fn store_timer(&mut self, now: Instant, tx: &mut dyn Tx) {
        for (token, answer) in self.store.on_timer(now, tx) {
            self.store_answered(now, token, answer, tx);
        }
    }
}
