//! The paper's probes run across the domain: a UDP echo stream client -> VM (service
//! downtime, total migration time) and a TCP stream VM -> client (survivability;
//! client -> VM for a QEMU guest, whose servers its init starts), over IPv6 or
//! over IPv4 (a dual-stack VM runs both pairs at once).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::run::Domain;
use crate::LabError;
use crate::probe::report::{TcpReport, UdpReport, read_report};

const UDP_PORT: u16 = 7000;
const TCP_PORT: u16 = 7001;
/// The IPv4 probes' ports, so both families can run at once.
const UDP_PORT4: u16 = 7010;
const TCP_PORT4: u16 = 7011;
/// The paper's probe interval, in ms.
pub const PAPER_INTERVAL_MS: u64 = 10;

/// Which IP version a pair of probes runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeFamily {
    Ipv6,
    Ipv4,
}

impl ProbeFamily {
    pub fn name(self) -> &'static str {
        match self {
            ProbeFamily::Ipv6 => "IPv6",
            ProbeFamily::Ipv4 => "IPv4",
        }
    }
}

/// Probes that are running until [`Domain::stop_probes`].
pub struct Probes {
    /// Names the probes' processes and files: the VM, and `-4` for IPv4.
    vm: String,
    stop_file: PathBuf,
    udp_report: PathBuf,
    tcp_report: PathBuf,
    /// A second UDP stream at a finer interval, beside the first.
    fine_report: Option<PathBuf>,
}

impl Domain {
    fn wait_listening(&self, name: &str) -> Result<(), LabError> {
        crate::wait::until(Duration::from_secs(10), || {
            Ok(self.lab.log_of(name).contains("listening on").then_some(()))
        })?
        .ok_or_else(|| {
            LabError::Check(format!(
                "probe {name} did not start: {}",
                self.lab.log_of(name)
            ))
        })
    }

    /// Starts both IPv6 probes between `vm` and the correspondent `client`,
    /// the paper's way: a request every 10 ms.
    pub fn start_probes(&mut self, vm: &str, client: &str) -> Result<Probes, LabError> {
        self.start_probes_every(vm, client, PAPER_INTERVAL_MS)
    }

    /// Both IPv6 probes, the UDP one sending every `udp_interval_ms` (1 ms
    /// resolves what the paper's 10 ms cannot: a downtime of the pause + 2 ms).
    pub fn start_probes_every(
        &mut self,
        vm: &str,
        client: &str,
        udp_interval_ms: u64,
    ) -> Result<Probes, LabError> {
        self.start_probes_with(vm, client, ProbeFamily::Ipv6, udp_interval_ms, None)
    }

    /// Starts both probes between `vm` and `client` over `family`, every 10 ms.
    pub fn start_probes_over(
        &mut self,
        vm: &str,
        client: &str,
        family: ProbeFamily,
    ) -> Result<Probes, LabError> {
        self.start_probes_with(vm, client, family, PAPER_INTERVAL_MS, None)
    }

