//! A token bucket, the one rate limiter of every tapmip router: ICMP errors
//! (RFC 4443 2.4 (f)), signalling per MAG and per source at the LMA, and the
//! log lines about dropped messages. Time is passed in, so cores and tests
//! drive it with protocol time.

use crate::{Duration, Instant};

/// How fast a bucket refills and how much it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Tokens a full bucket holds: what may pass at once after a quiet while.
    pub burst: u32,
    /// Tokens added per second; 0 never refills.
    pub per_sec: u32,
}

impl Rate {
    pub const fn new(burst: u32, per_sec: u32) -> Self {
        Rate { burst, per_sec }
    }

    /// The time one token takes to come back, to the microsecond.
    fn interval(self) -> Duration {
        match self.per_sec {
            0 => Duration::from_micros(u64::MAX / 2),
            n => Duration::from_micros((1_000_000 / u64::from(n)).max(1)),
        }
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/s (burst {})", self.per_sec, self.burst)
    }
}

/// Allows `burst` events at once and one more per `interval` after that.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: u32,
    burst: u32,
    interval: Duration,
    last_refill: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(burst: u32, interval: Duration, now: Instant) -> Self {
        TokenBucket {
            tokens: burst,
            burst,
            interval,
            last_refill: now,
        }
    }

    /// A full bucket refilling at `rate`.
    pub fn with_rate(rate: Rate, now: Instant) -> Self {
        Self::new(rate.burst, rate.interval(), now)
    }

    fn refill(&mut self, now: Instant) {
        // A clock that went back refills nothing (and takes nothing back).
        if now < self.last_refill {
            self.last_refill = now;
            return;
        }
        let step = self.interval.total_micros().max(1);
        let elapsed = (now - self.last_refill).total_micros();
        let refill = elapsed / step;
        if refill > 0 {
            let add = u32::try_from(refill).unwrap_or(u32::MAX);
            self.tokens = self.burst.min(self.tokens.saturating_add(add));
            self.last_refill = if self.tokens == self.burst {
                now
            } else {
                self.last_refill + Duration::from_micros(refill * step)
            };
        }
    }

    /// Takes a token if one is left.
    pub fn allow(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }

    /// Whether a token is left, without taking it: for limits that charge
    /// only some of what they let through.
    pub fn has_token(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens > 0
    }

    /// Whether the bucket is full at `now`: it remembers nothing, and may be
    /// forgotten.
    pub fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens == self.burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refills_one_per_interval_up_to_the_burst() {
        let t0 = Instant::from_millis(1000);
        let mut b = TokenBucket::new(2, Duration::from_millis(10), t0);
        assert!(b.allow(t0));
        assert!(b.allow(t0));
        assert!(!b.allow(t0));
        assert!(!b.allow(t0 + Duration::from_millis(9)));
        assert!(b.allow(t0 + Duration::from_millis(10)));
        assert!(!b.allow(t0 + Duration::from_millis(15)));
        assert!(b.allow(t0 + Duration::from_millis(100)));
        assert!(b.allow(t0 + Duration::from_millis(100)));
        assert!(!b.allow(t0 + Duration::from_millis(100)));
    }

    #[test]
    fn a_rate_per_second() {
        let t0 = Instant::from_millis(0);
        let mut b = TokenBucket::with_rate(Rate::new(3, 100), t0);
        let passed = (0..1000)
            .filter(|i| b.allow(t0 + Duration::from_micros(i * 1000)))
            .count();
        // 3 at once, then one every 10 ms over the second.
        assert!((101..=104).contains(&passed), "{passed}");
        assert!(!b.is_full(t0 + Duration::from_millis(1000)));
        assert!(b.is_full(t0 + Duration::from_millis(1100)));
    }

    #[test]
    fn zero_rate_never_refills_and_a_clock_going_back_adds_nothing() {
        let t0 = Instant::from_millis(5000);
        let mut b = TokenBucket::with_rate(Rate::new(1, 0), t0);
        assert!(b.allow(t0));
        assert!(!b.allow(t0 + Duration::from_secs(3600)));
        let mut b = TokenBucket::new(1, Duration::from_millis(10), t0);
        assert!(b.allow(t0));
        assert!(!b.allow(Instant::from_millis(0)));
        assert!(!b.allow(Instant::from_millis(5)));
        assert!(b.allow(Instant::from_millis(10)));
    }
}
