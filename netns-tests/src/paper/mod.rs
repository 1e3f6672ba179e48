//! The paper's measurements repeated on the lab (`make paper`): for each
//! approach (our PMIPv6, the Mobile IPv6 baseline), each WAN RTT and, for
//! PMIPv6, each handover (reactive as in the paper, proactive with the
//! hypervisor's hints), N live migrations of the VM back and forth between
//! MAG1 and MAG2 with the paper's probes (and a 1 ms UDP stream beside the
//! paper's 10 ms one), the LMA's WAN links captured for the signalling
//! overhead, and a report with the paper's Tables I-IV and Fig. 7 next to
//! ours.
//!
//! A run can be resumed: every migration is a row appended to `runs.csv` as
//! it ends, and a later run with the same `--out` skips the rows already
//! there, series by series, and writes the report from all of them.
//!
//! With `dual_stack` the VM runs IPv4 too and the probes measure both families.

pub mod baseline;
pub mod chart;
pub mod ipv4;
pub mod overhead;
pub mod proactive;
pub mod report;
pub mod stats;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tapbridge::ctl::Request as BridgeRequest;

use crate::LabError;
use crate::domain::hints::Handover;
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
    /// The PMIPv6 handovers measured (the MIPv6 baseline is always reactive).
    pub handovers: Vec<Handover>,
    /// A second UDP stream at this interval beside the paper's 10 ms one.
    pub fine_interval_ms: Option<u64>,
    /// Start `runs.csv` afresh instead of resuming it.
    pub fresh: bool,
    pub out: PathBuf,
    /// A dual-stack VM, measured over IPv4 as well.
    pub dual_stack: bool,
}

