//! What tapbridge joins: segments and their members, from flags or a TOML file.
//!
//! ```text
//! --segment s1=tap:/run/netns/h1:eth0,mac=52:54:00:aa:00:01,mtu=1500,attach:/run/netns/r:wan0
//! ```
//!
//! A member starts with its kind (`tap:`, `attach:`, `dgram:` or `stream:`); the
//! `key=value` parts that follow belong to it. An empty namespace path means
//! tapbridge's own namespace. QEMU guests join through unix sockets (no TAP, no
//! root), one per guest NIC:
//!
//! ```text
//! --segment access1=attach:/run/netns/mag1:access,dgram:/run/lab/vm1.sock,peer=/run/lab/vm1-qemu.sock
//! --segment access2=attach:/run/netns/mag2:access,stream:/run/lab/vm2.sock
//! ```
//!
//! - `dgram:PATH[,peer=PATH]`: tapbridge binds PATH; QEMU's `-netdev dgram` with
//!   `remote.path=PATH` and `local.path` the peer. Frames go to `peer`, or else to
//!   whoever sent the last frame.
//! - `stream:PATH`: tapbridge listens on PATH; QEMU's `-netdev stream` with
//!   `server=off,addr.path=PATH` connects.
//!
//! Socket paths cannot contain a comma (it separates members and options).
//!
//! ```toml
//! aging_secs = 300
//! [[segment]]
//! name = "s1"
//! members = ["tap:/run/netns/h1:eth0,mac=52:54:00:aa:00:01", "attach:/run/netns/r:wan0"]
//! ```

use std::path::{Path, PathBuf};
use std::str::FromStr;

use router::mac::Mac;
use router::netio::OffloadWish;
use serde::Deserialize;

use crate::bridge::MemberConfig;

/// Where a member's frames come from and go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// tapbridge creates the TAP device and holds its fd (kernel hosts).
    Tap {
        netns: Option<PathBuf>,
        ifname: String,
    },
    /// An existing interface joined through a packet socket (a router's TAP).
    Attach {
        netns: Option<PathBuf>,
        ifname: String,
    },
    /// A unix datagram socket, one Ethernet frame per datagram (QEMU `-netdev dgram`).
    Dgram {
        path: PathBuf,
        /// Where frames go; `None`: the sender of the last frame received.
        peer: Option<PathBuf>,
    },
    /// A unix stream socket tapbridge listens on, each frame preceded by its
    /// length as a 32-bit big-endian integer (QEMU `-netdev stream`).
    Stream { path: PathBuf },
}

