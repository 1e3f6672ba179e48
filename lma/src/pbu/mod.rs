//! Proxy Binding Update processing (RFC 5213 5.3): a PBU is checked (`check`,
//! pure), the ordering rule decides what it does (`order`, pure), the decision
//! is carried out (`apply`) and answered (`answer`).
//!
//! This LMA keeps one Binding Cache entry per mobile node (one interface, the
//! VM's): a PBU for a node that has an entry updates it or is refused, as
//! `order` explains.

mod answer;
mod apply;
mod check;
mod ipv4;
mod order;

use answer::{Homes, Reply, pba_counter};
use apply::Outcome;
pub(crate) use check::Arrival;
use check::{Clock, Refusal, check};
use ipv4::Ipv4Reply;
use order::{Decision, decide};

use crate::aaa::Authorization;
use router::aaa::Answer;

use crate::binding_cache::BindingState;
use crate::core::{Lma, Timer};
use router::Instant;
use router::core::{PortId, Tx};
use router::mac::Mac;
use router::wire::{MhRepr, PbaStatus, PbuRepr};
use std::net::Ipv6Addr;

/// Hop limit of the PBAs the LMA sends.
const PBA_HOP_LIMIT: u8 = 64;

/// Where a PBU came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sender {
    /// The MAG's address: the PBU's source, its Proxy-CoA.
    pub mag: Ipv6Addr,
    /// The LMA address the PBU was sent to: the tunnel's local end.
    pub lma: Ipv6Addr,
    pub port: PortId,
    /// The Ethernet source of the PBU's frame.
    pub mac: Mac,
}

/// Where a PBU's processing ended.
enum Processed {
    Done(Outcome),
    Refused(Refusal),
    /// The policy store refused or could not answer: `reason` says why.
    NotAuthorized {
        status: Option<PbaStatus>,
        reason: router::aaa::Refusal,
    },
    /// Held for the policy store's answer.
    AwaitingStore,
    /// Dropped unanswered at a cap (`limits`): counted under `counter`.
    Dropped {
        counter: &'static str,
        why: &'static str,
    },
}

impl Lma {
    /// Check, decide, authorise where needed, apply.
    fn process(
        &mut self,
        now: Instant,
        from: Sender,
        pbu: &PbuRepr,
        arrival: Arrival,
        answer: Option<Answer>,
        tx: &mut dyn Tx,
    ) -> Processed {
        let clock = Clock {
            now,
            epoch: self.epoch,
            window: self.timestamp_window,
        };
        let req = match check(&self.policy, self.ordering, &clock, from.mag, pbu, arrival) {
            Ok(req) => req,
            Err(refusal) => return Processed::Refused(refusal),
        };
        let entry = self
            .cache
            .find(req.mn_id)
            .and_then(|id| Some((id, self.cache.get(id)?)));
        let decision = match decide(&req, entry, arrival) {
            Ok(decision) => decision,
            Err(refusal) => return Processed::Refused(refusal),
        };
        let (held, profile) = (entry.map(|(_, b)| b), self.policy.node_by_mn_id(req.mn_id));
        if let Err(refusal) = ipv4::same_address(&req, held, decision, &self.ipv4_pools, profile) {
            return Processed::Refused(refusal);
        }
        if let Some(capped) = self.capped(decision) {
            return capped;
        }
        let grant = if decision.needs_authorization() {
            match self.authorize(now, req.mn_id, from, pbu, answer, tx) {
                Authorization::Granted(grant) => Some(grant),
                Authorization::Refused(status, reason) => {
                    return Processed::NotAuthorized {
                        status: Some(status),
                        reason,
                    };
                }
                Authorization::Unanswered(reason) => {
                    return Processed::NotAuthorized {
                        status: None,
                        reason,
                    };
                }
                Authorization::Held => return Processed::AwaitingStore,
            }
        } else {
            None
        };
        match self.apply(now, &req, decision, from, grant.as_ref()) {
            Ok(done) => Processed::Done(done),
            Err(refusal) => Processed::Refused(refusal),
        }
    }

