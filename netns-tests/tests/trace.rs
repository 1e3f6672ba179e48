//! The message ladder of a live migration, read back from the bridge's captures:
//! the guest's unsolicited NA on the new access link, the new MAG's PBU and the
//! LMA's PBA one WAN round trip later, the RA with the VM's HNP, then the first
//! packet of the client's ping delivered on the new link. Run as root (it needs
//! network namespaces); `--nocapture` shows the ladder.

use std::path::PathBuf;
use std::time::Duration;

use netns_tests::LabError;
use netns_tests::domain::trace::{LadderEvent, check_mobility_headers, ladder, render};
use netns_tests::domain::{Binaries, Domain, MigrateOptions, Topology, Tuning};
use tapbridge::ctl::Request as BridgeRequest;

const WAN_RTT_MS: f64 = 10.0;

const TOPOLOGY: &str = r#"
wan_rtt_ms = 10.0
[[mag]]
name = "mag1"
[[mag]]
name = "mag2"
[[vm]]
name = "vm1"
mag = "mag1"
[[correspondent]]
name = "client"
"#;

fn capture(domain: &Domain, segment: &str, file: Option<&PathBuf>) -> Result<(), LabError> {
    domain.bridge(&BridgeRequest::Capture {
        segment: segment.into(),
        file: file.map(|f| f.display().to_string()),
    })?;
    Ok(())
}

fn scenario() -> Result<(), LabError> {
    netns_tests::binaries::build(&netns_tests::binaries::LAB).map_err(LabError::Check)?;
    let topology = Topology::parse(TOPOLOGY).map_err(|e| LabError::Check(e.to_string()))?;
    let mut domain = Domain::up(
        topology,
        Binaries::siblings_of_target()?,
        &Tuning::default(),
    )?;
    let vm_mac = domain
        .topology
        .vm("vm1")
        .map(|v| v.mac())
        .ok_or_else(|| LabError::Check("no vm1".into()))?;
    let vm_addr = domain.global_of("vm1")?;
    let captures: Vec<(String, PathBuf)> = ["access1", "access2", "wan1", "wan2"]
        .iter()
        .map(|s| {
            (
                s.to_string(),
                domain.lab.workdir().join(format!("{s}.pcap")),
            )
        })
        .collect();
    for (segment, file) in &captures {
        capture(&domain, segment, Some(file))?;
    }
    let target = vm_addr.to_string();
    domain.lab.spawn(
        Some("client"),
        "ping-vm1",
        &["ping", "-6", "-n", "-i", "0.02", &target],
    )?;
    let migrated = domain.migrate(
        "vm1",
        "mag2",
        &MigrateOptions {
            precopy_bytes: 1 << 20,
            // The ladder of RFC 5213 Fig. 3: the reactive handoff.
            hints: false,
            ..Default::default()
        },
    );
    // The first packets after the RA need a moment to reach the VM.
    std::thread::sleep(Duration::from_millis(500));
    let _ = domain.lab.stop("ping-vm1", Duration::from_secs(1));
    for (segment, _) in &captures {
        capture(&domain, segment, None)?;
    }
    let times = migrated?;
    println!("migration: {times:?}");

    let events = ladder(&captures, vm_mac, &domain.names())
        .map_err(|e| LabError::Check(format!("{e}\n{}", domain.diagnosis())))?;
    println!("{}", render(&events));
    check_order(&events)?;
    for (segment, file) in captures.iter().filter(|(s, _)| s.starts_with("wan")) {
        let count = check_mobility_headers(file)?;
        println!("{segment}: {count} PBU/PBA, none malformed or with expert warnings");
    }
    Ok(())
}

fn at(events: &[LadderEvent], prefix: &str) -> Result<f64, LabError> {
    events
        .iter()
        .find(|e| e.what.starts_with(prefix))
        .map(|e| e.at_ms)
        .ok_or_else(|| LabError::Check(format!("no '{prefix}' in the ladder:\n{}", render(events))))
}

fn check_order(events: &[LadderEvent]) -> Result<(), LabError> {
    let trigger = at(events, "Unsolicited NA")?;
    let pbu = at(events, "PBU")?;
    let pba = at(events, "PBA")?;
    let ra = at(events, "RA")?;
    let data = at(events, "first data packet")?;
    let ladder = render(events);
    let ordered = trigger <= pbu && pbu < pba && pba < ra && ra < data;
    if !ordered {
        return Err(LabError::Check(format!("out of order:\n{ladder}")));
    }
    // The capture sees the PBU before the WAN delay and the PBA after it.
    if pba - pbu < WAN_RTT_MS * 0.9 {
        return Err(LabError::Check(format!(
            "PBU->PBA took {:.1} ms, less than the {WAN_RTT_MS} ms WAN round trip:\n{ladder}",
            pba - pbu
        )));
    }
    let pbu_event = events.iter().find(|e| e.what.starts_with("PBU"));
    if pbu_event.is_none_or(|e| e.segment != "wan2" || e.from != "mag2" || e.to != "lma") {
        return Err(LabError::Check(format!(
            "the PBU is not mag2 -> lma on wan2:\n{ladder}"
        )));
    }
    Ok(())
}

#[test]
fn migration_ladder_from_captures() {
    if let Err(e) = scenario() {
        panic!("{e}");
    }
}
