//! Real QEMU guests in the lab, live-migrated by QEMU: a dual-stack one on
//! `-netdev dgram` (IPv4 by DHCP, busybox udhcpc in the guest), an IPv6-only
//! one on `-netdev stream`, both NICs unix sockets into tapbridge. The new MAG
//! attaches each guest from what QEMU and the guest send after the resume.
//!
//! Minutes of TCG on a 2-core machine, so it runs in `make test-qemu`, not in
//! `make test`: `cargo test -p netns-tests --test qemu_migration -- --ignored`.
//! Needs qemu-system-x86, linux-image-amd64 and busybox-static.

use std::time::{Duration, Instant};

use netns_tests::binaries;
use netns_tests::domain::probes::ProbeFamily;
use netns_tests::domain::trace::check_mobility_headers;
use netns_tests::domain::{Binaries, Domain, MigrateOptions, Topology, Tuning};
use netns_tests::probe::report::{summary, tcp_summary};
use router::ctl::Request;
use tapbridge::ctl::Request as BridgeRequest;

const TOPOLOGY: &str = r#"
wan_rtt_ms = 20.0
[[mag]]
name = "mag1"
[[mag]]
name = "mag2"
[[vm]]
name = "vm1"
mag = "mag1"
kind = "qemu"
family = "dual"
[[vm]]
name = "vm2"
mag = "mag2"
kind = "qemu"
netdev = "stream"
[[correspondent]]
name = "client"
"#;

fn bul(d: &Domain, mag: &str, mn_id: &str, column: &str) -> Option<String> {
    d.bul_cell(mag, mn_id, column)
}

fn registered(d: &Domain, mag: &str, mn_id: &str) -> bool {
    netns_tests::wait::until(Duration::from_secs(10), || {
        Ok((bul(d, mag, mn_id, "state").as_deref() == Some("registered")).then_some(()))
    })
    .unwrap()
    .is_some()
}

