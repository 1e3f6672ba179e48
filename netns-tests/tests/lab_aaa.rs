//! The lab with a real FreeRADIUS deciding (`aaa = "radius"`): the MAGs ask it
//! whether a VM may attach, the LMA whether a MAG may serve it and with which
//! prefix. A VM it rejects gets no binding, no RA and a log line with the
//! server's reason; a VM migrates with it; and while it is silent the routers
//! retry, keep forwarding for the VMs already bound and keep answering their
//! control sockets, and the migration completes once it answers again.

use std::net::Ipv6Addr;
use std::time::Duration;

use netns_tests::binaries;
use netns_tests::domain::run::RADIUS_PROCESS;
use netns_tests::domain::topology::Aaa;
use netns_tests::domain::{Binaries, Domain, MigrateOptions, Topology, Tuning};
use netns_tests::probe::report::summary;
use router::ctl::Request;

const REASON: &str = "vm3 may not run on this site";

fn up() -> Domain {
    binaries::build(&binaries::LAB).unwrap_or_else(|e| panic!("{e}"));
    let mut topology = Topology::parse(
        r#"
        wan_rtt_ms = 20.0
        [[mag]]
        name = "mag1"
        [[mag]]
        name = "mag2"
        [[vm]]
        name = "vm1"
        mag = "mag1"
        [[vm]]
        name = "vm2"
        mag = "mag2"
        [[vm]]
        name = "vm3"
        mag = "mag1"
        [[vm]]
        name = "vm4"
        mag = "mag1"
        [[correspondent]]
        name = "client"
        "#,
    )
    .unwrap();
    topology.aaa = Aaa::Radius;
    let tuning = Tuning {
        radius_rejects: vec![("vm3".into(), REASON.into())],
        ..Tuning::default()
    };
    let bins = Binaries::siblings_of_target().unwrap();
    Domain::up(topology, bins, &tuning).unwrap_or_else(|e| panic!("{e}"))
}

fn ping(d: &Domain, to: Ipv6Addr) -> bool {
    d.lab
        .try_exec(
            "client",
            &["ping", "-6", "-c", "1", "-W", "2", &to.to_string()],
        )
        .is_ok_and(|o| o.status.success())
}

fn global(d: &Domain, vm: &str) -> Option<Ipv6Addr> {
    d.vm_addresses(vm)
        .ok()?
        .into_iter()
        .find(|a| a.segments()[0] == 0x2001)
}

#[test]
fn radius_decides_attachments_and_a_silent_server_stalls_only_new_ones() {
    let mut d = up();
    let vm4 = global(&d, "vm4").expect("vm4 is accepted and configured");

    // vm3: rejected by the MAG's question, so no PBU, no binding, no RA.
    std::thread::sleep(Duration::from_secs(3));
    let mag1_log = d.lab.log_of("mag1");
    assert!(
        mag1_log.contains(&format!(
            "may not attach here: rejected: Access-Reject from 127.0.0.1:1812: \"{REASON}\""
        )),
        "mag1 names the reason:\n{mag1_log}"
    );
    assert_eq!(d.bul_cell("mag1", "vm3@tapmip", "state"), None);
    assert_eq!(global(&d, "vm3"), None, "a rejected VM got an address");
    let lma = d.router("lma", &Request::Bindings {}).unwrap();
    assert!(
        lma[0].rows.iter().all(|r| r[0] != "vm3@tapmip"),
        "the LMA bound a rejected VM: {lma:?}"
    );

    // A migration asks again at mag2 and at the LMA, and completes.
    let times = d
        .migrate("vm1", "mag2", &MigrateOptions::default())
        .unwrap_or_else(|e| panic!("{e}\n{}", d.diagnosis()));
    println!("migration with RADIUS: handoff {:?} ms", times.handoff_ms);
    assert!(times.handoff_ms.is_some(), "{}", d.diagnosis());
    let radius_log = d.lab.log_of(RADIUS_PROCESS);
    assert!(
        radius_log.contains("Login OK: [vm1@tapmip]")
            && radius_log.contains("cli 2001:db8:ff:2::2"),
        "FreeRADIUS authorised mag2 for vm1:\n{radius_log}"
    );

    // FreeRADIUS stops answering; vm2 moves to mag1, which never saw it.
    d.lab.kill(RADIUS_PROCESS).unwrap();
    let probes = d.start_probes("vm2", "client").unwrap();
    let times = d
        .migrate("vm2", "mag1", &MigrateOptions::default())
        .unwrap();
    assert_eq!(times.handoff_ms, None, "registered without an answer");
    // Meanwhile mag1 retried and said why it gave up, still answers its control
    // socket, and vm4 (bound at mag1 before) is reachable throughout.
    let mag1_log = d.lab.log_of("mag1");
    assert!(
        mag1_log.contains("retransmitting unchanged, try 2/3")
            && mag1_log.contains("no AAA server answered"),
        "mag1 retries and says it gave up:\n{mag1_log}"
    );
    assert!(d.router("mag1", &Request::Status {}).is_ok());
    assert!(ping(&d, vm4), "vm4 unreachable while RADIUS is silent");

    // It answers again: mag1 asks again by itself within 5 s of giving up.
    d.lab.respawn(RADIUS_PROCESS).unwrap();
    let registered = netns_tests::wait::until(Duration::from_secs(20), || {
        Ok(
            (d.bul_cell("mag1", "vm2@tapmip", "state").as_deref() == Some("registered"))
                .then_some(()),
        )
    })
    .unwrap();
    assert!(
        registered.is_some(),
        "vm2 never registered:\n{}",
        d.diagnosis()
    );
    std::thread::sleep(Duration::from_secs(2));
    let (udp, _tcp) = d.stop_probes(probes).unwrap();
    println!("vm2 through the RADIUS outage: {}", summary(&udp));
    assert_eq!(
        udp.unanswered_tail,
        0,
        "vm2 answers again: {}",
        summary(&udp)
    );
}
