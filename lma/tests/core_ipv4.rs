//! The LMA core's IPv4 support (RFC 5844) driven in memory: IPv4 home
//! addresses from the profile (fixed or pooled), the IPv4 Home Address Reply
//! and Default-Router Address in PBAs, the status codes of section 3.1.3,
//! handoffs keeping the address, and IPv4 traffic through the tunnels.

mod support;

use lma::{Lma, LmaConfig};
use router::Instant;
use router::arp::frames::ethernet_ipv4;
use router::auth::{Signalling, sealed_packet};
use router::core::{Core, PortId};
use router::engine::EnginePort;
use router::fib::NextHop;
use router::ipv4::ttl;
use router::mac::Mac;
use router::nd::frames::ethernet_ipv6;
use router::policy::Policy;
use router::routes::RouteTable;
use router::timestamp::{WallClock, timestamp};
use router::wire::{
    AccessTechnologyType, HandoffIndicator, Ipv4HomeAddressRequest, MhPacket, MhRepr,
    MobilityOptions, PbaRepr, PbaStatus, PbuRepr,
};
use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, Ipv6Packet};
use std::net::{Ipv4Addr, Ipv6Addr};

const EPOCH: WallClock = WallClock::from_secs(1_700_000_000);
const LMA_MACS: [Mac; 3] = [
    Mac([0x02, 0x4c, 0, 0, 0, 0x00]),
    Mac([0x02, 0x4c, 0, 0, 0, 0x01]),
    Mac([0x02, 0x4c, 0, 0, 0, 0x02]),
];
const MAG_MACS: [Mac; 3] = [
    Mac([0; 6]),
    Mac([0x02, 0x6d, 0, 0, 0, 0x01]),
    Mac([0x02, 0x6d, 0, 0, 0, 0x02]),
];
const CLIENT: Mac = Mac([0x52, 0x54, 0, 0, 0xc, 0x01]);

const POLICY: &str = r#"
[[mag]]
name = "mag1"
address = "2001:db8:ff:1::2"

[[mag]]
name = "mag2"
address = "2001:db8:ff:2::2"

[ipv4_pool.v4]
prefix = "10.2.0.0/30"

[[node]]
mn_id = "dual@tapmip"
mac = "52:54:00:aa:00:01"
hnps = ["2001:db8:1:1::/64"]
ipv4 = "10.1.1.5/24"

[[node]]
mn_id = "v4only@tapmip"
mac = "52:54:00:aa:00:02"
ipv4 = "10.1.2.5/24"
ipv4_router = "10.1.2.254"

[[node]]
mn_id = "v6only@tapmip"
mac = "52:54:00:aa:00:03"
hnps = ["2001:db8:1:3::/64"]

[[node]]
mn_id = "pooled@tapmip"
mac = "52:54:00:aa:00:04"
hnps = ["2001:db8:1:4::/64"]
ipv4_pool = "v4"

[[node]]
mn_id = "pooled2@tapmip"
mac = "52:54:00:aa:00:05"
ipv4_pool = "v4"
"#;

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn a6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn t(ms: i64) -> Instant {
    Instant::from_millis(ms)
}

fn lma() -> Lma {
    lma_with(POLICY)
}

fn lma_with(policy: &str) -> Lma {
    let addrs = [
        "2001:db8:c::1/64",
        "2001:db8:ff:1::1/64",
        "2001:db8:ff:2::1/64",
    ];
    let ports = LMA_MACS
        .iter()
        .zip(addrs)
        .enumerate()
        .map(|(i, (mac, addr))| {
            let mut p = EnginePort::new(*mac);
            p.addresses = vec![addr.parse().unwrap()];
            if i == 0 {
                p.ipv4 = vec!["192.0.2.1/24".parse().unwrap()];
            }
            p
        })
        .collect();
    let policy = Policy::parse(policy, "policy.toml").unwrap();
    let mut cfg = LmaConfig::new("lma", ports, policy, EPOCH);
    cfg.signalling = Signalling::Authenticated(support::keys(&[support::MAG1, support::MAG2]));
    let mut l = Lma::new(cfg, t(0));
    let mut tx = Vec::new();
    for m in 1..=2 {
        let mag = a6(&format!("2001:db8:ff:{m}::2"));
        l.on_frame(t(0), m, &ns(m, mag), &mut tx);
    }
    l
}

