//! A timer queue: a binary heap of deadlines with lazy cancellation.
//!
//! Re-arming a timer for a key only records the new deadline; the stale heap
//! entry stays until it reaches the top and is discarded there. That keeps arm and
//! cancel O(log n) / O(1) without searching the heap, which matters when a core
//! holds one timer per neighbor or per binding.

use crate::Instant;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;
use std::hash::Hash;

#[derive(Debug, Clone)]
pub struct TimerQueue<K: Eq + Hash + Clone + Ord> {
    heap: BinaryHeap<Reverse<(Instant, u64, K)>>,
    /// The live deadline of each key and the generation of its heap entry.
    live: FxHashMap<K, (Instant, u64)>,
    generation: u64,
}

impl<K: Eq + Hash + Clone + Ord> Default for TimerQueue<K> {
    fn default() -> Self {
        TimerQueue {
            heap: BinaryHeap::new(),
            live: FxHashMap::default(),
            generation: 0,
        }
    }
}

impl<K: Eq + Hash + Clone + Ord> TimerQueue<K> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms (or re-arms) the timer of `key` to fire at `at`.
    pub fn set(&mut self, key: K, at: Instant) {
        self.generation += 1;
        self.live.insert(key.clone(), (at, self.generation));
        self.heap.push(Reverse((at, self.generation, key)));
        // Re-arming to a later deadline (a refreshed binding) leaves a stale entry
        // that only leaves the heap when its old deadline comes; rebuild once stale
        // entries outnumber live ones so the heap stays O(live timers).
        if self.heap.len() > 2 * self.live.len() + 64 {
            self.compact();
        }
    }

    fn compact(&mut self) {
        self.heap = self
            .live
            .iter()
            .map(|(key, (at, generation))| Reverse((*at, *generation, key.clone())))
            .collect();
    }

    /// Cancels the timer of `key`, if armed.
    pub fn cancel(&mut self, key: &K) {
        self.live.remove(key);
    }

    /// The deadline of `key`, if armed.
    pub fn deadline(&self, key: &K) -> Option<Instant> {
        self.live.get(key).map(|(at, _)| *at)
    }

    /// The earliest live deadline.
    pub fn poll_at(&mut self) -> Option<Instant> {
        self.discard_stale();
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// The earliest live deadline without discarding stale entries (for `&self` callers).
    /// May be earlier than the true next deadline; an early wake-up finds nothing due.
    pub fn peek_at(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Removes and returns one key whose deadline is `<= now`, earliest first.
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        self.discard_stale();
        let due = matches!(self.heap.peek(), Some(Reverse((at, _, _))) if *at <= now);
        if !due {
            return None;
        }
        let Reverse((_, _, key)) = self.heap.pop()?;
        self.live.remove(&key);
        Some(key)
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    fn discard_stale(&mut self) {
        while let Some(Reverse((at, generation, key))) = self.heap.peek() {
            match self.live.get(key) {
                Some((live_at, live_gen)) if live_at == at && live_gen == generation => break,
                _ => {
                    self.heap.pop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: i64) -> Instant {
        Instant::from_millis(v)
    }

    #[test]
    fn fires_in_deadline_order() {
        let mut q = TimerQueue::new();
        q.set("b", ms(20));
        q.set("a", ms(10));
        q.set("c", ms(30));
        assert_eq!(q.poll_at(), Some(ms(10)));
        assert_eq!(q.pop_due(ms(5)), None);
        assert_eq!(q.pop_due(ms(25)), Some("a"));
        assert_eq!(q.pop_due(ms(25)), Some("b"));
        assert_eq!(q.pop_due(ms(25)), None);
        assert_eq!(q.poll_at(), Some(ms(30)));
    }

    #[test]
    fn rearm_and_cancel_are_lazy() {
        let mut q = TimerQueue::new();
        q.set(1u32, ms(10));
        q.set(1u32, ms(50));
        q.set(2u32, ms(20));
        q.cancel(&2);
        assert_eq!(q.len(), 1);
        assert_eq!(q.poll_at(), Some(ms(50)));
        assert_eq!(q.pop_due(ms(40)), None);
        assert_eq!(q.pop_due(ms(50)), Some(1));
        assert!(q.is_empty());
        assert_eq!(q.poll_at(), None);
    }

    #[test]
    fn rearming_keeps_the_heap_bounded() {
        let mut q = TimerQueue::new();
        for round in 0..1000 {
            for key in 0..10u32 {
                q.set(key, ms(1000 + round));
            }
        }
        assert!(q.heap.len() <= 2 * 10 + 64 + 1, "{}", q.heap.len());
        assert_eq!(q.poll_at(), Some(ms(1999)));
        let fired: Vec<u32> = std::iter::from_fn(|| q.pop_due(ms(5000))).collect();
        assert_eq!(fired.len(), 10);
    }

    #[test]
    fn rearm_to_same_deadline_fires_once() {
        let mut q = TimerQueue::new();
        q.set(7u8, ms(10));
        q.set(7u8, ms(10));
        assert_eq!(q.pop_due(ms(10)), Some(7));
        assert_eq!(q.pop_due(ms(10)), None);
    }
}
