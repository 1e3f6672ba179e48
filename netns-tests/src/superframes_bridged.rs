//! Scenario `superframes-bridged`: superframes across tapbridge, into a
//! router's TAP through a packet socket and back, with the segment captured.
//!
//! ```text
//!   h1 (kernel) -- TAP (tapbridge's) -- tapbridge -- packet socket on p0 -- tapmip-router -- TAP -- h2
//!                                          `-- capture of the segment (pcap-file, writer thread)
//! ```
//!
//! h1's TCP superframes cross tapbridge whole (the router counts superframes
//! read from p0), 16 MB of TCP and 2 000 UDP datagrams arrive intact, neither
//! kernel counts a checksum error, and tshark finds every checksum of the
//! capture right: tapbridge writes superframes and partial checksums as the
//! wire would carry them.

use std::path::Path;
use std::time::Duration;

use crate::superframes::{TRANSFER_BYTES, checksum_errors, port_counters, udp_bursts};
use crate::{LabError, Sandbox, bulk, host};

const SLAAC_TIMEOUT: Duration = Duration::from_secs(20);

fn step(msg: &str) {
    println!("superframes-bridged: {msg}");
}

/// Runs the scenario with the router at `router` and tapbridge next to it.
pub fn run(router: &Path) -> Result<(), LabError> {
    crate::ensure_tun_access().map_err(LabError::Check)?;
    let tapbridge = router.with_file_name("tapbridge");
    let mut lab = Sandbox::new("sfb")?;
    let result = scenario(&mut lab, router, &tapbridge);
    if let Err(e) = result {
        return Err(LabError::Check(format!(
            "{e}\n--- router log ---\n{}\n--- tapbridge log ---\n{}",
            lab.log_of("router").trim_end(),
            lab.log_of("bridge").trim_end()
        )));
    }
    Ok(())
}

fn path(p: &Path) -> Result<&str, LabError> {
    p.to_str()
        .ok_or_else(|| LabError::Check(format!("{} is not UTF-8", p.display())))
}

fn scenario(lab: &mut Sandbox, router: &Path, tapbridge: &Path) -> Result<(), LabError> {
    for short in ["h1", "h2", "r"] {
        lab.add_ns(short)?;
    }
    for short in ["h1", "h2"] {
        host::configure(lab, short)?;
    }
    let nets = ["2001:db8:1::/64", "2001:db8:2::/64"];
    let h2_port = format!("{}:eth0,prefix={}", lab.ns_path("h2").display(), nets[1]);
    let p0 = format!("p0,prefix={}", nets[0]);
    let argv = [
        path(router)?,
        "--name",
        "r1",
        "--ra-interval-ms",
        "1000",
        "--port",
        &p0,
        "--port",
        &h2_port,
    ];
    lab.spawn(Some("r"), "router", &argv)?;
    host::wait_for_link(lab, "r", "p0", Duration::from_secs(5))?;
    let pcap = lab.workdir().join("s1.pcap");
    let segment = format!(
        "s1=tap:{}:eth0,attach:{}:p0",
        lab.ns_path("h1").display(),
        lab.ns_path("r").display()
    );
    let capture = format!("s1={}", path(&pcap)?);
    let sock = lab.workdir().join("bridge.sock");
    let argv = [
        path(tapbridge)?,
        "--ctl",
        path(&sock)?,
        "--segment",
        &segment,
        "--capture",
        &capture,
    ];
    lab.spawn(None, "bridge", &argv)?;
    step("h1 -- tapbridge (TAP eth0, packet socket on p0, capture of s1) -- router -- h2");
    let mut addrs = Vec::new();
    for (short, prefix) in [("h1", nets[0]), ("h2", nets[1])] {
        host::wait_for_link(lab, short, "eth0", Duration::from_secs(5))?;
        lab.exec(
            short,
            &["sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_ra=1"],
        )?;
        let prefix = prefix
            .parse()
            .map_err(|_| LabError::Check("bad built-in prefix".into()))?;
        let addr = host::wait_for_slaac(lab, short, "eth0", prefix, SLAAC_TIMEOUT)?
            .ok_or_else(|| LabError::Check(format!("{short} got no address in {prefix}")))?;
        addrs.push(addr);
    }
    bulk::transfer(lab, "h1", "h2", addrs[1], TRANSFER_BYTES)?;
    step(&format!(
        "{TRANSFER_BYTES} bytes of TCP h1 -> h2 arrived intact"
    ));
    udp_bursts(lab, addrs[1])?;
    step("2000 UDP datagrams h1 -> h2 arrived intact");
    crate::host::ping(lab, "h2", &addrs[0].to_string())?;
    for short in ["h1", "h2"] {
        let errors = checksum_errors(lab, short)?;
        if errors != 0 {
            return Err(LabError::Check(format!(
                "{short}'s kernel counted {errors} TCP/UDP checksum errors"
            )));
        }
    }
    step("neither kernel counted a checksum error");
    let (status, _) = lab.stop("bridge", Duration::from_secs(5))?;
    if !status.success() {
        return Err(LabError::Check(format!("tapbridge exited with {status}")));
    }
    check_capture(&pcap)?;
    let (_, log) = lab.stop("router", Duration::from_secs(5))?;
    let [rx_super, rx_bad, _, _] = port_counters(&log, 0)
        .ok_or_else(|| LabError::Check("the router logged no counters for p0".into()))?;
    let tso = log.contains("TSO6");
    if rx_bad != 0 || (tso && rx_super == 0) {
        return Err(LabError::Check(format!(
            "router p0: {rx_super} superframes read, {rx_bad} with lying headers: superframes should cross tapbridge whole"
        )));
    }
    step(&format!(
        "the router read {rx_super} superframes from p0, whole through tapbridge{}",
        if tso { "" } else { " (no TSO here)" }
    ));
    Ok(())
}

/// Every TCP, UDP and ICMPv6 frame of the capture, both ways, has a checksum
/// Wireshark verifies, and none is longer than an Ethernet frame.
fn check_capture(pcap: &Path) -> Result<(), LabError> {
    let file = path(pcap)?;
    let tshark =
        |args: &[&str]| router::tshark::run(args).map_err(|e| LabError::Check(e.to_string()));
    let checks = [
        "-r",
        file,
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
        "-Y",
    ];
    let query = |filter: &str| {
        let mut args = checks.to_vec();
        args.push(filter);
        tshark(&args)
    };
    let bad = query(
        "tcp.checksum.status == 0 || udp.checksum.status == 0 || icmpv6.checksum.status == 0 || _ws.malformed || frame.len > 1514",
    )?;
    if !bad.trim().is_empty() {
        let first: Vec<&str> = bad.lines().take(5).collect();
        return Err(LabError::Check(format!(
            "tshark finds bad checksums or superframes in tapbridge's capture {file}:\n{}",
            first.join("\n")
        )));
    }
    let good = query("tcp.checksum.status == 1 || udp.checksum.status == 1")?
        .lines()
        .count();
    if good < 1000 {
        return Err(LabError::Check(format!(
            "tapbridge's capture {file} holds only {good} frames with a verified checksum"
        )));
    }
    step(&format!(
        "tshark verified {good} TCP/UDP checksums in tapbridge's capture of s1 (both ways): none bad, no superframe"
    ));
    Ok(())
}
