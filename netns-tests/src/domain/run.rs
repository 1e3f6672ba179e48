//! A running domain: the namespaces of a [`Topology`], the LMA, the MAGs and
//! tapbridge as processes, and the kernel hosts configured by their RAs.
//!
//! ```text
//! client --core-- LMA ==wan1== MAG1 --access1-- vm1     (host1 on wan1)
//!                     ==wan2== MAG2 --access2--         (host2 on wan2)
//! ```
//!
//! Routers open their own TAP devices in their own namespaces (which have IPv6
//! disabled, so no address and no route); tapbridge creates the kernel hosts'
//! `eth0` TAPs and joins everything into segments. Dropping the domain stops every
//! process and removes every namespace.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::Ipv6Net;
use router::ctl::Table;
use tapbridge::ctl::Request as BridgeRequest;

use super::qemu_vm::Guests;
use super::topology::{
    AAA_NODE, Aaa, CORE_PREFIX, LMA_CORE4, MAG_ACCESS_MAC, Mag, Mobility, Topology, VmKind,
};
use crate::binaries;
use crate::{LabError, Sandbox, host};

const SLAAC_TIMEOUT: Duration = Duration::from_secs(30);
/// Where the lab's FreeRADIUS listens, in its namespace.
const RADIUS_PORT: u16 = 1812;
/// The background process name of the lab's FreeRADIUS.
pub const RADIUS_PROCESS: &str = "radius";

/// Where the lab's programs are.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub lma: PathBuf,
    pub mag: PathBuf,
    pub tapbridge: PathBuf,
    pub probe: PathBuf,
    /// The mobile node agent of the MIPv6 baseline.
    pub mn: PathBuf,
}

impl Binaries {
    /// The binaries next to the running executable.
    pub fn siblings() -> Result<Binaries, LabError> {
        Self::in_dir(None)
    }

    /// The binaries of the profile directory above an example or test executable.
    pub fn siblings_of_target() -> Result<Binaries, LabError> {
        let exe = std::env::current_exe().map_err(|e| LabError::Check(e.to_string()))?;
        let mut dir = exe.parent().map(Path::to_path_buf);
        while let Some(d) = &dir {
            if d.join("lma").exists() {
                break;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        Self::in_dir(dir)
    }

    fn in_dir(dir: Option<PathBuf>) -> Result<Binaries, LabError> {
        let find = |name: &str| match &dir {
            Some(d) => Ok(d.join(name)),
            None => binaries::sibling(name).map_err(LabError::Check),
        };
        Ok(Binaries {
            lma: find("lma")?,
            mag: find("mag")?,
            tapbridge: find("tapbridge")?,
            probe: find("tapmip-probe")?,
            mn: find("tapmip-mn")?,
        })
    }
}

/// Knobs of the routers that tests turn (defaults suit an interactive lab).
#[derive(Debug, Clone)]
pub struct Tuning {
    /// The MAGs' per-node RA interval.
    pub mag_ra_interval_ms: u64,
    /// Binding lifetime the MAGs request.
    pub lifetime_s: u32,
    /// Extra arguments for every MAG (e.g. `--detect rs,na`).
    pub mag_args: Vec<String>,
    /// Segments captured from before the VMs boot, into `<workdir>/<segment>.pcap`.
    pub capture: Vec<String>,
    /// HEARTBEAT_INTERVAL of the LMA and the MAGs (RFC 5847): how fast a
    /// restart is noticed.
    pub heartbeat_interval_ms: u64,
    /// Runs the routers with `--insecure` (no authenticated signalling), for
    /// interoperability tests only.
    pub insecure: bool,
    /// With `aaa = "radius"`: VMs the lab's FreeRADIUS rejects, with the
    /// Reply-Message it gives. They get no address, and `up` does not wait.
    pub radius_rejects: Vec<(String, String)>,
}

impl Tuning {
    /// Captures every access and WAN segment from the first frame, so that
    /// [`Domain::trace`] can draw any attach or handoff.
    pub fn capturing_mobility(topology: &Topology) -> Tuning {
        Tuning {
            capture: topology.mobility_segments(),
            ..Tuning::default()
        }
    }
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            mag_ra_interval_ms: 10_000,
            lifetime_s: 3600,
            mag_args: Vec::new(),
            capture: Vec::new(),
            heartbeat_interval_ms: 5_000,
            insecure: false,
            radius_rejects: Vec::new(),
        }
    }
}

