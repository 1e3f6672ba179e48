//! The `--port` syntax shared by every router binary:
//! `[NETNS_PATH:]IFNAME[,addr=A/LEN][,prefix=P/LEN][,advertise][,link_local=LL][,mac=M][,mtu=N][,offload=none|csum|tso|all]`.
//!
//! `addr=` gives the router an address and, by its length, an on-link prefix
//! (an IPv6 or an IPv4 one, `addr=192.0.2.1/24`); `advertise` announces the
//! IPv6 prefixes in RAs. `prefix=P` is the plain router's
//! shorthand for "take `P::1` and advertise `P`". `link_local=` replaces a MAG
//! access port's fixed link-local address. `offload=` caps what the TAP asks
//! the kernel for ([`crate::netio::OffloadWish`]): `none` where a packet socket
//! (tapbridge's `attach:`) reads the device, since superframes and partial
//! checksums do not survive it. Each binary takes a subset of the keys
//! and refuses the others with [`PortSpec::only`].

use crate::mac::Mac;
use crate::netio::OffloadWish;
use crate::plain::router_address;
use ipnet::{Ipv4Net, Ipv6Net};
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub netns: Option<PathBuf>,
    pub ifname: String,
    /// `addr=` values: own addresses with their on-link prefix length.
    pub addresses: Vec<Ipv6Net>,
    /// `addr=` values that are IPv4 addresses.
    pub ipv4: Vec<Ipv4Net>,
    /// `prefix=` values: advertised, the router taking the first host of each.
    pub prefixes: Vec<Ipv6Net>,
    /// Advertise the prefixes of `addresses` too.
    pub advertise: bool,
    /// `link_local=`: the port's link-local address instead of the default one.
    pub link_local: Option<Ipv6Addr>,
    pub mac: Option<Mac>,
    pub mtu: Option<u32>,
    pub offload: Option<OffloadWish>,
}

/// Every key a port spec may hold, in the order of the syntax.
const KEYS: &str = "addr, prefix, advertise, link_local, mac, mtu, offload";

impl PortSpec {
    /// Every own address: `addr=` values and the `::1` of each `prefix=`.
    pub fn all_addresses(&self) -> Vec<Ipv6Net> {
        let from_prefixes = self.prefixes.iter().filter_map(router_address);
        self.addresses
            .iter()
            .copied()
            .chain(from_prefixes)
            .collect()
    }

    /// The prefixes to put in RAs (empty: send none).
    pub fn advertised(&self) -> Vec<Ipv6Net> {
        let own = self
            .addresses
            .iter()
            .filter(|_| self.advertise)
            .map(Ipv6Net::trunc);
        self.prefixes.iter().copied().chain(own).collect()
    }

    /// Where the device is, for logs.
    pub fn place(&self) -> String {
        self.netns
            .as_ref()
            .map_or("this namespace".into(), |p| p.display().to_string())
    }

    /// The MTU given, or Ethernet's 1500.
    pub fn mtu_or_default(&self) -> usize {
        self.mtu.map_or(1500, |m| m as usize)
    }

    /// Refuses the keys a binary does not use, so that none is silently ignored.
    pub fn only(&self, allowed: &[&str]) -> Result<(), String> {
        let given = [
            ("addr", !self.addresses.is_empty() || !self.ipv4.is_empty()),
            ("prefix", !self.prefixes.is_empty()),
            ("advertise", self.advertise),
            ("link_local", self.link_local.is_some()),
            ("mac", self.mac.is_some()),
            ("mtu", self.mtu.is_some()),
            ("offload", self.offload.is_some()),
        ];
        match given
            .iter()
            .find(|(key, present)| *present && !allowed.contains(key))
        {
            Some((key, _)) => Err(format!(
                "{}: {key} is not taken here (only {})",
                self.ifname,
                allowed.join(", ")
            )),
            None => Ok(()),
        }
    }
}

impl FromStr for PortSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split(',');
        let place = parts.next().unwrap_or_default();
        let (netns, ifname) = match place.rsplit_once(':') {
            Some((ns, ifname)) => (Some(PathBuf::from(ns)), ifname),
            None => (None, place),
        };
        if ifname.is_empty() {
            return Err(format!("{s:?}: no interface name"));
        }
        let mut spec = PortSpec {
            netns,
            ifname: ifname.to_string(),
            addresses: Vec::new(),
            ipv4: Vec::new(),
            prefixes: Vec::new(),
            advertise: false,
            link_local: None,
            mac: None,
            mtu: None,
            offload: None,
        };
        for part in parts {
            if part == "advertise" {
                spec.advertise = true;
                continue;
            }
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected key=value or advertise"))?;
            let bad = |e: &dyn std::fmt::Display| format!("{key}={value:?}: {e}");
            match key {
                "addr" => match value.parse::<Ipv6Net>() {
                    Ok(net) => spec.addresses.push(net),
                    Err(e) => spec
                        .ipv4
                        .push(value.parse::<Ipv4Net>().map_err(|_| bad(&e))?),
                },
                "prefix" => spec.prefixes.push(value.parse().map_err(|e| bad(&e))?),
                "link_local" => spec.link_local = Some(value.parse().map_err(|e| bad(&e))?),
                "mac" => spec.mac = Some(value.parse().map_err(|_| bad(&"not a MAC address"))?),
                "mtu" => spec.mtu = Some(value.parse().map_err(|e| bad(&e))?),
                "offload" => spec.offload = Some(value.parse().map_err(|e| bad(&e))?),
                _ => return Err(format!("{key:?}: unknown key ({KEYS})")),
            }
        }
        Ok(spec)
    }
}

