//! Proxy Binding Update processing (RFC 5213 5.3): validation, ordering (5.5),
//! Binding Cache lookup (5.4.1), registration, handoff, de-registration, and the
//! Proxy Binding Acknowledgement (5.3.6), with the route and tunnel changes.
//!
//! This LMA keeps one Binding Cache entry per mobile node (one interface, the
//! VM's): a PBU for a node that has an entry updates it, whatever its Handoff
//! Indicator, except that HI=4 from a new MAG first waits for the old MAG's
//! de-registration (MaxDelayBeforeNewBCEAssign) unless the link-layer
//! identifier shows it is the same interface.

use crate::binding_cache::{Binding, BindingId, BindingState, LinkLayerId};
use crate::core::{Lma, Ordering, PendingPbu, Timer};
use crate::hnp_pool::HnpPools;
use ipnet::Ipv6Net;
use router::core::{PortId, Tx};
use router::fib::NextHop;
use router::mac::Mac;
use router::timestamp::{timestamp, within_window};
use router::wire::{
    HandoffIndicator, MhError, MhPacket, MhRepr, MobilityOptions, PbaRepr, PbaStatus, PbuRepr,
    mh_ipv6_packet,
};
use router::{Duration, Instant};
use smoltcp::wire::Ipv6Packet;
use std::fmt;
use std::net::Ipv6Addr;

/// Hop limit of the PBAs the LMA sends.
const PBA_HOP_LIMIT: u8 = 64;

/// What happened to an accepted PBU.
#[derive(Debug, Clone, Copy)]
enum Action {
    Registered,
    Refreshed,
    Handoff {
        from: Ipv6Addr,
    },
    /// A registration took over an entry waiting for deletion.
    Resumed {
        from: Ipv6Addr,
    },
    Deregistered,
    DeregisteredUnknown,
    /// A late de-registration from a MAG that no longer serves the node.
    StaleDeregistration {
        serving: Ipv6Addr,
    },
}

enum Verdict {
    Accept {
        action: Action,
        lifetime: u32,
        /// The entry whose prefixes the PBA carries; `None` echoes the PBU's.
        binding: Option<BindingId>,
    },
    Reject {
        status: PbaStatus,
        why: &'static str,
        rfc: &'static str,
    },
    /// RFC 6275 9.5.1: the PBA carries the last accepted sequence number.
    OutOfWindow {
        last: u16,
    },
    Defer {
        serving: Ipv6Addr,
    },
}

fn reject(status: PbaStatus, why: &'static str) -> Verdict {
    Verdict::Reject {
        status,
        why,
        rfc: "5.3.1",
    }
}

/// `::/0` (any prefix with an unspecified address) asks the LMA to assign one.
fn is_request_for_assignment(hnp: &Ipv6Net) -> bool {
    hnp.addr().is_unspecified()
}

fn same_set(a: &[Ipv6Net], b: &[Ipv6Net]) -> bool {
    a.len() == b.len() && a.iter().all(|p| b.contains(p))
}

fn mh_drop_counter(e: &MhError) -> &'static str {
    match e {
        MhError::Truncated { .. } => "mh.drop.truncated",
        MhError::BadLength { .. } => "mh.drop.bad_length",
        MhError::BadChecksum => "mh.drop.bad_checksum",
        MhError::UnsupportedType(_) => "mh.drop.unsupported_type",
        MhError::BadOption { .. } => "mh.drop.bad_option",
    }
}

