//! The MAG's side of an access link (RFC 5213 6.6, 6.7, 6.8).
//!
//! Several nodes may share one access link, each with its own home network
//! prefixes, so the MAG never multicasts an RA with prefixes: each node gets
//! link-layer unicast RAs carrying exactly its own HNPs (RFC 5213 6.7 "per-MN
//! prefix"). Every MAG uses the same link-local and MAC address on its access
//! links, so a node that moves finds its default router unchanged
//! (RFC 5213 6.8, 6.9.3).

use ipnet::Ipv6Net;
use router::Duration;
use router::mac::Mac;
use router::nd::{PrefixInfo, RaParams};
use std::net::Ipv6Addr;

/// FixedMAGLinkLocalAddressOnAllAccessLinks (RFC 5213 9.1) as tapmip sets it.
pub const FIXED_LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
/// FixedMAGLinkLayerAddressOnAllAccessLinks (RFC 5213 9.1) as tapmip sets it.
pub const FIXED_MAC: Mac = Mac([0x02, 0x7a, 0x70, 0x00, 0x00, 0x01]);

/// The router lifetime of per-node RAs: RFC 4861 6.2.1's default of
/// 3 x MaxRtrAdvInterval, at least 30 s and at most the field's 9000 s limit.
pub fn router_lifetime(interval: Duration) -> u16 {
    let secs = (interval.total_millis() * 3).div_ceil(1000).clamp(30, 9000);
    u16::try_from(secs).unwrap_or(9000)
}

/// The RA one node gets: its HNPs with the on-link and autonomous flags, valid and
/// preferred for what is left of its binding (RFC 5213 6.7), and nothing else.
pub fn node_ra(hnps: &[Ipv6Net], lifetime_left: u32, interval: Duration, mtu: u32) -> RaParams {
    RaParams {
        cur_hop_limit: 64,
        managed: false,
        other: false,
        router_lifetime: router_lifetime(interval),
        reachable_time: 0,
        retrans_timer: 0,
        mtu: Some(mtu),
        prefixes: hnps
            .iter()
            .map(|prefix| PrefixInfo {
                prefix: *prefix,
                on_link: true,
                autonomous: prefix.prefix_len() == 64,
                valid_lifetime: lifetime_left,
                preferred_lifetime: lifetime_left,
            })
            .collect(),
    }
}

/// The IP destination of a node's RA: its link-local address when known, else
/// all-nodes; the Ethernet destination is the node's MAC either way.
pub fn ra_destination(link_local: Option<Ipv6Addr>) -> Ipv6Addr {
    link_local.unwrap_or(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_node_one_prefix_set() {
        let hnp: Ipv6Net = "2001:db8:1:1::/64".parse().unwrap();
        let ra = node_ra(&[hnp], 3000, Duration::from_secs(30), 1500);
        assert_eq!(ra.prefixes.len(), 1);
        let p = ra.prefixes[0];
        assert!(p.on_link && p.autonomous);
        assert_eq!((p.prefix, p.valid_lifetime), (hnp, 3000));
        assert_eq!(ra.router_lifetime, 90);
    }

    #[test]
    fn router_lifetime_bounds() {
        assert_eq!(router_lifetime(Duration::from_millis(500)), 30);
        assert_eq!(router_lifetime(Duration::from_secs(10_000)), 9000);
    }

    #[test]
    fn destination_prefers_link_local() {
        assert_eq!(ra_destination(None), "ff02::1".parse::<Ipv6Addr>().unwrap());
        let ll = "fe80::5".parse().unwrap();
        assert_eq!(ra_destination(Some(ll)), ll);
    }
}
