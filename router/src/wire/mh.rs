//! The Mobility Header, RFC 6275 section 6.1.1: IPv6 next header 135.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Payload Proto |  Header Len   |   MH Type     |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//! .                                                               .
//! .                       Message Data                            .
//! .                                                               .
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Header Len counts 8-octet units after the first 8, so a Mobility Header is
//! always a multiple of 8 octets long. The checksum covers the IPv6
//! pseudo-header (RFC 8200 section 8.1) with next header 135 and the whole MH.

use core::net::Ipv6Addr;

use smoltcp::wire::{IpProtocol, Ipv6Packet, Ipv6Repr, checksum};

use super::{
    BindingErrorRepr, HeartbeatRepr, MobilityOptions, PbaRepr, PbuRepr, read_u16, write_u16,
};

/// IP protocol number of the Mobility Header.
pub const IPPROTO_MH: u8 = 135;
/// "No next header", the only Payload Proto RFC 6275 allows a sender to use.
pub const IPPROTO_NONE: u8 = 59;
/// Where the options of a Binding Update or Acknowledgement begin, counted
/// from the start of the MH: option alignment (RFC 6275 section 6.2) is
/// relative to that start, so emitters need it.
pub const OPTIONS_OFFSET: usize = 12;

/// Header Len is one octet of 8-octet units, so no MH can be longer.
const MAX_LEN: usize = 256 * 8;

enum_with_other! {
    /// MH Type, RFC 6275 section 6.1.2 onwards.
    pub enum MhType(u8) {
        BindingRefreshRequest = 0 => "Binding Refresh Request",
        HomeTestInit = 1 => "Home Test Init",
        CareofTestInit = 2 => "Care-of Test Init",
        HomeTest = 3 => "Home Test",
        CareofTest = 4 => "Care-of Test",
        BindingUpdate = 5 => "Binding Update",
        BindingAck = 6 => "Binding Acknowledgement",
        BindingError = 7 => "Binding Error",
        Heartbeat = 13 => "Heartbeat",
    }
    other: Unknown
}

/// Why a Mobility Header was rejected or cannot be emitted.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MhError {
    #[error("truncated {field}: need {need} octets, have {have}")]
    Truncated {
        field: &'static str,
        need: usize,
        have: usize,
    },
    #[error("bad {field} {len}: {reason}")]
    BadLength {
        field: &'static str,
        len: usize,
        reason: &'static str,
    },
    #[error("bad checksum: the MH does not sum to zero with its IPv6 pseudo-header")]
    BadChecksum,
    #[error(
        "unsupported MH type {0}: only Binding Update (5), Acknowledgement (6), Error (7) and Heartbeat (13)"
    )]
    UnsupportedType(u8),
    /// RFC 6275 9.2: a sender must use 59 (no next header).
    #[error("Payload Proto {0}: must be 59 (no next header)")]
    BadPayloadProto(u8),
    #[error("bad {option} option: {reason}")]
    BadOption {
        option: &'static str,
        reason: &'static str,
    },
}

mod field {
    pub type Field = core::ops::Range<usize>;

    pub const PAYLOAD_PROTO: usize = 0;
    pub const HEADER_LEN: usize = 1;
    pub const MH_TYPE: usize = 2;
    pub const RESERVED: usize = 3;
    pub const CHECKSUM: Field = 4..6;
    pub const MESSAGE_DATA: usize = 6;
}

