use super::*;
use crate::engine::EnginePort;
use crate::gso::testing::{payload, tcp6, vnet, with_flags};
use crate::gso::{Layout, MAX_SUPERFRAME};
use crate::wire::virtio_net::GsoType;
use smoltcp::wire::{IpAddress, TcpPacket};
use std::net::Ipv6Addr;

/// What the engine handed to its ports, offload metadata included.
#[derive(Default)]
struct Wire {
    plain: Vec<(PortId, Vec<u8>)>,
    offloaded: Vec<(PortId, Vec<u8>, Offload)>,
}

impl Tx for Wire {
    fn send(&mut self, port: PortId, frame: &[u8]) {
        self.plain.push((port, frame.to_vec()));
    }
    fn send_offload(&mut self, port: PortId, frame: &[u8], offload: &Offload) {
        self.offloaded.push((port, frame.to_vec(), *offload));
    }
}

const H2_MAC: Mac = Mac([0x02, 0, 0, 0, 0, 0x22]);
const PORT1_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x11];

fn h2() -> Ipv6Addr {
    "2001:db8:2::2".parse().unwrap()
}

/// Port 0 (MAC 02::1, the test frames' destination) on 2001:db8:1::/64, port 1
/// on 2001:db8:2::/64 with `mtu`, h2 (2001:db8:2::2) known on port 1 or not.
fn engine(mtu: usize, h2_known: bool) -> Engine {
    let port = |mac: [u8; 6], addr: &str, mtu| {
        let mut p = EnginePort::new(Mac(mac));
        p.mtu = mtu;
        p.addresses = vec![addr.parse().unwrap()];
        p
    };
    let mut e = Engine::new(
        vec![
            port([2, 0, 0, 0, 0, 1], "2001:db8:1::1/64", 1500),
            port(PORT1_MAC, "2001:db8:2::1/64", mtu),
        ],
        Instant::ZERO,
    );
    if h2_known {
        let nd = e.nd_mut(1).unwrap();
        nd.note_neighbor(Instant::ZERO, h2(), H2_MAC, &mut Vec::new());
    }
    e
}

fn rx_superframe(e: &mut Engine, frame: &mut [u8], wire: &mut Wire) {
    let offload = Offload::from_vnet(&vnet(GsoType::TcpV6, 1428, 54, 16), frame).unwrap();
    assert!(offload.gso.is_some());
    let mut scratch = vec![0; MAX_SUPERFRAME];
    let event = e.on_rx(
        Instant::ZERO,
        0,
        Rx::new(frame, offload, &mut scratch),
        wire,
    );
    assert!(event.is_none());
}

fn tcp_ok(frame: &[u8]) -> bool {
    let ip = Ipv6Packet::new_checked(&frame[14..]).unwrap();
    TcpPacket::new_checked(ip.payload())
        .unwrap()
        .verify_checksum(
            &IpAddress::Ipv6(ip.src_addr()),
            &IpAddress::Ipv6(ip.dst_addr()),
        )
}

#[test]
fn a_superframe_to_a_neighbor_goes_on_whole_rewritten_in_place() {
    let mut e = engine(1500, true);
    let original = with_flags(tcp6(1, &payload(30_000), true), 0x08, true);
    let mut frame = original.clone();
    let mut wire = Wire::default();
    rx_superframe(&mut e, &mut frame, &mut wire);
    assert!(wire.plain.is_empty());
    assert_eq!(wire.offloaded.len(), 1);
    let (port, out, offload) = &wire.offloaded[0];
    assert_eq!(*port, 1);
    assert_eq!(&out[..6], &H2_MAC.0);
    assert_eq!(&out[6..12], &PORT1_MAC);
    assert_eq!(out[21], 63, "hop limit decremented");
    assert_eq!(&out[12..21], &original[12..21]);
    assert_eq!(
        &out[22..],
        &original[22..],
        "IPv6 addresses and TCP untouched"
    );
    assert_eq!(offload.gso.unwrap().size, 1428);
    assert_eq!(offload.partial, Some((54, 16)));
    let c = &e.counters;
    assert_eq!((c.get("fwd.packets"), c.get("fwd.superframes")), (1, 1));
}

