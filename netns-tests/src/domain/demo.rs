//! `make lab`: the whole story in one run. The paper's testbed comes up on a 30 ms
//! WAN, the dual-stack VM attaches (IPv6 by SLAAC, IPv4 by DHCP), both probes
//! start over each family, the VM live-migrates from MAG1 to MAG2 with a 64 MB
//! pre-copy, and the run prints what happened: the VM's addresses before and
//! after, downtime per family, total migration time, handoff latency, whether
//! each TCP session survived, and the message ladder. Then everything is taken
//! down.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::probes::ProbeFamily;
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
pub fn run(binaries: Binaries, out: &Path) -> Result<(), LabError> {
    let started = Instant::now();
    let topology = Topology::default();
    let tuning = Tuning::capturing_mobility(&topology);
    say("== 1. the domain: client --core-- LMA ==wan1 (30 ms RTT)== MAG1 --access1-- vm1");
    say("                                      ==wan2 (30 ms RTT)== MAG2 --access2--");
    let mut d = Domain::up(topology, binaries, &tuning)?;
    let before = d.vm_addresses(VM)?;
    let before4 = d.vm_ipv4(VM)?;
    let route = d.exec(VM, &["ip", "-6", "route", "show", "default"])?;
    let route4 = d.vm_ipv4_route(VM)?;
    say(&format!("\n== 2. {VM} attached via mag1"));
    say(&format!("{VM} addresses: {}", list(&before)));
    say(&format!(
        "{VM} default route: {}",
        route.split(" expires").next().unwrap_or_default().trim()
    ));
    say(&format!(
        "{VM} IPv4 address: {} (DHCP lease, busybox udhcpc), default route: {route4}",
        v4(before4)
    ));
    say(&render(&d.trace(VM)?));

    say(&format!(
        "\n== 3. probes, over IPv6 and over IPv4: UDP {CLIENT} -> {VM} every 10 ms, TCP {VM} -> {CLIENT} every 10 ms"
    ));
    let probes = d.start_probes(VM, CLIENT)?;
    let probes4 = d.start_probes_over(VM, CLIENT, ProbeFamily::Ipv4)?;
    std::thread::sleep(Duration::from_secs(1));
    say(&format!(
        "== 4. live migration of {VM}: mag1 -> mag2 (64 MB pre-copy host1 -> host2 through the LMA, 300 ms stop-and-copy)"
    ));
    let times = d.migrate(VM, "mag2", &MigrateOptions::default())?;
    std::thread::sleep(Duration::from_millis(1500));
    let (udp, tcp) = d.stop_probes(probes)?;
    let (udp4, tcp4) = d.stop_probes(probes4)?;
    let after = d.vm_addresses(VM)?;
    let after4 = d.vm_ipv4(VM)?;
    let route4_after = d.vm_ipv4_route(VM)?;

    say("\n== 5. what happened");
    say(&format!("{VM} addresses before: {}", list(&before)));
    say(&format!(
        "{VM} addresses after:  {} ({})",
        list(&after),
        if before == after { "same" } else { "CHANGED" }
    ));
    let same4 = before4 == after4 && route4 == route4_after;
    say(&format!("{VM} IPv4 before: {}, {route4}", v4(before4)));
    say(&format!(
        "{VM} IPv4 after:  {}, {route4_after} ({})",
        v4(after4),
        if same4 { "same" } else { "CHANGED" }
    ));
    say(&format!(
        "pre-copy {:.1} s, paused {:.0} ms",
        times.precopy.as_secs_f64(),
        (times.resumed_at - times.paused_at).as_secs_f64() * 1e3
    ));
    say(&format!(
        "service downtime, IPv6: {:.1} ms (paper, PMIPv6 at 30 ms RTT: 320.62 ms)",
        udp.downtime_ms
    ));
    say(&format!(
        "service downtime, IPv4: {:.1} ms",
        udp4.downtime_ms
    ));
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
    say(&format!(
        "TCP session survived: IPv6 {}, IPv4 {}",
        yes(tcp.survived),
        yes(tcp4.survived)
    ));
    say(&format!("IPv6 {}", summary(&udp)));
    say(&format!("IPv6 {}", tcp_summary(&tcp)));
    say(&format!("IPv4 {}", summary(&udp4)));
    say(&format!("IPv4 {}", tcp_summary(&tcp4)));
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
        "\nthe lab is down: every process and namespace is gone ({:.0} s in all).\n\
         to keep a lab running and play with it: tapmip-lab up; tapmip-lab status; \
         tapmip-lab migrate vm1 --to mag2; tapmip-lab trace vm1; tapmip-lab down",
        started.elapsed().as_secs_f64()
    ));
    let lost4 = !same4 || !tcp4.survived || udp4.unanswered_tail > 0;
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
