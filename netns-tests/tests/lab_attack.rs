//! The attack of issue 9 in the lab, and its variants: from host2, a
//! hypervisor host on wan2 without any key, scapy sends the LMA PBUs that
//! claim vm1 moved to mag2 (mag2's address as their source, no key; then a
//! random authenticator, an unknown SPI, a wrong length, truncated and
//! overlong options, a source that is no MAG) and replays an authentic PBU of
//! mag2 captured on wan2 (`lab_attack.py`). Throughout, the client's probes
//! to vm1 must see no outage; afterwards every binding is as before, and the
//! LMA's counters show each refusal. The same lab run `--insecure` falls to
//! the reported attack, which shows the forged PBUs are otherwise good ones.

use std::time::Duration;

use netns_tests::binaries;
use netns_tests::domain::topology::LAB_SPI;
use netns_tests::domain::{Binaries, Domain, MigrateOptions, Topology, Tuning};
use netns_tests::probe::report::{summary, tcp_summary};
use netns_tests::userns;
use router::ctl::Request;

const SCRIPT: &str = concat!(include_str!("pmip_mh.py"), include_str!("lab_attack.py"));
/// What each variant of the script must leave in the LMA's counters.
const REFUSALS: [(&str, u64); 5] = [
    // Six PBUs without the option: the reported five and one with HI=3.
    ("auth.drop.missing", 6),
    ("auth.drop.bad_authenticator", 1),
    ("auth.drop.unknown_spi", 1),
    ("auth.drop.wrong_length", 1),
    ("auth.drop.malformed", 2),
];

fn counter(d: &Domain, router: &str, name: &str) -> u64 {
    let tables = d.router(router, &Request::Counters {}).unwrap();
    tables[0]
        .cell(name, "value")
        .map_or(0, |v| v.parse().unwrap_or(0))
}

/// vm1's Binding Cache entry, without the lifetime that ticks.
fn binding(d: &Domain) -> Vec<String> {
    let tables = d.router("lma", &Request::Bindings {}).unwrap();
    let t = &tables[0];
    let row = t
        .rows
        .iter()
        .find(|r| r[0] == "vm1@tapmip")
        .expect("vm1 has a binding");
    t.columns
        .iter()
        .zip(row)
        .filter(|(c, _)| *c != "lifetime left")
        .map(|(c, v)| format!("{c}={v}"))
        .collect()
}

/// Runs the attack script in host2; `extra` after its fixed arguments.
fn attack(d: &Domain, extra: &[&str]) -> String {
    let mag2 = d.topology.mag("mag2").unwrap();
    let host2 = d.address("host2").unwrap();
    // The LMA's MAC on wan2 (its port 2), as the lab gives it.
    let lma_mac = router::portspec::default_mac("lma", 2).to_string();
    let pcap = d.pcap("wan2");
    let (lmaa, coa, host2) = (
        mag2.lma_address().to_string(),
        mag2.proxy_coa().to_string(),
        host2.to_string(),
    );
    let spi = LAB_SPI.to_string();
    let mut args = vec![
        "/usr/bin/python3",
        "-c",
        SCRIPT,
        &lmaa,
        &lma_mac,
        &coa,
        &host2,
        &spi,
        pcap.to_str().unwrap(),
    ];
    args.extend(extra);
    let out = d
        .exec("host2", &args)
        .unwrap_or_else(|e| panic!("the attack script: {e}"));
    println!("host2:\n{out}");
    out
}

fn up(tuning: &Tuning) -> Domain {
    binaries::build(&binaries::LAB).unwrap_or_else(|e| panic!("{e}"));
    let topology = Topology::parse(
        "wan_rtt_ms = 10.0\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n[[vm]]\nname = \"vm1\"\nmag = \"mag1\"\n[[correspondent]]\nname = \"client\"\n",
    )
    .unwrap();
    let bins = Binaries::siblings_of_target().unwrap();
    Domain::up(topology, bins, tuning).unwrap_or_else(|e| panic!("{e}"))
}

fn wait_registered(d: &Domain, mag: &str) {
    let ok = d.wait_registered(mag, "vm1@tapmip", Duration::from_secs(15));
    assert!(ok, "vm1 registers at {mag}\n{}", d.diagnosis());
}

