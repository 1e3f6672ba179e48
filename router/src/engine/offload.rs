//! Superframes and partial checksums through the engine ([`Engine::on_rx`]).
//!
//! Transit traffic from a port with offloads keeps its offload as far as it
//! can, IPv6 and IPv4 alike: to a neighbor the frame is rewritten in place
//! (Ethernet addresses, hop limit or TTL) and handed on whole, superframe or
//! partial checksum alike, for the port to write as it is or cut if its
//! kernel side cannot take it. Into a tunnel a superframe is cut to the
//! tunnel MTU here: the kernel has no GSO type for IPv6-in-IPv6 or
//! IPv4-in-IPv6 that a TAP accepts (`SKB_GSO_IPXIP6` cannot be set through a
//! `virtio_net_hdr`), and every link a tunnel packet crosses is a kernel
//! device. Anything else (ND, ARP, the router's own addresses, broadcast,
//! multicast) takes the ordinary path of [`Engine::on_frame`].

use super::{Arrival, Engine, EngineEvent};
use crate::Instant;
use crate::core::{PortId, Rx, Tx};
use crate::fib::NextHop;
use crate::gso::{Offload, OffloadError, complete_checksum, segment, to_plain};
use crate::icmp::IcmpError;
use crate::ipv4::{decrement_ttl, may_fragment};
use crate::mac::Mac;
use crate::tunnel::tunnel_mtu;
use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, Ipv6Packet};
use std::net::IpAddr;

const ETH_LEN: usize = 14;
/// Offset of the hop limit in a frame carrying IPv6.
const HOP_LIMIT: usize = ETH_LEN + 7;

/// The Ethernet header of an IPv6 frame from `src` to `dst`.
pub(super) fn ethernet_header(dst: Mac, src: Mac) -> [u8; ETH_LEN] {
    let mut h = [0; ETH_LEN];
    h[..6].copy_from_slice(&dst.0);
    h[6..12].copy_from_slice(&src.0);
    h[12..].copy_from_slice(&0x86ddu16.to_be_bytes());
    h
}

