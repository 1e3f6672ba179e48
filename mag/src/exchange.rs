//! PBU/PBA exchanges (RFC 5213 6.9.1.1, 6.9.1.2, RFC 6275 11.8): the first PBU
//! of a registration or refresh, its retransmissions, the refresh when 80 % of
//! the lifetime has passed, and what the PBA that answers it does.

use crate::bul::{BindingState, Confirming, Outstanding};
use crate::core::{Mag, Timer, UPLINK};
use crate::pbu::{INITIAL_BINDACK_TIMEOUT, PBU_HOP_LIMIT, PbuContent, answers, backoff, build_pbu};
use ipnet::Ipv6Net;
use router::auth::Admitted;
use router::core::{PortId, Tx};
use router::mac::Mac;
use router::mh_errors;
use router::timestamp::timestamp;
use router::wire::{HandoffIndicator, MhRepr, PbaRepr, PbaStatus};
use router::{Duration, Instant};
use smoltcp::wire::{IpProtocol, Ipv6Packet};

/// A binding is refreshed when this share of its granted lifetime has passed.
const REFRESH_PERCENT: u64 = 80;
/// Stale refusals answered with a confirmed re-registration, per exchange.
const MAX_REREGISTRATIONS: u32 = 3;

impl Mag {
    pub(crate) fn access_link_local(&self, port: PortId) -> Option<std::net::Ipv6Addr> {
        port.checked_sub(1)
            .and_then(|i| self.cfg.access.get(i))
            .map(|a| a.link_local)
    }

    /// Starts an exchange: the first PBU of a registration or refresh, with its
    /// retransmission armed. Returns the sequence number it took, if it went out.
    pub(crate) fn start_exchange(
        &mut self,
        now: Instant,
        mac: Mac,
        handoff: HandoffIndicator,
        hnps: &[Ipv6Net],
        timeout: Duration,
        tx: &mut dyn Tx,
    ) -> u16 {
        let Some(e) = self.bul.get(&mac) else {
            return 0;
        };
        let pbu = build_pbu(
            0,
            &PbuContent {
                mn_id: &e.mn_id,
                hnps: e.pbu_hnps(hnps),
                handoff,
                access_technology: self.cfg.access_technology,
                mac,
                mag_link_local: self.access_link_local(e.port),
                timestamp: None,
                lifetime: self.cfg.lifetime,
                ipv4: e.ipv4_request(),
            },
        );
        if let Some(e) = self.bul.get_mut(&mac) {
            e.sent.clear();
            e.retransmissions = 0;
            e.exchange_started_at = Some(now);
            e.outstanding = Some(Outstanding {
                pbu,
                timeout,
                unsent: false,
            });
        }
        self.transmit_outstanding(now, mac, tx)
    }

    /// (Re)sends the outstanding PBU with a fresh sequence number and timestamp,
    /// or holds it until the LMA's link-layer address is known: stamped now and
    /// queued in neighbor resolution, it would reach the LMA outside its
    /// TimestampValidityWindow (RFC 5213 5.5).
    pub(crate) fn transmit_outstanding(&mut self, now: Instant, mac: Mac, tx: &mut dyn Tx) -> u16 {
        let resolved = self.lma_resolved();
        let timeout = match self.bul.get_mut(&mac).and_then(|e| e.outstanding.as_mut()) {
            Some(out) => {
                out.unsent = !resolved;
                out.timeout
            }
            None => return 0,
        };
        if !resolved {
            let lmaa = self.cfg.lmaa;
            if let Some(nd) = self.engine.nd_mut(UPLINK) {
                nd.solicit(now, lmaa, tx);
            }
            self.counters.bump("mag.pbu.waiting_for_lma_address");
            self.timers.set(Timer::Binding(mac), now + timeout);
            return 0;
        }
        let seq = self.take_sequence();
        let ts = self.cfg.timestamps.then(|| timestamp(self.cfg.epoch, now));
        let (proxy_coa, lmaa) = (self.proxy_coa(), self.cfg.lmaa);
        let Some(e) = self.bul.get_mut(&mac) else {
            return seq;
        };
        let Some(out) = e.outstanding.as_mut() else {
            return seq;
        };
        out.pbu.sequence = seq;
        out.pbu.options.timestamp = ts;
        e.sequence = seq;
        e.sent.push((seq, ts));
        let pbu = MhRepr::Pbu(out.pbu.clone());
        let mut at = now + out.timeout;
        if let Some(expiry) = e.expires_at {
            at = at.min(expiry);
        }
        self.timers.set(Timer::Binding(mac), at);
        self.counters.bump("mag.pbu.sent");
        self.auth.send(
            &mut self.engine,
            now,
            (proxy_coa, lmaa),
            PBU_HOP_LIMIT,
            pbu,
            tx,
        );
        seq
    }

