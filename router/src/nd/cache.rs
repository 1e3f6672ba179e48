//! The neighbor cache and its Neighbor Unreachability Detection state machine
//! (RFC 4861 sections 7.2, 7.3 and Appendix C).
//!
//! The cache never builds frames: it tells its owner which solicitations to send,
//! which queued packets became deliverable and which neighbors were lost.
//!
//! ```text
//!            send / create              solicited NA           reachable_time
//!  (none) ----------------> INCOMPLETE ------------> REACHABLE ------------> STALE
//!                            | unsolicited NA, NS/RS/RA with lladdr           |
//!                            +----------------------------------------------->|
//!   N multicast NS: delete                                          send     |
//!                      REACHABLE <--- confirmation --- DELAY <---------------+
//!                          ^                             | delay_first_probe_time
//!                          +------ solicited NA ------ PROBE <-+
//!                                                        | N unicast NS: delete
//! ```
//!
//! The cache holds at most `NudConfig::max_neighbors` entries, so that a flood
//! of solicitations from made-up sources cannot grow it without bound. At the
//! cap a new entry takes the place of the STALE or INCOMPLETE entry that has
//! been in its state longest; REACHABLE, DELAY and PROBE entries (neighbors in
//! use, or being checked) are never pushed out, and when every entry is one of
//! those the new one is not created.

use super::frames::NaFlags;
use super::{NudConfig, NudState};
use crate::Instant;
use crate::counters::Counters;
use crate::mac::Mac;
use crate::timer::TimerQueue;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::Hash;
use std::net::Ipv6Addr;

/// One neighbor as the control socket shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborInfo<A = Ipv6Addr> {
    pub ip: A,
    pub mac: Option<Mac>,
    pub state: NudState,
    pub is_router: bool,
}

#[derive(Debug)]
struct Entry {
    /// `None` exactly while INCOMPLETE.
    mac: Option<Mac>,
    state: NudState,
    is_router: bool,
    /// Solicitations sent in the current INCOMPLETE or PROBE phase.
    probes: u8,
    /// Packets waiting for resolution; only an INCOMPLETE entry holds any.
    queue: VecDeque<Vec<u8>>,
    /// Order of entering the current state: the oldest evictable entry goes first.
    stamp: u64,
}

impl Entry {
    fn new(mac: Option<Mac>, state: NudState, probes: u8, queue: VecDeque<Vec<u8>>) -> Self {
        Entry {
            mac,
            state,
            is_router: false,
            probes,
            queue,
            stamp: 0,
        }
    }
}

/// Whether an entry in `state` may make room for a new one at the cap.
fn evictable(state: NudState) -> bool {
    matches!(state, NudState::Stale | NudState::Incomplete)
}

/// What the cap on entries did (see the module's notes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapCounts {
    /// Entries pushed out to make room for a new one.
    pub evicted: u64,
    /// Packets that were queued on the INCOMPLETE entries pushed out.
    pub evicted_packets: u64,
    /// New entries not created: every entry was in use.
    pub refused: u64,
}

impl CapCounts {
    /// Adds the counts that are not zero to `counters`, under the names of
    /// `[evicted, evicted_packets, refused]`.
    pub fn add_to(&self, counters: &mut Counters, names: [&'static str; 3]) {
        for (name, n) in names
            .into_iter()
            .zip([self.evicted, self.evicted_packets, self.refused])
        {
            if n > 0 {
                counters.add(name, n);
            }
        }
    }
}

/// Packets that became deliverable because a neighbor's link-layer address is now known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flush {
    pub mac: Mac,
    pub packets: Vec<Vec<u8>>,
}

/// What the owner must do after [`NeighborCache::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Send the packet to this link-layer address now.
    Send(Mac),
    /// The packet waits for resolution. `solicit`: a new entry, send the first
    /// multicast NS. `overflow`: a packet was dropped, the oldest queued one to make
    /// room, or this one when `max_queue_per_neighbor` is 0.
    Queued { solicit: bool, overflow: bool },
}

