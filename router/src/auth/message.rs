//! The authenticator of one Mobility Header message, as RFC 4285 5.1 computes
//! the MN-HA one:
//!
//! ```text
//! Mobility Data = source address | destination address | MH Data
//! Authenticator = First(len, HMAC(key, Mobility Data))
//! ```
//!
//! MH Data is the Mobility Header from its first octet up to the end of the
//! Mobility SPI, i.e. everything but the authenticator itself, with the
//! checksum taken as zero (it is filled after the authenticator). RFC 4285
//! puts the care-of and home addresses first; for PMIPv6 the two ends are the
//! MAG's Proxy-CoA and the LMA address, taken in the order of the IPv6
//! header, so a message cannot be sent back at its sender as if it came from
//! the other side.

use std::net::Ipv6Addr;

use smoltcp::wire::IPV6_HEADER_LEN;

use super::algorithm::MAX_AUTHENTICATOR_LEN;
use super::key::Key;
use crate::wire::{
    AUTH_SUBTYPE_MN_HA, MhAuth, MhAuthOption, MhError, MhOption, MhOptionType, MhPacket, MhRepr,
    MhType, OPTIONS_OFFSET, mh_ipv6_packet,
};

/// Where the checksum sits in the Mobility Header.
const CHECKSUM: core::ops::Range<usize> = 4..6;

/// Why a message was refused before anything in it was used; each reason has
/// its counter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Mobility Message Authentication option")]
    Missing,
    #[error("malformed authentication: {0}")]
    Malformed(&'static str),
    #[error("authentication subtype {0}, not 1 (MN-HA)")]
    WrongSubtype(u8),
    #[error("{0} is not a peer this router shares a key with")]
    UnknownPeer(Ipv6Addr),
    #[error("SPI {0} names no key of this peer")]
    UnknownSpi(u32),
    #[error("SPI {spi}: {len} octets of authenticator, its algorithm makes {want}")]
    WrongLength { spi: u32, len: usize, want: usize },
    #[error("SPI {0}: wrong authenticator (not made with the peer's key, or the message changed)")]
    BadAuthenticator(u32),
}

impl AuthError {
    /// The drop counter for this reason.
    pub fn counter(&self) -> &'static str {
        match self {
            AuthError::Missing => "auth.drop.missing",
            AuthError::Malformed(_) => "auth.drop.malformed",
            AuthError::WrongSubtype(_) => "auth.drop.wrong_subtype",
            AuthError::UnknownPeer(_) => "auth.drop.unknown_peer",
            AuthError::UnknownSpi(_) => "auth.drop.unknown_spi",
            AuthError::WrongLength { .. } => "auth.drop.wrong_length",
            AuthError::BadAuthenticator(_) => "auth.drop.bad_authenticator",
        }
    }
}

/// Whether messages of this type carry the option: the ones that change or
/// probe bindings. Binding Errors and unknown types are answered or noted as
/// RFC 6275 9.2 says, and change nothing.
pub fn required(msg_type: MhType) -> bool {
    matches!(
        msg_type,
        MhType::BindingUpdate | MhType::BindingAck | MhType::Heartbeat
    )
}

/// Where the authentication option of a message lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The option's Type octet, from the start of the Mobility Header.
    pub at: usize,
    pub spi: u32,
    /// The Authentication Data, which ends the message.
    pub data: core::ops::Range<usize>,
}

/// The authentication option of `mh`; it must be the last option, once.
pub fn locate(mh: &[u8]) -> Result<Located, AuthError> {
    let packet = MhPacket::new_checked(mh).map_err(|_| AuthError::Malformed("truncated"))?;
    let end = packet.mh_len();
    let mut at = OPTIONS_OFFSET;
    let mut found = None;
    while at < end {
        let option = MhOption::new_checked(&mh[at..end])
            .map_err(|_| AuthError::Malformed("an option runs past the end of the message"))?;
        if found.is_some() {
            return Err(AuthError::Malformed(
                "the authentication option is not the last option (RFC 4285 5)",
            ));
        }
        if option.option_type() == MhOptionType::Authentication {
            found = Some(at);
        }
        at += option.total_len();
    }
    let at = found.ok_or(AuthError::Missing)?;
    let auth = MhAuthOption::new_checked(&mh[at..end]).map_err(|e| match e {
        MhError::BadOption { reason, .. } => AuthError::Malformed(reason),
        _ => AuthError::Malformed("truncated"),
    })?;
    if auth.subtype() != AUTH_SUBTYPE_MN_HA {
        return Err(AuthError::WrongSubtype(auth.subtype()));
    }
    let data_at = at + MhAuthOption::<&[u8]>::auth_data_offset();
    Ok(Located {
        at,
        spi: auth.spi(),
        data: data_at..end,
    })
}

