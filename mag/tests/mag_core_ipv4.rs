//! The MAG core's IPv4 side (RFC 5844) driven in memory: the IPv4 Home
//! Address Request in PBUs, the grant from the PBA, the DHCPv4 server, ARP
//! for the default router and by proxy, ARP and DHCP as attachment triggers,
//! detachment of IPv4-only nodes, and IPv4 through the tunnel.

mod support;

use mag::access::{FIXED_LINK_LOCAL, FIXED_MAC};
use mag::{AccessConfig, Mag, MagConfig, UPLINK, UplinkConfig};
use router::arp::ArpFrame;
use router::arp::frames::{ethernet_ipv4, gratuitous, request};
use router::auth::{Signalling, sealed_packet};
use router::core::{Core, PortId};
use router::dhcp::{ClientRequest, MessageType, ServerMessage};
use router::fib::NextHop;
use router::mac::Mac;
use router::nd::frames::{Addressing, NaFlags, build_na, build_rs, ethernet_ipv6, multicast_mac};
use router::policy::Policy;
use router::routes::RouteTable;
use router::timestamp::WallClock;
use router::wire::{
    HandoffIndicator, Ipv4HomeAddressReply, MhPacket, MhRepr, MobilityOptions, PbaRepr, PbaStatus,
    PbuRepr,
};
use router::{Duration, Instant};
use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, Ipv6Packet};
use std::net::{Ipv4Addr, Ipv6Addr};

const UPLINK_MAC: Mac = Mac([0x02, 0x7a, 0x6d, 0, 0, 1]);
const LMA_MAC: Mac = Mac([0x02, 0x4c, 0x4d, 0, 0, 1]);
const DUAL: Mac = Mac([0x52, 0x54, 0, 0xaa, 0, 1]);
const V4ONLY: Mac = Mac([0x52, 0x54, 0, 0xaa, 0, 2]);
const V6ONLY: Mac = Mac([0x52, 0x54, 0, 0xaa, 0, 3]);
const STRANGER: Mac = Mac([0x52, 0x54, 0, 0xbb, 0, 9]);
const ACCESS: PortId = 1;

const POLICY: &str = r#"
[[mag]]
name = "mag1"
address = "2001:db8:ff:1::2"

[[node]]
mn_id = "dual@tapmip"
mac = "52:54:00:aa:00:01"
hnps = ["2001:db8:1:1::/64"]
ipv4 = "10.1.1.5/24"

[[node]]
mn_id = "v4only@tapmip"
mac = "52:54:00:aa:00:02"
ipv4 = "10.1.2.5/24"

[[node]]
mn_id = "v6only@tapmip"
mac = "52:54:00:aa:00:03"
hnps = ["2001:db8:1:3::/64"]
"#;

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn t(ms: i64) -> Instant {
    Instant::from_millis(ms)
}

fn pcoa() -> Ipv6Addr {
    ip("2001:db8:ff:1::2")
}

fn lmaa() -> Ipv6Addr {
    ip("2001:db8:ff:1::1")
}

type Out = Vec<(PortId, Vec<u8>)>;

fn mag() -> Mag {
    mag_with(mag::DetectConfig::default())
}

