//! A whole IPv6 packet carrying a Mobility Header between a mobile node and
//! its home agent (RFC 6275): the Binding Update with a Home Address option
//! (section 6.3), the Binding Acknowledgement with a Type 2 Routing Header
//! (section 6.4), and the addresses the MH checksum covers.
//!
//! ```text
//! BU:  | IPv6 src=CoA dst=HA nh=60 | Dest. Options: Home Address | MH (BU) |
//! BA:  | IPv6 src=HA dst=CoA nh=43 | Type 2 RH: Home Address     | MH (BA) |
//!
//!  Type 2 Routing Header (RFC 6275 6.4):
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Header  | Hdr Ext Len=2 | Routing Type=2|Segments Left=1|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                            Reserved                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                          Home Address (16 octets)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The checksum's pseudo-header (RFC 8200 8.1) uses the packet's end-to-end
//! addresses: the home address as the source when a Home Address option
//! carries it (the receiver swaps it in, RFC 6275 9.3.1), the home address as
//! the destination when a Type 2 Routing Header names it as the final one.
//! The Type 2 Routing Header is smoltcp's (`Ipv6RoutingRepr::Type2`).

use core::net::Ipv6Addr;

use smoltcp::wire::{
    IpProtocol, Ipv6ExtHeader, Ipv6Packet, Ipv6Repr, Ipv6RoutingHeader, Ipv6RoutingRepr,
};

use super::home_address::{HomeAddressError, HomeAddressRepr, IPPROTO_DSTOPTS};
use super::{IPPROTO_MH, MhError, MhPacket, MhRepr};

/// IPv6 next header value of a Routing header.
pub const IPPROTO_ROUTING: u8 = 43;
/// A Type 2 Routing Header is always 24 octets (Hdr Ext Len 2).
pub const TYPE2_HEADER_LEN: usize = 24;
const IPV6_HEADER_LEN: usize = 40;

/// Where a packet names the mobile node's home address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeAddressIn {
    /// Nowhere: the MH is the first header after IPv6.
    Nowhere,
    /// A Home Address destination option (from the mobile node).
    DestinationOption(Ipv6Addr),
    /// A Type 2 Routing Header (to the mobile node).
    Type2Routing(Ipv6Addr),
}