pub struct Domain {
    pub topology: Topology,
    pub lab: Sandbox,
    pub binaries: Binaries,
    /// Global addresses of the kernel hosts, by node name.
    pub addresses: Vec<(String, Ipv6Addr)>,
    /// IPv4 addresses of the kernel hosts that have one (correspondents, and
    /// VMs once leased), by node name.
    pub addresses4: Vec<(String, Ipv4Addr)>,
    /// Which MAG's access link each VM is on.
    pub placement: Vec<(String, String)>,
    /// The QEMU guests among the VMs.
    pub(super) qemu: Guests,
}

/// Writes a file only its owner may read, as the routers demand of secrets.
fn write_private(path: &Path, content: &[u8]) -> Result<(), LabError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(content))
        .map_err(|error| LabError::Io {
            what: format!("writing {}", path.display()),
            error,
        })
}

pub(super) fn say(msg: &str) {
    println!("lab: {msg}");
}

pub(super) fn path_str(p: &Path) -> Result<&str, LabError> {
    p.to_str()
        .ok_or_else(|| LabError::Check(format!("{} is not UTF-8", p.display())))
}

impl Domain {
    /// Brings the whole domain up and waits until every kernel host has its
    /// address: the client and hypervisor hosts from the LMA's RAs, each VM from
    /// its MAG's unicast RA carrying its HNP.
    pub fn up(topology: Topology, binaries: Binaries, tuning: &Tuning) -> Result<Domain, LabError> {
        crate::ensure_tun_access().map_err(LabError::Check)?;
        if topology.aaa == Aaa::Radius && topology.mobility == Mobility::Mipv6 {
            return Err(LabError::Check(
                "aaa = \"radius\" needs mobility = \"pmipv6\": the MIPv6 baseline asks no AAA server".into(),
            ));
        }
        let lab = Sandbox::new("lab")?;
        let placement = topology
            .vms
            .iter()
            .map(|v| (v.name.clone(), v.mag.clone()))
            .collect();
        let mut domain = Domain {
            topology,
            lab,
            binaries,
            addresses: Vec::new(),
            addresses4: Vec::new(),
            placement,
            qemu: Guests::default(),
        };
        domain.start(tuning)?;
        Ok(domain)
    }

    pub fn sock(&self, name: &str) -> PathBuf {
        self.lab.workdir().join(format!("{name}.sock"))
    }

    fn start(&mut self, tuning: &Tuning) -> Result<(), LabError> {
        let t = self.topology.clone();
        for node in t.nodes() {
            self.lab.add_ns(&node)?;
        }
        let routers: Vec<String> = std::iter::once("lma".to_string())
            .chain(t.mags.iter().map(|m| m.name.clone()))
            .collect();
        for r in &routers {
            // Interfaces created later inherit this: the kernel stays off the
            // routers' links, which carry only what the routers send.
            self.lab.exec(
                r,
                &["sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"],
            )?;
        }
        for host in t.nodes().iter().filter(|n| !routers.contains(n)) {
            host::configure(&self.lab, host)?;
        }
        for v in t.vms.iter().filter(|v| !v.family.has_ipv6()) {
            // An IPv4-only guest: its interfaces come up without IPv6.
            self.lab.exec(
                &v.name,
                &[
                    "sysctl",
                    "-q",
                    "-w",
                    "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1",
                ],
            )?;
        }
        // The routers' TAPs outlive their processes, as on a real host: a
        // router that crashes and starts again opens the same devices, still
        // joined to their segments.
        for (r, ifaces) in self.router_interfaces() {
            for i in ifaces {
                self.lab
                    .exec(&r, &["ip", "tuntap", "add", "dev", &i, "mode", "tap"])?;
            }
        }
        let policy = self.lab.workdir().join("policy.toml");
        std::fs::write(&policy, t.policy_toml()).map_err(|error| LabError::Io {
            what: format!("writing {}", policy.display()),
            error,
        })?;
        self.write_keys()?;
        say(&format!(
            "namespaces {} (files in {})",
            t.nodes().join(", "),
            self.lab.workdir().display()
        ));
        // The segments exist before the routers start, so nothing a router
        // sends first (its neighbor solicitations, the first PBU) is lost to
        // a bridge that is not there yet: every run starts the same way.
        self.start_bridge()?;
        self.set_wan_links()?;
        // The VMs stay silent until the captures run: a frame a VM sent while
        // a MAG was starting would register it before the first ladder is
        // recorded.
        self.set_vm_links("down")?;
        if t.aaa == Aaa::Radius {
            self.start_radius(&tuning.radius_rejects)?;
        }
        // The LMA (or home agent) runs before any MAG starts, so a MAG's first
        // solicitation of it is answered at once.
        match t.mobility {
            Mobility::Pmipv6 => self.start_lma(&policy, tuning)?,
            Mobility::Mipv6 => self.start_home_agent(&policy)?,
        }
        self.wait_ready("lma")?;
        for m in &t.mags {
            match t.mobility {
                Mobility::Pmipv6 => self.start_mag(m, &policy, tuning)?,
                Mobility::Mipv6 => self.start_access_router(m)?,
            }
        }
        for m in &t.mags {
            self.wait_ready(&m.name)?;
        }
        // Captures start now, then the VMs' interfaces come up: what a
        // booting guest sends (MLD reports, DAD, RS) reaches a MAG that knows
        // its LMA, and the first ladder shows just that, in every run alike.
        for segment in &tuning.capture {
            let file = Some(path_str(&self.pcap(segment))?.to_string());
            let segment = segment.clone();
            self.bridge(&BridgeRequest::Capture { segment, file })?;
        }
        self.set_vm_links("up")?;
        self.wait_for_addresses(&tuning.radius_rejects)?;
        if t.mobility == Mobility::Mipv6 {
            self.start_mobile_nodes()?;
        }
        self.boot_guests()
    }

