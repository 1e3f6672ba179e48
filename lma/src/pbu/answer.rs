//! The Proxy Binding Acknowledgement (RFC 5213 5.3.6) and the words the LMA
//! logs about each PBU.

use super::ipv4::Ipv4Reply;
use super::order::Decision;
use crate::core::Lma;
use crate::ipv4_home::Ipv4Home;
use ipnet::Ipv6Net;
use router::Instant;
use router::timestamp::timestamp;
use router::wire::{MobilityOptions, PbaRepr, PbaStatus, PbuRepr};
use std::fmt;
use std::net::Ipv6Addr;

/// What a PBA says, apart from what it mirrors of the PBU.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reply<'a> {
    pub status: PbaStatus,
    /// The PBU's, or the last accepted one for status 135 (RFC 6275 9.5.1).
    pub sequence: u16,
    pub lifetime: u32,
    /// The entry's prefixes; `None` echoes the PBU's.
    pub hnps: Option<&'a [Ipv6Net]>,
    pub ipv4: Ipv4Reply,
}

/// A prefix list for log lines.
pub(crate) struct Prefixes<'a>(pub &'a [Ipv6Net]);

/// A node's home prefixes and IPv4 home address, for log lines.
pub(crate) struct Homes<'a>(pub &'a [Ipv6Net], pub Option<Ipv4Home>);

impl fmt::Display for Homes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Prefixes(self.0).fmt(f)?;
        match (self.0.is_empty(), self.1) {
            (_, None) => Ok(()),
            (true, Some(home)) => write!(f, "{}", home.address),
            (false, Some(home)) => write!(f, " {}", home.address),
        }
    }
}

impl fmt::Display for Prefixes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

pub(crate) fn pba_counter(status: PbaStatus) -> &'static str {
    use PbaStatus as S;
    match status {
        S::Accepted => "pba.sent.accepted",
        S::ReasonUnspecified => "pba.sent.reason_unspecified",
        S::InsufficientResources => "pba.sent.insufficient_resources",
        S::SequenceNumberOutOfWindow => "pba.sent.sequence_number_out_of_window",
        S::ProxyRegNotEnabled => "pba.sent.proxy_reg_not_enabled",
        S::NotLmaForThisMobileNode => "pba.sent.not_lma_for_this_mobile_node",
        S::MagNotAuthorizedForProxyReg => "pba.sent.mag_not_authorized_for_proxy_reg",
        S::NotAuthorizedForHomeNetworkPrefix => "pba.sent.not_authorized_for_home_network_prefix",
        S::TimestampMismatch => "pba.sent.timestamp_mismatch",
        S::TimestampLowerThanPrevAccepted => "pba.sent.timestamp_lower_than_prev_accepted",
        S::MissingHomeNetworkPrefixOption => "pba.sent.missing_home_network_prefix_option",
        S::BcePbuPrefixSetDoNotMatch => "pba.sent.bce_pbu_prefix_set_do_not_match",
        S::MissingMnIdentifierOption => "pba.sent.missing_mn_identifier_option",
        S::MissingHandoffIndicatorOption => "pba.sent.missing_handoff_indicator_option",
        S::MissingAccessTechTypeOption => "pba.sent.missing_access_tech_type_option",
        S::NotAuthorizedForIpv4MobilityService => {
            "pba.sent.not_authorized_for_ipv4_mobility_service"
        }
        S::NotAuthorizedForIpv4HomeAddress => "pba.sent.not_authorized_for_ipv4_home_address",
        S::NotAuthorizedForIpv6MobilityService => {
            "pba.sent.not_authorized_for_ipv6_mobility_service"
        }
        S::MultipleIpv4HomeAddressAssignmentNotSupported => {
            "pba.sent.multiple_ipv4_home_address_assignment_not_supported"
        }
        _ => "pba.sent.other",
    }
}

impl Lma {
    pub(crate) fn mag_name(&self, addr: &Ipv6Addr) -> &str {
        self.policy
            .mag_by_address(addr)
            .map_or("unknown MAG", |m| m.name.as_str())
    }

    /// RFC 5213 5.3.6: the PBA mirrors the PBU's identifying options, whose
    /// buffers it takes over. The Timestamp is the PBU's, except that status
    /// 156 carries the LMA's clock so the MAG can see how far off its own is.
    pub(crate) fn pba(&self, now: Instant, pbu: PbuRepr, a: Reply) -> PbaRepr {
        let options = pbu.options;
        let timestamp = match a.status {
            PbaStatus::TimestampMismatch => Some(timestamp(self.epoch, now)),
            _ => options.timestamp,
        };
        let mut hnps = options.hnps;
        if let Some(entry) = a.hnps {
            hnps.clear();
            hnps.extend_from_slice(entry);
        }
        let (ipv4_home_address_reply, ipv4_default_router) = a.ipv4.options();
        PbaRepr {
            status: a.status,
            key_mgmt: false,
            mobile_router: false,
            proxy: true,
            sequence: a.sequence,
            lifetime_secs: a.lifetime,
            options: MobilityOptions {
                // A PBU without an MN-ID gets an empty one back (5.3.6).
                mn_id: Some(options.mn_id.unwrap_or_default()),
                hnps,
                handoff_indicator: options.handoff_indicator,
                access_technology: options.access_technology,
                mn_link_layer_id: options.mn_link_layer_id,
                link_local_address: options.link_local_address,
                timestamp,
                ipv4_home_address_reply,
                ipv4_default_router,
                ..MobilityOptions::default()
            },
        }
    }

    pub(crate) fn pba_note(&self, pbu: &PbuRepr, status: PbaStatus, lifetime: u32) -> String {
        if !pbu.ack {
            return "no PBA (A flag clear)".into();
        }
        if status.is_accepted() {
            format!("PBA accepted lifetime {lifetime} s")
        } else {
            format!("PBA {status} ({})", u8::from(status))
        }
    }

    pub(crate) fn describe(&self, decision: Decision, mag: &Ipv6Addr, hnps: Homes<'_>) -> String {
        let to = self.mag_name(mag);
        match decision {
            Decision::Register => {
                format!("new binding, {hnps} -> tunnel to {to} (RFC 5213 5.3.2)")
            }
            Decision::Refresh(_) => format!("lifetime extended, {hnps} (RFC 5213 5.3.3)"),
            Decision::Handoff { from, .. } => format!(
                "handoff from {}, {hnps} -> tunnel to {to} (RFC 5213 5.4.2)",
                self.mag_name(&from)
            ),
            Decision::Resume { from, .. } => format!(
                "entry de-registered by {} taken over within MinDelayBeforeBCEDelete, keeps {hnps} -> tunnel to {to} (RFC 5213 5.3.5)",
                self.mag_name(&from)
            ),
            Decision::Deregister(_) => format!(
                "de-registration by the serving MAG: routes for {hnps} removed, entry kept {} ms (RFC 5213 5.3.5)",
                self.min_delay_before_bce_delete.total_millis()
            ),
            Decision::DeregisterUnknown => {
                "de-registration for a node without binding (RFC 5213 5.3.5)".into()
            }
            Decision::StaleDeregistration { serving, .. } => format!(
                "de-registration from a MAG that no longer serves the node ({} does): ignored (RFC 5213 5.3.5)",
                self.mag_name(&serving)
            ),
            Decision::Defer { serving, .. } => format!(
                "HI=4 while {} serves the node: waiting up to {} ms for its de-registration before answering (RFC 5213 5.4.1, MaxDelayBeforeNewBCEAssign)",
                self.mag_name(&serving),
                self.max_delay_before_new_bce_assign.total_millis()
            ),
        }
    }
}
