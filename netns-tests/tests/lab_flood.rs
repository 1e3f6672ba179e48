//! The floods of issue 9 in the lab (docs/limits.md), while vm1 migrates
//! from mag1 to mag2: from host2 on wan2, PBUs forged from random sources,
//! forged in mag2's name, and authentic ones for made-up nodes made with
//! mag1's key; from vm2 on mag2's access link, Router and Neighbor
//! Solicitations from random MACs and IPv6 sources (`lab_flood.py`). The
//! migration must complete as it does without a flood, the tables stay at
//! or below their caps, the routers' memory stays bounded, the counters
//! show the drops and the log says less than the counters.

use std::time::{Duration, Instant};

use netns_tests::bench_forward::rss_kb;
use netns_tests::domain::topology::LAB_SPI;
use netns_tests::domain::{Binaries, Domain, MigrateOptions, Topology, Tuning};
use netns_tests::probe::report::summary;
use netns_tests::{binaries, userns};
use router::ctl::{Request, Table};

const SCRIPT: &str = concat!(include_str!("pmip_mh.py"), include_str!("lab_flood.py"));
/// How long each flood lasts, and its frames per second.
const FLOOD_SECONDS: u64 = 10;
const PBU_RATE: u32 = 1500;
const ND_RATE: u32 = 1500;
/// `NudConfig::max_neighbors`, the default cap the lab runs with.
const MAX_NEIGHBORS: usize = 2048;

const TOPOLOGY: &str = "wan_rtt_ms = 10.0
[[mag]]
name = \"mag1\"
[[mag]]
name = \"mag2\"
[[vm]]
name = \"vm1\"
mag = \"mag1\"
[[vm]]
name = \"vm2\"
mag = \"mag2\"
[[correspondent]]
name = \"client\"
";

fn table(d: &Domain, router: &str, request: &Request, title: &str) -> Table {
    let tables = d.router(router, request).unwrap();
    tables
        .into_iter()
        .find(|t| t.title == title)
        .unwrap_or_else(|| panic!("{router} has no {title} table"))
}

fn counter(d: &Domain, router: &str, name: &str) -> u64 {
    let t = table(d, router, &Request::Counters {}, "counters");
    t.cell(name, "value").map_or(0, |v| v.parse().unwrap_or(0))
}

fn size(d: &Domain, router: &str, what: &str) -> usize {
    let t = table(d, router, &Request::Status {}, "sizes");
    t.cell(what, "entries")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{router}: no size {what}"))
}

fn rss(d: &Domain, router: &str) -> u64 {
    let pid = d
        .lab
        .pids()
        .into_iter()
        .rev()
        .find(|(n, _)| n == router)
        .map(|(_, p)| p)
        .unwrap_or_else(|| panic!("no process {router}"));
    rss_kb(pid).unwrap_or_else(|e| panic!("{e}"))
}

/// Starts the flood `mode` in namespace `node` as background process `name`.
fn flood(d: &mut Domain, node: &str, name: &str, mode: &str, rate: u32, args: &[String]) {
    let (seconds, rate) = (FLOOD_SECONDS.to_string(), rate.to_string());
    let mut argv = vec!["/usr/bin/python3", "-c", SCRIPT, mode, &seconds, &rate];
    argv.extend(args.iter().map(String::as_str));
    d.lab
        .spawn(Some(node), name, &argv)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}

/// Waits for flood `name` to end; returns what it printed.
fn finished(d: &mut Domain, name: &str) -> String {
    let ok = netns_tests::wait::until(Duration::from_secs(FLOOD_SECONDS + 30), || {
        Ok(d.lab.exited(name)?.map(|status| status.success()))
    })
    .unwrap();
    let log = d.lab.log_of(name);
    assert_eq!(ok, Some(true), "{name} ended well:\n{log}");
    log
}

