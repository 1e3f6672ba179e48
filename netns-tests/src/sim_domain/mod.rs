//! A PMIPv6 domain in memory (the lab's addresses) on [`SimNet`]: one LMA,
//! N MAGs, dual-stack VMs ([`SimHost`]: an HNP by SLAAC, an IPv4 home address
//! by DHCP) that migrate between the MAGs' access links, and a correspondent
//! on the LMA's core link. Tests and benchmarks build it, steer it
//! (move a VM, change a link, roll a MAG's key over) and look into the cores;
//! the fake clock makes every run repeat exactly from its seed. Signalling is
//! authenticated, as in the lab: each MAG shares a key with the LMA
//! ([`mag_key`]).
//!
//! ```text
//! cn --core-- LMA ==wan[i]== MAG[i] --access[i]-- VMs
//! ```

mod hints;
mod invariant;
pub mod random;

pub use crate::domain::probes::ProbeFamily;
pub use hints::{Handover, Stream};
pub use invariant::Bound;
use invariant::Events;
use ipnet::{Ipv4Net, Ipv6Net};
use lma::binding_cache::Binding;
use lma::{Lma, LmaConfig};
use mag::access::{FIXED_LINK_LOCAL, FIXED_MAC};
use mag::bul::BulEntry;
use mag::{AccessConfig, Mag, MagConfig, UplinkConfig};
use router::auth::{Algorithm, Key, KeyRing, Rekey, Signalling};
use router::engine::EnginePort;
use router::fib::NextHop;
use router::mac::Mac;
use router::plain::advert;
use router::policy::Policy;
use router::routes::RouteTable;
use router::sim::{LinkParams, NodeId, SegmentId, SimHost, SimNet};
use router::timestamp::WallClock;
use router::{Duration, Instant};
use smoltcp::wire::{Icmpv6Packet, IpProtocol, Ipv6Packet};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Wall-clock time at the simulation's `Instant` zero, shared by every core.
pub const EPOCH: WallClock = WallClock::from_secs(1_700_000_000);

const LMA_CORE: &str = "2001:db8:c::1/64";
const LMA_CORE4: &str = "192.0.2.1/24";
const CN_MAC: Mac = Mac([0x52, 0x54, 0, 0, 0x0c, 0x01]);
/// The correspondent's IPv4 address on the core link.
pub const CN_IPV4: &str = "192.0.2.100/24";

/// 1-based numbers appear in names and addresses, as in the lab.
fn serial(i: usize) -> u16 {
    u16::try_from(i + 1).unwrap_or(u16::MAX)
}

pub fn mag_name(m: usize) -> String {
    format!("mag{}", serial(m))
}

/// MAG `m`'s Proxy-CoA with the WAN prefix (2001:db8:ff:M::2/64).
pub fn proxy_coa(m: usize) -> Ipv6Net {
    Ipv6Net::new(
        Ipv6Addr::new(0x2001, 0xdb8, 0xff, serial(m), 0, 0, 0, 2),
        64,
    )
    .unwrap_or_default()
}

/// The LMA's address on MAG `m`'s WAN link (2001:db8:ff:M::1/64), MAG `m`'s LMAA.
pub fn lma_wan(m: usize) -> Ipv6Net {
    Ipv6Net::new(
        Ipv6Addr::new(0x2001, 0xdb8, 0xff, serial(m), 0, 0, 0, 1),
        64,
    )
    .unwrap_or_default()
}

/// The SPI every MAG's first key has.
pub const FIRST_SPI: u32 = 256;

/// The key MAG `m` and the LMA share under `spi`: 32 octets drawn from both.
pub fn mag_key(m: usize, spi: u32) -> Key {
    let mut rng = router::rng::SplitMix64::new(((m as u64) << 32) | u64::from(spi));
    let secret: Vec<u8> = (0..32).map(|_| rng.next_u64() as u8).collect();
    Key::new(spi, Algorithm::HmacSha256, &secret).unwrap_or_else(|e| panic!("{e}"))
}

