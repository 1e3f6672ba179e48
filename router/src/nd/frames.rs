//! Neighbor Discovery frames: Ethernet + IPv6 + ICMPv6 RS, RA, NS, NA and Redirect
//! (RFC 4861 section 4), built and validated (sections 6.1, 7.1, 8.1) on top of
//! smoltcp's wire module.
//!
//! smoltcp's `NdiscRepr` keeps a single Prefix Information option, so the RA is
//! assembled here: its fixed header through `NdiscRepr`, then one option per prefix.
//!
//! ```text
//! Router Advertisement (RFC 4861 4.2)
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Cur Hop Limit |M|O|  Reserved |       Router Lifetime         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Reachable Time                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                          Retrans Timer                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Options: Source Link-layer Address, MTU, Prefix Information (repeated) ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-
//!
//! Prefix Information option (RFC 4861 4.6.2), 32 bytes
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type=3    |   Length=4    | Prefix Length |L|A| Reserved1 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Valid Lifetime                        |
//! |                       Preferred Lifetime                      |
//! |                           Reserved2                           |
//! |                     Prefix (16 bytes)                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::{PrefixInfo, RaParams};
use crate::Duration;
use crate::mac::Mac;
use ipnet::Ipv6Net;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ETHERNET_HEADER_LEN, EthernetFrame, EthernetProtocol, EthernetRepr, IPV6_HEADER_LEN,
    Icmpv6Message, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv6Packet, Ipv6Repr, NdiscNeighborFlags,
    NdiscOption, NdiscOptionRepr, NdiscOptionType, NdiscPrefixInfoFlags, NdiscPrefixInformation,
    NdiscRepr, NdiscRouterFlags, RawHardwareAddress,
};
use std::net::Ipv6Addr;

/// Every ND message is sent with, and must arrive with, this hop limit (RFC 4861 6.1, 7.1).
pub const ND_HOP_LIMIT: u8 = 255;
/// ff02::1
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// ff02::2
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

mod field {
    /// Length of the fixed part of an RA, options excluded (RFC 4861 4.2).
    pub const RA_LEN: usize = 16;
    /// An Ethernet address in a link-layer address option fills exactly 8 bytes.
    pub const ETHERNET_LLAO_UNITS: u8 = 1;
    pub const PREFIX_OPTION_LEN: usize = 32;
}

/// Why an ND frame was refused. [`NdError::counter`] names it for [`crate::counters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NdError {
    #[error("ethernet: frame shorter than its header")]
    TruncatedEthernet,
    #[error("ethernet: ethertype {0:#06x} is not IPv6")]
    NotIpv6(u16),
    #[error("ipv6: header or payload length beyond the frame")]
    TruncatedIpv6,
    #[error("ipv6: version field is {0}, not 6")]
    Version(u8),
    #[error("ipv6: next header {0} is not ICMPv6")]
    NotIcmpv6(u8),
    #[error("ipv6: hop limit {0} is not 255 (RFC 4861 6.1.1, 7.1.1)")]
    HopLimit(u8),
    #[error("icmpv6: message shorter than its type requires")]
    TruncatedIcmpv6,
    #[error("icmpv6: type {0} is not a Neighbor Discovery message")]
    NotNd(u8),
    #[error("icmpv6: checksum mismatch")]
    Checksum,
    #[error("icmpv6: code {0} is not 0")]
    Code(u8),
    #[error("option at byte {offset}: length zero or beyond the message")]
    OptionLength { offset: usize },
    #[error("option at byte {offset}: link-layer address is not one Ethernet address")]
    LinkLayerAddrLength { offset: usize },
    #[error("target {0} is a multicast address")]
    MulticastTarget(Ipv6Addr),
    #[error("NS from :: carries a source link-layer address option (RFC 4861 7.1.1)")]
    DadWithSllao,
    #[error("NS from :: sent to {0}, not to a solicited-node address (RFC 4861 7.1.1)")]
    DadDestination(Ipv6Addr),
    #[error("RS from :: carries a source link-layer address option (RFC 4861 6.1.1)")]
    UnspecifiedRsWithSllao,
    #[error("RA source {0} is not link-local (RFC 4861 6.1.2)")]
    RaSource(Ipv6Addr),
    #[error("NA to multicast {0} has the solicited flag set (RFC 4861 7.1.2)")]
    SolicitedMulticastNa(Ipv6Addr),
}

