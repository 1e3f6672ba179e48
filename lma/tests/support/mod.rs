//! The LMA core's test bench: a lab of two MAGs and a client on a fake clock,
//! PBUs in, PBAs and frames out, NS answered for every neighbor.
#![allow(dead_code, unused_imports)]

pub use ipnet::Ipv6Net;
pub use lma::binding_cache::BindingState;
pub use lma::{Lma, LmaConfig, Ordering};
pub use router::Instant;
pub use router::auth::{Algorithm, Key, KeyRing, Signalling, sealed_packet};
pub use router::core::{Core, PortId};
pub use router::ctl::Request;
pub use router::engine::EnginePort;
pub use router::fib::NextHop;
pub use router::mac::Mac;
pub use router::nd::frames::{Addressing, NaFlags, NdFrame, NdMessage, build_na, ethernet_ipv6};
pub use router::policy::Policy;
pub use router::routes::RouteTable;
pub use router::timestamp::{WallClock, timestamp};
pub use router::tunnel::encapsulate;
pub use router::wire::{
    AccessTechnologyType, HandoffIndicator, MhPacket, MhRepr, MobilityOptions, PbaRepr, PbaStatus,
    PbuRepr, mh_ipv6_packet,
};
pub use smoltcp::wire::{EthernetFrame, IpProtocol, Ipv6Packet, Ipv6Repr};
pub use std::net::Ipv6Addr;

pub const EPOCH: WallClock = WallClock::from_secs(1_700_000_000);
pub const LMA_MACS: [Mac; 3] = [
    Mac([0x02, 0x4c, 0, 0, 0, 0x00]),
    Mac([0x02, 0x4c, 0, 0, 0, 0x01]),
    Mac([0x02, 0x4c, 0, 0, 0, 0x02]),
];
pub const CLIENT_MAC: Mac = Mac([0x52, 0x54, 0, 0, 0xc, 0x01]);
pub const VM01_MAC: [u8; 6] = [0x52, 0x54, 0, 0xaa, 0, 0x01];
pub const CORE: PortId = 0;

pub fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

pub fn net(s: &str) -> Ipv6Net {
    s.parse().unwrap()
}

pub fn t(ms: i64) -> Instant {
    Instant::from_millis(ms)
}

pub fn ts(ms: i64) -> u64 {
    timestamp(EPOCH, t(ms))
}

/// A MAG of the lab: its WAN port on the LMA, its Proxy-CoA, the LMA's address
/// there, and the SPI of the key it shares with the LMA.
#[derive(Clone, Copy)]
pub struct Mag {
    pub port: PortId,
    pub mac: Mac,
    pub addr: &'static str,
    pub lma: &'static str,
    pub spi: u32,
}

impl Mag {
    pub fn key(&self) -> Key {
        key(self.spi)
    }
}

/// The key of an SPI: 32 octets of the SPI's second octet.
pub fn key(spi: u32) -> Key {
    Key::new(spi, Algorithm::HmacSha256, &[(spi >> 8) as u8; 32]).unwrap()
}

pub const MAG1: Mag = Mag {
    port: 1,
    mac: Mac([0x02, 0x6d, 0, 0, 0, 0x01]),
    addr: "2001:db8:ff:1::2",
    lma: "2001:db8:ff:1::1",
    spi: 0x101,
};
pub const MAG2: Mag = Mag {
    port: 2,
    mac: Mac([0x02, 0x6d, 0, 0, 0, 0x02]),
    addr: "2001:db8:ff:2::2",
    lma: "2001:db8:ff:2::1",
    spi: 0x201,
};
/// On wan1, sharing a key with the LMA, but not in the policy.
pub const ROGUE: Mag = Mag {
    port: 1,
    mac: Mac([0x02, 0x6d, 0, 0, 0, 0x09]),
    addr: "2001:db8:ff:1::9",
    lma: "2001:db8:ff:1::1",
    spi: 0x901,
};
/// On wan1 with no key the LMA knows.
pub const STRANGER: Mag = Mag {
    port: 1,
    mac: Mac([0x02, 0x6d, 0, 0, 0, 0x0a]),
    addr: "2001:db8:ff:1::a",
    lma: "2001:db8:ff:1::1",
    spi: 0xa01,
};

