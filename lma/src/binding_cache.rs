//! The Binding Cache (RFC 5213 5.1): one entry per mobile node, in a slab so an
//! entry is found by MN-ID with one hash probe and timers name it by a small
//! index. Entries hold no per-entry heap data beyond the HNP list (and an
//! MN-ID too long to keep inline).

use crate::ipv4_home::Ipv4Home;
use ipnet::Ipv6Net;
use router::Instant;
use router::policy::Ordering;
use router::wire::{AccessTechnologyType, HandoffIndicator};
use rustc_hash::FxHashMap;
use std::net::Ipv6Addr;

/// Index of an entry; stable while the entry lives.
pub type BindingId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingState {
    /// Routes point into the tunnel to the serving MAG.
    Active,
    /// De-registered by its MAG: no routes, kept MinDelayBeforeBCEDelete so a new
    /// MAG can take the node over with the same prefixes (RFC 5213 5.3.5).
    DeregisteredPendingDelete,
}

/// The MN Link-layer Identifier, kept inline: a MAC in every practical case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkLayerId {
    len: u8,
    bytes: [u8; 8],
}

impl LinkLayerId {
    /// `None` for identifiers longer than 8 octets, which this LMA does not keep.
    pub fn new(id: &[u8]) -> Option<Self> {
        let mut bytes = [0; 8];
        bytes.get_mut(..id.len())?.copy_from_slice(id);
        Some(LinkLayerId {
            len: id.len() as u8,
            bytes,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Display for LinkLayerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex: Vec<String> = self.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        f.write_str(&hex.join(":"))
    }
}

/// Longest MN-ID kept inline; NAIs like `vm17@tapmip` fit.
const MN_ID_INLINE: usize = 22;

/// An MN-ID (NAI), inline when short: the entry and the cache's index then need
/// no heap string each, and comparing one on lookup stays in the probed line.
#[derive(Clone)]
pub enum MnId {
    Inline { len: u8, bytes: [u8; MN_ID_INLINE] },
    Heap(Box<str>),
}

impl MnId {
    pub fn as_str(&self) -> &str {
        match self {
            MnId::Inline { len, bytes } => bytes
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            MnId::Heap(s) => s,
        }
    }
}

impl From<&str> for MnId {
    fn from(id: &str) -> Self {
        let mut bytes = [0; MN_ID_INLINE];
        match bytes.get_mut(..id.len()) {
            Some(inline) => {
                inline.copy_from_slice(id.as_bytes());
                MnId::Inline {
                    len: id.len() as u8,
                    bytes,
                }
            }
            None => MnId::Heap(id.into()),
        }
    }
}

impl std::ops::Deref for MnId {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for MnId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

// Equality and hashing are the string's, so the cache's index can be probed
// with a `&str` (the `Borrow` contract).
impl std::borrow::Borrow<str> for MnId {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for MnId {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for MnId {}

impl PartialOrd for MnId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MnId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for MnId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl std::fmt::Debug for MnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for MnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub mn_id: MnId,
    pub hnps: Box<[Ipv6Net]>,
    /// The IPv4 home address (RFC 5844), for a node that has one.
    pub ipv4: Option<Ipv4Home>,
    /// The serving MAG's Proxy-CoA: the remote end of the tunnel.
    pub proxy_coa: Ipv6Addr,
    /// The LMA address the MAG sent to: the local end of the tunnel.
    pub lma_addr: Ipv6Addr,
    pub ll_id: Option<LinkLayerId>,
    pub link_local: Option<Ipv6Addr>,
    pub att: AccessTechnologyType,
    pub hi: HandoffIndicator,
    /// Lifetime end while Active, deletion time while pending delete.
    pub expires: Instant,
    /// Sequence number of the last accepted PBU.
    pub sequence: u16,
    /// When the last accepted PBU was sent, as a timestamp (RFC 5213 8.8):
    /// its Timestamp option, or the LMA's clock when it was accepted from a
    /// MAG that orders by sequence numbers. Later PBUs must be newer.
    pub timestamp: u64,
    /// How the MAG of the last accepted PBU orders its PBUs: sequence numbers
    /// are only comparable with those of a MAG that uses them.
    pub ordered_by: Ordering,
    pub state: BindingState,
}

#[derive(Debug, Default)]
pub struct BindingCache {
    slots: Vec<Option<Binding>>,
    free: Vec<BindingId>,
    by_mn_id: FxHashMap<MnId, BindingId>,
}

impl BindingCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// A cache sized for `nodes` entries up front: growing a large slab and
    /// index by doubling leaves the outgrown copies resident in the heap.
    pub fn with_capacity(nodes: usize) -> Self {
        BindingCache {
            slots: Vec::with_capacity(nodes),
            free: Vec::new(),
            by_mn_id: FxHashMap::with_capacity_and_hasher(nodes, Default::default()),
        }
    }

    pub fn len(&self) -> usize {
        self.by_mn_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_mn_id.is_empty()
    }

    /// The entry of a mobile node (RFC 5213 5.4.1: the MN-ID identifies it; this
    /// LMA keeps one entry per node, see `pbu` for the HI/ATT/LL-ID rules).
    pub fn find(&self, mn_id: &str) -> Option<BindingId> {
        self.by_mn_id.get(mn_id).copied()
    }

    pub fn get(&self, id: BindingId) -> Option<&Binding> {
        self.slots.get(id as usize)?.as_ref()
    }

    pub fn get_mut(&mut self, id: BindingId) -> Option<&mut Binding> {
        self.slots.get_mut(id as usize)?.as_mut()
    }

    /// Adds an entry for a node that has none.
    pub fn insert(&mut self, binding: Binding) -> BindingId {
        let key = binding.mn_id.clone();
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(binding);
                id
            }
            None => {
                self.slots.push(Some(binding));
                (self.slots.len() - 1) as BindingId
            }
        };
        self.by_mn_id.insert(key, id);
        id
    }

    pub fn remove(&mut self, id: BindingId) -> Option<Binding> {
        let binding = self.slots.get_mut(id as usize)?.take()?;
        self.by_mn_id.remove(&binding.mn_id);
        self.free.push(id);
        Some(binding)
    }

    pub fn iter(&self) -> impl Iterator<Item = (BindingId, &Binding)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(id, b)| b.as_ref().map(|b| (id as BindingId, b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(mn_id: &str) -> Binding {
        Binding {
            mn_id: mn_id.into(),
            hnps: Box::new(["2001:db8:1:1::/64".parse().unwrap()]),
            ipv4: None,
            proxy_coa: "2001:db8:ff:1::2".parse().unwrap(),
            lma_addr: "2001:db8:ff:1::1".parse().unwrap(),
            ll_id: LinkLayerId::new(&[0x52, 0x54, 0, 0xaa, 0, 1]),
            link_local: None,
            att: AccessTechnologyType::Ethernet,
            hi: HandoffIndicator::NewInterface,
            expires: Instant::from_secs(10),
            sequence: 1,
            timestamp: 0,
            ordered_by: Ordering::Timestamps,
            state: BindingState::Active,
        }
    }

    #[test]
    fn slots_are_reused_and_found_by_mn_id() {
        let mut c = BindingCache::new();
        let a = c.insert(binding("a"));
        let b = c.insert(binding("b"));
        assert_eq!(c.find("b"), Some(b));
        assert_eq!(c.remove(a).unwrap().mn_id.as_ref(), "a");
        assert_eq!(c.find("a"), None);
        assert_eq!(c.insert(binding("c")), a);
        assert_eq!(c.len(), 2);
        assert_eq!(c.iter().count(), 2);
    }

    #[test]
    fn mn_ids_inline_or_boxed_are_found_by_str() {
        let long = "a-node-with-a-long-name@tapmip.example";
        assert!(matches!(MnId::from("vm1@tapmip"), MnId::Inline { .. }));
        assert!(matches!(MnId::from(long), MnId::Heap(_)));
        let mut c = BindingCache::new();
        let a = c.insert(binding("vm1@tapmip"));
        let b = c.insert(binding(long));
        assert_eq!(c.find("vm1@tapmip"), Some(a));
        assert_eq!(c.find(long), Some(b));
        assert_eq!(c.get(b).unwrap().mn_id.to_string(), long);
    }

    #[test]
    fn link_layer_ids_stay_inline() {
        let id = LinkLayerId::new(&[0x52, 0x54, 0, 0xaa, 0, 1]).unwrap();
        assert_eq!(id.to_string(), "52:54:00:aa:00:01");
        assert!(LinkLayerId::new(&[0; 9]).is_none());
        assert!(std::mem::size_of::<Binding>() <= 160);
    }
}