/// Work the cache's timers ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NudAction<A = Ipv6Addr> {
    /// Send an NS for `target`: to its solicited-node group when `unicast` is `None`.
    Solicit { target: A, unicast: Option<Mac> },
    /// The entry was deleted; `dropped` queued packets went with it.
    Unreachable {
        ip: A,
        mac: Option<Mac>,
        dropped: usize,
    },
}

/// What an NA changed (RFC 4861 7.2.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdvertOutcome {
    pub flush: Option<Flush>,
    /// The neighbor was confirmed REACHABLE at this address.
    pub reachable: Option<Mac>,
}

#[derive(Debug)]
pub struct NeighborCache<A: Eq + Hash + Clone + Ord = Ipv6Addr> {
    cfg: NudConfig,
    entries: HashMap<A, Entry>,
    timers: TimerQueue<A>,
    /// The STALE and INCOMPLETE entries, oldest first.
    evictable: BTreeSet<(u64, A)>,
    next_stamp: u64,
    caps: CapCounts,
}

/// The cache is keyed by any address family: IPv6 for ND, IPv4 for ARP
/// ([`crate::arp`]), which runs the same reachability state machine.
impl<A: Copy + Eq + Hash + Ord> NeighborCache<A> {
    pub fn new(cfg: NudConfig) -> Self {
        NeighborCache {
            cfg,
            entries: HashMap::new(),
            timers: TimerQueue::new(),
            evictable: BTreeSet::new(),
            next_stamp: 0,
            caps: CapCounts::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What the cap on entries did so far.
    pub fn cap_counts(&self) -> CapCounts {
        self.caps
    }

    /// Makes room for one more entry at the cap; false (counted) when none can go.
    fn make_room(&mut self) -> bool {
        if self.entries.len() < self.cfg.max_neighbors {
            return true;
        }
        let Some(oldest) = self.evictable.pop_first() else {
            self.caps.refused += 1;
            return false;
        };
        let ip = oldest.1;
        if let Some(gone) = self.entries.remove(&ip) {
            self.caps.evicted += 1;
            self.caps.evicted_packets += gone.queue.len() as u64;
        }
        self.timers.cancel(&ip);
        true
    }

    /// Adds a new entry if there is room; false when the cap refused it.
    fn insert(&mut self, ip: A, mut entry: Entry) -> bool {
        if !self.make_room() {
            return false;
        }
        entry.stamp = self.next_stamp;
        self.next_stamp += 1;
        if evictable(entry.state) {
            self.evictable.insert((entry.stamp, ip));
        }
        self.entries.insert(ip, entry);
        true
    }

    /// Takes an entry out, with its place in the eviction order.
    fn take(&mut self, ip: &A) -> Option<Entry> {
        let entry = self.entries.remove(ip)?;
        self.evictable.remove(&(entry.stamp, *ip));
        Some(entry)
    }

    pub fn lookup(&self, ip: &A) -> Option<(NudState, Option<Mac>)> {
        self.entries.get(ip).map(|e| (e.state, e.mac))
    }

    pub fn iter(&self) -> impl Iterator<Item = NeighborInfo<A>> + '_ {
        self.entries.iter().map(|(ip, e)| NeighborInfo {
            ip: *ip,
            mac: e.mac,
            state: e.state,
            is_router: e.is_router,
        })
    }

    /// Deletes an entry, dropping its queued packets.
    pub fn remove(&mut self, ip: &A) {
        self.take(ip);
        self.timers.cancel(ip);
    }

    pub fn poll_at(&self) -> Option<Instant> {
        self.timers.peek_at()
    }

    /// Starts resolving `ip` with nothing to send yet; true when a multicast NS must
    /// go out (the address was unknown).
    pub fn start_resolution(&mut self, now: Instant, ip: A) -> bool {
        if self.entries.contains_key(&ip) {
            return false;
        }
        let entry = Entry::new(None, NudState::Incomplete, 1, VecDeque::new());
        if !self.insert(ip, entry) {
            return false;
        }
        self.timers.set(ip, now + self.cfg.retrans_timer);
        true
    }

    /// The link-layer address for sending to `ip` now, if it is known, with the
    /// NUD step sending takes (STALE -> DELAY, RFC 4861 7.3.3); nothing is queued
    /// when it is not (see [`NeighborCache::resolve`]).
    pub fn resolved(&mut self, now: Instant, ip: A) -> Option<Mac> {
        let entry = self.entries.get(&ip)?;
        let mac = entry.mac?;
        if entry.state == NudState::Stale {
            self.enter(now, ip, NudState::Delay);
        }
        Some(mac)
    }

    /// Looks up the link-layer address for sending `packet` to `ip` (RFC 4861 7.2.2, 7.3.3).
    pub fn resolve(&mut self, now: Instant, ip: A, packet: &[u8]) -> Resolution {
        let limit = self.cfg.max_queue_per_neighbor;
        let Some(entry) = self.entries.get_mut(&ip) else {
            let mut queue = VecDeque::new();
            if limit > 0 {
                queue.push_back(packet.to_vec());
            }
            if !self.insert(ip, Entry::new(None, NudState::Incomplete, 1, queue)) {
                // The cache is full of neighbors in use: the packet is lost.
                return Resolution::Queued {
                    solicit: false,
                    overflow: true,
                };
            }
            self.timers.set(ip, now + self.cfg.retrans_timer);
            return Resolution::Queued {
                solicit: true,
                overflow: limit == 0,
            };
        };
        match entry.mac {
            Some(mac) => {
                if entry.state == NudState::Stale {
                    self.enter(now, ip, NudState::Delay);
                }
                Resolution::Send(mac)
            }
            None => {
                let overflow = entry.queue.len() >= limit;
                if overflow {
                    entry.queue.pop_front();
                }
                if limit > 0 {
                    entry.queue.push_back(packet.to_vec());
                }
                Resolution::Queued {
                    solicit: false,
                    overflow,
                }
            }
        }
    }

    /// Records a link-layer address a neighbor announced for itself in an NS, RS or
    /// RA (RFC 4861 7.2.3, 6.2.6, 6.3.4). `is_router`: `Some` to set the flag (RS
    /// says false, RA true), `None` to keep it (NS).
    pub fn learn(
        &mut self,
        now: Instant,
        ip: A,
        mac: Mac,
        is_router: Option<bool>,
    ) -> Option<Flush> {
        if !self.entries.contains_key(&ip)
            && !self.insert(ip, Entry::new(None, NudState::Stale, 0, VecDeque::new()))
        {
            return None;
        }
        let entry = self.entries.get_mut(&ip)?;
        if let Some(is_router) = is_router {
            entry.is_router = is_router;
        }
        if entry.mac == Some(mac) {
            return None;
        }
        entry.mac = Some(mac);
        let packets: Vec<Vec<u8>> = entry.queue.drain(..).collect();
        self.enter(now, ip, NudState::Stale);
        (!packets.is_empty()).then_some(Flush { mac, packets })
    }

    /// Applies a Neighbor Advertisement for `ip` (RFC 4861 7.2.5). An NA for an
    /// address without an entry changes nothing.
    pub fn on_advert(
        &mut self,
        now: Instant,
        ip: A,
        tllao: Option<Mac>,
        flags: NaFlags,
    ) -> AdvertOutcome {
        let Some(entry) = self.entries.get_mut(&ip) else {
            return AdvertOutcome::default();
        };
        let Some(cached) = entry.mac else {
            // Without a TLLAO an NA cannot complete resolution on Ethernet.
            let Some(mac) = tllao else {
                return AdvertOutcome::default();
            };
            entry.mac = Some(mac);
            entry.is_router = flags.router;
            let packets: Vec<Vec<u8>> = entry.queue.drain(..).collect();
            let state = if flags.solicited {
                NudState::Reachable
            } else {
                NudState::Stale
            };
            self.enter(now, ip, state);
            return AdvertOutcome {
                flush: (!packets.is_empty()).then_some(Flush { mac, packets }),
                reachable: flags.solicited.then_some(mac),
            };
        };
        let changed = tllao.filter(|m| *m != cached);
        if changed.is_some() && !flags.override_ {
            // A different address without Override only casts doubt on the cached one.
            if entry.state == NudState::Reachable {
                self.enter(now, ip, NudState::Stale);
            }
            return AdvertOutcome::default();
        }
        entry.is_router = flags.router;
        let mac = changed.unwrap_or(cached);
        entry.mac = Some(mac);
        if flags.solicited {
            self.enter(now, ip, NudState::Reachable);
            return AdvertOutcome {
                flush: None,
                reachable: Some(mac),
            };
        }
        if changed.is_some() {
            self.enter(now, ip, NudState::Stale);
        }
        AdvertOutcome::default()
    }

    /// Starts a reachability check of `ip` now: a STALE or DELAY entry enters PROBE
    /// (a REACHABLE one too when `even_if_reachable`: the owner knows the neighbor
    /// has gone quiet since it was confirmed), and an absent one is created with
    /// `mac` first. Returns the address to send the unicast NS to, or `None` when the
    /// entry is already being resolved or probed, or was confirmed and not doubted. A
    /// router uses it for neighbors it must track even while no traffic flows to
    /// them, which NUD alone would never probe (RFC 4861 7.3.1).
    pub fn probe(&mut self, now: Instant, ip: A, mac: Mac, even_if_reachable: bool) -> Option<Mac> {
        if !self.entries.contains_key(&ip)
            && !self.insert(
                ip,
                Entry::new(Some(mac), NudState::Stale, 0, VecDeque::new()),
            )
        {
            return None;
        }
        let entry = self.entries.get_mut(&ip)?;
        let target = entry.mac?;
        let doubtful = match entry.state {
            NudState::Stale | NudState::Delay => true,
            NudState::Reachable => even_if_reachable,
            NudState::Incomplete | NudState::Probe => false,
        };
        if !doubtful {
            return None;
        }
        self.enter(now, ip, NudState::Probe);
        Some(target)
    }

    /// Upper-layer proof of forward progress (RFC 4861 7.3.1).
    pub fn confirm(&mut self, now: Instant, ip: A) {
        if self.entries.get(&ip).is_some_and(|e| e.mac.is_some()) {
            self.enter(now, ip, NudState::Reachable);
        }
    }

    /// Runs every NUD timer due at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<NudAction<A>> {
        let mut actions = Vec::new();
        while let Some(ip) = self.timers.pop_due(now) {
            let Some(entry) = self.entries.get_mut(&ip) else {
                continue;
            };
            let limit = match entry.state {
                NudState::Incomplete => self.cfg.max_multicast_solicit,
                NudState::Probe => self.cfg.max_unicast_solicit,
                NudState::Reachable => {
                    self.enter(now, ip, NudState::Stale);
                    continue;
                }
                NudState::Delay => {
                    actions.push(NudAction::Solicit {
                        target: ip,
                        unicast: entry.mac,
                    });
                    self.enter(now, ip, NudState::Probe);
                    continue;
                }
                NudState::Stale => continue,
            };
            if entry.probes < limit {
                entry.probes += 1;
                actions.push(NudAction::Solicit {
                    target: ip,
                    unicast: entry.mac,
                });
                self.timers.set(ip, now + self.cfg.retrans_timer);
            } else if let Some(entry) = self.take(&ip) {
                actions.push(NudAction::Unreachable {
                    ip,
                    mac: entry.mac,
                    dropped: entry.queue.len(),
                });
            }
        }
        actions
    }