impl Engine {
    /// [`Engine::on_frame`] for a frame that still needs offload work.
    pub fn on_rx<'a>(
        &mut self,
        now: Instant,
        port: PortId,
        rx: Rx<'a>,
        tx: &mut dyn Tx,
    ) -> Option<EngineEvent<'a>> {
        let (frame, offload, scratch) = rx.into_parts();
        // Held packets ([`Engine::hold`]) are kept as ordinary packets: while
        // anything is held, every frame takes the ordinary path.
        let holding = !self.hold.is_idle();
        if !holding && let Some(end) = self.transit(port, frame) {
            self.counters.bump("rx.frames");
            self.forward_offloaded(now, &mut frame[..end], offload, scratch, tx);
            return None;
        }
        if !holding && let Some(end) = self.transit4(port, frame) {
            self.counters.bump("rx.frames");
            self.forward_offloaded4(now, &mut frame[..end], offload, scratch, tx);
            return None;
        }
        if offload.gso.is_some() && (holding || frame.get(12..14) == Some(&[0x08, 0x00][..])) {
            // An IPv4 superframe for the router itself (or broadcast), or any
            // superframe while something is held, is cut and each segment
            // taken as an ordinary frame.
            let cut = to_plain(frame, &offload, scratch, &mut |f| {
                if self.on_frame(now, port, f, tx).is_some() {
                    self.counters.bump("drop.superframe_to_router");
                }
            });
            if let Err(e) = cut {
                self.counters.bump(e.counter());
            }
            return None;
        }
        if offload.gso.is_none()
            && let Some((start, offset)) = offload.partial
        {
            complete_checksum(frame, start, offset);
        }
        // A superframe for the router itself is handled (and counted) there as
        // one packet: no service of a router takes TCP or UDP superframes.
        let frame: &'a [u8] = frame;
        self.on_frame(now, port, frame, tx)
    }

    /// Where the IPv6 packet of `frame` ends if [`Engine::on_frame`] would
    /// forward it: unicast to this port's MAC, not ND, not to a multicast
    /// group, not to one of the router's addresses.
    fn transit(&self, port: PortId, frame: &[u8]) -> Option<usize> {
        let me = self.ports.get(port)?;
        let eth = EthernetFrame::new_checked(frame).ok()?;
        if Mac::from(eth.dst_addr()) != me.mac || eth.ethertype() != EthernetProtocol::Ipv6 {
            return None;
        }
        let packet = super::ipv6_packet(eth.payload())?;
        let ip = Ipv6Packet::new_unchecked(packet);
        let dst = ip.dst_addr();
        let transit = ip.next_header() != IpProtocol::Icmpv6
            && !dst.is_multicast()
            && !self.local.contains(&dst);
        transit.then_some(ETH_LEN + packet.len())
    }

    fn forward_offloaded(
        &mut self,
        now: Instant,
        frame: &mut [u8],
        offload: Offload,
        scratch: &mut [u8],
        tx: &mut dyn Tx,
    ) {
        let Some(hop) = self.route(now, &frame[ETH_LEN..], Arrival::FromLink, tx) else {
            return;
        };
        match hop {
            NextHop::Tunnel(id) => self.offloaded_into_tunnel(now, id, frame, offload, scratch, tx),
            hop => self.offloaded_to_neighbor(now, hop, frame, offload, scratch, tx),
        }
    }

    fn forward_offloaded4(
        &mut self,
        now: Instant,
        frame: &mut [u8],
        offload: Offload,
        scratch: &mut [u8],
        tx: &mut dyn Tx,
    ) {
        let Some(hop) = self.route4(now, &frame[ETH_LEN..], Arrival::FromLink, tx) else {
            return;
        };
        match hop {
            NextHop::Tunnel(id) => self.offloaded_into_tunnel(now, id, frame, offload, scratch, tx),
            hop => self.offloaded4_to_neighbor(now, hop, frame, offload, scratch, tx),
        }
    }

    /// Cuts a superframe to the tunnel MTU (or completes a partial checksum)
    /// and sends each packet into tunnel `id`.
    fn offloaded_into_tunnel(
        &mut self,
        now: Instant,
        id: usize,
        frame: &mut [u8],
        offload: Offload,
        scratch: &mut [u8],
        tx: &mut dyn Tx,
    ) {
        let Some((_, _, link_mtu)) = self.tunnel_path(id) else {
            return;
        };
        let Some(gso) = offload.gso else {
            if let Some((start, offset)) = offload.partial {
                complete_checksum(frame, start, offset);
            }
            self.send_into_tunnel(now, id, &frame[ETH_LEN..], tx);
            return;
        };
        let mtu = tunnel_mtu(link_mtu);
        let size = mtu.saturating_sub(gso.layout.headers - ETH_LEN);
        let cut = segment(frame, &gso, size, scratch, &mut |seg| {
            self.send_into_tunnel(now, id, &seg[ETH_LEN..], tx)
        });
        match cut {
            Ok(_) => self.counters.bump("tunnel.superframes_cut"),
            // IPv4 datagrams without DF are cut to fit instead (RFC 1812
            // 5.2.6), one at a time on the ordinary path.
            Err(OffloadError::DatagramTooBig { .. }) if may_fragment(&frame[ETH_LEN..]) => {
                let cut = to_plain(frame, &offload, scratch, &mut |d| {
                    self.send_into_tunnel(now, id, &d[ETH_LEN..], tx)
                });
                if let Err(e) = cut {
                    self.counters.bump(e.counter());
                }
            }
            Err(e) => {
                self.counters.bump(e.counter());
                let mtu = u32::try_from(mtu).unwrap_or(u32::MAX);
                self.icmp_error(now, IcmpError::PacketTooBig { mtu }, &frame[ETH_LEN..], tx);
            }
        }
    }

    /// Whether a frame with `offload` fits a link of `mtu`: TCP takes smaller
    /// segments on a link of smaller MTU (`offload` is changed to say so), a
    /// datagram is never split.
    fn fits(frame: &[u8], offload: &mut Offload, mtu: usize) -> bool {
        match &mut offload.gso {
            Some(gso) if gso.segment_ip_len() > mtu && gso.layout.tcp => {
                gso.size = mtu.saturating_sub(gso.layout.headers - ETH_LEN);
                gso.size > 0
            }
            Some(gso) => gso.segment_ip_len() <= mtu,
            None => frame.len() - ETH_LEN <= mtu,
        }
    }

    /// The IPv4 frame rewritten in place for a resolved neighbor (TTL with its
    /// checksum, Ethernet addresses) and handed on whole; anything else (a
    /// neighbor not resolved yet, a packet to fragment or refuse) goes segment
    /// by segment the ordinary way.
    fn offloaded4_to_neighbor(
        &mut self,
        now: Instant,
        hop: NextHop,
        frame: &mut [u8],
        mut offload: Offload,
        scratch: &mut [u8],
        tx: &mut dyn Tx,
    ) {
        let dst = Ipv4Packet::new_unchecked(&frame[ETH_LEN..]).dst_addr();
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
        let resolved = Self::fits(frame, &mut offload, p.mtu)
            .then(|| p.arp.resolved(now, next))
            .flatten()
            .filter(|_| !next.is_broadcast());
        let Some(mac) = resolved else {
            let cut = to_plain(frame, &offload, scratch, &mut |f| {
                self.forward4(now, &f[ETH_LEN..], Arrival::FromLink, tx)
            });
            if let Err(e) = cut {
                self.counters.bump(e.counter());
            }
            return;
        };
        decrement_ttl(&mut frame[ETH_LEN..]);
        frame[..ETH_LEN].copy_from_slice(&super::ipv4::ethernet_header(mac, p.mac));
        self.counters.bump("fwd.packets");
        if offload.gso.is_some() {
            self.counters.bump("fwd.superframes");
        }
        tx.send_offload(port, frame, &offload);
    }

    /// Rewrites the frame in place for the neighbor and hands it on whole.
    fn offloaded_to_neighbor(
        &mut self,
        now: Instant,
        hop: NextHop,
        frame: &mut [u8],
        mut offload: Offload,
        scratch: &mut [u8],
        tx: &mut dyn Tx,
    ) {
        let dst = Ipv6Packet::new_unchecked(&frame[ETH_LEN..]).dst_addr();
        let Some((port, next)) = self.neighbor(hop, dst) else {
            return;
        };
        let mtu = self.ports[port].mtu;
        if !Self::fits(frame, &mut offload, mtu) {
            self.counters.bump("drop.too_big");
            let mtu = u32::try_from(mtu).unwrap_or(u32::MAX);
            self.icmp_error(now, IcmpError::PacketTooBig { mtu }, &frame[ETH_LEN..], tx);
            return;
        }
        frame[HOP_LIMIT] -= 1;
        self.counters.bump("fwd.packets");
        let p = &mut self.ports[port];
        match p.nd.resolved(now, next) {
            Some(mac) => {
                frame[..ETH_LEN].copy_from_slice(&ethernet_header(mac, p.mac));
                if offload.gso.is_some() {
                    self.counters.bump("fwd.superframes");
                }
                tx.send_offload(port, frame, &offload);
            }
            // Resolution queues ordinary packets only; this is the first
            // burst to a neighbor, not the steady state.
            None => {
                let cut = to_plain(frame, &offload, scratch, &mut |f| {
                    p.nd.send_ipv6(now, next, &f[ETH_LEN..], tx)
                });
                if let Err(e) = cut {
                    self.counters.bump(e.counter());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
