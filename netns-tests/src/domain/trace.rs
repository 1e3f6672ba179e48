//! The message ladder of a VM's last attach or handoff, read back from the
//! bridge's captures with Wireshark's dissectors (RFC 5213 Figures 2 and 3):
//!
//! ```text
//!   vm ---- trigger (RS, DAD NS, unsolicited NA, RARP) -> MAG      access link
//!          (or for IPv4: gratuitous ARP, ARP request, DHCPDISCOVER/REQUEST)
//!                                                      MAG ---- PBU ----> LMA   WAN
//!                                                      MAG <--- PBA ----- LMA   WAN
//!   vm <--- RA carrying the HNP ------------------------ MAG      access link
//!   vm <--- ARP: the default router, DHCPOFFER/ACK ----- MAG      access link
//!   vm <--- first data packet -------------------------- MAG      access link
//! ```
//!
//! Every capture of one run comes from the same tapbridge process, whose frame
//! timestamps are one monotonic clock set to Unix time at its start: captures
//! of several segments share that clock and merge into one ladder. Access
//! segment `accessN` is served by the MAG whose WAN segment is `wanN` (the lab's
//! naming).

use router::mac::Mac;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::LabError;

/// One message of the ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct LadderEvent {
    /// Milliseconds after the first event (the trigger).
    pub at_ms: f64,
    pub segment: String,
    pub from: String,
    pub to: String,
    pub what: String,
}

/// The tshark fields a frame is classified by, in column order.
const FIELDS: &[&str] = &[
    "frame.time_epoch",
    "eth.src",
    "eth.dst",
    "ipv6.src",
    "ipv6.dst",
    "icmpv6.type",
    "icmpv6.nd.na.flag.s",
    "icmpv6.nd.na.target_address",
    "icmpv6.nd.ns.target_address",
    "icmpv6.opt.prefix",
    "icmpv6.opt.prefix.length",
    "mip6.mhtype",
    "mip6.bu.seqnr",
    "mip6.bu.lifetime",
    "mip6.bu.a_flag",
    "mip6.bu.h_flag",
    "mip6.bu.p_flag",
    "mip6.hi",
    "mip6.ba.seqnr",
    "mip6.ba.status",
    "mip6.ba.lifetime",
    "mip6.nemo.mnp.mnp",
    "mip6.nemo.mnp.pfl",
    "mip6.ipv4ha.ha",
    "mip6.ipv4ha.preflen",
    "mip6.ipv4dra.dra",
    "ip.src",
    "ip.dst",
    "arp.opcode",
    "arp.src.proto_ipv4",
    "arp.dst.proto_ipv4",
    "dhcp.option.dhcp",
    "dhcp.ip.your",
    "dhcp.ip.client",
    "dhcp.option.requested_ip_address",
    "mip6.ba.p_flag",
    "ipv6.opt.mipv6.home_address",
];

const MH_PBU: &str = "5";
const MH_PBA: &str = "6";
const ICMP_RS: &str = "133";
const ICMP_MLD2_REPORT: &str = "143";
const ICMP_RA: &str = "134";
const ICMP_NS: &str = "135";
const ICMP_NA: &str = "136";
/// RFC 903's request reverse: a hypervisor's announcement of a migrated guest.
const RARP_REQUEST_REVERSE: &str = "3";

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    /// What makes a MAG notice a node (RFC 5213 6.9.1): the `what` of the event.
    Trigger(String),
    Pbu {
        seq: String,
        what: String,
    },
    Pba {
        seq: String,
        what: String,
    },
    Ra {
        prefixes: String,
    },
    /// What the MAG tells an IPv4 node: an ARP reply, a DHCP OFFER/ACK/NAK.
    Answer4(String),
    /// An IPv6 packet that is neither ND, MLD nor a Mobility Header.
    Data,
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Frame {
    /// Seconds on the bridge's clock.
    pub at: f64,
    pub segment: String,
    pub eth_src: String,
    pub eth_dst: String,
    /// Outer addresses (the tunnel's for tunnelled packets).
    pub src: String,
    pub dst: String,
    /// Innermost addresses: the end-to-end ones.
    pub inner_src: String,
    pub inner_dst: String,
    pub kind: Kind,
}