    /// A fresh key for each MAG, mode 0600, where the policy names it: the
    /// routers refuse a key file others can read.
    fn write_keys(&self) -> Result<(), LabError> {
        let dir = self.lab.workdir().join("keys");
        std::fs::create_dir_all(&dir).map_err(|error| LabError::Io {
            what: format!("creating {}", dir.display()),
            error,
        })?;
        for m in &self.topology.mags {
            let path = self.lab.workdir().join(Topology::key_file(m));
            let _ = std::fs::remove_file(&path);
            router::auth::key::write_new_key_file(&path, router::auth::Algorithm::DEFAULT)
                .map_err(|e| LabError::Check(e.to_string()))?;
        }
        say(&format!(
            "a key for each MAG and the LMA in {} (mode 0600)",
            dir.display()
        ));
        Ok(())
    }

    /// Sets every namespace VM's `eth0` `up` or `down`.
    fn set_vm_links(&self, state: &str) -> Result<(), LabError> {
        for v in self.topology.vms.iter().filter(|v| v.kind == VmKind::Netns) {
            self.lab
                .exec(&v.name, &["ip", "link", "set", "dev", "eth0", state])?;
        }
        Ok(())
    }

    /// Each router's namespace and the TAPs it opens there.
    fn router_interfaces(&self) -> Vec<(String, Vec<String>)> {
        let t = &self.topology;
        let lma = std::iter::once("core".to_string())
            .chain(t.mags.iter().map(Mag::wan_segment))
            .collect();
        std::iter::once(("lma".to_string(), lma))
            .chain(
                t.mags
                    .iter()
                    .map(|m| (m.name.clone(), vec!["wan".into(), "access".into()])),
            )
            .collect()
    }

    /// Kills router `name` (`lma` or a MAG) with SIGKILL, as a crash, and starts
    /// it again at once with the same command line: it knows no binding, and
    /// its TAPs are where it left them.
    pub fn crash_and_restart(&mut self, name: &str) -> Result<(), LabError> {
        self.lab.kill(name)?;
        say(&format!("{name} killed (SIGKILL), starting it again"));
        self.lab.respawn(name)?;
        self.wait_ready(name)
    }

    /// Waits until router `name` answers on its control socket: its TAPs are
    /// open and its loop runs.
    fn wait_ready(&self, name: &str) -> Result<(), LabError> {
        let sock = self.sock(name);
        crate::wait::until(Duration::from_secs(10), || {
            Ok(self.router(name, &router::ctl::Request::Status {}).ok())
        })?
        .map(|_| ())
        .ok_or_else(|| {
            LabError::Check(format!(
                "{name} does not answer on {}; its log:\n{}",
                sock.display(),
                self.lab.log_of(name)
            ))
        })
    }

