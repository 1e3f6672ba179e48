//! Scenario `superframes`: kernel hosts send through the plain router with every
//! mix of offloads on its two ports, and receive exactly what was sent.
//!
//! ```text
//!   h1 (kernel) -- TAP, offload=A -- tapmip-router -- TAP, offload=B -- h2 (kernel)
//! ```
//!
//! - all/all: h1's TCP superframes go to h2 whole (h2's stack takes them).
//! - all/csum: h2's port takes no superframes (a kernel that refuses TSO): the
//!   router cuts them, and passes partial checksums on.
//! - all/none: h2's port has no header at all: the router cuts superframes and
//!   completes partial checksums, and tshark checks every frame to h2 in a
//!   capture on h2's eth0.
//! - none/all: h1 sends ordinary frames; the router joins them into superframes
//!   for h2 (GRO), and completes the partial checksums of h2's ACKs for h1,
//!   whose capture tshark checks.
//! - none/none: no offload at all, as on a kernel that refuses them.
//!
//! Each case moves 16 MB of TCP h1 -> h2 and 2 000 UDP datagrams in bursts,
//! compares them byte for byte, checks that neither kernel counted a checksum
//! error, and that the router's port counters show the path the case is about.
//! Only captures of a host whose port has no offload are checked: frames to a
//! port with offloads carry partial checksums by design, as on any NIC.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{LabError, Sandbox, bulk, plain_router, wait};

pub(crate) const TRANSFER_BYTES: usize = 16 * 1024 * 1024;
const DATAGRAMS: usize = 2000;

fn step(msg: &str) {
    println!("superframes: {msg}");
}

/// What a case expects of the router's port towards h2 (port 1).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ToH2 {
    /// Superframes written whole, none cut.
    Whole,
    /// Superframes cut at the port.
    Cut,
    /// No superframe anywhere.
    Plain,
}