pub(super) fn check(msg: impl Into<String>) -> LabError {
    LabError::Check(msg.into())
}

/// Checks the PBUs and PBAs of a (WAN) capture with Wireshark's expert system:
/// fails if any is malformed or draws a warning or an error; returns how many
/// there are.
pub fn check_mobility_headers(pcap: &Path) -> Result<usize, LabError> {
    let mh = format!("mip6.mhtype == {MH_PBU} || mip6.mhtype == {MH_PBA}");
    check_frames(pcap, &mh)
}

/// Checks the frames of `pcap` that match the display `filter` with
/// Wireshark's expert system (as [`check_mobility_headers`] does); returns
/// how many there are.
pub fn check_frames(pcap: &Path, filter: &str) -> Result<usize, LabError> {
    let tshark_err = |e: router::tshark::TsharkError| check(e.to_string());
    if let Some(problems) = router::tshark::problems(pcap, filter).map_err(tshark_err)? {
        return Err(check(format!(
            "{}: tshark objects to frames matching {filter}:\n{problems}",
            pcap.display()
        )));
    }
    let file = pcap
        .to_str()
        .ok_or_else(|| check(format!("{} is not UTF-8", pcap.display())))?;
    let listed = router::tshark::run(&["-r", file, "-Y", filter]).map_err(tshark_err)?;
    Ok(listed.lines().filter(|l| !l.trim().is_empty()).count())
}

/// The ladder of the last attach or handoff of the VM with MAC `vm_mac`, from
/// captures of its access segments and their MAGs' WAN segments. `names` turns
/// addresses and MACs into node names (a MAG's Proxy-CoA names that MAG also on
/// its access link, where every MAG shares one MAC).
///
/// The trigger is the first trigger from the VM since its latest arrival on the
/// link it is on (its first frame there since its last frame elsewhere) that a
/// PBU follows; then come that PBU, its PBA, the next RA to the VM and the
/// first data packet to the VM after the RA (after the PBA when no RA precedes
/// data).
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
    let picked = select(&frames, &vm_mac.to_string())?;
    Ok(events(&picked, names))
}

pub(super) fn read(segment: &str, path: &Path) -> Result<Vec<Frame>, LabError> {
    let file = path
        .to_str()
        .ok_or_else(|| check(format!("{} is not UTF-8", path.display())))?;
    let mut args = vec!["-r", file, "-T", "fields", "-E", "separator=/t"];
    args.extend(FIELDS.iter().flat_map(|f| ["-e", *f]));
    let out = router::tshark::run(&args).map_err(|e| check(e.to_string()))?;
    Ok(out.lines().filter_map(|l| parse_row(segment, l)).collect())
}