#[test]
fn a_smaller_egress_mtu_makes_smaller_segments_not_an_error() {
    let mut e = engine(1280, true);
    let mut frame = tcp6(1, &payload(30_000), true);
    let mut wire = Wire::default();
    rx_superframe(&mut e, &mut frame, &mut wire);
    let (_, out, offload) = &wire.offloaded[0];
    let gso = offload.gso.unwrap();
    assert_eq!(gso.size, 1280 - 40 - 32);
    assert_eq!(gso.segment_ip_len(), 1280);
    let mut lens = Vec::new();
    let mut buf = vec![0; 2000];
    segment(out, &gso, gso.size, &mut buf, &mut |s| lens.push(s.len())).unwrap();
    assert!(lens.iter().all(|&l| l <= 14 + 1280));
}

#[test]
fn an_unknown_neighbor_gets_ordinary_segments_queued_behind_resolution() {
    let mut e = engine(1500, false);
    let mut frame = tcp6(1, &payload(5000), true);
    let mut wire = Wire::default();
    rx_superframe(&mut e, &mut frame, &mut wire);
    assert!(wire.offloaded.is_empty());
    assert_eq!(
        wire.plain.len(),
        1,
        "only the neighbor solicitation went out"
    );
    let mut flushed = Vec::new();
    let nd = e.nd_mut(1).unwrap();
    nd.note_neighbor(Instant::ZERO, h2(), H2_MAC, &mut flushed);
    assert!(!flushed.is_empty());
    assert!(
        flushed
            .iter()
            .all(|(p, f)| *p == 1 && f.len() <= 1514 && tcp_ok(f))
    );
}

#[test]
fn a_superframe_into_a_tunnel_is_cut_to_the_tunnel_mtu() {
    let mut e = engine(1500, true);
    let h1_prefix: ipnet::Ipv6Net = "2001:db8:1::/64".parse().unwrap();
    let local = "2001:db8:2::1".parse().unwrap();
    let routes = e.routes_mut();
    routes.tunnel_into(crate::routes::RouteTable::Source, h1_prefix, local, h2());
    let data = payload(20_000);
    let mut frame = tcp6(77, &data, true);
    let mut wire = Wire::default();
    rx_superframe(&mut e, &mut frame, &mut wire);
    assert!(wire.offloaded.is_empty());
    let mut joined = Vec::new();
    for (port, outer) in &wire.plain {
        assert_eq!(*port, 1);
        assert!(outer.len() <= 1514, "{}", outer.len());
        let ip = Ipv6Packet::new_checked(&outer[14..]).unwrap();
        assert_eq!(ip.next_header(), IpProtocol::Unknown(41));
        let mut inner = vec![0; 14];
        inner.extend_from_slice(ip.payload());
        assert!(tcp_ok(&inner));
        assert_eq!(inner[21], 63);
        let tcp = TcpPacket::new_checked(&inner[54..]).unwrap();
        joined.extend_from_slice(tcp.payload());
    }
    assert_eq!(joined, data);
    let c = &e.counters;
    assert_eq!(c.get("tunnel.superframes_cut"), 1);
    assert_eq!(c.get("tunnel.encapsulated") as usize, wire.plain.len());
}

