//! Attachment detection on an access link (RFC 5213 6.9.1: "the mobile access
//! gateway detects a mobile node's attachment").
//!
//! RFC 5213 leaves the trigger to the access technology; a Router Solicitation is
//! the usual one. A live-migrated VM never sends one: its hypervisor announces it
//! (QEMU broadcasts RARP frames for the guest's MAC, RFC 903; Xen sends a
//! gratuitous ARP for an IPv4 guest), the guest sends unsolicited NAs, or the
//! VM simply keeps talking, so each of these sources can be switched on and
//! off. An IPv4 node shows itself with DHCP (RFC 5844 3.4) and ARP.

use router::mac::Mac;
use router::nd::NdEvent;
use router::wire::{HandoffIndicator, OP_REQUEST_REVERSE, parse_rarp_frame};
use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

/// Which events count as a node attaching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectConfig {
    pub router_solicitation: bool,
    pub unsolicited_na: bool,
    pub dad_ns: bool,
    /// A hypervisor's RARP announcement of the node's MAC (QEMU's announce-self).
    pub rarp: bool,
    /// Any frame whose Ethernet source is a policy node not yet attached.
    pub unknown_source: bool,
    /// ARP requests, probes and gratuitous announcements (RFC 826, RFC 5227).
    pub arp: bool,
    /// DHCP DISCOVERs and REQUESTs (RFC 2131, RFC 5844 3.4).
    pub dhcp: bool,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            router_solicitation: true,
            unsolicited_na: true,
            dad_ns: true,
            rarp: true,
            unknown_source: true,
            arp: true,
            dhcp: true,
        }
    }
}

/// `rs,na,dad,rarp,unknown,arp,dhcp` (any subset, comma separated) or `none`.
impl FromStr for DetectConfig {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut cfg = DetectConfig {
            router_solicitation: false,
            unsolicited_na: false,
            dad_ns: false,
            rarp: false,
            unknown_source: false,
            arp: false,
            dhcp: false,
        };
        if s == "none" {
            return Ok(cfg);
        }
        for part in s.split(',') {
            match part.trim() {
                "rs" => cfg.router_solicitation = true,
                "na" => cfg.unsolicited_na = true,
                "dad" => cfg.dad_ns = true,
                "rarp" => cfg.rarp = true,
                "unknown" => cfg.unknown_source = true,
                "arp" => cfg.arp = true,
                "dhcp" => cfg.dhcp = true,
                other => {
                    return Err(format!(
                        "{other:?}: not an attachment trigger (rs, na, dad, rarp, unknown, arp, dhcp or none)"
                    ));
                }
            }
        }
        Ok(cfg)
    }
}

/// What revealed a node on the access link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    RouterSolicitation,
    UnsolicitedNa,
    DadNs,
    Rarp,
    UnknownSource,
    /// A frame from `::`, such as the MLD report a node sends while its
    /// addresses are still tentative: an interface coming up.
    Configuring,
    /// A hypervisor's "arriving" hint on the control socket (`proactive`).
    Hint,
    /// A gratuitous ARP: a node announcing the IPv4 address it holds, as a
    /// hypervisor does for a migrated guest (RFC 5227 2.3).
    GratuitousArp,
    /// An ARP request from an address the node holds.
    ArpRequest,
    /// An ARP probe from 0.0.0.0: an interface checking an address it wants.
    ArpProbe,
    /// A DHCPDISCOVER, or a REQUEST for a new lease: an interface coming up.
    DhcpDiscover,
    /// A DHCPREQUEST for a lease the node holds (INIT-REBOOT, RENEWING,
    /// REBINDING): it had an address before it came here.
    DhcpRenew,
}

