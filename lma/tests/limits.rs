//! The LMA's caps and signalling rates (docs/limits.md): each one reached is
//! counted, answered as it says (status 130, or no answer) and changes no
//! state; a flood of forged and of authentic-but-useless PBUs leaves the
//! tables bounded and a real handoff goes through meanwhile.

mod support;
use support::*;

use lma::LmaLimits;
use router::token_bucket::Rate;

fn lma_with(limits: LmaLimits) -> Lma {
    let mut cfg = config();
    cfg.limits = limits;
    Lma::new(cfg, t(0))
}

/// The status tables but the counters.
fn status(l: &mut Lma, at: i64) -> router::ctl::Response {
    let mut s = l.control(t(at), &Request::Status {}, &mut Out::new());
    s.tables.retain(|t| t.title != "counters");
    s
}

fn size(l: &mut Lma, at: i64, name: &str) -> usize {
    let s = l.control(t(at), &Request::Status {}, &mut Out::new());
    let sizes = s.tables.iter().find(|t| t.title == "sizes").unwrap();
    let row = sizes.rows.iter().find(|r| r[0] == name).unwrap();
    row[1].parse().unwrap()
}

#[test]
fn a_full_binding_cache_refuses_a_new_node_with_130_and_keeps_the_rest() {
    let mut l = lma_with(LmaLimits {
        max_bindings: 1,
        ..LmaLimits::default()
    });
    let pba = send(&mut l, 0, MAG1, &pbu(1, "vm01@tapmip", HI_NEW, 3600, 0));
    assert_eq!(pba.status, PbaStatus::Accepted);
    let before = status(&mut l, 100);
    let pba = send(&mut l, 100, MAG1, &pbu(2, "vm02@tapmip", HI_NEW, 3600, 100));
    assert_eq!(pba.status, PbaStatus::InsufficientResources);
    assert_eq!(u8::from(pba.status), 130);
    assert_eq!(pba.lifetime_secs, 0);
    assert_eq!(before, status(&mut l, 100), "the refused PBU changed state");
    let c = l.counters();
    assert_eq!(c.get("lma.refused.binding_cache_full"), 1);
    assert_eq!(c.get("pba.sent.insufficient_resources"), 1);
    // The node that has its entry still refreshes and moves.
    let hi5 = HandoffIndicator::NotChanged;
    let pba = send(&mut l, 200, MAG1, &pbu(3, "vm01@tapmip", hi5, 3600, 200));
    assert_eq!(pba.status, PbaStatus::Accepted);
    let pba = send(&mut l, 300, MAG2, &pbu(1, "vm01@tapmip", HI_MAG, 3600, 300));
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert!(tunnel_to(&l, MAG2).is_some());
    assert_eq!(l.bindings().len(), 1);
}

/// An HI=4 PBU without the link-layer identifier, which would show the
/// same interface and be taken at once (RFC 5213 5.4.1).
fn hi4(seq: u16, mn_id: &str, at_ms: i64) -> Vec<u8> {
    let mut p = pbu(seq, mn_id, HI_UNKNOWN, 3600, at_ms);
    p.options.mn_link_layer_id = None;
    pbu_frame(MAG2, &p)
}

#[test]
fn the_held_hi4_list_is_capped_and_the_pbu_beyond_it_dropped() {
    let mut l = lma_with(LmaLimits {
        max_held_pbus: 1,
        ..LmaLimits::default()
    });
    for (i, node) in ["vm01@tapmip", "vm02@tapmip"].into_iter().enumerate() {
        let pba = send(&mut l, 0, MAG1, &pbu(i as u16 + 1, node, HI_NEW, 3600, 0));
        assert_eq!(pba.status, PbaStatus::Accepted);
    }
    let held = exchange(&mut l, t(100), MAG2.port, &hi4(1, "vm01@tapmip", 100));
    assert!(
        pbas(&held).is_empty(),
        "held for MaxDelayBeforeNewBCEAssign"
    );
    assert_eq!(size(&mut l, 100, "held PBUs"), 1);
    let before = status(&mut l, 150);
    let out = exchange(&mut l, t(150), MAG2.port, &hi4(2, "vm02@tapmip", 150));
    assert!(out.is_empty(), "no answer beyond the cap: {out:?}");
    assert_eq!(before, status(&mut l, 150), "the dropped PBU changed state");
    assert_eq!(l.counters().get("lma.drop.held_pbus_full"), 1);
    // The held one is taken up; vm02 stays where it was.
    let out = timer(&mut l, t(1700));
    assert_eq!(pbas(&out).len(), 1);
    let at = |l: &Lma, n: &str| {
        l.bindings()
            .get(l.bindings().find(n).unwrap())
            .unwrap()
            .proxy_coa
    };
    assert_eq!(at(&l, "vm01@tapmip"), ip(MAG2.addr));
    assert_eq!(at(&l, "vm02@tapmip"), ip(MAG1.addr));
    // With room again, the next HI=4 PBU is held.
    exchange(&mut l, t(1800), MAG2.port, &hi4(3, "vm02@tapmip", 1800));
    assert_eq!(size(&mut l, 1800, "held PBUs"), 1);
}

