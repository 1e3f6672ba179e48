//! The message ladder of a VM's last handoff under Mobile IPv6, from the same
//! captures as the PMIPv6 one (`trace`):
//!
//! ```text
//!   vm arrives on the new link (the hypervisor's unsolicited NA)      access link
//!   vm <--- RA with the new prefix ------------------------ AR        access link
//!   vm ---- DAD NS for the new care-of address (kernel) -->           access link
//!   vm ---- BU (Home Address option) ---------------------------> HA  access, WAN
//!   vm <--- BA (Type 2 Routing Header) -------------------------- HA  WAN, access
//!   vm <--- first data packet, tunnelled to the care-of address   AR  access link
//! ```
//!
//! The kernel's DAD ends silently; the BU's time shows when: the agent sends
//! it as soon as the kernel reports the address usable.

use std::collections::HashMap;
use std::path::PathBuf;

use router::mac::Mac;

use super::trace::{Frame, Kind, LadderEvent, check, read};
use crate::LabError;

fn wan_of(access: &str) -> Option<String> {
    access.strip_prefix("access").map(|n| format!("wan{n}"))
}

/// The ladder of the last handoff of the VM with MAC `vm_mac`.
pub fn ladder(
    captures: &[(String, PathBuf)],
    vm_mac: Mac,
    names: &HashMap<String, String>,
) -> Result<Vec<LadderEvent>, LabError> {
    let mut frames = Vec::new();
    for (segment, path) in captures {
        frames.extend(read(segment, path)?);
    }
    frames.sort_by(|a, b| a.at.total_cmp(&b.at));
    events(&frames, &vm_mac.to_string(), names)
}

fn is_accepted_ba(f: &Frame) -> bool {
    matches!(&f.kind, Kind::Pba { what, .. } if what.contains("accepted"))
}

fn events(
    frames: &[Frame],
    vm: &str,
    names: &HashMap<String, String>,
) -> Result<Vec<LadderEvent>, LabError> {
    let name = |key: &str| names.get(key).cloned().unwrap_or_else(|| key.to_string());
    let vm_name = name(vm);
    // The last BA that reached the VM, and the first BU from its care-of address.
    let ba = frames
        .iter()
        .rev()
        .find(|f| f.eth_dst == vm && is_accepted_ba(f))
        .ok_or_else(|| check(format!("no accepted BA reached {vm}")))?;
    let coa = ba.dst.clone();
    let access = ba.segment.clone();
    let wan = wan_of(&access).ok_or_else(|| check("the BA was not on an access link"))?;
    let bus: Vec<&Frame> = frames
        .iter()
        .filter(|f| {
            f.segment == access
                && f.src == coa
                && matches!(f.kind, Kind::Pbu { .. })
                && f.at <= ba.at
        })
        .collect();
    let bu = *bus
        .first()
        .ok_or_else(|| check(format!("no BU from {coa} before the BA")))?;
    let from_vm = |f: &&Frame| f.eth_src == vm;
    let dad = frames.iter().rev().find(|f| {
        f.at <= bu.at
            && f.segment == access
            && matches!(&f.kind, Kind::Trigger(w) if w == &format!("DAD NS {coa}"))
    });
    let before = dad.map_or(bu.at, |d| d.at);
    // The VM arrived here after its last frame on another access link.
    let left = frames
        .iter()
        .filter(from_vm)
        .filter(|f| f.at <= before && f.segment != access && f.segment.starts_with("access"))
        .map(|f| f.at)
        .fold(f64::MIN, f64::max);
    let arrival = frames
        .iter()
        .filter(from_vm)
        .find(|f| f.at > left && f.segment == access);
    let t0 = arrival.map_or(bu.at, |a| a.at);
    let prefix = coa.rsplitn(5, ':').last().unwrap_or_default().to_string();
    let ra = frames.iter().find(|f| {
        f.at >= t0
            && f.at <= before
            && f.segment == access
            && matches!(&f.kind, Kind::Ra { prefixes } if prefixes.starts_with(&prefix))
    });
    let on_wan = |kind_bu: bool, after: f64| {
        frames.iter().find(|f| {
            f.segment == wan
                && f.at >= after
                && if kind_bu {
                    f.src == coa && matches!(f.kind, Kind::Pbu { .. })
                } else {
                    f.dst == coa && is_accepted_ba(f)
                }
        })
    };
    let data = frames
        .iter()
        .find(|f| f.at > ba.at && f.segment == access && f.eth_dst == vm && f.kind == Kind::Data);
    let event = |f: &Frame, from: String, to: String, what: String| LadderEvent {
        at_ms: (f.at - t0) * 1e3,
        segment: f.segment.clone(),
        from,
        to,
        what,
    };
    let mut out = Vec::new();
    if let Some(a) = arrival {
        let what = match &a.kind {
            Kind::Trigger(w) => format!("arrives: {w}"),
            _ => "arrives (first frame on this link)".to_string(),
        };
        out.push(event(a, vm_name.clone(), "-".into(), what));
    }
    if let Some(ra) = ra
        && let Kind::Ra { prefixes } = &ra.kind
    {
        out.push(event(
            ra,
            name(&ra.src),
            vm_name.clone(),
            format!("RA prefix {prefixes}"),
        ));
    }
    if let Some(d) = dad {
        out.push(event(
            d,
            vm_name.clone(),
            "-".into(),
            format!("DAD NS {coa} (kernel)"),
        ));
    }
    let ha = name(&bu.dst);
    let what = |f: &Frame| match &f.kind {
        Kind::Pbu { what, .. } | Kind::Pba { what, .. } => what.clone(),
        _ => String::new(),
    };
    let more = match bus.len() {
        1 => String::new(),
        n => format!(" (and {} retransmissions)", n - 1),
    };
    out.push(event(
        bu,
        vm_name.clone(),
        ha.clone(),
        format!("{}{more}", what(bu)),
    ));
    if let Some(f) = on_wan(true, bu.at) {
        out.push(event(f, vm_name.clone(), ha.clone(), what(f)));
        if let Some(back) = on_wan(false, f.at) {
            out.push(event(back, ha.clone(), vm_name.clone(), what(back)));
        }
    }
    out.push(event(ba, ha, vm_name.clone(), what(ba)));
    if let Some(d) = data {
        out.push(event(
            d,
            name(&d.eth_src),
            vm_name,
            format!(
                "first data packet {} -> {} (tunnelled to {coa})",
                d.inner_src, d.inner_dst
            ),
        ));
    }
    out.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
    Ok(out)
}
