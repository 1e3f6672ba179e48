//! Reverse ARP (RFC 903), as hypervisors use it to announce a migrated guest:
//! QEMU's announce-self broadcasts a RARP "request reverse" whose sender and
//! target hardware addresses are the guest NIC's MAC, with both protocol
//! addresses zero. The MAC is all it carries: whoever sees it learns where that
//! MAC is now (switches; a MAG, that the node attached).
//!
//! RFC 903 keeps ARP's packet format (RFC 826) under EtherType 0x8035 and adds
//! two operation codes:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Hardware type (1)         |     Protocol type (0x0800)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  HW len (6)   | Proto len (4) | Operation (3 request reverse, |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+            4 reply reverse)   |
//! |                 Sender hardware address (6 octets)            |
//! +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               |  Sender protocol address (4)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               |  Target hardware address (6)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                               |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Target protocol address (4)                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The layout being ARP's, the packet view is smoltcp's [`ArpPacket`] (its
//! `check_len` covers the variable-length addresses); this module adds what
//! RARP means: the EtherType, the operations, the Ethernet/IPv4 case.

use smoltcp::wire::{
    ArpHardware, ArpOperation, ArpPacket, EthernetFrame, EthernetProtocol, Ipv4Address,
};

use crate::mac::Mac;

/// RFC 903: the EtherType of RARP.
pub const ETHERTYPE_RARP: u16 = 0x8035;
/// RFC 903: "request reverse".
pub const OP_REQUEST_REVERSE: u16 = 3;
/// RFC 903: "reply reverse".
pub const OP_REPLY_REVERSE: u16 = 4;
const HW_LEN_ETHERNET: u8 = 6;
const PROTO_LEN_IPV4: u8 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RarpError {
    #[error("RARP: truncated (the addresses the lengths announce do not fit)")]
    Truncated,
    #[error(
        "RARP: hardware type {hardware}/{hw_len}, protocol 0x{protocol:04x}/{proto_len}: not Ethernet and IPv4"
    )]
    NotEthernetIpv4 {
        hardware: u16,
        hw_len: u8,
        protocol: u16,
        proto_len: u8,
    },
    #[error("RARP: operation {0} is neither request reverse (3) nor reply reverse (4)")]
    Operation(u16),
}

/// An Ethernet/IPv4 RARP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RarpRepr {
    /// [`OP_REQUEST_REVERSE`] or [`OP_REPLY_REVERSE`].
    pub operation: u16,
    pub sender_hardware_addr: Mac,
    pub sender_protocol_addr: Ipv4Address,
    pub target_hardware_addr: Mac,
    pub target_protocol_addr: Ipv4Address,
}

impl RarpRepr {
    /// The announcement QEMU sends for a NIC with `mac` after a migration:
    /// "who am I", asked by and about `mac`, with no protocol address known.
    pub fn announcement(mac: Mac) -> RarpRepr {
        RarpRepr {
            operation: OP_REQUEST_REVERSE,
            sender_hardware_addr: mac,
            sender_protocol_addr: Ipv4Address::UNSPECIFIED,
            target_hardware_addr: mac,
            target_protocol_addr: Ipv4Address::UNSPECIFIED,
        }
    }

    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<RarpRepr, RarpError> {
        packet.check_len().map_err(|_| RarpError::Truncated)?;
        let (hardware, protocol) = (packet.hardware_type(), packet.protocol_type());
        let (hw_len, proto_len) = (packet.hardware_len(), packet.protocol_len());
        if hardware != ArpHardware::Ethernet
            || protocol != EthernetProtocol::Ipv4
            || hw_len != HW_LEN_ETHERNET
            || proto_len != PROTO_LEN_IPV4
        {
            return Err(RarpError::NotEthernetIpv4 {
                hardware: hardware.into(),
                hw_len,
                protocol: protocol.into(),
                proto_len,
            });
        }
        let operation = u16::from(packet.operation());
        if operation != OP_REQUEST_REVERSE && operation != OP_REPLY_REVERSE {
            return Err(RarpError::Operation(operation));
        }
        let ipv4 = |b: &[u8]| Ipv4Address::from_octets(super::array(b));
        Ok(RarpRepr {
            operation,
            sender_hardware_addr: Mac(super::array(packet.source_hardware_addr())),
            sender_protocol_addr: ipv4(packet.source_protocol_addr()),
            target_hardware_addr: Mac(super::array(packet.target_hardware_addr())),
            target_protocol_addr: ipv4(packet.target_protocol_addr()),
        })
    }

