//! Carrying out a decision: the Binding Cache entry, its timers, its prefixes
//! from the pools, and the routes into the tunnel to its MAG change here and
//! nowhere else.

use super::Sender;
use super::check::{Refusal, Request};
use super::ipv4::Ipv4Reply;
use super::order::Decision;
use crate::binding_cache::{Binding, BindingId, BindingState};
use crate::core::{Lma, PendingPbu, Timer};
use crate::hnp_pool::HnpPools;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use router::aaa::Grant;
use router::policy::Ordering;
use router::routes::RouteTable;
use router::timestamp::timestamp;
use router::wire::PbaStatus;
use router::{Duration, Instant};
use std::net::Ipv6Addr;

/// How long the tunnel to the MAG a node left still takes packets out: the
/// longest a packet sent there just before the move may be on the way.
const PREVIOUS_MAG_LINGER: Duration = Duration::from_secs(2);

/// An accepted PBU: what it did, the entry whose prefixes the PBA carries
/// (`None` echoes the PBU's) and the lifetime granted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    pub decision: Decision,
    pub binding: Option<BindingId>,
    pub lifetime: u32,
    /// What the PBA says about IPv4 (options 37 and 38).
    pub ipv4: Ipv4Reply,
}

/// HNPs for a new entry: the requested ones if the profile allows them,
/// else the profile's fixed prefixes or one from its pool.
fn assign(
    pools: &mut HnpPools,
    requested: impl Iterator<Item = Ipv6Net> + Clone,
    fixed: &[Ipv6Net],
    pool: Option<&str>,
) -> Result<Box<[Ipv6Net]>, Refusal> {
    if requested.clone().next().is_none() {
        if !fixed.is_empty() {
            return Ok(fixed.into());
        }
        let Some(pool) = pool else {
            return Err(Refusal::new(
                PbaStatus::InsufficientResources,
                "the policy store granted no home network prefix",
                "5.3.1",
            ));
        };
        return pools
            .allocate(pool)
            .map(|hnp| Box::from([hnp]))
            .ok_or(Refusal::new(
                PbaStatus::InsufficientResources,
                "HNP pool exhausted",
                "5.3.1",
            ));
    }
    let mut claimed = Vec::new();
    for hnp in requested.clone() {
        let ok = fixed.contains(&hnp) || pool.is_some_and(|pool| pools.claim(pool, hnp));
        if !ok {
            if let Some(pool) = pool {
                for c in claimed {
                    pools.release(pool, c);
                }
            }
            return Err(Refusal::new(
                PbaStatus::NotAuthorizedForHomeNetworkPrefix,
                "the PBU asks for prefixes the node's profile does not give",
                "5.3.1",
            ));
        }
        if !fixed.contains(&hnp) {
            claimed.push(hnp);
        }
    }
    Ok(requested.collect())
}

impl Lma {
    /// The lifetime granted: at most the configured maximum, in whole 4-second
    /// units so the expiry matches what the PBA says.
    fn granted_lifetime(&self, requested: u32) -> u32 {
        (requested.min(self.max_lifetime_secs) / 4 * 4).max(4)
    }

    /// When `req` was sent, as the entry keeps it for rule 1 of `order`.
    fn sent_at(&self, now: Instant, req: &Request, before: u64) -> u64 {
        let sent = match (req.ordering, req.pbu.options.timestamp) {
            (Ordering::Timestamps, Some(ts)) => ts,
            _ => timestamp(self.epoch, now),
        };
        // A held PBU taken up after a newer de-registration must not move the
        // entry's clock back.
        sent.max(before)
    }

