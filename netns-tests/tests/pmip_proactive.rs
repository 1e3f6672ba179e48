//! Proactive handover in the simulated domain: the hypervisor's "leaving"
//! and "arriving" hints against the reactive path, on WANs of the paper's
//! round trips, with the invariant checked after every millisecond of fake
//! time. Every case is deterministic; figures are fake time and packet
//! counts, never the machine's speed.

use netns_tests::sim_domain::{
    Bound, DomainSpec, Handover, ProbeFamily, SimDomain, booted, vm_hnp, vm_ipv4, vm_mac,
};
use router::sim::LinkParams;
use router::{Duration, Instant};

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// A domain whose MAG-LMA round trip is `rtt`, VM 0 registered at MAG 0.
fn domain(seed: u64, rtt: Duration) -> (SimDomain, Bound) {
    let mut spec = DomainSpec::new(seed, 2, 1);
    spec.wan = LinkParams {
        delay: rtt / 2,
        ..LinkParams::default()
    };
    let bound = Bound::new(rtt, Duration::from_secs(60));
    (booted(&spec, 0), bound)
}

fn stream(
    d: &mut SimDomain,
    bound: &Bound,
    to: usize,
    pause: Duration,
    handover: Handover,
) -> netns_tests::sim_domain::Stream {
    d.migrate_under_stream(0, to, pause, ms(1), ms(200), ms(500), handover, bound)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn proactive_loses_nothing_and_keeps_order_at_every_paper_rtt() {
    for (seed, rtt) in [(1, 0), (2, 30), (3, 90), (4, 160)] {
        let (mut d, bound) = domain(seed, ms(rtt));
        let s = stream(&mut d, &bound, 1, ms(300), Handover::Proactive);
        assert_eq!(s.lost(), 0, "RTT {rtt} ms: {s:?}");
        // The source MAG's copies take a round trip through the LMA: when
        // the pause is shorter than two round trips the last of them come in
        // after the VM resumed, and are delivered late, out of order.
        assert_eq!(s.in_order, 2 * rtt <= 300, "RTT {rtt} ms: {s:?}");
        assert!(d.settled_at(0, 1));
        // The silence is the pause and the time the held packets take
        // back; fake time, so the bound is exact and not the machine's.
        assert!(s.largest_silence <= ms(300 + 2), "RTT {rtt} ms: {s:?}");
        // And back again.
        let s = stream(&mut d, &bound, 0, ms(300), Handover::Proactive);
        assert_eq!(s.lost(), 0, "RTT {rtt} ms back: {s:?}");
        assert!(d.settled_at(0, 0));
        // The source MAG forgets the VM once its leaving hint ran out.
        d.run_checked(Duration::from_secs(20), ms(10), &bound)
            .unwrap();
        assert!(d.leaks(0, 0).is_empty(), "{:?}", d.leaks(0, 0));
    }
}

/// A dual-stack VM (RFC 5844): the hint's one PBU registers its IPv4 home
/// address beside its HNP (option 36), its IPv4 downlink is held like its
/// IPv6 downlink, and the hypervisor's gratuitous ARP, the first frame of the
/// resumed VM, delivers both, in order and with nothing lost.
#[test]
fn a_dual_stack_vm_loses_no_ipv4_either() {
    let both = [ProbeFamily::Ipv6, ProbeFamily::Ipv4];
    for (seed, rtt) in [(21, 30), (22, 160)] {
        let (mut d, bound) = domain(seed, ms(rtt));
        let timing = [ms(300), ms(1), ms(200), ms(500)];
        let s = d
            .migrate_under_streams(0, 1, timing, Handover::Proactive, &bound, &both)
            .unwrap_or_else(|e| panic!("{e}"));
        let (v6, v4) = (&s[0], &s[1]);
        assert!(v4.sent >= 1000, "RTT {rtt} ms: {v4:?}");
        assert_eq!((v6.lost(), v4.lost()), (0, 0), "RTT {rtt} ms: {s:?}");
        // As for IPv6: the source MAG's copies come in after the resume
        // when the pause is shorter than two round trips.
        assert_eq!(v4.in_order, 2 * rtt <= 300, "RTT {rtt} ms: {v4:?}");
        assert!(v4.largest_silence <= ms(300 + 2), "RTT {rtt} ms: {v4:?}");
        assert!(d.settled_at(0, 1));
        assert_eq!(d.mag(1).counters().get("mag.hold.dropped.no_node"), 0);

        // Stopped half-way, in a domain of its own: before the VM resumes,
        // MAG 1 holds the binding the hint's one PBU asked for, IPv4 home
        // address included, and holds the VM's IPv4 downlink.
        let (mut d, bound) = domain(seed + 10, ms(rtt));
        d.depart(0);
        d.hint_leaving(0, 0, Some(1));
        d.hint_arriving(0, 1);
        let pbus = d.mag(1).counters().get("mag.pbu.sent");
        d.run_checked(ms(rtt + 20), ms(1), &bound).unwrap();
        let e = d.bul(1, 0).expect("registered on the hint's word");
        assert!(e.is_registered(), "RTT {rtt} ms");
        assert_eq!(e.ipv4.map(|g| g.address), Some(vm_ipv4(0)));
        assert_eq!((pbus, d.mag(1).counters().get("mag.pbu.sent")), (1, 1));
        assert!(d.mag(1).awaits(&vm_mac(0)));
        assert!(d.mag(1).engine().holds(vm_ipv4(0).addr()));
        d.arrive(0, 1);
        d.run_checked(ms(500), ms(1), &bound).unwrap();
        assert!(d.settled_at(0, 1));
        assert!(!d.mag(1).engine().holds(vm_ipv4(0).addr()));
        assert_eq!(d.ping4(0, 20, ms(10)), 20, "RTT {rtt} ms");
    }
    // Without hints the IPv4 downlink of the pause is lost, as IPv6's is.
    let (mut d, bound) = domain(23, ms(90));
    let timing = [ms(300), ms(1), ms(200), ms(500)];
    let s = d
        .migrate_under_streams(0, 1, timing, Handover::Reactive, &bound, &both)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(s[1].lost() >= 300, "{s:?}");
}

#[test]
fn reactive_still_works_and_loses_the_round_trip() {
    let (mut d, bound) = domain(5, ms(90));
    let s = stream(&mut d, &bound, 1, ms(300), Handover::Reactive);
    assert!(d.settled_at(0, 1));
    // What was sent during the pause and one round trip after it is lost.
    assert!(s.lost() >= 300, "{s:?}");
    assert!(s.largest_silence >= ms(300 + 90), "{s:?}");
    let (mag1, mag0) = (d.mag(1).counters(), d.mag(0).counters());
    assert_eq!(
        mag1.get("mag.hint.arriving") + mag0.get("mag.hint.leaving"),
        0
    );
    assert_eq!(mag1.get("fwd.held"), 0);
}

#[test]
fn without_the_destination_in_the_leaving_hint_only_in_flight_packets_are_lost() {
    let (mut d, bound) = domain(6, ms(90));
    d.depart(0);
    d.hint_leaving(0, 0, None);
    d.hint_arriving(0, 1);
    d.run_checked(ms(300), ms(1), &bound).unwrap();
    d.arrive(0, 1);
    d.run_checked(ms(500), ms(1), &bound).unwrap();
    assert!(d.settled_at(0, 1));
    assert_eq!(d.mag(1).counters().get("mag.hint.arrived"), 1);
    assert_eq!(d.ping(0, 20, ms(10)), 20);
}

#[test]
fn an_arrival_hint_for_a_vm_that_never_comes_is_undone() {
    let (mut d, bound) = domain(7, ms(30));
    let r = d.hint_arriving(0, 1);
    assert!(r.ok, "{r:?}");
    // The hint was wrong: the VM never left. The destination took the
    // binding, held the downlink, then gives up after its timeout ...
    d.run_for(Duration::from_secs(11));
    assert!(d.bul(1, 0).is_none());
    let c = d.mag(1).counters();
    assert_eq!(c.get("mag.hint.expired"), 1);
    assert_eq!(c.get("mag.pbu.dereg"), 1);
    // ... and the VM, announced again by its hypervisor (as on a failed
    // migration's resume), is registered where it is.
    d.depart(0);
    d.arrive(0, 0);
    d.run_checked(Duration::from_secs(5), ms(10), &bound)
        .unwrap();
    assert!(d.settled_at(0, 0));
    assert!(d.leaks(0, 0).is_empty(), "{:?}", d.leaks(0, 0));
}

#[test]
fn a_wrong_leaving_hint_changes_nothing_visible() {
    let (mut d, bound) = domain(8, ms(90));
    let r = d.hint_leaving(0, 0, Some(1));
    assert!(r.ok, "{r:?}");
    let start = d.now();
    let mut answered = 0;
    for _ in 0..15 {
        answered += d.ping(0, 100, ms(10));
        d.check(&bound).unwrap();
    }
    assert_eq!(
        answered, 1500,
        "every ping answered while the hint lasts and after"
    );
    assert!(d.now() - start > Duration::from_secs(12));
    assert!(d.settled_at(0, 0));
    let c = d.mag(0).counters();
    assert_eq!(c.get("mag.hint.leaving_wrong"), 1);
    assert_eq!(c.get("mag.pbu.dereg"), 0);
    // The destination MAG, told nothing, kept the source's copies a moment
    // for a hint that never came, then dropped them.
    let copied = c.get("mag.forward.copied");
    assert!(copied > 0);
    let dst = d.mag(1).counters();
    assert_eq!(dst.get("mag.forward.early"), copied);
    assert_eq!(dst.get("mag.forward.unexpected"), copied);
    assert_eq!(d.mag(1).sizes()[6], ("copies before their hint", 0));
    assert!(d.leaks(0, 0).is_empty(), "{:?}", d.leaks(0, 0));
}

/// The hypervisor tells the source MAG first and the destination a moment
/// later. The source's copies of what reached the paused VM meanwhile can
/// overtake that "arriving" hint (on a LAN at once, on a WAN when the hint
/// is later than a round trip); the destination keeps them for the hint to
/// claim, so nothing is lost as long as the hint's registration is done
/// before the VM resumes.
#[test]
fn copies_that_overtake_the_arriving_hint_are_not_lost() {
    // (seed, RTT, hint delay): later than a round trip, earlier than the
    // pause less a round trip, so the hint's PBA is back before the resume.
    let cases = [
        (40, 0, 1),
        (41, 0, 5),
        (42, 0, 120),
        (43, 30, 60),
        (44, 30, 200),
        (45, 90, 150),
    ];
    for (seed, rtt, delay) in cases {
        let mut spec = DomainSpec::new(seed, 2, 1);
        spec.wan = LinkParams {
            delay: ms(rtt) / 2,
            ..LinkParams::default()
        };
        spec.arriving_hint_delay = ms(delay);
        let bound = Bound::new(ms(rtt), Duration::from_secs(60));
        let mut d = booted(&spec, 0);
        let s = stream(&mut d, &bound, 1, ms(300), Handover::Proactive);
        let case = format!("RTT {rtt} ms, arriving hint {delay} ms after leaving");
        assert_eq!(s.lost(), 0, "{case}: {s:?}");
        let early = d.mag(1).counters().get("mag.forward.early");
        assert!(early > 0, "{case}: no copy came before the hint");
        assert_eq!(
            d.mag(1).counters().get("mag.forward.unexpected"),
            0,
            "{case}"
        );
        assert!(d.settled_at(0, 1), "{case}");
        d.run_checked(Duration::from_secs(20), ms(10), &bound)
            .unwrap();
        assert!(d.leaks(0, 1).is_empty(), "{case}: {:?}", d.leaks(0, 1));
        assert_eq!(d.mag(1).sizes()[6], ("copies before their hint", 0));
    }
}

/// The hints racing the reactive path: sent from well before the VM resumes
/// to after it announced itself, in 1 ms steps around the instants where the
/// hint's PBA, the resume and the announcement meet. Whatever the order, the
/// VM ends registered at the destination, nothing leaks, and the invariant
/// holds every millisecond.
#[test]
fn hints_racing_the_reactive_path_at_every_offset() {
    let rtt = ms(30);
    let pause = ms(100);
    let mut offsets: Vec<i64> = (-140..=60).step_by(5).collect();
    offsets.extend(-75..=-65);
    offsets.extend(-35..=-25);
    offsets.extend(-5..=5);
    for (i, offset) in offsets.into_iter().enumerate() {
        let (mut d, bound) = domain(100 + i as u64, rtt);
        let hint_at = Instant::from_millis(d.now().total_millis() + 100 + offset);
        d.depart(0);
        let resume = d.now() + pause;
        let mut hinted = false;
        let mut resumed = false;
        while !(hinted && resumed) {
            let next = [(!hinted).then_some(hint_at), (!resumed).then_some(resume)]
                .into_iter()
                .flatten()
                .min()
                .unwrap();
            if next > d.now() {
                d.run_checked(next - d.now(), ms(1), &bound).unwrap();
            }
            if !hinted && d.now() >= hint_at {
                d.hint_leaving(0, 0, Some(1));
                d.hint_arriving(0, 1);
                hinted = true;
            }
            if !resumed && d.now() >= resume {
                d.arrive(0, 1);
                resumed = true;
            }
        }
        d.run_checked(Duration::from_secs(30), ms(1), &bound)
            .unwrap_or_else(|e| panic!("hint at {offset} ms: {e}"));
        assert!(d.settled_at(0, 1), "hint at {offset} ms");
        assert!(
            d.leaks(0, 1).is_empty(),
            "hint at {offset} ms: {:?}",
            d.leaks(0, 1)
        );
        assert_eq!(d.ping(0, 10, ms(10)), 10, "hint at {offset} ms");
        assert!(!d.mag(1).engine().holds(vm_hnp(0).addr()));
        assert!(!d.mag(1).engine().holds(vm_ipv4(0).addr()));
    }
}
