//! The report's IPv4 part (`make paper` with `--dual-stack`): the VM runs
//! IPv4 beside IPv6 (its address by DHCP from the MAGs, busybox `udhcpc` in
//! its namespace), a second pair of probes measures over IPv4 in the same
//! migrations, and the report gives those figures in their own section. Every
//! other figure of the report is the IPv6 one, the paper's case.

use std::fmt::Write;

use super::report::{Conditions, RttResult, num, rtt_text, summary_cells};

/// The conditions' line on address families.
pub fn families(c: &Conditions) -> String {
    if c.dual_stack {
        "Address families: the VM is dual-stack, IPv6 by SLAAC and IPv4 by DHCP from \
         the MAGs (busybox udhcpc); both probe pairs run in every migration. Every figure \
         is the IPv6 one, as in the paper, except in the section \"IPv4 (dual-stack VM)\"."
            .into()
    } else {
        "Address families: the VM is IPv6-only, as in the paper; every figure is IPv6's \
         (`--dual-stack` measures IPv4 too)."
            .into()
    }
}

/// Downtime, total migration time and TCP survival over IPv4, beside the
/// IPv6 downtime of the same runs; nothing when no run measured IPv4.
pub fn section(w: &mut String, c: &Conditions, results: &[RttResult]) {
    let measured = results
        .iter()
        .flat_map(|r| &r.runs)
        .any(|r| r.downtime4_ms.is_some());
    if !c.dual_stack && !measured {
        return;
    }
    let _ = writeln!(w, "\n## IPv4 (dual-stack VM)\n");
    let _ = writeln!(
        w,
        "The same migrations, measured over IPv4 by a second pair of probes (UDP echo \
         client -> VM every {} ms, TCP VM -> client): the VM's IPv4 home address travels \
         in the same IPv6 tunnel (IPv4-in-IPv6, RFC 5844 4) and the same handoff moves it.\n",
        c.interval_ms
    );
    let _ = writeln!(
        w,
        "| RTT (ms) | runs ok | IPv4 downtime mean | min | max | std dev | 95 % CI | IPv6 downtime mean | IPv4 total migration time mean (s) | IPv4 TCP survived |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|---|");
    for r in results {
        let v4 = r.sample(|x| x.downtime4_ms);
        let v6 = r.downtime().map_or("-".into(), |s| num(s.mean));
        let total = r
            .sample(|x| x.total_migration_time4_ms.map(|t| t / 1e3))
            .map_or("-".into(), |s| num(s.mean));
        let survived = r
            .runs
            .iter()
            .filter(|x| x.tcp4_survived == Some(true))
            .count();
        let _ = writeln!(
            w,
            "| {} | {}/{} | {} | {v6} | {total} | {survived} of {} |",
            rtt_text(r.rtt_ms),
            r.ok_runs(),
            r.runs.len(),
            summary_cells(v4),
            r.runs.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paper::report::{RunRecord, markdown};

    #[test]
    fn the_report_names_the_family_of_each_figure() {
        let run = |d6: f64, d4: Option<f64>| RunRecord {
            rtt_ms: 30.0,
            direction: "mag1->mag2".into(),
            pause_ms: 250.0,
            downtime_ms: Some(d6),
            total_migration_time_ms: Some(5000.0),
            handoff_ms: Some(31.0),
            tcp_survived: Some(true),
            downtime4_ms: d4,
            total_migration_time4_ms: d4.map(|_| 5100.0),
            tcp4_survived: d4.map(|_| true),
            ..RunRecord::default()
        };
        let results = [RttResult {
            rtt_ms: 30.0,
            runs: vec![run(290.0, Some(300.0)), run(292.0, Some(302.0))],
            ..RttResult::default()
        }];
        let mut c = Conditions {
            runs: 2,
            precopy_mb: 1,
            pause_ms: 250,
            tail_ms: 1000,
            interval_ms: 10,
            overhead_runs: 0,
            mag_ra_interval_ms: 1000,
            dual_stack: true,
        };
        let md = markdown(&c, &results);
        assert!(md.contains("## Service downtime, IPv6"), "{md}");
        assert!(md.contains("## IPv4 (dual-stack VM)"));
        assert!(md.contains("| 30 | 2/2 | 301.00 |"), "{md}");
        assert!(md.contains("| 291.00 | 5.10 | 2 of 2 |"), "{md}");
        let rows: Vec<String> = results[0].runs.iter().map(RunRecord::csv_row).collect();
        let back = RunRecord::parse_csv_row(&rows[0]).unwrap();
        assert_eq!(
            (back.downtime4_ms, back.tcp4_survived),
            (Some(300.0), Some(true))
        );
        // A row written before the IPv4 columns still reads.
        let old = "30,1,mag1->mag2,290.00,5000.00,250,31.00,,,true,100,90,false,no handoff";
        let old = RunRecord::parse_csv_row(old).unwrap();
        assert_eq!(
            (old.downtime4_ms, old.error.as_deref()),
            (None, Some("no handoff"))
        );
        // And one from before the IPv4 columns, with the approach.
        let old = "30,1,mag1->mag2,290.00,5000.00,250,31.00,,,true,100,90,false,,mipv6";
        let old = RunRecord::parse_csv_row(old).unwrap();
        assert_eq!(
            (old.approach, old.downtime4_ms, old.error),
            (crate::domain::Mobility::Mipv6, None, None)
        );
        c.dual_stack = false;
        let single = [RttResult {
            rtt_ms: 30.0,
            runs: vec![run(290.0, None)],
            ..RttResult::default()
        }];
        assert!(!markdown(&c, &single).contains("## IPv4"));
    }
}
