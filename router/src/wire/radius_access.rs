//! The two RADIUS messages a router exchanges with its AAA server: the
//! Access-Request it sends (RFC 2865 4.1) and the Access-Accept / Access-Reject
//! it reads back (4.2, 4.3), with the value formats of the attributes used.
//!
//! ```text
//! IPv6 prefix value (RFC 3162 2.3, RFC 8044 3.10): Framed-IPv6-Prefix (97),
//! Delegated-IPv6-Prefix (123, RFC 4818), PMIP6-Home-HN-Prefix (151, RFC 6572)
//! +--------+--------+--------+--------+--------+-----------
//! |  Type  | Length |Reserved|PrefLen | Prefix (0 to 16 octets) ...
//! +--------+--------+--------+--------+--------+-----------
//!
//! Framed-IP-Address (8), NAS-IPv6-Address (95): 4 and 16 octets of address.
//! User-Name, Reply-Message, Calling-Station-Id, NAS-Identifier: 1 to 253 octets
//! of text. Service-Type (6): a 32-bit integer.
//! ```
//!
//! The Message-Authenticator (80, RFC 3579 3.2) and the authenticators are the
//! business of `crate::aaa`: [`AccessRequestRepr::emit`] leaves
//! room for one, the first attribute, and [`AccessReplyRepr::parse`] skips it.

use core::net::{Ipv4Addr, Ipv6Addr};

use ipnet::Ipv6Net;

use super::radius::{
    AUTHENTICATOR_LEN, AttributeType, HEADER_LEN, RadiusCode, RadiusError, RadiusPacket,
    push_attribute,
};

/// Service-Type "Framed" (RFC 2865 5.6): the node gets framed access, here the
/// PMIPv6 service, which is what the prefixes in the answer are for.
pub const SERVICE_TYPE_FRAMED: u32 = 2;

/// An Access-Request asking whether `user_name` may have the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequestRepr<'a> {
    pub identifier: u8,
    /// The Request Authenticator: 16 unpredictable octets (RFC 2865 3).
    pub authenticator: [u8; AUTHENTICATOR_LEN],
    pub user_name: &'a str,
    pub calling_station_id: Option<&'a str>,
    pub nas_identifier: &'a str,
    pub nas_ipv6_address: Option<Ipv6Addr>,
}

impl AccessRequestRepr<'_> {
    /// The packet, with a zeroed Message-Authenticator as its first attribute
    /// (where the BlastRADIUS mitigations want it) for the signer to fill in.
    pub fn emit(&self) -> Result<Vec<u8>, RadiusError> {
        let mut out = vec![0; HEADER_LEN];
        push_attribute(
            &mut out,
            AttributeType::MessageAuthenticator,
            &[0; AUTHENTICATOR_LEN],
        )?;
        push_text(&mut out, AttributeType::UserName, self.user_name)?;
        push_attribute(
            &mut out,
            AttributeType::ServiceType,
            &SERVICE_TYPE_FRAMED.to_be_bytes(),
        )?;
        push_text(&mut out, AttributeType::NasIdentifier, self.nas_identifier)?;
        if let Some(addr) = self.nas_ipv6_address {
            push_attribute(&mut out, AttributeType::NasIpv6Address, &addr.octets())?;
        }
        if let Some(id) = self.calling_station_id {
            push_text(&mut out, AttributeType::CallingStationId, id)?;
        }
        // At most five attributes of at most 255 octets: far below 4096.
        let len = u16::try_from(out.len()).unwrap_or(u16::MAX);
        let mut packet = RadiusPacket::new_unchecked(&mut out[..]);
        packet.set_code(RadiusCode::AccessRequest);
        packet.set_identifier(self.identifier);
        packet.set_length(len);
        packet.set_authenticator(&self.authenticator);
        Ok(out)
    }
}

