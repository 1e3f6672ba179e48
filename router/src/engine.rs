//! The forwarding engine shared by every tapmip router: ports with ND, the FIB,
//! tunnels, hop-limit handling and ICMPv6 errors; and the same for IPv4 as a
//! second address family through the same layers (`ipv4`: ARP beside ND,
//! TTL, ICMPv4 errors, IPv4-in-IPv6 through the same tunnels).
//!
//! The plain router, the LMA and the MAG are this engine plus their own control
//! logic: the engine hands them what it does not handle itself (packets addressed
//! to the router, e.g. Mobility Headers, and ND events such as a node attaching),
//! and they steer it by changing routes and tunnels.
//!
//! Forwarding order for a packet that is not for the router (RFC 8200 / RFC 4861):
//! source routes first (a MAG sends everything from an HNP into its tunnel,
//! RFC 5213 6.10.5), then the destination FIB; link-local scope never leaves its link.

use crate::arp::{ArpEvent, ArpPort, ArpPortConfig};
use crate::core::{PortId, Tx};
use crate::counters::Counters;
use crate::drop_log::DropLog;
use crate::fib::NextHop;
use crate::icmp::{IcmpError, error_packet};
use crate::mac::Mac;
use crate::nd::{AdvertConfig, NdEvent, NdPort, NdPortConfig, NudConfig};
use crate::routes::{RouteTable, Routes};
use crate::token_bucket::TokenBucket;
use crate::tunnel::{DEFAULT_TUNNEL_HOP_LIMIT, TunnelError};
use crate::{Duration, Instant};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, Icmpv6Message, Icmpv6Packet, IpProtocol, Ipv6Packet,
};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

mod hold;
mod ipv4;
mod offload;

/// Configuration of one engine port.
#[derive(Debug, Clone)]
pub struct EnginePort {
    pub mac: Mac,
    pub mtu: usize,
    /// Link-local address; `None` derives it from the MAC (modified EUI-64).
    pub link_local: Option<Ipv6Addr>,
    /// Own addresses with their on-link prefix length; each installs a connected route.
    pub addresses: Vec<Ipv6Net>,
    /// Own IPv4 addresses, likewise; ARP answers for them.
    pub ipv4: Vec<Ipv4Net>,
    /// Every DHCP message to a server (UDP port 67) from this link goes to
    /// the core, whatever its IP destination: a DHCP server takes renewals
    /// sent to an address it answers for only once it knows the client.
    pub dhcp_server: bool,
    /// Periodic multicast RAs (a plain router or the LMA on its links).
    pub advertise: Option<AdvertConfig>,
    pub answer_rs: bool,
    pub nud: NudConfig,
}

impl EnginePort {
    pub fn new(mac: Mac) -> Self {
        EnginePort {
            mac,
            mtu: 1500,
            link_local: None,
            addresses: Vec::new(),
            ipv4: Vec::new(),
            dhcp_server: false,
            advertise: None,
            answer_rs: false,
            nud: NudConfig::default(),
        }
    }
}

/// The link-local address derived from a MAC (RFC 4291 appendix A).
pub fn eui64_link_local(mac: Mac) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

/// Where a packet to forward came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrival {
    /// Received on one of the router's links.
    FromLink,
    /// Decapsulated from a tunnel that ends here.
    FromTunnel,
}

/// What the engine passes up to the core that owns it.
#[derive(Debug)]
pub enum EngineEvent<'a> {
    /// An IPv6 packet addressed to the router that the engine does not consume
    /// itself (not ND, not an echo request, not a packet from one of its
    /// tunnels; from an unknown tunnel source with `pass_up_unknown_tunnels`).
    Local {
        port: PortId,
        src_mac: Mac,
        /// The whole IPv6 packet.
        packet: &'a [u8],
    },
    /// A neighbor discovery event on `port`.
    Nd { port: PortId, event: NdEvent },
    /// An IPv4 packet addressed to the router (or to every host on the
    /// link) that the engine does not consume itself: not an echo request.
    Local4 {
        port: PortId,
        src_mac: Mac,
        /// The whole IPv4 packet, its header checked.
        packet: &'a [u8],
    },
    /// An ARP frame or event on `port`.
    Arp { port: PortId, event: ArpEvent },
}

struct PortState {
    mac: Mac,
    mtu: usize,
    link_local: Ipv6Addr,
    /// The address ICMPv6 errors about packets from this link come from.
    global: Option<Ipv6Addr>,
    nd: NdPort,
    arp: ArpPort,
    dhcp_server: bool,
}

