//! Mobility options, RFC 6275 section 6.2: a type-length-value list after the
//! fixed part of a message, with the PMIPv6 options of RFC 5213 section 8,
//! the Mobile Node Identifier of RFC 4283 and the IPv4 options of RFC 5844.
//!
//! ```text
//! The Mobility Message Authentication option of RFC 4285 (type 9), which
//! must come last, has its own module: [`super::mh_auth`].
//!
//! Generic (RFC 6275 6.2.1)            Pad1 (6.2.2)      PadN (6.2.3)
//! +--------+--------+--------------   +--------+       +--------+--------+-------
//! |  Type  | Length | Data...         |   0    |       |   1    | Length | 0...
//! +--------+--------+--------------   +--------+       +--------+--------+-------
//!
//! Mobile Node Identifier (RFC 4283 3), type 8, no alignment
//! +--------+--------+--------+------------------------
//! |   8    | Length | Subtype| Identifier (NAI when Subtype is 1)...
//! +--------+--------+--------+------------------------
//!
//! Home Network Prefix (RFC 5213 8.3), type 22, length 18, alignment 8n+4
//! +--------+--------+--------+--------+
//! |   22   |   18   |Reserved| PrefLen|
//! +--------+--------+--------+--------+----------------------------+
//! |                 Home Network Prefix (16 octets)                |
//! +----------------------------------------------------------------+
//!
//! Handoff Indicator (RFC 5213 8.4), type 23, length 2, no alignment
//! Access Technology Type (RFC 5213 8.5), type 24, length 2, no alignment
//! +--------+--------+--------+--------+
//! | 23/24  |   2    |Reserved|HI / ATT|
//! +--------+--------+--------+--------+
//!
//! Mobile Node Link-layer Identifier (RFC 5213 8.6), type 25, alignment 8n+2
//! +--------+--------+-----------------+-----------------------------
//! |   25   | Length |    Reserved     | Link-layer Identifier...
//! +--------+--------+-----------------+-----------------------------
//!
//! Link-local Address (RFC 5213 8.7), type 26, length 16, alignment 8n+6
//! +--------+--------+------------------------------------------------+
//! |   26   |   16   |           Link-local Address (16 octets)       |
//! +--------+--------+------------------------------------------------+
//!
//! Timestamp (RFC 5213 8.8), type 27, length 8, alignment 8n+2: 48 bits of
//! seconds since 1970-01-01 UTC and 16 bits of 1/65536 seconds
//! +--------+--------+-----------------------------------+
//! |   27   |   8    |         Timestamp (8 octets)      |
//! +--------+--------+-----------------------------------+
//!
//! Restart Counter (RFC 5847 3.2), type 28, length 4, alignment 4n+2
//! +--------+--------+-----------------------------------+
//! |   28   |   4    |     Restart Counter (4 octets)    |
//! +--------+--------+-----------------------------------+
//!
//! IPv4 Home Address Request (RFC 5844 3.3.1), type 36, length 6, alignment 4n
//! +--------+--------+-----------+-----------+-----------------------+
//! |   36   |   6    |PrefLen (6)| Reserved (10 bits)                |
//! +--------+--------+-----------+-----------+-----------------------+
//! |                 IPv4 Home Address (4 octets)                    |
//! +-----------------------------------------------------------------+
//!
//! IPv4 Home Address Reply (RFC 5844 3.3.2), type 37, length 6, alignment 4n
//! +--------+--------+--------+-----------+---+
//! |   37   |   6    | Status |PrefLen (6)|Res|
//! +--------+--------+--------+-----------+---+
//! |                 IPv4 Home Address (4 octets)                    |
//! +-----------------------------------------------------------------+
//!
//! IPv4 Default-Router Address (RFC 5844 3.4), type 38, length 6, alignment 4n
//! +--------+--------+-----------------+
//! |   38   |   6    |    Reserved     |
//! +--------+--------+-----------------+
//! |           IPv4 Default-Router Address (4 octets)          |
//! +-----------------------------------------------------------+
//! ```

use core::net::{Ipv4Addr, Ipv6Addr};

use ipnet::Ipv6Net;

use super::mh_auth::{AUTH_FIXED_LEN, MAX_AUTH_DATA, MhAuthOption, MhAuthRepr};
use super::{MhError, array};

enum_with_other! {
    /// Mobility option type, from the IANA Mobility IPv6 registry.
    pub enum MhOptionType(u8) {
        Pad1 = 0 => "Pad1",
        PadN = 1 => "PadN",
        MnId = 8 => "Mobile Node Identifier",
        Authentication = 9 => "Mobility Message Authentication",
        HomeNetworkPrefix = 22 => "Home Network Prefix",
        HandoffIndicator = 23 => "Handoff Indicator",
        AccessTechnologyType = 24 => "Access Technology Type",
        MnLinkLayerId = 25 => "Mobile Node Link-layer Identifier",
        LinkLocalAddress = 26 => "Link-local Address",
        Timestamp = 27 => "Timestamp",
        RestartCounter = 28 => "Restart Counter",
        Ipv4HomeAddressRequest = 36 => "IPv4 Home Address Request",
        Ipv4HomeAddressReply = 37 => "IPv4 Home Address Reply",
        Ipv4DefaultRouter = 38 => "IPv4 Default-Router Address",
    }
    other: Unknown
}

enum_with_other! {
    /// Handoff Indicator values, RFC 5213 section 8.4.
    pub enum HandoffIndicator(u8) {
        Reserved = 0 => "Reserved",
        NewInterface = 1 => "Attachment over a new interface",
        DifferentInterface = 2 => "Handoff between two different interfaces",
        InterMag = 3 => "Handoff between mobile access gateways for the same interface",
        Unknown = 4 => "Handoff state unknown",
        NotChanged = 5 => "Handoff state not changed (re-registration)",
    }
    other: Other
}

enum_with_other! {
    /// Access Technology Type values, RFC 5213 section 8.5.
    pub enum AccessTechnologyType(u8) {
        Reserved = 0 => "Reserved",
        Virtual = 1 => "Logical Network Interface",
        Ppp = 2 => "Point-to-Point Protocol",
        Ethernet = 3 => "IEEE 802.3",
        Wlan = 4 => "IEEE 802.11a/b/g",
        Wimax = 5 => "IEEE 802.16e",
    }
    other: Other
}

