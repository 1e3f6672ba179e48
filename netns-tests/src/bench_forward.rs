//! Benchmark `bench-forward`: what the plain userspace router forwards between two
//! kernel hosts (iperf3 UDP packets per second with small datagrams, and TCP
//! throughput), the same traffic through a kernel-routed namespace for
//! comparison, and the router's cost per packet (CPU time and system calls) and
//! idle memory, printed with the conditions. A benchmark, not a test: it asserts
//! nothing about speed.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::{Lab, LabError, plain_router};

/// iperf3 run length.
const SECONDS: u32 = 5;
/// Length of the extra UDP run traced with strace (which slows the router).
const STRACE_SECONDS: u32 = 2;
/// UDP payload size: 64 bytes of data make a 130-byte Ethernet frame.
const UDP_PAYLOAD: u32 = 64;
/// Idle resident memory a router should stay under.
const TARGET_IDLE_RSS_KB: u64 = 10 * 1024;

/// What one iperf3 pair measured across one topology.
pub struct Traffic {
    pub udp_sent_pps: f64,
    pub udp_received_pps: f64,
    pub udp_loss_percent: f64,
    /// UDP datagrams that arrived (each forwarded once).
    pub udp_received: f64,
    pub tcp_gbps: f64,
}

pub struct ForwardFigures {
    pub tapmip: Traffic,
    pub kernel: Traffic,
    pub idle_rss_kb: u64,
    /// Router CPU time (user + system) over the UDP run, per forwarded datagram.
    pub cpu_ns_per_packet: f64,
    /// Read- and write-type system calls (/proc/PID/io) per forwarded datagram.
    pub io_syscalls_per_packet: f64,
    /// Every system call strace counted per forwarded datagram, and the busiest ones.
    pub strace: Option<(f64, String)>,
}

fn iperf(lab: &mut Lab, from: &str, to: &str, args: &[&str]) -> Result<Value, LabError> {
    lab.spawn(Some(to), "iperf3-server", &["iperf3", "-s", "-1"])?;
    std::thread::sleep(Duration::from_millis(300));
    let mut argv = vec!["iperf3", "-J"];
    argv.extend_from_slice(args);
    let out = lab.exec(from, &argv);
    let _ = lab.stop("iperf3-server", Duration::from_secs(2));
    let out = out?;
    serde_json::from_str(&out)
        .map_err(|e| LabError::Check(format!("iperf3 printed no JSON ({e}): {out}")))
}

fn number(v: &Value, path: &[&str]) -> Result<f64, LabError> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_f64)
        .ok_or_else(|| LabError::Check(format!("iperf3 JSON has no {}", path.join("."))))
}

/// (sent, lost, seconds) of a UDP run of `secs` seconds.
fn udp(lab: &mut Lab, from: &str, to: &str, dst: &str, secs: u32) -> Result<Udp, LabError> {
    let secs = secs.to_string();
    let len = UDP_PAYLOAD.to_string();
    let v = iperf(
        lab,
        from,
        to,
        &["-c", dst, "-u", "-b", "0", "-l", &len, "-t", &secs],
    )?;
    Ok(Udp {
        sent: number(&v, &["end", "sum", "packets"])?,
        lost: number(&v, &["end", "sum", "lost_packets"])?,
        secs: number(&v, &["end", "sum", "seconds"])?.max(0.001),
    })
}

struct Udp {
    sent: f64,
    lost: f64,
    secs: f64,
}

fn traffic(lab: &mut Lab, from: &str, to: &str, dst: &str) -> Result<Traffic, LabError> {
    let u = udp(lab, from, to, dst, SECONDS)?;
    let secs = SECONDS.to_string();
    let tcp = iperf(lab, from, to, &["-c", dst, "-t", &secs])?;
    let bits = number(&tcp, &["end", "sum_received", "bits_per_second"])?;
    Ok(traffic_of(&u, bits))
}

fn traffic_of(u: &Udp, tcp_bits: f64) -> Traffic {
    Traffic {
        udp_sent_pps: u.sent / u.secs,
        udp_received_pps: (u.sent - u.lost) / u.secs,
        udp_loss_percent: if u.sent > 0.0 {
            100.0 * u.lost / u.sent
        } else {
            0.0
        },
        udp_received: u.sent - u.lost,
        tcp_gbps: tcp_bits / 1e9,
    }
}

