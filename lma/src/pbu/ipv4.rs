//! The IPv4 part of a PBU (RFC 5844 3.1.3): which address family a PBU is
//! served for, the IPv4 home address it gets, and the IPv4 Home Address Reply
//! (option 37) and Default-Router Address (option 38) its PBA carries.
//!
//! Signalling stays on IPv6: RFC 5844 section 4 lets PBUs and PBAs travel over
//! an IPv4 transport network (UDP, with NAT traversal), but every MAG here
//! reaches the LMA over IPv6, so only the node's traffic is IPv4 (carried in
//! the same IPv6-in-IPv6 tunnel, next header 4).
//!
//! What a PBU asks and what the node's profile allows:
//!
//! | PBU carries           | profile      | outcome                                     |
//! |-----------------------|--------------|---------------------------------------------|
//! | neither HNP nor 36    | any          | refused, 158 MISSING_HOME_NETWORK_PREFIX     |
//! | HNP only              | no IPv6      | refused, 172 NOT_AUTHORIZED_FOR_IPV6_...     |
//! | 36 only               | no IPv4      | refused, 170 NOT_AUTHORIZED_FOR_IPV4_...     |
//! | 36 only, address A    | A not given  | refused, 171 NOT_AUTHORIZED_FOR_IPV4_HOME... |
//! | HNP and 36            | no IPv4      | IPv6 served, 37 says 129 (prohibited)        |
//! | HNP and 36, address A | A not given  | IPv6 served, 37 says 130 (incorrect address) |
//! | 36, pool empty        | pool         | 37 says 132, or 130 INSUFFICIENT_RESOURCES   |
//! | 36 naming another     | the entry's  | refused, 173 MULTIPLE_IPV4_HOME_ADDRESS_...  |
//! |   address than the    |   address    |   (one IPv4 home address per node), or 171   |
//! |   entry holds         |              |   when the profile does not give it either   |
//!
//! A handoff keeps the entry's IPv4 home address as it keeps its HNPs.

use super::check::{Refusal, Request};
use super::order::Decision;
use crate::binding_cache::Binding;
use crate::core::Lma;
use crate::ipv4_home::{Ipv4Home, Ipv4Pools, Ipv4Refusal, policy_source};
use router::policy::NodeProfile;
use router::wire::{Ipv4HomeAddressReply, PbaStatus, PbuRepr};
use std::net::Ipv4Addr;

/// RFC 5844 3.3.2 IPv4 Home Address Reply status values.
pub(crate) const REPLY_SUCCESS: u8 = 0;
pub(crate) const REPLY_ADMINISTRATIVELY_PROHIBITED: u8 = 129;
pub(crate) const REPLY_INCORRECT_ADDRESS: u8 = 130;
pub(crate) const REPLY_DYNAMIC_NOT_AVAILABLE: u8 = 132;

/// What the LMA does about IPv4 for a PBU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ipv4Ask {
    /// No IPv4 Home Address Request option.
    NotAsked,
    /// Asked, but the node is not authorized for IPv4: the IPv6 part is served.
    Prohibited,
    /// Asked for `requested` (0.0.0.0: any).
    Asked(Ipv4Addr),
}

/// The reply option a PBA carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ipv4Reply {
    /// The PBU did not ask: no option 37.
    None,
    /// Option 37 with this failure status.
    Refused(u8),
    /// Option 37 with the entry's address and option 38 with its router.
    Granted(Ipv4Home),
}

impl Ipv4Reply {
    /// Options 37 and 38 for the PBA.
    pub(crate) fn options(&self) -> (Option<Ipv4HomeAddressReply>, Option<Ipv4Addr>) {
        match *self {
            Ipv4Reply::None => (None, None),
            Ipv4Reply::Refused(status) => (
                Some(Ipv4HomeAddressReply {
                    status,
                    prefix_len: 0,
                    address: Ipv4Addr::UNSPECIFIED,
                }),
                None,
            ),
            Ipv4Reply::Granted(home) => (
                Some(Ipv4HomeAddressReply {
                    status: REPLY_SUCCESS,
                    prefix_len: home.address.prefix_len(),
                    address: home.address.addr(),
                }),
                Some(home.router),
            ),
        }
    }
}

const fn refuse(status: PbaStatus, why: &'static str) -> Refusal {
    Refusal::new(status, why, "5.3.1, RFC 5844 3.1.3")
}

