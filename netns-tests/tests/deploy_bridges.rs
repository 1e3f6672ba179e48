//! The deployment of docs/deploy.md, with network namespaces standing in for
//! three hosts: the LMA's host and two hypervisor hosts A and B, each MAG's TAP
//! devices joined to kernel bridges as on a libvirt host (access side: the VMs'
//! bridge; uplink: a bridge with the host's uplink interface). No kernel route,
//! no forwarding sysctl: the routers forward, the bridges switch.
//!
//! ```text
//!  client --veth-- [lmahost: br-core - core TAP (LMA) - wan TAP - br-up] --veth--+
//!                                                                                |  [wan: br-wan]
//!  vm --veth-- [hosta: br-vm - access TAP (MAG1) - wan TAP - br-up] --veth-------+
//!              [hostb: br-vm - access TAP (MAG2) - wan TAP - br-up] --veth-------+
//! ```
//!
//! The VM migrates by moving its veth from host A's bridge to host B's (its
//! "vif" recreated on the new host). Needs root; skipped, saying why, where
//! Linux bridges cannot be made.

use std::path::PathBuf;
use std::time::Duration;

use netns_tests::probe::report::{TcpReport, read_report, tcp_summary};
use netns_tests::{LabError, Sandbox, binaries, host, wait};
use router::ctl::{Request, Table};

const LMA_WAN: &str = "2001:db8:ff::1";
const POLICY: &str = r#"
[[mag]]
name = "mag1"
address = "2001:db8:ff::2"

[[mag.key]]
spi = 256
file = "keys/mag1.key"

[[mag]]
name = "mag2"
address = "2001:db8:ff::3"

[[mag.key]]
spi = 256
file = "keys/mag2.key"

[[node]]
mn_id = "vm1@example"
mac = "52:54:00:aa:00:01"
hnps = ["2001:db8:1:1::/64"]
"#;

fn check(what: impl Into<String>) -> LabError {
    LabError::Check(what.into())
}

fn sh(lab: &Sandbox, ns: &str, cmd: &str) -> Result<String, LabError> {
    lab.exec(ns, &["sh", "-c", cmd])
}

/// Whether this machine lets us make a Linux bridge (root, the bridge module).
fn bridges_work() -> Result<(), String> {
    let mut lab = Sandbox::new("brprobe").map_err(|e| e.to_string())?;
    lab.add_ns("p").map_err(|e| e.to_string())?;
    sh(&lab, "p", "ip link add br-probe type bridge").map_err(|e| e.to_string())?;
    Ok(())
}

fn table(sock: &std::path::Path, request: &Request) -> Result<Table, LabError> {
    let line = serde_json::to_string(request).map_err(|e| check(e.to_string()))?;
    router::netio::client::ask_tables(sock, &line)
        .map_err(|e| check(e.to_string()))?
        .into_iter()
        .next()
        .ok_or_else(|| check("no table"))
}

fn cell(t: &Table, key: &str, column: &str) -> Option<String> {
    let col = t.columns.iter().position(|c| c == column)?;
    t.rows
        .iter()
        .find(|r| r.first().is_some_and(|k| k == key))?
        .get(col)
        .cloned()
}

/// A bridge with no address of the host's on it: the host stays off the link.
fn bridge(lab: &Sandbox, ns: &str, name: &str) -> Result<(), LabError> {
    sh(
        lab,
        ns,
        &format!(
            "ip link add {name} type bridge mcast_snooping 0 && \
             sysctl -qw net.ipv6.conf.{name}.disable_ipv6=1 && ip link set {name} up"
        ),
    )
    .map(drop)
}

