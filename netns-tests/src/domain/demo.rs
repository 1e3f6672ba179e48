//! `make lab`: the whole story in one run. The paper's testbed comes up on a 30 ms
//! WAN, the dual-stack VM attaches (IPv6 by SLAAC, IPv4 by DHCP), both probes
//! start over each family, the VM live-migrates from MAG1 to MAG2 with a 64 MB
//! pre-copy, and the run prints what happened: the VM's addresses before and
//! after, downtime per family, total migration time, handoff latency, whether
//! each TCP session survived, and the message ladder. Then everything is taken
//! down.
//!
//! `make lab-qemu` runs the same story with vm1 a real QEMU guest, migrated by
//! QEMU's own `migrate` (the stream crossing the emulated WAN), and adds QEMU's
//! figures and the frames that revealed the guest on its new link.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::probes::ProbeFamily;
use super::qemu_vm::{describe, first_of_each};
use super::trace::render;
use super::{Binaries, Domain, MigrateOptions, Topology, Tuning};
use crate::LabError;
use crate::probe::report::{summary, tcp_summary};

const VM: &str = "vm1";
const CLIENT: &str = "client";

fn say(msg: &str) {
    println!("{msg}");
}

fn copy_captures(d: &Domain, out: &Path) -> Result<Vec<PathBuf>, LabError> {
    std::fs::create_dir_all(out).map_err(|error| LabError::Io {
        what: format!("creating {}", out.display()),
        error,
    })?;
    let mut kept = Vec::new();
    for segment in d.topology.mobility_segments() {
        let from = d.pcap(&segment);
        let to = out.join(format!("{segment}.pcap"));
        if std::fs::copy(&from, &to).is_ok() {
            kept.push(to);
        }
    }
    Ok(kept)
}

