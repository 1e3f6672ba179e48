//! Printing `bench-forward`'s figures, each with its conditions and, for a
//! target, the ratio against the kernel and whether it was met.

use super::measure::UDP_PAYLOAD;
use super::migration::{
    BEFORE_PRECOPY_MS, BEFORE_TOTAL_MS, PRECOPY_MB, RTT_MS, RUNS as MIGRATIONS,
};
use super::{ForwardFigures, ROUNDS, SECONDS, Tcp};

/// TCP at MTU 1500 through the plain router, as a share of the kernel's.
const TARGET_TCP: f64 = 0.8;
/// 64-byte UDP datagrams through the plain router, as a share of the kernel's pps.
const TARGET_UDP: f64 = 0.8;
/// TCP through the whole PMIPv6 path, as a share of the kernel's plain forwarding.
const TARGET_PMIP_TCP: f64 = 0.5;
/// Idle resident memory a router should stay under.
const TARGET_IDLE_RSS_KB: u64 = 10 * 1024;
/// Payload of one TCP segment at MTU 1500 over IPv6 with timestamps.
const MSS: f64 = 1428.0;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn list(v: &[f64], digits: usize) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:.digits$}")).collect();
    items.join(", ")
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

fn verdict(value: f64, target: f64) -> &'static str {
    if value >= target { "met" } else { "MISSED" }
}

fn gbps(runs: &[Tcp]) -> Vec<f64> {
    runs.iter().map(Tcp::gbps).collect()
}

/// Prints the figures with the conditions they were measured under.
pub fn report(f: &ForwardFigures) {
    let p = |s: String| println!("bench-forward: {s}");
    p(format!(
        "conditions: {} cores shared by senders, routers and receivers (and whatever else runs here: load average {} before, {} after), debug={}, iperf3 one stream or flow, {SECONDS} s per run, {ROUNDS} rounds alternating kernel and tapmip, medians [runs]",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        f.load_before,
        f.load_after,
        cfg!(debug_assertions)
    ));
    p("plain: h1 -- TAP -- tapmip-router (one thread) -- TAP -- h2; kernel: k1 -- veth -- Linux IPv6 forwarding -- veth -- k2".into());
    for line in &f.router_ports {
        p(format!("router log: {}", line.trim()));
    }
    let (k_tcp, t_tcp) = (gbps(&f.kernel.tcp), gbps(&f.tapmip.tcp));
    let k_udp: Vec<f64> = f.kernel.udp.iter().map(|u| u.received_pps()).collect();
    let t_udp: Vec<f64> = f.tapmip.udp.iter().map(|u| u.received_pps()).collect();
    for (what, runs) in [("kernel", &f.kernel), ("tapmip-router", &f.tapmip)] {
        let sent: Vec<f64> = runs.udp.iter().map(|u| u.sent_pps() / 1e3).collect();
        let recv: Vec<f64> = runs.udp.iter().map(|u| u.received_pps() / 1e3).collect();
        let loss: Vec<f64> = runs.udp.iter().map(|u| u.loss_percent()).collect();
        p(format!(
            "{what}: UDP {UDP_PAYLOAD}-byte datagrams, iperf3 -b 0: sent {:.1} k pps [{}], received {:.1} k pps [{}], lost {:.1} % [{}]",
            median(sent.clone()),
            list(&sent, 1),
            median(recv.clone()),
            list(&recv, 1),
            median(loss.clone()),
            list(&loss, 1)
        ));
        let lost: f64 = runs.udp.iter().map(|u| u.lost).sum();
        p(format!(
            "{what}: of the {lost:.0} datagrams lost over the UDP runs, {:.0} were dropped at the sender's eth0 (tx_dropped: its queue was full, the next hop did not read in time) and {:.0} at the receiving socket (Udp6RcvbufErrors: iperf3 did not read in time)",
            runs.losses.sender_queue, runs.losses.receiver_socket
        ));
        let g = gbps(&runs.tcp);
        p(format!(
            "{what}: TCP at MTU 1500: {:.2} Gbit/s [{}]",
            median(g.clone()),
            list(&g, 2)
        ));
    }
    let tcp_ratio = ratio(median(t_tcp), median(k_tcp.clone()));
    p(format!(
        "target: TCP at MTU 1500 through the plain router >= {TARGET_TCP} x kernel: {tcp_ratio:.2} [{}]",
        verdict(tcp_ratio, TARGET_TCP)
    ));
    let udp_ratio = ratio(median(t_udp), median(k_udp));
    p(format!(
        "target: UDP {UDP_PAYLOAD}-byte datagrams through the plain router >= {TARGET_UDP} x kernel pps: {udp_ratio:.2} [{}]",
        verdict(udp_ratio, TARGET_UDP)
    ));
    let datagrams: f64 = f.tapmip.udp.iter().map(|u| u.received()).sum();
    let segments: f64 = f.tapmip.tcp.iter().map(|t| t.bytes / MSS).sum();
    for (what, usage, count) in [
        ("forwarded UDP datagram", f.udp_usage, datagrams),
        (
            "forwarded TCP segment (1428 payload bytes received)",
            f.tcp_usage,
            segments,
        ),
    ] {
        p(format!(
            "tapmip-router cost per {what}: {:.0} ns CPU (utime+stime), {:.3} read/write system calls (/proc/PID/io syscr+syscw), over its {ROUNDS} runs",
            usage.cpu_ns / count.max(1.0),
            usage.syscalls / count.max(1.0)
        ));
    }
    match &f.strace {
        Some((per_packet, top)) => p(format!(
            "tapmip-router under strace -c -f, one 2 s UDP run: {per_packet:.3} system calls per forwarded datagram (most: {top})"
        )),
        None => p("strace not installed: no per-call breakdown".into()),
    }
    match &f.pmip {
        Ok((pmip, kernel)) => {
            let (pg, kg) = (gbps(pmip), gbps(kernel));
            let r = ratio(median(pg.clone()), median(kg.clone()));
            p(format!(
                "PMIPv6 path client -- tapbridge -- LMA == IPv6-in-IPv6 over tapbridge == MAG -- tapbridge -- vm1, no WAN delay, superframes on the client's and vm1's links, the tunnel cut to its MTU by the LMA (segments), joined again by the MAG: TCP {:.2} Gbit/s [{}], kernel plain forwarding in the same rounds {:.2} Gbit/s [{}]",
                median(pg.clone()),
                list(&pg, 2),
                median(kg.clone()),
                list(&kg, 2)
            ));
            p(format!(
                "target: TCP through the PMIPv6 path >= {TARGET_PMIP_TCP} x kernel plain forwarding: {r:.2} [{}]",
                verdict(r, TARGET_PMIP_TCP)
            ));
        }
        Err(why) => p(format!("PMIPv6 path: {why}")),
    }
    migrations(f, &p);
    p(format!(
        "idle router RSS (tapmip-router, VmRSS after start, before traffic): {} kB [target < {} kB: {}]",
        f.idle_rss_kb,
        TARGET_IDLE_RSS_KB,
        if f.idle_rss_kb < TARGET_IDLE_RSS_KB {
            "met"
        } else {
            "MISSED"
        }
    ));
}