pub struct Engine {
    ports: Vec<PortState>,
    local: HashSet<Ipv6Addr>,
    local4: HashSet<Ipv4Addr>,
    routes: Routes,
    pub counters: Counters,
    /// The log lines about dropped messages, summed up under a flood.
    pub drop_log: DropLog,
    /// Deliver packets between two destinations reached through the same access
    /// port without the source route (EnableMAGLocalRouting, RFC 5213 6.10.3).
    pub local_routing: bool,
    /// Hand a tunnelled packet from a source the router has no tunnel with to
    /// the core (as [`EngineEvent::Local`]) instead of dropping it: a MAG
    /// takes a peer MAG's copies of a moving node's downlink that way, even
    /// one that overtook the hint it belongs to.
    pub pass_up_unknown_tunnels: bool,
    /// ICMP errors (RFC 4443 2.4 (f)): 10 at once, then 100 per second.
    icmp_limit: TokenBucket,
    hold: hold::Hold,
    /// ARP events raised by timers, until the core takes them.
    arp_events: Vec<(PortId, ArpEvent)>,
    scratch: Vec<u8>,
    encap: Vec<u8>,
    /// The Ethernet frame being sent to a resolved neighbor.
    frame: Vec<u8>,
    /// Where IPv4 packets are cut into fragments.
    fragments: Vec<u8>,
}

impl Engine {
    pub fn new(ports: Vec<EnginePort>, now: Instant) -> Self {
        let mut routes = Routes::new();
        let mut local = HashSet::new();
        let mut local4 = HashSet::new();
        let states = ports
            .into_iter()
            .enumerate()
            .map(|(id, p)| {
                let link_local = p.link_local.unwrap_or_else(|| eui64_link_local(p.mac));
                local.insert(link_local);
                for a in &p.addresses {
                    local.insert(a.addr());
                    routes.connect(a.trunc(), id);
                }
                for a in &p.ipv4 {
                    local4.insert(a.addr());
                    routes.connect(a.trunc(), id);
                }
                let arp = ArpPort::new(ArpPortConfig {
                    port: id,
                    mac: p.mac,
                    addresses: p.ipv4.clone(),
                    nud: p.nud,
                });
                let nd = NdPort::new(
                    NdPortConfig {
                        port: id,
                        mac: p.mac,
                        link_local,
                        addresses: p.addresses.iter().map(Ipv6Net::addr).collect(),
                        advertise: p.advertise,
                        answer_rs: p.answer_rs,
                        nud: p.nud,
                    },
                    now,
                );
                PortState {
                    mac: p.mac,
                    mtu: p.mtu,
                    link_local,
                    global: p.addresses.first().map(Ipv6Net::addr),
                    nd,
                    arp,
                    dhcp_server: p.dhcp_server,
                }
            })
            .collect();
        Engine {
            ports: states,
            local,
            local4,
            routes,
            counters: Counters::default(),
            drop_log: DropLog::new(now),
            local_routing: false,
            pass_up_unknown_tunnels: false,
            icmp_limit: TokenBucket::new(10, Duration::from_millis(10), now),
            hold: hold::Hold::default(),
            arp_events: Vec::new(),
            scratch: Vec::with_capacity(2048),
            encap: Vec::with_capacity(2048),
            frame: Vec::with_capacity(2048),
            fragments: Vec::with_capacity(2048),
        }
    }

    /// The engine's counters plus every port's ND counters, summed by name.
    pub fn all_counters(&self) -> Counters {
        let mut all = self.counters.clone();
        for p in &self.ports {
            for (name, v) in p.nd.counters().iter().chain(p.arp.counters().iter()) {
                all.add(name, v);
            }
        }
        all
    }

    /// The routes, for reading; [`Engine::routes_mut`] changes them.
    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    /// Routes and tunnels change only through [`Routes`]' methods, which keep
    /// every tunnel's users equal to the routes that point into it.
    pub fn routes_mut(&mut self) -> &mut Routes {
        &mut self.routes
    }

    pub fn port_count(&self) -> usize {
        self.ports.len()
    }

    pub fn port_mac(&self, port: PortId) -> Option<Mac> {
        self.ports.get(port).map(|p| p.mac)
    }

    pub fn link_local(&self, port: PortId) -> Option<Ipv6Addr> {
        self.ports.get(port).map(|p| p.link_local)
    }

    pub fn nd(&self, port: PortId) -> Option<&NdPort> {
        self.ports.get(port).map(|p| &p.nd)
    }

