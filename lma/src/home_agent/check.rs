//! Whether a Binding Update may change the Binding Cache, decided before
//! anything changes (RFC 6275 9.5.1 and 10.3.1, in their order): what to drop
//! silently, what to refuse with which status, and what to accept.

use super::cache::HomeBinding;
use ipnet::Ipv6Net;
use router::policy::Policy;
use router::wire::{PbaStatus, PbuRepr};
use std::net::Ipv6Addr;

/// What the home agent does with one Binding Update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Dropped without an answer, counted under the name.
    Discard(&'static str),
    /// Answered with a Binding Acknowledgement of `status`; nothing changes.
    Refuse {
        status: PbaStatus,
        /// The sequence number the BA carries: the cache's for status 135.
        sequence: u16,
        why: &'static str,
    },
    /// A home registration (or its refresh, or a move) for `lifetime_secs`.
    Register { mn_id: String, lifetime_secs: u32 },
    /// Lifetime 0, or the care-of address is the home address (10.3.2).
    Deregister,
}

/// What the check needs to know beside the message.
pub(crate) struct Context<'a> {
    pub home_prefixes: &'a [Ipv6Net],
    pub policy: &'a Policy,
    pub max_lifetime_secs: u32,
    /// The entry for the home address, if one exists.
    pub existing: Option<&'a HomeBinding>,
}

/// An address a binding may name: unicast and routable (9.5.1).
fn routable(a: &Ipv6Addr) -> bool {
    !(a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.is_unicast_link_local())
}

/// Sequence numbers compare modulo 2^16 within half the space (9.5.1).
pub(crate) fn newer(seq: u16, last: u16) -> bool {
    let ahead = seq.wrapping_sub(last);
    ahead != 0 && ahead < 0x8000
}