/// RFC 2865 5: text attributes carry at least one octet.
fn push_text(out: &mut Vec<u8>, kind: AttributeType, text: &str) -> Result<(), RadiusError> {
    if text.is_empty() {
        return Err(RadiusError::BadAttribute {
            attribute: kind,
            reason: "empty (RFC 2865 5 wants at least one octet)",
        });
    }
    push_attribute(out, kind, text.as_bytes())
}

/// What an Access-Accept, -Reject or -Challenge says, once its authenticators
/// were checked. Attributes this router does not use are skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessReplyRepr {
    pub framed_ipv6_prefixes: Vec<Ipv6Net>,
    pub delegated_ipv6_prefixes: Vec<Ipv6Net>,
    pub home_hn_prefixes: Vec<Ipv6Net>,
    pub framed_ip_address: Option<Ipv4Addr>,
    /// Every Reply-Message in order, joined by a space (RFC 2865 5.18), with
    /// invalid UTF-8 replaced.
    pub reply_message: Option<String>,
}

impl AccessReplyRepr {
    /// Reads the attributes; a malformed one refuses the whole packet, naming it.
    pub fn parse<T: AsRef<[u8]>>(packet: &RadiusPacket<T>) -> Result<Self, RadiusError> {
        let mut reply = AccessReplyRepr::default();
        for attribute in packet.attributes() {
            let attribute = attribute?;
            let kind = attribute.kind;
            let value = attribute.value;
            match kind {
                AttributeType::FramedIpv6Prefix => {
                    reply.framed_ipv6_prefixes.push(ipv6_prefix(kind, value)?);
                }
                AttributeType::DelegatedIpv6Prefix => {
                    reply
                        .delegated_ipv6_prefixes
                        .push(ipv6_prefix(kind, value)?);
                }
                AttributeType::Pmip6HomeHnPrefix => {
                    reply.home_hn_prefixes.push(ipv6_prefix(kind, value)?);
                }
                AttributeType::FramedIpAddress => {
                    let octets: [u8; 4] =
                        value.try_into().map_err(|_| bad(kind, "not 4 octets"))?;
                    if reply.framed_ip_address.is_some() {
                        return Err(bad(kind, "given twice"));
                    }
                    reply.framed_ip_address = Some(Ipv4Addr::from(octets));
                }
                AttributeType::ReplyMessage => {
                    let text = String::from_utf8_lossy(value);
                    match &mut reply.reply_message {
                        Some(message) => {
                            message.push(' ');
                            message.push_str(&text);
                        }
                        None => reply.reply_message = Some(text.into_owned()),
                    }
                }
                _ => {}
            }
        }
        Ok(reply)
    }
}

fn bad(attribute: AttributeType, reason: &'static str) -> RadiusError {
    RadiusError::BadAttribute { attribute, reason }
}

