//! The Mobility Message Authentication option, RFC 4285 section 5: mobility
//! option type 9 (AUTH-OPTION-TYPE), which tapmip puts at the end of every PBU,
//! PBA and Heartbeat so that only a MAG and its LMA, which share the key the
//! Mobility SPI names, can make them ([`crate::auth`] computes and checks it).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!                                 +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!                                 |  Option Type  | Option Length |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    Subtype    |                 Mobility SPI ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  ... SPI        |          Authentication Data ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Option Length counts the octets after it: 5 + the Authentication Data. The
//! option must be the last one of the message (RFC 4285 5), so the emitter
//! aligns it to end exactly where the 8-octet multiple of the Mobility Header
//! ends: no padding may follow it. For the 16-octet authenticator of
//! HMAC-SHA-256-128 the option is 23 octets and starts at 8n+1, which meets
//! RFC 4285's 4n+1 rule too.

use super::{MhError, array};

/// Subtype 1, MN-HA: the message is authenticated with a key shared by the two
/// ends (RFC 4285 5.1). A MAG and its LMA are in that position; subtype 2
/// (MN-AAA) would hand the check to an AAA server.
pub const AUTH_SUBTYPE_MN_HA: u8 = 1;

mod field {
    pub type Field = core::ops::Range<usize>;

    pub const TYPE: usize = 0;
    pub const LENGTH: usize = 1;
    pub const SUBTYPE: usize = 2;
    pub const SPI: Field = 3..7;
    pub const AUTH_DATA: usize = 7;
}

/// Option Length of an option with no Authentication Data: Subtype and SPI.
pub const AUTH_FIXED_LEN: usize = field::AUTH_DATA - field::SUBTYPE;
/// The most Authentication Data the Length octet leaves room for.
pub const MAX_AUTH_DATA: usize = u8::MAX as usize - AUTH_FIXED_LEN;

/// A read/write wrapper around one authentication option (type and length
/// included) at the start of a buffer.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct MhAuthOption<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> MhAuthOption<T> {
    pub const fn new_unchecked(buffer: T) -> MhAuthOption<T> {
        MhAuthOption { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<MhAuthOption<T>, MhError> {
        let option = Self::new_unchecked(buffer);
        option.check_len()?;
        Ok(option)
    }

    /// Ensures the Subtype and SPI are there and the buffer holds all the
    /// option's Length announces.
    pub fn check_len(&self) -> Result<(), MhError> {
        let bytes = self.buffer.as_ref();
        let have = bytes.len();
        if have <= field::LENGTH {
            return Err(MhError::Truncated {
                field: "authentication option Length",
                need: field::LENGTH + 1,
                have,
            });
        }
        let len = usize::from(bytes[field::LENGTH]);
        if len < AUTH_FIXED_LEN {
            return Err(MhError::BadOption {
                option: "Mobility Message Authentication",
                reason: "Length below 5 leaves no room for Subtype and Mobility SPI",
            });
        }
        if have < self.total_len() {
            return Err(MhError::Truncated {
                field: "authentication option (per Length)",
                need: self.total_len(),
                have,
            });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn option_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    pub fn data_len(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }

    /// Octets the option takes, type and length included.
    pub fn total_len(&self) -> usize {
        field::SUBTYPE + usize::from(self.data_len())
    }

    pub fn subtype(&self) -> u8 {
        self.buffer.as_ref()[field::SUBTYPE]
    }

    pub fn spi(&self) -> u32 {
        u32::from_be_bytes(array(&self.buffer.as_ref()[field::SPI]))
    }

    /// Where the Authentication Data starts, counted from the option's Type.
    pub const fn auth_data_offset() -> usize {
        field::AUTH_DATA
    }

    pub fn auth_data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::AUTH_DATA..self.total_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> MhAuthOption<T> {
    pub fn set_option_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::TYPE] = value;
    }

    pub fn set_data_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::LENGTH] = value;
    }

    pub fn set_subtype(&mut self, value: u8) {
        self.buffer.as_mut()[field::SUBTYPE] = value;
    }

    pub fn set_spi(&mut self, value: u32) {
        self.buffer.as_mut()[field::SPI].copy_from_slice(&value.to_be_bytes());
    }

    pub fn auth_data_mut(&mut self) -> &mut [u8] {
        let end = self.total_len();
        &mut self.buffer.as_mut()[field::AUTH_DATA..end]
    }
}

/// A parsed authentication option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MhAuthRepr<'a> {
    pub subtype: u8,
    pub spi: u32,
    pub auth_data: &'a [u8],
}

