//! The MACs an SPI may select, with the key and authenticator lengths of RFC
//! 4868 (the HMAC-SHA-2 profiles IPsec uses, which is what RFC 5213 protects
//! PBUs with): the full HMAC output cut to half its length.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

/// The longest authenticator any algorithm makes, for buffers on the stack.
pub const MAX_AUTHENTICATOR_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA-256-128 (RFC 4868 2.1): 16-octet authenticator, 32-octet key.
    /// The default.
    HmacSha256,
    /// HMAC-SHA-512-256 (RFC 4868 2.1): 32-octet authenticator, 64-octet key.
    HmacSha512,
}

impl Algorithm {
    pub const DEFAULT: Algorithm = Algorithm::HmacSha256;
    pub const ALL: [Algorithm; 2] = [Algorithm::HmacSha256, Algorithm::HmacSha512];

    /// The name configuration files use.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    pub fn from_name(name: &str) -> Option<Algorithm> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Octets of Authentication Data in the option. Half the hash: 2^-128 is
    /// the chance a forged HMAC-SHA-256-128 passes, where an attacker gets one
    /// guess per packet the LMA reads.
    pub const fn authenticator_len(self) -> usize {
        match self {
            Algorithm::HmacSha256 => 16,
            Algorithm::HmacSha512 => 32,
        }
    }

    /// RFC 4868 2.1.1: a key as long as the hash output.
    pub const fn min_key_len(self) -> usize {
        match self {
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha512 => 64,
        }
    }
}

impl core::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// An HMAC with its key already absorbed: cloning it per message saves the
/// two hash blocks of the key schedule on every PBU.
#[derive(Clone)]
pub(super) enum Keyed {
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

impl Keyed {
    pub fn new(algorithm: Algorithm, secret: &[u8]) -> Keyed {
        // HMAC takes keys of any length; the error exists for MACs that do not.
        match algorithm {
            Algorithm::HmacSha256 => Keyed::Sha256(
                <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
                    .unwrap_or_else(|_| unreachable!()),
            ),
            Algorithm::HmacSha512 => Keyed::Sha512(
                <Hmac<Sha512> as KeyInit>::new_from_slice(secret)
                    .unwrap_or_else(|_| unreachable!()),
            ),
        }
    }

    /// The authenticator of `parts`, concatenated, into `out` (cut to its length).
    pub fn tag(&self, parts: &[&[u8]], out: &mut [u8]) {
        fn run<M: Mac + Clone>(mac: &M, parts: &[&[u8]], out: &mut [u8]) {
            let mut mac = mac.clone();
            for part in parts {
                mac.update(part);
            }
            let full = mac.finalize().into_bytes();
            let n = out.len().min(full.len());
            out[..n].copy_from_slice(&full[..n]);
        }
        match self {
            Keyed::Sha256(mac) => run(mac, parts, out),
            Keyed::Sha512(mac) => run(mac, parts, out),
        }
    }

    /// Whether `tag` is the authenticator of `parts`, compared in constant time.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut buf = [0; MAX_AUTHENTICATOR_LEN];
        let Some(expected) = buf.get_mut(..tag.len()) else {
            return false;
        };
        self.tag(parts, expected);
        bool::from(expected.ct_eq(tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 4231 4.2 (test case 1): key 20 x 0x0b, data "Hi There"; RFC 4868's
    /// truncated forms are the left halves.
    #[test]
    fn rfc_4231_test_case_1() {
        let key = [0x0b; 20];
        let mut out = [0; 16];
        Keyed::new(Algorithm::HmacSha256, &key).tag(&[b"Hi ", b"There"], &mut out);
        assert_eq!(out.to_vec(), hex("b0344c61d8db38535ca8afceaf0bf12b"));
        let mut out = [0; 32];
        Keyed::new(Algorithm::HmacSha512, &key).tag(&[b"Hi There"], &mut out);
        assert_eq!(
            out.to_vec(),
            hex("87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde")
        );
    }

    #[test]
    fn verify_takes_only_the_right_tag() {
        let keyed = Keyed::new(Algorithm::HmacSha256, &[7; 32]);
        let mut tag = [0; 16];
        keyed.tag(&[b"message"], &mut tag);
        assert!(keyed.verify(&[b"mess", b"age"], &tag));
        tag[15] ^= 1;
        assert!(!keyed.verify(&[b"message"], &tag));
        assert!(!keyed.verify(&[b"message"], &[0; 64]));
    }

    #[test]
    fn names_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(a.name()), Some(a));
            assert!(a.authenticator_len() <= MAX_AUTHENTICATOR_LEN);
        }
        assert_eq!(Algorithm::from_name("md5"), None);
    }
}
