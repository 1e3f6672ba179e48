//! The MAG core's test bench: a MAG with its LMA and nodes simulated around
//! it on a fake clock.
#![allow(dead_code, unused_imports)]
pub use ipnet::Ipv6Net;
pub use mag::access::{FIXED_LINK_LOCAL, FIXED_MAC};
pub use mag::bul::BindingState;
pub use mag::{AccessConfig, DetectConfig, Mag, MagConfig, UPLINK, UplinkConfig};
pub use router::auth::{Algorithm, Key, KeyRing, Signalling, sealed_packet};
pub use router::core::{Core, PortId, Sent};
pub use router::ctl::Request;
pub use router::fib::NextHop;
pub use router::mac::Mac;
pub use router::nd::PrefixInfo;
pub use router::nd::frames::{
    Addressing, NaFlags, NdFrame, NdMessage, build_na, build_ns, build_rs, ethernet_ipv6,
    multicast_mac, solicited_node,
};
pub use router::policy::Policy;
pub use router::routes::RouteTable;
pub use router::timestamp::WallClock;
pub use router::wire::{
    AccessTechnologyType, HandoffIndicator, MhPacket, MhRepr, MobilityOptions, PbaRepr, PbaStatus,
    PbuRepr, mh_ipv6_packet,
};
pub use router::{Duration, Instant};
pub use smoltcp::wire::{EthernetFrame, IpProtocol, Ipv6Packet, Ipv6Repr};
pub use std::collections::HashMap;
pub use std::net::{Ipv6Addr, SocketAddr};

pub const UPLINK_MAC: Mac = Mac([0x02, 0x7a, 0x6d, 0, 0, 1]);
pub const LMA_MAC: Mac = Mac([0x02, 0x4c, 0x4d, 0, 0, 1]);
pub const VM1: Mac = Mac([0x52, 0x54, 0, 0xaa, 0, 1]);
pub const VM2: Mac = Mac([0x52, 0x54, 0, 0xaa, 0, 2]);
pub const STRANGER: Mac = Mac([0x52, 0x54, 0, 0xbb, 0, 9]);
pub const ACCESS: PortId = 1;

pub const POLICY: &str = r#"
[[mag]]
name = "mag1"
address = "2001:db8:ff:1::2"

[[node]]
mn_id = "vm1@tapmip"
mac = "52:54:00:aa:00:01"
hnps = ["2001:db8:1:1::/64"]

[[node]]
mn_id = "vm2@tapmip"
mac = "52:54:00:aa:00:02"
hnps = ["2001:db8:1:2::/64"]
"#;

pub fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

pub fn net(s: &str) -> Ipv6Net {
    s.parse().unwrap()
}

pub fn t(ms: i64) -> Instant {
    Instant::from_millis(ms)
}

pub fn pcoa() -> Ipv6Addr {
    ip("2001:db8:ff:1::2")
}

pub fn lmaa() -> Ipv6Addr {
    ip("2001:db8:ff:1::1")
}

/// The key MAG1 shares with its LMA.
pub const SPI: u32 = 0x101;

pub fn key(spi: u32) -> Key {
    Key::new(spi, Algorithm::HmacSha256, &[(spi >> 8) as u8; 32]).unwrap()
}

pub fn keys(spis: &[u32]) -> KeyRing {
    let mut ring = KeyRing::new();
    for spi in spis {
        ring.insert(lmaa(), key(*spi));
    }
    ring
}

pub fn config() -> MagConfig {
    let uplink = UplinkConfig {
        mac: UPLINK_MAC,
        mtu: 1500,
        proxy_coa: net("2001:db8:ff:1::2/64"),
    };
    let access = vec![AccessConfig {
        mac: FIXED_MAC,
        link_local: FIXED_LINK_LOCAL,
        mtu: 1500,
    }];
    let mut cfg = MagConfig::new("mag1", uplink, access, lmaa());
    cfg.ra_interval = Duration::from_secs(10);
    cfg.lifetime = 100;
    cfg.epoch = WallClock::from_secs(1_700_000_000);
    cfg.signalling = Signalling::Authenticated(keys(&[SPI]));
    cfg
}

pub type Out = Vec<(PortId, Vec<u8>)>;

/// A MAG with its LMA and nodes simulated around it: NS for the LMA and for the
/// addresses in `answers` are answered, everything else is returned.
pub struct Lab {
    pub mag: Mag,
    pub answers: HashMap<Ipv6Addr, Mac>,
    /// Datagrams the MAG sent (RADIUS), oldest first.
    pub datagrams: Vec<(SocketAddr, Vec<u8>)>,
}