fn pba_counter(status: PbaStatus) -> &'static str {
    use PbaStatus as S;
    match status {
        S::Accepted => "pba.sent.accepted",
        S::InsufficientResources => "pba.sent.insufficient_resources",
        S::SequenceNumberOutOfWindow => "pba.sent.sequence_number_out_of_window",
        S::ProxyRegNotEnabled => "pba.sent.proxy_reg_not_enabled",
        S::NotLmaForThisMobileNode => "pba.sent.not_lma_for_this_mobile_node",
        S::MagNotAuthorizedForProxyReg => "pba.sent.mag_not_authorized_for_proxy_reg",
        S::NotAuthorizedForHomeNetworkPrefix => "pba.sent.not_authorized_for_home_network_prefix",
        S::TimestampMismatch => "pba.sent.timestamp_mismatch",
        S::TimestampLowerThanPrevAccepted => "pba.sent.timestamp_lower_than_prev_accepted",
        S::MissingHomeNetworkPrefixOption => "pba.sent.missing_home_network_prefix_option",
        S::BcePbuPrefixSetDoNotMatch => "pba.sent.bce_pbu_prefix_set_do_not_match",
        S::MissingMnIdentifierOption => "pba.sent.missing_mn_identifier_option",
        S::MissingHandoffIndicatorOption => "pba.sent.missing_handoff_indicator_option",
        S::MissingAccessTechTypeOption => "pba.sent.missing_access_tech_type_option",
        _ => "pba.sent.other",
    }
}

/// HNPs for a new entry: the requested ones if the profile allows them,
/// else the profile's fixed prefixes or one from its pool.
fn assign(
    pools: &mut HnpPools,
    requested: &[Ipv6Net],
    fixed: &[Ipv6Net],
    pool: Option<&str>,
) -> Result<Vec<Ipv6Net>, Verdict> {
    if requested.is_empty() {
        if !fixed.is_empty() {
            return Ok(fixed.to_vec());
        }
        return pool
            .and_then(|pool| pools.allocate(pool))
            .map(|hnp| vec![hnp])
            .ok_or(reject(
                PbaStatus::InsufficientResources,
                "HNP pool exhausted",
            ));
    }
    let mut claimed = Vec::new();
    for hnp in requested {
        let ok = fixed.contains(hnp) || pool.is_some_and(|pool| pools.claim(pool, *hnp));
        if !ok {
            if let Some(pool) = pool {
                for c in claimed {
                    pools.release(pool, c);
                }
            }
            return Err(reject(
                PbaStatus::NotAuthorizedForHomeNetworkPrefix,
                "the PBU asks for prefixes the node's profile does not give",
            ));
        }
        if !fixed.contains(hnp) {
            claimed.push(*hnp);
        }
    }
    Ok(requested.to_vec())
}

/// A prefix list for log lines.
struct Prefixes<'a>(&'a [Ipv6Net]);

impl fmt::Display for Prefixes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl Lma {
    /// A Mobility Header packet addressed to the LMA (the whole IPv6 packet).
    pub(crate) fn on_mh(
        &mut self,
        now: Instant,
        from: (PortId, Mac),
        packet: &[u8],
        tx: &mut dyn Tx,
    ) {
        let Ok(ip) = Ipv6Packet::new_checked(packet) else {
            self.counters.bump("mh.drop.truncated");
            return;
        };
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let parsed =
            MhPacket::new_checked(ip.payload()).and_then(|mh| MhRepr::parse(&mh, &src, &dst));
        match parsed {
            Ok(MhRepr::Pbu(pbu)) => {
                self.counters.bump("pbu.received");
                // The MAG is a neighbor on this link: keeping its MAC from the PBU's
                // frame saves the NS/NA round trip (one WAN RTT) before the PBA.
                if let Some(nd) = self.engine.nd_mut(from.0) {
                    nd.note_neighbor(now, src, from.1, tx);
                }
                self.on_pbu(now, src, dst, pbu, true, tx);
            }
            Ok(MhRepr::Pba(_)) => {
                self.counters.bump("mh.drop.unexpected_pba");
                log::info!("dropped a PBA from {src}: the LMA sends PBAs, never takes them");
            }
            Err(e) => {
                self.counters.bump(mh_drop_counter(&e));
                log::info!("dropped a Mobility Header from {src}: {e} (RFC 6275 9.2)");
            }
        }
    }

