//! PMIPv6 timestamps (RFC 5213 8.8): 64 bits, the first 48 the seconds since
//! 1970-01-01 00:00 UTC, the last 16 the fraction of a second in 1/65536 units.
//!
//! Cores never read the clock: they are given `epoch`, the wall-clock time at their
//! `Instant` zero, and derive timestamps from the `now` they are passed, so a
//! simulation with a fake clock produces timestamps just as a real run does.

use crate::{Duration, Instant};

/// Wall-clock time since the Unix epoch.
pub type WallClock = std::time::Duration;

/// The timestamp of `now`, for a core whose `Instant` zero was at `epoch`.
pub fn timestamp(epoch: WallClock, now: Instant) -> u64 {
    let micros = u128::try_from(now.total_micros()).unwrap_or(0) + epoch.as_micros();
    let secs = (micros / 1_000_000) as u64;
    let frac = ((micros % 1_000_000) << 16) / 1_000_000;
    (secs << 16) | frac as u64
}

/// `a - b` as a signed duration in microseconds (saturating).
pub fn difference_micros(a: u64, b: u64) -> i64 {
    let to_micros = |t: u64| -> i128 {
        i128::from(t >> 16) * 1_000_000 + ((i128::from(t & 0xffff) * 1_000_000) >> 16)
    };
    i64::try_from(to_micros(a) - to_micros(b)).unwrap_or(if a > b { i64::MAX } else { i64::MIN })
}

/// Whether `ts` lies within `window` of the local time `now` (RFC 5213 5.5).
pub fn within_window(ts: u64, epoch: WallClock, now: Instant, window: Duration) -> bool {
    let diff = difference_micros(ts, timestamp(epoch, now)).unsigned_abs();
    diff <= window.total_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_seconds_and_fraction() {
        let epoch = WallClock::from_secs(1_700_000_000);
        let ts = timestamp(epoch, Instant::from_millis(1500));
        assert_eq!(ts >> 16, 1_700_000_001);
        assert_eq!(ts & 0xffff, 0x8000);
    }

    #[test]
    fn window_check() {
        let epoch = WallClock::from_secs(1_700_000_000);
        let now = Instant::from_millis(10_000);
        let ts = timestamp(epoch, Instant::from_millis(9_750));
        assert!(within_window(ts, epoch, now, Duration::from_millis(300)));
        let old = timestamp(epoch, Instant::from_millis(9_600));
        assert!(!within_window(old, epoch, now, Duration::from_millis(300)));
        assert!(difference_micros(ts, old) > 149_000 && difference_micros(ts, old) < 151_000);
        assert!(difference_micros(old, ts) < 0);
    }
}