fn proc_file(pid: u32, file: &str) -> Result<String, LabError> {
    let path = format!("/proc/{pid}/{file}");
    std::fs::read_to_string(&path).map_err(|error| LabError::Io { what: path, error })
}

/// The value of `key:` in a /proc file of `key: value` lines.
fn proc_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// VmRSS of `pid` in kB.
pub fn rss_kb(pid: u32) -> Result<u64, LabError> {
    proc_field(&proc_file(pid, "status")?, "VmRSS")
        .ok_or_else(|| LabError::Check(format!("/proc/{pid}/status has no VmRSS")))
}

/// User + system CPU time of `pid`, in nanoseconds (/proc/PID/stat fields 14, 15).
fn cpu_ns(pid: u32) -> Result<f64, LabError> {
    let stat = proc_file(pid, "stat")?;
    // The command name may hold spaces: fields are counted after its ')'.
    let fields: Vec<f64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0.0) + fields.get(12).copied().unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok(ticks / hz * 1e9)
}

/// Read- and write-type system calls of `pid` so far.
fn io_syscalls(pid: u32) -> Result<u64, LabError> {
    let io = proc_file(pid, "io")?;
    Ok(proc_field(&io, "syscr").unwrap_or(0) + proc_field(&io, "syscw").unwrap_or(0))
}

/// A UDP run with `strace -c` attached to the router: every call per forwarded
/// datagram, and the three most frequent calls.
fn strace_run(lab: &mut Lab, pid: u32, dst: &str) -> Result<(f64, String), LabError> {
    let out = lab.workdir().join("strace.txt");
    let out_s = out.to_string_lossy().to_string();
    let pid_s = pid.to_string();
    lab.spawn(
        None,
        "strace",
        &["strace", "-c", "-f", "-o", &out_s, "-p", &pid_s],
    )?;
    std::thread::sleep(Duration::from_millis(500));
    let u = udp(lab, "h1", "h2", dst, STRACE_SECONDS)?;
    let _ = lab.stop("strace", Duration::from_secs(5));
    let text = std::fs::read_to_string(&out).map_err(|error| LabError::Io {
        what: out_s.clone(),
        error,
    })?;
    // Rows: % time, seconds, usecs/call, calls, [errors,] syscall.
    let mut rows: Vec<(u64, String)> = text
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let name = cols.last()?.to_string();
            let calls = cols.get(3)?.parse().ok()?;
            Some((calls, name))
        })
        .collect();
    let total = rows
        .iter()
        .find(|(_, n)| n == "total")
        .map_or(0, |(c, _)| *c);
    rows.retain(|(_, n)| n != "total");
    rows.sort_unstable_by_key(|r| std::cmp::Reverse(r.0));
    let top: Vec<String> = rows
        .iter()
        .take(3)
        .map(|(c, n)| format!("{n} {c}"))
        .collect();
    let forwarded = (u.sent - u.lost).max(1.0);
    Ok((total as f64 / forwarded, top.join(", ")))
}

/// h1 -- veth -- kr (Linux forwarding) -- veth -- h2, in namespaces k1, kr, k2.
fn kernel_topology(lab: &mut Lab) -> Result<String, LabError> {
    for short in ["k1", "kr", "k2"] {
        lab.add_ns(short)?;
        lab.exec(short, &["ip", "link", "set", "lo", "up"])?;
    }
    let kr = lab.ns("kr");
    for (host, link, subnet) in [("k1", "eth1", "11"), ("k2", "eth2", "12")] {
        lab.exec(
            host,
            &[
                "ip", "link", "add", "eth0", "type", "veth", "peer", "name", link, "netns", &kr,
            ],
        )?;
        let host_addr = format!("2001:db8:{subnet}::2/64");
        let router_addr = format!("2001:db8:{subnet}::1/64");
        let gateway = format!("2001:db8:{subnet}::1");
        lab.exec(
            host,
            &["ip", "addr", "add", &host_addr, "dev", "eth0", "nodad"],
        )?;
        lab.exec(host, &["ip", "link", "set", "eth0", "up"])?;
        lab.exec(
            host,
            &["ip", "-6", "route", "add", "default", "via", &gateway],
        )?;
        lab.exec(
            "kr",
            &["ip", "addr", "add", &router_addr, "dev", link, "nodad"],
        )?;
        lab.exec("kr", &["ip", "link", "set", link, "up"])?;
    }
    lab.exec(
        "kr",
        &["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"],
    )?;
    let dst = "2001:db8:12::2".to_string();
    crate::host::ping(lab, "k1", &dst)?;
    Ok(dst)
}

