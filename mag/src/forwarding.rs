//! Forwarding between MAGs while a VM moves, after the previous-to-new MAG
//! tunnel of Fast Handovers for PMIPv6 (RFC 5949 6.1), with the hypervisor's
//! hints in place of its HI/HAck exchange.
//!
//! The "arriving" hint re-routes the node at the LMA within half a MAG-LMA
//! round trip; whatever the LMA sent to the source MAG before that reaches a
//! paused VM and is lost. A "leaving" hint that names the destination MAG
//! (`"to": its Proxy-CoA`) closes that gap: the source MAG still delivers the
//! node's downlink on its own link (the hint may be wrong, and the VM may
//! still run) and sends a copy of each packet through an IPv6-in-IPv6 tunnel
//! (RFC 2473) to the destination MAG, which holds it with the rest of the
//! node's downlink and delivers the copies first: they are what the LMA sent
//! before it re-routed the node. A copy the node also got before its pause is a duplicate
//! to it, which IP allows. The hints reach the two MAGs in some order and
//! copies cross the WAN quickly, so a copy can reach the destination before
//! its `arriving` hint: such early copies are kept a moment for the hint to
//! claim, then dropped.
//!
//! Only MAGs of the policy are accepted as tunnel peers, and their copies
//! only for nodes hinted as arriving (or just arrived), or for a moment
//! while the hint may still come.

use crate::core::{Mag, Timer, UPLINK};
use crate::held::HoldLimits;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use router::core::Tx;
use router::mac::Mac;
use router::policy::Ipv4Assignment;
use router::routes::RouteTable;
use router::tunnel::{DEFAULT_TUNNEL_HOP_LIMIT, decapsulate, encapsulate};
use router::{Duration, Instant};
use smoltcp::wire::{Ipv4Packet, Ipv6Packet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How long a copy that came before its hint waits for it: the hints to the
/// two MAGs go out together, so a few round trips at most.
const EARLY_COPY_AGE: Duration = Duration::from_secs(1);

/// Early copies, of any node, are held within one node's limits.
fn early_limits(hold: &HoldLimits) -> HoldLimits {
    HoldLimits {
        age: EARLY_COPY_AGE.min(hold.age),
        ..*hold
    }
}

/// IPv6 prefixes and an IPv4 home address, as the engine holds them.
pub(crate) fn home_nets(hnps: &[Ipv6Net], ipv4: Option<Ipv4Addr>) -> Vec<IpNet> {
    let v4 = ipv4.map(|a| IpNet::V4(Ipv4Net::from(a)));
    hnps.iter().copied().map(IpNet::V6).chain(v4).collect()
}

/// The destination of a checked IPv6 or IPv4 packet.
pub(crate) fn destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first().map(|b| b >> 4) {
        Some(6) => Ipv6Packet::new_checked(packet)
            .ok()
            .map(|p| p.dst_addr().into()),
        Some(4) => Ipv4Packet::new_checked(packet)
            .ok()
            .map(|p| p.dst_addr().into()),
        _ => None,
    }
}

impl Mag {
    /// The destination MAG a leaving hint names: a MAG of the policy, not this one.
    pub(crate) fn peer_mag(&self, text: &str) -> Result<Ipv6Addr, String> {
        let to: Ipv6Addr = text
            .parse()
            .map_err(|e| format!("to: {text:?} is not an IPv6 address: {e}"))?;
        if to == self.proxy_coa() {
            return Err(format!("to: {to} is this MAG's own Proxy-CoA"));
        }
        if self.policy.mag_by_address(&to).is_none() {
            return Err(format!("to: {to} is not a MAG of the policy"));
        }
        Ok(to)
    }

    /// The node's prefixes and IPv4 home address as far as this MAG knows
    /// them: its binding's, or the policy's before the LMA granted any (a
    /// pool's IPv4 address is known from the PBA only).
    pub(crate) fn node_homes(&self, mac: &Mac) -> Vec<IpNet> {
        let e = self.bul.get(mac);
        let profile = self.policy.node_by_mac(mac);
        let hnps = match e {
            Some(e) if !e.hnps.is_empty() => e.hnps.clone(),
            _ => profile.map(|n| n.hnps.clone()).unwrap_or_default(),
        };
        let ipv4 = e
            .and_then(|e| e.ipv4)
            .map(|g| g.address.addr())
            .or_else(|| match profile.and_then(|n| n.ipv4.as_ref()) {
                Some(Ipv4Assignment::Fixed { address, .. }) => Some(address.addr()),
                _ => None,
            });
        home_nets(&hnps, ipv4)
    }

    /// Whether `dst` is one of the node's home addresses.
    pub(crate) fn is_home_of(&self, mac: &Mac, dst: IpAddr) -> bool {
        self.node_homes(mac).iter().any(|h| h.contains(&dst))
    }

    /// Starts copying the node's downlink to `to`.
    pub(crate) fn start_forwarding(&mut self, mac: Mac, to: Ipv6Addr) {
        let homes = self.node_homes(&mac);
        for home in &homes {
            self.engine.hold(*home);
        }
        let (lmaa, on_link) = (self.cfg.lmaa, self.cfg.uplink.proxy_coa.contains(&to));
        let host = Ipv6Net::new(to, 128).unwrap_or_default();
        let routes = self.engine.routes_mut();
        if !on_link && routes.get(RouteTable::Destination, host).is_none() {
            // The destination MAG is reached the way the LMA is.
            routes.via(host, UPLINK, IpAddr::V6(lmaa));
        }
        log::info!(
            "{mac} leaving for the MAG at {to}: its downlink ({}) is copied there meanwhile",
            crate::node_link::prefixes(&homes)
        );
    }