    pub fn nd_mut(&mut self, port: PortId) -> Option<&mut NdPort> {
        self.ports.get_mut(port).map(|p| &mut p.nd)
    }

    pub fn is_local(&self, addr: &Ipv6Addr) -> bool {
        self.local.contains(addr)
    }

    /// Adds an own address at run time (e.g. the MAG's Proxy-CoA learnt later).
    pub fn add_local(&mut self, addr: Ipv6Addr) {
        self.local.insert(addr);
    }

    /// Packets to `prefix` (an IPv6 prefix or an IPv4 address or prefix)
    /// that would be forwarded are kept for the core ([`Engine::take_held`])
    /// instead, until [`Engine::release`].
    pub fn hold(&mut self, prefix: impl Into<IpNet>) {
        self.hold.add(prefix.into());
    }

    pub fn release(&mut self, prefix: impl Into<IpNet>) {
        self.hold.remove(prefix.into());
    }

    /// Whether packets to `dst` are held.
    pub fn holds(&self, dst: impl Into<IpAddr>) -> bool {
        self.hold.holds(dst.into())
    }

    /// The held packets caught since the last call, in arrival order.
    pub fn take_held(&mut self) -> Vec<Vec<u8>> {
        if self.hold.is_idle() {
            return Vec::new();
        }
        self.hold.take()
    }

    pub fn poll_at(&self) -> Option<Instant> {
        self.ports
            .iter()
            .flat_map(|p| [p.nd.poll_at(), p.arp.poll_at()])
            .chain([self.drop_log.poll_at()])
            .flatten()
            .min()
    }

    /// Counts a dropped message under `counter` and logs `line()` unless a
    /// flood of them is being summed up (see [`DropLog`]).
    pub fn note_drop(
        &mut self,
        now: Instant,
        counter: &'static str,
        line: impl FnOnce() -> String,
    ) {
        self.counters.bump(counter);
        self.drop_log.line(now, counter, line);
    }

