//! Live migration of a VM between MAGs, as the hypervisors' network side sees it
//! (the paper's testbed): pre-copy of the VM's memory between the two hypervisor
//! hosts over the routed path through the LMA (so it crosses the emulated WAN),
//! stop-and-copy (the VM's port is paused), the move of its port to the new MAG's
//! access link, then resume and the guest's unsolicited NAs. The VM's interface
//! never changes carrier state: its kernel does not notice the move.

use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use tapbridge::ctl::Request as BridgeRequest;

use super::qemu_vm::QemuMigration;
use super::run::Domain;
use crate::LabError;

/// TCP port of the pre-copy stream between the hypervisor hosts.
const PRECOPY_PORT: u16 = 7100;

#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// Bytes of memory pre-copied from the old host to the new one.
    pub precopy_bytes: u64,
    /// Stop-and-copy: how long the VM is paused.
    pub pause: Duration,
    /// Whether the guest announces its addresses on resume (Xen/QEMU guests do).
    pub announce: bool,
    /// Whether the hypervisor hints the MAGs as the stop-and-copy starts
    /// (proactive handover, `hints`); else they find out themselves (reactive).
    pub hints: bool,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        MigrateOptions {
            precopy_bytes: 64 << 20,
            pause: Duration::from_millis(300),
            announce: true,
            hints: true,
        }
    }
}

/// When each phase happened, relative to the start of the migration.
#[derive(Debug, Clone)]
pub struct MigrationTimes {
    pub from: String,
    pub to: String,
    pub precopy: Duration,
    pub paused_at: Duration,
    pub resumed_at: Duration,
    pub total: Duration,
    pub announced: Vec<IpAddr>,
    /// The new MAG's handoff latency, attachment detected -> RA sent, once it
    /// registered the VM (`None` if it had not within [`HANDOFF_TIMEOUT`]).
    /// MIPv6: resume -> the home agent bound the new care-of address.
    pub handoff_ms: Option<f64>,
    /// QEMU's own figures, when QEMU migrated the VM (the pre-copy, pause and
    /// resume above are then QEMU's: the options' pre-copy and pause are unused).
    pub qemu: Option<QemuMigration>,
    /// When the hints went out (proactive handover), if they did.
    pub hinted_at: Option<Duration>,
}

/// How long a migration waits for the new MAG to report its handoff.
pub const HANDOFF_TIMEOUT: Duration = Duration::from_secs(10);

impl Domain {
    /// The MAG whose access segment holds `vm` now.
    pub fn serving_mag(&self, vm: &str) -> Option<String> {
        self.placement
            .iter()
            .find(|(v, _)| v == vm)
            .map(|(_, m)| m.clone())
    }

    /// Waits up to `limit` for `mag`'s Binding Update List to show `mn_id`
    /// registered; whether it did.
    pub fn wait_registered(&self, mag: &str, mn_id: &str, limit: Duration) -> bool {
        crate::wait::until(limit, || {
            let bul = self.router(mag, &router::ctl::Request::Bindings {})?;
            let state = bul.first().and_then(|t| t.cell(mn_id, "state"));
            Ok((state == Some("registered")).then_some(()))
        })
        .ok()
        .flatten()
        .is_some()
    }

