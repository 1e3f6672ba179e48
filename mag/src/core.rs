//! The MAG protocol core (RFC 5213 section 6): the forwarding [`Engine`] plus the
//! Binding Update List, attachment and detachment detection, PBU/PBA exchanges
//! and per-node Router Advertisements. No I/O: time comes in with every call.

use crate::access::{node_ra, ra_destination};
use crate::attach::{self, DetectConfig, Sighting, Trigger};
use crate::bul::{BindingState, BindingUpdateList, BulEntry, Outstanding};
use crate::pbu::{
    INITIAL_BINDACK_TIMEOUT, INITIAL_BINDACK_TIMEOUT_FIRST_REG, PbuContent, answers, backoff,
    build_pbu, parse_pba, pbu_packet,
};
use ipnet::Ipv6Net;
use router::core::{Core, PortId, Tx};
use router::counters::Counters;
use router::ctl::{Request, Response, Table};
use router::engine::{Engine, EngineEvent, EnginePort};
use router::engine_tables;
use router::fib::NextHop;
use router::nd::{NdEvent, NudConfig};
use router::policy::{Policy, format_mac};
use router::timer::TimerQueue;
use router::timestamp::{WallClock, timestamp};
use router::wire::{AccessTechnologyType, HandoffIndicator, PbaRepr, PbaStatus, PbuRepr};
use router::{Duration, Instant};
use smoltcp::wire::EthernetAddress;
use std::net::Ipv6Addr;

/// The uplink is always port 0; access port `i` of [`MagConfig::access`] is `i + 1`.
pub const UPLINK: PortId = 0;

/// A binding is refreshed when this share of its granted lifetime has passed.
const REFRESH_PERCENT: u64 = 80;

/// The port towards the LMA.
#[derive(Debug, Clone)]
pub struct UplinkConfig {
    pub mac: EthernetAddress,
    pub mtu: usize,
    /// The MAG's address on the uplink with its on-link prefix: the Proxy-CoA.
    pub proxy_coa: Ipv6Net,
}

/// One access link.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    /// The shared MAC of every MAG's access links (RFC 5213 6.9.3).
    pub mac: EthernetAddress,
    /// The shared link-local address of every MAG's access links (RFC 5213 6.8).
    pub link_local: Ipv6Addr,
    pub mtu: usize,
}

#[derive(Debug, Clone)]
pub struct MagConfig {
    /// Used in logs and the Bindings table; also checked against a node's allowed MAGs.
    pub name: String,
    pub uplink: UplinkConfig,
    pub access: Vec<AccessConfig>,
    /// The LMA address (LMAA) PBUs go to and the tunnel's remote end.
    pub lmaa: Ipv6Addr,
    pub detect: DetectConfig,
    /// Interval between the periodic per-node RAs (also when idle nodes are probed).
    pub ra_interval: Duration,
    /// Binding lifetime asked for in PBUs, in seconds.
    pub lifetime: u32,
    /// EnableMAGLocalRouting (RFC 5213 9.2).
    pub local_routing: bool,
    /// Timestamp option in PBUs (RFC 5213 5.5, the default), else sequence numbers only.
    pub timestamps: bool,
    /// Wall-clock time at `Instant` zero, for timestamps.
    pub epoch: WallClock,
    pub access_technology: AccessTechnologyType,
    /// NUD on access links: how fast a departed node is noticed.
    pub access_nud: NudConfig,
}

