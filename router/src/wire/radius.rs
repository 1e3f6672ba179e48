//! RADIUS packets, RFC 2865 section 3, in one UDP datagram (port 1812), and their
//! attributes (section 5).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Code      |  Identifier   |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! |                         Authenticator                         |
//! |                          (16 octets)                          |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Attributes ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-
//!
//! Attribute (section 5)
//! +--------+--------+--------------
//! |  Type  | Length | Value ...      Length counts Type and Length too
//! +--------+--------+--------------
//! ```
//!
//! Length covers the header and the attributes; octets after it in the datagram
//! are padding and are ignored (section 3). A Length below 20 or above 4096, or
//! beyond the datagram, makes the packet unusable.

use super::read_u16;

/// Octets before the attributes.
pub const HEADER_LEN: usize = 20;
/// The largest packet section 3 allows.
pub const MAX_LEN: usize = 4096;
/// The Authenticator and the Message-Authenticator value are both 16 octets.
pub const AUTHENTICATOR_LEN: usize = 16;
/// An attribute's value is at most 253 octets (Length is one octet).
pub const MAX_VALUE_LEN: usize = 253;

enum_with_other! {
    /// Packet code, RFC 2865 section 3 (and RFC 5997 for Status-Server).
    pub enum RadiusCode(u8) {
        AccessRequest = 1 => "Access-Request",
        AccessAccept = 2 => "Access-Accept",
        AccessReject = 3 => "Access-Reject",
        AccessChallenge = 11 => "Access-Challenge",
        StatusServer = 12 => "Status-Server",
    }
    other: Unknown
}

enum_with_other! {
    /// The attribute types this router sends or reads (IANA RADIUS Types).
    pub enum AttributeType(u8) {
        UserName = 1 => "User-Name",
        ServiceType = 6 => "Service-Type",
        FramedIpAddress = 8 => "Framed-IP-Address",
        ReplyMessage = 18 => "Reply-Message",
        CallingStationId = 31 => "Calling-Station-Id",
        NasIdentifier = 32 => "NAS-Identifier",
        MessageAuthenticator = 80 => "Message-Authenticator",
        NasIpv6Address = 95 => "NAS-IPv6-Address",
        FramedIpv6Prefix = 97 => "Framed-IPv6-Prefix",
        DelegatedIpv6Prefix = 123 => "Delegated-IPv6-Prefix",
        Pmip6HomeHnPrefix = 151 => "PMIP6-Home-HN-Prefix",
    }
    other: Unknown
}

/// Why a RADIUS packet was refused or cannot be emitted.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RadiusError {
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
    #[error("bad {attribute} attribute: {reason}")]
    BadAttribute {
        attribute: AttributeType,
        reason: &'static str,
    },
}

mod field {
    pub type Field = core::ops::Range<usize>;

    pub const CODE: usize = 0;
    pub const IDENTIFIER: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const AUTHENTICATOR: Field = 4..20;
}

/// A read/write wrapper around a RADIUS packet buffer.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct RadiusPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> RadiusPacket<T> {
    /// Imposes the RADIUS structure on a buffer without checking its length.
    pub const fn new_unchecked(buffer: T) -> RadiusPacket<T> {
        RadiusPacket { buffer }
    }

    /// `new_unchecked` followed by `check_len`.
    pub fn new_checked(buffer: T) -> Result<RadiusPacket<T>, RadiusError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Ensures that no accessor panics: the header is there, and Length lies
    /// between 20 and 4096 and within the buffer. Attributes are checked one by one
    /// by [`RadiusPacket::attributes`].
    pub fn check_len(&self) -> Result<(), RadiusError> {
        let have = self.buffer.as_ref().len();
        if have < HEADER_LEN {
            return Err(RadiusError::Truncated {
                field: "RADIUS header",
                need: HEADER_LEN,
                have,
            });
        }
        let len = self.length();
        if !(HEADER_LEN..=MAX_LEN).contains(&len) {
            return Err(RadiusError::BadLength {
                field: "Length",
                len,
                reason: "must lie between 20 and 4096 (RFC 2865 3)",
            });
        }
        if have < len {
            return Err(RadiusError::Truncated {
                field: "RADIUS packet (per Length)",
                need: len,
                have,
            });
        }
        Ok(())
    }

    pub fn code(&self) -> RadiusCode {
        self.buffer.as_ref()[field::CODE].into()
    }

    pub fn identifier(&self) -> u8 {
        self.buffer.as_ref()[field::IDENTIFIER]
    }

    /// The Length field: header and attributes, without padding.
    pub fn length(&self) -> usize {
        read_u16(&self.buffer.as_ref()[field::LENGTH]).into()
    }

    pub fn authenticator(&self) -> [u8; AUTHENTICATOR_LEN] {
        super::array(&self.buffer.as_ref()[field::AUTHENTICATOR])
    }

    /// The packet's octets per Length, padding cut off.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.length()]
    }

    /// The attributes in order; an attribute whose Length is below 2 or runs past
    /// the packet ends the walk with an error.
    pub fn attributes(&self) -> Attributes<'_> {
        Attributes {
            bytes: self.as_bytes(),
            at: HEADER_LEN,
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> RadiusPacket<T> {
    pub fn set_code(&mut self, code: RadiusCode) {
        self.buffer.as_mut()[field::CODE] = code.into();
    }

    pub fn set_identifier(&mut self, identifier: u8) {
        self.buffer.as_mut()[field::IDENTIFIER] = identifier;
    }

    pub fn set_length(&mut self, len: u16) {
        super::write_u16(&mut self.buffer.as_mut()[field::LENGTH], len);
    }

    pub fn set_authenticator(&mut self, authenticator: &[u8; AUTHENTICATOR_LEN]) {
        self.buffer.as_mut()[field::AUTHENTICATOR].copy_from_slice(authenticator);
    }
}

/// One attribute: its type, its value and where the value sits in the packet
/// (the Message-Authenticator is computed over the packet with it zeroed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    pub kind: AttributeType,
    pub value: &'a [u8],
    pub value_offset: usize,
}

