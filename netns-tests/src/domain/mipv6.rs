//! The lab as the paper's Mobile IPv6 baseline (`mobility = "mipv6"`): the
//! LMA's namespace runs the home agent (`lma home-agent`), each MAG's runs a
//! plain access router with its own prefix (`mag access-router`, RAs every
//! 70 ms as the paper's radvd), and each VM runs the mobile node agent
//! (`tapmip-mn`) beside its kernel. Same namespaces, links, WAN emulation and
//! probes as PMIPv6, so the two are measured side by side.

use std::net::Ipv6Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use router::ctl::{Request, Table};

use super::run::{Domain, lma_core_address, path_str, say};
use super::topology::{HOME_AGENT, HOME_PREFIX, Mag};
use crate::LabError;

/// The paper's radvd: an RA every 0.07 s.
pub const RA_INTERVAL_MS: u64 = 70;
/// How long a VM's first registration may take (its DAD ran before).
const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(20);

impl Domain {
    pub(super) fn start_home_agent(&mut self, policy: &Path) -> Result<(), LabError> {
        let t = &self.topology;
        let mut args: Vec<String> = vec![
            path_str(&self.binaries.lma)?.into(),
            "home-agent".into(),
            "--name".into(),
            "ha".into(),
            "--address".into(),
            HOME_AGENT.to_string(),
            "--home-prefix".into(),
            HOME_PREFIX.into(),
            "--policy".into(),
            path_str(policy)?.into(),
            "--ctl".into(),
            path_str(&self.sock("lma"))?.into(),
            "--ra-interval-ms".into(),
            "2000".into(),
            "--port".into(),
            format!("core,addr={},advertise", lma_core_address()),
        ];
        for m in &t.mags {
            args.push("--port".into());
            args.push(format!(
                "{},addr={}/64,advertise",
                m.wan_segment(),
                m.lma_address()
            ));
            args.push("--route".into());
            args.push(format!("{},via={}", m.access_prefix(), m.proxy_coa()));
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        self.lab.spawn(Some("lma"), "lma", &argv)
    }

    pub(super) fn start_access_router(&mut self, m: &Mag) -> Result<(), LabError> {
        let interval = RA_INTERVAL_MS.to_string();
        let args: Vec<String> = vec![
            path_str(&self.binaries.mag)?.into(),
            "access-router".into(),
            "--name".into(),
            m.name.clone(),
            "--uplink".into(),
            format!("wan,addr={}/64", m.proxy_coa()),
            "--gateway".into(),
            m.lma_address().to_string(),
            "--access".into(),
            format!(
                "access,prefix={},mac={}",
                m.access_prefix(),
                m.access_router_mac()
            ),
            "--ra-min-interval-ms".into(),
            interval.clone(),
            "--ra-max-interval-ms".into(),
            interval,
            "--ctl".into(),
            path_str(&self.sock(&m.name))?.into(),
        ];
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        self.lab.spawn(Some(&m.name), &m.name, &argv)
    }

    /// Starts every VM's mobile node agent and waits for its home
    /// registration; the VM is then known (and probed) by its home address.
    pub(super) fn start_mobile_nodes(&mut self) -> Result<(), LabError> {
        for v in self.topology.vms.clone() {
            let mn = path_str(&self.binaries.mn)?.to_string();
            let hoa = v.home_address().to_string();
            let ha = HOME_AGENT.to_string();
            self.lab.spawn(
                Some(&v.name),
                &format!("mn-{}", v.name),
                &[&mn, "--home-address", &hoa, "--home-agent", &ha],
            )?;
            let coa = self.address(&v.name);
            let bound = crate::wait::until(REGISTRATION_TIMEOUT, || {
                Ok(self.care_of(v.home_address()).filter(|c| Some(*c) == coa))
            })?;
            if bound.is_none() {
                return Err(LabError::Check(format!(
                    "{}'s home registration did not reach the home agent within {REGISTRATION_TIMEOUT:?}; its agent's log:\n{}\n{}",
                    v.name,
                    self.lab.log_of(&format!("mn-{}", v.name)),
                    self.diagnosis()
                )));
            }
            say(&format!(
                "{} registered home address {hoa} with care-of address {}",
                v.name,
                coa.map_or("-".into(), |c| c.to_string())
            ));
            for (node, addr) in self.addresses.iter_mut() {
                if *node == v.name {
                    *addr = v.home_address();
                }
            }
        }
        Ok(())
    }

    /// The home agent's binding table.
    pub fn home_bindings(&self) -> Result<Table, LabError> {
        self.router("lma", &Request::Bindings {})?
            .into_iter()
            .next()
            .ok_or_else(|| LabError::Check("the home agent answered no table".into()))
    }

    /// The care-of address the home agent has bound `hoa` to.
    pub fn care_of(&self, hoa: Ipv6Addr) -> Option<Ipv6Addr> {
        let table = self.home_bindings().ok()?;
        let col = |name: &str| table.columns.iter().position(|c| c == name);
        let (h, c) = (col("home_address")?, col("care_of_address")?);
        let hoa = hoa.to_string();
        table
            .rows
            .iter()
            .find(|r| r.get(h) == Some(&hoa))
            .and_then(|r| r.get(c)?.parse().ok())
    }

    /// After `vm` resumed on `to`'s link: waits until the home agent binds its
    /// home address to a care-of address in `to`'s prefix; returns how long
    /// after `resumed` that was seen (within the 100 ms the poll takes).
    pub(super) fn mip_handoff(
        &self,
        vm: &str,
        to: &str,
        resumed: Instant,
        timeout: Duration,
    ) -> Result<Option<f64>, LabError> {
        let (Some(v), Some(m)) = (self.topology.vm(vm), self.topology.mag(to)) else {
            return Err(LabError::Check(format!("no VM {vm} or MAG {to}")));
        };
        let prefix = m.access_prefix();
        let hoa = v.home_address();
        crate::wait::until(timeout, || {
            Ok(self
                .care_of(hoa)
                .filter(|c| prefix.contains(c))
                .map(|_| resumed.elapsed().as_secs_f64() * 1e3))
        })
    }
}
