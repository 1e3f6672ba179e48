//! What tapbridge joins: segments and their members, from flags or a TOML file.
//!
//! ```text
//! --segment s1=tap:/run/netns/h1:eth0,mac=52:54:00:aa:00:01,mtu=1500,attach:/run/netns/r:wan0
//! ```
//!
//! A member starts with its kind (`tap:` or `attach:`); the `key=value` parts that
//! follow belong to it. An empty namespace path means tapbridge's own namespace.
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
use serde::Deserialize;

use crate::bridge::MemberConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// tapbridge creates the TAP device and holds its fd (kernel hosts).
    Tap,
    /// An existing interface joined through a packet socket (a router's TAP).
    Attach,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpec {
    pub kind: Kind,
    pub netns: Option<PathBuf>,
    pub ifname: String,
    pub name: String,
    pub mac: Option<Mac>,
    pub mtu: Option<u32>,
}

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
        let (kind, place) = match head.split_once(':') {
            Some(("tap", place)) => (Kind::Tap, place),
            Some(("attach", place)) => (Kind::Attach, place),
            _ => {
                return Err(format!(
                    "{s:?}: a member is tap:NETNS_PATH:IFNAME or attach:NETNS_PATH:IFNAME"
                ));
            }
        };
        let (netns, ifname) = place
            .rsplit_once(':')
            .ok_or_else(|| format!("{s:?}: expected NETNS_PATH:IFNAME after the kind"))?;
        if ifname.is_empty() || ifname.len() >= 16 {
            return Err(format!("{s:?}: interface name must be 1 to 15 bytes"));
        }
        let netns = (!netns.is_empty()).then(|| PathBuf::from(netns));
        let mut spec = MemberSpec {
            kind,
            name: default_name(netns.as_deref(), ifname),
            netns,
            ifname: ifname.to_string(),
            mac: None,
            mtu: None,
        };
        for part in parts {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected key=value"))?;
            let bad = |e: &dyn std::fmt::Display| format!("{key}={value:?}: {e}");
            match (key, kind) {
                ("name", _) => spec.name = value.to_string(),
                ("mac", Kind::Tap) => {
                    let mac: Mac = value.parse().map_err(|_| bad(&"not a MAC address"))?;
                    if !mac.is_unicast() {
                        return Err(bad(&"not a unicast MAC address"));
                    }
                    spec.mac = Some(mac);
                }
                ("mtu", Kind::Tap) => spec.mtu = Some(value.parse().map_err(|e| bad(&e))?),
                ("mac" | "mtu", Kind::Attach) => {
                    return Err(format!(
                        "{key}: an attached interface belongs to its router, which sets it"
                    ));
                }
                _ => return Err(format!("{key:?}: unknown key (name, mac, mtu)")),
            }
        }
        Ok(spec)
    }
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
                Some(last) if !part.starts_with("tap:") && !part.starts_with("attach:") => {
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
        assert_eq!(tap.kind, Kind::Tap);
        assert_eq!(tap.netns.as_deref(), Some(Path::new("/run/netns/h1")));
        assert_eq!(tap.name, "h1:eth0");
        assert_eq!(tap.mac, Some(Mac([0x52, 0x54, 0, 0xaa, 0, 1])));
        assert_eq!(tap.mtu, Some(1400));
        let attach = &s.members[1];
        assert_eq!(attach.kind, Kind::Attach);
        assert_eq!(attach.ifname, "wan0");
        assert_eq!(attach.name, "r-wan0");
    }

    #[test]
    fn errors_name_the_part() {
        let e = "s1=veth:/x:eth0".parse::<SegmentSpec>().unwrap_err();
        assert!(e.contains("tap:NETNS_PATH:IFNAME"), "{e}");
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
        assert_eq!((tap.netns, tap.name.as_str()), (None, "tap0"));
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