impl NdError {
    /// The counter under which a dropped frame is recorded.
    pub fn counter(&self) -> &'static str {
        match self {
            NdError::TruncatedEthernet | NdError::TruncatedIpv6 | NdError::TruncatedIcmpv6 => {
                "nd.drop.truncated"
            }
            NdError::NotIpv6(_) | NdError::NotIcmpv6(_) | NdError::NotNd(_) => "nd.drop.not_nd",
            NdError::Version(_) => "nd.drop.ip_version",
            NdError::HopLimit(_) => "nd.drop.hop_limit",
            NdError::Checksum => "nd.drop.bad_checksum",
            NdError::Code(_) => "nd.drop.icmp_code",
            NdError::OptionLength { .. } | NdError::LinkLayerAddrLength { .. } => {
                "nd.drop.option_length"
            }
            NdError::MulticastTarget(_) => "nd.drop.multicast_target",
            NdError::DadWithSllao | NdError::DadDestination(_) => "nd.drop.bad_dad_ns",
            NdError::UnspecifiedRsWithSllao => "nd.drop.bad_rs",
            NdError::RaSource(_) => "nd.drop.bad_ra_source",
            NdError::SolicitedMulticastNa(_) => "nd.drop.bad_na_flags",
        }
    }
}

/// The link-layer and IP addresses of one ND frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addressing {
    pub src_mac: Mac,
    pub dst_mac: Mac,
    pub src_ip: Ipv6Addr,
    pub dst_ip: Ipv6Addr,
}

/// Flags of a Neighbor Advertisement (RFC 4861 4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NaFlags {
    pub router: bool,
    pub solicited: bool,
    pub override_: bool,
}

impl NaFlags {
    fn to_smoltcp(self) -> NdiscNeighborFlags {
        let mut flags = NdiscNeighborFlags::empty();
        flags.set(NdiscNeighborFlags::ROUTER, self.router);
        flags.set(NdiscNeighborFlags::SOLICITED, self.solicited);
        flags.set(NdiscNeighborFlags::OVERRIDE, self.override_);
        flags
    }

    fn from_smoltcp(flags: NdiscNeighborFlags) -> Self {
        NaFlags {
            router: flags.contains(NdiscNeighborFlags::ROUTER),
            solicited: flags.contains(NdiscNeighborFlags::SOLICITED),
            override_: flags.contains(NdiscNeighborFlags::OVERRIDE),
        }
    }
}

/// A validated ND message. Link-layer address options are Ethernet addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdMessage {
    RouterSolicit {
        sllao: Option<Mac>,
    },
    RouterAdvert {
        params: RaParams,
        sllao: Option<Mac>,
    },
    NeighborSolicit {
        target: Ipv6Addr,
        sllao: Option<Mac>,
    },
    NeighborAdvert {
        flags: NaFlags,
        target: Ipv6Addr,
        tllao: Option<Mac>,
    },
    Redirect {
        target: Ipv6Addr,
        destination: Ipv6Addr,
    },
}

/// A validated ND frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdFrame {
    pub addr: Addressing,
    pub message: NdMessage,
}

impl NdFrame {
    /// Parses and validates a whole Ethernet frame per RFC 4861 6.1, 7.1 and 8.1.
    pub fn parse(frame: &[u8]) -> Result<NdFrame, NdError> {
        let eth = EthernetFrame::new_checked(frame).map_err(|_| NdError::TruncatedEthernet)?;
        if eth.ethertype() != EthernetProtocol::Ipv6 {
            return Err(NdError::NotIpv6(u16::from(eth.ethertype())));
        }
        let ip = Ipv6Packet::new_checked(eth.payload()).map_err(|_| NdError::TruncatedIpv6)?;
        if ip.version() != 6 {
            return Err(NdError::Version(ip.version()));
        }
        if ip.next_header() != IpProtocol::Icmpv6 {
            return Err(NdError::NotIcmpv6(u8::from(ip.next_header())));
        }
        if ip.hop_limit() != ND_HOP_LIMIT {
            return Err(NdError::HopLimit(ip.hop_limit()));
        }
        let addr = Addressing {
            src_mac: eth.src_addr().into(),
            dst_mac: eth.dst_addr().into(),
            src_ip: ip.src_addr(),
            dst_ip: ip.dst_addr(),
        };
        let message = parse_icmp(&addr, ip.payload())?;
        Ok(NdFrame { addr, message })
    }
}

