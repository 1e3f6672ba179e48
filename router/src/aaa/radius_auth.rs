//! The two RADIUS authenticators: the Message-Authenticator (RFC 3579 3.2,
//! HMAC-MD5 keyed by the shared secret) and the Response Authenticator (RFC 2865
//! 3, MD5 over the reply, the request's authenticator and the secret).
//!
//! Every reply must carry both, right. The Response Authenticator alone is what
//! BlastRADIUS (CVE-2024-3596) forges with an MD5 chosen-prefix collision: an
//! attacker on the path turns an Access-Reject into an Access-Accept. The
//! HMAC in the Message-Authenticator resists that, so a reply without one is
//! refused even when its Response Authenticator is right.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::wire::{
    RADIUS_AUTHENTICATOR_LEN as AUTH_LEN, RADIUS_HEADER_LEN as HEADER_LEN, RadiusAttributeType,
    RadiusCode, RadiusError, RadiusPacket, push_radius_attribute,
};

type HmacMd5 = Hmac<Md5>;

/// Why a reply's authenticators were refused; each has its own counter.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("malformed: {0}")]
    Malformed(#[from] RadiusError),
    #[error("no Message-Authenticator (required on every reply: RFC 3579 3.2, BlastRADIUS)")]
    NoMessageAuthenticator,
    #[error("more than one Message-Authenticator (RFC 3579 3.2)")]
    TwoMessageAuthenticators,
    #[error("Message-Authenticator is not 16 octets (RFC 3579 3.2)")]
    MessageAuthenticatorLength,
    #[error("wrong Message-Authenticator (RFC 3579 3.2): not from a server holding our secret")]
    WrongMessageAuthenticator,
    #[error("wrong Response Authenticator (RFC 2865 3): not from a server holding our secret")]
    WrongResponseAuthenticator,
}

impl AuthError {
    /// The drop counter for this reason.
    pub fn counter(&self) -> &'static str {
        match self {
            AuthError::Malformed(_) => "radius.drop.malformed",
            AuthError::NoMessageAuthenticator => "radius.drop.no_message_authenticator",
            AuthError::TwoMessageAuthenticators => "radius.drop.two_message_authenticators",
            AuthError::MessageAuthenticatorLength => "radius.drop.message_authenticator_length",
            AuthError::WrongMessageAuthenticator => "radius.drop.wrong_message_authenticator",
            AuthError::WrongResponseAuthenticator => "radius.drop.wrong_response_authenticator",
        }
    }
}

/// 16 octets from the kernel's generator: RFC 2865 3 wants a Request
/// Authenticator no attacker can predict.
pub fn fresh_authenticator() -> Result<[u8; AUTH_LEN], getrandom::Error> {
    let mut out = [0; AUTH_LEN];
    getrandom::fill(&mut out)?;
    Ok(out)
}

/// Where the packet's only Message-Authenticator value lies.
fn message_authenticator(bytes: &[u8]) -> Result<core::ops::Range<usize>, AuthError> {
    let packet = RadiusPacket::new_checked(bytes)?;
    let mut found = None;
    for attribute in packet.attributes() {
        let attribute = attribute?;
        if attribute.kind != RadiusAttributeType::MessageAuthenticator {
            continue;
        }
        if found.is_some() {
            return Err(AuthError::TwoMessageAuthenticators);
        }
        if attribute.value.len() != AUTH_LEN {
            return Err(AuthError::MessageAuthenticatorLength);
        }
        found = Some(attribute.value_offset..attribute.value_offset + AUTH_LEN);
    }
    found.ok_or(AuthError::NoMessageAuthenticator)
}

fn hmac(secret: &[u8]) -> HmacMd5 {
    // HMAC takes keys of any length; the error exists for MACs that do not.
    <HmacMd5 as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!())
}

/// Fills in the Message-Authenticator of an Access-Request whose value is zero
/// (as [`crate::wire::AccessRequestRepr::emit`] leaves it): HMAC-MD5 over the
/// whole packet, Request Authenticator included.
pub fn sign_request(packet: &mut [u8], secret: &[u8]) -> Result<(), AuthError> {
    let at = message_authenticator(packet)?;
    let len = RadiusPacket::new_unchecked(&packet[..]).length();
    let mut mac = hmac(secret);
    mac.update(&packet[..len]);
    packet[at].copy_from_slice(&mac.finalize().into_bytes());
    Ok(())
}

