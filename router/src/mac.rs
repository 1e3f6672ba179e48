//! The one MAC address type of tapmip: an IEEE 802 address written the way
//! `ip link`, tcpdump and policy files write it (`52:54:00:aa:00:01`).
//!
//! smoltcp's `EthernetAddress` prints with dashes and stays at the wire
//! boundary: frames are parsed and built with it and converted at once.

use smoltcp::wire::EthernetAddress;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    pub const BROADCAST: Mac = Mac([0xff; 6]);

    /// The address in the first six octets of `bytes`, if there are six.
    pub fn from_bytes(bytes: &[u8]) -> Option<Mac> {
        bytes.get(..6)?.try_into().ok().map(Mac)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Group bit set (multicast or broadcast).
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    pub fn is_broadcast(&self) -> bool {
        *self == Mac::BROADCAST
    }

    pub fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// Locally administered (the U/L bit set), as generated addresses are.
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a MAC address (six hex octets separated by colons, e.g. 52:54:00:aa:00:01)")]
pub struct ParseMacError(String);

impl FromStr for Mac {
    type Err = ParseMacError;

    fn from_str(s: &str) -> Result<Mac, ParseMacError> {
        let bad = || ParseMacError(s.to_string());
        let mut mac = [0u8; 6];
        let mut parts = s.split(':');
        for byte in &mut mac {
            let part = parts.next().filter(|p| p.len() == 2).ok_or_else(bad)?;
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        match parts.next() {
            None => Ok(Mac(mac)),
            Some(_) => Err(bad()),
        }
    }
}

impl From<EthernetAddress> for Mac {
    fn from(mac: EthernetAddress) -> Mac {
        Mac(mac.0)
    }
}

impl From<Mac> for smoltcp::wire::RawHardwareAddress {
    fn from(mac: Mac) -> Self {
        EthernetAddress::from(mac).into()
    }
}

impl From<Mac> for EthernetAddress {
    fn from(mac: Mac) -> EthernetAddress {
        EthernetAddress(mac.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_with_colons() {
        let mac: Mac = "52:54:00:aa:00:01".parse().unwrap();
        assert_eq!(mac, Mac([0x52, 0x54, 0, 0xaa, 0, 1]));
        assert_eq!(mac.to_string(), "52:54:00:aa:00:01");
        assert_eq!(format!("{mac:?}"), "52:54:00:aa:00:01");
        for bad in [
            "",
            "52:54:00:aa:00",
            "52:54:00:aa:00:01:02",
            "5:54:00:aa:00:01",
            "zz:54:00:aa:00:01",
        ] {
            let e = bad.parse::<Mac>().unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn flags_and_conversions() {
        assert!(Mac::BROADCAST.is_broadcast() && Mac::BROADCAST.is_multicast());
        assert!(Mac([0x33, 0x33, 0, 0, 0, 1]).is_multicast());
        assert!(Mac([0x52, 0x54, 0, 0, 0, 1]).is_unicast());
        assert_eq!(Mac::from_bytes(&[1, 2, 3]), None);
        let mac = Mac::from_bytes(&[2, 0, 0, 0, 0, 1, 9]).unwrap();
        assert_eq!(Mac::from(EthernetAddress::from(mac)), mac);
    }
}