    /// FreeRADIUS on loopback in namespace `aaa`, knowing every VM; the
    /// routers open their RADIUS sockets there (`--aaa radius,...,netns=`), so
    /// AAA traffic does not cross the emulated WAN.
    fn start_radius(&mut self, rejects: &[(String, String)]) -> Result<(), LabError> {
        let secret = format!(
            "lab-{:016x}",
            self.topology.seed ^ u64::from(std::process::id())
        );
        let file = self.radius_secret_file();
        write_private(&file, secret.as_bytes())?;
        let dir = self.lab.workdir().join("radius");
        let users = self.topology.radius_users(rejects);
        let argv = crate::aaa_server::configure(&dir, RADIUS_PORT, &secret, &users)?;
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.lab.spawn(Some(AAA_NODE), RADIUS_PROCESS, &argv)?;
        let ready = crate::wait::until(Duration::from_secs(20), || {
            Ok(self
                .lab
                .log_of(RADIUS_PROCESS)
                .contains(crate::aaa_server::READY_LINE)
                .then_some(()))
        })?;
        if ready.is_none() {
            return Err(LabError::Check(format!(
                "FreeRADIUS did not become ready in namespace {AAA_NODE}; its log:\n{}",
                self.lab.log_of(RADIUS_PROCESS)
            )));
        }
        say(&format!(
            "FreeRADIUS on 127.0.0.1:{RADIUS_PORT} in namespace {AAA_NODE}, {} users",
            users.len()
        ));
        Ok(())
    }

    fn radius_secret_file(&self) -> PathBuf {
        self.lab.workdir().join("radius.secret")
    }

    /// The routers' `--aaa` argument.
    fn aaa_arg(&self) -> Result<Vec<String>, LabError> {
        Ok(match self.topology.aaa {
            Aaa::File => Vec::new(),
            Aaa::Radius => vec![
                "--aaa".into(),
                format!(
                    "radius,server=127.0.0.1:{RADIUS_PORT},secret_file={},netns={}",
                    path_str(&self.radius_secret_file())?,
                    path_str(&self.lab.ns_path(AAA_NODE))?
                ),
            ],
        })
    }

    fn start_lma(&mut self, policy: &Path, tuning: &Tuning) -> Result<(), LabError> {
        let t = &self.topology;
        let mut args: Vec<String> = vec![
            path_str(&self.binaries.lma)?.into(),
            "--name".into(),
            "lma".into(),
            "--policy".into(),
            path_str(policy)?.into(),
            "--ctl".into(),
            path_str(&self.sock("lma"))?.into(),
            "--ra-interval-ms".into(),
            "2000".into(),
            "--heartbeat-interval-ms".into(),
            tuning.heartbeat_interval_ms.to_string(),
            "--port".into(),
            format!(
                "core,addr={},addr={LMA_CORE4},advertise",
                lma_core_address()
            ),
        ];
        for m in &t.mags {
            args.push("--port".into());
            args.push(format!(
                "{},addr={}/64,advertise",
                m.wan_segment(),
                m.lma_address()
            ));
        }
        if tuning.insecure {
            args.push("--insecure".into());
        }
        args.extend(self.aaa_arg()?);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        self.lab.spawn(Some("lma"), "lma", &argv)
    }

    fn start_mag(&mut self, m: &Mag, policy: &Path, tuning: &Tuning) -> Result<(), LabError> {
        let mut args: Vec<String> = vec![
            path_str(&self.binaries.mag)?.into(),
            "--name".into(),
            m.name.clone(),
            "--uplink".into(),
            format!("wan,addr={}/64", m.proxy_coa()),
            "--access".into(),
            format!("access,mac={MAG_ACCESS_MAC}"),
            "--lma".into(),
            m.lma_address().to_string(),
            "--policy".into(),
            path_str(policy)?.into(),
            "--ctl".into(),
            path_str(&self.sock(&m.name))?.into(),
            "--ra-interval-ms".into(),
            tuning.mag_ra_interval_ms.to_string(),
            "--lifetime".into(),
            tuning.lifetime_s.to_string(),
            "--heartbeat-interval-ms".into(),
            tuning.heartbeat_interval_ms.to_string(),
        ];
        args.extend(tuning.mag_args.iter().cloned());
        if tuning.insecure {
            args.push("--insecure".into());
        }
        args.extend(self.aaa_arg()?);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        self.lab.spawn(Some(&m.name), &m.name, &argv)
    }

