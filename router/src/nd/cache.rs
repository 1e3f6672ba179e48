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

use super::frames::NaFlags;
use super::{NudConfig, NudState};
use crate::Instant;
use crate::mac::Mac;
use crate::timer::TimerQueue;
use std::collections::{HashMap, VecDeque};
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
}

/// The cache is keyed by any address family: IPv6 for ND, IPv4 for ARP
/// ([`crate::arp`]), which runs the same reachability state machine.
impl<A: Copy + Eq + Hash + Ord> NeighborCache<A> {
    pub fn new(cfg: NudConfig) -> Self {
        NeighborCache {
            cfg,
            entries: HashMap::new(),
            timers: TimerQueue::new(),
        }
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
        self.entries.remove(ip);
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
        self.entries.insert(
            ip,
            Entry {
                mac: None,
                state: NudState::Incomplete,
                is_router: false,
                probes: 1,
                queue: VecDeque::new(),
            },
        );
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
            let entry = Entry {
                mac: None,
                state: NudState::Incomplete,
                is_router: false,
                probes: 1,
                queue,
            };
            self.entries.insert(ip, entry);
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
        let entry = self.entries.entry(ip).or_insert_with(|| Entry {
            mac: None,
            state: NudState::Stale,
            is_router: false,
            probes: 0,
            queue: VecDeque::new(),
        });
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
        let entry = self.entries.entry(ip).or_insert_with(|| Entry {
            mac: Some(mac),
            state: NudState::Stale,
            is_router: false,
            probes: 0,
            queue: VecDeque::new(),
        });
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
            } else if let Some(entry) = self.entries.remove(&ip) {
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
