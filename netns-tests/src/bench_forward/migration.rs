//! The lab's live migration at LAN distance (0.02 ms WAN round trip, the
//! paper's first row): how fast the pre-copy crosses host1 -> LMA -> host2
//! and the total migration time the UDP probe sees, against the same figures
//! measured on main before superframes reached tapbridge, the LMA and the MAGs.

use std::time::Duration;

use crate::LabError;
use crate::domain::{Binaries, Domain, MigrateOptions, Topology, Tuning};

/// Migrations measured (back and forth between the MAGs).
pub const RUNS: usize = 4;
/// The paper's memory image.
pub const PRECOPY_MB: u64 = 256;
const PAUSE_MS: u64 = 250;
/// How long the probes go on after the migration.
const TAIL_MS: u64 = 1000;
pub const RTT_MS: f64 = 0.02;

/// Medians measured on main at 9ee133e (tapbridge without virtio-net headers,
/// the LMA and MAGs on plain TAPs), `tapmip-paper --runs 4 --rtts 0.02`, the
/// same 2-core machine at load average 2.6: pre-copy 2107, 1843, 1963, 2495 ms;
/// total migration time 3459, 3190, 3310, 3840 ms.
pub const BEFORE_PRECOPY_MS: f64 = 2035.3;
pub const BEFORE_TOTAL_MS: f64 = 3384.7;

/// One migration's figures.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub precopy_ms: f64,
    /// The UDP probe's total migration time, as `tapmip-paper` reports it.
    pub total_ms: f64,
}

/// `RUNS` migrations of vm1 on the paper's testbed at `RTT_MS`.
pub fn run(binaries: Binaries) -> Result<Vec<Migration>, LabError> {
    let topology = Topology::parse(&format!(
        "wan_rtt_ms = {RTT_MS}\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n\
         [[vm]]\nname = \"vm1\"\nmag = \"mag1\"\n[[correspondent]]\nname = \"client\"\n"
    ))
    .map_err(|e| LabError::Check(e.to_string()))?;
    let mut domain = Domain::up(topology, binaries, &Tuning::default())?;
    let opts = MigrateOptions {
        precopy_bytes: PRECOPY_MB << 20,
        pause: Duration::from_millis(PAUSE_MS),
        announce: true,
        // Reactive, as the recorded figures of main it is compared with.
        hints: false,
    };
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let from = domain.serving_mag("vm1").unwrap_or_else(|| "mag1".into());
        let to = if from == "mag1" { "mag2" } else { "mag1" };
        let probes = domain.start_probes("vm1", "client")?;
        let migrated = domain.migrate("vm1", to, &opts);
        std::thread::sleep(Duration::from_millis(TAIL_MS));
        let (udp, _) = domain.stop_probes(probes)?;
        let times = migrated?;
        runs.push(Migration {
            precopy_ms: times.precopy.as_secs_f64() * 1e3,
            total_ms: udp.total_migration_time_ms,
        });
        crate::paper::wait_departure(&domain, &from)?;
    }
    Ok(runs)
}