    /// The LMA's link-layer address is known: the PBUs held for it leave, each
    /// once its node shows it is still here.
    pub(crate) fn send_unsent(&mut self, now: Instant, tx: &mut dyn Tx) {
        let unsent: Vec<Mac> = self
            .bul
            .sorted()
            .iter()
            .filter(|e| e.outstanding.as_ref().is_some_and(|o| o.unsent) && e.confirming.is_none())
            .map(|e| e.mac)
            .collect();
        for mac in unsent {
            log::info!("LMA resolved: the PBU for {mac} goes once the node answers");
            self.confirm_then(now, mac, Confirming::Transmit, tx);
        }
    }

    /// A refresh, after the node has been confirmed when it was silent.
    pub(crate) fn refresh(&mut self, now: Instant, mac: Mac, tx: &mut dyn Tx) {
        let Some(e) = self.bul.get_mut(&mac) else {
            return;
        };
        let hnps = e.hnps.clone();
        e.state = BindingState::Refreshing;
        e.confirming = None;
        let seq = self.start_exchange(
            now,
            mac,
            HandoffIndicator::NotChanged,
            &hnps,
            INITIAL_BINDACK_TIMEOUT,
            tx,
        );
        self.counters.bump("mag.pbu.refresh");
        log::info!("{mac} refresh -> PBU seq {seq} HI=5 to {}", self.cfg.lmaa);
    }

    pub(crate) fn on_binding_timer(&mut self, now: Instant, mac: Mac, tx: &mut dyn Tx) {
        let Some(e) = self.bul.get_mut(&mac) else {
            return;
        };
        if e.expires_at.is_some_and(|at| at <= now) {
            self.counters.bump("mag.binding.expired");
            log::warn!(
                "{} ({}): binding expired without a successful refresh",
                e.mac,
                e.mn_id
            );
            self.remove(now, mac, None, tx);
            return;
        }
        if e.confirming.take().is_some() {
            // Neither an answer nor NUD's verdict in time: no PBU on a guess.
            self.counters.bump("mag.confirm.timed_out");
            self.remove(now, mac, Some("silent"), tx);
            return;
        }
        let Some(out) = e.outstanding.as_mut() else {
            // Registered: time to refresh (RFC 5213 6.9.1.1, HI "not changed"),
            // once the node shows it is still here.
            self.confirm_then(now, mac, Confirming::Refresh, tx);
            return;
        };
        if out.unsent {
            // Still no LMA link-layer address: ask again, keep the PBU.
            self.transmit_outstanding(now, mac, tx);
            return;
        }
        // RFC 6275 11.8: back off to MAX_BINDACK_TIMEOUT, then go on at that
        // rate. Each retransmission first confirms the node is still on the
        // link (and drops it if not), so a registration is never abandoned
        // for a node that is here: a lossy WAN that ate five PBAs in a row,
        // while the LMA took the PBUs, would otherwise strand it there.
        let next = backoff(out.timeout);
        out.timeout = next;
        e.retransmissions += 1;
        let n = e.retransmissions;
        self.counters.bump("mag.pbu.retransmitted");
        log::info!(
            "{mac} no PBA: retransmission {n} once the node answers, next wait {} ms",
            next.total_millis()
        );
        self.confirm_then(now, mac, Confirming::Transmit, tx);
    }

