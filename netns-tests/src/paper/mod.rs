//! The paper's measurements repeated on the lab (`make paper`): for each
//! approach (our PMIPv6, the Mobile IPv6 baseline) and each WAN RTT, N live
//! migrations of the VM back and forth between MAG1 and MAG2 with the
//! paper's probes, the LMA's WAN links captured for the signalling overhead, and
//! a report with the paper's Tables I-IV and Fig. 7 next to ours. With
//! `dual_stack` the VM runs IPv4 too and the probes measure both families.

pub mod baseline;
pub mod ipv4;
pub mod overhead;
pub mod report;
pub mod stats;
pub mod svg;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tapbridge::ctl::Request as BridgeRequest;

use crate::LabError;
use crate::domain::migrate::HANDOFF_TIMEOUT;
use crate::domain::probes::ProbeFamily;
use crate::domain::{Binaries, Domain, MigrateOptions, Mobility, Topology, Tuning};
use report::{Conditions, RttResult, RunRecord};

const VM: &str = "vm1";
const CLIENT: &str = "client";
const MAGS: [&str; 2] = ["mag1", "mag2"];
const WAN_SEGMENTS: [&str; 2] = ["wan1", "wan2"];
/// The paper's WAN round trips.
pub const PAPER_RTTS: [f64; 4] = [0.02, 30.0, 90.0, 160.0];
const DEPARTURE_TIMEOUT: Duration = Duration::from_secs(30);
const PROBE_INTERVAL_MS: u64 = 10;
/// The MAGs' RA interval: NUD of a silent node starts after one, so the old MAG
/// notices the departure in a few seconds.
const MAG_RA_INTERVAL_MS: u64 = 1000;

#[derive(Debug, Clone)]
pub struct Config {
    /// PMIPv6 and the MIPv6 baseline, each on its own domain, in this order.
    pub approaches: Vec<Mobility>,
    pub rtts: Vec<f64>,
    pub runs: usize,
    pub precopy_mb: u64,
    pub pause_ms: u64,
    /// How long the probes go on after the new MAG's RA.
    pub tail_ms: u64,
    /// Runs per RTT (the first ones) whose WAN traffic is captured and classified.
    pub overhead_runs: usize,
    pub out: PathBuf,
    /// A dual-stack VM, measured over IPv4 as well.
    pub dual_stack: bool,
}

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> LabError {
    move |error| LabError::Io { what, error }
}

fn write_file(path: &Path, text: &str) -> Result<(), LabError> {
    std::fs::write(path, text).map_err(io_err(format!("writing {}", path.display())))
}