    /// Processes one PBU, answers it and logs what it did. `answer` is the
    /// policy store's, for a PBU that was held for it.
    pub(crate) fn on_pbu(
        &mut self,
        now: Instant,
        from: Sender,
        pbu: PbuRepr,
        arrival: Arrival,
        answer: Option<Answer>,
        tx: &mut dyn Tx,
    ) {
        let processed = self.process(now, from, &pbu, arrival, answer, tx);
        let mn_id = pbu.options.mn_id.as_deref().unwrap_or("(no MN-ID)");
        let hi = pbu.options.handoff_indicator.map_or(0, u8::from);
        // Built only when it will be printed: the PBU path must stay cheap.
        let head = if log::log_enabled!(log::Level::Info) {
            format!(
                "PBU seq {} from {} ({}) for {mn_id} HI={hi} lifetime {} s",
                pbu.sequence,
                from.mag,
                self.mag_name(&from.mag),
                pbu.lifetime_secs
            )
        } else {
            String::new()
        };
        let (status, sequence, lifetime, binding, ipv4) = match processed {
            Processed::AwaitingStore => {
                log::info!(
                    "{head}: asked the policy store whether this MAG may serve the node; the PBU waits for the answer"
                );
                return;
            }
            Processed::Dropped { counter, why } => {
                self.engine.note_drop(now, counter, || {
                    format!("{head}: {why} -> no PBA, the MAG's retransmission tries again (docs/limits.md)")
                });
                return;
            }
            Processed::NotAuthorized {
                status: None,
                reason,
            } => {
                self.counters.bump("pbu.unanswered");
                log::warn!(
                    "{head}: {reason} -> no PBA, the MAG's retransmission asks again (RFC 5213 5.3.1)"
                );
                return;
            }
            Processed::NotAuthorized {
                status: Some(status),
                reason,
            } => {
                let note = self.pba_note(&pbu, status, 0);
                self.engine.drop_log.line(now, "pbu.refused", || {
                    format!("{head}: the policy store refused: {reason} (RFC 5213 5.3.1) -> {note}")
                });
                (status, pbu.sequence, 0, None, Ipv4Reply::None)
            }
            Processed::Done(done) => {
                let homes = done
                    .binding
                    .and_then(|id| self.cache.get(id))
                    .map_or(Homes(&pbu.options.hnps[..], None), |b| {
                        Homes(&b.hnps[..], b.ipv4)
                    });
                if let Decision::Defer { .. } = done.decision {
                    log::info!("{head}: {}", self.describe(done.decision, &from.mag, homes));
                    return;
                }
                log::info!(
                    "{head}: {} -> {}",
                    self.describe(done.decision, &from.mag, homes),
                    self.pba_note(&pbu, PbaStatus::Accepted, done.lifetime)
                );
                // The MAG is a neighbor on this link: keeping its MAC from an
                // accepted PBU's frame saves the NS/NA round trip (one WAN RTT)
                // before the PBA. A refused PBU leaves no trace.
                if let Some(nd) = self.engine.nd_mut(from.port) {
                    nd.note_neighbor(now, from.mag, from.mac, tx);
                }
                if let Decision::Refresh(id)
                | Decision::Handoff { id, .. }
                | Decision::Resume { id, .. } = done.decision
                {
                    self.supersede_held(now, id, tx);
                }
                (
                    PbaStatus::Accepted,
                    pbu.sequence,
                    done.lifetime,
                    done.binding,
                    done.ipv4,
                )
            }
            Processed::Refused(refusal) => {
                let note = self.pba_note(&pbu, refusal.status, 0);
                self.engine.drop_log.line(now, "pbu.refused", || {
                    format!(
                        "{head}: {} (RFC 5213 {}) -> {note}",
                        refusal.why, refusal.rfc
                    )
                });
                // RFC 6275 9.5.1: a 135 carries the last accepted number.
                let last = (refusal.status == PbaStatus::SequenceNumberOutOfWindow)
                    .then_some(pbu.options.mn_id.as_deref())
                    .flatten()
                    .and_then(|id| self.cache.find(id))
                    .and_then(|id| self.cache.get(id))
                    .map(|b| b.sequence);
                (
                    refusal.status,
                    last.unwrap_or(pbu.sequence),
                    0,
                    None,
                    Ipv4Reply::None,
                )
            }
        };
        let deregistered = status.is_accepted() && pbu.lifetime_secs == 0;
        if pbu.ack {
            let entry = binding
                .and_then(|id| self.cache.get(id))
                .map(|b| &b.hnps[..]);
            let answer = Reply {
                status,
                sequence,
                lifetime,
                hnps: entry,
                ipv4,
            };
            let pba = MhRepr::Pba(self.pba(now, pbu, answer));
            if self.auth.send(
                &mut self.engine,
                now,
                (from.lma, from.mag),
                PBA_HOP_LIMIT,
                pba,
                tx,
            ) {
                self.counters.bump(pba_counter(status));
            }
        }
        if deregistered
            && let Some(id) = binding
            && self
                .cache
                .get(id)
                .is_some_and(|b| b.state == BindingState::DeregisteredPendingDelete)
            && let Some(held) = self.pending.remove(&id)
        {
            self.timers.cancel(&Timer::Pending(id));
            log::info!(
                "de-registration arrived: taking up the held HI=4 PBU as a handoff (RFC 5213 5.4.1)"
            );
            self.on_pbu(now, held.from, held.pbu, Arrival::Held, None, tx);
        }
    }