/// The HMAC of a reply: over its octets with the Request Authenticator in the
/// header and the Message-Authenticator value (at `at`) zeroed.
fn reply_hmac(
    bytes: &[u8],
    at: core::ops::Range<usize>,
    request_authenticator: &[u8; AUTH_LEN],
    secret: &[u8],
) -> HmacMd5 {
    let mut copy = bytes.to_vec();
    copy[4..4 + AUTH_LEN].copy_from_slice(request_authenticator);
    copy[at].fill(0);
    let mut mac = hmac(secret);
    mac.update(&copy);
    mac
}

/// MD5(Code, Identifier, Length, Request Authenticator, Attributes, Secret).
fn response_authenticator(
    bytes: &[u8],
    request_authenticator: &[u8; AUTH_LEN],
    secret: &[u8],
) -> [u8; AUTH_LEN] {
    let mut md5 = Md5::new();
    md5.update(&bytes[..4]);
    md5.update(request_authenticator);
    md5.update(&bytes[4 + AUTH_LEN..]);
    md5.update(secret);
    md5.finalize().into()
}

/// Checks a reply (per its Length) to the request whose authenticator was
/// `request_authenticator`: first the Message-Authenticator, then the Response
/// Authenticator. Both comparisons take constant time.
pub fn verify_reply(
    reply: &[u8],
    request_authenticator: &[u8; AUTH_LEN],
    secret: &[u8],
) -> Result<(), AuthError> {
    let at = message_authenticator(reply)?;
    let packet = RadiusPacket::new_unchecked(reply);
    let bytes = packet.as_bytes();
    reply_hmac(bytes, at.clone(), request_authenticator, secret)
        .verify_slice(&bytes[at])
        .map_err(|_| AuthError::WrongMessageAuthenticator)?;
    let expected = response_authenticator(bytes, request_authenticator, secret);
    if bool::from(expected.ct_eq(&packet.authenticator())) {
        Ok(())
    } else {
        Err(AuthError::WrongResponseAuthenticator)
    }
}

/// Signs a reply (exactly Length octets) as a server does: the
/// Message-Authenticator, if the reply has one, then the Response Authenticator
/// over it. Tests use it to forge replies that are right but for the one thing
/// each of them breaks.
pub fn sign_reply(reply: &mut [u8], request_authenticator: &[u8; AUTH_LEN], secret: &[u8]) {
    if let Ok(at) = message_authenticator(reply) {
        let mac = reply_hmac(reply, at.clone(), request_authenticator, secret);
        reply[at].copy_from_slice(&mac.finalize().into_bytes());
    }
    if reply.len() >= 4 + AUTH_LEN {
        let auth = response_authenticator(reply, request_authenticator, secret);
        reply[4..4 + AUTH_LEN].copy_from_slice(&auth);
    }
}

