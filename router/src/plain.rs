//! A plain IPv6 router core: N ports, static prefixes per port, RAs on each, ND,
//! forwarding with hop-limit decrement and ICMPv6 errors. Nothing but the
//! [`Engine`] with static configuration: the first proof
//! that the data plane works, and the router of the first namespace test.

use crate::core::{Core, PortId, Rx, Tx};
use crate::counters::Counters;
use crate::ctl::{Request, Response};
use crate::engine::{Engine, EngineEvent, EnginePort};
use crate::engine_tables;
use crate::mac::Mac;
use crate::nd::{AdvertConfig, PrefixInfo, RaParams};
use crate::{Duration, Instant};
use ipnet::Ipv6Net;

/// One port of the plain router.
#[derive(Debug, Clone)]
pub struct PortConfig {
    pub mac: Mac,
    pub mtu: usize,
    /// On-link prefixes advertised in RAs on this port (the router takes ::1 in each).
    pub prefixes: Vec<Ipv6Net>,
}

#[derive(Debug, Clone)]
pub struct PlainConfig {
    pub name: String,
    pub ports: Vec<PortConfig>,
    /// Longest interval between unsolicited multicast RAs (the shortest is 3/4 of it).
    pub ra_interval: Duration,
}

pub struct PlainRouter {
    name: String,
    engine: Engine,
}

/// The router's own address in an on-link prefix: the first host (`prefix::1`).
pub fn router_address(prefix: &Ipv6Net) -> Option<Ipv6Net> {
    let first = u128::from(prefix.network()).checked_add(1)?;
    Ipv6Net::new(first.into(), prefix.prefix_len()).ok()
}

/// RA configuration advertising `prefixes` on a link of `mtu` every `interval` at most.
pub fn advert(prefixes: &[Ipv6Net], mtu: usize, interval: Duration) -> AdvertConfig {
    AdvertConfig {
        params: RaParams {
            cur_hop_limit: 64,
            managed: false,
            other: false,
            router_lifetime: 1800,
            reachable_time: 0,
            retrans_timer: 0,
            mtu: u32::try_from(mtu).ok(),
            prefixes: prefixes
                .iter()
                .map(|p| PrefixInfo {
                    prefix: *p,
                    on_link: true,
                    autonomous: p.prefix_len() == 64,
                    valid_lifetime: 86_400,
                    preferred_lifetime: 14_400,
                })
                .collect(),
        },
        min_interval: interval * 3 / 4,
        max_interval: interval,
    }
}

impl PlainRouter {
    pub fn new(cfg: PlainConfig, now: Instant) -> Self {
        let ports = cfg
            .ports
            .iter()
            .map(|p| {
                let mut port = EnginePort::new(p.mac);
                port.mtu = p.mtu;
                port.addresses = p.prefixes.iter().filter_map(router_address).collect();
                port.advertise = Some(advert(&p.prefixes, p.mtu, cfg.ra_interval));
                port.answer_rs = true;
                port
            })
            .collect();
        PlainRouter {
            name: cfg.name,
            engine: Engine::new(ports, now),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn counters(&self) -> Counters {
        self.engine.all_counters()
    }
}

impl PlainRouter {
    fn on_event(&mut self, event: Option<EngineEvent<'_>>) {
        match event {
            Some(EngineEvent::Local { .. } | EngineEvent::Local4 { .. }) => {
                self.engine.counters.bump("drop.no_local_service")
            }
            Some(EngineEvent::Nd { port, event }) => {
                log::debug!("port {port}: {event:?}")
            }
            Some(EngineEvent::Arp { port, event }) => {
                log::debug!("port {port}: {event:?}")
            }
            None => {}
        }
    }
}

impl Core for PlainRouter {
    fn on_frame(&mut self, now: Instant, port: PortId, frame: &[u8], tx: &mut dyn Tx) {
        let event = self.engine.on_frame(now, port, frame, tx);
        self.on_event(event);
    }

    /// Superframes are forwarded whole ([`Engine::on_rx`]).
    fn on_rx(&mut self, now: Instant, port: PortId, rx: Rx<'_>, tx: &mut dyn Tx) {
        let event = self.engine.on_rx(now, port, rx, tx);
        self.on_event(event);
    }

    fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) {
        for (port, event) in self.engine.on_timer(now, tx) {
            log::debug!("port {port}: {event:?}");
        }
        for (port, event) in self.engine.take_arp_events() {
            log::debug!("port {port}: {event:?}");
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        self.engine.poll_at()
    }

    fn control(&mut self, _now: Instant, request: &Request, _tx: &mut dyn Tx) -> Response {
        match request {
            Request::Bindings {} => Response::error("bindings: a plain router has none"),
            other => engine_tables::answer(&self.engine, &self.counters(), other),
        }
    }
}
