//! Mobility Headers addressed to the LMA: PBUs to `pbu`, Heartbeats to
//! `heartbeat`, and everything it cannot process refused as RFC 6275 9.2 says.

use crate::core::Lma;
use crate::pbu::Sender;
use router::Instant;
use router::core::{PortId, Tx};
use router::mac::Mac;
use router::mh_errors;
use router::wire::{MhPacket, MhRepr};
use smoltcp::wire::Ipv6Packet;

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
        let Ok(ip) = Ipv6Packet::new_checked(packet) else {
            self.counters.bump("mh.drop.truncated");
            return;
        };
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let parsed =
            MhPacket::new_checked(ip.payload()).and_then(|mh| MhRepr::parse(&mh, &src, &dst));
        match parsed {
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
