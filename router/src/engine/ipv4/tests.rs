use super::*;
use crate::arp::frames::{ArpFrame, ethernet_ipv4, request};
use crate::engine::EnginePort;
use crate::ipv4::tests::udp4;
use crate::tunnel::IPPROTO_IPIP;
use smoltcp::wire::{EthernetFrame, EthernetProtocol, Icmpv4Message, Icmpv4Packet, Ipv6Packet};
use std::net::Ipv6Addr;

const CORE_MAC: Mac = Mac([2, 0, 0, 0, 0, 1]);
const WAN_MAC: Mac = Mac([2, 0, 0, 0, 0, 2]);
const ACCESS_MAC: Mac = Mac([2, 0, 0, 0, 0, 3]);
const CLIENT: Mac = Mac([0x52, 0x54, 0, 0, 0x0c, 1]);
const NODE: Mac = Mac([0x52, 0x54, 0, 0xaa, 0, 1]);
const PEER: Mac = Mac([0x02, 0x4c, 0, 0, 0, 9]);

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn a6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// Port 0: the core link 192.0.2.1/24, port 1: a WAN link with a tunnel peer
/// at 2001:db8:ff:1::2, port 2: an access link 10.1.1.1/24.
fn engine() -> Engine {
    let mut core = EnginePort::new(CORE_MAC);
    core.ipv4 = vec!["192.0.2.1/24".parse().unwrap()];
    core.addresses = vec!["2001:db8:c::1/64".parse().unwrap()];
    let mut wan = EnginePort::new(WAN_MAC);
    wan.addresses = vec!["2001:db8:ff:1::1/64".parse().unwrap()];
    let mut access = EnginePort::new(ACCESS_MAC);
    access.ipv4 = vec!["10.1.1.1/24".parse().unwrap()];
    let mut e = Engine::new(vec![core, wan, access], Instant::ZERO);
    let mut tx = Vec::new();
    let now = Instant::ZERO;
    e.nd_mut(1)
        .unwrap()
        .note_neighbor(now, a6("2001:db8:ff:1::2"), PEER, &mut tx);
    e
}

fn t0() -> Instant {
    Instant::ZERO
}

fn icmp_of(frame: &[u8]) -> (Ipv4Packet<&[u8]>, Icmpv4Message, u8) {
    let ip = Ipv4Packet::new_checked(&frame[14..]).unwrap();
    assert!(ip.verify_checksum());
    let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
    assert!(icmp.verify_checksum());
    let (ty, code) = (icmp.msg_type(), icmp.msg_code());
    (ip, ty, code)
}

#[test]
fn forwards_between_links_resolving_with_arp_and_decrementing_the_ttl() {
    let mut e = engine();
    let mut tx = Vec::new();
    let packet = udp4("192.0.2.100", "10.1.1.5", 64, 32, true);
    e.on_frame(t0(), 0, &ethernet_ipv4(CLIENT, CORE_MAC, &packet), &mut tx);
    let asked: Vec<ArpFrame> = tx
        .iter()
        .filter_map(|(_, f)| ArpFrame::parse(f).ok())
        .collect();
    assert_eq!(tx.len(), 1, "an ARP request and the packet queued");
    assert_eq!(
        (tx[0].0, asked[0].target_ip, asked[0].sender_ip),
        (2, a("10.1.1.5"), a("10.1.1.1"))
    );
    let reply = crate::arp::frames::build(
        ACCESS_MAC,
        &crate::arp::ArpMessage {
            reply: true,
            sender_mac: NODE,
            sender_ip: a("10.1.1.5"),
            target_mac: ACCESS_MAC,
            target_ip: a("10.1.1.1"),
        },
    );
    let mut tx = Vec::new();
    e.on_frame(t0(), 2, &reply, &mut tx);
    assert_eq!(tx.len(), 1);
    let out = Ipv4Packet::new_checked(&tx[0].1[14..]).unwrap();
    assert_eq!(out.hop_limit(), 63);
    assert!(out.verify_checksum());
    // Now resolved: the next one leaves at once, on the fast path.
    let mut tx = Vec::new();
    e.on_frame(t0(), 0, &ethernet_ipv4(CLIENT, CORE_MAC, &packet), &mut tx);
    let eth = EthernetFrame::new_checked(&tx[0].1[..]).unwrap();
    assert_eq!(
        (Mac::from(eth.dst_addr()), eth.ethertype()),
        (NODE, EthernetProtocol::Ipv4)
    );
    assert_eq!(e.counters.get("fwd.packets"), 2);
}