impl Trigger {
    pub fn enabled(self, cfg: &DetectConfig) -> bool {
        match self {
            Trigger::RouterSolicitation => cfg.router_solicitation,
            Trigger::UnsolicitedNa => cfg.unsolicited_na,
            Trigger::DadNs => cfg.dad_ns,
            Trigger::Rarp => cfg.rarp,
            Trigger::UnknownSource | Trigger::Configuring => cfg.unknown_source,
            Trigger::Hint => true,
            Trigger::GratuitousArp | Trigger::ArpRequest | Trigger::ArpProbe => cfg.arp,
            Trigger::DhcpDiscover | Trigger::DhcpRenew => cfg.dhcp,
        }
    }

    /// Whether the node says it has just arrived here with what it had (a
    /// migrated VM): such an announcement re-registers even a node this MAG
    /// still holds, which may have left and come back unnoticed.
    pub fn announces_arrival(self) -> bool {
        matches!(
            self,
            Trigger::UnsolicitedNa | Trigger::Rarp | Trigger::GratuitousArp
        )
    }

    pub fn counter(self) -> &'static str {
        match self {
            Trigger::RouterSolicitation => "mag.attach.rs",
            Trigger::UnsolicitedNa => "mag.attach.unsolicited_na",
            Trigger::DadNs => "mag.attach.dad_ns",
            Trigger::Rarp => "mag.attach.rarp",
            Trigger::UnknownSource => "mag.attach.unknown_source",
            Trigger::Configuring => "mag.attach.configuring",
            Trigger::Hint => "mag.attach.hint",
            Trigger::GratuitousArp => "mag.attach.gratuitous_arp",
            Trigger::ArpRequest => "mag.attach.arp_request",
            Trigger::ArpProbe => "mag.attach.arp_probe",
            Trigger::DhcpDiscover => "mag.attach.dhcp_discover",
            Trigger::DhcpRenew => "mag.attach.dhcp_renew",
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Trigger::RouterSolicitation => "router solicitation",
            Trigger::UnsolicitedNa => "unsolicited NA",
            Trigger::DadNs => "DAD NS",
            Trigger::Rarp => "RARP announcement",
            Trigger::UnknownSource => "frame from unknown source",
            Trigger::Configuring => "frame from :: (interface coming up)",
            Trigger::Hint => "arrival hint",
            Trigger::GratuitousArp => "gratuitous ARP",
            Trigger::ArpRequest => "ARP request",
            Trigger::ArpProbe => "ARP probe",
            Trigger::DhcpDiscover => "DHCPDISCOVER",
            Trigger::DhcpRenew => "DHCPREQUEST for a lease it holds",
        })
    }
}

/// One sighting of a node on an access link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sighting {
    pub mac: Mac,
    pub trigger: Trigger,
    /// An address the node uses, if the event showed one (never the tentative
    /// address of a DAD NS: probing it before DAD ends would get no answer).
    pub address: Option<Ipv6Addr>,
}

impl Sighting {
    /// RFC 5213 6.9.1.1: the Handoff Indicator the first PBU carries. A node
    /// soliciting a router or configuring addresses is new on this interface; one
    /// announcing a global address it already holds moved here from another MAG
    /// (a migrated VM); anything else is a guess the MAG should not make.
    pub fn handoff_indicator(&self) -> HandoffIndicator {
        match (self.trigger, self.address) {
            (
                Trigger::RouterSolicitation
                | Trigger::DadNs
                | Trigger::Configuring
                | Trigger::ArpProbe
                | Trigger::DhcpDiscover,
                _,
            ) => HandoffIndicator::NewInterface,
            (Trigger::UnsolicitedNa, Some(ip)) if !ip.is_unicast_link_local() => {
                HandoffIndicator::InterMag
            }
            // QEMU announces a NIC after an incoming migration (or when told to):
            // the guest was running elsewhere a moment ago.
            (Trigger::Rarp, _) => HandoffIndicator::InterMag,
            // A hypervisor moving the VM here (see `proactive` for why 3).
            (Trigger::Hint, _) => HandoffIndicator::InterMag,
            // An IPv4 address a node holds came from a MAG of this domain.
            (Trigger::GratuitousArp | Trigger::ArpRequest | Trigger::DhcpRenew, _) => {
                HandoffIndicator::InterMag
            }
            _ => HandoffIndicator::Unknown,
        }
    }