pub fn vm_mac(v: usize) -> Mac {
    Mac([0x52, 0x54, 0, 0xaa, 0, serial(v) as u8])
}

pub fn vm_mn_id(v: usize) -> String {
    format!("vm{:02}@tapmip", serial(v))
}

/// VM `v`'s fixed HNP, 2001:db8:1:NN::/64.
pub fn vm_hnp(v: usize) -> Ipv6Net {
    Ipv6Net::new(Ipv6Addr::new(0x2001, 0xdb8, 1, serial(v), 0, 0, 0, 0), 64).unwrap_or_default()
}

/// VM `v`'s fixed IPv4 home address, 10.1.NN.5/24 (its router 10.1.NN.1).
pub fn vm_ipv4(v: usize) -> Ipv4Net {
    let n = u8::try_from(serial(v)).unwrap_or(u8::MAX);
    Ipv4Net::new(Ipv4Addr::new(10, 1, n, 5), 24).unwrap_or_default()
}

/// The policy text of a domain: every MAG accepted, every VM dual-stack with
/// its fixed HNP and IPv4 home address, and no MAG restriction.
pub fn policy_text(mags: usize, vms: usize) -> String {
    let mut text = String::new();
    for m in 0..mags {
        text += &format!(
            "[[mag]]\nname = \"{}\"\naddress = \"{}\"\n\n",
            mag_name(m),
            proxy_coa(m).addr()
        );
    }
    for v in 0..vms {
        text += &format!(
            "[[node]]\nmn_id = \"{}\"\nmac = \"{}\"\nhnps = [\"{}\"]\nipv4 = \"{}\"\n\n",
            vm_mn_id(v),
            vm_mac(v),
            vm_hnp(v),
            vm_ipv4(v)
        );
    }
    text
}

/// What to build; `Default` is two MAGs, one VM, clean links, RFC timers.
#[derive(Debug, Clone)]
pub struct DomainSpec {
    pub seed: u64,
    pub mags: usize,
    pub vms: usize,
    /// The LMA's policy file.
    pub lma_policy: String,
    /// The MAGs' policy file (the same as the LMA's unless a test wants them apart).
    pub mag_policy: String,
    pub core: LinkParams,
    pub wan: LinkParams,
    pub access: LinkParams,
    /// Interval of the LMA's multicast RAs on the core and WAN links.
    pub lma_ra_interval: Duration,
    /// PBUs, PBAs and Heartbeats carry the authentication option (the default).
    pub authenticated: bool,
    /// How long after the source MAG's "leaving" hint the destination MAG
    /// gets its "arriving" (a hypervisor tells two hosts, one after the
    /// other; the source's copies may reach the destination first).
    pub arriving_hint_delay: Duration,
}

impl DomainSpec {
    pub fn new(seed: u64, mags: usize, vms: usize) -> Self {
        let policy = policy_text(mags, vms);
        DomainSpec {
            seed,
            mags,
            vms,
            lma_policy: policy.clone(),
            mag_policy: policy,
            core: LinkParams::default(),
            wan: LinkParams::default(),
            access: LinkParams::default(),
            lma_ra_interval: Duration::from_secs(30),
            authenticated: true,
            arriving_hint_delay: Duration::ZERO,
        }
    }

    /// What the LMA checks with when MAG `m` holds the keys `spis[m]`.
    fn lma_signalling(&self, spis: &[Vec<u32>]) -> Signalling {
        if !self.authenticated {
            return Signalling::Insecure;
        }
        let mut ring = KeyRing::new();
        for (m, list) in spis.iter().enumerate() {
            for spi in list {
                ring.insert(proxy_coa(m).addr(), mag_key(m, *spi));
            }
        }
        Signalling::Authenticated(ring)
    }

    fn mag_signalling(&self, m: usize, spis: &[u32]) -> Signalling {
        if !self.authenticated {
            return Signalling::Insecure;
        }
        let mut ring = KeyRing::new();
        for spi in spis {
            ring.insert(lma_wan(m).addr(), mag_key(m, *spi));
        }
        Signalling::Authenticated(ring)
    }

