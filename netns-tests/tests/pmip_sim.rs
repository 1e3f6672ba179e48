//! The PMIPv6 domain simulated in memory (netns_tests::sim_domain): the LMA and
//! MAG cores with VMs and a correspondent, on links with delay, loss,
//! duplication and reordering, under a fake clock. Every case is deterministic;
//! limits are fake time, so they bound the protocol, not the machine.
//!
//! The LMA's answer to each malformed or refused PBU is checked status by status
//! in lma/tests/core.rs (`every_rejection_status` and neighbours); here only the
//! statuses a real MAG can provoke in a running domain are.

use lma::Lma;
use mag::access::{FIXED_LINK_LOCAL, FIXED_MAC};
use netns_tests::sim_domain::{DomainSpec, SimDomain, booted, policy_text, proxy_coa, vm_hnp};
use router::nd::NudConfig;
use router::rng::SplitMix64;
use router::routes::RouteTable;
use router::sim::LinkParams;
use router::wire::HandoffIndicator;
use router::{Duration, Instant};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

#[test]
fn first_attach_rs_pbu_pba_ra_and_pings() {
    let mut d = booted(&DomainSpec::new(1, 2, 1), 0);
    let addr = d.vm_address(0).unwrap();
    assert!(vm_hnp(0).contains(&addr));
    let b = d.binding(0).unwrap();
    assert_eq!(b.proxy_coa, proxy_coa(0).addr());
    assert_eq!(&b.hnps[..], &[vm_hnp(0)]);
    assert_eq!(d.ping(0, 10, ms(100)), 10);
    assert!(d.leaks(0, 0).is_empty(), "{:?}", d.leaks(0, 0));
}

fn lma_counter(d: &SimDomain, name: &str) -> u64 {
    d.lma().counters().get(name)
}

fn mag_counter(d: &SimDomain, m: usize, name: &str) -> u64 {
    d.mag(m).counters().get(name)
}

/// Nothing at the LMA or MAG `m` for VM 0: no binding, tunnel or route.
fn nothing_for_vm(d: &SimDomain, m: usize) {
    let lma = d.lma();
    assert!(lma.bindings().is_empty(), "LMA has no binding");
    assert!(
        lma.engine().routes().tunnels().is_empty(),
        "LMA has no tunnel"
    );
    assert!(
        lma.engine()
            .routes()
            .get(RouteTable::Destination, vm_hnp(0))
            .is_none(),
        "LMA has no HNP route"
    );
    let mag = d.mag(m);
    assert!(mag.bindings().is_empty(), "MAG has no BUL entry");
    assert!(
        mag.engine().routes().tunnels().is_empty(),
        "MAG has no tunnel"
    );
    assert!(
        mag.engine()
            .routes()
            .get(RouteTable::Source, vm_hnp(0))
            .is_none()
    );
    assert!(
        mag.engine()
            .routes()
            .get(RouteTable::Destination, vm_hnp(0))
            .is_none()
    );
}

#[test]
fn handoff_keeps_the_hnp_and_the_old_mag_deregisters_harmlessly() {
    let mut d = booted(&DomainSpec::new(2, 2, 1), 0);
    let addr = d.vm_address(0).unwrap();
    assert_eq!(d.ping(0, 5, ms(100)), 5);
    d.migrate(0, 1, ms(300));
    assert!(
        d.run_until(secs(10), |d| d.settled_at(0, 1)),
        "MAG2 registers the VM"
    );
    let b = d.binding(0).unwrap();
    // The guest's first NA is for its global address: a node that already has an
    // address from this domain has moved here from another MAG (HI 3, RFC 5213 8.4).
    assert_eq!(b.hi, HandoffIndicator::InterMag);
    assert_eq!(&b.hnps[..], &[vm_hnp(0)], "same HNP");
    assert_eq!(d.vm_address(0), Some(addr), "same address");
    assert_eq!(d.vm(0).router, Some((FIXED_LINK_LOCAL, FIXED_MAC)));
    assert_eq!(d.ping(0, 5, ms(100)), 5, "pings reach the VM at MAG2");
    assert!(d.bul(0, 0).is_some(), "MAG1 has not noticed yet");
    assert!(
        d.run_until(secs(60), |d| d.bul(0, 0).is_none()),
        "MAG1 detects the departure by NUD"
    );
    assert_eq!(mag_counter(&d, 0, "mag.detach.nud"), 1);
    assert_eq!(mag_counter(&d, 0, "mag.pbu.dereg"), 1);
    d.run_for(secs(1));
    assert_eq!(
        d.serving_mag(0),
        Some(1),
        "the late de-registration changed nothing"
    );
    assert!(d.leaks(0, 1).is_empty(), "{:?}", d.leaks(0, 1));
    assert_eq!(d.ping(0, 5, ms(100)), 5);
}

