//! QEMU guests as the domain's VMs (`kind = "qemu"` in the topology): booted on
//! their MAG's hypervisor host, their NIC a unix socket into tapbridge, and
//! live-migrated by QEMU itself.
//!
//! ```text
//!  host1 netns: qemu (vm1) --virtio-net-- dgram socket --> tapbridge access1 (vm1@host1)
//!  host2 netns: qemu -incoming            dgram socket --> tapbridge access2 (vm1@host2)
//!  migrate: host1 --TCP--> wan1 -- LMA -- wan2 --> host2   (the emulated WAN)
//! ```
//!
//! Every hypervisor host has a port for every QEMU guest on its MAG's access
//! link, as a real host has a bridge its VMs plug into: a migration needs no
//! help from tapbridge. The target QEMU announces the guest itself (RARP) and the
//! guest sends its unsolicited NAs; the new MAG attaches it from those.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::migrate::MigrationTimes;
use super::run::Domain;
use super::topology::{QemuNetdev, Vm, VmKind};
use crate::LabError;
use crate::qemu::image::{self, GuestImage};
use crate::qemu::machine::{self, AccelChoice, Machine, NetBackend};
use crate::qemu::qmp::{MigrationInfo, Qmp};
use crate::qemu::shell;

const MEMORY_MIB: u32 = 128;
/// The migration stream's TCP port on the target host.
const MIGRATION_PORT: u16 = 7200;
const KVM_PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Boot, virtio-net, SLAAC and the probe servers, under TCG on a busy machine.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
const MIGRATION_TIMEOUT: Duration = Duration::from_secs(300);
const SHELL_TIMEOUT: Duration = Duration::from_secs(20);
/// What the guest's init prints once it is configured (`guest/init.sh`).
const READY_MARK: &str = "tapmip-guest: ready";

/// One running QEMU guest.
struct Guest {
    vm: String,
    host: String,
    machine: Machine,
    qmp: Qmp,
}

/// The domain's QEMU guests, and what they share.
#[derive(Default)]
pub struct Guests {
    image: Option<GuestImage>,
    accel: Option<AccelChoice>,
    running: Vec<Guest>,
}

/// QEMU's view of a migration.
#[derive(Debug, Clone)]
pub struct QemuMigration {
    /// `query-migrate` on the source once it completed.
    pub info: MigrationInfo,
    /// The source's STOP event and the target's RESUME event (QEMU's clocks).
    pub stopped_at: SystemTime,
    pub resumed_at: SystemTime,
}

/// A frame the guest sent on its new access link after the resume.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    /// Milliseconds after the target's RESUME event.
    pub after_ms: f64,
    pub what: String,
}

fn process_name(vm: &str, host: &str) -> String {
    format!("qemu-{vm}@{host}")
}

fn millis_between(from: SystemTime, to: SystemTime) -> f64 {
    match to.duration_since(from) {
        Ok(d) => d.as_secs_f64() * 1e3,
        Err(e) => -e.duration().as_secs_f64() * 1e3,
    }
}

impl Domain {
    pub fn is_qemu(&self, vm: &str) -> bool {
        self.topology.vm(vm).is_some_and(|v| v.kind == VmKind::Qemu)
    }

    /// KVM or TCG, and why, once a guest booted.
    pub fn accel(&self) -> Option<&AccelChoice> {
        self.qemu.accel.as_ref()
    }

    /// The Debian kernel the guests boot.
    pub fn guest_kernel(&self) -> Option<&str> {
        self.qemu.image.as_ref().map(|i| i.kernel_version.as_str())
    }

    /// tapbridge's name for the port of `vm` on `host`.
    pub fn guest_member(vm: &str, host: &str) -> String {
        format!("{vm}@{host}")
    }

    fn guest_file(&self, vm: &str, host: &str, what: &str) -> PathBuf {
        self.lab.workdir().join(format!("{vm}-{host}.{what}"))
    }

    /// The tapbridge members of MAG `host`'s access link for every QEMU guest.
    pub(super) fn qemu_members(&self, host: &str) -> Vec<String> {
        self.topology
            .vms
            .iter()
            .filter(|v| v.kind == VmKind::Qemu)
            .map(|v| {
                let bridge = self.guest_file(&v.name, host, "sock");
                let name = Self::guest_member(&v.name, host);
                match v.netdev {
                    QemuNetdev::Dgram => format!(
                        "dgram:{},peer={},name={name}",
                        bridge.display(),
                        self.guest_file(&v.name, host, "qemu-sock").display()
                    ),
                    QemuNetdev::Stream => format!("stream:{},name={name}", bridge.display()),
                }
            })
            .collect()
    }