#[test]
fn ttl_and_route_problems_are_answered_with_icmpv4_errors() {
    let mut e = engine();
    let mut tx = Vec::new();
    e.arp_mut(0)
        .unwrap()
        .note_neighbor(t0(), a("192.0.2.100"), CLIENT, &mut tx);
    let dying = udp4("192.0.2.100", "10.1.1.5", 1, 8, true);
    e.on_frame(t0(), 0, &ethernet_ipv4(CLIENT, CORE_MAC, &dying), &mut tx);
    let (ip, ty, code) = icmp_of(&tx[0].1);
    assert_eq!((ty, code), (Icmpv4Message::TimeExceeded, 0));
    assert_eq!(
        (ip.src_addr(), ip.dst_addr()),
        (a("192.0.2.1"), a("192.0.2.100"))
    );
    let mut tx = Vec::new();
    let nowhere = udp4("192.0.2.100", "198.51.100.1", 64, 8, true);
    e.on_frame(t0(), 0, &ethernet_ipv4(CLIENT, CORE_MAC, &nowhere), &mut tx);
    assert_eq!(icmp_of(&tx[0].1).1, Icmpv4Message::DstUnreachable);
    assert_eq!(e.counters.get("drop.no_route"), 1);
    let mut tx = Vec::new();
    let martian = udp4("127.0.0.1", "10.1.1.5", 64, 8, true);
    e.on_frame(t0(), 0, &ethernet_ipv4(CLIENT, CORE_MAC, &martian), &mut tx);
    assert!(tx.is_empty());
    assert_eq!(e.counters.get("drop.martian"), 1);
}

#[test]
fn ipv4_goes_into_the_tunnel_as_next_header_4_and_comes_out_forwarded() {
    let mut e = engine();
    let (lma, mag) = (a6("2001:db8:ff:1::1"), a6("2001:db8:ff:1::2"));
    let hoa: ipnet::Ipv4Net = "10.9.9.5/32".parse().unwrap();
    e.routes_mut()
        .tunnel_into(RouteTable::Destination, hoa, lma, mag);
    let mut tx = Vec::new();
    let packet = udp4("192.0.2.100", "10.9.9.5", 64, 32, true);
    e.on_frame(t0(), 0, &ethernet_ipv4(CLIENT, CORE_MAC, &packet), &mut tx);
    assert_eq!(tx.len(), 1);
    let outer = Ipv6Packet::new_checked(&tx[0].1[14..]).unwrap();
    assert_eq!(outer.next_header(), IpProtocol::Unknown(IPPROTO_IPIP));
    assert_eq!((outer.src_addr(), outer.dst_addr()), (lma, mag));
    assert_eq!(ttl(outer.payload()), 63);
    // The other way: decapsulated and forwarded by its destination.
    e.arp_mut(0)
        .unwrap()
        .note_neighbor(t0(), a("192.0.2.100"), CLIENT, &mut tx);
    let up = udp4("10.9.9.5", "192.0.2.100", 64, 32, true);
    let mut outer = Vec::new();
    crate::tunnel::encapsulate(mag, lma, &up, 64, 1500, &mut outer).unwrap();
    let mut tx = Vec::new();
    e.on_frame(
        t0(),
        1,
        &crate::nd::frames::ethernet_ipv6(PEER, WAN_MAC, &outer),
        &mut tx,
    );
    assert_eq!(tx.len(), 1, "{:?}", e.all_counters());
    assert_eq!(tx[0].0, 0);
    let inner = Ipv4Packet::new_checked(&tx[0].1[14..]).unwrap();
    assert_eq!(
        (inner.dst_addr(), inner.hop_limit()),
        (a("192.0.2.100"), 62)
    );
    assert_eq!(e.counters.get("tunnel.decapsulated"), 1);
}

/// A tunnelled packet from a peer the router has no tunnel with is dropped
/// and counted; a core that asked for them (a MAG, for a peer MAG's copies)
/// gets it whole instead, and nothing is forwarded either way.
#[test]
fn a_packet_from_an_unknown_tunnel_is_dropped_or_passed_up() {
    let (lma, stranger) = (a6("2001:db8:ff:1::1"), a6("2001:db8:ff:1::7"));
    let up = udp4("10.9.9.5", "192.0.2.100", 64, 32, true);
    let mut outer = Vec::new();
    crate::tunnel::encapsulate(stranger, lma, &up, 64, 1500, &mut outer).unwrap();
    let frame = crate::nd::frames::ethernet_ipv6(PEER, WAN_MAC, &outer);
    let mut e = engine();
    let mut tx = Vec::new();
    assert!(e.on_frame(t0(), 1, &frame, &mut tx).is_none());
    assert!(tx.is_empty());
    assert_eq!(e.counters.get("drop.tunnel_unknown_source"), 1);
    e.pass_up_unknown_tunnels = true;
    match e.on_frame(t0(), 1, &frame, &mut tx) {
        Some(EngineEvent::Local { port, packet, .. }) => {
            assert_eq!((port, packet), (1, &outer[..]));
        }
        other => panic!("{other:?}"),
    }
    assert!(tx.is_empty());
    assert_eq!(e.counters.get("drop.tunnel_unknown_source"), 1);
}