/// MN-ID subtype for a Network Access Identifier (RFC 4283 section 3).
pub const MN_ID_SUBTYPE_NAI: u8 = 1;

/// RFC 5844 section 3.3.1. An all-zero address asks the LMA to pick one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4HomeAddressRequest {
    pub prefix_len: u8,
    pub address: Ipv4Addr,
}

/// RFC 5844 section 3.3.2. `status` below 128 means success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4HomeAddressReply {
    pub status: u8,
    pub prefix_len: u8,
    pub address: Ipv4Addr,
}

mod field {
    pub type Field = core::ops::Range<usize>;

    pub const TYPE: usize = 0;
    pub const LENGTH: usize = 1;
    pub const fn data(length: u8) -> Field {
        2..2 + length as usize
    }

    // Inside the data of each option type.
    pub const MN_ID_SUBTYPE: usize = 0;
    pub const MN_ID: usize = 1;
    pub const HNP_PREFIX_LEN: usize = 1;
    pub const HNP_PREFIX: usize = 2;
    pub const HNP_LEN: usize = 18;
    pub const HI_ATT_VALUE: usize = 1;
    pub const HI_ATT_LEN: usize = 2;
    pub const LL_ID: usize = 2;
    pub const ADDR6_LEN: usize = 16;
    pub const TIMESTAMP_LEN: usize = 8;
    pub const RESTART_COUNTER_LEN: usize = 4;
    pub const HOA_REQUEST_PREFIX_LEN: usize = 0;
    pub const HOA_REPLY_STATUS: usize = 0;
    pub const HOA_REPLY_PREFIX_LEN: usize = 1;
    pub const IPV4_ADDR: usize = 2;
    pub const IPV4_LEN: usize = 6;
}

/// The 6-bit IPv4 prefix lengths of RFC 5844 sit in the top of their octet.
const IPV4_PREFIX_LEN_SHIFT: u32 = 2;
/// Option data is at most 255 octets; these identifiers share it with a
/// subtype (1 octet) or a reserved field (2 octets).
const MAX_MN_ID_LEN: usize = 254;
const MAX_LL_ID_LEN: usize = 253;
/// The Length octet limits PadN to this many octets in all.
const MAX_PADN: usize = 257;