    /// Stops copying the node's downlink to `to`.
    pub(crate) fn stop_forwarding(&mut self, mac: &Mac, to: Ipv6Addr) {
        for home in self.node_homes(mac) {
            self.engine.release(home);
        }
        let still_used = self.hints.leaving.values().any(|l| l.to == Some(to));
        let host = Ipv6Net::new(to, 128).unwrap_or_default();
        let ours = matches!(
            self.engine.routes().get(RouteTable::Destination, host),
            Some(router::fib::NextHop::Gateway { .. })
        );
        if !still_used && ours {
            self.engine
                .routes_mut()
                .remove(RouteTable::Destination, host);
        }
    }

    /// A copy of `packet` (the node's downlink) to the destination MAG.
    pub(crate) fn copy_to_peer(
        &mut self,
        now: Instant,
        to: Ipv6Addr,
        packet: &[u8],
        tx: &mut dyn Tx,
    ) {
        let mut outer = Vec::with_capacity(packet.len() + 40);
        match encapsulate(
            self.proxy_coa(),
            to,
            packet,
            DEFAULT_TUNNEL_HOP_LIMIT,
            self.cfg.uplink.mtu,
            &mut outer,
        ) {
            Ok(()) => {
                self.counters.bump("mag.forward.copied");
                self.engine.send_ipv6(now, &outer, tx);
            }
            Err(_) => self.counters.bump("mag.forward.dropped"),
        }
    }

    /// A packet to this MAG from a tunnel it does not have: a peer MAG's copy
    /// of a node's downlink is held for the node (or delivered, if the node
    /// is here already). False when it is no such copy.
    pub(crate) fn take_peer_copy(&mut self, now: Instant, outer: &[u8], tx: &mut dyn Tx) -> bool {
        let Ok(ip) = Ipv6Packet::new_checked(outer) else {
            return false;
        };
        let src = ip.src_addr();
        if ip.dst_addr() != self.proxy_coa()
            || src == self.cfg.lmaa
            || self.policy.mag_by_address(&src).is_none()
        {
            return false;
        }
        let Ok((_, inner)) = decapsulate(outer) else {
            self.counters.bump("mag.forward.malformed");
            return true;
        };
        let Some(inner_dst) = destination(inner) else {
            self.counters.bump("mag.forward.malformed");
            return true;
        };
        let theirs = |mac: &Mac| self.is_home_of(mac, inner_dst);
        let expected = self.hints.expected.keys().copied().find(|m| theirs(m));
        let arrived = self.hints.arrived.keys().copied().find(|m| theirs(m));
        let limits = self.cfg.hints.hold;
        if let Some(mac) = expected
            && let Some(exp) = self.hints.expected.get_mut(&mac)
        {
            match exp.copies.push(now, inner.to_vec(), &limits) {
                Ok(()) => self.counters.bump("mag.forward.held"),
                Err(limit) => self.counters.bump(limit.counter()),
            }
        } else if let Some(d) = self
            .draining_for(inner_dst)
            .and_then(|mac| self.hints.draining.get_mut(&mac))
        {
            self.counters.bump("mag.forward.late");
            d.queue.push_back(inner.to_vec());
        } else if let Some(mac) = arrived
            && let Some(port) = self.bul.get(&mac).map(|e| e.port)
        {
            self.counters.bump("mag.forward.late");
            self.deliver_held(now, port, mac, &[inner.to_vec()], tx);
        } else {
            self.keep_early_copy(now, src, inner_dst, inner);
        }
        true
    }

    /// A copy no hint here claims (yet): the source MAG's `leaving` may have
    /// come before this MAG's `arriving`, and the copy crossed the WAN faster
    /// than the hypervisor told this MAG. Kept for `EARLY_COPY_AGE`, in one
    /// queue bounded by a node's hold limits, for the hint to claim.
    fn keep_early_copy(&mut self, now: Instant, src: Ipv6Addr, dst: IpAddr, inner: &[u8]) {
        let limits = early_limits(&self.cfg.hints.hold);
        self.expire_early_copies(now);
        match self.hints.early.push(now, inner.to_vec(), &limits) {
            Ok(()) => {
                self.counters.bump("mag.forward.early");
                log::debug!(
                    "{src} forwarded a packet to {dst} before any hint for it: kept {} ms for one",
                    limits.age.total_millis()
                );
                if let Some(at) = self.hints.early.stale_at(&limits) {
                    self.timers.set(Timer::EarlyCopies, at);
                }
            }
            Err(limit) => self.counters.bump(limit.counter()),
        }
    }

    /// Drops the early copies too old to be claimed.
    pub(crate) fn expire_early_copies(&mut self, now: Instant) {
        let limits = early_limits(&self.cfg.hints.hold);
        let stale = self.hints.early.expire(now, &limits);
        self.count_dropped(stale, "mag.forward.unexpected");
        match self.hints.early.stale_at(&limits) {
            Some(at) => self.timers.set(Timer::EarlyCopies, at),
            None => self.timers.cancel(&Timer::EarlyCopies),
        }
    }

    /// The early copies of the node's downlink, oldest first.
    pub(crate) fn claim_early_copies(&mut self, now: Instant, mac: &Mac) -> Vec<Vec<u8>> {
        if self.hints.early.is_empty() {
            return Vec::new();
        }
        self.expire_early_copies(now);
        let homes = self.node_homes(mac);
        let claimed = self
            .hints
            .early
            .take(|p| destination(p).is_some_and(|dst| homes.iter().any(|h| h.contains(&dst))));
        if self.hints.early.is_empty() {
            self.timers.cancel(&Timer::EarlyCopies);
        }
        claimed
    }
}
