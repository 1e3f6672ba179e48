//! Which keys a router shares with which peer, and the per-core state that
//! checks and seals its messages.
//!
//! Each peer has an ordered list of keys, all of them accepted. Two at once
//! is a key rollover, led by the MAG:
//!
//! 1. The LMA gets the new key besides the old one (reload). Nothing changes
//!    on the wire: the MAG still signs with the old one.
//! 2. The MAG gets the new key after the old one (reload). A MAG signs with
//!    its last key, so its next PBU or heartbeat carries the new SPI; the LMA
//!    signs what it sends that MAG with the newest key the MAG has used.
//! 3. The LMA drops the old key: it signs with the new one from then on,
//!    which the MAG takes whether or not it has used it yet.
//! 4. The MAG drops the old key.
//!
//! Each step is safe as soon as the one before it is done. No binding is
//! touched: only the keys change, at run time.

use std::collections::HashMap;
use std::net::Ipv6Addr;

use super::key::{Key, KeyError};
use super::message::{AuthError, required, sealed_packet, verify};
use crate::ctl::Table;
use crate::policy::Policy;
use crate::wire::{MhPacket, MhRepr, mh_ipv6_packet};

/// The keys of each peer, by the peer's address; the last one is the newest.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    peers: HashMap<Ipv6Addr, Vec<Key>>,
}

impl KeyRing {
    pub fn new() -> KeyRing {
        KeyRing::default()
    }

    /// Adds `key` after the keys `peer` already has.
    pub fn insert(&mut self, peer: Ipv6Addr, key: Key) {
        self.peers.entry(peer).or_default().push(key);
    }

    pub fn keys(&self, peer: &Ipv6Addr) -> &[Key] {
        self.peers.get(peer).map_or(&[], Vec::as_slice)
    }

    pub fn peers(&self) -> impl Iterator<Item = (&Ipv6Addr, &[Key])> {
        self.peers.iter().map(|(a, k)| (a, k.as_slice()))
    }

    /// The LMA's keys: every `[[mag]]`'s key files, by the MAG's address.
    pub fn load_for_lma(policy: &Policy) -> Result<KeyRing, KeyError> {
        let mut ring = KeyRing::new();
        for mag in &policy.mags {
            if mag.keys.is_empty() {
                return Err(KeyError::NoKeys {
                    mag: mag.name.clone(),
                });
            }
            for spec in &mag.keys {
                ring.insert(mag.address, Key::load(spec)?);
            }
        }
        Ok(ring)
    }

    /// A MAG's keys: the key files of its own `[[mag]]` entry, for its LMA.
    pub fn load_for_mag(policy: &Policy, name: &str, lmaa: Ipv6Addr) -> Result<KeyRing, KeyError> {
        let mag = policy
            .mags
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| KeyError::NotInPolicy { mag: name.into() })?;
        if mag.keys.is_empty() {
            return Err(KeyError::NoKeys { mag: name.into() });
        }
        let mut ring = KeyRing::new();
        for spec in &mag.keys {
            ring.insert(lmaa, Key::load(spec)?);
        }
        Ok(ring)
    }
}

/// Whether a router authenticates its signalling.
#[derive(Debug, Clone)]
pub enum Signalling {
    /// Every PBU, PBA and Heartbeat carries and needs the authentication option.
    Authenticated(KeyRing),
    /// None is sent or checked: for interoperability tests only.
    Insecure,
}

impl Default for Signalling {
    /// Authenticated with no keys: nothing is accepted until keys are given.
    fn default() -> Self {
        Signalling::Authenticated(KeyRing::new())
    }
}

/// Which key signs the messages a router sends a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// Its last key: a MAG, which leads a rollover.
    Newest,
    /// The newest key the peer has authenticated with (its last key before
    /// that): the LMA, which follows each MAG.
    FollowPeer,
}

/// A core's authentication: its keys, and which SPI each peer uses.
#[derive(Debug, Clone)]
pub struct Authenticator {
    signalling: Signalling,
    sending: Sending,
    /// The newest SPI each peer has authenticated with; only moves towards
    /// the end of the peer's list, so a replayed old message cannot pull the
    /// router back to a key being retired.
    used: HashMap<Ipv6Addr, u32>,
}

impl Authenticator {
    pub fn new(signalling: Signalling, sending: Sending) -> Authenticator {
        Authenticator {
            signalling,
            sending,
            used: HashMap::new(),
        }
    }

    pub fn is_insecure(&self) -> bool {
        matches!(self.signalling, Signalling::Insecure)
    }