/// An NS from MAG `m` (with its link-layer address) so the LMA knows its MAC.
fn ns(m: usize, mag: Ipv6Addr) -> Vec<u8> {
    use router::nd::frames::{Addressing, build_ns};
    let lmaa = a6(&format!("2001:db8:ff:{m}::1"));
    build_ns(
        &Addressing {
            src_mac: MAG_MACS[m],
            dst_mac: LMA_MACS[m],
            src_ip: mag,
            dst_ip: lmaa,
        },
        lmaa,
        Some(MAG_MACS[m]),
    )
}

struct Ask {
    hnp: bool,
    ipv4: Option<Ipv4Addr>,
    hi: HandoffIndicator,
    lifetime: u32,
}

fn ask(hnp: bool, ipv4: Option<&str>) -> Ask {
    Ask {
        hnp,
        ipv4: ipv4.map(a),
        hi: HandoffIndicator::NewInterface,
        lifetime: 3600,
    }
}

/// Sends a PBU from MAG `m` at `at_ms` and returns the PBA.
fn pbu(l: &mut Lma, m: usize, seq: u16, mn_id: &str, ask: Ask, at_ms: i64) -> PbaRepr {
    let repr = PbuRepr {
        sequence: seq,
        ack: true,
        home_registration: true,
        proxy: true,
        lifetime_secs: ask.lifetime,
        options: MobilityOptions {
            mn_id: Some(mn_id.into()),
            hnps: if ask.hnp {
                vec!["::/0".parse().unwrap()]
            } else {
                vec![]
            },
            handoff_indicator: Some(ask.hi),
            access_technology: Some(AccessTechnologyType::Ethernet),
            mn_link_layer_id: Some(vec![0x52, 0x54, 0, 0xaa, 0, 1]),
            timestamp: Some(timestamp(EPOCH, t(at_ms))),
            ipv4_home_address_request: ask.ipv4.map(|address| Ipv4HomeAddressRequest {
                prefix_len: 0,
                address,
            }),
            ..MobilityOptions::default()
        },
        ..PbuRepr::default()
    };
    let (mag, lmaa) = (
        a6(&format!("2001:db8:ff:{m}::2")),
        a6(&format!("2001:db8:ff:{m}::1")),
    );
    let key = [support::MAG1, support::MAG2][m - 1].key();
    let packet = sealed_packet(&key, mag, lmaa, 64, MhRepr::Pbu(repr));
    let mut out = Vec::new();
    l.on_frame(
        t(at_ms),
        m,
        &ethernet_ipv6(MAG_MACS[m], LMA_MACS[m], &packet),
        &mut out,
    );
    out.iter()
        .find_map(|(_, f)| {
            let ip = Ipv6Packet::new_checked(&f[14..]).ok()?;
            let mh = MhPacket::new_checked(ip.payload()).ok()?;
            match MhRepr::parse(&mh, &ip.src_addr(), &ip.dst_addr()).ok()? {
                MhRepr::Pba(pba) => Some(pba),
                _ => None,
            }
        })
        .expect("a PBA")
}

fn tunnel_of(l: &Lma, host: &str) -> Option<Ipv6Addr> {
    let net: ipnet::Ipv4Net = format!("{host}/32").parse().unwrap();
    l.engine()
        .routes()
        .tunnel_of(RouteTable::Destination, net)
        .map(|t| t.remote)
}