    /// 28 octets: 8 of header, two hardware and two protocol addresses.
    pub const fn buffer_len(&self) -> usize {
        8 + 2 * (HW_LEN_ETHERNET as usize + PROTO_LEN_IPV4 as usize)
    }

    /// Writes the message into `packet`, which must hold [`RarpRepr::buffer_len`] octets.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        packet.set_hardware_type(ArpHardware::Ethernet);
        packet.set_protocol_type(EthernetProtocol::Ipv4);
        packet.set_hardware_len(HW_LEN_ETHERNET);
        packet.set_protocol_len(PROTO_LEN_IPV4);
        packet.set_operation(ArpOperation::from(self.operation));
        packet.set_source_hardware_addr(self.sender_hardware_addr.as_bytes());
        packet.set_source_protocol_addr(&self.sender_protocol_addr.octets());
        packet.set_target_hardware_addr(self.target_hardware_addr.as_bytes());
        packet.set_target_protocol_addr(&self.target_protocol_addr.octets());
    }

    /// The broadcast Ethernet frame carrying this message from `src`, padded to
    /// Ethernet's 60-octet minimum as QEMU pads it.
    pub fn frame(&self, src: Mac) -> Vec<u8> {
        const MIN_FRAME: usize = 60;
        let mut frame = vec![0u8; (14 + self.buffer_len()).max(MIN_FRAME)];
        frame[0..6].copy_from_slice(&[0xff; 6]);
        frame[6..12].copy_from_slice(src.as_bytes());
        frame[12..14].copy_from_slice(&ETHERTYPE_RARP.to_be_bytes());
        self.emit(&mut ArpPacket::new_unchecked(&mut frame[14..]));
        frame
    }
}

/// The Ethernet source and RARP message of `frame`, if it is a RARP frame;
/// `Ok(None)` for every other EtherType.
pub fn parse_frame(frame: &[u8]) -> Result<Option<(Mac, RarpRepr)>, RarpError> {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return Ok(None);
    };
    if u16::from(eth.ethertype()) != ETHERTYPE_RARP {
        return Ok(None);
    }
    let repr = RarpRepr::parse(&ArpPacket::new_unchecked(eth.payload()))?;
    Ok(Some((eth.src_addr().into(), repr)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = Mac([0x52, 0x54, 0x00, 0xaa, 0x00, 0x01]);

    /// What QEMU 7.2's announce-self put on the wire for a NIC with MAC
    /// 52:54:00:aa:00:01 (net/announce.c), captured in the lab.
    const QEMU_ANNOUNCE: [u8; 60] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0xaa, 0x00, 0x01, 0x80, 0x35, //
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x03, //
        0x52, 0x54, 0x00, 0xaa, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, //
        0x52, 0x54, 0x00, 0xaa, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, //
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    #[test]
    fn parses_and_emits_qemus_announcement() {
        let (src, repr) = parse_frame(&QEMU_ANNOUNCE).unwrap().unwrap();
        assert_eq!(src, MAC);
        assert_eq!(repr, RarpRepr::announcement(MAC));
        assert_eq!(repr.buffer_len(), 28);
        assert_eq!(repr.frame(MAC), QEMU_ANNOUNCE);
    }

    #[test]
    fn other_frames_and_bad_messages() {
        let mut ipv6 = QEMU_ANNOUNCE;
        ipv6[12..14].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(parse_frame(&ipv6), Ok(None));
        assert_eq!(
            parse_frame(&QEMU_ANNOUNCE[..10]),
            Ok(None),
            "not even Ethernet"
        );
        assert_eq!(parse_frame(&QEMU_ANNOUNCE[..30]), Err(RarpError::Truncated));
        let mut arp_request = QEMU_ANNOUNCE;
        arp_request[21] = 1;
        assert_eq!(parse_frame(&arp_request), Err(RarpError::Operation(1)));
        let mut reply = QEMU_ANNOUNCE;
        reply[21] = 4;
        assert_eq!(
            parse_frame(&reply).unwrap().unwrap().1.operation,
            OP_REPLY_REVERSE
        );
        let mut long_hw = QEMU_ANNOUNCE;
        long_hw[18] = 8;
        assert!(matches!(
            parse_frame(&long_hw),
            Err(RarpError::NotEthernetIpv4 { hw_len: 8, .. })
        ));
        // Lengths that point past the end are caught by check_len, not a panic.
        long_hw[18] = 255;
        assert_eq!(parse_frame(&long_hw), Err(RarpError::Truncated));
    }
}
