//! Benchmark `bench-forward`: what the userspace routers forward between kernel
//! hosts, against Linux forwarding over veth measured in the same run.
//!
//! ```text
//!   plain:   h1 -- TAP -- tapmip-router -- TAP -- h2
//!   kernel:  k1 -- veth -- kr (Linux IPv6 forwarding) -- veth -- k2
//!   PMIPv6:  client -- tapbridge -- LMA == tunnel, tapbridge == MAG -- tapbridge -- vm1
//! ```
//!
//! Rounds alternate the kernel and the plain router (UDP with 64-byte datagrams,
//! then one TCP stream) so that both see the same machine, which other work
//! shares; medians are reported. The router's CPU time and system calls are
//! read from /proc around its runs, one extra UDP run is traced with strace,
//! and the PMIPv6 path is measured in rounds paired with the kernel again;
//! last, the lab's live migration at LAN distance ([`migration`]). A
//! benchmark, not a test: it asserts nothing about speed.

mod measure;
pub mod migration;
mod report;

use std::path::Path;
use std::time::Duration;

pub use measure::{Losses, Tcp, Udp, Usage, rss_kb};
pub use report::report;

use crate::domain::{Binaries, Domain, Topology, Tuning};
use crate::{LabError, Sandbox, plain_router};

/// Seconds per iperf3 run.
pub const SECONDS: u32 = 5;
/// Rounds of kernel and tapmip runs.
pub const ROUNDS: usize = 3;
/// Length of the extra UDP run traced with strace (which slows the router).
const STRACE_SECONDS: u32 = 2;

/// The runs of one path.
#[derive(Debug, Clone, Default)]
pub struct Runs {
    pub udp: Vec<Udp>,
    pub tcp: Vec<Tcp>,
    /// Where its UDP runs lost datagrams.
    pub losses: Losses,
}

impl Runs {
    /// A UDP run from `from` to `to`, with where it lost datagrams.
    fn udp(
        &mut self,
        lab: &mut Sandbox,
        (from, to): (&str, &str),
        dst: &str,
    ) -> Result<(), LabError> {
        let before = measure::losses(lab, from, to)?;
        self.udp.push(measure::udp(lab, from, to, dst, SECONDS)?);
        self.losses += measure::losses(lab, from, to)? - before;
        Ok(())
    }
}

pub struct ForwardFigures {
    pub kernel: Runs,
    pub tapmip: Runs,
    /// The plain router's usage over its UDP runs and over its TCP runs.
    pub udp_usage: Usage,
    pub tcp_usage: Usage,
    pub strace: Option<(f64, String)>,
    /// What the router logged about its ports when it stopped (offloads,
    /// superframes in and out).
    pub router_ports: Vec<String>,
    pub idle_rss_kb: u64,
    /// TCP through the PMIPv6 path, each run paired with a kernel run; or why
    /// it was not measured.
    pub pmip: Result<(Vec<Tcp>, Vec<Tcp>), String>,
    /// The lab's migrations at 0.02 ms RTT; or why they were not measured.
    pub migrations: Result<Vec<migration::Migration>, String>,
    pub load_before: String,
    pub load_after: String,
}

/// Measures the plain router binary at `router`, the kernel, and the PMIPv6
/// path with `lab_binaries` when given.
pub fn run(router: &Path, lab_binaries: Option<Binaries>) -> Result<ForwardFigures, LabError> {
    crate::ensure_tun_access().map_err(LabError::Check)?;
    let load_before = measure::load_average();
    let mut lab = Sandbox::new("bench")?;
    let (_, a2) = plain_router::start(&mut lab, router)?;
    let pid = lab.pid("router")?;
    let idle_rss_kb = rss_kb(pid)?;
    let dst = a2.to_string();
    let kdst = kernel_topology(&mut lab)?;

    let mut kernel = Runs::default();
    let mut tapmip = Runs::default();
    let (mut udp_usage, mut tcp_usage) = (Usage::default(), Usage::default());
    for _ in 0..ROUNDS {
        kernel.udp(&mut lab, ("k1", "k2"), &kdst)?;
        let before = measure::usage(pid)?;
        tapmip.udp(&mut lab, ("h1", "h2"), &dst)?;
        udp_usage += measure::usage(pid)? - before;
        kernel
            .tcp
            .push(measure::tcp(&mut lab, "k1", "k2", &kdst, SECONDS)?);
        let before = measure::usage(pid)?;
        tapmip
            .tcp
            .push(measure::tcp(&mut lab, "h1", "h2", &dst, SECONDS)?);
        tcp_usage += measure::usage(pid)? - before;
    }
    let strace = if crate::sandbox::run(&["which", "strace"]).is_ok() {
        Some(measure::strace_run(&mut lab, pid, &dst, STRACE_SECONDS)?)
    } else {
        None
    };
    let (_, log) = lab.stop("router", Duration::from_secs(5))?;
    let router_ports = log
        .lines()
        .filter(|l| l.contains(": port ") && (l.contains("offloads") || l.contains(" rx ")))
        .map(str::to_string)
        .collect();
    let missing =
        "not measured: the lma, mag, tapbridge and tapmip-probe binaries are not next to this one";
    let pmip = match lab_binaries.clone() {
        Some(binaries) => pmip_rounds(&mut lab, &kdst, binaries).map_err(|e| e.to_string()),
        None => Err(missing.into()),
    };
    drop(lab);
    let migrations = match lab_binaries {
        Some(binaries) => migration::run(binaries).map_err(|e| e.to_string()),
        None => Err(missing.into()),
    };
    Ok(ForwardFigures {
        kernel,
        tapmip,
        udp_usage,
        tcp_usage,
        strace,
        router_ports,
        idle_rss_kb,
        pmip,
        migrations,
        load_before,
        load_after: measure::load_average(),
    })
}

/// The lab's domain with one MAG, one VM and one correspondent and no WAN
/// delay; TCP from the correspondent to the VM, each run after a kernel run.
fn pmip_rounds(
    kernel_lab: &mut Sandbox,
    kdst: &str,
    binaries: Binaries,
) -> Result<(Vec<Tcp>, Vec<Tcp>), LabError> {
    let topology = Topology::parse(
        r#"
        wan_rtt_ms = 0.0
        [[mag]]
        name = "mag1"
        [[vm]]
        name = "vm1"
        mag = "mag1"
        [[correspondent]]
        name = "client"
        "#,
    )
    .map_err(|e| LabError::Check(e.to_string()))?;
    let mut domain = Domain::up(topology, binaries, &Tuning::default())?;
    let vm = domain
        .address("vm1")
        .ok_or_else(|| LabError::Check("vm1 has no address".into()))?
        .to_string();
    crate::host::ping(&domain.lab, "client", &vm)?;
    let (mut pmip, mut kernel) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        kernel.push(measure::tcp(kernel_lab, "k1", "k2", kdst, SECONDS)?);
        pmip.push(measure::tcp(
            &mut domain.lab,
            "client",
            "vm1",
            &vm,
            SECONDS,
        )?);
    }
    Ok((pmip, kernel))
}

/// k1 -- veth -- kr (Linux forwarding) -- veth -- k2, in namespaces k1, kr, k2.
fn kernel_topology(lab: &mut Sandbox) -> Result<String, LabError> {
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