    fn mag_name(&self, addr: &Ipv6Addr) -> &str {
        self.policy
            .mag_by_address(addr)
            .map_or("unknown MAG", |m| m.name.as_str())
    }

    /// Processes one PBU; `fresh` is false when a held PBU is taken up again,
    /// whose ordering was checked when it arrived.
    fn on_pbu(
        &mut self,
        now: Instant,
        mag: Ipv6Addr,
        lma: Ipv6Addr,
        pbu: PbuRepr,
        fresh: bool,
        tx: &mut dyn Tx,
    ) {
        let verdict = self.decide(now, mag, lma, &pbu, fresh);
        let mn_id = pbu.options.mn_id.as_deref().unwrap_or("(no MN-ID)");
        let hi = pbu.options.handoff_indicator.map_or(0, u8::from);
        // Built only when it will be printed: the PBU path must stay cheap.
        let head = if log::log_enabled!(log::Level::Info) {
            format!(
                "PBU seq {} from {mag} ({}) for {mn_id} HI={hi} lifetime {} s",
                pbu.sequence,
                self.mag_name(&mag),
                pbu.lifetime_secs
            )
        } else {
            String::new()
        };
        let (status, sequence, lifetime, binding) = match &verdict {
            Verdict::Accept {
                action,
                lifetime,
                binding,
            } => {
                log::info!(
                    "{head}: {} -> {}",
                    self.describe(*action, &mag, self.pba_hnps(*binding, &pbu)),
                    self.pba_note(&pbu, PbaStatus::Accepted, *lifetime)
                );
                (PbaStatus::Accepted, pbu.sequence, *lifetime, *binding)
            }
            Verdict::Reject { status, why, rfc } => {
                log::info!(
                    "{head}: {why} (RFC 5213 {rfc}) -> {}",
                    self.pba_note(&pbu, *status, 0)
                );
                (*status, pbu.sequence, 0, None)
            }
            Verdict::OutOfWindow { last } => {
                let status = PbaStatus::SequenceNumberOutOfWindow;
                log::info!(
                    "{head}: sequence number not newer than {last} (RFC 6275 9.5.1) -> {}",
                    self.pba_note(&pbu, status, 0)
                );
                (status, *last, 0, None)
            }
            Verdict::Defer { serving } => {
                log::info!(
                    "{head}: HI=4 while {} serves the node: waiting up to {} ms for its de-registration before answering (RFC 5213 5.4.1, MaxDelayBeforeNewBCEAssign)",
                    self.mag_name(serving),
                    self.max_delay_before_new_bce_assign.total_millis()
                );
                return;
            }
        };
        if pbu.ack {
            let pba = self.pba(now, pbu, status, sequence, lifetime, binding);
            let packet = mh_ipv6_packet(lma, mag, PBA_HOP_LIMIT, &MhRepr::Pba(pba));
            self.counters.bump(pba_counter(status));
            self.engine.send_ipv6(now, &packet, tx);
        }
        let deregistered = matches!(
            verdict,
            Verdict::Accept {
                action: Action::Deregistered,
                ..
            }
        );
        if deregistered
            && let Some(id) = binding
            && let Some(held) = self.pending.remove(&id)
        {
            self.timers.cancel(&Timer::Pending(id));
            log::info!(
                "de-registration arrived: taking up the held HI=4 PBU as a handoff (RFC 5213 5.4.1)"
            );
            self.on_pbu(now, held.mag, held.lma, held.pbu, false, tx);
        }
    }

    fn pba_note(&self, pbu: &PbuRepr, status: PbaStatus, lifetime: u32) -> String {
        if !pbu.ack {
            return "no PBA (A flag clear)".into();
        }
        if status.is_accepted() {
            format!("PBA accepted lifetime {lifetime} s")
        } else {
            format!("PBA {status} ({})", u8::from(status))
        }
    }

