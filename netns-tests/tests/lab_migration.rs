//! Live migration in the lab: real Linux hosts as the VM and the correspondent,
//! the LMA, MAGs and tapbridge as processes, the paper's probes measuring.
//!
//! Bounds on time are generous sanity bounds (pause + one WAN round trip + 50 ms);
//! precise figures belong to `make bench` and `make paper`.

use std::time::Duration;

use netns_tests::binaries;
use netns_tests::domain::trace::check_mobility_headers;
use netns_tests::domain::{Binaries, Domain, MigrateOptions, Topology, Tuning};
use netns_tests::probe::report::{summary, tcp_summary};
use router::ctl::Request;

const PAUSE: Duration = Duration::from_millis(300);

fn up(topology: &str, tuning: &Tuning) -> Domain {
    binaries::build(&binaries::LAB).unwrap_or_else(|e| panic!("{e}"));
    let topology = Topology::parse(topology).unwrap();
    let bins = Binaries::siblings_of_target().unwrap();
    Domain::up(topology, bins, tuning).unwrap_or_else(|e| panic!("{e}"))
}

fn options() -> MigrateOptions {
    MigrateOptions {
        precopy_bytes: 4 << 20,
        pause: PAUSE,
        ..MigrateOptions::default()
    }
}

/// The VM's default route without its ticking expiry.
fn default_route(d: &Domain, vm: &str) -> String {
    let route = d
        .exec(vm, &["ip", "-6", "route", "show", "default"])
        .unwrap();
    route
        .split(" expires")
        .next()
        .unwrap_or_default()
        .to_string()
}

