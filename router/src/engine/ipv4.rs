//! IPv4 through the engine, the second address family on the same layers
//! (RFC 1812): ARP frames to the port's ARP table, packets for the router up
//! to the core (Echo Requests answered here), forwarding by source routes
//! then destination routes, the TTL, ICMPv4 errors, and IPv4-in-IPv6 through
//! the same tunnels as IPv6 (RFC 5844 section 4).

use super::{Arrival, Engine, EngineEvent};
use crate::Instant;
use crate::arp::{ArpEvent, ArpPort};
use crate::core::{PortId, Tx};
use crate::fib::NextHop;
use crate::icmp::IcmpError;
use crate::ipv4::{decrement_ttl, forwardable, fragment, may_fragment, ttl};
use crate::mac::Mac;
use crate::routes::RouteTable;
use smoltcp::wire::{IpProtocol, Ipv4Packet};
use std::net::{IpAddr, Ipv4Addr};

/// Whether a checked IPv4 packet is UDP to the DHCP server port.
fn is_dhcp(packet: &[u8]) -> bool {
    let ip = Ipv4Packet::new_unchecked(packet);
    let port = ip.payload().get(2..4);
    ip.next_header() == IpProtocol::Udp && port == Some(&67u16.to_be_bytes()[..])
}

/// The Ethernet header of an IPv4 frame from `src` to `dst`.
pub(super) fn ethernet_header(dst: Mac, src: Mac) -> [u8; 14] {
    let mut h = super::offload::ethernet_header(dst, src);
    h[12..].copy_from_slice(&0x0800u16.to_be_bytes());
    h
}

impl Engine {
    pub fn arp(&self, port: PortId) -> Option<&ArpPort> {
        self.ports.get(port).map(|p| &p.arp)
    }

    pub fn arp_mut(&mut self, port: PortId) -> Option<&mut ArpPort> {
        self.ports.get_mut(port).map(|p| &mut p.arp)
    }

    /// The ARP events timers raised since the last call (neighbors lost).
    pub fn take_arp_events(&mut self) -> Vec<(PortId, ArpEvent)> {
        std::mem::take(&mut self.arp_events)
    }

    pub fn is_local4(&self, addr: &Ipv4Addr) -> bool {
        self.local4.contains(addr)
    }

    /// Adds an own IPv4 address at run time (a MAG's default-router address).
    pub fn add_local4(&mut self, addr: Ipv4Addr) {
        self.local4.insert(addr);
    }

    pub fn remove_local4(&mut self, addr: &Ipv4Addr) {
        self.local4.remove(addr);
    }