fn mag_with(detect: mag::DetectConfig) -> Mag {
    let uplink = UplinkConfig {
        mac: UPLINK_MAC,
        mtu: 1500,
        proxy_coa: "2001:db8:ff:1::2/64".parse().unwrap(),
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
    cfg.detect = detect;
    cfg.signalling = Signalling::Authenticated(support::keys(&[support::SPI]));
    let mut m = Mag::new(cfg, Policy::parse(POLICY, "p.toml").unwrap(), t(0));
    // The LMA answers the MAG's first NS, so PBUs leave at once.
    m.on_timer(t(0), &mut Out::new());
    let na = build_na(
        &Addressing {
            src_mac: LMA_MAC,
            dst_mac: UPLINK_MAC,
            src_ip: lmaa(),
            dst_ip: pcoa(),
        },
        lmaa(),
        NaFlags {
            router: true,
            solicited: true,
            override_: true,
        },
        Some(LMA_MAC),
    );
    m.on_frame(t(0), UPLINK, &na, &mut Out::new());
    m
}

fn feed(m: &mut Mag, now: Instant, frame: &[u8]) -> Out {
    let mut out = Out::new();
    m.on_frame(now, ACCESS, frame, &mut out);
    out
}

fn pbus(out: &Out) -> Vec<PbuRepr> {
    out.iter()
        .filter(|(p, _)| *p == UPLINK)
        .filter_map(|(_, f)| {
            let ipp = Ipv6Packet::new_checked(&f[14..]).ok()?;
            let mh = MhPacket::new_checked(ipp.payload()).ok()?;
            match MhRepr::parse(&mh, &ipp.src_addr(), &ipp.dst_addr()).ok()? {
                MhRepr::Pbu(p) => Some(p),
                _ => None,
            }
        })
        .collect()
}

/// The PBA answering `pbu`: IPv4 `home`/`len` via `router` when given.
fn pba(
    m: &mut Mag,
    now: Instant,
    pbu: &PbuRepr,
    hnp: Option<&str>,
    home: Option<(&str, u8, &str)>,
) -> Out {
    let repr = PbaRepr {
        status: PbaStatus::Accepted,
        key_mgmt: false,
        mobile_router: false,
        proxy: true,
        sequence: pbu.sequence,
        lifetime_secs: pbu.lifetime_secs,
        options: MobilityOptions {
            mn_id: pbu.options.mn_id.clone(),
            hnps: hnp.map(|h| h.parse().unwrap()).into_iter().collect(),
            handoff_indicator: pbu.options.handoff_indicator,
            access_technology: pbu.options.access_technology,
            mn_link_layer_id: pbu.options.mn_link_layer_id.clone(),
            timestamp: pbu.options.timestamp,
            ipv4_home_address_reply: home.map(|(addr, len, _)| Ipv4HomeAddressReply {
                status: 0,
                prefix_len: len,
                address: a(addr),
            }),
            ipv4_default_router: home.map(|(_, _, r)| a(r)),
            ..MobilityOptions::default()
        },
    };
    let packet = sealed_packet(
        &support::key(support::SPI),
        lmaa(),
        pcoa(),
        64,
        MhRepr::Pba(repr),
    );
    let mut out = Out::new();
    m.on_frame(
        now,
        UPLINK,
        &ethernet_ipv6(LMA_MAC, UPLINK_MAC, &packet),
        &mut out,
    );
    out
}

fn dhcp(
    kind: MessageType,
    mac: Mac,
    ciaddr: &str,
    asked: Option<&str>,
    server: Option<&str>,
) -> Vec<u8> {
    let unicast = ciaddr != "0.0.0.0" && server.is_none() && asked.is_none();
    ClientRequest {
        kind,
        xid: 0xabcd,
        chaddr: mac,
        ciaddr: a(ciaddr),
        requested_ip: asked.map(a),
        server_id: server.map(a),
        to: if unicast {
            a("10.1.1.1")
        } else {
            Ipv4Addr::BROADCAST
        },
        to_mac: if unicast { FIXED_MAC } else { Mac::BROADCAST },
    }
    .frame()
}

/// The DHCP replies in `out`, with their Ethernet destination.
fn replies(out: &Out) -> Vec<(Mac, ServerMessage)> {
    out.iter()
        .filter(|(p, _)| *p == ACCESS)
        .filter_map(|(_, f)| {
            let eth = EthernetFrame::new_checked(&f[..]).ok()?;
            if eth.ethertype() != EthernetProtocol::Ipv4 {
                return None;
            }
            let packet = router::ipv4::packet(eth.payload()).ok()?;
            Some((Mac::from(eth.dst_addr()), ServerMessage::parse(packet)?))
        })
        .collect()
}

fn arps(out: &Out) -> Vec<ArpFrame> {
    out.iter()
        .filter_map(|(_, f)| ArpFrame::parse(f).ok())
        .collect()
}

fn rs(mac: Mac) -> Vec<u8> {
    build_rs(&Addressing {
        src_mac: mac,
        dst_mac: multicast_mac(ip("ff02::2")),
        src_ip: ip("fe80::5"),
        dst_ip: ip("ff02::2"),
    })
}

/// A dual-stack node registered by its RS with 10.1.1.5/24 via 10.1.1.1.
fn registered_dual(m: &mut Mag) -> Out {
    let out = feed(m, t(10), &rs(DUAL));
    let pbu = &pbus(&out)[0];
    pba(
        m,
        t(40),
        pbu,
        Some("2001:db8:1:1::/64"),
        Some(("10.1.1.5", 24, "10.1.1.1")),
    )
}

#[test]
fn a_dual_stack_node_asks_for_ipv4_and_gets_routes_router_and_a_lease() {
    let mut m = mag();
    let out = feed(&mut m, t(10), &rs(DUAL));
    let pbu = &pbus(&out)[0];
    assert_eq!(pbu.options.hnps, vec!["::/0".parse().unwrap()]);
    let req = pbu.options.ipv4_home_address_request.unwrap();
    assert_eq!((req.prefix_len, req.address), (0, Ipv4Addr::UNSPECIFIED));
    let out = pba(
        &mut m,
        t(40),
        pbu,
        Some("2001:db8:1:1::/64"),
        Some(("10.1.1.5", 24, "10.1.1.1")),
    );
    // The router is announced by ARP as well as by the RA.
    let announced = arps(&out);
    assert_eq!(announced.len(), 1);
    assert!(announced[0].reply && announced[0].sender_ip == a("10.1.1.1"));
    assert_eq!(
        (announced[0].sender_mac, announced[0].eth_dst),
        (FIXED_MAC, DUAL)
    );
    let routes = m.engine().routes();
    let host: ipnet::Ipv4Net = "10.1.1.5/32".parse().unwrap();
    assert_eq!(
        routes.get(RouteTable::Destination, host),
        Some(NextHop::Connected { port: ACCESS })
    );
    assert_eq!(
        routes.tunnel_of(RouteTable::Source, host).map(|t| t.remote),
        Some(lmaa())
    );
    assert!(m.engine().is_local4(&a("10.1.1.1")));

    let out = feed(
        &mut m,
        t(50),
        &dhcp(MessageType::Discover, DUAL, "0.0.0.0", None, None),
    );
    let offer = &replies(&out)[0];
    assert_eq!(offer.0, DUAL, "unicast to the client's MAC");
    let o = &offer.1;
    assert_eq!(
        (o.kind, o.yiaddr, o.xid),
        (MessageType::Offer, a("10.1.1.5"), 0xabcd)
    );
    assert_eq!(
        (o.server_id, o.router),
        (Some(a("10.1.1.1")), Some(a("10.1.1.1")))
    );
    assert_eq!(
        (o.subnet_mask, o.lease_secs),
        (Some(a("255.255.255.0")), Some(100))
    );
    let request = dhcp(
        MessageType::Request,
        DUAL,
        "0.0.0.0",
        Some("10.1.1.5"),
        Some("10.1.1.1"),
    );
    let ack = &replies(&feed(&mut m, t(60), &request))[0].1;
    assert_eq!((ack.kind, ack.yiaddr), (MessageType::Ack, a("10.1.1.5")));
    let wrong = dhcp(
        MessageType::Request,
        DUAL,
        "0.0.0.0",
        Some("10.1.1.9"),
        None,
    );
    assert_eq!(
        replies(&feed(&mut m, t(70), &wrong))[0].1.kind,
        MessageType::Nak
    );
    assert_eq!(m.counters().get("dhcp.sent.ack"), 1);
}

#[test]
fn arp_for_the_router_and_by_proxy_but_never_for_the_node_itself() {
    let mut m = mag();
    registered_dual(&mut m);
    let answers = |m: &mut Mag, target: &str| {
        let out = feed(m, t(100), &request(DUAL, a("10.1.1.5"), a(target), None));
        arps(&out)
            .into_iter()
            .filter(|r| r.reply && r.sender_ip == a(target))
            .count()
    };
    assert_eq!(answers(&mut m, "10.1.1.1"), 1, "its default router");
    assert_eq!(
        answers(&mut m, "10.1.1.77"),
        1,
        "another host of its link, by proxy"
    );
    assert_eq!(answers(&mut m, "10.1.1.5"), 0, "its own address");
    assert_eq!(answers(&mut m, "10.9.9.9"), 0, "off its link");
    let probe = feed(
        &mut m,
        t(100),
        &request(DUAL, Ipv4Addr::UNSPECIFIED, a("10.1.1.5"), None),
    );
    assert!(
        arps(&probe).is_empty(),
        "an address probe of its own address gets no conflict"
    );
    assert_eq!(m.counters().get("mag.arp.proxied"), 1);
}

#[test]
fn an_ipv4_only_node_is_registered_by_its_dhcp_discover_and_offered_after_the_pba() {
    let mut m = mag();
    let out = feed(
        &mut m,
        t(10),
        &dhcp(MessageType::Discover, V4ONLY, "0.0.0.0", None, None),
    );
    let pbu = &pbus(&out)[0];
    assert!(pbu.options.hnps.is_empty(), "no IPv6 asked for");
    assert!(pbu.options.ipv4_home_address_request.is_some());
    assert_eq!(
        pbu.options.handoff_indicator,
        Some(HandoffIndicator::NewInterface)
    );
    assert!(
        replies(&out).is_empty(),
        "held until the address is granted"
    );
    let out = pba(&mut m, t(40), pbu, None, Some(("10.1.2.5", 24, "10.1.2.1")));
    let offer = &replies(&out)[0].1;
    assert_eq!(
        (offer.kind, offer.yiaddr),
        (MessageType::Offer, a("10.1.2.5"))
    );
    let bul = m.bindings().get(&V4ONLY).unwrap();
    assert!(bul.is_registered() && bul.hnps.is_empty());
    assert!(
        bul.ra_sent_at.is_some(),
        "the ARP announcement ends the handoff"
    );
}

#[test]
fn a_renew_at_the_next_mag_registers_the_node_and_keeps_its_address() {
    let mut m = mag();
    // A migrated node renews by unicast to its server, the shared router.
    let renew = dhcp(MessageType::Request, V4ONLY, "10.1.2.5", None, None);
    let out = feed(&mut m, t(10), &renew);
    let pbu = &pbus(&out)[0];
    assert_eq!(
        pbu.options.handoff_indicator,
        Some(HandoffIndicator::InterMag)
    );
    let out = pba(&mut m, t(40), pbu, None, Some(("10.1.2.5", 24, "10.1.2.1")));
    let ack = &replies(&out)[0];
    assert_eq!(
        (ack.0, ack.1.kind, ack.1.yiaddr),
        (V4ONLY, MessageType::Ack, a("10.1.2.5"))
    );
    // Its refresh (at 80 % of the lifetime, once the node answers an ARP
    // probe) asks for the same address again.
    let mut probes = Out::new();
    m.on_timer(t(80_100), &mut probes);
    assert!(
        arps(&probes)
            .iter()
            .any(|f| f.eth_dst == V4ONLY && f.target_ip == a("10.1.2.5"))
    );
    let mut out = Out::new();
    let asking = request(V4ONLY, a("10.1.2.5"), a("10.1.2.1"), None);
    m.on_frame(t(80_101), ACCESS, &asking, &mut out);
    let refresh = &pbus(&out)[0];
    assert_eq!(
        refresh.options.handoff_indicator,
        Some(HandoffIndicator::NotChanged)
    );
    let asked = refresh.options.ipv4_home_address_request.unwrap();
    assert_eq!((asked.address, asked.prefix_len), (a("10.1.2.5"), 24));
}

#[test]
fn a_gratuitous_arp_is_a_handoff_and_strangers_get_nothing() {
    let mut m = mag();
    let out = feed(&mut m, t(10), &gratuitous(V4ONLY, a("10.1.2.5")));
    assert_eq!(
        pbus(&out)[0].options.handoff_indicator,
        Some(HandoffIndicator::InterMag)
    );
    let mut m = mag();
    for frame in [
        dhcp(MessageType::Discover, STRANGER, "0.0.0.0", None, None),
        gratuitous(STRANGER, a("10.1.1.99")),
    ] {
        let out = feed(&mut m, t(10), &frame);
        assert!(pbus(&out).is_empty() && replies(&out).is_empty());
    }
    assert!(m.bindings().is_empty());
    assert_eq!(m.counters().get("dhcp.ignored.not_in_policy"), 1);
    // In the policy but without IPv4: registered for IPv6 (any frame from a
    // policy node is a trigger), never given a lease.
    let out = feed(
        &mut m,
        t(20),
        &dhcp(MessageType::Discover, V6ONLY, "0.0.0.0", None, None),
    );
    assert!(replies(&out).is_empty());
    assert!(
        pbus(&out)
            .iter()
            .all(|p| p.options.ipv4_home_address_request.is_none())
    );
    assert_eq!(m.counters().get("dhcp.ignored.no_ipv4"), 1);
}

#[test]
fn an_ipv4_only_node_that_left_is_found_gone_by_arp_and_deregistered() {
    let mut m = mag();
    let out = feed(
        &mut m,
        t(10),
        &dhcp(MessageType::Discover, V4ONLY, "0.0.0.0", None, None),
    );
    let pbu = pbus(&out)[0].clone();
    pba(
        &mut m,
        t(40),
        &pbu,
        None,
        Some(("10.1.2.5", 24, "10.1.2.1")),
    );
    // Silent for an RA interval: probed with unicast ARP, three times, then gone.
    let mut sent = Out::new();
    let mut now = t(40);
    while let Some(at) = m.poll_at().filter(|at| *at < t(20_000)) {
        now = at;
        m.on_timer(now, &mut sent);
    }
    let probes: Vec<_> = arps(&sent)
        .into_iter()
        .filter(|f| !f.reply && f.target_ip == a("10.1.2.5") && f.eth_dst == V4ONLY)
        .collect();
    assert_eq!(probes.len(), 3, "{now:?}");
    assert!(m.bindings().get(&V4ONLY).is_none());
    let dereg = pbus(&sent);
    assert_eq!(dereg.last().unwrap().lifetime_secs, 0);
    assert_eq!(m.counters().get("mag.detach.arp"), 1);
    let host: ipnet::Ipv4Net = "10.1.2.5/32".parse().unwrap();
    assert!(
        m.engine()
            .routes()
            .get(RouteTable::Destination, host)
            .is_none()
    );
    assert!(!m.engine().is_local4(&a("10.1.2.1")));
}

#[test]
fn ipv4_goes_through_the_tunnel_both_ways() {
    let mut m = mag();
    registered_dual(&mut m);
    let up = router::icmpv4::echo_request(a("10.1.1.5"), a("192.0.2.100"), 1);
    let out = feed(&mut m, t(100), &ethernet_ipv4(DUAL, FIXED_MAC, &up));
    let (port, frame) = &out[0];
    assert_eq!(*port, UPLINK);
    let outer = Ipv6Packet::new_checked(&frame[14..]).unwrap();
    assert_eq!(
        (outer.next_header(), outer.dst_addr()),
        (IpProtocol::Unknown(4), lmaa())
    );
    let down = router::icmpv4::echo_request(a("192.0.2.100"), a("10.1.1.5"), 2);
    let mut outer = Vec::new();
    router::tunnel::encapsulate(lmaa(), pcoa(), &down, 64, 1500, &mut outer).unwrap();
    let mut out = Out::new();
    m.on_frame(
        t(110),
        UPLINK,
        &ethernet_ipv6(LMA_MAC, UPLINK_MAC, &outer),
        &mut out,
    );
    let eth = EthernetFrame::new_checked(&out[0].1[..]).unwrap();
    assert_eq!((out[0].0, Mac::from(eth.dst_addr())), (ACCESS, DUAL));
    assert_eq!(
        Ipv4Packet::new_checked(eth.payload()).unwrap().hop_limit(),
        62
    );
    // The node pings its default router.
    let ping = router::icmpv4::echo_request(a("10.1.1.5"), a("10.1.1.1"), 3);
    let out = feed(&mut m, t(120), &ethernet_ipv4(DUAL, FIXED_MAC, &ping));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, ACCESS);
}

