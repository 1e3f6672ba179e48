//! ARP frames (RFC 826) for Ethernet and IPv4, built and validated on top of
//! smoltcp's wire module, and the Ethernet framing of IPv4 packets.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Hardware Type (1: Ethernet)  |  Protocol Type (0x0800: IPv4) |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  HLen (6)     |  PLen (4)     | Operation (1 request, 2 reply)|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Sender Hardware Address (6) | Sender Protocol Address (4)    |
//! |  Target Hardware Address (6) | Target Protocol Address (4)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! A request whose sender address is 0.0.0.0 is an address probe (RFC 5227
//! 2.1.1); one whose sender and target addresses are equal is a gratuitous
//! announcement (RFC 5227 2.3), as hypervisors send for a migrated guest.

use crate::mac::Mac;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, ETHERNET_HEADER_LEN, EthernetFrame, EthernetProtocol,
    EthernetRepr,
};
use std::net::Ipv4Addr;

/// Why an ARP frame was refused; [`ArpError::counter`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ArpError {
    #[error("ethernet: frame shorter than its header")]
    TruncatedEthernet,
    #[error("ethernet: ethertype {0:#06x} is not ARP")]
    NotArp(u16),
    #[error("arp: shorter than an Ethernet/IPv4 ARP packet")]
    Truncated,
    #[error("arp: not Ethernet hardware with IPv4 addresses of 6 and 4 octets")]
    NotEthernetIpv4,
    #[error("arp: operation {0} is neither request (1) nor reply (2)")]
    Operation(u16),
    #[error("arp: sender hardware address {0} is not unicast")]
    SenderMac(Mac),
    #[error("arp: sender address {0} names no host")]
    SenderIp(Ipv4Addr),
    #[error("arp: target address {0} is multicast or broadcast")]
    TargetIp(Ipv4Addr),
}

impl ArpError {
    pub fn counter(&self) -> &'static str {
        match self {
            ArpError::TruncatedEthernet | ArpError::Truncated => "arp.drop.truncated",
            ArpError::NotArp(_) => "arp.drop.not_arp",
            ArpError::NotEthernetIpv4 => "arp.drop.not_ethernet_ipv4",
            ArpError::Operation(_) => "arp.drop.operation",
            ArpError::SenderMac(_) => "arp.drop.sender_mac",
            ArpError::SenderIp(_) => "arp.drop.sender_ip",
            ArpError::TargetIp(_) => "arp.drop.target_ip",
        }
    }
}

/// A checked ARP frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpFrame {
    pub eth_src: Mac,
    pub eth_dst: Mac,
    /// `true` for a reply.
    pub reply: bool,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

impl ArpFrame {
    /// Checks a whole Ethernet frame. Nothing that names no single host as
    /// its sender, and no target that is a group address, gets through.
    pub fn parse(frame: &[u8]) -> Result<ArpFrame, ArpError> {
        let eth = EthernetFrame::new_checked(frame).map_err(|_| ArpError::TruncatedEthernet)?;
        if eth.ethertype() != EthernetProtocol::Arp {
            return Err(ArpError::NotArp(u16::from(eth.ethertype())));
        }
        let packet = ArpPacket::new_checked(eth.payload()).map_err(|_| ArpError::Truncated)?;
        let ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_hardware_addr,
            target_protocol_addr,
        } = ArpRepr::parse(&packet).map_err(|_| ArpError::NotEthernetIpv4)?
        else {
            return Err(ArpError::NotEthernetIpv4);
        };
        let reply = match operation {
            ArpOperation::Request => false,
            ArpOperation::Reply => true,
            other => return Err(ArpError::Operation(u16::from(other))),
        };
        let sender_mac = Mac::from(source_hardware_addr);
        if !sender_mac.is_unicast() || sender_mac == Mac::default() {
            return Err(ArpError::SenderMac(sender_mac));
        }
        let sender_ip = source_protocol_addr;
        let group = |a: Ipv4Addr| a.is_broadcast() || a.is_multicast();
        if group(sender_ip) || sender_ip.is_loopback() || (reply && sender_ip.is_unspecified()) {
            return Err(ArpError::SenderIp(sender_ip));
        }
        if group(target_protocol_addr) {
            return Err(ArpError::TargetIp(target_protocol_addr));
        }
        Ok(ArpFrame {
            eth_src: Mac::from(eth.src_addr()),
            eth_dst: Mac::from(eth.dst_addr()),
            reply,
            sender_mac,
            sender_ip,
            target_mac: Mac::from(target_hardware_addr),
            target_ip: target_protocol_addr,
        })
    }

    /// An address probe (RFC 5227 2.1.1): a request from 0.0.0.0.
    pub fn is_probe(&self) -> bool {
        !self.reply && self.sender_ip.is_unspecified()
    }

    /// A gratuitous announcement of the sender's own address.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip && !self.sender_ip.is_unspecified()
    }
}

/// What an ARP frame says, for [`build`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpMessage {
    pub reply: bool,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

