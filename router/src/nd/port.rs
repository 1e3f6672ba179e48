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
use crate::mac::Mac;
use crate::rng::SplitMix64;
use crate::{Duration, Instant};
use std::net::Ipv6Addr;

/// RFC 4861 section 10 router constants.
const MAX_INITIAL_RTR_ADVERT_INTERVAL: Duration = Duration::from_secs(16);
const MAX_INITIAL_RTR_ADVERTISEMENTS: u8 = 3;
const MAX_RA_DELAY_TIME: Duration = Duration::from_millis(500);
const MIN_DELAY_BETWEEN_RAS: Duration = Duration::from_secs(3);

/// RA jitter only needs to desynchronise routers; seeding it from the MAC keeps
/// every run of a lab identical.
#[derive(Debug)]
struct Jitter(SplitMix64);

impl Jitter {
    fn new(mac: Mac) -> Self {
        let mut seed = [0u8; 8];
        seed[2..].copy_from_slice(mac.as_bytes());
        Jitter(SplitMix64::new(u64::from_be_bytes(seed)))
    }

    /// Uniform in `[lo, hi]` (to the microsecond).
    fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = hi.total_micros().saturating_sub(lo.total_micros());
        lo + Duration::from_micros(self.0.below(span.saturating_add(1)))
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
    pub fn counters(&self) -> Counters {
        let mut all = self.counters.clone();
        let names = ["nd.evicted", "nd.drop.evicted_queue", "nd.drop.table_full"];
        self.cache.cap_counts().add_to(&mut all, names);
        all
    }

