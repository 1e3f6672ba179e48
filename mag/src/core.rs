//! The MAG protocol core (RFC 5213 section 6): the forwarding [`Engine`] plus the
//! Binding Update List, driven by `(now, frame)` and timers only. Its parts:
//!
//! - `attachment`: a node seen on an access link becomes a BUL entry and a PBU.
//! - `exchange`: PBU/PBA exchanges: sending, retransmission, refresh, answers.
//! - `node_link`: a registered node's routes, its RAs and reachability probes.
//! - `detachment`: a node that left is de-registered; a node is confirmed.
//! - `heartbeat`: RFC 5847 heartbeats with the LMA and restart recovery.
//! - `ctl`: the control-socket tables.

use crate::admission::Waiting;
use crate::attach::{self, DetectConfig, Sighting, Trigger};
use crate::bul::BindingUpdateList;
use crate::proactive::{HintConfig, Hints};
use ipnet::Ipv6Net;
use router::aaa::{AaaConfig, PolicyStore, RadiusConfigError, Token};
use router::auth::{Authenticator, KeyRing, Rekey, Sending, Signalling};
use router::core::{Core, PortId, Rx, Tx};
use router::counters::Counters;
use router::ctl::{Request, Response, Table};
use router::engine::{Engine, EngineEvent, EnginePort};
use router::heartbeat::{HeartbeatConfig, HeartbeatPeer};
use router::mac::Mac;
use router::nd::{NdEvent, NudConfig};
use router::policy::Policy;
use router::timer::TimerQueue;
use router::timestamp::WallClock;
use router::wire::AccessTechnologyType;
use router::{Duration, Instant};
use std::collections::HashMap;
use std::net::{Ipv6Addr, SocketAddr};

/// The uplink is always port 0; access port `i` of [`MagConfig::access`] is `i + 1`.
pub const UPLINK: PortId = 0;

/// The port towards the LMA.
#[derive(Debug, Clone)]
pub struct UplinkConfig {
    pub mac: Mac,
    pub mtu: usize,
    /// The MAG's address on the uplink with its on-link prefix: the Proxy-CoA.
    pub proxy_coa: Ipv6Net,
}

/// One access link.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    /// The shared MAC of every MAG's access links (RFC 5213 6.9.3).
    pub mac: Mac,
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
    /// Heartbeats to the LMA (RFC 5847); `None` sends none.
    pub heartbeat: Option<HeartbeatConfig>,
    /// This MAG's Restart Counter (RFC 5847 3.2), changed at every start.
    pub restart_counter: u32,
    /// The DHCP lease handed to IPv4 nodes, in seconds; 0: the binding's
    /// granted lifetime.
    pub dhcp_lease_secs: u32,
    /// The keys this MAG shares with its LMA (under the LMAA). The default has
    /// none: no PBA is accepted until they are given.
    pub signalling: Signalling,
    /// Who says whether a node may attach here (see `admission`).
    pub aaa: AaaConfig,
    /// Nodes waiting for the policy store's answer at most (docs/limits.md).
    pub max_admission_questions: usize,
    /// Hypervisor hints: timeouts and how much downlink is held per node.
    pub hints: HintConfig,
}