    /// Checks the authentication of a Mobility Header from `src` to `dst` that
    /// passed [`MhRepr::check`]. Returns the SPI it was made with (`None` for a
    /// message type that needs none, or when insecure).
    pub fn check(
        &mut self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        mh: &[u8],
    ) -> Result<Option<u32>, AuthError> {
        let Signalling::Authenticated(ring) = &self.signalling else {
            return Ok(None);
        };
        let Ok(packet) = MhPacket::new_checked(mh) else {
            return Err(AuthError::Malformed("truncated"));
        };
        if !required(packet.msg_type()) {
            return Ok(None);
        }
        let keys = ring.keys(&src);
        if keys.is_empty() {
            return Err(AuthError::UnknownPeer(src));
        }
        let spi = verify(src, dst, mh, |spi| keys.iter().find(|k| k.spi() == spi))?.spi();
        let position = |spi: u32| keys.iter().position(|k| k.spi() == spi);
        let newer = self
            .used
            .get(&src)
            .is_none_or(|old| position(*old) <= position(spi));
        if newer {
            self.used.insert(src, spi);
        }
        Ok(Some(spi))
    }

    /// The key messages to `peer` are signed with.
    fn signing_key(&self, peer: &Ipv6Addr) -> Option<&Key> {
        let Signalling::Authenticated(ring) = &self.signalling else {
            return None;
        };
        let keys = ring.keys(peer);
        let followed = match self.sending {
            Sending::FollowPeer => self.used.get(peer),
            Sending::Newest => None,
        };
        followed
            .and_then(|spi| keys.iter().find(|k| k.spi() == *spi))
            .or_else(|| keys.last())
    }

    /// The IPv6 packet carrying `repr` from `src` to `dst`, authenticated
    /// (plain when insecure). Fails when no key is shared with `dst`.
    pub fn seal(
        &self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        repr: MhRepr,
    ) -> Result<Vec<u8>, AuthError> {
        if self.is_insecure() {
            return Ok(mh_ipv6_packet(src, dst, hop_limit, &repr));
        }
        let key = self.signing_key(&dst).ok_or(AuthError::UnknownPeer(dst))?;
        Ok(sealed_packet(key, src, dst, hop_limit, repr))
    }

    /// Replaces the keys (a rollover); a peer keeps the SPI it was seen using
    /// while that key stays. `Insecure` stays insecure.
    pub fn set_keys(&mut self, keys: KeyRing) {
        if self.is_insecure() {
            return;
        }
        self.used
            .retain(|peer, spi| keys.keys(peer).iter().any(|k| k.spi() == *spi));
        self.signalling = Signalling::Authenticated(keys);
    }

