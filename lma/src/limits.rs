//! What bounds the LMA's work and memory under a flood (docs/limits.md):
//!
//! - Before authentication, a token bucket per source spent by every message
//!   that fails authentication: one per MAG address of the policy and one
//!   shared by every other source. A source whose bucket is empty is not
//!   checked at all (a hash probe instead of the HMAC) until it refills.
//!   Forgeries from made-up sources so use up only the shared bucket, never a
//!   real MAG's; and as authentic messages spend nothing, a MAG's own
//!   signalling never empties its bucket. Forgeries in a MAG's own address
//!   would; so each MAG address has two buckets, one for frames from the
//!   link-layer address its authentic messages come from and one for every
//!   other, and a forger elsewhere on the link (or on another link) uses up
//!   only the second.
//! - After authentication, a token bucket per MAG: a MAG (or its stolen key)
//!   gets no more than its share.
//! - Caps on the Binding Cache, the HI=4 PBUs held for
//!   MaxDelayBeforeNewBCEAssign, and the PBUs waiting for the policy store.
//!
//! A rate-limited message is dropped without an answer: the MAG's own
//! retransmission tries again once the flood has passed. A full Binding
//! Cache refuses the PBU with status 130 (RFC 5213 8.9, "insufficient
//! resources"), which the MAG reports; a full held or waiting list drops the
//! PBU unanswered, as the MAG retransmits and the lists drain within seconds.
//! Every refusal is counted, and none changes any state.

use crate::core::Lma;
use router::Instant;
use router::mac::Mac;
use router::token_bucket::{Rate, TokenBucket};
use std::collections::HashMap;
use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

/// The LMA's limits; the defaults suit a domain of up to 200 000 nodes on
/// one LMA (some 400 bytes of memory per binding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LmaLimits {
    /// Binding Cache entries, de-registered ones waiting for deletion included.
    pub max_bindings: usize,
    /// HI=4 PBUs held while the serving MAG may still de-register.
    pub max_held_pbus: usize,
    /// PBUs waiting for the policy store's answer (RADIUS).
    pub max_awaiting_aaa: usize,
    /// Mobility Headers failing authentication per second from each MAG
    /// address (and link-layer source), past which it is not checked.
    pub per_source: Rate,
    /// Mobility Headers per second from all other sources together, before
    /// authentication.
    pub unknown_sources: Rate,
    /// Authenticated Mobility Headers per second from each MAG (and PBUs
    /// from the first minute after a MAG restarts: the burst lets 2000
    /// through at once, the rest follow its retransmissions).
    pub per_mag: Rate,
}

impl Default for LmaLimits {
    fn default() -> Self {
        LmaLimits {
            max_bindings: 200_000,
            max_held_pbus: 4096,
            max_awaiting_aaa: 4096,
            // Failed checks only: a MAG's own messages spend none.
            per_source: Rate::new(100, 50),
            unknown_sources: Rate::new(200, 100),
            per_mag: Rate::new(2000, 1000),
        }
    }
}

/// A `--limits` value that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitsError {
    #[error("`{0}` is not KEY=NUMBER")]
    Syntax(String),
    #[error("unknown limit `{0}` (known: {KEYS})")]
    UnknownKey(String),
    #[error("limit `{key}`: `{value}` is not a whole number of at least 1")]
    Value { key: String, value: String },
}

const KEYS: &str = "bindings, held, awaiting-aaa, source-rate, source-burst, \
    unknown-rate, unknown-burst, mag-rate, mag-burst";

/// `KEY=N[,KEY=N...]`, each key overriding one default.
impl FromStr for LmaLimits {
    type Err = LimitsError;

