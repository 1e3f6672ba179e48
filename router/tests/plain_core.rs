//! The plain router core driven in memory with a fake clock: RA, ND, forwarding,
//! hop limit, ICMPv6 errors, and bad input.

use router::core::{Core, PortId};
use router::ctl::Request;
use router::mac::Mac;
use router::nd::frames::{
    Addressing, NaFlags, NdFrame, NdMessage, build_na, build_rs, ethernet_ipv6,
};
use router::plain::{PlainConfig, PlainRouter, PortConfig};
use router::{Duration, Instant};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{EthernetFrame, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv6Packet, Ipv6Repr};
use std::net::Ipv6Addr;

const R0: Mac = Mac([0x02, 0, 0, 0, 0, 0x01]);
const R1: Mac = Mac([0x02, 0, 0, 0, 0, 0x02]);
const HA: Mac = Mac([0x52, 0x54, 0, 0, 0, 0x0a]);
const HB: Mac = Mac([0x52, 0x54, 0, 0, 0, 0x0b]);

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn t(ms: i64) -> Instant {
    Instant::from_millis(ms)
}

fn router() -> PlainRouter {
    let cfg = PlainConfig {
        name: "r".into(),
        ports: vec![
            PortConfig {
                mac: R0,
                mtu: 1500,
                prefixes: vec!["2001:db8:1::/64".parse().unwrap()],
            },
            PortConfig {
                mac: R1,
                mtu: 1500,
                prefixes: vec![
                    "2001:db8:2::/64".parse().unwrap(),
                    "2001:db8:22::/64".parse().unwrap(),
                ],
            },
        ],
        ra_interval: Duration::from_secs(10),
    };
    PlainRouter::new(cfg, t(0))
}

