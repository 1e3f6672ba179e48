//! DHCPv4 messages (RFC 2131, options RFC 2132) in their UDP, IPv4 and
//! Ethernet frames: the client messages a server reads and the replies it
//! sends. The message itself is smoltcp's `wire::dhcpv4`, the crate every
//! other frame here is built with; only the framing and the reply's
//! addressing (RFC 2131 4.1) are written here.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |
//! |                            xid (4)                            |
//! |           secs (2)            |           flags (2)           |
//! |                          ciaddr  (4)                          |
//! |                          yiaddr  (4)                          |
//! |                          siaddr  (4)                          |
//! |                          giaddr  (4)                          |
//! |                          chaddr  (16)                         |
//! |                          sname   (64)                         |
//! |                          file    (128)                        |
//! |              magic cookie 99.130.83.99, options               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::arp::frames::ethernet_ipv4;
use crate::mac::Mac;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DhcpOption, DhcpPacket, DhcpRepr, IpAddress, IpProtocol,
    Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr,
};
use std::net::Ipv4Addr;

pub use smoltcp::wire::DhcpMessageType as MessageType;

/// RFC 2132 option codes this server writes that smoltcp's repr does not.
const OPT_INTERFACE_MTU: u8 = 26;
const OPT_MESSAGE: u8 = 56;
const OPT_RENEWAL_TIME: u8 = 58;
const OPT_REBINDING_TIME: u8 = 59;
/// A BOOTP message is never shorter than this (RFC 1542 2.1), options padded.
const MIN_BOOTP_LEN: usize = 300;
/// TTL of the messages (RFC 1700's default).
const REPLY_TTL: u8 = 64;

/// Why a client message was refused; [`DhcpError::counter`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DhcpError {
    #[error("not a whole UDP datagram to the DHCP server port 67")]
    NotDhcp,
    #[error("UDP checksum does not verify")]
    BadChecksum,
    #[error("not a BOOTREQUEST for Ethernet with the magic cookie and a message type")]
    Malformed,
    #[error("a server's message type ({0}) from a client")]
    NotClientMessage(u8),
    #[error("relayed through {0}: this server serves its own link only")]
    Relayed(Ipv4Addr),
}

impl DhcpError {
    pub fn counter(&self) -> &'static str {
        match self {
            DhcpError::NotDhcp => "dhcp.drop.not_dhcp",
            DhcpError::BadChecksum => "dhcp.drop.bad_checksum",
            DhcpError::Malformed => "dhcp.drop.malformed",
            DhcpError::NotClientMessage(_) => "dhcp.drop.not_client_message",
            DhcpError::Relayed(_) => "dhcp.drop.relayed",
        }
    }
}

/// A checked message from a client, with the addresses it came with: whether
/// it was broadcast tells RENEWING from REBINDING (RFC 2131 4.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMessage {
    pub kind: MessageType,
    pub xid: u32,
    pub secs: u16,
    pub chaddr: Mac,
    pub ciaddr: Ipv4Addr,
    pub broadcast_flag: bool,
    pub requested_ip: Option<Ipv4Addr>,
    pub server_id: Option<Ipv4Addr>,
    /// The client identifier, when it is a MAC (type 1, RFC 2132 9.14).
    pub client_id: Option<Mac>,
    /// IP source and destination of the datagram.
    pub ip_src: Ipv4Addr,
    pub ip_dst: Ipv4Addr,
}

