//! Log lines about dropped and refused messages, limited so that a flood of
//! bad packets does not become a flood of log lines: every line is printed
//! while they are few (a burst of 20, then 10 a second), and past that the
//! lines are counted by kind and summed up in one line per second. The
//! counters still count every message; the log only says less.

use crate::token_bucket::{Rate, TokenBucket};
use crate::{Duration, Instant};
use std::collections::BTreeMap;

/// Full lines printed before lines are summed up.
const LINES: Rate = Rate::new(20, 10);
/// How often a summary of the lines not printed is written.
const SUMMARY_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct DropLog {
    lines: TokenBucket,
    /// Lines not printed since the last summary, by kind (a counter's name).
    suppressed: BTreeMap<&'static str, u64>,
    /// When the pending summary is written.
    summary_at: Option<Instant>,
}

impl DropLog {
    pub fn new(now: Instant) -> Self {
        DropLog {
            lines: TokenBucket::with_rate(LINES, now),
            suppressed: BTreeMap::new(),
            summary_at: None,
        }
    }

    /// Logs `line()` at info level, or counts it under `kind` when too many
    /// were printed lately. `line` is only built when it is printed.
    pub fn line(&mut self, now: Instant, kind: &'static str, line: impl FnOnce() -> String) {
        self.on_timer(now);
        if self.lines.allow(now) {
            log::info!("{}", line());
            return;
        }
        *self.suppressed.entry(kind).or_insert(0) += 1;
        self.summary_at.get_or_insert(now + SUMMARY_EVERY);
    }

    /// When the summary of the lines held back is due.
    pub fn poll_at(&self) -> Option<Instant> {
        self.summary_at
    }

    /// Writes the summary if it is due.
    pub fn on_timer(&mut self, now: Instant) {
        if self.summary_at.is_none_or(|at| now < at) {
            return;
        }
        self.summary_at = None;
        let total: u64 = self.suppressed.values().sum();
        let kinds: Vec<String> = self
            .suppressed
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        log::warn!(
            "{total} more dropped or refused messages in the last {} s, not logged one by one: {} (the counters hold them all)",
            SUMMARY_EVERY.secs(),
            kinds.join(", ")
        );
        self.suppressed.clear();
    }

    /// Lines held back for the next summary, by kind.
    pub fn held_back(&self) -> u64 {
        self.suppressed.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_summed_up_once_a_second() {
        let t0 = Instant::from_millis(0);
        let mut log = DropLog::new(t0);
        for i in 0..1000 {
            log.line(
                t0 + Duration::from_micros(i * 100),
                "auth.drop",
                String::new,
            );
        }
        // The burst of 20 printed; the flood lasts 0.1 s, before the next
        // line is due.
        assert_eq!(log.held_back(), 980);
        assert_eq!(log.poll_at(), Some(t0 + Duration::from_micros(1_002_000)));
        log.on_timer(t0 + Duration::from_millis(500));
        assert_eq!(log.held_back(), 980);
        log.on_timer(t0 + Duration::from_secs(2));
        assert_eq!(log.held_back(), 0);
        assert_eq!(log.poll_at(), None);
    }
}
