//! One measurement each: an iperf3 run between two namespaces, a process's CPU
//! time and system calls from /proc, a system-call breakdown from strace.

use std::time::Duration;

use serde_json::Value;

use crate::{LabError, Sandbox};

/// UDP payload size: 64 bytes of data make a 126-byte Ethernet frame over IPv6.
pub const UDP_PAYLOAD: u32 = 64;

fn iperf(lab: &mut Sandbox, from: &str, to: &str, args: &[&str]) -> Result<Value, LabError> {
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

/// What one iperf3 UDP run of small datagrams gave.
#[derive(Debug, Clone, Copy)]
pub struct Udp {
    pub sent: f64,
    pub lost: f64,
    pub secs: f64,
}

impl Udp {
    pub fn received(&self) -> f64 {
        (self.sent - self.lost).max(0.0)
    }
    pub fn received_pps(&self) -> f64 {
        self.received() / self.secs
    }
    pub fn sent_pps(&self) -> f64 {
        self.sent / self.secs
    }
    pub fn loss_percent(&self) -> f64 {
        if self.sent > 0.0 {
            100.0 * self.lost / self.sent
        } else {
            0.0
        }
    }
}

/// `iperf3 -u -b 0 -l 64` from `from` to `dst` in `to` for `secs` seconds.
pub fn udp(lab: &mut Sandbox, from: &str, to: &str, dst: &str, secs: u32) -> Result<Udp, LabError> {
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

/// What one iperf3 TCP run gave.
#[derive(Debug, Clone, Copy)]
pub struct Tcp {
    pub bits_per_second: f64,
    pub bytes: f64,
}

impl Tcp {
    pub fn gbps(&self) -> f64 {
        self.bits_per_second / 1e9
    }
}

/// One TCP stream from `from` to `dst` in `to` for `secs` seconds.
pub fn tcp(lab: &mut Sandbox, from: &str, to: &str, dst: &str, secs: u32) -> Result<Tcp, LabError> {
    let secs = secs.to_string();
    let v = iperf(lab, from, to, &["-c", dst, "-t", &secs])?;
    Ok(Tcp {
        bits_per_second: number(&v, &["end", "sum_received", "bits_per_second"])?,
        bytes: number(&v, &["end", "sum_received", "bytes"])?,
    })
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

/// CPU time and read/write system calls a process used so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub cpu_ns: f64,
    pub syscalls: f64,
}

impl std::ops::Sub for Usage {
    type Output = Usage;
    fn sub(self, rhs: Usage) -> Usage {
        Usage {
            cpu_ns: self.cpu_ns - rhs.cpu_ns,
            syscalls: self.syscalls - rhs.syscalls,
        }
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, rhs: Usage) {
        self.cpu_ns += rhs.cpu_ns;
        self.syscalls += rhs.syscalls;
    }
}

/// User + system CPU time (/proc/PID/stat fields 14, 15) and read- and
/// write-type system calls (/proc/PID/io syscr + syscw) of `pid`.
pub fn usage(pid: u32) -> Result<Usage, LabError> {
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
    let io = proc_file(pid, "io")?;
    let syscalls = proc_field(&io, "syscr").unwrap_or(0) + proc_field(&io, "syscw").unwrap_or(0);
    Ok(Usage {
        cpu_ns: ticks / hz * 1e9,
        syscalls: syscalls as f64,
    })
}

/// A UDP run from h1 to h2 with `strace -c -f` attached to `pid`: every call per
/// forwarded datagram, and the three most frequent calls.
pub fn strace_run(
    lab: &mut Sandbox,
    pid: u32,
    dst: &str,
    secs: u32,
) -> Result<(f64, String), LabError> {
    let out = lab.workdir().join("strace.txt");
    let out_s = out.to_string_lossy().to_string();
    let pid_s = pid.to_string();
    lab.spawn(
        None,
        "strace",
        &["strace", "-c", "-f", "-o", &out_s, "-p", &pid_s],
    )?;
    std::thread::sleep(Duration::from_millis(500));
    let u = udp(lab, "h1", "h2", dst, secs)?;
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
    Ok((total as f64 / u.received().max(1.0), top.join(", ")))
}

/// The 1-, 5- and 15-minute load averages: how busy the machine was otherwise.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// Where UDP datagrams were lost so far: dropped by the kernel at the sender's
/// `eth0` for want of room in its queue (a TAP's: the router did not read in
/// time), and at the receiver for want of room in the socket (Udp6RcvbufErrors).
#[derive(Debug, Clone, Copy, Default)]
pub struct Losses {
    pub sender_queue: f64,
    pub receiver_socket: f64,
}

impl std::ops::Sub for Losses {
    type Output = Losses;
    fn sub(self, rhs: Losses) -> Losses {
        Losses {
            sender_queue: self.sender_queue - rhs.sender_queue,
            receiver_socket: self.receiver_socket - rhs.receiver_socket,
        }
    }
}

impl std::ops::AddAssign for Losses {
    fn add_assign(&mut self, rhs: Losses) {
        self.sender_queue += rhs.sender_queue;
        self.receiver_socket += rhs.receiver_socket;
    }
}

pub fn losses(lab: &Sandbox, from: &str, to: &str) -> Result<Losses, LabError> {
    let dropped = lab.exec(from, &["cat", "/sys/class/net/eth0/statistics/tx_dropped"])?;
    let snmp6 = lab.exec(to, &["cat", "/proc/net/snmp6"])?;
    let rcvbuf = snmp6
        .lines()
        .find_map(|l| l.strip_prefix("Udp6RcvbufErrors"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    Ok(Losses {
        sender_queue: dropped.trim().parse().unwrap_or(0.0),
        receiver_socket: rcvbuf,
    })
}