impl ClientMessage {
    /// Reads the DHCP message in a checked IPv4 packet (see [`crate::ipv4::packet`]).
    pub fn parse(packet: &[u8]) -> Result<ClientMessage, DhcpError> {
        let ip = Ipv4Packet::new_checked(packet).map_err(|_| DhcpError::NotDhcp)?;
        if ip.next_header() != IpProtocol::Udp {
            return Err(DhcpError::NotDhcp);
        }
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let udp = UdpPacket::new_checked(ip.payload()).map_err(|_| DhcpError::NotDhcp)?;
        if udp.dst_port() != DHCP_SERVER_PORT || udp.src_port() != DHCP_CLIENT_PORT {
            return Err(DhcpError::NotDhcp);
        }
        UdpRepr::parse(
            &udp,
            &IpAddress::Ipv4(src),
            &IpAddress::Ipv4(dst),
            &ChecksumCapabilities::default(),
        )
        .map_err(|_| DhcpError::BadChecksum)?;
        let body = udp.payload();
        let dhcp = DhcpPacket::new_checked(body).map_err(|_| DhcpError::Malformed)?;
        let repr = DhcpRepr::parse(&dhcp).map_err(|_| DhcpError::Malformed)?;
        if !matches!(
            repr.message_type,
            MessageType::Discover
                | MessageType::Request
                | MessageType::Decline
                | MessageType::Release
                | MessageType::Inform
        ) {
            return Err(DhcpError::NotClientMessage(u8::from(repr.message_type)));
        }
        if !repr.relay_agent_ip.is_unspecified() {
            return Err(DhcpError::Relayed(repr.relay_agent_ip));
        }
        Ok(ClientMessage {
            kind: repr.message_type,
            xid: repr.transaction_id,
            secs: repr.secs,
            chaddr: Mac::from(repr.client_hardware_address),
            ciaddr: repr.client_ip,
            broadcast_flag: repr.broadcast,
            requested_ip: repr.requested_ip,
            server_id: repr.server_identifier,
            client_id: repr.client_identifier.map(Mac::from),
            ip_src: src,
            ip_dst: dst,
        })
    }

    /// Whether the datagram was sent to the limited broadcast address.
    pub fn was_broadcast(&self) -> bool {
        self.ip_dst.is_broadcast()
    }
}

/// What a server's OFFER, ACK or NAK says (RFC 2131 4.3.1, 4.3.2, table 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReply {
    pub kind: MessageType,
    /// The client message this answers.
    pub xid: u32,
    pub chaddr: Mac,
    pub ciaddr: Ipv4Addr,
    pub broadcast_flag: bool,
    /// The address handed out (0.0.0.0 in a NAK or an ACK to an INFORM).
    pub yiaddr: Ipv4Addr,
    pub server_id: Ipv4Addr,
    /// Lease, renewal (T1) and rebinding (T2) times, in seconds.
    pub lease_secs: Option<u32>,
    pub renew_secs: Option<u32>,
    pub rebind_secs: Option<u32>,
    pub subnet_mask: Option<Ipv4Addr>,
    pub router: Option<Ipv4Addr>,
    pub mtu: Option<u16>,
    /// Why, in a NAK (option 56).
    pub message: Option<String>,
}

impl ServerReply {
    /// Where the reply goes on a link without relays (RFC 2131 4.1): a NAK
    /// and a reply the client asked to be broadcast to everyone; to a client
    /// that has an address, to that address; else to the offered address at
    /// the client's MAC, which needs no ARP (the client cannot answer one yet).
    pub fn destination(&self) -> (Mac, Ipv4Addr) {
        if self.kind == MessageType::Nak || self.broadcast_flag {
            return (Mac::BROADCAST, Ipv4Addr::BROADCAST);
        }
        if !self.ciaddr.is_unspecified() {
            return (self.chaddr, self.ciaddr);
        }
        (self.chaddr, self.yiaddr)
    }