    /// The node's link-local address, if this sighting showed it.
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        self.address.filter(Ipv6Addr::is_unicast_link_local)
    }
}

/// The sighting an ND event amounts to, if any.
pub fn from_nd(event: &NdEvent) -> Option<Sighting> {
    let usable = |ip: Ipv6Addr| (!ip.is_unspecified() && !ip.is_multicast()).then_some(ip);
    match *event {
        NdEvent::RouterSolicitation { mac, eth_src, ip } => Some(Sighting {
            mac: mac.unwrap_or(eth_src),
            trigger: Trigger::RouterSolicitation,
            address: usable(ip),
        }),
        NdEvent::UnsolicitedNa { mac, ip } => Some(Sighting {
            mac,
            trigger: Trigger::UnsolicitedNa,
            address: usable(ip),
        }),
        NdEvent::DadNs { mac, .. } => Some(Sighting {
            mac,
            trigger: Trigger::DadNs,
            address: None,
        }),
        NdEvent::Reachable { .. } | NdEvent::Unreachable { .. } => None,
    }
}

/// The sighting a hypervisor's RARP announcement amounts to: a request reverse
/// sent by the MAC it asks about (RFC 903). Anything else in a RARP frame (a
/// reply, a frame relaying another node's request) reveals no node here.
pub fn from_rarp(frame: &[u8]) -> Option<Sighting> {
    let (eth_src, rarp) = parse_rarp_frame(frame).ok()??;
    let mac = rarp.sender_hardware_addr;
    (rarp.operation == OP_REQUEST_REVERSE && mac == eth_src && mac.is_unicast()).then_some(
        Sighting {
            mac,
            trigger: Trigger::Rarp,
            address: None,
        },
    )
}

