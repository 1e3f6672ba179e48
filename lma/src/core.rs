//! The LMA core: a plain IPv6 router (the [`Engine`]) plus the PMIPv6 control
//! plane of RFC 5213 section 5, driven by `(now, frame)` and timers only.

use crate::binding_cache::{BindingCache, BindingId};
use crate::hnp_pool::HnpPools;
use crate::ipv4_home::Ipv4Pools;
use crate::limits::{Gate, LmaLimits};
use crate::pbu::Sender;
use router::aaa::{AaaConfig, PolicyStore, RadiusConfigError, Token};
use router::auth::{Authenticator, KeyRing, Rekey, Sending, Signalling};
use router::core::{Core, PortId, Rx, Tx};
use router::counters::Counters;
use router::ctl::Table;
use router::ctl::{Request, Response};
use router::engine::{Engine, EngineEvent, EnginePort};
use router::heartbeat::{HeartbeatConfig, HeartbeatPeer};
pub use router::policy::Ordering;
use router::policy::Policy;
use router::timer::TimerQueue;
use router::timestamp::WallClock;
use router::tunnel::TunnelId;
use router::wire::{IPPROTO_MH, PbuRepr};
use router::{Duration, Instant};
use smoltcp::wire::{IpProtocol, Ipv6Packet};
use std::collections::HashMap;
use std::net::{Ipv6Addr, SocketAddr};

#[derive(Debug, Clone)]
pub struct LmaConfig {
    pub name: String,
    /// The LMA's links (core and WAN), with addresses and RA settings.
    pub ports: Vec<EnginePort>,
    pub policy: Policy,
    /// Wall-clock time at `Instant` zero, for timestamps (RFC 5213 8.8).
    pub epoch: WallClock,
    /// How PBUs of a MAG whose policy entry does not say are ordered.
    pub ordering: Ordering,
    /// TimestampValidityWindow (RFC 5213 9.2).
    pub timestamp_window: Duration,
    /// Longest lifetime granted, in seconds.
    pub max_lifetime_secs: u32,
    /// MinDelayBeforeBCEDelete (RFC 5213 9.2).
    pub min_delay_before_bce_delete: Duration,
    /// MaxDelayBeforeNewBCEAssign (RFC 5213 9.2).
    pub max_delay_before_new_bce_assign: Duration,
    /// Heartbeats to every MAG that registered a node (RFC 5847); `None` sends
    /// none (requests from MAGs are answered either way).
    pub heartbeat: Option<HeartbeatConfig>,
    /// This LMA's Restart Counter (RFC 5847 3.2): must change whenever the LMA
    /// restarts, e.g. the wall-clock second it started at.
    pub restart_counter: u32,
    /// The keys shared with each MAG (by its Proxy-CoA). The default has none:
    /// every PBU is refused until they are given.
    pub signalling: Signalling,
    /// Who authorises MAGs for nodes and assigns their prefixes.
    pub aaa: AaaConfig,
    /// Caps and signalling rates (`limits`, docs/limits.md).
    pub limits: LmaLimits,
}

impl LmaConfig {
    /// A configuration with the RFC 5213 section 9.2 defaults.
    pub fn new(name: &str, ports: Vec<EnginePort>, policy: Policy, epoch: WallClock) -> Self {
        LmaConfig {
            name: name.to_string(),
            ports,
            policy,
            epoch,
            ordering: Ordering::Timestamps,
            timestamp_window: Duration::from_millis(300),
            max_lifetime_secs: 3600,
            min_delay_before_bce_delete: Duration::from_millis(10_000),
            max_delay_before_new_bce_assign: Duration::from_millis(1_500),
            heartbeat: Some(HeartbeatConfig::default()),
            restart_counter: u32::try_from(epoch.as_secs()).unwrap_or(u32::MAX),
            signalling: Signalling::default(),
            aaa: AaaConfig::File,
            limits: LmaLimits::default(),
        }
    }
}

/// What a timer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// Lifetime end of an Active entry, or deletion of a de-registered one.
    Binding(BindingId),
    /// End of the wait for a de-registration before taking an HI=4 PBU.
    Pending(BindingId),
    /// The next Heartbeat Request to a MAG.
    Heartbeat(Ipv6Addr),
    /// The tunnel to a MAG a node just left may go (`pbu::apply`).
    Linger(Ipv6Addr),
}

/// A PBU with HI=4 held while the previous MAG may still de-register
/// (MaxDelayBeforeNewBCEAssign, RFC 5213 5.4.1).
#[derive(Debug, Clone)]
pub(crate) struct PendingPbu {
    pub from: Sender,
    pub pbu: PbuRepr,
}

pub struct Lma {
    pub(crate) name: String,
    pub(crate) epoch: WallClock,
    pub(crate) ordering: Ordering,
    pub(crate) timestamp_window: Duration,
    pub(crate) max_lifetime_secs: u32,
    pub(crate) min_delay_before_bce_delete: Duration,
    pub(crate) max_delay_before_new_bce_assign: Duration,
    pub(crate) policy: Policy,
    pub(crate) engine: Engine,
    pub(crate) cache: BindingCache,
    pub(crate) pools: HnpPools,
    pub(crate) ipv4_pools: Ipv4Pools,
    pub(crate) timers: TimerQueue<Timer>,
    pub(crate) pending: HashMap<BindingId, PendingPbu>,
    /// Tunnels kept a moment for what the MAGs nodes just left still send.
    pub(crate) lingering: HashMap<Ipv6Addr, TunnelId>,
    pub(crate) heartbeat: Option<HeartbeatConfig>,
    pub(crate) restart_counter: u32,
    /// The MAGs watched with heartbeats: every MAG that registered a node.
    pub(crate) mags: HashMap<Ipv6Addr, HeartbeatPeer>,
    /// Checks and signs every PBU, PBA and Heartbeat; follows each MAG's key.
    pub(crate) auth: Authenticator,
    pub(crate) store: Box<dyn PolicyStore>,
    /// PBUs held for the policy store's answer, and the lookup asked per node.
    pub(crate) awaiting: HashMap<Token, PendingPbu>,
    pub(crate) asking: HashMap<String, Token>,
    /// The signalling rate limits and the caps.
    pub(crate) gate: Gate,
    pub(crate) counters: Counters,
}

