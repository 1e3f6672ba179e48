//! Binding Error message, RFC 6275 section 6.1.9: MH Type 7, what a node
//! answers a Mobility Header it cannot process with (section 9.3.3).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Payload Proto |  Header Len   |  MH Type = 7  |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |     Status    |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                         Home Address                          +
//! |                          (16 octets)                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Mobility Options ...                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use core::net::Ipv6Addr;

use super::{MhError, MhPacket, MhType, MobilityOptions};

/// Where the options of a Binding Error begin, counted from the start of the MH.
pub const BE_OPTIONS_OFFSET: usize = 24;

mod field {
    pub type Field = core::ops::Range<usize>;

    pub const STATUS: usize = 0;
    pub const HOME_ADDRESS: Field = 2..18;
}

/// Binding Error Status values, RFC 6275 section 6.1.9.
pub const BE_STATUS_UNKNOWN_BINDING: u8 = 1;
pub const BE_STATUS_UNRECOGNIZED_MH_TYPE: u8 = 2;

/// A Binding Error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingErrorRepr {
    pub status: u8,
    /// The home address the error is about; unspecified when the offending
    /// message carried none (RFC 6275 9.3.3), always so in PMIPv6.
    pub home_address: Ipv6Addr,
}

impl BindingErrorRepr {
    pub fn parse<T: AsRef<[u8]>>(packet: &MhPacket<T>) -> Result<BindingErrorRepr, MhError> {
        packet.check_len()?;
        if packet.msg_type() != MhType::BindingError {
            return Err(MhError::UnsupportedType(packet.msg_type().into()));
        }
        let data = packet.message_data();
        MobilityOptions::parse(data.get(BE_OPTIONS_OFFSET - 6..).unwrap_or_default())?;
        Ok(BindingErrorRepr {
            status: data[field::STATUS],
            home_address: Ipv6Addr::from(super::array::<16>(&data[field::HOME_ADDRESS])),
        })
    }

    pub fn buffer_len(&self) -> usize {
        BE_OPTIONS_OFFSET
    }

    /// Emits everything but the checksum into the first `buffer_len()` octets.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut MhPacket<T>) {
        packet.emit_header(MhType::BindingError, self.buffer_len());
        let data = packet.message_data_mut();
        data.fill(0);
        data[field::STATUS] = self.status;
        data[field::HOME_ADDRESS].copy_from_slice(&self.home_address.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MhRepr;

    const SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 1);
    const DST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 2);

    static UNRECOGNIZED: [u8; 24] = [
        59, 2, 7, 0, // Payload Proto, Header Len (24 octets), MH Type 7, Reserved
        0x00, 0x00, // Checksum (filled by the test)
        2, 0, // Status: unrecognized MH Type value, Reserved
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // Home Address ::
    ];

    #[test]
    fn parse_and_emit() {
        let mut bytes = UNRECOGNIZED;
        MhPacket::new_unchecked(&mut bytes[..]).fill_checksum(&SRC, &DST);
        let repr = BindingErrorRepr {
            status: BE_STATUS_UNRECOGNIZED_MH_TYPE,
            home_address: Ipv6Addr::UNSPECIFIED,
        };
        let packet = MhPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            MhRepr::parse(&packet, &SRC, &DST),
            Ok(MhRepr::BindingError(repr.clone()))
        );
        let mut out = vec![0xa5; 24];
        MhRepr::BindingError(repr).emit(&mut MhPacket::new_unchecked(&mut out[..]), &SRC, &DST);
        assert_eq!(out, bytes);
        let short = [59, 1, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(MhPacket::new_checked(&short[..]).is_err());
    }
}