fn scenario() -> Result<(), LabError> {
    binaries::build(&binaries::LAB).map_err(LabError::Check)?;
    let bin = |name: &str| binaries::sibling(name).map_err(LabError::Check);
    let (lma, mag, probe) = (bin("lma")?, bin("mag")?, bin("tapmip-probe")?);
    let mut lab = Sandbox::new("deploy")?;
    for ns in ["wan", "lmahost", "hosta", "hostb", "vm", "client"] {
        lab.add_ns(ns)?;
    }
    for ns in ["wan", "lmahost", "hosta", "hostb"] {
        // Every interface the hosts get from now on (TAPs, veths, bridges)
        // starts without IPv6: only the routers speak on these links.
        sh(
            &lab,
            ns,
            "sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1",
        )?;
    }
    for ns in ["vm", "client"] {
        host::configure(&lab, ns)?;
    }
    let ns = |short: &str| lab.ns(short);
    // The provider network: one switch the three hosts' uplinks plug into.
    bridge(&lab, "wan", "br-wan")?;
    for h in ["lmahost", "hosta", "hostb"] {
        sh(
            &lab,
            "wan",
            &format!(
                "ip link add {h} type veth peer name up0 netns {} && \
                 ip link set {h} master br-wan up",
                ns(h)
            ),
        )?;
        bridge(&lab, h, "br-up")?;
        sh(&lab, h, "ip link set up0 master br-up up")?;
    }
    bridge(&lab, "lmahost", "br-core")?;
    sh(
        &lab,
        "client",
        &format!(
            "ip link add eth0 type veth peer name client0 netns {} && ip link set eth0 up",
            ns("lmahost")
        ),
    )?;
    sh(&lab, "lmahost", "ip link set client0 master br-core up")?;
    for h in ["hosta", "hostb"] {
        bridge(&lab, h, "br-vm")?;
    }
    // The VM's NIC on host A's bridge, as libvirt plugs a vif.
    sh(
        &lab,
        "vm",
        &format!(
            "ip link add eth0 address 52:54:00:aa:00:01 type veth peer name vnet0 netns {} && \
             ip link set eth0 up",
            ns("hosta")
        ),
    )?;
    sh(&lab, "hosta", "ip link set vnet0 master br-vm up")?;

    // The routers' TAPs: persistent, made and joined to the hosts' bridges
    // before the routers start, as deploy.md's tapmip-taps unit does; a router
    // attaches to its TAP by name.
    for (h, taps) in [
        ("lmahost", &[("core", "br-core"), ("wan", "br-up")]),
        ("hosta", &[("access", "br-vm"), ("wan", "br-up")]),
        ("hostb", &[("access", "br-vm"), ("wan", "br-up")]),
    ] {
        for (tap, br) in taps.iter() {
            sh(
                &lab,
                h,
                &format!("ip tuntap add dev {tap} mode tap && ip link set {tap} master {br} up"),
            )?;
        }
    }
    let policy = lab.workdir().join("policy.toml");
    std::fs::write(&policy, POLICY).map_err(|error| LabError::Io {
        what: "writing the policy".into(),
        error,
    })?;
    // One key per MAG, mode 0600, as `openssl rand -hex 32` writes it.
    let keys = lab.workdir().join("keys");
    std::fs::create_dir_all(&keys).map_err(|error| LabError::Io {
        what: "creating the key directory".into(),
        error,
    })?;
    for mag in ["mag1", "mag2"] {
        let file = keys.join(format!("{mag}.key"));
        router::auth::key::write_new_key_file(&file, router::auth::Algorithm::DEFAULT)
            .map_err(|e| check(e.to_string()))?;
    }
    let s = |p: &PathBuf| p.display().to_string();
    let sock = |name: &str| lab.workdir().join(format!("{name}.sock"));
    let (lma_sock, mag1_sock, mag2_sock) = (sock("lma"), sock("mag1"), sock("mag2"));
    let wan_port = format!("wan,addr={LMA_WAN}/64");
    let lma_args = [
        s(&lma),
        "--name".into(),
        "lma".into(),
        "--policy".into(),
        s(&policy),
        "--ctl".into(),
        s(&lma_sock),
        "--port".into(),
        "core,addr=2001:db8:c::1/64,advertise".into(),
        "--port".into(),
        wan_port,
    ];
    let argv: Vec<&str> = lma_args.iter().map(String::as_str).collect();
    lab.spawn(Some("lmahost"), "lma", &argv)?;
    for (h, name, addr, ctl) in [
        ("hosta", "mag1", "2001:db8:ff::2", &mag1_sock),
        ("hostb", "mag2", "2001:db8:ff::3", &mag2_sock),
    ] {
        let args = [
            s(&mag),
            "--name".into(),
            name.into(),
            "--uplink".into(),
            format!("wan,addr={addr}/64"),
            "--access".into(),
            "access,mac=02:7a:70:00:00:01".into(),
            "--lma".into(),
            LMA_WAN.into(),
            "--policy".into(),
            s(&policy),
            "--ctl".into(),
            s(ctl),
            "--ra-interval-ms".into(),
            "3000".into(),
        ];
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        lab.spawn(Some(h), name, &argv)?;
    }
    for (name, ctl) in [
        ("lma", &lma_sock),
        ("mag1", &mag1_sock),
        ("mag2", &mag2_sock),
    ] {
        wait::until(Duration::from_secs(10), || Ok(ctl.exists().then_some(())))?
            .ok_or_else(|| check(format!("{name} did not start:\n{}", lab.log_of(name))))?;
    }
    for h in ["lmahost", "hosta", "hostb"] {
        let forwarding = sh(&lab, h, "cat /proc/sys/net/ipv6/conf/all/forwarding")?;
        let routes = sh(
            &lab,
            h,
            "ip -6 route show table all | grep -v '^local\\|^multicast\\|^ff00' || true",
        )?;
        if forwarding.trim() != "0" || !routes.trim().is_empty() {
            return Err(check(format!(
                "{h} must neither forward nor route: forwarding={forwarding} routes:\n{routes}"
            )));
        }
    }

    let diag = |lab: &Sandbox| {
        ["lma", "mag1", "mag2"]
            .iter()
            .map(|n| format!("--- {n} ---\n{}", lab.log_of(n)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let hnp: ipnet::Ipv6Net = "2001:db8:1:1::/64".parse().unwrap();
    let vm_addr = host::wait_for_slaac(&lab, "vm", "eth0", hnp, Duration::from_secs(30))?
        .ok_or_else(|| check(format!("the VM got no address in {hnp}\n{}", diag(&lab))))?;
    let client_addr = host::wait_for_slaac(
        &lab,
        "client",
        "eth0",
        "2001:db8:c::/64".parse().unwrap(),
        Duration::from_secs(30),
    )?
    .ok_or_else(|| check(format!("the client got no address\n{}", diag(&lab))))?;
    host::ping(&lab, "client", &vm_addr.to_string())?;
    let before = sh(
        &lab,
        "vm",
        "ip -6 -o addr show dev eth0 | awk '{print $4}' | sort",
    )?;

    // A TCP session from the VM to the client, kept busy across the move.
    let stop = lab.workdir().join("stop");
    let report = lab.workdir().join("tcp.json");
    lab.spawn(
        Some("client"),
        "tcp-server",
        &[&s(&probe), "tcp-server", "--listen", "[::]:7001"],
    )?;
    wait::until(Duration::from_secs(10), || {
        Ok(lab.log_of("tcp-server").contains("listening").then_some(()))
    })?;
    lab.spawn(
        Some("vm"),
        "tcp-client",
        &[
            &s(&probe),
            "tcp-client",
            "--to",
            &format!("[{client_addr}]:7001"),
            "--interval-ms",
            "10",
            "--until-file",
            &s(&stop),
            "--out",
            &s(&report),
        ],
    )?;
    std::thread::sleep(Duration::from_secs(1));

    // The migration's network side: the vif leaves host A, appears on host B.
    sh(
        &lab,
        "hosta",
        &format!("ip link set vnet0 netns {}", lab.ns("hostb")),
    )?;
    sh(&lab, "hostb", "ip link set vnet0 master br-vm up")?;
    let registered = wait::until(Duration::from_secs(20), || {
        let lma_bc = table(&lma_sock, &Request::Bindings {})?;
        Ok((cell(&lma_bc, "vm1@example", "mag").as_deref() == Some("mag2")).then_some(()))
    })?;
    registered.ok_or_else(|| check(format!("the LMA never bound vm1 to mag2\n{}", diag(&lab))))?;
    host::ping(&lab, "client", &vm_addr.to_string())?;
    std::thread::sleep(Duration::from_secs(1));
    std::fs::write(&stop, b"stop").map_err(|error| LabError::Io {
        what: "writing the stop file".into(),
        error,
    })?;
    wait::until(Duration::from_secs(10), || {
        Ok(lab.exited("tcp-client")?.map(drop))
    })?;
    let tcp: TcpReport = read_report(&report).map_err(|e| check(e.to_string()))?;
    let after = sh(
        &lab,
        "vm",
        "ip -6 -o addr show dev eth0 | awk '{print $4}' | sort",
    )?;
    println!("{}\nbefore: {before}after: {after}", tcp_summary(&tcp));
    if before != after {
        return Err(check(format!("addresses changed: {before} -> {after}")));
    }
    if !tcp.survived {
        return Err(check(format!(
            "TCP lost: {}\n{}",
            tcp_summary(&tcp),
            diag(&lab)
        )));
    }
    let bul = table(&mag2_sock, &Request::Bindings {})?;
    println!("{}", bul.render());
    Ok(())
}

#[test]
fn a_vm_moves_between_hosts_whose_macs_sit_on_kernel_bridges() {
    if let Err(why) = bridges_work() {
        eprintln!("skipped: no Linux bridge can be made here (needs root): {why}");
        return;
    }
    if let Err(e) = scenario() {
        panic!("{e}");
    }
}
