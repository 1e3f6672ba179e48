//! Benchmark: the LMA core at 1, 1 000, 100 000 and 1 000 000 bindings. PBU
//! frames are built in advance and fed to `Lma::on_frame` in a loop; it prints
//! refresh and handoff PBUs per second, memory per binding, and the per-PBU
//! handoff latency, then whether that latency stays flat across sizes. Each
//! size runs in a child process so the memory figures start from a fresh
//! heap; a child prints one `median-ns N` line the parent reads. A benchmark,
//! not a test: it asserts nothing about speed.

use lma::binding_cache::Binding;
use lma::{Lma, LmaConfig};
use router::Instant;
use router::core::{Core, PortId};
use router::engine::EnginePort;
use router::mac::Mac;
use router::nd::frames::ethernet_ipv6;
use router::policy::Policy;
use router::timestamp::{WallClock, timestamp};
use router::wire::{
    AccessTechnologyType, HandoffIndicator, MhRepr, MobilityOptions, PbuRepr, mh_ipv6_packet,
};
use std::fmt::Write;
use std::net::Ipv6Addr;
use std::process::Command;
use std::time::Instant as Wall;

const SIZES: [usize; 4] = [1, 1_000, 100_000, 1_000_000];
/// Sizes the rate and memory targets are for.
const TARGET_SIZES: [usize; 2] = [100_000, 1_000_000];
/// Handoff latency is flat when its median at the largest size is at most
/// this many times the median at 1 000 bindings.
const TARGET_FLAT: f64 = 1.5;
/// PBUs per measured phase (at least one per binding).
const MIN_PBUS: usize = 200_000;
/// Fake time between two PBUs: one unit of the 16-bit timestamp fraction
/// (1/65536 s), so every PBU carries a newer timestamp than the one before.
const PBU_GAP_MICROS: i64 = 16;
const EPOCH: WallClock = WallClock::from_secs(1_700_000_000);
const TARGET_PBUS_PER_SEC: f64 = 1_000_000.0;
const TARGET_BYTES_PER_BINDING: f64 = 256.0;

const LMA_MACS: [Mac; 3] = [
    Mac([0x02, 0x4c, 0, 0, 0, 0x00]),
    Mac([0x02, 0x4c, 0, 0, 0, 0x01]),
    Mac([0x02, 0x4c, 0, 0, 0, 0x02]),
];

struct MagSide {
    port: PortId,
    mac: Mac,
    addr: Ipv6Addr,
    lma: Ipv6Addr,
}

fn mags() -> [MagSide; 2] {
    let side = |n: u8| MagSide {
        port: PortId::from(n),
        mac: Mac([0x02, 0x6d, 0, 0, 0, n]),
        addr: Ipv6Addr::new(0x2001, 0xdb8, 0xff, u16::from(n), 0, 0, 0, 2),
        lma: Ipv6Addr::new(0x2001, 0xdb8, 0xff, u16::from(n), 0, 0, 0, 1),
    };
    [side(1), side(2)]
}

fn mn_id(k: usize) -> String {
    format!("vm{k}@tapmip")
}

fn node_mac(k: usize) -> Mac {
    let b = (k as u32).to_be_bytes();
    Mac([0x52, 0x54, b[0], b[1], b[2], b[3]])
}

/// Two MAGs and `n` nodes, each with a fixed /64.
fn policy_text(n: usize) -> String {
    let mut t = String::new();
    for (i, m) in mags().iter().enumerate() {
        let _ = writeln!(
            t,
            "[[mag]]\nname = \"mag{}\"\naddress = \"{}\"\n",
            i + 1,
            m.addr
        );
    }
    for k in 0..n {
        let _ = writeln!(
            t,
            "[[node]]\nmn_id = \"{}\"\nmac = \"{}\"\nhnps = [\"2001:db8:{:x}:{:x}::/64\"]\n",
            mn_id(k),
            node_mac(k),
            0x1000 + (k >> 16),
            k & 0xffff
        );
    }
    t
}

fn config(policy: Policy) -> LmaConfig {
    let addrs = [
        "2001:db8:c::1/64",
        "2001:db8:ff:1::1/64",
        "2001:db8:ff:2::1/64",
    ];
    let ports = LMA_MACS
        .iter()
        .zip(addrs)
        .map(|(mac, a)| {
            let mut p = EnginePort::new(*mac);
            p.addresses = vec![a.parse().expect("address")];
            p
        })
        .collect();
    LmaConfig::new("lma", ports, policy, EPOCH)
}

