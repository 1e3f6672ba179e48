//! Heartbeats between a MAG and its LMA (RFC 5847): one [`HeartbeatPeer`] per
//! peer tells when to send the next Heartbeat Request and what the answers, or
//! their absence, mean: the peer failed (MISSING_HEARTBEATS_ALLOWED requests
//! in a row went unanswered), came back, or restarted (its Restart Counter
//! changed). A core without I/O like the rest: time comes in with every call.

use crate::wire::{HeartbeatRepr, MobilityOptions};
use crate::{Duration, Instant};
use std::net::Ipv6Addr;

/// RFC 5847 section 5's configuration variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatConfig {
    /// HEARTBEAT_INTERVAL: time between two requests (RFC default 60 s).
    pub interval: Duration,
    /// MISSING_HEARTBEATS_ALLOWED: unanswered requests before the peer is
    /// declared failed (RFC default 3).
    pub missing_allowed: u32,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        HeartbeatConfig {
            interval: Duration::from_secs(60),
            missing_allowed: 3,
        }
    }
}

/// What the heartbeats revealed about a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerEvent {
    /// `missed` requests in a row went unanswered (RFC 5847 5.2).
    Failed { missed: u32 },
    /// A failed peer answers again, with the same Restart Counter.
    Recovered,
    /// The peer's Restart Counter changed: it restarted and lost its state
    /// (RFC 5847 5.3).
    Restarted { before: u32, now: u32 },
}

#[derive(Debug, Clone)]
pub struct HeartbeatPeer {
    /// The peer, and the address requests are sent from.
    pub remote: Ipv6Addr,
    pub local: Ipv6Addr,
    cfg: HeartbeatConfig,
    next_at: Instant,
    /// The sequence number of the request still unanswered.
    outstanding: Option<u32>,
    next_sequence: u32,
    missed: u32,
    restart_counter: Option<u32>,
}

/// The Heartbeat Response to `request`, carrying this node's Restart Counter.
pub fn response(request: &HeartbeatRepr, restart_counter: u32) -> HeartbeatRepr {
    HeartbeatRepr {
        response: true,
        unsolicited: false,
        sequence: request.sequence,
        options: MobilityOptions {
            restart_counter: Some(restart_counter),
            ..MobilityOptions::default()
        },
    }
}

impl HeartbeatPeer {
    /// Monitors `remote`; the first request goes out at once.
    pub fn new(local: Ipv6Addr, remote: Ipv6Addr, cfg: HeartbeatConfig, now: Instant) -> Self {
        HeartbeatPeer {
            remote,
            local,
            cfg,
            next_at: now,
            outstanding: None,
            next_sequence: 1,
            missed: 0,
            restart_counter: None,
        }
    }

    pub fn poll_at(&self) -> Instant {
        self.next_at
    }

    /// Whether the peer is currently considered failed.
    pub fn failed(&self) -> bool {
        self.missed >= self.cfg.missing_allowed
    }

    pub fn restart_counter(&self) -> Option<u32> {
        self.restart_counter
    }

    /// At `poll_at()`: the request to send now, and what the missed answer to
    /// the previous one means, if anything.
    pub fn on_timer(&mut self, now: Instant) -> (HeartbeatRepr, Option<PeerEvent>) {
        let mut event = None;
        if self.outstanding.is_some() {
            self.missed = self.missed.saturating_add(1);
            if self.missed == self.cfg.missing_allowed {
                event = Some(PeerEvent::Failed {
                    missed: self.missed,
                });
            }
        }
        let sequence = self.next_sequence;
        self.next_sequence = sequence.wrapping_add(1);
        self.outstanding = Some(sequence);
        self.next_at = now + self.cfg.interval;
        let request = HeartbeatRepr {
            sequence,
            ..HeartbeatRepr::default()
        };
        (request, event)
    }

    /// A Heartbeat Response from the peer; `None` for one that answers no
    /// outstanding request (late or forged sequence number), which changes nothing.
    pub fn on_response(&mut self, response: &HeartbeatRepr) -> Option<PeerEvent> {
        if !response.response || self.outstanding != Some(response.sequence) {
            return None;
        }
        self.outstanding = None;
        let was_failed = self.failed();
        self.missed = 0;
        let counter = response.options.restart_counter;
        let before = self.restart_counter;
        if counter.is_some() {
            self.restart_counter = counter;
        }
        match (before, counter) {
            (Some(before), Some(now)) if before != now => {
                Some(PeerEvent::Restarted { before, now })
            }
            _ if was_failed => Some(PeerEvent::Recovered),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn answer(
        peer: &mut HeartbeatPeer,
        request: &HeartbeatRepr,
        counter: u32,
    ) -> Option<PeerEvent> {
        peer.on_response(&response(request, counter))
    }

    #[test]
    fn failure_recovery_and_restart() {
        let cfg = HeartbeatConfig {
            interval: Duration::from_secs(10),
            missing_allowed: 3,
        };
        let t = |s| Instant::from_secs(s);
        let mut p = HeartbeatPeer::new(ip("2001:db8::2"), ip("2001:db8::1"), cfg, t(0));
        assert_eq!(p.poll_at(), t(0));
        let (r1, e) = p.on_timer(t(0));
        assert_eq!((r1.sequence, r1.response, e), (1, false, None));
        assert_eq!(answer(&mut p, &r1, 7), None, "the first counter is learnt");
        assert_eq!(answer(&mut p, &r1, 7), None, "a duplicate answers nothing");
        let mut last = r1;
        for s in [10, 20, 30] {
            let (r, e) = p.on_timer(t(s));
            assert_eq!(e, None, "at {s} s");
            last = r;
        }
        assert_eq!(p.poll_at(), t(40));
        assert!(!p.failed(), "two missed so far");
        let (r, e) = p.on_timer(t(40));
        assert_eq!(e, Some(PeerEvent::Failed { missed: 3 }));
        assert!(p.failed());
        assert_eq!(
            answer(&mut p, &last, 7),
            None,
            "an answer to an old request"
        );
        assert_eq!(answer(&mut p, &r, 7), Some(PeerEvent::Recovered));
        let (r, _) = p.on_timer(t(50));
        assert_eq!(
            answer(&mut p, &r, 8),
            Some(PeerEvent::Restarted { before: 7, now: 8 })
        );
        assert_eq!(p.restart_counter(), Some(8));
    }

    #[test]
    fn the_response_echoes_the_sequence() {
        let request = HeartbeatRepr {
            sequence: 42,
            ..HeartbeatRepr::default()
        };
        let r = response(&request, 9);
        assert!(r.response && !r.unsolicited);
        assert_eq!((r.sequence, r.options.restart_counter), (42, Some(9)));
    }
}
