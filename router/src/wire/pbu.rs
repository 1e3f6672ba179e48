//! Proxy Binding Update, RFC 5213 section 8.1: the Binding Update of RFC 6275
//! section 6.1.7 (MH Type 5) with the Proxy Registration flag of RFC 5213,
//! the Mobile Router flag of RFC 3963 and the MAP flag of RFC 5380.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Payload Proto |  Header Len   |  MH Type = 5  |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |          Sequence #           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |A|H|L|K|M|R|P|   Reserved      |           Lifetime            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Mobility Options ...                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Lifetime counts 4-second units.

use super::mh::{OPTIONS_OFFSET, flag_bits, lifetime_from_units, lifetime_to_units, message_len};
use super::{MhError, MhPacket, MhType, MobilityOptions, read_u16, write_u16};

/// Offsets inside the message data, which starts after the checksum.
mod field {
    pub type Field = core::ops::Range<usize>;

    pub const SEQUENCE: Field = 0..2;
    pub const FLAGS: Field = 2..4;
    pub const LIFETIME: Field = 4..6;
}

mod flag {
    pub const ACK: u16 = 0x8000;
    pub const HOME_REGISTRATION: u16 = 0x4000;
    pub const LINK_LOCAL_COMPAT: u16 = 0x2000;
    pub const KEY_MGMT: u16 = 0x1000;
    pub const MAP_REGISTRATION: u16 = 0x0800;
    pub const MOBILE_ROUTER: u16 = 0x0400;
    pub const PROXY: u16 = 0x0200;
}

/// Binding Update body accessors; only for a packet of type `BindingUpdate`
/// that passed `check_len`.
impl<T: AsRef<[u8]>> MhPacket<T> {
    pub fn bu_sequence(&self) -> u16 {
        read_u16(&self.message_data()[field::SEQUENCE])
    }

    /// The flags octets, reserved bits included.
    pub fn bu_flags(&self) -> u16 {
        read_u16(&self.message_data()[field::FLAGS])
    }

    pub fn bu_ack(&self) -> bool {
        self.bu_flags() & flag::ACK != 0
    }

    pub fn bu_home_registration(&self) -> bool {
        self.bu_flags() & flag::HOME_REGISTRATION != 0
    }

    pub fn bu_link_local_compat(&self) -> bool {
        self.bu_flags() & flag::LINK_LOCAL_COMPAT != 0
    }

    pub fn bu_key_mgmt(&self) -> bool {
        self.bu_flags() & flag::KEY_MGMT != 0
    }

    pub fn bu_map_registration(&self) -> bool {
        self.bu_flags() & flag::MAP_REGISTRATION != 0
    }

    pub fn bu_mobile_router(&self) -> bool {
        self.bu_flags() & flag::MOBILE_ROUTER != 0
    }

    pub fn bu_proxy(&self) -> bool {
        self.bu_flags() & flag::PROXY != 0
    }

    /// The raw Lifetime field, in 4-second units.
    pub fn bu_lifetime(&self) -> u16 {
        read_u16(&self.message_data()[field::LIFETIME])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> MhPacket<T> {
    pub fn set_bu_sequence(&mut self, value: u16) {
        write_u16(&mut self.message_data_mut()[field::SEQUENCE], value);
    }

    pub fn set_bu_flags(&mut self, value: u16) {
        write_u16(&mut self.message_data_mut()[field::FLAGS], value);
    }

    pub fn set_bu_lifetime(&mut self, units: u16) {
        write_u16(&mut self.message_data_mut()[field::LIFETIME], units);
    }
}

/// A Proxy Binding Update. The M flag (RFC 5380) is not used by PMIPv6:
/// it is emitted clear and ignored on parse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PbuRepr {
    pub sequence: u16,
    /// A: the MAG asks for an acknowledgement.
    pub ack: bool,
    /// H: a home registration; RFC 5213 sets it in every PBU.
    pub home_registration: bool,
    /// L: link-local address compatibility.
    pub link_local_compat: bool,
    /// K: key management mobility capability.
    pub key_mgmt: bool,
    /// R: mobile router (RFC 3963).
    pub mobile_router: bool,
    /// P: proxy registration (RFC 5213).
    pub proxy: bool,
    /// Rounded down to 4-second units on emit; 0 means de-registration.
    pub lifetime_secs: u32,
    pub options: MobilityOptions,
}

impl PbuRepr {
    /// Parses a Binding Update after `check_len`. The checksum is the
    /// caller's business (see `MhRepr::parse`).
    pub fn parse<T: AsRef<[u8]>>(packet: &MhPacket<T>) -> Result<PbuRepr, MhError> {
        packet.check_len()?;
        if packet.msg_type() != MhType::BindingUpdate {
            return Err(MhError::UnsupportedType(packet.msg_type().into()));
        }
        Ok(PbuRepr {
            sequence: packet.bu_sequence(),
            ack: packet.bu_ack(),
            home_registration: packet.bu_home_registration(),
            link_local_compat: packet.bu_link_local_compat(),
            key_mgmt: packet.bu_key_mgmt(),
            mobile_router: packet.bu_mobile_router(),
            proxy: packet.bu_proxy(),
            lifetime_secs: lifetime_from_units(packet.bu_lifetime()),
            options: MobilityOptions::parse(packet.options())?,
        })
    }