fn parse_icmp(addr: &Addressing, payload: &[u8]) -> Result<NdMessage, NdError> {
    let msg_type = payload
        .first()
        .map(|t| Icmpv6Message::from(*t))
        .ok_or(NdError::TruncatedIcmpv6)?;
    if !msg_type.is_ndisc() {
        return Err(NdError::NotNd(u8::from(msg_type)));
    }
    // smoltcp's length check stops at the fixed header of each type; the ND
    // minimum lengths of RFC 4861 are the same.
    let icmp = Icmpv6Packet::new_checked(payload).map_err(|_| NdError::TruncatedIcmpv6)?;
    if !icmp.verify_checksum(&addr.src_ip, &addr.dst_ip) {
        return Err(NdError::Checksum);
    }
    if icmp.msg_code() != 0 {
        return Err(NdError::Code(icmp.msg_code()));
    }
    let opts = Options::parse(icmp.payload(), icmp.header_len())?;
    let unspecified_src = addr.src_ip.is_unspecified();
    match msg_type {
        Icmpv6Message::RouterSolicit => {
            if unspecified_src && opts.sllao.is_some() {
                return Err(NdError::UnspecifiedRsWithSllao);
            }
            Ok(NdMessage::RouterSolicit { sllao: opts.sllao })
        }
        Icmpv6Message::RouterAdvert => {
            if !addr.src_ip.is_unicast_link_local() {
                return Err(NdError::RaSource(addr.src_ip));
            }
            let flags = icmp.router_flags();
            let params = RaParams {
                cur_hop_limit: icmp.current_hop_limit(),
                managed: flags.contains(NdiscRouterFlags::MANAGED),
                other: flags.contains(NdiscRouterFlags::OTHER),
                router_lifetime: u16::try_from(icmp.router_lifetime().secs()).unwrap_or(u16::MAX),
                reachable_time: millis_u32(icmp.reachable_time()),
                retrans_timer: millis_u32(icmp.retrans_time()),
                mtu: opts.mtu,
                prefixes: opts.prefixes,
            };
            Ok(NdMessage::RouterAdvert {
                params,
                sllao: opts.sllao,
            })
        }
        Icmpv6Message::NeighborSolicit => {
            let target = icmp.target_addr();
            if target.is_multicast() {
                return Err(NdError::MulticastTarget(target));
            }
            if unspecified_src {
                if opts.sllao.is_some() {
                    return Err(NdError::DadWithSllao);
                }
                if !is_solicited_node(&addr.dst_ip) {
                    return Err(NdError::DadDestination(addr.dst_ip));
                }
            }
            Ok(NdMessage::NeighborSolicit {
                target,
                sllao: opts.sllao,
            })
        }
        Icmpv6Message::NeighborAdvert => {
            let target = icmp.target_addr();
            if target.is_multicast() {
                return Err(NdError::MulticastTarget(target));
            }
            let flags = NaFlags::from_smoltcp(icmp.neighbor_flags());
            if addr.dst_ip.is_multicast() && flags.solicited {
                return Err(NdError::SolicitedMulticastNa(addr.dst_ip));
            }
            Ok(NdMessage::NeighborAdvert {
                flags,
                target,
                tllao: opts.tllao,
            })
        }
        _ => {
            let destination = icmp.dest_addr();
            if destination.is_multicast() {
                return Err(NdError::MulticastTarget(destination));
            }
            Ok(NdMessage::Redirect {
                target: icmp.target_addr(),
                destination,
            })
        }
    }
}

fn millis_u32(d: Duration) -> u32 {
    u32::try_from(d.total_millis()).unwrap_or(u32::MAX)
}

/// The options an ND message may carry, in any order (RFC 4861 4.6).
#[derive(Default)]
struct Options {
    sllao: Option<Mac>,
    tllao: Option<Mac>,
    mtu: Option<u32>,
    prefixes: Vec<PrefixInfo>,
}