/// Why a packet is not a Mobility Header message to or from a mobile node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MnPacketError {
    #[error("not a whole IPv6 packet (truncated, wrong version or payload length)")]
    NotIpv6,
    #[error("{0}")]
    HomeAddress(#[from] HomeAddressError),
    #[error("bad Type 2 Routing Header: {0}")]
    Routing(&'static str),
    #[error("next header {0} is not a Mobility Header, nor a header RFC 6275 puts before one")]
    NotMobility(u8),
    #[error("{0}")]
    Mh(#[from] MhError),
}

/// A Mobility Header message with the addresses around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnPacketRepr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    pub home: HomeAddressIn,
    pub mh: MhRepr,
}

impl MnPacketRepr {
    /// A Binding Update from the care-of address to the home agent.
    pub fn binding_update(coa: Ipv6Addr, ha: Ipv6Addr, hoa: Ipv6Addr, mh: MhRepr) -> Self {
        MnPacketRepr {
            src: coa,
            dst: ha,
            hop_limit: 64,
            home: HomeAddressIn::DestinationOption(hoa),
            mh,
        }
    }

    /// A Binding Acknowledgement from the home agent to the care-of address.
    pub fn binding_ack(ha: Ipv6Addr, coa: Ipv6Addr, hoa: Ipv6Addr, mh: MhRepr) -> Self {
        MnPacketRepr {
            src: ha,
            dst: coa,
            hop_limit: 64,
            home: HomeAddressIn::Type2Routing(hoa),
            mh,
        }
    }

    /// The home address, wherever the packet names it.
    pub fn home_address(&self) -> Option<Ipv6Addr> {
        match self.home {
            HomeAddressIn::Nowhere => None,
            HomeAddressIn::DestinationOption(a) | HomeAddressIn::Type2Routing(a) => Some(a),
        }
    }

    /// The source and destination of the checksum's pseudo-header.
    pub fn checksum_addresses(&self) -> (Ipv6Addr, Ipv6Addr) {
        match self.home {
            HomeAddressIn::Nowhere => (self.src, self.dst),
            HomeAddressIn::DestinationOption(hoa) => (hoa, self.dst),
            HomeAddressIn::Type2Routing(hoa) => (self.src, hoa),
        }
    }

    /// Parses a whole IPv6 packet.
    pub fn parse(packet: &[u8]) -> Result<MnPacketRepr, MnPacketError> {
        let ip = Ipv6Packet::new_checked(packet).map_err(|_| MnPacketError::NotIpv6)?;
        if ip.version() != 6 || ip.total_len() != packet.len() {
            return Err(MnPacketError::NotIpv6);
        }
        Self::parse_payload(
            ip.src_addr(),
            ip.dst_addr(),
            ip.hop_limit(),
            u8::from(ip.next_header()),
            ip.payload(),
        )
    }

    /// Parses what follows the IPv6 header (what a raw socket of protocol 43
    /// or 60 reads), given the header's fields.
    pub fn parse_payload(
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        next_header: u8,
        payload: &[u8],
    ) -> Result<MnPacketRepr, MnPacketError> {
        let (home, next_header, rest) = match next_header {
            IPPROTO_DSTOPTS => {
                let (hoa, len) = HomeAddressRepr::parse(payload)?;
                let rest = payload.get(len..).ok_or(MnPacketError::NotIpv6)?;
                (
                    HomeAddressIn::DestinationOption(hoa.home_address),
                    hoa.next_header,
                    rest,
                )
            }
            IPPROTO_ROUTING => {
                let (hoa, next_header) = parse_type2(payload)?;
                let rest = payload
                    .get(TYPE2_HEADER_LEN..)
                    .ok_or(MnPacketError::NotIpv6)?;
                (HomeAddressIn::Type2Routing(hoa), next_header, rest)
            }
            other => (HomeAddressIn::Nowhere, other, payload),
        };
        if next_header != IPPROTO_MH {
            return Err(MnPacketError::NotMobility(next_header));
        }
        let mut repr = MnPacketRepr {
            src,
            dst,
            hop_limit,
            home,
            mh: MhRepr::Heartbeat(Default::default()),
        };
        let (ck_src, ck_dst) = repr.checksum_addresses();
        let mh = MhPacket::new_checked(rest)?;
        repr.mh = MhRepr::parse(&mh, &ck_src, &ck_dst)?;
        Ok(repr)
    }

    pub fn buffer_len(&self) -> usize {
        let ext = match self.home {
            HomeAddressIn::Nowhere => 0,
            HomeAddressIn::DestinationOption(_) => super::home_address::HOME_ADDRESS_HEADER_LEN,
            HomeAddressIn::Type2Routing(_) => TYPE2_HEADER_LEN,
        };
        IPV6_HEADER_LEN + ext + self.mh.buffer_len()
    }

    /// The whole packet, checksum filled.
    pub fn emit(&self) -> Vec<u8> {
        let mut out = vec![0; self.buffer_len()];
        let (first, ext_len) = match self.home {
            HomeAddressIn::Nowhere => (IPPROTO_MH, 0),
            HomeAddressIn::DestinationOption(hoa) => {
                let header = HomeAddressRepr {
                    next_header: IPPROTO_MH,
                    home_address: hoa,
                };
                header.emit(&mut out[IPV6_HEADER_LEN..]);
                (IPPROTO_DSTOPTS, header.buffer_len())
            }
            HomeAddressIn::Type2Routing(hoa) => {
                emit_type2(
                    hoa,
                    &mut out[IPV6_HEADER_LEN..IPV6_HEADER_LEN + TYPE2_HEADER_LEN],
                );
                (IPPROTO_ROUTING, TYPE2_HEADER_LEN)
            }
        };
        let ip = Ipv6Repr {
            src_addr: self.src,
            dst_addr: self.dst,
            next_header: IpProtocol::from(first),
            payload_len: out.len() - IPV6_HEADER_LEN,
            hop_limit: self.hop_limit,
        };
        ip.emit(&mut Ipv6Packet::new_unchecked(&mut out[..IPV6_HEADER_LEN]));
        let (ck_src, ck_dst) = self.checksum_addresses();
        let mh = &mut out[IPV6_HEADER_LEN + ext_len..];
        self.mh
            .emit(&mut MhPacket::new_unchecked(mh), &ck_src, &ck_dst);
        out
    }
}

/// The home address and next header of a Type 2 Routing Header, which must
/// have Segments Left 1 and Hdr Ext Len 2 (RFC 6275 6.4, 9.3.4).
fn parse_type2(bytes: &[u8]) -> Result<(Ipv6Addr, u8), MnPacketError> {
    let ext = Ipv6ExtHeader::new_checked(bytes).map_err(|_| MnPacketError::Routing("truncated"))?;
    if usize::from(ext.header_len()) != TYPE2_HEADER_LEN / 8 - 1 {
        return Err(MnPacketError::Routing("Hdr Ext Len must be 2"));
    }
    let header = Ipv6RoutingHeader::new_checked(ext.payload())
        .map_err(|_| MnPacketError::Routing("truncated"))?;
    match Ipv6RoutingRepr::parse(&header) {
        Ok(Ipv6RoutingRepr::Type2 {
            segments_left: 1,
            home_address,
        }) => Ok((home_address, u8::from(ext.next_header()))),
        Ok(Ipv6RoutingRepr::Type2 { .. }) => Err(MnPacketError::Routing("Segments Left must be 1")),
        _ => Err(MnPacketError::Routing("Routing Type must be 2")),
    }
}

fn emit_type2(hoa: Ipv6Addr, out: &mut [u8]) {
    let mut ext = Ipv6ExtHeader::new_unchecked(&mut out[..]);
    ext.set_next_header(IpProtocol::from(IPPROTO_MH));
    ext.set_header_len((TYPE2_HEADER_LEN / 8 - 1) as u8);
    let repr = Ipv6RoutingRepr::Type2 {
        segments_left: 1,
        home_address: hoa,
    };
    repr.emit(&mut Ipv6RoutingHeader::new_unchecked(ext.payload_mut()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{MobilityOptions, PbaRepr, PbaStatus, PbuRepr};

    const COA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa, 2, 0, 0, 0, 5);
    const HA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
    const HOA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 1, 0, 0, 0, 5);

    fn bu() -> MhRepr {
        MhRepr::Pbu(PbuRepr {
            sequence: 0x0102,
            ack: true,
            home_registration: true,
            lifetime_secs: 420,
            ..PbuRepr::default()
        })
    }

    fn ba() -> MhRepr {
        MhRepr::Pba(PbaRepr {
            status: PbaStatus::Accepted,
            key_mgmt: false,
            mobile_router: false,
            proxy: false,
            sequence: 0x0102,
            lifetime_secs: 420,
            options: MobilityOptions::default(),
        })
    }

    // The Binding Update by hand after the IPv6 header: the Destination
    // Options header, then the MH with the checksum zeroed.
    static BU_AFTER_IPV6: [u8; 40] = [
        135, 2, 1, 2, 0, 0, 201, 16, // DstOpt: nh MH, len 2, PadN(2), HoA option
        0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, // home address
        59, 1, 5, 0, // MH: Payload Proto 59, Header Len 1 (16 octets), BU, Reserved
        0, 0, 0x01, 0x02, // Checksum (zeroed here), Sequence 0x0102
        0xc0, 0x00, 0, 105, // A|H, Lifetime 105 units = 420 s
        1, 2, 0, 0, // PadN to the 8-octet boundary
    ];

    #[test]
    fn binding_update_by_hand() {
        let repr = MnPacketRepr::binding_update(COA, HA, HOA, bu());
        let bytes = repr.emit();
        assert_eq!(bytes.len(), 80);
        assert_eq!(bytes[6], IPPROTO_DSTOPTS, "next header of the IPv6 header");
        assert_eq!(&bytes[8..24], &COA.octets());
        let mut after = bytes[40..].to_vec();
        after[28..30].fill(0);
        assert_eq!(after, BU_AFTER_IPV6);
        // The checksum covers the home address as source, not the CoA.
        let mh = MhPacket::new_checked(&bytes[64..]).unwrap();
        assert!(mh.verify_checksum(&HOA, &HA));
        assert!(!mh.verify_checksum(&COA, &HA));
        assert_eq!(MnPacketRepr::parse(&bytes), Ok(repr));
    }

    #[test]
    fn binding_ack_by_hand() {
        let repr = MnPacketRepr::binding_ack(HA, COA, HOA, ba());
        let bytes = repr.emit();
        assert_eq!(bytes[6], IPPROTO_ROUTING);
        assert_eq!(
            &bytes[40..48],
            &[135, 2, 2, 1, 0, 0, 0, 0],
            "nh MH, len 2, type 2, segments left 1, reserved"
        );
        assert_eq!(&bytes[48..64], &HOA.octets());
        let mh = MhPacket::new_checked(&bytes[64..]).unwrap();
        assert!(
            mh.verify_checksum(&HA, &HOA),
            "final destination: the home address"
        );
        assert_eq!(MnPacketRepr::parse(&bytes), Ok(repr.clone()));
        // A raw socket of protocol 43 reads what follows the IPv6 header.
        let back = MnPacketRepr::parse_payload(HA, COA, 64, IPPROTO_ROUTING, &bytes[40..]);
        assert_eq!(back, Ok(repr));
    }

    #[test]
    fn refuses_bad_routing_headers_and_checksums() {
        let bytes = MnPacketRepr::binding_ack(HA, COA, HOA, ba()).emit();
        let mut left0 = bytes.clone();
        left0[43] = 0;
        assert_eq!(
            MnPacketRepr::parse(&left0),
            Err(MnPacketError::Routing("Segments Left must be 1"))
        );
        let mut type0 = bytes.clone();
        type0[42] = 0;
        assert!(matches!(
            MnPacketRepr::parse(&type0),
            Err(MnPacketError::Routing(_))
        ));
        let mut sum = bytes.clone();
        sum[70] ^= 1;
        assert_eq!(
            MnPacketRepr::parse(&sum),
            Err(MnPacketError::Mh(MhError::BadChecksum))
        );
        let bu = MnPacketRepr::binding_update(COA, HA, HOA, bu()).emit();
        let mut udp = bu.clone();
        udp[40] = 17;
        assert_eq!(
            MnPacketRepr::parse(&udp),
            Err(MnPacketError::NotMobility(17))
        );
    }

    #[test]
    fn every_truncation_and_mutation_is_an_error_not_a_panic() {
        let packets = [
            MnPacketRepr::binding_update(COA, HA, HOA, bu()).emit(),
            MnPacketRepr::binding_ack(HA, COA, HOA, ba()).emit(),
        ];
        let mut rng = crate::rng::SplitMix64::new(14);
        for p in &packets {
            for len in 0..p.len() {
                assert!(MnPacketRepr::parse(&p[..len]).is_err());
            }
            for _ in 0..20_000 {
                let mut m = p.clone();
                let at = rng.index(m.len());
                m[at] = rng.next_u64() as u8;
                let _ = MnPacketRepr::parse(&m);
                let _ = MnPacketRepr::parse_payload(HA, COA, 64, m[6], &m[40..]);
            }
        }
    }
}