    fn describe(&self, action: Action, mag: &Ipv6Addr, hnps: &[Ipv6Net]) -> String {
        let to = self.mag_name(mag);
        let hnps = Prefixes(hnps);
        match action {
            Action::Registered => {
                format!("new binding, {hnps} -> tunnel to {to} (RFC 5213 5.3.2)")
            }
            Action::Refreshed => format!("lifetime extended, {hnps} (RFC 5213 5.3.3)"),
            Action::Handoff { from } => format!(
                "handoff from {}, {hnps} -> tunnel to {to} (RFC 5213 5.4.2)",
                self.mag_name(&from)
            ),
            Action::Resumed { from } => format!(
                "entry de-registered by {} taken over within MinDelayBeforeBCEDelete, keeps {hnps} -> tunnel to {to} (RFC 5213 5.3.5)",
                self.mag_name(&from)
            ),
            Action::Deregistered => format!(
                "de-registration by the serving MAG: routes for {hnps} removed, entry kept {} ms (RFC 5213 5.3.5)",
                self.min_delay_before_bce_delete.total_millis()
            ),
            Action::DeregisteredUnknown => {
                "de-registration for a node without binding (RFC 5213 5.3.5)".into()
            }
            Action::StaleDeregistration { serving } => format!(
                "de-registration from a MAG that no longer serves the node ({} does): ignored (RFC 5213 5.3.5)",
                self.mag_name(&serving)
            ),
        }
    }

    /// The prefixes a PBA carries: the entry's, or the PBU's when there is none.
    fn pba_hnps<'a>(&'a self, binding: Option<BindingId>, pbu: &'a PbuRepr) -> &'a [Ipv6Net] {
        binding
            .and_then(|id| self.cache.get(id))
            .map_or(&pbu.options.hnps, |b| &b.hnps)
    }

    /// RFC 5213 5.3.6: the PBA mirrors the PBU's identifying options. It takes
    /// them over from the PBU, whose buffers it reuses.
    fn pba(
        &self,
        now: Instant,
        pbu: PbuRepr,
        status: PbaStatus,
        sequence: u16,
        lifetime: u32,
        binding: Option<BindingId>,
    ) -> PbaRepr {
        let options = pbu.options;
        let timestamp = match self.ordering {
            Ordering::Timestamps if status == PbaStatus::TimestampMismatch => {
                Some(timestamp(self.epoch, now))
            }
            Ordering::Timestamps => options.timestamp,
            Ordering::SequenceNumbers => None,
        };
        let mut hnps = options.hnps;
        if let Some(b) = binding.and_then(|id| self.cache.get(id)) {
            hnps.clear();
            hnps.extend_from_slice(&b.hnps);
        }
        PbaRepr {
            status,
            key_mgmt: false,
            mobile_router: false,
            proxy: true,
            sequence,
            lifetime_secs: lifetime,
            options: MobilityOptions {
                mn_id: options.mn_id,
                hnps,
                handoff_indicator: options.handoff_indicator,
                access_technology: options.access_technology,
                mn_link_layer_id: options.mn_link_layer_id,
                link_local_address: options.link_local_address,
                timestamp,
                ..MobilityOptions::default()
            },
        }
    }

