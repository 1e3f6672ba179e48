//! The router side of Neighbor Discovery on one port (RFC 4861 sections 6.2, 7.2):
//! answers NS and RS, sends periodic RAs, resolves next hops and runs NUD.

use super::cache::{Flush, NeighborCache, NeighborInfo, NudAction, Resolution};
use super::frames::{
    ALL_NODES, Addressing, NaFlags, NdError, NdFrame, NdMessage, build_na, build_ns, build_ra,
    ethernet_ipv6, multicast_mac, solicited_node,
};
use super::{NdEvent, NdPortConfig, NudState, RaParams};
use crate::core::Tx;
use crate::counters::Counters;
use crate::{Duration, Instant};
use smoltcp::wire::EthernetAddress;
use std::net::Ipv6Addr;

/// RFC 4861 section 10 router constants.
const MAX_INITIAL_RTR_ADVERT_INTERVAL: Duration = Duration::from_secs(16);
const MAX_INITIAL_RTR_ADVERTISEMENTS: u8 = 3;
const MAX_RA_DELAY_TIME: Duration = Duration::from_millis(500);
const MIN_DELAY_BETWEEN_RAS: Duration = Duration::from_secs(3);

/// xorshift64*: RA jitter only needs to desynchronise routers, and seeding it from
/// the MAC keeps every run of a lab identical.
#[derive(Debug)]
struct Jitter(u64);

impl Jitter {
    fn new(mac: EthernetAddress) -> Self {
        let mut seed = [0u8; 8];
        seed[2..].copy_from_slice(mac.as_bytes());
        Jitter(u64::from_be_bytes(seed) ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// Uniform in `[lo, hi]` (to the microsecond).
    fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = hi.total_micros().saturating_sub(lo.total_micros());
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        lo + Duration::from_micros(r % span.saturating_add(1))
    }
}

#[derive(Debug)]
pub struct NdPort {
    cfg: NdPortConfig,
    cache: NeighborCache,
    jitter: Jitter,
    /// When the next multicast RA goes out; `None` when not advertising.
    next_ra: Option<Instant>,
    last_multicast_ra: Option<Instant>,
    initial_ras_left: u8,
    counters: Counters,
}

impl NdPort {
    /// A port that advertises sends its first multicast RA at `now`.
    pub fn new(cfg: NdPortConfig, now: Instant) -> Self {
        NdPort {
            cache: NeighborCache::new(cfg.nud),
            jitter: Jitter::new(cfg.mac),
            next_ra: cfg.advertise.as_ref().map(|_| now),
            last_multicast_ra: None,
            initial_ras_left: MAX_INITIAL_RTR_ADVERTISEMENTS,
            counters: Counters::default(),
            cfg,
        }
    }

    pub fn config(&self) -> &NdPortConfig {
        &self.cfg
    }

    /// Frames dropped, by reason (the names of [`NdError::counter`] and `nd.drop.*`).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Handles one ND frame received on this port. Invalid frames are counted and
    /// returned as errors without touching any state.
    pub fn on_ndp(
        &mut self,
        now: Instant,
        frame: &[u8],
        tx: &mut dyn Tx,
    ) -> Result<Option<NdEvent>, NdError> {
        let nd = NdFrame::parse(frame).inspect_err(|e| self.counters.bump(e.counter()))?;
        let addr = nd.addr;
        let event = match nd.message {
            NdMessage::RouterSolicit { sllao } => Some(self.on_rs(now, &addr, sllao, tx)),
            NdMessage::RouterAdvert { sllao, .. } => {
                if let Some(mac) = sllao {
                    let flush = self.cache.learn(now, addr.src_ip, mac, Some(true));
                    self.transmit(flush, tx);
                }
                None
            }
            NdMessage::NeighborSolicit { target, sllao } => {
                self.on_ns(now, &addr, target, sllao, tx)
            }
            NdMessage::NeighborAdvert {
                flags,
                target,
                tllao,
            } => self.on_na(now, &addr, flags, target, tllao, tx),
            // Only hosts act on Redirects (RFC 4861 8.3).
            NdMessage::Redirect { .. } => None,
        };
        Ok(event)
    }

