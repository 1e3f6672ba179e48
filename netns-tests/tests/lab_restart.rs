//! Restart recovery in the lab (RFC 5847): the LMA, then a MAG, is killed with
//! SIGKILL while the paper's probes run, and started again with the same
//! command line. Every VM must be reachable again within a bound, with its
//! addresses unchanged, and the TCP probe's session must survive.
//!
//! The bound: HEARTBEAT_INTERVAL + one WAN round trip + 1 s for an LMA
//! restart (the MAG's next heartbeat finds the new Restart Counter and
//! re-registers), and the MAG's discovery (at once and 2 s later) + one round
//! trip + 1 s for a MAG restart; both are sanity bounds on a loaded machine,
//! not measurements, which the test prints.

use std::time::Duration;

use netns_tests::binaries;
use netns_tests::domain::{Binaries, Domain, Topology, Tuning};
use netns_tests::probe::report::{summary, tcp_summary};

const RTT_MS: f64 = 20.0;
const HEARTBEAT: Duration = Duration::from_secs(2);
/// What a loaded 2-core machine adds to the protocol's own recovery time.
const SLACK: Duration = Duration::from_secs(2);

fn up() -> Domain {
    binaries::build(&binaries::LAB).unwrap_or_else(|e| panic!("{e}"));
    let topology = Topology::parse(&format!(
        "wan_rtt_ms = {RTT_MS}\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n[[vm]]\nname = \"vm1\"\nmag = \"mag1\"\n[[correspondent]]\nname = \"client\"\n"
    ))
    .unwrap();
    let tuning = Tuning {
        heartbeat_interval_ms: HEARTBEAT.as_millis() as u64,
        ..Tuning::default()
    };
    let bins = Binaries::siblings_of_target().unwrap();
    Domain::up(topology, bins, &tuning).unwrap_or_else(|e| panic!("{e}"))
}

/// Crashes `router` while the probes run, and checks the outage it caused.
fn survives_a_crash_of(router: &str, bound: Duration) {
    let mut d = up();
    let addrs = d.vm_addresses("vm1").unwrap();
    let probes = d.start_probes("vm1", "client").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    d.crash_and_restart(router)
        .unwrap_or_else(|e| panic!("{e}\n{}", d.diagnosis()));
    std::thread::sleep(bound + Duration::from_secs(3));
    let (udp, tcp) = d.stop_probes(probes).unwrap();
    println!("{router} crash: {}\n{}", summary(&udp), tcp_summary(&tcp));
    assert_eq!(d.vm_addresses("vm1").unwrap(), addrs, "same addresses");
    assert!(
        tcp.survived,
        "the TCP session survives: {}",
        tcp_summary(&tcp)
    );
    assert_eq!(
        udp.unanswered_tail,
        0,
        "the VM answers again: {}\n{}",
        summary(&udp),
        d.diagnosis()
    );
    let limit = (bound + SLACK).as_secs_f64() * 1e3;
    for o in &udp.outages {
        assert!(
            o.duration_ms <= limit,
            "an outage of {} ms after the {router} crash, over {limit} ms:\n{}",
            o.duration_ms,
            d.diagnosis()
        );
    }
}

#[test]
fn the_lma_crashes_and_every_vm_comes_back() {
    let rtt = Duration::from_secs_f64(RTT_MS / 1e3);
    survives_a_crash_of("lma", HEARTBEAT + rtt + Duration::from_secs(1));
}

#[test]
fn a_mag_crashes_and_relearns_its_vm() {
    let rtt = Duration::from_secs_f64(RTT_MS / 1e3);
    survives_a_crash_of(
        "mag1",
        Duration::from_secs(2) + rtt + Duration::from_secs(1),
    );
}
