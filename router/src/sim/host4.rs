//! The IPv4 side of [`SimHost`]: a minimal DHCP client (DISCOVER, REQUEST,
//! and a RENEW on demand, RFC 2131), answers to ARP requests for its address,
//! answers to pings, and the gratuitous ARP a hypervisor sends for a migrated
//! guest. Enough for a simulated dual-stack VM to hold the address the MAG's
//! DHCP server hands it; the namespace tests run real clients.

use super::host::{Received, SimHost};
use crate::Instant;
use crate::arp::frames::{ArpFrame, ArpMessage, build, ethernet_ipv4, gratuitous};
use crate::core::Tx;
use crate::dhcp::{ClientRequest, MessageType, ServerMessage};
use crate::mac::Mac;
use ipnet::Ipv4Net;
use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet};
use std::net::Ipv4Addr;

const PORT: usize = 0;

/// What the host knows about IPv4.
#[derive(Debug, Clone, Default)]
pub struct Ipv4Side {
    /// Its address with the link's prefix.
    pub address: Option<Ipv4Net>,
    /// Its default router and the router's MAC.
    pub router: Option<(Ipv4Addr, Mac)>,
    /// The DHCP server that gave the lease (where RENEWs go).
    pub server: Option<Ipv4Addr>,
    /// Transaction of the exchange under way.
    xid: u32,
    /// Every lease (ACK) received: when, and the address.
    pub leases: Vec<(Instant, Ipv4Addr)>,
    /// NAKs received.
    pub naks: u32,
}

impl SimHost {
    /// Configures an address by hand (a correspondent), with its router.
    pub fn set_ipv4(&mut self, address: Ipv4Net, router: Ipv4Addr, router_mac: Mac) {
        self.v4.address = Some(address);
        self.v4.router = Some((router, router_mac));
    }

    /// Starts a DHCP exchange from INIT: a broadcast DISCOVER.
    pub fn send_dhcp_discover(&mut self, tx: &mut dyn Tx) {
        self.v4.xid = self.v4.xid.wrapping_add(1);
        tx.send(
            PORT,
            &ClientRequest::discover(self.mac, self.v4.xid).frame(),
        );
    }

    /// RENEWING (RFC 2131 4.4.5): a unicast REQUEST to the server that gave
    /// the lease, from the address it gave; false without a lease.
    pub fn send_dhcp_renew(&mut self, tx: &mut dyn Tx) -> bool {
        let (Some(address), Some(server), Some((_, router_mac))) =
            (self.v4.address, self.v4.server, self.v4.router)
        else {
            return false;
        };
        self.v4.xid = self.v4.xid.wrapping_add(1);
        let renew = ClientRequest {
            kind: MessageType::Request,
            xid: self.v4.xid,
            chaddr: self.mac,
            ciaddr: address.addr(),
            requested_ip: None,
            server_id: None,
            to: server,
            to_mac: router_mac,
        };
        tx.send(PORT, &renew.frame());
        true
    }

    /// Sends an IPv4 packet through the default router.
    pub fn send_ipv4(&mut self, packet: &[u8], tx: &mut dyn Tx) -> bool {
        let Some((_, mac)) = self.v4.router else {
            return false;
        };
        tx.send(PORT, &ethernet_ipv4(self.mac, mac, packet));
        true
    }

    /// The hypervisor's announcement of the guest's IPv4 address.
    pub(super) fn announce4(&mut self, tx: &mut dyn Tx) {
        if let Some(address) = self.v4.address {
            tx.send(PORT, &gratuitous(self.mac, address.addr()));
        }
    }

    pub(super) fn on_frame4(&mut self, now: Instant, frame: &[u8], tx: &mut dyn Tx) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        if eth.ethertype() == EthernetProtocol::Arp {
            return self.on_arp(frame, tx);
        }
        let Ok(packet) = crate::ipv4::packet(eth.payload()) else {
            return;
        };
        if let Some(msg) = ServerMessage::parse(packet) {
            return self.on_dhcp(now, Mac::from(eth.src_addr()), &msg, tx);
        }
        let ip = Ipv4Packet::new_unchecked(packet);
        if self.v4.address.map(|a| a.addr()) != Some(ip.dst_addr()) {
            return;
        }
        if ip.next_header() == IpProtocol::Icmp
            && let Some(reply) = crate::icmpv4::echo_reply(packet)
        {
            self.send_ipv4(&reply, tx);
        }
        self.received.push(Received {
            at: now,
            packet: packet.to_vec(),
        });
    }

    fn on_arp(&mut self, frame: &[u8], tx: &mut dyn Tx) {
        let Ok(arp) = ArpFrame::parse(frame) else {
            return;
        };
        let mine = self.v4.address.map(|a| a.addr());
        if arp.reply || Some(arp.target_ip) != mine || arp.sender_mac == self.mac {
            return;
        }
        let reply = ArpMessage {
            reply: true,
            sender_mac: self.mac,
            sender_ip: arp.target_ip,
            target_mac: arp.sender_mac,
            target_ip: arp.sender_ip,
        };
        tx.send(PORT, &build(arp.sender_mac, &reply));
    }

    fn on_dhcp(&mut self, now: Instant, from: Mac, msg: &ServerMessage, tx: &mut dyn Tx) {
        if msg.xid != self.v4.xid {
            return;
        }
        match msg.kind {
            MessageType::Offer => {
                // SELECTING (RFC 2131 4.4.1): the offer taken, by broadcast.
                let request = ClientRequest {
                    kind: MessageType::Request,
                    requested_ip: Some(msg.yiaddr),
                    server_id: msg.server_id,
                    ..ClientRequest::discover(self.mac, self.v4.xid)
                };
                tx.send(PORT, &request.frame());
            }
            MessageType::Ack => {
                let len = msg
                    .subnet_mask
                    .map_or(32, |m| u32::from(m).count_ones() as u8);
                self.v4.address = Ipv4Net::new(msg.yiaddr, len).ok();
                self.v4.router = msg.router.map(|r| (r, from));
                self.v4.server = msg.server_id;
                self.v4.leases.push((now, msg.yiaddr));
            }
            MessageType::Nak => self.v4.naks += 1,
            _ => {}
        }
    }
}
