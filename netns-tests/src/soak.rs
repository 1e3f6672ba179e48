//! The lab soak: a VM migrated back and forth between two MAGs many times,
//! with a small pre-copy and a short pause, while the routers' memory and the
//! state they hold (bindings, tunnels, neighbors, timers: their `sizes`
//! table) are sampled. Nothing may grow with the number of migrations.

use std::time::Instant;

use crate::domain::{Binaries, Domain, MigrateOptions, Topology, Tuning};
use crate::{LabError, binaries};

const TOPOLOGY: &str = "wan_rtt_ms = 0.0\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n[[vm]]\nname = \"vm1\"\nmag = \"mag1\"\n[[correspondent]]\nname = \"client\"\n";
const ROUTERS: [&str; 3] = ["lma", "mag1", "mag2"];

/// The routers' state after some number of migrations.
#[derive(Debug, Clone)]
pub struct Sample {
    pub migrations: usize,
    /// Resident memory of each router, in KiB.
    pub rss_kib: Vec<(String, u64)>,
    /// (router, kind of state, entries), from each router's `sizes` table.
    pub sizes: Vec<(String, String, usize)>,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn sample(d: &mut Domain, migrations: usize) -> Result<Sample, LabError> {
    let pids = d.lab.pids();
    let rss_kib = ROUTERS
        .iter()
        .map(|r| {
            let pid = pids.iter().rev().find(|(n, _)| n == r).map(|(_, p)| *p);
            (r.to_string(), pid.and_then(rss_kib).unwrap_or(0))
        })
        .collect();
    let mut sizes = Vec::new();
    for r in ROUTERS {
        let tables = d.router(r, &router::ctl::Request::Status {})?;
        let table = tables
            .iter()
            .find(|t| t.title == "sizes")
            .ok_or_else(|| LabError::Check(format!("{r} has no sizes table")))?;
        for row in &table.rows {
            let n = row.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
            sizes.push((r.to_string(), row[0].clone(), n));
        }
    }
    Ok(Sample {
        migrations,
        rss_kib,
        sizes,
    })
}

/// Migrates vm1 `migrations` times, sampling every `every`; fails if the VM
/// is unreachable at a sample.
pub fn run(migrations: usize, every: usize) -> Result<Vec<Sample>, LabError> {
    binaries::build(&binaries::LAB).map_err(LabError::Check)?;
    let topology = Topology::parse(TOPOLOGY).map_err(|e| LabError::Check(e.to_string()))?;
    let mut d = Domain::up(topology, Binaries::siblings()?, &Tuning::default())?;
    let opts = MigrateOptions {
        precopy_bytes: 64 << 10,
        pause: std::time::Duration::from_millis(20),
        ..MigrateOptions::default()
    };
    let vm = d
        .address("vm1")
        .ok_or_else(|| LabError::Check("vm1 has no address".into()))?
        .to_string();
    let start = Instant::now();
    let mut samples = vec![sample(&mut d, 0)?];
    for i in 1..=migrations {
        let to = if i % 2 == 1 { "mag2" } else { "mag1" };
        let times = d.migrate("vm1", to, &opts)?;
        if times.handoff_ms.is_none() {
            return Err(LabError::Check(format!(
                "migration {i} to {to}: no handoff within the timeout\n{}",
                d.diagnosis()
            )));
        }
        if i % every == 0 {
            d.exec("client", &["ping", "-6", "-c", "1", "-W", "5", &vm])
                .map_err(|e| {
                    LabError::Check(format!("after {i} migrations vm1 is unreachable: {e}"))
                })?;
            samples.push(sample(&mut d, i)?);
            println!(
                "soak: {i} migrations in {:.0} s",
                start.elapsed().as_secs_f64()
            );
        }
    }
    Ok(samples)
}

/// The samples as a table, and what grew between the first sample after
/// warm-up (the first `every` migrations) and the last.
pub fn report(samples: &[Sample]) -> (String, Vec<String>) {
    let mut out = String::from("migrations");
    let Some(first) = samples.first() else {
        return (out, vec!["no samples".into()]);
    };
    for (r, _) in &first.rss_kib {
        out += &format!("  {r} RSS KiB");
    }
    for (r, kind, _) in &first.sizes {
        out += &format!("  {r} {kind}");
    }
    out.push('\n');
    for s in samples {
        out += &format!("{:>10}", s.migrations);
        for (_, kib) in &s.rss_kib {
            out += &format!("  {kib:>12}");
        }
        for (_, _, n) in &s.sizes {
            out += &format!("  {n:>6}");
        }
        out.push('\n');
    }
    let mut grew = Vec::new();
    if let (Some(base), Some(last)) = (samples.get(1), samples.last()) {
        for ((r, a), (_, b)) in base.rss_kib.iter().zip(&last.rss_kib) {
            // Allocator slack, not growth: a few hundred KiB either way.
            if *b > a + a / 10 + 512 {
                grew.push(format!("{r}: RSS {a} -> {b} KiB"));
            }
        }
        for ((r, kind, a), (_, _, b)) in base.sizes.iter().zip(&last.sizes) {
            // A sample can catch a probe or a retransmission in flight.
            if *b > a + 2 {
                grew.push(format!("{r}: {kind} {a} -> {b}"));
            }
        }
    }
    (out, grew)
}