fn pbu_frame(mag: &MagSide, k: usize, hi: HandoffIndicator, at: Instant) -> Vec<u8> {
    let pbu = PbuRepr {
        sequence: 1,
        ack: true,
        home_registration: true,
        proxy: true,
        lifetime_secs: 3600,
        options: MobilityOptions {
            mn_id: Some(mn_id(k)),
            hnps: vec!["::/0".parse().expect("prefix")],
            handoff_indicator: Some(hi),
            access_technology: Some(AccessTechnologyType::Ethernet),
            mn_link_layer_id: Some(node_mac(k).as_bytes().to_vec()),
            link_local_address: Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            timestamp: Some(timestamp(EPOCH, at)),
            ..MobilityOptions::default()
        },
        ..PbuRepr::default()
    };
    let packet = mh_ipv6_packet(mag.addr, mag.lma, 64, &MhRepr::Pbu(pbu));
    ethernet_ipv6(mag.mac, LMA_MACS[mag.port], &packet)
}

/// Resident set size of this process, in bytes (VmRSS, which /proc gives in kB).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The fake clock of the PBU stream: every PBU one timestamp unit after the last.
struct Clock(i64);

impl Clock {
    fn tick(&mut self) -> Instant {
        self.0 += PBU_GAP_MICROS;
        Instant::from_micros(self.0)
    }
}

/// Frames for `count` PBUs, node `k % n`, from the MAG `mag_of(round)` where
/// round = index / n.
fn stream(
    n: usize,
    count: usize,
    clock: &mut Clock,
    hi: HandoffIndicator,
    mag_of: impl Fn(usize) -> usize,
) -> Vec<(PortId, Instant, Vec<u8>)> {
    let mags = mags();
    (0..count)
        .map(|i| {
            let mag = &mags[mag_of(i / n)];
            let at = clock.tick();
            (mag.port, at, pbu_frame(mag, i % n, hi, at))
        })
        .collect()
}

/// CPU time this process has used (utime + stime, /proc/self/stat), in
/// seconds: what a phase cost, whatever else the machine runs meanwhile.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: f64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

/// PBUs per second of wall-clock time and per second of this process's CPU.
#[derive(Debug, Clone, Copy)]
struct Rate {
    wall: f64,
    cpu: f64,
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} PBU/s of CPU ({:.0} per wall-clock second)",
            self.cpu, self.wall
        )
    }
}