/// A read/write wrapper around a Mobility Header buffer.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct MhPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> MhPacket<T> {
    /// Imposes the MH structure on a buffer without checking its length.
    pub const fn new_unchecked(buffer: T) -> MhPacket<T> {
        MhPacket { buffer }
    }

    /// `new_unchecked` followed by `check_len`.
    pub fn new_checked(buffer: T) -> Result<MhPacket<T>, MhError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Ensures that no accessor panics: the buffer holds the fixed header and
    /// the Header Len octets it announces, and a Binding Update or
    /// Acknowledgement is long enough for its fixed part (RFC 6275 section
    /// 9.2 says to discard one whose Header Len is too small). The body
    /// accessors of a message type must only be used on that type.
    pub fn check_len(&self) -> Result<(), MhError> {
        let have = self.buffer.as_ref().len();
        if have < field::MESSAGE_DATA {
            return Err(MhError::Truncated {
                field: "Mobility Header",
                need: field::MESSAGE_DATA,
                have,
            });
        }
        let need = self.mh_len();
        if have < need {
            return Err(MhError::Truncated {
                field: "Mobility Header (per Header Len)",
                need,
                have,
            });
        }
        let fixed = match self.msg_type() {
            MhType::BindingUpdate | MhType::BindingAck | MhType::Heartbeat => OPTIONS_OFFSET,
            MhType::BindingError => super::binding_error::BE_OPTIONS_OFFSET,
            _ => field::MESSAGE_DATA,
        };
        if need < fixed {
            return Err(MhError::BadLength {
                field: "Header Len",
                len: self.header_len().into(),
                reason: "shorter than the fixed part of the message",
            });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn payload_proto(&self) -> u8 {
        self.buffer.as_ref()[field::PAYLOAD_PROTO]
    }

    /// The raw Header Len field: 8-octet units after the first 8.
    pub fn header_len(&self) -> u8 {
        self.buffer.as_ref()[field::HEADER_LEN]
    }

    /// Length of the whole MH in octets, as Header Len announces it.
    pub fn mh_len(&self) -> usize {
        (usize::from(self.header_len()) + 1) * 8
    }

    pub fn msg_type(&self) -> MhType {
        MhType::from(self.buffer.as_ref()[field::MH_TYPE])
    }

    pub fn checksum(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Everything after the checksum, up to the announced length.
    pub fn message_data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::MESSAGE_DATA..self.mh_len()]
    }

    /// The mobility options of a Binding Update or Acknowledgement (empty
    /// for a shorter message of another type).
    pub fn options(&self) -> &[u8] {
        let end = self.mh_len();
        self.buffer
            .as_ref()
            .get(OPTIONS_OFFSET..end)
            .unwrap_or_default()
    }

    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        self.sum(src, dst) == !0
    }

    fn sum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> u16 {
        let mh = &self.buffer.as_ref()[..self.mh_len()];
        checksum::combine(&[
            checksum::pseudo_header_v6(src, dst, IpProtocol::from(IPPROTO_MH), mh.len() as u32),
            checksum::data(mh),
        ])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> MhPacket<T> {
    pub fn set_payload_proto(&mut self, value: u8) {
        self.buffer.as_mut()[field::PAYLOAD_PROTO] = value;
    }

    pub fn set_header_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HEADER_LEN] = value;
    }

    pub fn set_msg_type(&mut self, value: MhType) {
        self.buffer.as_mut()[field::MH_TYPE] = value.into();
    }

    pub fn clear_reserved(&mut self) {
        self.buffer.as_mut()[field::RESERVED] = 0;
    }

    pub fn set_checksum(&mut self, value: u16) {
        write_u16(&mut self.buffer.as_mut()[field::CHECKSUM], value);
    }

    pub fn message_data_mut(&mut self) -> &mut [u8] {
        let end = self.mh_len();
        &mut self.buffer.as_mut()[field::MESSAGE_DATA..end]
    }

    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.mh_len();
        self.buffer
            .as_mut()
            .get_mut(OPTIONS_OFFSET..end)
            .unwrap_or_default()
    }

    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let sum = self.sum(src, dst);
        self.set_checksum(!sum);
    }

    /// Writes the fixed header of an `mh_len`-octet message (a multiple of 8,
    /// at most 2048) with a zero checksum, to be filled once the body is in.
    pub(super) fn emit_header(&mut self, msg_type: MhType, mh_len: usize) {
        self.set_payload_proto(IPPROTO_NONE);
        self.set_header_len(u8::try_from(mh_len / 8 - 1).unwrap_or(u8::MAX));
        self.set_msg_type(msg_type);
        self.clear_reserved();
        self.set_checksum(0);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for MhPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// Converts a lifetime to the 4-second units of the wire (RFC 6275 sections
/// 6.1.7 and 6.1.8), rounding down and saturating at the field's maximum.
pub(super) fn lifetime_to_units(secs: u32) -> u16 {
    u16::try_from(secs / 4).unwrap_or(u16::MAX)
}

pub(super) fn lifetime_from_units(units: u16) -> u32 {
    u32::from(units) * 4
}

/// The bits of every flag that is set, for the flags field of a message.
pub(super) fn flag_bits<B: Copy + Default + core::ops::BitOr<Output = B>>(
    flags: &[(bool, B)],
) -> B {
    flags
        .iter()
        .filter(|(set, _)| *set)
        .fold(B::default(), |bits, (_, bit)| bits | *bit)
}

/// The MH length a message with a fixed part of `OPTIONS_OFFSET` octets and
/// `options_len` octets of (already padded) options needs, capped at what
/// Header Len can express; `MobilityOptions::emit` drops what does not fit.
pub(super) fn message_len(options_len: usize) -> usize {
    (OPTIONS_OFFSET + options_len).min(MAX_LEN)
}

/// A Mobility Header message this crate understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MhRepr {
    Pbu(PbuRepr),
    Pba(PbaRepr),
    BindingError(BindingErrorRepr),
    Heartbeat(HeartbeatRepr),
}