#[test]
fn a_partial_checksum_for_the_router_itself_is_completed_first() {
    let mut e = engine(1500, true);
    let mut frame = tcp6(1, &payload(500), true);
    let own: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
    frame[38..54].copy_from_slice(&own.octets());
    // The pseudo-header sum for the new destination, as the sender would put it.
    let layout = Layout::parse(&frame).unwrap();
    let mut full = frame.clone();
    crate::gso::testing::refill(&mut full, &layout, false);
    crate::gso::testing::refill(&mut frame, &layout, true);
    let offload = Offload {
        partial: Some((54, 16)),
        gso: None,
    };
    let mut scratch = vec![0; 100];
    let mut wire = Wire::default();
    let rx = Rx::new(&mut frame, offload, &mut scratch);
    match e.on_rx(Instant::ZERO, 0, rx, &mut wire) {
        Some(EngineEvent::Local { packet, .. }) => assert_eq!(packet, &full[14..]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn hop_limit_holds_for_superframes_too() {
    let mut e = engine(1500, true);
    let mut frame = tcp6(1, &payload(5000), true);
    frame[21] = 1;
    let mut wire = Wire::default();
    rx_superframe(&mut e, &mut frame, &mut wire);
    assert!(wire.offloaded.is_empty());
    assert_eq!(e.counters.get("drop.hop_limit"), 1);
}

const H4_MAC: Mac = Mac([0x02, 0, 0, 0, 0, 0x44]);

/// [`engine`] with IPv4 too: port 0 also on 10.0.0.254/24, port 1 on
/// 10.0.1.254/24; h4 (10.0.1.1, the test frames' destination) known on port 1
/// or not.
fn engine4(mtu: usize, h4_known: bool) -> Engine {
    let port = |mac: [u8; 6], addr: &str, addr4: &str, mtu| {
        let mut p = EnginePort::new(Mac(mac));
        p.mtu = mtu;
        p.addresses = vec![addr.parse().unwrap()];
        p.ipv4 = vec![addr4.parse().unwrap()];
        p
    };
    let mut e = Engine::new(
        vec![
            port(
                [2, 0, 0, 0, 0, 1],
                "2001:db8:1::1/64",
                "10.0.0.254/24",
                1500,
            ),
            port(PORT1_MAC, "2001:db8:2::1/64", "10.0.1.254/24", mtu),
        ],
        Instant::ZERO,
    );
    let nd = e.nd_mut(1).unwrap();
    nd.note_neighbor(Instant::ZERO, h2(), H2_MAC, &mut Vec::new());
    if h4_known {
        let arp = e.arp_mut(1).unwrap();
        arp.note_neighbor(Instant::ZERO, h4(), H4_MAC, &mut Vec::new());
    }
    e
}

fn h4() -> std::net::Ipv4Addr {
    "10.0.1.1".parse().unwrap()
}

fn rx_superframe4(e: &mut Engine, frame: &mut [u8], wire: &mut Wire) {
    let offload = Offload::from_vnet(&vnet(GsoType::TcpV4, 1448, 34, 16), frame).unwrap();
    assert!(offload.gso.is_some());
    let mut scratch = vec![0; MAX_SUPERFRAME];
    let event = e.on_rx(
        Instant::ZERO,
        0,
        Rx::new(frame, offload, &mut scratch),
        wire,
    );
    assert!(event.is_none());
}

/// The IPv4 header checksum and the TCP checksum of an ordinary frame.
fn tcp4_ok(frame: &[u8]) -> bool {
    let ip = Ipv4Packet::new_checked(&frame[14..]).unwrap();
    ip.verify_checksum()
        && TcpPacket::new_checked(ip.payload())
            .unwrap()
            .verify_checksum(
                &IpAddress::Ipv4(ip.src_addr()),
                &IpAddress::Ipv4(ip.dst_addr()),
            )
}

#[test]
fn an_ipv4_superframe_to_a_neighbor_goes_on_whole_with_its_ttl_and_checksum() {
    use crate::gso::testing::tcp4;
    let mut e = engine4(1500, true);
    let original = tcp4(1, &payload(30_000), true);
    let mut frame = original.clone();
    let mut wire = Wire::default();
    rx_superframe4(&mut e, &mut frame, &mut wire);
    assert!(wire.plain.is_empty());
    assert_eq!(wire.offloaded.len(), 1);
    let (port, out, offload) = &wire.offloaded[0];
    assert_eq!(*port, 1);
    assert_eq!(&out[..6], &H4_MAC.0);
    assert_eq!(&out[12..14], &[0x08, 0x00]);
    assert_eq!(out[14 + 8], 63, "TTL decremented");
    assert!(
        Ipv4Packet::new_checked(&out[14..])
            .unwrap()
            .verify_checksum()
    );
    assert_eq!(&out[34..], &original[34..], "TCP untouched");
    let gso = offload.gso.unwrap();
    assert_eq!((gso.size, gso.layout.ipv6), (1448, false));
    let mut buf = vec![0; 2000];
    let mut segs = 0;
    segment(out, &gso, gso.size, &mut buf, &mut |s| {
        assert!(tcp4_ok(s) && s[14 + 8] == 63);
        segs += 1;
    })
    .unwrap();
    assert_eq!(segs, 30_000usize.div_ceil(1448));
    let c = &e.counters;
    assert_eq!((c.get("fwd.packets"), c.get("fwd.superframes")), (1, 1));
}

#[test]
fn an_ipv4_superframe_into_a_tunnel_is_cut_to_the_tunnel_mtu() {
    use crate::gso::testing::tcp4;
    let mut e = engine4(1500, true);
    let local = "2001:db8:2::1".parse().unwrap();
    let node: ipnet::Ipv4Net = "10.0.1.0/24".parse().unwrap();
    e.routes_mut()
        .tunnel_into(crate::routes::RouteTable::Destination, node, local, h2());
    let data = payload(20_000);
    let mut frame = tcp4(77, &data, true);
    let mut wire = Wire::default();
    rx_superframe4(&mut e, &mut frame, &mut wire);
    assert!(wire.offloaded.is_empty());
    let mut joined = Vec::new();
    for (port, outer) in &wire.plain {
        assert_eq!(*port, 1);
        assert!(outer.len() <= 1514, "{}", outer.len());
        let ip = Ipv6Packet::new_checked(&outer[14..]).unwrap();
        assert_eq!(ip.next_header(), IpProtocol::Unknown(4));
        let mut inner = vec![0; 14];
        inner.extend_from_slice(ip.payload());
        assert!(tcp4_ok(&inner));
        let tcp = TcpPacket::new_checked(&inner[34..]).unwrap();
        joined.extend_from_slice(tcp.payload());
    }
    assert_eq!(joined, data);
    let c = &e.counters;
    assert_eq!(c.get("tunnel.superframes_cut"), 1);
    assert_eq!(c.get("tunnel.encapsulated") as usize, wire.plain.len());
    assert_eq!(c.get("icmp.errors_sent"), 0, "cut to fit, no ICMP");
}

#[test]
fn an_unknown_ipv4_neighbor_gets_ordinary_segments_queued_behind_arp() {
    use crate::gso::testing::tcp4;
    let mut e = engine4(1500, false);
    let mut frame = tcp4(1, &payload(5000), true);
    let mut wire = Wire::default();
    rx_superframe4(&mut e, &mut frame, &mut wire);
    assert!(wire.offloaded.is_empty());
    assert_eq!(wire.plain.len(), 1, "only the ARP request went out");
    let mut flushed = Vec::new();
    let arp = e.arp_mut(1).unwrap();
    arp.note_neighbor(Instant::ZERO, h4(), H4_MAC, &mut flushed);
    assert!(!flushed.is_empty());
    assert!(
        flushed
            .iter()
            .all(|(p, f)| *p == 1 && f.len() <= 1514 && tcp4_ok(f) && f[14 + 8] == 63)
    );
}

#[test]
fn an_ipv4_superframe_with_ttl_1_is_answered_with_time_exceeded() {
    use crate::gso::testing::tcp4;
    let mut e = engine4(1500, true);
    let mut frame = tcp4(1, &payload(5000), true);
    frame[14 + 8] = 1;
    frame[24..26].copy_from_slice(&[0, 0]);
    let sum = !smoltcp::wire::checksum::data(&frame[14..34]);
    frame[24..26].copy_from_slice(&sum.to_be_bytes());
    let mut wire = Wire::default();
    rx_superframe4(&mut e, &mut frame, &mut wire);
    assert!(wire.offloaded.is_empty());
    assert_eq!(e.counters.get("drop.hop_limit"), 1);
}

#[test]
fn a_superframe_to_a_held_destination_is_held_as_ordinary_packets() {
    let mut e = engine(1500, true);
    e.hold("2001:db8:2::/64".parse::<ipnet::Ipv6Net>().unwrap());
    let data = payload(10_000);
    let mut frame = tcp6(5, &data, true);
    let mut wire = Wire::default();
    rx_superframe(&mut e, &mut frame, &mut wire);
    assert!(wire.offloaded.is_empty() && wire.plain.is_empty());
    let held = e.take_held();
    assert_eq!(held.len(), data.len().div_ceil(1428));
    let mut joined = Vec::new();
    for packet in &held {
        let mut f = vec![0; 14];
        f.extend_from_slice(packet);
        assert!(packet.len() <= 1500 && tcp_ok(&f));
        joined.extend_from_slice(TcpPacket::new_checked(&f[54..]).unwrap().payload());
    }
    assert_eq!(joined, data);
}
