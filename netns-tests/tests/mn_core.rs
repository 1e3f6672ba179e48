//! The mobile node agent's core without its I/O: what the kernel reports and
//! what the home agent answers in, Binding Updates, routes and tunnelled
//! packets out, with a fake clock (RFC 6275 11.5, 11.7, 11.8).

use ipnet::Ipv6Net;
use netns_tests::mn::{Action, Event, MnConfig, MobileNode};
use router::Instant;
use router::tunnel::encapsulate;
use router::wire::{HomeAddressIn, MhRepr, MnPacketRepr, MobilityOptions, PbaRepr, PbaStatus};
use smoltcp::wire::{IpProtocol, Ipv6Packet, Ipv6Repr};
use std::net::Ipv6Addr;

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn net(s: &str) -> Ipv6Net {
    s.parse().unwrap()
}

fn t(ms: i64) -> Instant {
    Instant::from_millis(ms)
}

const HOA: &str = "2001:db8:1:1::5";
const HA: &str = "2001:db8:1::1";
const R1: &str = "fe80::61:72ff:fe00:101";
const R2: &str = "fe80::61:72ff:fe00:201";

fn node() -> MobileNode {
    MobileNode::new(
        MnConfig {
            home_address: ip(HOA),
            home_agent: ip(HA),
            lifetime_secs: 420,
            link_mtu: 1500,
        },
        0,
    )
}

/// The Binding Updates among `out`: source (the CoA) and sequence number.
fn bus(out: &[Action]) -> Vec<(Ipv6Addr, u16)> {
    out.iter()
        .filter_map(|a| match a {
            Action::Send(p) => {
                let repr = MnPacketRepr::parse(p).ok()?;
                assert_eq!(repr.home, HomeAddressIn::DestinationOption(ip(HOA)));
                match repr.mh {
                    MhRepr::Pbu(bu) => {
                        assert!(bu.ack && bu.home_registration && !bu.proxy);
                        Some((repr.src, bu.sequence))
                    }
                    _ => None,
                }
            }
            _ => None,
        })
        .collect()
}

fn ba(coa: &str, sequence: u16, status: PbaStatus) -> Vec<u8> {
    let ba = MhRepr::Pba(PbaRepr {
        status,
        key_mgmt: false,
        mobile_router: false,
        proxy: false,
        sequence,
        lifetime_secs: 420,
        options: MobilityOptions::default(),
    });
    // What the raw socket of protocol 43 reads: everything after IPv6.
    MnPacketRepr::binding_ack(ip(HA), ip(coa), ip(HOA), ba).emit()[40..].to_vec()
}

fn registered_at_r1() -> MobileNode {
    let mut mn = node();
    let mut out = Vec::new();
    mn.on_event(
        t(0),
        Event::AddressReady(net("2001:db8:a:1::5/64")),
        &mut out,
    );
    assert!(out.is_empty(), "no router yet: nothing to send through");
    mn.on_event(t(10), Event::DefaultRouter(ip(R1)), &mut out);
    assert_eq!(out[0], Action::RouteHomeAgent { via: ip(R1) });
    assert_eq!(bus(&out), [(ip("2001:db8:a:1::5"), 1)]);
    out.clear();
    mn.on_routed(
        t(50),
        ip(HA),
        &ba("2001:db8:a:1::5", 1, PbaStatus::Accepted),
        &mut out,
    );
    assert_eq!(mn.care_of(), Some(ip("2001:db8:a:1::5")));
    mn
}

#[test]
fn a_lost_binding_update_is_sent_again_with_back_off_and_a_new_sequence_number() {
    let mut mn = node();
    let mut out = Vec::new();
    mn.on_event(t(0), Event::DefaultRouter(ip(R1)), &mut out);
    mn.on_event(
        t(0),
        Event::AddressReady(net("2001:db8:a:1::5/64")),
        &mut out,
    );
    assert_eq!(bus(&out).len(), 1);
    // First registration: InitialBindackTimeoutFirstReg (1.5 s), then doubling.
    for (at, expect) in [(1_499, 0), (1_500, 1), (4_499, 0), (4_500, 1), (10_500, 1)] {
        out.clear();
        mn.on_timer(t(at), &mut out);
        assert_eq!(bus(&out).len(), expect, "at {at} ms");
    }
    let seqs: Vec<u16> = bus(&out).iter().map(|(_, s)| *s).collect();
    assert_eq!(seqs, [4]);
    // A BA for an earlier transmission does not count; the latest's does.
    out.clear();
    mn.on_routed(
        t(10_600),
        ip(HA),
        &ba("2001:db8:a:1::5", 3, PbaStatus::Accepted),
        &mut out,
    );
    assert_eq!(mn.care_of(), None);
    mn.on_routed(
        t(10_600),
        ip(HA),
        &ba("2001:db8:a:1::5", 4, PbaStatus::Accepted),
        &mut out,
    );
    assert_eq!(mn.care_of(), Some(ip("2001:db8:a:1::5")));
    assert_eq!(mn.counters.get("bu.retransmitted"), 3);
}

