//! The mobile node of the Mobile IPv6 baseline (RFC 6275 section 11), as an
//! agent beside an unmodified Linux stack: the kernel does SLAAC and DAD on
//! the access link, the agent does the rest with a TUN device and sockets.
//!
//! - this module: [`MobileNode`], the agent as a core without I/O: what the
//!   kernel reports (addresses, default routers, prefixes heard in RAs) and
//!   packets in, [`Action`]s out;
//! - [`kernel`]: netlink (addresses, routes, RA prefixes) turned into
//!   [`Event`]s, and the few routes and addresses the agent changes;
//! - [`sys`]: the TUN device and the raw sockets;
//! - the `tapmip-mn` binary runs them on mio.
//!
//! ```text
//!   apps --(home address, on tun0)--> agent --IPv6-in-IPv6 from the CoA--> home agent
//!   kernel: RA (new prefix) -> SLAAC -> DAD (~1 s) -> CoA ready -> agent: BU -> BA
//! ```
//!
//! Movement is detected as the kernel sees it: an RA with a prefix the node
//! has no care-of address in. The new care-of address is usable only once the
//! kernel's DAD has finished; then the agent routes the home agent's address
//! via the router that advertised it and sends the Binding Update,
//! retransmitted with back-off (11.8) until the Acknowledgement comes.

pub mod kernel;
pub mod sys;

use ipnet::Ipv6Net;
use mag::pbu::{INITIAL_BINDACK_TIMEOUT, INITIAL_BINDACK_TIMEOUT_FIRST_REG, backoff};
use router::counters::Counters;
use router::tunnel::{DEFAULT_TUNNEL_HOP_LIMIT, encapsulate};
use router::wire::{HomeAddressIn, IPPROTO_ROUTING, MhRepr, MnPacketRepr, PbaStatus, PbuRepr};
use router::{Duration, Instant};
use smoltcp::wire::Ipv6Packet;
use std::net::Ipv6Addr;

/// What the kernel or the network tells the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A global address of the access interface that DAD has cleared.
    AddressReady(Ipv6Net),
    /// A global address left the access interface.
    AddressGone(Ipv6Addr),
    /// The kernel learnt a default router on the access interface from its RA.
    DefaultRouter(Ipv6Addr),
    /// The kernel heard an RA carrying this prefix (RTM_NEWPREFIX).
    Prefix(Ipv6Net),
}

/// What the agent asks its I/O to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this whole IPv6 packet on the access link.
    Send(Vec<u8>),
    /// Hand this packet to the kernel through the TUN device.
    ToTun(Vec<u8>),
    /// Route the home agent's address via `router` on the access link.
    RouteHomeAgent { via: Ipv6Addr },
    /// Remove a care-of address of a link the node has left.
    RemoveAddress(Ipv6Net),
    /// Forget the default route the kernel learnt from a router of a link the
    /// node has left: when the node comes back, that router's next RA is news
    /// again (the kernel reports only routes it adds).
    ForgetRouter(Ipv6Addr),
}

#[derive(Debug, Clone)]
pub struct MnConfig {
    pub home_address: Ipv6Addr,
    pub home_agent: Ipv6Addr,
    /// Lifetime asked for in each Binding Update, in seconds.
    pub lifetime_secs: u32,
    /// The access link's MTU, which tunnelled packets must fit.
    pub link_mtu: usize,
}

/// A Binding Update waiting for its Acknowledgement.
#[derive(Debug, Clone)]
struct Pending {
    coa: Ipv6Net,
    router: Ipv6Addr,
    sequence: u16,
    due: Instant,
    timeout: Duration,
    /// When this registration began (the first transmission).
    started: Instant,
}

#[derive(Debug, Clone)]
struct Bound {
    coa: Ipv6Net,
    refresh: Instant,
}

