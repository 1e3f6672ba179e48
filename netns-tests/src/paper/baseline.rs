//! The report's Mobile IPv6 part: the baseline measured on the same lab
//! (home agent, access routers with RAs every 70 ms, the VM's own agent over
//! its kernel's SLAAC and DAD) beside our PMIPv6 and the paper's Tables I-IV.

use std::fmt::Write;

use super::report::{Conditions, PAPER, RttResult, paper_at};
use super::stats::Summary;

fn num(v: f64) -> String {
    format!("{v:.2}")
}

fn rtt_text(rtt: f64) -> String {
    if rtt < 1.0 {
        format!("{rtt}")
    } else {
        format!("{rtt:.0}")
    }
}

fn mean_range(s: Option<Summary>) -> String {
    s.map_or("-".into(), |s| {
        format!("{} [{}, {}]", num(s.mean), num(s.min), num(s.max))
    })
}

fn at(results: &[RttResult], rtt: f64) -> Option<&RttResult> {
    results.iter().find(|r| r.rtt_ms == rtt)
}

/// The section, empty when no MIPv6 run was made.
pub fn section(c: &Conditions, pmip: &[RttResult], mip: &[RttResult]) -> String {
    let mut s = String::new();
    if mip.is_empty() {
        return s;
    }
    let w = &mut s;
    let _ = writeln!(
        w,
        "\n## Mobile IPv6 baseline, measured (Tables II and IV)\n"
    );
    let _ = writeln!(
        w,
        "The same lab, namespaces, WAN emulation, migrations and probes, with the \
         LMA's host as a Mobile IPv6 home agent (`lma home-agent`), the MAGs' hosts as \
         plain access routers with a prefix each and an RA every 70 ms (`mag \
         access-router`, the paper's radvd setting), and in the VM a mobile node agent \
         (`tapmip-mn`) over its unmodified kernel: the home address on a TUN device, the \
         care-of address from the kernel's own SLAAC and DAD (default settings), Binding \
         Update and Acknowledgement and the tunnel to the home agent over raw sockets. \
         {} runs per RTT, {} MB pre-copy, {} ms pause.\n",
        mip.iter().map(|r| r.runs.len()).max().unwrap_or(0),
        c.precopy_mb,
        c.pause_ms
    );
    let _ = writeln!(w, "### Service downtime (ms), mean [min, max]\n");
    let _ = writeln!(
        w,
        "| RTT (ms) | runs ok | ours MIPv6 | paper MIPv6 (Table II) | ours PMIPv6 | paper PMIPv6 (Table I) | MIPv6 - PMIPv6, ours | paper |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|");
    for r in mip {
        let p = paper_at(r.rtt_ms);
        let ours_p = at(pmip, r.rtt_ms).and_then(RttResult::downtime);
        let diff = r
            .downtime()
            .zip(ours_p)
            .map_or("-".into(), |(m, p)| num(m.mean - p.mean));
        let paper = |v: [f64; 3]| format!("{} [{}, {}]", num(v[0]), num(v[1]), num(v[2]));
        let ok = r.runs.iter().filter(|x| x.error.is_none()).count();
        let _ = writeln!(
            w,
            "| {} | {ok}/{} | {} | {} | {} | {} | {diff} | {} |",
            rtt_text(r.rtt_ms),
            r.runs.len(),
            mean_range(r.downtime()),
            p.map_or("-".into(), |p| paper(p.mip_downtime)),
            mean_range(ours_p),
            p.map_or("-".into(), |p| paper(p.pmip_downtime)),
            p.map_or("-".into(), |p| num(p.mip_downtime[0] - p.pmip_downtime[0])),
        );
    }
    let _ = writeln!(w, "\n### Total migration time (s), mean\n");
    let _ = writeln!(
        w,
        "| RTT (ms) | ours MIPv6 | paper MIPv6 (Table IV) | ours PMIPv6 | paper PMIPv6 (Table III) | TCP sessions survived, MIPv6 |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|");
    for r in mip {
        let p = paper_at(r.rtt_ms);
        let f = |s: Option<Summary>| s.map_or("-".into(), |s| num(s.mean));
        let survived = r
            .runs
            .iter()
            .filter(|x| x.tcp_survived == Some(true))
            .count();
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {survived} of {} |",
            rtt_text(r.rtt_ms),
            f(r.total_s()),
            p.map_or("-".into(), |p| num(p.mip_total_s)),
            f(at(pmip, r.rtt_ms).and_then(RttResult::total_s)),
            p.map_or("-".into(), |p| num(p.pmip_total_s)),
            r.runs.len()
        );
    }
    let _ = writeln!(w, "\n### Where the MIPv6 downtime goes (ms, mean)\n");
    let _ = writeln!(
        w,
        "Handoff = the VM resumed on the new link -> the home agent holds the new \
         care-of address, as the lab polls it (every 100 ms); it contains the wait for \
         the new access router's RA, the kernel's DAD and the BU's way to the home agent. \
         The rest of the downtime is the pause and the probe's {} ms granularity.\n",
        c.interval_ms
    );
    let _ = writeln!(
        w,
        "| RTT (ms) | pause | downtime - pause | handoff | handoff - RTT (RA wait + DAD) |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|");
    for r in mip {
        let mob = r.ok_sample(|x| Some(x.downtime_ms? - x.pause_ms));
        let hand = r.ok_sample(|x| x.handoff_ms);
        let f = |s: Option<Summary>| s.map_or("-".into(), |s| num(s.mean));
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            rtt_text(r.rtt_ms),
            c.pause_ms,
            f(mob),
            f(hand),
            hand.map_or("-".into(), |h| num(h.mean - r.rtt_ms)),
        );
    }
    closing_note(w, c, pmip, mip);
    s
}

