//! The Binding Update List (RFC 5213 6.1): one entry per mobile node attached to
//! this MAG, keyed by the node's MAC (its MN link-layer identifier), which is what
//! the MAG sees on every frame.

use crate::attach::Trigger;
use ipnet::{Ipv4Net, Ipv6Net};
use router::arp::ArpFrame;
use router::core::PortId;
use router::dhcp::ClientMessage;
use router::mac::Mac;
use router::wire::PbuRepr;
use router::{Duration, Instant};
use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Addresses of one node the MAG keeps for NUD (RFC 4941 temporary addresses
/// come and go; a handful is plenty).
pub const MAX_NODE_ADDRESSES: usize = 8;

/// Where a binding is in its life (RFC 5213 6.9.1, 6.9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingState {
    /// First PBU sent, no PBA yet: no routes, no RA.
    Registering,
    /// PBA accepted: routes installed, per-node RAs flowing.
    Registered,
    /// A refresh PBU is out; the binding still holds until its lifetime ends.
    Refreshing,
}

impl fmt::Display for BindingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BindingState::Registering => "registering",
            BindingState::Registered => "registered",
            BindingState::Refreshing => "refreshing",
        })
    }
}

/// A PBU that is waiting for its PBA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outstanding {
    /// What was sent last; a retransmission re-sends it with a new sequence number
    /// (and timestamp), as RFC 6275 11.8 asks.
    pub pbu: PbuRepr,
    /// How long to wait for the PBA before sending again (doubles each time).
    pub timeout: Duration,
    /// Not sent yet: the LMA's link-layer address is being resolved, and a PBU
    /// stamped now would wait in neighbor resolution and arrive stale.
    pub unsent: bool,
}

/// What waits for proof that a node is still on the link: a MAG never
/// (re-)registers a node it cannot reach, and stamps every PBU the moment the
/// node showed itself (so a later registration by the MAG the node moved on
/// to always carries a later timestamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirming {
    /// The binding's refresh is due.
    Refresh,
    /// The outstanding PBU is due to go (again): a retransmission, or the first
    /// transmission once the LMA's link-layer address is known.
    Transmit,
    /// The LMA refused a PBU as stale (156, 157, 135, or a re-registration from
    /// a MAG it no longer names): only a node that answers here justifies
    /// registering it again, as a handoff.
    Reregister,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulEntry {
    pub mn_id: String,
    pub mac: Mac,
    /// The access port the node is on.
    pub port: PortId,
    /// The prefixes the LMA granted; empty until the first accepted PBA.
    pub hnps: Vec<Ipv6Net>,
    pub state: BindingState,
    /// The sequence number of the last PBU sent.
    pub sequence: u16,
    /// Seconds the LMA granted in the last accepted PBA.
    pub lifetime: u32,
    pub expires_at: Option<Instant>,
    /// Sequence numbers (and timestamps) of every PBU of the current exchange: a
    /// PBA answering an earlier retransmission still completes it.
    pub sent: Vec<(u16, Option<u64>)>,
    pub outstanding: Option<Outstanding>,
    /// Retransmissions of the current exchange (shown in the table).
    pub retransmissions: u32,
    /// A reachability check of the node that a PBU waits for.
    pub confirming: Option<Confirming>,
    /// Stale refusals answered with a re-registration since the last
    /// accepted PBA (bounded, so two MAGs cannot argue forever).
    pub stale_refusals: u32,
    /// When the last exchange started: attachments and announcements start
    /// at most MAX_UPDATE_RATE of them per second (RFC 6275 11.8).
    pub exchange_started_at: Option<Instant>,
    pub trigger: Trigger,
    pub link_local: Option<Ipv6Addr>,
    /// Addresses the node was seen using: the candidates for reachability probes.
    pub addresses: Vec<Ipv6Addr>,
    /// When the node was detected on the link (the handoff latency's start).
    pub detected_at: Instant,
    /// When a frame from the node last arrived: a node silent for a whole RA
    /// interval is probed even if NUD still holds it REACHABLE.
    pub last_heard: Instant,
    /// When the first router announcement after registration went out, an RA
    /// or for an IPv4-only node an ARP (the handoff latency's end).
    pub ra_sent_at: Option<Instant>,
    /// The address families the node's profile gives it.
    pub families: Families,
    /// The IPv4 home address the LMA granted (RFC 5844), once it has.
    pub ipv4: Option<Ipv4Grant>,
    /// A DHCP message from the node that waits for its registration.
    pub held_dhcp: Option<ClientMessage>,
    /// An ARP request from the node for an address the MAG answers for once
    /// the node is registered (its default router).
    pub held_arp: Option<ArpFrame>,
}