fn mm_ss(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// Runs every RTT and writes the report into `cfg.out`.
pub fn run(cfg: &Config, binaries: Binaries) -> Result<(), LabError> {
    std::fs::create_dir_all(&cfg.out).map_err(io_err(format!("creating {}", cfg.out.display())))?;
    let first_rtt = cfg.rtts.first().copied().unwrap_or(0.0);
    let csv_path = cfg.out.join("runs.csv");
    let mut csv = std::fs::File::create(&csv_path)
        .map_err(io_err(format!("creating {}", csv_path.display())))?;
    let csv_err = || io_err(format!("writing {}", csv_path.display()));
    writeln!(csv, "{}", RunRecord::CSV_HEADER).map_err(csv_err())?;

    let started = Instant::now();
    let total_runs = cfg.approaches.len() * cfg.rtts.len() * cfg.runs;
    let mut results = Vec::new();
    for (a, &approach) in cfg.approaches.iter().enumerate() {
        // A dual-stack VM for PMIPv6 (RFC 5844); the MIPv6 baseline is IPv6-only.
        let family = if cfg.dual_stack && approach == Mobility::Pmipv6 {
            "dual"
        } else {
            "ipv6"
        };
        let topology = Topology::parse(&format!(
            "mobility = \"{}\"\nwan_rtt_ms = {first_rtt}\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n\
             [[vm]]\nname = \"{VM}\"\nmag = \"mag1\"\nfamily = \"{family}\"\n\
             [[correspondent]]\nname = \"{CLIENT}\"\n",
            approach.name()
        ))
        .map_err(|e| LabError::Check(e.to_string()))?;
        let tuning = Tuning {
            mag_ra_interval_ms: MAG_RA_INTERVAL_MS,
            ..Tuning::default()
        };
        println!("{}: bringing the domain up", approach.name());
        let mut domain = Domain::up(topology, binaries.clone(), &tuning)?;
        for (k, &rtt) in cfg.rtts.iter().enumerate() {
            for mag in MAGS {
                domain.set_wan(mag, rtt, 0.0)?;
            }
            let rtt_start = Instant::now();
            let mut result = RttResult {
                approach,
                rtt_ms: rtt,
                ..RttResult::default()
            };
            for i in 1..=cfg.runs {
                let done = (a * cfg.rtts.len() + k) * cfg.runs + i - 1;
                let eta = (done > 0).then(|| {
                    started
                        .elapsed()
                        .mul_f64((total_runs - done) as f64 / done as f64)
                });
                println!(
                    "{} RTT {rtt} ms: run {i} of {}, ETA {}",
                    approach.name(),
                    cfg.runs,
                    eta.map_or("--:--".into(), mm_ss)
                );
                let capture = i <= cfg.overhead_runs;
                let (mut record, overhead) = one_run(&mut domain, cfg, rtt, i, capture);
                record.approach = approach;
                println!("  {}", describe(&record));
                writeln!(csv, "{}", record.csv_row()).map_err(csv_err())?;
                if let Some(o) = overhead {
                    result.overhead.merge(&o);
                    result.captured += 1;
                }
                result.runs.push(record);
            }
            result.wall_s = rtt_start.elapsed().as_secs_f64();
            println!(
                "RTT {rtt} ms: {} runs in {} (mm:ss)",
                cfg.runs,
                mm_ss(rtt_start.elapsed())
            );
            results.push(result);
        }
    }

    write_outputs(cfg, &results)?;
    println!(
        "paper: {} migrations in {}; report in {}",
        total_runs,
        mm_ss(started.elapsed()),
        cfg.out.display()
    );
    Ok(())
}

/// Writes report.md, overhead.csv, times.csv and the charts from `results`.
fn write_outputs(cfg: &Config, results: &[RttResult]) -> Result<(), LabError> {
    let runs = results
        .iter()
        .map(|r| r.runs.len())
        .max()
        .unwrap_or(cfg.runs);
    let pause_ms = results
        .iter()
        .flat_map(|r| r.runs.first())
        .map(|r| r.pause_ms as u64)
        .next()
        .unwrap_or(cfg.pause_ms);
    let conditions = Conditions {
        runs,
        precopy_mb: cfg.precopy_mb,
        pause_ms,
        tail_ms: cfg.tail_ms,
        interval_ms: PROBE_INTERVAL_MS,
        overhead_runs: cfg.overhead_runs,
        mag_ra_interval_ms: MAG_RA_INTERVAL_MS,
        dual_stack: cfg.dual_stack,
    };
    let (pmip, mip): (Vec<RttResult>, Vec<RttResult>) = results
        .iter()
        .cloned()
        .partition(|r| r.approach == Mobility::Pmipv6);
    let report =
        report::markdown(&conditions, &pmip) + &baseline::section(&conditions, &pmip, &mip);
    let files = [
        ("report.md", report),
        ("overhead.csv", report::overhead_csv(results)),
        ("times.csv", report::times_csv(results)),
        ("downtime_vs_rtt.svg", report::downtime_chart(results)),
        (
            "total_migration_time_vs_rtt.svg",
            report::total_time_chart(results),
        ),
        ("overhead.svg", report::overhead_chart(&pmip)),
    ];
    for (name, text) in files {
        write_file(&cfg.out.join(name), &text)?;
    }
    Ok(())
}

/// Rewrites the report and charts from the CSV files of an earlier run in
/// `cfg.out` (the conditions not recorded there come from `cfg`).
pub fn replot(cfg: &Config) -> Result<(), LabError> {
    let read = |name: &str| std::fs::read_to_string(cfg.out.join(name));
    let runs = read("runs.csv").map_err(io_err(format!(
        "reading {}",
        cfg.out.join("runs.csv").display()
    )))?;
    let results = report::parse_csvs(
        &runs,
        read("overhead.csv").ok().as_deref(),
        read("times.csv").ok().as_deref(),
    );
    write_outputs(cfg, &results)
}

fn describe(r: &RunRecord) -> String {
    let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
    let mut s = format!(
        "{}: downtime {} ms, handoff {} ms, total {} ms, pre-copy {} ms, TCP {}",
        r.direction,
        f(r.downtime_ms),
        f(r.handoff_ms),
        f(r.total_migration_time_ms),
        f(r.precopy_ms),
        match r.tcp_survived {
            Some(true) => "survived",
            Some(false) => "LOST",
            None => "-",
        }
    );
    if let Some(d4) = r.downtime4_ms {
        let tcp4 = if r.tcp4_survived == Some(true) {
            "survived"
        } else {
            "LOST"
        };
        s += &format!("; IPv4: downtime {d4:.1} ms, TCP {tcp4}");
    }
    if let Some(e) = &r.error {
        s += &format!(", ERROR: {e}");
    }
    s
}

fn mn_id(domain: &Domain) -> Result<String, LabError> {
    domain
        .topology
        .vm(VM)
        .map(|v| v.mn_id())
        .ok_or_else(|| LabError::Check(format!("no VM named {VM}")))
}

fn capture_path(domain: &Domain, segment: &str) -> PathBuf {
    domain.lab.workdir().join(format!("paper-{segment}.pcap"))
}

fn set_captures(domain: &Domain, on: bool) -> Result<(), LabError> {
    for segment in WAN_SEGMENTS {
        let file = on.then(|| capture_path(domain, segment).display().to_string());
        domain.bridge(&BridgeRequest::Capture {
            segment: segment.into(),
            file,
        })?;
    }
    Ok(())
}

fn classify_captures(domain: &Domain) -> Result<overhead::Overhead, LabError> {
    let mut total = overhead::Overhead::default();
    for segment in WAN_SEGMENTS {
        let path = capture_path(domain, segment);
        total.merge(&overhead::of_pcap(&path)?);
        // A 256 MB pre-copy makes each capture as large: keep only the counts.
        let _ = std::fs::remove_file(&path);
    }
    Ok(total)
}

/// One migration away from the serving MAG, measured; a failure is recorded in
/// the returned row rather than ending the series.
fn one_run(
    domain: &mut Domain,
    cfg: &Config,
    rtt: f64,
    run: usize,
    capture: bool,
) -> (RunRecord, Option<overhead::Overhead>) {
    let from = domain.serving_mag(VM).unwrap_or_else(|| MAGS[0].into());
    let to = if from == MAGS[0] { MAGS[1] } else { MAGS[0] };
    let mut record = RunRecord {
        rtt_ms: rtt,
        run,
        direction: format!("{from}->{to}"),
        pause_ms: cfg.pause_ms as f64,
        captured: capture,
        ..RunRecord::default()
    };
    let measured = capture
        .then(|| set_captures(domain, true))
        .transpose()
        .and_then(|_| measure(domain, cfg, to, &mut record));
    if let Err(e) = measured {
        record.error = Some(e.to_string());
    }
    if let Err(e) = wait_departure(domain, &from) {
        println!("  warning: {e}");
    }
    if capture {
        // The MAG drops its entry as it sends the de-registration: leave the
        // LMA's PBA time to cross the WAN before the window closes.
        std::thread::sleep(Duration::from_secs_f64(rtt / 1e3) + Duration::from_millis(100));
    }
    // The capture window closes after the old MAG's de-registration and its
    // PBA, so the migration's whole signalling is counted.
    let overhead =
        capture.then(|| set_captures(domain, false).and_then(|()| classify_captures(domain)));
    let overhead = match overhead.transpose() {
        Ok(o) => o,
        Err(e) => {
            println!("  warning: overhead not counted: {e}");
            None
        }
    };
    (record, overhead)
}

fn measure(
    domain: &mut Domain,
    cfg: &Config,
    to: &str,
    record: &mut RunRecord,
) -> Result<(), LabError> {
    let mn_id = mn_id(domain)?;
    let opts = MigrateOptions {
        precopy_bytes: cfg.precopy_mb << 20,
        pause: Duration::from_millis(cfg.pause_ms),
        announce: true,
    };
    let probes = domain.start_probes(VM, CLIENT)?;
    let dual = cfg.dual_stack && domain.topology.vm(VM).is_some_and(|v| v.family.has_ipv4());
    let probes4 = dual
        .then(|| domain.start_probes_over(VM, CLIENT, ProbeFamily::Ipv4))
        .transpose()?;
    // The migration waits for the new MAG to report its handoff.
    let migrated = domain.migrate(VM, to, &opts);
    let handoff = migrated.as_ref().ok().and_then(|t| t.handoff_ms);
    std::thread::sleep(Duration::from_millis(cfg.tail_ms));
    let (udp, tcp) = domain.stop_probes(probes)?;
    if let Some(p) = probes4 {
        let (udp4, tcp4) = domain.stop_probes(p)?;
        record.downtime4_ms = Some(udp4.downtime_ms);
        record.total_migration_time4_ms = Some(udp4.total_migration_time_ms);
        record.tcp4_survived = Some(tcp4.survived);
        if udp4.unanswered_tail > 0 {
            record.error = Some(format!(
                "IPv4 was not back: last {} requests unanswered",
                udp4.unanswered_tail
            ));
        }
    }
    let times = migrated?;
    record.precopy_ms = Some(times.precopy.as_secs_f64() * 1e3);
    record.migration_ms = Some(times.total.as_secs_f64() * 1e3);
    record.downtime_ms = Some(udp.downtime_ms);
    record.total_migration_time_ms = Some(udp.total_migration_time_ms);
    record.udp_sent = udp.sent;
    record.udp_answered = udp.answered;
    record.tcp_survived = Some(tcp.survived);
    record.handoff_ms = handoff;
    if handoff.is_none() {
        record.error = Some(format!(
            "{to} did not register {mn_id} within {HANDOFF_TIMEOUT:?}"
        ));
    } else if udp.unanswered_tail > 0 && record.error.is_none() {
        record.error = Some(format!(
            "the service was not back: last {} requests unanswered",
            udp.unanswered_tail
        ));
    }
    Ok(())
}

/// Waits until the MAG the VM left has noticed (NUD) and dropped its binding, so
/// that a migration back is detected afresh.
pub(crate) fn wait_departure(domain: &Domain, from: &str) -> Result<(), LabError> {
    let mn_id = mn_id(domain)?;
    crate::wait::until(DEPARTURE_TIMEOUT, || {
        Ok(domain
            .bul_cell(from, &mn_id, "state")
            .is_none()
            .then_some(()))
    })?
    .ok_or_else(|| {
        LabError::Check(format!(
            "{from} still lists {mn_id} {DEPARTURE_TIMEOUT:?} after the VM left"
        ))
    })
}