fn dad_probes(d: &Domain, segment: &str) -> usize {
    let out = std::process::Command::new("tshark")
        .args([
            "-r",
            &d.pcap(segment).display().to_string(),
            "-Y",
            "icmpv6.type == 135 && ipv6.src == ::",
        ])
        .output()
        .expect("tshark runs");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn vm_migrates_there_and_back_keeping_addresses_router_and_tcp() {
    let rtt_ms = 20.0;
    let tuning = Tuning {
        capture: vec![
            "access1".into(),
            "access2".into(),
            "wan1".into(),
            "wan2".into(),
        ],
        ..Tuning::default()
    };
    let mut d = up(
        &format!(
            "wan_rtt_ms = {rtt_ms}\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n[[vm]]\nname = \"vm1\"\nmag = \"mag1\"\n[[correspondent]]\nname = \"client\"\n"
        ),
        &tuning,
    );
    let route = default_route(&d, "vm1");
    assert!(
        route.contains("via fe80::1 dev eth0"),
        "the VM's default router is the MAGs' shared link-local address: {route}"
    );
    let addrs = d.vm_addresses("vm1").unwrap();
    // The VM's boot ran DAD; a migration must not make it run again.
    let dad_at_boot = dad_probes(&d, "access1") + dad_probes(&d, "access2");

    let probes = d.start_probes("vm1", "client").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let there = d.migrate("vm1", "mag2", &options()).unwrap();
    assert!(
        d.wait_registered("mag2", "vm1@tapmip", Duration::from_secs(10)),
        "{}",
        d.diagnosis()
    );
    std::thread::sleep(Duration::from_secs(2));
    let back = d.migrate("vm1", "mag1", &options()).unwrap();
    assert!(
        d.wait_registered("mag1", "vm1@tapmip", Duration::from_secs(10)),
        "{}",
        d.diagnosis()
    );
    std::thread::sleep(Duration::from_secs(2));
    let (udp, tcp) = d.stop_probes(probes).unwrap();
    println!(
        "{there:?}\n{back:?}\n{}\n{}",
        summary(&udp),
        tcp_summary(&tcp)
    );

    assert_eq!(d.vm_addresses("vm1").unwrap(), addrs, "same addresses");
    assert_eq!(default_route(&d, "vm1"), route, "same default router");
    assert_eq!(
        dad_probes(&d, "access1") + dad_probes(&d, "access2"),
        dad_at_boot,
        "the moved VM never ran DAD again"
    );
    assert!(
        tcp.survived,
        "the TCP session survives: {}",
        tcp_summary(&tcp)
    );
    let bound = PAUSE.as_secs_f64() * 1e3 + rtt_ms + 50.0;
    assert!(
        udp.unanswered_tail == 0,
        "the service came back: {}",
        summary(&udp)
    );
    assert!(
        udp.outages.len() <= 2,
        "one outage per migration: {:?}",
        udp.outages
    );
    for o in &udp.outages {
        assert!(
            o.duration_ms <= bound,
            "downtime {} ms exceeds pause + RTT + 50 ms = {bound} ms",
            o.duration_ms
        );
    }
    let lma = d.router("lma", &Request::Bindings {}).unwrap();
    assert_eq!(lma[0].cell("vm1@tapmip", "mag"), Some("mag1"));
    // Wireshark's dissector reads every PBU and PBA on both WAN links cleanly.
    for wan in ["wan1", "wan2"] {
        let n = check_mobility_headers(&d.pcap(wan)).unwrap_or_else(|e| panic!("{wan}: {e}"));
        assert!(n >= 2, "{wan}: {n} PBU/PBA");
    }
}

#[test]
fn two_vms_share_one_tunnel_and_migrating_one_leaves_the_other_alone() {
    let mut d = up(
        "wan_rtt_ms = 0.0\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n[[vm]]\nname = \"vm1\"\nmag = \"mag1\"\n[[vm]]\nname = \"vm2\"\nmag = \"mag1\"\n[[correspondent]]\nname = \"client\"\n",
        &Tuning::default(),
    );
    let tunnels = d.router("lma", &Request::Tunnels {}).unwrap();
    assert_eq!(
        tunnels[0].rows.len(),
        1,
        "one tunnel to mag1: {}",
        tunnels[0].render()
    );
    assert_eq!(
        tunnels[0].cell("0", "users"),
        Some("2"),
        "{}",
        tunnels[0].render()
    );
    let mag1_tunnels = d.router("mag1", &Request::Tunnels {}).unwrap();
    assert_eq!(
        mag1_tunnels[0].rows.len(),
        1,
        "{}",
        mag1_tunnels[0].render()
    );

    let bystander = d.start_probes("vm2", "client").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    d.migrate("vm1", "mag2", &options()).unwrap();
    assert!(
        d.wait_registered("mag2", "vm1@tapmip", Duration::from_secs(10)),
        "{}",
        d.diagnosis()
    );
    std::thread::sleep(Duration::from_secs(1));
    let (udp, tcp) = d.stop_probes(bystander).unwrap();
    assert!(
        udp.outages.is_empty() && udp.unanswered_tail == 0,
        "vm2 is untouched: {}",
        summary(&udp)
    );
    assert!(tcp.survived);
    let tunnels = d.router("lma", &Request::Tunnels {}).unwrap();
    assert_eq!(
        tunnels[0].rows.len(),
        2,
        "a tunnel per serving MAG: {}",
        tunnels[0].render()
    );
    let vm1 = d.address("vm1").unwrap().to_string();
    d.exec("client", &["ping", "-6", "-n", "-c", "2", "-W", "2", &vm1])
        .unwrap();
}

#[test]
fn late_deregistration_from_the_old_mag_does_not_undo_the_handoff() {
    // MAG1 only notices the VM left by NUD, probing it on its RA timer: its
    // de-registration reaches the LMA seconds after MAG2's registration.
    let tuning = Tuning {
        mag_ra_interval_ms: 1000,
        ..Tuning::default()
    };
    let mut d = up(
        "wan_rtt_ms = 10.0\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n[[vm]]\nname = \"vm1\"\nmag = \"mag1\"\n[[correspondent]]\nname = \"client\"\n",
        &tuning,
    );
    // Without hints: a "leaving" hint would keep MAG1 from de-registering.
    let reactive = MigrateOptions {
        hints: false,
        ..options()
    };
    d.migrate("vm1", "mag2", &reactive).unwrap();
    let ignored = netns_tests::wait::until(Duration::from_secs(30), || {
        Ok(d.lab
            .log_of("lma")
            .contains("de-registration from a MAG that no longer serves the node")
            .then_some(()))
    })
    .unwrap();
    assert!(
        ignored.is_some(),
        "MAG1's late de-registration reached the LMA\n{}",
        d.diagnosis()
    );
    let log = d.lab.log_of("lma");
    let handoff = log
        .find("handoff from mag1")
        .expect("the handoff is logged");
    let late = log
        .find("de-registration from a MAG that no longer serves")
        .unwrap();
    assert!(handoff < late, "MAG2's registration came first");
    let lma = d.router("lma", &Request::Bindings {}).unwrap();
    assert_eq!(lma[0].cell("vm1@tapmip", "mag"), Some("mag2"));
    let vm1 = d.address("vm1").unwrap().to_string();
    d.exec("client", &["ping", "-6", "-n", "-c", "2", "-W", "2", &vm1])
        .unwrap();
}

#[test]
fn handoff_completes_through_30_percent_loss_on_the_wan() {
    let mut d = up(
        "wan_rtt_ms = 10.0\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n[[vm]]\nname = \"vm1\"\nmag = \"mag1\"\n[[correspondent]]\nname = \"client\"\n",
        &Tuning::default(),
    );
    d.set_wan("mag2", 10.0, 0.3).unwrap();
    d.migrate(
        "vm1",
        "mag2",
        &MigrateOptions {
            precopy_bytes: 0,
            ..options()
        },
    )
    .unwrap();
    // At 30 % loss each way an exchange gets through with p = 0.49; the MAG
    // transmits at 0, 1.5, 4.5, 10.5, 22.5 s and then every 32 s (RFC 6275
    // 11.8): fourteen chances in 300 s, all lost with p = 0.51^14 < 1e-4.
    assert!(
        d.wait_registered("mag2", "vm1@tapmip", Duration::from_secs(300)),
        "PBU retransmissions get through 30 % loss\n{}",
        d.diagnosis()
    );
    d.set_wan("mag2", 10.0, 0.0).unwrap();
    let vm1 = d.address("vm1").unwrap().to_string();
    d.exec("client", &["ping", "-6", "-n", "-c", "2", "-W", "2", &vm1])
        .unwrap();
}
