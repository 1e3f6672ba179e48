//! The learning table of one segment: which member a source MAC address was last
//! seen on, forgotten after `aging` without traffic (IEEE 802.1Q 8.8.3).
//!
//! A MAC seen on another member moves there at once: that is what makes a
//! migrated VM reachable as soon as it sends its first frame (or its announcement).

use std::collections::HashMap;

use router::mac::Mac;
use router::{Duration, Instant};

use crate::bridge::MemberId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub member: MemberId,
    pub last_seen: Instant,
}

#[derive(Debug, Clone)]
pub struct MacTable {
    entries: HashMap<Mac, Entry>,
    aging: Duration,
    /// No entry expires before this; refreshing an entry never makes it earlier,
    /// so learning stays O(1) and only a sweep walks the table.
    next_expiry: Option<Instant>,
}

/// What learning a source address changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learnt {
    New,
    Refreshed,
    Moved { from: MemberId },
}

impl MacTable {
    pub fn new(aging: Duration) -> Self {
        MacTable {
            entries: HashMap::new(),
            aging,
            next_expiry: None,
        }
    }

    pub fn learn(&mut self, mac: Mac, member: MemberId, now: Instant) -> Learnt {
        let entry = Entry {
            member,
            last_seen: now,
        };
        let learnt = match self.entries.insert(mac, entry) {
            None => Learnt::New,
            Some(old) if old.member == member => Learnt::Refreshed,
            Some(old) => Learnt::Moved { from: old.member },
        };
        let expiry = now + self.aging;
        if self.next_expiry.is_none_or(|at| expiry < at) {
            self.next_expiry = Some(expiry);
        }
        learnt
    }

    pub fn lookup(&self, mac: &Mac) -> Option<MemberId> {
        self.entries.get(mac).map(|e| e.member)
    }

    /// Forgets every address learnt on `member` (it left the segment).
    pub fn forget_member(&mut self, member: MemberId) {
        self.entries.retain(|_, e| e.member != member);
    }

    pub fn poll_at(&self) -> Option<Instant> {
        self.next_expiry
    }

    /// Removes the entries idle for `aging`; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        if self.next_expiry.is_none_or(|at| at > now) {
            return 0;
        }
        let before = self.entries.len();
        let aging = self.aging;
        self.entries.retain(|_, e| e.last_seen + aging > now);
        self.next_expiry = self.entries.values().map(|e| e.last_seen + aging).min();
        before - self.entries.len()
    }

    /// Entries sorted by address, for display.
    pub fn entries(&self) -> Vec<(Mac, Entry)> {
        let mut all: Vec<_> = self.entries.iter().map(|(m, e)| (*m, *e)).collect();
        all.sort_by_key(|(mac, _)| *mac);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Mac = Mac([2, 0, 0, 0, 0, 0xa]);
    const B: Mac = Mac([2, 0, 0, 0, 0, 0xb]);

    fn s(v: i64) -> Instant {
        Instant::from_secs(v)
    }

    #[test]
    fn learns_moves_and_ages() {
        let mut t = MacTable::new(Duration::from_secs(300));
        assert_eq!(t.learn(A, 0, s(0)), Learnt::New);
        assert_eq!(t.learn(B, 1, s(100)), Learnt::New);
        assert_eq!(t.poll_at(), Some(s(300)));
        assert_eq!(t.learn(A, 0, s(200)), Learnt::Refreshed);
        assert_eq!(t.expire(s(300)), 0);
        assert_eq!(t.poll_at(), Some(s(400)));
        assert_eq!(t.learn(A, 2, s(350)), Learnt::Moved { from: 0 });
        assert_eq!(t.lookup(&A), Some(2));
        assert_eq!(t.expire(s(400)), 1);
        assert_eq!(t.lookup(&B), None);
        assert_eq!(t.poll_at(), Some(s(650)));
        t.forget_member(2);
        assert_eq!(t.lookup(&A), None);
    }
}
