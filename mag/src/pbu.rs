//! Proxy Binding Updates the MAG sends and the Acknowledgements it accepts
//! (RFC 5213 6.9.1.1, 6.9.1.2), with the retransmission back-off of RFC 6275
//! 11.8 and the timers of RFC 6275 13 that RFC 5213 6.9.4 reuses.

use ipnet::Ipv6Net;
use router::Duration;
use router::mac::Mac;
use router::wire::{
    AccessTechnologyType, HandoffIndicator, Ipv4HomeAddressRequest, MobilityOptions, PbaRepr,
    PbuRepr,
};
use std::net::Ipv6Addr;

/// RFC 6275 13: InitialBindackTimeoutFirstReg, for a node's first registration.
pub const INITIAL_BINDACK_TIMEOUT_FIRST_REG: Duration = Duration::from_millis(1500);
/// RFC 6275 13: INITIAL_BINDACK_TIMEOUT, for refreshes.
pub const INITIAL_BINDACK_TIMEOUT: Duration = Duration::from_secs(1);
/// RFC 6275 13: MAX_BINDACK_TIMEOUT; a wait that would exceed it ends the exchange.
pub const MAX_BINDACK_TIMEOUT: Duration = Duration::from_secs(32);
/// Hop limit of the PBUs the MAG originates.
pub const PBU_HOP_LIMIT: u8 = 64;

/// What a PBU says about one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbuContent<'a> {
    pub mn_id: &'a str,
    /// `::/0` asks the LMA to assign prefixes (RFC 5213 6.9.1.1).
    pub hnps: &'a [Ipv6Net],
    pub handoff: HandoffIndicator,
    pub access_technology: AccessTechnologyType,
    pub mac: Mac,
    /// The MAG's link-local address on the node's access link (RFC 5213 8.6).
    pub mag_link_local: Option<Ipv6Addr>,
    pub timestamp: Option<u64>,
    /// Seconds; 0 de-registers.
    pub lifetime: u32,
    /// The IPv4 Home Address Request (RFC 5844 3.3.1): 0.0.0.0 asks the
    /// LMA to pick, an address asks for that one; `None` asks for no IPv4.
    pub ipv4: Option<Ipv4HomeAddressRequest>,
}

/// RFC 5213 6.9.1.1: A, H and P set; MN-ID, HNPs, HI, ATT always present
/// (no HNP for an IPv4-only node, which has option 36 instead, RFC 5844 3.2.2).
pub fn build_pbu(sequence: u16, c: &PbuContent<'_>) -> PbuRepr {
    PbuRepr {
        sequence,
        ack: true,
        home_registration: true,
        proxy: true,
        lifetime_secs: c.lifetime,
        options: MobilityOptions {
            mn_id: Some(c.mn_id.to_string()),
            hnps: c.hnps.to_vec(),
            handoff_indicator: Some(c.handoff),
            access_technology: Some(c.access_technology),
            mn_link_layer_id: Some(c.mac.as_bytes().to_vec()),
            link_local_address: c.mag_link_local,
            timestamp: c.timestamp,
            ipv4_home_address_request: c.ipv4,
            ..MobilityOptions::default()
        },
        ..PbuRepr::default()
    }
}

/// The next wait after `timeout` expired without an answer: doubled, up to
/// MAX_BINDACK_TIMEOUT, where it stays (RFC 6275 11.8: "MAY continue to send
/// these messages at this slower rate indefinitely").
pub fn backoff(timeout: Duration) -> Duration {
    (timeout * 2).min(MAX_BINDACK_TIMEOUT)
}

/// Whether `pba` answers one of the PBUs `sent` in the current exchange: same
/// sequence number and, when the PBU carried a timestamp, the same timestamp
/// echoed back (RFC 5213 5.3.5, 6.9.1.2). A refusal for a timestamp problem
/// carries the LMA's clock instead, so only the sequence number can match it.
pub fn answers(sent: &[(u16, Option<u64>)], pba: &PbaRepr) -> bool {
    sent.iter().any(|(seq, ts)| {
        *seq == pba.sequence
            && (ts.is_none() || !pba.status.is_accepted() || pba.options.timestamp == *ts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use router::wire::{MhPacket, MhRepr, PbaStatus, mh_ipv6_packet};
    use smoltcp::wire::Ipv6Packet;

    fn content(hnps: &[Ipv6Net]) -> PbuContent<'_> {
        PbuContent {
            mn_id: "vm1@tapmip",
            hnps,
            handoff: HandoffIndicator::InterMag,
            access_technology: AccessTechnologyType::Ethernet,
            mac: Mac([0x52, 0x54, 0, 0xaa, 0, 1]),
            mag_link_local: Some("fe80::1".parse().unwrap()),
            timestamp: Some(0x1234_5678_0000),
            lifetime: 3600,
            ipv4: None,
        }
    }

    fn pba(sequence: u16, status: PbaStatus, timestamp: Option<u64>) -> PbaRepr {
        PbaRepr {
            status,
            key_mgmt: false,
            mobile_router: false,
            proxy: true,
            sequence,
            lifetime_secs: 3600,
            options: MobilityOptions {
                timestamp,
                ..MobilityOptions::default()
            },
        }
    }

    #[test]
    fn pbu_round_trips_with_every_option() {
        let any = ["::/0".parse().unwrap()];
        let pbu = build_pbu(7, &content(&any));
        let coa = "2001:db8:ff:1::2".parse().unwrap();
        let lmaa: Ipv6Addr = "2001:db8:ff:1::1".parse().unwrap();
        let packet = mh_ipv6_packet(coa, lmaa, PBU_HOP_LIMIT, &MhRepr::Pbu(pbu.clone()));
        let ip = Ipv6Packet::new_checked(&packet[..]).unwrap();
        let mh = MhPacket::new_checked(ip.payload()).unwrap();
        let MhRepr::Pbu(back) = MhRepr::parse(&mh, &coa, &lmaa).unwrap() else {
            panic!("not a PBU");
        };
        assert_eq!(back, pbu);
        assert!(back.ack && back.home_registration && back.proxy && !back.mobile_router);
        assert_eq!(back.options.hnps, any);
        assert_eq!(
            back.options.mn_link_layer_id.as_deref(),
            Some(&[0x52, 0x54, 0, 0xaa, 0, 1][..])
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let mut waits = vec![INITIAL_BINDACK_TIMEOUT_FIRST_REG];
        for _ in 0..6 {
            waits.push(backoff(*waits.last().unwrap()));
        }
        let secs: Vec<f64> = waits
            .iter()
            .map(|d| d.total_millis() as f64 / 1e3)
            .collect();
        assert_eq!(secs, [1.5, 3.0, 6.0, 12.0, 24.0, 32.0, 32.0]);
    }

    #[test]
    fn matching_by_sequence_and_timestamp() {
        let sent = [(7, Some(100)), (8, Some(200))];
        assert!(answers(&sent, &pba(7, PbaStatus::Accepted, Some(100))));
        assert!(answers(&sent, &pba(8, PbaStatus::Accepted, Some(200))));
        assert!(!answers(&sent, &pba(8, PbaStatus::Accepted, Some(100))));
        assert!(!answers(&sent, &pba(8, PbaStatus::Accepted, None)));
        assert!(!answers(&sent, &pba(9, PbaStatus::Accepted, Some(200))));
        assert!(answers(
            &sent,
            &pba(8, PbaStatus::TimestampMismatch, Some(5))
        ));
        assert!(answers(&[(3, None)], &pba(3, PbaStatus::Accepted, None)));
    }
}