/// A read/write wrapper around one mobility option at the start of a buffer.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct MhOption<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> MhOption<T> {
    pub const fn new_unchecked(buffer: T) -> MhOption<T> {
        MhOption { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<MhOption<T>, MhError> {
        let option = Self::new_unchecked(buffer);
        option.check_len()?;
        Ok(option)
    }

    /// Ensures the type, the length and all the data the length announces
    /// are in the buffer (Pad1 is a lone type octet).
    pub fn check_len(&self) -> Result<(), MhError> {
        let have = self.buffer.as_ref().len();
        if have == 0 {
            return Err(MhError::Truncated {
                field: "mobility option Type",
                need: 1,
                have,
            });
        }
        if self.option_type() == MhOptionType::Pad1 {
            return Ok(());
        }
        if have <= field::LENGTH {
            return Err(MhError::Truncated {
                field: "mobility option Length",
                need: field::LENGTH + 1,
                have,
            });
        }
        if have < self.total_len() {
            return Err(MhError::BadLength {
                field: "mobility option Length",
                len: self.data_len().into(),
                reason: "runs past the end of the message",
            });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn option_type(&self) -> MhOptionType {
        MhOptionType::from(self.buffer.as_ref()[field::TYPE])
    }

    /// The Length field; 0 for Pad1, which has none.
    pub fn data_len(&self) -> u8 {
        match self.option_type() {
            MhOptionType::Pad1 => 0,
            _ => self.buffer.as_ref()[field::LENGTH],
        }
    }

    /// Octets the option takes, type and length included.
    pub fn total_len(&self) -> usize {
        match self.option_type() {
            MhOptionType::Pad1 => 1,
            _ => field::data(self.data_len()).end,
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> MhOption<&'a T> {
    pub fn data(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        match self.option_type() {
            MhOptionType::Pad1 => &[],
            _ => &data[field::data(data[field::LENGTH])],
        }
    }

    /// The option's octets, Type and Length included.
    pub fn bytes(&self) -> &'a [u8] {
        &self.buffer.as_ref()[..self.total_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> MhOption<T> {
    pub fn set_option_type(&mut self, value: MhOptionType) {
        self.buffer.as_mut()[field::TYPE] = value.into();
    }

    pub fn set_data_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::LENGTH] = value;
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        let range = field::data(self.data_len());
        &mut self.buffer.as_mut()[range]
    }
}

/// One parsed mobility option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MhOptionRepr<'a> {
    Pad1,
    /// PadN with this many data octets.
    PadN(u8),
    /// An MN-ID of subtype NAI.
    MnId(&'a str),
    Authentication(MhAuthRepr<'a>),
    HomeNetworkPrefix(Ipv6Net),
    HandoffIndicator(HandoffIndicator),
    AccessTechnologyType(AccessTechnologyType),
    MnLinkLayerId(&'a [u8]),
    LinkLocalAddress(Ipv6Addr),
    Timestamp(u64),
    RestartCounter(u32),
    Ipv4HomeAddressRequest(Ipv4HomeAddressRequest),
    Ipv4HomeAddressReply(Ipv4HomeAddressReply),
    Ipv4DefaultRouter(Ipv4Addr),
    Unknown {
        option_type: u8,
        data: &'a [u8],
    },
}

impl<'a> MhOptionRepr<'a> {
    /// Parses an option `check_len` accepted; a value of the wrong length or
    /// out of range is an error naming the option.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        option: &MhOption<&'a T>,
    ) -> Result<MhOptionRepr<'a>, MhError> {
        let option_type = option.option_type();
        let data = option.data();
        let bad = |reason| MhError::BadOption {
            option: option_type.name(),
            reason,
        };
        let exactly = |len: usize, reason| {
            if data.len() == len {
                Ok(())
            } else {
                Err(bad(reason))
            }
        };
        match option_type {
            MhOptionType::Pad1 => Ok(MhOptionRepr::Pad1),
            MhOptionType::PadN => Ok(MhOptionRepr::PadN(option.data_len())),
            MhOptionType::MnId => {
                let Some(&subtype) = data.get(field::MN_ID_SUBTYPE) else {
                    return Err(bad("Length 0 leaves no room for the Subtype"));
                };
                if subtype != MN_ID_SUBTYPE_NAI {
                    return Err(bad("Subtype is not 1 (NAI)"));
                }
                // Empty only in the PBA refusing a PBU that had no MN-ID
                // (RFC 5213 5.3.6); the LMA refuses an empty one in a PBU.
                let identifier = data.get(field::MN_ID..).unwrap_or_default();
                core::str::from_utf8(identifier)
                    .map(MhOptionRepr::MnId)
                    .map_err(|_| bad("the NAI is not UTF-8"))
            }
            MhOptionType::Authentication => {
                MhAuthRepr::parse(&MhAuthOption::new_unchecked(option.bytes()))
                    .map(MhOptionRepr::Authentication)
            }
            MhOptionType::HomeNetworkPrefix => {
                exactly(field::HNP_LEN, "Length must be 18")?;
                let prefix = Ipv6Addr::from(array::<16>(&data[field::HNP_PREFIX..]));
                Ipv6Net::new(prefix, data[field::HNP_PREFIX_LEN])
                    .map(MhOptionRepr::HomeNetworkPrefix)
                    .map_err(|_| bad("Prefix Length above 128"))
            }
            MhOptionType::HandoffIndicator => {
                exactly(field::HI_ATT_LEN, "Length must be 2")?;
                Ok(MhOptionRepr::HandoffIndicator(
                    data[field::HI_ATT_VALUE].into(),
                ))
            }
            MhOptionType::AccessTechnologyType => {
                exactly(field::HI_ATT_LEN, "Length must be 2")?;
                Ok(MhOptionRepr::AccessTechnologyType(
                    data[field::HI_ATT_VALUE].into(),
                ))
            }
            MhOptionType::MnLinkLayerId => match data.get(field::LL_ID..) {
                Some(identifier) if !identifier.is_empty() => {
                    Ok(MhOptionRepr::MnLinkLayerId(identifier))
                }
                _ => Err(bad("Length must exceed the 2 reserved octets")),
            },
            MhOptionType::LinkLocalAddress => {
                exactly(field::ADDR6_LEN, "Length must be 16")?;
                Ok(MhOptionRepr::LinkLocalAddress(Ipv6Addr::from(array::<16>(
                    data,
                ))))
            }
            MhOptionType::Timestamp => {
                exactly(field::TIMESTAMP_LEN, "Length must be 8")?;
                Ok(MhOptionRepr::Timestamp(u64::from_be_bytes(array(data))))
            }
            MhOptionType::RestartCounter => {
                exactly(field::RESTART_COUNTER_LEN, "Length must be 4")?;
                Ok(MhOptionRepr::RestartCounter(u32::from_be_bytes(array(
                    data,
                ))))
            }
            MhOptionType::Ipv4HomeAddressRequest => {
                exactly(field::IPV4_LEN, "Length must be 6")?;
                Ok(MhOptionRepr::Ipv4HomeAddressRequest(
                    Ipv4HomeAddressRequest {
                        prefix_len: ipv4_prefix_len(data[field::HOA_REQUEST_PREFIX_LEN])
                            .ok_or_else(|| bad("Prefix-len above 32"))?,
                        address: ipv4_addr(data),
                    },
                ))
            }
            MhOptionType::Ipv4HomeAddressReply => {
                exactly(field::IPV4_LEN, "Length must be 6")?;
                Ok(MhOptionRepr::Ipv4HomeAddressReply(Ipv4HomeAddressReply {
                    status: data[field::HOA_REPLY_STATUS],
                    prefix_len: ipv4_prefix_len(data[field::HOA_REPLY_PREFIX_LEN])
                        .ok_or_else(|| bad("Prefix-len above 32"))?,
                    address: ipv4_addr(data),
                }))
            }
            MhOptionType::Ipv4DefaultRouter => {
                exactly(field::IPV4_LEN, "Length must be 6")?;
                Ok(MhOptionRepr::Ipv4DefaultRouter(ipv4_addr(data)))
            }
            MhOptionType::Unknown(option_type) => Ok(MhOptionRepr::Unknown { option_type, data }),
        }
    }

    pub fn option_type(&self) -> MhOptionType {
        match self {
            MhOptionRepr::Pad1 => MhOptionType::Pad1,
            MhOptionRepr::PadN(_) => MhOptionType::PadN,
            MhOptionRepr::MnId(_) => MhOptionType::MnId,
            MhOptionRepr::Authentication(_) => MhOptionType::Authentication,
            MhOptionRepr::HomeNetworkPrefix(_) => MhOptionType::HomeNetworkPrefix,
            MhOptionRepr::HandoffIndicator(_) => MhOptionType::HandoffIndicator,
            MhOptionRepr::AccessTechnologyType(_) => MhOptionType::AccessTechnologyType,
            MhOptionRepr::MnLinkLayerId(_) => MhOptionType::MnLinkLayerId,
            MhOptionRepr::LinkLocalAddress(_) => MhOptionType::LinkLocalAddress,
            MhOptionRepr::Timestamp(_) => MhOptionType::Timestamp,
            MhOptionRepr::RestartCounter(_) => MhOptionType::RestartCounter,
            MhOptionRepr::Ipv4HomeAddressRequest(_) => MhOptionType::Ipv4HomeAddressRequest,
            MhOptionRepr::Ipv4HomeAddressReply(_) => MhOptionType::Ipv4HomeAddressReply,
            MhOptionRepr::Ipv4DefaultRouter(_) => MhOptionType::Ipv4DefaultRouter,
            MhOptionRepr::Unknown { option_type, .. } => MhOptionType::Unknown(*option_type),
        }
    }

    /// The `(x, y)` of the RFC's "xn+y" rule: the Type octet must sit at an
    /// offset from the start of the MH that is y modulo x.
    pub fn alignment(&self) -> (usize, usize) {
        match self {
            MhOptionRepr::HomeNetworkPrefix(_) => (8, 4),
            MhOptionRepr::LinkLocalAddress(_) => (8, 6),
            MhOptionRepr::Timestamp(_) | MhOptionRepr::MnLinkLayerId(_) => (8, 2),
            MhOptionRepr::RestartCounter(_) => (4, 2),
            MhOptionRepr::Ipv4HomeAddressRequest(_)
            | MhOptionRepr::Ipv4HomeAddressReply(_)
            | MhOptionRepr::Ipv4DefaultRouter(_) => (4, 0),
            MhOptionRepr::Authentication(auth) => auth.alignment(),
            _ => (1, 0),
        }
    }

    /// The data octets this option emits: identifiers too long for the
    /// Length octet are cut (`MobilityOptions::validate` reports them).
    fn data_len(&self) -> usize {
        match self {
            MhOptionRepr::Pad1 => 0,
            MhOptionRepr::PadN(len) => (*len).into(),
            MhOptionRepr::MnId(id) => field::MN_ID + id.len().min(MAX_MN_ID_LEN),
            MhOptionRepr::Authentication(auth) => {
                AUTH_FIXED_LEN + auth.auth_data.len().min(MAX_AUTH_DATA)
            }
            MhOptionRepr::HomeNetworkPrefix(_) => field::HNP_LEN,
            MhOptionRepr::HandoffIndicator(_) | MhOptionRepr::AccessTechnologyType(_) => {
                field::HI_ATT_LEN
            }
            MhOptionRepr::MnLinkLayerId(id) => field::LL_ID + id.len().min(MAX_LL_ID_LEN),
            MhOptionRepr::LinkLocalAddress(_) => field::ADDR6_LEN,
            MhOptionRepr::Timestamp(_) => field::TIMESTAMP_LEN,
            MhOptionRepr::RestartCounter(_) => field::RESTART_COUNTER_LEN,
            MhOptionRepr::Ipv4HomeAddressRequest(_)
            | MhOptionRepr::Ipv4HomeAddressReply(_)
            | MhOptionRepr::Ipv4DefaultRouter(_) => field::IPV4_LEN,
            MhOptionRepr::Unknown { data, .. } => data.len().min(u8::MAX.into()),
        }
    }

    pub fn buffer_len(&self) -> usize {
        match self {
            MhOptionRepr::Pad1 => 1,
            _ => field::data(0).start + self.data_len(),
        }
    }

    /// Writes the option at the start of `option`, which must hold
    /// `buffer_len()` octets.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, option: &mut MhOption<T>) {
        if let MhOptionRepr::Authentication(auth) = self {
            let view = &mut MhAuthOption::new_unchecked(option.buffer.as_mut());
            auth.emit(view, MhOptionType::Authentication.into());
            return;
        }
        option.set_option_type(self.option_type());
        if *self == MhOptionRepr::Pad1 {
            return;
        }
        let len = self.data_len();
        option.set_data_len(u8::try_from(len).unwrap_or(u8::MAX));
        let data = option.data_mut();
        data.fill(0);
        match self {
            MhOptionRepr::Pad1 | MhOptionRepr::PadN(_) | MhOptionRepr::Authentication(_) => {}
            MhOptionRepr::MnId(id) => {
                data[field::MN_ID_SUBTYPE] = MN_ID_SUBTYPE_NAI;
                data[field::MN_ID..].copy_from_slice(&id.as_bytes()[..len - field::MN_ID]);
            }
            MhOptionRepr::HomeNetworkPrefix(prefix) => {
                data[field::HNP_PREFIX_LEN] = prefix.prefix_len();
                data[field::HNP_PREFIX..].copy_from_slice(&prefix.addr().octets());
            }
            MhOptionRepr::HandoffIndicator(hi) => data[field::HI_ATT_VALUE] = (*hi).into(),
            MhOptionRepr::AccessTechnologyType(att) => data[field::HI_ATT_VALUE] = (*att).into(),
            MhOptionRepr::MnLinkLayerId(id) => {
                data[field::LL_ID..].copy_from_slice(&id[..len - field::LL_ID]);
            }
            MhOptionRepr::LinkLocalAddress(addr) => data.copy_from_slice(&addr.octets()),
            MhOptionRepr::Timestamp(timestamp) => data.copy_from_slice(&timestamp.to_be_bytes()),
            MhOptionRepr::RestartCounter(counter) => data.copy_from_slice(&counter.to_be_bytes()),
            MhOptionRepr::Ipv4HomeAddressRequest(request) => {
                data[field::HOA_REQUEST_PREFIX_LEN] = request.prefix_len << IPV4_PREFIX_LEN_SHIFT;
                data[field::IPV4_ADDR..].copy_from_slice(&request.address.octets());
            }
            MhOptionRepr::Ipv4HomeAddressReply(reply) => {
                data[field::HOA_REPLY_STATUS] = reply.status;
                data[field::HOA_REPLY_PREFIX_LEN] = reply.prefix_len << IPV4_PREFIX_LEN_SHIFT;
                data[field::IPV4_ADDR..].copy_from_slice(&reply.address.octets());
            }
            MhOptionRepr::Ipv4DefaultRouter(addr) => {
                data[field::IPV4_ADDR..].copy_from_slice(&addr.octets());
            }
            MhOptionRepr::Unknown { data: value, .. } => data.copy_from_slice(&value[..len]),
        }
    }
}

fn ipv4_prefix_len(octet: u8) -> Option<u8> {
    Some(octet >> IPV4_PREFIX_LEN_SHIFT).filter(|len| *len <= 32)
}

/// The address that closes each RFC 5844 option; the caller checked the length.
fn ipv4_addr(data: &[u8]) -> Ipv4Addr {
    Ipv4Addr::from(array::<4>(&data[field::IPV4_ADDR..]))
}

/// Iterates over the options of a message, stopping after the first error.
#[derive(Debug, Clone)]
pub struct MhOptionsIterator<'a> {
    data: &'a [u8],
    failed: bool,
}

impl<'a> MhOptionsIterator<'a> {
    pub fn new(data: &'a [u8]) -> MhOptionsIterator<'a> {
        MhOptionsIterator {
            data,
            failed: false,
        }
    }
}

impl<'a> Iterator for MhOptionsIterator<'a> {
    type Item = Result<MhOptionRepr<'a>, MhError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.data.is_empty() {
            return None;
        }
        let parsed = MhOption::new_checked(self.data)
            .and_then(|option| Ok((MhOptionRepr::parse(&option)?, option.total_len())));
        match parsed {
            Ok((repr, len)) => {
                self.data = self.data.get(len..).unwrap_or_default();
                Some(Ok(repr))
            }
            Err(err) => {
                self.failed = true;
                Some(Err(err))
            }
        }
    }
}

/// A Mobility Message Authentication option (RFC 4285 5), owned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MhAuth {
    pub subtype: u8,
    pub spi: u32,
    pub auth_data: Vec<u8>,
}

impl MhAuth {
    fn repr(&self) -> MhAuthRepr<'_> {
        MhAuthRepr {
            subtype: self.subtype,
            spi: self.spi,
            auth_data: &self.auth_data,
        }
    }
}

