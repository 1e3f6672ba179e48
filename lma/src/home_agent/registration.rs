//! Home registrations (RFC 6275 10.3): a Binding Update is parsed, checked
//! (`check`), and only then applied: the home address routed into the tunnel
//! to the care-of address, or the route removed; the Binding Acknowledgement
//! goes back to the care-of address with a Type 2 Routing Header (6.1.8).

use super::check::{Context, Verdict, check};
use super::{HomeAgent, deadline};
use crate::home_agent::cache::HomeBinding;
use router::Instant;
use router::core::Tx;
use router::mh_errors;
use router::routes::RouteTable;
use router::wire::{
    MhRepr, MnPacketError, MnPacketRepr, MobilityOptions, PbaRepr, PbaStatus, PbuRepr,
};
use std::net::Ipv6Addr;

impl HomeAgent {
    /// A packet for the home agent that should carry a Mobility Header.
    pub(super) fn on_mobility(&mut self, now: Instant, packet: &[u8], tx: &mut dyn Tx) {
        let repr = match MnPacketRepr::parse(packet) {
            Ok(repr) => repr,
            Err(MnPacketError::Mh(e)) => {
                // Answered as RFC 6275 9.2 says (Binding Error, Parameter Problem).
                mh_errors::refuse(&mut self.engine, now, &e, packet, tx);
                return;
            }
            Err(MnPacketError::NotMobility(_)) => {
                self.engine.counters.bump("drop.no_local_service");
                return;
            }
            Err(e) => {
                self.counters.bump("mh.drop.bad_extension_header");
                log::info!("dropped a packet for the home agent: {e}");
                return;
            }
        };
        match &repr.mh {
            MhRepr::Pbu(bu) => {
                self.counters.bump("bu.received");
                let hoa = match repr.home {
                    router::wire::HomeAddressIn::DestinationOption(hoa) => Some(hoa),
                    _ => None,
                };
                self.on_binding_update(now, repr.src, repr.dst, hoa, bu, tx);
            }
            other => {
                self.counters.bump("mh.drop.not_a_binding_update");
                log::info!(
                    "dropped a Mobility Header from {} that is not a Binding Update: {other:?}",
                    repr.src
                );
            }
        }
    }

    fn on_binding_update(
        &mut self,
        now: Instant,
        coa: Ipv6Addr,
        to: Ipv6Addr,
        hoa: Option<Ipv6Addr>,
        bu: &PbuRepr,
        tx: &mut dyn Tx,
    ) {
        let verdict = {
            let ctx = Context {
                home_prefixes: &self.home_prefixes,
                policy: &self.policy,
                max_lifetime_secs: self.max_lifetime_secs,
                existing: hoa.and_then(|h| self.cache.get(&h)),
            };
            check(&ctx, coa, hoa, bu)
        };
        let what = format!(
            "BU seq {} from {coa} for home address {} lifetime {} s",
            bu.sequence,
            hoa.map_or("(none)".into(), |h| h.to_string()),
            bu.lifetime_secs
        );
        if let Verdict::Discard(counter) = verdict {
            self.counters.bump(counter);
            log::info!("{what}: dropped ({counter}, RFC 6275 9.5.1)");
            return;
        }
        // `check` discards every Binding Update without a home address.
        let Some(hoa) = hoa else { return };
        let (status, sequence, lifetime) = match verdict {
            Verdict::Discard(_) => return,
            Verdict::Refuse {
                status,
                sequence,
                why,
            } => {
                self.counters.bump("bu.refused");
                log::info!("{what}: refused, {why} -> BA status {}", u8::from(status));
                (status, sequence, 0)
            }
            Verdict::Deregister => {
                let old = self.remove(hoa);
                self.counters.bump("bu.deregistrations");
                log::info!(
                    "{what}: de-registration, tunnel to {} removed (RFC 6275 10.3.2) -> BA accepted",
                    old.map_or("-".into(), |b| b.care_of.to_string())
                );
                (PbaStatus::Accepted, bu.sequence, 0)
            }
            Verdict::Register {
                mn_id,
                lifetime_secs,
            } => {
                let change = self.register(now, hoa, coa, mn_id, bu.sequence, lifetime_secs);
                self.counters.bump("bu.accepted");
                log::info!(
                    "{what}: {change} -> tunnel to {coa} (RFC 6275 10.3.1) -> BA accepted lifetime {lifetime_secs} s"
                );
                if !bu.ack {
                    return;
                }
                (PbaStatus::Accepted, bu.sequence, lifetime_secs)
            }
        };
        let ba = MhRepr::Pba(PbaRepr {
            status,
            key_mgmt: false,
            mobile_router: false,
            proxy: bu.proxy,
            sequence,
            lifetime_secs: lifetime,
            options: MobilityOptions::default(),
        });
        let packet = MnPacketRepr::binding_ack(to, coa, hoa, ba).emit();
        self.counters.bump("ba.sent");
        self.engine.send_ipv6(now, &packet, tx);
    }

    /// Creates or updates the entry of `hoa` and routes it into the tunnel to
    /// `coa`; returns what changed, for the log.
    fn register(
        &mut self,
        now: Instant,
        hoa: Ipv6Addr,
        coa: Ipv6Addr,
        mn_id: String,
        sequence: u16,
        lifetime_secs: u32,
    ) -> String {
        let old = self.cache.get(&hoa).cloned();
        let change = match &old {
            None => format!("new binding for {mn_id}"),
            Some(b) if b.care_of == coa => "refresh".to_string(),
            Some(b) => format!("care-of address {} -> {coa}", b.care_of),
        };
        let moved = old.as_ref().is_some_and(|b| b.care_of != coa);
        if moved {
            self.engine
                .routes_mut()
                .remove(RouteTable::Destination, host(hoa));
        }
        self.engine
            .routes_mut()
            .tunnel_into(RouteTable::Destination, host(hoa), self.address, coa);
        let expires = deadline(now, lifetime_secs);
        self.cache.insert(HomeBinding {
            home_address: hoa,
            mn_id,
            care_of: coa,
            sequence,
            lifetime_secs,
            expires,
            updates: old.as_ref().map_or(1, |b| b.updates + 1),
            moves: old.as_ref().map_or(0, |b| b.moves) + u32::from(moved),
        });
        self.timers.set(hoa, expires);
        change
    }

    /// Drops the entry of `hoa` and its route; returns it.
    pub(super) fn remove(&mut self, hoa: Ipv6Addr) -> Option<HomeBinding> {
        self.timers.cancel(&hoa);
        self.engine
            .routes_mut()
            .remove(RouteTable::Destination, host(hoa));
        self.cache.remove(&hoa)
    }
}

fn host(a: Ipv6Addr) -> ipnet::Ipv6Net {
    ipnet::Ipv6Net::new(a, 128).unwrap_or_default()
}