impl<'a> MhAuthRepr<'a> {
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        option: &MhAuthOption<&'a T>,
    ) -> Result<MhAuthRepr<'a>, MhError> {
        option.check_len()?;
        let bytes = option.buffer.as_ref();
        Ok(MhAuthRepr {
            subtype: option.subtype(),
            spi: option.spi(),
            auth_data: &bytes[field::AUTH_DATA..option.total_len()],
        })
    }

    /// Octets the option takes; Authentication Data beyond what the Length
    /// octet can count is cut.
    pub fn buffer_len(&self) -> usize {
        field::AUTH_DATA + self.auth_data.len().min(MAX_AUTH_DATA)
    }

    /// The "xn+y" alignment (RFC 6275 6.2) that makes the option end on an
    /// 8-octet boundary, where the Mobility Header ends.
    pub fn alignment(&self) -> (usize, usize) {
        (8, (8 - self.buffer_len() % 8) % 8)
    }

    /// Writes the option, type 9 included, into the first `buffer_len()`
    /// octets of `option`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, option: &mut MhAuthOption<T>, type_: u8) {
        let len = self.buffer_len();
        option.set_option_type(type_);
        option.set_data_len(u8::try_from(len - field::SUBTYPE).unwrap_or(u8::MAX));
        option.set_subtype(self.subtype);
        option.set_spi(self.spi);
        option
            .auth_data_mut()
            .copy_from_slice(&self.auth_data[..len - field::AUTH_DATA]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Written out from RFC 4285 5: type 9, Length 21 (Subtype, SPI and 16
    // octets of authenticator), Subtype 1 (MN-HA), SPI 0x00000101 = 257.
    static OPTION: [u8; 23] = [
        9, 21, // Option Type, Option Length
        1,  // Subtype: MN-HA
        0x00, 0x00, 0x01, 0x01, // Mobility SPI 257
        0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, // Authentication Data
        0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    ];

    fn auth_data() -> [u8; 16] {
        core::array::from_fn(|i| 0xa0 + i as u8)
    }

    #[test]
    fn deconstruct() {
        let option = MhAuthOption::new_checked(&OPTION[..]).unwrap();
        assert_eq!(option.option_type(), 9);
        assert_eq!(option.data_len(), 21);
        assert_eq!(option.total_len(), 23);
        assert_eq!(option.subtype(), AUTH_SUBTYPE_MN_HA);
        assert_eq!(option.spi(), 257);
        assert_eq!(option.auth_data(), &auth_data());
    }

    #[test]
    fn parse_and_emit_round_trip() {
        let option = MhAuthOption::new_checked(&OPTION[..]).unwrap();
        let repr = MhAuthRepr::parse(&option).unwrap();
        let data = auth_data();
        assert_eq!(
            repr,
            MhAuthRepr {
                subtype: 1,
                spi: 257,
                auth_data: &data,
            }
        );
        assert_eq!(repr.buffer_len(), OPTION.len());
        // 23 octets starting at 8n+1 end on the 8-octet boundary.
        assert_eq!(repr.alignment(), (8, 1));
        let mut buffer = [0x55; 23];
        repr.emit(&mut MhAuthOption::new_unchecked(&mut buffer[..]), 9);
        assert_eq!(buffer, OPTION);
    }

    #[test]
    fn truncated_at_every_length() {
        for len in 0..OPTION.len() {
            assert!(
                MhAuthOption::new_checked(&OPTION[..len]).is_err(),
                "{len} octets"
            );
        }
    }

    #[test]
    fn length_too_small_for_subtype_and_spi() {
        for length in 0..5u8 {
            let mut bytes = OPTION;
            bytes[1] = length;
            assert!(
                matches!(
                    MhAuthOption::new_checked(&bytes[..]),
                    Err(MhError::BadOption { .. })
                ),
                "Length {length}"
            );
        }
        // Length 5: no Authentication Data, still a well-formed option.
        let mut bytes = OPTION;
        bytes[1] = 5;
        let option = MhAuthOption::new_checked(&bytes[..]).unwrap();
        assert!(option.auth_data().is_empty());
    }

    #[test]
    fn length_beyond_the_buffer() {
        let mut bytes = OPTION;
        bytes[1] = 22;
        assert_eq!(
            MhAuthOption::new_checked(&bytes[..]),
            Err(MhError::Truncated {
                field: "authentication option (per Length)",
                need: 24,
                have: 23,
            })
        );
    }

    #[test]
    fn alignment_ends_every_length_on_a_boundary() {
        let data = [0; 64];
        for len in 0..64 {
            let repr = MhAuthRepr {
                subtype: 1,
                spi: 1,
                auth_data: &data[..len],
            };
            let (x, y) = repr.alignment();
            assert_eq!((y + repr.buffer_len()) % x, 0, "{len}");
        }
    }
}