#[test]
fn forged_and_replayed_pbus_move_no_vm() {
    let mut d = up(&Tuning {
        capture: vec!["wan2".into()],
        ..Tuning::default()
    });
    // vm1 visits mag2 and comes back, so wan2 carries authentic PBUs of mag2
    // for vm1 that the attacker can replay.
    let quick = MigrateOptions {
        precopy_bytes: 0,
        pause: Duration::from_millis(100),
        announce: true,
        hints: false,
    };
    d.migrate("vm1", "mag2", &quick).unwrap();
    wait_registered(&d, "mag2");
    d.migrate("vm1", "mag1", &quick).unwrap();
    wait_registered(&d, "mag1");
    std::thread::sleep(Duration::from_secs(1));
    let before = binding(&d);
    assert!(before.contains(&"mag=mag1".to_string()), "{before:?}");
    let stale_before = counter(&d, "lma", "pba.sent.timestamp_mismatch");

    let probes = d.start_probes("vm1", "client").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let out = attack(&d, &[]);
    assert!(out.contains("sent replayed_pbu 1"), "{out}");
    // Longer than MaxDelayBeforeNewBCEAssign (1.5 s): a held PBU would act now.
    std::thread::sleep(Duration::from_secs(3));
    let (udp, tcp) = d.stop_probes(probes).unwrap();
    println!("{}\n{}", summary(&udp), tcp_summary(&tcp));

    assert_eq!(binding(&d), before, "vm1's binding is unchanged");
    let sizes = d.router("lma", &Request::Status {}).unwrap();
    let sizes = sizes.iter().find(|t| t.title == "sizes").unwrap();
    assert_eq!(sizes.cell("held PBUs", "entries"), Some("0"), "{sizes:?}");
    assert!(
        udp.outages.is_empty() && udp.unanswered_tail == 0,
        "vm1 stays reachable: {}\n{}",
        summary(&udp),
        d.diagnosis()
    );
    assert!(tcp.survived, "{}", tcp_summary(&tcp));
    let mut seen = Vec::new();
    for (name, want) in REFUSALS {
        let got = counter(&d, "lma", name);
        seen.push(format!("{name} = {got}"));
        assert_eq!(got, want, "{name}\n{}", d.diagnosis());
    }
    // Two from an address with no key: with and without an option.
    assert_eq!(counter(&d, "lma", "auth.drop.unknown_peer"), 2);
    // The replay passed the authenticator and was refused as stale.
    let stale = counter(&d, "lma", "pba.sent.timestamp_mismatch") - stale_before;
    assert_eq!(
        stale,
        1,
        "the replayed PBU is refused by its timestamp\n{}",
        d.diagnosis()
    );
    println!("refusals at the LMA: {}", seen.join(", "));
    let log = d.lab.log_of("lma");
    let dropped = log.matches("no answer, nothing changed").count();
    assert_eq!(dropped, 13, "each refusal is logged with its reason");
    let replay = log
        .lines()
        .find(|l| l.contains("timestamp outside TimestampValidityWindow"))
        .expect("the replay's refusal is logged");
    println!("{replay}");
    let vm1 = d.address("vm1").unwrap().to_string();
    d.exec("client", &["ping", "-6", "-n", "-c", "3", "-W", "2", &vm1])
        .unwrap();
}

/// What `--insecure` gives up: five forged PBUs, and vm1's binding is mag2's.
#[test]
fn an_insecure_lab_falls_to_the_reported_attack() {
    let d = up(&Tuning {
        insecure: true,
        capture: vec!["wan2".into()],
        ..Tuning::default()
    });
    assert!(binding(&d).contains(&"mag=mag1".to_string()));
    assert!(
        d.lab
            .log_of("lma")
            .contains("SIGNALLING IS NOT AUTHENTICATED")
    );
    attack(&d, &["reported"]);
    let moved = netns_tests::wait::until(Duration::from_secs(5), || {
        Ok(binding(&d).contains(&"mag=mag2".to_string()).then_some(()))
    })
    .unwrap();
    assert!(
        moved.is_some(),
        "the forged PBUs move vm1 when nothing is authenticated\n{}",
        d.diagnosis()
    );
}

/// The same attack as an unprivileged user runs the lab: this binary re-runs
/// it inside `unshare -Urnm`.
#[test]
fn forged_pbus_in_a_user_namespace() {
    let args = [
        "--exact",
        "forged_and_replayed_pbus_move_no_vm",
        "--nocapture",
        "--test-threads=1",
    ];
    match userns::rerun_tests(&args, 1) {
        Ok(text) => println!("{text}"),
        Err(e) => panic!("{e}"),
    }
}