/// One line of tshark's field output; `None` for frames without a time.
fn parse_row(segment: &str, line: &str) -> Option<Frame> {
    let row: HashMap<&str, &str> = FIELDS.iter().copied().zip(line.split('\t')).collect();
    let get = |f: &str| row.get(f).copied().unwrap_or_default();
    let first = |f: &str| get(f).split(',').next().unwrap_or_default().to_string();
    let last = |f: &str| get(f).rsplit(',').next().unwrap_or_default().to_string();
    let prefixes = |addr: &str, len: &str| {
        let lens: Vec<&str> = get(len).split(',').collect();
        get(addr)
            .split(',')
            .filter(|a| !a.is_empty())
            .enumerate()
            .map(|(i, a)| format!("{a}/{}", lens.get(i).unwrap_or(&"?")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let flag = |f: &str| matches!(get(f), "1" | "True" | "true");
    let v6 = !get("ipv6.src").is_empty();
    let src = if v6 {
        first("ipv6.src")
    } else {
        first("ip.src")
    };
    let dst = if v6 {
        first("ipv6.dst")
    } else {
        first("ip.dst")
    };
    let (inner_src, inner_dst) = if get("ip.src").is_empty() {
        (last("ipv6.src"), last("ipv6.dst"))
    } else {
        (last("ip.src"), last("ip.dst"))
    };
    let ipv4_home = || {
        let ha = get("mip6.ipv4ha.ha")
            .rsplit(',')
            .next()
            .unwrap_or_default()
            .to_string();
        let len = get("mip6.ipv4ha.preflen")
            .rsplit(',')
            .next()
            .unwrap_or_default()
            .to_string();
        match (ha.as_str(), get("mip6.ipv4dra.dra")) {
            ("", _) => String::new(),
            (ha, "") => format!(" IPv4 HoA {ha}/{len}"),
            (ha, router) => format!(" IPv4 HoA {ha}/{len} router {router}"),
        }
    };
    let arp = get("arp.opcode");
    let dhcp = get("dhcp.option.dhcp");
    let kind = match (get("mip6.mhtype"), first("icmpv6.type").as_str()) {
        _ if arp == "1" => {
            let (spa, tpa) = (get("arp.src.proto_ipv4"), get("arp.dst.proto_ipv4"));
            Kind::Trigger(if spa == tpa {
                format!("Gratuitous ARP {spa}")
            } else {
                format!("ARP who-has {tpa} tell {spa}")
            })
        }
        _ if arp == "2" => Kind::Answer4(format!(
            "ARP {} is-at {}",
            get("arp.src.proto_ipv4"),
            get("eth.src")
        )),
        _ if dhcp == "1" => Kind::Trigger("DHCPDISCOVER".into()),
        _ if dhcp == "3" => {
            let asked = match (
                get("dhcp.ip.client"),
                get("dhcp.option.requested_ip_address"),
            ) {
                (c, r) if !r.is_empty() && (c.is_empty() || c == "0.0.0.0") => r.to_string(),
                (c, _) => c.to_string(),
            };
            Kind::Trigger(format!("DHCPREQUEST {asked}"))
        }
        _ if !dhcp.is_empty() => Kind::Answer4(match dhcp {
            "2" => format!("DHCPOFFER {}", get("dhcp.ip.your")),
            "5" => format!("DHCPACK {}", get("dhcp.ip.your")),
            "6" => "DHCPNAK".into(),
            other => format!("DHCP message type {other}"),
        }),
        (MH_PBU, _) => {
            let flags: Vec<&str> = [("A", "mip6.bu.a_flag"), ("H", "mip6.bu.h_flag")]
                .into_iter()
                .chain([("P", "mip6.bu.p_flag")])
                .filter(|(_, f)| flag(f))
                .map(|(name, _)| name)
                .collect();
            let lifetime = get("mip6.bu.lifetime").parse::<u64>().unwrap_or(0) * 4;
            let hoa = get("ipv6.opt.mipv6.home_address");
            Kind::Pbu {
                seq: get("mip6.bu.seqnr").into(),
                // A mobile node's own BU (RFC 6275) names its home address.
                what: if !hoa.is_empty() {
                    format!(
                        "BU seq {} lifetime {lifetime} s ({}) home address {hoa}",
                        get("mip6.bu.seqnr"),
                        flags.join(" ")
                    )
                } else {
                    format!(
                        "PBU seq {} HI={} lifetime {lifetime} s ({}) HNP {}{}",
                        get("mip6.bu.seqnr"),
                        get("mip6.hi"),
                        flags.join(" "),
                        prefixes("mip6.nemo.mnp.mnp", "mip6.nemo.mnp.pfl"),
                        ipv4_home()
                    )
                },
            }
        }
        (MH_PBA, _) => {
            let status = get("mip6.ba.status");
            let accepted = status.parse::<u8>().is_ok_and(|s| s < 128);
            let lifetime = get("mip6.ba.lifetime").parse::<u64>().unwrap_or(0) * 4;
            let verdict = if accepted { "accepted" } else { "rejected" };
            Kind::Pba {
                seq: get("mip6.ba.seqnr").into(),
                what: if flag("mip6.ba.p_flag") {
                    format!(
                        "PBA seq {} status {status} {verdict} lifetime {lifetime} s HNP {}{}",
                        get("mip6.ba.seqnr"),
                        prefixes("mip6.nemo.mnp.mnp", "mip6.nemo.mnp.pfl"),
                        ipv4_home()
                    )
                } else {
                    format!(
                        "BA seq {} status {status} {verdict} lifetime {lifetime} s",
                        get("mip6.ba.seqnr")
                    )
                },
            }
        }
        _ if get("arp.opcode") == RARP_REQUEST_REVERSE => Kind::Trigger("RARP announcement".into()),
        (_, ICMP_RS) => Kind::Trigger("RS".into()),
        // The MAGs take any frame from a node they do not know yet as its
        // attachment; an interface coming up sends MLD reports first.
        (_, ICMP_MLD2_REPORT) => Kind::Trigger(format!("MLD report from {src}")),
        (_, ICMP_NS) if src == "::" => {
            Kind::Trigger(format!("DAD NS {}", get("icmpv6.nd.ns.target_address")))
        }
        (_, ICMP_NA) if !flag("icmpv6.nd.na.flag.s") => Kind::Trigger(format!(
            "Unsolicited NA {}",
            get("icmpv6.nd.na.target_address")
        )),
        (_, ICMP_RA) => Kind::Ra {
            prefixes: prefixes("icmpv6.opt.prefix", "icmpv6.opt.prefix.length"),
        },
        (_, t) if !src.is_empty() && t.parse::<u8>().is_ok_and(|t| (130..=143).contains(&t)) => {
            Kind::Other
        }
        _ if !src.is_empty() => Kind::Data,
        _ => Kind::Other,
    };
    Some(Frame {
        at: get("frame.time_epoch").parse().ok()?,
        segment: segment.into(),
        eth_src: get("eth.src").into(),
        eth_dst: get("eth.dst").into(),
        inner_src,
        inner_dst,
        src,
        dst,
        kind,
    })
}

/// The frames of the ladder, in its order of roles: trigger, PBU, PBA and,
/// when seen, RA and first data packet.
#[derive(Debug)]
struct Picked<'a> {
    trigger: &'a Frame,
    /// Triggers after the first that the same PBU answers.
    more_triggers: usize,
    pbu: &'a Frame,
    pba: &'a Frame,
    ra: Option<&'a Frame>,
    /// The first ARP reply and DHCP answer to the VM after the trigger.
    answers4: Vec<&'a Frame>,
    data: Option<&'a Frame>,
}

fn wan_of(access: &str) -> Option<String> {
    access.strip_prefix("access").map(|n| format!("wan{n}"))
}

fn is_trigger(f: &Frame, vm_mac: &str) -> bool {
    matches!(f.kind, Kind::Trigger(_)) && f.eth_src == vm_mac && wan_of(&f.segment).is_some()
}

fn select<'a>(frames: &'a [Frame], vm_mac: &str) -> Result<Picked<'a>, LabError> {
    let next_pbu = |trigger: &Frame| {
        let wan = wan_of(&trigger.segment)?;
        frames.iter().position(|f| {
            f.at >= trigger.at && f.segment == wan && matches!(f.kind, Kind::Pbu { .. })
        })
    };
    let from_vm = |f: &Frame| f.eth_src == vm_mac && wan_of(&f.segment).is_some();
    // The VM's latest arrival: its first frame on the link it is on now since
    // its last frame on another one. Announcements go on after it (QEMU sends
    // five rounds) and a MAG may register again for them; the handoff is the
    // exchange the arrival started.
    let here = frames
        .iter()
        .rev()
        .find(|f| from_vm(f))
        .map(|f| f.segment.as_str());
    let since = frames
        .iter()
        .rposition(|f| from_vm(f) && Some(f.segment.as_str()) != here)
        .map_or(0, |i| i + 1);
    let candidate = |f: &Frame| from_vm(f) && matches!(f.kind, Kind::Trigger(_));
    let (last, pbu_at) = frames
        .iter()
        .enumerate()
        .skip(since)
        .filter(|(_, f)| candidate(f))
        .find_map(|(i, f)| Some((i, next_pbu(f)?)))
        .ok_or_else(|| check(format!("no trigger from {vm_mac} is followed by a PBU")))?;
    let pbu = &frames[pbu_at];
    let answered: Vec<&Frame> = frames[last..pbu_at]
        .iter()
        .filter(|f| {
            is_trigger(f, vm_mac)
                && f.segment == frames[last].segment
                && next_pbu(f) == Some(pbu_at)
        })
        .collect();
    let trigger = answered.first().copied().unwrap_or(&frames[last]);
    let Kind::Pbu { seq, .. } = &pbu.kind else {
        return Err(check("internal: the PBU is not a PBU"));
    };
    let pba = frames[pbu_at..]
        .iter()
        .find(|f| {
            f.segment == pbu.segment
                && f.dst == pbu.src
                && matches!(&f.kind, Kind::Pba { seq: s, .. } if s == seq)
        })
        .ok_or_else(|| check(format!("the PBU seq {seq} from {} got no PBA", pbu.src)))?;
    let to_vm_after = |at: f64, kind: fn(&Kind) -> bool| {
        frames.iter().find(|f| {
            f.at >= at && f.segment == trigger.segment && f.eth_dst == vm_mac && kind(&f.kind)
        })
    };
    let ra = to_vm_after(trigger.at, |k| matches!(k, Kind::Ra { .. }));
    let arp = to_vm_after(
        trigger.at,
        |k| matches!(k, Kind::Answer4(w) if w.starts_with("ARP")),
    );
    let dhcp = to_vm_after(
        trigger.at,
        |k| matches!(k, Kind::Answer4(w) if w.starts_with("DHCP")),
    );
    let answers4 = [arp, dhcp].into_iter().flatten().collect();
    let is_data = |k: &Kind| *k == Kind::Data;
    let data = match (to_vm_after(pba.at, is_data), ra) {
        (Some(d), Some(ra)) if ra.at < d.at => to_vm_after(ra.at, is_data),
        (d, _) => d,
    };
    Ok(Picked {
        trigger,
        more_triggers: answered.len().saturating_sub(1),
        pbu,
        pba,
        ra,
        answers4,
        data,
    })
}

