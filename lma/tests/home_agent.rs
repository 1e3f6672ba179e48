//! The home agent core (RFC 6275 10.3) driven in memory: Binding Updates in,
//! Binding Acknowledgements, the binding cache and the tunnel out; bad input
//! refused with the RFC's status (or dropped where 9.2 and 9.5.1 say so)
//! without touching any state.

use ipnet::Ipv6Net;
use lma::home_agent::{HomeAgent, HomeAgentConfig};
use router::Instant;
use router::core::{Core, PortId};
use router::engine::EnginePort;
use router::fib::NextHop;
use router::mac::Mac;
use router::nd::frames::{Addressing, NaFlags, NdFrame, NdMessage, build_na, ethernet_ipv6};
use router::policy::Policy;
use router::routes::RouteTable;
use router::tunnel::encapsulate;
use router::wire::{HomeAddressIn, MhRepr, MnPacketRepr, PbaRepr, PbaStatus, PbuRepr};
use smoltcp::wire::{EthernetFrame, IpProtocol, Ipv6Packet, Ipv6Repr};
use std::net::Ipv6Addr;

const HA_MACS: [Mac; 2] = [Mac([0x02, 0x4c, 0, 0, 0, 0]), Mac([0x02, 0x4c, 0, 0, 0, 1])];
const CLIENT_MAC: Mac = Mac([0x52, 0x54, 0, 0, 0xc, 1]);
const AR_MAC: Mac = Mac([0x02, 0x61, 0, 0, 0, 1]);
const CORE: PortId = 0;
const WAN: PortId = 1;

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn net(s: &str) -> Ipv6Net {
    s.parse().unwrap()
}

fn t(ms: i64) -> Instant {
    Instant::from_millis(ms)
}

const HA: &str = "2001:db8:1::1";
const HOA: &str = "2001:db8:1:1::5";
const COA1: &str = "2001:db8:a:1::5";
const COA2: &str = "2001:db8:a:2::5";
const CLIENT: &str = "2001:db8:c::9";

fn home_agent() -> HomeAgent {
    let policy = Policy::parse(
        "[[node]]\nmn_id = \"vm1@tapmip\"\nmac = \"52:54:00:aa:00:01\"\nhnps = [\"2001:db8:1:1::/64\"]\n",
        "policy.toml",
    )
    .unwrap();
    let ports = [
        ("2001:db8:c::1/64", HA_MACS[0]),
        ("2001:db8:ff:1::1/64", HA_MACS[1]),
    ]
    .iter()
    .map(|(a, mac)| {
        let mut p = EnginePort::new(*mac);
        p.addresses = vec![net(a)];
        p
    })
    .collect();
    let cfg = HomeAgentConfig {
        name: "ha".into(),
        ports,
        address: ip(HA),
        home_prefixes: vec![net("2001:db8:1::/48")],
        policy,
        routes: vec![
            (net("2001:db8:a:1::/64"), ip("2001:db8:ff:1::2")),
            (net("2001:db8:a:2::/64"), ip("2001:db8:ff:1::3")),
        ],
        max_lifetime_secs: 420,
    };
    HomeAgent::new(cfg, t(0)).unwrap()
}

type Out = Vec<(PortId, Vec<u8>)>;

/// Feeds `frame`, answers every NS the home agent sends, returns the rest.
fn exchange(ha: &mut HomeAgent, now: Instant, port: PortId, frame: &[u8]) -> Out {
    let mut out = Out::new();
    ha.on_frame(now, port, frame, &mut out);
    let mut delivered = Out::new();
    while let Some((p, f)) = out.pop() {
        match NdFrame::parse(&f) {
            Ok(NdFrame {
                message: NdMessage::NeighborSolicit { target, .. },
                ..
            }) => {
                let mac = if p == CORE { CLIENT_MAC } else { AR_MAC };
                let addr = Addressing {
                    src_mac: mac,
                    dst_mac: HA_MACS[p],
                    src_ip: target,
                    dst_ip: ha.engine().link_local(p).unwrap(),
                };
                let flags = NaFlags {
                    router: p == WAN,
                    solicited: true,
                    override_: true,
                };
                ha.on_frame(now, p, &build_na(&addr, target, flags, Some(mac)), &mut out);
            }
            _ => delivered.push((p, f)),
        }
    }
    delivered
}

fn bu(seq: u16, lifetime: u32) -> PbuRepr {
    PbuRepr {
        sequence: seq,
        ack: true,
        home_registration: true,
        lifetime_secs: lifetime,
        ..PbuRepr::default()
    }
}