    pub(crate) fn on_local(&mut self, now: Instant, port: PortId, packet: &[u8], tx: &mut dyn Tx) {
        if port != UPLINK {
            self.engine.counters.bump("drop.no_local_service");
            return;
        }
        let Ok(ip) = Ipv6Packet::new_checked(packet) else {
            self.counters.bump("mag.mh.malformed");
            return;
        };
        let tunnelled = [router::tunnel::IPPROTO_IPV6, router::tunnel::IPPROTO_IPIP]
            .map(IpProtocol::Unknown)
            .contains(&ip.next_header());
        if tunnelled {
            if !self.take_peer_copy(now, packet, tx) {
                self.engine.counters.bump("drop.tunnel_unknown_source");
            }
            return;
        }
        if ip.next_header() != IpProtocol::Unknown(router::wire::IPPROTO_MH) {
            self.engine.counters.bump("drop.no_local_service");
            return;
        }
        // Before anything in it is used: a PBA or Heartbeat the LMA did not
        // make is dropped unanswered and changes nothing (RFC 5213 4; the
        // LMA's dispatch says why there is no answer).
        let lmaa = self.cfg.lmaa;
        let name =
            |a: &std::net::Ipv6Addr| if *a == lmaa { "the LMA" } else { "not the LMA" }.into();
        let Some(Admitted { src, dst, mh }) =
            self.auth.admit(&mut self.engine, now, packet, tx, name)
        else {
            return;
        };
        match MhRepr::parse_checked(&mh) {
            Ok(_) if src != self.cfg.lmaa => {
                self.counters.bump("mag.mh.wrong_source");
                log::debug!(
                    "Mobility Header from {src}, not the LMA {}: ignored",
                    self.cfg.lmaa
                );
            }
            Ok(MhRepr::Pba(pba)) => self.on_pba(now, &pba, tx),
            Ok(MhRepr::Heartbeat(hb)) => self.on_heartbeat(now, dst, &hb, tx),
            Ok(MhRepr::Pbu(_)) => {
                self.counters.bump("mag.mh.unexpected_pbu");
                log::info!("PBU from the LMA {src}: a MAG sends PBUs, never takes them");
            }
            Ok(MhRepr::BindingError(be)) => {
                self.counters.bump("mag.mh.binding_errors_received");
                log::warn!("Binding Error status {} from the LMA {src}", be.status);
            }
            Err(e) => mh_errors::refuse(&mut self.engine, now, &e, packet, tx),
        }
    }

    /// The node whose outstanding PBU `pba` answers. A 135 carries the LMA's
    /// last accepted sequence number instead of the PBU's (RFC 6275 9.5.1), so
    /// it is matched by the identifiers it mirrors: MN-ID and link-layer ID.
    fn answered(&self, pba: &PbaRepr) -> Option<Mac> {
        if pba.status == PbaStatus::SequenceNumberOutOfWindow {
            let mac = pba
                .options
                .mn_link_layer_id
                .as_deref()
                .and_then(Mac::from_bytes)?;
            return self
                .bul
                .get(&mac)
                .filter(|e| {
                    e.outstanding.is_some() && pba.options.mn_id.as_deref() == Some(&e.mn_id)
                })
                .map(|e| e.mac);
        }
        self.bul
            .by_sequence(pba.sequence)
            .filter(|e| answers(&e.sent, pba))
            .map(|e| e.mac)
    }