    /// The LMA's configuration: core port 0, WAN port `m + 1` per MAG.
    pub fn lma_config(&self) -> LmaConfig {
        let mut ports = Vec::new();
        let wans = (0..self.mags).map(lma_wan);
        for (id, addr) in std::iter::once(parse_net(LMA_CORE)).chain(wans).enumerate() {
            let mut port = EnginePort::new(Mac([0x02, 0x4c, 0, 0, 0, id as u8]));
            port.addresses = vec![addr];
            if id == 0 {
                port.ipv4 = vec![LMA_CORE4.parse().unwrap_or_default()];
            }
            port.advertise = Some(advert(&[addr.trunc()], port.mtu, self.lma_ra_interval));
            port.answer_rs = true;
            ports.push(port);
        }
        let policy = Policy::parse(&self.lma_policy, "lma-policy.toml")
            .unwrap_or_else(|e| panic!("LMA policy: {e}"));
        let mut cfg = LmaConfig::new("lma", ports, policy, EPOCH);
        cfg.signalling = self.lma_signalling(&vec![vec![FIRST_SPI]; self.mags]);
        cfg
    }

    /// MAG `m`'s configuration: uplink on wan[m], one access link.
    pub fn mag_config(&self, m: usize) -> MagConfig {
        let uplink = UplinkConfig {
            mac: Mac([0x02, 0x7a, 0x6d, 0, 0, serial(m) as u8]),
            mtu: 1500,
            proxy_coa: proxy_coa(m),
        };
        let access = vec![AccessConfig {
            mac: FIXED_MAC,
            link_local: FIXED_LINK_LOCAL,
            mtu: 1500,
        }];
        let mut cfg = MagConfig::new(&mag_name(m), uplink, access, lma_wan(m).addr());
        cfg.epoch = EPOCH;
        cfg.signalling = self.mag_signalling(m, &[FIRST_SPI]);
        cfg
    }

    pub fn build(&self) -> SimDomain {
        self.build_with(|_| {}, |_, _| {})
    }

    /// Builds with the configurations adjusted first (timers, clocks, detection).
    pub fn build_with(
        &self,
        lma_tweak: impl FnOnce(&mut LmaConfig),
        mut mag_tweak: impl FnMut(usize, &mut MagConfig),
    ) -> SimDomain {
        router::sim::log::init_from_env();
        let now = Instant::from_millis(0);
        let mut net = SimNet::new(self.seed);
        let mut lma_cfg = self.lma_config();
        lma_tweak(&mut lma_cfg);
        let lma = net.add_node(Box::new(Lma::new(lma_cfg.clone(), now)));
        let core = net.add_segment(self.core);
        net.attach(lma, 0, core);
        let mag_policy = Policy::parse(&self.mag_policy, "mag-policy.toml")
            .unwrap_or_else(|e| panic!("MAG policy: {e}"));
        let (mut mags, mut wan, mut access) = (Vec::new(), Vec::new(), Vec::new());
        let mut mag_cfgs = Vec::new();
        for m in 0..self.mags {
            let mut cfg = self.mag_config(m);
            mag_tweak(m, &mut cfg);
            mag_cfgs.push(cfg.clone());
            let node = net.add_node(Box::new(Mag::new(cfg, mag_policy.clone(), now)));
            let w = net.add_segment(self.wan);
            let a = net.add_segment(self.access);
            net.attach(lma, m + 1, w);
            net.attach(node, mag::UPLINK, w);
            net.attach(node, 1, a);
            mags.push(node);
            wan.push(w);
            access.push(a);
        }
        let vms = (0..self.vms)
            .map(|v| net.add_node(Box::new(SimHost::new(vm_mac(v)))))
            .collect();
        let cn = net.add_node(Box::new(SimHost::new(CN_MAC)));
        net.attach(cn, 0, core);
        net.with_node::<SimHost, _>(cn, |h, _, tx| {
            let lma = Mac([0x02, 0x4c, 0, 0, 0, 0]);
            let router: Ipv4Net = parse_net(LMA_CORE4);
            h.set_ipv4(CN_IPV4.parse().unwrap_or_default(), router.addr(), lma);
            h.send_rs(tx)
        });
        SimDomain {
            net,
            lma,
            mags,
            vms,
            cn,
            core,
            wan,
            access,
            where_vm: vec![None; self.vms],
            next_seq: 0,
            lma_cfg,
            mag_cfgs,
            mag_policy,
            events: Events::new(self.mags, self.vms),
            spec: self.clone(),
            lma_spis: vec![vec![FIRST_SPI]; self.mags],
        }
    }
}

