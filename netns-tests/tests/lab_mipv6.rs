//! The Mobile IPv6 baseline in the lab (`mobility = "mipv6"`): the VM's real
//! kernel does SLAAC and DAD, its agent registers each new care-of address with
//! the home agent. A migration keeps the home address and the TCP session,
//! changes the care-of address, and survives the loss of the first Binding
//! Update; BU and BA pass Wireshark's checks. Time bounds are sanity bounds.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use netns_tests::binaries;
use netns_tests::domain::trace::check_mobility_headers;
use netns_tests::domain::{Binaries, Domain, MigrateOptions, Topology, Tuning};
use netns_tests::probe::report::{summary, tcp_summary};
use tapbridge::ctl::{Direction, Request as BridgeRequest};
use tapbridge::link::LinkParams;

const HOA: &str = "2001:db8:1:1:5054:ff:feaa:1";

fn up() -> Domain {
    binaries::build(&binaries::LAB).unwrap_or_else(|e| panic!("{e}"));
    let topology = Topology::parse(
        "mobility = \"mipv6\"\nwan_rtt_ms = 20.0\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n\
         [[vm]]\nname = \"vm1\"\nmag = \"mag1\"\n[[correspondent]]\nname = \"client\"\n",
    )
    .unwrap();
    let tuning = Tuning::capturing_mobility(&topology);
    let bins = Binaries::siblings_of_target().unwrap();
    Domain::up(topology, bins, &tuning).unwrap_or_else(|e| panic!("{e}"))
}

fn options() -> MigrateOptions {
    MigrateOptions {
        precopy_bytes: 2 << 20,
        pause: Duration::from_millis(300),
        ..MigrateOptions::default()
    }
}

fn addresses(d: &Domain, dev: &str) -> String {
    d.exec(
        "vm1",
        &[
            "ip", "-6", "-o", "addr", "show", "dev", dev, "scope", "global",
        ],
    )
    .unwrap()
}

/// Drops everything the VM sends until its agent has sent a Binding Update
/// from a care-of address in `prefix`, then lets traffic through again: the
/// first BU of the handoff is lost, its retransmission must do.
fn lose_first_bu(d: &Domain, prefix: &'static str) -> std::thread::JoinHandle<bool> {
    let bridge = d.sock("bridge");
    let log: PathBuf = d.lab.workdir().join("mn-vm1.log");
    let set = move |loss_ppm: u32| {
        let req = BridgeRequest::Link {
            member: "vm1".into(),
            dir: Direction::In,
            params: LinkParams {
                loss_ppm,
                ..LinkParams::default()
            },
        };
        let line = serde_json::to_string(&req).unwrap();
        router::netio::client::ask_tables(&bridge, &line).unwrap();
    };
    let sent = format!("care-of address {prefix}");
    let sends = move || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines()
            .filter(|l| l.contains("sent BU") && l.contains(&sent))
            .count()
    };
    // The boot registration was from this prefix too: wait for one more.
    let before = sends();
    set(1_000_000);
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            if sends() > before {
                std::thread::sleep(Duration::from_millis(50));
                set(0);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        set(0);
        false
    })
}

#[test]
fn mipv6_migration_keeps_the_home_address_and_tcp_and_recovers_from_a_lost_bu() {
    let mut d = up();
    assert_eq!(
        d.global_of("vm1").unwrap().to_string(),
        HOA,
        "probed at its home address"
    );
    assert!(addresses(&d, "tun0").contains(HOA));
    assert!(
        addresses(&d, "eth0").contains("2001:db8:a:1:"),
        "{}",
        addresses(&d, "eth0")
    );

    let probes = d.start_probes("vm1", "client").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let there = d.migrate("vm1", "mag2", &options()).unwrap();
    let handoff = there
        .handoff_ms
        .unwrap_or_else(|| panic!("no handoff\n{}", d.diagnosis()));
    assert!(
        d.care_of(HOA.parse().unwrap())
            .is_some_and(|c| c.to_string().starts_with("2001:db8:a:2:"))
    );
    // The agent removes the old care-of address once its BA is in.
    let moved = netns_tests::wait::until(Duration::from_secs(5), || {
        let eth0 = addresses(&d, "eth0");
        Ok((eth0.contains("2001:db8:a:2:") && !eth0.contains("2001:db8:a:1:")).then_some(()))
    })
    .unwrap();
    assert!(
        moved.is_some(),
        "the care-of address changed and the old one is gone: {}",
        addresses(&d, "eth0")
    );
    // The ladder of the handoff: the new RA, the kernel's DAD, then BU and BA.
    let ladder = d.trace("vm1").unwrap();
    let order: Vec<&str> = ["RA prefix 2001:db8:a:2::/64", "DAD NS", "BU seq", "BA seq"]
        .into_iter()
        .filter(|w| ladder.iter().any(|e| e.what.starts_with(w)))
        .collect();
    let first = |w: &str| ladder.iter().position(|e| e.what.starts_with(w));
    assert_eq!(order.len(), 4, "{ladder:?}");
    assert!(
        first("RA prefix") < first("DAD NS")
            && first("DAD NS") < first("BU seq")
            && first("BU seq") < first("BA seq"),
        "{}",
        netns_tests::domain::trace::render(&ladder)
    );
    std::thread::sleep(Duration::from_secs(2));

    // Back to mag1 with the first BU lost on the way out of the VM.
    let lost = lose_first_bu(&d, "2001:db8:a:1:");
    let back = d.migrate("vm1", "mag1", &options()).unwrap();
    assert!(lost.join().unwrap(), "the agent never sent its BU");
    assert!(back.handoff_ms.is_some(), "{}", d.diagnosis());
    let mn_log = d.lab.log_of("mn-vm1");
    assert!(mn_log.contains("retransmitted BU"), "{mn_log}");
    std::thread::sleep(Duration::from_secs(2));
    let (udp, tcp) = d.stop_probes(probes).unwrap();
    println!(
        "{}\n{}\nhandoff there {handoff:.0} ms",
        summary(&udp),
        tcp_summary(&tcp)
    );
    assert!(tcp.survived, "TCP session lost: {}", tcp_summary(&tcp));
    assert_eq!(udp.unanswered_tail, 0, "{}", summary(&udp));
    assert!(
        addresses(&d, "tun0").contains(HOA),
        "the home address stays"
    );
    // DAD runs on every move: downtime is well above the pause, and sane.
    assert!(
        udp.downtime_ms > 1000.0 && udp.downtime_ms < 15_000.0,
        "{}",
        summary(&udp)
    );

    for segment in ["access1", "access2", "wan1", "wan2"] {
        let n = check_mobility_headers(&d.pcap(segment)).unwrap_or_else(|e| panic!("{e}"));
        assert!(n >= 2, "{segment}: {n} BU/BA");
    }
}