/// Which families a node is served for: what its profile gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Families {
    pub ipv6: bool,
    pub ipv4: bool,
}

impl Families {
    pub fn of(node: &router::policy::NodeProfile) -> Families {
        Families {
            ipv6: node.has_ipv6(),
            ipv4: node.ipv4.is_some(),
        }
    }
}

impl Default for Families {
    fn default() -> Self {
        Families {
            ipv6: true,
            ipv4: false,
        }
    }
}

/// An IPv4 home address with its link, from the PBA (options 37 and 38).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Grant {
    pub address: Ipv4Net,
    pub router: Ipv4Addr,
}

impl fmt::Display for Ipv4Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} via {}", self.address, self.router)
    }
}

impl BulEntry {
    /// A node just detected on `port`, before its first PBU.
    pub fn new(mn_id: &str, mac: Mac, port: PortId, trigger: Trigger, now: Instant) -> Self {
        BulEntry {
            mn_id: mn_id.to_string(),
            mac,
            port,
            hnps: Vec::new(),
            state: BindingState::Registering,
            sequence: 0,
            lifetime: 0,
            expires_at: None,
            sent: Vec::new(),
            outstanding: None,
            retransmissions: 0,
            confirming: None,
            stale_refusals: 0,
            exchange_started_at: None,
            trigger,
            link_local: None,
            addresses: Vec::new(),
            detected_at: now,
            last_heard: now,
            ra_sent_at: None,
            families: Families::default(),
            ipv4: None,
            held_dhcp: None,
            held_arp: None,
        }
    }

    /// Remembers an address of the node (for NUD), link-local first, up to
    /// [`MAX_NODE_ADDRESSES`]: a node may send from any address of its /64, and
    /// what it sends must not grow the MAG's memory.
    pub fn learn_address(&mut self, ip: Ipv6Addr) {
        if ip.is_unicast_link_local() {
            self.link_local = Some(ip);
        }
        let first_link_local = ip.is_unicast_link_local()
            && !self.addresses.iter().any(Ipv6Addr::is_unicast_link_local);
        let room = self.addresses.len() < MAX_NODE_ADDRESSES || first_link_local;
        if room && !self.addresses.contains(&ip) {
            self.addresses.push(ip);
            self.addresses
                .sort_by_key(|a| (!a.is_unicast_link_local(), u128::from(*a)));
        }
    }

    /// The address whose reachability stands for the node's: its link-local one
    /// when known (every node keeps it for as long as it is on the link).
    pub fn nud_address(&self) -> Option<Ipv6Addr> {
        self.addresses.first().copied()
    }

    /// What the node's PBUs ask for IPv4: its granted address again, or any.
    pub fn ipv4_request(&self) -> Option<router::wire::Ipv4HomeAddressRequest> {
        self.families
            .ipv4
            .then(|| router::wire::Ipv4HomeAddressRequest {
                prefix_len: self.ipv4.map_or(0, |g| g.address.prefix_len()),
                address: self
                    .ipv4
                    .map_or(Ipv4Addr::UNSPECIFIED, |g| g.address.addr()),
            })
    }

    /// The HNP options of the node's PBUs: none for an IPv4-only node.
    pub fn pbu_hnps<'a>(&self, hnps: &'a [Ipv6Net]) -> &'a [Ipv6Net] {
        if self.families.ipv6 { hnps } else { &[] }
    }

    pub fn is_registered(&self) -> bool {
        matches!(
            self.state,
            BindingState::Registered | BindingState::Refreshing
        )
    }

    pub fn lifetime_left(&self, now: Instant) -> Option<Duration> {
        self.expires_at
            .map(|at| if at > now { at - now } else { Duration::ZERO })
    }
}