/// A domain built from `spec` with VM 0 booted at MAG `m` and registered there
/// (panics otherwise), one second after its registration.
pub fn booted(spec: &DomainSpec, m: usize) -> SimDomain {
    let mut d = spec.build();
    d.run_for(Duration::from_secs(1));
    d.boot(0, m);
    assert!(
        d.run_until(Duration::from_secs(30), |d| d.settled_at(0, m)),
        "VM 0 registers at MAG {m}"
    );
    // Timestamps tick in 1/65536 s: a PBU at the very same fake instant would not
    // be newer than the last one.
    d.run_for(Duration::from_secs(1));
    d
}

fn parse_net<N: std::str::FromStr + Default>(s: &str) -> N {
    s.parse().unwrap_or_default()
}

pub use router::icmp::echo_request;

/// The sequence number of an ICMPv4 Echo Reply from `from`, if `packet` is one.
fn echo4_reply_seq(packet: &[u8], from: Ipv4Addr) -> Option<u16> {
    let ip = smoltcp::wire::Ipv4Packet::new_checked(packet).ok()?;
    if ip.src_addr() != from || ip.next_header() != IpProtocol::Icmp {
        return None;
    }
    let icmp = smoltcp::wire::Icmpv4Packet::new_checked(ip.payload()).ok()?;
    (icmp.msg_type() == smoltcp::wire::Icmpv4Message::EchoReply).then(|| icmp.echo_seq_no())
}

/// The sequence number of an Echo Reply from `from`, if `packet` is one.
fn echo_reply_seq(packet: &[u8], from: Ipv6Addr) -> Option<u16> {
    let ip = Ipv6Packet::new_checked(packet).ok()?;
    if ip.src_addr() != from || ip.next_header() != IpProtocol::Icmpv6 {
        return None;
    }
    let icmp = Icmpv6Packet::new_checked(ip.payload()).ok()?;
    (u8::from(icmp.msg_type()) == 129).then(|| icmp.echo_seq_no())
}

pub struct SimDomain {
    pub net: SimNet,
    pub lma: NodeId,
    pub mags: Vec<NodeId>,
    pub vms: Vec<NodeId>,
    /// The correspondent on the core link.
    pub cn: NodeId,
    pub core: SegmentId,
    pub wan: Vec<SegmentId>,
    pub access: Vec<SegmentId>,
    /// The MAG whose access link each VM is on.
    where_vm: Vec<Option<usize>>,
    next_seq: u16,
    /// What the routers were built from, to restart them alike.
    lma_cfg: LmaConfig,
    mag_cfgs: Vec<MagConfig>,
    mag_policy: Policy,
    /// When what the invariant's bound counts from last happened.
    events: Events,
    spec: DomainSpec,
    /// The SPIs the LMA holds for each MAG.
    lma_spis: Vec<Vec<u32>>,
}

impl SimDomain {
    pub fn now(&self) -> Instant {
        self.net.now()
    }

    pub fn lma(&self) -> &Lma {
        self.net.node::<Lma>(self.lma).expect("the LMA node")
    }

    pub fn mag(&self, m: usize) -> &Mag {
        self.net.node::<Mag>(self.mags[m]).expect("a MAG node")
    }