/// The options of a Proxy Binding Update or Acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MobilityOptions {
    /// MN-ID option, subtype 1 (NAI).
    pub mn_id: Option<String>,
    /// Zero or more HNP options; `::/0` asks the LMA to assign one.
    pub hnps: Vec<Ipv6Net>,
    pub handoff_indicator: Option<HandoffIndicator>,
    pub access_technology: Option<AccessTechnologyType>,
    /// MN LL-ID option, e.g. a 6-octet MAC address.
    pub mn_link_layer_id: Option<Vec<u8>>,
    pub link_local_address: Option<Ipv6Addr>,
    /// RFC 5213 section 8.8: 48 bits of seconds, 16 of fraction.
    pub timestamp: Option<u64>,
    /// RFC 5847 3.2, in Heartbeat messages.
    pub restart_counter: Option<u32>,
    pub ipv4_home_address_request: Option<Ipv4HomeAddressRequest>,
    pub ipv4_home_address_reply: Option<Ipv4HomeAddressReply>,
    pub ipv4_default_router: Option<Ipv4Addr>,
    /// RFC 4285 5: always the last option; [`crate::auth`] fills and checks it.
    pub authentication: Option<MhAuth>,
    /// Types of the options skipped while parsing (RFC 6275 section 6.2.1);
    /// never emitted.
    pub unknown: Vec<u8>,
}

