//! Proactive handover in the lab: real Linux stacks as the VM and the
//! correspondent, the LMA, MAGs and tapbridge as processes, the hints sent
//! to the MAGs' control sockets as the stop-and-copy starts. Checked: what
//! the probes lost and what came late, the MAGs' counters, the reactive
//! fallback, and the undo of a migration that failed after its hints. No
//! figure of time is asserted beyond generous sanity bounds.

use std::time::Duration;

use netns_tests::binaries;
use netns_tests::domain::probes::ProbeFamily;
use netns_tests::domain::{Binaries, Domain, MigrateOptions, Topology, Tuning};
use netns_tests::probe::report::{summary, tcp_summary};
use router::ctl::{Request, Table};

const PAUSE: Duration = Duration::from_millis(300);

fn up(rtt_ms: f64) -> Domain {
    up_with(rtt_ms, "ipv6")
}

/// The domain with a VM of `family` (ipv6, dual, ipv4).
fn up_with(rtt_ms: f64, family: &str) -> Domain {
    binaries::build(&binaries::LAB).unwrap_or_else(|e| panic!("{e}"));
    let topology = Topology::parse(&format!(
        "wan_rtt_ms = {rtt_ms}\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n[[vm]]\nname = \"vm1\"\nmag = \"mag1\"\nfamily = \"{family}\"\n[[correspondent]]\nname = \"client\"\n"
    ))
    .unwrap();
    let bins = Binaries::siblings_of_target().unwrap();
    Domain::up(topology, bins, &Tuning::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn options(hints: bool) -> MigrateOptions {
    MigrateOptions {
        precopy_bytes: 1 << 20,
        pause: PAUSE,
        hints,
        ..MigrateOptions::default()
    }
}

fn counter(d: &Domain, router: &str, name: &str) -> u64 {
    let tables: Vec<Table> = d.router(router, &Request::Counters {}).unwrap();
    tables[0]
        .rows
        .iter()
        .find(|r| r.first().is_some_and(|c| c == name))
        .and_then(|r| r.get(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn serving(d: &Domain) -> Option<String> {
    let lma = d.router("lma", &Request::Bindings {}).ok()?;
    let t = &lma[0];
    let col = t.columns.iter().position(|c| c == "mag")?;
    t.rows.first()?.get(col).cloned()
}

/// Requests a 1 ms stream may lose in one migration although they are held.
/// The simulations hold proactive handover to exactly zero; on real stacks a
/// loss of one or two remains in a few migrations, not explained yet
/// (`make paper`: 6 requests in 280 migrations; docs/proactive.md, Limits).
const UNEXPLAINED_LOSS: u64 = 2;

#[test]
fn proactive_migration_loses_nothing_and_reactive_still_works() {
    let mut d = up(90.0);
    let probes = d.start_probes_every("vm1", "client", 1).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let there = d.migrate("vm1", "mag2", &options(true)).unwrap();
    assert!(there.hinted_at.is_some());
    std::thread::sleep(Duration::from_secs(2));
    let (udp, tcp) = d.stop_probes(probes).unwrap();
    println!(
        "proactive: {there:?}\n{}\n{}",
        summary(&udp),
        tcp_summary(&tcp)
    );
    assert_eq!(serving(&d).as_deref(), Some("mag2"), "{}", d.diagnosis());
    assert!(tcp.survived, "{}", tcp_summary(&tcp));
    assert!(
        udp.lost <= UNEXPLAINED_LOSS,
        "held, not lost, within the buffer limits: {}",
        summary(&udp)
    );
    assert!(
        udp.late > 0,
        "the pause's requests came late: {}",
        summary(&udp)
    );
    assert_eq!(counter(&d, "mag2", "mag.hint.arrived"), 1);
    assert!(counter(&d, "mag2", "mag.hold.delivered") > 0);
    assert_eq!(counter(&d, "mag2", "mag.hold.dropped.packets"), 0);
    assert!(counter(&d, "mag1", "mag.forward.copied") > 0);
    // A sanity bound only: the silence is the pause and a little.
    assert!(
        udp.largest_silence_ms < PAUSE.as_secs_f64() * 1e3 + 250.0,
        "{}",
        summary(&udp)
    );

    // Back without hints: the reactive handoff, as before.
    let probes = d.start_probes_every("vm1", "client", 1).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let back = d.migrate("vm1", "mag1", &options(false)).unwrap();
    assert!(back.hinted_at.is_none());
    std::thread::sleep(Duration::from_secs(2));
    let (udp, tcp) = d.stop_probes(probes).unwrap();
    println!(
        "reactive: {back:?}\n{}\n{}",
        summary(&udp),
        tcp_summary(&tcp)
    );
    assert_eq!(serving(&d).as_deref(), Some("mag1"), "{}", d.diagnosis());
    assert!(tcp.survived, "{}", tcp_summary(&tcp));
    assert!(
        udp.lost > 0,
        "the pause and a round trip are lost: {}",
        summary(&udp)
    );
    assert_eq!(udp.unanswered_tail, 0, "{}", summary(&udp));
    assert_eq!(counter(&d, "mag1", "mag.hint.arriving"), 0);
}

/// A dual-stack VM (RFC 5844): its IPv4 downlink is held and delivered like
/// its IPv6 downlink, both measured by 1 ms streams in the same migration.
#[test]
fn a_dual_stack_vm_loses_no_ipv4_either() {
    let mut d = up_with(90.0, "dual");
    let probes6 = d.start_probes_every("vm1", "client", 1).unwrap();
    let probes4 = d
        .start_probes_with("vm1", "client", ProbeFamily::Ipv4, 1, None)
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let there = d.migrate("vm1", "mag2", &options(true)).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let (udp6, _) = d.stop_probes(probes6).unwrap();
    let (udp4, tcp4) = d.stop_probes(probes4).unwrap();
    println!(
        "{there:?}\nIPv6 {}\nIPv4 {}\n{}",
        summary(&udp6),
        summary(&udp4),
        tcp_summary(&tcp4)
    );
    assert_eq!(serving(&d).as_deref(), Some("mag2"), "{}", d.diagnosis());
    assert!(tcp4.survived, "{}", tcp_summary(&tcp4));
    for (family, udp) in [("IPv6", &udp6), ("IPv4", &udp4)] {
        assert!(
            udp.lost <= UNEXPLAINED_LOSS,
            "{family}: held, not lost: {}",
            summary(udp)
        );
        assert!(udp.late > 0, "{family}: {}", summary(udp));
        assert!(
            udp.largest_silence_ms < PAUSE.as_secs_f64() * 1e3 + 250.0,
            "{family}: {}",
            summary(udp)
        );
    }
    for limit in ["packets", "bytes", "age", "no_node"] {
        let name = format!("mag.hold.dropped.{limit}");
        assert_eq!(counter(&d, "mag2", &name), 0, "{name}");
    }
}

#[test]
fn hints_of_a_failed_migration_are_undone() {
    let mut d = up(20.0);
    let probes = d.start_probes("vm1", "client").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // The orchestrator hints both MAGs, then the migration fails and the VM
    // runs on where it was: it says so to the source MAG.
    let arriving = Request::Arriving {
        mac: None,
        mn_id: Some("vm1@tapmip".into()),
        timeout_ms: Some(2000),
    };
    let leaving = Request::Leaving {
        mac: None,
        mn_id: Some("vm1@tapmip".into()),
        timeout_ms: Some(2000),
        to: Some("2001:db8:ff:2::2".into()),
    };
    d.router("mag2", &arriving).unwrap();
    d.router("mag1", &leaving).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let back = d.router("mag1", &arriving).unwrap();
    assert_eq!(
        back[0].rows[0][2],
        "back: registering again",
        "{}",
        back[0].render()
    );
    std::thread::sleep(Duration::from_secs(4));
    let (udp, _) = d.stop_probes(probes).unwrap();
    println!("{}", summary(&udp));
    assert_eq!(serving(&d).as_deref(), Some("mag1"), "{}", d.diagnosis());
    assert_eq!(counter(&d, "mag2", "mag.hint.expired"), 1);
    let bul = d.router("mag2", &Request::Bindings {}).unwrap();
    assert!(
        bul[0].rows.is_empty(),
        "undone at mag2: {}",
        bul[0].render()
    );
    assert_eq!(udp.unanswered_tail, 0, "{}", summary(&udp));
    // A hint that names no node of the policy is refused, naming the field.
    let wrong = Request::Arriving {
        mac: Some("52:54:00:ff:ff:ff".into()),
        mn_id: None,
        timeout_ms: None,
    };
    let e = d.router("mag2", &wrong).unwrap_err().to_string();
    assert!(
        e.contains("mac: 52:54:00:ff:ff:ff is not a node of the policy"),
        "{e}"
    );
}
