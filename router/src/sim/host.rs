//! A minimal IPv6 host for simulations: the mobile node or correspondent of a
//! simulated domain. It autoconfigures from RAs (RFC 4862, no DAD), answers NS for
//! its addresses, answers pings, keeps what it receives, and can send an RS or
//! announce itself with an unsolicited NA as a migrated VM's hypervisor does.
//!
//! The namespace tests use real Linux hosts; this one exists so that thousands of
//! simulated handoffs run in milliseconds with a fake clock.

use crate::Instant;
use crate::core::{Core, PortId, Tx};
use crate::engine::eui64_link_local;
use crate::mac::Mac;
use crate::nd::frames::{
    ALL_NODES, ALL_ROUTERS, Addressing, NaFlags, NdFrame, NdMessage, build_na, build_rs,
    ethernet_ipv6, multicast_mac,
};
use ipnet::Ipv6Net;
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, Icmpv6Message, Icmpv6Packet, IpProtocol, Ipv6Packet,
};
use std::net::Ipv6Addr;

const PORT: PortId = 0;

/// A received IPv6 packet that was not ND.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub packet: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct SimHost {
    pub mac: Mac,
    pub link_local: Ipv6Addr,
    /// Global addresses, from RAs or configured.
    pub addresses: Vec<Ipv6Addr>,
    /// The default router: its link-local address and MAC, from the last RA.
    pub router: Option<(Ipv6Addr, Mac)>,
    /// Every RA received: when, from whom, and the prefixes it carried.
    pub ras: Vec<(Instant, Ipv6Addr, Vec<Ipv6Net>)>,
    pub received: Vec<Received>,
    /// Whether frames are processed at all (a paused VM processes nothing).
    pub paused: bool,
    /// The IPv4 side: its address from DHCP or configured ([`SimHost::set_ipv4`]).
    pub v4: super::host4::Ipv4Side,
}

fn slaac(prefix: &Ipv6Net, mac: Mac) -> Option<Ipv6Addr> {
    if prefix.prefix_len() != 64 {
        return None;
    }
    let iid = u128::from(eui64_link_local(mac)) & u128::from(u64::MAX);
    Some(Ipv6Addr::from(u128::from(prefix.network()) | iid))
}

impl SimHost {
    pub fn new(mac: Mac) -> Self {
        SimHost {
            mac,
            link_local: eui64_link_local(mac),
            addresses: Vec::new(),
            router: None,
            ras: Vec::new(),
            received: Vec::new(),
            paused: false,
            v4: Default::default(),
        }
    }

    fn owns(&self, a: &Ipv6Addr) -> bool {
        *a == self.link_local || self.addresses.contains(a)
    }

    /// Sends a Router Solicitation from the link-local address.
    pub fn send_rs(&mut self, tx: &mut dyn Tx) {
        let addr = Addressing {
            src_mac: self.mac,
            dst_mac: multicast_mac(ALL_ROUTERS),
            src_ip: self.link_local,
            dst_ip: ALL_ROUTERS,
        };
        tx.send(PORT, &build_rs(&addr));
    }

    /// Announces every address with an unsolicited NA (S=0, O=1) to all-nodes, as
    /// Linux guests do after a Xen or QEMU live migration (global addresses first,
    /// in the order Linux lists them).
    pub fn announce(&mut self, tx: &mut dyn Tx) {
        self.announce4(tx);
        let targets: Vec<Ipv6Addr> = self
            .addresses
            .iter()
            .copied()
            .chain(std::iter::once(self.link_local))
            .collect();
        for target in targets {
            let addr = Addressing {
                src_mac: self.mac,
                dst_mac: multicast_mac(ALL_NODES),
                src_ip: target,
                dst_ip: ALL_NODES,
            };
            let flags = NaFlags {
                router: false,
                solicited: false,
                override_: true,
            };
            tx.send(PORT, &build_na(&addr, target, flags, Some(self.mac)));
        }
    }