impl Options {
    /// `base` is the offset of `data` in the ICMPv6 message, for error reports.
    fn parse(mut data: &[u8], base: usize) -> Result<Options, NdError> {
        let mut opts = Options::default();
        let mut offset = base;
        while !data.is_empty() {
            // new_checked also refuses a zero length, which RFC 4861 4.6 makes fatal.
            let opt =
                NdiscOption::new_checked(data).map_err(|_| NdError::OptionLength { offset })?;
            let len = usize::from(opt.data_len()) * 8;
            let is_llao = matches!(
                opt.option_type(),
                NdiscOptionType::SourceLinkLayerAddr | NdiscOptionType::TargetLinkLayerAddr
            );
            if is_llao && opt.data_len() != field::ETHERNET_LLAO_UNITS {
                return Err(NdError::LinkLayerAddrLength { offset });
            }
            // Options whose contents do not parse are ignored, as unknown ones are (4.6).
            match NdiscOptionRepr::parse(&opt) {
                Ok(NdiscOptionRepr::SourceLinkLayerAddr(a)) => opts.sllao = Some(ethernet(a)),
                Ok(NdiscOptionRepr::TargetLinkLayerAddr(a)) => opts.tllao = Some(ethernet(a)),
                Ok(NdiscOptionRepr::Mtu(mtu)) => opts.mtu = Some(mtu),
                Ok(NdiscOptionRepr::PrefixInformation(pi)) => {
                    opts.prefixes.extend(prefix_from_smoltcp(&pi));
                }
                _ => {}
            }
            data = data.get(len..).unwrap_or_default();
            offset += len;
        }
        Ok(opts)
    }
}

fn ethernet(raw: RawHardwareAddress) -> Mac {
    let mut bytes = [0u8; 6];
    for (dst, src) in bytes.iter_mut().zip(raw.as_bytes()) {
        *dst = *src;
    }
    Mac(bytes)
}

/// `None` for a prefix length above 128, which no prefix can have.
fn prefix_from_smoltcp(pi: &NdiscPrefixInformation) -> Option<PrefixInfo> {
    let prefix = Ipv6Net::new(pi.prefix, pi.prefix_len).ok()?;
    Some(PrefixInfo {
        prefix,
        on_link: pi.flags.contains(NdiscPrefixInfoFlags::ON_LINK),
        autonomous: pi.flags.contains(NdiscPrefixInfoFlags::ADDRCONF),
        valid_lifetime: u32::try_from(pi.valid_lifetime.secs()).unwrap_or(u32::MAX),
        preferred_lifetime: u32::try_from(pi.preferred_lifetime.secs()).unwrap_or(u32::MAX),
    })
}

fn prefix_to_smoltcp(p: &PrefixInfo) -> NdiscPrefixInformation {
    let mut flags = NdiscPrefixInfoFlags::empty();
    flags.set(NdiscPrefixInfoFlags::ON_LINK, p.on_link);
    flags.set(NdiscPrefixInfoFlags::ADDRCONF, p.autonomous);
    NdiscPrefixInformation {
        prefix_len: p.prefix.prefix_len(),
        flags,
        valid_lifetime: Duration::from_secs(u64::from(p.valid_lifetime)),
        preferred_lifetime: Duration::from_secs(u64::from(p.preferred_lifetime)),
        // Hosts must not see the host bits of a configured address (RFC 4861 4.6.2).
        prefix: p.prefix.network(),
    }
}

/// The solicited-node multicast address of `addr`: ff02::1:ff00:0/104 plus its
/// low 24 bits (RFC 4291 2.7.1).
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

pub fn is_solicited_node(addr: &Ipv6Addr) -> bool {
    addr.octets()[..13] == solicited_node(Ipv6Addr::UNSPECIFIED).octets()[..13]
}