/// Iterator over a packet's attributes; see [`RadiusPacket::attributes`].
pub struct Attributes<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<Attribute<'a>, RadiusError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.bytes.get(self.at..)?;
        let (&kind, len) = match rest {
            [] => return None,
            [kind, len, ..] => (kind, usize::from(*len)),
            [_] => {
                self.at = self.bytes.len();
                return Some(Err(RadiusError::Truncated {
                    field: "attribute header",
                    need: 2,
                    have: 1,
                }));
            }
        };
        let Some(value) = rest.get(2..len).filter(|_| len >= 2) else {
            self.at = self.bytes.len();
            return Some(Err(RadiusError::BadLength {
                field: "attribute Length",
                len,
                reason: "below 2 or past the end of the packet (RFC 2865 5)",
            }));
        };
        let value_offset = self.at + 2;
        self.at += len;
        Some(Ok(Attribute {
            kind: kind.into(),
            value,
            value_offset,
        }))
    }
}

/// Appends one attribute to `out`; the caller keeps `value` within
/// `MAX_VALUE_LEN` (checked here, so a bug cannot emit a wrong Length).
pub fn push_attribute(
    out: &mut Vec<u8>,
    kind: AttributeType,
    value: &[u8],
) -> Result<(), RadiusError> {
    let len = u8::try_from(value.len() + 2)
        .ok()
        .filter(|_| value.len() <= MAX_VALUE_LEN)
        .ok_or(RadiusError::BadAttribute {
            attribute: kind,
            reason: "value longer than 253 octets",
        })?;
    out.push(kind.into());
    out.push(len);
    out.extend_from_slice(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Access-Accept: header, Reply-Message "hi", then an unknown type 200.
    const ACCEPT: [u8; 27] = [
        2, 7, 0, 27, // code, identifier, length
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, // authenticator
        18, 4, b'h', b'i', // Reply-Message
        200, 3, 0xff, // unknown
    ];

    #[test]
    fn parses_header_and_attributes() {
        let mut padded = ACCEPT.to_vec();
        padded.extend([0xee; 5]);
        let p = RadiusPacket::new_checked(&padded[..]).unwrap();
        assert_eq!(p.code(), RadiusCode::AccessAccept);
        assert_eq!(p.identifier(), 7);
        assert_eq!(p.length(), 27);
        assert_eq!(
            p.as_bytes(),
            &ACCEPT[..],
            "padding is not part of the packet"
        );
        assert_eq!(p.authenticator()[15], 16);
        let attrs: Vec<_> = p.attributes().collect::<Result<_, _>>().unwrap();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].kind, AttributeType::ReplyMessage);
        assert_eq!(attrs[0].value, b"hi");
        assert_eq!(attrs[0].value_offset, 22);
        assert_eq!(attrs[1].kind, AttributeType::Unknown(200));
        assert_eq!(attrs[1].value, [0xff]);
    }

    #[test]
    fn refuses_bad_lengths_without_panicking() {
        let short = RadiusPacket::new_checked(&ACCEPT[..19]).unwrap_err();
        assert!(
            short.to_string().starts_with("truncated RADIUS header"),
            "{short}"
        );
        for (len, what) in [(19u16, "bad Length 19"), (4097, "bad Length 4097")] {
            let mut b = ACCEPT;
            b[2..4].copy_from_slice(&len.to_be_bytes());
            let e = RadiusPacket::new_checked(&b[..]).unwrap_err().to_string();
            assert!(e.starts_with(what), "{e}");
        }
        let mut long = ACCEPT;
        long[3] = 28;
        let e = RadiusPacket::new_checked(&long[..])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("truncated RADIUS packet (per Length)"), "{e}");
        // An attribute Length of 0, 1 and past the end, and a lone type octet.
        for (at, value, len) in [
            (21, 0u8, 27u16),
            (21, 1, 27),
            (21, 9, 27),
            (0, 0, 26),
            (0, 0, 25),
        ] {
            let mut b = ACCEPT;
            if at > 0 {
                b[at] = value;
            }
            b[2..4].copy_from_slice(&len.to_be_bytes());
            let p = RadiusPacket::new_checked(&b[..]).unwrap();
            let results: Vec<_> = p.attributes().collect();
            assert!(results.iter().any(|r| r.is_err()), "{at} {value} {len}");
            assert!(results.len() <= 2);
        }
    }

    #[test]
    fn emits_attributes_and_header_fields() {
        let mut out = vec![0; HEADER_LEN];
        push_attribute(&mut out, AttributeType::UserName, b"vm1").unwrap();
        let e = push_attribute(&mut out, AttributeType::UserName, &[b'x'; 254]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad User-Name attribute: value longer than 253 octets"
        );
        let len = out.len() as u16;
        let mut p = RadiusPacket::new_unchecked(&mut out[..]);
        p.set_code(RadiusCode::AccessRequest);
        p.set_identifier(9);
        p.set_length(len);
        p.set_authenticator(&[0xab; 16]);
        assert_eq!(&out[..4], &[1, 9, 0, 25]);
        assert_eq!(&out[20..], &[1, 5, b'v', b'm', b'1']);
        assert_eq!(RadiusCode::from(99).to_string(), "Unknown(99)");
    }
}