struct Case {
    name: &'static str,
    offload: [Option<&'static str>; 2],
    capture: Option<&'static str>,
    expect: ToH2,
}

const CASES: [Case; 5] = [
    Case {
        name: "all/all",
        offload: [None, None],
        capture: None,
        expect: ToH2::Whole,
    },
    Case {
        name: "all/csum",
        offload: [None, Some("csum")],
        capture: None,
        expect: ToH2::Cut,
    },
    Case {
        name: "all/none",
        offload: [None, Some("none")],
        capture: Some("h2"),
        expect: ToH2::Cut,
    },
    Case {
        name: "none/all",
        offload: [Some("none"), None],
        capture: Some("h1"),
        expect: ToH2::Whole,
    },
    Case {
        name: "none/none",
        offload: [Some("none"), Some("none")],
        capture: Some("h2"),
        expect: ToH2::Plain,
    },
];

/// Runs every case with the router binary at `router`.
pub fn run(router: &Path) -> Result<(), LabError> {
    crate::ensure_tun_access().map_err(LabError::Check)?;
    for (i, case) in CASES.iter().enumerate() {
        let mut lab = Sandbox::new(&format!("sf{i}"))?;
        let result = run_case(&mut lab, router, case);
        if let Err(e) = result {
            let log = match lab.stop("router", Duration::from_secs(5)) {
                Ok((_, log)) => log,
                Err(_) => lab.log_of("router"),
            };
            return Err(LabError::Check(format!(
                "case {}: {e}\n--- router log ---\n{}",
                case.name,
                log.trim_end()
            )));
        }
    }
    Ok(())
}

fn run_case(lab: &mut Sandbox, router: &Path, case: &Case) -> Result<(), LabError> {
    step(&format!(
        "case {}: h1 port offload={}, h2 port offload={}",
        case.name,
        case.offload[0].unwrap_or("all"),
        case.offload[1].unwrap_or("all")
    ));
    let (a1, a2) = plain_router::start_with(lab, router, case.offload)?;
    let pcap = match case.capture {
        Some(host) => Some(start_capture(lab, host)?),
        None => None,
    };
    bulk::transfer(lab, "h1", "h2", a2, TRANSFER_BYTES)?;
    step(&format!(
        "{TRANSFER_BYTES} bytes of TCP h1 -> h2 arrived intact"
    ));
    udp_bursts(lab, a2)?;
    step(&format!(
        "{DATAGRAMS} UDP datagrams h1 -> h2 arrived intact, in bursts"
    ));
    crate::host::ping(lab, "h2", &a1.to_string())?;
    for host in ["h1", "h2"] {
        let errors = checksum_errors(lab, host)?;
        if errors != 0 {
            return Err(LabError::Check(format!(
                "{host}'s kernel counted {errors} TCP/UDP checksum errors"
            )));
        }
    }
    step("neither kernel counted a checksum error (Tcp InCsumErrors, Udp6InCsumErrors)");
    if let (Some(pcap), Some(host)) = (pcap, case.capture) {
        let _ = lab.stop("capture", Duration::from_secs(5));
        check_capture(&pcap, host, if host == "h1" { a1 } else { a2 })?;
    }
    let (status, log) = lab.stop("router", Duration::from_secs(5))?;
    if !status.success() {
        return Err(LabError::Check(format!("the router exited with {status}")));
    }
    check_ports(&log, case)
}

fn start_capture(lab: &mut Sandbox, host: &str) -> Result<PathBuf, LabError> {
    let pcap = lab.workdir().join(format!("{host}.pcap"));
    let file = pcap.to_string_lossy().to_string();
    lab.spawn(
        Some(host),
        "capture",
        &["tshark", "-q", "-i", "eth0", "-w", &file],
    )?;
    // dumpcap creates the file once it captures.
    let started = wait::until(Duration::from_secs(10), || Ok(pcap.exists().then_some(())))?;
    started.ok_or_else(|| {
        LabError::Check(format!(
            "tshark did not start capturing on {host}'s eth0: {}",
            lab.log_of("capture")
        ))
    })?;
    Ok(pcap)
}

/// Wireshark's own checksum verification over every TCP, UDP and ICMPv6 frame
/// the router wrote to `host` (at `addr`).
fn check_capture(pcap: &Path, host: &str, addr: std::net::Ipv6Addr) -> Result<(), LabError> {
    let file = pcap.to_string_lossy().to_string();
    let tshark =
        |args: &[&str]| router::tshark::run(args).map_err(|e| LabError::Check(e.to_string()));
    let checks = [
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
    ];
    let mut args = vec!["-r", file.as_str()];
    args.extend_from_slice(&checks);
    let good_filter =
        format!("ipv6.dst == {addr} && (tcp.checksum.status == 1 || udp.checksum.status == 1)");
    let mut count = args.clone();
    count.extend_from_slice(&["-Y", &good_filter]);
    let good = tshark(&count)?.lines().count();
    // A malformed header counts; a "malformed" payload does not: the test's
    // bytes are no protocol, and tshark's port and heuristic dissectors
    // sometimes read them as one (a TCP segment taken for Q.931).
    let bad_filter = format!(
        "ipv6.dst == {addr} && (tcp.checksum.status == 0 || udp.checksum.status == 0 || icmpv6.checksum.status == 0 || (_ws.malformed && !tcp.payload && !udp.payload))"
    );
    let mut bad = args;
    bad.extend_from_slice(&["-Y", &bad_filter]);
    let bad = tshark(&bad)?;
    if !bad.trim().is_empty() {
        let first: Vec<&str> = bad.lines().take(5).collect();
        return Err(LabError::Check(format!(
            "tshark finds bad checksums in {host}'s capture {}:\n{}",
            pcap.display(),
            first.join("\n")
        )));
    }
    if good < 100 {
        return Err(LabError::Check(format!(
            "{host}'s capture holds only {good} frames with a verified checksum"
        )));
    }
    step(&format!(
        "tshark verified the checksums of {good} TCP/UDP frames to {host} captured on its eth0: none bad"
    ));
    Ok(())
}

/// TCP InCsumErrors (/proc/net/snmp, IPv4 and IPv6 alike) plus
/// Udp6InCsumErrors (/proc/net/snmp6) of `host`'s kernel.
pub fn checksum_errors(lab: &Sandbox, host: &str) -> Result<u64, LabError> {
    let snmp = lab.exec(host, &["cat", "/proc/net/snmp"])?;
    let mut tcp_lines = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let tcp = match (tcp_lines.next(), tcp_lines.next()) {
        (Some(names), Some(values)) => names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == "InCsumErrors")
            .and_then(|(_, v)| v.parse::<u64>().ok()),
        _ => None,
    };
    let snmp6 = lab.exec(host, &["cat", "/proc/net/snmp6"])?;
    let udp = snmp6.lines().find_map(|l| {
        let mut cols = l.split_whitespace();
        (cols.next() == Some("Udp6InCsumErrors")).then(|| cols.next()?.parse::<u64>().ok())?
    });
    match (tcp, udp) {
        (Some(t), Some(u)) => Ok(t + u),
        _ => Err(LabError::Check(format!(
            "{host}: no InCsumErrors in /proc/net/snmp or /proc/net/snmp6"
        ))),
    }
}