/// Feeds every frame; returns the rate and the PBAs sent.
fn feed(lma: &mut Lma, frames: &[(PortId, Instant, Vec<u8>)]) -> (Rate, usize) {
    let mut tx: Vec<(PortId, Vec<u8>)> = Vec::new();
    let mut sent = 0;
    let (start, cpu_start) = (Wall::now(), cpu_secs());
    for (port, at, frame) in frames {
        lma.on_frame(*at, *port, frame, &mut tx);
        sent += tx.len();
        tx.clear();
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let cpu = (cpu_secs() - cpu_start).max(0.01);
    let n = frames.len() as f64;
    (
        Rate {
            wall: n / secs,
            cpu: n / cpu,
        },
        sent,
    )
}

/// Feeds every frame timing each one; returns the sorted per-PBU times in ns.
fn feed_timed(lma: &mut Lma, frames: &[(PortId, Instant, Vec<u8>)]) -> Vec<u64> {
    let mut tx: Vec<(PortId, Vec<u8>)> = Vec::new();
    let mut times: Vec<u64> = frames
        .iter()
        .map(|(port, at, frame)| {
            let start = Wall::now();
            lma.on_frame(*at, *port, frame, &mut tx);
            let ns = start.elapsed().as_nanos() as u64;
            tx.clear();
            ns
        })
        .collect();
    times.sort_unstable();
    times
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn run_size(n: usize) {
    let text = policy_text(n);
    let rss_start = rss_bytes();
    let parse_start = Wall::now();
    let policy = Policy::parse(&text, "generated.toml").expect("generated policy");
    let parse_secs = parse_start.elapsed().as_secs_f64();
    drop(text);
    let mut clock = Clock(0);
    let mut lma = Lma::new(config(policy), Instant::from_micros(0));
    let rss_policy = rss_bytes();

    // Registration: frames built one at a time so only the LMA's state stays.
    let mags = mags();
    let mut tx: Vec<(PortId, Vec<u8>)> = Vec::new();
    let reg_start = Wall::now();
    for k in 0..n {
        let at = clock.tick();
        let frame = pbu_frame(&mags[0], k, HandoffIndicator::NewInterface, at);
        lma.on_frame(at, mags[0].port, &frame, &mut tx);
        tx.clear();
    }
    let reg_secs = reg_start.elapsed().as_secs_f64().max(1e-9);
    let rss_bound = rss_bytes();
    assert_eq!(lma.bindings().len(), n, "every registration accepted");
    let per_binding = rss_bound.saturating_sub(rss_policy) as f64 / n as f64;
    let policy_per_node = rss_policy.saturating_sub(rss_start) as f64 / n as f64;

    let count = MIN_PBUS.max(n);
    let refresh = stream(n, count, &mut clock, HandoffIndicator::NotChanged, |_| 0);
    let (refresh_rate, refresh_pbas) = feed(&mut lma, &refresh);
    drop(refresh);
    // Round 0 moves every node to MAG2, round 1 back to MAG1, and so on.
    let handoffs = stream(n, count, &mut clock, HandoffIndicator::InterMag, |r| {
        (r + 1) % 2
    });
    let (handoff_rate, handoff_pbas) = feed(&mut lma, &handoffs);
    drop(handoffs);
    let start_round = (count / n) % 2;
    let timed = stream(n, count, &mut clock, HandoffIndicator::InterMag, |r| {
        (r + start_round + 1) % 2
    });
    let times = feed_timed(&mut lma, &timed);
    let counters = lma.counters();

    println!("--- {n} bindings ---");
    println!(
        "  policy: {n} nodes parsed in {parse_secs:.2} s, {policy_per_node:.0} bytes RSS per node"
    );
    println!(
        "  registration: {:.0} PBU/s ({n} new bindings)",
        n as f64 / reg_secs
    );
    let target = |ok: bool| {
        if TARGET_SIZES.contains(&n) {
            verdict(ok)
        } else {
            "n/a at this size"
        }
    };
    println!(
        "  refresh:      {refresh_rate} ({count} PBUs, {refresh_pbas} PBAs) [target >= {TARGET_PBUS_PER_SEC:.0} per CPU second at 100000 and 1000000: {}]",
        target(refresh_rate.cpu >= TARGET_PBUS_PER_SEC)
    );
    println!(
        "  handoff:      {handoff_rate} ({count} PBUs, {handoff_pbas} PBAs, each moves the node's route to the other MAG's tunnel) [target >= {TARGET_PBUS_PER_SEC:.0} per CPU second at 100000 and 1000000: {}]",
        target(handoff_rate.cpu >= TARGET_PBUS_PER_SEC)
    );
    println!(
        "  handoff latency per PBU: median {} ns, p99 {} ns, max {} ns ({} PBUs) [target: flat across sizes]",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0),
        times.len()
    );
    println!("median-ns {}", percentile(&times, 0.5));
    println!(
        "  memory: {per_binding:.0} bytes RSS per binding (cache, FIB route, timer, tunnel use), size_of::<Binding>() = {} [target <= {TARGET_BYTES_PER_BINDING:.0}: {}]",
        std::mem::size_of::<Binding>(),
        if TARGET_SIZES.contains(&n) {
            verdict(per_binding <= TARGET_BYTES_PER_BINDING)
        } else {
            "n/a at this size"
        }
    );
    println!(
        "  PBAs accepted in total: {}",
        counters.get("pba.sent.accepted")
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(n) = args
        .iter()
        .position(|a| a == "--size")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
    {
        run_size(n);
        return;
    }
    println!(
        "lma scale: LMA core in memory (no I/O), one thread, debug={}, {} cores; PBUs built in advance (timestamps 1/65536 s apart, HI=5 refresh, HI=3 handoff with the same MN link-layer id), PBAs collected and discarded; 2 MAGs; each size in a fresh process",
        cfg!(debug_assertions),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let exe = std::env::current_exe().expect("own path");
    let mut medians = Vec::new();
    for n in SIZES {
        let out = Command::new(&exe)
            .args(["--size", &n.to_string()])
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run one size");
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines() {
            match line.strip_prefix("median-ns ") {
                Some(ns) => medians.push((n, ns.parse::<f64>().unwrap_or(0.0))),
                None => println!("{line}"),
            }
        }
        if !out.status.success() {
            eprintln!("lma scale: size {n} failed: {}", out.status);
            std::process::exit(1);
        }
    }
    let at = |size| medians.iter().find(|(n, _)| *n == size).map(|(_, m)| *m);
    if let (Some(small), Some(large)) = (at(1_000), at(SIZES[SIZES.len() - 1])) {
        let growth = large / small.max(1.0);
        println!(
            "--- handoff latency from 1000 to {} bindings: median {small:.0} -> {large:.0} ns, x{growth:.2} [target: flat, <= x{TARGET_FLAT}: {}]",
            SIZES[SIZES.len() - 1],
            verdict(growth <= TARGET_FLAT)
        );
    }
}