    pub fn buffer_len(&self) -> usize {
        message_len(self.options.buffer_len(OPTIONS_OFFSET))
    }

    /// Emits everything but the checksum into the first `buffer_len()` octets.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut MhPacket<T>) {
        packet.emit_header(MhType::BindingUpdate, self.buffer_len());
        packet.set_bu_sequence(self.sequence);
        let flags = [
            (self.ack, flag::ACK),
            (self.home_registration, flag::HOME_REGISTRATION),
            (self.link_local_compat, flag::LINK_LOCAL_COMPAT),
            (self.key_mgmt, flag::KEY_MGMT),
            (self.mobile_router, flag::MOBILE_ROUTER),
            (self.proxy, flag::PROXY),
        ];
        packet.set_bu_flags(flag_bits(&flags));
        packet.set_bu_lifetime(lifetime_to_units(self.lifetime_secs));
        self.options.emit(packet.options_mut(), OPTIONS_OFFSET);
    }
}

#[cfg(test)]
mod tests {
    use core::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::wire::{
        AccessTechnologyType, HandoffIndicator, Ipv4HomeAddressRequest, MhOptionRepr,
        MhOptionsIterator, MhRepr,
    };

    const MAG: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 1);
    const LMA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xb, 0, 0, 0, 0, 1);

    // A PBU as a MAG sends it for an attaching MN, laid out by hand with the
    // checksum left zero (`with_checksum` fills it for MAG -> LMA).
    static PBU: [u8; 72] = [
        // Payload Proto 59, Header Len 8 (72 octets), MH Type 5, Reserved.
        59, 8, 5, 0, //
        // Checksum, Sequence # 0x1234.
        0x00, 0x00, 0x12, 0x34, //
        // Flags A|H|P = 0xc200; Lifetime 900 units = 3600 s.
        0xc2, 0x00, 0x03, 0x84, //
        // Offset 12: MN-ID, subtype 1, "mn1" (no alignment).
        8, 4, 1, b'm', b'n', b'1', //
        // Offset 18: PadN with no data, so the HNP starts at 20 = 8n+4.
        1, 0, //
        // Offset 20: HNP ::/0, asking the LMA to assign a prefix.
        22, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
        // Offset 40: HI 1 (new interface); offset 44: ATT 3 (IEEE 802.3).
        23, 2, 0, 1, 24, 2, 0, 3, //
        // Offset 48: PadN so the timestamp starts at 50 = 8n+2.
        1, 0, //
        // Offset 50: Timestamp, 0x65920000 s and 0x8000/65536 s.
        27, 8, 0x00, 0x00, 0x65, 0x92, 0x00, 0x00, 0x80, 0x00, //
        // Offset 60 = 4n: IPv4 HoA request, prefix-len 0, 0.0.0.0 (assign one).
        36, 6, 0, 0, 0, 0, 0, 0, //
        // Offset 68: PadN of 2 data octets to end on the 8-octet boundary 72.
        1, 2, 0, 0,
    ];

    fn repr() -> PbuRepr {
        PbuRepr {
            sequence: 0x1234,
            ack: true,
            home_registration: true,
            proxy: true,
            lifetime_secs: 3600,
            options: MobilityOptions {
                mn_id: Some("mn1".into()),
                hnps: vec!["::/0".parse().unwrap()],
                handoff_indicator: Some(HandoffIndicator::NewInterface),
                access_technology: Some(AccessTechnologyType::Ethernet),
                timestamp: Some((0x6592_0000 << 16) | 0x8000),
                ipv4_home_address_request: Some(Ipv4HomeAddressRequest {
                    prefix_len: 0,
                    address: Ipv4Addr::UNSPECIFIED,
                }),
                ..MobilityOptions::default()
            },
            ..PbuRepr::default()
        }
    }

    fn with_checksum(bytes: &[u8]) -> Vec<u8> {
        let mut bytes = bytes.to_vec();
        MhPacket::new_unchecked(&mut bytes[..]).fill_checksum(&MAG, &LMA);
        bytes
    }

    fn parse(bytes: &[u8]) -> Result<MhRepr, MhError> {
        MhRepr::parse(&MhPacket::new_checked(bytes)?, &MAG, &LMA)
    }

    #[test]
    fn deconstruct() {
        let packet = MhPacket::new_checked(&PBU[..]).unwrap();
        assert_eq!(packet.msg_type(), MhType::BindingUpdate);
        assert_eq!(packet.mh_len(), 72);
        assert_eq!(packet.bu_sequence(), 0x1234);
        assert!(packet.bu_ack());
        assert!(packet.bu_home_registration());
        assert!(!packet.bu_link_local_compat());
        assert!(!packet.bu_key_mgmt());
        assert!(!packet.bu_map_registration());
        assert!(!packet.bu_mobile_router());
        assert!(packet.bu_proxy());
        assert_eq!(packet.bu_lifetime(), 900);
        assert_eq!(packet.options(), &PBU[12..]);
    }

    #[test]
    fn construct() {
        let repr = repr();
        assert_eq!(repr.buffer_len(), PBU.len());
        let mut bytes = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut MhPacket::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, PBU);
    }

    #[test]
    fn parse_and_emit_round_trip() {
        let bytes = with_checksum(&PBU);
        assert_eq!(parse(&bytes), Ok(MhRepr::Pbu(repr())));
        let mh = MhRepr::Pbu(repr());
        let mut emitted = vec![0; mh.buffer_len()];
        mh.emit(&mut MhPacket::new_unchecked(&mut emitted[..]), &MAG, &LMA);
        assert_eq!(emitted, bytes);
    }

    #[test]
    fn every_flag() {
        let flags = PbuRepr {
            link_local_compat: true,
            key_mgmt: true,
            mobile_router: true,
            ..repr()
        };
        let mut bytes = vec![0; flags.buffer_len()];
        flags.emit(&mut MhPacket::new_unchecked(&mut bytes[..]));
        // A H L K . R P: every flag but M.
        assert_eq!(&bytes[8..10], &[0xf6, 0x00]);
        assert_eq!(
            PbuRepr::parse(&MhPacket::new_checked(&bytes[..]).unwrap()),
            Ok(flags)
        );
    }

    #[test]
    fn lifetime_in_4_second_units() {
        let pbu = PbuRepr {
            lifetime_secs: 3603,
            ..repr()
        };
        let mut bytes = vec![0; pbu.buffer_len()];
        pbu.emit(&mut MhPacket::new_unchecked(&mut bytes[..]));
        assert_eq!(&bytes[10..12], &[0x03, 0x84]);
        let parsed = PbuRepr::parse(&MhPacket::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(parsed.lifetime_secs, 3600);
    }

    #[test]
    fn options_are_aligned() {
        let packet = MhPacket::new_checked(&PBU[..]).unwrap();
        let mut at = OPTIONS_OFFSET;
        for repr in MhOptionsIterator::new(packet.options()) {
            let repr = repr.unwrap();
            match repr {
                MhOptionRepr::HomeNetworkPrefix(_) => assert_eq!(at % 8, 4),
                MhOptionRepr::Timestamp(_) => assert_eq!(at % 8, 2),
                MhOptionRepr::Ipv4HomeAddressRequest(_) => assert_eq!(at % 4, 0),
                _ => {}
            }
            at += repr.buffer_len();
        }
        assert_eq!(at, 72);
    }

    #[test]
    fn truncated_at_every_length() {
        let bytes = with_checksum(&PBU);
        for len in 0..bytes.len() {
            assert!(parse(&bytes[..len]).is_err(), "length {len}");
        }
    }

    #[test]
    fn header_len_cutting_an_option_is_an_error() {
        // Header Len 3 ends the MH at 32, inside the HNP (20..40).
        let mut bytes = PBU[..32].to_vec();
        bytes[1] = 3;
        let bytes = with_checksum(&bytes);
        assert!(matches!(
            parse(&bytes),
            Err(MhError::BadLength {
                field: "mobility option Length",
                ..
            })
        ));
        // Header Len 4 ends it at 40, right after the HNP: still valid.
        let mut bytes = PBU[..40].to_vec();
        bytes[1] = 4;
        let parsed = parse(&with_checksum(&bytes)).unwrap();
        let MhRepr::Pbu(pbu) = parsed else {
            panic!("not a PBU")
        };
        assert_eq!(pbu.options.hnps.len(), 1);
        assert_eq!(pbu.options.handoff_indicator, None);
    }

    #[test]
    fn wrong_option_length() {
        let mut bytes = PBU;
        bytes[41] = 3; // HI Length 3 instead of 2
        assert_eq!(
            parse(&with_checksum(&bytes)),
            Err(MhError::BadOption {
                option: "Handoff Indicator",
                reason: "Length must be 2"
            })
        );
        let mut bytes = PBU;
        bytes[69] = 3; // the final PadN overruns the message
        assert!(matches!(
            parse(&with_checksum(&bytes)),
            Err(MhError::BadLength { .. })
        ));
    }

    #[test]
    fn unknown_option_skipped() {
        let mut bytes = PBU;
        bytes[48] = 200; // the PadN before the timestamp becomes type 200
        let Ok(MhRepr::Pbu(pbu)) = parse(&with_checksum(&bytes)) else {
            panic!("PBU with an unknown option rejected")
        };
        assert_eq!(pbu.options.unknown, vec![200]);
        assert_eq!(pbu.options.timestamp, repr().options.timestamp);
    }

    #[test]
    fn bad_checksum() {
        let mut bytes = with_checksum(&PBU);
        bytes[7] ^= 0x40;
        assert_eq!(parse(&bytes), Err(MhError::BadChecksum));
    }

    #[test]
    fn whole_ipv6_packet() {
        let mh = MhRepr::Pbu(repr());
        let packet = crate::wire::mh_ipv6_packet(MAG, LMA, 64, &mh);
        let ip = smoltcp::wire::Ipv6Packet::new_checked(&packet[..]).unwrap();
        assert_eq!(u8::from(ip.next_header()), crate::wire::IPPROTO_MH);
        assert_eq!(usize::from(ip.payload_len()), PBU.len());
        assert_eq!(ip.hop_limit(), 64);
        assert_eq!(ip.payload(), &with_checksum(&PBU)[..]);
    }

    #[test]
    fn too_many_prefixes_are_reported_and_cut() {
        let pbu = MhRepr::Pbu(PbuRepr {
            options: MobilityOptions {
                hnps: vec!["2001:db8::/64".parse().unwrap(); 120],
                ..MobilityOptions::default()
            },
            ..repr()
        });
        assert!(pbu.validate().is_err());
        assert_eq!(pbu.buffer_len(), 2048);
        let packet = crate::wire::mh_ipv6_packet(MAG, LMA, 64, &pbu);
        let Ok(MhRepr::Pbu(parsed)) = parse(&packet[40..]) else {
            panic!("cut PBU does not parse")
        };
        assert!(parsed.options.hnps.len() < 120);
        assert_eq!(MhRepr::Pbu(repr()).validate(), Ok(()));
    }
}