/// Which families `pbu` is served for: its IPv4 part, and whether its IPv6
/// part (the HNPs) is. Pure, like the rest of the 5.3.1 checks. A node the
/// policy file does not name (one the policy store answers for) has the
/// prefixes the store grants and no IPv4 home address.
pub(crate) fn ask(
    profile: Option<&NodeProfile>,
    pbu: &PbuRepr,
) -> Result<(Ipv4Ask, bool), Refusal> {
    use PbaStatus as S;
    let hnp = !pbu.options.hnps.is_empty();
    let ipv6 = hnp && profile.is_none_or(NodeProfile::has_ipv6);
    let ipv4 = profile.is_some_and(|p| p.ipv4.is_some());
    match (pbu.options.ipv4_home_address_request, ipv4) {
        (None, _) if !hnp => Err(Refusal::new(
            S::MissingHomeNetworkPrefixOption,
            "neither a Home Network Prefix nor an IPv4 Home Address Request option",
            "5.3.1",
        )),
        (None, _) if !ipv6 => Err(refuse(
            S::NotAuthorizedForIpv6MobilityService,
            "the node's profile gives no IPv6 home network prefix",
        )),
        (None, _) => Ok((Ipv4Ask::NotAsked, true)),
        (Some(_), false) if ipv6 => Ok((Ipv4Ask::Prohibited, true)),
        (Some(_), false) => Err(refuse(
            S::NotAuthorizedForIpv4MobilityService,
            "the node's profile gives no IPv4 home address",
        )),
        (Some(r), true) => Ok((Ipv4Ask::Asked(r.address), ipv6)),
    }
}

/// A refresh or handoff must not name another IPv4 home address than the
/// entry's: this LMA gives a node one.
pub(crate) fn same_address(
    req: &Request,
    entry: Option<&Binding>,
    decision: Decision,
    pools: &Ipv4Pools,
    profile: Option<&NodeProfile>,
) -> Result<(), Refusal> {
    let (Ipv4Ask::Asked(asked), Some(b)) = (req.ipv4, entry) else {
        return Ok(());
    };
    let Some(home) = b.ipv4 else { return Ok(()) };
    let deregistration = matches!(
        decision,
        Decision::Deregister(_) | Decision::StaleDeregistration { .. }
    );
    if asked.is_unspecified() || asked == home.address.addr() || deregistration {
        return Ok(());
    }
    let source = profile.and_then(policy_source);
    if source.is_some_and(|s| pools.authorizes(&s, asked)) {
        return Err(refuse(
            PbaStatus::MultipleIpv4HomeAddressAssignmentNotSupported,
            "the PBU names another IPv4 home address than the entry's, and a node has one",
        ));
    }
    Err(refuse(
        PbaStatus::NotAuthorizedForIpv4HomeAddress,
        "the PBU asks for an IPv4 home address the node's profile does not give",
    ))
}

impl Lma {
    /// The IPv4 home address for `req` and the reply the PBA carries: the
    /// entry's `current` one when it has one, else one drawn from the node's
    /// source. A PBU asking for IPv4 only is refused when no address can be
    /// given; one asking for both families is served IPv6 alone.
    pub(super) fn assign_ipv4(
        &mut self,
        req: &Request,
        current: Option<Ipv4Home>,
    ) -> Result<(Option<Ipv4Home>, Ipv4Reply), Refusal> {
        let asked = match req.ipv4 {
            Ipv4Ask::NotAsked => return Ok((current, Ipv4Reply::None)),
            Ipv4Ask::Prohibited => {
                return Ok((
                    current,
                    Ipv4Reply::Refused(REPLY_ADMINISTRATIVELY_PROHIBITED),
                ));
            }
            Ipv4Ask::Asked(a) => a,
        };
        if let Some(home) = current {
            return Ok((Some(home), Ipv4Reply::Granted(home)));
        }
        let source = self.policy.node_by_mn_id(req.mn_id).and_then(policy_source);
        let assigned = match &source {
            Some(source) => self.ipv4_pools.assign(source, asked),
            None => Err(Ipv4Refusal::NotThisAddress(asked)),
        };
        match assigned {
            Ok(home) => Ok((Some(home), Ipv4Reply::Granted(home))),
            Err(e) if req.ipv6 => {
                let status = match e {
                    Ipv4Refusal::NotThisAddress(_) => REPLY_INCORRECT_ADDRESS,
                    Ipv4Refusal::Exhausted => REPLY_DYNAMIC_NOT_AVAILABLE,
                };
                Ok((None, Ipv4Reply::Refused(status)))
            }
            Err(Ipv4Refusal::NotThisAddress(_)) => Err(refuse(
                PbaStatus::NotAuthorizedForIpv4HomeAddress,
                "the PBU asks for an IPv4 home address the node's profile does not give",
            )),
            Err(Ipv4Refusal::Exhausted) => Err(refuse(
                PbaStatus::InsufficientResources,
                "IPv4 home address pool exhausted",
            )),
        }
    }

