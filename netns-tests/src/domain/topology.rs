//! The lab's topology: which MAGs, VMs and correspondents exist, and how every
//! address, MAC and link follows from that (README.md, "A lab to play with").
//!
//! ```toml
//! seed = 1              # link emulation RNG
//! mobility = "pmipv6"   # or "mipv6": the paper's baseline (home agent, access routers,
//!                       # the VM's own mobile node agent), see `Mobility`
//! wan_rtt_ms = 30.0     # MAG<->LMA round trip, added on the LMA's WAN links
//! wan_loss = 0.0        # loss on those links, per direction
//! aaa = "file"          # or "radius": a FreeRADIUS in namespace `aaa` decides
//!
//! [[mag]]
//! name = "mag1"         # optional per-MAG wan_rtt_ms / wan_loss override the defaults
//!
//! [[mag]]
//! name = "mag2"
//!
//! [[vm]]
//! name = "vm1"
//! mag = "mag1"          # where it starts
//! family = "dual"       # "ipv6" (the default), "dual" or "ipv4": IPv6 by SLAAC,
//!                       # IPv4 by DHCP (busybox udhcpc), IPv6 off in an ipv4 VM
//! policy = true         # false: the VM is not in the policy (gets nothing)
//! # kind = "qemu"       # a real QEMU guest instead of a network namespace,
//! # netdev = "stream"   # its NIC on QEMU's -netdev stream (default dgram)
//!
//! [[correspondent]]
//! name = "client"
//! ```
//!
//! The default is the paper's testbed: mag1, mag2, one dual-stack VM on mag1,
//! one client.

use ipnet::{Ipv4Net, Ipv6Net};
use router::mac::Mac;
use serde::Deserialize;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The MAC and link-local address every MAG uses on its access links
/// (RFC 5213 6.9.3: a migrated node keeps its default router and neighbor entry).
pub const MAG_ACCESS_MAC: &str = "02:7a:70:00:00:01";
pub const MAG_ACCESS_LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
/// The correspondents' link: the LMA's "core" side.
pub const CORE_PREFIX: &str = "2001:db8:c::/64";
/// Its IPv4 prefix; the LMA is 192.0.2.1 there, correspondent i 192.0.2.(10 + i).
pub const CORE_PREFIX4: &str = "192.0.2.0/24";
pub const LMA_CORE4: &str = "192.0.2.1/24";
/// The SPI of every MAG's key in the lab (each MAG has its own key).
pub const LAB_SPI: u32 = 256;
/// The namespace of the lab's FreeRADIUS (`aaa = "radius"`).
pub const AAA_NODE: &str = "aaa";

#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error("topology: {0}")]
    Parse(String),
    #[error("topology: {field}: {reason}")]
    Invalid { field: String, reason: String },
}

/// Which mobility protocol keeps the VMs reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mobility {
    /// Proxy Mobile IPv6 (RFC 5213): the LMA, the MAGs, an unmodified VM.
    #[default]
    Pmipv6,
    /// Mobile IPv6 (RFC 6275), the paper's baseline: the LMA's host as home
    /// agent, the MAGs' hosts as plain access routers with a prefix each, and
    /// a mobile node agent (`tapmip-mn`) in every VM.
    Mipv6,
}

impl Mobility {
    pub fn name(self) -> &'static str {
        match self {
            Mobility::Pmipv6 => "pmipv6",
            Mobility::Mipv6 => "mipv6",
        }
    }
}

/// The home agent's address and the home network of the VMs (MIPv6).
pub const HOME_AGENT: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
pub const HOME_PREFIX: &str = "2001:db8:1::/48";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopology {
    #[serde(default = "default_seed")]
    seed: u64,
    #[serde(default)]
    mobility: Mobility,
    #[serde(default)]
    wan_rtt_ms: f64,
    #[serde(default)]
    wan_loss: f64,
    #[serde(default)]
    aaa: Aaa,
    #[serde(default)]
    mag: Vec<RawMag>,
    #[serde(default)]
    vm: Vec<RawVm>,
    #[serde(default)]
    correspondent: Vec<RawCorrespondent>,
}