    fn on_pba(&mut self, now: Instant, pba: &PbaRepr, tx: &mut dyn Tx) {
        let Some(mac) = self.answered(pba) else {
            self.counters.bump("mag.pba.unmatched");
            // The acknowledgement of a de-registration, which waits for none,
            // is expected; anything else is worth a line.
            let level = if pba.lifetime_secs == 0 && pba.status.is_accepted() {
                log::Level::Debug
            } else {
                log::Level::Info
            };
            log::log!(
                level,
                "PBA seq {} ({}) matches no pending PBU: ignored",
                pba.sequence,
                pba.status
            );
            return;
        };
        if !pba.status.is_accepted() {
            self.on_refusal(now, mac, pba, tx);
            return;
        }
        let hnps: Vec<Ipv6Net> = pba
            .options
            .hnps
            .iter()
            .copied()
            .filter(|p| p.prefix_len() > 0)
            .collect();
        let ipv4 = crate::ipv4::granted(pba);
        let problem = if pba.lifetime_secs == 0 {
            Some("a lifetime of 0")
        } else if hnps.is_empty() && ipv4.is_none() {
            Some("no home network prefix and no IPv4 home address")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.counters.bump("mag.pba.unusable");
            log::warn!(
                "PBA seq {} accepted with {problem}: {mac} not registered",
                pba.sequence
            );
            self.remove(now, mac, None, tx);
            return;
        }
        self.counters.bump("mag.pba.accepted");
        let Some(e) = self.bul.get_mut(&mac) else {
            return;
        };
        // A first registration, or a re-attachment timed afresh: the node gets
        // its RA now.
        let first = e.state == BindingState::Registering || e.ra_sent_at.is_none();
        let old = std::mem::replace(&mut e.hnps, hnps.clone());
        let old4 = std::mem::replace(&mut e.ipv4, ipv4);
        let refused4 = e.families.ipv4 && ipv4.is_none();
        e.state = BindingState::Registered;
        e.lifetime = pba.lifetime_secs;
        e.expires_at = Some(now + Duration::from_secs(u64::from(pba.lifetime_secs)));
        e.outstanding = None;
        e.sent.clear();
        e.stale_refusals = 0;
        let port = e.port;
        let refresh =
            Duration::from_millis(u64::from(pba.lifetime_secs) * 1000 * REFRESH_PERCENT / 100);
        self.timers.set(Timer::Binding(mac), now + refresh);
        if old != hnps {
            self.remove_routes(&old);
            self.install_routes(port, &hnps);
        }
        if old4 != ipv4 {
            if let Some(g) = old4 {
                self.remove_ipv4(port, g);
            }
            if let Some(g) = ipv4 {
                self.install_ipv4(now, port, mac, g, tx);
            }
        }
        if refused4 {
            let status = pba.options.ipv4_home_address_reply.map_or(0, |r| r.status);
            self.counters.bump("mag.pba.ipv4_refused");
            log::warn!(
                "PBA seq {}: no IPv4 home address for {mac} (IPv4 Home Address Reply status {status}, RFC 5844 3.3.2)",
                pba.sequence
            );
        }
        let homes = crate::node_link::homes(&hnps, ipv4);
        if self.hold_if_expected(mac) {
        } else if first {
            self.send_ra(now, mac, tx);
            log::info!(
                "PBA seq {} accepted: {homes} lifetime {} s -> routes via tunnel to {}, router announced to {mac}",
                pba.sequence,
                pba.lifetime_secs,
                self.cfg.lmaa,
            );
        } else {
            log::info!(
                "PBA seq {} accepted: {homes} refreshed, lifetime {} s",
                pba.sequence,
                pba.lifetime_secs
            );
        }
        if ipv4.is_some() {
            self.ipv4_registered(now, mac, tx);
        }
    }

    /// A refusal. One that says the PBU is stale (156, 157, 135, or 128 for a
    /// re-registration from a MAG the LMA no longer names) may mean another MAG
    /// registered the node since, or that the PBU was late: it is never
    /// answered by overriding that newer registration blindly. The MAG checks
    /// the node is on its link and only then registers it again, as a handoff
    /// to here; a node that does not answer is gone. Other refusals are final.
    fn on_refusal(&mut self, now: Instant, mac: Mac, pba: &PbaRepr, tx: &mut dyn Tx) {
        self.counters.bump("mag.pba.rejected");
        let stale = matches!(
            pba.status,
            PbaStatus::TimestampMismatch
                | PbaStatus::TimestampLowerThanPrevAccepted
                | PbaStatus::SequenceNumberOutOfWindow
                | PbaStatus::ReasonUnspecified
        );
        let Some(e) = self.bul.get_mut(&mac) else {
            return;
        };
        e.outstanding = None;
        e.sent.clear();
        if stale && e.stale_refusals < MAX_REREGISTRATIONS {
            e.stale_refusals += 1;
            if pba.status == PbaStatus::SequenceNumberOutOfWindow {
                // RFC 6275 11.7.1: the acknowledgement carries the last accepted number.
                self.next_sequence = pba.sequence.max(self.next_sequence).wrapping_add(1);
            }
            self.counters.bump("mag.pba.stale");
            log::info!(
                "PBA seq {}: {} ({}): checking that {mac} is still here before registering it again",
                pba.sequence,
                pba.status,
                u8::from(pba.status)
            );
            self.confirm_then(now, mac, Confirming::Reregister, tx);
            return;
        }
        log::warn!(
            "PBA seq {} rejected: {} ({}): {mac} not registered",
            pba.sequence,
            pba.status,
            u8::from(pba.status)
        );
        self.remove(now, mac, None, tx);
    }
}