    /// RFC 5213 5.3.1 in order, then 5.5 ordering and 5.4.1 lookup.
    fn decide(
        &mut self,
        now: Instant,
        mag: Ipv6Addr,
        lma: Ipv6Addr,
        pbu: &PbuRepr,
        fresh: bool,
    ) -> Verdict {
        use PbaStatus as S;
        if !pbu.proxy {
            return reject(
                S::ProxyRegNotEnabled,
                "P flag clear: not a proxy registration",
            );
        }
        let Some(mn_id) = pbu.options.mn_id.as_deref() else {
            return reject(S::MissingMnIdentifierOption, "no MN-ID option");
        };
        let Some(mag_entry) = self.policy.mag_by_address(&mag) else {
            return reject(
                S::MagNotAuthorizedForProxyReg,
                "sender is not an accepted MAG",
            );
        };
        let Some(node) = self.policy.node_by_mn_id(mn_id) else {
            return reject(
                S::NotLmaForThisMobileNode,
                "no policy profile for this MN-ID",
            );
        };
        if !self.policy.may_serve(node, mag_entry) {
            return reject(
                S::MagNotAuthorizedForProxyReg,
                "the node's profile does not list this MAG",
            );
        }
        let (fixed, pool) = (&node.hnps[..], node.pool.as_deref());
        if fresh && let Some(v) = self.check_window(now, pbu) {
            return v;
        }
        if pbu.options.hnps.is_empty() {
            return reject(
                S::MissingHomeNetworkPrefixOption,
                "no Home Network Prefix option",
            );
        }
        let Some(hi) = pbu.options.handoff_indicator else {
            return reject(
                S::MissingHandoffIndicatorOption,
                "no Handoff Indicator option",
            );
        };
        let Some(att) = pbu.options.access_technology else {
            return reject(
                S::MissingAccessTechTypeOption,
                "no Access Technology Type option",
            );
        };
        let existing = self.cache.find(mn_id);
        if pbu.lifetime_secs == 0 {
            return self.deregister(now, mag, pbu, existing, fresh);
        }
        if fresh && let Some(v) = existing.and_then(|id| self.check_order(pbu, id, mag)) {
            return v;
        }
        let requested: Vec<Ipv6Net> = pbu
            .options
            .hnps
            .iter()
            .copied()
            .filter(|p| !is_request_for_assignment(p))
            .collect();
        let lifetime = self.grant(pbu.lifetime_secs);
        let expires = now + Duration::from_secs(u64::from(lifetime));
        let ll_id = pbu
            .options
            .mn_link_layer_id
            .as_deref()
            .and_then(LinkLayerId::new);
        let Some(id) = existing else {
            let hnps = match assign(&mut self.pools, &requested, fixed, pool) {
                Ok(hnps) => hnps,
                Err(v) => return v,
            };
            let id = self.cache.insert(Binding {
                mn_id: mn_id.into(),
                hnps: hnps.into(),
                proxy_coa: mag,
                lma_addr: lma,
                tunnel: None,
                ll_id,
                link_local: pbu.options.link_local_address,
                att,
                hi,
                expires,
                sequence: pbu.sequence,
                timestamp: pbu.options.timestamp.unwrap_or(0),
                state: BindingState::Active,
            });
            self.attach(id);
            self.timers.set(Timer::Binding(id), expires);
            return Self::accepted(id, Action::Registered, lifetime);
        };
        let Some(b) = self.cache.get(id) else {
            return reject(S::ReasonUnspecified, "binding cache inconsistent");
        };
        if !requested.is_empty() && !same_set(&requested, &b.hnps) {
            let authorised = requested
                .iter()
                .all(|p| fixed.contains(p) || b.hnps.contains(p));
            return if authorised {
                Verdict::Reject {
                    status: S::BcePbuPrefixSetDoNotMatch,
                    why: "the PBU's prefixes differ from the entry's",
                    rfc: "5.4.1",
                }
            } else {
                reject(
                    S::NotAuthorizedForHomeNetworkPrefix,
                    "the PBU asks for prefixes the node's profile does not give",
                )
            };
        }
        let active = b.state == BindingState::Active;
        let from = b.proxy_coa;
        let same_interface = ll_id.is_some() && ll_id == b.ll_id;
        if fresh && active && from != mag && hi == HandoffIndicator::Unknown && !same_interface {
            if self
                .pending
                .insert(
                    id,
                    PendingPbu {
                        mag,
                        lma,
                        pbu: pbu.clone(),
                    },
                )
                .is_none()
            {
                let deadline = now + self.max_delay_before_new_bce_assign;
                self.timers.set(Timer::Pending(id), deadline);
            }
            return Verdict::Defer { serving: from };
        }
        let moving = !active || from != mag;
        if moving && active {
            // `attach` below overwrites every HNP route, so only the old tunnel
            // uses go; removing the routes first would cost a FIB remove+insert.
            self.release_tunnel(id);
        }
        if let Some(b) = self.cache.get_mut(id) {
            b.proxy_coa = mag;
            b.lma_addr = lma;
            b.ll_id = ll_id.or(b.ll_id);
            b.link_local = pbu.options.link_local_address.or(b.link_local);
            b.att = att;
            b.hi = hi;
            b.expires = expires;
            b.sequence = pbu.sequence;
            b.timestamp = pbu.options.timestamp.unwrap_or(b.timestamp);
            b.state = BindingState::Active;
        }
        if moving {
            self.attach(id);
        }
        self.timers.set(Timer::Binding(id), expires);
        let action = match (moving, active) {
            (false, _) => Action::Refreshed,
            (true, true) => Action::Handoff { from },
            (true, false) => Action::Resumed { from },
        };
        Self::accepted(id, action, lifetime)
    }