fn default_seed() -> u64 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMag {
    name: String,
    wan_rtt_ms: Option<f64>,
    wan_loss: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVm {
    name: String,
    mag: String,
    #[serde(default)]
    family: Family,
    #[serde(default = "yes")]
    policy: bool,
    #[serde(default)]
    kind: VmKind,
    netdev: Option<QemuNetdev>,
}

fn yes() -> bool {
    true
}

/// Which IP versions a VM runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    #[default]
    Ipv6,
    Dual,
    Ipv4,
}

impl Family {
    pub fn has_ipv6(self) -> bool {
        self != Family::Ipv4
    }

    pub fn has_ipv4(self) -> bool {
        self != Family::Ipv6
    }
}

/// Who the routers ask whether a node may attach and which prefix it has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aaa {
    /// The policy file the lab writes.
    #[default]
    File,
    /// A FreeRADIUS the lab starts in its own namespace, `aaa`.
    Radius,
}

impl std::fmt::Display for Aaa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Aaa::File => "file",
            Aaa::Radius => "radius",
        })
    }
}

impl std::str::FromStr for Aaa {
    type Err = String;
    fn from_str(s: &str) -> Result<Aaa, String> {
        match s {
            "file" => Ok(Aaa::File),
            "radius" => Ok(Aaa::Radius),
            other => Err(format!("--aaa {other}: expected file or radius")),
        }
    }
}

/// What a VM is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VmKind {
    /// A network namespace whose TAP tapbridge moves between access links.
    #[default]
    Netns,
    /// A QEMU guest on a hypervisor host, live-migrated by QEMU.
    Qemu,
}

/// Which QEMU socket back end a guest's NIC uses into tapbridge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QemuNetdev {
    #[default]
    Dgram,
    Stream,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCorrespondent {
    name: String,
}

/// One MAG, its WAN link to the LMA and the hypervisor host on that link.
#[derive(Debug, Clone, PartialEq)]
pub struct Mag {
    pub name: String,
    /// 1-based: MAG i is on WAN link i.
    pub index: u16,
    pub wan_rtt_ms: f64,
    pub wan_loss: f64,
}