/// Measures forwarding through the router binary at `router`, then through the
/// kernel.
pub fn run(router: &Path) -> Result<ForwardFigures, LabError> {
    crate::ensure_tun_access().map_err(LabError::Check)?;
    let mut lab = Lab::new("bench")?;
    let (_, a2) = plain_router::start(&mut lab, router)?;
    let pid = lab.pid("router")?;
    let idle_rss_kb = rss_kb(pid)?;
    let dst = a2.to_string();

    let (cpu0, sys0) = (cpu_ns(pid)?, io_syscalls(pid)?);
    let u = udp(&mut lab, "h1", "h2", &dst, SECONDS)?;
    let (cpu1, sys1) = (cpu_ns(pid)?, io_syscalls(pid)?);
    let forwarded = (u.sent - u.lost).max(1.0);
    let secs = SECONDS.to_string();
    let tcp = iperf(&mut lab, "h1", "h2", &["-c", &dst, "-t", &secs])?;
    let tapmip = traffic_of(
        &u,
        number(&tcp, &["end", "sum_received", "bits_per_second"])?,
    );
    let strace = if crate::lab::run(&["which", "strace"]).is_ok() {
        Some(strace_run(&mut lab, pid, &dst)?)
    } else {
        None
    };
    let _ = lab.stop("router", Duration::from_secs(5));

    let kdst = kernel_topology(&mut lab)?;
    let kernel = traffic(&mut lab, "k1", "k2", &kdst)?;
    Ok(ForwardFigures {
        tapmip,
        kernel,
        idle_rss_kb,
        cpu_ns_per_packet: (cpu1 - cpu0) / forwarded,
        io_syscalls_per_packet: (sys1 - sys0) as f64 / forwarded,
        strace,
    })
}

fn print_traffic(what: &str, t: &Traffic) {
    println!(
        "bench-forward: {what}: UDP {UDP_PAYLOAD}-byte datagrams, {SECONDS} s, iperf3 -b 0: sent {:.0} pps, forwarded and received {:.0} pps ({:.1} % lost, {:.0} datagrams)",
        t.udp_sent_pps, t.udp_received_pps, t.udp_loss_percent, t.udp_received
    );
    println!(
        "bench-forward: {what}: TCP (MTU 1500), {SECONDS} s: {:.2} Gbit/s",
        t.tcp_gbps
    );
}

/// Prints the figures with the conditions they were measured under.
pub fn report(f: &ForwardFigures) {
    println!(
        "bench-forward: h1 -- tapmip-router (TAP fds, one thread) -- h2 vs h1 -- veth -- Linux IPv6 forwarding -- veth -- h2; {} cores, debug={}; client and server on the same machine as the router",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cfg!(debug_assertions)
    );
    print_traffic("tapmip-router", &f.tapmip);
    print_traffic("kernel router", &f.kernel);
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    println!(
        "bench-forward: ratio tapmip/kernel: UDP pps {:.2}, TCP Gbit/s {:.2} (veth keeps GSO/TSO offloads; the TAP path has none)",
        ratio(f.tapmip.udp_received_pps, f.kernel.udp_received_pps),
        ratio(f.tapmip.tcp_gbps, f.kernel.tcp_gbps)
    );
    println!(
        "bench-forward: tapmip-router cost per forwarded UDP datagram: {:.0} ns CPU (utime+stime over the UDP run), {:.2} read/write system calls (/proc/PID/io syscr+syscw)",
        f.cpu_ns_per_packet, f.io_syscalls_per_packet
    );
    match &f.strace {
        Some((per_packet, top)) => println!(
            "bench-forward: tapmip-router under strace -c -f, {STRACE_SECONDS} s UDP run: {per_packet:.2} system calls per forwarded datagram (most: {top})"
        ),
        None => println!("bench-forward: strace not installed: no per-call breakdown"),
    }
    println!(
        "bench-forward: idle router RSS (tapmip-router, VmRSS after start, before traffic): {} kB [target < {} kB: {}]",
        f.idle_rss_kb,
        TARGET_IDLE_RSS_KB,
        if f.idle_rss_kb < TARGET_IDLE_RSS_KB {
            "met"
        } else {
            "MISSED"
        }
    );
}