impl MagConfig {
    /// A MAG with the RFC defaults: every trigger, 30 s RAs, 3600 s bindings,
    /// timestamps, no local routing, 802.3 access technology, 60 s heartbeats.
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
            heartbeat: Some(HeartbeatConfig::default()),
            restart_counter: 0,
            dhcp_lease_secs: 0,
            signalling: Signalling::default(),
            aaa: AaaConfig::File,
            max_admission_questions: 1024,
            hints: HintConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Timer {
    /// Retransmission, refresh or expiry, depending on the binding's state.
    Binding(Mac),
    /// The node's next periodic RA (and reachability probe).
    Ra(Mac),
    /// Keeps the LMA's link-layer address known ahead of need.
    LmaNeighbor,
    /// The next Heartbeat Request to the LMA.
    Heartbeat,
    /// Asks who is on the access links, to re-learn nodes after a restart.
    Discover(u8),
    /// An announcement of the node put off by MAX_UPDATE_RATE.
    Announced(Mac),
    /// Asks the policy store again about a node no AAA server answered for.
    Reask(Mac),
    /// An "arriving" hint runs out (or its arrival's window ends).
    Arrival(Mac),
    /// A "leaving" hint runs out.
    Leaving(Mac),
    /// The next burst of an arrived node's held packets.
    Drain(Mac),
    /// Copies from a peer MAG that no hint claimed in time are dropped.
    EarlyCopies,
}

/// How often the MAG checks that it knows the LMA's link-layer address.
const LMA_NEIGHBOR_CHECK: Duration = Duration::from_secs(10);

pub struct Mag {
    pub(crate) cfg: MagConfig,
    pub(crate) policy: Policy,
    pub(crate) engine: Engine,
    pub(crate) bul: BindingUpdateList,
    pub(crate) timers: TimerQueue<Timer>,
    pub(crate) next_sequence: u16,
    pub(crate) lma: Option<HeartbeatPeer>,
    /// Checks what the LMA sends and signs what goes to it.
    pub(crate) auth: Authenticator,
    pub(crate) store: Box<dyn PolicyStore>,
    /// Nodes waiting for the store's answer, and the lookup asked per node.
    pub(crate) waiting: HashMap<Token, Waiting>,
    pub(crate) asking: HashMap<Mac, Token>,
    /// Nodes the store refused, not asked about again until then.
    pub(crate) refused: HashMap<Mac, Instant>,
    /// Nodes no AAA server answered for, asked about again on a timer.
    pub(crate) retrying: HashMap<Mac, Waiting>,
    pub(crate) hints: Hints,
    pub(crate) counters: Counters,
}

impl Mag {
    /// A MAG; fails only when its RADIUS configuration is unusable.
    pub fn new(cfg: MagConfig, policy: Policy, now: Instant) -> Self {
        Self::try_new(cfg, policy, now).unwrap_or_else(|e| panic!("MAG configuration: {e}"))
    }

    pub fn try_new(
        cfg: MagConfig,
        policy: Policy,
        now: Instant,
    ) -> Result<Self, RadiusConfigError> {
        let store = cfg.aaa.open(&policy, &cfg.name)?;
        let mut uplink = EnginePort::new(cfg.uplink.mac);
        uplink.mtu = cfg.uplink.mtu;
        uplink.addresses = vec![cfg.uplink.proxy_coa];
        let mut ports = vec![uplink];
        for a in &cfg.access {
            let mut port = EnginePort::new(a.mac);
            port.mtu = a.mtu;
            port.link_local = Some(a.link_local);
            port.nud = cfg.access_nud;
            port.dhcp_server = true;
            ports.push(port);
        }
        let mut engine = Engine::new(ports, now);
        engine.local_routing = cfg.local_routing;
        // A peer MAG's copy may overtake the "arriving" hint it belongs to
        // (`forwarding`): the engine, knowing no such tunnel, would drop it.
        engine.pass_up_unknown_tunnels = true;
        if !cfg.uplink.proxy_coa.contains(&cfg.lmaa) {
            // The LMA is normally on the uplink's link; otherwise still reach it there.
            let host = Ipv6Net::new(cfg.lmaa, 128).unwrap_or(cfg.uplink.proxy_coa);
            engine.routes_mut().connect(host, UPLINK);
        }
        let mut timers = TimerQueue::new();
        timers.set(Timer::LmaNeighbor, now);
        timers.set(Timer::Discover(0), now);
        let lma = cfg.heartbeat.map(|hb| {
            let peer = HeartbeatPeer::new(cfg.uplink.proxy_coa.addr(), cfg.lmaa, hb, now);
            timers.set(Timer::Heartbeat, peer.poll_at());
            peer
        });
        let auth = Authenticator::new(cfg.signalling.clone(), Sending::Newest);
        Ok(Mag {
            auth,
            cfg,
            policy,
            engine,
            bul: BindingUpdateList::default(),
            timers,
            next_sequence: 1,
            lma,
            store,
            waiting: HashMap::new(),
            asking: HashMap::new(),
            refused: HashMap::new(),
            retrying: HashMap::new(),
            hints: Hints::default(),
            counters: Counters::default(),
        })
    }

