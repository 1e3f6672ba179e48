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
//! [[mag.key]]                       # the key this MAG and the LMA share
//! spi = 257                         # Mobility SPI, 256 or above (RFC 4285)
//! file = "keys/mag1-257.key"        # mode 0600; relative to this file's directory
//! algorithm = "hmac-sha256"         # the default; or "hmac-sha512"
//! encoding = "hex"                  # the default; or "raw" (the file's octets)
//!                                   # a second [[mag.key]]: a rollover (crate::auth)
//!
//! [pool.vms]
//! prefix = "2001:db8:100::/48"      # HNPs are carved from here ...
//! length = 64                       # ... one /64 per node
//!
//! [ipv4_pool.vms4]                  # IPv4 home addresses (RFC 5844) ...
//! prefix = "10.2.0.0/24"            # ... one host each, with this mask
//! router = "10.2.0.1"               # their default router (absent: the first host)
//!
//! [[node]]
//! mn_id = "vm1@tapmip"              # MN-ID (NAI, RFC 4283)
//! mac = "52:54:00:aa:00:01"         # how a MAG recognises it on the access link
//! hnps = ["2001:db8:1:1::/64"]      # fixed HNPs, or pool = "vms"; neither: no IPv6
//! ipv4 = "10.1.1.5/24"              # fixed IPv4 home address, or ipv4_pool = "vms4";
//!                                   # neither: no IPv4
//! ipv4_router = "10.1.1.1"          # its default router (absent: the first host)
//! mags = ["mag1", "mag2"]           # MAGs that may serve it (absent: any)
//! ```

use ipnet::{Ipv4Net, Ipv6Net};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use toml::Spanned;

use crate::auth::{Algorithm, KeyEncoding, KeySpec, key::MIN_SPI};

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
    /// The keys this MAG shares with the LMA, oldest first.
    pub keys: Vec<KeySpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HnpPool {
    pub prefix: Ipv6Net,
    /// Length of each prefix handed out.
    pub length: u8,
}

/// A pool of IPv4 home addresses on one link: every host of `prefix` but
/// the router (and the network and broadcast addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Pool {
    pub prefix: Ipv4Net,
    pub router: Ipv4Addr,
}

/// Where a node's IPv4 home address comes from (RFC 5844).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv4Assignment {
    /// Always this address, with its link's prefix length and default router.
    Fixed { address: Ipv4Net, router: Ipv4Addr },
    /// Any free address of the named `[ipv4_pool.NAME]`.
    Pool(String),
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
    /// IPv4 home address mobility (RFC 5844); `None`: not authorized for it.
    pub ipv4: Option<Ipv4Assignment>,
}