pub fn keys(mags: &[Mag]) -> KeyRing {
    let mut ring = KeyRing::new();
    for m in mags {
        ring.insert(ip(m.addr), m.key());
    }
    ring
}

pub fn policy() -> Policy {
    let extra = r#"
[[node]]
mn_id = "vm03@tapmip"
mac = "52:54:00:aa:00:03"
pool = "vms"

[[node]]
mn_id = "vm04@tapmip"
mac = "52:54:00:aa:00:04"
hnps = ["2001:db8:1:4::/64"]
mags = ["mag1"]

[[node]]
mn_id = "vm05@tapmip"
mac = "52:54:00:aa:00:05"
hnps = ["2001:db8:5:1::/64", "2001:db8:5:2::/64"]
"#;
    let text = format!("{}{extra}", include_str!("../../examples/policy.toml"));
    Policy::parse(&text, "policy.toml").unwrap()
}

pub fn config() -> LmaConfig {
    let addrs = [
        "2001:db8:c::1/64",
        "2001:db8:ff:1::1/64",
        "2001:db8:ff:2::1/64",
    ];
    let ports = LMA_MACS
        .iter()
        .zip(addrs)
        .map(|(mac, a)| {
            let mut p = EnginePort::new(*mac);
            p.addresses = vec![net(a)];
            p
        })
        .collect();
    let mut cfg = LmaConfig::new("lma", ports, policy(), EPOCH);
    cfg.signalling = Signalling::Authenticated(keys(&[MAG1, MAG2, ROGUE]));
    cfg
}

pub fn lma() -> Lma {
    Lma::new(config(), t(0))
}

/// A registration as a MAG sends it, for `mn_id` asking for any prefix.
pub fn pbu(seq: u16, mn_id: &str, hi: HandoffIndicator, lifetime: u32, at_ms: i64) -> PbuRepr {
    PbuRepr {
        sequence: seq,
        ack: true,
        home_registration: true,
        proxy: true,
        lifetime_secs: lifetime,
        options: MobilityOptions {
            mn_id: Some(mn_id.into()),
            hnps: vec![net("::/0")],
            handoff_indicator: Some(hi),
            access_technology: Some(AccessTechnologyType::Ethernet),
            mn_link_layer_id: Some(VM01_MAC.to_vec()),
            link_local_address: Some(ip("fe80::1")),
            timestamp: Some(ts(at_ms)),
            ..MobilityOptions::default()
        },
        ..PbuRepr::default()
    }
}

/// The frame of `pbu` from `mag`, authenticated with its key.
pub fn pbu_frame(mag: Mag, pbu: &PbuRepr) -> Vec<u8> {
    let repr = MhRepr::Pbu(pbu.clone());
    let packet = sealed_packet(&mag.key(), ip(mag.addr), ip(mag.lma), 64, repr);
    frame(mag, &packet)
}

pub fn frame(mag: Mag, packet: &[u8]) -> Vec<u8> {
    ethernet_ipv6(mag.mac, LMA_MACS[mag.port], packet)
}

pub type Out = Vec<(PortId, Vec<u8>)>;

pub fn mac_of(target: Ipv6Addr) -> Mac {
    [MAG1, MAG2, ROGUE, STRANGER]
        .iter()
        .find(|m| ip(m.addr) == target)
        .map_or(CLIENT_MAC, |m| m.mac)
}

/// Feeds `frame` and answers every NS the LMA sends (for the MAGs and the
/// client), so the returned frames are what finally leaves the LMA.
pub fn exchange(lma: &mut Lma, now: Instant, port: PortId, frame: &[u8]) -> Out {
    let mut out = Out::new();
    lma.on_frame(now, port, frame, &mut out);
    settle(lma, now, out)
}

pub fn settle(lma: &mut Lma, now: Instant, mut out: Out) -> Out {
    let mut delivered = Out::new();
    while let Some((p, f)) = out.pop() {
        match NdFrame::parse(&f) {
            Ok(NdFrame {
                message: NdMessage::NeighborSolicit { target, .. },
                ..
            }) => {
                let mac = mac_of(target);
                let na = build_na(
                    &Addressing {
                        src_mac: mac,
                        dst_mac: LMA_MACS[p],
                        src_ip: target,
                        dst_ip: lma.engine().link_local(p).unwrap(),
                    },
                    target,
                    NaFlags {
                        router: false,
                        solicited: true,
                        override_: true,
                    },
                    Some(mac),
                );
                lma.on_frame(now, p, &na, &mut out);
            }
            _ => delivered.push((p, f)),
        }
    }
    delivered
}