    /// The whole Ethernet frame from the server at `src_mac`, addressed as
    /// [`ServerReply::destination`] says.
    pub fn frame(&self, src_mac: Mac) -> Vec<u8> {
        let (dst_mac, dst_ip) = self.destination();
        let words = |v: Option<u32>| v.map(u32::to_be_bytes);
        let (t1, t2) = (words(self.renew_secs), words(self.rebind_secs));
        let mtu = self.mtu.map(u16::to_be_bytes);
        let mut extra = Vec::new();
        if let Some(t1) = &t1 {
            extra.push(DhcpOption {
                kind: OPT_RENEWAL_TIME,
                data: t1,
            });
        }
        if let Some(t2) = &t2 {
            extra.push(DhcpOption {
                kind: OPT_REBINDING_TIME,
                data: t2,
            });
        }
        if let Some(mtu) = &mtu {
            extra.push(DhcpOption {
                kind: OPT_INTERFACE_MTU,
                data: mtu,
            });
        }
        if let Some(message) = &self.message {
            let len = message.len().min(255);
            extra.push(DhcpOption {
                kind: OPT_MESSAGE,
                data: &message.as_bytes()[..len],
            });
        }
        let repr = DhcpRepr {
            message_type: self.kind,
            transaction_id: self.xid,
            secs: 0,
            client_hardware_address: self.chaddr.into(),
            client_ip: self.ciaddr,
            your_ip: self.yiaddr,
            server_ip: Ipv4Addr::UNSPECIFIED,
            router: self.router,
            subnet_mask: self.subnet_mask,
            relay_agent_ip: Ipv4Addr::UNSPECIFIED,
            broadcast: self.broadcast_flag,
            requested_ip: None,
            client_identifier: None,
            server_identifier: Some(self.server_id),
            parameter_request_list: None,
            dns_servers: None,
            max_size: None,
            lease_duration: self.lease_secs,
            renew_duration: None,
            rebind_duration: None,
            additional_options: &extra,
        };
        let ends = Ends {
            macs: (src_mac, dst_mac),
            ips: (self.server_id, dst_ip),
            ports: (DHCP_SERVER_PORT, DHCP_CLIENT_PORT),
        };
        frame(&ends, &repr)
    }
}

/// The addresses and ports of a DHCP frame, source first.
struct Ends {
    macs: (Mac, Mac),
    ips: (Ipv4Addr, Ipv4Addr),
    ports: (u16, u16),
}

/// The whole Ethernet frame carrying `repr` over UDP and IPv4, the message
/// padded to a BOOTP message's minimum size.
fn frame(ends: &Ends, repr: &DhcpRepr<'_>) -> Vec<u8> {
    let dhcp_len = repr.buffer_len().max(MIN_BOOTP_LEN);
    let udp_len = 8 + dhcp_len;
    let mut packet = vec![0u8; 20 + udp_len];
    let caps = ChecksumCapabilities::default();
    let (src, dst) = ends.ips;
    Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Udp,
        payload_len: udp_len,
        hop_limit: REPLY_TTL,
    }
    .emit(&mut Ipv4Packet::new_unchecked(&mut packet[..]), &caps);
    UdpRepr {
        src_port: ends.ports.0,
        dst_port: ends.ports.1,
    }
    .emit(
        &mut UdpPacket::new_unchecked(&mut packet[20..]),
        &IpAddress::Ipv4(src),
        &IpAddress::Ipv4(dst),
        dhcp_len,
        |body| {
            // Every option fits: the buffer is at least `buffer_len`.
            let _ = repr.emit(&mut DhcpPacket::new_unchecked(body));
        },
        &caps,
    );
    ethernet_ipv4(ends.macs.0, ends.macs.1, &packet)
}

/// A client message as a node's DHCP client sends it: for simulations and
/// for the tests of what the server reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    pub kind: MessageType,
    pub xid: u32,
    pub chaddr: Mac,
    pub ciaddr: Ipv4Addr,
    pub requested_ip: Option<Ipv4Addr>,
    pub server_id: Option<Ipv4Addr>,
    /// IP destination: the limited broadcast, or the server (RENEWING).
    pub to: Ipv4Addr,
    /// Ethernet destination, matching `to`.
    pub to_mac: Mac,
}

impl ClientRequest {
    /// A DISCOVER from `chaddr` (INIT), broadcast.
    pub fn discover(chaddr: Mac, xid: u32) -> ClientRequest {
        ClientRequest {
            kind: MessageType::Discover,
            xid,
            chaddr,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            requested_ip: None,
            server_id: None,
            to: Ipv4Addr::BROADCAST,
            to_mac: Mac::BROADCAST,
        }
    }