#[derive(Debug, Default)]
pub struct BindingUpdateList {
    entries: HashMap<Mac, BulEntry>,
}

impl BindingUpdateList {
    pub fn get(&self, mac: &Mac) -> Option<&BulEntry> {
        self.entries.get(mac)
    }

    pub fn get_mut(&mut self, mac: &Mac) -> Option<&mut BulEntry> {
        self.entries.get_mut(mac)
    }

    pub fn contains(&self, mac: &Mac) -> bool {
        self.entries.contains_key(mac)
    }

    pub fn insert(&mut self, entry: BulEntry) {
        self.entries.insert(entry.mac, entry);
    }

    pub fn remove(&mut self, mac: &Mac) -> Option<BulEntry> {
        self.entries.remove(mac)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry whose current exchange sent `sequence` (PBAs are rare, a scan is fine).
    pub fn by_sequence(&self, sequence: u16) -> Option<&BulEntry> {
        self.entries
            .values()
            .find(|e| e.sent.iter().any(|(s, _)| *s == sequence))
    }

    /// The entry one of whose addresses is `ip`.
    pub fn by_address(&self, port: PortId, ip: &Ipv6Addr) -> Option<&BulEntry> {
        self.entries
            .values()
            .find(|e| e.port == port && e.addresses.contains(ip))
    }

    /// Entries in a stable order (by MAC) for tables and shutdown.
    pub fn sorted(&self) -> Vec<&BulEntry> {
        let mut all: Vec<&BulEntry> = self.entries.values().collect();
        all.sort_by_key(|e| e.mac);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> BulEntry {
        let mut e = BulEntry::new(
            "vm1@tapmip",
            Mac([0x52, 0x54, 0, 0xaa, 0, 1]),
            1,
            Trigger::RouterSolicitation,
            Instant::from_millis(0),
        );
        e.sequence = 1;
        e.sent = vec![(1, None)];
        e
    }

    #[test]
    fn link_local_is_the_nud_address() {
        let mut e = entry();
        e.learn_address("2001:db8:1:1::5".parse().unwrap());
        assert_eq!(e.nud_address(), Some("2001:db8:1:1::5".parse().unwrap()));
        e.learn_address("fe80::5".parse().unwrap());
        e.learn_address("fe80::5".parse().unwrap());
        assert_eq!(e.addresses.len(), 2);
        assert_eq!(e.nud_address(), Some("fe80::5".parse().unwrap()));
        assert_eq!(e.link_local, Some("fe80::5".parse().unwrap()));
    }

    #[test]
    fn a_node_sending_from_many_addresses_is_remembered_by_a_few() {
        let mut e = entry();
        for i in 1..=1000u16 {
            e.learn_address(Ipv6Addr::new(0x2001, 0xdb8, 1, 1, 0, 0, 0, i));
            e.learn_address(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 1, i));
        }
        assert_eq!(e.addresses.len(), MAX_NODE_ADDRESSES);
        assert!(e.nud_address().is_some_and(|a| a.is_unicast_link_local()));
    }

    #[test]
    fn lookups() {
        let mut bul = BindingUpdateList::default();
        let mut e = entry();
        e.learn_address("fe80::5".parse().unwrap());
        bul.insert(e.clone());
        assert!(bul.by_sequence(1).is_some());
        assert!(bul.by_sequence(2).is_none());
        assert!(bul.by_address(1, &"fe80::5".parse().unwrap()).is_some());
        assert!(bul.by_address(2, &"fe80::5".parse().unwrap()).is_none());
        assert_eq!(e.lifetime_left(Instant::from_millis(5)), None);
        assert_eq!(
            bul.remove(&e.mac).map(|e| e.mn_id),
            Some("vm1@tapmip".into())
        );
        assert!(bul.is_empty());
    }
}
