//! Benchmark: proactive against reactive handover in the simulated domain
//! (fake time, the LMA's WAN links at the paper's round trips), the
//! correspondent pinging the VM every millisecond. For each RTT and handover
//! it prints the longest silence at the correspondent (mean, p95, max over
//! the migrations), the requests lost and those delivered out of order,
//! against the targets: proactive <= pause + 2 ms with nothing lost,
//! reactive <= pause + 1 RTT + 2 ms. Fake time measures the protocol, not
//! the machine; a benchmark, it asserts nothing.

use netns_tests::sim_domain::{Bound, DomainSpec, Handover, booted};
use router::Duration;
use router::sim::LinkParams;

const MIGRATIONS: usize = 20;
const PAUSE_MS: u64 = 300;
const SLACK_MS: f64 = 2.0;

fn main() {
    println!(
        "proactive vs reactive handover, simulated domain, {MIGRATIONS} migrations per point, pause {PAUSE_MS} ms, 1 ms pings"
    );
    for rtt in [0u64, 30, 90, 160] {
        for handover in [Handover::Reactive, Handover::Proactive] {
            let mut spec = DomainSpec::new(rtt + 1, 2, 1);
            spec.wan = LinkParams {
                delay: Duration::from_millis(rtt) / 2,
                ..LinkParams::default()
            };
            let bound = Bound::new(Duration::from_millis(rtt), Duration::from_secs(60));
            let mut d = booted(&spec, 0);
            let (mut silences, mut lost, mut reordered) = (Vec::new(), 0u64, 0);
            for i in 0..MIGRATIONS {
                let to = (i + 1) % 2;
                match d.migrate_under_stream(
                    0,
                    to,
                    Duration::from_millis(PAUSE_MS),
                    Duration::from_millis(1),
                    Duration::from_millis(200),
                    Duration::from_millis(600),
                    handover,
                    &bound,
                ) {
                    Ok(s) => {
                        silences.push(s.largest_silence.total_micros() as f64 / 1e3);
                        lost += u64::from(s.lost());
                        reordered += usize::from(!s.in_order);
                    }
                    Err(e) => {
                        println!(
                            "  RTT {rtt} ms {}: migration {i} failed: {e}",
                            handover.name()
                        );
                        break;
                    }
                }
                // A reactive handoff back starts from a MAG that noticed the VM leave.
                d.run_for(Duration::from_secs(15));
            }
            silences.sort_by(f64::total_cmp);
            let n = silences.len().max(1);
            let mean = silences.iter().sum::<f64>() / n as f64;
            let p95 = silences
                .get((n * 95).div_ceil(100).saturating_sub(1))
                .copied()
                .unwrap_or(0.0);
            let max = silences.last().copied().unwrap_or(0.0);
            let target = PAUSE_MS as f64
                + SLACK_MS
                + if handover == Handover::Proactive {
                    0.0
                } else {
                    rtt as f64
                };
            let met = p95 <= target && (handover == Handover::Reactive || lost == 0);
            println!(
                "  RTT {rtt:>3} ms {:<9}: silence mean {mean:.1} ms, p95 {p95:.1} ms, max {max:.1} ms; {lost} lost, {reordered} migrations out of order; target {target:.0} ms{}: {}",
                handover.name(),
                if handover == Handover::Proactive {
                    " and 0 lost"
                } else {
                    ""
                },
                if met { "met" } else { "MISSED" }
            );
        }
    }
}