/// A host on `mag`'s link (not the MAG) that forges PBUs.
const FORGER: Mac = Mac([0x02, 0x66, 0, 0, 0, 0x01]);

/// A PBU from `src` without any key (a forgery), sent from `eth_src` on
/// `mag`'s link.
fn forged(mag: Mag, eth_src: Mac, src: Ipv6Addr, mn_id: &str, at_ms: i64) -> Vec<u8> {
    let repr = MhRepr::Pbu(pbu(1, mn_id, HI_MAG, 3600, at_ms));
    let packet = mh_ipv6_packet(src, ip(mag.lma), 64, &repr);
    ethernet_ipv6(eth_src, LMA_MACS[mag.port], &packet)
}

/// Every message that failed authentication (and so was checked at all).
fn failed_checks(l: &Lma) -> u64 {
    let c = l.counters();
    c.iter()
        .filter(|(n, _)| n.starts_with("auth.drop."))
        .map(|(_, v)| v)
        .sum()
}

#[test]
fn forgeries_spend_their_own_buckets_before_the_hmac_never_a_mags() {
    let mut l = lma_with(LmaLimits {
        unknown_sources: Rate::new(5, 1),
        per_source: Rate::new(4, 1),
        ..LmaLimits::default()
    });
    let pba = send(&mut l, 0, MAG2, &pbu(1, "vm02@tapmip", HI_NEW, 3600, 0));
    assert_eq!(pba.status, PbaStatus::Accepted);
    let before = status(&mut l, 0);
    for i in 0..1000u16 {
        let src = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0xbad, i);
        exchange(
            &mut l,
            t(0),
            1,
            &forged(MAG1, FORGER, src, "vm01@tapmip", 0),
        );
    }
    assert_eq!(l.counters().get("lma.drop.rate.unknown_sources"), 995);
    assert_eq!(failed_checks(&l), 5, "only five were checked at all");
    // In MAG2's name, from another host on its link: that host's bucket.
    for _ in 0..10 {
        let f = forged(MAG2, FORGER, ip(MAG2.addr), "vm02@tapmip", 0);
        exchange(&mut l, t(0), MAG2.port, &f);
    }
    assert_eq!(l.counters().get("lma.drop.rate.source_elsewhere"), 6);
    assert_eq!(failed_checks(&l), 9);
    assert_eq!(before, status(&mut l, 0), "the forgeries changed state");
    // MAG1 and MAG2 themselves are checked as ever.
    let pba = send(&mut l, 0, MAG1, &pbu(1, "vm01@tapmip", HI_NEW, 3600, 0));
    assert_eq!(pba.status, PbaStatus::Accepted);
    let hi5 = HandoffIndicator::NotChanged;
    let pba = send(&mut l, 1, MAG2, &pbu(2, "vm02@tapmip", hi5, 3600, 1));
    assert_eq!(pba.status, PbaStatus::Accepted);
    // A forger with MAG2's link-layer address too empties MAG2's bucket
    // (docs/limits.md): MAG2 is not heard until it refills.
    for _ in 0..5 {
        let f = forged(MAG2, MAG2.mac, ip(MAG2.addr), "vm02@tapmip", 2);
        exchange(&mut l, t(2), MAG2.port, &f);
    }
    assert_eq!(l.counters().get("lma.drop.rate.source"), 1);
    let p = pbu(3, "vm02@tapmip", hi5, 3600, 2);
    assert!(exchange(&mut l, t(2), MAG2.port, &pbu_frame(MAG2, &p)).is_empty());
    let pba = send(&mut l, 1100, MAG2, &pbu(4, "vm02@tapmip", hi5, 3600, 1100));
    assert_eq!(pba.status, PbaStatus::Accepted);
}

