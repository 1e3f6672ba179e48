//! The plain router between two simulated hosts: SLAAC from its RAs and pings
//! across it, on clean and on lossy, duplicating, reordering links.

use router::mac::Mac;
use router::plain::{PlainConfig, PlainRouter, PortConfig};
use router::sim::{LinkParams, SimHost, SimNet};
use router::{Duration, Instant};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv6Packet, Ipv6Repr};
use std::net::Ipv6Addr;

fn echo_request(src: Ipv6Addr, dst: Ipv6Addr, seq: u16) -> Vec<u8> {
    let mut buf = vec![0u8; 40 + 12];
    Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: 12,
        hop_limit: 64,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
    Icmpv6Repr::EchoRequest {
        ident: 1,
        seq_no: seq,
        data: b"ping",
    }
    .emit(
        &src,
        &dst,
        &mut Icmpv6Packet::new_unchecked(&mut buf[40..]),
        &ChecksumCapabilities::default(),
    );
    buf
}

fn domain(seed: u64, link: LinkParams) -> (SimNet, usize, usize) {
    let mut net = SimNet::new(seed);
    let router = PlainRouter::new(
        PlainConfig {
            name: "r".into(),
            ports: vec![
                PortConfig {
                    mac: Mac([2, 0, 0, 0, 0, 1]),
                    mtu: 1500,
                    prefixes: vec!["2001:db8:1::/64".parse().unwrap()],
                },
                PortConfig {
                    mac: Mac([2, 0, 0, 0, 0, 2]),
                    mtu: 1500,
                    prefixes: vec!["2001:db8:2::/64".parse().unwrap()],
                },
            ],
            ra_interval: Duration::from_secs(1),
        },
        Instant::from_millis(0),
    );
    let r = net.add_node(Box::new(router));
    let h1 = net.add_node(Box::new(SimHost::new(Mac([0x52, 0x54, 0, 0, 0, 1]))));
    let h2 = net.add_node(Box::new(SimHost::new(Mac([0x52, 0x54, 0, 0, 0, 2]))));
    let s1 = net.add_segment(link);
    let s2 = net.add_segment(link);
    net.attach(r, 0, s1);
    net.attach(r, 1, s2);
    net.attach(h1, 0, s1);
    net.attach(h2, 0, s2);
    (net, h1, h2)
}

fn ping_all(net: &mut SimNet, h1: usize, h2: usize, count: u16) -> usize {
    let a1 = net.node::<SimHost>(h1).unwrap().addresses[0];
    let a2 = net.node::<SimHost>(h2).unwrap().addresses[0];
    for seq in 0..count {
        net.with_node::<SimHost, _>(h1, |h, _, tx| h.send_ipv6(&echo_request(a1, a2, seq), tx));
        net.run_for(Duration::from_millis(100));
    }
    net.run_for(Duration::from_secs(5));
    net.node::<SimHost>(h1)
        .unwrap()
        .received
        .iter()
        .filter(|r| r.packet.get(40) == Some(&129))
        .count()
}

#[test]
fn hosts_autoconfigure_and_ping_across_the_router() {
    let (mut net, h1, h2) = domain(1, LinkParams::default());
    let ok = net.run_until_cond(Duration::from_secs(30), |n| {
        [h1, h2]
            .iter()
            .all(|h| !n.node::<SimHost>(*h).unwrap().addresses.is_empty())
    });
    assert!(ok, "both hosts autoconfigure");
    let a2 = net.node::<SimHost>(h2).unwrap().addresses[0];
    assert!(a2.segments()[..4] == [0x2001, 0xdb8, 2, 0]);
    assert_eq!(ping_all(&mut net, h1, h2, 20), 20);
}

#[test]
fn survives_loss_duplication_and_reordering() {
    let lossy = LinkParams {
        delay: Duration::from_millis(5),
        jitter: Duration::from_millis(20),
        loss: 0.1,
        duplicate: 0.1,
    };
    let (mut net, h1, h2) = domain(7, lossy);
    let ok = net.run_until_cond(Duration::from_secs(60), |n| {
        [h1, h2]
            .iter()
            .all(|h| !n.node::<SimHost>(*h).unwrap().addresses.is_empty())
    });
    assert!(ok, "RAs get through 10 % loss");
    let replies = ping_all(&mut net, h1, h2, 100);
    // Each ping crosses four lossy deliveries; duplicates add replies.
    assert!(
        (40..=200).contains(&replies),
        "{replies} replies to 100 pings"
    );
}

#[test]
fn same_seed_same_run() {
    let lossy = LinkParams {
        delay: Duration::from_millis(1),
        jitter: Duration::from_millis(3),
        loss: 0.2,
        duplicate: 0.05,
    };
    let run = |seed| {
        let (mut net, h1, h2) = domain(seed, lossy);
        net.run_for(Duration::from_secs(20));
        if net.node::<SimHost>(h1).unwrap().addresses.is_empty()
            || net.node::<SimHost>(h2).unwrap().addresses.is_empty()
        {
            return (usize::MAX, net.now());
        }
        (ping_all(&mut net, h1, h2, 50), net.now())
    };
    assert_eq!(run(3), run(3));
}