/// Decides the fate of `bu` from `coa` for the home address the Home Address
/// option named (`None` when the packet had none).
pub(crate) fn check(
    ctx: &Context<'_>,
    coa: Ipv6Addr,
    home_address: Option<Ipv6Addr>,
    bu: &PbuRepr,
) -> Verdict {
    let refuse = |status, why| Verdict::Refuse {
        status,
        sequence: bu.sequence,
        why,
    };
    let Some(hoa) = home_address else {
        return Verdict::Discard("bu.drop.no_home_address_option");
    };
    if !bu.home_registration {
        // A correspondent registration needs return routability (5.2),
        // which this node does not offer: 9.5.1 drops it unauthorised.
        return Verdict::Discard("bu.drop.correspondent_registration");
    }
    if !routable(&coa) {
        return Verdict::Discard("bu.drop.bad_care_of_address");
    }
    if !routable(&hoa) {
        return Verdict::Discard("bu.drop.bad_home_address");
    }
    if bu.proxy {
        return refuse(
            PbaStatus::ProxyRegNotEnabled,
            "a proxy registration (RFC 5213 5.3.1): this is a home agent",
        );
    }
    if !ctx.home_prefixes.iter().any(|p| p.contains(&hoa)) {
        return refuse(PbaStatus::NotHomeSubnet, "not in a home prefix (10.3.1)");
    }
    let Some(node) = ctx
        .policy
        .nodes
        .iter()
        .find(|n| n.hnps.iter().any(|p| p.contains(&hoa)))
    else {
        return refuse(
            PbaStatus::NotHomeAgentForThisMobileNode,
            "no node of the policy has this home address (10.3.1)",
        );
    };
    if let Some(b) = ctx.existing
        && !newer(bu.sequence, b.sequence)
    {
        return Verdict::Refuse {
            status: PbaStatus::SequenceNumberOutOfWindow,
            sequence: b.sequence,
            why: "sequence number not newer than the last accepted (9.5.1)",
        };
    }
    if bu.lifetime_secs == 0 || coa == hoa {
        if ctx.existing.is_none() {
            return refuse(
                PbaStatus::NotHomeAgentForThisMobileNode,
                "a de-registration without a binding (10.3.2)",
            );
        }
        return Verdict::Deregister;
    }
    Verdict::Register {
        mn_id: node.mn_id.clone(),
        lifetime_secs: bu.lifetime_secs.min(ctx.max_lifetime_secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use router::Instant;

    const COA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa, 2, 0, 0, 0, 5);
    const HOA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 1, 0, 0, 0, 5);

    fn policy() -> Policy {
        Policy::parse(
            "[[node]]\nmn_id = \"vm1@tapmip\"\nmac = \"52:54:00:aa:00:01\"\nhnps = [\"2001:db8:1:1::/64\"]\n",
            "test",
        )
        .unwrap()
    }

    fn bu(sequence: u16, lifetime_secs: u32) -> PbuRepr {
        PbuRepr {
            sequence,
            ack: true,
            home_registration: true,
            lifetime_secs,
            ..PbuRepr::default()
        }
    }

    fn run(existing: Option<&HomeBinding>, hoa: Option<Ipv6Addr>, bu: &PbuRepr) -> Verdict {
        let policy = policy();
        let prefixes = ["2001:db8:1::/48".parse().unwrap()];
        let ctx = Context {
            home_prefixes: &prefixes,
            policy: &policy,
            max_lifetime_secs: 300,
            existing,
        };
        check(&ctx, COA, hoa, bu)
    }

    fn binding(sequence: u16) -> HomeBinding {
        HomeBinding {
            home_address: HOA,
            mn_id: "vm1@tapmip".into(),
            care_of: COA,
            sequence,
            lifetime_secs: 300,
            expires: Instant::from_secs(300),
            updates: 1,
            moves: 0,
        }
    }

    #[test]
    fn a_home_registration_is_accepted_with_the_lifetime_capped() {
        assert_eq!(
            run(None, Some(HOA), &bu(9, 3600)),
            Verdict::Register {
                mn_id: "vm1@tapmip".into(),
                lifetime_secs: 300
            }
        );
    }

    #[test]
    fn refusals_carry_the_rfc_status() {
        let status = |v: Verdict| match v {
            Verdict::Refuse { status, .. } => status,
            other => panic!("{other:?}"),
        };
        let outside = "2001:db8:9::5".parse().unwrap();
        assert_eq!(
            status(run(None, Some(outside), &bu(1, 60))),
            PbaStatus::NotHomeSubnet
        );
        let stranger = "2001:db8:1:7::5".parse().unwrap();
        assert_eq!(
            status(run(None, Some(stranger), &bu(1, 60))),
            PbaStatus::NotHomeAgentForThisMobileNode
        );
        let proxy = PbuRepr {
            proxy: true,
            ..bu(1, 60)
        };
        assert_eq!(
            status(run(None, Some(HOA), &proxy)),
            PbaStatus::ProxyRegNotEnabled
        );
        assert_eq!(
            status(run(None, Some(HOA), &bu(1, 0))),
            PbaStatus::NotHomeAgentForThisMobileNode
        );
    }

    #[test]
    fn an_old_sequence_number_is_refused_with_the_cached_one() {
        let b = binding(100);
        for seq in [100, 99, 100u16.wrapping_add(0x8000)] {
            assert_eq!(
                run(Some(&b), Some(HOA), &bu(seq, 60)),
                Verdict::Refuse {
                    status: PbaStatus::SequenceNumberOutOfWindow,
                    sequence: 100,
                    why: "sequence number not newer than the last accepted (9.5.1)"
                },
                "{seq}"
            );
        }
        assert!(matches!(
            run(Some(&binding(65535)), Some(HOA), &bu(3, 60)),
            Verdict::Register { .. }
        ));
        assert_eq!(run(Some(&b), Some(HOA), &bu(101, 0)), Verdict::Deregister);
    }

    #[test]
    fn what_9_5_1_drops_silently() {
        assert_eq!(
            run(None, None, &bu(1, 60)),
            Verdict::Discard("bu.drop.no_home_address_option")
        );
        let cn = PbuRepr {
            home_registration: false,
            ..bu(1, 60)
        };
        assert_eq!(
            run(None, Some(HOA), &cn),
            Verdict::Discard("bu.drop.correspondent_registration")
        );
        assert_eq!(
            run(None, Some("fe80::5".parse().unwrap()), &bu(1, 60)),
            Verdict::Discard("bu.drop.bad_home_address")
        );
    }
}
