//! The home agent of Mobile IPv6 (RFC 6275 sections 9 and 10), the baseline
//! the paper compares PMIPv6 with: a core without I/O over the shared
//! forwarding engine, run by `lma home-agent`.
//!
//! - [`cache`]: the Binding Cache, keyed by home address.
//! - `check`: what a Binding Update may do, decided before anything changes.
//! - `registration`: the changes (the tunnel to the care-of address) and the
//!   Binding Acknowledgement.
//! - [`ctl`]: the control-socket tables.
//!
//! The home network is virtual here: the home agent owns the home prefixes,
//! every packet to a registered home address goes into the IPv6-in-IPv6
//! tunnel to its care-of address (10.4.1), and what comes out of the tunnel
//! is forwarded from the home address (10.4.5). With no home link there is
//! no one to defend a home address against, so no proxy Neighbor Discovery.
//! Binding Updates are not protected (no IPsec, no RFC 4285 option): the
//! paper's testbed protected nothing either.

pub mod cache;
mod check;
pub mod ctl;
mod registration;

use cache::HomeBindings;
use ipnet::Ipv6Net;
use router::core::{Core, PortId, Tx};
use router::counters::Counters;
use router::ctl::{Request, Response};
use router::engine::{Engine, EngineEvent, EnginePort};
use router::fib::NextHop;
use router::policy::Policy;
use router::routes::RouteTable;
use router::timer::TimerQueue;
use router::{Duration, Instant};
use std::net::{IpAddr, Ipv6Addr};

#[derive(Debug, Clone)]
pub struct HomeAgentConfig {
    pub name: String,
    pub ports: Vec<EnginePort>,
    /// The home agent address mobile nodes register with (in a home prefix).
    pub address: Ipv6Addr,
    /// The home subnet prefixes: home addresses outside them are refused
    /// with status 132 (RFC 6275 10.3.1).
    pub home_prefixes: Vec<Ipv6Net>,
    /// Which node owns which home address: the home prefixes (`hnps`) of its entry.
    pub policy: Policy,
    /// Static routes `prefix via gateway`, the gateway on one of the ports'
    /// links (the access routers' prefixes, behind them).
    pub routes: Vec<(Ipv6Net, Ipv6Addr)>,
    /// Longest lifetime granted, in seconds.
    pub max_lifetime_secs: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum HomeAgentError {
    #[error("route {prefix} via {gateway}: the gateway is on none of the ports' links")]
    GatewayOffLink { prefix: Ipv6Net, gateway: Ipv6Addr },
    #[error("home agent address {0}: not in any home prefix")]
    AddressOutsideHome(Ipv6Addr),
}

pub struct HomeAgent {
    name: String,
    address: Ipv6Addr,
    home_prefixes: Vec<Ipv6Net>,
    policy: Policy,
    max_lifetime_secs: u32,
    engine: Engine,
    cache: HomeBindings,
    /// Lifetime end of each binding, by home address.
    timers: TimerQueue<Ipv6Addr>,
    counters: Counters,
}

impl HomeAgent {
    pub fn new(cfg: HomeAgentConfig, now: Instant) -> Result<Self, HomeAgentError> {
        if !cfg.home_prefixes.iter().any(|p| p.contains(&cfg.address)) {
            return Err(HomeAgentError::AddressOutsideHome(cfg.address));
        }
        let mut engine = Engine::new(cfg.ports, now);
        engine.add_local(cfg.address);
        for (prefix, gateway) in &cfg.routes {
            let Some(NextHop::Connected { port }) =
                engine.routes().lookup(RouteTable::Destination, *gateway)
            else {
                return Err(HomeAgentError::GatewayOffLink {
                    prefix: *prefix,
                    gateway: *gateway,
                });
            };
            engine.routes_mut().via(*prefix, port, IpAddr::V6(*gateway));
        }
        Ok(HomeAgent {
            name: cfg.name,
            address: cfg.address,
            home_prefixes: cfg.home_prefixes,
            policy: cfg.policy,
            max_lifetime_secs: cfg.max_lifetime_secs,
            engine,
            cache: HomeBindings::default(),
            timers: TimerQueue::new(),
            counters: Counters::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn bindings(&self) -> &HomeBindings {
        &self.cache
    }

    /// Engine, ND and home agent counters together.
    pub fn counters(&self) -> Counters {
        let mut all = self.engine.all_counters();
        for (name, value) in self.counters.iter() {
            all.add(name, value);
        }
        all
    }

    pub fn sizes(&self) -> [(&'static str, usize); 2] {
        [
            ("bindings", self.cache.len()),
            ("timers", self.timers.len()),
        ]
    }

    /// A packet addressed to the home agent: Mobility Headers to
    /// `registration`, ICMPv6 errors counted (a mobile node whose kernel has
    /// no Mobile IPv6 refuses the Type 2 Routing Header of every BA with a
    /// Parameter Problem), the rest dropped.
    fn on_local(&mut self, now: Instant, packet: &[u8], tx: &mut dyn Tx) {
        let icmp_error = smoltcp::wire::Ipv6Packet::new_checked(packet).is_ok_and(|ip| {
            ip.next_header() == smoltcp::wire::IpProtocol::Icmpv6
                && ip.payload().first().is_some_and(|t| *t < 128)
        });
        if icmp_error {
            self.counters.bump("icmp.errors_received");
            return;
        }
        self.on_mobility(now, packet, tx);
    }

    fn expire(&mut self, now: Instant, hoa: Ipv6Addr) {
        if let Some(b) = self.cache.get(&hoa)
            && b.expires <= now
        {
            log::info!(
                "binding of {hoa} ({}) to {} expired after {} s (RFC 6275 10.3.1)",
                b.mn_id,
                b.care_of,
                b.lifetime_secs
            );
            self.remove(hoa);
            self.counters.bump("bindings.expired");
        }
    }
}

impl Core for HomeAgent {
    fn on_frame(&mut self, now: Instant, port: PortId, frame: &[u8], tx: &mut dyn Tx) {
        match self.engine.on_frame(now, port, frame, tx) {
            Some(EngineEvent::Local { packet, .. }) => self.on_local(now, packet, tx),
            // IPv6-only (the MIPv6 baseline): no IPv4 service here.
            Some(EngineEvent::Local4 { .. }) => self.engine.counters.bump("drop.no_local_service"),
            Some(EngineEvent::Arp { port, event }) => log::debug!("port {port}: {event:?}"),
            Some(EngineEvent::Nd { port, event }) => log::debug!("port {port}: {event:?}"),
            None => {}
        }
    }

    fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) {
        for (port, event) in self.engine.on_timer(now, tx) {
            log::debug!("port {port}: {event:?}");
        }
        for (port, event) in self.engine.take_arp_events() {
            log::debug!("port {port}: {event:?}");
        }
        while let Some(hoa) = self.timers.pop_due(now) {
            self.expire(now, hoa);
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        [self.engine.poll_at(), self.timers.peek_at()]
            .into_iter()
            .flatten()
            .min()
    }

    fn control(&mut self, now: Instant, request: &Request, _tx: &mut dyn Tx) -> Response {
        ctl::answer(self, now, request)
    }
}

/// The lifetime of a binding as a deadline.
fn deadline(now: Instant, lifetime_secs: u32) -> Instant {
    now + Duration::from_secs(u64::from(lifetime_secs))
}
