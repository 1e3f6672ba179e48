//! Mobility Headers addressed to the LMA: authenticated first, then PBUs to
//! `pbu`, Heartbeats to `heartbeat`, and everything it cannot process refused
//! as RFC 6275 9.2 says.

use crate::core::Lma;
use crate::pbu::Sender;
use router::Instant;
use router::auth::Admitted;
use router::core::{PortId, Tx};
use router::mac::Mac;
use router::mh_errors;
use router::wire::MhRepr;
use smoltcp::wire::Ipv6Packet;
use std::net::Ipv6Addr;

impl Lma {
    /// A Mobility Header packet addressed to the LMA (the whole IPv6 packet).
    pub(crate) fn on_mh(
        &mut self,
        now: Instant,
        port: PortId,
        src_mac: Mac,
        packet: &[u8],
        tx: &mut dyn Tx,
    ) {
        // Authenticated before anything in the message is read or any state
        // touched (RFC 5213 5.3.1 step 1, "MUST be authenticated"), and a
        // refused message is dropped without an answer. RFC 4285 has a status
        // for it (146, MIPV6-AUTH-FAIL), but RFC 5213 authenticates with
        // IPsec, which discards a packet that fails its check in silence (RFC
        // 4303 3.4.4), and an answer here would do harm: sent to the forged
        // source, it is a reflection that hides the attacker; its status
        // would tell a stranger that this address is an LMA and which MN-IDs
        // it serves; and the sender, holding no key we share, could not
        // authenticate it anyway. The counter and the log line tell the
        // operator.
        //
        // First of all, the source's failed checks: a hash probe before the
        // HMAC, so a flood of forgeries costs little and, from made-up
        // sources, uses up only the bucket they share (`limits`).
        let Ok(ip) = Ipv6Packet::new_checked(packet) else {
            self.engine.counters.bump("mh.drop.truncated");
            return;
        };
        let src = ip.src_addr();
        if let Err(counter) = self.gate.before_auth(now, src, src_mac) {
            self.engine.note_drop(now, counter, || {
                format!("dropped a Mobility Header from {src} ({src_mac}) unread: too many of its messages failed authentication lately; no answer (docs/limits.md)")
            });
            return;
        }
        let policy = &self.policy;
        let name = |a: &Ipv6Addr| {
            policy
                .mag_by_address(a)
                .map_or("unknown MAG".into(), |m| m.name.clone())
        };
        let Some(Admitted { src, dst, mh }) =
            self.auth.admit(&mut self.engine, now, packet, tx, name)
        else {
            self.gate.failed_auth(now, src, src_mac);
            return;
        };
        if !self.gate.after_auth(now, src, src_mac) {
            let name = self.mag_name(&src).to_string();
            self.engine.note_drop(now, "lma.drop.rate.mag", || {
                format!("dropped an authenticated Mobility Header from {src} ({name}): the MAG is over its signalling rate; no answer, nothing changed (docs/limits.md)")
            });
            return;
        }
        match MhRepr::parse_checked(&mh) {
            Ok(MhRepr::Pbu(pbu)) => {
                self.counters.bump("pbu.received");
                let from = Sender {
                    mag: src,
                    lma: dst,
                    port,
                    mac: src_mac,
                };
                self.on_pbu(now, from, pbu, crate::pbu::Arrival::New, None, tx);
            }
            Ok(MhRepr::Heartbeat(hb)) => self.on_heartbeat(now, src, dst, &hb, tx),
            Ok(MhRepr::Pba(_)) => {
                self.counters.bump("mh.drop.unexpected_pba");
                log::info!("dropped a PBA from {src}: the LMA sends PBAs, never takes them");
            }
            Ok(MhRepr::BindingError(be)) => {
                self.counters.bump("mh.binding_errors_received");
                log::info!(
                    "Binding Error status {} from {src} ({}): noted",
                    be.status,
                    self.mag_name(&src)
                );
            }
            Err(e) => mh_errors::refuse(&mut self.engine, now, &e, packet, tx),
        }
    }
}