    /// Both probes over `family`, and with `fine_interval_ms` a second UDP
    /// stream to the same echo beside the first (the paper's 10 ms and 1 ms
    /// from one migration).
    pub fn start_probes_with(
        &mut self,
        vm: &str,
        client: &str,
        family: ProbeFamily,
        udp_interval_ms: u64,
        fine_interval_ms: Option<u64>,
    ) -> Result<Probes, LabError> {
        let udp_interval = udp_interval_ms.max(1).to_string();
        let tcp_interval = PAPER_INTERVAL_MS.to_string();
        let (vm_addr, client_addr, udp_port, tcp_port, any, tag): (IpAddr, IpAddr, _, _, _, _) =
            match family {
                ProbeFamily::Ipv6 => (
                    self.global_of(vm)?.into(),
                    self.global_of(client)?.into(),
                    UDP_PORT,
                    TCP_PORT,
                    "[::]",
                    vm.to_string(),
                ),
                ProbeFamily::Ipv4 => (
                    self.ipv4_of(vm)?.into(),
                    self.ipv4_of(client)?.into(),
                    UDP_PORT4,
                    TCP_PORT4,
                    "0.0.0.0",
                    format!("{vm}-4"),
                ),
            };
        let at = |a: IpAddr, port: u16| std::net::SocketAddr::new(a, port).to_string();
        let probe = self
            .binaries
            .probe
            .to_str()
            .ok_or_else(|| LabError::Check("probe path is not UTF-8".into()))?
            .to_string();
        let dir = self.lab.workdir().to_path_buf();
        let p = Probes {
            vm: tag.clone(),
            stop_file: dir.join(format!("probes-{tag}.stop")),
            udp_report: dir.join(format!("udp-{tag}.json")),
            tcp_report: dir.join(format!("tcp-{tag}.json")),
            fine_report: fine_interval_ms.map(|_| dir.join(format!("udp-fine-{tag}.json"))),
        };
        let _ = std::fs::remove_file(&p.stop_file);
        let s = |p: &PathBuf| p.display().to_string();
        // A QEMU guest's init runs the echo and a TCP server (guest/init.sh), so
        // its TCP stream goes the other way: client -> guest.
        let qemu = self.is_qemu(vm);
        let (tcp_sender, tcp_to) = match qemu {
            true => (client, vm_addr),
            false => (vm, client_addr),
        };
        if !qemu {
            self.lab.spawn(
                Some(vm),
                &format!("udp-echo-{tag}"),
                &[&probe, "udp-echo", "--listen", &format!("{any}:{udp_port}")],
            )?;
            self.lab.spawn(
                Some(client),
                &format!("tcp-server-{tag}"),
                &[
                    &probe,
                    "tcp-server",
                    "--listen",
                    &format!("{any}:{tcp_port}"),
                ],
            )?;
            self.wait_listening(&format!("udp-echo-{tag}"))?;
            self.wait_listening(&format!("tcp-server-{tag}"))?;
        }
        self.lab.spawn(
            Some(client),
            &format!("udp-client-{tag}"),
            &[
                &probe,
                "udp-client",
                "--to",
                &at(vm_addr, udp_port),
                "--interval-ms",
                &udp_interval,
                "--until-file",
                &s(&p.stop_file),
                "--out",
                &s(&p.udp_report),
            ],
        )?;
        if let (Some(ms), Some(report)) = (fine_interval_ms, &p.fine_report) {
            self.lab.spawn(
                Some(client),
                &format!("udp-fine-client-{tag}"),
                &[
                    &probe,
                    "udp-client",
                    "--to",
                    &at(vm_addr, udp_port),
                    "--interval-ms",
                    &ms.max(1).to_string(),
                    "--until-file",
                    &s(&p.stop_file),
                    "--out",
                    &s(report),
                ],
            )?;
        }
        self.lab.spawn(
            Some(tcp_sender),
            &format!("tcp-client-{tag}"),
            &[
                &probe,
                "tcp-client",
                "--to",
                &at(tcp_to, tcp_port),
                "--interval-ms",
                &tcp_interval,
                "--until-file",
                &s(&p.stop_file),
                "--out",
                &s(&p.tcp_report),
            ],
        )?;
        Ok(p)
    }

    /// Ends both streams and returns their reports.
    pub fn stop_probes(&mut self, p: Probes) -> Result<(UdpReport, TcpReport), LabError> {
        self.stop_all_probes(p).map(|(udp, tcp, _)| (udp, tcp))
    }

    /// Ends every stream; the third report is the finer UDP stream's.
    pub fn stop_all_probes(
        &mut self,
        p: Probes,
    ) -> Result<(UdpReport, TcpReport, Option<UdpReport>), LabError> {
        std::fs::write(&p.stop_file, b"stop").map_err(|error| LabError::Io {
            what: format!("writing {}", p.stop_file.display()),
            error,
        })?;
        let mut clients = vec![
            format!("udp-client-{}", p.vm),
            format!("tcp-client-{}", p.vm),
        ];
        if p.fine_report.is_some() {
            clients.push(format!("udp-fine-client-{}", p.vm));
        }
        for name in clients {
            let lab = &mut self.lab;
            crate::wait::until(Duration::from_secs(10), || {
                Ok(lab.exited(&name)?.map(|_| ()))
            })?;
        }
        for name in [format!("udp-echo-{}", p.vm), format!("tcp-server-{}", p.vm)] {
            let _ = self.lab.stop(&name, Duration::from_secs(2));
        }
        let report_err =
            |e: crate::probe::ProbeError| LabError::Check(format!("probe report: {e}"));
        let udp: UdpReport = read_report(&p.udp_report).map_err(report_err)?;
        let tcp: TcpReport = read_report(&p.tcp_report).map_err(report_err)?;
        let fine = match &p.fine_report {
            Some(path) => Some(read_report(path).map_err(report_err)?),
            None => None,
        };
        Ok((udp, tcp, fine))
    }

    /// A node's global address, as autoconfigured.
    pub fn global_of(&self, node: &str) -> Result<std::net::Ipv6Addr, LabError> {
        self.address(node)
            .ok_or_else(|| LabError::Check(format!("{node} has no global address")))
    }
}