    fn from_str(s: &str) -> Result<Self, LimitsError> {
        let mut limits = LmaLimits::default();
        for part in s.split(',').filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| LimitsError::Syntax(part.to_string()))?;
            let n: u32 =
                value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| LimitsError::Value {
                        key: key.to_string(),
                        value: value.to_string(),
                    })?;
            let l = &mut limits;
            match key {
                "bindings" => l.max_bindings = n as usize,
                "held" => l.max_held_pbus = n as usize,
                "awaiting-aaa" => l.max_awaiting_aaa = n as usize,
                "source-rate" => l.per_source.per_sec = n,
                "source-burst" => l.per_source.burst = n,
                "unknown-rate" => l.unknown_sources.per_sec = n,
                "unknown-burst" => l.unknown_sources.burst = n,
                "mag-rate" => l.per_mag.per_sec = n,
                "mag-burst" => l.per_mag.burst = n,
                other => return Err(LimitsError::UnknownKey(other.to_string())),
            }
        }
        Ok(limits)
    }
}

impl fmt::Display for LmaLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bindings, {} held HI=4 PBUs, {} PBUs awaiting the policy store; \
             before authentication {} per MAG address and {} for all other sources; \
             after it {} per MAG",
            self.max_bindings,
            self.max_held_pbus,
            self.max_awaiting_aaa,
            self.per_source,
            self.unknown_sources,
            self.per_mag
        )
    }
}

/// The failed-check buckets of one MAG address (see the module's notes).
struct Source {
    /// The link-layer source of its last authentic message.
    mac: Option<Mac>,
    from_mac: TokenBucket,
    elsewhere: TokenBucket,
}

impl Source {
    fn bucket(&mut self, mac: Mac) -> (&mut TokenBucket, &'static str) {
        if self.mac == Some(mac) {
            (&mut self.from_mac, "lma.drop.rate.source")
        } else {
            (&mut self.elsewhere, "lma.drop.rate.source_elsewhere")
        }
    }
}

/// The buckets of the rate limits. Keyed by the policy's MAG addresses only,
/// so the maps never grow past the policy, whatever arrives.
pub(crate) struct Gate {
    pub limits: LmaLimits,
    sources: HashMap<Ipv6Addr, Source>,
    unknown: TokenBucket,
    mags: HashMap<Ipv6Addr, TokenBucket>,
}

impl Gate {
    pub fn new(limits: LmaLimits, mags: impl Iterator<Item = Ipv6Addr>, now: Instant) -> Self {
        let mags: Vec<Ipv6Addr> = mags.collect();
        let bucket = |rate| TokenBucket::with_rate(rate, now);
        Gate {
            sources: mags
                .iter()
                .map(|a| {
                    let source = Source {
                        mac: None,
                        from_mac: bucket(limits.per_source),
                        elsewhere: bucket(limits.per_source),
                    };
                    (*a, source)
                })
                .collect(),
            unknown: bucket(limits.unknown_sources),
            mags: mags.iter().map(|a| (*a, bucket(limits.per_mag))).collect(),
            limits,
        }
    }

    fn bucket(&mut self, src: Ipv6Addr, mac: Mac) -> (&mut TokenBucket, &'static str) {
        match self.sources.get_mut(&src) {
            Some(source) => source.bucket(mac),
            None => (&mut self.unknown, "lma.drop.rate.unknown_sources"),
        }
    }

    /// Before authentication: the drop counter when `src` (from `mac`) failed
    /// too many checks lately to be checked now.
    pub fn before_auth(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        mac: Mac,
    ) -> Result<(), &'static str> {
        let (bucket, counter) = self.bucket(src, mac);
        if bucket.has_token(now) {
            Ok(())
        } else {
            Err(counter)
        }
    }

    /// A message from `src` failed its checks: it spends a token.
    pub fn failed_auth(&mut self, now: Instant, src: Ipv6Addr, mac: Mac) {
        self.bucket(src, mac).0.allow(now);
    }

    /// After authentication: false when the MAG `src` is over its rate. A
    /// source outside the policy (one with a key but no MAG entry, or any
    /// with `--insecure`) shares the bucket of unknown sources. `mac` becomes
    /// the MAG's known link-layer source.
    pub fn after_auth(&mut self, now: Instant, src: Ipv6Addr, mac: Mac) -> bool {
        if let Some(source) = self.sources.get_mut(&src) {
            source.mac = Some(mac);
        }
        match self.mags.get_mut(&src) {
            Some(bucket) => bucket.allow(now),
            None => self.unknown.allow(now),
        }
    }
}