impl Lma {
    /// An LMA; fails only when its RADIUS configuration is unusable.
    pub fn new(cfg: LmaConfig, now: Instant) -> Self {
        Self::try_new(cfg, now).unwrap_or_else(|e| panic!("LMA configuration: {e}"))
    }

    pub fn try_new(cfg: LmaConfig, now: Instant) -> Result<Self, RadiusConfigError> {
        let store = cfg.aaa.open(&cfg.policy, &cfg.name)?;
        let gate = Gate::new(cfg.limits, cfg.policy.mags.iter().map(|m| m.address), now);
        Ok(Lma {
            name: cfg.name,
            epoch: cfg.epoch,
            ordering: cfg.ordering,
            timestamp_window: cfg.timestamp_window,
            max_lifetime_secs: cfg.max_lifetime_secs,
            min_delay_before_bce_delete: cfg.min_delay_before_bce_delete,
            max_delay_before_new_bce_assign: cfg.max_delay_before_new_bce_assign,
            pools: HnpPools::new(&cfg.policy.pools),
            ipv4_pools: Ipv4Pools::new(&cfg.policy),
            // One entry per node at most: the policy bounds the cache.
            cache: BindingCache::with_capacity(cfg.policy.nodes.len()),
            policy: cfg.policy,
            engine: Engine::new(cfg.ports, now),
            timers: TimerQueue::new(),
            pending: HashMap::new(),
            lingering: HashMap::new(),
            heartbeat: cfg.heartbeat,
            restart_counter: cfg.restart_counter,
            mags: HashMap::new(),
            auth: Authenticator::new(cfg.signalling, Sending::FollowPeer),
            store,
            awaiting: HashMap::new(),
            asking: HashMap::new(),
            gate,
            counters: Counters::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn bindings(&self) -> &BindingCache {
        &self.cache
    }

    /// The tunnels kept with no route into them for a MAG a node just left,
    /// one use each.
    pub fn lingering_tunnels(&self) -> impl Iterator<Item = TunnelId> + '_ {
        self.lingering.values().copied()
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The LMA's own state, entry by kind (see `engine_tables::sizes`).
    pub fn sizes(&self) -> [(&'static str, usize); 5] {
        [
            ("bindings", self.cache.len()),
            ("held PBUs", self.pending.len()),
            ("timers", self.timers.len()),
            ("watched MAGs", self.mags.len()),
            ("PBUs awaiting the policy store", self.awaiting.len()),
        ]
    }

    /// Engine, ND and LMA counters together.
    pub fn counters(&self) -> Counters {
        let mut all = self.engine.all_counters();
        for (name, value) in self.counters.iter().chain(self.store.counters().iter()) {
            all.add(name, value);
        }
        all
    }
}

/// Key rollover: the MAGs' keys change, the bindings stay.
impl Rekey for Lma {
    fn rekey(&mut self, keys: KeyRing) -> Table {
        self.auth.set_keys(keys);
        self.auth.table()
    }
}

impl Lma {
    fn on_event(&mut self, now: Instant, event: Option<EngineEvent<'_>>, tx: &mut dyn Tx) {
        match event {
            Some(EngineEvent::Local {
                port,
                src_mac,
                packet,
            }) => {
                let is_mh = Ipv6Packet::new_checked(packet)
                    .is_ok_and(|ip| ip.next_header() == IpProtocol::from(IPPROTO_MH));
                if is_mh {
                    self.on_mh(now, port, src_mac, packet, tx);
                } else {
                    self.engine.counters.bump("drop.no_local_service");
                }
            }
            Some(EngineEvent::Nd { port, event }) => {
                log::debug!("port {port}: {event:?}")
            }
            Some(EngineEvent::Local4 { .. }) => self.engine.counters.bump("drop.no_local_service"),
            Some(EngineEvent::Arp { port, event }) => log::debug!("port {port}: {event:?}"),
            None => {}
        }
    }
}

impl Core for Lma {
    fn on_frame(&mut self, now: Instant, port: PortId, frame: &[u8], tx: &mut dyn Tx) {
        let event = self.engine.on_frame(now, port, frame, tx);
        self.on_event(now, event, tx);
    }

    /// Superframes are forwarded whole to neighbors and cut to the tunnel MTU
    /// into a tunnel ([`Engine::on_rx`]).
    fn on_rx(&mut self, now: Instant, port: PortId, rx: Rx<'_>, tx: &mut dyn Tx) {
        let event = self.engine.on_rx(now, port, rx, tx);
        self.on_event(now, event, tx);
    }

    fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) {
        for (port, event) in self.engine.on_timer(now, tx) {
            log::debug!("port {port}: {event:?}");
        }
        for (port, event) in self.engine.take_arp_events() {
            log::debug!("port {port}: {event:?}");
        }
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                Timer::Binding(id) => self.binding_timer(now, id),
                Timer::Pending(id) => self.pending_timer(now, id, tx),
                Timer::Heartbeat(mag) => self.heartbeat_timer(now, mag, tx),
                Timer::Linger(mag) => self.end_linger(mag),
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

    fn control(&mut self, now: Instant, request: &Request, _tx: &mut dyn Tx) -> Response {
        crate::ctl::answer(self, now, request)
    }
}