/// The Ethernet address of an IPv6 multicast group: 33:33 and its low 32 bits (RFC 2464 7).
pub fn multicast_mac(addr: Ipv6Addr) -> Mac {
    let o = addr.octets();
    Mac([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// Wraps a whole IPv6 packet in an Ethernet header.
pub fn ethernet_ipv6(src_mac: Mac, dst_mac: Mac, packet: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; ETHERNET_HEADER_LEN + packet.len()];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: src_mac.into(),
        dst_addr: dst_mac.into(),
        ethertype: EthernetProtocol::Ipv6,
    }
    .emit(&mut eth);
    eth.payload_mut().copy_from_slice(packet);
    frame
}

/// Builds Ethernet + IPv6 headers around an ICMPv6 body of `icmp_len` bytes
/// written by `write`, then fills the ICMPv6 checksum.
fn nd_frame(
    addr: &Addressing,
    icmp_len: usize,
    write: impl FnOnce(&mut Icmpv6Packet<&mut [u8]>),
) -> Vec<u8> {
    let mut frame = vec![0u8; ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + icmp_len];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: addr.src_mac.into(),
        dst_addr: addr.dst_mac.into(),
        ethertype: EthernetProtocol::Ipv6,
    }
    .emit(&mut eth);
    let mut ip = Ipv6Packet::new_unchecked(eth.payload_mut());
    Ipv6Repr {
        src_addr: addr.src_ip,
        dst_addr: addr.dst_ip,
        next_header: IpProtocol::Icmpv6,
        payload_len: icmp_len,
        hop_limit: ND_HOP_LIMIT,
    }
    .emit(&mut ip);
    let mut icmp = Icmpv6Packet::new_unchecked(ip.payload_mut());
    write(&mut icmp);
    icmp.fill_checksum(&addr.src_ip, &addr.dst_ip);
    frame
}

fn build_ndisc(addr: &Addressing, repr: NdiscRepr<'_>) -> Vec<u8> {
    let icmp = Icmpv6Repr::Ndisc(repr);
    nd_frame(addr, icmp.buffer_len(), |packet| {
        icmp.emit(
            &addr.src_ip,
            &addr.dst_ip,
            packet,
            &ChecksumCapabilities::default(),
        );
    })
}

/// A Router Solicitation, with a SLLAO unless sent from `::` (RFC 4861 4.1).
pub fn build_rs(addr: &Addressing) -> Vec<u8> {
    let lladdr = (!addr.src_ip.is_unspecified()).then(|| addr.src_mac.into());
    build_ndisc(addr, NdiscRepr::RouterSolicit { lladdr })
}

/// A Neighbor Solicitation for `target`; `sllao` must be `None` for DAD (RFC 4861 4.3).
pub fn build_ns(addr: &Addressing, target: Ipv6Addr, sllao: Option<Mac>) -> Vec<u8> {
    build_ndisc(
        addr,
        NdiscRepr::NeighborSolicit {
            target_addr: target,
            lladdr: sllao.map(Into::into),
        },
    )
}

/// A Neighbor Advertisement for `target` (RFC 4861 4.4).
pub fn build_na(
    addr: &Addressing,
    target: Ipv6Addr,
    flags: NaFlags,
    tllao: Option<Mac>,
) -> Vec<u8> {
    build_ndisc(
        addr,
        NdiscRepr::NeighborAdvert {
            flags: flags.to_smoltcp(),
            target_addr: target,
            lladdr: tllao.map(Into::into),
        },
    )
}