    /// Where a segment captured from the start (see [`Tuning::capture`]) is written.
    pub fn pcap(&self, segment: &str) -> PathBuf {
        self.lab.workdir().join(format!("{segment}.pcap"))
    }

    fn start_bridge(&mut self) -> Result<(), LabError> {
        let t = self.topology.clone();
        // The home agent and the access routers open plain TAPs, so their
        // packet-socket members carry plain frames too (docs/offloads.md): with
        // virtio-net headers, TCP through the home agent crawled (2 MB of
        // pre-copy took 40 s instead of 0.3 s).
        let plain = if t.mobility == super::Mobility::Mipv6 {
            ",offload=none"
        } else {
            ""
        };
        let attach = |node: &str, ifname: &str, name: &str| {
            format!(
                "attach:{}:{ifname},name={name}{plain}",
                self.lab.ns_path(node).display()
            )
        };
        let tap = |node: &str, extra: &str| {
            format!(
                "tap:{}:eth0,name={node}{extra}",
                self.lab.ns_path(node).display()
            )
        };
        let mut segments = Vec::new();
        let mut core = vec![attach("lma", "core", "lma-core")];
        core.extend(t.correspondents.iter().map(|c| tap(c, "")));
        segments.push(format!("core={}", core.join(",")));
        for m in &t.mags {
            let members = [
                attach("lma", &m.wan_segment(), &format!("lma-{}", m.wan_segment())),
                attach(&m.name, "wan", &format!("{}-wan", m.name)),
                tap(&m.host(), ""),
            ];
            segments.push(format!("{}={}", m.wan_segment(), members.join(",")));
            let mut access = vec![attach(&m.name, "access", &format!("{}-access", m.name))];
            access.extend(
                t.vms
                    .iter()
                    .filter(|v| v.mag == m.name && v.kind == VmKind::Netns)
                    .map(|v| tap(&v.name, &format!(",mac={}", v.mac()))),
            );
            access.extend(self.qemu_members(&m.host()));
            segments.push(format!("{}={}", m.access_segment(), access.join(",")));
        }
        let sock = self.sock("bridge");
        let mut args: Vec<String> = vec![
            path_str(&self.binaries.tapbridge)?.into(),
            "--ctl".into(),
            path_str(&sock)?.into(),
            "--seed".into(),
            t.seed.to_string(),
        ];
        for s in segments {
            args.push("--segment".into());
            args.push(s);
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        self.lab.spawn(None, "bridge", &argv)?;
        crate::wait::until(Duration::from_secs(10), || Ok(sock.exists().then_some(())))?.ok_or_else(
            || {
                LabError::Check(format!(
                    "tapbridge did not open its control socket; its log:\n{}",
                    self.lab.log_of("bridge")
                ))
            },
        )
    }

    /// Applies each MAG's WAN round trip and loss on the LMA's side of its link,
    /// half the delay in each direction, as the paper's NetEm on the LMA.
    fn set_wan_links(&mut self) -> Result<(), LabError> {
        for m in self.topology.mags.clone() {
            self.set_wan(&m.name, m.wan_rtt_ms, m.wan_loss)?;
        }
        Ok(())
    }

    /// Sets the round trip and loss of `mag`'s WAN link now.
    pub fn set_wan(&mut self, mag: &str, rtt_ms: f64, loss: f64) -> Result<(), LabError> {
        let m = self
            .topology
            .mag(mag)
            .ok_or_else(|| LabError::Check(format!("no MAG named {mag}")))?
            .clone();
        let params = tapbridge::link::LinkParams {
            delay_us: (rtt_ms * 500.0).round() as u64,
            loss_ppm: (loss * 1e6).round() as u32,
            ..Default::default()
        };
        self.bridge(&BridgeRequest::Link {
            member: format!("lma-{}", m.wan_segment()),
            dir: tapbridge::ctl::Direction::Both,
            params,
        })?;
        Ok(())
    }

    fn wait_for_addresses(&mut self, rejected: &[(String, String)]) -> Result<(), LabError> {
        let t = self.topology.clone();
        let core: Ipv6Net = CORE_PREFIX
            .parse()
            .map_err(|_| LabError::Check("bad core prefix".into()))?;
        let mut wanted: Vec<(String, Ipv6Net)> =
            t.correspondents.iter().map(|c| (c.clone(), core)).collect();
        wanted.extend(t.mags.iter().map(|m| (m.host(), m.wan_prefix())));
        let served: Vec<_> = t
            .vms
            .iter()
            .filter(|v| v.in_policy && v.kind == VmKind::Netns)
            .filter(|v| !rejected.iter().any(|(r, _)| *r == v.name))
            .cloned()
            .collect();
        wanted.extend(served.iter().filter(|v| v.family.has_ipv6()).map(|v| {
            let prefix = match (t.mobility, t.mag(&v.mag)) {
                (Mobility::Mipv6, Some(m)) => m.access_prefix(),
                _ => v.hnp(),
            };
            (v.name.clone(), prefix)
        }));
        // IPv4 is PMIPv6's (RFC 5844); the MIPv6 baseline is IPv6-only.
        let mut v4 = Vec::new();
        if t.mobility == Mobility::Pmipv6 {
            for c in &t.correspondents {
                let a = self.configure_correspondent4(c)?;
                self.addresses4.push((c.clone(), a));
            }
            v4 = served.into_iter().filter(|v| v.family.has_ipv4()).collect();
            for v in &v4 {
                self.start_dhcp_client(&v.name)?;
            }
        }
        for (node, prefix) in wanted {
            let addr = host::wait_for_slaac(&self.lab, &node, "eth0", prefix, SLAAC_TIMEOUT)?
                .ok_or_else(|| {
                    LabError::Check(format!(
                        "{node} got no address in {prefix} within {SLAAC_TIMEOUT:?}\n{}",
                        self.diagnosis()
                    ))
                })?;
            say(&format!("{node} autoconfigured {addr}"));
            self.addresses.push((node, addr));
        }
        for v in &v4 {
            let a = self.wait_for_lease(&v.name, v.ipv4())?;
            say(&format!("{} leased {a} by DHCP (busybox udhcpc)", v.name));
            self.addresses4.push((v.name.clone(), a));
        }
        Ok(())
    }

    /// The routers' logs and the bridge's tables, for a failure message.
    pub fn diagnosis(&self) -> String {
        let mut s = String::new();
        for name in std::iter::once("lma".to_string())
            .chain(self.topology.mags.iter().map(|m| m.name.clone()))
            .chain(std::iter::once("bridge".to_string()))
            .chain((self.topology.aaa == Aaa::Radius).then(|| RADIUS_PROCESS.to_string()))
        {
            s += &format!(
                "--- {name} log ---\n{}\n",
                self.lab.log_of(&name).trim_end()
            );
        }
        s + &self.guest_consoles()
    }

    pub fn address(&self, node: &str) -> Option<Ipv6Addr> {
        self.addresses
            .iter()
            .find(|(n, _)| n == node)
            .map(|(_, a)| *a)
    }

    /// Runs `args` in `node`'s namespace, or in a QEMU guest's shell.
    pub fn exec(&self, node: &str, args: &[&str]) -> Result<String, LabError> {
        if self.is_qemu(node) {
            return self.guest_exec(node, args);
        }
        self.lab.exec(node, args)
    }

    /// Sends one request to a router's control socket (`lma`, a MAG's name).
    pub fn router(
        &self,
        name: &str,
        request: &router::ctl::Request,
    ) -> Result<Vec<Table>, LabError> {
        ask(&self.sock(name), request)
    }

    /// Sends one request to tapbridge.
    pub fn bridge(&self, request: &BridgeRequest) -> Result<Vec<Table>, LabError> {
        ask(&self.sock("bridge"), request)
    }
}

pub(super) fn lma_core_address() -> &'static str {
    "2001:db8:c::1/64"
}

/// One request to a control socket; its tables, or the refusal as an error.
fn ask(path: &Path, request: &impl serde::Serialize) -> Result<Vec<Table>, LabError> {
    let line = serde_json::to_string(request).map_err(|e| LabError::Check(e.to_string()))?;
    router::netio::client::ask_tables(path, &line).map_err(|e| LabError::Check(e.to_string()))
}