pub struct MobileNode {
    cfg: MnConfig,
    sequence: u16,
    /// The default router learnt last: the one whose RA the kernel took last.
    router: Option<Ipv6Addr>,
    /// Every default router the kernel holds, as far as the agent knows.
    routers: Vec<Ipv6Addr>,
    /// A ready care-of address waiting for a router to register through.
    waiting: Option<Ipv6Net>,
    pending: Option<Pending>,
    bound: Option<Bound>,
    /// When the kernel first heard the prefix of a link the node moved to.
    moved_at: Option<(Ipv6Net, Instant)>,
    /// Care-of addresses of links left behind, removed once the new one is bound.
    stale: Vec<Ipv6Net>,
    pub counters: Counters,
    out: Vec<u8>,
}

fn on_prefix(prefix: &Ipv6Net, addr: &Ipv6Net) -> bool {
    prefix.trunc() == addr.trunc()
}

impl MobileNode {
    pub fn new(cfg: MnConfig, sequence: u16) -> MobileNode {
        MobileNode {
            cfg,
            sequence,
            router: None,
            routers: Vec::new(),
            waiting: None,
            pending: None,
            bound: None,
            moved_at: None,
            stale: Vec::new(),
            counters: Counters::default(),
            out: Vec::with_capacity(2048),
        }
    }

    /// The care-of address the home agent has accepted, if any.
    pub fn care_of(&self) -> Option<Ipv6Addr> {
        self.bound.as_ref().map(|b| b.coa.addr())
    }

    pub fn poll_at(&self) -> Option<Instant> {
        let due = self.pending.as_ref().map(|p| p.due);
        let refresh = self.bound.as_ref().map(|b| b.refresh);
        due.into_iter().chain(refresh).min()
    }

    fn known(&self, addr: &Ipv6Net) -> bool {
        let current = self.pending.as_ref().map(|p| p.coa);
        let bound = self.bound.as_ref().map(|b| b.coa);
        current
            .into_iter()
            .chain(bound)
            .any(|c| on_prefix(&c, addr))
    }

    pub fn on_event(&mut self, now: Instant, event: Event, out: &mut Vec<Action>) {
        match event {
            Event::Prefix(prefix) => {
                let new = !self.known(&prefix) && self.moved_at.is_none_or(|(p, _)| p != prefix);
                if new && self.bound.is_some() {
                    log::info!(
                        "movement detected: the kernel heard an RA with prefix {prefix}, not this node's care-of prefix; waiting for SLAAC and DAD (RFC 6275 11.5.1)"
                    );
                    self.moved_at = Some((prefix, now));
                }
            }
            Event::DefaultRouter(router) => {
                if self.router != Some(router) {
                    log::info!("default router {router} learnt from its RA");
                }
                self.router = Some(router);
                if !self.routers.contains(&router) {
                    self.routers.push(router);
                }
                if let Some(coa) = self.waiting.take() {
                    self.register(now, coa, out);
                }
            }
            Event::AddressReady(coa) => {
                if coa.addr() == self.cfg.home_address || self.known(&coa) {
                    return;
                }
                let after = self
                    .moved_at
                    .filter(|(p, _)| on_prefix(p, &coa))
                    .map(|(_, at)| format!(", {} ms after the RA", (now - at).total_millis()));
                log::info!(
                    "care-of address {coa} ready (DAD done{})",
                    after.unwrap_or_default()
                );
                self.register(now, coa, out);
            }
            Event::AddressGone(addr) => {
                self.stale.retain(|s| s.addr() != addr);
                if self.waiting.is_some_and(|w| w.addr() == addr) {
                    self.waiting = None;
                }
            }
        }
    }