/// The protocol's own handoff latency at MAG2, attachment detected -> RA sent,
/// on the fake clock (zero processing time); `cargo test -- --nocapture` shows it.
#[test]
fn handoff_latency_in_fake_time() {
    for wan_delay in [0, 1, 10] {
        let mut spec = DomainSpec::new(3, 2, 1);
        spec.wan.delay = ms(wan_delay);
        let mut d = booted(&spec, 0);
        d.run_for(secs(5));
        d.migrate(0, 1, ms(0));
        assert!(d.run_until(secs(10), |d| d.settled_at(0, 1)));
        let e = d.bul(1, 0).unwrap();
        let latency = e.ra_sent_at.unwrap() - e.detected_at;
        println!(
            "sim handoff latency (detected -> RA), WAN one-way delay {wan_delay} ms: {} ms",
            latency.total_millis()
        );
        assert!(latency <= ms(8 * wan_delay + 1), "{latency}");
    }
}

#[test]
fn race_registration_before_deregistration() {
    // MAG1's NUD is slow (30 s probes): MAG2 registers long before MAG1 gives up.
    let mut d = booted(&DomainSpec::new(4, 2, 1), 0);
    d.migrate(0, 1, ms(0));
    assert!(d.run_until(secs(5), |d| d.settled_at(0, 1)));
    assert!(d.run_until(secs(60), |d| d.bul(0, 0).is_none()));
    d.run_for(secs(1));
    assert_eq!(d.serving_mag(0), Some(1));
    assert!(d.leaks(0, 1).is_empty(), "{:?}", d.leaks(0, 1));
    assert_eq!(d.ping(0, 3, ms(100)), 3);

    // Forced: MAG1 notices at once and de-registers during the VM's downtime, but
    // wan1 is so slow that the de-registration reaches the LMA after MAG2's PBU.
    let spec = DomainSpec::new(5, 2, 1);
    let mut d = spec.build_with(
        |lma| lma.timestamp_window = secs(30),
        |m, mag| {
            if m == 0 {
                mag.ra_interval = ms(500);
                mag.access_nud = NudConfig {
                    retrans_timer: ms(100),
                    ..NudConfig::default()
                };
            }
        },
    );
    d.run_for(secs(1));
    d.boot(0, 0);
    assert!(d.run_until(secs(30), |d| d.settled_at(0, 0)));
    let slow = LinkParams {
        delay: secs(3),
        ..LinkParams::default()
    };
    d.net.set_link(d.wan[0], slow);
    let received = lma_counter(&d, "pbu.received");
    d.migrate(0, 1, secs(1));
    assert_eq!(
        mag_counter(&d, 0, "mag.pbu.dereg"),
        1,
        "MAG1 de-registered during the downtime"
    );
    assert!(
        d.run_until(secs(5), |d| d.settled_at(0, 1)),
        "MAG2 registers"
    );
    assert_eq!(
        lma_counter(&d, "pbu.received"),
        received + 1,
        "only MAG2's PBU arrived"
    );
    assert!(
        d.run_until(secs(10), |d| lma_counter(d, "pbu.received") == received + 2),
        "MAG1's de-registration arrives after MAG2's registration"
    );
    d.run_for(secs(10));
    assert_eq!(d.serving_mag(0), Some(1), "the final binding names MAG2");
    assert!(d.leaks(0, 1).is_empty(), "{:?}", d.leaks(0, 1));
    assert_eq!(d.ping(0, 3, ms(100)), 3);
}