    pub fn vm(&self, v: usize) -> &SimHost {
        self.net.node::<SimHost>(self.vms[v]).expect("a VM node")
    }

    pub fn cn(&self) -> &SimHost {
        self.net
            .node::<SimHost>(self.cn)
            .expect("the correspondent")
    }

    /// The access link VM `v` is on.
    pub fn location(&self, v: usize) -> Option<usize> {
        self.where_vm[v]
    }

    /// VM `v`'s Binding Cache entry at the LMA.
    pub fn binding(&self, v: usize) -> Option<&Binding> {
        let lma = self.lma();
        lma.bindings()
            .find(&vm_mn_id(v))
            .and_then(|id| lma.bindings().get(id))
    }

    /// The MAG named by VM `v`'s Binding Cache entry.
    pub fn serving_mag(&self, v: usize) -> Option<usize> {
        let coa = self.binding(v)?.proxy_coa;
        (0..self.mags.len()).find(|m| proxy_coa(*m).addr() == coa)
    }

    /// VM `v`'s Binding Update List entry at MAG `m`.
    pub fn bul(&self, m: usize, v: usize) -> Option<&BulEntry> {
        self.mag(m).bindings().get(&vm_mac(v))
    }

    /// When MAG `m` refreshes VM `v`'s binding: 80 % into its lifetime.
    pub fn refresh_at(&self, m: usize, v: usize) -> Option<Instant> {
        let e = self.bul(m, v)?;
        let fifth = Duration::from_millis(u64::from(e.lifetime) * 200);
        Some(e.expires_at? - fifth)
    }

    /// VM `v`'s global address in its HNP, once it has one.
    pub fn vm_address(&self, v: usize) -> Option<Ipv6Addr> {
        let hnp = vm_hnp(v);
        self.vm(v)
            .addresses
            .iter()
            .copied()
            .find(|a| hnp.contains(a))
    }

    /// VM `v`'s IPv4 address from DHCP, once it has one.
    pub fn vm_address4(&self, v: usize) -> Option<Ipv4Addr> {
        self.vm(v).v4.address.map(|a| a.addr())
    }

    /// Plugs VM `v` into MAG `m`'s access link and has it solicit a router and
    /// ask for an IPv4 lease, as a booting dual-stack guest does.
    pub fn boot(&mut self, v: usize, m: usize) {
        self.net.attach(self.vms[v], 0, self.access[m]);
        self.where_vm[v] = Some(m);
        self.events.arrived(v, self.net.now());
        self.net.with_node::<SimHost, _>(self.vms[v], |h, _, tx| {
            h.send_rs(tx);
            h.send_dhcp_discover(tx);
        });
    }

    /// Live-migrates VM `v` to MAG `m`'s access link: the VM is paused and off
    /// every link for `downtime`, then resumes there and its hypervisor announces
    /// it with unsolicited NAs.
    pub fn migrate(&mut self, v: usize, m: usize, downtime: Duration) {
        self.depart(v);
        self.net.run_for(downtime);
        self.arrive(v, m);
    }

    /// The stop-and-copy of a migration begins: VM `v` is paused and off its link.
    pub fn depart(&mut self, v: usize) {
        let node = self.vms[v];
        if let Some(h) = self.net.node_mut::<SimHost>(node) {
            h.paused = true;
        }
        self.net.detach(node, 0);
        self.where_vm[v] = None;
    }

    /// VM `v` resumes on MAG `m`'s access link and its hypervisor announces it.
    pub fn arrive(&mut self, v: usize, m: usize) {
        let node = self.vms[v];
        self.net.attach(node, 0, self.access[m]);
        self.where_vm[v] = Some(m);
        self.events.arrived(v, self.net.now());
        self.net.with_node::<SimHost, _>(node, |h, _, tx| {
            h.paused = false;
            h.announce(tx);
        });
    }