/// The Ethernet source of an access-link frame and, for IPv6, its IP source:
/// read straight from fixed offsets so that checking every frame costs nothing.
/// The Ethernet source of an access-link frame and, for IPv6, its IP source
/// (`::` included, a node configuring its interface): read straight from
/// fixed offsets so that checking every frame costs nothing.
pub fn frame_source(frame: &[u8]) -> Option<(Mac, Option<Ipv6Addr>)> {
    const ETH_SRC: core::ops::Range<usize> = 6..12;
    const ETHERTYPE: core::ops::Range<usize> = 12..14;
    const IPV6_SRC: core::ops::Range<usize> = 22..38;
    let mac = Mac::from_bytes(frame.get(ETH_SRC)?)?;
    if !mac.is_unicast() {
        return None;
    }
    let ip = (frame.get(ETHERTYPE) == Some(&[0x86, 0xdd][..]))
        .then(|| frame.get(IPV6_SRC))
        .flatten()
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .map(Ipv6Addr::from)
        .filter(|ip| !ip.is_multicast());
    Some((mac, ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = Mac([0x52, 0x54, 0, 0xaa, 0, 1]);

    #[test]
    fn parses_trigger_lists() {
        assert_eq!(
            "rs,na,dad,rarp,unknown,arp,dhcp".parse(),
            Ok(DetectConfig::default())
        );
        let rarp: DetectConfig = "rarp".parse().unwrap();
        assert!(rarp.rarp && !rarp.unsolicited_na);
        let v6: DetectConfig = "rs,na,dad,unknown".parse().unwrap();
        assert!(!v6.arp && !v6.dhcp);
        let only_na: DetectConfig = "na".parse().unwrap();
        assert!(only_na.unsolicited_na && !only_na.router_solicitation);
        let none: DetectConfig = "none".parse().unwrap();
        assert!(!none.dad_ns && !none.unknown_source);
        assert!(
            "rs,bogus"
                .parse::<DetectConfig>()
                .unwrap_err()
                .contains("bogus")
        );
    }

    #[test]
    fn handoff_indicator_per_trigger() {
        let na = |ip: &str| {
            from_nd(&NdEvent::UnsolicitedNa {
                mac: MAC,
                ip: ip.parse().unwrap(),
            })
            .unwrap()
        };
        assert_eq!(
            na("2001:db8:1:1::5").handoff_indicator(),
            HandoffIndicator::InterMag
        );
        assert_eq!(na("fe80::5").handoff_indicator(), HandoffIndicator::Unknown);
        assert_eq!(na("fe80::5").link_local(), Some("fe80::5".parse().unwrap()));
        let dad = from_nd(&NdEvent::DadNs {
            mac: MAC,
            target: "fe80::5".parse().unwrap(),
        })
        .unwrap();
        assert_eq!(dad.handoff_indicator(), HandoffIndicator::NewInterface);
        assert_eq!(
            dad.address, None,
            "a tentative address is not yet the node's"
        );
        let rs = from_nd(&NdEvent::RouterSolicitation {
            mac: None,
            eth_src: MAC,
            ip: Ipv6Addr::UNSPECIFIED,
        })
        .unwrap();
        assert_eq!((rs.mac, rs.address), (MAC, None));
        assert_eq!(rs.handoff_indicator(), HandoffIndicator::NewInterface);
        let v4 = |trigger| Sighting {
            mac: MAC,
            trigger,
            address: None,
        };
        assert_eq!(
            v4(Trigger::GratuitousArp).handoff_indicator(),
            HandoffIndicator::InterMag
        );
        assert_eq!(
            v4(Trigger::DhcpRenew).handoff_indicator(),
            HandoffIndicator::InterMag
        );
        assert_eq!(
            v4(Trigger::DhcpDiscover).handoff_indicator(),
            HandoffIndicator::NewInterface
        );
        assert_eq!(
            v4(Trigger::ArpProbe).handoff_indicator(),
            HandoffIndicator::NewInterface
        );
        assert!(
            Trigger::GratuitousArp.announces_arrival() && !Trigger::ArpRequest.announces_arrival()
        );
    }

    #[test]
    fn a_rarp_announcement_is_an_inter_mag_sighting() {
        use router::wire::{OP_REPLY_REVERSE, RarpRepr};
        let announce = RarpRepr::announcement(MAC);
        let s = from_rarp(&announce.frame(MAC)).unwrap();
        assert_eq!((s.mac, s.trigger, s.address), (MAC, Trigger::Rarp, None));
        assert_eq!(s.handoff_indicator(), HandoffIndicator::InterMag);
        assert!(s.trigger.announces_arrival());
        let other = Mac([0x52, 0x54, 0, 0xbb, 0, 2]);
        assert_eq!(
            from_rarp(&announce.frame(other)),
            None,
            "sent for another MAC"
        );
        let reply = RarpRepr {
            operation: OP_REPLY_REVERSE,
            ..announce
        };
        assert_eq!(from_rarp(&reply.frame(MAC)), None);
        assert_eq!(from_rarp(&announce.frame(MAC)[..20]), None);
    }

    #[test]
    fn frame_source_never_panics() {
        assert_eq!(frame_source(&[]), None);
        assert_eq!(frame_source(&[0; 11]), None);
        let mut frame = vec![0u8; 54];
        frame[6..12].copy_from_slice(MAC.as_bytes());
        assert_eq!(frame_source(&frame[..14]), Some((MAC, None)));
        frame[12..14].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(frame_source(&frame[..30]), Some((MAC, None)));
        let src: Ipv6Addr = "fe80::5".parse().unwrap();
        frame[22..38].copy_from_slice(&src.octets());
        assert_eq!(frame_source(&frame), Some((MAC, Some(src))));
        frame[22..38].fill(0);
        assert_eq!(
            frame_source(&frame),
            Some((MAC, Some(Ipv6Addr::UNSPECIFIED))),
            "a node configuring its interface"
        );
        frame[6] = 0x33;
        assert_eq!(frame_source(&frame), None, "a multicast source is no node");
    }
}