fn closing_note(w: &mut String, c: &Conditions, pmip: &[RttResult], mip: &[RttResult]) {
    let quoted: Vec<String> = mip
        .iter()
        .filter_map(|r| {
            let d = r.downtime()?;
            let t = r.total_s()?;
            Some(format!(
                "{} ms at {} ms RTT (total {} s)",
                num(d.mean),
                rtt_text(r.rtt_ms),
                num(t.mean)
            ))
        })
        .collect();
    let paper: Vec<String> = PAPER
        .iter()
        .map(|p| format!("{} ms", num(p.mip_downtime[0])))
        .collect();
    let ratio: Vec<String> = mip
        .iter()
        .filter_map(|r| {
            let m = r.downtime()?.mean;
            let p = at(pmip, r.rtt_ms)?.downtime()?.mean;
            Some(format!("{:.1}x", m / p))
        })
        .collect();
    let _ = writeln!(w, "\n### Closing note\n");
    let _ = writeln!(
        w,
        "Measured MIPv6 downtime: {}. The paper's Table II: {} (1.8-2.1 s). Against our \
         PMIPv6 on the same runs the baseline is down {} as long.\n",
        quoted.join(", "),
        paper.join(", "),
        if ratio.is_empty() {
            "-".into()
        } else {
            ratio.join(", ")
        }
    );
    let _ = writeln!(
        w,
        "Why. A VM that keeps its address under PMIPv6 never runs DAD; under MIPv6 it \
         lands on a link with a new prefix and must configure a care-of address first. \
         Linux waits a random 0 to 1 s (the RS delay it applies to DAD) before its one DAD \
         probe and 1 s (RetransTimer) after it, so the care-of address is usable 1 to 2 s \
         after the first RA, 1.5 s on average; the RA itself comes within 70 ms; then one \
         BU crosses to the home agent (half an RTT before the tunnel turns). Downtime is \
         the {} ms pause plus that, which is where the paper's 1.8-2.1 s comes from too: \
         its spread (1.3 to 3.0 s) is the kernel's random DAD delay, and its growth with \
         RTT is the BU/BA exchange. Where ours is lower, the paper's Xen pause and its \
         UMIP processing were longer than our emulated {} ms stop-and-copy; with {} runs \
         per RTT the means move by a few hundred ms from run to run, as the random delay \
         does. The same holds for the total migration time: the MIPv6 runs add the DAD \
         second to each migration (Table IV is 0.35-1.5 s above Table III).",
        c.pause_ms,
        c.pause_ms,
        mip.iter().map(|r| r.runs.len()).max().unwrap_or(0)
    );
}