impl MhRepr {
    /// Checks length, checksum and Payload Proto (RFC 6275 9.2, in that
    /// order), then parses the message.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &MhPacket<T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
    ) -> Result<MhRepr, MhError> {
        Self::check(packet, src, dst)?;
        Self::parse_checked(packet)
    }

    /// The checks of RFC 6275 9.2 that come before anything in the message is
    /// looked at: length, checksum, Payload Proto. A router authenticates a
    /// message between these and [`MhRepr::parse_checked`].
    pub fn check<T: AsRef<[u8]>>(
        packet: &MhPacket<T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
    ) -> Result<(), MhError> {
        packet.check_len()?;
        if !packet.verify_checksum(src, dst) {
            return Err(MhError::BadChecksum);
        }
        if packet.payload_proto() != IPPROTO_NONE {
            return Err(MhError::BadPayloadProto(packet.payload_proto()));
        }
        Ok(())
    }

    /// Parses a message that passed [`MhRepr::check`].
    pub fn parse_checked<T: AsRef<[u8]>>(packet: &MhPacket<T>) -> Result<MhRepr, MhError> {
        match packet.msg_type() {
            MhType::BindingUpdate => PbuRepr::parse(packet).map(MhRepr::Pbu),
            MhType::BindingAck => PbaRepr::parse(packet).map(MhRepr::Pba),
            MhType::BindingError => BindingErrorRepr::parse(packet).map(MhRepr::BindingError),
            MhType::Heartbeat => HeartbeatRepr::parse(packet).map(MhRepr::Heartbeat),
            other => Err(MhError::UnsupportedType(other.into())),
        }
    }

    /// The mobility options of a message that has them (not a Binding Error).
    pub fn options_mut(&mut self) -> Option<&mut MobilityOptions> {
        match self {
            MhRepr::Pbu(pbu) => Some(&mut pbu.options),
            MhRepr::Pba(pba) => Some(&mut pba.options),
            MhRepr::Heartbeat(hb) => Some(&mut hb.options),
            MhRepr::BindingError(_) => None,
        }
    }

    /// Reports what `emit` would have to cut or could not express: identifiers
    /// longer than their option allows, or more options than 2048 octets hold.
    pub fn validate(&self) -> Result<(), MhError> {
        let options = match self {
            MhRepr::Pbu(pbu) => &pbu.options,
            MhRepr::Pba(pba) => &pba.options,
            MhRepr::Heartbeat(hb) => &hb.options,
            MhRepr::BindingError(_) => return Ok(()),
        };
        options.validate()?;
        let len = OPTIONS_OFFSET + options.buffer_len(OPTIONS_OFFSET);
        if len > MAX_LEN {
            return Err(MhError::BadLength {
                field: "Mobility Header length",
                len,
                reason: "the options do not fit in 2048 octets",
            });
        }
        Ok(())
    }

    /// Length of the emitted MH, a multiple of 8.
    pub fn buffer_len(&self) -> usize {
        match self {
            MhRepr::Pbu(pbu) => pbu.buffer_len(),
            MhRepr::Pba(pba) => pba.buffer_len(),
            MhRepr::BindingError(be) => be.buffer_len(),
            MhRepr::Heartbeat(hb) => hb.buffer_len(),
        }
    }

    /// Writes the message into the first `buffer_len()` octets of `packet`
    /// and fills the checksum. Never panics on a large enough buffer; a repr
    /// that fails `validate` is emitted cut down to what the format can carry.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut MhPacket<T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
    ) {
        match self {
            MhRepr::Pbu(pbu) => pbu.emit(packet),
            MhRepr::Pba(pba) => pba.emit(packet),
            MhRepr::BindingError(be) => be.emit(packet),
            MhRepr::Heartbeat(hb) => hb.emit(packet),
        }
        packet.fill_checksum(src, dst);
    }
}

