//! RADIUS as a policy store: every question becomes an Access-Request, every
//! answer arrives later through the core's datagrams and timers.
//!
//! Attributes sent (beside Message-Authenticator, first, and Service-Type =
//! Framed-User):
//!
//! | question  | User-Name | Calling-Station-Id                     | NAS-Identifier / NAS-IPv6-Address |
//! |-----------|-----------|----------------------------------------|-----------------------------------|
//! | Attach    | MN-ID     | the node's MAC, `52-54-00-AA-00-01` (RFC 3580 3.21) | the MAG's name / Proxy-CoA |
//! | Authorize | MN-ID     | the MAG's Proxy-CoA, `2001:db8:ff:1::2` | the LMA's name / LMAA            |
//!
//! The server tells a MAG's attachment request from the LMA's authorisation by
//! NAS-Identifier, and checks the MAC or the MAG in Calling-Station-Id (the
//! caller: the node on the access link, the MAG over the transport network).
//! Read from an Access-Accept: the home network prefixes from
//! PMIP6-Home-HN-Prefix (RFC 6572), Framed-IPv6-Prefix (RFC 3162) and
//! Delegated-IPv6-Prefix (RFC 4818), in that order, each once; the IPv4 home
//! address from Framed-IP-Address (RFC 2865 5.8; its "NAS chooses" values
//! 255.255.255.254 and .255 assign none). An Access-Reject's Reply-Message is
//! the refusal's reason.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ipnet::Ipv6Net;

use super::radius_client::{
    AccessRequest, Outcome, RadiusClient, RadiusConfig, RadiusConfigError, SendError,
};
use super::store::{Answer, Grant, Lookup, PolicyStore, Question, Refusal, Token};
use crate::Instant;
use crate::core::Tx;
use crate::counters::Counters;
use crate::mac::Mac;

pub struct RadiusStore {
    client: RadiusClient,
}

impl RadiusStore {
    pub fn new(cfg: RadiusConfig) -> Result<RadiusStore, RadiusConfigError> {
        Ok(RadiusStore {
            client: RadiusClient::new(cfg)?,
        })
    }

    pub fn client(&self) -> &RadiusClient {
        &self.client
    }

    fn counted(&mut self, answer: Answer) -> Answer {
        self.client.counters.bump(match &answer {
            Answer::Accept(_) => "aaa.accept",
            Answer::Refuse(refusal) => refusal.counter(),
        });
        answer
    }
}

/// RFC 3580 3.21's form of a MAC in Calling-Station-Id.
pub fn calling_station_mac(mac: &Mac) -> String {
    let [a, b, c, d, e, f] = mac.0;
    format!("{a:02X}-{b:02X}-{c:02X}-{d:02X}-{e:02X}-{f:02X}")
}

fn request_for(question: &Question<'_>) -> AccessRequest {
    let calling = match question {
        Question::Attach { mac, .. } => calling_station_mac(mac),
        Question::Authorize { mag, .. } => mag.to_string(),
    };
    AccessRequest {
        user_name: question.mn_id().to_string(),
        calling_station_id: Some(calling),
    }
}

fn answer_of(outcome: Outcome) -> Answer {
    match outcome {
        Outcome::Accept { reply, .. } => {
            let mut hnps: Vec<Ipv6Net> = Vec::new();
            for prefix in reply
                .home_hn_prefixes
                .iter()
                .chain(&reply.framed_ipv6_prefixes)
                .chain(&reply.delegated_ipv6_prefixes)
            {
                if !hnps.contains(prefix) {
                    hnps.push(*prefix);
                }
            }
            let nas_chooses = [Ipv4Addr::new(255, 255, 255, 254), Ipv4Addr::BROADCAST];
            Answer::Accept(Grant {
                hnps: Arc::from(hnps),
                pool: None,
                ipv4_home: reply.framed_ip_address.filter(|a| !nas_chooses.contains(a)),
            })
        }
        Outcome::Reject { server, reason } => Answer::Refuse(Refusal::Rejected {
            reason: format!("Access-Reject from {server}: {reason:?}"),
        }),
        Outcome::Unusable { server, reason } => Answer::Refuse(Refusal::Unusable {
            reason: format!("{server}: {reason}"),
        }),
        Outcome::Timeout {
            servers,
            transmissions,
        } => Answer::Refuse(Refusal::Unreachable {
            reason: format!("{transmissions} Access-Requests to {servers} server(s) unanswered"),
        }),
    }
}

impl PolicyStore for RadiusStore {
    fn lookup(&mut self, now: Instant, question: &Question<'_>, tx: &mut dyn Tx) -> Lookup {
        match self.client.send(now, request_for(question), tx) {
            Ok(token) => Lookup::Pending(token),
            Err(e) => {
                log::warn!("RADIUS: cannot ask about {}: {e}", question.mn_id());
                let reason = e.to_string();
                let refusal = match e {
                    SendError::Encode(_) => Refusal::Unusable { reason },
                    SendError::Busy | SendError::Random(_) => Refusal::Busy { reason },
                };
                Lookup::Ready(self.counted(Answer::Refuse(refusal)))
            }
        }
    }