impl Config {
    /// The handovers measured with `approach`.
    fn handovers_of(&self, approach: Mobility) -> Vec<Handover> {
        match approach {
            Mobility::Pmipv6 => self.handovers.clone(),
            Mobility::Mipv6 => vec![Handover::Reactive],
        }
    }
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

/// The runs already in `cfg.out` (a resumed run), or none; `runs.csv` is
/// (re)created with its header when there is nothing to resume.
fn resume(cfg: &Config) -> Result<Vec<RttResult>, LabError> {
    let csv_path = cfg.out.join("runs.csv");
    let read = |name: &str| std::fs::read_to_string(cfg.out.join(name)).ok();
    match read("runs.csv") {
        Some(text) if !cfg.fresh && !text.trim().is_empty() => {
            let header = text.lines().next().unwrap_or_default();
            if header != RunRecord::CSV_HEADER {
                return Err(LabError::Check(format!(
                    "{} has other columns than this tapmip-paper writes: resume it with the \
                     version that wrote it, or start afresh with --fresh (or another --out)",
                    csv_path.display()
                )));
            }
            Ok(report::parse_csvs(
                &text,
                read("overhead.csv").as_deref(),
                read("times.csv").as_deref(),
            ))
        }
        _ => {
            write_file(&csv_path, &format!("{}\n", RunRecord::CSV_HEADER))?;
            Ok(Vec::new())
        }
    }
}

/// How many runs of a series `results` holds already.
fn done_in(results: &[RttResult], a: Mobility, h: Handover, rtt: f64) -> usize {
    results
        .iter()
        .find(|r| r.approach == a && r.handover == h && r.rtt_ms == rtt)
        .map_or(0, |r| r.runs.len())
}

/// Runs every series not complete yet and writes the report into `cfg.out`
/// after each one.
pub fn run(cfg: &Config, binaries: Binaries) -> Result<(), LabError> {
    std::fs::create_dir_all(&cfg.out).map_err(io_err(format!("creating {}", cfg.out.display())))?;
    let mut results = resume(cfg)?;
    let first_rtt = cfg.rtts.first().copied().unwrap_or(0.0);
    let csv_path = cfg.out.join("runs.csv");
    let mut csv = std::fs::OpenOptions::new()
        .append(true)
        .open(&csv_path)
        .map_err(io_err(format!("opening {}", csv_path.display())))?;
    let csv_err = || io_err(format!("writing {}", csv_path.display()));
    let left_of = |results: &[RttResult], a: Mobility| -> usize {
        let mut left = 0;
        for &rtt in &cfg.rtts {
            for h in cfg.handovers_of(a) {
                left += cfg.runs.saturating_sub(done_in(results, a, h, rtt));
            }
        }
        left
    };
    let todo: usize = cfg.approaches.iter().map(|a| left_of(&results, *a)).sum();
    if results.iter().any(|r| !r.runs.is_empty()) {
        println!(
            "resuming {}: {todo} migrations still to run",
            csv_path.display()
        );
    }
    let started = Instant::now();
    let mut ran = 0;
    for &approach in &cfg.approaches {
        if left_of(&results, approach) == 0 {
            continue;
        }
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
        for &rtt in &cfg.rtts {
            for mag in MAGS {
                domain.set_wan(mag, rtt, 0.0)?;
            }
            for handover in cfg.handovers_of(approach) {
                let done = done_in(&results, approach, handover, rtt);
                if done >= cfg.runs {
                    continue;
                }
                let series = format!("{} {} RTT {rtt} ms", approach.name(), handover.name());
                let series_start = Instant::now();
                let mut result = RttResult {
                    approach,
                    handover,
                    rtt_ms: rtt,
                    ..RttResult::default()
                };
                for i in done + 1..=cfg.runs {
                    let eta = (ran > 0)
                        .then(|| started.elapsed().mul_f64((todo - ran) as f64 / ran as f64));
                    println!(
                        "{series}: run {i} of {}, ETA {}",
                        cfg.runs,
                        eta.map_or("--:--".into(), mm_ss)
                    );
                    let capture = i <= cfg.overhead_runs;
                    let (mut record, overhead) =
                        one_run(&mut domain, cfg, rtt, i, capture, handover);
                    record.approach = approach;
                    record.handover = handover;
                    println!("  {}", describe(&record));
                    writeln!(csv, "{}", record.csv_row()).map_err(csv_err())?;
                    if let Some(o) = overhead {
                        result.overhead.merge(&o);
                        result.captured += 1;
                    }
                    result.runs.push(record);
                    ran += 1;
                }
                result.wall_s = series_start.elapsed().as_secs_f64();
                println!(
                    "{series}: {} runs in {} (mm:ss)",
                    result.runs.len(),
                    mm_ss(series_start.elapsed())
                );
                merge(&mut results, result);
                // A checkpoint: an interrupted run keeps every finished series.
                write_outputs(cfg, &results)?;
            }
        }
    }
    write_outputs(cfg, &results)?;
    println!(
        "paper: {ran} migrations in {}; report in {}",
        mm_ss(started.elapsed()),
        cfg.out.display()
    );
    Ok(())
}

/// Adds a series' new runs to what an earlier sitting left of it.
fn merge(results: &mut Vec<RttResult>, new: RttResult) {
    let same = |r: &&mut RttResult| {
        r.approach == new.approach && r.handover == new.handover && r.rtt_ms == new.rtt_ms
    };
    match results.iter_mut().find(same) {
        Some(r) => {
            r.runs.extend(new.runs);
            r.overhead.merge(&new.overhead);
            r.captured += new.captured;
            r.wall_s += new.wall_s;
        }
        None => results.push(new),
    }
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
    let of = |a: Mobility, h: Handover| -> Vec<RttResult> {
        let mut v: Vec<RttResult> = results
            .iter()
            .filter(|r| r.approach == a && r.handover == h)
            .cloned()
            .collect();
        v.sort_by(|x, y| x.rtt_ms.total_cmp(&y.rtt_ms));
        v
    };
    let pmip = of(Mobility::Pmipv6, Handover::Reactive);
    let hinted = of(Mobility::Pmipv6, Handover::Proactive);
    let mip = of(Mobility::Mipv6, Handover::Reactive);
    let report = report::markdown(&conditions, &pmip)
        + &proactive::section(&conditions, &pmip, &hinted)
        + &baseline::section(&conditions, &pmip, &mip);
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
        (
            "proactive_vs_reactive.svg",
            proactive::chart(&pmip, &hinted),
        ),
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
    let n = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
    let mut s = format!(
        "{}: downtime {} ms (lost {}, late {}, silence {} ms; 1 ms stream: lost {}, silence {} ms), handoff {} ms, total {} ms, pre-copy {} ms, TCP {}",
        r.direction,
        f(r.downtime_ms),
        n(r.lost),
        n(r.late),
        f(r.silence_ms),
        n(r.fine_lost),
        f(r.fine_silence_ms),
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
        if let (Some(lost), Some(late)) = (r.lost4, r.late4) {
            s += &format!(", {lost} lost, {late} late");
        }
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
    handover: Handover,
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
        .and_then(|_| measure(domain, cfg, to, &mut record, handover));
    if let Err(e) = measured {
        record.error = Some(e.to_string());
    }
    // A reactive handoff back needs the old MAG to have noticed the VM
    // leave; with hints it is told, and the next run's hints say it again.
    if handover == Handover::Reactive
        && let Err(e) = wait_departure(domain, &from)
    {
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
    handover: Handover,
) -> Result<(), LabError> {
    let mn_id = mn_id(domain)?;
    if handover == Handover::Reactive {
        // After proactive runs the MAG the VM comes back to may still hold
        // it as leaving: a reactive handoff starts from a MAG that forgot it.
        wait_departure(domain, to)?;
    }
    let opts = MigrateOptions {
        precopy_bytes: cfg.precopy_mb << 20,
        pause: Duration::from_millis(cfg.pause_ms),
        announce: true,
        hints: handover == Handover::Proactive,
    };
    let probes = domain.start_probes_with(
        VM,
        CLIENT,
        ProbeFamily::Ipv6,
        PROBE_INTERVAL_MS,
        cfg.fine_interval_ms,
    )?;
    let dual = cfg.dual_stack && domain.topology.vm(VM).is_some_and(|v| v.family.has_ipv4());
    let probes4 = dual
        .then(|| domain.start_probes_over(VM, CLIENT, ProbeFamily::Ipv4))
        .transpose()?;
    // The migration waits for the new MAG to report its handoff.
    let migrated = domain.migrate(VM, to, &opts);
    let handoff = migrated.as_ref().ok().and_then(|t| t.handoff_ms);
    std::thread::sleep(Duration::from_millis(cfg.tail_ms));
    let (udp, tcp, fine) = domain.stop_all_probes(probes)?;
    if let Some(p) = probes4 {
        let (udp4, tcp4) = domain.stop_probes(p)?;
        record.downtime4_ms = Some(udp4.downtime_ms);
        record.total_migration_time4_ms = Some(udp4.total_migration_time_ms);
        record.tcp4_survived = Some(tcp4.survived);
        record.lost4 = Some(udp4.lost);
        record.late4 = Some(udp4.late);
        record.silence4_ms = Some(udp4.largest_silence_ms);
        if udp4.unanswered_tail > 0 {
            record.error = Some(format!(
                "IPv4 was not back: last {} requests unanswered",
                udp4.unanswered_tail
            ));
        }
    }
    let times = migrated?;
    record.lost = Some(udp.lost);
    record.late = Some(udp.late);
    record.silence_ms = Some(udp.largest_silence_ms);
    if let Some(f) = fine {
        record.fine_downtime_ms = Some(f.downtime_ms);
        record.fine_lost = Some(f.lost);
        record.fine_late = Some(f.late);
        record.fine_silence_ms = Some(f.largest_silence_ms);
    }
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