/// A whole IPv6 packet (fixed header, then the MH) carrying `repr`.
pub fn mh_ipv6_packet(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, repr: &MhRepr) -> Vec<u8> {
    let ip = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::from(IPPROTO_MH),
        payload_len: repr.buffer_len(),
        hop_limit,
    };
    let mut buffer = vec![0; ip.buffer_len() + repr.buffer_len()];
    let (header, mh) = buffer.split_at_mut(ip.buffer_len());
    ip.emit(&mut Ipv6Packet::new_unchecked(header));
    repr.emit(&mut MhPacket::new_unchecked(mh), &src, &dst);
    buffer
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
    const DST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 2);

    // A Binding Refresh Request (RFC 6275 6.1.2): the fixed header and 2
    // reserved octets, Header Len 0.
    static BRR: [u8; 8] = [
        59, // Payload Proto: no next header
        0,  // Header Len: 8 octets in all
        0,  // MH Type: Binding Refresh Request
        0,  // Reserved
        0x00, 0x00, // Checksum (filled by the tests)
        0x00, 0x00, // Reserved
    ];

    fn brr_with_checksum() -> [u8; 8] {
        let mut bytes = BRR;
        MhPacket::new_unchecked(&mut bytes[..]).fill_checksum(&SRC, &DST);
        bytes
    }

    #[test]
    fn header_accessors() {
        let packet = MhPacket::new_checked(&BRR[..]).unwrap();
        assert_eq!(packet.payload_proto(), IPPROTO_NONE);
        assert_eq!(packet.header_len(), 0);
        assert_eq!(packet.mh_len(), 8);
        assert_eq!(packet.msg_type(), MhType::BindingRefreshRequest);
        assert_eq!(packet.checksum(), 0);
        assert_eq!(packet.message_data(), &[0, 0]);
    }

    #[test]
    fn checksum_by_hand() {
        // One's complement sum of the pseudo-header and the MH, written out:
        // src 2001:db8:1::1 and dst 2001:db8:2::2 contribute
        // 0x2001+0x0db8+0x0001+0x0001 + 0x2001+0x0db8+0x0002+0x0002, length 8
        // and next header 135 contribute 0x0008 + 0x0087, and the MH words
        // 0x3b00 + 0x0000.
        let sum: u32 = 0x2001 + 0x0db8 + 0x0001 + 0x0001 + 0x2001 + 0x0db8 + 0x0002 + 0x0002;
        let sum = sum + 0x0008 + 0x0087 + 0x3b00;
        let folded = ((sum & 0xffff) + (sum >> 16)) as u16;
        let bytes = brr_with_checksum();
        let packet = MhPacket::new_unchecked(&bytes[..]);
        assert_eq!(packet.checksum(), !folded);
        assert!(packet.verify_checksum(&SRC, &DST));
        assert!(!packet.verify_checksum(&SRC, &Ipv6Addr::LOCALHOST));
    }

    #[test]
    fn bad_checksum_is_an_error() {
        let mut bytes = brr_with_checksum();
        bytes[5] ^= 0x01;
        let packet = MhPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            MhRepr::parse(&packet, &SRC, &DST),
            Err(MhError::BadChecksum)
        );
    }

    #[test]
    fn unsupported_type_after_valid_checksum() {
        let bytes = brr_with_checksum();
        let packet = MhPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            MhRepr::parse(&packet, &SRC, &DST),
            Err(MhError::UnsupportedType(0))
        );
    }

    #[test]
    fn truncated_at_every_length() {
        for len in 0..BRR.len() {
            assert!(matches!(
                MhPacket::new_checked(&BRR[..len]),
                Err(MhError::Truncated { .. })
            ));
        }
    }

    #[test]
    fn header_len_beyond_buffer() {
        let mut bytes = BRR;
        bytes[1] = 1;
        assert_eq!(
            MhPacket::new_checked(&bytes[..]),
            Err(MhError::Truncated {
                field: "Mobility Header (per Header Len)",
                need: 16,
                have: 8
            })
        );
    }

    #[test]
    fn binding_update_needs_its_fixed_part() {
        let mut bytes = BRR;
        bytes[2] = MhType::BindingUpdate.into();
        assert!(matches!(
            MhPacket::new_checked(&bytes[..]),
            Err(MhError::BadLength {
                field: "Header Len",
                ..
            })
        ));
    }

    #[test]
    fn lifetime_units() {
        assert_eq!(lifetime_to_units(0), 0);
        assert_eq!(lifetime_to_units(3), 0);
        assert_eq!(lifetime_to_units(7), 1);
        assert_eq!(lifetime_to_units(3600), 900);
        assert_eq!(lifetime_to_units(u32::MAX), u16::MAX);
        assert_eq!(lifetime_from_units(900), 3600);
    }

    #[test]
    fn error_messages_name_field_and_reason() {
        let err = MhError::BadOption {
            option: "Home Network Prefix",
            reason: "Length must be 18",
        };
        assert_eq!(
            err.to_string(),
            "bad Home Network Prefix option: Length must be 18"
        );
    }

    fn valid_messages() -> Vec<Vec<u8>> {
        use crate::wire::{
            AccessTechnologyType, HandoffIndicator, Ipv4HomeAddressReply, Ipv4HomeAddressRequest,
            MhAuth, PbaStatus,
        };
        let options = MobilityOptions {
            mn_id: Some("mn@example.org".into()),
            hnps: vec!["2001:db8:1::/64".parse().unwrap(), "::/0".parse().unwrap()],
            handoff_indicator: Some(HandoffIndicator::InterMag),
            access_technology: Some(AccessTechnologyType::Wlan),
            mn_link_layer_id: Some(vec![2, 0, 0, 0, 0, 7]),
            link_local_address: Some("fe80::7".parse().unwrap()),
            timestamp: Some(0x0123_4567_89ab_cdef),
            restart_counter: Some(7),
            ipv4_home_address_request: Some(Ipv4HomeAddressRequest {
                prefix_len: 24,
                address: core::net::Ipv4Addr::new(10, 1, 2, 3),
            }),
            ipv4_home_address_reply: Some(Ipv4HomeAddressReply {
                status: 0,
                prefix_len: 24,
                address: core::net::Ipv4Addr::new(10, 1, 2, 3),
            }),
            ipv4_default_router: Some(core::net::Ipv4Addr::new(10, 1, 2, 1)),
            authentication: Some(MhAuth {
                subtype: 1,
                spi: 257,
                auth_data: vec![0xa5; 16],
            }),
            unknown: vec![],
        };
        let reprs = [
            MhRepr::Pbu(PbuRepr {
                sequence: 7,
                ack: true,
                proxy: true,
                lifetime_secs: 600,
                options: options.clone(),
                ..PbuRepr::default()
            }),
            MhRepr::Pba(PbaRepr {
                status: PbaStatus::Accepted,
                key_mgmt: false,
                mobile_router: false,
                proxy: true,
                sequence: 7,
                lifetime_secs: 600,
                options,
            }),
            MhRepr::Pbu(PbuRepr::default()),
        ];
        reprs
            .iter()
            .map(|repr| {
                let mut bytes = vec![0; repr.buffer_len()];
                repr.emit(&mut MhPacket::new_unchecked(&mut bytes[..]), &SRC, &DST);
                assert_eq!(
                    MhRepr::parse(&MhPacket::new_checked(&bytes[..]).unwrap(), &SRC, &DST).as_ref(),
                    Ok(repr)
                );
                bytes
            })
            .collect()
    }

    /// Random and mutated valid messages through `new_checked` and `parse`:
    /// whatever the input, the result is a value or an error, never a panic.
    #[test]
    fn fuzz_never_panics() {
        let valid = valid_messages();
        let mut rng = crate::rng::SplitMix64::new(0x9e37_79b9_7f4a_7c15);
        let mut parsed = 0;
        for round in 0..200_000 {
            let mut bytes = if round % 4 == 0 {
                let len = rng.index(160);
                (0..len).map(|_| rng.next_u64() as u8).collect()
            } else {
                valid[rng.index(valid.len())].clone()
            };
            if round % 4 != 0 {
                for _ in 0..=rng.index(4) {
                    if bytes.is_empty() {
                        break;
                    }
                    let at = rng.index(bytes.len());
                    match rng.index(4) {
                        0 => bytes[at] = rng.next_u64() as u8,
                        1 => bytes[at] ^= 1 << rng.index(8),
                        2 => bytes.truncate(at),
                        _ => bytes.insert(at, rng.next_u64() as u8),
                    }
                }
            }
            // Re-sum half of the inputs so the option parser sees them too.
            let fix_checksum = round % 2 == 1;
            if let Ok(mut packet) = MhPacket::new_checked(&mut bytes[..]) {
                if fix_checksum {
                    packet.fill_checksum(&SRC, &DST);
                }
                if MhRepr::parse(&packet, &SRC, &DST).is_ok() {
                    parsed += 1;
                }
            }
        }
        // The mutations must leave enough valid input to reach the options.
        assert!(parsed > 1_000, "only {parsed} inputs parsed");
    }
}