    /// Carries out `decision`; `grant` is the policy store's answer for the
    /// decisions that need one (`Decision::needs_authorization`).
    pub(super) fn apply(
        &mut self,
        now: Instant,
        req: &Request,
        decision: Decision,
        from: Sender,
        grant: Option<&Grant>,
    ) -> Result<Outcome, Refusal> {
        let lifetime = self.granted_lifetime(req.pbu.lifetime_secs);
        let expires = now + Duration::from_secs(u64::from(lifetime));
        let (binding, ipv4) = match decision {
            Decision::Register => {
                let (id, reply) = self.register(now, req, from, expires, grant)?;
                (Some(id), reply)
            }
            Decision::Refresh(id) => (Some(id), self.renew(now, id, req, from, expires)),
            Decision::Handoff { id, .. } | Decision::Resume { id, .. } => {
                let reply = self.renew(now, id, req, from, expires);
                self.route(now, id);
                (Some(id), reply)
            }
            Decision::Deregister(id) => {
                self.deregister(now, id, req);
                (Some(id), self.held_ipv4(req, id))
            }
            Decision::StaleDeregistration { id, .. } => (Some(id), self.held_ipv4(req, id)),
            Decision::DeregisterUnknown => (None, Ipv4Reply::None),
            Decision::Defer { id, .. } => {
                self.hold(now, id, req, from);
                (Some(id), Ipv4Reply::None)
            }
        };
        let lifetime = match decision {
            Decision::Register
            | Decision::Refresh(_)
            | Decision::Handoff { .. }
            | Decision::Resume { .. } => lifetime,
            _ => 0,
        };
        Ok(Outcome {
            decision,
            binding,
            lifetime,
            ipv4,
        })
    }

    /// The reply about the IPv4 home address entry `id` holds, for a PBU
    /// that changes nothing about it.
    fn held_ipv4(&mut self, req: &Request, id: BindingId) -> Ipv4Reply {
        let current = self.cache.get(id).and_then(|b| b.ipv4);
        match current {
            Some(home) => self
                .assign_ipv4(req, Some(home))
                .map_or(Ipv4Reply::None, |(_, reply)| reply),
            None => Ipv4Reply::None,
        }
    }

    fn register(
        &mut self,
        now: Instant,
        req: &Request,
        from: Sender,
        expires: Instant,
        grant: Option<&Grant>,
    ) -> Result<(BindingId, Ipv4Reply), Refusal> {
        let Some(grant) = grant else {
            return Err(Refusal::new(
                PbaStatus::ReasonUnspecified,
                "no authorization for a new binding",
                "5.3.1",
            ));
        };
        let (ipv4, reply) = self.assign_ipv4(req, None)?;
        let hnps = if req.ipv6 {
            assign(
                &mut self.pools,
                req.requested(),
                &grant.hnps,
                grant.pool.as_deref(),
            )
        } else {
            Ok(Box::default())
        };
        let hnps = match hnps {
            Ok(hnps) => hnps,
            Err(refusal) => {
                if let Some(home) = ipv4 {
                    self.release_ipv4(req.mn_id, &home);
                }
                return Err(refusal);
            }
        };
        let id = self.cache.insert(Binding {
            mn_id: req.mn_id.into(),
            hnps,
            ipv4,
            proxy_coa: from.mag,
            lma_addr: from.lma,
            ll_id: req.ll_id,
            link_local: req.pbu.options.link_local_address,
            att: req.att,
            hi: req.hi,
            expires,
            sequence: req.pbu.sequence,
            timestamp: self.sent_at(now, req, 0),
            ordered_by: req.ordering,
            state: BindingState::Active,
        });
        self.route(now, id);
        self.timers.set(Timer::Binding(id), expires);
        self.watch_mag(now, from);
        Ok((id, reply))
    }

    /// A refresh, handoff or resumption: the entry takes the PBU's values,
    /// and an IPv4 home address if it had none and the PBU asks for one.
    fn renew(
        &mut self,
        now: Instant,
        id: BindingId,
        req: &Request,
        from: Sender,
        expires: Instant,
    ) -> Ipv4Reply {
        let held = self.cache.get(id).and_then(|b| b.ipv4);
        let (ipv4, reply) = self
            .assign_ipv4(req, held)
            .unwrap_or((held, Ipv4Reply::None));
        let before = self.cache.get(id).map_or(0, |b| b.timestamp);
        let sent = self.sent_at(now, req, before);
        if let Some(b) = self.cache.get_mut(id) {
            b.proxy_coa = from.mag;
            b.lma_addr = from.lma;
            b.ll_id = req.ll_id.or(b.ll_id);
            b.link_local = req.pbu.options.link_local_address.or(b.link_local);
            b.att = req.att;
            b.hi = req.hi;
            b.expires = expires;
            b.sequence = req.pbu.sequence;
            b.timestamp = sent;
            b.ordered_by = req.ordering;
            b.state = BindingState::Active;
            b.ipv4 = ipv4;
        }
        if held.is_none() && ipv4.is_some() {
            self.route(now, id);
        }
        self.timers.set(Timer::Binding(id), expires);
        self.watch_mag(now, from);
        reply
    }