#[test]
#[ignore = "boots QEMU guests under TCG for minutes: make test-qemu"]
fn qemu_guests_migrate_keeping_addresses_and_tcp() {
    binaries::build(&binaries::LAB).unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let topology = Topology::parse(TOPOLOGY).unwrap();
    let tuning = Tuning::capturing_mobility(&topology);
    let bins = Binaries::siblings_of_target().unwrap();
    let mut d = Domain::up(topology, bins, &tuning).unwrap_or_else(|e| panic!("{e}"));
    let accel = d.accel().expect("a guest booted");
    println!(
        "accelerator: {} ({}); both guests up at {:.1} s",
        accel.accel.name(),
        accel.why,
        started.elapsed().as_secs_f64()
    );
    let before = d.vm_addresses("vm1").unwrap();
    let route = d
        .exec("vm1", &["ip", "-6", "route", "show", "default"])
        .unwrap();
    assert!(route.contains("via fe80::1 dev eth0"), "{route}");
    let profile = d.topology.vm("vm1").unwrap().clone();
    let before4 = d.vm_ipv4("vm1").unwrap();
    assert_eq!(
        before4,
        Some(profile.ipv4()),
        "the policy's IPv4 home address"
    );
    let route4 = d.vm_ipv4_route("vm1").unwrap();
    let router4 = format!("via {} dev eth0", profile.ipv4_router());
    assert!(route4.contains(&router4), "{route4}");
    println!("vm1: {before:?}, {before4:?} ({route4})");

    // vm1 (dgram) to mag2 under both probes over both families, reactively:
    // mag2 attaches it from what QEMU and the guest send after the resume.
    let reactive = MigrateOptions {
        hints: false,
        ..MigrateOptions::default()
    };
    let probes = d.start_probes("vm1", "client").unwrap();
    let probes4 = d
        .start_probes_over("vm1", "client", ProbeFamily::Ipv4)
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let there = d.migrate("vm1", "mag2", &reactive).unwrap();
    assert!(registered(&d, "mag2", "vm1@tapmip"), "{}", d.diagnosis());
    std::thread::sleep(Duration::from_secs(1));
    let (udp, tcp) = d.stop_probes(probes).unwrap();
    let (udp4, tcp4) = d.stop_probes(probes4).unwrap();
    let q = there.qemu.clone().expect("QEMU migrated it");
    println!(
        "IPv6 {}\nIPv6 {}\nIPv4 {}\nIPv4 {}\n{}",
        summary(&udp),
        tcp_summary(&tcp),
        summary(&udp4),
        tcp_summary(&tcp4),
        netns_tests::domain::qemu_vm::describe(&q)
    );
    assert_eq!(q.info.status, "completed");
    assert!(q.info.downtime.is_some() && q.info.ram.as_ref().is_some_and(|r| r.transferred > 0));
    assert_eq!(d.vm_addresses("vm1").unwrap(), before, "same addresses");
    assert_eq!(d.vm_ipv4("vm1").unwrap(), before4, "same IPv4 address");
    assert!(tcp.survived, "{}", tcp_summary(&tcp));
    assert!(tcp4.survived, "IPv4 {}", tcp_summary(&tcp4));
    assert_eq!(udp.unanswered_tail, 0, "{}", summary(&udp));
    assert_eq!(udp4.unanswered_tail, 0, "IPv4 {}", summary(&udp4));
    // The migration's outage; under TCG the pre-copy can also starve the guest
    // for a few probe intervals, which counts as shorter outages before it.
    println!("outages: {:?}", udp.outages);
    assert!(!udp.outages.is_empty(), "{}", summary(&udp));
    // A sanity bound: QEMU's pause under TCG plus a WAN round trip is well under it.
    assert!(udp.downtime_ms < 5000.0, "{}", summary(&udp));
    assert!(udp4.downtime_ms < 5000.0, "IPv4 {}", summary(&udp4));
    assert_eq!(
        bul(&d, "mag2", "vm1@tapmip", "trigger").as_deref(),
        Some("RARP announcement"),
        "QEMU's announce-self comes first"
    );
    let arrivals = d.arrivals("vm1", "access2", q.resumed_at, 50).unwrap();
    println!("{arrivals:?}");
    println!(
        "first frames after the resume: {}",
        netns_tests::domain::qemu_vm::describe_arrivals(&arrivals)
    );
    let garp = format!("gratuitous ARP {}", profile.ipv4().addr());
    assert!(arrivals.iter().any(|a| a.what == garp), "{arrivals:?}");
    assert!(
        arrivals.iter().any(|a| a.what.starts_with("RARP")),
        "{arrivals:?}"
    );
    assert!(
        arrivals
            .iter()
            .any(|a| a.what.starts_with("unsolicited NA")),
        "{arrivals:?}"
    );
    // The lease renews through the new MAG, under the server id all MAGs
    // share, with the same address.
    let renewed = d.renew_dhcp_lease("vm1").unwrap_or_else(|e| panic!("{e}"));
    println!("vm1 at mag2: {renewed}");
    let same = format!("ip={} ", profile.ipv4().addr());
    let server = format!("serverid={}", profile.ipv4_router());
    assert!(
        renewed.contains(&same) && renewed.contains(&server),
        "{renewed}"
    );
    let ladder = d.trace("vm1").unwrap();
    assert!(ladder[0].what.starts_with("RARP"), "{ladder:?}");
    assert!(
        ladder
            .iter()
            .any(|e| e.what.contains("PBU") && e.what.contains("HI=3")),
        "{ladder:?}"
    );

    // Wireshark reads every PBU and PBA of the handoff cleanly. The WAN captures
    // stop here: they also hold QEMU's migration streams, 80 MB each.
    for wan in ["wan1", "wan2"] {
        d.bridge(&BridgeRequest::Capture {
            segment: wan.into(),
            file: None,
        })
        .unwrap();
        let n = check_mobility_headers(&d.pcap(wan)).unwrap_or_else(|e| panic!("{wan}: {e}"));
        assert!(n >= 2, "{wan}: {n} PBU/PBA");
    }
    let counters = d.bridge(&BridgeRequest::Counters {}).unwrap();
    let io: Vec<&Vec<String>> = counters[0]
        .rows
        .iter()
        .filter(|r| r[1].starts_with("io."))
        .collect();
    println!("tapbridge I/O drops: {io:?}");
    println!(
        "first migration checked at {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // vm2 (stream) to mag1, and vm1 back to host1, where its old port is
    // reused, both hinted as QEMU's STOP event comes (proactive).
    d.migrate("vm2", "mag1", &MigrateOptions::default())
        .unwrap();
    assert!(registered(&d, "mag1", "vm2@tapmip"), "{}", d.diagnosis());
    d.migrate("vm1", "mag1", &MigrateOptions::default())
        .unwrap();
    assert!(registered(&d, "mag1", "vm1@tapmip"), "{}", d.diagnosis());
    for vm in ["vm1", "vm2"] {
        let addr = d.global_of(vm).unwrap().to_string();
        netns_tests::host::ping(&d.lab, "client", &addr).unwrap_or_else(|e| panic!("{vm}: {e}"));
    }
    let vm1 = profile.ipv4().addr().to_string();
    d.exec("client", &["ping", "-4", "-n", "-c", "2", "-W", "2", &vm1])
        .unwrap_or_else(|e| panic!("vm1 over IPv4 back at mag1: {e}"));
    let lma = d.router("lma", &Request::Bindings {}).unwrap();
    let text = lma[0].render();
    assert!(
        text.lines().filter(|l| l.contains("mag1")).count() >= 2,
        "{text}"
    );
    println!("done at {:.1} s", started.elapsed().as_secs_f64());
}