    /// The whole Ethernet frame, with the options a minimal client sends.
    pub fn frame(&self) -> Vec<u8> {
        let prl = [1u8, 3, 26, 51];
        let repr = DhcpRepr {
            message_type: self.kind,
            transaction_id: self.xid,
            secs: 0,
            client_hardware_address: self.chaddr.into(),
            client_ip: self.ciaddr,
            your_ip: Ipv4Addr::UNSPECIFIED,
            server_ip: Ipv4Addr::UNSPECIFIED,
            router: None,
            subnet_mask: None,
            relay_agent_ip: Ipv4Addr::UNSPECIFIED,
            broadcast: false,
            requested_ip: self.requested_ip,
            client_identifier: Some(self.chaddr.into()),
            server_identifier: self.server_id,
            parameter_request_list: Some(&prl),
            dns_servers: None,
            max_size: Some(1500),
            lease_duration: None,
            renew_duration: None,
            rebind_duration: None,
            additional_options: &[],
        };
        let ends = Ends {
            macs: (self.chaddr, self.to_mac),
            ips: (self.ciaddr, self.to),
            ports: (DHCP_CLIENT_PORT, DHCP_SERVER_PORT),
        };
        frame(&ends, &repr)
    }
}

/// A server reply as a client reads it (simulated clients and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMessage {
    pub kind: MessageType,
    pub xid: u32,
    pub yiaddr: Ipv4Addr,
    pub server_id: Option<Ipv4Addr>,
    pub subnet_mask: Option<Ipv4Addr>,
    pub router: Option<Ipv4Addr>,
    pub lease_secs: Option<u32>,
}

impl ServerMessage {
    /// Reads a server's message from a checked IPv4 packet.
    pub fn parse(packet: &[u8]) -> Option<ServerMessage> {
        let ip = Ipv4Packet::new_checked(packet).ok()?;
        let udp = UdpPacket::new_checked(ip.payload()).ok()?;
        if udp.src_port() != DHCP_SERVER_PORT || udp.dst_port() != DHCP_CLIENT_PORT {
            return None;
        }
        let dhcp = DhcpPacket::new_checked(udp.payload()).ok()?;
        let repr = DhcpRepr::parse(&dhcp).ok()?;
        Some(ServerMessage {
            kind: repr.message_type,
            xid: repr.transaction_id,
            yiaddr: repr.your_ip,
            server_id: repr.server_identifier,
            subnet_mask: repr.subnet_mask,
            router: repr.router,
            lease_secs: repr.lease_duration,
        })
    }
}