#[test]
fn an_authenticated_mag_over_its_rate_is_dropped_unanswered() {
    let mut l = lma_with(LmaLimits {
        per_mag: Rate::new(3, 1),
        ..LmaLimits::default()
    });
    let mut answered = 0;
    for i in 0..10u16 {
        let p = pbu(i + 1, "vm01@tapmip", HI_NEW, 3600, i64::from(i));
        let out = exchange(&mut l, t(i64::from(i)), MAG1.port, &pbu_frame(MAG1, &p));
        answered += pbas(&out).len();
    }
    assert_eq!(answered, 3);
    let c = l.counters();
    assert_eq!(c.get("lma.drop.rate.mag"), 7);
    assert_eq!(c.get("pbu.received"), 3, "dropped before it was read");
    // MAG2 has its own bucket; MAG1's refills.
    let pba = send(&mut l, 20, MAG2, &pbu(1, "vm02@tapmip", HI_NEW, 3600, 20));
    assert_eq!(pba.status, PbaStatus::Accepted);
    let hi5 = HandoffIndicator::NotChanged;
    let pba = send(&mut l, 1100, MAG1, &pbu(20, "vm01@tapmip", hi5, 3600, 1100));
    assert_eq!(pba.status, PbaStatus::Accepted);
}

/// The flood of issue 9 at the core: forgeries from made-up sources and in
/// MAG2's name, a key-holding sender outside the policy, and MAG1 itself
/// (authentic) registering made-up nodes, while vm01 moves from MAG1 to
/// MAG2. The handoff goes through at once and nothing grows.
#[test]
fn a_pbu_flood_leaves_the_tables_bounded_and_a_handoff_goes_through() {
    let mut l = lma_with(LmaLimits {
        max_bindings: 8,
        ..LmaLimits::default()
    });
    let pba = send(&mut l, 0, MAG1, &pbu(1, "vm01@tapmip", HI_NEW, 3600, 0));
    assert_eq!(pba.status, PbaStatus::Accepted);
    let pba = send(&mut l, 0, MAG2, &pbu(1, "vm02@tapmip", HI_NEW, 3600, 0));
    assert_eq!(pba.status, PbaStatus::Accepted);
    let mut handed_off_at = None;
    for i in 0..20_000u32 {
        // 20 000 PBUs in 2 s of protocol time.
        let now = i64::from(i / 10);
        let n = i as u16;
        let f = match i % 4 {
            0 => forged(
                MAG1,
                FORGER,
                Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0xbad, n),
                "vm01@tapmip",
                now,
            ),
            1 => forged(MAG2, FORGER, ip(MAG2.addr), "vm01@tapmip", now),
            2 => pbu_frame(ROGUE, &pbu(n, "vm01@tapmip", HI_MAG, 3600, now)),
            _ => pbu_frame(MAG1, &pbu(n, &format!("x{i}@made.up"), HI_NEW, 3600, now)),
        };
        let port = if i % 4 == 1 { MAG2.port } else { MAG1.port };
        exchange(&mut l, t(now), port, &f);
        if i == 10_000 {
            let p = pbu(2, "vm01@tapmip", HI_MAG, 3600, now);
            let checked = failed_checks(&l);
            let out = exchange(&mut l, t(now), MAG2.port, &pbu_frame(MAG2, &p));
            let ok = pbas(&out)
                .iter()
                .any(|(_, dst, pba)| *dst == ip(MAG2.addr) && pba.status == PbaStatus::Accepted);
            assert!(ok, "the handoff PBA: {out:?}");
            handed_off_at = Some(now);
            assert_eq!(failed_checks(&l), checked, "the real PBU was checked");
        }
        if i % 1000 == 0 {
            timer(&mut l, t(now));
        }
    }
    assert!(handed_off_at.is_some());
    let b = l
        .bindings()
        .get(l.bindings().find("vm01@tapmip").unwrap())
        .unwrap();
    assert_eq!(b.proxy_coa, ip(MAG2.addr));
    assert_eq!(l.bindings().len(), 2, "no made-up node got an entry");
    let sizes = l.sizes();
    assert!(sizes.iter().all(|(_, n)| *n <= 8), "{sizes:?}");
    let c = l.counters();
    assert!(c.get("lma.drop.rate.unknown_sources") > 4000, "{c:?}");
    assert!(c.get("lma.drop.rate.source_elsewhere") > 4000, "{c:?}");
    assert!(c.get("lma.drop.rate.mag") > 0, "{c:?}");
    // About 200 + 100/s and 100 + 50/s failed checks, of 10 000 forgeries.
    assert!(failed_checks(&l) < 600, "{}", failed_checks(&l));
    assert!(c.get("pba.sent.not_lma_for_this_mobile_node") > 0);
    assert!(c.get("pba.sent.mag_not_authorized_for_proxy_reg") > 0);
    // The neighbor caches hold the MAGs, never the forged sources.
    for port in 0..3 {
        let nd = l.engine().nd(port).unwrap();
        assert!(nd.neighbor_count() <= 3, "port {port}");
    }
}
