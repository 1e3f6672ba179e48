//! Which PBU wins: the one place that decides what an accepted-looking PBU does
//! to a node's Binding Cache entry (RFC 5213 5.3.2-5.3.5, 5.4.1, 5.5). Pure: it
//! reads the entry and returns the decision; `apply` carries it out.
//!
//! The rule, for a PBU from MAG `m` about a node whose entry names MAG `s`:
//!
//! 1. Newer or nothing (5.5). A PBU must be newer than the last one accepted
//!    for the entry, from any MAG: a later Timestamp (157 otherwise) or, between
//!    two MAGs that use sequence numbers, a sequence number ahead within the
//!    window of RFC 6275 9.5.1 (135 with the last accepted number otherwise).
//!    The entry remembers when its last PBU was sent: its Timestamp, or the
//!    LMA's clock at acceptance for a MAG without timestamps, so timestamp MAGs
//!    are ordered after sequence-number MAGs too.
//! 2. The serving MAG refreshes and de-registers (`m == s`).
//! 3. Another MAG takes the node only by claiming a handoff. Its Handoff
//!    Indicator says what it knows (5.4.1): 1, 2 or 3 claim that the node
//!    attached there now, and win. 4 (state unknown) waits
//!    MaxDelayBeforeNewBCEAssign for `s` to de-register, unless the MN
//!    link-layer identifier shows the same interface. 5 ("handoff state not
//!    changed", a re-registration) is refused: a MAG that re-registers a node
//!    claims nothing changed since its own last registration, but the entry
//!    names `s`, so something did, and the claim is stale. Taking it as a
//!    handoff lets a MAG that has not yet noticed its node leave pull the
//!    binding back from the MAG the node moved to (the node then unreachable
//!    until that MAG's next refresh). The refused MAG learns the truth from its
//!    own access link: if the node is there it registers with HI=3, which wins.
//! 4. A de-registration from anyone but the serving MAG changes nothing (5.3.5).

use super::check::{Arrival, Refusal, Request};
use crate::binding_cache::{Binding, BindingId, BindingState};
use router::policy::Ordering;
use router::wire::{HandoffIndicator, PbaStatus};
use std::net::Ipv6Addr;

/// What a PBU does to the Binding Cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// No entry yet: a new binding (5.3.2).
    Register,
    /// The serving MAG extends the lifetime (5.3.3).
    Refresh(BindingId),
    /// Another MAG takes the node over (5.3.4, 5.4.2).
    Handoff { id: BindingId, from: Ipv6Addr },
    /// A MAG takes over an entry waiting for deletion (5.3.5).
    Resume { id: BindingId, from: Ipv6Addr },
    /// The serving MAG de-registers (5.3.5).
    Deregister(BindingId),
    /// A de-registration for a node without an entry.
    DeregisterUnknown,
    /// A de-registration from a MAG that no longer serves the node.
    StaleDeregistration { id: BindingId, serving: Ipv6Addr },
    /// HI=4 from another MAG: held until the serving MAG de-registers or
    /// MaxDelayBeforeNewBCEAssign passes (5.4.1).
    Defer { id: BindingId, serving: Ipv6Addr },
}

/// The decision for `req` given the node's entry, if it has one.
pub(crate) fn decide(
    req: &Request,
    entry: Option<(BindingId, &Binding)>,
    arrival: Arrival,
) -> Result<Decision, Refusal> {
    let Some((id, b)) = entry else {
        return Ok(if req.deregistration() {
            Decision::DeregisterUnknown
        } else {
            Decision::Register
        });
    };
    let serving = b.proxy_coa == req.mag;
    let active = b.state == BindingState::Active;
    if req.deregistration() && !(serving && active) {
        return Ok(Decision::StaleDeregistration {
            id,
            serving: b.proxy_coa,
        });
    }
    if arrival == Arrival::New {
        newer(req, b)?;
    }
    if req.deregistration() {
        return Ok(Decision::Deregister(id));
    }
    prefixes_match(req, b)?;
    if serving && active {
        return Ok(Decision::Refresh(id));
    }
    let from = b.proxy_coa;
    let same_interface = req.ll_id.is_some() && req.ll_id == b.ll_id;
    match req.hi {
        HandoffIndicator::NotChanged => Err(Refusal::new(
            PbaStatus::ReasonUnspecified,
            "HI=5 (handoff state not changed) from a MAG that does not serve the node: a stale re-registration, the binding stays",
            "5.4.1",
        )),
        HandoffIndicator::Unknown if active && !same_interface && arrival == Arrival::New => {
            Ok(Decision::Defer { id, serving: from })
        }
        _ if active => Ok(Decision::Handoff { id, from }),
        _ => Ok(Decision::Resume { id, from }),
    }
}

/// Rule 1: the PBU must be newer than the last one accepted for the entry.
fn newer(req: &Request, b: &Binding) -> Result<(), Refusal> {
    match req.ordering {
        Ordering::Timestamps => match req.pbu.options.timestamp {
            Some(ts) if ts > b.timestamp => Ok(()),
            _ => Err(Refusal::new(
                PbaStatus::TimestampLowerThanPrevAccepted,
                "timestamp not newer than the last accepted PBU's",
                "5.5",
            )),
        },
        Ordering::SequenceNumbers if b.ordered_by == Ordering::SequenceNumbers => {
            let ahead = req.pbu.sequence.wrapping_sub(b.sequence);
            if ahead == 0 || ahead >= 0x8000 {
                return Err(Refusal::new(
                    PbaStatus::SequenceNumberOutOfWindow,
                    "sequence number not newer than the last accepted",
                    "5.5, RFC 6275 9.5.1",
                ));
            }
            Ok(())
        }
        // The last PBU came from a MAG with timestamps: a sequence number says
        // nothing about how old this one is next to it.
        Ordering::SequenceNumbers => Ok(()),
    }
}

/// RFC 5213 5.4.1: a PBU naming prefixes must name the entry's.
fn prefixes_match(req: &Request, b: &Binding) -> Result<(), Refusal> {
    let named = || req.requested();
    let count = named().count();
    let same = count == b.hnps.len()
        && named().all(|p| b.hnps.contains(&p))
        && b.hnps.iter().all(|p| named().any(|q| q == *p));
    if count == 0 || same {
        return Ok(());
    }
    Err(Refusal::new(
        PbaStatus::BcePbuPrefixSetDoNotMatch,
        "the PBU's prefixes differ from the entry's",
        "5.4.1",
    ))
}

impl Decision {
    /// Whether the decision creates a binding or moves one to another MAG:
    /// what the policy store must authorise (a refresh or de-registration of
    /// a binding it authorised already asks nothing).
    pub(crate) fn needs_authorization(&self) -> bool {
        matches!(
            self,
            Decision::Register | Decision::Handoff { .. } | Decision::Resume { .. }
        )
    }
}
