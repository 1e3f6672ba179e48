//! QEMU command lines for the lab's guest, and choosing the accelerator.
//!
//! A source and the target of its migration are started from the same
//! [`Machine`]: the same devices and MAC, their own sockets and files, and the
//! target with `-incoming`. The guest's NIC is virtio-net on a socket back end
//! into tapbridge (no TAP, no root); its console is a file; its second serial
//! port is the lab's command channel ([`super::shell`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::image::GuestImage;

pub const QEMU: &str = "qemu-system-x86_64";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// The accelerator chosen and why, for the lab to say.
#[derive(Debug, Clone)]
pub struct AccelChoice {
    pub accel: Accel,
    pub why: String,
}

/// How the NIC reaches tapbridge: QEMU's `-netdev dgram` or `-netdev stream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetBackend {
    /// QEMU binds `local` and sends to `bridge` (tapbridge's `dgram:` member).
    Dgram { local: PathBuf, bridge: PathBuf },
    /// QEMU connects to tapbridge's `stream:` member listening at `bridge`.
    Stream { bridge: PathBuf },
}

/// One QEMU process of a guest.
#[derive(Debug, Clone)]
pub struct Machine {
    pub accel: Accel,
    pub memory_mib: u32,
    pub mac: String,
    pub net: NetBackend,
    pub qmp: PathBuf,
    pub console: PathBuf,
    pub shell: PathBuf,
    /// A dual-stack profile: the guest's init takes an IPv4 lease by DHCP.
    pub ipv4_dhcp: bool,
    /// `Some(uri)` for a migration target, e.g. `tcp:[::]:7200`.
    pub incoming: Option<String>,
}

/// The kernel command line: quiet, as printing to an emulated UART is slow.
const APPEND: &str = "console=ttyS0 panic=-1 quiet";
/// What tells the guest's init (`guest/init.sh`) to run its DHCP client.
const APPEND_IPV4_DHCP: &str = " tapmip.ipv4=dhcp";

impl Machine {
    pub fn argv(&self, image: &GuestImage) -> Vec<String> {
        let p = |p: &Path| p.display().to_string();
        let netdev = match &self.net {
            NetBackend::Dgram { local, bridge } => format!(
                "dgram,id=net0,local.type=unix,local.path={},remote.type=unix,remote.path={}",
                p(local),
                p(bridge)
            ),
            NetBackend::Stream { bridge } => format!(
                "stream,id=net0,server=off,addr.type=unix,addr.path={}",
                p(bridge)
            ),
        };
        let append = match self.ipv4_dhcp {
            true => format!("{APPEND}{APPEND_IPV4_DHCP}"),
            false => APPEND.to_string(),
        };
        let mut argv: Vec<String> = [
            QEMU,
            "-accel",
            self.accel.name(),
            "-machine",
            "pc",
            "-m",
            &self.memory_mib.to_string(),
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
            "-kernel",
            &p(&image.kernel),
            "-initrd",
            &p(&image.initrd),
            "-append",
            &append,
            "-netdev",
            &netdev,
            "-device",
            &format!("virtio-net-pci,netdev=net0,mac={}", self.mac),
            "-serial",
            &format!("file:{}", p(&self.console)),
            "-serial",
            &format!("unix:{},server=on,wait=off", p(&self.shell)),
            "-qmp",
            &format!("unix:{},server=on,wait=off", p(&self.qmp)),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(uri) = &self.incoming {
            argv.extend(["-incoming".into(), uri.clone()]);
        }
        argv
    }

    /// Files a previous QEMU left at this machine's paths (QEMU does not unlink
    /// its sockets when it exits): binding them again would fail.
    pub fn remove_stale_files(&self) {
        let mut paths = vec![&self.qmp, &self.console, &self.shell];
        if let NetBackend::Dgram { local, .. } = &self.net {
            paths.push(local);
        }
        for path in paths {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// KVM where a guest really runs on it, TCG otherwise. `/dev/kvm` can exist and
/// open while a guest hangs at boot (a virtual machine without VMX/SVM), so KVM
/// is tried with the guest's kernel and must print its banner within `timeout`.
/// `TAPMIP_QEMU_ACCEL=kvm|tcg` skips the probe.
pub fn choose_accel(image: &GuestImage, scratch: &Path, timeout: Duration) -> AccelChoice {
    match std::env::var("TAPMIP_QEMU_ACCEL").as_deref() {
        Ok("tcg") => {
            return AccelChoice {
                accel: Accel::Tcg,
                why: "TAPMIP_QEMU_ACCEL=tcg".into(),
            };
        }
        Ok("kvm") => {
            return AccelChoice {
                accel: Accel::Kvm,
                why: "TAPMIP_QEMU_ACCEL=kvm".into(),
            };
        }
        _ => {}
    }
    let tcg = |why: String| AccelChoice {
        accel: Accel::Tcg,
        why,
    };
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        return tcg(format!("/dev/kvm: {e}"));
    }
    let log = scratch.join("kvm-probe.console");
    let _ = std::fs::remove_file(&log);
    let p = |p: &Path| p.display().to_string();
    let child = Command::new(QEMU)
        .args([
            "-accel",
            "kvm",
            "-machine",
            "pc",
            "-m",
            "128",
            "-nodefaults",
        ])
        .args(["-no-user-config", "-display", "none", "-no-reboot"])
        .arg("-kernel")
        .arg(p(&image.kernel))
        .args(["-append", "console=ttyS0 panic=-1"])
        .arg("-serial")
        .arg(format!("file:{}", p(&log)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return tcg(format!("starting {QEMU} for a KVM probe: {e}")),
    };
    let start = Instant::now();
    let verdict = loop {
        let banner = std::fs::read_to_string(&log).is_ok_and(|t| t.contains("Linux version"));
        if banner {
            break None;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            break Some(format!("KVM: QEMU exited ({status}): {}", err.trim()));
        }
        if start.elapsed() > timeout {
            break Some(format!(
                "KVM: /dev/kvm opens but a guest printed nothing within {timeout:?} \
                 (no usable VMX/SVM here)"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&log);
    match verdict {
        None => AccelChoice {
            accel: Accel::Kvm,
            why: format!(
                "a KVM guest printed its banner in {:.1} s",
                start.elapsed().as_secs_f64()
            ),
        },
        Some(why) => tcg(why),
    }
}