    fn deregister(&mut self, now: Instant, id: BindingId, req: &Request) {
        self.unroute(id);
        let expires = now + self.min_delay_before_bce_delete;
        let before = self.cache.get(id).map_or(0, |b| b.timestamp);
        let sent = self.sent_at(now, req, before);
        if let Some(b) = self.cache.get_mut(id) {
            b.state = BindingState::DeregisteredPendingDelete;
            b.expires = expires;
            b.sequence = req.pbu.sequence;
            b.timestamp = sent;
            b.ordered_by = req.ordering;
        }
        self.timers.set(Timer::Binding(id), expires);
    }

    fn hold(&mut self, now: Instant, id: BindingId, req: &Request, from: Sender) {
        let held = PendingPbu {
            from,
            pbu: req.pbu.clone(),
        };
        if self.pending.insert(id, held).is_none() {
            let deadline = now + self.max_delay_before_new_bce_assign;
            self.timers.set(Timer::Pending(id), deadline);
        }
    }

    /// Routes every HNP of the entry into the (shared) tunnel to its MAG; a
    /// route into the tunnel to the previous MAG is replaced, and that tunnel
    /// lingers.
    fn route(&mut self, now: Instant, id: BindingId) {
        let Some(b) = self.cache.get(id) else {
            return;
        };
        let homes = b.hnps.iter().copied().map(IpNet::V6);
        let host = b.ipv4.map(|h| IpNet::V4(Ipv4Net::from(h.address.addr())));
        let previous = homes
            .chain(host)
            .find_map(|home| {
                self.engine
                    .routes()
                    .tunnel_of(RouteTable::Destination, home)
            })
            .filter(|t| t.remote != b.proxy_coa)
            .map(|t| (t.local, t.remote));
        if let Some((local, remote)) = previous {
            self.linger(now, local, remote);
        }
        let Some(b) = self.cache.get(id) else {
            return;
        };
        let routes = self.engine.routes_mut();
        for hnp in b.hnps.iter() {
            routes.tunnel_into(RouteTable::Destination, *hnp, b.lma_addr, b.proxy_coa);
        }
        // Only the node's own address: others of its link may be elsewhere.
        if let Some(host) = b.ipv4.map(|h| Ipv4Net::from(h.address.addr())) {
            routes.tunnel_into(RouteTable::Destination, host, b.lma_addr, b.proxy_coa);
        }
    }

    /// Keeps the tunnel to the MAG a node just left for `PREVIOUS_MAG_LINGER`
    /// with no route into it: what the node sent through that MAG before it
    /// moved is still crossing the WAN, and may come in after the new MAG's
    /// PBU (it does whenever the hypervisor's hint is quicker than the WAN).
    fn linger(&mut self, now: Instant, local: Ipv6Addr, remote: Ipv6Addr) {
        if !self.lingering.contains_key(&remote) {
            let id = self.engine.routes_mut().keep_tunnel(local, remote);
            self.lingering.insert(remote, id);
        }
        self.timers
            .set(Timer::Linger(remote), now + PREVIOUS_MAG_LINGER);
    }

    pub(crate) fn end_linger(&mut self, mag: Ipv6Addr) {
        if let Some(id) = self.lingering.remove(&mag) {
            self.engine.routes_mut().let_go(id);
        }
    }

    fn unroute(&mut self, id: BindingId) {
        let Some(b) = self.cache.get(id) else {
            return;
        };
        let routes = self.engine.routes_mut();
        for hnp in b.hnps.iter() {
            routes.remove(RouteTable::Destination, *hnp);
        }
        if let Some(host) = b.ipv4.map(|h| Ipv4Net::from(h.address.addr())) {
            routes.remove(RouteTable::Destination, host);
        }
    }

    /// Removes the entry with its routes, timers and pool prefixes.
    pub(crate) fn delete(&mut self, id: BindingId) {
        if self
            .cache
            .get(id)
            .is_some_and(|b| b.state == BindingState::Active)
        {
            self.unroute(id);
        }
        self.timers.cancel(&Timer::Binding(id));
        self.timers.cancel(&Timer::Pending(id));
        self.pending.remove(&id);
        let Some(b) = self.cache.remove(id) else {
            return;
        };
        if let Some(home) = b.ipv4 {
            self.release_ipv4(&b.mn_id, &home);
        }
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
}