impl Lma {
    /// Whether a PBU may create one more Binding Cache entry.
    pub(crate) fn room_for_binding(&self) -> bool {
        self.cache.len() < self.gate.limits.max_bindings
    }

    /// Whether the HI=4 PBU for entry `id` may be held (one already held for
    /// it is replaced, which takes no room).
    pub(crate) fn room_to_hold(&self, id: crate::binding_cache::BindingId) -> bool {
        self.pending.contains_key(&id) || self.pending.len() < self.gate.limits.max_held_pbus
    }

    /// Whether one more PBU may wait for the policy store.
    pub(crate) fn room_to_ask(&self) -> bool {
        self.awaiting.len() < self.gate.limits.max_awaiting_aaa
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use router::Duration;

    #[test]
    fn parses_overrides_and_names_bad_keys() {
        let l: LmaLimits = "bindings=10,mag-rate=5,unknown-burst=3".parse().unwrap();
        assert_eq!(l.max_bindings, 10);
        assert_eq!(l.per_mag, Rate::new(2000, 5));
        assert_eq!(l.unknown_sources.burst, 3);
        assert_eq!(l.max_held_pbus, LmaLimits::default().max_held_pbus);
        assert_eq!(
            "bindings=0".parse::<LmaLimits>(),
            Err(LimitsError::Value {
                key: "bindings".into(),
                value: "0".into()
            })
        );
        assert_eq!(
            "cache=3".parse::<LmaLimits>(),
            Err(LimitsError::UnknownKey("cache".into()))
        );
        assert_eq!(
            "bindings".parse::<LmaLimits>(),
            Err(LimitsError::Syntax("bindings".into()))
        );
    }

    #[test]
    fn forged_sources_share_one_bucket_and_never_use_up_a_mags() {
        let t = Instant::from_millis(0);
        let mag: Ipv6Addr = "2001:db8:ff:1::2".parse().unwrap();
        let (mag_mac, forger) = (Mac([2, 0, 0, 0, 0, 1]), Mac([2, 0, 0, 0, 0, 9]));
        let limits = LmaLimits {
            per_source: Rate::new(5, 10),
            unknown_sources: Rate::new(3, 1),
            ..LmaLimits::default()
        };
        let mut gate = Gate::new(limits, [mag].into_iter(), t);
        let mut checked = 0;
        for i in 0..1000u16 {
            let a = Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, i);
            if gate.before_auth(t, a, forger).is_ok() {
                checked += 1;
                gate.failed_auth(t, a, forger);
            }
        }
        assert_eq!(checked, 3);
        // The MAG's authentic messages spend nothing before authentication.
        for _ in 0..100 {
            assert_eq!(gate.before_auth(t, mag, mag_mac), Ok(()));
        }
        assert!(gate.after_auth(t, mag, mag_mac));
        // Forgeries in its name from another link-layer source empty only
        // their own bucket.
        for _ in 0..5 {
            assert_eq!(gate.before_auth(t, mag, forger), Ok(()));
            gate.failed_auth(t, mag, forger);
        }
        assert_eq!(
            gate.before_auth(t, mag, forger),
            Err("lma.drop.rate.source_elsewhere")
        );
        assert_eq!(gate.before_auth(t, mag, mag_mac), Ok(()));
        let later = t + Duration::from_millis(100);
        assert_eq!(gate.before_auth(later, mag, forger), Ok(()));
        assert_eq!(gate.sources.len() + gate.mags.len(), 2);
    }
}
