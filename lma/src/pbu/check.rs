//! RFC 5213 5.3.1: is this PBU one the LMA may act on at all? A pure function
//! of the PBU, its sender and the policy: it returns the request the rest of
//! the LMA works with, or the refusal, and changes nothing. Whether the node
//! exists and this MAG may serve it is the policy store's answer (`aaa`),
//! asked only when a binding would be created or moved.

use super::ipv4::Ipv4Ask;
use crate::binding_cache::LinkLayerId;
use ipnet::Ipv6Net;
use router::policy::{Ordering, Policy};
use router::timestamp::{WallClock, within_window};
use router::wire::{AccessTechnologyType, HandoffIndicator, PbaStatus, PbuRepr};
use router::{Duration, Instant};
use std::net::Ipv6Addr;

/// Why a PBU is refused: the status its PBA carries and the words of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: PbaStatus,
    pub why: &'static str,
    /// The RFC section that says so.
    pub rfc: &'static str,
}

impl Refusal {
    pub(crate) const fn new(status: PbaStatus, why: &'static str, rfc: &'static str) -> Self {
        Refusal { status, why, rfc }
    }
}

/// When a PBU is processed, which decides whether its ordering is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// Just received: its timestamp or sequence number is checked.
    New,
    /// An HI=4 PBU held for MaxDelayBeforeNewBCEAssign and taken up now: its
    /// ordering was checked when it arrived, and the de-registration it waited
    /// for is newer than it by construction.
    Held,
}

/// The LMA's clock as the timestamp check needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub now: Instant,
    pub epoch: WallClock,
    /// TimestampValidityWindow (RFC 5213 9.2).
    pub window: Duration,
}

/// A PBU that passed 5.3.1, and what the LMA needs of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub mn_id: &'a str,
    pub mag: Ipv6Addr,
    /// How this MAG orders its PBUs.
    pub ordering: Ordering,
    pub hi: HandoffIndicator,
    pub att: AccessTechnologyType,
    pub ll_id: Option<LinkLayerId>,
    pub pbu: &'a PbuRepr,
    /// The IPv4 part (RFC 5844 3.1.3), and whether the HNPs are served.
    pub ipv4: Ipv4Ask,
    pub ipv6: bool,
}

impl Request<'_> {
    pub fn deregistration(&self) -> bool {
        self.pbu.lifetime_secs == 0
    }

    /// The prefixes the PBU names; `::/0` (an unspecified address) asks the
    /// LMA to assign them instead (RFC 5213 6.9.1.1).
    pub fn requested(&self) -> impl Iterator<Item = Ipv6Net> + Clone + '_ {
        self.pbu
            .options
            .hnps
            .iter()
            .copied()
            .filter(|p| self.ipv6 && !p.addr().is_unspecified())
    }
}

const fn refuse(status: PbaStatus, why: &'static str) -> Refusal {
    Refusal::new(status, why, "5.3.1")
}

/// RFC 5213 5.3.1's steps in order, with 5.5's validity window at its place.
pub(crate) fn check<'a>(
    policy: &Policy,
    default_ordering: Ordering,
    clock: &Clock,
    mag: Ipv6Addr,
    pbu: &'a PbuRepr,
    arrival: Arrival,
) -> Result<Request<'a>, Refusal> {
    use PbaStatus as S;
    if !pbu.proxy {
        return Err(refuse(
            S::ProxyRegNotEnabled,
            "P flag clear: not a proxy registration",
        ));
    }
    let Some(mn_id) = pbu.options.mn_id.as_deref().filter(|id| !id.is_empty()) else {
        return Err(refuse(S::MissingMnIdentifierOption, "no MN-ID option"));
    };
    let Some(mag_entry) = policy.mag_by_address(&mag) else {
        return Err(refuse(
            S::MagNotAuthorizedForProxyReg,
            "sender is not an accepted MAG",
        ));
    };
    let ordering = mag_entry.ordering.unwrap_or(default_ordering);
    if arrival == Arrival::New && ordering == Ordering::Timestamps {
        let why = match pbu.options.timestamp {
            None => Some("no Timestamp option"),
            Some(ts) if !within_window(ts, clock.epoch, clock.now, clock.window) => {
                Some("timestamp outside TimestampValidityWindow")
            }
            Some(_) => None,
        };
        if let Some(why) = why {
            return Err(Refusal::new(S::TimestampMismatch, why, "5.5"));
        }
    }
    let (ipv4, ipv6) = super::ipv4::ask(policy.node_by_mn_id(mn_id), pbu)?;
    let Some(hi) = pbu.options.handoff_indicator else {
        return Err(refuse(
            S::MissingHandoffIndicatorOption,
            "no Handoff Indicator option",
        ));
    };
    let Some(att) = pbu.options.access_technology else {
        return Err(refuse(
            S::MissingAccessTechTypeOption,
            "no Access Technology Type option",
        ));
    };
    Ok(Request {
        mn_id,
        mag,
        ordering,
        hi,
        att,
        ll_id: pbu
            .options
            .mn_link_layer_id
            .as_deref()
            .and_then(LinkLayerId::new),
        pbu,
        ipv4,
        ipv6,
    })
}
