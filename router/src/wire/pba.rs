//! Proxy Binding Acknowledgement, RFC 5213 section 8.2: the Binding
//! Acknowledgement of RFC 6275 section 6.1.8 (MH Type 6) with the Proxy
//! Registration flag of RFC 5213 and the Mobile Router flag of RFC 3963.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Payload Proto |  Header Len   |  MH Type = 6  |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |    Status     |K|R|P|Reserved |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Sequence #          |           Lifetime            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Mobility Options ...                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Lifetime counts 4-second units.

use super::mh::{OPTIONS_OFFSET, flag_bits, lifetime_from_units, lifetime_to_units, message_len};
use super::{MhError, MhPacket, MhType, MobilityOptions, PbaStatus, read_u16, write_u16};

/// Offsets inside the message data, which starts after the checksum.
mod field {
    pub type Field = core::ops::Range<usize>;

    pub const STATUS: usize = 0;
    pub const FLAGS: usize = 1;
    pub const SEQUENCE: Field = 2..4;
    pub const LIFETIME: Field = 4..6;
}

mod flag {
    pub const KEY_MGMT: u8 = 0x80;
    pub const MOBILE_ROUTER: u8 = 0x40;
    pub const PROXY: u8 = 0x20;
}

/// Binding Acknowledgement body accessors; only for a packet of type
/// `BindingAck` that passed `check_len`.
impl<T: AsRef<[u8]>> MhPacket<T> {
    pub fn ba_status(&self) -> PbaStatus {
        PbaStatus::from(self.message_data()[field::STATUS])
    }

    /// The flags octet, reserved bits included.
    pub fn ba_flags(&self) -> u8 {
        self.message_data()[field::FLAGS]
    }

    pub fn ba_key_mgmt(&self) -> bool {
        self.ba_flags() & flag::KEY_MGMT != 0
    }

    pub fn ba_mobile_router(&self) -> bool {
        self.ba_flags() & flag::MOBILE_ROUTER != 0
    }

    pub fn ba_proxy(&self) -> bool {
        self.ba_flags() & flag::PROXY != 0
    }

    pub fn ba_sequence(&self) -> u16 {
        read_u16(&self.message_data()[field::SEQUENCE])
    }

    /// The raw Lifetime field, in 4-second units.
    pub fn ba_lifetime(&self) -> u16 {
        read_u16(&self.message_data()[field::LIFETIME])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> MhPacket<T> {
    pub fn set_ba_status(&mut self, value: PbaStatus) {
        self.message_data_mut()[field::STATUS] = value.into();
    }

    pub fn set_ba_flags(&mut self, value: u8) {
        self.message_data_mut()[field::FLAGS] = value;
    }

    pub fn set_ba_sequence(&mut self, value: u16) {
        write_u16(&mut self.message_data_mut()[field::SEQUENCE], value);
    }

    pub fn set_ba_lifetime(&mut self, units: u16) {
        write_u16(&mut self.message_data_mut()[field::LIFETIME], units);
    }
}

/// A Proxy Binding Acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbaRepr {
    pub status: PbaStatus,
    /// K: key management mobility capability.
    pub key_mgmt: bool,
    /// R: mobile router (RFC 3963).
    pub mobile_router: bool,
    /// P: proxy registration (RFC 5213).
    pub proxy: bool,
    /// Copied from the PBU being acknowledged.
    pub sequence: u16,
    /// Rounded down to 4-second units on emit.
    pub lifetime_secs: u32,
    pub options: MobilityOptions,
}

impl PbaRepr {
    /// Parses a Binding Acknowledgement after `check_len`. The checksum is
    /// the caller's business (see `MhRepr::parse`).
    pub fn parse<T: AsRef<[u8]>>(packet: &MhPacket<T>) -> Result<PbaRepr, MhError> {
        packet.check_len()?;
        if packet.msg_type() != MhType::BindingAck {
            return Err(MhError::UnsupportedType(packet.msg_type().into()));
        }
        Ok(PbaRepr {
            status: packet.ba_status(),
            key_mgmt: packet.ba_key_mgmt(),
            mobile_router: packet.ba_mobile_router(),
            proxy: packet.ba_proxy(),
            sequence: packet.ba_sequence(),
            lifetime_secs: lifetime_from_units(packet.ba_lifetime()),
            options: MobilityOptions::parse(packet.options())?,
        })
    }

    pub fn buffer_len(&self) -> usize {
        message_len(self.options.buffer_len(OPTIONS_OFFSET))
    }

