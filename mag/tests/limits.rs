//! A flood on an access link (docs/limits.md): RS and NS from random MACs and
//! IPv6 sources leave the MAG's tables bounded, the neighbor cache at its cap
//! with the flood's entries pushed out first, and a node of the policy that
//! attaches meanwhile is registered as ever.

mod support;
use support::*;

use router::rng::SplitMix64;

fn random_mac(rng: &mut SplitMix64) -> Mac {
    let b = rng.next_u64().to_be_bytes();
    // Locally administered unicast, never a policy node's 52:54:00:...
    Mac([0x06, b[1], b[2], b[3], b[4], b[5]])
}

fn random_source(rng: &mut SplitMix64) -> Ipv6Addr {
    let b = rng.next_u64();
    if b & 1 == 0 {
        Ipv6Addr::new(
            0xfe80,
            0,
            0,
            0,
            (b >> 48) as u16,
            (b >> 32) as u16,
            (b >> 16) as u16,
            b as u16,
        )
    } else {
        Ipv6Addr::new(
            0x2001,
            0xdb8,
            0xbad,
            0,
            (b >> 48) as u16,
            (b >> 32) as u16,
            (b >> 16) as u16,
            b as u16,
        )
    }
}

/// An RS or an NS for the access link's address, with the source's own
/// link-layer address.
fn flood_frame(rng: &mut SplitMix64, i: u32) -> Vec<u8> {
    let (mac, src) = (random_mac(rng), random_source(rng));
    if i.is_multiple_of(2) {
        build_rs(&Addressing {
            src_mac: mac,
            dst_mac: multicast_mac(ip("ff02::2")),
            src_ip: src,
            dst_ip: ip("ff02::2"),
        })
    } else {
        let group = solicited_node(FIXED_LINK_LOCAL);
        let addr = Addressing {
            src_mac: mac,
            dst_mac: multicast_mac(group),
            src_ip: src,
            dst_ip: group,
        };
        build_ns(&addr, FIXED_LINK_LOCAL, Some(mac))
    }
}

#[test]
fn an_rs_ns_flood_from_random_sources_stays_bounded_and_a_node_still_attaches() {
    const CAP: usize = 64;
    let mut cfg = config();
    cfg.access_nud.max_neighbors = CAP;
    let mut lab = Lab::new(cfg);
    let mut rng = SplitMix64::new(9);
    let mut registered_at = None;
    for i in 0..20_000u32 {
        let now = t(i64::from(i / 10));
        lab.feed(now, ACCESS, &flood_frame(&mut rng, i));
        if i == 10_000 {
            let out = lab.register(now, VM1, "fe80::5", "2001:db8:1:1::/64");
            assert_eq!(ras(&out).len(), 1, "vm1's RA after its PBA");
            registered_at = Some(now);
        }
        if i % 500 == 0 {
            lab.tick(now);
        }
    }
    assert!(registered_at.is_some());
    let e = lab.mag.bindings().get(&VM1).unwrap();
    assert_eq!(e.state, BindingState::Registered);
    assert_eq!(lab.mag.bindings().len(), 1);
    let nd = lab.mag.engine().nd(ACCESS).unwrap();
    assert_eq!(nd.neighbor_count(), CAP);
    assert!(
        counter(&lab, "nd.evicted") >= 19_000,
        "{}",
        counter(&lab, "nd.evicted")
    );
    assert_eq!(counter(&lab, "mag.attach.ignored_not_in_policy"), 10_000);
    for (what, n) in lab.mag.sizes() {
        assert!(n <= 8, "{what}: {n}");
    }
    // The flood may have pushed out vm1's idle (STALE) entry, never told the
    // MAG it left: its reachability probes find it again and it stays.
    lab.run_until(t(50_000));
    let e = lab.mag.bindings().get(&VM1).unwrap();
    assert!(e.is_registered(), "{:?}", e.state);
    assert!(counter(&lab, "mag.nud.probes") > 0);
    assert_eq!(counter(&lab, "mag.detach.nud"), 0);
}