/// An IPv6 prefix value (RFC 8044 3.10): the prefix octets may stop after the
/// prefix length, and bits beyond it must be zero.
fn ipv6_prefix(kind: AttributeType, value: &[u8]) -> Result<Ipv6Net, RadiusError> {
    let (len, prefix) = match value {
        [_reserved, len, prefix @ ..] if prefix.len() <= 16 => (*len, prefix),
        _ => return Err(bad(kind, "value is not 2 to 18 octets")),
    };
    if len > 128 {
        return Err(bad(kind, "prefix length above 128"));
    }
    if prefix.len() * 8 < usize::from(len) {
        return Err(bad(
            kind,
            "fewer prefix octets than the prefix length needs",
        ));
    }
    let mut octets = [0u8; 16];
    octets[..prefix.len()].copy_from_slice(prefix);
    let net = Ipv6Net::new(Ipv6Addr::from(octets), len).map_err(|_| bad(kind, "prefix length"))?;
    if net.trunc() != net {
        return Err(bad(kind, "bits set beyond the prefix length"));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet_with(attrs: &[(u8, &[u8])]) -> Vec<u8> {
        let mut out = vec![2, 1, 0, 0];
        out.extend([0; 16]);
        for (kind, value) in attrs {
            out.push(*kind);
            out.push(value.len() as u8 + 2);
            out.extend_from_slice(value);
        }
        let len = out.len() as u16;
        out[2..4].copy_from_slice(&len.to_be_bytes());
        out
    }

    fn parse(bytes: &[u8]) -> Result<AccessReplyRepr, RadiusError> {
        AccessReplyRepr::parse(&RadiusPacket::new_checked(bytes)?)
    }

    #[test]
    fn request_bytes() {
        let repr = AccessRequestRepr {
            identifier: 0x2a,
            authenticator: [0x11; 16],
            user_name: "vm1@tapmip",
            calling_station_id: Some("52-54-00-AA-00-01"),
            nas_identifier: "mag1",
            nas_ipv6_address: Some("2001:db8::2".parse().unwrap()),
        };
        let bytes = repr.emit().unwrap();
        let mut want = vec![1, 0x2a, 0, 99];
        want.extend([0x11; 16]);
        want.extend([80, 18]);
        want.extend([0; 16]);
        want.extend([1, 12]);
        want.extend(b"vm1@tapmip");
        want.extend([6, 6, 0, 0, 0, 2]);
        want.extend([32, 6]);
        want.extend(b"mag1");
        want.extend([95, 18, 0x20, 0x01, 0x0d, 0xb8]);
        want.extend([0; 11]);
        want.push(2);
        want.extend([31, 19]);
        want.extend(b"52-54-00-AA-00-01");
        assert_eq!(bytes, want);
        let empty = AccessRequestRepr {
            user_name: "",
            ..repr
        };
        assert!(empty.emit().unwrap_err().to_string().contains("User-Name"));
    }

    #[test]
    fn reply_attributes() {
        let bytes = packet_with(&[
            (97, &[0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 1]),
            (
                123,
                &[
                    0, 56, 0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                ],
            ),
            (151, &[0, 0]),
            (8, &[10, 0, 0, 7]),
            (18, b"hello"),
            (18, b"world\xff"),
            (80, &[0; 16]),
            (26, &[0, 0, 0, 9, 1, 3, 0]),
        ]);
        let reply = parse(&bytes).unwrap();
        assert_eq!(
            reply.framed_ipv6_prefixes,
            vec!["2001:db8:1:1::/64".parse::<Ipv6Net>().unwrap()]
        );
        assert_eq!(
            reply.delegated_ipv6_prefixes,
            vec!["2001:db8:2::/56".parse::<Ipv6Net>().unwrap()]
        );
        assert_eq!(
            reply.home_hn_prefixes,
            vec!["::/0".parse::<Ipv6Net>().unwrap()]
        );
        assert_eq!(reply.framed_ip_address, Some(Ipv4Addr::new(10, 0, 0, 7)));
        assert_eq!(reply.reply_message.as_deref(), Some("hello world\u{fffd}"));
    }

    #[test]
    fn refuses_malformed_values_by_name() {
        let cases: [(u8, &[u8], &str); 7] = [
            (
                97,
                &[0],
                "Framed-IPv6-Prefix attribute: value is not 2 to 18 octets",
            ),
            (
                97,
                &[0, 129, 0],
                "Framed-IPv6-Prefix attribute: prefix length above 128",
            ),
            (123, &[0, 64, 0x20], "fewer prefix octets"),
            (97, &[0, 8, 0x20, 0x01], "bits set beyond the prefix length"),
            (97, &[0; 19], "value is not 2 to 18 octets"),
            (8, &[10, 0, 0], "Framed-IP-Address attribute: not 4 octets"),
            (8, &[10, 0, 0, 1, 2], "not 4 octets"),
        ];
        for (kind, value, want) in cases {
            let e = parse(&packet_with(&[(kind, value)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{kind} {value:?}: {e}");
        }
        let twice = packet_with(&[(8, &[10, 0, 0, 1]), (8, &[10, 0, 0, 2])]);
        assert!(
            parse(&twice)
                .unwrap_err()
                .to_string()
                .contains("given twice")
        );
        let mut cut = packet_with(&[(18, b"abc")]);
        cut[21] = 9;
        assert!(parse(&cut).is_err());
    }
}
