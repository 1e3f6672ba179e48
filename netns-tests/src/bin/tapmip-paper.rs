//! `tapmip-paper`: repeats the paper's measurements on the lab and writes the
//! report (`make paper`). Needs root, or an unprivileged user namespace with
//! /dev/net/tun; runs unattended and prints its progress. Its output goes to
//! target/paper unless `--out` says otherwise (the committed report is
//! `--out docs/paper`); a run stopped half-way is resumed by running it
//! again with the same `--out`.

use std::path::PathBuf;
use std::process::ExitCode;

use argh::FromArgs;
use netns_tests::domain::hints::Handover;
use netns_tests::domain::{Binaries, Mobility};
use netns_tests::paper::{self, Config, PAPER_RTTS};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn default_runs() -> usize {
    env_or("PAPER_RUNS", 70) as usize
}

fn default_precopy_mb() -> u64 {
    env_or("PAPER_PRECOPY_MB", 256)
}

fn default_rtts() -> String {
    PAPER_RTTS.map(|r| r.to_string()).join(",")
}

/// Live migrations of a VM between two MAGs at the paper's WAN round trips, with
/// the paper's probes, with PMIPv6 and with the Mobile IPv6 baseline; writes
/// report.md, runs.csv, overhead.csv and SVG charts.
#[derive(FromArgs)]
struct Args {
    /// migrations per RTT (default: $PAPER_RUNS or 70)
    #[argh(option, default = "default_runs()")]
    runs: usize,
    /// MB of memory pre-copied per migration (default: $PAPER_PRECOPY_MB or 256)
    #[argh(option, default = "default_precopy_mb()")]
    precopy_mb: u64,
    /// stop-and-copy pause in ms (default 250; see the report for why)
    #[argh(option, default = "250")]
    pause_ms: u64,
    /// how long the probes go on after the new MAG's RA, in ms (default 1000)
    #[argh(option, default = "1000")]
    tail_ms: u64,
    /// runs per RTT whose WAN links are captured for the overhead (default 2)
    #[argh(option, default = "2")]
    overhead_runs: usize,
    /// comma-separated MAG-LMA round trips in ms (default 0.02,30,90,160)
    #[argh(option, default = "default_rtts()")]
    rtts: String,
    /// comma-separated approaches: pmipv6 (ours), mipv6 (the paper's baseline); default both
    #[argh(option, default = "String::from(\"pmipv6,mipv6\")")]
    approaches: String,
    /// comma-separated PMIPv6 handovers: reactive (the paper's), proactive (hinted); default both
    #[argh(option, default = "String::from(\"reactive,proactive\")")]
    handovers: String,
    /// interval of the UDP stream beside the paper's 10 ms one, in ms (default 1; 0: none)
    #[argh(option, default = "1")]
    fine_interval_ms: u64,
    /// rewrite report.md and the charts from the CSV files already in --out
    #[argh(switch)]
    replot: bool,
    /// start runs.csv in --out afresh instead of resuming it
    #[argh(switch)]
    fresh: bool,
    /// output directory (default target/paper; the committed report: --out docs/paper)
    #[argh(option, default = "PathBuf::from(\"target/paper\")")]
    out: PathBuf,
    /// a dual-stack VM (IPv4 by DHCP beside IPv6), measured over both families
    #[argh(switch)]
    dual_stack: bool,
}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    let rtts: Result<Vec<f64>, _> = args.rtts.split(',').map(|r| r.trim().parse()).collect();
    let Ok(rtts) = rtts else {
        eprintln!(
            "tapmip-paper: --rtts: '{}' is not a list of numbers",
            args.rtts
        );
        return ExitCode::FAILURE;
    };
    if args.runs == 0 {
        eprintln!("tapmip-paper: --runs must be at least 1");
        return ExitCode::FAILURE;
    }
    let mut approaches = Vec::new();
    for a in args.approaches.split(',').map(str::trim) {
        match a {
            "pmipv6" => approaches.push(Mobility::Pmipv6),
            "mipv6" => approaches.push(Mobility::Mipv6),
            other => {
                eprintln!("tapmip-paper: --approaches: '{other}' is neither pmipv6 nor mipv6");
                return ExitCode::FAILURE;
            }
        }
    }
    let mut handovers = Vec::new();
    for h in args.handovers.split(',').map(str::trim) {
        match h {
            "reactive" => handovers.push(Handover::Reactive),
            "proactive" => handovers.push(Handover::Proactive),
            other => {
                eprintln!("tapmip-paper: --handovers: '{other}' is neither reactive nor proactive");
                return ExitCode::FAILURE;
            }
        }
    }
    let cfg = Config {
        handovers,
        fine_interval_ms: (args.fine_interval_ms > 0).then_some(args.fine_interval_ms),
        fresh: args.fresh,
        approaches,
        rtts,
        runs: args.runs,
        precopy_mb: args.precopy_mb,
        pause_ms: args.pause_ms,
        tail_ms: args.tail_ms,
        overhead_runs: args.overhead_runs,
        out: args.out,
        dual_stack: args.dual_stack,
    };
    println!(
        "tapmip-paper: {} runs per RTT at {:?} ms, pre-copy {} MB, pause {} ms -> {}",
        cfg.runs,
        cfg.rtts,
        cfg.precopy_mb,
        cfg.pause_ms,
        cfg.out.display()
    );
    let result = if args.replot {
        paper::replot(&cfg)
    } else {
        Binaries::siblings().and_then(|b| paper::run(&cfg, b))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tapmip-paper: {e}");
            ExitCode::FAILURE
        }
    }
}