impl Lab {
    pub fn new(cfg: MagConfig) -> Lab {
        let policy = Policy::parse(POLICY, "policy.toml").unwrap();
        Lab {
            mag: Mag::new(cfg, policy, t(0)),
            answers: HashMap::new(),
            datagrams: Vec::new(),
        }
    }

    pub fn default() -> Lab {
        Lab::new(config())
    }

    pub fn feed(&mut self, now: Instant, port: PortId, frame: &[u8]) -> Out {
        let mut sent = Sent::default();
        self.mag.on_frame(now, port, frame, &mut sent);
        self.settle_sent(now, sent)
    }

    pub fn tick(&mut self, now: Instant) -> Out {
        let mut sent = Sent::default();
        self.mag.on_timer(now, &mut sent);
        self.settle_sent(now, sent)
    }

    /// A datagram (a RADIUS answer) from `from`.
    pub fn datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) -> Out {
        let mut sent = Sent::default();
        self.mag.on_datagram(now, from, datagram, &mut sent);
        self.settle_sent(now, sent)
    }

    fn settle_sent(&mut self, now: Instant, sent: Sent) -> Out {
        self.datagrams.extend(sent.datagrams);
        self.settle(now, sent.frames)
    }

    /// Runs every timer up to `until`, collecting what leaves with its time.
    pub fn run_until(&mut self, until: Instant) -> Vec<(Instant, PortId, Vec<u8>)> {
        let mut all = Vec::new();
        while let Some(at) = self.mag.poll_at().filter(|at| *at <= until) {
            all.extend(self.tick(at).into_iter().map(|(p, f)| (at, p, f)));
        }
        all
    }

    pub fn settle(&mut self, now: Instant, mut out: Out) -> Out {
        let mut delivered = Out::new();
        while let Some((port, frame)) = out.pop() {
            let ns = match NdFrame::parse(&frame) {
                Ok(NdFrame {
                    addr,
                    message: NdMessage::NeighborSolicit { target, .. },
                }) if !addr.src_ip.is_unspecified() => Some((addr, target)),
                _ => None,
            };
            let answer = ns.and_then(|(addr, target)| {
                let mac = if port == UPLINK && target == lmaa() {
                    Some(LMA_MAC)
                } else {
                    self.answers.get(&target).copied()
                };
                mac.map(|mac| (addr, target, mac))
            });
            match answer {
                Some((addr, target, mac)) => {
                    let na = build_na(
                        &Addressing {
                            src_mac: mac,
                            dst_mac: addr.src_mac,
                            src_ip: target,
                            dst_ip: addr.src_ip,
                        },
                        target,
                        NaFlags {
                            router: false,
                            solicited: true,
                            override_: true,
                        },
                        Some(mac),
                    );
                    self.mag.on_frame(now, port, &na, &mut out);
                }
                None => delivered.push((port, frame)),
            }
        }
        delivered
    }

    pub fn rs(&mut self, now: Instant, mac: Mac, ll: &str) -> Out {
        self.answers.insert(ip(ll), mac);
        let rs = build_rs(&Addressing {
            src_mac: mac,
            dst_mac: multicast_mac(ip("ff02::2")),
            src_ip: ip(ll),
            dst_ip: ip("ff02::2"),
        });
        self.feed(now, ACCESS, &rs)
    }

    pub fn pba(&mut self, now: Instant, pbu: &PbuRepr, status: PbaStatus, hnp: &str) -> Out {
        self.pba_repr(now, answer(pbu, status, hnp))
    }

    /// The LMA's PBA, authenticated with the shared key.
    pub fn pba_repr(&mut self, now: Instant, repr: PbaRepr) -> Out {
        let packet = sealed_packet(&key(SPI), lmaa(), pcoa(), 64, MhRepr::Pba(repr));
        self.deliver_from_lma(now, &packet)
    }

    pub fn deliver_from_lma(&mut self, now: Instant, packet: &[u8]) -> Out {
        let frame = ethernet_ipv6(LMA_MAC, UPLINK_MAC, packet);
        self.feed(now, UPLINK, &frame)
    }

    /// RS from `mac`, then the LMA accepts with `hnp`; returns the RA frames.
    pub fn register(&mut self, now: Instant, mac: Mac, ll: &str, hnp: &str) -> Out {
        let out = self.rs(now, mac, ll);
        let pbu = only_pbu(&out);
        self.pba(now, &pbu, PbaStatus::Accepted, hnp)
    }
}