    /// Sends a whole IPv6 packet to the on-link `next_hop`, resolving it first if needed.
    pub fn send_ipv6(&mut self, now: Instant, next_hop: Ipv6Addr, packet: &[u8], tx: &mut dyn Tx) {
        match self.cache.resolve(now, next_hop, packet) {
            Resolution::Send(mac) => {
                tx.send(self.cfg.port, &ethernet_ipv6(self.cfg.mac, mac, packet))
            }
            Resolution::Queued { solicit, overflow } => {
                if overflow {
                    self.counters.bump("nd.drop.queue_full");
                }
                if solicit {
                    self.send_ns(next_hop, None, tx);
                }
            }
        }
    }

    /// A link-layer unicast RA to one node with exactly `params` (a MAG's per-node RA).
    pub fn send_ra_to(
        &mut self,
        dst_mac: EthernetAddress,
        dst_ip: Ipv6Addr,
        params: &RaParams,
        tx: &mut dyn Tx,
    ) {
        let addr = self.from_link_local(dst_mac, dst_ip);
        tx.send(self.cfg.port, &build_ra(&addr, params));
    }

    /// Upper-layer reachability confirmation (RFC 4861 7.3.1).
    pub fn confirm(&mut self, now: Instant, ip: Ipv6Addr) {
        self.cache.confirm(now, ip);
    }

    pub fn neighbor(&self, ip: &Ipv6Addr) -> Option<(NudState, Option<EthernetAddress>)> {
        self.cache.lookup(ip)
    }

    pub fn neighbors(&self) -> impl Iterator<Item = NeighborInfo> + '_ {
        self.cache.iter()
    }

    pub fn forget(&mut self, ip: &Ipv6Addr) {
        self.cache.remove(ip);
    }

    pub fn poll_at(&self) -> Option<Instant> {
        match (self.cache.poll_at(), self.next_ra) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs NUD timers and the periodic RA that are due at `now`.
    pub fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) -> Vec<NdEvent> {
        let mut events = Vec::new();
        for action in self.cache.on_timer(now) {
            match action {
                NudAction::Solicit { target, unicast } => self.send_ns(target, unicast, tx),
                NudAction::Unreachable { ip, mac, dropped } => {
                    self.counters.add("nd.drop.unresolved", dropped as u64);
                    events.push(NdEvent::Unreachable { mac, ip });
                }
            }
        }
        if self.next_ra.is_some_and(|at| at <= now) {
            self.send_multicast_ra(now, tx);
        }
        events
    }

    fn is_own(&self, ip: &Ipv6Addr) -> bool {
        *ip == self.cfg.link_local || self.cfg.addresses.contains(ip)
    }

    fn from_link_local(&self, dst_mac: EthernetAddress, dst_ip: Ipv6Addr) -> Addressing {
        Addressing {
            src_mac: self.cfg.mac,
            dst_mac,
            src_ip: self.cfg.link_local,
            dst_ip,
        }
    }

    fn transmit(&self, flush: Option<Flush>, tx: &mut dyn Tx) {
        let Some(Flush { mac, packets }) = flush else {
            return;
        };
        for packet in &packets {
            tx.send(self.cfg.port, &ethernet_ipv6(self.cfg.mac, mac, packet));
        }
    }

    /// An NS for `target` from our link-local address, which is on-link for every
    /// neighbor (RFC 4861 7.2.2 allows any address of the interface).
    fn send_ns(&self, target: Ipv6Addr, unicast: Option<EthernetAddress>, tx: &mut dyn Tx) {
        let addr = match unicast {
            Some(mac) => self.from_link_local(mac, target),
            None => {
                let group = solicited_node(target);
                self.from_link_local(multicast_mac(group), group)
            }
        };
        tx.send(self.cfg.port, &build_ns(&addr, target, Some(self.cfg.mac)));
    }

    /// RFC 4861 6.2.6: learn the sender, answer with a unicast RA when it has an
    /// address, else bring the next multicast RA forward.
    fn on_rs(
        &mut self,
        now: Instant,
        addr: &Addressing,
        sllao: Option<EthernetAddress>,
        tx: &mut dyn Tx,
    ) -> NdEvent {
        let from_unspecified = addr.src_ip.is_unspecified();
        if let (Some(mac), false) = (sllao, from_unspecified) {
            let flush = self.cache.learn(now, addr.src_ip, mac, Some(false));
            self.transmit(flush, tx);
        }
        if let (true, Some(adv)) = (self.cfg.answer_rs, &self.cfg.advertise) {
            if from_unspecified {
                self.hasten_multicast_ra(now);
            } else {
                let dst_mac = sllao.unwrap_or(addr.src_mac);
                let frame = build_ra(&self.from_link_local(dst_mac, addr.src_ip), &adv.params);
                tx.send(self.cfg.port, &frame);
            }
        }
        NdEvent::RouterSolicitation {
            mac: sllao,
            eth_src: addr.src_mac,
            ip: addr.src_ip,
        }
    }