#[test]
fn a_new_prefix_then_dad_then_bu_through_the_new_router_then_the_old_address_goes() {
    let mut mn = registered_at_r1();
    let mut out = Vec::new();
    mn.on_event(t(1000), Event::Prefix(net("2001:db8:a:2::/64")), &mut out);
    mn.on_event(t(1000), Event::DefaultRouter(ip(R2)), &mut out);
    assert!(
        out.is_empty(),
        "nothing until the kernel's DAD clears the new address"
    );
    mn.on_event(
        t(2500),
        Event::AddressReady(net("2001:db8:a:2::5/64")),
        &mut out,
    );
    assert_eq!(out[0], Action::RouteHomeAgent { via: ip(R2) });
    assert_eq!(bus(&out), [(ip("2001:db8:a:2::5"), 2)]);
    out.clear();
    mn.on_routed(
        t(2600),
        ip(HA),
        &ba("2001:db8:a:2::5", 2, PbaStatus::Accepted),
        &mut out,
    );
    assert_eq!(mn.care_of(), Some(ip("2001:db8:a:2::5")));
    assert_eq!(
        out,
        [
            Action::RemoveAddress(net("2001:db8:a:1::5/64")),
            Action::ForgetRouter(ip(R1))
        ]
    );
    // Back on the first link: the kernel learns R1 afresh, and the BU goes through it.
    out.clear();
    mn.on_event(t(5000), Event::DefaultRouter(ip(R1)), &mut out);
    mn.on_event(
        t(6500),
        Event::AddressReady(net("2001:db8:a:1::5/64")),
        &mut out,
    );
    assert_eq!(out[0], Action::RouteHomeAgent { via: ip(R1) });
    assert_eq!(bus(&out), [(ip("2001:db8:a:1::5"), 3)]);
}

#[test]
fn status_135_takes_the_home_agents_sequence_number_and_a_refusal_stops() {
    let mut mn = node();
    let mut out = Vec::new();
    mn.on_event(t(0), Event::DefaultRouter(ip(R1)), &mut out);
    mn.on_event(
        t(0),
        Event::AddressReady(net("2001:db8:a:1::5/64")),
        &mut out,
    );
    out.clear();
    let coa = "2001:db8:a:1::5";
    mn.on_routed(
        t(40),
        ip(HA),
        &ba(coa, 900, PbaStatus::SequenceNumberOutOfWindow),
        &mut out,
    );
    assert_eq!(bus(&out), [(ip(coa), 901)]);
    out.clear();
    // A BA from anyone but the home agent is ignored.
    mn.on_routed(
        t(50),
        ip("2001:db8:c::9"),
        &ba(coa, 901, PbaStatus::Accepted),
        &mut out,
    );
    assert_eq!(mn.care_of(), None);
    mn.on_routed(
        t(60),
        ip(HA),
        &ba(coa, 901, PbaStatus::NotHomeSubnet),
        &mut out,
    );
    assert_eq!(
        (mn.care_of(), mn.poll_at()),
        (None, None),
        "no retry after a refusal"
    );
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
fn home_address_traffic_goes_through_the_tunnel_both_ways() {
    let mut mn = registered_at_r1();
    let mut out = Vec::new();
    mn.on_tun(&udp(HOA, "2001:db8:c::9"), &mut out);
    let Action::Send(outer) = &out[0] else {
        panic!("{out:?}")
    };
    let p = Ipv6Packet::new_checked(&outer[..]).unwrap();
    assert_eq!(
        (p.src_addr(), p.dst_addr(), p.next_header()),
        (ip("2001:db8:a:1::5"), ip(HA), IpProtocol::Unknown(41))
    );
    out.clear();
    mn.on_tun(&udp("fe80::1", "ff02::2"), &mut out);
    assert!(
        out.is_empty(),
        "the kernel's own chatter on tun0 stays home"
    );
    let inner = udp("2001:db8:c::9", HOA);
    mn.on_tunnelled(ip(HA), &inner, &mut out);
    assert_eq!(out, [Action::ToTun(inner.clone())]);
    out.clear();
    mn.on_tunnelled(ip("2001:db8:c::9"), &inner, &mut out);
    assert!(out.is_empty(), "only the home agent tunnels to this node");
    let mut other = Vec::new();
    encapsulate(
        ip(HA),
        ip(HOA),
        &udp("2001:db8:c::9", "2001:db8:1:1::6"),
        64,
        1500,
        &mut other,
    )
    .unwrap();
    mn.on_tunnelled(ip(HA), &other[40..], &mut out);
    assert!(out.is_empty(), "not for the home address");
}