    /// Moves an existing entry to `state` and arms the timer that state runs on.
    fn enter(&mut self, now: Instant, ip: A, state: NudState) {
        let Some(entry) = self.entries.get_mut(&ip) else {
            return;
        };
        self.evictable.remove(&(entry.stamp, ip));
        entry.stamp = self.next_stamp;
        self.next_stamp += 1;
        if evictable(state) {
            self.evictable.insert((entry.stamp, ip));
        }
        entry.state = state;
        entry.probes = 0;
        let timeout = match state {
            NudState::Stale => None,
            NudState::Reachable => Some(self.cfg.reachable_time),
            NudState::Delay => Some(self.cfg.delay_first_probe_time),
            NudState::Incomplete => Some(self.cfg.retrans_timer),
            // Entering PROBE is sending its first unicast NS.
            NudState::Probe => {
                entry.probes = 1;
                Some(self.cfg.retrans_timer)
            }
        };
        match timeout {
            Some(t) => self.timers.set(ip, now + t),
            None => self.timers.cancel(&ip),
        }
    }
}

#[cfg(test)]
mod cap_tests {
    use super::*;
    use crate::Duration;

    fn cache(max: usize) -> NeighborCache<u32> {
        NeighborCache::new(NudConfig {
            max_neighbors: max,
            ..NudConfig::default()
        })
    }