    fn accepted(id: BindingId, action: Action, lifetime: u32) -> Verdict {
        Verdict::Accept {
            action,
            lifetime,
            binding: Some(id),
        }
    }

    /// The lifetime granted: at most the configured maximum, in whole 4-second
    /// units so the expiry matches what the PBA says.
    fn grant(&self, requested: u32) -> u32 {
        (requested.min(self.max_lifetime_secs) / 4 * 4).max(4)
    }

    /// RFC 5213 5.5: a timestamp must be present and within the validity window.
    fn check_window(&self, now: Instant, pbu: &PbuRepr) -> Option<Verdict> {
        if self.ordering != Ordering::Timestamps {
            return None;
        }
        let why = match pbu.options.timestamp {
            None => "no Timestamp option",
            Some(ts) if !within_window(ts, self.epoch, now, self.timestamp_window) => {
                "timestamp outside TimestampValidityWindow"
            }
            Some(_) => return None,
        };
        Some(Verdict::Reject {
            status: PbaStatus::TimestampMismatch,
            why,
            rfc: "5.5",
        })
    }

    /// RFC 5213 5.5 / RFC 6275 9.5.1: the PBU must be newer than the last one
    /// accepted for the entry. Sequence numbers are per MAG, so they are only
    /// compared for the MAG that registered the entry.
    fn check_order(&self, pbu: &PbuRepr, id: BindingId, mag: Ipv6Addr) -> Option<Verdict> {
        let b = self.cache.get(id)?;
        match self.ordering {
            Ordering::Timestamps => {
                let ts = pbu.options.timestamp?;
                (ts <= b.timestamp).then_some(Verdict::Reject {
                    status: PbaStatus::TimestampLowerThanPrevAccepted,
                    why: "timestamp not newer than the last accepted",
                    rfc: "5.5",
                })
            }
            Ordering::SequenceNumbers => {
                let ahead = pbu.sequence.wrapping_sub(b.sequence);
                (b.proxy_coa == mag && (ahead == 0 || ahead >= 0x8000))
                    .then_some(Verdict::OutOfWindow { last: b.sequence })
            }
        }
    }