    /// The caps of `limits` a decision runs into: a new entry in a full
    /// Binding Cache is refused with status 130, an HI=4 PBU with the held
    /// list full is dropped. Either leaves every state as it was.
    fn capped(&mut self, decision: Decision) -> Option<Processed> {
        match decision {
            Decision::Register if !self.room_for_binding() => {
                self.counters.bump("lma.refused.binding_cache_full");
                Some(Processed::Refused(Refusal::new(
                    PbaStatus::InsufficientResources,
                    "the Binding Cache is full (limit `bindings`)",
                    "5.3.1, 8.9",
                )))
            }
            Decision::Defer { id, .. } if !self.room_to_hold(id) => Some(Processed::Dropped {
                counter: "lma.drop.held_pbus_full",
                why: "HI=4, but as many PBUs as allowed (limit `held`) already wait for MaxDelayBeforeNewBCEAssign",
            }),
            _ => None,
        }
    }

    /// A registration for the node came in while an HI=4 PBU was held for it:
    /// the held claim is older, and is refused (RFC 5213 5.5: not newer than
    /// the last accepted) rather than taken up over the newer one.
    fn supersede_held(&mut self, now: Instant, id: u32, tx: &mut dyn Tx) {
        let by_store = self
            .cache
            .get(id)
            .map(|b| b.mn_id.to_string())
            .and_then(|mn_id| self.forget_lookup(&mn_id));
        let deferred = self.pending.remove(&id);
        if deferred.is_some() {
            self.timers.cancel(&Timer::Pending(id));
        }
        for held in deferred.into_iter().chain(by_store) {
            self.refuse_superseded(now, held, tx);
        }
    }

    pub(crate) fn refuse_superseded(
        &mut self,
        now: Instant,
        held: crate::core::PendingPbu,
        tx: &mut dyn Tx,
    ) {
        let status = PbaStatus::TimestampLowerThanPrevAccepted;
        log::info!(
            "the PBU held from {} (for a de-registration or the policy store) is superseded by a newer registration -> PBA {status} ({})",
            self.mag_name(&held.from.mag),
            u8::from(status)
        );
        if held.pbu.ack {
            let sequence = held.pbu.sequence;
            let answer = Reply {
                status,
                sequence,
                lifetime: 0,
                hnps: None,
                ipv4: Ipv4Reply::None,
            };
            let pba = MhRepr::Pba(self.pba(now, held.pbu, answer));
            let ends = (held.from.lma, held.from.mag);
            if self
                .auth
                .send(&mut self.engine, now, ends, PBA_HOP_LIMIT, pba, tx)
            {
                self.counters.bump(pba_counter(status));
            }
        }
    }

    /// No de-registration came within MaxDelayBeforeNewBCEAssign: the held PBU
    /// wins (this LMA has one entry per node, so it moves rather than adds one).
    pub(crate) fn pending_timer(&mut self, now: Instant, id: u32, tx: &mut dyn Tx) {
        let Some(held) = self.pending.remove(&id) else {
            return;
        };
        log::info!(
            "no de-registration within MaxDelayBeforeNewBCEAssign: taking up the held HI=4 PBU from {} (RFC 5213 5.4.1)",
            self.mag_name(&held.from.mag)
        );
        self.on_pbu(now, held.from, held.pbu, Arrival::Held, None, tx);
    }

    /// Lifetime expiry of an Active entry, or the end of MinDelayBeforeBCEDelete.
    pub(crate) fn binding_timer(&mut self, now: Instant, id: u32) {
        let Some(b) = self.cache.get(id) else { return };
        if b.expires > now {
            return;
        }
        let why = match b.state {
            BindingState::Active => {
                "binding lifetime expired: routes and entry removed (RFC 5213 5.3.3)"
            }
            BindingState::DeregisteredPendingDelete => {
                "MinDelayBeforeBCEDelete elapsed: entry deleted (RFC 5213 5.3.5)"
            }
        };
        log::info!(
            "{} {} at {}: {why}",
            b.mn_id,
            Homes(&b.hnps, b.ipv4),
            self.mag_name(&b.proxy_coa)
        );
        self.counters.bump(match b.state {
            BindingState::Active => "bce.expired",
            BindingState::DeregisteredPendingDelete => "bce.deleted",
        });
        self.delete(id);
    }
}