    /// Starts a home registration of `coa` through the latest default router.
    fn register(&mut self, now: Instant, coa: Ipv6Net, out: &mut Vec<Action>) {
        let Some(router) = self.router else {
            self.waiting = Some(coa);
            return;
        };
        if let Some(old) = self.pending.take() {
            self.stale.push(old.coa);
        }
        let timeout = if self.bound.is_some() {
            INITIAL_BINDACK_TIMEOUT
        } else {
            INITIAL_BINDACK_TIMEOUT_FIRST_REG
        };
        self.pending = Some(Pending {
            coa,
            router,
            sequence: self.sequence,
            due: now,
            timeout,
            started: now,
        });
        out.push(Action::RouteHomeAgent { via: router });
        self.transmit(now, out);
    }

    /// Sends the pending Binding Update with a new sequence number (11.8).
    fn transmit(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        self.sequence = self.sequence.wrapping_add(1);
        p.sequence = self.sequence;
        let retry = p.due != p.started;
        p.due = now + p.timeout;
        let bu = MhRepr::Pbu(PbuRepr {
            sequence: p.sequence,
            ack: true,
            home_registration: true,
            lifetime_secs: self.cfg.lifetime_secs,
            ..PbuRepr::default()
        });
        let packet = MnPacketRepr::binding_update(
            p.coa.addr(),
            self.cfg.home_agent,
            self.cfg.home_address,
            bu,
        );
        log::info!(
            "{} BU seq {} to home agent {} for {}: care-of address {} via {} (wait {} ms)",
            if retry { "retransmitted" } else { "sent" },
            p.sequence,
            self.cfg.home_agent,
            self.cfg.home_address,
            p.coa.addr(),
            p.router,
            p.timeout.total_millis()
        );
        self.counters
            .bump(if retry { "bu.retransmitted" } else { "bu.sent" });
        p.timeout = backoff(p.timeout);
        out.push(Action::Send(packet.emit()));
    }

