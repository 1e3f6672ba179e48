//! Neighbor Discovery (RFC 4861) for a router, as a core without I/O.
//!
//! - [`frames`]: building and validating ND frames (Ethernet + IPv6 + ICMPv6).
//! - [`cache`]: the neighbor cache and its NUD state machine (RFC 4861 7.3, Appendix C).
//! - [`port`]: [`NdPort`], the per-port ND core the router, MAG and LMA cores embed.

pub mod cache;
pub mod frames;
pub mod port;

pub use cache::{CapCounts, NeighborCache, NeighborInfo};
pub use frames::{Addressing, NaFlags, NdError, NdFrame, NdMessage};
pub use port::NdPort;

use crate::Duration;
use crate::core::PortId;
use crate::mac::Mac;
use ipnet::Ipv6Net;
use std::net::Ipv6Addr;

/// NUD parameters of one link (RFC 4861 section 6.3.2 and 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NudConfig {
    pub reachable_time: Duration,
    pub retrans_timer: Duration,
    pub delay_first_probe_time: Duration,
    pub max_multicast_solicit: u8,
    pub max_unicast_solicit: u8,
    /// Packets held per INCOMPLETE neighbor; the oldest is dropped on overflow (7.2.2).
    /// 100, like Linux's unres_qlen: a burst of tunnelled traffic while a new MAG is
    /// being resolved must not push out the PBA queued before it.
    pub max_queue_per_neighbor: usize,
    /// Entries the cache of one port holds at most (see [`cache`]): 2048, room
    /// for a link-local and a global address of a thousand nodes per port.
    pub max_neighbors: usize,
}

impl Default for NudConfig {
    /// The protocol constants of RFC 4861 section 10. `reachable_time` is not
    /// randomized (6.3.2 asks for 0.5..1.5 x base) so that timer behaviour is exact.
    fn default() -> Self {
        NudConfig {
            reachable_time: Duration::from_secs(30),
            retrans_timer: Duration::from_secs(1),
            delay_first_probe_time: Duration::from_secs(5),
            max_multicast_solicit: 3,
            max_unicast_solicit: 3,
            max_queue_per_neighbor: 100,
            max_neighbors: 2048,
        }
    }
}

/// Neighbor Unreachability Detection states (RFC 4861 7.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NudState {
    Incomplete,
    Reachable,
    Stale,
    Delay,
    Probe,
}

/// One Prefix Information option (RFC 4861 4.6.2). Lifetimes are in seconds,
/// `u32::MAX` meaning infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixInfo {
    pub prefix: Ipv6Net,
    pub on_link: bool,
    pub autonomous: bool,
    pub valid_lifetime: u32,
    pub preferred_lifetime: u32,
}

/// The contents of a Router Advertisement (RFC 4861 4.2) with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaParams {
    pub cur_hop_limit: u8,
    pub managed: bool,
    pub other: bool,
    /// Seconds; 0 means "not a default router".
    pub router_lifetime: u16,
    /// Milliseconds; 0 means unspecified.
    pub reachable_time: u32,
    /// Milliseconds; 0 means unspecified.
    pub retrans_timer: u32,
    pub mtu: Option<u32>,
    pub prefixes: Vec<PrefixInfo>,
}

/// Unsolicited multicast RAs (RFC 4861 6.2.1, 6.2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertConfig {
    pub params: RaParams,
    pub min_interval: Duration,
    pub max_interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdPortConfig {
    pub port: PortId,
    pub mac: Mac,
    pub link_local: Ipv6Addr,
    /// Other unicast addresses of this port, defended in NS/NA like `link_local`.
    pub addresses: Vec<Ipv6Addr>,
    /// `None`: no multicast RAs at all (the MAG sends its own per-node RAs).
    pub advertise: Option<AdvertConfig>,
    /// Answer RS with an RA built from `advertise` (ignored when `advertise` is `None`).
    pub answer_rs: bool,
    pub nud: NudConfig,
}

/// What an [`NdPort`] reports to the core that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdEvent {
    /// `mac` is the SLLAO (`None` when the RS carried none, always so from `::`);
    /// `eth_src` is the Ethernet source, which every RS has.
    RouterSolicitation {
        mac: Option<Mac>,
        eth_src: Mac,
        ip: Ipv6Addr,
    },
    /// An NA with the S flag clear, e.g. a hypervisor announcing a migrated VM.
    /// `mac` is the TLLAO, else the Ethernet source.
    UnsolicitedNa { mac: Mac, ip: Ipv6Addr },
    /// An NS from `::` (Duplicate Address Detection); `mac` is the Ethernet source.
    DadNs { mac: Mac, target: Ipv6Addr },
    /// A solicited NA confirmed the neighbor, which is now REACHABLE.
    Reachable { mac: Mac, ip: Ipv6Addr },
    /// NUD gave up: resolution failed (`mac: None`) or reachability was lost (7.3.3).
    Unreachable { mac: Option<Mac>, ip: Ipv6Addr },
}