/// Runs the demonstration; pcaps of the access and WAN links are kept in `out`.
/// With `qemu`, vm1 is a QEMU guest and QEMU migrates it.
pub fn run(binaries: Binaries, out: &Path, qemu: bool) -> Result<(), LabError> {
    let started = Instant::now();
    let topology = match qemu {
        true => Topology::qemu_testbed(),
        false => Topology::default(),
    };
    let tuning = Tuning::capturing_mobility(&topology);
    say("== 1. the domain: client --core-- LMA ==wan1 (30 ms RTT)== MAG1 --access1-- vm1");
    say("                                      ==wan2 (30 ms RTT)== MAG2 --access2--");
    if qemu {
        say("vm1 is a QEMU guest on host1, its virtio-net NIC a unix socket into tapbridge");
    }
    let mut d = Domain::up(topology, binaries, &tuning)?;
    if let (Some(accel), Some(kernel)) = (d.accel(), d.guest_kernel()) {
        say(&format!(
            "vm1: Linux {kernel} under {} ({})",
            accel.accel.name().to_uppercase(),
            accel.why
        ));
    }
    let before = d.vm_addresses(VM)?;
    let route = d.exec(VM, &["ip", "-6", "route", "show", "default"])?;
    let dual = d.topology.vm(VM).is_some_and(|v| v.family.has_ipv4());
    let v4_state = |d: &Domain| -> Result<_, LabError> {
        match dual {
            true => Ok(Some((d.vm_ipv4(VM)?, d.vm_ipv4_route(VM)?))),
            false => Ok(None),
        }
    };
    let before4 = v4_state(&d)?;
    say(&format!("\n== 2. {VM} attached via mag1"));
    say(&format!("{VM} addresses: {}", list(&before)));
    say(&format!(
        "{VM} default route: {}",
        route.split(" expires").next().unwrap_or_default().trim()
    ));
    if let Some((a, r)) = &before4 {
        say(&format!(
            "{VM} IPv4 address: {} (DHCP lease, busybox udhcpc), {r}",
            v4(*a)
        ));
    }
    say(&render(&d.trace(VM)?));

    let tcp = match qemu {
        true => format!("{CLIENT} -> {VM}"),
        false => format!("{VM} -> {CLIENT}"),
    };
    let over = if dual {
        ", over IPv6 and over IPv4"
    } else {
        ""
    };
    say(&format!(
        "\n== 3. probes{over}: UDP {CLIENT} -> {VM} every 10 ms, TCP {tcp} every 10 ms"
    ));
    let probes = d.start_probes(VM, CLIENT)?;
    let probes4 = dual
        .then(|| d.start_probes_over(VM, CLIENT, ProbeFamily::Ipv4))
        .transpose()?;
    std::thread::sleep(Duration::from_secs(1));
    say(&format!(
        "== 4. live migration of {VM}: mag1 -> mag2 ({})",
        match qemu {
            true => "QEMU's migrate over QMP, host1 -> host2 through the LMA",
            false => "64 MB pre-copy host1 -> host2 through the LMA, 300 ms stop-and-copy",
        }
    ));
    let times = d.migrate(VM, "mag2", &MigrateOptions::default())?;
    std::thread::sleep(Duration::from_millis(1500));
    let (udp, tcp) = d.stop_probes(probes)?;
    let v4_probes = probes4.map(|p| d.stop_probes(p)).transpose()?;
    let after = d.vm_addresses(VM)?;
    let after4 = v4_state(&d)?;

    say("\n== 5. what happened");
    say(&format!("{VM} addresses before: {}", list(&before)));
    say(&format!(
        "{VM} addresses after:  {} ({})",
        list(&after),
        if before == after { "same" } else { "CHANGED" }
    ));
    let same4 = before4 == after4;
    if let (Some((a, r)), Some((a2, r2))) = (&before4, &after4) {
        say(&format!("{VM} IPv4 before: {}, {r}", v4(*a)));
        say(&format!(
            "{VM} IPv4 after:  {}, {r2} ({})",
            v4(*a2),
            if same4 { "same" } else { "CHANGED" }
        ));
    }
    say(&format!(
        "pre-copy {:.1} s, paused {:.0} ms",
        times.precopy.as_secs_f64(),
        (times.resumed_at - times.paused_at).as_secs_f64() * 1e3
    ));
    if let Some(q) = &times.qemu {
        say(&describe(q));
        let arrivals = d.arrivals(VM, "access2", q.resumed_at, 50)?;
        let first: Vec<String> = first_of_each(&arrivals)
            .iter()
            .map(|a| format!("{} at {:+.1} ms", a.what, a.after_ms))
            .collect();
        say(&format!(
            "{VM}'s first frames on access2 after the resume: {}",
            if first.is_empty() {
                "none".into()
            } else {
                first.join("; ")
            }
        ));
        let trigger = d.bul_cell("mag2", "vm1@tapmip", "trigger");
        say(&format!(
            "mag2 attached {VM} on: {}",
            trigger.as_deref().unwrap_or("?")
        ));
    }
    let family = if dual { ", IPv6" } else { "" };
    say(&format!(
        "handover: {}",
        times.hinted_at.map_or(
            "reactive (the MAGs found out themselves)".into(),
            |at| format!(
                "proactive (hints to mag1 and mag2 at {} ms, as the stop-and-copy began)",
                at.as_millis()
            )
        )
    ));
    say(&format!(
        "service downtime{family}: {:.1} ms (paper, PMIPv6 at 30 ms RTT: 320.62 ms); {} probe requests lost, {} late (held and delivered), longest silence at the client {:.1} ms",
        udp.downtime_ms, udp.lost, udp.late, udp.largest_silence_ms
    ));
    if let Some((udp4, _)) = &v4_probes {
        say(&format!(
            "service downtime, IPv4: {:.1} ms; {} probe requests lost, {} late",
            udp4.downtime_ms, udp4.lost, udp4.late
        ));
    }
    say(&format!(
        "total migration time: {:.2} s (paper: 8.38 s with 256 MB)",
        udp.total_migration_time_ms / 1e3
    ));
    match times.handoff_ms {
        Some(h) => say(&format!(
            "handoff latency at mag2 (attachment detected -> RA sent): {h:.0} ms"
        )),
        None => say("handoff latency at mag2: not reported (no registration within 10 s)"),
    }
    let yes = |b: bool| if b { "yes" } else { "NO" };
    match &v4_probes {
        Some((udp4, tcp4)) => {
            say(&format!(
                "TCP session survived: IPv6 {}, IPv4 {}",
                yes(tcp.survived),
                yes(tcp4.survived)
            ));
            say(&format!("IPv6 {}", summary(&udp)));
            say(&format!("IPv6 {}", tcp_summary(&tcp)));
            say(&format!("IPv4 {}", summary(udp4)));
            say(&format!("IPv4 {}", tcp_summary(tcp4)));
        }
        None => {
            say(&format!("TCP session survived: {}", yes(tcp.survived)));
            say(&summary(&udp));
            say(&tcp_summary(&tcp));
        }
    }
    say(&format!(
        "\n== 6. message ladder of the handoff (RFC 5213 Fig. 3)\n{}",
        render(&d.trace(VM)?)
    ));
    let kept = copy_captures(&d, out)?;
    say("\n== 7. captures (open with wireshark, or: tshark -r FILE -Y mipv6)");
    for k in &kept {
        say(&format!("  {}", k.display()));
    }
    drop(d);
    say(&format!(
        "\nthe lab is down: every process and namespace is gone ({:.1} s in all).\n\
         to keep a lab running and play with it: tapmip-lab up; tapmip-lab status; \
         tapmip-lab migrate vm1 --to mag2; tapmip-lab trace vm1; tapmip-lab down",
        started.elapsed().as_secs_f64()
    ));
    let lost4 = v4_probes
        .as_ref()
        .is_some_and(|(u, t)| !same4 || !t.survived || u.unanswered_tail > 0);
    if before != after || !tcp.survived || udp.unanswered_tail > 0 || lost4 {
        return Err(LabError::Check(
            "the migration did not keep the VM's service: see above".into(),
        ));
    }
    Ok(())
}

fn v4(a: Option<ipnet::Ipv4Net>) -> String {
    a.map_or("none".into(), |a| a.to_string())
}

fn list(addrs: &[std::net::Ipv6Addr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