    /// Resolves the LMA address before any PBU needs it: a handoff's first PBU
    /// then leaves at once instead of after an NS/NA round trip over the WAN.
    fn keep_lma_neighbor(&mut self, now: Instant, tx: &mut dyn Tx) {
        if !self.lma_resolved() {
            let lmaa = self.cfg.lmaa;
            if let Some(nd) = self.engine.nd_mut(UPLINK) {
                nd.solicit(now, lmaa, tx);
            }
        }
        self.timers
            .set(Timer::LmaNeighbor, now + LMA_NEIGHBOR_CHECK);
    }

    /// Whether a frame to the LMA would leave at once (its link-layer address
    /// is known) rather than wait in neighbor resolution.
    pub(crate) fn lma_resolved(&self) -> bool {
        self.engine
            .nd(UPLINK)
            .and_then(|nd| nd.neighbor(&self.cfg.lmaa))
            .is_some_and(|(_, mac)| mac.is_some())
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

    /// The MAG's own state, entry by kind (see `engine_tables::sizes`).
    pub fn sizes(&self) -> [(&'static str, usize); 7] {
        [
            ("binding update list", self.bul.len()),
            ("timers", self.timers.len()),
            ("nodes awaiting the policy store", self.waiting.len()),
            ("nodes refused recently", self.refused.len()),
            ("nodes asked about again", self.retrying.len()),
            ("hinted nodes", self.hints.len()),
            ("copies before their hint", self.hints.early.len()),
        ]
    }

    /// The engine's counters and the MAG's own (`mag.*`).
    pub fn counters(&self) -> Counters {
        let mut all = self.engine.all_counters();
        for (name, v) in self.counters.iter().chain(self.store.counters().iter()) {
            all.add(name, v);
        }
        all
    }

    pub(crate) fn proxy_coa(&self) -> Ipv6Addr {
        self.cfg.uplink.proxy_coa.addr()
    }

    pub(crate) fn take_sequence(&mut self) -> u16 {
        let s = self.next_sequence;
        self.next_sequence = s.wrapping_add(1);
        s
    }

    /// What the engine hands the MAG from a frame it did not forward.
    fn on_event(&mut self, now: Instant, event: Option<EngineEvent<'_>>, tx: &mut dyn Tx) {
        match event {
            Some(EngineEvent::Local { port, packet, .. }) => self.on_local(now, port, packet, tx),
            Some(EngineEvent::Nd { port, event }) => self.on_nd(now, port, event, tx),
            Some(EngineEvent::Local4 {
                port,
                src_mac,
                packet,
            }) if port != UPLINK => self.on_local4(now, port, src_mac, packet, tx),
            Some(EngineEvent::Local4 { .. }) => self.engine.counters.bump("drop.no_local_service"),
            Some(EngineEvent::Arp { port, event }) => self.on_arp(now, port, event, tx),
            None => {}
        }
    }

    fn on_nd(&mut self, now: Instant, port: PortId, event: NdEvent, tx: &mut dyn Tx) {
        log::debug!("port {port}: {event:?}");
        match (port, event) {
            (UPLINK, NdEvent::Reachable { ip, .. }) if ip == self.cfg.lmaa => {
                self.send_unsent(now, tx)
            }
            (UPLINK, NdEvent::Unreachable { ip, .. }) if ip == self.cfg.lmaa => {
                log::warn!(
                    "the LMA {ip} is unreachable on the uplink (neighbor resolution failed)"
                );
            }
            (UPLINK, _) => {}
            (_, NdEvent::Unreachable { mac, ip }) => self.on_unreachable(now, port, mac, ip, tx),
            (_, NdEvent::Reachable { mac, .. }) => self.on_confirmed(now, mac, tx),
            (_, event) => {
                if let Some(s) = attach::from_nd(&event) {
                    self.on_sighting(now, port, s, tx);
                }
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

impl Core for Mag {
    /// From the LMA's side a superframe is forwarded whole ([`Engine::on_rx`]);
    /// on an access link every frame is also a sighting of its node, so there
    /// it is cut and each segment taken as an ordinary frame.
    ///
    /// Copies a peer MAG tunnels here for a hinted node are looked for in
    /// ordinary frames only ([`Core::on_frame`]): while they may come, the
    /// uplink's frames take that path too.
    fn on_rx(&mut self, now: Instant, port: PortId, rx: Rx<'_>, tx: &mut dyn Tx) {
        if port != UPLINK || self.hints.takes_copies() {
            if let Err(e) = rx.into_plain(&mut |frame| self.on_frame(now, port, frame, tx)) {
                log::debug!("port {port}: dropped a frame: {e}");
            }
            return;
        }
        let event = self.engine.on_rx(now, port, rx, tx);
        self.on_event(now, event, tx);
        if self.hints.holding() {
            self.collect_held(now, tx);
        }
    }

    fn on_frame(&mut self, now: Instant, port: PortId, frame: &[u8], tx: &mut dyn Tx) {
        // Checked before the engine, which drops frames not addressed to the MAG.
        let source = (port != UPLINK)
            .then(|| attach::frame_source(frame))
            .flatten();
        if let Some((mac, _)) = source
            && self.is_expected(&mac)
        {
            self.hinted_node_seen(now, port, mac, tx);
        }
        let heard = source.is_some_and(|(mac, _)| self.heard(now, mac));
        if let Some((mac, Some(ip))) = source {
            self.learn_from_traffic(mac, ip);
        }
        // The engine drops what is not IPv6, such as a hypervisor's RARP.
        if let Some(s) = source.and_then(|_| attach::from_rarp(frame)) {
            if heard {
                self.on_confirmed(now, s.mac, tx);
            }
            return self.on_sighting(now, port, s, tx);
        }
        let unknown = source.filter(|(mac, _)| {
            self.cfg.detect.unknown_source
                && !self.bul.contains(mac)
                && self.policy.node_by_mac(mac).is_some()
        });
        let event = self.engine.on_frame(now, port, frame, tx);
        self.on_event(now, event, tx);
        if self.hints.holding() {
            self.collect_held(now, tx);
        }
        if heard && let Some((mac, _)) = source {
            self.on_confirmed(now, mac, tx);
        }
        if let Some((mac, address)) = unknown
            && !self.bul.contains(&mac)
        {
            let configuring = address.is_some_and(|ip| ip.is_unspecified());
            let s = Sighting {
                mac,
                trigger: if configuring {
                    Trigger::Configuring
                } else {
                    Trigger::UnknownSource
                },
                address: address.filter(|ip| !ip.is_unspecified()),
            };
            self.on_sighting(now, port, s, tx);
        }
    }

    fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) {
        for (port, event) in self.engine.on_timer(now, tx) {
            self.on_nd(now, port, event, tx);
        }
        for (port, event) in self.engine.take_arp_events() {
            self.on_arp(now, port, event, tx);
        }
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                Timer::Binding(mac) => self.on_binding_timer(now, mac, tx),
                Timer::Ra(mac) => self.on_ra_timer(now, mac, tx),
                Timer::LmaNeighbor => self.keep_lma_neighbor(now, tx),
                Timer::Heartbeat => self.heartbeat_timer(now, tx),
                Timer::Discover(round) => self.discover(now, round, tx),
                Timer::Announced(mac) => self.on_announced_timer(now, mac, tx),
                Timer::Reask(mac) => self.on_reask_timer(now, mac, tx),
                Timer::Arrival(mac) => self.on_arrival_timer(now, mac, tx),
                Timer::Leaving(mac) => self.on_leaving_timer(now, mac, tx),
                Timer::Drain(mac) => self.drain_step(now, mac, tx),
                Timer::EarlyCopies => self.expire_early_copies(now),
            }
        }
        self.store_timer(now, tx);
    }

    fn poll_at(&self) -> Option<Instant> {
        [
            self.engine.poll_at(),
            self.timers.peek_at(),
            self.store.poll_at(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8], tx: &mut dyn Tx) {
        self.on_store_datagram(now, from, datagram, tx);
    }

    fn control(&mut self, now: Instant, request: &Request, tx: &mut dyn Tx) -> Response {
        match request {
            Request::Arriving { .. } | Request::Leaving { .. } => self.on_hint(now, request, tx),
            _ => crate::ctl::answer(self, now, request),
        }
    }

    /// RFC 5213 6.9.1.3: a MAG going away de-registers every binding it holds.
    fn on_stop(&mut self, now: Instant, tx: &mut dyn Tx) {
        let all: Vec<Mac> = self.bul.sorted().iter().map(|e| e.mac).collect();
        for mac in all {
            self.remove(now, mac, Some("MAG stopping"), tx);
        }
    }
}