fn events(p: &Picked, names: &HashMap<String, String>) -> Vec<LadderEvent> {
    let name = |key: &str| names.get(key).cloned().unwrap_or_else(|| key.to_string());
    // Every MAG answers on its access links with the same MAC: name it by the
    // Proxy-CoA its PBU came from.
    let mag = name(&p.pbu.src);
    let t0 = p.trigger.at;
    let event = |f: &Frame, from: String, to: String, what: String| LadderEvent {
        at_ms: (f.at - t0) * 1e3,
        segment: f.segment.clone(),
        from,
        to,
        what,
    };
    let mut out = Vec::new();
    if let Kind::Trigger(what) = &p.trigger.kind {
        let more = match p.more_triggers {
            0 => String::new(),
            n => format!(" (and {n} more before the PBU)"),
        };
        out.push(event(
            p.trigger,
            name(&p.trigger.eth_src),
            mag.clone(),
            format!("{what}{more}"),
        ));
    }
    for f in [p.pbu, p.pba] {
        if let Kind::Pbu { what, .. } | Kind::Pba { what, .. } = &f.kind {
            out.push(event(f, name(&f.src), name(&f.dst), what.clone()));
        }
    }
    if let Some(ra) = p.ra
        && let Kind::Ra { prefixes } = &ra.kind
    {
        out.push(event(
            ra,
            mag.clone(),
            name(&ra.eth_dst),
            format!("RA to {} HNP {prefixes}", ra.eth_dst),
        ));
    }
    for f in &p.answers4 {
        if let Kind::Answer4(what) = &f.kind {
            out.push(event(f, mag.clone(), name(&f.eth_dst), what.clone()));
        }
    }
    if let Some(d) = p.data {
        out.push(event(
            d,
            mag,
            name(&d.eth_dst),
            format!("first data packet {} -> {}", d.inner_src, d.inner_dst),
        ));
    }
    out.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
    out
}