    /// Runs due ND timers; returns the ND events they raised. ARP's timers
    /// run too; their events come from [`Engine::take_arp_events`].
    pub fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) -> Vec<(PortId, NdEvent)> {
        self.drop_log.on_timer(now);
        let mut events = Vec::new();
        for (id, p) in self.ports.iter_mut().enumerate() {
            if p.nd.poll_at().is_some_and(|at| at <= now) {
                events.extend(p.nd.on_timer(now, tx).into_iter().map(|e| (id, e)));
            }
            if p.arp.poll_at().is_some_and(|at| at <= now) {
                let lost = p.arp.on_timer(now, tx).into_iter().map(|e| (id, e));
                self.arp_events.extend(lost);
            }
        }
        events
    }

    /// Processes one received frame: ND, local delivery, decapsulation, forwarding.
    pub fn on_frame<'a>(
        &mut self,
        now: Instant,
        port: PortId,
        frame: &'a [u8],
        tx: &mut dyn Tx,
    ) -> Option<EngineEvent<'a>> {
        self.counters.bump("rx.frames");
        let Some(me) = self.ports.get(port) else {
            self.counters.bump("drop.unknown_port");
            return None;
        };
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            self.counters.bump("drop.truncated");
            return None;
        };
        let dst_mac = Mac::from(eth.dst_addr());
        if dst_mac != me.mac && !dst_mac.is_multicast() && !dst_mac.is_broadcast() {
            self.counters.bump("drop.not_our_mac");
            return None;
        }
        let src_mac = Mac::from(eth.src_addr());
        match eth.ethertype() {
            EthernetProtocol::Ipv6 => {}
            EthernetProtocol::Ipv4 => return self.on_ipv4(now, port, src_mac, eth.payload(), tx),
            EthernetProtocol::Arp => return self.on_arp_frame(now, port, frame, tx),
            _ => {
                self.counters.bump("drop.not_ip");
                return None;
            }
        }
        let Some(packet) = ipv6_packet(eth.payload()) else {
            self.counters.bump("drop.bad_ipv6_header");
            return None;
        };
        let ip = Ipv6Packet::new_unchecked(packet);
        let dst = ip.dst_addr();
        if ip.next_header() == IpProtocol::Icmpv6 && is_nd_type(ip.payload()) {
            return match self.ports[port].nd.on_ndp(now, frame, tx) {
                Ok(Some(event)) => Some(EngineEvent::Nd { port, event }),
                // The ND port counts what it refuses, per reason.
                Ok(None) | Err(_) => None,
            };
        }
        if dst.is_multicast() {
            // MLD reports and other link-scope chatter: no listener here.
            self.counters.bump("drop.multicast");
            return None;
        }
        if self.local.contains(&dst) {
            return self.deliver_local(now, port, src_mac, packet, tx);
        }
        self.forward(now, packet, Arrival::FromLink, tx);
        None
    }

    fn deliver_local<'a>(
        &mut self,
        now: Instant,
        port: PortId,
        src_mac: Mac,
        packet: &'a [u8],
        tx: &mut dyn Tx,
    ) -> Option<EngineEvent<'a>> {
        let ip = Ipv6Packet::new_unchecked(packet);
        match ip.next_header() {
            IpProtocol::Unknown(crate::tunnel::IPPROTO_IPV6 | crate::tunnel::IPPROTO_IPIP) => {
                match self.routes.tunnels_mut().decapsulate(packet) {
                    Ok((_, inner)) => {
                        self.counters.bump("tunnel.decapsulated");
                        if inner.first().is_some_and(|b| b >> 4 == 4) {
                            return self.decapsulated4(now, port, src_mac, inner, tx);
                        }
                        let inner_dst = Ipv6Packet::new_unchecked(inner).dst_addr();
                        if self.local.contains(&inner_dst) {
                            return self.deliver_local(now, port, src_mac, inner, tx);
                        }
                        self.forward(now, inner, Arrival::FromTunnel, tx);
                    }
                    Err(TunnelError::MalformedInner) => self.counters.bump("drop.tunnel_malformed"),
                    Err(_) if self.pass_up_unknown_tunnels => {
                        return Some(EngineEvent::Local {
                            port,
                            src_mac,
                            packet,
                        });
                    }
                    Err(_) => self.counters.bump("drop.tunnel_unknown_source"),
                }
                None
            }
            IpProtocol::Icmpv6 if ip.payload().first() == Some(&128) => {
                self.echo_reply(now, packet, tx);
                None
            }
            _ => Some(EngineEvent::Local {
                port,
                src_mac,
                packet,
            }),
        }
    }

    fn echo_reply(&mut self, now: Instant, packet: &[u8], tx: &mut dyn Tx) {
        let ip = Ipv6Packet::new_unchecked(packet);
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let Ok(icmp) = Icmpv6Packet::new_checked(ip.payload()) else {
            self.counters.bump("drop.truncated");
            return;
        };
        if !icmp.verify_checksum(&src, &dst) {
            self.counters.bump("drop.bad_checksum");
            return;
        }
        let mut reply = packet.to_vec();
        let mut rip = Ipv6Packet::new_unchecked(&mut reply[..]);
        rip.set_src_addr(dst);
        rip.set_dst_addr(src);
        rip.set_hop_limit(crate::icmp::ICMP_HOP_LIMIT);
        let mut ricmp = Icmpv6Packet::new_unchecked(rip.payload_mut());
        ricmp.set_msg_type(Icmpv6Message::EchoReply);
        ricmp.fill_checksum(&dst, &src);
        self.counters.bump("icmp.echo_replies");
        self.send_ipv6(now, &reply, tx);
    }

    /// Routes and sends a packet the router originates (hop limit left as given).
    pub fn send_ipv6(&mut self, now: Instant, packet: &[u8], tx: &mut dyn Tx) {
        let Some(dst) = ipv6_packet(packet).map(|p| Ipv6Packet::new_unchecked(p).dst_addr()) else {
            self.counters.bump("drop.bad_local_packet");
            return;
        };
        match self.routes.lookup(RouteTable::Destination, dst) {
            Some(NextHop::Tunnel(id)) => self.send_into_tunnel(now, id, packet, tx),
            Some(hop) => self.send_to_neighbor(now, hop, dst, packet, tx),
            None => self.counters.bump("drop.no_route"),
        }
    }

    /// Forwards a packet that is not for the router.
    fn forward(&mut self, now: Instant, packet: &[u8], arrival: Arrival, tx: &mut dyn Tx) {
        if self
            .hold
            .catch(Ipv6Packet::new_unchecked(packet).dst_addr().into(), packet)
        {
            self.counters.bump("fwd.held");
            return;
        }
        let Some(hop) = self.route(now, packet, arrival, tx) else {
            return;
        };
        match hop {
            NextHop::Tunnel(id) => self.send_into_tunnel(now, id, packet, tx),
            hop => {
                self.scratch.clear();
                self.scratch.extend_from_slice(packet);
                let mut out = std::mem::take(&mut self.scratch);
                let mut p = Ipv6Packet::new_unchecked(&mut out[..]);
                p.set_hop_limit(p.hop_limit() - 1);
                let dst = p.dst_addr();
                self.counters.bump("fwd.packets");
                self.send_to_neighbor(now, hop, dst, &out, tx);
                self.scratch = out;
            }
        }
    }

    /// Where a packet that is not for the router goes: source routes first
    /// (for what came from a link), then destination routes. `None` once the
    /// drop is counted and any ICMPv6 error sent (scope, hop limit, no route).
    fn route(
        &mut self,
        now: Instant,
        packet: &[u8],
        arrival: Arrival,
        tx: &mut dyn Tx,
    ) -> Option<NextHop> {
        let ip = Ipv6Packet::new_unchecked(packet);
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        if src.is_unicast_link_local() || dst.is_unicast_link_local() || src.is_multicast() {
            self.counters.bump("drop.link_local_scope");
            return None;
        }
        if ip.hop_limit() <= 1 {
            self.counters.bump("drop.hop_limit");
            self.icmp_error(now, IcmpError::HopLimitExceeded, packet, tx);
            return None;
        }
        self.pick_route(now, src.into(), dst.into(), arrival, packet, tx)
    }

    /// The route of a packet from `src` to `dst` that passed its family's
    /// checks: source routes first for what came from a link, then the
    /// destination table; `None` once the drop is counted and the error sent.
    fn pick_route(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        arrival: Arrival,
        packet: &[u8],
        tx: &mut dyn Tx,
    ) -> Option<NextHop> {
        let by_dst = self.routes.lookup(RouteTable::Destination, dst);
        let local_delivery = self.local_routing
            && matches!(by_dst, Some(NextHop::Connected { .. }))
            && self.routes.lookup(RouteTable::Source, dst).is_some();
        // What leaves a tunnel goes by its destination (RFC 5213 6.10.5): source
        // routing it would send a node's packet to a neighbor behind the same
        // MAG straight back into the tunnel it came from.
        let by_src = match arrival {
            Arrival::FromLink if !local_delivery => self.routes.lookup(RouteTable::Source, src),
            _ => None,
        };
        let hop = by_src.or(by_dst);
        if hop.is_none() {
            self.counters.bump("drop.no_route");
            self.icmp_error(now, IcmpError::NoRoute, packet, tx);
        }
        hop
    }

    fn send_into_tunnel(&mut self, now: Instant, id: usize, packet: &[u8], tx: &mut dyn Tx) {
        let Some((remote, outer_hop, mtu)) = self.tunnel_path(id) else {
            return;
        };
        let mut out = std::mem::take(&mut self.encap);
        match self.routes.tunnels_mut().encapsulate(
            id,
            packet,
            DEFAULT_TUNNEL_HOP_LIMIT,
            mtu,
            &mut out,
        ) {
            Ok(()) => {
                self.counters.bump("tunnel.encapsulated");
                self.send_to_neighbor(now, outer_hop, remote, &out, tx);
            }
            Err(TunnelError::HopLimitExceeded) => {
                self.counters.bump("drop.hop_limit");
                self.icmp_error(now, IcmpError::HopLimitExceeded, packet, tx);
            }
            // An IPv4 packet without DF is cut to fit instead (RFC 1812 5.2.6).
            Err(TunnelError::PacketTooBig { mtu, .. }) if crate::ipv4::may_fragment(packet) => {
                self.encap = out;
                self.fragment_into_tunnel(now, id, packet, mtu, tx);
                return;
            }
            Err(TunnelError::PacketTooBig { mtu, .. }) => {
                self.counters.bump("drop.too_big");
                self.icmp_error(now, IcmpError::PacketTooBig { mtu }, packet, tx);
            }
            Err(_) => self.counters.bump("drop.bad_ip_header"),
        }
        self.encap = out;
    }

    /// Tunnel `id`'s far end, the next hop towards it and that link's MTU;
    /// `None` once the drop is counted.
    fn tunnel_path(&mut self, id: usize) -> Option<(Ipv6Addr, NextHop, usize)> {
        let Some(remote) = self.routes.tunnel(id).map(|t| t.remote) else {
            self.counters.bump("drop.no_tunnel");
            return None;
        };
        let Some(outer_hop) = self.routes.lookup(RouteTable::Destination, remote) else {
            self.counters.bump("drop.no_route_to_tunnel_endpoint");
            return None;
        };
        let mtu = match outer_hop {
            NextHop::Connected { port } | NextHop::Gateway { port, .. } => {
                self.ports.get(port).map_or(1500, |p| p.mtu)
            }
            NextHop::Tunnel(_) => {
                self.counters.bump("drop.tunnel_in_tunnel");
                return None;
            }
        };
        Some((remote, outer_hop, mtu))
    }

    fn send_to_neighbor(
        &mut self,
        now: Instant,
        hop: NextHop,
        dst: Ipv6Addr,
        packet: &[u8],
        tx: &mut dyn Tx,
    ) {
        let Some((port, next)) = self.neighbor(hop, dst) else {
            return;
        };
        let p = &mut self.ports[port];
        if packet.len() > p.mtu {
            self.counters.bump("drop.too_big");
            let mtu = u32::try_from(p.mtu).unwrap_or(u32::MAX);
            self.icmp_error(now, IcmpError::PacketTooBig { mtu }, packet, tx);
            return;
        }
        // A known neighbor takes the frame built here, in a buffer that is
        // reused: nothing on the way of a forwarded packet allocates.
        if !next.is_multicast()
            && let Some(mac) = p.nd.resolved(now, next)
        {
            self.frame.clear();
            self.frame
                .extend_from_slice(&offload::ethernet_header(mac, p.mac));
            self.frame.extend_from_slice(packet);
            tx.send(port, &self.frame);
            return;
        }
        p.nd.send_ipv6(now, next, packet, tx);
    }

    /// The port and on-link address of `hop` for a packet to `dst`; `None` once
    /// the drop is counted.
    fn neighbor(&mut self, hop: NextHop, dst: Ipv6Addr) -> Option<(PortId, Ipv6Addr)> {
        let (port, next) = match hop {
            NextHop::Connected { port } => (port, dst),
            NextHop::Gateway {
                port,
                gateway: IpAddr::V6(gw),
            } => (port, gw),
            NextHop::Gateway { .. } | NextHop::Tunnel(_) => {
                self.counters.bump("drop.no_route");
                return None;
            }
        };
        if port >= self.ports.len() {
            self.counters.bump("drop.unknown_port");
            return None;
        }
        Some((port, next))
    }

    /// Sends an ICMPv6 error about `offending`, rate-limited (RFC 4443 2.4);
    /// an ICMPv4 one when `offending` is an IPv4 packet.
    pub fn icmp_error(&mut self, now: Instant, err: IcmpError, offending: &[u8], tx: &mut dyn Tx) {
        if offending.first().is_some_and(|b| b >> 4 == 4) {
            return self.icmp4_error(now, err, offending, tx);
        }
        let src = Ipv6Packet::new_unchecked(offending).src_addr();
        // Answer from an address of the port the offender is reached through.
        let from = self
            .routes
            .lookup(RouteTable::Destination, src)
            .and_then(|hop| match hop {
                NextHop::Connected { port } | NextHop::Gateway { port, .. } => Some(port),
                NextHop::Tunnel(_) => None,
            })
            .and_then(|port| self.ports.get(port))
            .map(|p| p.global.unwrap_or(p.link_local));
        // No route back: the first port's global address, so every run answers
        // from the same one.
        let Some(from) = from.or_else(|| self.ports.iter().find_map(|p| p.global)) else {
            return;
        };
        if let Some(err) = error_packet(err, from, offending)
            && self.send_rate_limited(now, &err, tx)
        {
            self.counters.bump("icmp.errors_sent");
        }
    }

    /// Sends an error message the router originates (an ICMPv6 error, a
    /// Binding Error), within the shared rate limit of RFC 4443 2.4 (f);
    /// false when the limit dropped it.
    pub fn send_rate_limited(&mut self, now: Instant, packet: &[u8], tx: &mut dyn Tx) -> bool {
        if !self.icmp_limit.allow(now) {
            self.counters.bump("icmp.rate_limited");
            return false;
        }
        self.send_ipv6(now, packet, tx);
        true
    }
}

/// The IPv6 packet inside an Ethernet payload, trimmed of Ethernet padding, if its
/// header is whole and its payload length fits.
fn ipv6_packet(payload: &[u8]) -> Option<&[u8]> {
    let p = Ipv6Packet::new_checked(payload).ok()?;
    if p.version() != 6 {
        return None;
    }
    payload.get(..p.total_len())
}

fn is_nd_type(icmp: &[u8]) -> bool {
    matches!(icmp.first(), Some(133..=137))
}