/// The whole Ethernet frame of `msg`, from the sender's MAC to `eth_dst`.
pub fn build(eth_dst: Mac, msg: &ArpMessage) -> Vec<u8> {
    let repr = ArpRepr::EthernetIpv4 {
        operation: if msg.reply {
            ArpOperation::Reply
        } else {
            ArpOperation::Request
        },
        source_hardware_addr: msg.sender_mac.into(),
        source_protocol_addr: msg.sender_ip,
        target_hardware_addr: msg.target_mac.into(),
        target_protocol_addr: msg.target_ip,
    };
    let mut frame = vec![0u8; ETHERNET_HEADER_LEN + repr.buffer_len()];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: msg.sender_mac.into(),
        dst_addr: eth_dst.into(),
        ethertype: EthernetProtocol::Arp,
    }
    .emit(&mut eth);
    repr.emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
    frame
}

/// A request for `target` from `mac`/`ip`: broadcast, or unicast to the
/// cached address when re-checking a known neighbor (RFC 1122 2.3.2.1).
pub fn request(mac: Mac, ip: Ipv4Addr, target: Ipv4Addr, unicast: Option<Mac>) -> Vec<u8> {
    let msg = ArpMessage {
        reply: false,
        sender_mac: mac,
        sender_ip: ip,
        target_mac: Mac::default(),
        target_ip: target,
    };
    build(unicast.unwrap_or(Mac::BROADCAST), &msg)
}

/// A gratuitous ARP request announcing that `ip` is at `mac` (RFC 5227 2.3).
pub fn gratuitous(mac: Mac, ip: Ipv4Addr) -> Vec<u8> {
    request(mac, ip, ip, None)
}

/// The Ethernet frame carrying an IPv4 packet.
pub fn ethernet_ipv4(src_mac: Mac, dst_mac: Mac, packet: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; ETHERNET_HEADER_LEN + packet.len()];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: src_mac.into(),
        dst_addr: dst_mac.into(),
        ethertype: EthernetProtocol::Ipv4,
    }
    .emit(&mut eth);
    eth.payload_mut().copy_from_slice(packet);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: Mac = Mac([0x52, 0x54, 0, 0xaa, 0, 1]);
    const ROUTER: Mac = Mac([0x02, 0x7a, 0x70, 0, 0, 1]);

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// A request from 52:54:00:aa:00:01 (10.1.1.5) for 10.1.1.1, byte by byte.
    const REQUEST: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0xaa, 0x00, 0x01, 0x08, 0x06, //
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, //
        0x52, 0x54, 0x00, 0xaa, 0x00, 0x01, 10, 1, 1, 5, //
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10, 1, 1, 1,
    ];

    #[test]
    fn request_bytes_both_ways() {
        assert_eq!(request(NODE, a("10.1.1.5"), a("10.1.1.1"), None), REQUEST);
        let f = ArpFrame::parse(&REQUEST).unwrap();
        assert_eq!(
            (f.reply, f.sender_mac, f.sender_ip, f.target_ip),
            (false, NODE, a("10.1.1.5"), a("10.1.1.1"))
        );
        assert!(!f.is_probe() && !f.is_gratuitous());
        assert_eq!(f.eth_dst, Mac::BROADCAST);
    }

    #[test]
    fn reply_probe_and_gratuitous() {
        let reply = build(
            NODE,
            &ArpMessage {
                reply: true,
                sender_mac: ROUTER,
                sender_ip: a("10.1.1.1"),
                target_mac: NODE,
                target_ip: a("10.1.1.5"),
            },
        );
        assert_eq!(&reply[20..22], &[0, 2]);
        let r = ArpFrame::parse(&reply).unwrap();
        assert!(r.reply && r.target_mac == NODE && r.eth_src == ROUTER);
        let probe = ArpFrame::parse(&request(NODE, a("0.0.0.0"), a("10.1.1.5"), None)).unwrap();
        assert!(probe.is_probe() && !probe.is_gratuitous());
        let g = ArpFrame::parse(&gratuitous(NODE, a("10.1.1.5"))).unwrap();
        assert!(g.is_gratuitous());
    }

    #[test]
    fn refuses_what_names_no_host_and_never_panics() {
        for n in 0..REQUEST.len() {
            assert!(ArpFrame::parse(&REQUEST[..n]).is_err(), "cut at {n}");
        }
        let with = |i: usize, v: u8| {
            let mut f = REQUEST;
            f[i] = v;
            ArpFrame::parse(&f)
        };
        assert_eq!(with(13, 0x00), Err(ArpError::NotArp(0x0800)));
        assert_eq!(with(15, 6), Err(ArpError::NotEthernetIpv4));
        assert_eq!(with(19, 16), Err(ArpError::Truncated));
        assert_eq!(with(19, 2), Err(ArpError::NotEthernetIpv4));
        assert_eq!(with(21, 3), Err(ArpError::Operation(3)));
        assert!(matches!(with(22, 0x01), Err(ArpError::SenderMac(_))));
        assert!(matches!(with(28, 224), Err(ArpError::SenderIp(_))));
        assert!(matches!(with(38, 239), Err(ArpError::TargetIp(_))));
        let mut rng = crate::rng::SplitMix64::new(7);
        for _ in 0..2000 {
            let mut f = REQUEST;
            let i = rng.below(f.len() as u64) as usize;
            f[i] = rng.below(256) as u8;
            let _ = ArpFrame::parse(&f);
        }
    }
}