    /// The LMA crashes and starts again at once with the same configuration
    /// and a new Restart Counter: every binding is gone.
    pub fn restart_lma(&mut self) {
        self.events.lma_restarted = Some(self.net.now());
        self.lma_cfg.restart_counter = self.lma_cfg.restart_counter.wrapping_add(1);
        let lma = Lma::new(self.lma_cfg.clone(), self.now());
        if let Some(node) = self.net.node_mut::<Lma>(self.lma) {
            *node = lma;
        }
    }

    /// MAG `m` crashes (no de-registration) and starts again at once: its
    /// Binding Update List is empty, its nodes are still on its link.
    pub fn restart_mag(&mut self, m: usize) {
        self.events.mag_restarted[m] = Some(self.net.now());
        let cfg = &mut self.mag_cfgs[m];
        cfg.restart_counter = cfg.restart_counter.wrapping_add(1);
        let mag = Mag::new(cfg.clone(), self.mag_policy.clone(), self.net.now());
        if let Some(node) = self.net.node_mut::<Mag>(self.mags[m]) {
            *node = mag;
        }
    }

    /// The LMA takes `spis` as MAG `m`'s keys while it runs (a reload), and
    /// keeps them across restarts.
    pub fn set_lma_keys(&mut self, m: usize, spis: &[u32]) {
        self.lma_spis[m] = spis.to_vec();
        self.lma_cfg.signalling = self.spec.lma_signalling(&self.lma_spis);
        if let Signalling::Authenticated(ring) = self.lma_cfg.signalling.clone()
            && let Some(lma) = self.net.node_mut::<Lma>(self.lma)
        {
            lma.rekey(ring);
        }
    }

    /// MAG `m` takes `spis` as its keys (the last one signs), as
    /// [`SimDomain::set_lma_keys`] does for the LMA.
    pub fn set_mag_keys(&mut self, m: usize, spis: &[u32]) {
        self.mag_cfgs[m].signalling = self.spec.mag_signalling(m, spis);
        if let Signalling::Authenticated(ring) = self.mag_cfgs[m].signalling.clone()
            && let Some(mag) = self.net.node_mut::<Mag>(self.mags[m])
        {
            mag.rekey(ring);
        }
    }

    /// Runs until `cond` holds or `limit` passes; returns whether it held.
    pub fn run_until(&mut self, limit: Duration, mut cond: impl FnMut(&SimDomain) -> bool) -> bool {
        let until = self.net.now() + limit;
        loop {
            if cond(self) {
                return true;
            }
            if !self.net.step(until) {
                self.net.run_until(until);
                return cond(self);
            }
        }
    }

    pub fn run_for(&mut self, d: Duration) {
        self.net.run_for(d);
    }

    /// Whether VM `v` is registered at MAG `m`, the LMA names `m`, and the VM has
    /// its addresses: the state a completed (hand)off ends in.
    pub fn settled_at(&self, v: usize, m: usize) -> bool {
        self.serving_mag(v) == Some(m)
            && self.bul(m, v).is_some_and(BulEntry::is_registered)
            && self.vm_address(v).is_some()
            && self.vm_address4(v).is_some()
    }

    /// The correspondent pings VM `v`'s IPv4 address `count` times, `gap`
    /// apart, then waits a second; returns how many were answered.
    pub fn ping4(&mut self, v: usize, count: u16, gap: Duration) -> usize {
        let Some(dst) = self.vm_address4(v) else {
            return 0;
        };

        let first = self.next_seq;
        for _ in 0..count {
            self.ping_once_over(v, ProbeFamily::Ipv4);
            self.net.run_for(gap);
        }
        self.net.run_for(Duration::from_secs(1));
        self.answered(first, count, |p| echo4_reply_seq(p, dst))
    }

    /// How many distinct requests of `count` from sequence number `first` on
    /// the correspondent got an answer, as `seq_of` reads them.
    fn answered(&self, first: u16, count: u16, seq_of: impl Fn(&[u8]) -> Option<u16>) -> usize {
        let mut answered: Vec<u16> = self
            .cn()
            .received
            .iter()
            .filter_map(|r| seq_of(&r.packet))
            .filter(|s| s.wrapping_sub(first) < count)
            .collect();
        answered.sort_unstable();
        answered.dedup();
        answered.len()
    }