    /// Every IPv6 address of `vm`'s eth0 (global ones first, as Linux lists them), as
    /// its guest announces them after a migration.
    pub fn vm_addresses(&self, vm: &str) -> Result<Vec<Ipv6Addr>, LabError> {
        let out = self.exec(vm, &["ip", "-6", "-o", "addr", "show", "dev", "eth0"])?;
        let mut addrs: Vec<Ipv6Addr> = out
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace().skip_while(|w| *w != "inet6");
                w.nth(1)?.split('/').next()?.parse().ok()
            })
            .collect();
        addrs.sort_by_key(|a| a.is_unicast_link_local());
        Ok(addrs)
    }

    /// Migrates `vm` to MAG `to` through every phase of a live migration.
    pub fn migrate(
        &mut self,
        vm: &str,
        to: &str,
        opts: &MigrateOptions,
    ) -> Result<MigrationTimes, LabError> {
        let from = self
            .serving_mag(vm)
            .ok_or_else(|| LabError::Check(format!("no VM named {vm}")))?;
        let (src_host, dst_host, to_segment) = {
            let t = &self.topology;
            let m_from = t
                .mag(&from)
                .ok_or_else(|| LabError::Check(format!("no MAG {from}")))?;
            let m_to = t
                .mag(to)
                .ok_or_else(|| LabError::Check(format!("no MAG named {to}")))?;
            (m_from.host(), m_to.host(), m_to.access_segment())
        };
        if from == to {
            return Err(LabError::Check(format!("{vm} is already on {to}")));
        }
        let mn_id = self
            .topology
            .vm(vm)
            .map(|v| v.mn_id())
            .ok_or_else(|| LabError::Check(format!("no VM named {vm}")))?;
        let detected_before = self.bul_cell(to, &mn_id, "detected_at_ms");
        let hint = opts.hints && self.topology.mobility == super::Mobility::Pmipv6;
        if self.is_qemu(vm) {
            return self.migrate_qemu(vm, &from, to, detected_before, hint);
        }
        let start = Instant::now();
        self.precopy(&src_host, &dst_host, opts.precopy_bytes)?;
        let precopy = start.elapsed();
        let v4 = self.vm_ipv4(vm)?.map(|a| IpAddr::V4(a.addr()));
        let announced: Vec<IpAddr> = self
            .vm_addresses(vm)?
            .into_iter()
            .map(IpAddr::V6)
            .chain(v4)
            .collect();
        let hinted_at = if hint {
            let at = start.elapsed();
            self.hint_leaving(vm, &from, to)?;
            Some(at)
        } else {
            None
        };
        self.bridge(&BridgeRequest::Pause { member: vm.into() })?;
        let paused_at = start.elapsed();
        if hint {
            self.hint_arriving(vm, to)?;
        }
        std::thread::sleep(opts.pause);
        self.bridge(&BridgeRequest::Move {
            member: vm.into(),
            to: to_segment,
        })?;
        self.bridge(&BridgeRequest::Resume { member: vm.into() })?;
        let resumed = Instant::now();
        let resumed_at = start.elapsed();
        if opts.announce {
            self.bridge(&BridgeRequest::Announce {
                member: vm.into(),
                addrs: announced.clone(),
                mac: None,
            })?;
        }
        for (v, m) in self.placement.iter_mut() {
            if v == vm {
                *m = to.to_string();
            }
        }
        if self.topology.mobility == super::Mobility::Mipv6 {
            let handoff_ms = self.mip_handoff(vm, to, resumed, HANDOFF_TIMEOUT)?;
            return Ok(MigrationTimes {
                from,
                to: to.into(),
                precopy,
                paused_at,
                resumed_at,
                total: start.elapsed(),
                announced,
                handoff_ms,
                qemu: None,
                hinted_at,
            });
        }
        let handoff_ms = self.await_handoff(to, &mn_id, detected_before)?;
        Ok(MigrationTimes {
            from,
            to: to.into(),
            precopy,
            paused_at,
            resumed_at,
            total: start.elapsed(),
            announced,
            handoff_ms,
            qemu: None,
            hinted_at,
        })
    }

    /// Waits for MAG `to` to register `mn_id` afresh (a detection time other than
    /// `detected_before`) and returns its handoff latency, detection -> RA.
    pub(super) fn await_handoff(
        &self,
        to: &str,
        mn_id: &str,
        detected_before: Option<String>,
    ) -> Result<Option<f64>, LabError> {
        // A new detection time marks this attachment; its RA completes the handoff.
        crate::wait::until(HANDOFF_TIMEOUT, || {
            let detected = self.bul_cell(to, mn_id, "detected_at_ms");
            let handoff = self.bul_cell(to, mn_id, "handoff_ms");
            Ok((detected.is_some() && detected != detected_before)
                .then_some(handoff)
                .flatten()
                .and_then(|h| h.parse::<f64>().ok()))
        })
    }

    /// Column `column` of `mn_id`'s row in MAG `mag`'s binding update list.
    pub fn bul_cell(&self, mag: &str, mn_id: &str, column: &str) -> Option<String> {
        let table = self
            .router(mag, &router::ctl::Request::Bindings {})
            .ok()?
            .into_iter()
            .next()?;
        let col = table.columns.iter().position(|c| c == column)?;
        let mn = table.columns.iter().position(|c| c == "mn_id")?;
        let row = table
            .rows
            .iter()
            .find(|r| r.get(mn).is_some_and(|m| m == mn_id))?;
        row.get(col).cloned()
    }

    /// Streams `bytes` over TCP from `src` to `dst` (the hypervisor hosts) and
    /// waits until all of it has arrived.
    fn precopy(&mut self, src: &str, dst: &str, bytes: u64) -> Result<(), LabError> {
        if bytes == 0 {
            return Ok(());
        }
        let dst_addr = self
            .address(dst)
            .ok_or_else(|| LabError::Check(format!("{dst} has no address")))?;
        let listen = format!("TCP6-LISTEN:{PRECOPY_PORT},reuseaddr");
        self.lab.spawn(
            Some(dst),
            "precopy-sink",
            &["socat", "-u", &listen, "OPEN:/dev/null"],
        )?;
        let connect = format!("TCP6:[{dst_addr}]:{PRECOPY_PORT},retry=50,interval=0.1");
        let source = format!("OPEN:/dev/zero,readbytes={bytes}");
        let sent = self.exec(src, &["socat", "-u", &source, &connect]);
        let lab = &mut self.lab;
        let received = crate::wait::until(Duration::from_secs(60), || {
            Ok(lab.exited("precopy-sink")?.map(|_| ()))
        });
        let _ = self.lab.stop("precopy-sink", Duration::from_secs(1));
        sent?;
        received?
            .ok_or_else(|| LabError::Check(format!("pre-copy {src} -> {dst} did not finish")))?;
        Ok(())
    }
}
