//! The LMA asks its policy store (the policy file, or a RADIUS server) whether
//! a MAG may act for a node and with which prefixes (RFC 5213 5.3.1, "the
//! mobile access gateway is authorized to send proxy binding updates"), once
//! per binding: when a PBU would create one or move it to another MAG. A
//! refresh or a de-registration of a binding it authorised asks nothing, so
//! an AAA outage stops no node that is already registered.
//!
//! An answer that is not ready yet (RADIUS) holds the PBU, as an HI=4 PBU is
//! held, one per node; the loop keeps forwarding and answering meanwhile. The
//! answer takes the PBU up again; a newer registration for the node (a
//! refresh by the serving MAG, another MAG's handoff) supersedes it.

use crate::core::{Lma, PendingPbu};
use crate::pbu::{Arrival, Sender};
use router::Instant;
use router::aaa::{Answer, Grant, Lookup, Question, Refusal, Token};
use router::core::Tx;
use router::wire::{PbaStatus, PbuRepr};
use std::net::SocketAddr;

/// What the policy store said of a PBU that needs it.
pub(crate) enum Authorization {
    Granted(Grant),
    /// Refused with this PBA status (RFC 5213 8.9), for this reason.
    Refused(PbaStatus, Refusal),
    /// No answer can be had now: no PBA, so the MAG's retransmission asks
    /// again.
    Unanswered(Refusal),
    /// The answer comes later; the PBU is held.
    Held,
}

/// The PBA status a store's refusal is answered with, or `None` for no PBA.
fn status_of(refusal: &Refusal) -> Option<PbaStatus> {
    match refusal {
        Refusal::UnknownNode => Some(PbaStatus::NotLmaForThisMobileNode),
        Refusal::UnknownMag | Refusal::MagNotAllowed => {
            Some(PbaStatus::MagNotAuthorizedForProxyReg)
        }
        Refusal::Rejected { .. } => Some(PbaStatus::AdministrativelyProhibited),
        Refusal::Unusable { .. } => Some(PbaStatus::ReasonUnspecified),
        Refusal::Unreachable { .. } | Refusal::Busy { .. } => None,
    }
}

fn authorization(answer: Answer) -> Authorization {
    match answer {
        Answer::Accept(grant) => Authorization::Granted(grant),
        Answer::Refuse(refusal) => match status_of(&refusal) {
            Some(status) => Authorization::Refused(status, refusal),
            None => Authorization::Unanswered(refusal),
        },
    }
}

impl Lma {
    /// The store's answer for `pbu` about `mn_id` from `from`: `answer` when
    /// it came already (a held PBU taken up), else asked now, holding the PBU
    /// when the answer is not ready.
    pub(crate) fn authorize(
        &mut self,
        now: Instant,
        mn_id: &str,
        from: Sender,
        pbu: &PbuRepr,
        answer: Option<Answer>,
        tx: &mut dyn Tx,
    ) -> Authorization {
        if let Some(answer) = answer {
            return authorization(answer);
        }
        let held = || PendingPbu {
            from,
            pbu: pbu.clone(),
        };
        // One lookup per node. A retransmission by the MAG asked about
        // replaces the held PBU and keeps the question; a PBU from another MAG
        // is another question (the answer names the MAG), and the later claim
        // supersedes the held one, as a handoff supersedes a held HI=4 PBU.
        if let Some(&asked) = self.asking.get(mn_id) {
            if let Some(old) = self.awaiting.get_mut(&asked)
                && old.from.mag == from.mag
            {
                *old = held();
                return Authorization::Held;
            }
            if let Some(old) = self.forget_lookup(mn_id) {
                self.refuse_superseded(now, old, tx);
            }
        }
        if !self.room_to_ask() {
            self.counters.bump("lma.drop.awaiting_aaa_full");
            return Authorization::Unanswered(Refusal::Busy {
                reason: "as many PBUs as allowed (limit `awaiting-aaa`) wait for the policy store already".into(),
            });
        }
        let question = Question::Authorize {
            mn_id,
            mag: from.mag,
        };
        match self.store.lookup(now, &question, tx) {
            Lookup::Ready(answer) => authorization(answer),
            Lookup::Pending(token) => {
                self.asking.insert(mn_id.to_string(), token);
                self.awaiting.insert(token, held());
                Authorization::Held
            }
        }
    }

    /// The PBU held for `mn_id`'s lookup is dropped: a newer registration
    /// decided the node's binding meanwhile.
    pub(crate) fn forget_lookup(&mut self, mn_id: &str) -> Option<PendingPbu> {
        let token = self.asking.remove(mn_id)?;
        self.store.cancel(token);
        self.awaiting.remove(&token)
    }

    fn answered(&mut self, now: Instant, token: Token, answer: Answer, tx: &mut dyn Tx) {
        let Some(held) = self.awaiting.remove(&token) else {
            return;
        };
        if let Some(mn_id) = held.pbu.options.mn_id.as_deref() {
            self.asking.remove(mn_id);
        }
        log::info!(
            "policy store answered for the PBU seq {} from {}: taking it up",
            held.pbu.sequence,
            self.mag_name(&held.from.mag)
        );
        // Its ordering was checked when it arrived.
        self.on_pbu(now, held.from, held.pbu, Arrival::Held, Some(answer), tx);
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
            self.answered(now, token, answer, tx);
        }
    }

    /// The store's retransmissions, and the lookups that gave up.
    pub(crate) fn store_timer(&mut self, now: Instant, tx: &mut dyn Tx) {
        for (token, answer) in self.store.on_timer(now, tx) {
            self.answered(now, token, answer, tx);
        }
    }
}