/// The lab's migrations at LAN distance, before (main, recorded) and now.
fn migrations(f: &ForwardFigures, p: &dyn Fn(String)) {
    let runs = match &f.migrations {
        Ok(runs) => runs,
        Err(why) => return p(format!("lab migration: {why}")),
    };
    let pre: Vec<f64> = runs.iter().map(|m| m.precopy_ms).collect();
    let total: Vec<f64> = runs.iter().map(|m| m.total_ms).collect();
    let gbit = |ms: f64| (PRECOPY_MB << 20) as f64 * 8.0 / (ms / 1e3) / 1e9;
    p(format!(
        "lab migration (paper testbed, {RTT_MS} ms WAN RTT, {MIGRATIONS} migrations back and forth, {PRECOPY_MB} MB pre-copy host1 -- tapbridge -- LMA -- tapbridge -- host2 over TCP, 250 ms pause, wan and access captures on): pre-copy {:.0} ms [{}] = {:.2} Gbit/s, before (main 9ee133e) {BEFORE_PRECOPY_MS:.0} ms = {:.2} Gbit/s: {:.2} x",
        median(pre.clone()),
        list(&pre, 0),
        gbit(median(pre.clone())),
        gbit(BEFORE_PRECOPY_MS),
        ratio(BEFORE_PRECOPY_MS, median(pre.clone()))
    ));
    p(format!(
        "lab migration: total migration time (the UDP probe's, as tapmip-paper measures it: probes from before the migration to 1 s after) {:.0} ms [{}], before (main 9ee133e) {BEFORE_TOTAL_MS:.0} ms",
        median(total.clone()),
        list(&total, 0)
    ));
}