impl Endpoint {
    fn kind(&self) -> &'static str {
        match self {
            Endpoint::Tap { .. } => "tap",
            Endpoint::Attach { .. } => "attach",
            Endpoint::Dgram { .. } => "dgram",
            Endpoint::Stream { .. } => "stream",
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = |netns: &Option<PathBuf>| {
            netns
                .as_ref()
                .map_or("this namespace".into(), |p| p.display().to_string())
        };
        match self {
            Endpoint::Tap { netns, ifname } => write!(f, "TAP {ifname} in {}", ns(netns)),
            Endpoint::Attach { netns, ifname } => {
                write!(f, "interface {ifname} in {}", ns(netns))
            }
            Endpoint::Dgram { path, peer } => {
                write!(f, "datagram socket {}", path.display())?;
                match peer {
                    Some(p) => write!(f, " (peer {})", p.display()),
                    None => write!(f, " (peer: the last sender)"),
                }
            }
            Endpoint::Stream { path } => write!(f, "stream socket {}", path.display()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpec {
    pub endpoint: Endpoint,
    pub name: String,
    pub mac: Option<Mac>,
    pub mtu: Option<u32>,
    /// What a TAP asks the kernel for, and whether a packet socket carries
    /// virtio-net headers (`offload=none`: plain frames), default all.
    pub offload: OffloadWish,
}

const KINDS: [&str; 4] = ["tap:", "attach:", "dgram:", "stream:"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSpec {
    pub name: String,
    pub members: Vec<MemberSpec>,
}

impl FromStr for MemberSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split(',');
        let head = parts.next().unwrap_or_default();
        let (endpoint, name) = match head.split_once(':') {
            Some((kind @ ("tap" | "attach"), place)) => {
                let (netns, ifname) = place
                    .rsplit_once(':')
                    .ok_or_else(|| format!("{s:?}: expected NETNS_PATH:IFNAME after the kind"))?;
                if ifname.is_empty() || ifname.len() >= 16 {
                    return Err(format!("{s:?}: interface name must be 1 to 15 bytes"));
                }
                let netns = (!netns.is_empty()).then(|| PathBuf::from(netns));
                let name = default_name(netns.as_deref(), ifname);
                let ifname = ifname.to_string();
                let endpoint = if kind == "tap" {
                    Endpoint::Tap { netns, ifname }
                } else {
                    Endpoint::Attach { netns, ifname }
                };
                (endpoint, name)
            }
            Some((kind @ ("dgram" | "stream"), path)) => {
                let path = socket_path(s, path)?;
                let name = path.file_stem().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into(),
                );
                let endpoint = if kind == "dgram" {
                    Endpoint::Dgram { path, peer: None }
                } else {
                    Endpoint::Stream { path }
                };
                (endpoint, name)
            }
            _ => {
                return Err(format!(
                    "{s:?}: a member is tap:NETNS_PATH:IFNAME, attach:NETNS_PATH:IFNAME, \
                     dgram:SOCKET_PATH or stream:SOCKET_PATH"
                ));
            }
        };
        let mut spec = MemberSpec {
            endpoint,
            name,
            mac: None,
            mtu: None,
            offload: OffloadWish::All,
        };
        for part in parts {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected key=value"))?;
            let bad = |e: &dyn std::fmt::Display| format!("{key}={value:?}: {e}");
            match (key, &mut spec.endpoint) {
                ("name", _) => spec.name = value.to_string(),
                ("mac", Endpoint::Tap { .. }) => {
                    let mac: Mac = value.parse().map_err(|_| bad(&"not a MAC address"))?;
                    if !mac.is_unicast() {
                        return Err(bad(&"not a unicast MAC address"));
                    }
                    spec.mac = Some(mac);
                }
                ("mtu", Endpoint::Tap { .. }) => {
                    spec.mtu = Some(value.parse().map_err(|e| bad(&e))?)
                }
                ("offload", Endpoint::Tap { .. } | Endpoint::Attach { .. }) => {
                    spec.offload = value.parse().map_err(|e: String| bad(&e))?
                }
                ("mac" | "mtu", Endpoint::Attach { .. }) => {
                    return Err(format!(
                        "{key}: an attached interface belongs to its router, which sets it"
                    ));
                }
                ("mac" | "mtu", Endpoint::Dgram { .. } | Endpoint::Stream { .. }) => {
                    return Err(format!(
                        "{key}: a socket member's guest sets it (QEMU's -device ...,mac=)"
                    ));
                }
                ("peer", Endpoint::Dgram { peer, .. }) => *peer = Some(socket_path(s, value)?),
                _ => {
                    return Err(format!(
                        "{key:?}: unknown key for a {} member (name, {})",
                        spec.endpoint.kind(),
                        match spec.endpoint {
                            Endpoint::Tap { .. } => "mac, mtu, offload",
                            Endpoint::Attach { .. } => "offload",
                            Endpoint::Dgram { .. } => "peer",
                            Endpoint::Stream { .. } => "no other",
                        }
                    ));
                }
            }
        }
        Ok(spec)
    }
}

/// A unix socket path: non-empty and within `sun_path`'s 108 bytes with its NUL.
fn socket_path(member: &str, path: &str) -> Result<PathBuf, String> {
    if path.is_empty() || path.len() > 107 {
        return Err(format!(
            "{member:?}: a socket path must be 1 to 107 bytes (unix sockets' limit), not {}",
            path.len()
        ));
    }
    Ok(PathBuf::from(path))
}

/// `h1:eth0` for `/run/netns/h1` and `eth0`: short enough to type in control requests.
fn default_name(netns: Option<&Path>, ifname: &str) -> String {
    match netns.and_then(|p| p.file_name()) {
        Some(ns) => format!("{}:{ifname}", ns.to_string_lossy()),
        None => ifname.to_string(),
    }
}

impl FromStr for SegmentSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (name, list) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?}: expected NAME=MEMBER,MEMBER..."))?;
        if name.is_empty() {
            return Err(format!("{s:?}: empty segment name"));
        }
        // Options follow their member, so a new member starts at each kind prefix.
        let mut texts: Vec<String> = Vec::new();
        for part in list.split(',') {
            match texts.last_mut() {
                Some(last) if !KINDS.iter().any(|k| part.starts_with(k)) => {
                    last.push(',');
                    last.push_str(part);
                }
                _ => texts.push(part.to_string()),
            }
        }
        let members = texts
            .iter()
            .map(|t| t.parse())
            .collect::<Result<Vec<MemberSpec>, String>>()
            .map_err(|e| format!("segment {name}: {e}"))?;
        Ok(SegmentSpec {
            name: name.to_string(),
            members,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    aging_secs: Option<u64>,
    #[serde(default)]
    segment: Vec<FileSegment>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSegment {
    name: String,
    members: Vec<String>,
}

/// The segments of a TOML config file, and its aging time if it sets one.
pub fn parse_file(text: &str) -> Result<(Vec<SegmentSpec>, Option<u64>), String> {
    let file: FileConfig = toml::from_str(text).map_err(|e| e.to_string())?;
    let segments = file
        .segment
        .into_iter()
        .map(|s| {
            let members = s
                .members
                .iter()
                .map(|m| m.parse())
                .collect::<Result<Vec<MemberSpec>, String>>()
                .map_err(|e| format!("segment {}: {e}", s.name))?;
            Ok(SegmentSpec {
                name: s.name,
                members,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((segments, file.aging_secs))
}

/// The core's view of the members, in order: their ids are indices in this list.
pub fn member_configs(segments: &[SegmentSpec]) -> Vec<MemberConfig> {
    segments
        .iter()
        .flat_map(|s| {
            s.members.iter().map(|m| MemberConfig {
                name: m.name.clone(),
                segment: s.name.clone(),
                mac: m.mac,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_with_member_options() {
        let s: SegmentSpec =
            "s1=tap:/run/netns/h1:eth0,mac=52:54:00:aa:00:01,mtu=1400,attach:/run/netns/r:wan0,name=r-wan0"
                .parse()
                .unwrap();
        assert_eq!(s.name, "s1");
        assert_eq!(s.members.len(), 2);
        let tap = &s.members[0];
        assert_eq!(
            tap.endpoint,
            Endpoint::Tap {
                netns: Some(PathBuf::from("/run/netns/h1")),
                ifname: "eth0".into()
            }
        );
        assert_eq!(tap.name, "h1:eth0");
        assert_eq!(tap.mac, Some(Mac([0x52, 0x54, 0, 0xaa, 0, 1])));
        assert_eq!(tap.mtu, Some(1400));
        let attach = &s.members[1];
        assert!(matches!(&attach.endpoint, Endpoint::Attach { ifname, .. } if ifname == "wan0"));
        assert_eq!(attach.name, "r-wan0");
    }

    #[test]
    fn socket_members_for_qemu() {
        let s: SegmentSpec =
            "a1=attach:/run/netns/m:access,dgram:/tmp/lab/vm1-host1.sock,peer=/tmp/lab/q.sock,stream:/tmp/lab/vm2.sock,name=vm2"
                .parse()
                .unwrap();
        assert_eq!(s.members.len(), 3);
        assert_eq!(
            s.members[1].endpoint,
            Endpoint::Dgram {
                path: PathBuf::from("/tmp/lab/vm1-host1.sock"),
                peer: Some(PathBuf::from("/tmp/lab/q.sock"))
            }
        );
        assert_eq!(
            s.members[1].name, "vm1-host1",
            "named after the socket file"
        );
        assert_eq!(
            s.members[2].endpoint,
            Endpoint::Stream {
                path: PathBuf::from("/tmp/lab/vm2.sock")
            }
        );
        assert_eq!(s.members[2].name, "vm2");
        let e = |t: &str| t.parse::<SegmentSpec>().unwrap_err();
        assert!(
            e("a=stream:/x.sock,peer=/y").contains("unknown key"),
            "{}",
            e("a=stream:/x.sock,peer=/y")
        );
        assert!(e("a=dgram:/x.sock,mac=52:54:00:00:00:01").contains("guest sets it"));
        assert!(e("a=dgram:").contains("1 to 107 bytes"));
        assert!(e(&format!("a=dgram:/{}", "x".repeat(120))).contains("1 to 107 bytes"));
    }

    #[test]
    fn errors_name_the_part() {
        let e = "s1=veth:/x:eth0".parse::<SegmentSpec>().unwrap_err();
        assert!(e.contains("tap:NETNS_PATH:IFNAME"), "{e}");
        assert!(e.contains("dgram:SOCKET_PATH"), "{e}");
        let e = "s1=attach:/x:wan0,mac=02:00:00:00:00:01"
            .parse::<SegmentSpec>()
            .unwrap_err();
        assert!(e.contains("belongs to its router"), "{e}");
        let e = "s1=tap:/x:eth0,mac=ff:ff:ff:ff:ff:ff"
            .parse::<SegmentSpec>()
            .unwrap_err();
        assert!(e.contains("unicast"), "{e}");
        assert!("nosegment".parse::<SegmentSpec>().is_err());
        let tap: MemberSpec = "tap::tap0".parse().unwrap();
        assert!(matches!(tap.endpoint, Endpoint::Tap { netns: None, .. }));
        assert_eq!(tap.name, "tap0");
    }

    #[test]
    fn file_config() {
        let (segments, aging) = parse_file(
            r#"
            aging_secs = 60
            [[segment]]
            name = "wan1"
            members = ["tap:/run/netns/host1:eth0", "attach:/run/netns/lma:wan1"]
            "#,
        )
        .unwrap();
        assert_eq!(aging, Some(60));
        let configs = member_configs(&segments);
        assert_eq!(configs[1].name, "lma:wan1");
        assert_eq!(configs[1].segment, "wan1");
        assert!(parse_file("[[segment]]\nname = 1").is_err());
    }
}