impl NodeProfile {
    /// Whether the node is authorized for IPv6 home network prefixes (an
    /// IPv4-only node is not, RFC 5844 3.1.3).
    pub fn has_ipv6(&self) -> bool {
        !self.hnps.is_empty() || self.pool.is_some()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub mags: Vec<MagEntry>,
    pub pools: BTreeMap<String, HnpPool>,
    pub ipv4_pools: BTreeMap<String, Ipv4Pool>,
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
    ipv4_pool: BTreeMap<String, RawIpv4Pool>,
    #[serde(default)]
    node: Vec<RawNode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIpv4Pool {
    prefix: Spanned<String>,
    router: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMag {
    name: Spanned<String>,
    address: Spanned<String>,
    ordering: Option<Spanned<String>>,
    #[serde(default)]
    key: Vec<RawKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    spi: Spanned<i64>,
    file: Spanned<String>,
    algorithm: Option<Spanned<String>>,
    encoding: Option<Spanned<String>>,
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
    ipv4: Option<Spanned<String>>,
    ipv4_router: Option<Spanned<String>>,
    ipv4_pool: Option<Spanned<String>>,
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

    fn ipv4_addr(&self, field: &str, v: &Spanned<String>) -> Result<Ipv4Addr, PolicyError> {
        v.get_ref().parse().map_err(|_| {
            self.fail(
                v,
                format!("{field}: '{}' is not an IPv4 address", v.get_ref()),
            )
        })
    }

    /// An address with its link's prefix; the link must hold a router and
    /// more than one host (/30 at most).
    fn ipv4_net(&self, field: &str, v: &Spanned<String>) -> Result<Ipv4Net, PolicyError> {
        let net: Ipv4Net = v.get_ref().parse().map_err(|_| {
            self.fail(
                v,
                format!(
                    "{field}: '{}' is not an IPv4 address with its prefix length (e.g. 10.1.1.5/24)",
                    v.get_ref()
                ),
            )
        })?;
        if net.prefix_len() > 30 {
            return Err(self.fail(
                v,
                format!("{field}: '{net}' leaves no room for a default router (at most /30)"),
            ));
        }
        Ok(net)
    }

    /// The default router of `link`: `given`, or the link's first host.
    fn ipv4_router(
        &self,
        field: &str,
        link: Ipv4Net,
        given: Option<&Spanned<String>>,
        at: &Spanned<String>,
    ) -> Result<Ipv4Addr, PolicyError> {
        let router = match given {
            Some(r) => self.ipv4_addr(field, r)?,
            None => first_host(link),
        };
        let is_host =
            link.contains(&router) && router != link.network() && router != link.broadcast();
        if !is_host {
            return Err(self.fail(
                given.unwrap_or(at),
                format!("{field}: {router} is not a host of {}", link.trunc()),
            ));
        }
        Ok(router)
    }
}

/// The first host address of an IPv4 link (its network address + 1).
pub fn first_host(link: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(link.network()).wrapping_add(1))
}

impl Checker<'_> {
    fn key(&self, mag: &str, k: &RawKey, keys: &[KeySpec]) -> Result<KeySpec, PolicyError> {
        let spi = u32::try_from(*k.spi.get_ref())
            .ok()
            .filter(|spi| *spi >= MIN_SPI)
            .ok_or_else(|| {
                self.fail(
                    &k.spi,
                    format!(
                        "mag.key.spi: {} must lie within {MIN_SPI}..={} (0-255 are reserved, RFC 4303 2.1)",
                        k.spi.get_ref(),
                        u32::MAX
                    ),
                )
            })?;
        if keys.iter().any(|other| other.spi == spi) {
            return Err(self.fail(
                &k.spi,
                format!("mag.key.spi: mag '{mag}' has SPI {spi} twice"),
            ));
        }
        let algorithm = match &k.algorithm {
            None => Algorithm::DEFAULT,
            Some(a) => Algorithm::from_name(a.get_ref()).ok_or_else(|| {
                let known: Vec<_> = Algorithm::ALL.iter().map(|a| a.name()).collect();
                self.fail(
                    a,
                    format!(
                        "mag.key.algorithm: '{}' is not one of {}",
                        a.get_ref(),
                        known.join(", ")
                    ),
                )
            })?,
        };
        let encoding = match &k.encoding {
            None => KeyEncoding::Hex,
            Some(e) => KeyEncoding::from_name(e.get_ref()).ok_or_else(|| {
                self.fail(
                    e,
                    format!(
                        "mag.key.encoding: '{}' is neither \"hex\" nor \"raw\"",
                        e.get_ref()
                    ),
                )
            })?,
        };
        if k.file.get_ref().is_empty() {
            return Err(self.fail(&k.file, "mag.key.file: empty path".into()));
        }
        Ok(KeySpec {
            spi,
            algorithm,
            file: PathBuf::from(k.file.get_ref()),
            encoding,
        })
    }
}

impl Policy {
    /// Reads and checks the policy file; key files named relative to it are
    /// taken from its directory (they are read later, by [`crate::auth`]).
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut policy = Policy::parse(&text, &path.display().to_string())?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for key in policy.mags.iter_mut().flat_map(|m| m.keys.iter_mut()) {
            key.file = dir.join(&key.file);
        }
        Ok(policy)
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
            let mut keys = Vec::new();
            for k in &m.key {
                keys.push(ck.key(m.name.get_ref(), k, &keys)?);
            }
            policy.mags.push(MagEntry {
                name: m.name.get_ref().clone(),
                address,
                ordering,
                keys,
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
        for (name, p) in &raw.ipv4_pool {
            let prefix = ck.ipv4_net("ipv4_pool.prefix", &p.prefix)?;
            if prefix != prefix.trunc() {
                return Err(ck.fail(
                    &p.prefix,
                    format!(
                        "ipv4_pool.prefix: '{prefix}' has host bits set (did you mean {}?)",
                        prefix.trunc()
                    ),
                ));
            }
            let router =
                ck.ipv4_router("ipv4_pool.router", prefix, p.router.as_ref(), &p.prefix)?;
            policy
                .ipv4_pools
                .insert(name.clone(), Ipv4Pool { prefix, router });
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
            let ipv4 = match (&n.ipv4, &n.ipv4_pool) {
                (Some(_), Some(pool)) => {
                    return Err(ck.fail(
                        pool,
                        "node.ipv4_pool: give either ipv4 or ipv4_pool, not both".into(),
                    ));
                }
                (Some(address), None) => {
                    let link = ck.ipv4_net("node.ipv4", address)?;
                    if link.addr() == link.network() || link.addr() == link.broadcast() {
                        return Err(ck.fail(
                            address,
                            format!(
                                "node.ipv4: {} is not a host of {}",
                                link.addr(),
                                link.trunc()
                            ),
                        ));
                    }
                    let router =
                        ck.ipv4_router("node.ipv4_router", link, n.ipv4_router.as_ref(), address)?;
                    if router == link.addr() {
                        return Err(ck.fail(
                            address,
                            format!("node.ipv4: {router} is the node's default router too"),
                        ));
                    }
                    let taken = policy.nodes.iter().any(|o| {
                        matches!(&o.ipv4, Some(Ipv4Assignment::Fixed { address, .. }) if address.addr() == link.addr())
                    });
                    if taken {
                        return Err(ck.fail(
                            address,
                            format!("node.ipv4: {} belongs to two nodes", link.addr()),
                        ));
                    }
                    Some(Ipv4Assignment::Fixed {
                        address: link,
                        router,
                    })
                }
                (None, Some(pool)) => {
                    if !policy.ipv4_pools.contains_key(pool.get_ref()) {
                        return Err(ck.fail(
                            pool,
                            format!(
                                "node.ipv4_pool: no [ipv4_pool.{}] is defined",
                                pool.get_ref()
                            ),
                        ));
                    }
                    Some(Ipv4Assignment::Pool(pool.get_ref().clone()))
                }
                (None, None) => None,
            };
            if let (Some(r), None) = (&n.ipv4_router, &n.ipv4) {
                return Err(ck.fail(r, "node.ipv4_router: only with a fixed ipv4".into()));
            }
            if hnps.is_empty() && n.pool.is_none() && ipv4.is_none() {
                return Err(ck.fail(
                    &n.mn_id,
                    format!(
                        "node '{mn_id}': give it hnps = [...] or pool = \"...\" (IPv6), ipv4 = \"...\" or ipv4_pool = \"...\" (IPv4), or both"
                    ),
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
                ipv4,
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

    const KEYS: &str = r#"
[[mag]]
name = "mag1"
address = "2001:db8:ff:1::2"

[[mag.key]]
spi = 257
file = "keys/mag1-257.key"

[[mag.key]]
spi = 258
file = "/etc/tapmip/mag1-258.key"
algorithm = "hmac-sha512"
encoding = "raw"
"#;

    #[test]
    fn key_entries() {
        let p = Policy::parse(KEYS, "p.toml").unwrap();
        let keys = &p.mags[0].keys;
        assert_eq!(
            keys[0],
            KeySpec {
                spi: 257,
                algorithm: Algorithm::HmacSha256,
                file: "keys/mag1-257.key".into(),
                encoding: KeyEncoding::Hex,
            }
        );
        assert_eq!(
            (keys[1].spi, keys[1].algorithm, keys[1].encoding),
            (258, Algorithm::HmacSha512, KeyEncoding::Raw)
        );
        let e = |from: &str, to: &str| err_of(&KEYS.replace(from, to));
        assert!(
            e("spi = 258", "spi = 257")
                .contains("p.toml:11: mag.key.spi: mag 'mag1' has SPI 257 twice")
        );
        assert!(e("spi = 258", "spi = 255").contains("mag.key.spi: 255 must lie within 256..="));
        assert!(e("spi = 258", "spi = 4294967296").contains("must lie within"));
        assert!(e("hmac-sha512", "md5").contains(
            "p.toml:13: mag.key.algorithm: 'md5' is not one of hmac-sha256, hmac-sha512"
        ));
        assert!(e("\"raw\"", "\"base64\"").contains("mag.key.encoding: 'base64'"));
        assert!(e("spi = 257\n", "").contains("missing field `spi`"));
        // Relative key files are the policy file's neighbours.
        let dir = std::env::temp_dir().join(format!("tapmip-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.toml");
        std::fs::write(&path, KEYS).unwrap();
        let loaded = Policy::load(&path).unwrap();
        assert_eq!(loaded.mags[0].keys[0].file, dir.join("keys/mag1-257.key"));
        assert_eq!(
            loaded.mags[0].keys[1].file,
            PathBuf::from("/etc/tapmip/mag1-258.key")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn ipv4_fixed_and_pooled() {
        let text = format!(
            "{GOOD}\n[ipv4_pool.v4]\nprefix = \"10.2.0.0/24\"\n\n[[node]]\nmn_id = \"vm3@tapmip\"\nmac = \"52:54:00:aa:00:03\"\nipv4 = \"10.1.1.5/24\"\n\n[[node]]\nmn_id = \"vm4@tapmip\"\nmac = \"52:54:00:aa:00:04\"\npool = \"vms\"\nipv4_pool = \"v4\"\n"
        );
        let p = Policy::parse(&text, "p.toml").unwrap();
        let vm3 = p.node_by_mn_id("vm3@tapmip").unwrap();
        assert!(!vm3.has_ipv6(), "an IPv4-only node");
        assert_eq!(
            vm3.ipv4,
            Some(Ipv4Assignment::Fixed {
                address: "10.1.1.5/24".parse().unwrap(),
                router: "10.1.1.1".parse().unwrap()
            })
        );
        let vm4 = p.node_by_mn_id("vm4@tapmip").unwrap();
        assert!(vm4.has_ipv6());
        assert_eq!(vm4.ipv4, Some(Ipv4Assignment::Pool("v4".into())));
        assert_eq!(p.ipv4_pools["v4"].router.to_string(), "10.2.0.1");
        assert_eq!(p.node_by_mn_id("vm1@tapmip").unwrap().ipv4, None);
        let e = |from: &str, to: &str| err_of(&text.replace(from, to));
        assert!(
            e("ipv4 = \"10.1.1.5/24\"", "ipv4 = \"10.1.1.5\"")
                .contains("node.ipv4: '10.1.1.5' is not an IPv4 address with its prefix length")
        );
        assert!(e("10.1.1.5/24", "10.1.1.5/31").contains("at most /30"));
        assert!(e("10.1.1.5/24", "10.1.1.0/24").contains("is not a host of 10.1.1.0/24"));
        assert!(e("10.1.1.5/24", "10.1.1.1/24").contains("default router too"));
        assert!(e("ipv4_pool = \"v4\"", "ipv4_pool = \"v6\"").contains("no [ipv4_pool.v6]"));
        assert!(e("10.2.0.0/24", "10.2.0.9/24").contains("has host bits set"));
        assert!(
            e(
                "ipv4 = \"10.1.1.5/24\"",
                "ipv4 = \"10.1.1.5/24\"\nipv4_router = \"10.9.9.9\""
            )
            .contains("node.ipv4_router: 10.9.9.9 is not a host of 10.1.1.0/24")
        );
        assert!(
            e(
                "pool = \"vms\"\nipv4_pool",
                "ipv4 = \"10.1.1.5/24\"\nipv4_pool"
            )
            .contains("not both")
        );
        assert!(
            e(
                "mac = \"52:54:00:aa:00:04\"\npool = \"vms\"\nipv4_pool = \"v4\"",
                "mac = \"52:54:00:aa:00:04\"\nipv4 = \"10.1.1.5/24\""
            )
            .contains("belongs to two nodes")
        );
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
