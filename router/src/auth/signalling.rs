//! A core's Mobility Headers in and out through its engine: on the way in the
//! checks of RFC 6275 9.2, then the authenticator, before the message is
//! parsed; on the way out the authentication option. The LMA and the MAG
//! share both.

use std::net::Ipv6Addr;

use smoltcp::wire::{IPV6_HEADER_LEN, Ipv6Packet};

use super::keyring::Authenticator;
use crate::Instant;
use crate::core::Tx;
use crate::engine::Engine;
use crate::mh_errors;
use crate::wire::{MhPacket, MhRepr};

/// A Mobility Header that passed its checks and its authentication, ready
/// for [`MhRepr::parse_checked`].
pub struct Admitted<'a> {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub mh: MhPacket<&'a [u8]>,
}

impl Authenticator {
    /// Takes in `packet`, a whole IPv6 packet carrying a Mobility Header. One
    /// that fails RFC 6275 9.2 is refused as [`mh_errors::refuse`] says; one
    /// that fails its authentication is counted (`auth.drop.*`), logged with
    /// `name` of its source, and dropped without an answer: nothing in it was
    /// read, nothing changed.
    pub fn admit<'a>(
        &mut self,
        engine: &mut Engine,
        now: Instant,
        packet: &'a [u8],
        tx: &mut dyn Tx,
        name: impl FnOnce(&Ipv6Addr) -> String,
    ) -> Option<Admitted<'a>> {
        let Ok(ip) = Ipv6Packet::new_checked(packet) else {
            engine.counters.bump("mh.drop.truncated");
            return None;
        };
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        // The payload again, borrowed from `packet` rather than from `ip`.
        let payload = &packet[IPV6_HEADER_LEN..IPV6_HEADER_LEN + ip.payload().len()];
        let checked = MhPacket::new_checked(payload)
            .and_then(|mh| MhRepr::check(&mh, &src, &dst).map(|()| mh));
        let mh = match checked {
            Ok(mh) => mh,
            Err(e) => {
                mh_errors::refuse(engine, now, &e, packet, tx);
                return None;
            }
        };
        if let Err(e) = self.check(src, dst, payload) {
            engine.note_drop(now, e.counter(), || {
                format!(
                    "dropped a {} from {src} ({}): {e}; no answer, nothing changed (RFC 5213 5.3.1 step 1)",
                    mh.msg_type(),
                    name(&src)
                )
            });
            return None;
        }
        Some(Admitted { src, dst, mh })
    }

    /// Sends `repr` from `from` to `to` through `engine`, authenticated; false
    /// (counted, logged) when no key is shared with `to`.
    pub fn send(
        &self,
        engine: &mut Engine,
        now: Instant,
        (from, to): (Ipv6Addr, Ipv6Addr),
        hop_limit: u8,
        repr: MhRepr,
        tx: &mut dyn Tx,
    ) -> bool {
        match self.seal(from, to, hop_limit, repr) {
            Ok(packet) => {
                engine.send_ipv6(now, &packet, tx);
                true
            }
            Err(e) => {
                engine.counters.bump("auth.send.no_key");
                log::warn!("nothing sent to {to}: {e}");
                false
            }
        }
    }
}