pub fn timer(lma: &mut Lma, now: Instant) -> Out {
    let mut out = Out::new();
    lma.on_timer(now, &mut out);
    settle(lma, now, out)
}

/// The PBAs among `out`, with the port and IPv6 destination they left by.
pub fn pbas(out: &Out) -> Vec<(PortId, Ipv6Addr, PbaRepr)> {
    out.iter()
        .filter_map(|(p, f)| {
            let eth = EthernetFrame::new_checked(&f[..]).ok()?;
            let ipp = Ipv6Packet::new_checked(eth.payload()).ok()?;
            if ipp.next_header() != IpProtocol::from(135) {
                return None;
            }
            let mh = MhPacket::new_checked(ipp.payload()).ok()?;
            match MhRepr::parse(&mh, &ipp.src_addr(), &ipp.dst_addr()) {
                Ok(MhRepr::Pba(pba)) => {
                    assert_authenticated(&ipp);
                    Some((*p, ipp.dst_addr(), pba))
                }
                _ => None,
            }
        })
        .collect()
}

/// Checks the authenticator of a message the LMA sent, with the key of the
/// MAG it went to; returns the SPI.
pub fn assert_authenticated(ipp: &Ipv6Packet<&[u8]>) -> u32 {
    let mag = [MAG1, MAG2, ROGUE]
        .into_iter()
        .find(|m| ip(m.addr) == ipp.dst_addr())
        .expect("sent to a MAG");
    // MAG1 rolls over to SPI 0x102 in `key_rollover_keeps_the_binding`.
    let keys = match mag.spi {
        0x101 => vec![key(0x101), key(0x102)],
        _ => vec![mag.key()],
    };
    router::auth::message::verify(ipp.src_addr(), ipp.dst_addr(), ipp.payload(), |spi| {
        keys.iter().find(|k| k.spi() == spi)
    })
    .unwrap_or_else(|e| {
        panic!(
            "the LMA's message to {} is not authenticated: {e}",
            mag.addr
        )
    })
    .spi()
}

/// Sends a PBU from `mag` and returns the one PBA that came back to it.
pub fn send(lma: &mut Lma, now_ms: i64, mag: Mag, pbu: &PbuRepr) -> PbaRepr {
    let out = exchange(lma, t(now_ms), mag.port, &pbu_frame(mag, pbu));
    let mut pbas = pbas(&out);
    assert_eq!(pbas.len(), 1, "expected one PBA, got {out:?}");
    let (port, dst, pba) = pbas.remove(0);
    assert_eq!((port, dst), (mag.port, ip(mag.addr)));
    pba
}

pub fn route(lma: &Lma, prefix: &str) -> Option<NextHop> {
    lma.engine()
        .routes()
        .get(RouteTable::Destination, net(prefix))
}

pub fn tunnel_to(lma: &Lma, mag: Mag) -> Option<usize> {
    lma.engine().routes().tunnels().find(&ip(mag.addr))
}

pub fn state(lma: &Lma, mn_id: &str) -> Option<BindingState> {
    let id = lma.bindings().find(mn_id)?;
    lma.bindings().get(id).map(|b| b.state)
}

pub const VM01_HNP: &str = "2001:db8:1:1::/64";
pub const HI_NEW: HandoffIndicator = HandoffIndicator::NewInterface;
pub const HI_MAG: HandoffIndicator = HandoffIndicator::InterMag;
pub const HI_UNKNOWN: HandoffIndicator = HandoffIndicator::Unknown;

/// vm01 registered at MAG1 at t = 0.
pub fn registered() -> Lma {
    let mut l = lma();
    let pba = send(&mut l, 0, MAG1, &pbu(1, "vm01@tapmip", HI_NEW, 3600, 0));
    assert_eq!(pba.status, PbaStatus::Accepted);
    l
}