/// The number a flood printed for `kind` ("sent KIND N").
fn sent(log: &str, kind: &str) -> u64 {
    log.lines()
        .find_map(|l| l.strip_prefix(&format!("sent {kind} ")))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn floods_leave_tables_and_memory_bounded_and_a_migration_completes() {
    binaries::build(&binaries::LAB).unwrap_or_else(|e| panic!("{e}"));
    let topology = Topology::parse(TOPOLOGY).unwrap();
    let bins = Binaries::siblings_of_target().unwrap();
    let mut d = Domain::up(topology, bins, &Tuning::default()).unwrap_or_else(|e| panic!("{e}"));
    for (vm, mag) in [("vm1", "mag1"), ("vm2", "mag2")] {
        let mn_id = format!("{vm}@tapmip");
        let ok = d.wait_registered(mag, &mn_id, Duration::from_secs(15));
        assert!(ok, "{vm} registers at {mag}\n{}", d.diagnosis());
    }
    let routers = ["lma", "mag1", "mag2"];
    let rss_before: Vec<u64> = routers.iter().map(|r| rss(&d, r)).collect();

    let mag1 = d.topology.mag("mag1").unwrap().clone();
    let mag2 = d.topology.mag("mag2").unwrap().clone();
    let key = d.lab.workdir().join(Topology::key_file(&mag1));
    let pbu_args: Vec<String> = vec![
        router::portspec::default_mac("lma", 2).to_string(),
        mag1.lma_address().to_string(),
        mag2.lma_address().to_string(),
        mag1.proxy_coa().to_string(),
        key.to_str().unwrap().into(),
        mag2.proxy_coa().to_string(),
        LAB_SPI.to_string(),
    ];
    let probes = d.start_probes("vm1", "client").unwrap();
    flood(&mut d, "host2", "pbu-flood", "pbu", PBU_RATE, &pbu_args);
    let access = mag::access::FIXED_LINK_LOCAL.to_string();
    flood(&mut d, "vm2", "nd-flood", "nd", ND_RATE, &[access]);
    // The floods fill the tables first; the migration runs in their middle.
    std::thread::sleep(Duration::from_secs(3));
    let quick = MigrateOptions {
        precopy_bytes: 0,
        pause: Duration::from_millis(300),
        announce: true,
        // Reactive: the signalling that has to get through the flood is the
        // handoff's own PBU/PBA, after the VM shows up at mag2.
        hints: false,
    };
    let started = Instant::now();
    let times = d.migrate("vm1", "mag2", &quick).unwrap();
    let registered = d.wait_registered("mag2", "vm1@tapmip", Duration::from_secs(10));
    let took = started.elapsed();
    assert!(
        registered,
        "vm1 registers at mag2 in the flood\n{}",
        d.diagnosis()
    );
    let mid_flood = (
        size(&d, "mag2", "neighbors, largest cache"),
        size(&d, "lma", "bindings"),
    );
    let pbu_log = finished(&mut d, "pbu-flood");
    let nd_log = finished(&mut d, "nd-flood");
    std::thread::sleep(Duration::from_secs(1));
    let (udp, _) = d.stop_probes(probes).unwrap();
    println!("pbu flood:\n{pbu_log}nd flood:\n{nd_log}");
    println!(
        "migration during the flood: {:.0} ms until mag2 registered vm1 (handoff {} ms, pause at {:?}); probes: {}",
        took.as_secs_f64() * 1000.0,
        times.handoff_ms.map_or("-".into(), |ms| format!("{ms:.0}")),
        times.paused_at,
        summary(&udp)
    );
    assert!(times.handoff_ms.is_some(), "mag2's handoff latency");

    // The floods went out as asked.
    let forged = sent(&pbu_log, "forged_random_source") + sent(&pbu_log, "forged_as_mag2");
    let authentic = sent(&pbu_log, "authentic_unknown_node");
    let solicitations = sent(&nd_log, "ns") + sent(&nd_log, "rs");
    assert!(forged > 4000 && authentic > 2000, "{pbu_log}");
    assert!(solicitations as usize > 2 * MAX_NEIGHBORS, "{nd_log}");

    // Tables at or below their caps; the binding cache holds the two VMs.
    let neighbors = size(&d, "mag2", "neighbors, largest cache");
    println!(
        "sizes: mag2 neighbors (largest cache) {} mid-flood, {neighbors} after (cap {MAX_NEIGHBORS}); lma bindings {} mid-flood, {} after; held PBUs {}; awaiting {}; lma neighbors {}",
        mid_flood.0,
        mid_flood.1,
        size(&d, "lma", "bindings"),
        size(&d, "lma", "held PBUs"),
        size(&d, "lma", "PBUs awaiting the policy store"),
        size(&d, "lma", "neighbors, largest cache"),
    );
    assert!(neighbors <= MAX_NEIGHBORS && mid_flood.0 <= MAX_NEIGHBORS);
    assert_eq!(size(&d, "lma", "bindings"), 2);
    assert_eq!(mid_flood.1, 2);
    assert_eq!(size(&d, "lma", "held PBUs"), 0);
    assert!(size(&d, "lma", "neighbors, largest cache") <= MAX_NEIGHBORS);
    for what in ["binding update list", "nodes awaiting the policy store"] {
        assert!(size(&d, "mag2", what) <= 2, "mag2 {what}");
    }
    let bindings = table(&d, "lma", &Request::Bindings {}, "bindings");
    assert_eq!(bindings.cell("vm1@tapmip", "mag"), Some("mag2"));

    // Memory: at most twice what it was, plus some MB.
    for (r, before) in routers.iter().zip(&rss_before) {
        let after = rss(&d, r);
        println!("{r}: VmRSS {before} kB before, {after} kB after the floods");
        assert!(
            after < 2 * before + 16 * 1024,
            "{r}: {before} -> {after} kB"
        );
    }

    // The counters show the drops.
    let lma_counters = [
        "lma.drop.rate.unknown_sources",
        "lma.drop.rate.source_elsewhere",
        "lma.drop.rate.mag",
        "auth.drop.missing",
        "auth.drop.unknown_peer",
        "auth.drop.bad_authenticator",
        "pba.sent.not_lma_for_this_mobile_node",
        "lma.refused.binding_cache_full",
    ];
    let mut seen = Vec::new();
    for name in lma_counters {
        seen.push(format!("{name} {}", counter(&d, "lma", name)));
    }
    for name in [
        "nd.evicted",
        "nd.drop.table_full",
        "mag.attach.ignored_not_in_policy",
    ] {
        seen.push(format!("mag2 {name} {}", counter(&d, "mag2", name)));
    }
    println!("counters: {}", seen.join(", "));
    assert!(counter(&d, "lma", "lma.drop.rate.unknown_sources") > 0);
    assert!(counter(&d, "lma", "lma.drop.rate.source_elsewhere") > 0);
    assert!(counter(&d, "lma", "pba.sent.not_lma_for_this_mobile_node") > 0);
    assert!(counter(&d, "mag2", "nd.evicted") > 0);
    assert!(counter(&d, "mag2", "mag.attach.ignored_not_in_policy") > 0);

    // The log says less than the counters: floods are summed up.
    let log = d.lab.log_of("lma");
    let lines = log.lines().count();
    let summaries = log.matches("not logged one by one").count();
    println!("lma log: {lines} lines, {summaries} summaries");
    if let Some(line) = log.lines().find(|l| l.contains("not logged one by one")) {
        println!("{line}");
    }
    assert!(
        summaries > 0 && (lines as u64) < forged / 4,
        "{lines} log lines"
    );

    let vm1 = d.address("vm1").unwrap().to_string();
    d.exec("client", &["ping", "-6", "-n", "-c", "3", "-W", "2", &vm1])
        .unwrap();
    // For comparison, the same migration back without a flood.
    let started = Instant::now();
    d.migrate("vm1", "mag1", &quick).unwrap();
    let ok = d.wait_registered("mag1", "vm1@tapmip", Duration::from_secs(10));
    assert!(ok, "vm1 registers at mag1 again\n{}", d.diagnosis());
    println!(
        "the same migration without a flood: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
}

/// The same floods as an unprivileged user runs the lab: this binary re-runs
/// the test inside `unshare -Urnm`.
#[test]
fn floods_in_a_user_namespace() {
    let args = [
        "--exact",
        "floods_leave_tables_and_memory_bounded_and_a_migration_completes",
        "--nocapture",
        "--test-threads=1",
    ];
    match userns::rerun_tests(&args, 1) {
        Ok(text) => println!("{text}"),
        Err(e) => panic!("{e}"),
    }
}