    /// One row per key: peer, SPI, algorithm, and which key signs.
    pub fn table(&self) -> Table {
        let mut t = Table::new(
            "keys",
            &["peer", "spi", "algorithm", "authenticator", "signs"],
        );
        let Signalling::Authenticated(ring) = &self.signalling else {
            return t;
        };
        let mut peers: Vec<_> = ring.peers().collect();
        peers.sort_by_key(|(addr, _)| **addr);
        for (peer, keys) in peers {
            let signing = self.signing_key(peer).map(Key::spi);
            for k in keys {
                t.row(vec![
                    peer.to_string(),
                    k.spi().to_string(),
                    k.algorithm().to_string(),
                    format!("{} octets", k.algorithm().authenticator_len()),
                    if signing == Some(k.spi()) { "yes" } else { "" }.into(),
                ]);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Algorithm;
    use crate::wire::{HeartbeatRepr, MhPacket};

    const MAG: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 2);
    const LMA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 1);

    fn key(spi: u32) -> Key {
        Key::new(spi, Algorithm::HmacSha256, &[spi as u8; 32]).unwrap()
    }

    fn ring(peer: Ipv6Addr, spis: &[u32]) -> KeyRing {
        let mut r = KeyRing::new();
        for spi in spis {
            r.insert(peer, key(*spi));
        }
        r
    }

    /// A MAG and its LMA sharing the key `spi`.
    fn pair(spi: u32) -> (Authenticator, Authenticator) {
        let mag = Authenticator::new(
            Signalling::Authenticated(ring(LMA, &[spi])),
            Sending::Newest,
        );
        let lma = Authenticator::new(
            Signalling::Authenticated(ring(MAG, &[spi])),
            Sending::FollowPeer,
        );
        (mag, lma)
    }

    fn heartbeat() -> MhRepr {
        MhRepr::Heartbeat(HeartbeatRepr::default())
    }

    fn spi_of(packet: &[u8]) -> u32 {
        let mh = MhPacket::new_checked(&packet[40..]).unwrap();
        MhRepr::parse(&mh, &MAG, &LMA)
            .or_else(|_| MhRepr::parse(&mh, &LMA, &MAG))
            .unwrap()
            .options_mut()
            .and_then(|o| o.authentication.take())
            .unwrap()
            .spi
    }

    /// The four steps of the module notes, each message checked by the other side.
    #[test]
    fn rollover_led_by_the_mag() {
        let (mut mag, mut lma) = pair(300);
        let exchange = |mag: &mut Authenticator, lma: &mut Authenticator| {
            let up = mag.seal(MAG, LMA, 64, heartbeat()).unwrap();
            let up_spi = lma.check(MAG, LMA, &up[40..]).unwrap();
            let down = lma.seal(LMA, MAG, 64, heartbeat()).unwrap();
            let down_spi = mag.check(LMA, MAG, &down[40..]).unwrap();
            (up_spi, down_spi)
        };
        assert_eq!(exchange(&mut mag, &mut lma), (Some(300), Some(300)));
        lma.set_keys(ring(MAG, &[300, 301]));
        assert_eq!(exchange(&mut mag, &mut lma), (Some(300), Some(300)));
        mag.set_keys(ring(LMA, &[300, 301]));
        assert_eq!(exchange(&mut mag, &mut lma), (Some(301), Some(301)));
        // A replayed message made with the old key does not pull the LMA back.
        let old = sealed_packet(&key(300), MAG, LMA, 64, heartbeat());
        assert_eq!(lma.check(MAG, LMA, &old[40..]), Ok(Some(300)));
        assert_eq!(spi_of(&lma.seal(LMA, MAG, 64, heartbeat()).unwrap()), 301);
        lma.set_keys(ring(MAG, &[301]));
        assert_eq!(exchange(&mut mag, &mut lma), (Some(301), Some(301)));
        mag.set_keys(ring(LMA, &[301]));
        assert_eq!(exchange(&mut mag, &mut lma), (Some(301), Some(301)));
        assert_eq!(
            lma.check(MAG, LMA, &old[40..]),
            Err(AuthError::UnknownSpi(300))
        );
        let table = lma.table();
        assert_eq!(table.rows.len(), 1);
        assert_eq!(table.rows[0][..2], [MAG.to_string(), "301".to_string()]);
        assert_eq!(table.rows[0][4], "yes");
    }

    /// Step 3 right after step 2, before the MAG sent anything with the new
    /// key: the LMA's next message is signed with it and taken.
    #[test]
    fn dropping_the_old_key_at_the_lma_needs_no_message_first() {
        let (mut mag, mut lma) = pair(300);
        let up = mag.seal(MAG, LMA, 64, heartbeat()).unwrap();
        lma.check(MAG, LMA, &up[40..]).unwrap();
        lma.set_keys(ring(MAG, &[300, 301]));
        mag.set_keys(ring(LMA, &[300, 301]));
        lma.set_keys(ring(MAG, &[301]));
        let down = lma.seal(LMA, MAG, 64, heartbeat()).unwrap();
        assert_eq!(mag.check(LMA, MAG, &down[40..]), Ok(Some(301)));
    }

    #[test]
    fn unknown_peers_and_insecure_mode() {
        let mut lma = Authenticator::new(
            Signalling::Authenticated(ring(MAG, &[300])),
            Sending::FollowPeer,
        );
        let stranger = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 9);
        let forged = sealed_packet(&key(300), stranger, LMA, 64, heartbeat());
        assert_eq!(
            lma.check(stranger, LMA, &forged[40..]),
            Err(AuthError::UnknownPeer(stranger))
        );
        assert_eq!(
            lma.seal(LMA, stranger, 64, heartbeat()),
            Err(AuthError::UnknownPeer(stranger))
        );
        let mut insecure = Authenticator::new(Signalling::Insecure, Sending::FollowPeer);
        let plain = insecure.seal(LMA, stranger, 64, heartbeat()).unwrap();
        assert_eq!(plain, mh_ipv6_packet(LMA, stranger, 64, &heartbeat()));
        assert_eq!(insecure.check(stranger, LMA, &forged[40..]), Ok(None));
        insecure.set_keys(ring(MAG, &[300]));
        assert!(insecure.is_insecure());
        let mut nothing = Authenticator::new(Signalling::default(), Sending::Newest);
        assert_eq!(
            nothing.check(MAG, LMA, &forged[40..]),
            Err(AuthError::UnknownPeer(MAG))
        );
        // Any prefix of a message: refused, never a panic.
        for len in 0..forged.len() - 40 {
            assert!(lma.check(MAG, LMA, &forged[40..40 + len]).is_err());
        }
    }
}