/// The PBUs in `out`, checked to go from the Proxy-CoA to the LMA's MAC and address.
pub fn pbus(out: &[(PortId, Vec<u8>)]) -> Vec<PbuRepr> {
    out.iter()
        .filter(|(p, _)| *p == UPLINK)
        .filter_map(|(_, f)| {
            let eth = EthernetFrame::new_checked(&f[..]).unwrap();
            let ipp = Ipv6Packet::new_checked(eth.payload()).unwrap();
            if ipp.next_header() != IpProtocol::Unknown(135) {
                return None;
            }
            assert_eq!(Mac::from(eth.dst_addr()), LMA_MAC);
            assert_eq!((ipp.src_addr(), ipp.dst_addr()), (pcoa(), lmaa()));
            let mh = MhPacket::new_checked(ipp.payload()).unwrap();
            match MhRepr::parse(&mh, &ipp.src_addr(), &ipp.dst_addr()).unwrap() {
                MhRepr::Pbu(pbu) => {
                    signed_with(&ipp);
                    Some(pbu)
                }
                MhRepr::Pba(_) => panic!("a MAG sends no PBA"),
                MhRepr::Heartbeat(_) | MhRepr::BindingError(_) => None,
            }
        })
        .collect()
}

/// The LMA's answer to `pbu`, not yet authenticated: the PBU's identifiers
/// mirrored, `hnp` given.
pub fn answer(pbu: &PbuRepr, status: PbaStatus, hnp: &str) -> PbaRepr {
    PbaRepr {
        status,
        key_mgmt: false,
        mobile_router: false,
        proxy: true,
        sequence: pbu.sequence,
        lifetime_secs: pbu.lifetime_secs,
        options: MobilityOptions {
            mn_id: pbu.options.mn_id.clone(),
            hnps: vec![net(hnp)],
            handoff_indicator: pbu.options.handoff_indicator,
            access_technology: pbu.options.access_technology,
            mn_link_layer_id: pbu.options.mn_link_layer_id.clone(),
            timestamp: pbu.options.timestamp,
            ..MobilityOptions::default()
        },
    }
}

/// The SPI a message of the MAG was authenticated with, checked against the
/// keys of these tests (SPI and 0x102, a rollover's).
pub fn signed_with(ipp: &Ipv6Packet<&[u8]>) -> u32 {
    let keys = [key(SPI), key(0x102)];
    router::auth::message::verify(ipp.src_addr(), ipp.dst_addr(), ipp.payload(), |spi| {
        keys.iter().find(|k| k.spi() == spi)
    })
    .unwrap_or_else(|e| panic!("the MAG's message is not authenticated: {e}"))
    .spi()
}

/// The SPIs of the MAG's Mobility Headers in `out`.
pub fn spis(out: &[(PortId, Vec<u8>)]) -> Vec<u32> {
    out.iter()
        .filter(|(p, _)| *p == UPLINK)
        .filter_map(|(_, f)| {
            let eth = EthernetFrame::new_checked(&f[..]).ok()?;
            let ipp = Ipv6Packet::new_checked(eth.payload()).ok()?;
            (ipp.next_header() == IpProtocol::Unknown(135)).then(|| signed_with(&ipp))
        })
        .collect()
}

pub fn only_pbu(out: &[(PortId, Vec<u8>)]) -> PbuRepr {
    let all = pbus(out);
    assert_eq!(all.len(), 1, "{all:?}");
    all.into_iter().next().unwrap()
}

/// RAs in `out`: (Ethernet dst, IP dst, prefixes), checked to come from the fixed
/// MAG addresses on the access link.
pub fn ras(out: &[(PortId, Vec<u8>)]) -> Vec<(Mac, Ipv6Addr, Vec<PrefixInfo>)> {
    out.iter()
        .filter_map(|(p, f)| match NdFrame::parse(f) {
            Ok(NdFrame {
                addr,
                message: NdMessage::RouterAdvert { params, .. },
            }) => {
                assert_eq!(*p, ACCESS);
                assert_eq!((addr.src_mac, addr.src_ip), (FIXED_MAC, FIXED_LINK_LOCAL));
                Some((addr.dst_mac, addr.dst_ip, params.prefixes))
            }
            _ => None,
        })
        .collect()
}

pub fn handoff(pbu: &PbuRepr) -> HandoffIndicator {
    pbu.options.handoff_indicator.unwrap()
}

pub fn udp(src: &str, dst: &str, len: usize) -> Vec<u8> {
    let mut buf = vec![0x5a; 40 + len];
    Ipv6Repr {
        src_addr: ip(src),
        dst_addr: ip(dst),
        next_header: IpProtocol::Udp,
        payload_len: len,
        hop_limit: 64,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
    buf
}

pub fn counter(lab: &Lab, name: &str) -> u64 {
    lab.mag.counters().get(name)
}