    fn machine(&self, v: &Vm, host: &str, incoming: Option<String>) -> Result<Machine, LabError> {
        let accel = self
            .qemu
            .accel
            .as_ref()
            .ok_or_else(|| LabError::Check("internal: no accelerator chosen".into()))?
            .accel;
        let bridge = self.guest_file(&v.name, host, "sock");
        let net = match v.netdev {
            QemuNetdev::Dgram => NetBackend::Dgram {
                local: self.guest_file(&v.name, host, "qemu-sock"),
                bridge,
            },
            QemuNetdev::Stream => NetBackend::Stream { bridge },
        };
        Ok(Machine {
            accel,
            memory_mib: MEMORY_MIB,
            mac: v.mac().to_string(),
            net,
            qmp: self.guest_file(&v.name, host, "qmp"),
            console: self.guest_file(&v.name, host, "console"),
            shell: self.guest_file(&v.name, host, "shell"),
            incoming,
        })
    }

    fn start_qemu(&mut self, vm: &str, host: &str, machine: &Machine) -> Result<Qmp, LabError> {
        let image = self
            .qemu
            .image
            .clone()
            .ok_or_else(|| LabError::Check("internal: no guest image".into()))?;
        machine.remove_stale_files();
        let argv = machine.argv(&image);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let name = process_name(vm, host);
        self.lab.spawn(Some(host), &name, &argv)?;
        Qmp::connect(&machine.qmp, Duration::from_secs(15)).map_err(|e| {
            LabError::Check(format!("{e}\n--- {name} ---\n{}", self.lab.log_of(&name)))
        })
    }

    /// Boots every QEMU guest on its MAG's host and waits until it has its
    /// address from its MAG and runs the probe servers.
    pub(super) fn boot_guests(&mut self) -> Result<(), LabError> {
        let vms: Vec<Vm> = self
            .topology
            .vms
            .iter()
            .filter(|v| v.kind == VmKind::Qemu)
            .cloned()
            .collect();
        if vms.is_empty() {
            return Ok(());
        }
        let dir = image::default_dir(&self.binaries.probe);
        let image = image::ensure(&self.binaries.probe, &dir)?;
        let accel = machine::choose_accel(&image, self.lab.workdir(), KVM_PROBE_TIMEOUT);
        println!(
            "lab: QEMU guests run under {} ({})",
            accel.accel.name().to_uppercase(),
            accel.why
        );
        self.qemu.image = Some(image);
        self.qemu.accel = Some(accel);
        for v in vms {
            let host = self
                .topology
                .mag(&v.mag)
                .map(|m| m.host())
                .ok_or_else(|| LabError::Check(format!("no MAG {}", v.mag)))?;
            let started = Instant::now();
            let machine = self.machine(&v, &host, None)?;
            let qmp = self.start_qemu(&v.name, &host, &machine)?;
            let console = machine.console.clone();
            self.qemu.running.push(Guest {
                vm: v.name.clone(),
                host: host.clone(),
                machine,
                qmp,
            });
            let ready = crate::wait::until(READY_TIMEOUT, || {
                let text = std::fs::read_to_string(&console).unwrap_or_default();
                Ok(text
                    .lines()
                    .find(|l| l.contains(READY_MARK))
                    .map(str::to_string))
            })?
            .ok_or_else(|| {
                LabError::Check(format!(
                    "{} did not get ready within {READY_TIMEOUT:?}\n{}",
                    v.name,
                    self.diagnosis()
                ))
            })?;
            let addr = self
                .vm_addresses(&v.name)?
                .into_iter()
                .find(|a| v.hnp().contains(a))
                .ok_or_else(|| {
                    LabError::Check(format!("{}: no address in {} ({ready})", v.name, v.hnp()))
                })?;
            println!(
                "lab: {} booted on {host} and autoconfigured {addr} in {:.1} s",
                v.name,
                started.elapsed().as_secs_f64()
            );
            self.addresses.push((v.name.clone(), addr));
        }
        Ok(())
    }

    fn guest(&self, vm: &str) -> Result<&Guest, LabError> {
        self.qemu
            .running
            .iter()
            .find(|g| g.vm == vm)
            .ok_or_else(|| LabError::Check(format!("{vm} is not running")))
    }

    /// Runs a command in a QEMU guest through its command channel.
    pub(super) fn guest_exec(&self, vm: &str, args: &[&str]) -> Result<String, LabError> {
        shell::run(&self.guest(vm)?.machine.shell, args, SHELL_TIMEOUT)
    }

