//! The Home Address destination option, RFC 6275 section 6.3, in the
//! Destination Options header (RFC 8200 section 4.6) a mobile node puts
//! before the Mobility Header of its Binding Update.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Header  | Hdr Ext Len=2 |  PadN (1)     |  Opt Len = 2  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               0               |  Option Type  | Option Length |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                                                               |
//! +                          Home Address                         +
//! |                                                               |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Option Type 201, Option Length 16; the option must start at 8n+6, so a
//! PadN of two octets comes first and the header is 24 octets long. Options
//! are walked with smoltcp's `Ipv6OptionsIterator`; unknown ones are skipped
//! or refused as their type's two high bits say (RFC 8200 4.2).

use core::net::Ipv6Addr;

use smoltcp::wire::{
    IpProtocol, Ipv6ExtHeader, Ipv6Option, Ipv6OptionFailureType, Ipv6OptionRepr, Ipv6OptionType,
    Ipv6OptionsIterator,
};

/// IPv6 next header value of a Destination Options header.
pub const IPPROTO_DSTOPTS: u8 = 60;
/// Option Type of the Home Address option (RFC 6275 6.3).
pub const HOME_ADDRESS_OPTION: u8 = 201;
/// The Destination Options header this module emits: PadN(2) + the option.
pub const HOME_ADDRESS_HEADER_LEN: usize = 24;
const OPTION_DATA_LEN: u8 = 16;

/// Why a Destination Options header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HomeAddressError {
    #[error("truncated Destination Options header: need {need} octets, have {have}")]
    Truncated { need: usize, have: usize },
    #[error("bad Home Address option: {0}")]
    BadOption(&'static str),
    #[error("Destination Options header without a Home Address option")]
    Missing,
    #[error(
        "unrecognized destination option {0} whose type says to discard the packet (RFC 8200 4.2)"
    )]
    MustDiscard(u8),
}

/// A Destination Options header that carries a Home Address option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HomeAddressRepr {
    /// The header after this one (135 for a Binding Update).
    pub next_header: u8,
    pub home_address: Ipv6Addr,
}

impl HomeAddressRepr {
    /// Parses the Destination Options header at the start of `bytes`; returns
    /// it and its length. The Home Address must be the option's whole data.
    pub fn parse(bytes: &[u8]) -> Result<(HomeAddressRepr, usize), HomeAddressError> {
        let header = Ipv6ExtHeader::new_checked(bytes).map_err(|_| truncated(bytes, 8))?;
        let len = (usize::from(header.header_len()) + 1) * 8;
        let mut home_address = None;
        for option in Ipv6OptionsIterator::new(header.payload()) {
            let option =
                option.map_err(|_| HomeAddressError::BadOption("an option overruns the header"))?;
            match option {
                Ipv6OptionRepr::Pad1 | Ipv6OptionRepr::PadN(_) => {}
                Ipv6OptionRepr::Unknown {
                    type_: Ipv6OptionType::Unknown(HOME_ADDRESS_OPTION),
                    length,
                    data,
                } => {
                    if length != OPTION_DATA_LEN {
                        return Err(HomeAddressError::BadOption("Option Length must be 16"));
                    }
                    if home_address.is_some() {
                        return Err(HomeAddressError::BadOption("more than one in the header"));
                    }
                    let mut octets = [0; 16];
                    octets.copy_from_slice(data);
                    home_address = Some(Ipv6Addr::from(octets));
                }
                Ipv6OptionRepr::Unknown { type_, .. }
                    if Ipv6OptionFailureType::from(type_) != Ipv6OptionFailureType::Skip =>
                {
                    return Err(HomeAddressError::MustDiscard(u8::from(type_)));
                }
                _ => {}
            }
        }
        let home_address = home_address.ok_or(HomeAddressError::Missing)?;
        let next_header = u8::from(header.next_header());
        Ok((
            HomeAddressRepr {
                next_header,
                home_address,
            },
            len,
        ))
    }

    pub const fn buffer_len(&self) -> usize {
        HOME_ADDRESS_HEADER_LEN
    }

    /// Writes the 24-octet header into the start of `buffer`.
    pub fn emit(&self, buffer: &mut [u8]) {
        let out = &mut buffer[..HOME_ADDRESS_HEADER_LEN];
        out.fill(0);
        let mut header = Ipv6ExtHeader::new_unchecked(&mut out[..]);
        header.set_next_header(IpProtocol::from(self.next_header));
        header.set_header_len((HOME_ADDRESS_HEADER_LEN / 8 - 1) as u8);
        let options = header.payload_mut();
        let (pad, hoa) = options.split_at_mut(4);
        Ipv6OptionRepr::PadN(2).emit(&mut Ipv6Option::new_unchecked(pad));
        let octets = self.home_address.octets();
        Ipv6OptionRepr::Unknown {
            type_: Ipv6OptionType::Unknown(HOME_ADDRESS_OPTION),
            length: OPTION_DATA_LEN,
            data: &octets,
        }
        .emit(&mut Ipv6Option::new_unchecked(hoa));
    }
}

fn truncated(bytes: &[u8], need: usize) -> HomeAddressError {
    HomeAddressError::Truncated {
        need,
        have: bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 1, 0x5054, 0xff, 0xfeaa, 1);

    // The header a mobile node puts before its Binding Update, by hand.
    static HEADER: [u8; 24] = [
        135, 2, // Next Header: Mobility Header; Hdr Ext Len 2 (24 octets)
        1, 2, 0, 0, // PadN with two octets, so the option starts at 6
        201, 16, // Home Address option, 16 octets
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x01, //
        0x50, 0x54, 0x00, 0xff, 0xfe, 0xaa, 0x00, 0x01,
    ];

    fn repr() -> HomeAddressRepr {
        HomeAddressRepr {
            next_header: 135,
            home_address: HOA,
        }
    }

    #[test]
    fn parse_by_hand() {
        assert_eq!(HomeAddressRepr::parse(&HEADER), Ok((repr(), 24)));
    }

    #[test]
    fn emit_by_hand() {
        let mut out = [0xff; 24];
        repr().emit(&mut out);
        assert_eq!(out, HEADER);
    }

    #[test]
    fn truncated_at_every_length_never_panics() {
        for len in 0..HEADER.len() {
            assert!(HomeAddressRepr::parse(&HEADER[..len]).is_err(), "{len}");
        }
    }

    #[test]
    fn refuses_a_bad_length_a_missing_option_and_a_must_discard_one() {
        let mut bad = HEADER;
        bad[7] = 8;
        assert!(HomeAddressRepr::parse(&bad).is_err());
        let mut none = HEADER;
        none[6] = 0x1e; // a skippable unknown option instead
        assert_eq!(
            HomeAddressRepr::parse(&none),
            Err(HomeAddressError::Missing)
        );
        let mut discard = HEADER;
        discard[6] = 0x5e; // high bits 01: discard the packet
        assert_eq!(
            HomeAddressRepr::parse(&discard),
            Err(HomeAddressError::MustDiscard(0x5e))
        );
    }
}
