//! The policy store: which mobile nodes exist, how a MAG recognises them, which
//! prefixes they get, and which MAGs the LMA accepts (RFC 5213 4, "policy profile").
//!
//! The file is TOML; both the LMA and every MAG read the same one. A field that is
//! unknown, missing or wrong is refused at start with the file, the line and the
//! reason, so a typo never becomes a silently different domain.
//!
//! ```toml
//! [[mag]]
//! name = "mag1"
//! address = "2001:db8:ff:1::2"      # the MAG's Proxy-CoA
//! ordering = "timestamps"           # or "sequence-numbers" (RFC 5213 5.5);
//!                                   # absent: the LMA's default
//!
//! [pool.vms]
//! prefix = "2001:db8:100::/48"      # HNPs are carved from here ...
//! length = 64                       # ... one /64 per node
//!
//! [[node]]
//! mn_id = "vm1@tapmip"              # MN-ID (NAI, RFC 4283)
//! mac = "52:54:00:aa:00:01"         # how a MAG recognises it on the access link
//! hnps = ["2001:db8:1:1::/64"]      # fixed HNPs, or pool = "vms"
//! mags = ["mag1", "mag2"]           # MAGs that may serve it (absent: any)
//! ```

use ipnet::Ipv6Net;
use serde::Deserialize;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::net::Ipv6Addr;
use std::path::Path;
use toml::Spanned;

pub use crate::mac::Mac;