    /// Each running guest's console, for a failure message.
    pub(super) fn guest_consoles(&self) -> String {
        self.qemu
            .running
            .iter()
            .map(|g| {
                let text = std::fs::read_to_string(&g.machine.console).unwrap_or_default();
                let name = process_name(&g.vm, &g.host);
                format!(
                    "--- {name} console ---\n{}\n--- {name} ---\n{}\n",
                    text.trim_end(),
                    self.lab.log_of(&name).trim_end()
                )
            })
            .collect()
    }

    /// QEMU's live migration of `vm` to MAG `to`'s host: a target QEMU with
    /// `-incoming` there, `migrate` on the source's QMP, the stream crossing the
    /// emulated WAN through the LMA.
    pub(super) fn migrate_qemu(
        &mut self,
        vm: &str,
        from: &str,
        to: &str,
        detected_before: Option<String>,
        hint: bool,
    ) -> Result<MigrationTimes, LabError> {
        let v = self
            .topology
            .vm(vm)
            .cloned()
            .ok_or_else(|| LabError::Check(format!("no VM named {vm}")))?;
        let dst_host = self
            .topology
            .mag(to)
            .map(|m| m.host())
            .ok_or_else(|| LabError::Check(format!("no MAG named {to}")))?;
        let dst_addr = self.global_of(&dst_host)?;
        let announced = self.vm_addresses(vm)?;
        let incoming = format!("tcp:[::]:{MIGRATION_PORT}");
        let target = self.machine(&v, &dst_host, Some(incoming))?;
        let mut target_qmp = self.start_qemu(vm, &dst_host, &target)?;
        let at = self
            .qemu
            .running
            .iter()
            .position(|g| g.vm == vm)
            .ok_or_else(|| LabError::Check(format!("{vm} is not running")))?;
        let qmp_err = |e: crate::qemu::qmp::QmpError| LabError::Check(e.to_string());
        let events = json!({"capabilities": [{"capability": "events", "state": true}]});
        for q in [&mut self.qemu.running[at].qmp, &mut target_qmp] {
            q.execute("migrate-set-capabilities", Some(events.clone()))
                .map_err(qmp_err)?;
        }
        let start = Instant::now();
        let started = SystemTime::now();
        let uri = format!("tcp:[{dst_addr}]:{MIGRATION_PORT}");
        self.qemu.running[at]
            .qmp
            .execute("migrate", Some(json!({ "uri": uri })))
            .map_err(qmp_err)?;
        let mut hinted_at = None;
        let info = loop {
            if hint && hinted_at.is_none() {
                // Hints the moment QEMU says the stop-and-copy began, as a
                // QMP listener beside a hypervisor would.
                let began = self.qemu.running[at]
                    .qmp
                    .events()
                    .iter()
                    .any(super::hints::stop_and_copy_began);
                if began {
                    hinted_at = Some(self.send_hints(vm, from, to)?.at - start);
                }
            }
            let source = &mut self.qemu.running[at].qmp;
            let info =
                MigrationInfo::parse(source.execute("query-migrate", None).map_err(qmp_err)?)
                    .map_err(LabError::Check)?;
            match info.status.as_str() {
                // QEMU says "completed" a moment before it fills in the times.
                "completed" if info.total_time.unwrap_or(0) > 0 => break info,
                "completed" if start.elapsed() > MIGRATION_TIMEOUT => break info,
                "failed" | "cancelled" => {
                    return Err(LabError::Check(format!(
                        "QEMU's migration of {vm} {}: {}",
                        info.status,
                        info.error_desc.unwrap_or_default()
                    )));
                }
                _ if start.elapsed() > MIGRATION_TIMEOUT => {
                    return Err(LabError::Check(format!(
                        "QEMU's migration of {vm} still {} after {MIGRATION_TIMEOUT:?}",
                        info.status
                    )));
                }
                _ => {
                    // Waits for the STOP event rather than a fixed 50 ms, so
                    // the hints follow it closely; a timeout is no error.
                    let _ = source.wait_event("STOP", Duration::from_millis(50));
                }
            }
        };
        let source = &mut self.qemu.running[at].qmp;
        let stopped_at = source
            .wait_event("STOP", Duration::from_secs(5))
            .map_err(qmp_err)?
            .at;
        let resumed_at = target_qmp
            .wait_event("RESUME", Duration::from_secs(30))
            .map_err(qmp_err)?
            .at;
        // The source is "postmigrate" now: done with.
        let _ = source.execute("quit", None);
        let old = std::mem::replace(
            &mut self.qemu.running[at],
            Guest {
                vm: vm.into(),
                host: dst_host.clone(),
                machine: target,
                qmp: target_qmp,
            },
        );
        let old_name = process_name(vm, &old.host);
        drop(old);
        let _ = self.lab.stop(&old_name, Duration::from_secs(5));
        for (v, m) in self.placement.iter_mut() {
            if v == vm {
                *m = to.to_string();
            }
        }
        let handoff_ms = self.await_handoff(to, &v.mn_id(), detected_before)?;
        let since_start = |t: SystemTime| t.duration_since(started).unwrap_or_default();
        Ok(MigrationTimes {
            from: from.into(),
            to: to.into(),
            precopy: since_start(stopped_at),
            paused_at: since_start(stopped_at),
            resumed_at: since_start(resumed_at),
            total: start.elapsed(),
            announced: announced.into_iter().map(std::net::IpAddr::V6).collect(),
            handoff_ms,
            qemu: Some(QemuMigration {
                info,
                stopped_at,
                resumed_at,
            }),
            hinted_at,
        })
    }