impl MagConfig {
    /// A MAG with the RFC defaults: every trigger, 30 s RAs, 3600 s bindings,
    /// timestamps, no local routing, 802.3 access technology.
    pub fn new(
        name: &str,
        uplink: UplinkConfig,
        access: Vec<AccessConfig>,
        lmaa: Ipv6Addr,
    ) -> Self {
        MagConfig {
            name: name.to_string(),
            uplink,
            access,
            lmaa,
            detect: DetectConfig::default(),
            ra_interval: Duration::from_secs(30),
            lifetime: 3600,
            local_routing: false,
            timestamps: true,
            epoch: WallClock::ZERO,
            access_technology: AccessTechnologyType::Ethernet,
            access_nud: NudConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Timer {
    /// Retransmission, refresh or expiry, depending on the binding's state.
    Binding(EthernetAddress),
    /// The node's next periodic RA (and reachability probe).
    Ra(EthernetAddress),
    /// Keeps the LMA's link-layer address known ahead of need.
    LmaNeighbor,
}

/// How often the MAG checks that it knows the LMA's link-layer address.
const LMA_NEIGHBOR_CHECK: Duration = Duration::from_secs(10);

pub struct Mag {
    cfg: MagConfig,
    policy: Policy,
    engine: Engine,
    bul: BindingUpdateList,
    timers: TimerQueue<Timer>,
    next_sequence: u16,
    counters: Counters,
}

fn macs(mac: EthernetAddress) -> String {
    format_mac(&mac.0)
}

fn prefixes(hnps: &[Ipv6Net]) -> String {
    let all: Vec<String> = hnps.iter().map(Ipv6Net::to_string).collect();
    all.join(", ")
}

impl Mag {
    pub fn new(cfg: MagConfig, policy: Policy, now: Instant) -> Self {
        let mut uplink = EnginePort::new(cfg.uplink.mac);
        uplink.mtu = cfg.uplink.mtu;
        uplink.addresses = vec![cfg.uplink.proxy_coa];
        let mut ports = vec![uplink];
        for a in &cfg.access {
            let mut port = EnginePort::new(a.mac);
            port.mtu = a.mtu;
            port.link_local = Some(a.link_local);
            port.nud = cfg.access_nud;
            ports.push(port);
        }
        let mut engine = Engine::new(ports, now);
        engine.local_routing = cfg.local_routing;
        if !cfg.uplink.proxy_coa.contains(&cfg.lmaa) {
            // The LMA is normally on the uplink's link; otherwise still reach it there.
            let host = Ipv6Net::new(cfg.lmaa, 128).unwrap_or(cfg.uplink.proxy_coa);
            engine
                .fib
                .insert_v6(host, NextHop::Connected { port: UPLINK });
        }
        let mut timers = TimerQueue::new();
        timers.set(Timer::LmaNeighbor, now);
        Mag {
            cfg,
            policy,
            engine,
            bul: BindingUpdateList::default(),
            timers,
            next_sequence: 1,
            counters: Counters::default(),
        }
    }

    /// Resolves the LMA address before any PBU needs it: a handoff's first PBU
    /// then leaves at once instead of after an NS/NA round trip over the WAN.
    fn keep_lma_neighbor(&mut self, now: Instant, tx: &mut dyn Tx) {
        let lmaa = self.cfg.lmaa;
        if let Some(nd) = self.engine.nd_mut(UPLINK)
            && nd.neighbor(&lmaa).is_none()
        {
            nd.solicit(now, lmaa, tx);
        }
        self.timers
            .set(Timer::LmaNeighbor, now + LMA_NEIGHBOR_CHECK);
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn bindings(&self) -> &BindingUpdateList {
        &self.bul
    }

    /// The engine's counters and the MAG's own (`mag.*`).
    pub fn counters(&self) -> Counters {
        let mut all = self.engine.all_counters();
        for (name, v) in self.counters.iter() {
            all.add(name, v);
        }
        all
    }

    fn proxy_coa(&self) -> Ipv6Addr {
        self.cfg.uplink.proxy_coa.addr()
    }

    fn access_link_local(&self, port: PortId) -> Option<Ipv6Addr> {
        port.checked_sub(1)
            .and_then(|i| self.cfg.access.get(i))
            .map(|a| a.link_local)
    }

    /// The MTU advertised to nodes on an access link: what fits both that link and
    /// the tunnel to the LMA, so nodes never send what the MAG must refuse with a
    /// Packet Too Big (RFC 2473 7.1).
    fn access_mtu(&self, port: PortId) -> u32 {
        let link = port
            .checked_sub(1)
            .and_then(|i| self.cfg.access.get(i))
            .map_or(1500, |a| a.mtu);
        let tunnel = router::tunnel::tunnel_mtu(self.cfg.uplink.mtu);
        u32::try_from(link.min(tunnel)).unwrap_or(1280)
    }

    fn take_sequence(&mut self) -> u16 {
        let s = self.next_sequence;
        self.next_sequence = s.wrapping_add(1);
        s
    }

    // ---- attachment (RFC 5213 6.9.1) ----

    fn on_sighting(&mut self, now: Instant, port: PortId, s: Sighting, tx: &mut dyn Tx) {
        if let Some(e) = self.bul.get_mut(&s.mac) {
            if let Some(ip) = s.address {
                e.learn_address(ip);
            }
            if e.port != port {
                log::info!(
                    "{} moved from access port {} to {port}",
                    e.mac_text(),
                    e.port
                );
                e.port = port;
                let (hnps, registered) = (e.hnps.clone(), e.is_registered());
                if registered {
                    for hnp in hnps {
                        self.engine.fib.insert_v6(hnp, NextHop::Connected { port });
                    }
                }
            }
            if s.trigger == Trigger::RouterSolicitation {
                self.send_ra(now, s.mac, tx);
            }
            // A migrated VM can come back before this MAG noticed it leave, while
            // the LMA routes its prefixes to the MAG it visited: its hypervisor's
            // announcement re-registers it here (RFC 5213 6.9.1.1, HI=3).
            let reassert = (s.trigger.announces_arrival() && s.trigger.enabled(&self.cfg.detect))
                .then(|| self.bul.get_mut(&s.mac))
                .flatten()
                .filter(|e| e.is_registered() && e.outstanding.is_none())
                .filter(|e| now - e.detected_at >= attach::ANNOUNCE_WINDOW);
            if let Some(e) = reassert {
                let hnps = e.hnps.clone();
                // A new attachment in all but name (routes stay meanwhile): time
                // its handoff afresh; the PBA is answered with an RA as for a
                // first registration.
                e.state = BindingState::Refreshing;
                e.detected_at = now;
                e.ra_sent_at = None;
                let seq = self.start_exchange(
                    now,
                    s.mac,
                    HandoffIndicator::InterMag,
                    &hnps,
                    INITIAL_BINDACK_TIMEOUT,
                    tx,
                );
                self.counters.bump("mag.pbu.reattach");
                log::info!(
                    "{} announced itself again ({}) -> PBU seq {seq} HI=3 to {}",
                    macs(s.mac),
                    s.trigger,
                    self.cfg.lmaa
                );
            }
            return;
        }
        if !s.trigger.enabled(&self.cfg.detect) {
            return;
        }
        let Some(node) = self.policy.node_by_mac(&s.mac.0) else {
            self.counters.bump("mag.attach.ignored_not_in_policy");
            log::debug!("{} ({}) ignored: not in the policy", macs(s.mac), s.trigger);
            return;
        };
        if !node.mags.is_empty() && !node.mags.contains(&self.cfg.name) {
            self.counters.bump("mag.attach.ignored_other_mag");
            log::info!(
                "{} ({}) ignored: the policy lets only [{}] serve {}",
                macs(s.mac),
                s.trigger,
                node.mags.join(", "),
                node.mn_id
            );
            return;
        }
        self.counters.bump(s.trigger.counter());
        let mut entry = BulEntry {
            mn_id: node.mn_id.clone(),
            mac: s.mac,
            port,
            hnps: Vec::new(),
            state: BindingState::Registering,
            sequence: 0,
            lifetime: 0,
            expires_at: None,
            sent: Vec::new(),
            outstanding: None,
            retransmissions: 0,
            trigger: s.trigger,
            link_local: None,
            addresses: Vec::new(),
            detected_at: now,
            last_heard: now,
            ra_sent_at: None,
        };
        if let Some(ip) = s.address {
            entry.learn_address(ip);
        }
        self.bul.insert(entry);
        let hi = s.handoff_indicator();
        let any = [Ipv6Net::default()];
        let seq = self.start_exchange(now, s.mac, hi, &any, INITIAL_BINDACK_TIMEOUT_FIRST_REG, tx);
        log::info!(
            "{} attached ({}) -> PBU seq {seq} HI={} to {}",
            macs(s.mac),
            s.trigger,
            u8::from(hi),
            self.cfg.lmaa
        );
    }

    // ---- PBU exchanges (RFC 5213 6.9.1.1, RFC 6275 11.8) ----

    /// Sends the first PBU of a registration or refresh and arms its retransmission.
    fn start_exchange(
        &mut self,
        now: Instant,
        mac: EthernetAddress,
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
                hnps,
                handoff,
                access_technology: self.cfg.access_technology,
                mac,
                mag_link_local: self.access_link_local(e.port),
                timestamp: None,
                lifetime: self.cfg.lifetime,
            },
        );
        if let Some(e) = self.bul.get_mut(&mac) {
            e.sent.clear();
            e.retransmissions = 0;
            e.outstanding = Some(Outstanding { pbu, timeout });
        }
        self.transmit_outstanding(now, mac, tx)
    }

    /// (Re)sends the outstanding PBU with a fresh sequence number and timestamp.
    fn transmit_outstanding(&mut self, now: Instant, mac: EthernetAddress, tx: &mut dyn Tx) -> u16 {
        let seq = self.take_sequence();
        let ts = self.cfg.timestamps.then(|| timestamp(self.cfg.epoch, now));
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
        let packet = pbu_packet(self.cfg.uplink.proxy_coa.addr(), self.cfg.lmaa, &out.pbu);
        let mut at = now + out.timeout;
        if let Some(expiry) = e.expires_at {
            at = at.min(expiry);
        }
        self.timers.set(Timer::Binding(mac), at);
        self.counters.bump("mag.pbu.sent");
        self.engine.send_ipv6(now, &packet, tx);
        seq
    }

    fn on_binding_timer(&mut self, now: Instant, mac: EthernetAddress, tx: &mut dyn Tx) {
        let Some(e) = self.bul.get_mut(&mac) else {
            return;
        };
        if e.expires_at.is_some_and(|at| at <= now) {
            self.counters.bump("mag.binding.expired");
            log::warn!(
                "{} ({}): binding expired without a successful refresh",
                e.mac_text(),
                e.mn_id
            );
            self.remove(now, mac, None, tx);
            return;
        }
        let Some(out) = e.outstanding.as_mut() else {
            // Registered: time to refresh (RFC 5213 6.9.1.1, HI "not changed").
            let hnps = e.hnps.clone();
            e.state = BindingState::Refreshing;
            let seq = self.start_exchange(
                now,
                mac,
                HandoffIndicator::NotChanged,
                &hnps,
                INITIAL_BINDACK_TIMEOUT,
                tx,
            );
            self.counters.bump("mag.pbu.refresh");
            log::info!(
                "{} refresh -> PBU seq {seq} HI=5 to {}",
                macs(mac),
                self.cfg.lmaa
            );
            return;
        };
        match backoff(out.timeout) {
            Some(next) => {
                out.timeout = next;
                e.retransmissions += 1;
                let n = e.retransmissions;
                self.counters.bump("mag.pbu.retransmitted");
                let seq = self.transmit_outstanding(now, mac, tx);
                log::info!(
                    "{} no PBA: retransmission {n} as seq {seq}, next wait {} ms",
                    macs(mac),
                    next.total_millis()
                );
            }
            None => {
                self.counters.bump("mag.pbu.gave_up");
                log::warn!(
                    "{} ({}): no PBA from {} after {} retransmissions, giving up",
                    e.mac_text(),
                    e.mn_id,
                    self.cfg.lmaa,
                    e.retransmissions
                );
                match e.expires_at {
                    // A failed refresh leaves the binding to its remaining lifetime.
                    Some(at) => {
                        e.outstanding = None;
                        self.timers.set(Timer::Binding(mac), at);
                    }
                    None => self.remove(now, mac, None, tx),
                }
            }
        }
    }

    // ---- PBA (RFC 5213 6.9.1.2) ----

    fn on_local(&mut self, now: Instant, port: PortId, packet: &[u8], tx: &mut dyn Tx) {
        if port != UPLINK {
            self.engine.counters.bump("drop.no_local_service");
            return;
        }
        match parse_pba(packet) {
            Ok((src, _)) if src != self.cfg.lmaa => {
                self.counters.bump("mag.pba.wrong_source");
                log::debug!("PBA from {src}, not the LMA {}: ignored", self.cfg.lmaa);
            }
            Ok((_, pba)) => self.on_pba(now, &pba, tx),
            Err(e) => {
                self.counters.bump("mag.pba.malformed");
                log::debug!("local packet refused: {e}");
            }
        }
    }

    fn on_pba(&mut self, now: Instant, pba: &PbaRepr, tx: &mut dyn Tx) {
        let Some(mac) = self
            .bul
            .by_sequence(pba.sequence)
            .filter(|e| answers(&e.sent, pba))
            .map(|e| e.mac)
        else {
            self.counters.bump("mag.pba.unmatched");
            log::info!(
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
        let problem = if pba.lifetime_secs == 0 {
            Some("a lifetime of 0")
        } else if hnps.is_empty() {
            Some("no home network prefix")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.counters.bump("mag.pba.unusable");
            log::warn!(
                "PBA seq {} accepted with {problem}: {} not registered",
                pba.sequence,
                macs(mac)
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
        e.state = BindingState::Registered;
        e.lifetime = pba.lifetime_secs;
        e.expires_at = Some(now + Duration::from_secs(u64::from(pba.lifetime_secs)));
        e.outstanding = None;
        e.sent.clear();
        let port = e.port;
        let refresh =
            Duration::from_millis(u64::from(pba.lifetime_secs) * 1000 * REFRESH_PERCENT / 100);
        self.timers.set(Timer::Binding(mac), now + refresh);
        if old != hnps {
            self.remove_routes(&old);
            self.install_routes(port, &hnps);
        }
        if first {
            self.send_ra(now, mac, tx);
            log::info!(
                "PBA seq {} accepted: {} lifetime {} s -> routes via tunnel to {}, RA sent to {}",
                pba.sequence,
                prefixes(&hnps),
                pba.lifetime_secs,
                self.cfg.lmaa,
                macs(mac)
            );
        } else {
            log::info!(
                "PBA seq {} accepted: {} refreshed, lifetime {} s",
                pba.sequence,
                prefixes(&hnps),
                pba.lifetime_secs
            );
        }
    }

    fn on_refusal(&mut self, now: Instant, mac: EthernetAddress, pba: &PbaRepr, tx: &mut dyn Tx) {
        self.counters.bump("mag.pba.rejected");
        let retry = pba.status == PbaStatus::SequenceNumberOutOfWindow
            && !self.cfg.timestamps
            && self.bul.get(&mac).is_some_and(|e| e.outstanding.is_some());
        let stale = matches!(
            pba.status,
            PbaStatus::TimestampMismatch | PbaStatus::TimestampLowerThanPrevAccepted
        ) && self.bul.get(&mac).is_some_and(|e| e.outstanding.is_some());
        if stale {
            // The PBU was too old by the time it arrived (held in neighbor
            // resolution, or a network duplicate of one already accepted): the next
            // retransmission carries a fresh timestamp, and the back-off bounds how
            // long a MAG with a wrong clock keeps trying (RFC 5213 5.5).
            self.counters.bump("mag.pba.stale_timestamp");
            // The first such refusal of an exchange is answered at once with a
            // fresh PBU (it was most likely held in neighbor resolution); later
            // ones wait for the back-off.
            let first = self
                .bul
                .get_mut(&mac)
                .filter(|e| e.retransmissions == 0)
                .map(|e| e.retransmissions = 1)
                .is_some();
            if first {
                let seq = self.transmit_outstanding(now, mac, tx);
                self.counters.bump("mag.pbu.retransmitted");
                log::info!(
                    "PBA seq {}: {} ({}); PBU sent again at once with a fresh timestamp as seq {seq}",
                    pba.sequence,
                    pba.status,
                    u8::from(pba.status)
                );
                return;
            }
            log::info!(
                "PBA seq {}: {} ({}); waiting for the retransmission",
                pba.sequence,
                pba.status,
                u8::from(pba.status)
            );
            return;
        }
        if retry {
            // RFC 6275 11.7.1: the acknowledgement carries the last accepted number.
            self.next_sequence = pba.sequence.max(self.next_sequence).wrapping_add(1);
            if let Some(e) = self.bul.get_mut(&mac) {
                e.sent.clear();
            }
            let seq = self.transmit_outstanding(now, mac, tx);
            log::info!(
                "PBA seq {}: {}; resending as seq {seq}",
                pba.sequence,
                pba.status
            );
            return;
        }
        log::warn!(
            "PBA seq {} rejected: {} ({}): {} not registered",
            pba.sequence,
            pba.status,
            u8::from(pba.status),
            macs(mac)
        );
        self.remove(now, mac, None, tx);
    }

    // ---- routes and RAs (RFC 5213 6.9.1.2, 6.10) ----

    /// Traffic to an HNP goes to the access link, traffic from it into the one
    /// tunnel to the LMA that every node behind this MAG shares (RFC 5213 6.10.5).
    fn install_routes(&mut self, port: PortId, hnps: &[Ipv6Net]) {
        let (local, remote) = (self.proxy_coa(), self.cfg.lmaa);
        for hnp in hnps {
            self.engine.fib.insert_v6(*hnp, NextHop::Connected { port });
            let id = self.engine.tunnels.acquire(local, remote);
            if let Some(NextHop::Tunnel(old)) =
                self.engine.src_fib.insert_v6(*hnp, NextHop::Tunnel(id))
            {
                self.engine.tunnels.release(old);
            }
        }
    }

    fn remove_routes(&mut self, hnps: &[Ipv6Net]) {
        for hnp in hnps {
            self.engine.fib.remove_v6(hnp);
            if let Some(NextHop::Tunnel(id)) = self.engine.src_fib.remove_v6(hnp) {
                self.engine.tunnels.release(id);
            }
        }
    }

    /// The node's unicast RA with exactly its HNPs, then the next one scheduled.
    fn send_ra(&mut self, now: Instant, mac: EthernetAddress, tx: &mut dyn Tx) {
        let Some(e) = self.bul.get(&mac).filter(|e| e.is_registered()) else {
            return;
        };
        let left = e
            .lifetime_left(now)
            .map_or(0, |d| u32::try_from(d.secs()).unwrap_or(u32::MAX));
        let params = node_ra(&e.hnps, left, self.cfg.ra_interval, self.access_mtu(e.port));
        let (port, dst) = (e.port, ra_destination(e.link_local));
        if let Some(nd) = self.engine.nd_mut(port) {
            nd.send_ra_to(mac, dst, &params, tx);
        }
        self.counters.bump("mag.ra.sent");
        if let Some(e) = self.bul.get_mut(&mac) {
            e.ra_sent_at.get_or_insert(now);
        }
        self.timers.set(Timer::Ra(mac), now + self.cfg.ra_interval);
    }

    /// The periodic RA, and a reachability probe of the node: NUD alone only
    /// checks neighbors that traffic flows to, and an idle node must still be
    /// noticed when it leaves (RFC 5213 6.9.1.3 relies on detecting detachment).
    fn on_ra_timer(&mut self, now: Instant, mac: EthernetAddress, tx: &mut dyn Tx) {
        self.send_ra(now, mac, tx);
        let Some((port, Some(ip), last_heard)) = self
            .bul
            .get(&mac)
            .map(|e| (e.port, e.nud_address(), e.last_heard))
        else {
            return;
        };
        // A VM that left without a word (live migration) may still be REACHABLE in
        // the cache for reachable_time; silence for a whole RA interval is doubt
        // enough to probe it (RFC 4861 7.3.1), so detachment takes seconds.
        let silent = now - last_heard >= self.cfg.ra_interval;
        if let Some(nd) = self.engine.nd_mut(port)
            && nd.probe(now, ip, mac, silent, tx)
        {
            self.counters.bump("mag.nud.probes");
            log::debug!("{} idle: probing {ip}", macs(mac));
        }
    }

    // ---- detachment (RFC 5213 6.9.1.3, 6.9.2) ----

    fn on_unreachable(
        &mut self,
        now: Instant,
        port: PortId,
        mac: Option<EthernetAddress>,
        ip: Ipv6Addr,
        tx: &mut dyn Tx,
    ) {
        if port == UPLINK {
            if ip == self.cfg.lmaa {
                log::warn!("the LMA {ip} is unreachable on the uplink");
            }
            return;
        }
        let owner = mac
            .and_then(|m| self.bul.get(&m))
            .filter(|e| e.port == port && e.addresses.contains(&ip))
            .or_else(|| self.bul.by_address(port, &ip))
            .map(|e| (e.mac, e.nud_address()));
        let Some((node, nud_ip)) = owner else {
            return;
        };
        if nud_ip == Some(ip) {
            self.counters.bump("mag.detach.nud");
            log::info!("{} unreachable at {ip} (NUD): detached", macs(node));
            self.remove(now, node, Some("detached"), tx);
            return;
        }
        // One address gone (e.g. a temporary one retired): check the node itself.
        if let Some(e) = self.bul.get_mut(&node) {
            e.addresses.retain(|a| *a != ip);
        }
        if let (Some(nud_ip), Some(nd)) = (nud_ip, self.engine.nd_mut(port)) {
            nd.probe(now, nud_ip, node, false, tx);
        }
    }

    /// Drops a node's binding: routes, neighbor entries and timers go, and a
    /// registered binding is de-registered at the LMA when `dereg` says why
    /// (RFC 5213 6.9.1.3; lifetime 0, not retransmitted: the MAG is done with it).
    fn remove(&mut self, now: Instant, mac: EthernetAddress, dereg: Option<&str>, tx: &mut dyn Tx) {
        let Some(e) = self.bul.remove(&mac) else {
            return;
        };
        self.timers.cancel(&Timer::Binding(mac));
        self.timers.cancel(&Timer::Ra(mac));
        if let Some(nd) = self.engine.nd_mut(e.port) {
            for ip in &e.addresses {
                nd.forget(ip);
            }
        }
        if !e.is_registered() {
            return;
        }
        self.remove_routes(&e.hnps);
        let Some(why) = dereg else {
            return;
        };
        let seq = self.take_sequence();
        let pbu: PbuRepr = build_pbu(
            seq,
            &PbuContent {
                mn_id: &e.mn_id,
                hnps: &e.hnps,
                handoff: HandoffIndicator::Unknown,
                access_technology: self.cfg.access_technology,
                mac,
                mag_link_local: self.access_link_local(e.port),
                timestamp: self.cfg.timestamps.then(|| timestamp(self.cfg.epoch, now)),
                lifetime: 0,
            },
        );
        let packet = pbu_packet(self.proxy_coa(), self.cfg.lmaa, &pbu);
        self.counters.bump("mag.pbu.dereg");
        self.engine.send_ipv6(now, &packet, tx);
        log::info!(
            "{} ({}) {why} -> de-registration PBU seq {seq} for {} to {}",
            e.mac_text(),
            e.mn_id,
            prefixes(&e.hnps),
            self.cfg.lmaa
        );
    }

    fn on_nd(&mut self, now: Instant, port: PortId, event: NdEvent, tx: &mut dyn Tx) {
        log::debug!("port {port}: {event:?}");
        if let NdEvent::Unreachable { mac, ip } = event {
            self.on_unreachable(now, port, mac, ip, tx);
            return;
        }
        if port == UPLINK {
            return;
        }
        if let Some(s) = attach::from_nd(&event) {
            self.on_sighting(now, port, s, tx);
        }
    }

    // ---- control (tapmipctl) ----

    fn bindings_table(&self, now: Instant) -> Table {
        let mut t = Table::new(
            "binding update list",
            &[
                "mn_id",
                "mac",
                "port",
                "hnps",
                "state",
                "seq",
                "lifetime_left_s",
                "retransmissions",
                "trigger",
                "detected_at_ms",
                "ra_sent_at_ms",
                "handoff_ms",
            ],
        );
        for e in self.bul.sorted() {
            let ms = |i: Option<Instant>| i.map_or("-".into(), |i| i.total_millis().to_string());
            t.row(vec![
                e.mn_id.clone(),
                e.mac_text(),
                e.port.to_string(),
                prefixes(&e.hnps),
                e.state.to_string(),
                e.sequence.to_string(),
                e.lifetime_left(now)
                    .map_or("-".into(), |d| d.secs().to_string()),
                e.retransmissions.to_string(),
                e.trigger.to_string(),
                ms(Some(e.detected_at)),
                ms(e.ra_sent_at),
                e.ra_sent_at.map_or("-".into(), |at| {
                    (at - e.detected_at).total_millis().to_string()
                }),
            ]);
        }
        t
    }
}

impl Core for Mag {
    fn on_frame(&mut self, now: Instant, port: PortId, frame: &[u8], tx: &mut dyn Tx) {
        // Checked before the engine, which drops frames not addressed to the MAG.
        let source = (port != UPLINK)
            .then(|| attach::frame_source(frame))
            .flatten();
        if let Some(e) = source.and_then(|(mac, _)| self.bul.get_mut(&mac)) {
            e.last_heard = now;
        }
        // The engine drops what is not IPv6, such as a hypervisor's RARP.
        if let Some(s) = source.and_then(|_| attach::from_rarp(frame)) {
            return self.on_sighting(now, port, s, tx);
        }
        let unknown = source.filter(|(mac, _)| {
            self.cfg.detect.unknown_source
                && !self.bul.contains(mac)
                && self.policy.node_by_mac(&mac.0).is_some()
        });
        match self.engine.on_frame(now, port, frame, tx) {
            Some(EngineEvent::Local { port, packet, .. }) => self.on_local(now, port, packet, tx),
            Some(EngineEvent::Nd { port, event }) => self.on_nd(now, port, event, tx),
            None => {}
        }
        if let Some((mac, address)) = unknown
            && !self.bul.contains(&mac)
        {
            let s = Sighting {
                mac,
                trigger: Trigger::UnknownSource,
                address,
            };
            self.on_sighting(now, port, s, tx);
        }
    }

    fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) {
        for (port, event) in self.engine.on_timer(now, tx) {
            self.on_nd(now, port, event, tx);
        }
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                Timer::Binding(mac) => self.on_binding_timer(now, mac, tx),
                Timer::Ra(mac) => self.on_ra_timer(now, mac, tx),
                Timer::LmaNeighbor => self.keep_lma_neighbor(now, tx),
            }
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        match (self.engine.poll_at(), self.timers.peek_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn control(&mut self, now: Instant, request: &Request, _tx: &mut dyn Tx) -> Response {
        match request {
            Request::Bindings {} => Response::tables(vec![self.bindings_table(now)]),
            Request::Status {} => {
                let engine = engine_tables::status(&self.engine, &self.counters());
                Response::tables([vec![self.bindings_table(now)], engine].concat())
            }
            other => engine_tables::answer(&self.engine, &self.counters(), other),
        }
    }

    /// RFC 5213 6.9.1.3: a MAG going away de-registers every binding it holds.
    fn on_stop(&mut self, now: Instant, tx: &mut dyn Tx) {
        let all: Vec<EthernetAddress> = self.bul.sorted().iter().map(|e| e.mac).collect();
        for mac in all {
            self.remove(now, mac, Some("MAG stopping"), tx);
        }
    }
}