/// An IPv4 packet from the correspondent with Echo sequence `seq`, as the
/// LMA tunnels it to the MAG (IPv4-in-IPv6).
fn tunnelled4(dst: &str, seq: u16) -> Vec<u8> {
    let down = router::icmpv4::echo_request(a("192.0.2.100"), a(dst), seq);
    let mut outer = Vec::new();
    router::tunnel::encapsulate(lmaa(), pcoa(), &down, 64, 1500, &mut outer).unwrap();
    ethernet_ipv6(LMA_MAC, UPLINK_MAC, &outer)
}

/// The Echo sequence numbers and TTLs of the IPv4 packets sent to `mac`.
fn echoes_to(out: &Out, mac: Mac) -> Vec<(u16, u8)> {
    out.iter()
        .filter(|(p, _)| *p == ACCESS)
        .filter_map(|(_, f)| {
            let eth = EthernetFrame::new_checked(&f[..]).ok()?;
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            let icmp = smoltcp::wire::Icmpv4Packet::new_checked(ip.payload()).ok()?;
            (eth.ethertype() == EthernetProtocol::Ipv4 && Mac::from(eth.dst_addr()) == mac)
                .then(|| (icmp.echo_seq_no(), ip.hop_limit()))
        })
        .collect()
}

/// A hypervisor's "arriving" hint for an IPv4-only node (issue: proactive
/// handover): one PBU at once with option 36 and no HNP, the IPv4 downlink
/// held while the node is silent (no ARP probe, no detachment), and its
/// gratuitous ARP on resume delivers what was held, in order, before the
/// router's ARP announcement.
#[test]
fn a_hinted_ipv4_only_node_gets_its_held_downlink_on_its_gratuitous_arp() {
    let mut m = mag();
    let mut out = Out::new();
    let hint = router::ctl::Request::Arriving {
        mac: Some(V4ONLY.to_string()),
        mn_id: None,
        timeout_ms: None,
    };
    let answer = m.control(t(10), &hint, &mut out);
    assert!(answer.ok, "{answer:?}");
    let pbu = pbus(&out)[0].clone();
    assert!(pbu.options.hnps.is_empty(), "no HNP for an IPv4-only node");
    let req = pbu.options.ipv4_home_address_request.unwrap();
    assert_eq!(req.address, Ipv4Addr::UNSPECIFIED);
    assert_eq!(
        pbu.options.handoff_indicator,
        Some(HandoffIndicator::InterMag)
    );
    let out = pba(
        &mut m,
        t(40),
        &pbu,
        None,
        Some(("10.1.2.5", 24, "10.1.2.1")),
    );
    assert!(
        arps(&out).is_empty(),
        "the router is announced once it is here"
    );
    assert!(m.engine().holds(a("10.1.2.5")));
    let mut held = Out::new();
    for seq in 1..=5 {
        m.on_frame(
            t(50 + i64::from(seq)),
            UPLINK,
            &tunnelled4("10.1.2.5", seq),
            &mut held,
        );
    }
    while let Some(at) = m.poll_at().filter(|at| *at < t(3000)) {
        m.on_timer(at, &mut held);
    }
    assert!(echoes_to(&held, V4ONLY).is_empty(), "held, not sent");
    assert!(
        arps(&held).iter().all(|f| f.eth_dst != V4ONLY),
        "a paused node is not probed"
    );
    assert!(m.awaits(&V4ONLY) && m.bindings().get(&V4ONLY).is_some());

    let out = feed(&mut m, t(3000), &gratuitous(V4ONLY, a("10.1.2.5")));
    let delivered = echoes_to(&out, V4ONLY);
    assert_eq!(
        delivered,
        (1..=5).map(|s| (s, 62)).collect::<Vec<_>>(),
        "in order, one hop further (as when not held)"
    );
    let first_echo = out
        .iter()
        .position(|(_, f)| f.get(12..14) == Some(&[0x08, 0x00][..]))
        .unwrap();
    let announced = out
        .iter()
        .position(|(_, f)| ArpFrame::parse(f).is_ok_and(|a| a.reply && a.eth_dst == V4ONLY))
        .unwrap();
    assert!(first_echo < announced, "the held packets, then the router");
    assert!(!m.awaits(&V4ONLY));
    assert!(!m.engine().holds(a("10.1.2.5")));
    assert_eq!(m.counters().get("mag.hold.delivered"), 5);
    // Later downlink flows straight through.
    let out = feed_uplink(&mut m, t(3010), &tunnelled4("10.1.2.5", 6));
    assert_eq!(echoes_to(&out, V4ONLY), vec![(6, 62)]);
}