fn udp(src: &str, dst: &str, hop_limit: u8, len: usize) -> Vec<u8> {
    let mut buf = vec![0x5a; 40 + len];
    Ipv6Repr {
        src_addr: ip(src),
        dst_addr: ip(dst),
        next_header: IpProtocol::Udp,
        payload_len: len,
        hop_limit,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
    buf
}

type Out = Vec<(PortId, Vec<u8>)>;

/// A host answering the router's NS for `addr` on `port`.
fn answer_ns(r: &mut PlainRouter, now: Instant, port: PortId, mac: Mac, addr: &str, out: &mut Out) {
    let dst_mac = if port == 0 { R0 } else { R1 };
    let router_ll = r.engine().link_local(port).unwrap();
    let na = build_na(
        &Addressing {
            src_mac: mac,
            dst_mac,
            src_ip: ip(addr),
            dst_ip: router_ll,
        },
        ip(addr),
        NaFlags {
            router: false,
            solicited: true,
            override_: true,
        },
        Some(mac),
    );
    r.on_frame(now, port, &na, out);
}

/// Feeds `frame` and answers every NS the router sends for hosts A and B, so the
/// returned frames are what finally leaves the router.
fn exchange(r: &mut PlainRouter, now: Instant, port: PortId, frame: &[u8]) -> Out {
    let mut out = Out::new();
    r.on_frame(now, port, frame, &mut out);
    let mut delivered = Out::new();
    while let Some((p, f)) = out.pop() {
        match NdFrame::parse(&f) {
            Ok(NdFrame {
                message: NdMessage::NeighborSolicit { target, .. },
                ..
            }) => {
                let mac = if target == ip("2001:db8:1::a") {
                    HA
                } else {
                    HB
                };
                answer_ns(r, now, p, mac, &target.to_string(), &mut out);
            }
            _ => delivered.push((p, f)),
        }
    }
    delivered
}

fn icmp_of(frame: &[u8]) -> (Ipv6Addr, Icmpv6Repr<'_>) {
    let eth = EthernetFrame::new_checked(frame).unwrap();
    let ipp = Ipv6Packet::new_checked(eth.payload()).unwrap();
    assert_eq!(ipp.next_header(), IpProtocol::Icmpv6);
    let src = ipp.src_addr();
    let dst = ipp.dst_addr();
    let payload = &eth.payload()[40..ipp.total_len()];
    let repr = Icmpv6Repr::parse(
        &src,
        &dst,
        &Icmpv6Packet::new_checked(payload).unwrap(),
        &ChecksumCapabilities::default(),
    )
    .expect("valid ICMPv6 with a good checksum");
    (dst, repr)
}

#[test]
fn answers_rs_with_every_prefix_of_the_port() {
    let mut r = router();
    let mut out = Out::new();
    let rs = build_rs(&Addressing {
        src_mac: HB,
        dst_mac: Mac([0x33, 0x33, 0, 0, 0, 2]),
        src_ip: ip("fe80::b"),
        dst_ip: ip("ff02::2"),
    });
    r.on_frame(t(100), 1, &rs, &mut out);
    let ra = out.iter().find(|(p, _)| *p == 1).expect("an RA on port 1");
    let NdFrame { addr, message } = NdFrame::parse(&ra.1).unwrap();
    assert_eq!(addr.src_mac, R1);
    let NdMessage::RouterAdvert { params, .. } = message else {
        panic!("not an RA")
    };
    let prefixes: Vec<String> = params
        .prefixes
        .iter()
        .map(|p| p.prefix.to_string())
        .collect();
    assert_eq!(prefixes, ["2001:db8:2::/64", "2001:db8:22::/64"]);
    assert!(params.prefixes.iter().all(|p| p.autonomous && p.on_link));
    assert!(params.router_lifetime > 0);
}

#[test]
fn sends_periodic_ras_on_every_port() {
    let mut r = router();
    let mut out = Out::new();
    let mut now = t(0);
    while now < t(60_000) {
        if let Some(at) = r.poll_at() {
            now = at.max(now);
        }
        r.on_timer(now, &mut out);
        now += Duration::from_millis(1);
    }
    for port in [0, 1] {
        let ras = out
            .iter()
            .filter(|(p, f)| {
                *p == port
                    && matches!(
                        NdFrame::parse(f),
                        Ok(NdFrame {
                            message: NdMessage::RouterAdvert { .. },
                            ..
                        })
                    )
            })
            .count();
        assert!(
            (6..=20).contains(&ras),
            "port {port}: {ras} RAs in 60 s with a 7.5-10 s interval"
        );
    }
}

#[test]
fn forwards_after_resolving_the_next_hop_and_decrements_hop_limit() {
    let mut r = router();
    let mut out = Out::new();
    let pkt = udp("2001:db8:1::a", "2001:db8:2::b", 64, 100);
    r.on_frame(t(10), 0, &ethernet_ipv6(HA, R0, &pkt), &mut out);
    // The router first solicits 2001:db8:2::b on port 1.
    assert_eq!(out.len(), 1);
    let ns = NdFrame::parse(&out[0].1).unwrap();
    assert!(
        matches!(ns.message, NdMessage::NeighborSolicit { target, .. } if target == ip("2001:db8:2::b"))
    );
    out.clear();
    answer_ns(&mut r, t(20), 1, HB, "2001:db8:2::b", &mut out);
    assert_eq!(out.len(), 1, "the queued packet leaves once resolved");
    let (port, frame) = &out[0];
    assert_eq!(*port, 1);
    let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
    assert_eq!(Mac::from(eth.dst_addr()), HB);
    assert_eq!(Mac::from(eth.src_addr()), R1);
    let fwd = Ipv6Packet::new_checked(eth.payload()).unwrap();
    assert_eq!(fwd.hop_limit(), 63);
    assert_eq!(&eth.payload()[8..], &pkt[8..]);
    // Now resolved: the next packet goes straight out.
    out.clear();
    r.on_frame(t(30), 0, &ethernet_ipv6(HA, R0, &pkt), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(r.counters().get("fwd.packets"), 2);
}

#[test]
fn icmp_errors_for_hop_limit_no_route_and_too_big() {
    let mut r = router();
    let dying = udp("2001:db8:1::a", "2001:db8:2::b", 1, 8);
    let out = exchange(&mut r, t(1), 0, &ethernet_ipv6(HA, R0, &dying));
    let (dst, repr) = icmp_of(&out[0].1);
    assert_eq!(dst, ip("2001:db8:1::a"));
    assert!(matches!(repr, Icmpv6Repr::TimeExceeded { .. }), "{repr:?}");

    let lost = udp("2001:db8:1::a", "2001:db8:99::1", 64, 8);
    let out = exchange(&mut r, t(2), 0, &ethernet_ipv6(HA, R0, &lost));
    let (_, repr) = icmp_of(&out[0].1);
    assert!(
        matches!(repr, Icmpv6Repr::DstUnreachable { .. }),
        "{repr:?}"
    );

    // A 1501-byte packet cannot leave through the 1500-byte port 1.
    let big = udp("2001:db8:1::a", "2001:db8:2::b", 64, 1461);
    let mut frame = ethernet_ipv6(HA, R0, &big);
    let out = exchange(&mut r, t(4), 0, &frame);
    let (_, repr) = icmp_of(&out[0].1);
    assert!(
        matches!(repr, Icmpv6Repr::PktTooBig { mtu: 1500, .. }),
        "{repr:?}"
    );
    frame.truncate(30);
    exchange(&mut r, t(5), 0, &frame);
    let c = r.counters();
    assert_eq!(c.get("drop.hop_limit"), 1);
    assert_eq!(c.get("drop.no_route"), 1);
    assert_eq!(c.get("drop.too_big"), 1);
    assert_eq!(c.get("drop.bad_ipv6_header"), 1);
    assert_eq!(c.get("icmp.errors_sent"), 3);
}

#[test]
fn answers_ping_to_its_own_address_and_keeps_link_local_on_link() {
    let mut r = router();
    let mut echo = vec![0u8; 40 + 12];
    Ipv6Repr {
        src_addr: ip("2001:db8:1::a"),
        dst_addr: ip("2001:db8:2::1"),
        next_header: IpProtocol::Icmpv6,
        payload_len: 12,
        hop_limit: 64,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut echo[..]));
    Icmpv6Repr::EchoRequest {
        ident: 7,
        seq_no: 1,
        data: b"ping",
    }
    .emit(
        &ip("2001:db8:1::a"),
        &ip("2001:db8:2::1"),
        &mut Icmpv6Packet::new_unchecked(&mut echo[40..]),
        &ChecksumCapabilities::default(),
    );
    let out = exchange(&mut r, t(1), 0, &ethernet_ipv6(HA, R0, &echo));
    let (dst, repr) = icmp_of(&out[0].1);
    assert_eq!(dst, ip("2001:db8:1::a"));
    assert!(matches!(
        repr,
        Icmpv6Repr::EchoReply {
            ident: 7,
            seq_no: 1,
            data: b"ping"
        }
    ));
    let out = exchange(
        &mut r,
        t(2),
        0,
        &ethernet_ipv6(HA, R0, &udp("fe80::a", "2001:db8:2::b", 64, 8)),
    );
    assert!(out.is_empty());
    assert_eq!(r.counters().get("drop.link_local_scope"), 1);
}

#[test]
fn control_answers_counters_and_refuses_bindings() {
    let mut r = router();
    let mut out = Out::new();
    r.on_frame(t(1), 0, &[0u8; 3], &mut out);
    let counters = r.control(t(2), &Request::Counters {}, &mut out);
    assert!(counters.ok, "{counters:?}");
    let table = &counters.tables[0];
    assert_eq!(table.title, "counters");
    assert!(
        table.rows.iter().any(|row| row[0] == "rx.frames"),
        "{table:?}"
    );
    let bindings = r.control(t(3), &Request::Bindings {}, &mut out);
    assert!(!bindings.ok);
    assert!(bindings.error.unwrap().contains("plain router"));
}

#[test]
fn random_and_mutated_frames_never_panic() {
    let mut r = router();
    let mut out = Out::new();
    let mut rng = router::rng::SplitMix64::new(0x9e37_79b9_7f4a_7c15);
    let mut next = move || rng.next_u64();
    let valid = ethernet_ipv6(HA, R0, &udp("2001:db8:1::a", "2001:db8:2::b", 64, 40));
    for i in 0..50_000u32 {
        let mut f = if i % 2 == 0 {
            valid.clone()
        } else {
            (0..(next() % 200) as usize).map(|_| next() as u8).collect()
        };
        if !f.is_empty() {
            for _ in 0..(next() % 4) {
                let at = (next() as usize) % f.len();
                f[at] = next() as u8;
            }
            f.truncate((next() as usize) % (f.len() + 1));
        }
        r.on_frame(t(i64::from(i)), (next() % 3) as usize, &f, &mut out);
        out.clear();
    }
}
