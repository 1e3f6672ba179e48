//! The policy file as a store: answers at once, from [`Policy`] (today's
//! behaviour of the LMA and the MAGs).

use std::sync::Arc;

use super::store::{Answer, Grant, Lookup, PolicyStore, Question, Refusal};
use crate::Instant;
use crate::core::Tx;
use crate::counters::Counters;
use crate::policy::Policy;

pub struct FileStore {
    policy: Policy,
    /// The asking router's name, matched against a node's `mags` on attach.
    name: String,
    /// One grant per policy node, in `policy.nodes` order, built once so a
    /// lookup on the PBU path allocates nothing.
    grants: Vec<Grant>,
    counters: Counters,
}

impl FileStore {
    /// A store answering from `policy` for the router called `name`.
    pub fn new(policy: Policy, name: &str) -> FileStore {
        let grants = policy
            .nodes
            .iter()
            .map(|node| Grant {
                hnps: Arc::from(&node.hnps[..]),
                pool: node.pool.as_deref().map(Arc::from),
                ipv4_home: None,
            })
            .collect();
        FileStore {
            policy,
            name: name.to_string(),
            grants,
            counters: Counters::default(),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn decide(&self, question: &Question<'_>) -> Answer {
        let Some(index) = self.policy.node_index(question.mn_id()) else {
            return Answer::Refuse(Refusal::UnknownNode);
        };
        let (Some(node), Some(grant)) = (self.policy.nodes.get(index), self.grants.get(index))
        else {
            return Answer::Refuse(Refusal::UnknownNode);
        };
        let allowed = match question {
            Question::Attach { mac, .. } => {
                if node.mac != *mac {
                    return Answer::Refuse(Refusal::Rejected {
                        reason: format!("{mac} is not the MAC of {} ({})", node.mn_id, node.mac),
                    });
                }
                node.mags.is_empty() || node.mags.contains(&self.name)
            }
            Question::Authorize { mag, .. } => {
                let Some(entry) = self.policy.mag_by_address(mag) else {
                    return Answer::Refuse(Refusal::UnknownMag);
                };
                self.policy.may_serve(node, entry)
            }
        };
        if allowed {
            Answer::Accept(grant.clone())
        } else {
            Answer::Refuse(Refusal::MagNotAllowed)
        }
    }
}

impl PolicyStore for FileStore {
    fn lookup(&mut self, _now: Instant, question: &Question<'_>, _tx: &mut dyn Tx) -> Lookup {
        let answer = self.decide(question);
        self.counters.bump(match &answer {
            Answer::Accept(_) => "aaa.accept",
            Answer::Refuse(refusal) => refusal.counter(),
        });
        Lookup::Ready(answer)
    }

    fn counters(&self) -> &Counters {
        &self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Sent;
    use crate::mac::Mac;

    const POLICY: &str = r#"
[[mag]]
name = "mag1"
address = "2001:db8:ff:1::2"

[[mag]]
name = "mag2"
address = "2001:db8:ff:2::2"

[pool.vms]
prefix = "2001:db8:100::/48"

[[node]]
mn_id = "vm1@tapmip"
mac = "52:54:00:aa:00:01"
hnps = ["2001:db8:1:1::/64"]
mags = ["mag1"]

[[node]]
mn_id = "vm2@tapmip"
mac = "52:54:00:aa:00:02"
pool = "vms"
"#;

    fn ask(store: &mut FileStore, question: Question<'_>) -> Answer {
        let mut sent = Sent::default();
        let now = Instant::from_millis(0);
        match store.lookup(now, &question, &mut sent) {
            Lookup::Ready(answer) => {
                assert!(sent.datagrams.is_empty() && sent.frames.is_empty());
                answer
            }
            Lookup::Pending(token) => panic!("the file store answers at once, not {token}"),
        }
    }

    #[test]
    fn answers_at_once_as_the_policy_says() {
        let policy = Policy::parse(POLICY, "p.toml").unwrap();
        let mut lma = FileStore::new(policy.clone(), "lma");
        let mag1 = "2001:db8:ff:1::2".parse().unwrap();
        let mag2 = "2001:db8:ff:2::2".parse().unwrap();
        let stranger = "2001:db8:ff:9::2".parse().unwrap();
        let Answer::Accept(grant) = ask(
            &mut lma,
            Question::Authorize {
                mn_id: "vm1@tapmip",
                mag: mag1,
            },
        ) else {
            panic!("vm1 at mag1 is in the policy");
        };
        assert_eq!(grant.hnps[..], ["2001:db8:1:1::/64".parse().unwrap()]);
        assert_eq!(grant.pool, None);
        let vm2 = ask(
            &mut lma,
            Question::Authorize {
                mn_id: "vm2@tapmip",
                mag: mag2,
            },
        );
        assert!(
            matches!(vm2, Answer::Accept(Grant { ref pool, .. }) if pool.as_deref() == Some("vms"))
        );
        for (mn_id, mag, refusal) in [
            ("vm1@tapmip", mag2, Refusal::MagNotAllowed),
            ("vm1@tapmip", stranger, Refusal::UnknownMag),
            ("vm9@tapmip", mag1, Refusal::UnknownNode),
        ] {
            let got = ask(&mut lma, Question::Authorize { mn_id, mag });
            assert_eq!(got, Answer::Refuse(refusal), "{mn_id} at {mag}");
        }
        assert_eq!(lma.counters().get("aaa.accept"), 2);
        assert_eq!(lma.counters().get("aaa.refuse.unknown_mag"), 1);

        let mut mag2_store = FileStore::new(policy, "mag2");
        let vm1_mac = Mac([0x52, 0x54, 0, 0xaa, 0, 1]);
        let attach = |mn_id, mac| Question::Attach { mn_id, mac };
        assert_eq!(
            ask(&mut mag2_store, attach("vm1@tapmip", vm1_mac)),
            Answer::Refuse(Refusal::MagNotAllowed)
        );
        assert!(matches!(
            ask(
                &mut mag2_store,
                attach("vm2@tapmip", Mac([0x52, 0x54, 0, 0xaa, 0, 2]))
            ),
            Answer::Accept(_)
        ));
        let Answer::Refuse(wrong_mac) = ask(&mut mag2_store, attach("vm2@tapmip", vm1_mac)) else {
            panic!("vm2 with vm1's MAC must be refused");
        };
        assert_eq!(
            wrong_mac.to_string(),
            "rejected: 52:54:00:aa:00:01 is not the MAC of vm2@tapmip (52:54:00:aa:00:02)"
        );
    }
}
