//! Link emulation for one direction of one member: delay, jitter, random and
//! bursty loss, a rate limit and a drop-tail queue, all on the core's clock.
//!
//! The order a frame goes through: the loss model decides first (a lost frame
//! costs no link time); a frame that finds the queue full is dropped; the rest
//! are serialised one after another at `rate_bps`, then wait `delay` plus a
//! jitter draw. A departure is never earlier than the previous one, so jitter
//! spreads frames but never reorders them, as on a real point-to-point link.
//!
//! Loss follows the Gilbert-Elliott model (Elliott 1963): a two-state Markov
//! chain stepped once per frame, losing with `loss_ppm` in the good state and
//! `burst_loss_ppm` in the bad one. With `burst_enter_ppm` 0 it is plain
//! independent loss.

use std::collections::VecDeque;

use router::gso::Offload;
use router::{Duration, Instant};
use serde::{Deserialize, Serialize};

use router::rng::SplitMix64;

/// Probabilities are in parts per million so that requests compare exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkParams {
    pub delay_us: u64,
    /// Each frame waits an extra uniform draw in `0..=jitter_us`.
    pub jitter_us: u64,
    /// Loss probability in the good state.
    pub loss_ppm: u32,
    /// Good -> bad transition probability per frame.
    pub burst_enter_ppm: u32,
    /// Bad -> good transition probability per frame.
    pub burst_exit_ppm: u32,
    /// Loss probability in the bad state.
    pub burst_loss_ppm: u32,
    /// Serialisation rate; 0 is unlimited.
    pub rate_bps: u64,
    /// Frames waiting for serialisation beyond which new ones are dropped; 0 is
    /// unlimited.
    pub queue_frames: u32,
}

impl LinkParams {
    fn is_transparent(&self) -> bool {
        *self == LinkParams::default()
    }

    /// Whether a superframe may cross whole: the link only delays. Loss, jitter,
    /// a rate and a queue act per frame, so a superframe is cut before them.
    pub fn takes_superframes(&self) -> bool {
        *self
            == LinkParams {
                delay_us: self.delay_us,
                ..LinkParams::default()
            }
    }
}

/// Buffers of departed frames kept for the next held ones.
const SPARE_BUFFERS: usize = 64;

/// What the link did with an offered frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Passes at once: the caller forwards it now.
    Now,
    /// Held until [`Link::pop_due`] returns it.
    Held,
    /// Dropped for this reason (a counter name).
    Dropped(&'static str),
}

#[derive(Debug, Clone)]
pub struct Link {
    params: LinkParams,
    rng: SplitMix64,
    bad: bool,
    /// Frames, what they still need, and their departure instants, in
    /// departure order.
    held: VecDeque<(Instant, Vec<u8>, Offload)>,
    /// Buffers handed back by [`Link::recycle`]: holding a frame allocates
    /// only until the link has as many as it holds at once.
    spare: Vec<Vec<u8>>,
    /// When each frame still being serialised (or waiting to be) is done.
    backlog: VecDeque<Instant>,
    busy_until: Instant,
    last_departure: Instant,
}

impl Link {
    pub fn new(seed: u64) -> Self {
        Link {
            params: LinkParams::default(),
            rng: SplitMix64::new(seed),
            bad: false,
            held: VecDeque::new(),
            spare: Vec::new(),
            backlog: VecDeque::new(),
            busy_until: Instant::from_micros(0),
            last_departure: Instant::from_micros(0),
        }
    }

    pub fn params(&self) -> LinkParams {
        self.params
    }

    /// New parameters apply to frames offered from now on; held frames keep
    /// their departure times.
    pub fn set_params(&mut self, params: LinkParams) {
        self.params = params;
        if params.burst_enter_ppm == 0 {
            self.bad = false;
        }
    }

    /// Whether a superframe may be offered whole ([`LinkParams::takes_superframes`]).
    pub fn takes_superframes(&self) -> bool {
        self.params.takes_superframes()
    }

    /// Offers a frame (with what it still needs, [`Offload::NONE`] for an
    /// ordinary one) to the link.
    pub fn offer(&mut self, now: Instant, frame: &[u8], offload: &Offload) -> Offer {
        let p = self.params;
        if p.is_transparent() && self.held.is_empty() {
            return Offer::Now;
        }
        if self.lose() {
            return Offer::Dropped("link_loss");
        }
        while self.backlog.front().is_some_and(|&done| done <= now) {
            self.backlog.pop_front();
        }
        if p.queue_frames > 0 && self.backlog.len() >= p.queue_frames as usize {
            return Offer::Dropped("link_queue_full");
        }
        let start = self.busy_until.max(now);
        self.busy_until = start + serialisation(frame.len(), p.rate_bps);
        self.backlog.push_back(self.busy_until);
        let jitter = self.rng.below(p.jitter_us.saturating_add(1));
        let departure =
            (self.busy_until + Duration::from_micros(p.delay_us + jitter)).max(self.last_departure);
        self.last_departure = departure;
        if departure <= now && self.held.is_empty() {
            return Offer::Now;
        }
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(frame);
        self.held.push_back((departure, buf, *offload));
        Offer::Held
    }

    fn lose(&mut self) -> bool {
        let p = self.params;
        self.bad = if self.bad {
            !self.rng.chance(p.burst_exit_ppm)
        } else {
            self.rng.chance(p.burst_enter_ppm)
        };
        let ppm = if self.bad {
            p.burst_loss_ppm
        } else {
            p.loss_ppm
        };
        ppm > 0 && self.rng.chance(ppm)
    }