    /// Emits everything but the checksum into the first `buffer_len()` octets.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut MhPacket<T>) {
        packet.emit_header(MhType::BindingAck, self.buffer_len());
        packet.set_ba_status(self.status);
        let flags = [
            (self.key_mgmt, flag::KEY_MGMT),
            (self.mobile_router, flag::MOBILE_ROUTER),
            (self.proxy, flag::PROXY),
        ];
        packet.set_ba_flags(flag_bits(&flags));
        packet.set_ba_sequence(self.sequence);
        packet.set_ba_lifetime(lifetime_to_units(self.lifetime_secs));
        self.options.emit(packet.options_mut(), OPTIONS_OFFSET);
    }
}

#[cfg(test)]
mod tests {
    use core::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::wire::{
        AccessTechnologyType, HandoffIndicator, Ipv4HomeAddressReply, MhOptionRepr,
        MhOptionsIterator, MhRepr,
    };

    const LMA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xb, 0, 0, 0, 0, 1);
    const MAG: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 1);

    // A PBA as an LMA answers, carrying every option a PBA may hold, laid out
    // by hand with the checksum left zero (`with_checksum` fills it).
    static PBA: [u8; 112] = [
        // Payload Proto 59, Header Len 13 (112 octets), MH Type 6, Reserved.
        59, 13, 6, 0, //
        // Checksum, Status 0 (accepted), flags P = 0x20.
        0x00, 0x00, 0, 0x20, //
        // Sequence # 0x1234, Lifetime 900 units = 3600 s.
        0x12, 0x34, 0x03, 0x84, //
        // Offset 12: MN-ID, subtype 1, "mn1".
        8, 4, 1, b'm', b'n', b'1', //
        // Offset 18: PadN, so the HNP starts at 20 = 8n+4.
        1, 0, //
        // Offset 20: HNP 2001:db8:1:2::/64.
        22, 18, 0, 64, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0,
        0, //
        // Offset 40: HI 1; offset 44: ATT 3.
        23, 2, 0, 1, 24, 2, 0, 3, //
        // Offset 48: PadN, so the MN LL-ID starts at 50 = 8n+2.
        1, 0, //
        // Offset 50: MN LL-ID, 2 reserved octets, MAC 02:00:00:00:00:01.
        25, 8, 0, 0, 0x02, 0, 0, 0, 0, 0x01, //
        // Offset 60: PadN, so the link-local address starts at 62 = 8n+6.
        1, 0, //
        // Offset 62: Link-local Address fe80::1.
        26, 16, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, //
        // Offset 80: PadN, so the timestamp starts at 82 = 8n+2.
        1, 0, //
        // Offset 82: Timestamp 0x65920000 s and 0x8000/65536 s.
        27, 8, 0x00, 0x00, 0x65, 0x92, 0x00, 0x00, 0x80, 0x00, //
        // Offset 92 = 4n: IPv4 HoA reply, status 0, prefix-len 24 (0x60), 10.0.0.5.
        37, 6, 0, 0x60, 10, 0, 0, 5, //
        // Offset 100 = 4n: IPv4 default router 10.0.0.1.
        38, 6, 0, 0, 10, 0, 0, 1, //
        // Offset 108: PadN of 2 data octets to end at 112.
        1, 2, 0, 0,
    ];

    fn repr() -> PbaRepr {
        PbaRepr {
            status: PbaStatus::Accepted,
            key_mgmt: false,
            mobile_router: false,
            proxy: true,
            sequence: 0x1234,
            lifetime_secs: 3600,
            options: MobilityOptions {
                mn_id: Some("mn1".into()),
                hnps: vec!["2001:db8:1:2::/64".parse().unwrap()],
                handoff_indicator: Some(HandoffIndicator::NewInterface),
                access_technology: Some(AccessTechnologyType::Ethernet),
                mn_link_layer_id: Some(vec![0x02, 0, 0, 0, 0, 0x01]),
                link_local_address: Some("fe80::1".parse().unwrap()),
                timestamp: Some((0x6592_0000 << 16) | 0x8000),
                ipv4_home_address_reply: Some(Ipv4HomeAddressReply {
                    status: 0,
                    prefix_len: 24,
                    address: Ipv4Addr::new(10, 0, 0, 5),
                }),
                ipv4_default_router: Some(Ipv4Addr::new(10, 0, 0, 1)),
                ..MobilityOptions::default()
            },
        }
    }

    fn with_checksum(bytes: &[u8]) -> Vec<u8> {
        let mut bytes = bytes.to_vec();
        MhPacket::new_unchecked(&mut bytes[..]).fill_checksum(&LMA, &MAG);
        bytes
    }

    fn parse(bytes: &[u8]) -> Result<MhRepr, MhError> {
        MhRepr::parse(&MhPacket::new_checked(bytes)?, &LMA, &MAG)
    }

    #[test]
    fn deconstruct() {
        let packet = MhPacket::new_checked(&PBA[..]).unwrap();
        assert_eq!(packet.msg_type(), MhType::BindingAck);
        assert_eq!(packet.mh_len(), 112);
        assert_eq!(packet.ba_status(), PbaStatus::Accepted);
        assert!(!packet.ba_key_mgmt());
        assert!(!packet.ba_mobile_router());
        assert!(packet.ba_proxy());
        assert_eq!(packet.ba_sequence(), 0x1234);
        assert_eq!(packet.ba_lifetime(), 900);
        assert_eq!(packet.options(), &PBA[12..]);
    }

    #[test]
    fn construct() {
        let repr = repr();
        assert_eq!(repr.buffer_len(), PBA.len());
        let mut bytes = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut MhPacket::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, PBA);
    }

    #[test]
    fn parse_and_emit_round_trip() {
        let bytes = with_checksum(&PBA);
        assert_eq!(parse(&bytes), Ok(MhRepr::Pba(repr())));
        let mh = MhRepr::Pba(repr());
        let mut emitted = vec![0; mh.buffer_len()];
        mh.emit(&mut MhPacket::new_unchecked(&mut emitted[..]), &LMA, &MAG);
        assert_eq!(emitted, bytes);
    }

    #[test]
    fn status_and_flags() {
        let pba = PbaRepr {
            status: PbaStatus::MissingHandoffIndicatorOption,
            key_mgmt: true,
            mobile_router: true,
            lifetime_secs: 0,
            ..repr()
        };
        let mut bytes = vec![0; pba.buffer_len()];
        pba.emit(&mut MhPacket::new_unchecked(&mut bytes[..]));
        assert_eq!(&bytes[6..8], &[161, 0xe0]);
        assert_eq!(
            PbaRepr::parse(&MhPacket::new_checked(&bytes[..]).unwrap()),
            Ok(pba)
        );
    }

    #[test]
    fn lifetime_in_4_second_units() {
        let pba = PbaRepr {
            lifetime_secs: 7,
            ..repr()
        };
        let mut bytes = vec![0; pba.buffer_len()];
        pba.emit(&mut MhPacket::new_unchecked(&mut bytes[..]));
        assert_eq!(&bytes[10..12], &[0, 1]);
        let parsed = PbaRepr::parse(&MhPacket::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(parsed.lifetime_secs, 4);
    }

    #[test]
    fn options_are_aligned() {
        let packet = MhPacket::new_checked(&PBA[..]).unwrap();
        let mut at = OPTIONS_OFFSET;
        let mut seen = 0;
        for repr in MhOptionsIterator::new(packet.options()) {
            let repr = repr.unwrap();
            let rule = match repr {
                MhOptionRepr::HomeNetworkPrefix(_) => Some((8, 4)),
                MhOptionRepr::MnLinkLayerId(_) => Some((8, 2)),
                MhOptionRepr::LinkLocalAddress(_) => Some((8, 6)),
                MhOptionRepr::Timestamp(_) => Some((8, 2)),
                MhOptionRepr::Ipv4HomeAddressReply(_) | MhOptionRepr::Ipv4DefaultRouter(_) => {
                    Some((4, 0))
                }
                _ => None,
            };
            if let Some((x, y)) = rule {
                assert_eq!(at % x, y, "{repr:?}");
                seen += 1;
            }
            at += repr.buffer_len();
        }
        assert_eq!((seen, at), (6, 112));
    }

    #[test]
    fn truncated_at_every_length() {
        let bytes = with_checksum(&PBA);
        for len in 0..bytes.len() {
            assert!(parse(&bytes[..len]).is_err(), "length {len}");
        }
    }

    #[test]
    fn wrong_option_lengths() {
        for (at, len) in [(63, 15), (83, 9), (93, 5), (101, 7)] {
            let mut bytes = PBA;
            bytes[at] = len;
            assert!(
                matches!(
                    parse(&with_checksum(&bytes)),
                    Err(MhError::BadOption { .. } | MhError::BadLength { .. })
                ),
                "length {len} at {at}"
            );
        }
    }

    #[test]
    fn unknown_option_skipped() {
        let mut bytes = PBA;
        bytes[108] = 99; // the trailing PadN becomes an unknown type 99
        let Ok(MhRepr::Pba(pba)) = parse(&with_checksum(&bytes)) else {
            panic!("PBA with an unknown option rejected")
        };
        assert_eq!(pba.options.unknown, vec![99]);
        assert_eq!(pba.status, PbaStatus::Accepted);
    }

    #[test]
    fn bad_checksum() {
        let mut bytes = with_checksum(&PBA);
        bytes[111] ^= 0x01;
        assert_eq!(parse(&bytes), Err(MhError::BadChecksum));
    }
}