/// The ladder as aligned text, one line per message:
/// `   +12.3 ms  wan2     mag2 -> lma    PBU seq 3 ...`.
pub fn render(events: &[LadderEvent]) -> String {
    let width = |f: fn(&LadderEvent) -> usize| events.iter().map(f).max().unwrap_or(0);
    let seg_w = width(|e| e.segment.len());
    let from_w = width(|e| e.from.len());
    let to_w = width(|e| e.to.len());
    events
        .iter()
        .map(|e| {
            format!(
                "{:>+9.1} ms  {:<seg_w$}  {:>from_w$} -> {:<to_w$}  {}\n",
                e.at_ms, e.segment, e.from, e.to, e.what
            )
        })
        .collect()
}

/// The ladder as a control-protocol table (what `tapmip-lab trace` receives).
pub fn table(events: &[LadderEvent]) -> router::ctl::Table {
    let mut t = router::ctl::Table::new("ladder", &["at_ms", "segment", "from", "to", "message"]);
    for e in events {
        t.row(vec![
            format!("{:+.1}", e.at_ms),
            e.segment.clone(),
            e.from.clone(),
            e.to.clone(),
            e.what.clone(),
        ]);
    }
    t
}

impl super::Domain {
    /// Addresses and MACs of the lab by node name, for reading a ladder.
    pub fn names(&self) -> HashMap<String, String> {
        let t = &self.topology;
        let mut names = HashMap::new();
        for m in &t.mags {
            names.insert(m.proxy_coa().to_string(), m.name.clone());
            names.insert(m.lma_address().to_string(), "lma".to_string());
            let ar_ll = router::engine::eui64_link_local(m.access_router_mac());
            names.insert(ar_ll.to_string(), m.name.clone());
        }
        names.insert(super::topology::HOME_AGENT.to_string(), "ha".to_string());
        for v in &t.vms {
            names.insert(v.mac().to_string(), v.name.clone());
        }
        for (node, addr) in &self.addresses {
            names.insert(addr.to_string(), node.clone());
        }
        for (node, addr) in &self.addresses4 {
            names.insert(addr.to_string(), node.clone());
        }
        names
    }