impl MobilityOptions {
    /// Collects the options of a message. Unknown types are skipped; an
    /// option that overruns, has a wrong length or a bad value, or a
    /// single-valued option that appears twice, is an error.
    pub fn parse(data: &[u8]) -> Result<MobilityOptions, MhError> {
        let mut options = MobilityOptions::default();
        for repr in MhOptionsIterator::new(data) {
            let repr = repr?;
            let kind = repr.option_type();
            if options.authentication.is_some() {
                return Err(MhError::BadOption {
                    option: MhOptionType::Authentication.name(),
                    reason: "must be the last option (RFC 4285 5)",
                });
            }
            match repr {
                MhOptionRepr::Pad1 | MhOptionRepr::PadN(_) => {}
                MhOptionRepr::MnId(id) => set_once(&mut options.mn_id, id.to_owned(), kind)?,
                MhOptionRepr::Authentication(auth) => {
                    let auth = MhAuth {
                        subtype: auth.subtype,
                        spi: auth.spi,
                        auth_data: auth.auth_data.to_vec(),
                    };
                    set_once(&mut options.authentication, auth, kind)?
                }
                MhOptionRepr::HomeNetworkPrefix(prefix) => options.hnps.push(prefix),
                MhOptionRepr::HandoffIndicator(hi) => {
                    set_once(&mut options.handoff_indicator, hi, kind)?
                }
                MhOptionRepr::AccessTechnologyType(att) => {
                    set_once(&mut options.access_technology, att, kind)?
                }
                MhOptionRepr::MnLinkLayerId(id) => {
                    set_once(&mut options.mn_link_layer_id, id.to_vec(), kind)?
                }
                MhOptionRepr::LinkLocalAddress(addr) => {
                    set_once(&mut options.link_local_address, addr, kind)?
                }
                MhOptionRepr::Timestamp(timestamp) => {
                    set_once(&mut options.timestamp, timestamp, kind)?
                }
                MhOptionRepr::RestartCounter(counter) => {
                    set_once(&mut options.restart_counter, counter, kind)?
                }
                MhOptionRepr::Ipv4HomeAddressRequest(request) => {
                    set_once(&mut options.ipv4_home_address_request, request, kind)?
                }
                MhOptionRepr::Ipv4HomeAddressReply(reply) => {
                    set_once(&mut options.ipv4_home_address_reply, reply, kind)?
                }
                MhOptionRepr::Ipv4DefaultRouter(addr) => {
                    set_once(&mut options.ipv4_default_router, addr, kind)?
                }
                MhOptionRepr::Unknown { option_type, .. } => options.unknown.push(option_type),
            }
        }
        Ok(options)
    }

    /// Reports values the option format cannot carry, which `emit` would cut.
    pub fn validate(&self) -> Result<(), MhError> {
        let bad = |option: MhOptionType, reason| MhError::BadOption {
            option: option.name(),
            reason,
        };
        if let Some(id) = &self.mn_id
            && id.len() > MAX_MN_ID_LEN
        {
            return Err(bad(
                MhOptionType::MnId,
                "the NAI must be at most 254 octets",
            ));
        }
        if let Some(id) = &self.mn_link_layer_id
            && !(1..=MAX_LL_ID_LEN).contains(&id.len())
        {
            return Err(bad(
                MhOptionType::MnLinkLayerId,
                "the identifier must be 1 to 253 octets",
            ));
        }
        let prefix_lens = [
            self.ipv4_home_address_request.map(|r| r.prefix_len),
            self.ipv4_home_address_reply.map(|r| r.prefix_len),
        ];
        if prefix_lens.into_iter().flatten().any(|len| len > 32) {
            return Err(bad(
                MhOptionType::Ipv4HomeAddressRequest,
                "Prefix-len above 32",
            ));
        }
        if self
            .authentication
            .as_ref()
            .is_some_and(|a| a.auth_data.len() > MAX_AUTH_DATA)
        {
            return Err(bad(
                MhOptionType::Authentication,
                "the Authentication Data must be at most 250 octets",
            ));
        }
        Ok(())
    }