    /// The correspondent sends one Echo Request to VM `v`; false when the VM has
    /// no address yet.
    pub fn ping_once(&mut self, v: usize) -> bool {
        self.ping_once_over(v, ProbeFamily::Ipv6).is_some()
    }

    /// One Echo Request to VM `v` over `family`: its sequence number, or
    /// `None` when the VM (or the correspondent) has no such address yet.
    pub fn ping_once_over(&mut self, v: usize, family: ProbeFamily) -> Option<u16> {
        let seq = self.next_seq;
        let packet = match family {
            ProbeFamily::Ipv6 => {
                let src = self.cn().addresses.first().copied()?;
                echo_request(src, self.vm_address(v)?, seq)
            }
            ProbeFamily::Ipv4 => {
                let src = self.cn().v4.address?.addr();
                router::icmpv4::echo_request(src, self.vm_address4(v)?, seq)
            }
        };
        self.next_seq = seq.wrapping_add(1);
        self.net
            .with_node::<SimHost, _>(self.cn, |h, _, tx| match family {
                ProbeFamily::Ipv6 => h.send_ipv6(&packet, tx),
                ProbeFamily::Ipv4 => h.send_ipv4(&packet, tx),
            });
        Some(seq)
    }

    /// The correspondent pings VM `v` `count` times, `gap` apart, then waits a
    /// second; returns how many distinct requests were answered.
    pub fn ping(&mut self, v: usize, count: u16, gap: Duration) -> usize {
        let Some(dst) = self.vm_address(v) else {
            return 0;
        };
        let first = self.next_seq;
        for _ in 0..count {
            self.ping_once(v);
            self.net.run_for(gap);
        }
        self.net.run_for(Duration::from_secs(1));
        self.answered(first, count, |p| echo_reply_seq(p, dst))
    }

    /// What is wrong with the domain's state for VM `v` served by MAG `m`, beyond
    /// the binding itself: the LMA must have exactly one tunnel (to `m`) and one
    /// route for the HNP, into it; every other MAG must hold nothing for the VM.
    /// Meant for domains with one VM.
    pub fn leaks(&self, v: usize, m: usize) -> Vec<String> {
        let mut problems = Vec::new();
        let lma = self.lma().engine();
        let hnp = vm_hnp(v);
        let tunnels: Vec<_> = lma
            .routes()
            .tunnels()
            .iter()
            .map(|(id, t)| (id, t.remote))
            .collect();
        if tunnels.len() != 1 || tunnels[0].1 != proxy_coa(m).addr() {
            problems.push(format!(
                "LMA tunnels {tunnels:?}, want one to {}",
                mag_name(m)
            ));
        }
        match (
            lma.routes().get(RouteTable::Destination, hnp),
            tunnels.first(),
        ) {
            (Some(NextHop::Tunnel(t)), Some((id, _))) if t == *id => {}
            (hop, _) => problems.push(format!("LMA route for {hnp}: {hop:?}")),
        }
        for other in (0..self.mags.len()).filter(|o| *o != m) {
            let mag = self.mag(other);
            let e = mag.engine();
            if self.bul(other, v).is_some() {
                problems.push(format!("{} still has a BUL entry", mag_name(other)));
            }
            if !e.routes().tunnels().is_empty() {
                problems.push(format!("{} still has a tunnel", mag_name(other)));
            }
            if e.routes().get(RouteTable::Destination, hnp).is_some()
                || e.routes().get(RouteTable::Source, hnp).is_some()
            {
                problems.push(format!("{} still routes {hnp}", mag_name(other)));
            }
            let host = Ipv4Net::from(vm_ipv4(v).addr());
            if e.routes().get(RouteTable::Destination, host).is_some()
                || e.routes().get(RouteTable::Source, host).is_some()
            {
                problems.push(format!("{} still routes {host}", mag_name(other)));
            }
        }
        problems
    }
}