    /// What `vm` sent on `segment` from `since` on (its captured frames, Ethernet
    /// source its MAC), as the MAG saw them: which frame revealed the guest first.
    pub fn arrivals(
        &self,
        vm: &str,
        segment: &str,
        since: SystemTime,
        limit: usize,
    ) -> Result<Vec<Arrival>, LabError> {
        let mac = self
            .topology
            .vm(vm)
            .map(Vm::mac)
            .ok_or_else(|| LabError::Check(format!("no VM named {vm}")))?;
        let pcap = self.pcap(segment);
        let file = pcap.display().to_string();
        let since_s = since
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let filter = format!("eth.src == {mac} && frame.time_epoch >= {since_s:.6}");
        let fields = [
            "frame.time_epoch",
            "arp.opcode",
            "icmpv6.type",
            "icmpv6.nd.na.target_address",
            "ipv6.dst",
            "_ws.col.Protocol",
        ];
        let mut args = vec![
            "-r",
            &file,
            "-Y",
            &filter,
            "-T",
            "fields",
            "-E",
            "separator=|",
        ];
        args.extend(fields.iter().flat_map(|f| ["-e", *f]));
        let out = router::tshark::run(&args).map_err(|e| LabError::Check(e.to_string()))?;
        Ok(out
            .lines()
            .filter_map(|line| {
                let f: Vec<&str> = line.split('|').collect();
                let at: f64 = f.first()?.parse().ok()?;
                let what = match (f.get(1).copied()?, f.get(2).copied()?) {
                    ("3", _) => "RARP announcement (QEMU announce-self)".to_string(),
                    (_, "136") => format!("unsolicited NA {}", f.get(3)?),
                    (_, "133") => "RS".to_string(),
                    (_, "143") => "MLDv2 report".to_string(),
                    _ => format!("{} to {}", f.get(5)?, f.get(4)?),
                };
                Some(Arrival {
                    after_ms: (at - since_s) * 1e3,
                    what,
                })
            })
            .take(limit)
            .collect())
    }
}

/// The first frame of each kind in `arrivals`, in order.
pub fn first_of_each(arrivals: &[Arrival]) -> Vec<&Arrival> {
    let kind = |a: &Arrival| {
        a.what
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let mut seen: Vec<String> = Vec::new();
    arrivals
        .iter()
        .filter(|a| {
            let k = kind(a);
            let new = !seen.contains(&k);
            if new {
                seen.push(k);
            }
            new
        })
        .collect()
}

/// QEMU's figures of a migration, in one line.
pub fn describe(q: &QemuMigration) -> String {
    let ms = |v: Option<u64>| v.map_or("?".into(), |v| format!("{v} ms"));
    let ram = q.info.ram.clone().unwrap_or_default();
    format!(
        "QEMU query-migrate: total {}, downtime {}, setup {}, {:.1} MB transferred of {} MiB RAM \
         ({} dirty-sync rounds, {:.0} Mbit/s); STOP on the source -> RESUME on the target: {:.1} ms",
        ms(q.info.total_time),
        ms(q.info.downtime),
        ms(q.info.setup_time),
        ram.transferred as f64 / 1e6,
        ram.total >> 20,
        ram.dirty_sync_count,
        ram.mbps,
        millis_between(q.stopped_at, q.resumed_at)
    )
}