/// How the LMA orders the PBUs of one MAG (RFC 5213 5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    /// Timestamp option, checked against the LMA's clock (the RFC's default).
    Timestamps,
    /// The sequence number window of RFC 6275 9.5.1, for MAGs without clocks.
    SequenceNumbers,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MagEntry {
    pub name: String,
    pub address: Ipv6Addr,
    /// `None`: whatever the LMA is configured to expect by default.
    pub ordering: Option<Ordering>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HnpPool {
    pub prefix: Ipv6Net,
    /// Length of each prefix handed out.
    pub length: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeProfile {
    pub mn_id: String,
    pub mac: Mac,
    /// Fixed HNPs; empty when the node takes one from `pool`.
    pub hnps: Vec<Ipv6Net>,
    pub pool: Option<String>,
    /// Names of the MAGs that may serve this node; empty means any accepted MAG.
    pub mags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub mags: Vec<MagEntry>,
    pub pools: BTreeMap<String, HnpPool>,
    pub nodes: Vec<NodeProfile>,
    by_mac: FxHashMap<Mac, usize>,
    by_mn_id: FxHashMap<String, usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{path}: cannot read policy file: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {reason}")]
    Invalid {
        file: String,
        line: usize,
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    mag: Vec<RawMag>,
    #[serde(default)]
    pool: BTreeMap<String, RawPool>,
    #[serde(default)]
    node: Vec<RawNode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMag {
    name: Spanned<String>,
    address: Spanned<String>,
    ordering: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPool {
    prefix: Spanned<String>,
    length: Option<Spanned<u8>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    mn_id: Spanned<String>,
    mac: Spanned<String>,
    #[serde(default)]
    hnps: Vec<Spanned<String>>,
    pool: Option<Spanned<String>>,
    #[serde(default)]
    mags: Vec<Spanned<String>>,
}

struct Checker<'a> {
    file: &'a str,
    text: &'a str,
}

impl Checker<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    fn fail<T>(&self, at: &Spanned<T>, reason: String) -> PolicyError {
        PolicyError::Invalid {
            file: self.file.to_string(),
            line: self.line_of(at.span().start),
            reason,
        }
    }

    fn prefix(&self, field: &str, v: &Spanned<String>) -> Result<Ipv6Net, PolicyError> {
        let net: Ipv6Net = v.get_ref().parse().map_err(|_| {
            self.fail(
                v,
                format!(
                    "{field}: '{}' is not an IPv6 prefix (e.g. 2001:db8:1::/64)",
                    v.get_ref()
                ),
            )
        })?;
        if net != net.trunc() {
            return Err(self.fail(
                v,
                format!(
                    "{field}: '{net}' has host bits set (did you mean {}?)",
                    net.trunc()
                ),
            ));
        }
        Ok(net)
    }
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Policy::parse(&text, &path.display().to_string())
    }

    /// Parses policy text; `file` names it in error messages.
    pub fn parse(text: &str, file: &str) -> Result<Policy, PolicyError> {
        let ck = Checker { file, text };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Invalid {
            file: file.to_string(),
            line: e.span().map_or(1, |s| ck.line_of(s.start)),
            reason: e.message().to_string(),
        })?;
        let mut policy = Policy::default();
        for m in &raw.mag {
            let address = m.address.get_ref().parse().map_err(|_| {
                ck.fail(
                    &m.address,
                    format!(
                        "mag.address: '{}' is not an IPv6 address",
                        m.address.get_ref()
                    ),
                )
            })?;
            if policy.mags.iter().any(|x| x.name == *m.name.get_ref()) {
                return Err(ck.fail(
                    &m.name,
                    format!("mag.name: '{}' is defined twice", m.name.get_ref()),
                ));
            }
            let ordering = match m.ordering.as_ref() {
                None => None,
                Some(o) => Some(match o.get_ref().as_str() {
                    "timestamps" => Ordering::Timestamps,
                    "sequence-numbers" => Ordering::SequenceNumbers,
                    other => {
                        return Err(ck.fail(
                            o,
                            format!(
                                "mag.ordering: '{other}' is neither \"timestamps\" nor \"sequence-numbers\""
                            ),
                        ));
                    }
                }),
            };
            policy.mags.push(MagEntry {
                name: m.name.get_ref().clone(),
                address,
                ordering,
            });
        }
        for (name, p) in &raw.pool {
            let prefix = ck.prefix("pool.prefix", &p.prefix)?;
            let length = match &p.length {
                Some(l) if *l.get_ref() < prefix.prefix_len() || *l.get_ref() > 128 => {
                    return Err(ck.fail(
                        l,
                        format!(
                            "pool.length: {} must lie between the pool's own length {} and 128",
                            l.get_ref(),
                            prefix.prefix_len()
                        ),
                    ));
                }
                Some(l) => *l.get_ref(),
                None => 64,
            };
            policy
                .pools
                .insert(name.clone(), HnpPool { prefix, length });
        }
        for n in &raw.node {
            let mn_id = n.mn_id.get_ref().clone();
            if mn_id.is_empty() || mn_id.len() > 255 {
                return Err(ck.fail(
                    &n.mn_id,
                    "node.mn_id: must be 1 to 255 octets (RFC 4283)".into(),
                ));
            }
            let mac: Mac = n
                .mac
                .get_ref()
                .parse()
                .map_err(|e| ck.fail(&n.mac, format!("node.mac: {e}")))?;
            let hnps = n
                .hnps
                .iter()
                .map(|h| ck.prefix("node.hnps", h))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(pool) = &n.pool
                && !policy.pools.contains_key(pool.get_ref())
            {
                return Err(ck.fail(
                    pool,
                    format!("node.pool: no [pool.{}] is defined", pool.get_ref()),
                ));
            }
            if hnps.is_empty() && n.pool.is_none() {
                return Err(ck.fail(
                    &n.mn_id,
                    format!("node '{mn_id}': give it hnps = [...] or pool = \"...\""),
                ));
            }
            for m in &n.mags {
                if !policy.mags.iter().any(|x| x.name == *m.get_ref()) {
                    return Err(ck.fail(
                        m,
                        format!("node.mags: no [[mag]] is named '{}'", m.get_ref()),
                    ));
                }
            }
            let idx = policy.nodes.len();
            if policy.by_mn_id.insert(mn_id.clone(), idx).is_some() {
                return Err(ck.fail(&n.mn_id, format!("node.mn_id: '{mn_id}' is defined twice")));
            }
            if policy.by_mac.insert(mac, idx).is_some() {
                return Err(ck.fail(&n.mac, format!("node.mac: {mac} belongs to two nodes")));
            }
            policy.nodes.push(NodeProfile {
                mn_id,
                mac,
                hnps,
                pool: n.pool.as_ref().map(|p| p.get_ref().clone()),
                mags: n.mags.iter().map(|m| m.get_ref().clone()).collect(),
            });
        }
        Ok(policy)
    }

    pub fn node_by_mac(&self, mac: &Mac) -> Option<&NodeProfile> {
        self.nodes.get(*self.by_mac.get(mac)?)
    }

    pub fn node_by_mn_id(&self, mn_id: &str) -> Option<&NodeProfile> {
        self.nodes.get(self.node_index(mn_id)?)
    }

    /// Where the profile of `mn_id` sits in `nodes`: a handle that, unlike a
    /// reference, lets a core change its own state while it holds one.
    pub fn node_index(&self, mn_id: &str) -> Option<usize> {
        self.by_mn_id.get(mn_id).copied()
    }

    pub fn mag_by_address(&self, address: &Ipv6Addr) -> Option<&MagEntry> {
        self.mags.iter().find(|m| m.address == *address)
    }

    /// Whether `mag` may act for `node` (RFC 5213 5.3.1 step 3).
    pub fn may_serve(&self, node: &NodeProfile, mag: &MagEntry) -> bool {
        node.mags.is_empty() || node.mags.contains(&mag.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[mag]]
name = "mag1"
address = "2001:db8:ff:1::2"

[[mag]]
name = "mag2"
address = "2001:db8:ff:2::2"
ordering = "sequence-numbers"

[pool.vms]
prefix = "2001:db8:100::/48"

[[node]]
mn_id = "vm1@tapmip"
mac = "52:54:00:aa:00:01"
hnps = ["2001:db8:1:1::/64"]
mags = ["mag1", "mag2"]

[[node]]
mn_id = "vm2@tapmip"
mac = "52:54:00:AA:00:02"
pool = "vms"
"#;

    fn err_of(text: &str) -> String {
        Policy::parse(text, "p.toml").unwrap_err().to_string()
    }

    #[test]
    fn parses_the_example() {
        let p = Policy::parse(GOOD, "p.toml").unwrap();
        assert_eq!(p.mags.len(), 2);
        let vm1 = p.node_by_mac(&Mac([0x52, 0x54, 0, 0xaa, 0, 1])).unwrap();
        assert_eq!(vm1.mn_id, "vm1@tapmip");
        assert_eq!(vm1.hnps, vec!["2001:db8:1:1::/64".parse().unwrap()]);
        let vm2 = p.node_by_mn_id("vm2@tapmip").unwrap();
        assert_eq!(vm2.pool.as_deref(), Some("vms"));
        assert_eq!(p.pools["vms"].length, 64);
        let mag2 = p
            .mag_by_address(&"2001:db8:ff:2::2".parse().unwrap())
            .unwrap();
        assert!(p.may_serve(vm1, mag2));
        assert_eq!(mag2.ordering, Some(Ordering::SequenceNumbers));
        assert_eq!(p.mags[0].ordering, None);
        assert!(p.may_serve(vm2, mag2));
        assert_eq!(vm1.mac.to_string(), "52:54:00:aa:00:01");
    }

    #[test]
    fn refuses_with_file_line_and_reason() {
        let bad_mac = GOOD.replace("52:54:00:aa:00:01", "52:54:zz:aa:00:01");
        assert_eq!(
            err_of(&bad_mac),
            "p.toml:16: node.mac: '52:54:zz:aa:00:01' is not a MAC address (six hex octets separated by colons, e.g. 52:54:00:aa:00:01)"
        );
        let unknown = GOOD.replace("mags = [", "magz = [");
        let e = err_of(&unknown);
        assert!(e.starts_with("p.toml:18: unknown field `magz`"), "{e}");
        let host_bits = GOOD.replace("2001:db8:1:1::/64", "2001:db8:1:1::5/64");
        assert!(
            err_of(&host_bits)
                .contains("p.toml:17: node.hnps: '2001:db8:1:1::5/64' has host bits set")
        );
        let no_mag = GOOD.replace("\"mag1\", \"mag2\"", "\"mag3\"");
        assert_eq!(
            err_of(&no_mag),
            "p.toml:18: node.mags: no [[mag]] is named 'mag3'"
        );
        let twice = GOOD.replace("vm2@tapmip", "vm1@tapmip");
        assert!(err_of(&twice).contains("'vm1@tapmip' is defined twice"));
        let same_mac = GOOD.replace("52:54:00:AA:00:02", "52:54:00:aa:00:01");
        assert!(err_of(&same_mac).contains("belongs to two nodes"));
        let no_pool = GOOD.replace("pool = \"vms\"", "pool = \"nope\"");
        assert!(err_of(&no_pool).contains("no [pool.nope] is defined"));
        let bad_len = GOOD.replace(
            "prefix = \"2001:db8:100::/48\"",
            "prefix = \"2001:db8:100::/48\"\nlength = 40",
        );
        assert!(err_of(&bad_len).contains("pool.length: 40 must lie between"));
        let bad_order = GOOD.replace("\"sequence-numbers\"", "\"seq\"");
        let e = err_of(&bad_order);
        assert!(
            e.starts_with("p.toml:9: mag.ordering: 'seq' is neither"),
            "{e}"
        );
        let bad_addr = GOOD.replace("2001:db8:ff:1::2", "not-an-address");
        assert!(err_of(&bad_addr).starts_with("p.toml:4: mag.address"));
        assert!(
            err_of("[[node]]\nmn_id = \"x\"\nmac = \"52:54:00:00:00:01\"\n")
                .contains("give it hnps")
        );
        assert!(err_of("this is = not toml =").starts_with("p.toml:1:"));
    }

    #[test]
    fn missing_file_names_the_path() {
        let e = Policy::load(Path::new("/nonexistent/policy.toml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/policy.toml: cannot read policy file")
        );
    }
}