fn feed_uplink(m: &mut Mag, now: Instant, frame: &[u8]) -> Out {
    let mut out = Out::new();
    m.on_frame(now, UPLINK, frame, &mut out);
    out
}

#[test]
fn malformed_dhcp_and_arp_change_nothing() {
    // Any frame from a policy node may register it: here only DHCP and ARP may.
    let mut m = mag_with("dhcp,arp".parse().unwrap());
    let good = dhcp(MessageType::Discover, V4ONLY, "0.0.0.0", None, None);
    let mut rng = router::rng::SplitMix64::new(5);
    let mut out = Out::new();
    for n in 0..good.len() {
        m.on_frame(t(1), ACCESS, &good[..n], &mut out);
    }
    let arp = request(V4ONLY, a("10.1.2.5"), a("10.1.2.1"), None);
    for n in 0..arp.len() {
        m.on_frame(t(1), ACCESS, &arp[..n], &mut out);
    }
    for _ in 0..2000 {
        let mut f = good.clone();
        for _ in 0..2 {
            let i = 14 + rng.below((f.len() - 14) as u64) as usize;
            f[i] = rng.below(256) as u8;
        }
        m.on_frame(t(1), ACCESS, &f, &mut out);
        let mut g = arp.clone();
        g[14 + rng.below(8) as usize] ^= 0xff;
        m.on_frame(t(1), ACCESS, &g, &mut out);
    }
    assert!(
        pbus(&out).is_empty() && replies(&out).is_empty(),
        "no PBU, no lease"
    );
    let c = m.counters();
    assert!(c.get("drop.bad_ipv4_checksum") + c.get("dhcp.drop.bad_checksum") > 1000);
    // A frame that claims another client's hardware address is refused too.
    let mut spoofed = good.clone();
    spoofed[6..12].copy_from_slice(STRANGER.as_bytes());
    m.on_frame(t(2), ACCESS, &spoofed, &mut out);
    assert_eq!(m.counters().get("dhcp.drop.chaddr_not_source"), 1);
    assert!(m.bindings().is_empty());
}