/// A Router Advertisement carrying a SLLAO (`addr.src_mac`), the MTU option when
/// set and one Prefix Information option per prefix (RFC 4861 4.2).
pub fn build_ra(addr: &Addressing, params: &RaParams) -> Vec<u8> {
    let mut flags = NdiscRouterFlags::empty();
    flags.set(NdiscRouterFlags::MANAGED, params.managed);
    flags.set(NdiscRouterFlags::OTHER, params.other);
    let header = NdiscRepr::RouterAdvert {
        hop_limit: params.cur_hop_limit,
        flags,
        router_lifetime: Duration::from_secs(u64::from(params.router_lifetime)),
        reachable_time: Duration::from_millis(u64::from(params.reachable_time)),
        retrans_time: Duration::from_millis(u64::from(params.retrans_timer)),
        lladdr: Some(addr.src_mac.into()),
        mtu: params.mtu,
        prefix_info: None,
    };
    let header_len = header.buffer_len();
    let icmp_len = header_len + params.prefixes.len() * field::PREFIX_OPTION_LEN;
    nd_frame(addr, icmp_len, |packet| {
        header.emit(packet);
        let options = packet.payload_mut();
        let first_prefix = header_len - field::RA_LEN;
        let slots = options
            .get_mut(first_prefix..)
            .unwrap_or_default()
            .chunks_exact_mut(field::PREFIX_OPTION_LEN);
        for (slot, prefix) in slots.zip(&params.prefixes) {
            let mut opt = NdiscOption::new_unchecked(slot);
            NdiscOptionRepr::PrefixInformation(prefix_to_smoltcp(prefix)).emit(&mut opt);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC_A: Mac = Mac([0x02, 0, 0, 0, 0, 0x0a]);
    const MAC_B: Mac = Mac([0x02, 0, 0, 0, 0, 0x0b]);

    fn ll(last: u16) -> Ipv6Addr {
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, last)
    }

    fn prefix(s: &str) -> PrefixInfo {
        PrefixInfo {
            prefix: s.parse().unwrap(),
            on_link: true,
            autonomous: true,
            valid_lifetime: 86400,
            preferred_lifetime: 14400,
        }
    }

    fn params() -> RaParams {
        RaParams {
            cur_hop_limit: 64,
            managed: false,
            other: true,
            router_lifetime: 1800,
            reachable_time: 30_000,
            retrans_timer: 1_000,
            mtu: Some(1500),
            prefixes: vec![
                prefix("2001:db8:1::/64"),
                prefix("2001:db8:2::/64"),
                PrefixInfo {
                    on_link: false,
                    ..prefix("2001:db8:3::/48")
                },
            ],
        }
    }

    fn addr() -> Addressing {
        Addressing {
            src_mac: MAC_A,
            dst_mac: MAC_B,
            src_ip: ll(1),
            dst_ip: ll(2),
        }
    }

    /// The ICMPv6 part of a frame built here.
    fn icmp_bytes(frame: &[u8]) -> &[u8] {
        &frame[ETHERNET_HEADER_LEN + IPV6_HEADER_LEN..]
    }

    #[test]
    fn solicited_node_and_multicast_mac() {
        let a: Ipv6Addr = "2001:db8::12:3456:789a".parse().unwrap();
        let sn = solicited_node(a);
        assert_eq!(sn, "ff02::1:ff56:789a".parse::<Ipv6Addr>().unwrap());
        assert!(is_solicited_node(&sn));
        assert!(!is_solicited_node(&ALL_NODES));
        assert_eq!(multicast_mac(sn), Mac([0x33, 0x33, 0xff, 0x56, 0x78, 0x9a]));
    }

    #[test]
    fn ra_with_three_prefixes_round_trips() {
        let frame = build_ra(&addr(), &params());
        let parsed = NdFrame::parse(&frame).unwrap();
        assert_eq!(parsed.addr, addr());
        assert_eq!(
            parsed.message,
            NdMessage::RouterAdvert {
                params: params(),
                sllao: Some(MAC_A)
            }
        );
        // Independently of our parser: smoltcp walks the same options and checks the sum.
        let icmp = Icmpv6Packet::new_checked(icmp_bytes(&frame)).unwrap();
        assert!(icmp.verify_checksum(&ll(1), &ll(2)));
        let mut data = icmp.payload();
        let mut types = vec![];
        while !data.is_empty() {
            let opt = NdiscOption::new_checked(data).unwrap();
            types.push(opt.option_type());
            data = &data[usize::from(opt.data_len()) * 8..];
        }
        assert_eq!(
            types,
            [
                NdiscOptionType::SourceLinkLayerAddr,
                NdiscOptionType::Mtu,
                NdiscOptionType::PrefixInformation,
                NdiscOptionType::PrefixInformation,
                NdiscOptionType::PrefixInformation,
            ]
        );
    }

    #[test]
    fn ra_prefix_has_host_bits_cleared() {
        let mut p = params();
        p.prefixes = vec![prefix("2001:db8:1::1/64")];
        let NdMessage::RouterAdvert { params, .. } =
            NdFrame::parse(&build_ra(&addr(), &p)).unwrap().message
        else {
            panic!("not an RA");
        };
        assert_eq!(
            params.prefixes[0].prefix,
            "2001:db8:1::/64".parse().unwrap()
        );
    }

    #[test]
    fn ns_na_rs_round_trip() {
        let target = ll(2);
        let ns = build_ns(&addr(), target, Some(MAC_A));
        assert_eq!(
            NdFrame::parse(&ns).unwrap().message,
            NdMessage::NeighborSolicit {
                target,
                sllao: Some(MAC_A)
            }
        );
        let flags = NaFlags {
            router: true,
            solicited: true,
            override_: false,
        };
        let na = build_na(&addr(), target, flags, Some(MAC_A));
        assert_eq!(
            NdFrame::parse(&na).unwrap().message,
            NdMessage::NeighborAdvert {
                flags,
                target,
                tllao: Some(MAC_A)
            }
        );
        let rs = build_rs(&addr());
        assert_eq!(
            NdFrame::parse(&rs).unwrap().message,
            NdMessage::RouterSolicit { sllao: Some(MAC_A) }
        );
    }

    fn ns_frame() -> Vec<u8> {
        build_ns(&addr(), ll(2), Some(MAC_A))
    }

    /// Rewrites a field of a built frame and fixes the checksum so only that field is wrong.
    fn patched(mut frame: Vec<u8>, at: usize, value: u8) -> Vec<u8> {
        frame[at] = value;
        let a = addr();
        let mut icmp = Icmpv6Packet::new_unchecked(&mut frame[ICMP..]);
        icmp.fill_checksum(&a.src_ip, &a.dst_ip);
        frame
    }

    const IP: usize = ETHERNET_HEADER_LEN;
    const ICMP: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN;

    #[test]
    fn rejects_malformed() {
        assert_eq!(
            NdFrame::parse(&patched(ns_frame(), IP + 7, 254)),
            Err(NdError::HopLimit(254))
        );
        let mut bad_sum = ns_frame();
        bad_sum[ICMP + 2] ^= 0xff;
        assert_eq!(NdFrame::parse(&bad_sum), Err(NdError::Checksum));
        assert_eq!(
            NdFrame::parse(&patched(ns_frame(), ICMP + 1, 1)),
            Err(NdError::Code(1))
        );
        // Option length 0 (RFC 4861 4.6 makes the whole message invalid).
        assert_eq!(
            NdFrame::parse(&patched(ns_frame(), ICMP + 25, 0)),
            Err(NdError::OptionLength { offset: 24 })
        );
        // Option length 2: runs past the end of the message.
        assert_eq!(
            NdFrame::parse(&patched(ns_frame(), ICMP + 25, 2)),
            Err(NdError::OptionLength { offset: 24 })
        );
        // Multicast target.
        assert_eq!(
            NdFrame::parse(&patched(ns_frame(), ICMP + 8, 0xff)),
            Err(NdError::MulticastTarget("ff80::2".parse().unwrap()))
        );
        let ns = ns_frame();
        for len in [0, 10, IP + 20, ICMP + 4, ICMP + 20] {
            assert!(NdFrame::parse(&ns[..len]).is_err(), "truncated to {len}");
        }
    }

    #[test]
    fn rejects_dad_ns_with_sllao_or_unicast_destination() {
        let dad = Addressing {
            src_ip: Ipv6Addr::UNSPECIFIED,
            dst_ip: solicited_node(ll(2)),
            ..addr()
        };
        assert_eq!(
            NdFrame::parse(&build_ns(&dad, ll(2), Some(MAC_A))),
            Err(NdError::DadWithSllao)
        );
        assert!(NdFrame::parse(&build_ns(&dad, ll(2), None)).is_ok());
        let unicast = Addressing {
            dst_ip: ll(2),
            ..dad
        };
        assert_eq!(
            NdFrame::parse(&build_ns(&unicast, ll(2), None)),
            Err(NdError::DadDestination(ll(2)))
        );
    }

    #[test]
    fn rejects_ra_from_global_and_solicited_multicast_na() {
        let global = Addressing {
            src_ip: "2001:db8::1".parse().unwrap(),
            ..addr()
        };
        assert!(matches!(
            NdFrame::parse(&build_ra(&global, &params())),
            Err(NdError::RaSource(_))
        ));
        let to_all = Addressing {
            dst_ip: ALL_NODES,
            ..addr()
        };
        let solicited = NaFlags {
            solicited: true,
            ..NaFlags::default()
        };
        assert_eq!(
            NdFrame::parse(&build_na(&to_all, ll(1), solicited, None)),
            Err(NdError::SolicitedMulticastNa(ALL_NODES))
        );
    }
}
