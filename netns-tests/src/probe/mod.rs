//! The paper's measurement probes ("Measurements"): a UDP echo stream for service
//! downtime and total migration time, and a TCP stream for session survivability.
//!
//! They run inside lab namespaces (`ip netns exec NS tapmip-probe ...`) as plain
//! blocking std-socket programs; the orchestrator reads their JSON reports back
//! with [`report::read_report`].

pub mod report;
pub mod tcp;
pub mod udp;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A probe's I/O failure, naming what it was doing.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("report {path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl ProbeError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ProbeError {
        let what = what.into();
        move |source| ProbeError::Io { what, source }
    }
}

static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::Relaxed);
}

/// Makes SIGTERM and SIGINT end a probe's run cleanly (report written) instead of
/// killing it: the orchestrator stops probes with a signal.
pub fn catch_stop_signals() -> Result<(), ProbeError> {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe;
        // the zeroed sigaction is a valid "no flags, empty mask" value.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_stop_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(ProbeError::Io {
                what: format!("installing the handler of signal {signal}"),
                source: std::io::Error::last_os_error(),
            });
        }
    }
    Ok(())
}

/// Whether SIGTERM or SIGINT arrived since [`catch_stop_signals`].
pub fn stop_signalled() -> bool {
    SIGNALLED.load(Ordering::Relaxed)
}

/// When a probe's stream ends: after a duration, when a file appears (so a
/// scenario can end it at a point of its own choosing), or on a stop signal;
/// whichever comes first.
#[derive(Debug, Clone)]
pub struct Until {
    deadline: Option<Instant>,
    file: Option<PathBuf>,
}

impl Until {
    pub fn new(start: Instant, duration: Option<Duration>, file: Option<PathBuf>) -> Until {
        Until {
            deadline: duration.map(|d| start + d),
            file,
        }
    }

    pub fn reached(&self, now: Instant) -> bool {
        stop_signalled()
            || self.deadline.is_some_and(|deadline| now >= deadline)
            || self.file.as_ref().is_some_and(|file| file.exists())
    }
}

/// Slot pacing without drift: slot `k` is due at `start + k * interval`. A sender
/// that fell behind (descheduled, stopped) skips the slots it missed rather than
/// bursting to catch up, so the stream's rate never exceeds one per interval.
#[derive(Debug)]
struct Pacer {
    start: Instant,
    interval: Duration,
    slot: u64,
}

impl Pacer {
    fn new(start: Instant, interval: Duration) -> Pacer {
        Pacer {
            start,
            interval,
            slot: 0,
        }
    }

    fn due(&self) -> Instant {
        self.start
            + self
                .interval
                .saturating_mul(u32::try_from(self.slot).unwrap_or(u32::MAX))
    }

    /// Moves past the slot just served at `now`.
    fn advance(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.start).as_nanos();
        let current = elapsed / self.interval.as_nanos().max(1);
        let current = u64::try_from(current).unwrap_or(u64::MAX);
        self.slot = self.slot.saturating_add(1).max(current.saturating_add(1));
    }
}

/// Nanoseconds on the probe's monotonic clock since `start`.
fn nanos_since(start: Instant, now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(start).as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_keeps_slots_on_the_start_grid() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut pacer = Pacer::new(start, ms(10));
        assert_eq!(pacer.due(), start);
        pacer.advance(start + ms(3));
        assert_eq!(pacer.due(), start + ms(10));
        pacer.advance(start + ms(12));
        assert_eq!(pacer.due(), start + ms(20));
    }

    #[test]
    fn pacer_skips_missed_slots() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut pacer = Pacer::new(start, ms(10));
        pacer.advance(start + ms(95));
        assert_eq!(pacer.due(), start + ms(100));
    }
}