fn bu_frame(coa: &str, hoa: &str, bu: &PbuRepr) -> Vec<u8> {
    let packet = MnPacketRepr::binding_update(ip(coa), ip(HA), ip(hoa), MhRepr::Pbu(bu.clone()));
    ethernet_ipv6(AR_MAC, HA_MACS[WAN], &packet.emit())
}

/// The Binding Acknowledgements among `out`, parsed with their headers.
fn bas(out: &Out) -> Vec<(MnPacketRepr, PbaRepr)> {
    out.iter()
        .filter_map(|(_, f)| {
            let eth = EthernetFrame::new_checked(&f[..]).ok()?;
            let repr = MnPacketRepr::parse(eth.payload()).ok()?;
            match &repr.mh {
                MhRepr::Pba(ba) => Some((repr.clone(), ba.clone())),
                _ => None,
            }
        })
        .collect()
}

/// Sends a BU and returns the one BA that answers it.
fn send(ha: &mut HomeAgent, now_ms: i64, coa: &str, hoa: &str, bu: &PbuRepr) -> PbaRepr {
    let out = exchange(ha, t(now_ms), WAN, &bu_frame(coa, hoa, bu));
    let mut bas = bas(&out);
    assert_eq!(bas.len(), 1, "one BA expected: {out:?}");
    let (repr, ba) = bas.remove(0);
    assert_eq!((repr.src, repr.dst), (ip(HA), ip(coa)));
    assert_eq!(repr.home, HomeAddressIn::Type2Routing(ip(hoa)));
    ba
}

fn care_of(ha: &HomeAgent) -> Option<Ipv6Addr> {
    ha.bindings().get(&ip(HOA)).map(|b| b.care_of)
}

fn tunnel_remote(ha: &HomeAgent) -> Option<Ipv6Addr> {
    match ha
        .engine()
        .routes()
        .get(RouteTable::Destination, net(&format!("{HOA}/128")))?
    {
        NextHop::Tunnel(id) => ha.engine().routes().tunnel(id).map(|t| t.remote),
        _ => None,
    }
}

fn registered() -> HomeAgent {
    let mut ha = home_agent();
    let ba = send(&mut ha, 0, COA1, HOA, &bu(10, 3600));
    assert_eq!(ba.status, PbaStatus::Accepted);
    assert_eq!((ba.sequence, ba.lifetime_secs, ba.proxy), (10, 420, false));
    ha
}

fn udp(src: &str, dst: &str) -> Vec<u8> {
    let repr = Ipv6Repr {
        src_addr: ip(src),
        dst_addr: ip(dst),
        next_header: IpProtocol::Udp,
        payload_len: 8,
        hop_limit: 64,
    };
    let mut buf = vec![0u8; 48];
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
    buf
}

#[test]
fn a_home_registration_tunnels_the_home_address_both_ways() {
    let mut ha = registered();
    assert_eq!(care_of(&ha), Some(ip(COA1)));
    assert_eq!(tunnel_remote(&ha), Some(ip(COA1)));
    // The client's packet to the home address leaves encapsulated to the CoA.
    let to_vm = ethernet_ipv6(CLIENT_MAC, HA_MACS[CORE], &udp(CLIENT, HOA));
    let out = exchange(&mut ha, t(10), CORE, &to_vm);
    let (port, frame) = &out[0];
    assert_eq!(*port, WAN);
    let outer = Ipv6Packet::new_checked(&frame[14..]).unwrap();
    assert_eq!(
        (outer.src_addr(), outer.dst_addr(), outer.next_header()),
        (ip(HA), ip(COA1), IpProtocol::Unknown(41))
    );
    // The VM's packet from the home address comes out of the tunnel to the client.
    let mut tunnelled = Vec::new();
    encapsulate(
        ip(COA1),
        ip(HA),
        &udp(HOA, CLIENT),
        64,
        1500,
        &mut tunnelled,
    )
    .unwrap();
    let out = exchange(
        &mut ha,
        t(20),
        WAN,
        &ethernet_ipv6(AR_MAC, HA_MACS[WAN], &tunnelled),
    );
    let inner = Ipv6Packet::new_checked(&out[0].1[14..]).unwrap();
    assert_eq!(
        (out[0].0, inner.src_addr(), inner.dst_addr()),
        (CORE, ip(HOA), ip(CLIENT))
    );
}