    /// The ladder of `vm`'s last attach or handoff, from the captures of every
    /// access and WAN segment (see [`super::Tuning::capturing_mobility`]).
    pub fn trace(&self, vm: &str) -> Result<Vec<LadderEvent>, LabError> {
        let v = self
            .topology
            .vm(vm)
            .ok_or_else(|| check(format!("no VM named {vm}")))?;
        let captures: Vec<(String, PathBuf)> = self
            .topology
            .mobility_segments()
            .into_iter()
            .map(|s| {
                let file = self.pcap(&s);
                (s, file)
            })
            .filter(|(_, f)| f.exists())
            .collect();
        if self.topology.mobility == super::Mobility::Mipv6 {
            return super::trace_mip::ladder(&captures, v.mac(), &self.names());
        }
        ladder(&captures, v.mac(), &self.names())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VM: &str = "52:54:00:aa:00:01";
    const MAG_MAC: &str = "02:7a:70:00:00:01";

    fn row(at: f64, values: &[(&str, &str)]) -> String {
        let mut cols = vec![String::new(); FIELDS.len()];
        cols[0] = at.to_string();
        for (field, value) in values {
            let i = FIELDS.iter().position(|f| f == field).unwrap();
            cols[i] = value.to_string();
        }
        cols.join("\t")
    }

    fn na(at: f64, segment: &str) -> Frame {
        let line = row(
            at,
            &[
                ("eth.src", VM),
                ("eth.dst", "33:33:00:00:00:01"),
                ("ipv6.src", "2001:db8:1:1::5"),
                ("ipv6.dst", "ff02::1"),
                ("icmpv6.type", "136"),
                ("icmpv6.nd.na.flag.s", "0"),
                ("icmpv6.nd.na.target_address", "2001:db8:1:1::5"),
            ],
        );
        parse_row(segment, &line).unwrap()
    }

    fn mh(at: f64, wan: &str, pbu: bool, seq: &str) -> Frame {
        let (src, dst) = ("2001:db8:ff:2::2", "2001:db8:ff:2::1");
        let (src, dst, seq_field) = if pbu {
            (src, dst, "mip6.bu.seqnr")
        } else {
            (dst, src, "mip6.ba.seqnr")
        };
        let line = row(
            at,
            &[
                ("ipv6.src", src),
                ("ipv6.dst", dst),
                ("mip6.mhtype", if pbu { MH_PBU } else { MH_PBA }),
                (seq_field, seq),
                ("mip6.bu.lifetime", "900"),
                ("mip6.bu.a_flag", "1"),
                ("mip6.bu.h_flag", "1"),
                ("mip6.bu.p_flag", "1"),
                ("mip6.ba.p_flag", "1"),
                ("mip6.hi", "3"),
                ("mip6.ba.status", "0"),
                ("mip6.nemo.mnp.mnp", "2001:db8:1:1::"),
                ("mip6.nemo.mnp.pfl", "64"),
            ],
        );
        parse_row(wan, &line).unwrap()
    }

    fn to_vm(at: f64, ra: bool) -> Frame {
        let mut values = vec![
            ("eth.src", MAG_MAC),
            ("eth.dst", VM),
            ("ipv6.dst", "2001:db8:1:1::5"),
        ];
        if ra {
            values.extend([
                ("ipv6.src", "fe80::1"),
                ("icmpv6.type", "134"),
                ("icmpv6.opt.prefix", "2001:db8:1:1::"),
                ("icmpv6.opt.prefix.length", "64"),
            ]);
        } else {
            values.extend([("ipv6.src", "2001:db8:c::9"), ("icmpv6.type", "128")]);
        }
        parse_row("access2", &row(at, &values)).unwrap()
    }

    #[test]
    fn picks_the_last_handoff_and_its_first_trigger() {
        let frames = vec![
            na(1.0, "access1"),
            mh(1.01, "wan1", true, "1"),
            na(2.0, "access2"),
            na(2.001, "access2"),
            to_vm(2.002, false),
            mh(2.003, "wan2", true, "7"),
            mh(2.013, "wan2", false, "6"),
            mh(2.014, "wan2", false, "7"),
            to_vm(2.015, true),
            to_vm(2.016, false),
            na(3.0, "access2"),
        ];
        let names = HashMap::from([
            ("2001:db8:ff:2::2".to_string(), "mag2".to_string()),
            ("2001:db8:ff:2::1".to_string(), "lma".to_string()),
            (VM.to_string(), "vm1".to_string()),
        ]);
        let picked = select(&frames, VM).unwrap();
        let ladder = events(&picked, &names);
        let what: Vec<&str> = ladder.iter().map(|e| e.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "Unsolicited NA 2001:db8:1:1::5 (and 1 more before the PBU)",
                "PBU seq 7 HI=3 lifetime 3600 s (A H P) HNP 2001:db8:1:1::/64",
                "PBA seq 7 status 0 accepted lifetime 0 s HNP 2001:db8:1:1::/64",
                "RA to 52:54:00:aa:00:01 HNP 2001:db8:1:1::/64",
                "first data packet 2001:db8:c::9 -> 2001:db8:1:1::5",
            ]
        );
        assert!((ladder[2].at_ms - 14.0).abs() < 1e-6);
        assert_eq!(
            (ladder[0].from.as_str(), ladder[0].to.as_str()),
            ("vm1", "mag2")
        );
        assert_eq!(
            (ladder[2].from.as_str(), ladder[2].to.as_str()),
            ("lma", "mag2")
        );
        let text = render(&ladder);
        assert!(
            text.contains("   +14.0 ms  wan2      lma -> mag2  PBA seq 7"),
            "{text}"
        );
    }

    #[test]
    fn no_handoff_is_an_error() {
        assert!(select(&[na(1.0, "access1")], VM).is_err());
    }
}