    pub fn poll_at(&self) -> Option<Instant> {
        self.held.front().map(|(at, _, _)| *at)
    }

    /// The next frame whose departure is due; hand its buffer back with
    /// [`Link::recycle`] once sent.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Vec<u8>, Offload)> {
        if self.held.front().is_some_and(|(at, _, _)| *at <= now) {
            return self
                .held
                .pop_front()
                .map(|(_, frame, offload)| (frame, offload));
        }
        None
    }

    /// Keeps a departed frame's buffer for the next frame held.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS {
            self.spare.push(buf);
        }
    }

    pub fn held(&self) -> usize {
        self.held.len()
    }
}

fn serialisation(len: usize, rate_bps: u64) -> Duration {
    if rate_bps == 0 {
        return Duration::from_micros(0);
    }
    let bits = len as u64 * 8;
    Duration::from_micros(bits.saturating_mul(1_000_000).div_ceil(rate_bps))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(us: i64) -> Instant {
        Instant::from_micros(us)
    }

    /// Offers `n` frames of `len` bytes at `at` and returns every departure time.
    fn run(link: &mut Link, offers: &[(i64, usize)]) -> Vec<i64> {
        let mut out = Vec::new();
        for &(at, len) in offers {
            match link.offer(t(at), &vec![0; len], &Offload::NONE) {
                Offer::Now => out.push(at),
                Offer::Held | Offer::Dropped(_) => {}
            }
        }
        let mut now = 0;
        while let Some(at) = link.poll_at() {
            now = at.total_micros().max(now);
            while link.pop_due(t(now)).is_some() {
                out.push(now);
            }
        }
        out
    }

    #[test]
    fn transparent_link_passes_at_once() {
        let mut link = Link::new(1);
        assert_eq!(link.offer(t(5), &[0; 60], &Offload::NONE), Offer::Now);
        assert_eq!(link.poll_at(), None);
    }

    #[test]
    fn delay_and_rate_serialise_frames() {
        let mut link = Link::new(1);
        link.set_params(LinkParams {
            delay_us: 10_000,
            rate_bps: 1_000_000,
            ..LinkParams::default()
        });
        // 125 bytes is 1000 bits: 1 ms each at 1 Mbit/s.
        let departures = run(&mut link, &[(0, 125), (0, 125), (500, 125), (5_000, 125)]);
        assert_eq!(departures, [11_000, 12_000, 13_000, 16_000]);
    }

    #[test]
    fn jitter_never_reorders_and_repeats_with_the_seed() {
        let params = LinkParams {
            delay_us: 1_000,
            jitter_us: 5_000,
            ..LinkParams::default()
        };
        let offers: Vec<(i64, usize)> = (0..200).map(|i| (i * 100, 60)).collect();
        let mut a = Link::new(42);
        a.set_params(params);
        let first = run(&mut a, &offers);
        assert_eq!(first.len(), 200);
        assert!(first.windows(2).all(|w| w[0] <= w[1]), "{first:?}");
        let spread = first.iter().zip(&offers).map(|(d, (o, _))| d - o);
        assert!(spread.clone().all(|s| s >= 1_000));
        assert!(spread.clone().any(|s| s > 3_000));
        let mut b = Link::new(42);
        b.set_params(params);
        assert_eq!(run(&mut b, &offers), first);
    }

    #[test]
    fn queue_limit_drops_tail() {
        let mut link = Link::new(1);
        link.set_params(LinkParams {
            rate_bps: 8_000, // 1 byte per ms
            queue_frames: 2,
            ..LinkParams::default()
        });
        assert_eq!(link.offer(t(0), &[0; 10], &Offload::NONE), Offer::Held);
        assert_eq!(link.offer(t(0), &[0; 10], &Offload::NONE), Offer::Held);
        assert_eq!(
            link.offer(t(0), &[0; 10], &Offload::NONE),
            Offer::Dropped("link_queue_full")
        );
        // The first frame is serialised after 10 ms: room for one more.
        assert_eq!(link.offer(t(10_000), &[0; 10], &Offload::NONE), Offer::Held);
        assert_eq!(run(&mut link, &[]), [10_000, 20_000, 30_000]);
    }

    #[test]
    fn random_and_bursty_loss() {
        let count = |params: LinkParams, seed| {
            let mut link = Link::new(seed);
            link.set_params(params);
            let verdicts: Vec<bool> = (0..10_000)
                .map(|i| link.offer(t(i), &[0; 60], &Offload::NONE) == Offer::Dropped("link_loss"))
                .collect();
            let lost = verdicts.iter().filter(|&&l| l).count();
            let runs = verdicts.windows(2).filter(|w| w[0] && w[1]).count();
            (lost, runs, verdicts)
        };
        let random = LinkParams {
            loss_ppm: 100_000,
            ..LinkParams::default()
        };
        let (lost, _, first) = count(random, 3);
        assert!((800..1200).contains(&lost), "{lost}");
        assert_eq!(count(random, 3).2, first, "same seed, same losses");

        // Bad state one frame in 100, lasting 10 frames on average, all lost there.
        let bursty = LinkParams {
            burst_enter_ppm: 10_000,
            burst_exit_ppm: 100_000,
            burst_loss_ppm: 1_000_000,
            ..LinkParams::default()
        };
        let (lost, consecutive, _) = count(bursty, 3);
        assert!((500..1500).contains(&lost), "{lost}");
        assert!(
            consecutive > lost / 2,
            "losses come in bursts: {consecutive} of {lost}"
        );
    }
}