#[test]
fn ping_pong_within_min_delay_keeps_the_hnp() {
    // Back before MAG1 even noticed the VM had gone.
    let mut d = booted(&DomainSpec::new(6, 2, 1), 0);
    let addr = d.vm_address(0).unwrap();
    d.migrate(0, 1, ms(100));
    assert!(d.run_until(secs(5), |d| d.settled_at(0, 1)));
    d.run_for(secs(2));
    d.migrate(0, 0, ms(100));
    assert!(d.run_until(secs(5), |d| d.settled_at(0, 0)), "back at MAG1");
    assert_eq!(d.ping(0, 3, ms(100)), 3);
    d.run_for(secs(60));
    assert_eq!(d.serving_mag(0), Some(0));
    assert_eq!(d.vm_address(0), Some(addr));
    assert!(d.leaks(0, 0).is_empty(), "{:?}", d.leaks(0, 0));
    assert_eq!(d.ping(0, 3, ms(100)), 3);

    // Each MAG de-registers before the next takes over: the entry waits for
    // deletion (MinDelayBeforeBCEDelete, 10 s) and is resumed with its HNP.
    let fast = |_: usize, mag: &mut mag::MagConfig| {
        mag.ra_interval = ms(500);
        mag.access_nud = NudConfig {
            retrans_timer: ms(100),
            ..NudConfig::default()
        };
    };
    let mut d = DomainSpec::new(7, 2, 1).build_with(|_| {}, fast);
    d.run_for(secs(1));
    d.boot(0, 0);
    assert!(d.run_until(secs(30), |d| d.settled_at(0, 0)));
    let addr = d.vm_address(0).unwrap();
    for to in [1, 0, 1, 0] {
        d.migrate(0, to, secs(2));
        assert!(
            d.run_until(secs(5), |d| d.settled_at(0, to)),
            "at MAG{}",
            to + 1
        );
        assert_eq!(d.vm_address(0), Some(addr));
        assert_eq!(&d.binding(0).unwrap().hnps[..], &[vm_hnp(0)]);
    }
    assert!(mag_counter(&d, 0, "mag.pbu.dereg") >= 2);
    assert_eq!(lma_counter(&d, "bce.deleted"), 0);
    d.run_for(secs(30));
    assert!(d.leaks(0, 0).is_empty(), "{:?}", d.leaks(0, 0));
    assert_eq!(d.ping(0, 3, ms(100)), 3);
}

#[test]
fn lost_pbu_and_lost_pba_are_retransmitted() {
    let cut = LinkParams {
        loss: 1.0,
        ..LinkParams::default()
    };
    // PBU lost: wan1 is down when the VM boots.
    let mut spec = DomainSpec::new(8, 2, 1);
    spec.wan.delay = ms(5);
    let clean = spec.wan;
    let mut d = spec.build();
    d.run_for(secs(1));
    d.net.set_link(d.wan[0], cut);
    d.boot(0, 0);
    d.run_for(secs(6));
    assert!(d.binding(0).is_none());
    assert!(mag_counter(&d, 0, "mag.pbu.retransmitted") >= 2);
    d.net.set_link(d.wan[0], clean);
    assert!(
        d.run_until(secs(40), |d| d.settled_at(0, 0)),
        "converges after healing"
    );
    assert_eq!(d.ping(0, 3, ms(100)), 3);

    // PBA lost: the link goes down while a refresh PBU is on its way.
    let mut d = spec.build_with(|_| {}, |_, mag| mag.lifetime = 40);
    d.run_for(secs(1));
    d.boot(0, 0);
    assert!(d.run_until(secs(30), |d| d.settled_at(0, 0)));
    let before = d.binding(0).unwrap().timestamp;
    assert!(d.run_until(secs(40), |d| mag_counter(d, 0, "mag.pbu.refresh") == 1));
    d.net.set_link(d.wan[0], cut);
    assert!(
        d.run_until(secs(1), |d| d.binding(0).unwrap().timestamp > before),
        "the PBU reached the LMA"
    );
    d.run_for(secs(3));
    assert!(
        mag_counter(&d, 0, "mag.pbu.retransmitted") >= 1,
        "no PBA came back"
    );
    d.net.set_link(d.wan[0], clean);
    assert!(d.run_until(secs(30), |d| {
        d.bul(0, 0)
            .is_some_and(|e| e.outstanding.is_none() && e.is_registered())
    }));
    assert!(d.settled_at(0, 0));
    assert!(d.leaks(0, 0).is_empty(), "{:?}", d.leaks(0, 0));
    assert_eq!(d.ping(0, 3, ms(100)), 3);
}

