//! Signalling overhead (the paper's Fig. 7): every frame captured on the LMA's
//! MAG-facing links during one migration, classified by what it carries, and the
//! bytes per class.
//!
//! Classes, first match wins:
//! - mobility signalling: Mobility Headers (PBU/PBA), then Neighbor Discovery and
//!   router discovery (RS, RA, NS, NA, Redirect) outside a tunnel;
//! - hypervisor migration: the pre-copy TCP stream (port 7100);
//! - client traffic: the probes (UDP 7000, TCP 7001) and anything to or from a
//!   VM's home network prefix, tunnelled or not;
//! - other (MLD, ...).

use std::path::Path;

use crate::LabError;

const PRECOPY_PORT: &str = "7100";
const CLIENT_PORTS: [&str; 2] = ["7000", "7001"];
/// The VMs' HNPs (2001:db8:1:N::/64) as tshark prints them.
const HNP_TEXT_PREFIX: &str = "2001:db8:1:";
/// RS, RA, NS, NA, Redirect (RFC 4861).
const ND_TYPES: [&str; 5] = ["133", "134", "135", "136", "137"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    MobilityHeader,
    NeighborDiscovery,
    Hypervisor,
    Client,
    Other,
}

impl Class {
    pub const ALL: [Class; 5] = [
        Class::Hypervisor,
        Class::Client,
        Class::MobilityHeader,
        Class::NeighborDiscovery,
        Class::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::MobilityHeader => "mobility: PBU/PBA",
            Class::NeighborDiscovery => "mobility: ND/RS/RA",
            Class::Hypervisor => "hypervisor migration",
            Class::Client => "client traffic",
            Class::Other => "other",
        }
    }

    /// A label short enough for a chart's axis.
    pub fn short(self) -> &'static str {
        match self {
            Class::MobilityHeader => "PBU/PBA",
            Class::NeighborDiscovery => "ND/RS/RA",
            Class::Hypervisor => "hypervisor",
            Class::Client => "client",
            Class::Other => "other",
        }
    }

    pub fn by_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn is_mobility(self) -> bool {
        matches!(self, Class::MobilityHeader | Class::NeighborDiscovery)
    }
}

/// Frames and bytes of one class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub frames: u64,
    pub bytes: u64,
}

/// Bytes per class, in [`Class::ALL`] order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overhead(pub [Tally; 5]);

impl Overhead {
    pub fn get(&self, class: Class) -> Tally {
        let i = Class::ALL.iter().position(|c| *c == class).unwrap_or(0);
        self.0.get(i).copied().unwrap_or_default()
    }

    /// Adds `t` to the tally of `class`.
    pub fn add_tally(&mut self, class: Class, t: Tally) {
        let i = Class::ALL.iter().position(|c| *c == class).unwrap_or(0);
        if let Some(mine) = self.0.get_mut(i) {
            mine.frames += t.frames;
            mine.bytes += t.bytes;
        }
    }

    fn add(&mut self, class: Class, bytes: u64) {
        let i = Class::ALL.iter().position(|c| *c == class).unwrap_or(0);
        if let Some(t) = self.0.get_mut(i) {
            t.frames += 1;
            t.bytes += bytes;
        }
    }

    pub fn merge(&mut self, other: &Overhead) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            a.frames += b.frames;
            a.bytes += b.bytes;
        }
    }

    pub fn total_bytes(&self) -> u64 {
        self.0.iter().map(|t| t.bytes).sum()
    }

    pub fn mobility_bytes(&self) -> u64 {
        Class::ALL
            .iter()
            .filter(|c| c.is_mobility())
            .map(|c| self.get(*c).bytes)
            .sum()
    }
}

const FIELDS: [&str; 7] = [
    "frame.len",
    "ipv6.src",
    "ipv6.dst",
    "tcp.port",
    "udp.port",
    "mip6.mhtype",
    "icmpv6.type",
];

/// The class of one line of `tshark -T fields` output with [`FIELDS`]; `None`
/// for a line without a frame length.
fn classify(line: &str) -> Option<(Class, u64)> {
    let mut cols = line.split('\t');
    let len: u64 = cols.next()?.trim().parse().ok()?;
    let mut next = || cols.next().unwrap_or_default();
    let (src, dst, tcp, udp, mh, icmp) = (next(), next(), next(), next(), next(), next());
    let has = |field: &str, value: &str| field.split(',').any(|v| v == value);
    let tunnelled = src.contains(',');
    let class = if !mh.is_empty() {
        Class::MobilityHeader
    } else if has(tcp, PRECOPY_PORT) {
        Class::Hypervisor
    } else if tunnelled
        || CLIENT_PORTS.iter().any(|p| has(tcp, p) || has(udp, p))
        || src.starts_with(HNP_TEXT_PREFIX)
        || dst.starts_with(HNP_TEXT_PREFIX)
    {
        Class::Client
    } else if ND_TYPES.iter().any(|t| has(icmp, t)) {
        Class::NeighborDiscovery
    } else {
        Class::Other
    };
    Some((class, len))
}

/// Classifies every frame of a capture.
pub fn of_pcap(pcap: &Path) -> Result<Overhead, LabError> {
    let file = pcap
        .to_str()
        .ok_or_else(|| LabError::Check(format!("{} is not UTF-8", pcap.display())))?;
    let mut args = vec!["-r", file, "-T", "fields", "-E", "occurrence=a"];
    for f in FIELDS {
        args.extend(["-e", f]);
    }
    let out = router::tshark::run(&args).map_err(|e| LabError::Check(e.to_string()))?;
    let mut overhead = Overhead::default();
    for (class, len) in out.lines().filter_map(classify) {
        overhead.add(class, len);
    }
    Ok(overhead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_fall_into_the_paper_s_classes() {
        let cases = [
            (
                "134\t2001:db8:ff:2::2\t2001:db8:ff:2::1\t\t\t5\t",
                Class::MobilityHeader,
            ),
            (
                "1514\t2001:db8:ff:1::aa\t2001:db8:ff:2::bb\t40000,7100\t\t\t",
                Class::Hypervisor,
            ),
            (
                "142\t2001:db8:ff:1::1,2001:db8:c::5\t2001:db8:ff:1::2,2001:db8:1:1::9\t\t51000,7000\t\t",
                Class::Client,
            ),
            (
                "110\t2001:db8:c::5\t2001:db8:1:1::9\t\t\t\t128",
                Class::Client,
            ),
            ("86\tfe80::1\tff02::1\t\t\t\t134", Class::NeighborDiscovery),
            ("90\tfe80::1\tff02::16\t\t\t\t143", Class::Other),
        ];
        for (line, want) in cases {
            assert_eq!(classify(line).map(|c| c.0), Some(want), "{line}");
        }
        assert_eq!(classify(""), None);
        assert_eq!(classify("x\t"), None);
    }

    #[test]
    fn tallies_add_up() {
        let mut a = Overhead::default();
        a.add(Class::Hypervisor, 1000);
        a.add(Class::MobilityHeader, 100);
        a.add(Class::NeighborDiscovery, 50);
        let mut b = a;
        b.merge(&a);
        assert_eq!(b.get(Class::Hypervisor).frames, 2);
        assert_eq!((b.total_bytes(), b.mobility_bytes()), (2300, 300));
    }
}