/// h2 counts numbered 64-byte datagrams that h1 sends in bursts of 20, slow
/// enough for a receiver in Python on a busy machine.
pub(crate) fn udp_bursts(lab: &mut Sandbox, to: std::net::Ipv6Addr) -> Result<(), LabError> {
    let out = lab.workdir().join("udp-received.txt");
    let receiver = format!(
        "import socket\n\
         s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n\
         s.bind(('::', 5002)); s.settimeout(3)\n\
         got = set(); bad = 0\n\
         try:\n    while True:\n        d, _ = s.recvfrom(2048)\n        n = int.from_bytes(d[:4], 'big')\n        if d == n.to_bytes(4, 'big') * 16: got.add(n)\n        else: bad += 1\n\
         except socket.timeout: pass\n\
         open('{}', 'w').write('%d %d' % (len(got), bad))\n",
        out.display()
    );
    let sender = format!(
        "import socket, time\n\
         s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n\
         for i in range({DATAGRAMS}):\n    s.sendto(i.to_bytes(4, 'big') * 16, ('{to}', 5002))\n    if i % 20 == 19: time.sleep(0.005)\n"
    );
    lab.spawn(Some("h2"), "udp-receiver", &["python3", "-c", &receiver])?;
    std::thread::sleep(Duration::from_millis(500));
    lab.exec("h1", &["python3", "-c", &sender])?;
    let done = wait::until(Duration::from_secs(15), || lab.exited("udp-receiver"))?;
    if done.is_none_or(|s| !s.success()) {
        return Err(LabError::Check(format!(
            "the UDP receiver did not finish: {}",
            lab.log_of("udp-receiver")
        )));
    }
    let counts = std::fs::read_to_string(&out).map_err(|error| LabError::Io {
        what: out.display().to_string(),
        error,
    })?;
    if counts.trim() != format!("{DATAGRAMS} 0") {
        return Err(LabError::Check(format!(
            "h2 received (distinct intact, damaged) UDP datagrams {counts:?} of {DATAGRAMS} sent"
        )));
    }
    Ok(())
}

/// The router's port counters as its log prints them at exit:
/// (rx superframes, rx bad offload, tx superframes, tx cut).
pub(crate) fn port_counters(log: &str, port: usize) -> Option<[u64; 4]> {
    let line = log
        .lines()
        .find(|l| l.contains(&format!("port {port} (")) && l.contains(" rx "))?;
    let number_before = |text: &str, word: &str| -> Option<u64> {
        let end = text.find(word)?;
        text[..end]
            .rsplit(['(', ' '])
            .find(|s| !s.is_empty())?
            .parse()
            .ok()
    };
    let (rx, tx) = line.split_once(", tx ")?;
    Some([
        number_before(rx, " superframes")?,
        number_before(rx, " with lying")?,
        number_before(tx, " superframes")?,
        number_before(tx, " cut here")?,
    ])
}

fn check_ports(log: &str, case: &Case) -> Result<(), LabError> {
    let bad = |what: String| LabError::Check(format!("router port counters: {what}"));
    let [rx_super, rx_bad, _, _] =
        port_counters(log, 0).ok_or_else(|| bad("no line for port 0".into()))?;
    let [_, _, tx_super, tx_cut] =
        port_counters(log, 1).ok_or_else(|| bad("no line for port 1".into()))?;
    if rx_bad != 0 {
        return Err(bad(format!(
            "{rx_bad} frames from h1 had lying offload headers"
        )));
    }
    let tso = log.contains("TSO6");
    let seen = (rx_super, tx_super, tx_cut);
    let ok = match case.expect {
        // A kernel without TSO makes no superframe: the case then checks only
        // that everything arrived.
        _ if !tso => tx_super == 0,
        ToH2::Whole => tx_super > 0 && tx_cut == 0,
        ToH2::Cut => rx_super > 0 && tx_super == 0 && tx_cut > 0,
        ToH2::Plain => rx_super == 0 && tx_super == 0 && tx_cut == 0,
    };
    if !ok {
        return Err(bad(format!(
            "expected {:?}, got (superframes from h1, superframes to h2, cut for h2) = {seen:?}",
            case.expect
        )));
    }
    step(&format!(
        "router: {rx_super} superframes from h1, {tx_super} written whole to h2, {tx_cut} cut for h2{}",
        if tso { "" } else { " (no port has TSO)" }
    ));
    Ok(())
}
