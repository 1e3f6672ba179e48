//! IPv4 in the lab (RFC 5844): the correspondents get a static address on
//! the LMA's core link, and every VM whose topology entry says `dual` or
//! `ipv4` runs a real DHCP client from Debian, busybox's `udhcpc`, in its
//! namespace: it takes its IPv4 home address, mask, default router and MTU
//! from its MAG's DHCP server and renews the lease there, as a guest does.
//! An `ipv4` VM has IPv6 disabled in its namespace.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::Ipv4Net;

use super::run::Domain;
use super::topology::LMA_CORE4;
use crate::LabError;

/// How long a VM may take to get its lease (its MAG registers it first).
const LEASE_TIMEOUT: Duration = Duration::from_secs(30);

/// The udhcpc event script: it configures what the lease says and logs
/// each event, one line, for the tests and `make lab` to read.
const SCRIPT: &str = r#"#!/bin/sh
# udhcpc calls this with the event in $1 and the lease in the environment.
log="${TAPMIP_DHCP_LOG:-/dev/null}"
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set dev "$interface" up
    ;;
bound|renew)
    ip -4 addr replace "$ip/$subnet" dev "$interface"
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    for r in $router; do ip -4 route replace default via "$r" dev "$interface"; break; done
    ;;
esac
echo "$1 ip=$ip subnet=$subnet router=$router lease=$lease serverid=$serverid mtu=$mtu" >> "$log"
"#;

impl Domain {
    /// The udhcpc event script, written once into the lab's directory.
    fn dhcp_script(&self) -> Result<PathBuf, LabError> {
        let path = self.lab.workdir().join("udhcpc.script");
        if !path.exists() {
            let io = |error| LabError::Io {
                what: format!("writing {}", path.display()),
                error,
            };
            std::fs::write(&path, SCRIPT).map_err(io)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
        }
        Ok(path)
    }

    /// Where `vm`'s DHCP client logs its events.
    pub fn dhcp_events_file(&self, vm: &str) -> PathBuf {
        self.lab.workdir().join(format!("dhcp-{vm}.events"))
    }

    /// Every event `vm`'s DHCP client logged (`bound ip=...`, `renew ...`).
    pub fn dhcp_events(&self, vm: &str) -> Vec<String> {
        std::fs::read_to_string(self.dhcp_events_file(vm))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Starts busybox's udhcpc in `vm`'s namespace, in the foreground of a
    /// lab process named `dhcp-<vm>`: it asks every second, ten times, then
    /// waits 2 s before asking again (`-t 10 -T 1 -A 2`), and asks for the
    /// interface MTU too.
    pub fn start_dhcp_client(&mut self, vm: &str) -> Result<(), LabError> {
        let script = self.dhcp_script()?;
        let log = self.dhcp_events_file(vm);
        let script = script.display().to_string();
        let env_log = format!("TAPMIP_DHCP_LOG={}", log.display());
        let argv = [
            "env", &env_log, "busybox", "udhcpc", "-i", "eth0", "-f", "-s", &script, "-t", "10",
            "-T", "1", "-A", "2", "-O", "mtu",
        ];
        self.lab.spawn(Some(vm), &format!("dhcp-{vm}"), &argv)
    }

    /// Asks `vm`'s DHCP client to renew its lease now (SIGUSR1: a unicast
    /// DHCPREQUEST to the server that gave it, RFC 2131 4.4.5).
    pub fn renew_dhcp(&mut self, vm: &str) -> Result<(), LabError> {
        let pid = self.lab.pid(&format!("dhcp-{vm}"))?;
        // The process is `ip netns exec` turned into `env`, turned into busybox.
        let pid = libc::pid_t::try_from(pid).map_err(|_| LabError::Check("pid".into()))?;
        // SAFETY: kill(2) with a pid of a child this lab started and a valid signal.
        let rc = unsafe { libc::kill(pid, libc::SIGUSR1) };
        if rc != 0 {
            return Err(LabError::Check(format!(
                "signalling {vm}'s DHCP client: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    /// `vm`'s IPv4 address on eth0 with its prefix, if it has one.
    pub fn vm_ipv4(&self, vm: &str) -> Result<Option<Ipv4Net>, LabError> {
        let out = self.exec(vm, &["ip", "-4", "-o", "addr", "show", "dev", "eth0"])?;
        Ok(out
            .split_whitespace()
            .skip_while(|w| *w != "inet")
            .nth(1)
            .and_then(|a| a.parse().ok()))
    }

    /// `vm`'s IPv4 default route, as `ip` prints it.
    pub fn vm_ipv4_route(&self, vm: &str) -> Result<String, LabError> {
        Ok(self
            .exec(vm, &["ip", "-4", "route", "show", "default"])?
            .trim()
            .to_string())
    }

    /// Waits until `vm` holds the address its MAG's DHCP server hands out.
    pub fn wait_for_lease(&self, vm: &str, want: Ipv4Net) -> Result<Ipv4Addr, LabError> {
        crate::wait::until(LEASE_TIMEOUT, || {
            Ok(self.vm_ipv4(vm)?.filter(|a| *a == want).map(|a| a.addr()))
        })?
        .ok_or_else(|| {
            LabError::Check(format!(
                "{vm} got no DHCP lease for {want} within {LEASE_TIMEOUT:?}; its client said:\n{}\n{}",
                self.lab.log_of(&format!("dhcp-{vm}")),
                self.diagnosis()
            ))
        })
    }

    /// A correspondent's static IPv4 address on the core link, with the LMA
    /// as its default router.
    pub(super) fn configure_correspondent4(&self, node: &str) -> Result<Ipv4Addr, LabError> {
        let addr = self
            .topology
            .correspondent_ipv4(node)
            .ok_or_else(|| LabError::Check(format!("{node} is no correspondent")))?;
        let lma: Ipv4Net = LMA_CORE4
            .parse()
            .map_err(|_| LabError::Check("bad LMA core address".into()))?;
        let a = addr.to_string();
        self.exec(node, &["ip", "-4", "addr", "add", &a, "dev", "eth0"])?;
        let via = lma.addr().to_string();
        self.exec(node, &["ip", "-4", "route", "add", "default", "via", &via])?;
        Ok(addr.addr())
    }

    /// A node's IPv4 address: a correspondent's, or a VM's lease.
    pub fn ipv4_of(&self, node: &str) -> Result<Ipv4Addr, LabError> {
        if let Some(a) = self.topology.correspondent_ipv4(node) {
            return Ok(a.addr());
        }
        self.vm_ipv4(node)?
            .map(|a| a.addr())
            .ok_or_else(|| LabError::Check(format!("{node} has no IPv4 address")))
    }
}