/// A reply to `request` as a server builds it: `code`, the request's
/// Identifier, a Message-Authenticator first when `message_authenticator`, then
/// `attributes`, signed with `secret`. The tests' responder forges replies
/// from it; `None` if `request` has no RADIUS header or an attribute is too long.
pub fn build_reply(
    request: &[u8],
    code: RadiusCode,
    attributes: &[(RadiusAttributeType, &[u8])],
    message_authenticator: bool,
    secret: &[u8],
) -> Option<Vec<u8>> {
    let request = RadiusPacket::new_checked(request).ok()?;
    let mut reply = vec![0; HEADER_LEN];
    if message_authenticator {
        push_radius_attribute(
            &mut reply,
            RadiusAttributeType::MessageAuthenticator,
            &[0; AUTH_LEN],
        )
        .ok()?;
    }
    for (kind, value) in attributes {
        push_radius_attribute(&mut reply, *kind, value).ok()?;
    }
    let len = u16::try_from(reply.len()).ok()?;
    let mut packet = RadiusPacket::new_unchecked(&mut reply[..]);
    packet.set_code(code);
    packet.set_identifier(request.identifier());
    packet.set_length(len);
    sign_reply(&mut reply, &request.authenticator(), secret);
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::AccessRequestRepr;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 2865 7.1: the Access-Accept to nemo's request, secret "xyzzy5461".
    #[test]
    fn response_authenticator_of_rfc_2865_example() {
        let request = hex("01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb 98 f4 22 7a");
        let accept = hex("02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf 9b 55 e0 b2
             06 06 00 00 00 01 0f 06 00 00 00 00 0e 06 c0 a8 01 03");
        let req_auth: [u8; 16] = request[4..20].try_into().unwrap();
        let got = response_authenticator(&accept, &req_auth, b"xyzzy5461");
        assert_eq!(got[..], accept[4..20]);
        // Right as it is, but it has no Message-Authenticator: refused.
        assert_eq!(
            verify_reply(&accept, &req_auth, b"xyzzy5461"),
            Err(AuthError::NoMessageAuthenticator)
        );
    }

    fn signed_request() -> (Vec<u8>, [u8; 16]) {
        let auth = fresh_authenticator().unwrap();
        let mut request = AccessRequestRepr {
            identifier: 3,
            authenticator: auth,
            user_name: "vm1@tapmip",
            calling_station_id: None,
            nas_identifier: "lma",
            nas_ipv6_address: None,
        }
        .emit()
        .unwrap();
        sign_request(&mut request, b"s3cret").unwrap();
        (request, auth)
    }

    #[test]
    fn request_signature_is_hmac_md5_over_the_packet() {
        let (request, _) = signed_request();
        let mut zeroed = request.clone();
        zeroed[22..38].fill(0);
        let mut mac = hmac(b"s3cret");
        mac.update(&zeroed);
        assert_eq!(mac.finalize().into_bytes()[..], request[22..38]);
        assert_ne!(
            fresh_authenticator().unwrap(),
            fresh_authenticator().unwrap()
        );
    }

    #[test]
    fn reply_checks_refuse_each_forgery() {
        let (_, auth) = signed_request();
        // Access-Accept id 3: Message-Authenticator, Reply-Message "ok".
        let mut accept = vec![2, 3, 0, 42];
        accept.extend([0; 16]);
        accept.extend([80, 18]);
        accept.extend([0; 16]);
        accept.extend([18, 4, b'o', b'k']);
        sign_reply(&mut accept, &auth, b"s3cret");
        assert_eq!(verify_reply(&accept, &auth, b"s3cret"), Ok(()));
        let mut padded = accept.clone();
        padded.push(0x99);
        assert_eq!(verify_reply(&padded, &auth, b"s3cret"), Ok(()));

        assert_eq!(
            verify_reply(&accept, &auth, b"other"),
            Err(AuthError::WrongMessageAuthenticator)
        );
        let mut other_request = auth;
        other_request[0] ^= 1;
        assert_eq!(
            verify_reply(&accept, &other_request, b"s3cret"),
            Err(AuthError::WrongMessageAuthenticator)
        );
        let mut flipped = accept.clone();
        flipped[40] = b'K';
        assert_eq!(
            verify_reply(&flipped, &auth, b"s3cret"),
            Err(AuthError::WrongMessageAuthenticator)
        );
        let mut bad_response_auth = accept.clone();
        bad_response_auth[4] ^= 0x80;
        assert_eq!(
            verify_reply(&bad_response_auth, &auth, b"s3cret"),
            Err(AuthError::WrongResponseAuthenticator)
        );
        // BlastRADIUS' shape: right Response Authenticator, no Message-Authenticator.
        let mut bare = vec![2, 3, 0, 24];
        bare.extend([0; 16]);
        bare.extend([18, 4, b'o', b'k']);
        sign_reply(&mut bare, &auth, b"s3cret");
        assert_eq!(
            verify_reply(&bare, &auth, b"s3cret"),
            Err(AuthError::NoMessageAuthenticator)
        );
        let mut twice = accept.clone();
        twice.extend([80, 18]);
        twice.extend([0; 16]);
        twice[3] = 60;
        assert_eq!(
            verify_reply(&twice, &auth, b"s3cret"),
            Err(AuthError::TwoMessageAuthenticators)
        );
        let mut short_ma = accept.clone();
        short_ma[21] = 17;
        short_ma.truncate(41);
        short_ma[3] = 41;
        assert!(verify_reply(&short_ma, &auth, b"s3cret").is_err());
        assert!(matches!(
            verify_reply(&accept[..19], &auth, b"s3cret"),
            Err(AuthError::Malformed(_))
        ));
    }
}
