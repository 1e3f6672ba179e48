//! The MAG's Mobility Headers out: each PBU and Heartbeat authenticated with
//! the MAG's newest key (it leads a key rollover, [`router::auth::keyring`]).

use crate::core::Mag;
use router::Instant;
use router::auth::{KeyRing, Rekey};
use router::core::Tx;
use router::ctl::Table;
use router::wire::MhRepr;
use std::net::Ipv6Addr;

impl Mag {
    /// Sends `repr` from `from` to `to` (the LMA); false (counted) when the
    /// MAG holds no key for it.
    pub(crate) fn send_mh(
        &mut self,
        now: Instant,
        (from, to): (Ipv6Addr, Ipv6Addr),
        hop_limit: u8,
        repr: MhRepr,
        tx: &mut dyn Tx,
    ) -> bool {
        match self.auth.seal(from, to, hop_limit, repr) {
            Ok(packet) => {
                self.engine.send_ipv6(now, &packet, tx);
                true
            }
            Err(e) => {
                self.counters.bump("auth.send.no_key");
                log::warn!("nothing sent to {to}: {e}");
                false
            }
        }
    }
}

/// Key rollover: the MAG's keys change, its bindings stay.
impl Rekey for Mag {
    fn rekey(&mut self, keys: KeyRing) -> Table {
        self.auth.set_keys(keys);
        self.auth.table()
    }
}