    pub fn on_timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.pending.as_ref().is_some_and(|p| p.due <= now) {
            self.transmit(now, out);
        }
        if let Some(b) = self.bound.clone()
            && b.refresh <= now
            && self.pending.is_none()
        {
            log::info!(
                "binding of {} due for refresh (RFC 6275 11.7.1)",
                b.coa.addr()
            );
            self.bound = Some(Bound {
                refresh: now + Duration::from_secs(1),
                ..b
            });
            self.register_refresh(now, b.coa, out);
        }
    }

    fn register_refresh(&mut self, now: Instant, coa: Ipv6Net, out: &mut Vec<Action>) {
        let router = self.pending.as_ref().map(|p| p.router).or(self.router);
        let Some(router) = router else { return };
        self.pending = Some(Pending {
            coa,
            router,
            sequence: self.sequence,
            due: now,
            timeout: INITIAL_BINDACK_TIMEOUT,
            started: now,
        });
        self.transmit(now, out);
    }

    /// What the raw socket of protocol 43 read: a Type 2 Routing Header and,
    /// from the home agent, a Binding Acknowledgement.
    pub fn on_routed(
        &mut self,
        now: Instant,
        from: Ipv6Addr,
        payload: &[u8],
        out: &mut Vec<Action>,
    ) {
        let dst = self
            .pending
            .as_ref()
            .map_or(Ipv6Addr::UNSPECIFIED, |p| p.coa.addr());
        let repr = match MnPacketRepr::parse_payload(from, dst, 64, IPPROTO_ROUTING, payload) {
            Ok(r) => r,
            Err(e) => {
                self.counters.bump("ba.drop.malformed");
                log::info!("dropped a routed packet from {from}: {e}");
                return;
            }
        };
        let MhRepr::Pba(ba) = &repr.mh else {
            self.counters.bump("ba.drop.not_a_ba");
            return;
        };
        if from != self.cfg.home_agent
            || repr.home != HomeAddressIn::Type2Routing(self.cfg.home_address)
        {
            self.counters.bump("ba.drop.not_from_home_agent");
            return;
        }
        let Some(p) = self.pending.clone() else {
            self.counters.bump("ba.drop.unexpected");
            return;
        };
        if ba.status == PbaStatus::SequenceNumberOutOfWindow {
            // 11.7.3: take the home agent's number and try again at once.
            log::info!(
                "BA status 135: the home agent last accepted seq {}; sending again past it",
                ba.sequence
            );
            self.sequence = ba.sequence;
            self.transmit(now, out);
            return;
        }
        if ba.sequence != p.sequence {
            self.counters.bump("ba.drop.old_sequence");
            return;
        }
        self.pending = None;
        if !ba.status.is_accepted() {
            self.counters.bump("ba.refused");
            log::warn!(
                "BA seq {} refused the registration of {}: status {} {}",
                ba.sequence,
                p.coa.addr(),
                u8::from(ba.status),
                ba.status
            );
            return;
        }
        self.counters.bump("ba.accepted");
        let took = (now - p.started).total_millis();
        let moved = self
            .moved_at
            .take()
            .map(|(_, at)| format!(", {} ms after the RA", (now - at).total_millis()));
        log::info!(
            "BA seq {} accepted: {} bound to care-of address {} for {} s ({took} ms after the first BU{})",
            ba.sequence,
            self.cfg.home_address,
            p.coa.addr(),
            ba.lifetime_secs,
            moved.unwrap_or_default()
        );
        let lifetime = Duration::from_secs(u64::from(ba.lifetime_secs.max(4)));
        if let Some(old) = self.bound.replace(Bound {
            coa: p.coa,
            refresh: now + lifetime * 3 / 4,
        }) && old.coa != p.coa
        {
            self.stale.push(old.coa);
        }
        for old in std::mem::take(&mut self.stale) {
            if old != p.coa {
                out.push(Action::RemoveAddress(old));
            }
        }
        for old in self.routers.iter().filter(|r| **r != p.router) {
            out.push(Action::ForgetRouter(*old));
        }
        self.routers.retain(|r| *r == p.router);
    }

    /// A packet the kernel routed into the TUN device: reverse-tunnelled to
    /// the home agent from the bound care-of address (RFC 6275 11.3.1).
    pub fn on_tun(&mut self, packet: &[u8], out: &mut Vec<Action>) {
        let from_home =
            Ipv6Packet::new_checked(packet).is_ok_and(|ip| ip.src_addr() == self.cfg.home_address);
        if !from_home {
            // The kernel's own chatter on tun0 (MLD, RS from a link-local).
            self.counters.bump("tun.drop.not_from_home_address");
            return;
        }
        let Some(coa) = self.care_of() else {
            self.counters.bump("tun.drop.no_binding");
            return;
        };
        let mut outer = std::mem::take(&mut self.out);
        match encapsulate(
            coa,
            self.cfg.home_agent,
            packet,
            DEFAULT_TUNNEL_HOP_LIMIT,
            self.cfg.link_mtu,
            &mut outer,
        ) {
            Ok(()) => {
                self.counters.bump("tunnel.encapsulated");
                out.push(Action::Send(outer.clone()));
            }
            Err(e) => {
                self.counters.bump("tun.drop.not_tunnelled");
                log::debug!("a packet from the home address was not tunnelled: {e}");
            }
        }
        self.out = outer;
    }

    /// What the raw socket of protocol 41 read: the inner packet (a raw
    /// socket strips the outer header) the home agent tunnelled.
    pub fn on_tunnelled(&mut self, from: Ipv6Addr, inner: &[u8], out: &mut Vec<Action>) {
        if from != self.cfg.home_agent {
            self.counters.bump("tunnel.drop.not_from_home_agent");
            return;
        }
        let to_home = Ipv6Packet::new_checked(inner).is_ok_and(|ip| {
            ip.dst_addr() == self.cfg.home_address && ip.total_len() == inner.len()
        });
        if !to_home {
            self.counters.bump("tunnel.drop.not_to_home_address");
            return;
        }
        self.counters.bump("tunnel.decapsulated");
        out.push(Action::ToTun(inner.to_vec()));
    }
}
