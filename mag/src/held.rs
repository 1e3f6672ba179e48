//! The bounded queue a MAG keeps a hinted node's downlink in until the node
//! shows up on the access link: packets in arrival order, with limits on
//! their number, their bytes and their age. What does not fit is dropped at
//! the tail (the packets already held stay a gap-free run); what is too old
//! when it would be delivered is dropped at the head. Every drop is counted.

use router::{Duration, Instant};
use std::collections::VecDeque;

/// How much a MAG holds for one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldLimits {
    pub packets: usize,
    pub bytes: usize,
    /// A packet held longer is stale: delivered that late it would only
    /// confuse the transport above (a TCP retransmission has long been sent).
    pub age: Duration,
}

impl Default for HoldLimits {
    /// 1024 packets, 1 MiB, 5 s: a second of a 1 ms probe plus a TCP
    /// window, over a stop-and-copy of a few seconds at most.
    fn default() -> Self {
        HoldLimits {
            packets: 1024,
            bytes: 1 << 20,
            age: Duration::from_secs(5),
        }
    }
}

/// Why a packet was not kept or not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldDrop {
    Packets,
    Bytes,
    Age,
}

impl HoldDrop {
    pub fn counter(self) -> &'static str {
        match self {
            HoldDrop::Packets => "mag.hold.dropped.packets",
            HoldDrop::Bytes => "mag.hold.dropped.bytes",
            HoldDrop::Age => "mag.hold.dropped.age",
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Held {
    packets: VecDeque<(Instant, Vec<u8>)>,
    bytes: usize,
}

impl Held {
    /// Keeps `packet`, or says which limit refused it.
    pub fn push(
        &mut self,
        now: Instant,
        packet: Vec<u8>,
        limits: &HoldLimits,
    ) -> Result<(), HoldDrop> {
        if self.packets.len() >= limits.packets {
            return Err(HoldDrop::Packets);
        }
        if self.bytes + packet.len() > limits.bytes {
            return Err(HoldDrop::Bytes);
        }
        self.bytes += packet.len();
        self.packets.push_back((now, packet));
        Ok(())
    }

    /// Everything held, oldest first, without what is older than the age
    /// limit; the second value counts those.
    pub fn drain(&mut self, now: Instant, limits: &HoldLimits) -> (Vec<Vec<u8>>, usize) {
        self.bytes = 0;
        let mut stale = 0;
        let fresh = self
            .packets
            .drain(..)
            .filter_map(|(at, p)| {
                let keep = now - at <= limits.age;
                stale += usize::from(!keep);
                keep.then_some(p)
            })
            .collect();
        (fresh, stale)
    }

    /// Drops what is older than the age limit; returns how many.
    pub fn expire(&mut self, now: Instant, limits: &HoldLimits) -> usize {
        let mut stale = 0;
        while let Some((at, p)) = self.packets.front() {
            if now - *at <= limits.age {
                break;
            }
            self.bytes -= p.len();
            self.packets.pop_front();
            stale += 1;
        }
        stale
    }

    /// When the oldest packet held goes stale: the first instant past the
    /// age limit, at which [`Held::expire`] drops it.
    pub fn stale_at(&self, limits: &HoldLimits) -> Option<Instant> {
        let past = limits.age + Duration::from_micros(1);
        self.packets.front().map(|(at, _)| *at + past)
    }

    /// Takes out the packets `wanted` picks, oldest first; the rest stay.
    pub fn take(&mut self, mut wanted: impl FnMut(&[u8]) -> bool) -> Vec<Vec<u8>> {
        let (taken, kept): (VecDeque<_>, VecDeque<_>) =
            self.packets.drain(..).partition(|(_, p)| wanted(p));
        self.packets = kept;
        self.bytes = self.packets.iter().map(|(_, p)| p.len()).sum();
        taken.into_iter().map(|(_, p)| p).collect()
    }

    pub fn len(&self) -> usize {
        self.packets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn keeps_order_within_the_limits_and_names_the_limit_hit() {
        let limits = HoldLimits {
            packets: 3,
            bytes: 10,
            age: Duration::from_millis(100),
        };
        let mut h = Held::default();
        assert_eq!(h.push(t(0), vec![1; 4], &limits), Ok(()));
        assert_eq!(h.push(t(1), vec![2; 4], &limits), Ok(()));
        assert_eq!(h.push(t(2), vec![3; 4], &limits), Err(HoldDrop::Bytes));
        assert_eq!(h.push(t(2), vec![3; 2], &limits), Ok(()));
        assert_eq!(h.push(t(3), vec![4; 1], &limits), Err(HoldDrop::Packets));
        assert_eq!((h.len(), h.bytes()), (3, 10));
        let (out, stale) = h.drain(t(50), &limits);
        assert_eq!(out, vec![vec![1; 4], vec![2; 4], vec![3; 2]]);
        assert_eq!(stale, 0);
        assert!(h.is_empty() && h.bytes() == 0);
    }

    #[test]
    fn expires_the_old_and_takes_what_is_wanted_in_order() {
        let limits = HoldLimits {
            age: Duration::from_millis(100),
            ..HoldLimits::default()
        };
        let mut h = Held::default();
        for (at, p) in [(0, 1), (10, 2), (120, 3), (130, 4), (140, 5)] {
            h.push(t(at), vec![p; usize::from(p)], &limits).unwrap();
        }
        assert_eq!(h.expire(t(125), &limits), 2);
        assert_eq!((h.len(), h.bytes()), (3, 12));
        let stale_at = h.stale_at(&limits).unwrap();
        assert_eq!(h.expire(stale_at - Duration::from_micros(1), &limits), 0);
        assert_eq!(h.take(|p| p[0] != 4), vec![vec![3; 3], vec![5; 5]]);
        assert_eq!((h.len(), h.bytes()), (1, 4));
        assert_eq!(h.expire(h.stale_at(&limits).unwrap(), &limits), 1);
        assert!(h.is_empty() && h.bytes() == 0 && h.stale_at(&limits).is_none());
    }

    #[test]
    fn old_packets_are_dropped_at_delivery() {
        let limits = HoldLimits {
            age: Duration::from_millis(100),
            ..HoldLimits::default()
        };
        let mut h = Held::default();
        h.push(t(0), vec![1], &limits).unwrap();
        h.push(t(60), vec![2], &limits).unwrap();
        let (out, stale) = h.drain(t(150), &limits);
        assert_eq!((out, stale), (vec![vec![2]], 1));
    }
}