    /// Sends an IPv6 packet through the default router.
    pub fn send_ipv6(&mut self, packet: &[u8], tx: &mut dyn Tx) -> bool {
        let Some((_, router_mac)) = self.router else {
            return false;
        };
        tx.send(PORT, &ethernet_ipv6(self.mac, router_mac, packet));
        true
    }

    fn on_nd(&mut self, now: Instant, nd: NdFrame, tx: &mut dyn Tx) {
        match nd.message {
            NdMessage::RouterAdvert { params, sllao } => {
                let mac = sllao.unwrap_or(nd.addr.src_mac);
                self.router = Some((nd.addr.src_ip, mac));
                let prefixes: Vec<Ipv6Net> = params.prefixes.iter().map(|p| p.prefix).collect();
                for p in params.prefixes.iter().filter(|p| p.autonomous) {
                    if let Some(a) = slaac(&p.prefix, self.mac)
                        && !self.addresses.contains(&a)
                    {
                        self.addresses.push(a);
                    }
                }
                self.ras.push((now, nd.addr.src_ip, prefixes));
            }
            NdMessage::NeighborSolicit { target, sllao } if self.owns(&target) => {
                let unspecified = nd.addr.src_ip.is_unspecified();
                let addr = Addressing {
                    src_mac: self.mac,
                    dst_mac: if unspecified {
                        multicast_mac(ALL_NODES)
                    } else {
                        sllao.unwrap_or(nd.addr.src_mac)
                    },
                    src_ip: target,
                    dst_ip: if unspecified {
                        ALL_NODES
                    } else {
                        nd.addr.src_ip
                    },
                };
                let flags = NaFlags {
                    router: false,
                    solicited: !unspecified,
                    override_: true,
                };
                tx.send(PORT, &build_na(&addr, target, flags, Some(self.mac)));
            }
            _ => {}
        }
    }

    fn echo_reply(&mut self, packet: &[u8], tx: &mut dyn Tx) {
        let mut reply = packet.to_vec();
        let mut ip = Ipv6Packet::new_unchecked(&mut reply[..]);
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        // An echo to all-nodes is answered from the link-local address, as
        // Linux does (net.ipv6.icmp.echo_ignore_multicast = 0).
        let dst = if dst.is_multicast() {
            self.link_local
        } else {
            dst
        };
        ip.set_src_addr(dst);
        ip.set_dst_addr(src);
        ip.set_hop_limit(64);
        let mut icmp = Icmpv6Packet::new_unchecked(ip.payload_mut());
        icmp.set_msg_type(Icmpv6Message::EchoReply);
        icmp.fill_checksum(&dst, &src);
        self.send_ipv6(&reply, tx);
    }
}

impl Core for SimHost {
    fn on_frame(&mut self, now: Instant, _port: PortId, frame: &[u8], tx: &mut dyn Tx) {
        if self.paused {
            return;
        }
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        let to_me = Mac::from(eth.dst_addr()) == self.mac || eth.dst_addr().is_multicast();
        if !to_me {
            return;
        }
        match eth.ethertype() {
            EthernetProtocol::Ipv6 => {}
            EthernetProtocol::Ipv4 | EthernetProtocol::Arp => {
                return self.on_frame4(now, frame, tx);
            }
            _ => return,
        }
        if let Ok(nd) = NdFrame::parse(frame) {
            self.on_nd(now, nd, tx);
            return;
        }
        let Ok(ip) = Ipv6Packet::new_checked(eth.payload()) else {
            return;
        };
        if !self.owns(&ip.dst_addr()) && ip.dst_addr() != ALL_NODES {
            return;
        }
        let packet = eth
            .payload()
            .get(..ip.total_len())
            .unwrap_or_default()
            .to_vec();
        let is_echo = ip.next_header() == IpProtocol::Icmpv6 && ip.payload().first() == Some(&128);
        if is_echo {
            self.echo_reply(&packet, tx);
        }
        self.received.push(Received { at: now, packet });
    }

    fn on_timer(&mut self, _now: Instant, _tx: &mut dyn Tx) {}

    fn poll_at(&self) -> Option<Instant> {
        None
    }
}