    fn deregister(
        &mut self,
        now: Instant,
        mag: Ipv6Addr,
        pbu: &PbuRepr,
        existing: Option<BindingId>,
        fresh: bool,
    ) -> Verdict {
        let Some((id, b)) = existing.and_then(|id| Some((id, self.cache.get(id)?))) else {
            return Verdict::Accept {
                action: Action::DeregisteredUnknown,
                lifetime: 0,
                binding: None,
            };
        };
        if b.proxy_coa != mag || b.state != BindingState::Active {
            return Verdict::Accept {
                action: Action::StaleDeregistration {
                    serving: b.proxy_coa,
                },
                lifetime: 0,
                binding: Some(id),
            };
        }
        if fresh && let Some(v) = self.check_order(pbu, id, mag) {
            return v;
        }
        self.detach(id);
        let expires = now + self.min_delay_before_bce_delete;
        if let Some(b) = self.cache.get_mut(id) {
            b.state = BindingState::DeregisteredPendingDelete;
            b.expires = expires;
            b.sequence = pbu.sequence;
            b.timestamp = pbu.options.timestamp.unwrap_or(b.timestamp);
        }
        self.timers.set(Timer::Binding(id), expires);
        Self::accepted(id, Action::Deregistered, 0)
    }

    /// Routes every HNP of the entry into the (shared) tunnel to its MAG.
    fn attach(&mut self, id: BindingId) {
        let Some(b) = self.cache.get_mut(id) else {
            return;
        };
        let mut tunnel = None;
        for hnp in b.hnps.iter() {
            let t = self.engine.tunnels.acquire(b.lma_addr, b.proxy_coa);
            self.engine.fib.insert_v6(*hnp, NextHop::Tunnel(t));
            tunnel = Some(t);
        }
        b.tunnel = tunnel;
    }

    /// Removes the entry's routes and its uses of the tunnel (the last user
    /// removes the tunnel).
    fn detach(&mut self, id: BindingId) {
        let Some(b) = self.cache.get(id) else {
            return;
        };
        if let Some(t) = b.tunnel {
            for hnp in b.hnps.iter() {
                if self.engine.fib.get_v6(hnp) == Some(&NextHop::Tunnel(t)) {
                    self.engine.fib.remove_v6(hnp);
                }
            }
        }
        self.release_tunnel(id);
    }

    /// Gives up the entry's uses of its tunnel, one per HNP, leaving the routes.
    fn release_tunnel(&mut self, id: BindingId) {
        let Some(b) = self.cache.get_mut(id) else {
            return;
        };
        let Some(t) = b.tunnel.take() else { return };
        for _ in b.hnps.iter() {
            self.engine.tunnels.release(t);
        }
    }

    fn delete(&mut self, id: BindingId) {
        self.detach(id);
        self.timers.cancel(&Timer::Binding(id));
        self.timers.cancel(&Timer::Pending(id));
        self.pending.remove(&id);
        let Some(b) = self.cache.remove(id) else {
            return;
        };
        if let Some(pool) = self
            .policy
            .node_by_mn_id(&b.mn_id)
            .and_then(|n| n.pool.as_deref())
        {
            for hnp in b.hnps.iter() {
                self.pools.release(pool, *hnp);
            }
        }
    }

    /// Lifetime expiry of an Active entry, or the end of MinDelayBeforeBCEDelete.
    pub(crate) fn binding_timer(&mut self, now: Instant, id: BindingId) {
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
            Prefixes(&b.hnps),
            self.mag_name(&b.proxy_coa)
        );
        self.counters.bump(match b.state {
            BindingState::Active => "bce.expired",
            BindingState::DeregisteredPendingDelete => "bce.deleted",
        });
        self.delete(id);
    }

    /// No de-registration came within MaxDelayBeforeNewBCEAssign: the held PBU
    /// wins (this LMA has one entry per node, so it moves rather than adds one).
    pub(crate) fn pending_timer(&mut self, now: Instant, id: BindingId, tx: &mut dyn Tx) {
        let Some(held) = self.pending.remove(&id) else {
            return;
        };
        log::info!(
            "no de-registration within MaxDelayBeforeNewBCEAssign: taking up the held HI=4 PBU from {} (RFC 5213 5.4.1)",
            self.mag_name(&held.mag)
        );
        self.on_pbu(now, held.mag, held.lma, held.pbu, false, tx);
    }
}