    /// The options in emission order; the authentication option last (RFC 4285 5).
    fn reprs(&self) -> impl Iterator<Item = MhOptionRepr<'_>> {
        let hnps = self.hnps.iter().copied();
        let ll_id = self.mn_link_layer_id.as_deref();
        self.mn_id
            .as_deref()
            .map(MhOptionRepr::MnId)
            .into_iter()
            .chain(hnps.map(MhOptionRepr::HomeNetworkPrefix))
            .chain(self.handoff_indicator.map(MhOptionRepr::HandoffIndicator))
            .chain(
                self.access_technology
                    .map(MhOptionRepr::AccessTechnologyType),
            )
            .chain(ll_id.map(MhOptionRepr::MnLinkLayerId))
            .chain(self.link_local_address.map(MhOptionRepr::LinkLocalAddress))
            .chain(self.timestamp.map(MhOptionRepr::Timestamp))
            .chain(self.restart_counter.map(MhOptionRepr::RestartCounter))
            .chain(
                self.ipv4_home_address_request
                    .map(MhOptionRepr::Ipv4HomeAddressRequest),
            )
            .chain(
                self.ipv4_home_address_reply
                    .map(MhOptionRepr::Ipv4HomeAddressReply),
            )
            .chain(
                self.ipv4_default_router
                    .map(MhOptionRepr::Ipv4DefaultRouter),
            )
            .chain(
                self.authentication
                    .as_ref()
                    .map(|a| MhOptionRepr::Authentication(a.repr())),
            )
    }

    /// Octets the options take when they start `offset` octets into the MH,
    /// alignment padding included and padded up to a multiple of 8 so that
    /// the message ends on an 8-octet boundary (RFC 6275 section 6.1.1).
    pub fn buffer_len(&self, offset: usize) -> usize {
        let end = self.reprs().fold(offset, |at, repr| {
            at + padding(at, repr.alignment()) + repr.buffer_len()
        });
        end.next_multiple_of(8) - offset
    }

    /// Writes the options into `buffer`, which starts `offset` octets into
    /// the MH, padding each to its alignment and the rest of `buffer` with
    /// Pad1/PadN. Options that do not fit are left out.
    pub fn emit(&self, buffer: &mut [u8], offset: usize) {
        let mut at = 0;
        for repr in self.reprs() {
            let pad = padding(offset + at, repr.alignment());
            let end = at + pad + repr.buffer_len();
            let Some(slot) = buffer.get_mut(at..end) else {
                break;
            };
            let (pad_octets, option) = slot.split_at_mut(pad);
            emit_padding(pad_octets);
            repr.emit(&mut MhOption::new_unchecked(option));
            at = end;
        }
        emit_padding(buffer.get_mut(at..).unwrap_or_default());
    }
}

fn set_once<V>(slot: &mut Option<V>, value: V, option: MhOptionType) -> Result<(), MhError> {
    if slot.is_some() {
        return Err(MhError::BadOption {
            option: option.name(),
            reason: "appears more than once",
        });
    }
    *slot = Some(value);
    Ok(())
}

/// Octets needed after `offset` to meet the "xn+y" rule `(x, y)`.
fn padding(offset: usize, (x, y): (usize, usize)) -> usize {
    (y + x - offset % x) % x
}