#[test]
fn a_dual_stack_node_gets_its_fixed_address_router_and_prefix() {
    let mut l = lma();
    let pba = pbu(
        &mut l,
        1,
        1,
        "dual@tapmip",
        ask(true, Some("0.0.0.0")),
        1000,
    );
    assert_eq!(pba.status, PbaStatus::Accepted);
    let reply = pba.options.ipv4_home_address_reply.unwrap();
    assert_eq!(
        (reply.status, reply.prefix_len, reply.address),
        (0, 24, a("10.1.1.5"))
    );
    assert_eq!(pba.options.ipv4_default_router, Some(a("10.1.1.1")));
    assert_eq!(pba.options.hnps, vec!["2001:db8:1:1::/64".parse().unwrap()]);
    assert_eq!(tunnel_of(&l, "10.1.1.5"), Some(a6("2001:db8:ff:1::2")));
    let b = l
        .bindings()
        .get(l.bindings().find("dual@tapmip").unwrap())
        .unwrap();
    assert_eq!(b.ipv4.unwrap().address.to_string(), "10.1.1.5/24");
    // One tunnel carries both families: the HNP and the host route use it.
    let tunnels: Vec<_> = l.engine().routes().tunnels().iter().collect();
    assert_eq!((tunnels.len(), tunnels[0].1.users), (1, 2));

    // The handoff to MAG2 keeps the address and moves the route.
    let mut handoff = ask(true, Some("10.1.1.5"));
    handoff.hi = HandoffIndicator::InterMag;
    let pba = pbu(&mut l, 2, 1, "dual@tapmip", handoff, 5000);
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert_eq!(
        pba.options.ipv4_home_address_reply.unwrap().address,
        a("10.1.1.5")
    );
    assert_eq!(tunnel_of(&l, "10.1.1.5"), Some(a6("2001:db8:ff:2::2")));
    // The tunnel to mag1 lingers 2 s for what is still on its way, then goes.
    let mut out = Vec::new();
    l.on_timer(Instant::from_millis(5000 + 2001), &mut out);
    assert_eq!(
        l.engine().routes().tunnels().len(),
        1,
        "the tunnel to mag1 is gone"
    );
    // De-registration takes the route away.
    let mut dereg = ask(true, Some("10.1.1.5"));
    dereg.lifetime = 0;
    assert_eq!(
        pbu(&mut l, 2, 2, "dual@tapmip", dereg, 6000).status,
        PbaStatus::Accepted
    );
    assert_eq!(tunnel_of(&l, "10.1.1.5"), None);
}

#[test]
fn an_ipv4_only_node_registers_without_any_prefix() {
    let mut l = lma();
    let pba = pbu(
        &mut l,
        1,
        1,
        "v4only@tapmip",
        ask(false, Some("0.0.0.0")),
        1000,
    );
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert!(pba.options.hnps.is_empty());
    assert_eq!(pba.options.ipv4_default_router, Some(a("10.1.2.254")));
    // A MAG that sends an HNP option anyway gets IPv4 only.
    let pba = pbu(
        &mut l,
        1,
        2,
        "v4only@tapmip",
        ask(true, Some("10.1.2.5")),
        2000,
    );
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert!(pba.options.hnps.is_empty());
    let e = |ask: Ask| pbu(&mut lma(), 1, 1, "v4only@tapmip", ask, 1000).status;
    assert_eq!(
        e(ask(true, None)),
        PbaStatus::NotAuthorizedForIpv6MobilityService
    );
    assert_eq!(
        e(ask(false, Some("10.1.2.6"))),
        PbaStatus::NotAuthorizedForIpv4HomeAddress
    );
    assert_eq!(
        e(ask(false, None)),
        PbaStatus::MissingHomeNetworkPrefixOption
    );
}

#[test]
fn an_ipv6_only_node_that_asks_for_ipv4_gets_ipv6_alone_or_170() {
    let mut l = lma();
    let pba = pbu(
        &mut l,
        1,
        1,
        "v6only@tapmip",
        ask(true, Some("0.0.0.0")),
        1000,
    );
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert_eq!(pba.options.ipv4_home_address_reply.unwrap().status, 129);
    assert_eq!(pba.options.ipv4_default_router, None);
    let pba = pbu(
        &mut lma(),
        1,
        1,
        "v6only@tapmip",
        ask(false, Some("0.0.0.0")),
        1000,
    );
    assert_eq!(pba.status, PbaStatus::NotAuthorizedForIpv4MobilityService);
    // Without option 36, no option 37.
    let pba = pbu(&mut lma(), 1, 1, "dual@tapmip", ask(true, None), 1000);
    assert_eq!(pba.options.ipv4_home_address_reply, None);
}

