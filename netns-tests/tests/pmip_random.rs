//! Randomized domains run for days of fake time with the invariant checked
//! every half second (see `netns_tests::sim_domain::random`). `make test` runs
//! a few seeds; `make soak` runs many: TAPMIP_SIM_SEEDS sets how many,
//! TAPMIP_SIM_FIRST_SEED where they start, TAPMIP_SIM_DAYS how long each runs.

use netns_tests::sim_domain::random;
use router::Duration;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn days_of_random_migrations_restarts_and_lossy_links_keep_the_invariant() {
    let seeds = env("TAPMIP_SIM_SEEDS", 6);
    let first = env("TAPMIP_SIM_FIRST_SEED", 1);
    let days = env("TAPMIP_SIM_DAYS", 3);
    let length = Duration::from_secs(days * 24 * 3600);
    let mut totals = random::RunStats::default();
    for seed in first..first + seeds {
        let stats = random::run(seed, length).unwrap_or_else(|e| panic!("{e}"));
        println!(
            "{}: {} migrations ({} near a refresh, {} quick returns, {} hinted, {} aborted), {} refreshes, {} LMA and {} MAG restarts, {} key rollovers, {} checks",
            stats.setup,
            stats.migrations,
            stats.near_refresh,
            stats.quick_returns,
            stats.hinted,
            stats.aborted,
            stats.refreshes,
            stats.lma_restarts,
            stats.mag_restarts,
            stats.rollovers,
            stats.checks
        );
        totals.migrations += stats.migrations;
        totals.hinted += stats.hinted;
        totals.refreshes += stats.refreshes;
        totals.lma_restarts += stats.lma_restarts;
        totals.mag_restarts += stats.mag_restarts;
        totals.rollovers += stats.rollovers;
    }
    println!(
        "{seeds} seeds x {days} days: {} migrations, {} refreshes, {} LMA and {} MAG restarts, {} key rollovers (authenticated signalling throughout)",
        totals.migrations,
        totals.refreshes,
        totals.lma_restarts,
        totals.mag_restarts,
        totals.rollovers
    );
    assert!(
        totals.refreshes > 0 && totals.migrations > 0 && totals.rollovers > 0 && totals.hinted > 0
    );
}
