//! Authenticated signalling between a MAG and its LMA. RFC 5213 4 protects
//! PBUs and PBAs with IPsec; tapmip routers have no kernel and do it in
//! userspace, with the Mobility Message Authentication option of RFC 4285 in
//! every PBU, PBA and Heartbeat ([`crate::wire::MhAuthRepr`]), so Wireshark
//! decodes it.
//!
//! - Each MAG-LMA pair shares keys; a Mobility SPI names one, and with it
//!   the algorithm: HMAC-SHA-256 by default, its authenticator cut to 16
//!   octets as RFC 4868 does for IPsec (HMAC-SHA-256-128), or HMAC-SHA-512
//!   cut to 32 ([`Algorithm`]).
//! - The authenticator covers the IPv6 source and destination addresses and
//!   the whole Mobility Header up to the authenticator, checksum taken as zero
//!   ([`message`]), as RFC 4285 5.1 does for MN-HA.
//! - A receiver checks it before anything in the message is used; the
//!   ordering of PBUs (timestamps or sequence numbers, RFC 5213 5.5) runs only
//!   after, so a replayed authentic PBU is refused as stale.
//! - Keys come from files the policy names, readable by their owner only
//!   ([`key`]); two keys per peer may be valid at once, for a rollover
//!   ([`keyring`]), which [`reload`] performs while the router runs.

mod algorithm;
pub mod key;
pub mod keyring;
pub mod message;
pub mod reload;
pub mod signalling;

pub use algorithm::Algorithm;
pub use key::{Key, KeyEncoding, KeyError, KeySpec};
pub use keyring::{Authenticator, KeyRing, Sending, Signalling};
pub use message::{AuthError, sealed_packet};
pub use reload::{Rekey, Reloading};
pub use signalling::Admitted;

/// What `--insecure` turns off, logged at start by a router run so.
pub fn log_insecure() {
    log::warn!("--insecure: SIGNALLING IS NOT AUTHENTICATED");
    log::warn!(
        "PBUs, PBAs and Heartbeats are sent without the authentication option and taken without checking one"
    );
    log::warn!(
        "any host that can reach this router can move any node's binding (RFC 5213 4 requires protection): for interoperability tests only"
    );
}