/// Fills `buffer` with Pad1 (one octet) or PadN options.
fn emit_padding(mut buffer: &mut [u8]) {
    while !buffer.is_empty() {
        let len = buffer.len().min(MAX_PADN);
        let (head, rest) = core::mem::take(&mut buffer).split_at_mut(len);
        let repr = match len {
            1 => MhOptionRepr::Pad1,
            _ => MhOptionRepr::PadN(u8::try_from(len - 2).unwrap_or(u8::MAX)),
        };
        repr.emit(&mut MhOption::new_unchecked(head));
        buffer = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each option written out from its RFC layout.
    static PAD1: [u8; 1] = [0];
    static PADN: [u8; 4] = [1, 2, 0, 0];
    // MN-ID "mn1@example.org" (15 octets), subtype 1 (NAI).
    static MN_ID: [u8; 18] = [
        8, 16, 1, b'm', b'n', b'1', b'@', b'e', b'x', b'a', b'm', b'p', b'l', b'e', b'.', b'o',
        b'r', b'g',
    ];
    // HNP 2001:db8:1:2::/64.
    static HNP: [u8; 20] = [
        22, 18, 0, 64, // type, length, reserved, prefix length
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    // HI 1: attachment over a new interface.
    static HI: [u8; 4] = [23, 2, 0, 1];
    // ATT 3: IEEE 802.3.
    static ATT: [u8; 4] = [24, 2, 0, 3];
    // MN LL-ID: 2 reserved octets, then MAC 02:00:00:00:00:01.
    static LL_ID: [u8; 10] = [25, 8, 0, 0, 0x02, 0, 0, 0, 0, 0x01];
    // Link-local fe80::1.
    static LLA: [u8; 18] = [
        26, 16, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    ];
    // Timestamp: 0x65920000 s (2024-01-01) plus 0x8000/65536 = 0.5 s.
    static TIMESTAMP: [u8; 10] = [27, 8, 0x00, 0x00, 0x65, 0x92, 0x00, 0x00, 0x80, 0x00];
    const TIMESTAMP_VALUE: u64 = (0x6592_0000 << 16) | 0x8000;
    // Restart Counter 0x01020304.
    static RESTART_COUNTER: [u8; 6] = [28, 4, 1, 2, 3, 4];
    // IPv4 HoA request: prefix-len 24 in the top 6 bits (24 << 2 = 0x60),
    // 10 reserved bits, address 0.0.0.0 ("assign one").
    static HOA_REQUEST: [u8; 8] = [36, 6, 0x60, 0x00, 0, 0, 0, 0];
    // IPv4 HoA reply: status 0, prefix-len 24 (0x60), address 10.0.0.5.
    static HOA_REPLY: [u8; 8] = [37, 6, 0, 0x60, 10, 0, 0, 5];
    // IPv4 default router 10.0.0.1 after 2 reserved octets.
    static DEFAULT_ROUTER: [u8; 8] = [38, 6, 0, 0, 10, 0, 0, 1];
    // Authentication (RFC 4285 5): subtype 1 (MN-HA), SPI 0x01020304, 4 octets
    // of Authentication Data.
    static AUTH: [u8; 11] = [9, 9, 1, 1, 2, 3, 4, 0xde, 0xad, 0xbe, 0xef];
    const AUTH_DATA: [u8; 4] = [0xde, 0xad, 0xbe, 0xef];

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

    fn hnp() -> Ipv6Net {
        "2001:db8:1:2::/64".parse().unwrap()
    }

    fn cases() -> Vec<(&'static [u8], MhOptionRepr<'static>)> {
        vec![
            (&PAD1, MhOptionRepr::Pad1),
            (&PADN, MhOptionRepr::PadN(2)),
            (&MN_ID, MhOptionRepr::MnId("mn1@example.org")),
            (&HNP, MhOptionRepr::HomeNetworkPrefix(hnp())),
            (
                &HI,
                MhOptionRepr::HandoffIndicator(HandoffIndicator::NewInterface),
            ),
            (
                &ATT,
                MhOptionRepr::AccessTechnologyType(AccessTechnologyType::Ethernet),
            ),
            (&LL_ID, MhOptionRepr::MnLinkLayerId(&MAC)),
            (
                &LLA,
                MhOptionRepr::LinkLocalAddress("fe80::1".parse().unwrap()),
            ),
            (&TIMESTAMP, MhOptionRepr::Timestamp(TIMESTAMP_VALUE)),
            (&RESTART_COUNTER, MhOptionRepr::RestartCounter(0x0102_0304)),
            (
                &HOA_REQUEST,
                MhOptionRepr::Ipv4HomeAddressRequest(Ipv4HomeAddressRequest {
                    prefix_len: 24,
                    address: Ipv4Addr::UNSPECIFIED,
                }),
            ),
            (
                &HOA_REPLY,
                MhOptionRepr::Ipv4HomeAddressReply(Ipv4HomeAddressReply {
                    status: 0,
                    prefix_len: 24,
                    address: Ipv4Addr::new(10, 0, 0, 5),
                }),
            ),
            (
                &DEFAULT_ROUTER,
                MhOptionRepr::Ipv4DefaultRouter(Ipv4Addr::new(10, 0, 0, 1)),
            ),
            (
                &AUTH,
                MhOptionRepr::Authentication(MhAuthRepr {
                    subtype: 1,
                    spi: 0x0102_0304,
                    auth_data: &AUTH_DATA,
                }),
            ),
        ]
    }

    #[test]
    fn deconstruct_hnp() {
        let option = MhOption::new_checked(&HNP[..]).unwrap();
        assert_eq!(option.option_type(), MhOptionType::HomeNetworkPrefix);
        assert_eq!(option.data_len(), 18);
        assert_eq!(option.total_len(), 20);
        assert_eq!(option.data(), &HNP[2..]);
    }

    #[test]
    fn deconstruct_pad1() {
        let option = MhOption::new_checked(&PAD1[..]).unwrap();
        assert_eq!(option.option_type(), MhOptionType::Pad1);
        assert_eq!(option.data_len(), 0);
        assert_eq!(option.total_len(), 1);
        assert!(option.data().is_empty());
    }

    #[test]
    fn parse_every_option() {
        for (bytes, repr) in cases() {
            let option = MhOption::new_checked(bytes).unwrap();
            assert_eq!(MhOptionRepr::parse(&option), Ok(repr), "{bytes:?}");
        }
    }

    #[test]
    fn construct_every_option() {
        for (bytes, repr) in cases() {
            assert_eq!(repr.buffer_len(), bytes.len(), "{repr:?}");
            let mut buffer = vec![0xa5; bytes.len()];
            repr.emit(&mut MhOption::new_unchecked(&mut buffer[..]));
            assert_eq!(&buffer[..], bytes, "{repr:?}");
        }
    }

    #[test]
    fn truncated_option_at_every_length() {
        for (bytes, _) in cases() {
            for len in 0..bytes.len() {
                assert!(
                    MhOption::new_checked(&bytes[..len]).is_err(),
                    "{bytes:?}[..{len}]"
                );
            }
        }
    }

    #[test]
    fn wrong_lengths_are_errors() {
        // Lengths one below and one above each fixed-size option, with the
        // data present so only the value check can reject them.
        for (bytes, _) in cases() {
            let fixed = !matches!(bytes[0], 0 | 1 | 8 | 9 | 25);
            if !fixed {
                continue;
            }
            for delta in [-1i16, 1] {
                let mut wrong = bytes.to_vec();
                wrong.push(0);
                let len = i16::from(wrong[1]) + delta;
                wrong[1] = u8::try_from(len).unwrap();
                let option = MhOption::new_checked(&wrong[..]).unwrap();
                assert!(
                    matches!(
                        MhOptionRepr::parse(&option),
                        Err(MhError::BadOption { reason, .. }) if reason.starts_with("Length must")
                    ),
                    "{wrong:?}"
                );
            }
        }
    }

    #[test]
    fn bad_values_are_errors() {
        let reject = |bytes: &[u8], reason: &str| {
            let option = MhOption::new_checked(bytes).unwrap();
            match MhOptionRepr::parse(&option) {
                Err(MhError::BadOption { reason: got, .. }) => assert_eq!(got, reason),
                other => panic!("{bytes:?} gave {other:?}"),
            }
        };
        let mut hnp = HNP;
        hnp[3] = 129;
        reject(&hnp, "Prefix Length above 128");
        reject(&[8, 0], "Length 0 leaves no room for the Subtype");
        let empty = MhOption::new_checked(&[8u8, 1, 1][..]).unwrap();
        assert_eq!(MhOptionRepr::parse(&empty), Ok(MhOptionRepr::MnId("")));
        reject(&[28, 3, 0, 0, 1], "Length must be 4");
        reject(&[8, 2, 2, b'x'], "Subtype is not 1 (NAI)");
        reject(&[8, 2, 1, 0xff], "the NAI is not UTF-8");
        reject(&[25, 2, 0, 0], "Length must exceed the 2 reserved octets");
        reject(&[36, 6, 33 << 2, 0, 0, 0, 0, 0], "Prefix-len above 32");
        reject(&[37, 6, 0, 33 << 2, 0, 0, 0, 0], "Prefix-len above 32");
        reject(
            &[9, 4, 1, 0, 0, 0],
            "Length below 5 leaves no room for Subtype and Mobility SPI",
        );
    }

    #[test]
    fn authentication_must_come_last() {
        let bytes = [&AUTH[..], &PAD1[..]].concat();
        assert_eq!(
            MobilityOptions::parse(&bytes),
            Err(MhError::BadOption {
                option: "Mobility Message Authentication",
                reason: "must be the last option (RFC 4285 5)"
            })
        );
        let bytes = [&HI[..], &AUTH[..]].concat();
        let options = MobilityOptions::parse(&bytes).unwrap();
        assert_eq!(
            options.authentication,
            Some(MhAuth {
                subtype: 1,
                spi: 0x0102_0304,
                auth_data: AUTH_DATA.to_vec(),
            })
        );
    }

    #[test]
    fn overrunning_length_is_an_error() {
        let mut hnp = HNP;
        hnp[1] = 19;
        assert_eq!(
            MhOption::new_checked(&hnp[..]),
            Err(MhError::BadLength {
                field: "mobility option Length",
                len: 19,
                reason: "runs past the end of the message"
            })
        );
        let err = MobilityOptions::parse(&hnp).unwrap_err();
        assert!(matches!(err, MhError::BadLength { .. }));
    }

    #[test]
    fn unknown_option_is_skipped() {
        // Type 200 with 3 octets of data between two known options.
        let mut bytes = HI.to_vec();
        bytes.extend_from_slice(&[200, 3, 0xde, 0xad, 0xbe]);
        bytes.extend_from_slice(&ATT);
        let options = MobilityOptions::parse(&bytes).unwrap();
        assert_eq!(
            options.handoff_indicator,
            Some(HandoffIndicator::NewInterface)
        );
        assert_eq!(
            options.access_technology,
            Some(AccessTechnologyType::Ethernet)
        );
        assert_eq!(options.unknown, vec![200]);
    }

    #[test]
    fn duplicate_single_option_is_an_error() {
        let bytes = [HI, HI].concat();
        assert_eq!(
            MobilityOptions::parse(&bytes),
            Err(MhError::BadOption {
                option: "Handoff Indicator",
                reason: "appears more than once"
            })
        );
    }

    #[test]
    fn several_hnps() {
        let bytes = [&HNP[..], &PADN[..], &HNP[..]].concat();
        let options = MobilityOptions::parse(&bytes).unwrap();
        assert_eq!(options.hnps, vec![hnp(), hnp()]);
    }

    fn all_options() -> MobilityOptions {
        MobilityOptions {
            mn_id: Some("mn1@example.org".into()),
            hnps: vec![hnp(), "::/0".parse().unwrap()],
            handoff_indicator: Some(HandoffIndicator::NewInterface),
            access_technology: Some(AccessTechnologyType::Ethernet),
            mn_link_layer_id: Some(MAC.to_vec()),
            link_local_address: Some("fe80::1".parse().unwrap()),
            timestamp: Some(TIMESTAMP_VALUE),
            restart_counter: Some(9),
            ipv4_home_address_request: Some(Ipv4HomeAddressRequest {
                prefix_len: 24,
                address: Ipv4Addr::UNSPECIFIED,
            }),
            ipv4_home_address_reply: Some(Ipv4HomeAddressReply {
                status: 0,
                prefix_len: 24,
                address: Ipv4Addr::new(10, 0, 0, 5),
            }),
            ipv4_default_router: Some(Ipv4Addr::new(10, 0, 0, 1)),
            authentication: Some(MhAuth {
                subtype: 1,
                spi: 257,
                auth_data: vec![0x5a; 16],
            }),
            unknown: vec![],
        }
    }

    #[test]
    fn emitted_options_are_aligned_and_round_trip() {
        let options = all_options();
        for offset in [12, 13, 14, 15, 16, 17, 18, 19] {
            let len = options.buffer_len(offset);
            assert_eq!((offset + len) % 8, 0);
            let mut buffer = vec![0xa5; len];
            options.emit(&mut buffer, offset);
            let mut at = 0;
            for repr in MhOptionsIterator::new(&buffer) {
                let repr = repr.unwrap();
                let (x, y) = repr.alignment();
                assert_eq!((offset + at) % x, y, "{repr:?} at offset {}", offset + at);
                at += repr.buffer_len();
            }
            assert_eq!(at, len);
            assert_eq!(MobilityOptions::parse(&buffer), Ok(options.clone()));
        }
    }

    #[test]
    fn padding_meets_rules() {
        assert_eq!(padding(12, (8, 4)), 0);
        assert_eq!(padding(13, (8, 4)), 7);
        assert_eq!(padding(12, (8, 6)), 2);
        assert_eq!(padding(12, (8, 2)), 6);
        assert_eq!(padding(13, (4, 0)), 3);
        assert_eq!(padding(13, (1, 0)), 0);
        let mut buffer = [0xa5; 300];
        emit_padding(&mut buffer);
        let reprs: Vec<_> = MhOptionsIterator::new(&buffer).collect();
        assert_eq!(
            reprs,
            vec![Ok(MhOptionRepr::PadN(255)), Ok(MhOptionRepr::PadN(41))]
        );
    }

    #[test]
    fn overlong_identifiers_are_cut_and_reported() {
        let options = MobilityOptions {
            mn_id: Some("x".repeat(300)),
            mn_link_layer_id: Some(vec![7; 300]),
            ..MobilityOptions::default()
        };
        assert!(options.validate().is_err());
        let len = options.buffer_len(12);
        let mut buffer = vec![0; len];
        options.emit(&mut buffer, 12);
        let parsed = MobilityOptions::parse(&buffer).unwrap();
        assert_eq!(parsed.mn_id.unwrap().len(), 254);
        assert_eq!(parsed.mn_link_layer_id.unwrap().len(), 253);
        assert_eq!(all_options().validate(), Ok(()));
    }

    #[test]
    fn emit_into_short_buffer_drops_options_without_panicking() {
        let options = all_options();
        for len in 0..options.buffer_len(12) {
            let mut buffer = vec![0xa5; len];
            options.emit(&mut buffer, 12);
            assert!(MobilityOptions::parse(&buffer).is_ok());
        }
    }

    #[test]
    fn enums_keep_unassigned_values() {
        assert_eq!(HandoffIndicator::from(5), HandoffIndicator::NotChanged);
        assert_eq!(HandoffIndicator::from(4), HandoffIndicator::Unknown);
        assert_eq!(HandoffIndicator::from(9), HandoffIndicator::Other(9));
        assert_eq!(AccessTechnologyType::from(5), AccessTechnologyType::Wimax);
        assert_eq!(u8::from(AccessTechnologyType::Other(77)), 77);
        assert_eq!(MhOptionType::from(99), MhOptionType::Unknown(99));
    }
}