    fn on_datagram(
        &mut self,
        _now: Instant,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Option<(Token, Answer)> {
        let (token, outcome) = self.client.on_datagram(from, datagram)?;
        Some((token, self.counted(answer_of(outcome))))
    }

    fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) -> Vec<(Token, Answer)> {
        let ended = self.client.on_timer(now, tx);
        ended
            .into_iter()
            .map(|(token, outcome)| (token, self.counted(answer_of(outcome))))
            .collect()
    }

    fn poll_at(&self) -> Option<Instant> {
        self.client.poll_at()
    }

    fn cancel(&mut self, token: Token) {
        self.client.cancel(token);
    }

    fn counters(&self) -> &Counters {
        &self.client.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Duration;
    use crate::aaa::radius_auth::build_reply;
    use crate::aaa::radius_client::RadiusServer;
    use crate::core::Sent;
    use crate::wire::{RadiusAttributeType as A, RadiusCode, RadiusPacket};

    fn store() -> RadiusStore {
        let server = RadiusServer {
            address: SocketAddr::from(([127, 0, 0, 1], 1812)),
            secret: b"s".to_vec(),
        };
        let mut cfg = RadiusConfig::new("lma", vec![server]);
        cfg.timeout = Duration::from_millis(10);
        cfg.max_timeout = Duration::from_millis(10);
        cfg.tries = 1;
        RadiusStore::new(cfg).unwrap()
    }

    fn calling_station(datagram: &[u8]) -> String {
        let packet = RadiusPacket::new_checked(datagram).unwrap();
        let attr = packet
            .attributes()
            .map(Result::unwrap)
            .find(|a| a.kind == A::CallingStationId)
            .unwrap();
        String::from_utf8(attr.value.to_vec()).unwrap()
    }

    #[test]
    fn questions_become_requests_and_outcomes_answers() {
        let mut s = store();
        let mut sent = Sent::default();
        let now = Instant::from_millis(0);
        let attach = Question::Attach {
            mn_id: "vm1@tapmip",
            mac: Mac([0x52, 0x54, 0, 0xaa, 0, 1]),
        };
        let Lookup::Pending(t1) = s.lookup(now, &attach, &mut sent) else {
            panic!("RADIUS answers later");
        };
        let mag = "2001:db8:ff:1::2".parse().unwrap();
        let authorize = Question::Authorize {
            mn_id: "vm1@tapmip",
            mag,
        };
        let Lookup::Pending(t2) = s.lookup(now, &authorize, &mut sent) else {
            panic!("RADIUS answers later");
        };
        let (server, r1) = sent.datagrams[0].clone();
        let r2 = sent.datagrams[1].1.clone();
        assert_eq!(calling_station(&r1), "52-54-00-AA-00-01");
        assert_eq!(calling_station(&r2), "2001:db8:ff:1::2");

        let p64 = [0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 1];
        let p56 = [0, 56, 0x20, 0x01, 0x0d, 0xb8, 0, 2, 0];
        let attrs: [(A, &[u8]); 4] = [
            (A::FramedIpv6Prefix, &p64),
            (A::DelegatedIpv6Prefix, &p56),
            (A::Pmip6HomeHnPrefix, &p64),
            (A::FramedIpAddress, &[255, 255, 255, 254]),
        ];
        let accept = build_reply(&r2, RadiusCode::AccessAccept, &attrs, true, b"s").unwrap();
        let (token, answer) = s.on_datagram(now, server, &accept).unwrap();
        assert_eq!(token, t2);
        let want: Vec<Ipv6Net> = vec![
            "2001:db8:1:1::/64".parse().unwrap(),
            "2001:db8:2::/56".parse().unwrap(),
        ];
        assert_eq!(
            answer,
            Answer::Accept(Grant {
                hnps: Arc::from(want),
                pool: None,
                ipv4_home: None
            })
        );
        assert_eq!(s.poll_at(), Some(Instant::from_millis(10)));
        let ended = s.on_timer(Instant::from_millis(10), &mut sent);
        let [(token, Answer::Refuse(Refusal::Unreachable { reason }))] = &ended[..] else {
            panic!("{ended:?}");
        };
        assert_eq!(*token, t1);
        assert_eq!(reason, "1 Access-Requests to 1 server(s) unanswered");
        assert_eq!(s.counters().get("aaa.accept"), 1);
        assert_eq!(s.counters().get("aaa.refuse.unreachable"), 1);

        let Lookup::Pending(t3) = s.lookup(now, &authorize, &mut sent) else {
            panic!("RADIUS answers later");
        };
        let r3 = sent.datagrams.last().unwrap().1.clone();
        let reject = build_reply(
            &r3,
            RadiusCode::AccessReject,
            &[(A::ReplyMessage, b"no")],
            true,
            b"s",
        )
        .unwrap();
        let (token, answer) = s.on_datagram(now, server, &reject).unwrap();
        assert_eq!(token, t3);
        assert_eq!(
            answer.clone(),
            Answer::Refuse(Refusal::Rejected {
                reason: "Access-Reject from 127.0.0.1:1812: \"no\"".into()
            })
        );
        let Answer::Refuse(refusal) = answer else {
            unreachable!()
        };
        assert_eq!(
            refusal.to_string(),
            "rejected: Access-Reject from 127.0.0.1:1812: \"no\""
        );
    }
}