    /// A solicited multicast RA goes out after a random delay, and never sooner than
    /// MIN_DELAY_BETWEEN_RAS after the previous one (RFC 4861 6.2.6).
    fn hasten_multicast_ra(&mut self, now: Instant) {
        let delay = self.jitter.between(Duration::ZERO, MAX_RA_DELAY_TIME);
        let earliest = self
            .last_multicast_ra
            .map_or(now, |last| (last + MIN_DELAY_BETWEEN_RAS).max(now));
        let at = earliest + delay;
        self.next_ra = self.next_ra.map(|next| next.min(at));
    }

    fn send_multicast_ra(&mut self, now: Instant, tx: &mut dyn Tx) {
        let Some(adv) = &self.cfg.advertise else {
            return;
        };
        let addr = self.from_link_local(multicast_mac(ALL_NODES), ALL_NODES);
        tx.send(self.cfg.port, &build_ra(&addr, &adv.params));
        let mut interval = self.jitter.between(adv.min_interval, adv.max_interval);
        // The first few RAs come quickly so that new hosts configure fast (6.2.4).
        if self.initial_ras_left > 0 {
            self.initial_ras_left -= 1;
            interval = interval.min(MAX_INITIAL_RTR_ADVERT_INTERVAL);
        }
        self.last_multicast_ra = Some(now);
        self.next_ra = Some(now + interval);
    }

    /// RFC 4861 7.2.3 (and 7.2.4 for the reply); a DAD NS is reported, and answered
    /// only when it probes one of our own addresses.
    fn on_ns(
        &mut self,
        now: Instant,
        addr: &Addressing,
        target: Ipv6Addr,
        sllao: Option<EthernetAddress>,
        tx: &mut dyn Tx,
    ) -> Option<NdEvent> {
        let own = self.is_own(&target);
        let router = NaFlags {
            router: true,
            solicited: false,
            override_: true,
        };
        if addr.src_ip.is_unspecified() {
            if own {
                let to_all = self.from_link_local(multicast_mac(ALL_NODES), ALL_NODES);
                let reply = Addressing {
                    src_ip: target,
                    ..to_all
                };
                tx.send(
                    self.cfg.port,
                    &build_na(&reply, target, router, Some(self.cfg.mac)),
                );
            }
            return Some(NdEvent::DadNs {
                mac: addr.src_mac,
                target,
            });
        }
        if !own {
            return None;
        }
        if let Some(mac) = sllao {
            let flush = self.cache.learn(now, addr.src_ip, mac, None);
            self.transmit(flush, tx);
        }
        let reply = Addressing {
            src_mac: self.cfg.mac,
            dst_mac: sllao.unwrap_or(addr.src_mac),
            src_ip: target,
            dst_ip: addr.src_ip,
        };
        let flags = NaFlags {
            solicited: true,
            ..router
        };
        tx.send(
            self.cfg.port,
            &build_na(&reply, target, flags, Some(self.cfg.mac)),
        );
        None
    }

    /// RFC 4861 7.2.5. An NA for one of our own addresses means another node
    /// claims it; it is counted and otherwise ignored.
    fn on_na(
        &mut self,
        now: Instant,
        addr: &Addressing,
        flags: NaFlags,
        target: Ipv6Addr,
        tllao: Option<EthernetAddress>,
        tx: &mut dyn Tx,
    ) -> Option<NdEvent> {
        if self.is_own(&target) {
            self.counters.bump("nd.address_conflict");
            return None;
        }
        let outcome = self.cache.on_advert(now, target, tllao, flags);
        self.transmit(outcome.flush, tx);
        if !flags.solicited {
            return Some(NdEvent::UnsolicitedNa {
                mac: tllao.unwrap_or(addr.src_mac),
                ip: target,
            });
        }
        outcome
            .reachable
            .map(|mac| NdEvent::Reachable { mac, ip: target })
    }
}
