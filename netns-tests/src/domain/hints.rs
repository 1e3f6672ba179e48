//! The hypervisor's side of a proactive handover in the lab: as a VM's
//! stop-and-copy starts, "leaving" (naming the destination) goes to the
//! source MAG's control socket and "arriving" to the destination MAG's, the
//! same JSON lines a libvirt hook or a QMP listener would send
//! (docs/proactive.md). The lab's own migration sends "leaving" just before
//! it pauses the VM (the source then copies the downlink the paused VM would
//! lose; what the VM still got before the pause reaches it twice) and
//! "arriving" right after. With QEMU guests the moment comes from QEMU
//! itself: the source's STOP event, or its MIGRATION event entering the
//! "device" phase, whichever is seen first; what reaches the source between
//! that and the "leaving" is lost.

use std::time::Instant;

use router::ctl::Request;

use super::run::Domain;
use crate::LabError;
use crate::qemu::qmp::QmpEvent;

/// How a migration's handover is driven.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Handover {
    /// The MAGs learn of it from the VM itself (its announcement, NUD).
    #[default]
    Reactive,
    /// The hypervisor's hints tell both MAGs as the stop-and-copy starts.
    Proactive,
}

impl Handover {
    pub fn name(self) -> &'static str {
        match self {
            Handover::Reactive => "reactive",
            Handover::Proactive => "proactive",
        }
    }

    /// A handover by its name in the paper's CSV files; files from before
    /// the column hold reactive runs only.
    pub fn of_name(name: &str) -> Handover {
        match name {
            "proactive" => Handover::Proactive,
            _ => Handover::Reactive,
        }
    }
}

/// When the hints went out, and what the MAGs made of them.
#[derive(Debug, Clone)]
pub struct HintsSent {
    pub at: Instant,
    /// The destination MAG's outcome ("registering", ...).
    pub arriving: String,
    pub leaving: String,
}

/// Whether `event` (from the source QEMU) says the stop-and-copy began.
pub fn stop_and_copy_began(event: &QmpEvent) -> bool {
    event.name == "STOP"
        || (event.name == "MIGRATION"
            && event.data.get("status").and_then(|s| s.as_str()) == Some("device"))
}

impl Domain {
    /// Both hints for `vm` moving from MAG `from` to MAG `to`, leaving first.
    pub fn send_hints(&self, vm: &str, from: &str, to: &str) -> Result<HintsSent, LabError> {
        let at = Instant::now();
        let leaving = self.hint_leaving(vm, from, to)?;
        let arriving = self.hint_arriving(vm, to)?;
        Ok(HintsSent {
            at,
            arriving,
            leaving,
        })
    }

    /// Tells MAG `from` that `vm` is leaving for MAG `to` (whose Proxy-CoA
    /// the hint carries, for the copies of its downlink); the MAG's outcome.
    pub fn hint_leaving(&self, vm: &str, from: &str, to: &str) -> Result<String, LabError> {
        let to_coa = self
            .topology
            .mag(to)
            .ok_or_else(|| LabError::Check(format!("no MAG named {to}")))?
            .proxy_coa()
            .to_string();
        let request = Request::Leaving {
            mac: Some(self.vm_mac(vm)?),
            mn_id: None,
            timeout_ms: None,
            to: Some(to_coa),
        };
        Ok(outcome(self.router(from, &request)?))
    }

    /// Tells MAG `to` that `vm` is arriving; the MAG's outcome.
    pub fn hint_arriving(&self, vm: &str, to: &str) -> Result<String, LabError> {
        let request = Request::Arriving {
            mac: Some(self.vm_mac(vm)?),
            mn_id: None,
            timeout_ms: None,
        };
        Ok(outcome(self.router(to, &request)?))
    }

    fn vm_mac(&self, vm: &str) -> Result<String, LabError> {
        self.topology
            .vm(vm)
            .map(|v| v.mac().to_string())
            .ok_or_else(|| LabError::Check(format!("no VM named {vm}")))
    }
}

/// The outcome column of a MAG's answer to a hint.
fn outcome(tables: Vec<router::ctl::Table>) -> String {
    tables
        .first()
        .and_then(|t| t.rows.first())
        .and_then(|r| r.get(2))
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str, data: serde_json::Value) -> QmpEvent {
        QmpEvent {
            name: name.into(),
            data,
            at: std::time::SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_stop_and_copy_is_the_stop_or_the_device_phase() {
        assert!(stop_and_copy_began(&event("STOP", json!({}))));
        assert!(stop_and_copy_began(&event(
            "MIGRATION",
            json!({"status": "device"})
        )));
        assert!(!stop_and_copy_began(&event(
            "MIGRATION",
            json!({"status": "active"})
        )));
        assert!(!stop_and_copy_began(&event("RESUME", json!({}))));
    }
}