    /// Gives a deleted entry's pooled IPv4 home address back.
    pub(super) fn release_ipv4(&mut self, mn_id: &str, home: &Ipv4Home) {
        if let Some(source) = self.policy.node_by_mn_id(mn_id).and_then(policy_source) {
            self.ipv4_pools.release(&source, home);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use router::policy::Policy;
    use router::wire::{Ipv4HomeAddressRequest, MobilityOptions};

    fn profile(extra: &str) -> NodeProfile {
        let text = format!("[[node]]\nmn_id = \"n\"\nmac = \"52:54:00:00:00:01\"\n{extra}\n");
        Policy::parse(&text, "p.toml").unwrap().nodes[0].clone()
    }

    fn pbu(hnp: bool, v4: bool) -> PbuRepr {
        PbuRepr {
            options: MobilityOptions {
                hnps: if hnp {
                    vec!["::/0".parse().unwrap()]
                } else {
                    vec![]
                },
                ipv4_home_address_request: v4.then_some(Ipv4HomeAddressRequest {
                    prefix_len: 0,
                    address: Ipv4Addr::UNSPECIFIED,
                }),
                ..MobilityOptions::default()
            },
            ..PbuRepr::default()
        }
    }

    fn status(r: Result<(Ipv4Ask, bool), Refusal>) -> u8 {
        u8::from(r.unwrap_err().status)
    }

    #[test]
    fn every_combination_of_request_and_profile() {
        let dual = profile("hnps = [\"2001:db8:1::/64\"]\nipv4 = \"10.1.1.5/24\"");
        let v6 = profile("hnps = [\"2001:db8:1::/64\"]");
        let v4 = profile("ipv4 = \"10.1.1.5/24\"");
        let any = Ipv4Ask::Asked(Ipv4Addr::UNSPECIFIED);
        let (dual, v6, v4) = (Some(&dual), Some(&v6), Some(&v4));
        assert_eq!(ask(dual, &pbu(true, true)), Ok((any, true)));
        assert_eq!(ask(dual, &pbu(true, false)), Ok((Ipv4Ask::NotAsked, true)));
        assert_eq!(ask(dual, &pbu(false, true)), Ok((any, false)));
        assert_eq!(status(ask(dual, &pbu(false, false))), 158);
        assert_eq!(ask(v6, &pbu(true, true)), Ok((Ipv4Ask::Prohibited, true)));
        assert_eq!(status(ask(v6, &pbu(false, true))), 170);
        assert_eq!(ask(v4, &pbu(false, true)), Ok((any, false)));
        assert_eq!(ask(v4, &pbu(true, true)), Ok((any, false)));
        assert_eq!(status(ask(v4, &pbu(true, false))), 172);
        // A node only the policy store knows: IPv6 as granted, no IPv4.
        assert_eq!(ask(None, &pbu(true, true)), Ok((Ipv4Ask::Prohibited, true)));
        assert_eq!(status(ask(None, &pbu(false, true))), 170);
    }

    #[test]
    fn the_reply_options() {
        let home = Ipv4Home {
            address: "10.1.1.5/24".parse().unwrap(),
            router: "10.1.1.1".parse().unwrap(),
        };
        let (reply, router) = Ipv4Reply::Granted(home).options();
        let reply = reply.unwrap();
        assert_eq!((reply.status, reply.prefix_len), (0, 24));
        assert_eq!(router, Some(home.router));
        let (reply, router) = Ipv4Reply::Refused(129).options();
        assert_eq!((reply.unwrap().status, router), (129, None));
        assert_eq!(Ipv4Reply::None.options(), (None, None));
    }
}