/// The Mobility Data of `mh` in pieces, up to `data_at` (the authenticator).
fn mobility_data<'a>(
    src: &'a [u8; 16],
    dst: &'a [u8; 16],
    mh: &'a [u8],
    data_at: usize,
) -> [&'a [u8]; 5] {
    [
        src,
        dst,
        &mh[..CHECKSUM.start],
        &[0, 0],
        &mh[CHECKSUM.end..data_at],
    ]
}

/// Checks the authenticator of `mh` (a Mobility Header that passed
/// [`MhRepr::check`]) against the keys `find` gives for an SPI.
pub fn verify<'k>(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    mh: &[u8],
    find: impl FnOnce(u32) -> Option<&'k Key>,
) -> Result<&'k Key, AuthError> {
    let Located { spi, data, .. } = locate(mh)?;
    let key = find(spi).ok_or(AuthError::UnknownSpi(spi))?;
    let want = key.algorithm().authenticator_len();
    if data.len() != want {
        return Err(AuthError::WrongLength {
            spi,
            len: data.len(),
            want,
        });
    }
    let (s, d) = (src.octets(), dst.octets());
    let parts = mobility_data(&s, &d, mh, data.start);
    if key.keyed.verify(&parts, &mh[data]) {
        Ok(key)
    } else {
        Err(AuthError::BadAuthenticator(spi))
    }
}