    /// Entries in the neighbor cache (at most `NudConfig::max_neighbors`).
    pub fn neighbor_count(&self) -> usize {
        self.cache.len()
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

    /// The link-layer address of the unicast on-link `next_hop` if it is known
    /// (sending to it then needs no queue); see [`NeighborCache::resolved`].
    pub fn resolved(&mut self, now: Instant, next_hop: Ipv6Addr) -> Option<Mac> {
        self.cache.resolved(now, next_hop)
    }

    /// Sends a whole IPv6 packet to the on-link `next_hop`, resolving it first if needed.
    /// A multicast `next_hop` maps straight to its group address (RFC 4861 7.2.1).
    pub fn send_ipv6(&mut self, now: Instant, next_hop: Ipv6Addr, packet: &[u8], tx: &mut dyn Tx) {
        if next_hop.is_multicast() {
            let frame = ethernet_ipv6(self.cfg.mac, multicast_mac(next_hop), packet);
            tx.send(self.cfg.port, &frame);
            return;
        }
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
        dst_mac: Mac,
        dst_ip: Ipv6Addr,
        params: &RaParams,
        tx: &mut dyn Tx,
    ) {
        let addr = self.link_local_to(dst_mac, dst_ip);
        tx.send(self.cfg.port, &build_ra(&addr, params));
    }

    /// Records that `ip` is reached at `mac`, as learnt from a frame it sent to us
    /// (STALE, as an NS with a source link-layer address would: RFC 4861 7.2.3), and
    /// sends what was queued for it. Only for on-link senders a core trusts, such as
    /// a MAG whose PBU just arrived.
    pub fn note_neighbor(&mut self, now: Instant, ip: Ipv6Addr, mac: Mac, tx: &mut dyn Tx) {
        let flush = self.cache.learn(now, ip, mac, None);
        self.transmit(flush, tx);
    }

    /// Upper-layer reachability confirmation (RFC 4861 7.3.1).
    pub fn confirm(&mut self, now: Instant, ip: Ipv6Addr) {
        self.cache.confirm(now, ip);
    }

    /// Probes `ip` with a unicast NS unless it is already being resolved or probed
    /// (see [`NeighborCache::probe`]); a lost neighbor is then reported by
    /// [`NdPort::on_timer`] as [`NdEvent::Unreachable`]. Returns whether an NS went out.
    pub fn probe(
        &mut self,
        now: Instant,
        ip: Ipv6Addr,
        mac: Mac,
        even_if_reachable: bool,
        tx: &mut dyn Tx,
    ) -> bool {
        let Some(target) = self.cache.probe(now, ip, mac, even_if_reachable) else {
            return false;
        };
        self.send_ns(ip, Some(target), tx);
        true
    }

    /// Resolves `ip` ahead of need (a MAG learns its LMA's link-layer address at
    /// start, so the first PBU of a handoff does not wait one round trip for ND).
    pub fn solicit(&mut self, now: Instant, ip: Ipv6Addr, tx: &mut dyn Tx) {
        if self.cache.start_resolution(now, ip) {
            self.send_ns(ip, None, tx);
        }
    }

    pub fn neighbor(&self, ip: &Ipv6Addr) -> Option<(NudState, Option<Mac>)> {
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

    fn link_local_to(&self, dst_mac: Mac, dst_ip: Ipv6Addr) -> Addressing {
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
    fn send_ns(&self, target: Ipv6Addr, unicast: Option<Mac>, tx: &mut dyn Tx) {
        let addr = match unicast {
            Some(mac) => self.link_local_to(mac, target),
            None => {
                let group = solicited_node(target);
                self.link_local_to(multicast_mac(group), group)
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
        sllao: Option<Mac>,
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
                let frame = build_ra(&self.link_local_to(dst_mac, addr.src_ip), &adv.params);
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
        let addr = self.link_local_to(multicast_mac(ALL_NODES), ALL_NODES);
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
        sllao: Option<Mac>,
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
                let to_all = self.link_local_to(multicast_mac(ALL_NODES), ALL_NODES);
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
        tllao: Option<Mac>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::PortId;
    use crate::nd::frames::{ALL_ROUTERS, build_rs};
    use crate::nd::{AdvertConfig, NudConfig, PrefixInfo};
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        EthernetFrame, Icmpv6Packet, Icmpv6Repr, Ipv6Packet, NdiscNeighborFlags, NdiscRepr,
    };

    type Sent = Vec<(PortId, Vec<u8>)>;

    const PORT: PortId = 2;
    const R_MAC: Mac = Mac([0x02, 0, 0, 0, 0, 0x01]);
    const H_MAC: Mac = Mac([0x02, 0, 0, 0, 0, 0x10]);
    const H2_MAC: Mac = Mac([0x02, 0, 0, 0, 0, 0x20]);
    const R_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    const R_GLOBAL: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    const H_IP: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
    const H_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x10);

    fn ms(v: i64) -> Instant {
        Instant::from_millis(v)
    }

    fn params() -> RaParams {
        let prefix = |s: &str| PrefixInfo {
            prefix: s.parse().unwrap(),
            on_link: true,
            autonomous: true,
            valid_lifetime: 86400,
            preferred_lifetime: 14400,
        };
        RaParams {
            cur_hop_limit: 64,
            managed: false,
            other: false,
            router_lifetime: 1800,
            reachable_time: 0,
            retrans_timer: 0,
            mtu: Some(1500),
            prefixes: vec![prefix("2001:db8::/64"), prefix("2001:db8:1::/64")],
        }
    }

    fn cfg(advertise: bool) -> NdPortConfig {
        NdPortConfig {
            port: PORT,
            mac: R_MAC,
            link_local: R_LL,
            addresses: vec![R_GLOBAL],
            advertise: advertise.then(|| AdvertConfig {
                params: params(),
                min_interval: Duration::from_secs(30),
                max_interval: Duration::from_secs(60),
            }),
            answer_rs: true,
            nud: NudConfig::default(),
        }
    }

    fn port() -> NdPort {
        NdPort::new(cfg(false), ms(0))
    }

    fn packet(tag: u8) -> Vec<u8> {
        vec![0x60, 0, 0, 0, 0, 0, 59, 64, tag]
    }

    fn from_host(src_mac: Mac, src_ip: Ipv6Addr, dst_ip: Ipv6Addr) -> Addressing {
        Addressing {
            src_mac,
            dst_mac: R_MAC,
            src_ip,
            dst_ip,
        }
    }

    fn na_flags(solicited: bool, override_: bool) -> NaFlags {
        NaFlags {
            router: false,
            solicited,
            override_,
        }
    }

    /// An NA from the host for `H_IP` announcing `mac`.
    fn na(solicited: bool, override_: bool, mac: Mac) -> Vec<u8> {
        let addr = from_host(mac, H_IP, R_LL);
        build_na(&addr, H_IP, na_flags(solicited, override_), Some(mac))
    }

    fn parse(frame: &[u8]) -> NdFrame {
        NdFrame::parse(frame).unwrap()
    }

    fn assert_multicast_ns(frame: &[u8], target: Ipv6Addr) {
        let nd = parse(frame);
        let group = solicited_node(target);
        assert_eq!(nd.addr.dst_mac, multicast_mac(group));
        assert_eq!((nd.addr.src_ip, nd.addr.dst_ip), (R_LL, group));
        let sllao = Some(R_MAC);
        assert_eq!(nd.message, NdMessage::NeighborSolicit { target, sllao });
    }

    fn assert_unicast_ns(frame: &[u8], target: Ipv6Addr, mac: Mac) {
        let nd = parse(frame);
        assert_eq!((nd.addr.dst_mac, nd.addr.dst_ip), (mac, target));
        let sllao = Some(R_MAC);
        assert_eq!(nd.message, NdMessage::NeighborSolicit { target, sllao });
    }

    fn assert_delivered(frame: &[u8], mac: Mac, packet: &[u8]) {
        let eth = EthernetFrame::new_checked(frame).unwrap();
        assert_eq!(
            (Mac::from(eth.src_addr()), Mac::from(eth.dst_addr())),
            (R_MAC, mac)
        );
        assert_eq!(eth.payload(), packet);
    }

    /// Resolves `H_IP` to `H_MAC` at `now` through a solicited NA.
    fn reachable_at(p: &mut NdPort, now: Instant) {
        let mut tx = Sent::new();
        p.send_ipv6(now, H_IP, &packet(0), &mut tx);
        p.on_ndp(now, &na(true, true, H_MAC), &mut tx).unwrap();
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Reachable, Some(H_MAC))));
    }

    /// Creates a STALE `H_IP` entry through an NS from the host.
    fn stale_at(p: &mut NdPort, now: Instant) {
        let mut tx = Sent::new();
        let addr = from_host(H_MAC, H_IP, solicited_node(R_GLOBAL));
        p.on_ndp(now, &build_ns(&addr, R_GLOBAL, Some(H_MAC)), &mut tx)
            .unwrap();
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Stale, Some(H_MAC))));
    }

    /// Runs the timers just before and at `at`: the state of `H_IP` changes only at `at`.
    fn assert_transition_at(p: &mut NdPort, at: i64, before: NudState, after: NudState) -> Sent {
        let mut tx = Sent::new();
        p.on_timer(ms(at - 1), &mut tx);
        assert_eq!(p.neighbor(&H_IP).map(|n| n.0), Some(before));
        p.on_timer(ms(at), &mut tx);
        assert_eq!(p.neighbor(&H_IP).map(|n| n.0), Some(after));
        tx
    }

    #[test]
    fn incomplete_retransmits_then_gives_up_and_drops_queue() {
        let mut p = port();
        let mut tx = Sent::new();
        p.send_ipv6(ms(0), H_IP, &packet(1), &mut tx);
        p.send_ipv6(ms(10), H_IP, &packet(2), &mut tx);
        assert_eq!(tx.len(), 1, "one NS per resolution, not per packet");
        assert_eq!(tx[0].0, PORT);
        assert_multicast_ns(&tx[0].1, H_IP);
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Incomplete, None)));
        for t in [1000, 2000] {
            assert_eq!(p.poll_at(), Some(ms(t)));
            tx.clear();
            assert!(p.on_timer(ms(t - 1), &mut tx).is_empty());
            assert!(tx.is_empty());
            assert!(p.on_timer(ms(t), &mut tx).is_empty());
            assert_eq!(tx.len(), 1);
            assert_multicast_ns(&tx[0].1, H_IP);
        }
        assert_eq!(p.poll_at(), Some(ms(3000)));
        tx.clear();
        let events = p.on_timer(ms(3000), &mut tx);
        assert_eq!(
            events,
            [NdEvent::Unreachable {
                mac: None,
                ip: H_IP
            }]
        );
        assert!(tx.is_empty(), "queued packets are dropped, not sent");
        assert_eq!(p.neighbor(&H_IP), None);
        assert_eq!(p.counters().get("nd.drop.unresolved"), 2);
        assert_eq!(p.poll_at(), None);
    }

    #[test]
    fn multicast_next_hop_needs_no_resolution() {
        let mut p = port();
        let mut tx = Sent::new();
        p.send_ipv6(ms(0), ALL_NODES, &packet(1), &mut tx);
        assert_delivered(&tx[0].1, multicast_mac(ALL_NODES), &packet(1));
        assert_eq!(p.neighbors().count(), 0);
    }

    #[test]
    fn incomplete_queue_is_bounded() {
        let mut p = port();
        let mut tx = Sent::new();
        let limit = NudConfig::default().max_queue_per_neighbor;
        for tag in 0..limit + 2 {
            p.send_ipv6(ms(0), H_IP, &packet(tag as u8), &mut tx);
        }
        assert_eq!(p.counters().get("nd.drop.queue_full"), 2);
        tx.clear();
        p.on_ndp(ms(5), &na(true, true, H_MAC), &mut tx).unwrap();
        assert_eq!(tx.len(), limit);
        for (frame, tag) in tx.iter().zip(2..) {
            assert_delivered(&frame.1, H_MAC, &packet(tag));
        }
    }

    #[test]
    fn incomplete_to_reachable_on_solicited_na_flushes_queue() {
        let mut p = port();
        let mut tx = Sent::new();
        p.send_ipv6(ms(0), H_IP, &packet(1), &mut tx);
        p.send_ipv6(ms(1), H_IP, &packet(2), &mut tx);
        tx.clear();
        let event = p.on_ndp(ms(300), &na(true, false, H_MAC), &mut tx);
        let reachable = NdEvent::Reachable {
            mac: H_MAC,
            ip: H_IP,
        };
        assert_eq!(event, Ok(Some(reachable)));
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Reachable, Some(H_MAC))));
        assert_eq!(tx.len(), 2);
        assert_delivered(&tx[0].1, H_MAC, &packet(1));
        assert_delivered(&tx[1].1, H_MAC, &packet(2));
        tx.clear();
        p.send_ipv6(ms(400), H_IP, &packet(3), &mut tx);
        assert_delivered(&tx[0].1, H_MAC, &packet(3));
        // The retransmission timer is gone; the REACHABLE timer took its place.
        let tx = assert_transition_at(&mut p, 30_300, NudState::Reachable, NudState::Stale);
        assert!(tx.is_empty());
    }

    #[test]
    fn incomplete_to_stale_on_unsolicited_na() {
        let mut p = port();
        let mut tx = Sent::new();
        p.send_ipv6(ms(0), H_IP, &packet(1), &mut tx);
        tx.clear();
        let event = p.on_ndp(ms(100), &na(false, true, H_MAC), &mut tx);
        let unsolicited = NdEvent::UnsolicitedNa {
            mac: H_MAC,
            ip: H_IP,
        };
        assert_eq!(event, Ok(Some(unsolicited)));
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Stale, Some(H_MAC))));
        assert_delivered(&tx[0].1, H_MAC, &packet(1));
        tx.clear();
        p.on_timer(ms(100_000), &mut tx);
        assert!(tx.is_empty(), "STALE runs no timer");
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Stale, Some(H_MAC))));
    }

    #[test]
    fn incomplete_na_without_tllao_is_ignored() {
        let mut p = port();
        let mut tx = Sent::new();
        p.send_ipv6(ms(0), H_IP, &packet(1), &mut tx);
        tx.clear();
        let addr = from_host(H_MAC, H_IP, R_LL);
        let frame = build_na(&addr, H_IP, na_flags(true, true), None);
        assert_eq!(p.on_ndp(ms(1), &frame, &mut tx), Ok(None));
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Incomplete, None)));
        assert!(tx.is_empty());
    }

    #[test]
    fn reachable_to_stale_after_reachable_time() {
        let mut p = port();
        reachable_at(&mut p, ms(0));
        let mut tx = Sent::new();
        p.on_timer(ms(29_999), &mut tx);
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Reachable, Some(H_MAC))));
        assert_eq!(p.poll_at(), Some(ms(30_000)));
        p.on_timer(ms(30_000), &mut tx);
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Stale, Some(H_MAC))));
        assert!(tx.iter().all(|(_, f)| NdFrame::parse(f).is_err()), "no NS");
        assert_eq!(p.poll_at(), None);
    }

    #[test]
    fn stale_to_delay_on_send_then_delay_to_reachable_on_confirmation() {
        let mut p = port();
        stale_at(&mut p, ms(0));
        let mut tx = Sent::new();
        p.send_ipv6(ms(1000), H_IP, &packet(7), &mut tx);
        assert_eq!(tx.len(), 1);
        assert_delivered(&tx[0].1, H_MAC, &packet(7));
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Delay, Some(H_MAC))));
        assert_eq!(p.poll_at(), Some(ms(6000)));
        p.confirm(ms(2000), H_IP);
        let tx = assert_transition_at(&mut p, 32_000, NudState::Reachable, NudState::Stale);
        assert!(tx.is_empty(), "the DELAY timer was replaced");
    }

    #[test]
    fn delay_to_probe_then_gone_after_unicast_solicits() {
        let mut p = port();
        stale_at(&mut p, ms(0));
        let mut tx = Sent::new();
        p.send_ipv6(ms(1000), H_IP, &packet(7), &mut tx);
        tx.clear();
        assert!(p.on_timer(ms(5999), &mut tx).is_empty());
        assert!(tx.is_empty());
        for t in [6000, 7000, 8000] {
            assert_eq!(p.poll_at(), Some(ms(t)));
            tx.clear();
            assert!(p.on_timer(ms(t), &mut tx).is_empty());
            assert_eq!(tx.len(), 1);
            assert_unicast_ns(&tx[0].1, H_IP, H_MAC);
            assert_eq!(p.neighbor(&H_IP), Some((NudState::Probe, Some(H_MAC))));
            // Packets still go out while probing.
            tx.clear();
            p.send_ipv6(ms(t), H_IP, &packet(8), &mut tx);
            assert_delivered(&tx[0].1, H_MAC, &packet(8));
        }
        tx.clear();
        let events = p.on_timer(ms(9000), &mut tx);
        let lost = NdEvent::Unreachable {
            mac: Some(H_MAC),
            ip: H_IP,
        };
        assert_eq!(events, [lost]);
        assert!(tx.is_empty());
        assert_eq!(p.neighbor(&H_IP), None);
    }

    #[test]
    fn probe_to_reachable_on_solicited_na() {
        let mut p = port();
        stale_at(&mut p, ms(0));
        let mut tx = Sent::new();
        p.send_ipv6(ms(0), H_IP, &packet(7), &mut tx);
        p.on_timer(ms(5000), &mut tx);
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Probe, Some(H_MAC))));
        let event = p.on_ndp(ms(5100), &na(true, false, H_MAC), &mut tx);
        let reachable = NdEvent::Reachable {
            mac: H_MAC,
            ip: H_IP,
        };
        assert_eq!(event, Ok(Some(reachable)));
        let tx = assert_transition_at(&mut p, 35_100, NudState::Reachable, NudState::Stale);
        assert!(tx.is_empty(), "the PROBE timer was replaced");
    }

    #[test]
    fn probe_of_an_idle_neighbor_until_unreachable() {
        let mut p = port();
        let mut tx = Sent::new();
        assert!(
            p.probe(ms(0), H_IP, H_MAC, false, &mut tx),
            "absent: created and probed"
        );
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Probe, Some(H_MAC))));
        assert_eq!(tx.len(), 1);
        assert!(
            !p.probe(ms(10), H_IP, H_MAC, true, &mut tx),
            "already probing"
        );
        for t in [1000, 2000] {
            assert!(p.on_timer(ms(t), &mut tx).is_empty());
        }
        assert_eq!(tx.len(), 3, "max_unicast_solicit NS in all");
        let lost = NdEvent::Unreachable {
            mac: Some(H_MAC),
            ip: H_IP,
        };
        assert_eq!(p.on_timer(ms(3000), &mut tx), vec![lost]);
        reachable_at(&mut p, ms(4000));
        assert!(
            !p.probe(ms(4010), H_IP, H_MAC, false, &mut tx),
            "just confirmed"
        );
        assert!(
            p.probe(ms(4020), H_IP, H_MAC, true, &mut tx),
            "doubted although confirmed"
        );
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Probe, Some(H_MAC))));
    }

    #[test]
    fn override_flag_semantics() {
        let mut p = port();
        let mut tx = Sent::new();
        reachable_at(&mut p, ms(0));
        // O=0 with a different address: doubt, not belief (RFC 4861 7.2.5).
        p.on_ndp(ms(10), &na(true, false, H2_MAC), &mut tx).unwrap();
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Stale, Some(H_MAC))));
        // Again on STALE: ignored altogether.
        p.on_ndp(ms(20), &na(true, false, H2_MAC), &mut tx).unwrap();
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Stale, Some(H_MAC))));
        // O=1, S=0 with a new address: how a migrated VM announces itself.
        let event = p.on_ndp(ms(30), &na(false, true, H2_MAC), &mut tx);
        let moved = NdEvent::UnsolicitedNa {
            mac: H2_MAC,
            ip: H_IP,
        };
        assert_eq!(event, Ok(Some(moved)));
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Stale, Some(H2_MAC))));
        // O=0 with the same address and S=1 confirms.
        p.on_ndp(ms(40), &na(true, false, H2_MAC), &mut tx).unwrap();
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Reachable, Some(H2_MAC))));
        // O=1 and S=1 with a new address: replaced and REACHABLE.
        p.on_ndp(ms(50), &na(true, true, H_MAC), &mut tx).unwrap();
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Reachable, Some(H_MAC))));
        // S=0, O=1 with the same address leaves REACHABLE alone.
        p.on_ndp(ms(60), &na(false, true, H_MAC), &mut tx).unwrap();
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Reachable, Some(H_MAC))));
    }

    #[test]
    fn ns_for_own_address_answered_with_solicited_na() {
        let mut p = port();
        let mut tx = Sent::new();
        let addr = from_host(H_MAC, H_LL, solicited_node(R_LL));
        let ns = build_ns(&addr, R_LL, Some(H_MAC));
        assert_eq!(p.on_ndp(ms(0), &ns, &mut tx), Ok(None));
        assert_eq!(p.neighbor(&H_LL), Some((NudState::Stale, Some(H_MAC))));
        assert_eq!(tx.len(), 1);
        // Checked with smoltcp's own parsers, not ours.
        let eth = EthernetFrame::new_checked(&tx[0].1[..]).unwrap();
        assert_eq!(
            (Mac::from(eth.src_addr()), Mac::from(eth.dst_addr())),
            (R_MAC, H_MAC)
        );
        let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
        assert_eq!(
            (ip.src_addr(), ip.dst_addr(), ip.hop_limit()),
            (R_LL, H_LL, 255)
        );
        let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
        let caps = ChecksumCapabilities::default();
        let repr = Icmpv6Repr::parse(&R_LL, &H_LL, &icmp, &caps).unwrap();
        let flags = NdiscNeighborFlags::ROUTER
            | NdiscNeighborFlags::SOLICITED
            | NdiscNeighborFlags::OVERRIDE;
        let expected = NdiscRepr::NeighborAdvert {
            flags,
            target_addr: R_LL,
            lladdr: Some(R_MAC.into()),
        };
        assert_eq!(repr, Icmpv6Repr::Ndisc(expected));
    }

    #[test]
    fn ns_for_other_address_is_ignored() {
        let mut p = port();
        let mut tx = Sent::new();
        let other = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x99);
        let addr = from_host(H_MAC, H_LL, solicited_node(other));
        let ns = build_ns(&addr, other, Some(H_MAC));
        assert_eq!(p.on_ndp(ms(0), &ns, &mut tx), Ok(None));
        assert!(tx.is_empty());
        assert_eq!(p.neighbors().count(), 0);
    }

    #[test]
    fn ns_from_host_completes_resolution() {
        let mut p = port();
        let mut tx = Sent::new();
        p.send_ipv6(ms(0), H_IP, &packet(1), &mut tx);
        tx.clear();
        stale_at(&mut p, ms(10));
        let mut tx = Sent::new();
        p.send_ipv6(ms(20), H_IP, &packet(2), &mut tx);
        assert_delivered(&tx[0].1, H_MAC, &packet(2));
        assert_eq!(p.neighbor(&H_IP), Some((NudState::Delay, Some(H_MAC))));
    }

    #[test]
    fn rs_answered_with_unicast_ra() {
        let mut p = NdPort::new(cfg(true), ms(0));
        let mut tx = Sent::new();
        let addr = from_host(H_MAC, H_LL, ALL_ROUTERS);
        let event = p.on_ndp(ms(0), &build_rs(&addr), &mut tx);
        let rs = NdEvent::RouterSolicitation {
            mac: Some(H_MAC),
            eth_src: H_MAC,
            ip: H_LL,
        };
        assert_eq!(event, Ok(Some(rs)));
        assert_eq!(tx.len(), 1);
        let ra = parse(&tx[0].1);
        assert_eq!(ra.addr.dst_mac, H_MAC);
        assert_eq!((ra.addr.src_ip, ra.addr.dst_ip), (R_LL, H_LL));
        let sllao = Some(R_MAC);
        let params = params();
        assert_eq!(ra.message, NdMessage::RouterAdvert { params, sllao });
        let info = p.neighbors().next().unwrap();
        let expected = NeighborInfo {
            ip: H_LL,
            mac: Some(H_MAC),
            state: NudState::Stale,
            is_router: false,
        };
        assert_eq!(info, expected);
    }

    #[test]
    fn rs_from_unspecified_hastens_multicast_ra() {
        let mut p = NdPort::new(cfg(true), ms(0));
        let mut tx = Sent::new();
        p.on_timer(ms(0), &mut tx);
        assert_eq!(tx.len(), 1, "the first RA goes out at start");
        tx.clear();
        let addr = from_host(H_MAC, Ipv6Addr::UNSPECIFIED, ALL_ROUTERS);
        let event = p.on_ndp(ms(1000), &build_rs(&addr), &mut tx);
        let rs = NdEvent::RouterSolicitation {
            mac: None,
            eth_src: H_MAC,
            ip: Ipv6Addr::UNSPECIFIED,
        };
        assert_eq!(event, Ok(Some(rs)));
        assert!(tx.is_empty(), "a multicast answer waits");
        let at = p.poll_at().unwrap();
        // Not sooner than 3 s after the last RA, with up to 500 ms of jitter.
        assert!(at >= ms(3000) && at <= ms(3500), "{at}");
        p.on_timer(at, &mut tx);
        assert_eq!(parse(&tx[0].1).addr.dst_ip, ALL_NODES);
    }

    #[test]
    fn rs_not_answered_without_answer_rs() {
        let mut p = NdPort::new(
            NdPortConfig {
                answer_rs: false,
                ..cfg(true)
            },
            ms(0),
        );
        let mut tx = Sent::new();
        let addr = from_host(H_MAC, H_LL, ALL_ROUTERS);
        assert!(
            p.on_ndp(ms(0), &build_rs(&addr), &mut tx)
                .unwrap()
                .is_some()
        );
        assert!(tx.is_empty());
    }

    /// Runs the port's timers for `until` and returns when each multicast RA left.
    fn multicast_ra_times(p: &mut NdPort, until: Instant) -> Vec<Instant> {
        let mut times = vec![];
        while let Some(at) = p.poll_at().filter(|at| *at <= until) {
            let mut tx = Sent::new();
            p.on_timer(at, &mut tx);
            for (_, frame) in &tx {
                let nd = parse(frame);
                assert_eq!(nd.addr.dst_mac, multicast_mac(ALL_NODES));
                assert_eq!((nd.addr.src_ip, nd.addr.dst_ip), (R_LL, ALL_NODES));
                let sllao = Some(R_MAC);
                let params = params();
                assert_eq!(nd.message, NdMessage::RouterAdvert { params, sllao });
                times.push(at);
            }
        }
        times
    }

    #[test]
    fn periodic_ra_timing_within_min_max() {
        let mut p = NdPort::new(cfg(true), ms(0));
        let times = multicast_ra_times(&mut p, ms(3_600_000));
        assert!(times.len() > 50);
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        // The first three intervals are capped at 16 s (RFC 4861 6.2.4).
        assert!(gaps[..3].iter().all(|g| *g == Duration::from_secs(16)));
        for gap in &gaps[3..] {
            assert!(*gap >= Duration::from_secs(30) && *gap <= Duration::from_secs(60));
        }
        assert!(gaps[3..].windows(2).any(|w| w[0] != w[1]), "jittered");
        let mut again = NdPort::new(cfg(true), ms(0));
        assert_eq!(multicast_ra_times(&mut again, ms(3_600_000)), times);
    }

    #[test]
    fn unicast_ra_to_given_mac_without_multicast_ras() {
        let mut p = port();
        assert_eq!(p.poll_at(), None, "no advertising configured");
        let mut tx = Sent::new();
        let mut per_node = params();
        per_node.prefixes.truncate(1);
        p.send_ra_to(H_MAC, H_LL, &per_node, &mut tx);
        assert_eq!(tx.len(), 1);
        let ra = parse(&tx[0].1);
        assert_eq!(ra.addr.dst_mac, H_MAC);
        assert_eq!((ra.addr.src_ip, ra.addr.dst_ip), (R_LL, H_LL));
        let sllao = Some(R_MAC);
        let params = per_node;
        assert_eq!(ra.message, NdMessage::RouterAdvert { params, sllao });
        assert!(p.on_timer(ms(1_000_000), &mut tx).is_empty());
        assert_eq!(tx.len(), 1);
    }

    #[test]
    fn malformed_nd_rejected_without_state_change() {
        let mut p = port();
        let mut tx = Sent::new();
        let addr = from_host(H_MAC, H_LL, solicited_node(R_LL));
        let good = build_ns(&addr, R_LL, Some(H_MAC));
        let ip = smoltcp::wire::ETHERNET_HEADER_LEN;
        let mut hop_254 = good.clone();
        hop_254[ip + 7] = 254;
        assert_eq!(
            p.on_ndp(ms(0), &hop_254, &mut tx),
            Err(NdError::HopLimit(254))
        );
        let mut bad_sum = good.clone();
        bad_sum[ip + 40 + 2] ^= 0x55;
        assert_eq!(p.on_ndp(ms(0), &bad_sum, &mut tx), Err(NdError::Checksum));
        let truncated = &good[..good.len() - 4];
        assert_eq!(
            p.on_ndp(ms(0), truncated, &mut tx),
            Err(NdError::TruncatedIpv6)
        );
        assert!(tx.is_empty());
        assert_eq!(p.neighbors().count(), 0);
        assert_eq!(p.counters().get("nd.drop.hop_limit"), 1);
        assert_eq!(p.counters().get("nd.drop.bad_checksum"), 1);
        assert_eq!(p.counters().get("nd.drop.truncated"), 1);
        assert_eq!(p.on_ndp(ms(0), &good, &mut tx), Ok(None));
        assert_eq!(tx.len(), 1);
    }

    #[test]
    fn dad_ns_reported_and_own_address_defended() {
        let mut p = port();
        let mut tx = Sent::new();
        let tentative = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x77);
        let dad = |target| {
            let addr = from_host(H_MAC, Ipv6Addr::UNSPECIFIED, solicited_node(target));
            build_ns(&addr, target, None)
        };
        let event = p.on_ndp(ms(0), &dad(tentative), &mut tx);
        let expected = NdEvent::DadNs {
            mac: H_MAC,
            target: tentative,
        };
        assert_eq!(event, Ok(Some(expected)));
        assert!(tx.is_empty());
        assert_eq!(p.neighbors().count(), 0);
        p.on_ndp(ms(0), &dad(R_GLOBAL), &mut tx).unwrap();
        let defence = parse(&tx[0].1);
        assert_eq!(defence.addr.dst_ip, ALL_NODES);
        let flags = NaFlags {
            router: true,
            solicited: false,
            override_: true,
        };
        let expected = NdMessage::NeighborAdvert {
            flags,
            target: R_GLOBAL,
            tllao: Some(R_MAC),
        };
        assert_eq!(defence.message, expected);
    }

    #[test]
    fn unsolicited_na_for_unknown_neighbor_reported_not_cached() {
        let mut p = port();
        let mut tx = Sent::new();
        let addr = from_host(H2_MAC, H_IP, ALL_NODES);
        let frame = build_na(&addr, H_IP, na_flags(false, true), Some(H_MAC));
        let event = p.on_ndp(ms(0), &frame, &mut tx);
        let expected = NdEvent::UnsolicitedNa {
            mac: H_MAC,
            ip: H_IP,
        };
        assert_eq!(event, Ok(Some(expected)));
        assert_eq!(p.neighbor(&H_IP), None);
    }

    #[test]
    fn ra_from_other_router_marks_it_router() {
        let mut p = port();
        let mut tx = Sent::new();
        let addr = from_host(H_MAC, H_LL, ALL_NODES);
        assert_eq!(
            p.on_ndp(ms(0), &build_ra(&addr, &params()), &mut tx),
            Ok(None)
        );
        let info = p.neighbors().next().unwrap();
        assert!(info.is_router);
        assert_eq!(info.state, NudState::Stale);
        p.forget(&H_LL);
        assert_eq!(p.neighbors().count(), 0);
    }
}