#[test]
fn duplicated_and_reordered_pbus_converge() {
    let mut spec = DomainSpec::new(9, 2, 1);
    spec.wan = LinkParams {
        delay: ms(5),
        jitter: ms(30),
        loss: 0.0,
        duplicate: 0.5,
    };
    let mut d = booted(&spec, 0);
    let addr = d.vm_address(0).unwrap();
    for i in 0..20 {
        let to = (i + 1) % 2;
        d.migrate(0, to, ms(50));
        assert!(
            d.run_until(secs(10), |d| d.settled_at(0, to)),
            "handoff {i} to MAG{}",
            to + 1
        );
        d.run_for(secs(3));
    }
    d.run_for(secs(60));
    assert_eq!(d.serving_mag(0), Some(0));
    assert_eq!(d.vm_address(0), Some(addr));
    assert!(d.leaks(0, 0).is_empty(), "{:?}", d.leaks(0, 0));
    assert!(d.ping(0, 5, ms(100)) >= 4, "jitter on the WAN, no loss");
}

#[test]
fn lifetime_refresh_and_expiry() {
    let mut d = DomainSpec::new(10, 2, 1).build_with(|_| {}, |_, mag| mag.lifetime = 40);
    d.run_for(secs(1));
    d.boot(0, 0);
    assert!(d.run_until(secs(30), |d| d.settled_at(0, 0)));
    d.run_for(secs(200));
    assert!(
        mag_counter(&d, 0, "mag.pbu.refresh") >= 5,
        "refreshed every 32 s"
    );
    assert_eq!(lma_counter(&d, "bce.expired"), 0);
    assert!(d.settled_at(0, 0));
    assert_eq!(d.ping(0, 3, ms(100)), 3);

    d.net.set_link(
        d.wan[0],
        LinkParams {
            loss: 1.0,
            ..LinkParams::default()
        },
    );
    assert!(
        d.run_until(secs(41), |d| d.binding(0).is_none()),
        "the LMA's entry expires"
    );
    assert_eq!(lma_counter(&d, "bce.expired"), 1);
    d.run_for(secs(10));
    assert_eq!(mag_counter(&d, 0, "mag.binding.expired"), 1);
    nothing_for_vm(&d, 0);
}

/// A PBU refused by the LMA: the MAG drops the node, and neither side routes.
fn refused(spec: &DomainSpec, m: usize, counter: &str) -> SimDomain {
    let mut d = spec.build();
    d.run_for(secs(1));
    d.boot(0, m);
    assert!(
        d.run_until(secs(10), |d| lma_counter(d, counter) >= 1),
        "the LMA answers {counter}"
    );
    d.run_for(secs(5));
    nothing_for_vm(&d, m);
    assert_eq!(mag_counter(&d, m, "mag.pba.rejected"), 1);
    assert_eq!(d.vm_address(0), None);
    d
}

const VM01_ONLY_MAG1: &str = r#"
[[node]]
mn_id = "vm01@tapmip"
mac = "52:54:00:aa:00:01"
hnps = ["2001:db8:1:1::/64"]
mags = ["mag1"]
"#;

#[test]
fn unauthorised_mag_gets_154() {
    let status = "pba.sent.mag_not_authorized_for_proxy_reg";
    // MAG2 is not in the LMA's [[mag]] list.
    let mut spec = DomainSpec::new(11, 2, 1);
    spec.lma_policy = policy_text(1, 1);
    refused(&spec, 1, status);
    // The node's profile at the LMA lists only MAG1; MAG2's file does not say so.
    let mut spec = DomainSpec::new(12, 2, 1);
    spec.lma_policy = policy_text(2, 0) + VM01_ONLY_MAG1;
    refused(&spec, 1, status);
    // With the same file on both sides MAG2 never even asks.
    let mut spec = DomainSpec::new(13, 2, 1);
    spec.lma_policy = policy_text(2, 0) + VM01_ONLY_MAG1;
    spec.mag_policy = spec.lma_policy.clone();
    let mut d = spec.build();
    d.run_for(secs(1));
    d.boot(0, 1);
    d.run_for(secs(10));
    assert!(mag_counter(&d, 1, "aaa.refuse.mag_not_allowed") >= 1);
    assert_eq!(lma_counter(&d, "pbu.received"), 0);
    nothing_for_vm(&d, 1);
}