/// The whole IPv6 packet carrying `repr` with its authentication option made
/// with `key`, checksum last.
pub fn sealed_packet(
    key: &Key,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    mut repr: MhRepr,
) -> Vec<u8> {
    let len = key.algorithm().authenticator_len();
    if let Some(options) = repr.options_mut() {
        options.authentication = Some(MhAuth {
            subtype: AUTH_SUBTYPE_MN_HA,
            spi: key.spi(),
            auth_data: vec![0; len],
        });
    }
    let mut packet = mh_ipv6_packet(src, dst, hop_limit, &repr);
    let Some(mh) = packet.get_mut(IPV6_HEADER_LEN..) else {
        return packet;
    };
    // Options that do not fit 2048 octets are dropped on emit, the
    // authentication option with them: the peer then refuses the message.
    let Ok(Located { data, .. }) = locate(mh) else {
        return packet;
    };
    let (s, d) = (src.octets(), dst.octets());
    let mut tag = [0; MAX_AUTHENTICATOR_LEN];
    let tag = &mut tag[..data.len().min(MAX_AUTHENTICATOR_LEN)];
    key.keyed.tag(&mobility_data(&s, &d, mh, data.start), tag);
    mh[data.start..data.start + tag.len()].copy_from_slice(tag);
    MhPacket::new_unchecked(&mut mh[..]).fill_checksum(&src, &dst);
    packet
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Algorithm;
    use crate::wire::{HeartbeatRepr, MobilityOptions, PbuRepr};
    use smoltcp::wire::Ipv6Packet;

    const MAG: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 2);
    const LMA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 1);

    fn key(spi: u32) -> Key {
        Key::new(spi, Algorithm::HmacSha256, &[0x42; 32]).unwrap()
    }

    fn pbu() -> MhRepr {
        MhRepr::Pbu(PbuRepr {
            sequence: 9,
            ack: true,
            proxy: true,
            lifetime_secs: 3600,
            options: MobilityOptions {
                mn_id: Some("vm1@tapmip".into()),
                timestamp: Some(0x1234_5678_9abc),
                ..MobilityOptions::default()
            },
            ..PbuRepr::default()
        })
    }

    fn mh(packet: &[u8]) -> &[u8] {
        &packet[IPV6_HEADER_LEN..]
    }

    #[test]
    fn sealed_messages_verify_and_parse() {
        let k = key(257);
        let heartbeat = MhRepr::Heartbeat(HeartbeatRepr {
            sequence: 3,
            ..HeartbeatRepr::default()
        });
        for repr in [pbu(), heartbeat] {
            let packet = sealed_packet(&k, MAG, LMA, 64, repr.clone());
            let ip = Ipv6Packet::new_checked(&packet[..]).unwrap();
            let parsed = MhRepr::parse(&MhPacket::new_checked(ip.payload()).unwrap(), &MAG, &LMA);
            let mut back = parsed.unwrap();
            let auth = back.options_mut().unwrap().authentication.take().unwrap();
            assert_eq!((auth.subtype, auth.spi, auth.auth_data.len()), (1, 257, 16));
            assert_eq!(back, repr);
            let found = verify(MAG, LMA, mh(&packet), |spi| (spi == 257).then_some(&k));
            assert_eq!(found.unwrap().spi(), 257);
        }
    }

    /// The authenticator written out: HMAC-SHA-256 over the addresses and the
    /// MH with a zero checksum, up to the SPI, cut to 16 octets.
    #[test]
    fn authenticator_by_hand() {
        use hmac::{Hmac, KeyInit, Mac};
        let packet = sealed_packet(&key(257), MAG, LMA, 64, pbu());
        let mh = mh(&packet);
        let end = mh.len();
        let mut zeroed = mh.to_vec();
        zeroed[4..6].fill(0);
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&[0x42; 32]).unwrap();
        mac.update(&MAG.octets());
        mac.update(&LMA.octets());
        mac.update(&zeroed[..end - 16]);
        let full = mac.finalize().into_bytes();
        assert_eq!(&mh[end - 16..], &full[..16]);
        // Type 9, Length 21, Subtype 1, SPI 257 just before it.
        assert_eq!(&mh[end - 23..end - 16], &[9, 21, 1, 0, 0, 1, 1]);
        assert_eq!((end - 23) % 8, 1, "the option ends the 8-octet multiple");
    }

    #[test]
    fn every_refusal() {
        let k = key(257);
        let good = sealed_packet(&k, MAG, LMA, 64, pbu());
        let check = |mh: &[u8]| verify(MAG, LMA, mh, |spi| (spi == 257).then_some(&k)).map(|_| ());
        assert_eq!(check(mh(&good)), Ok(()));

        let plain = mh_ipv6_packet(MAG, LMA, 64, &pbu());
        assert_eq!(check(mh(&plain)), Err(AuthError::Missing));

        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(check(mh(&flipped)), Err(AuthError::BadAuthenticator(257)));

        // A changed field anywhere before the authenticator: the lifetime.
        let mut changed = good.clone();
        changed[IPV6_HEADER_LEN + 10] ^= 0x80;
        assert_eq!(check(mh(&changed)), Err(AuthError::BadAuthenticator(257)));

        // The same bytes between other addresses: a reflected message.
        assert_eq!(
            verify(LMA, MAG, mh(&good), |_| Some(&k)).map(|_| ()),
            Err(AuthError::BadAuthenticator(257))
        );

        let other = sealed_packet(&key(999), MAG, LMA, 64, pbu());
        assert_eq!(check(mh(&other)), Err(AuthError::UnknownSpi(999)));

        let long = Key::new(257, Algorithm::HmacSha512, &[0x42; 64]).unwrap();
        let wrong_len = sealed_packet(&long, MAG, LMA, 64, pbu());
        assert_eq!(
            check(mh(&wrong_len)),
            Err(AuthError::WrongLength {
                spi: 257,
                len: 32,
                want: 16
            })
        );

        let mut subtype = good.clone();
        let at = IPV6_HEADER_LEN + locate(mh(&good)).unwrap().at;
        subtype[at + 2] = 2;
        assert_eq!(check(mh(&subtype)), Err(AuthError::WrongSubtype(2)));

        // Length 4: the SPI cut short.
        let mut short = good.clone();
        short[at + 1] = 4;
        assert!(matches!(check(mh(&short)), Err(AuthError::Malformed(_))));
        // Length past the end of the message.
        let mut over = good.clone();
        over[at + 1] = 30;
        assert!(matches!(check(mh(&over)), Err(AuthError::Malformed(_))));
        // A Pad1 after the option: it is no longer last.
        let mut not_last = good.clone();
        not_last[at + 1] -= 1;
        let end = not_last.len() - 1;
        not_last[end] = 0;
        assert!(matches!(check(mh(&not_last)), Err(AuthError::Malformed(_))));
        // Cut anywhere: refused, never a panic.
        for len in 0..mh(&good).len() {
            assert!(check(&mh(&good)[..len]).is_err());
        }
    }

    #[test]
    fn binding_errors_need_no_option() {
        assert!(required(MhType::BindingUpdate));
        assert!(required(MhType::BindingAck));
        assert!(required(MhType::Heartbeat));
        assert!(!required(MhType::BindingError));
        assert!(!required(MhType::Unknown(99)));
    }
}