#[test]
fn pooled_addresses_are_kept_per_node_and_refused_when_gone() {
    let mut l = lma();
    // 10.2.0.0/30: one host besides the router.
    let pba = pbu(
        &mut l,
        1,
        1,
        "pooled@tapmip",
        ask(true, Some("0.0.0.0")),
        1000,
    );
    let got = pba.options.ipv4_home_address_reply.unwrap();
    assert_eq!(
        (got.status, got.address, got.prefix_len),
        (0, a("10.2.0.2"), 30)
    );
    let none = pbu(
        &mut l,
        1,
        1,
        "pooled2@tapmip",
        ask(false, Some("0.0.0.0")),
        1100,
    );
    assert_eq!(none.status, PbaStatus::InsufficientResources);
    // A refresh asking for another address is a second one: refused.
    let other = pbu(
        &mut l,
        1,
        2,
        "pooled@tapmip",
        ask(true, Some("10.1.1.9")),
        2000,
    );
    assert_eq!(other.status, PbaStatus::NotAuthorizedForIpv4HomeAddress);
    // A dual request with an incorrect address: IPv6 served, 37 says 130.
    let mut l = lma();
    let pba = pbu(
        &mut l,
        1,
        1,
        "pooled@tapmip",
        ask(true, Some("10.2.0.1")),
        1000,
    );
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert_eq!(pba.options.ipv4_home_address_reply.unwrap().status, 130);
    let pba = pbu(
        &mut l,
        1,
        2,
        "pooled@tapmip",
        ask(true, Some("0.0.0.0")),
        2000,
    );
    assert_eq!(pba.options.ipv4_home_address_reply.unwrap().status, 0);
    // Another free pool address than the entry's: 173.
    let mut l = lma_with(&POLICY.replace("10.2.0.0/30", "10.2.0.0/24"));
    pbu(
        &mut l,
        1,
        1,
        "pooled@tapmip",
        ask(true, Some("0.0.0.0")),
        1000,
    );
    let again = pbu(
        &mut l,
        1,
        2,
        "pooled@tapmip",
        ask(true, Some("10.2.0.77")),
        2000,
    );
    assert_eq!(
        again.status,
        PbaStatus::MultipleIpv4HomeAddressAssignmentNotSupported
    );
}

#[test]
fn ipv4_from_the_core_goes_into_the_tunnel_and_back_out() {
    let mut l = lma();
    pbu(
        &mut l,
        1,
        1,
        "dual@tapmip",
        ask(true, Some("0.0.0.0")),
        1000,
    );
    let mut tx: Vec<(PortId, Vec<u8>)> = Vec::new();
    let down = router::icmpv4::echo_request(a("192.0.2.100"), a("10.1.1.5"), 1);
    l.on_frame(
        t(1100),
        0,
        &ethernet_ipv4(CLIENT, LMA_MACS[0], &down),
        &mut tx,
    );
    let (port, frame) = tx.last().unwrap();
    assert_eq!(*port, 1);
    let outer = Ipv6Packet::new_checked(&frame[14..]).unwrap();
    assert_eq!(outer.next_header(), IpProtocol::Unknown(4));
    assert_eq!(outer.dst_addr(), a6("2001:db8:ff:1::2"));
    assert_eq!(ttl(outer.payload()), 63);
    // The answer, tunnelled by the MAG, reaches the client after ARP.
    let up = router::icmpv4::echo_request(a("10.1.1.5"), a("192.0.2.100"), 2);
    let mut outer = Vec::new();
    router::tunnel::encapsulate(
        a6("2001:db8:ff:1::2"),
        a6("2001:db8:ff:1::1"),
        &up,
        64,
        1500,
        &mut outer,
    )
    .unwrap();
    let mut tx = Vec::new();
    l.on_frame(
        t(1200),
        1,
        &ethernet_ipv6(MAG_MACS[1], LMA_MACS[1], &outer),
        &mut tx,
    );
    let arp = router::arp::ArpFrame::parse(&tx[0].1).unwrap();
    assert_eq!(
        (tx[0].0, arp.target_ip, arp.sender_ip),
        (0, a("192.0.2.100"), a("192.0.2.1"))
    );
    let reply = router::arp::frames::build(
        LMA_MACS[0],
        &router::arp::ArpMessage {
            reply: true,
            sender_mac: CLIENT,
            sender_ip: a("192.0.2.100"),
            target_mac: LMA_MACS[0],
            target_ip: a("192.0.2.1"),
        },
    );
    let mut tx = Vec::new();
    l.on_frame(t(1201), 0, &reply, &mut tx);
    let eth = EthernetFrame::new_checked(&tx[0].1[..]).unwrap();
    assert_eq!(
        (Mac::from(eth.dst_addr()), eth.ethertype()),
        (CLIENT, EthernetProtocol::Ipv4)
    );
    let inner = Ipv4Packet::new_checked(eth.payload()).unwrap();
    assert_eq!(inner.src_addr(), a("10.1.1.5"));
    assert!(matches!(
        l.engine()
            .routes()
            .lookup(RouteTable::Destination, a("10.1.1.5")),
        Some(NextHop::Tunnel(_))
    ));
}