/// Refusals a real MAG provokes in a running domain; every other status is
/// covered against the LMA core alone in lma/tests/core.rs.
#[test]
fn refusals_from_a_misconfigured_domain() {
    // 153: the MAGs' policy knows a node the LMA's does not.
    let mut spec = DomainSpec::new(14, 2, 1);
    spec.lma_policy = policy_text(2, 0);
    refused(&spec, 0, "pba.sent.not_lma_for_this_mobile_node");

    // 156: the MAG's clock is 10 s off the LMA's.
    let spec = DomainSpec::new(15, 2, 1);
    let mut d = spec.build_with(|_| {}, |_, mag| mag.epoch += secs(10).into());
    d.run_for(secs(1));
    d.boot(0, 0);
    assert!(
        d.run_until(secs(10), |d| lma_counter(d, "pba.sent.timestamp_mismatch")
            >= 1)
    );
    // Each refusal is answered with a fresh PBU once the node answered a
    // probe, three times, then the MAG gives up on it.
    d.run_for(secs(60));
    assert_eq!(mag_counter(&d, 0, "mag.pba.stale"), 3);
    assert_eq!(lma_counter(&d, "pba.sent.timestamp_mismatch"), 4);
    nothing_for_vm(&d, 0);

    // 155: the LMA restarts with the node's prefix changed; the MAG's refresh
    // still names the old one. The node then attaches afresh with the new one.
    let spec = DomainSpec::new(16, 2, 1);
    let mut d = spec.build_with(|_| {}, |_, mag| mag.lifetime = 40);
    d.run_for(secs(1));
    d.boot(0, 0);
    assert!(d.run_until(secs(30), |d| d.settled_at(0, 0)));
    let mut restarted = spec.clone();
    let new_hnp = "2001:db8:1:99::/64";
    restarted.lma_policy = restarted
        .lma_policy
        .replace(&vm_hnp(0).to_string(), new_hnp);
    let now = d.now();
    *d.net.node_mut::<Lma>(d.lma).unwrap() = Lma::new(restarted.lma_config(), now);
    assert!(d.run_until(secs(40), |d| {
        lma_counter(d, "pba.sent.not_authorized_for_home_network_prefix") >= 1
    }));
    d.run_for(secs(1));
    assert!(d.bul(0, 0).is_none(), "the MAG dropped the node");
    assert!(d.mag(0).engine().routes().tunnels().is_empty());
    assert!(d.lma().bindings().is_empty());
    d.boot(0, 0);
    let new_hnp: ipnet::Ipv6Net = new_hnp.parse().unwrap();
    assert!(d.run_until(secs(10), |d| {
        d.vm(0).addresses.iter().any(|a| new_hnp.contains(a))
    }));
    assert_eq!(&d.binding(0).unwrap().hnps[..], &[new_hnp]);
}