/// The subnet mask of a prefix length (RFC 950), as option 1 carries it.
pub fn mask(prefix_len: u8) -> Ipv4Addr {
    let bits = u32::MAX
        .checked_shl(32 - u32::from(prefix_len.min(32)))
        .unwrap_or(0);
    Ipv4Addr::from(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: Mac = Mac([0x52, 0x54, 0, 0xaa, 0, 1]);
    const SERVER: Mac = Mac([0x02, 0x7a, 0x70, 0, 0, 1]);

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn discover() -> ClientRequest {
        ClientRequest::discover(NODE, 0x1234_5678)
    }

    fn ip_of(frame: &[u8]) -> &[u8] {
        crate::ipv4::packet(&frame[14..]).unwrap()
    }

    #[test]
    fn a_discover_reads_back() {
        let frame = discover().frame();
        assert_eq!(&frame[..6], &[0xff; 6]);
        assert_eq!(&frame[12..14], &[0x08, 0x00]);
        let m = ClientMessage::parse(ip_of(&frame)).unwrap();
        assert_eq!(m.kind, MessageType::Discover);
        assert_eq!(
            (m.xid, m.chaddr, m.client_id),
            (0x1234_5678, NODE, Some(NODE))
        );
        assert!(m.was_broadcast() && m.ciaddr.is_unspecified());
        // The fixed fields, byte by byte: op 1, htype 1, hlen 6, xid, magic cookie.
        let dhcp = &frame[14 + 28..];
        assert_eq!(&dhcp[..8], &[1, 1, 6, 0, 0x12, 0x34, 0x56, 0x78]);
        assert_eq!(&dhcp[28..34], NODE.as_bytes());
        assert_eq!(&dhcp[236..240], &[99, 130, 83, 99]);
        assert_eq!(&dhcp[240..243], &[53, 1, 1]);
        assert!(dhcp.len() >= 300);
    }

    #[test]
    fn an_offer_carries_lease_router_mask_and_mtu() {
        let reply = ServerReply {
            kind: MessageType::Offer,
            xid: 7,
            chaddr: NODE,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            broadcast_flag: false,
            yiaddr: a("10.1.1.5"),
            server_id: a("10.1.1.1"),
            lease_secs: Some(3600),
            renew_secs: Some(1800),
            rebind_secs: Some(3150),
            subnet_mask: Some(mask(24)),
            router: Some(a("10.1.1.1")),
            mtu: Some(1460),
            message: None,
        };
        assert_eq!(reply.destination(), (NODE, a("10.1.1.5")));
        let frame = reply.frame(SERVER);
        let m = ServerMessage::parse(ip_of(&frame)).unwrap();
        assert_eq!(
            (m.kind, m.xid, m.yiaddr, m.lease_secs),
            (MessageType::Offer, 7, a("10.1.1.5"), Some(3600))
        );
        assert_eq!(
            (m.router, m.subnet_mask),
            (Some(a("10.1.1.1")), Some(a("255.255.255.0")))
        );
        let options = &frame[14 + 28 + 240..];
        let has = |kind: u8, data: &[u8]| {
            options
                .windows(2 + data.len())
                .any(|w| w[0] == kind && usize::from(w[1]) == data.len() && &w[2..] == data)
        };
        assert!(has(26, &1460u16.to_be_bytes()));
        assert!(has(58, &1800u32.to_be_bytes()) && has(59, &3150u32.to_be_bytes()));
        let nak = ServerReply {
            kind: MessageType::Nak,
            message: Some("not your address".into()),
            ..reply
        };
        assert_eq!(nak.destination(), (Mac::BROADCAST, Ipv4Addr::BROADCAST));
        assert_eq!(
            ServerMessage::parse(ip_of(&nak.frame(SERVER)))
                .unwrap()
                .kind,
            MessageType::Nak
        );
    }

    #[test]
    fn refuses_what_is_not_a_client_message_and_never_panics() {
        let frame = discover().frame();
        let packet = ip_of(&frame).to_vec();
        let mut bad_sum = packet.clone();
        bad_sum[20 + 8 + 10] ^= 1;
        assert_eq!(ClientMessage::parse(&bad_sum), Err(DhcpError::BadChecksum));
        let mut cookie = packet.clone();
        cookie[20 + 8 + 236] = 0;
        let mut udp = UdpPacket::new_unchecked(&mut cookie[20..]);
        udp.fill_checksum(
            &IpAddress::Ipv4(Ipv4Addr::UNSPECIFIED),
            &IpAddress::Ipv4(Ipv4Addr::BROADCAST),
        );
        assert_eq!(ClientMessage::parse(&cookie), Err(DhcpError::Malformed));
        let offer = ServerReply {
            kind: MessageType::Offer,
            xid: 1,
            chaddr: NODE,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            broadcast_flag: true,
            yiaddr: a("10.1.1.5"),
            server_id: a("10.1.1.1"),
            lease_secs: None,
            renew_secs: None,
            rebind_secs: None,
            subnet_mask: None,
            router: None,
            mtu: None,
            message: None,
        };
        assert_eq!(
            ClientMessage::parse(ip_of(&offer.frame(SERVER))),
            Err(DhcpError::NotDhcp),
            "server to client port"
        );
        for n in 0..packet.len() {
            let _ = ClientMessage::parse(&packet[..n]);
        }
        let mut rng = crate::rng::SplitMix64::new(3);
        for _ in 0..3000 {
            let mut p = packet.clone();
            for _ in 0..3 {
                let i = 20 + 8 + rng.below((p.len() - 28) as u64) as usize;
                p[i] = rng.below(256) as u8;
            }
            UdpPacket::new_unchecked(&mut p[20..]).set_checksum(0);
            let _ = ClientMessage::parse(&p);
        }
        assert_eq!(mask(0), a("0.0.0.0"));
        assert_eq!(mask(32), a("255.255.255.255"));
    }
}
