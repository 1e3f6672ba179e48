//! A plain access router, what the MAGs become in the paper's Mobile IPv6
//! comparison (radvd on the same hosts): its own prefix on each access link,
//! periodic Router Advertisements at the short intervals RFC 6275 7.5 allows
//! for links with mobile nodes, its own link-local address, a default route
//! to the home agent's side, and no PMIPv6 at all. A node that moves here sees
//! a new router and a new prefix, so it configures a new care-of address
//! (with DAD) and registers it with its home agent itself.

use ipnet::Ipv6Net;
use router::core::{Core, PortId, Tx};
use router::counters::Counters;
use router::ctl::{Request, Response, Table};
use router::engine::{Engine, EngineEvent, EnginePort};
use router::engine_tables;
use router::mac::Mac;
use router::plain::{advert, router_address};
use router::{Duration, Instant};
use std::net::{IpAddr, Ipv6Addr};

/// The uplink is port 0, the access links follow.
pub const UPLINK: PortId = 0;

/// One access link: its prefix (the router takes `prefix::1`) and MAC (the
/// link-local address derives from it).
#[derive(Debug, Clone)]
pub struct AccessLink {
    pub mac: Mac,
    pub prefix: Ipv6Net,
    pub mtu: usize,
}

#[derive(Debug, Clone)]
pub struct AccessRouterConfig {
    pub name: String,
    pub uplink_mac: Mac,
    pub uplink_mtu: usize,
    /// The router's address on the uplink, with its on-link prefix.
    pub uplink_address: Ipv6Net,
    /// Default router on the uplink.
    pub gateway: Ipv6Addr,
    pub access: Vec<AccessLink>,
    /// MinRtrAdvInterval and MaxRtrAdvInterval (RFC 4861 6.2.1; RFC 6275 7.5
    /// lowers them to 30 and 70 ms).
    pub ra_min_interval: Duration,
    pub ra_max_interval: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum AccessRouterError {
    #[error("gateway {gateway} is not on the uplink's prefix {prefix}")]
    GatewayOffLink { gateway: Ipv6Addr, prefix: Ipv6Net },
    #[error("access prefix {0}: no room for the router's own ::1")]
    NoRouterAddress(Ipv6Net),
    #[error(
        "RA intervals: min {min_ms} ms must be at least 30 ms and at most max {max_ms} ms (RFC 6275 7.5)"
    )]
    Intervals { min_ms: i64, max_ms: i64 },
}

pub struct AccessRouter {
    name: String,
    prefixes: Vec<Ipv6Net>,
    interval: (Duration, Duration),
    engine: Engine,
}

const MIN_RA_INTERVAL: Duration = Duration::from_millis(30);