    pub(super) fn on_arp_frame<'a>(
        &mut self,
        now: Instant,
        port: PortId,
        frame: &[u8],
        tx: &mut dyn Tx,
    ) -> Option<EngineEvent<'a>> {
        let p = self.ports.get_mut(port)?;
        // The ARP port counts what it refuses, per reason.
        let event = p.arp.on_arp(now, frame, tx).ok()?;
        Some(EngineEvent::Arp { port, event })
    }

    pub(super) fn on_ipv4<'a>(
        &mut self,
        now: Instant,
        port: PortId,
        src_mac: Mac,
        payload: &'a [u8],
        tx: &mut dyn Tx,
    ) -> Option<EngineEvent<'a>> {
        let packet = match crate::ipv4::packet(payload) {
            Ok(p) => p,
            Err(e) => {
                self.counters.bump(e.counter());
                return None;
            }
        };
        let dst = Ipv4Packet::new_unchecked(packet).dst_addr();
        let to_server = self.ports.get(port).is_some_and(|p| p.dhcp_server) && is_dhcp(packet);
        if dst.is_broadcast() || self.local4.contains(&dst) || to_server {
            return self.deliver_local4(now, port, src_mac, packet, tx);
        }
        if dst.is_multicast() {
            self.counters.bump("drop.multicast");
            return None;
        }
        self.forward4(now, packet, Arrival::FromLink, tx);
        None
    }

    /// An IPv4 packet out of a tunnel that ends here.
    pub(super) fn decapsulated4<'a>(
        &mut self,
        now: Instant,
        port: PortId,
        src_mac: Mac,
        inner: &'a [u8],
        tx: &mut dyn Tx,
    ) -> Option<EngineEvent<'a>> {
        let dst = Ipv4Packet::new_unchecked(inner).dst_addr();
        if self.local4.contains(&dst) {
            return self.deliver_local4(now, port, src_mac, inner, tx);
        }
        self.forward4(now, inner, Arrival::FromTunnel, tx);
        None
    }

    fn deliver_local4<'a>(
        &mut self,
        now: Instant,
        port: PortId,
        src_mac: Mac,
        packet: &'a [u8],
        tx: &mut dyn Tx,
    ) -> Option<EngineEvent<'a>> {
        let ip = Ipv4Packet::new_unchecked(packet);
        if ip.next_header() != IpProtocol::Icmp {
            return Some(EngineEvent::Local4 {
                port,
                src_mac,
                packet,
            });
        }
        // Echo Requests to the broadcast address go unanswered (RFC 1812 4.3.3.6).
        match crate::icmpv4::echo_reply(packet).filter(|_| !ip.dst_addr().is_broadcast()) {
            Some(reply) => {
                self.counters.bump("icmp.echo_replies");
                self.send_ipv4(now, &reply, tx);
            }
            None => self.counters.bump("drop.icmpv4_not_echo_request"),
        }
        None
    }

    /// Routes and sends an IPv4 packet the router originates.
    pub fn send_ipv4(&mut self, now: Instant, packet: &[u8], tx: &mut dyn Tx) {
        let Ok(ip) = Ipv4Packet::new_checked(packet) else {
            self.counters.bump("drop.bad_local_packet");
            return;
        };
        let dst = ip.dst_addr();
        match self.routes.lookup(RouteTable::Destination, dst) {
            Some(NextHop::Tunnel(id)) => self.send_into_tunnel(now, id, packet, tx),
            Some(hop) => self.send4_to_neighbor(now, hop, dst, packet, tx),
            None => self.counters.bump("drop.no_route"),
        }
    }

    /// Where the IPv4 packet of `frame` ends if [`Engine::on_frame`] would
    /// forward it: a checked header, unicast to this port's MAC, not to the
    /// router (its addresses, broadcast, its DHCP server), not multicast.
    pub(super) fn transit4(&self, port: PortId, frame: &[u8]) -> Option<usize> {
        let me = self.ports.get(port)?;
        if frame.get(..6)? != me.mac.0 || frame.get(12..14)? != [0x08, 0x00] {
            return None;
        }
        let packet = crate::ipv4::packet(frame.get(14..)?).ok()?;
        let dst = Ipv4Packet::new_unchecked(packet).dst_addr();
        let for_router = dst.is_broadcast()
            || dst.is_multicast()
            || self.local4.contains(&dst)
            || (me.dhcp_server && is_dhcp(packet));
        (!for_router).then_some(14 + packet.len())
    }

    /// Where a packet that is not for the router goes, after the family's
    /// checks (RFC 1812 5.3.7, the TTL); `None` once the drop is counted and
    /// any ICMPv4 error sent.
    pub(super) fn route4(
        &mut self,
        now: Instant,
        packet: &[u8],
        arrival: Arrival,
        tx: &mut dyn Tx,
    ) -> Option<NextHop> {
        let ip = Ipv4Packet::new_unchecked(packet);
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        if !forwardable(src, dst) {
            self.counters.bump("drop.martian");
            return None;
        }
        if ttl(packet) <= 1 {
            self.counters.bump("drop.hop_limit");
            self.icmp_error(now, IcmpError::HopLimitExceeded, packet, tx);
            return None;
        }
        self.pick_route(now, src.into(), dst.into(), arrival, packet, tx)
    }

    pub(super) fn forward4(
        &mut self,
        now: Instant,
        packet: &[u8],
        arrival: Arrival,
        tx: &mut dyn Tx,
    ) {
        let dst = Ipv4Packet::new_unchecked(packet).dst_addr();
        if self.hold.catch(dst.into(), packet) {
            self.counters.bump("fwd.held");
            return;
        }
        let Some(hop) = self.route4(now, packet, arrival, tx) else {
            return;
        };
        match hop {
            NextHop::Tunnel(id) => self.send_into_tunnel(now, id, packet, tx),
            hop => {
                let mut out = std::mem::take(&mut self.scratch);
                out.clear();
                out.extend_from_slice(packet);
                decrement_ttl(&mut out);
                self.counters.bump("fwd.packets");
                self.send4_to_neighbor(now, hop, dst, &out, tx);
                self.scratch = out;
            }
        }
    }

    /// Cuts an IPv4 packet without DF to the tunnel MTU and sends the pieces.
    pub(super) fn fragment_into_tunnel(
        &mut self,
        now: Instant,
        id: usize,
        packet: &[u8],
        mtu: u32,
        tx: &mut dyn Tx,
    ) {
        let mut out = std::mem::take(&mut self.fragments);
        let n = fragment(packet, mtu as usize, &mut out, &mut |f| {
            self.send_into_tunnel(now, id, f, tx)
        });
        self.fragments = out;
        if n == 0 {
            self.counters.bump("drop.too_big");
            return;
        }
        self.counters.bump("tunnel.fragmented");
    }

    fn send4_to_neighbor(
        &mut self,
        now: Instant,
        hop: NextHop,
        dst: Ipv4Addr,
        packet: &[u8],
        tx: &mut dyn Tx,
    ) {
        let (port, next) = match hop {
            NextHop::Connected { port } => (port, dst),
            NextHop::Gateway {
                port,
                gateway: IpAddr::V4(gw),
            } => (port, gw),
            NextHop::Gateway { .. } | NextHop::Tunnel(_) => {
                self.counters.bump("drop.no_route");
                return;
            }
        };
        let Some(p) = self.ports.get_mut(port) else {
            self.counters.bump("drop.unknown_port");
            return;
        };
        if packet.len() > p.mtu {
            let mtu = p.mtu;
            if may_fragment(packet) {
                // Each fragment fits: it takes the way of an ordinary packet.
                let mut out = std::mem::take(&mut self.fragments);
                let n = fragment(packet, mtu, &mut out, &mut |f| {
                    self.send4_to_neighbor(now, hop, dst, f, tx)
                });
                self.fragments = out;
                self.counters.bump(if n > 0 {
                    "fwd.fragmented"
                } else {
                    "drop.too_big"
                });
                return;
            }
            self.counters.bump("drop.too_big");
            let mtu = u32::try_from(mtu).unwrap_or(u32::MAX);
            self.icmp_error(now, IcmpError::PacketTooBig { mtu }, packet, tx);
            return;
        }
        if !next.is_broadcast()
            && let Some(mac) = p.arp.resolved(now, next)
        {
            self.frame.clear();
            self.frame.extend_from_slice(&ethernet_header(mac, p.mac));
            self.frame.extend_from_slice(packet);
            tx.send(port, &self.frame);
            return;
        }
        p.arp.send_ipv4(now, next, packet, tx);
    }

    /// Sends an ICMPv4 error about `offending` from the router's address on
    /// the offender's link, within the shared rate limit.
    pub(super) fn icmp4_error(
        &mut self,
        now: Instant,
        err: IcmpError,
        offending: &[u8],
        tx: &mut dyn Tx,
    ) {
        let Ok(orig) = Ipv4Packet::new_checked(offending) else {
            return;
        };
        let src = orig.src_addr();
        let own_on = |arp: &ArpPort| {
            let addrs = &arp.config().addresses;
            addrs
                .iter()
                .find(|a| a.contains(&src))
                .or(addrs.first())
                .map(|a| a.addr())
        };
        let from = match self.routes.lookup(RouteTable::Destination, src) {
            Some(NextHop::Connected { port } | NextHop::Gateway { port, .. }) => {
                self.ports.get(port).and_then(|p| own_on(&p.arp))
            }
            _ => None,
        };
        let Some(from) = from.or_else(|| self.ports.iter().find_map(|p| own_on(&p.arp))) else {
            return;
        };
        let Some(err) = crate::icmpv4::error_packet(err, from, offending) else {
            return;
        };
        if !self.icmp_limit.allow(now) {
            self.counters.bump("icmp.rate_limited");
            return;
        }
        self.counters.bump("icmp.errors_sent");
        self.send_ipv4(now, &err, tx);
    }
}

#[cfg(test)]
mod tests;
