//! tapbridge between two kernel hosts and a plain router that owns its own TAP
//! devices: each host's eth0 (a TAP tapbridge holds) and one router interface
//! (joined by a packet socket) form a segment. The hosts autoconfigure from the
//! router's RAs and ping each other through tapbridge, the router, and tapbridge.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use netns_tests::{LabError, Sandbox, binaries, host};

fn tapbridge() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tapbridge"))
}

fn check(what: impl Into<String>) -> LabError {
    LabError::Check(what.into())
}

fn ctl(socket: &Path, words: &[&str]) -> Result<String, LabError> {
    let out = Command::new(tapbridge())
        .arg("ctl")
        .arg(socket)
        .args(words)
        .output()
        .map_err(|e| check(format!("tapbridge ctl: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(check(format!(
            "tapbridge ctl {words:?} failed: {}{text}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(text)
}

fn scenario() -> Result<(), LabError> {
    netns_tests::ensure_tun_access().map_err(LabError::Check)?;
    let router = binaries::build_router().map_err(LabError::Check)?;
    let mut lab = Sandbox::new("br")?;
    for short in ["h1", "h2", "r"] {
        lab.add_ns(short)?;
    }
    for short in ["h1", "h2"] {
        host::configure(&lab, short)?;
    }
    // r's kernel must not speak on the router's interfaces: only the router does.
    lab.exec(
        "r",
        &["sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"],
    )?;
    let r = lab.ns_path("r").display().to_string();
    let wan0 = format!("{r}:wan0,prefix=2001:db8:1::/64");
    let wan1 = format!("{r}:wan1,prefix=2001:db8:2::/64");
    let router = router.display().to_string();
    lab.spawn(
        None,
        "router",
        &[&router, "--name", "r", "--port", &wan0, "--port", &wan1],
    )?;
    for ifname in ["wan0", "wan1"] {
        host::wait_for_link(&lab, "r", ifname, Duration::from_secs(10))?;
        let knob = format!("net.ipv6.conf.{ifname}.disable_ipv6=1");
        lab.exec("r", &["sysctl", "-q", "-w", &knob])?;
    }

    let socket = lab.workdir().join("tapbridge.sock");
    let s1 = format!(
        "s1=tap:{}:eth0,mac=52:54:00:aa:00:01,attach:{r}:wan0",
        lab.ns_path("h1").display()
    );
    let s2 = format!(
        "s2=tap:{}:eth0,attach:{r}:wan1",
        lab.ns_path("h2").display()
    );
    let bridge = tapbridge().display().to_string();
    let socket_arg = socket.display().to_string();
    lab.spawn(
        None,
        "tapbridge",
        &[
            &bridge,
            "--ctl",
            &socket_arg,
            "--segment",
            &s1,
            "--segment",
            &s2,
        ],
    )?;

    let mut addrs = Vec::new();
    for (short, prefix) in [("h1", "2001:db8:1::/64"), ("h2", "2001:db8:2::/64")] {
        // tapbridge creates the hosts' eth0 once it runs: a loaded machine takes a while.
        host::wait_for_link(&lab, short, "eth0", Duration::from_secs(10))?;
        let found = host::wait_for_slaac(
            &lab,
            short,
            "eth0",
            prefix.parse().unwrap(),
            Duration::from_secs(20),
        )?;
        let found = found.ok_or_else(|| {
            check(format!(
                "{short} got no address in {prefix}\n--- tapbridge ---\n{}\n--- router ---\n{}",
                lab.log_of("tapbridge"),
                lab.log_of("router")
            ))
        })?;
        addrs.push(found);
    }
    // The MAC given on the command line is the one h1's kernel uses.
    let link = lab.exec("h1", &["ip", "link", "show", "dev", "eth0"])?;
    if !link.contains("52:54:00:aa:00:01") {
        return Err(check(format!(
            "h1 eth0 has not the configured MAC:\n{link}"
        )));
    }
    host::ping(&lab, "h1", &addrs[1].to_string())?;
    host::ping(&lab, "h2", &addrs[0].to_string())?;

    let segments = ctl(&socket, &["segments"])?;
    for expected in [
        "h1:eth0",
        "r:wan0",
        "h2:eth0",
        "r:wan1",
        "52:54:00:aa:00:01",
    ] {
        let name = expected.replace("r:", &format!("{}:", lab.ns("r")));
        let name = name.replace("h1:", &format!("{}:", lab.ns("h1")));
        let name = name.replace("h2:", &format!("{}:", lab.ns("h2")));
        if !segments.contains(&name) {
            return Err(check(format!("`segments` lacks {name}:\n{segments}")));
        }
    }
    let counters = ctl(&socket, &["counters"])?;
    let tx_to_h2 = counters
        .lines()
        .find(|l| l.contains(&lab.ns("h2")) && l.contains("tx.frames"));
    if tx_to_h2.is_none_or(|l| l.ends_with(" 0")) {
        return Err(check(format!("nothing was sent to h2:\n{counters}")));
    }
    // Run-time changes through the control socket: a capture and a delay.
    let pcap = lab.workdir().join("s1.pcap");
    let h1 = format!("{}:eth0", lab.ns("h1"));
    ctl(&socket, &["capture", "s1", &pcap.display().to_string()])?;
    ctl(&socket, &["link", &h1, "out", "delay=100"])?;
    let slow = host::ping(&lab, "h2", &addrs[0].to_string())?;
    ctl(&socket, &["capture", "s1", "stop"])?;
    let rtt_ok = slow
        .lines()
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.split_whitespace().next()?.parse::<f64>().ok())
        .all(|ms| ms >= 100.0);
    if !rtt_ok || !slow.contains("time=") {
        return Err(check(format!("the 100 ms delay did not show:\n{slow}")));
    }
    let captured = std::fs::metadata(&pcap).map(|m| m.len()).unwrap_or(0);
    // The file header plus at least three echo requests and three replies.
    if captured < 24 + 6 * (16 + 118) {
        return Err(check(format!("capture of s1 has only {captured} bytes")));
    }
    let (_, log) = lab.stop("tapbridge", Duration::from_secs(5))?;
    if !log.contains("stopped by SIGTERM") {
        return Err(check(format!("tapbridge did not stop cleanly:\n{log}")));
    }
    Ok(())
}

#[test]
fn two_hosts_and_a_router_through_tapbridge() {
    if let Err(e) = scenario() {
        panic!("{e}");
    }
}
