//! Heartbeat message, RFC 5847 section 3.1: MH Type 13, sent by a MAG or an
//! LMA to learn that its peer is alive and whether it restarted (the Restart
//! Counter option of section 3.2, carried in responses).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Payload Proto |  Header Len   |  MH Type = 13 |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |        Reserved           |U|R|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Mobility Options ...                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! R is set in a response, U in an unsolicited response.

use super::mh::{OPTIONS_OFFSET, message_len};
use super::{MhError, MhPacket, MhType, MobilityOptions};

/// Offsets inside the message data, which starts after the checksum.
mod field {
    pub type Field = core::ops::Range<usize>;

    pub const FLAGS: usize = 1;
    pub const SEQUENCE: Field = 2..6;
}

mod flag {
    pub const UNSOLICITED: u8 = 0x02;
    pub const RESPONSE: u8 = 0x01;
}

/// Heartbeat body accessors; only for a packet of type `Heartbeat` that
/// passed `check_len`.
impl<T: AsRef<[u8]>> MhPacket<T> {
    pub fn hb_flags(&self) -> u8 {
        self.message_data()[field::FLAGS]
    }

    pub fn hb_sequence(&self) -> u32 {
        u32::from_be_bytes(super::array(&self.message_data()[field::SEQUENCE]))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> MhPacket<T> {
    pub fn set_hb_flags(&mut self, value: u8) {
        self.message_data_mut()[field::FLAGS] = value;
    }

    pub fn set_hb_sequence(&mut self, value: u32) {
        self.message_data_mut()[field::SEQUENCE].copy_from_slice(&value.to_be_bytes());
    }
}

/// A Heartbeat Request or Response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeartbeatRepr {
    /// R: this answers a request with the same sequence number.
    pub response: bool,
    /// U: a response nobody asked for.
    pub unsolicited: bool,
    pub sequence: u32,
    /// Options; a response carries the sender's Restart Counter.
    pub options: MobilityOptions,
}

impl HeartbeatRepr {
    pub fn parse<T: AsRef<[u8]>>(packet: &MhPacket<T>) -> Result<HeartbeatRepr, MhError> {
        packet.check_len()?;
        if packet.msg_type() != MhType::Heartbeat {
            return Err(MhError::UnsupportedType(packet.msg_type().into()));
        }
        let flags = packet.hb_flags();
        Ok(HeartbeatRepr {
            response: flags & flag::RESPONSE != 0,
            unsolicited: flags & flag::UNSOLICITED != 0,
            sequence: packet.hb_sequence(),
            options: MobilityOptions::parse(packet.options())?,
        })
    }

    pub fn buffer_len(&self) -> usize {
        message_len(self.options.buffer_len(OPTIONS_OFFSET))
    }

    /// Emits everything but the checksum into the first `buffer_len()` octets.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut MhPacket<T>) {
        packet.emit_header(MhType::Heartbeat, self.buffer_len());
        packet.message_data_mut()[0] = 0;
        let flags = super::mh::flag_bits(&[
            (self.response, flag::RESPONSE),
            (self.unsolicited, flag::UNSOLICITED),
        ]);
        packet.set_hb_flags(flags);
        packet.set_hb_sequence(self.sequence);
        self.options.emit(packet.options_mut(), OPTIONS_OFFSET);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MhRepr;
    use core::net::Ipv6Addr;

    const SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 2);
    const DST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 1);

    // A Heartbeat Response, sequence 7, Restart Counter 0x01020304 at
    // offset 14 (4n+2) after a PadN of 0 data octets.
    static RESPONSE: [u8; 24] = [
        59, 2, 13, 0, // Payload Proto, Header Len (24 octets), MH Type, Reserved
        0x00, 0x00, // Checksum (filled by the test)
        0x00, 0x01, // Reserved, U=0 R=1
        0x00, 0x00, 0x00, 0x07, // Sequence Number
        0x01, 0x00, // PadN, 0 data octets
        28, 4, 0x01, 0x02, 0x03, 0x04, // Restart Counter
        0x01, 0x02, 0x00, 0x00, // PadN to the 8-octet boundary
    ];

    fn response() -> HeartbeatRepr {
        HeartbeatRepr {
            response: true,
            unsolicited: false,
            sequence: 7,
            options: MobilityOptions {
                restart_counter: Some(0x0102_0304),
                ..MobilityOptions::default()
            },
        }
    }

    #[test]
    fn parse_and_emit_a_response() {
        let mut bytes = RESPONSE;
        MhPacket::new_unchecked(&mut bytes[..]).fill_checksum(&SRC, &DST);
        let packet = MhPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            MhRepr::parse(&packet, &SRC, &DST),
            Ok(MhRepr::Heartbeat(response()))
        );
        let repr = MhRepr::Heartbeat(response());
        assert_eq!(repr.buffer_len(), bytes.len());
        let mut out = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut MhPacket::new_unchecked(&mut out[..]), &SRC, &DST);
        assert_eq!(out, bytes);
    }

    #[test]
    fn a_request_has_no_flags_and_no_options() {
        let repr = MhRepr::Heartbeat(HeartbeatRepr {
            sequence: 0xdead_beef,
            ..HeartbeatRepr::default()
        });
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(&mut MhPacket::new_unchecked(&mut out[..]), &SRC, &DST);
        assert_eq!(out.len(), 16);
        assert_eq!(&out[6..12], &[0, 0, 0xde, 0xad, 0xbe, 0xef]);
        let packet = MhPacket::new_checked(&out[..]).unwrap();
        assert_eq!(MhRepr::parse(&packet, &SRC, &DST), Ok(repr));
    }

    #[test]
    fn too_short_for_the_fixed_part() {
        let mut bytes = [59, 0, 13, 0, 0, 0, 0, 0];
        MhPacket::new_unchecked(&mut bytes[..]).fill_checksum(&SRC, &DST);
        assert!(matches!(
            MhPacket::new_checked(&bytes[..]),
            Err(MhError::BadLength {
                field: "Header Len",
                ..
            })
        ));
    }
}
