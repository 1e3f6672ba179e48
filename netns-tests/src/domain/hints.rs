//! The hypervisor's side of a proactive handover in the lab: when a VM's
//! stop-and-copy starts, "leaving" (naming the destination) goes to the
//! source MAG's control socket and "arriving" to the destination MAG's, the
//! same JSON lines a libvirt hook or a QMP listener would send
//! (docs/proactive.md). With QEMU guests the moment comes from QEMU itself:
//! the source's STOP event, or its MIGRATION event entering the "device"
//! phase, whichever is seen first.

use std::time::Instant;

use router::ctl::Request;

use super::run::Domain;
use crate::LabError;
use crate::qemu::qmp::QmpEvent;

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
    /// Tells MAG `from` that `vm` is leaving for MAG `to`, and `to` that it
    /// is arriving.
    pub fn send_hints(&self, vm: &str, from: &str, to: &str) -> Result<HintsSent, LabError> {
        let at = Instant::now();
        let (mac, to_coa) = {
            let v = self
                .topology
                .vm(vm)
                .ok_or_else(|| LabError::Check(format!("no VM named {vm}")))?;
            let m = self
                .topology
                .mag(to)
                .ok_or_else(|| LabError::Check(format!("no MAG named {to}")))?;
            (v.mac().to_string(), m.proxy_coa().to_string())
        };
        let outcome = |tables: Vec<router::ctl::Table>| {
            tables
                .first()
                .and_then(|t| t.rows.first())
                .and_then(|r| r.get(2))
                .cloned()
                .unwrap_or_default()
        };
        // Arriving first: it is what re-routes the VM; the leaving hint
        // only keeps the source from getting in the way.
        let arriving = outcome(self.router(
            to,
            &Request::Arriving {
                mac: Some(mac.clone()),
                mn_id: None,
                timeout_ms: None,
            },
        )?);
        let leaving = outcome(self.router(
            from,
            &Request::Leaving {
                mac: Some(mac),
                mn_id: None,
                timeout_ms: None,
                to: Some(to_coa),
            },
        )?);
        Ok(HintsSent {
            at,
            arriving,
            leaving,
        })
    }
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
