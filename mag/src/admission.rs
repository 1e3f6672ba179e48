//! Access authentication (RFC 5213 6.9.1.1): before a MAG acts for a node that
//! appeared on its access link, it asks its policy store whether the node may
//! attach here (the policy file's node table, or a RADIUS server asked with
//! the node's MN-ID as User-Name, as the paper's MAGs did). Only an admitted
//! node gets a Binding Update List entry, a PBU and Router Advertisements.
//!
//! An answer that comes later (RADIUS) leaves the node waiting, one question
//! per node, while the loop goes on forwarding. A refusal is remembered for a
//! while, so a refused node's every frame does not become another question:
//! a refusal proper for `REFUSED_FOR`, after which the node's next frame asks
//! again. When no server answered, the MAG itself asks again every
//! `UNANSWERED_FOR` for `RETRY_FOR`: a node that attached while the AAA server
//! was down may say nothing more, and must not stay unregistered for it.

use crate::attach::Sighting;
use crate::core::{Mag, Timer};
use router::aaa::{Answer, Lookup, Question, Refusal, Token};
use router::core::{PortId, Tx};
use router::mac::Mac;
use router::{Duration, Instant};
use std::net::SocketAddr;

/// How long a node the store refused is not asked about again.
const REFUSED_FOR: Duration = Duration::from_secs(30);
/// How long after no AAA server answered for a node it is asked about again,
/// frame or no frame: an idle node may not speak again.
const UNANSWERED_FOR: Duration = Duration::from_secs(5);
/// How long after it was seen a node no server answered for is asked about
/// on that timer; after that only its next frame asks again.
const RETRY_FOR: Duration = Duration::from_secs(120);

/// A node the store is asked about: where and how it was seen, and since when.
#[derive(Debug, Clone)]
pub(crate) struct Waiting {
    pub port: PortId,
    pub sighting: Sighting,
    pub mn_id: String,
    pub since: Instant,
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
        let w = Waiting {
            port,
            sighting: s,
            mn_id: mn_id.to_string(),
            since: now,
        };
        self.ask(now, &w, tx)
    }

    /// Asks the store about `w`'s node: `true` if it may attach now. With as
    /// many questions open as allowed, none is asked: the node's next frame
    /// asks again.
    fn ask(&mut self, now: Instant, w: &Waiting, tx: &mut dyn Tx) -> bool {
        let mac = w.sighting.mac;
        if self.waiting.len() >= self.cfg.max_admission_questions {
            self.engine.note_drop(now, "mag.attach.drop.questions_full", || {
                format!(
                    "{mac} ({}) seen: not asked about, as {} nodes wait for the AAA server already (docs/limits.md); its next frame asks again",
                    w.mn_id,
                    self.waiting.len()
                )
            });
            return false;
        }
        let question = Question::Attach {
            mn_id: &w.mn_id,
            mac,
        };
        match self.store.lookup(now, &question, tx) {
            Lookup::Ready(Answer::Accept(_)) => true,
            Lookup::Ready(Answer::Refuse(refusal)) => {
                self.refuse(now, w.clone(), &refusal);
                false
            }
            Lookup::Pending(token) => {
                log::info!(
                    "{mac} ({}) seen ({}): asked the AAA server whether it may attach here; no PBU until it answers",
                    w.mn_id,
                    w.sighting.trigger
                );
                self.counters.bump("mag.attach.asked");
                self.asking.insert(mac, token);
                self.waiting.insert(token, w.clone());
                false
            }
        }
    }

    fn refuse(&mut self, now: Instant, w: Waiting, refusal: &Refusal) {
        let mac = w.sighting.mac;
        self.counters.bump("mag.attach.refused");
        let unanswered = matches!(refusal, Refusal::Unreachable { .. } | Refusal::Busy { .. });
        let head = format!(
            "{mac} ({}) may not attach here: {refusal} -> no PBU, no RA (RFC 5213 6.9.1.1)",
            w.mn_id
        );
        if !unanswered {
            log::warn!("{head}; not asked about again for {} s", REFUSED_FOR.secs());
            self.refused.insert(mac, now + REFUSED_FOR);
            return;
        }
        self.refused.insert(mac, now + UNANSWERED_FOR);
        if now < w.since + RETRY_FOR {
            log::warn!("{head}; asked again in {} s", UNANSWERED_FOR.secs());
            self.timers.set(Timer::Reask(mac), now + UNANSWERED_FOR);
            self.retrying.insert(mac, w);
        } else {
            log::warn!(
                "{head}; no answer for {} s: asked again at its next frame",
                RETRY_FOR.secs()
            );
        }
    }

    /// A node no AAA server answered for is asked about again.
    pub(crate) fn on_reask_timer(&mut self, now: Instant, mac: Mac, tx: &mut dyn Tx) {
        let Some(w) = self.retrying.remove(&mac) else {
            return;
        };
        if self.bul.contains(&mac) || self.asking.contains_key(&mac) {
            return;
        }
        self.refused.remove(&mac);
        if self.ask(now, &w, tx) {
            self.attach_admitted(now, w.port, w.sighting, &w.mn_id, tx);
        }
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
            Answer::Refuse(refusal) => self.refuse(now, w, &refusal),
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