impl AccessRouter {
    pub fn new(cfg: AccessRouterConfig, now: Instant) -> Result<Self, AccessRouterError> {
        if cfg.ra_min_interval < MIN_RA_INTERVAL || cfg.ra_min_interval > cfg.ra_max_interval {
            return Err(AccessRouterError::Intervals {
                min_ms: cfg.ra_min_interval.total_millis() as i64,
                max_ms: cfg.ra_max_interval.total_millis() as i64,
            });
        }
        if !cfg.uplink_address.contains(&cfg.gateway) {
            return Err(AccessRouterError::GatewayOffLink {
                gateway: cfg.gateway,
                prefix: cfg.uplink_address.trunc(),
            });
        }
        let mut uplink = EnginePort::new(cfg.uplink_mac);
        uplink.mtu = cfg.uplink_mtu;
        uplink.addresses = vec![cfg.uplink_address];
        let mut ports = vec![uplink];
        for link in &cfg.access {
            let own = router_address(&link.prefix)
                .ok_or(AccessRouterError::NoRouterAddress(link.prefix))?;
            let mut port = EnginePort::new(link.mac);
            port.mtu = link.mtu;
            port.addresses = vec![own];
            let mut adv = advert(&[link.prefix], link.mtu, cfg.ra_max_interval);
            adv.min_interval = cfg.ra_min_interval;
            port.advertise = Some(adv);
            port.answer_rs = true;
            ports.push(port);
        }
        let mut engine = Engine::new(ports, now);
        let default: Ipv6Net = "::/0".parse().unwrap_or_default();
        engine
            .routes_mut()
            .via(default, UPLINK, IpAddr::V6(cfg.gateway));
        Ok(AccessRouter {
            name: cfg.name,
            prefixes: cfg.access.iter().map(|a| a.prefix).collect(),
            interval: (cfg.ra_min_interval, cfg.ra_max_interval),
            engine,
        })
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

    /// What the access links advertise: the table a MAG answers `bindings` with.
    pub fn links(&self) -> Table {
        let mut t = Table::new(
            "access links",
            &["port", "prefix", "router", "ra_interval_ms", "neighbors"],
        );
        for (i, prefix) in self.prefixes.iter().enumerate() {
            let port = i + 1;
            let neighbors = self.engine.nd(port).map_or(0, |nd| nd.neighbors().count());
            t.row(vec![
                port.to_string(),
                prefix.to_string(),
                self.engine
                    .link_local(port)
                    .map_or("-".into(), |a| a.to_string()),
                format!(
                    "{}-{}",
                    self.interval.0.total_millis(),
                    self.interval.1.total_millis()
                ),
                neighbors.to_string(),
            ]);
        }
        t
    }
}

impl Core for AccessRouter {
    fn on_frame(&mut self, now: Instant, port: PortId, frame: &[u8], tx: &mut dyn Tx) {
        match self.engine.on_frame(now, port, frame, tx) {
            Some(EngineEvent::Local { .. }) => self.engine.counters.bump("drop.no_local_service"),
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
    }

    fn poll_at(&self) -> Option<Instant> {
        self.engine.poll_at()
    }

    fn control(&mut self, _now: Instant, request: &Request, _tx: &mut dyn Tx) -> Response {
        match request {
            Request::Bindings {} => Response::tables(vec![self.links()]),
            Request::Status {} => {
                let engine = engine_tables::status(&self.engine, &self.counters());
                Response::tables([vec![self.links()], engine].concat())
            }
            other => engine_tables::answer(&self.engine, &self.counters(), other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use router::nd::frames::{NdFrame, NdMessage};

    fn config() -> AccessRouterConfig {
        AccessRouterConfig {
            name: "ar2".into(),
            uplink_mac: Mac([0x02, 0x61, 0, 0, 2, 0]),
            uplink_mtu: 1500,
            uplink_address: "2001:db8:ff:2::2/64".parse().unwrap(),
            gateway: "2001:db8:ff:2::1".parse().unwrap(),
            access: vec![AccessLink {
                mac: Mac([0x02, 0x61, 0, 0, 2, 1]),
                prefix: "2001:db8:a:2::/64".parse().unwrap(),
                mtu: 1500,
            }],
            ra_min_interval: Duration::from_millis(70),
            ra_max_interval: Duration::from_millis(70),
        }
    }

    #[test]
    fn advertises_its_own_prefix_every_70_ms_from_its_own_link_local() {
        let mut ar = AccessRouter::new(config(), Instant::from_millis(0)).unwrap();
        let mut ras = Vec::new();
        for ms in (0..=1000).step_by(5) {
            let mut out: Vec<(PortId, Vec<u8>)> = Vec::new();
            ar.on_timer(Instant::from_millis(ms), &mut out);
            for (port, frame) in out {
                if let Ok(NdFrame {
                    addr,
                    message: NdMessage::RouterAdvert { params, .. },
                }) = NdFrame::parse(&frame)
                {
                    assert_eq!(port, 1);
                    assert_eq!(
                        addr.src_ip,
                        "fe80::61:ff:fe00:201".parse::<Ipv6Addr>().unwrap()
                    );
                    assert_eq!(params.prefixes[0].prefix.to_string(), "2001:db8:a:2::/64");
                    ras.push(ms);
                }
            }
        }
        // Every 70 ms, from the start: 15 RAs in a second.
        assert_eq!(ras.len(), 15, "{ras:?}");
        assert!(ras.windows(2).all(|w| w[1] - w[0] == 70), "{ras:?}");
        let default = ar.engine().routes().lookup(
            router::routes::RouteTable::Destination,
            "2001:db8:1::1".parse::<Ipv6Addr>().unwrap(),
        );
        assert!(matches!(
            default,
            Some(router::fib::NextHop::Gateway { port: 0, .. })
        ));
    }

    #[test]
    fn refuses_intervals_below_rfc_6275_and_an_off_link_gateway() {
        let mut fast = config();
        fast.ra_min_interval = Duration::from_millis(10);
        assert!(AccessRouter::new(fast, Instant::from_millis(0)).is_err());
        let mut far = config();
        far.gateway = "2001:db8:ff:9::1".parse().unwrap();
        assert!(AccessRouter::new(far, Instant::from_millis(0)).is_err());
    }
}