#[test]
fn too_big_for_the_tunnel_needs_fragmentation_or_is_cut() {
    let mut e = engine();
    let (lma, mag) = (a6("2001:db8:ff:1::1"), a6("2001:db8:ff:1::2"));
    let hoa: ipnet::Ipv4Net = "10.9.9.5/32".parse().unwrap();
    e.routes_mut()
        .tunnel_into(RouteTable::Destination, hoa, lma, mag);
    let mut tx = Vec::new();
    e.arp_mut(0)
        .unwrap()
        .note_neighbor(t0(), a("192.0.2.100"), CLIENT, &mut tx);
    let big = udp4("192.0.2.100", "10.9.9.5", 64, 1480, true);
    e.on_frame(t0(), 0, &ethernet_ipv4(CLIENT, CORE_MAC, &big), &mut tx);
    let (_, ty, code) = icmp_of(&tx[0].1);
    assert_eq!((ty, code), (Icmpv4Message::DstUnreachable, 4));
    assert_eq!(&tx[0].1[14 + 26..14 + 28], &1460u16.to_be_bytes());
    let mut tx = Vec::new();
    let loose = udp4("192.0.2.100", "10.9.9.5", 64, 1480, false);
    e.on_frame(t0(), 0, &ethernet_ipv4(CLIENT, CORE_MAC, &loose), &mut tx);
    assert_eq!(tx.len(), 2, "two fragments, each tunnelled");
    assert!(tx.iter().all(|(p, f)| *p == 1 && f.len() <= 14 + 1500));
    assert_eq!(e.counters.get("tunnel.fragmented"), 1);
}

#[test]
fn the_router_answers_echoes_and_arp_and_passes_dhcp_up() {
    let mut e = engine();
    let mut tx = Vec::new();
    let asked = request(NODE, a("10.1.1.5"), a("10.1.1.1"), None);
    assert!(matches!(
        e.on_frame(t0(), 2, &asked, &mut tx),
        Some(EngineEvent::Arp { port: 2, .. })
    ));
    assert!(ArpFrame::parse(&tx[0].1).unwrap().reply);
    let mut tx = Vec::new();
    let echo = crate::icmpv4::echo_request(a("10.1.1.5"), a("10.1.1.1"), 3);
    assert!(
        e.on_frame(t0(), 2, &ethernet_ipv4(NODE, ACCESS_MAC, &echo), &mut tx)
            .is_none()
    );
    let (ip, ty, _) = icmp_of(&tx[0].1);
    assert_eq!(
        (ty, ip.dst_addr()),
        (Icmpv4Message::EchoReply, a("10.1.1.5"))
    );
    let discover = crate::dhcp::ClientRequest::discover(NODE, 1).frame();
    let mut tx = Vec::new();
    assert!(matches!(
        e.on_frame(t0(), 2, &discover, &mut tx),
        Some(EngineEvent::Local4 {
            port: 2,
            src_mac: NODE,
            ..
        })
    ));
    assert!(tx.is_empty());
}

#[test]
fn malformed_ipv4_and_arp_are_counted_and_change_nothing() {
    let mut e = engine();
    let good = ethernet_ipv4(
        CLIENT,
        CORE_MAC,
        &udp4("192.0.2.100", "10.1.1.5", 64, 8, true),
    );
    let mut rng = crate::rng::SplitMix64::new(11);
    let mut tx = Vec::new();
    for n in 0..good.len() {
        e.on_frame(t0(), 0, &good[..n], &mut tx);
    }
    let mut bad_sum = good.clone();
    bad_sum[14 + 8] = 9;
    e.on_frame(t0(), 0, &bad_sum, &mut tx);
    assert_eq!(e.counters.get("drop.bad_ipv4_checksum"), 1);
    for _ in 0..3000 {
        let mut f = good.clone();
        let i = 14 + rng.below((f.len() - 14) as u64) as usize;
        f[i] = rng.below(256) as u8;
        e.on_frame(t0(), 0, &f, &mut tx);
        let mut arp = request(NODE, a("10.1.1.5"), a("10.1.1.1"), None);
        let j = 14 + rng.below(28) as usize;
        arp[j] = rng.below(256) as u8;
        e.on_frame(t0(), 2, &arp, &mut tx);
    }
    assert!(e.routes().tunnels().is_empty());
    assert!(e.counters.get("drop.bad_ipv4_checksum") > 1000);
}

#[test]
fn held_addresses_go_to_the_core_in_order_and_untouched_until_released() {
    let mut e = engine();
    let host = ipnet::Ipv4Net::from(a("10.1.1.5"));
    e.hold(host);
    assert!(e.holds(a("10.1.1.5")) && !e.holds(a("10.1.1.6")));
    let mut tx = Vec::new();
    let packets = [
        udp4("192.0.2.100", "10.1.1.5", 64, 32, true),
        udp4("192.0.2.100", "10.1.1.5", 63, 40, true),
    ];
    for p in &packets {
        e.on_frame(t0(), 0, &ethernet_ipv4(CLIENT, CORE_MAC, p), &mut tx);
    }
    assert!(tx.is_empty(), "no ARP for a held address, nothing sent");
    assert_eq!(e.take_held(), packets.to_vec());
    assert_eq!(e.counters.get("fwd.held"), 2);
    e.release(host);
    assert!(!e.holds(a("10.1.1.5")));
    e.on_frame(
        t0(),
        0,
        &ethernet_ipv4(CLIENT, CORE_MAC, &packets[0]),
        &mut tx,
    );
    assert_eq!(tx.len(), 1, "forwarded again: its ARP request");
    assert!(e.take_held().is_empty());
}