#[test]
fn random_handoffs_with_loss() {
    let started = std::time::Instant::now();
    let mut total = 0;
    for seed in [21, 22, 23, 24] {
        let mut rng = SplitMix64::new(seed);
        let mut spec = DomainSpec::new(seed, 3, 1);
        spec.wan.delay = ms(2);
        let mut d = spec.build();
        for w in d.wan.clone() {
            let loss = 0.05 + 0.05 * rng.unit();
            d.net.set_link(w, LinkParams { loss, ..spec.wan });
        }
        d.run_for(secs(1));
        d.boot(0, 0);
        assert!(d.run_until(secs(60), |d| d.settled_at(0, 0)));
        let mut at = 0;
        for _ in 0..500 {
            let to = (at + 1 + rng.below(2) as usize) % 3;
            d.migrate(0, to, ms(rng.below(500)));
            at = to;
            d.run_for(ms(100 + rng.below(5000)));
            total += 1;
        }
        d.run_for(secs(120));
        assert!(d.settled_at(0, at), "seed {seed}: settled at MAG{}", at + 1);
        let leaks = d.leaks(0, at);
        assert!(leaks.is_empty(), "seed {seed}: {leaks:?}");
        assert!(
            d.ping(0, 20, ms(100)) >= 10,
            "seed {seed}: pings through lossy WAN"
        );
        println!(
            "seed {seed}: fake time {} s, PBUs {} retransmitted {}",
            (d.now() - Instant::from_millis(0)).secs(),
            (0..3)
                .map(|m| mag_counter(&d, m, "mag.pbu.sent"))
                .sum::<u64>(),
            (0..3)
                .map(|m| mag_counter(&d, m, "mag.pbu.retransmitted"))
                .sum::<u64>()
        );
    }
    assert!(total >= 2000);
    println!(
        "{total} random handoffs in {:?} real time",
        started.elapsed()
    );
}

/// A key rollover for MAG 0 (the four steps of `router::auth::keyring`) while
/// VM 0 is pinged, refreshed and migrated back and forth: the invariant holds
/// every 100 ms of it, nothing is refused, and at the end the old key is
/// refused.
#[test]
fn key_rollover_keeps_every_binding() {
    use netns_tests::sim_domain::{Bound, FIRST_SPI, lma_wan, mag_key};
    let spec = DomainSpec::new(5, 2, 1);
    let mut d = spec.build_with(|_| {}, |_, mag| mag.lifetime = 40);
    d.run_for(secs(1));
    d.boot(0, 0);
    let bound = Bound::new(ms(100), secs(60));
    let new = FIRST_SPI + 1;
    let step = |d: &mut SimDomain, what: &dyn Fn(&mut SimDomain)| {
        what(d);
        for _ in 0..20 {
            d.ping_once(0);
            if let Err(e) = d.run_checked(secs(1), ms(100), &bound) {
                panic!("{e}");
            }
        }
    };
    step(&mut d, &|_| {});
    step(&mut d, &|d| d.set_lma_keys(0, &[FIRST_SPI, new]));
    step(&mut d, &|d| d.migrate(0, 1, ms(200)));
    step(&mut d, &|d| d.set_mag_keys(0, &[FIRST_SPI, new]));
    step(&mut d, &|d| d.migrate(0, 0, ms(200)));
    step(&mut d, &|d| d.set_lma_keys(0, &[new]));
    step(&mut d, &|d| d.set_mag_keys(0, &[new]));
    step(&mut d, &|_| {});
    assert!(d.settled_at(0, 0));
    assert!(
        mag_counter(&d, 0, "mag.pbu.refresh") >= 2,
        "refreshed meanwhile"
    );
    assert_eq!(
        lma_counter(&d, "bce.expired") + lma_counter(&d, "bce.deleted"),
        0
    );
    for name in ["auth.drop.unknown_spi", "auth.drop.bad_authenticator"] {
        assert_eq!(lma_counter(&d, name), 0, "{name}");
        assert_eq!(mag_counter(&d, 0, name), 0, "{name}");
    }
    // A heartbeat signed with the retired key is refused now.
    let request = router::wire::MhRepr::Heartbeat(router::wire::HeartbeatRepr::default());
    let packet = router::auth::sealed_packet(
        &mag_key(0, FIRST_SPI),
        proxy_coa(0).addr(),
        lma_wan(0).addr(),
        64,
        request,
    );
    let lma_mac = d.lma().engine().port_mac(1).unwrap();
    let mag_mac = d.mag(0).engine().port_mac(mag::UPLINK).unwrap();
    let frame = router::nd::frames::ethernet_ipv6(mag_mac, lma_mac, &packet);
    let lma = d.lma;
    d.net.with_node::<Lma, _>(lma, |l, now, tx| {
        router::core::Core::on_frame(l, now, 1, &frame, tx)
    });
    assert_eq!(lma_counter(&d, "auth.drop.unknown_spi"), 1);
    assert_eq!(d.ping(0, 10, ms(100)), 10);
}
