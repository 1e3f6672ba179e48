//! Benchmark `bench-forward`: what the plain userspace router forwards between two
//! kernel hosts (iperf3 UDP packets per second with small datagrams, and TCP
//! throughput), printed with the conditions. A benchmark, not a test: it asserts
//! nothing about speed.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::{Lab, LabError, plain_router};

/// iperf3 run length.
const SECONDS: u32 = 5;
/// UDP payload size: 64 bytes of data make a 130-byte Ethernet frame.
const UDP_PAYLOAD: u32 = 64;

pub struct ForwardFigures {
    pub udp_sent_pps: f64,
    pub udp_received_pps: f64,
    pub udp_loss_percent: f64,
    pub tcp_gbps: f64,
}

fn iperf(lab: &mut Lab, to: &str, args: &[&str]) -> Result<Value, LabError> {
    lab.spawn(Some(to), "iperf3-server", &["iperf3", "-s", "-1"])?;
    std::thread::sleep(Duration::from_millis(300));
    let mut argv = vec!["iperf3", "-J"];
    argv.extend_from_slice(args);
    let out = lab.exec("h1", &argv);
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

/// Measures forwarding through the router binary at `router`.
pub fn run(router: &Path) -> Result<ForwardFigures, LabError> {
    crate::ensure_tun_access().map_err(LabError::Check)?;
    let mut lab = Lab::new("bench")?;
    let (_, a2) = plain_router::start(&mut lab, router)?;
    let dst = a2.to_string();
    let secs = SECONDS.to_string();
    let len = UDP_PAYLOAD.to_string();
    let udp = iperf(
        &mut lab,
        "h2",
        &["-c", &dst, "-u", "-b", "0", "-l", &len, "-t", &secs],
    )?;
    let sent = number(&udp, &["end", "sum", "packets"])?;
    let lost = number(&udp, &["end", "sum", "lost_packets"])?;
    let secs_f = number(&udp, &["end", "sum", "seconds"])?.max(0.001);
    let tcp = iperf(&mut lab, "h2", &["-c", &dst, "-t", &secs])?;
    let bits = number(&tcp, &["end", "sum_received", "bits_per_second"])?;
    let _ = lab.stop("router", Duration::from_secs(5));
    Ok(ForwardFigures {
        udp_sent_pps: sent / secs_f,
        udp_received_pps: (sent - lost) / secs_f,
        udp_loss_percent: if sent > 0.0 { 100.0 * lost / sent } else { 0.0 },
        tcp_gbps: bits / 1e9,
    })
}

/// Prints the figures with the conditions they were measured under.
pub fn report(f: &ForwardFigures) {
    println!(
        "bench-forward: plain tapmip-router between two kernel hosts, {} cores, debug={}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cfg!(debug_assertions)
    );
    println!(
        "bench-forward: UDP {UDP_PAYLOAD}-byte datagrams, {SECONDS} s, iperf3 -b 0: sent {:.0} pps, forwarded and received {:.0} pps ({:.1} % lost)",
        f.udp_sent_pps, f.udp_received_pps, f.udp_loss_percent
    );
    println!(
        "bench-forward: TCP (MTU 1500), {SECONDS} s: {:.2} Gbit/s",
        f.tcp_gbps
    );
}
