//! Wire formats smoltcp lacks: the Mobility Header (IP protocol 135, RFC 6275
//! section 6.1) carrying Proxy Binding Update and Acknowledgement messages
//! (RFC 5213 section 8), Heartbeats (RFC 5847) and Binding Errors (RFC 6275
//! 6.1.9), and their mobility options, the authentication option of RFC 4285
//! among them; RADIUS (RFC 2865), which the routers speak to their AAA server
//! ([`crate::aaa`]); the virtio-net header a TAP with offloads puts before each
//! frame ([`virtio_net`]); and Reverse ARP (RFC 903), the announcement
//! hypervisors send for a migrated guest.
//!
//! Every format follows smoltcp's `src/wire` shape: a zero-copy view
//! (`MhPacket`, `MhOption`) whose accessors never panic once `check_len`
//! succeeded, and a high-level `Repr` with `parse`, `buffer_len` and `emit`.

/// Defines a `u8`-backed protocol number enum whose unassigned values are kept in a
/// catch-all variant, so a value read from the wire always round-trips.
macro_rules! enum_with_other {
    (
        $(#[$enum_meta:meta])*
        pub enum $name:ident(u8) {
            $( $(#[$meta:meta])* $variant:ident = $value:literal => $text:literal, )+
        }
        other: $(#[$other_meta:meta])* $other:ident
    ) => {
        $(#[$enum_meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$meta])* $variant, )+
            $(#[$other_meta])*
            $other(u8),
        }

        impl From<u8> for $name {
            fn from(value: u8) -> Self {
                match value {
                    $( $value => $name::$variant, )+
                    other => $name::$other(other),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> u8 {
                match value {
                    $( $name::$variant => $value, )+
                    $name::$other(other) => other,
                }
            }
        }

        impl $name {
            /// The name the RFCs give this value, or the catch-all variant's name.
            pub const fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::$other(_) => stringify!($other),
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self {
                    $name::$other(other) => write!(f, "{}({})", stringify!($other), other),
                    known => f.write_str(known.name()),
                }
            }
        }
    };
}

/// The first `N` octets of `bytes`; callers pass a field range `check_len`
/// or an option length check already proved long enough.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

fn read_u16(bytes: &[u8]) -> u16 {
    u16::from_be_bytes(array(bytes))
}

fn write_u16(bytes: &mut [u8], value: u16) {
    bytes[..2].copy_from_slice(&value.to_be_bytes());
}

mod binding_error;
mod heartbeat;
mod home_address;
mod mh;
mod mh_auth;
mod mh_option;
mod mn_packet;
mod pba;
mod pbu;
mod radius;
mod radius_access;
mod rarp;
mod status;
pub mod virtio_net;

pub use binding_error::{
    BE_STATUS_UNKNOWN_BINDING, BE_STATUS_UNRECOGNIZED_MH_TYPE, BindingErrorRepr,
};
pub use heartbeat::HeartbeatRepr;
pub use home_address::{
    HOME_ADDRESS_HEADER_LEN, HOME_ADDRESS_OPTION, HomeAddressError, HomeAddressRepr,
    IPPROTO_DSTOPTS,
};
pub use mh::{
    IPPROTO_MH, IPPROTO_NONE, MhError, MhPacket, MhRepr, MhType, OPTIONS_OFFSET, mh_ipv6_packet,
};
pub use mh_auth::{AUTH_FIXED_LEN, AUTH_SUBTYPE_MN_HA, MAX_AUTH_DATA, MhAuthOption, MhAuthRepr};
pub use mh_option::{
    AccessTechnologyType, HandoffIndicator, Ipv4HomeAddressReply, Ipv4HomeAddressRequest,
    MN_ID_SUBTYPE_NAI, MhAuth, MhOption, MhOptionRepr, MhOptionType, MhOptionsIterator,
    MobilityOptions,
};
pub use mn_packet::{
    HomeAddressIn, IPPROTO_ROUTING, MnPacketError, MnPacketRepr, TYPE2_HEADER_LEN,
};
pub use pba::PbaRepr;
pub use pbu::PbuRepr;
pub use radius::{
    AUTHENTICATOR_LEN as RADIUS_AUTHENTICATOR_LEN, Attribute as RadiusAttribute,
    AttributeType as RadiusAttributeType, Attributes as RadiusAttributes,
    HEADER_LEN as RADIUS_HEADER_LEN, MAX_LEN as RADIUS_MAX_LEN, RadiusCode, RadiusError,
    RadiusPacket, push_attribute as push_radius_attribute,
};
pub use radius_access::{AccessReplyRepr, AccessRequestRepr, SERVICE_TYPE_FRAMED};
pub use rarp::{
    ETHERTYPE_RARP, OP_REPLY_REVERSE, OP_REQUEST_REVERSE, RarpError, RarpRepr,
    parse_frame as parse_rarp_frame,
};
pub use status::PbaStatus;