    fn mac(n: u8) -> Mac {
        Mac::from_bytes(&[2, 0, 0, 0, 0, n]).unwrap()
    }

    const CONFIRMED: NaFlags = NaFlags {
        router: false,
        solicited: true,
        override_: true,
    };

    #[test]
    fn at_the_cap_the_oldest_stale_or_incomplete_entry_goes() {
        let t = Instant::from_millis(0);
        let mut c = cache(3);
        c.learn(t, 1, mac(1), None);
        assert!(c.start_resolution(t, 2));
        c.learn(t, 3, mac(3), None);
        // 1 is confirmed (REACHABLE): in use, never pushed out.
        c.on_advert(t, 1, Some(mac(1)), CONFIRMED);
        c.learn(t, 4, mac(4), None);
        assert_eq!(c.lookup(&2), None, "INCOMPLETE 2 was the oldest evictable");
        assert!(c.lookup(&1).is_some());
        c.learn(t, 5, mac(5), None);
        assert_eq!(c.lookup(&3), None);
        assert_eq!(c.len(), 3);
        let counts = c.cap_counts();
        assert_eq!((counts.evicted, counts.refused), (2, 0));
    }

    #[test]
    fn a_full_cache_of_neighbors_in_use_refuses_the_new_one() {
        let t = Instant::from_millis(0);
        let mut c = cache(2);
        for ip in [1, 2] {
            c.learn(t, ip, mac(ip as u8), None);
            c.on_advert(t, ip, Some(mac(ip as u8)), CONFIRMED);
        }
        assert_eq!(c.learn(t, 3, mac(3), None), None);
        assert!(!c.start_resolution(t, 4));
        assert_eq!(
            c.resolve(t, 5, b"packet"),
            Resolution::Queued {
                solicit: false,
                overflow: true
            }
        );
        assert_eq!(c.probe(t, 6, mac(6), false), None);
        assert_eq!(c.len(), 2);
        assert!(c.lookup(&1).is_some_and(|(s, _)| s == NudState::Reachable));
        assert_eq!(c.cap_counts().refused, 4);
        // Once 1 goes STALE it may make room again.
        let later = t + Duration::from_secs(31);
        c.on_timer(later);
        c.learn(later, 3, mac(3), None);
        assert!(c.lookup(&3).is_some());
        assert_eq!(c.cap_counts().evicted, 1);
    }

    #[test]
    fn a_stale_entry_used_again_is_young_again() {
        let t = Instant::from_millis(0);
        let mut c = cache(2);
        c.learn(t, 1, mac(1), None);
        c.learn(t, 2, mac(2), None);
        // Sending to 1 moves it to DELAY; it then is a neighbor in use.
        assert_eq!(c.resolved(t, 1), Some(mac(1)));
        c.learn(t, 3, mac(3), None);
        assert_eq!(c.lookup(&2), None);
        assert!(c.lookup(&1).is_some());
        // An evicted INCOMPLETE entry's queue is counted.
        let mut c = cache(1);
        c.resolve(t, 7, b"a");
        c.resolve(t, 7, b"b");
        c.learn(t, 8, mac(8), None);
        assert_eq!(c.cap_counts().evicted_packets, 2);
    }
}