impl Mag {
    pub fn wan_prefix(&self) -> Ipv6Net {
        net(
            Ipv6Addr::new(0x2001, 0xdb8, 0xff, self.index, 0, 0, 0, 0),
            64,
        )
    }
    /// The LMA's address on this MAG's WAN link, the MAG's LMAA.
    pub fn lma_address(&self) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, 0xff, self.index, 0, 0, 0, 1)
    }
    /// The MAG's uplink address, its Proxy-CoA.
    pub fn proxy_coa(&self) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, 0xff, self.index, 0, 0, 0, 2)
    }
    /// The lab segment names of this MAG's links.
    pub fn wan_segment(&self) -> String {
        format!("wan{}", self.index)
    }
    pub fn access_segment(&self) -> String {
        format!("access{}", self.index)
    }
    /// MIPv6: the prefix of this access router's link, its own.
    pub fn access_prefix(&self) -> Ipv6Net {
        net(
            Ipv6Addr::new(0x2001, 0xdb8, 0xa, self.index, 0, 0, 0, 0),
            64,
        )
    }
    /// MIPv6: the access router's MAC there, so its link-local address is its own.
    pub fn access_router_mac(&self) -> Mac {
        let [hi, lo] = self.index.to_be_bytes();
        Mac([0x02, 0x61, 0x72, hi, lo, 0x01])
    }
    /// The hypervisor host on this MAG's WAN link (host1 for mag1, ...).
    pub fn host(&self) -> String {
        format!("host{}", self.index)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Vm {
    pub name: String,
    pub index: u16,
    pub mag: String,
    pub family: Family,
    /// Whether the policy names the VM at all.
    pub in_policy: bool,
    pub kind: VmKind,
    pub netdev: QemuNetdev,
}

impl Vm {
    pub fn mac(&self) -> Mac {
        Mac([0x52, 0x54, 0, 0xaa, 0, self.index as u8])
    }
    pub fn mn_id(&self) -> String {
        format!("{}@tapmip", self.name)
    }
    pub fn hnp(&self) -> Ipv6Net {
        net(Ipv6Addr::new(0x2001, 0xdb8, 1, self.index, 0, 0, 0, 0), 64)
    }
    /// The IPv4 home address the policy gives it, 10.1.N.5/24 ...
    pub fn ipv4(&self) -> Ipv4Net {
        let n = u8::try_from(self.index).unwrap_or(u8::MAX);
        Ipv4Net::new(Ipv4Addr::new(10, 1, n, 5), 24).unwrap_or_default()
    }
    /// ... and its default router, 10.1.N.1: the same at every MAG.
    pub fn ipv4_router(&self) -> Ipv4Addr {
        router::policy::first_host(self.ipv4())
    }
    /// MIPv6: the home address, the address PMIPv6 would give it (SLAAC in
    /// its HNP), so both approaches are probed at the same address.
    pub fn home_address(&self) -> Ipv6Addr {
        let iid = u128::from(router::engine::eui64_link_local(self.mac())) & u128::from(u64::MAX);
        Ipv6Addr::from(u128::from(self.hnp().network()) | iid)
    }
}

fn net(addr: Ipv6Addr, len: u8) -> Ipv6Net {
    Ipv6Net::new(addr, len).unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    pub seed: u64,
    pub aaa: Aaa,
    pub mobility: Mobility,
    pub mags: Vec<Mag>,
    pub vms: Vec<Vm>,
    pub correspondents: Vec<String>,
}

/// The paper's testbed on a 30 ms WAN, its VM of `kind`.
fn testbed(kind: &str, family: &str) -> Topology {
    Topology::parse(&format!(
        r#"
        wan_rtt_ms = 30.0
        [[mag]]
        name = "mag1"
        [[mag]]
        name = "mag2"
        [[vm]]
        name = "vm1"
        mag = "mag1"
        kind = "{kind}"
        family = "{family}"
        [[correspondent]]
        name = "client"
        "#
    ))
    .unwrap_or(Topology {
        seed: 1,
        aaa: Aaa::File,
        mobility: Mobility::Pmipv6,
        mags: Vec::new(),
        vms: Vec::new(),
        correspondents: Vec::new(),
    })
}

impl Default for Topology {
    /// The paper's testbed on a 30 ms WAN.
    fn default() -> Self {
        testbed("netns", "dual")
    }
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> TopologyError {
    TopologyError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

fn check_name(field: &str, name: &str, taken: &mut Vec<String>) -> Result<(), TopologyError> {
    let ok = !name.is_empty()
        && name.len() <= 12
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !ok {
        return Err(invalid(
            field,
            format!("'{name}' must be 1-12 lowercase letters or digits"),
        ));
    }
    if ["lma", "bridge", "aaa"].contains(&name)
        || name.starts_with("host")
        || taken.iter().any(|t| t == name)
    {
        return Err(invalid(
            field,
            format!("'{name}' is taken (lma, bridge, aaa and hostN are reserved)"),
        ));
    }
    taken.push(name.to_string());
    Ok(())
}

fn check_link(field: &str, rtt: f64, loss: f64) -> Result<(), TopologyError> {
    if !(0.0..=10_000.0).contains(&rtt) {
        return Err(invalid(
            format!("{field}.wan_rtt_ms"),
            format!("{rtt} is not within 0..=10000"),
        ));
    }
    if !(0.0..=1.0).contains(&loss) {
        return Err(invalid(
            format!("{field}.wan_loss"),
            format!("{loss} is not a probability within 0..=1"),
        ));
    }
    Ok(())
}

impl Topology {
    pub fn parse(text: &str) -> Result<Topology, TopologyError> {
        let raw: RawTopology =
            toml::from_str(text).map_err(|e| TopologyError::Parse(e.to_string()))?;
        check_link("topology", raw.wan_rtt_ms, raw.wan_loss)?;
        let mut taken = Vec::new();
        if raw.mag.is_empty() || raw.mag.len() > 200 {
            return Err(invalid("mag", "give 1 to 200 [[mag]] entries"));
        }
        let mut mags = Vec::new();
        for (i, m) in raw.mag.iter().enumerate() {
            check_name("mag.name", &m.name, &mut taken)?;
            let mag = Mag {
                name: m.name.clone(),
                index: u16::try_from(i + 1).unwrap_or(u16::MAX),
                wan_rtt_ms: m.wan_rtt_ms.unwrap_or(raw.wan_rtt_ms),
                wan_loss: m.wan_loss.unwrap_or(raw.wan_loss),
            };
            check_link(&format!("mag {}", m.name), mag.wan_rtt_ms, mag.wan_loss)?;
            mags.push(mag);
        }
        if raw.vm.len() > 250 {
            return Err(invalid("vm", "at most 250 [[vm]] entries"));
        }
        let mut vms = Vec::new();
        for (i, v) in raw.vm.iter().enumerate() {
            check_name("vm.name", &v.name, &mut taken)?;
            if !mags.iter().any(|m| m.name == v.mag) {
                return Err(invalid(
                    "vm.mag",
                    format!("vm '{}': no [[mag]] is named '{}'", v.name, v.mag),
                ));
            }
            if v.netdev.is_some() && v.kind != VmKind::Qemu {
                return Err(invalid(
                    "vm.netdev",
                    format!("vm '{}': only a kind = \"qemu\" VM has a netdev", v.name),
                ));
            }
            if v.kind == VmKind::Qemu && v.family.has_ipv4() {
                return Err(invalid(
                    "vm.family",
                    format!(
                        "vm '{}': a QEMU guest is IPv6-only for now (its image runs no DHCP client)",
                        v.name
                    ),
                ));
            }
            vms.push(Vm {
                name: v.name.clone(),
                index: u16::try_from(i + 1).unwrap_or(u16::MAX),
                mag: v.mag.clone(),
                family: v.family,
                in_policy: v.policy,
                kind: v.kind,
                netdev: v.netdev.unwrap_or_default(),
            });
        }
        if raw.mobility == Mobility::Mipv6 && vms.iter().any(|v| v.kind != VmKind::Netns) {
            return Err(invalid(
                "mobility",
                "mipv6 runs its mobile node agent in the VM's namespace: every [[vm]] must be kind = \"netns\"",
            ));
        }
        if raw.mobility == Mobility::Mipv6 && vms.iter().any(|v| v.family.has_ipv4()) {
            return Err(invalid(
                "vm.family",
                "the MIPv6 baseline is IPv6-only: with mobility = \"mipv6\" every [[vm]] must be family = \"ipv6\"",
            ));
        }
        let mut correspondents = Vec::new();
        for c in &raw.correspondent {
            check_name("correspondent.name", &c.name, &mut taken)?;
            correspondents.push(c.name.clone());
        }
        Ok(Topology {
            seed: raw.seed,
            aaa: raw.aaa,
            mobility: raw.mobility,
            mags,
            vms,
            correspondents,
        })
    }

    /// The paper's testbed with vm1 a QEMU guest.
    pub fn qemu_testbed() -> Topology {
        testbed("qemu", "ipv6")
    }

    pub fn mag(&self, name: &str) -> Option<&Mag> {
        self.mags.iter().find(|m| m.name == name)
    }

    pub fn vm(&self, name: &str) -> Option<&Vm> {
        self.vms.iter().find(|v| v.name == name)
    }

    /// The policy store both the LMA and the MAGs read. Each MAG's key is
    /// the file [`Topology::key_file`] names, next to the policy.
    pub fn policy_toml(&self) -> String {
        let mut s = String::from("# written by tapmip-lab from the topology\n");
        for m in &self.mags {
            s += &format!(
                "\n[[mag]]\nname = \"{}\"\naddress = \"{}\"\n\n[[mag.key]]\nspi = {LAB_SPI}\nfile = \"{}\"\n",
                m.name,
                m.proxy_coa(),
                Self::key_file(m)
            );
        }
        for v in self.vms.iter().filter(|v| v.in_policy) {
            s += &format!(
                "\n[[node]]\nmn_id = \"{}\"\nmac = \"{}\"\n",
                v.mn_id(),
                v.mac()
            );
            if v.family.has_ipv6() {
                s += &format!("hnps = [\"{}\"]\n", v.hnp());
            }
            if v.family.has_ipv4() {
                s += &format!("ipv4 = \"{}\"\n", v.ipv4());
            }
        }
        s
    }

    /// Correspondent `name`'s IPv4 address on the core link.
    pub fn correspondent_ipv4(&self, name: &str) -> Option<Ipv4Net> {
        let i = self.correspondents.iter().position(|c| c == name)?;
        let host = u8::try_from(10 + i).ok()?;
        Ipv4Net::new(Ipv4Addr::new(192, 0, 2, host), 24).ok()
    }

    /// The key file of MAG `m`, relative to the policy file.
    pub fn key_file(m: &Mag) -> String {
        format!("keys/{}.key", m.name)
    }

    /// The segments where mobility happens: every MAG's access and WAN link.
    pub fn mobility_segments(&self) -> Vec<String> {
        self.mags
            .iter()
            .flat_map(|m| [m.access_segment(), m.wan_segment()])
            .collect()
    }

    /// Every namespace of the lab, routers first (a QEMU guest has none: it
    /// runs on a hypervisor host).
    pub fn nodes(&self) -> Vec<String> {
        let mut n = vec!["lma".to_string()];
        n.extend(self.mags.iter().map(|m| m.name.clone()));
        n.extend(self.mags.iter().map(Mag::host));
        n.extend(self.correspondents.iter().cloned());
        n.extend(
            self.vms
                .iter()
                .filter(|v| v.kind == VmKind::Netns)
                .map(|v| v.name.clone()),
        );
        if self.aaa == Aaa::Radius {
            n.push(AAA_NODE.to_string());
        }
        n
    }

    /// What the lab's FreeRADIUS knows: for the LMA (NAS-Identifier `lma`)
    /// each VM's home network prefix; for a MAG, the VM whose MAC is the
    /// caller; the VMs named in `rejects` it rejects with the reason given.
    pub fn radius_users(&self, rejects: &[(String, String)]) -> Vec<crate::aaa_server::User> {
        use crate::aaa_server::User;
        let mut users = Vec::new();
        for v in &self.vms {
            if let Some((_, reason)) = rejects.iter().find(|(name, _)| *name == v.name) {
                users.push(User::reject(&v.mn_id(), reason));
                continue;
            }
            let prefix = format!("Framed-IPv6-Prefix = {}", v.hnp());
            users.push(User::accept(
                &v.mn_id(),
                &["NAS-Identifier == \"lma\""],
                &[prefix.as_str()],
            ));
            let mac = router::aaa::radius_store::calling_station_mac(&v.mac());
            let caller = format!("Calling-Station-Id == \"{mac}\"");
            users.push(User::accept(&v.mn_id(), &[caller.as_str()], &[]));
        }
        users
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_papers_testbed() {
        let t = Topology::default();
        assert_eq!(
            t.nodes(),
            ["lma", "mag1", "mag2", "host1", "host2", "client", "vm1"]
        );
        let mag2 = t.mag("mag2").unwrap();
        assert_eq!(mag2.wan_prefix().to_string(), "2001:db8:ff:2::/64");
        assert_eq!(mag2.lma_address().to_string(), "2001:db8:ff:2::1");
        assert_eq!(mag2.proxy_coa().to_string(), "2001:db8:ff:2::2");
        assert_eq!(mag2.wan_rtt_ms, 30.0);
        let vm = t.vm("vm1").unwrap();
        assert_eq!(vm.mac().to_string(), "52:54:00:aa:00:01");
        assert_eq!(vm.hnp().to_string(), "2001:db8:1:1::/64");
        let policy = router::policy::Policy::parse(&t.policy_toml(), "generated").unwrap();
        let node = policy.node_by_mn_id("vm1@tapmip").unwrap();
        assert_eq!(node.hnps, vec![vm.hnp()]);
        assert_eq!(vm.family, Family::Dual, "the lab's VM runs both");
        assert_eq!(vm.ipv4().to_string(), "10.1.1.5/24");
        assert_eq!(vm.ipv4_router().to_string(), "10.1.1.1");
        assert!(node.ipv4.is_some());
        assert_eq!(
            t.correspondent_ipv4("client").unwrap().to_string(),
            "192.0.2.10/24"
        );
        assert_eq!(policy.mags.len(), 2);
        assert_eq!(policy.mags[1].keys[0].spi, LAB_SPI);
        assert_eq!(policy.mags[1].keys[0].file.to_str(), Some("keys/mag2.key"));
    }

    #[test]
    fn refuses_bad_topologies_naming_the_field() {
        let e = |t: &str| Topology::parse(t).unwrap_err().to_string();
        assert!(
            e("[[mag]]\nname = \"m1\"\n[[vm]]\nname = \"v\"\nmag = \"m9\"\n")
                .contains("vm.mag: vm 'v': no [[mag]] is named 'm9'")
        );
        assert!(e("[[mag]]\nname = \"Mag 1\"\n").contains("mag.name"));
        assert!(e("[[mag]]\nname = \"lma\"\n").contains("is taken"));
        assert!(e("[[mag]]\nname = \"m\"\nwan_loss = 1.5\n").contains("wan_loss"));
        assert!(e("").contains("give 1 to 200"));
        assert!(e("[[mag]]\nname = \"m\"\nspeed = 3\n").contains("unknown field"));
        assert!(e("mobility = \"mip4\"\n[[mag]]\nname = \"m\"\n").contains("mobility"));
        assert!(
            e("mobility = \"mipv6\"\n[[mag]]\nname = \"m\"\n[[vm]]\nname = \"v\"\nmag = \"m\"\nkind = \"qemu\"\n")
                .contains("kind = \"netns\"")
        );
        assert!(
            e("[[mag]]\nname = \"m\"\n[[vm]]\nname = \"v\"\nmag = \"m\"\nfamily = \"ipx\"\n")
                .contains("unknown variant")
        );
        let t = Topology::parse("[[mag]]\nname = \"m\"\n[[vm]]\nname = \"v\"\nmag = \"m\"\nfamily = \"ipv4\"\n[[vm]]\nname = \"w\"\nmag = \"m\"\npolicy = false\n").unwrap();
        let policy = router::policy::Policy::parse(&t.policy_toml(), "generated").unwrap();
        assert!(!policy.node_by_mn_id("v@tapmip").unwrap().has_ipv6());
        assert!(policy.node_by_mn_id("w@tapmip").is_none());
        assert!(
            e("[[mag]]\nname = \"m\"\n[[vm]]\nname = \"v\"\nmag = \"m\"\nnetdev = \"stream\"\n")
                .contains("vm.netdev")
        );
    }

    #[test]
    fn a_qemu_guest_has_no_namespace() {
        let t = Topology::qemu_testbed();
        assert_eq!(
            t.nodes(),
            ["lma", "mag1", "mag2", "host1", "host2", "client"]
        );
        let vm = t.vm("vm1").unwrap();
        assert_eq!((vm.kind, vm.netdev), (VmKind::Qemu, QemuNetdev::Dgram));
        let t = Topology::parse(
            "[[mag]]\nname = \"m\"\n[[vm]]\nname = \"v\"\nmag = \"m\"\nkind = \"qemu\"\nnetdev = \"stream\"\n",
        )
        .unwrap();
        assert_eq!(t.vm("v").unwrap().netdev, QemuNetdev::Stream);
    }

    #[test]
    fn mipv6_refuses_an_ipv4_vm() {
        let e = Topology::parse(
            "mobility = \"mipv6\"\n[[mag]]\nname = \"m\"\n[[vm]]\nname = \"v\"\nmag = \"m\"\nfamily = \"dual\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("IPv6-only"), "{e}");
    }

    #[test]
    fn mipv6_gives_each_access_router_its_prefix_and_the_vm_its_home_address() {
        let t = Topology::parse(
            "mobility = \"mipv6\"\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n[[vm]]\nname = \"vm1\"\nmag = \"mag1\"\n",
        )
        .unwrap();
        assert_eq!(t.mobility, Mobility::Mipv6);
        assert_eq!(Topology::default().mobility, Mobility::Pmipv6);
        let m2 = t.mag("mag2").unwrap();
        assert_eq!(m2.access_prefix().to_string(), "2001:db8:a:2::/64");
        assert_eq!(m2.access_router_mac().to_string(), "02:61:72:00:02:01");
        let vm = t.vm("vm1").unwrap();
        assert_eq!(vm.home_address().to_string(), "2001:db8:1:1:5054:ff:feaa:1");
    }
}