/// A locally administered MAC that differs per router name and port, so two
/// routers in one lab never collide unless given the same name.
pub fn default_mac(name: &str, port: usize) -> Mac {
    let hash = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let [a, b, ..] = hash.to_be_bytes();
    Mac([0x02, 0x74, 0x6d, a, b, (port as u8).wrapping_add(1)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_and_options() {
        let spec: PortSpec = "/run/netns/h1:eth0,prefix=2001:db8:1::/64,prefix=2001:db8:9::/64,mac=02:00:00:00:00:01,mtu=1400"
            .parse()
            .unwrap();
        assert_eq!(spec.netns, Some(PathBuf::from("/run/netns/h1")));
        assert_eq!(spec.ifname, "eth0");
        assert_eq!(spec.prefixes.len(), 2);
        assert_eq!(spec.mac, Some(Mac([2, 0, 0, 0, 0, 1])));
        assert_eq!(spec.mtu, Some(1400));
        assert_eq!(spec.offload, None);
        assert_eq!(
            spec.all_addresses()[0],
            "2001:db8:1::1/64".parse::<Ipv6Net>().unwrap()
        );
    }

    #[test]
    fn current_namespace() {
        let spec: PortSpec = "tap0".parse().unwrap();
        assert_eq!(spec.netns, None);
        assert_eq!(spec.ifname, "tap0");
        assert!(spec.prefixes.is_empty() && spec.addresses.is_empty());
    }

    #[test]
    fn address_with_and_without_advertise() {
        let quiet: PortSpec = "wan1,addr=2001:db8:ff:1::1/64".parse().unwrap();
        assert!(quiet.advertised().is_empty());
        let loud: PortSpec = "ns:wan1,addr=2001:db8:ff:1::1/64,advertise"
            .parse()
            .unwrap();
        assert_eq!(
            loud.all_addresses(),
            vec!["2001:db8:ff:1::1/64".parse().unwrap()]
        );
        assert_eq!(
            loud.advertised(),
            vec!["2001:db8:ff:1::/64".parse().unwrap()]
        );
        let both: PortSpec = "core,addr=2001:db8:c::1/64,addr=192.0.2.1/24,advertise"
            .parse()
            .unwrap();
        assert_eq!(both.ipv4, vec!["192.0.2.1/24".parse().unwrap()]);
        assert_eq!(both.advertised().len(), 1, "RAs carry the IPv6 prefix only");
        assert!(both.only(&["mac"]).is_err());
        assert!("core,addr=192.0.2.1".parse::<PortSpec>().is_err());
    }

    #[test]
    fn mag_uplink_and_access() {
        let up: PortSpec = "/run/netns/mag1:wan1,addr=2001:db8:ff:1::2/64,mtu=1400"
            .parse()
            .unwrap();
        assert_eq!(up.netns, Some(PathBuf::from("/run/netns/mag1")));
        assert_eq!(up.addresses, vec!["2001:db8:ff:1::2/64".parse().unwrap()]);
        assert_eq!(up.mtu_or_default(), 1400);
        let acc: PortSpec = "access1,link_local=fe80::9".parse().unwrap();
        assert_eq!(acc.link_local, Some("fe80::9".parse().unwrap()));
        assert_eq!(acc.mtu_or_default(), 1500);
        assert!("eth0,addr=nope".parse::<PortSpec>().is_err());
        let e = "eth0,link_local=x".parse::<PortSpec>().err().unwrap();
        assert!(e.starts_with("link_local=\"x\""), "{e}");
    }

    #[test]
    fn binaries_refuse_keys_they_do_not_use() {
        let spec: PortSpec = "access1,link_local=fe80::9,mtu=1400".parse().unwrap();
        assert!(spec.only(&["link_local", "mac", "mtu"]).is_ok());
        let e = spec.only(&["prefix", "mac", "mtu"]).unwrap_err();
        assert_eq!(
            e,
            "access1: link_local is not taken here (only prefix, mac, mtu)"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = "eth0,prefix=nope".parse::<PortSpec>().err().unwrap();
        assert!(e.starts_with("prefix=\"nope\""), "{e}");
        let quiet: PortSpec = "eth0,offload=none".parse().unwrap();
        assert_eq!(quiet.offload, Some(OffloadWish::None));
        let e = "eth0,offload=max".parse::<PortSpec>().err().unwrap();
        assert!(e.starts_with("offload=\"max\""), "{e}");
        let e = "eth0,speed=10".parse::<PortSpec>().err().unwrap();
        assert!(e.contains("unknown key"), "{e}");
        assert!("/run/netns/h1:".parse::<PortSpec>().is_err());
    }

    #[test]
    fn default_macs_are_local_unicast_and_distinct() {
        let a = default_mac("r1", 0);
        assert!(a.is_unicast() && a.is_local());
        assert_ne!(a, default_mac("r1", 1));
        assert_ne!(a, default_mac("r2", 0));
    }
}