#[test]
fn a_move_re_routes_the_tunnel_and_de_registration_removes_it() {
    let mut ha = registered();
    let ba = send(&mut ha, 1000, COA2, HOA, &bu(11, 420));
    assert_eq!(ba.status, PbaStatus::Accepted);
    assert_eq!(tunnel_remote(&ha), Some(ip(COA2)));
    assert_eq!(
        ha.engine().routes().tunnels().find(&ip(COA1)),
        None,
        "old tunnel gone"
    );
    let b = ha.bindings().get(&ip(HOA)).unwrap();
    assert_eq!((b.sequence, b.moves, b.updates), (11, 1, 2));
    let ba = send(&mut ha, 2000, COA2, HOA, &bu(12, 0));
    assert_eq!((ba.status, ba.lifetime_secs), (PbaStatus::Accepted, 0));
    assert!(ha.bindings().is_empty());
    assert_eq!(tunnel_remote(&ha), None);
}

#[test]
fn a_binding_expires_with_its_lifetime() {
    let mut ha = registered();
    let mut out = Out::new();
    ha.on_timer(t(419_000), &mut out);
    assert!(care_of(&ha).is_some());
    ha.on_timer(t(420_000), &mut out);
    assert!(ha.bindings().is_empty());
    assert_eq!(tunnel_remote(&ha), None);
}

/// Bad input is refused with its status and leaves the binding as it was.
#[test]
fn refusals_carry_the_rfc_status_and_change_nothing() {
    let mut ha = registered();
    let before = ha.bindings().get(&ip(HOA)).cloned();
    let old_seq = send(&mut ha, 100, COA2, HOA, &bu(9, 420));
    assert_eq!(old_seq.status, PbaStatus::SequenceNumberOutOfWindow);
    assert_eq!(
        old_seq.sequence, 10,
        "the BA carries the last accepted sequence number"
    );
    let stranger = send(&mut ha, 200, COA2, "2001:db8:1:7::5", &bu(1, 420));
    assert_eq!(stranger.status, PbaStatus::NotHomeAgentForThisMobileNode);
    let outside = send(&mut ha, 300, COA2, "2001:db8:9::5", &bu(1, 420));
    assert_eq!(outside.status, PbaStatus::NotHomeSubnet);
    let proxy = PbuRepr {
        proxy: true,
        ..bu(20, 420)
    };
    assert_eq!(
        send(&mut ha, 400, COA2, HOA, &proxy).status,
        PbaStatus::ProxyRegNotEnabled
    );
    assert_eq!(ha.bindings().get(&ip(HOA)).cloned(), before);
    assert_eq!(ha.bindings().len(), 1);
    assert_eq!(tunnel_remote(&ha), Some(ip(COA1)));
    assert_eq!(ha.counters().get("bu.refused"), 4);
}

#[test]
fn malformed_binding_updates_are_dropped_without_an_answer() {
    let mut ha = registered();
    let before = ha.bindings().get(&ip(HOA)).cloned();
    let good = bu_frame(COA2, HOA, &bu(11, 420));
    let mut bad_checksum = good.clone();
    let last = bad_checksum.len() - 3;
    bad_checksum[last] ^= 0xff;
    let mut short_hoa = good.clone();
    short_hoa[14 + 40 + 7] = 8; // Home Address option length 8
    let mut cut = good.clone();
    cut.truncate(14 + 40 + 24 + 6);
    let len = u16::try_from(cut.len() - 54).unwrap();
    cut[18..20].copy_from_slice(&len.to_be_bytes());
    // Without a Home Address option: the MH straight after IPv6.
    let plain = router::wire::mh_ipv6_packet(ip(COA2), ip(HA), 64, &MhRepr::Pbu(bu(11, 420)));
    let no_hoa = ethernet_ipv6(AR_MAC, HA_MACS[WAN], &plain);
    for frame in [bad_checksum, short_hoa, cut, no_hoa] {
        let out = exchange(&mut ha, t(500), WAN, &frame);
        assert!(bas(&out).is_empty(), "no BA for a malformed BU: {out:?}");
    }
    assert_eq!(ha.bindings().get(&ip(HOA)).cloned(), before);
    assert_eq!(tunnel_remote(&ha), Some(ip(COA1)));
    let c = ha.counters();
    assert_eq!(c.get("mh.drop.bad_checksum"), 1);
    assert_eq!(c.get("mh.drop.bad_extension_header"), 1);
    assert_eq!(c.get("mh.drop.truncated"), 1);
    assert_eq!(c.get("bu.drop.no_home_address_option"), 1);
}
