//! A RADIUS client without I/O (RFC 2865, RFC 5080 2.2.1): Access-Requests in,
//! datagrams out through the core's [`Tx`], datagrams in, outcomes out, and
//! retransmission timers through [`RadiusClient::poll_at`].
//!
//! Each request goes to the preferred server (the last one that answered), is
//! retransmitted unchanged (same Identifier and Request Authenticator, as RFC
//! 5080 2.2.1 wants) with a doubling timeout, then fails over to the next
//! server with a fresh Identifier and authenticator, and ends as
//! [`Outcome::Timeout`] when every server had its tries. A datagram is taken as
//! the answer only if it comes from the server the request is at, carries the
//! request's Identifier, and both authenticators check; anything else is
//! dropped, counted by reason, and changes nothing.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv6Addr, SocketAddr};

use super::radius_auth::{fresh_authenticator, sign_request, verify_reply};
use super::store::Token;
use crate::core::Tx;
use crate::counters::Counters;
use crate::timer::TimerQueue;
use crate::wire::{
    AccessReplyRepr, AccessRequestRepr, RADIUS_AUTHENTICATOR_LEN, RadiusCode, RadiusPacket,
};
use crate::{Duration, Instant};

/// One RADIUS server and the secret this router shares with it.
#[derive(Clone, PartialEq, Eq)]
pub struct RadiusServer {
    pub address: SocketAddr,
    pub secret: Vec<u8>,
}

impl fmt::Debug for RadiusServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RadiusServer")
            .field("address", &self.address)
            .field("secret", &format_args!("<{} octets>", self.secret.len()))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadiusConfig {
    /// In order of preference: the second is asked when the first is silent.
    pub servers: Vec<RadiusServer>,
    /// This router's name in every request (NAS-Identifier, RFC 2865 5.32).
    pub nas_identifier: String,
    /// This router's address (NAS-IPv6-Address, RFC 3162 2.1): a MAG's Proxy-CoA,
    /// the LMA's LMAA.
    pub nas_ipv6_address: Option<Ipv6Addr>,
    /// Wait for an answer to the first transmission; doubled at each
    /// retransmission up to `max_timeout`.
    pub timeout: Duration,
    pub max_timeout: Duration,
    /// Transmissions to each server before failing over to the next.
    pub tries: u32,
}

impl RadiusConfig {
    /// Defaults sized for an attachment: 1 s, 2 s, 4 s on each server (7 s),
    /// shorter than RFC 5080's suggestions because a node waits meanwhile.
    pub fn new(nas_identifier: &str, servers: Vec<RadiusServer>) -> RadiusConfig {
        RadiusConfig {
            servers,
            nas_identifier: nas_identifier.to_string(),
            nas_ipv6_address: None,
            timeout: Duration::from_secs(1),
            max_timeout: Duration::from_secs(4),
            tries: 3,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RadiusConfigError {
    #[error("RADIUS: no server configured")]
    NoServer,
    #[error("RADIUS server {0}: empty shared secret (RFC 2865 3 forbids it)")]
    EmptySecret(SocketAddr),
    #[error("RADIUS server {0} is listed twice")]
    Duplicate(SocketAddr),
    #[error("RADIUS NAS-Identifier {0:?}: must be 1 to 253 octets")]
    NasIdentifier(String),
    #[error("RADIUS tries: must be at least 1")]
    NoTries,
    #[error("RADIUS timeout: must be above zero and at most max_timeout")]
    Timeout,
}

/// What the router asks: may `user_name` have the service?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    pub user_name: String,
    pub calling_station_id: Option<String>,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An authentic Access-Accept.
    Accept {
        server: SocketAddr,
        reply: AccessReplyRepr,
    },
    /// An authentic Access-Reject (or an Access-Challenge, which a client that
    /// does not answer challenges takes as a reject: RFC 2865 4.4).
    Reject { server: SocketAddr, reason: String },
    /// An authentic Access-Accept with an attribute this router cannot use.
    Unusable { server: SocketAddr, reason: String },
    /// No server answered: `transmissions` datagrams to `servers` servers.
    Timeout { servers: usize, transmissions: u32 },
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("every RADIUS Identifier towards every server is in use (256 per server)")]
    Busy,
    #[error("no randomness for the Request Authenticator: {0}")]
    Random(getrandom::Error),
    #[error("cannot encode the Access-Request: {0}")]
    Encode(#[from] crate::wire::RadiusError),
}

/// One request in flight, at one server.
struct InFlight {
    request: AccessRequest,
    server: usize,
    /// Servers this request has been sent to, the current one included.
    servers_tried: usize,
    identifier: u8,
    authenticator: [u8; RADIUS_AUTHENTICATOR_LEN],
    datagram: Vec<u8>,
    /// Transmissions to the current server, and to all.
    sent: u32,
    transmissions: u32,
    timeout: Duration,
}

pub struct RadiusClient {
    cfg: RadiusConfig,
    in_flight: HashMap<Token, InFlight>,
    /// Per server, which request holds each Identifier.
    identifiers: Vec<HashMap<u8, Token>>,
    /// Per server, where the search for a free Identifier starts, so a just
    /// released one is not reused at once (a late answer to it would match).
    next_identifier: Vec<u8>,
    preferred: usize,
    timers: TimerQueue<Token>,
    next_token: u64,
    /// The store above counts its answers here too, so one table shows both.
    pub(super) counters: Counters,
}

impl RadiusClient {
    pub fn new(cfg: RadiusConfig) -> Result<RadiusClient, RadiusConfigError> {
        if cfg.servers.is_empty() {
            return Err(RadiusConfigError::NoServer);
        }
        for (i, server) in cfg.servers.iter().enumerate() {
            if server.secret.is_empty() {
                return Err(RadiusConfigError::EmptySecret(server.address));
            }
            if cfg.servers[..i].iter().any(|s| s.address == server.address) {
                return Err(RadiusConfigError::Duplicate(server.address));
            }
        }
        if cfg.nas_identifier.is_empty() || cfg.nas_identifier.len() > 253 {
            return Err(RadiusConfigError::NasIdentifier(cfg.nas_identifier));
        }
        if cfg.tries == 0 {
            return Err(RadiusConfigError::NoTries);
        }
        if cfg.timeout == Duration::ZERO || cfg.timeout > cfg.max_timeout {
            return Err(RadiusConfigError::Timeout);
        }
        let n = cfg.servers.len();
        Ok(RadiusClient {
            cfg,
            in_flight: HashMap::new(),
            identifiers: vec![HashMap::new(); n],
            next_identifier: vec![0; n],
            preferred: 0,
            timers: TimerQueue::new(),
            next_token: 0,
            counters: Counters::default(),
        })
    }

    pub fn config(&self) -> &RadiusConfig {
        &self.cfg
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Requests in flight.
    pub fn outstanding(&self) -> usize {
        self.in_flight.len()
    }

    /// Sends an Access-Request; its outcome comes later with the returned token.
    pub fn send(
        &mut self,
        now: Instant,
        request: AccessRequest,
        tx: &mut dyn Tx,
    ) -> Result<Token, SendError> {
        let n = self.cfg.servers.len();
        let server = (0..n)
            .map(|k| (self.preferred + k) % n)
            .find(|&s| self.identifiers[s].len() < 256)
            .ok_or(SendError::Busy)?;
        let token = Token(self.next_token);
        let mut flight = InFlight {
            request,
            server,
            servers_tried: 1,
            identifier: 0,
            authenticator: [0; RADIUS_AUTHENTICATOR_LEN],
            datagram: Vec::new(),
            sent: 0,
            transmissions: 0,
            timeout: self.cfg.timeout,
        };
        self.prepare(token, &mut flight)?;
        self.next_token += 1;
        self.counters.bump("radius.request");
        self.transmit(now, token, flight, tx);
        Ok(token)
    }

    /// Gives `flight` an Identifier at its server and a fresh signed datagram.
    fn prepare(&mut self, token: Token, flight: &mut InFlight) -> Result<(), SendError> {
        let server = flight.server;
        let taken = &self.identifiers[server];
        let start = self.next_identifier[server];
        let identifier = (0..=255u8)
            .map(|k| start.wrapping_add(k))
            .find(|id| !taken.contains_key(id))
            .ok_or(SendError::Busy)?;
        let authenticator = fresh_authenticator().map_err(SendError::Random)?;
        let mut datagram = AccessRequestRepr {
            identifier,
            authenticator,
            user_name: &flight.request.user_name,
            calling_station_id: flight.request.calling_station_id.as_deref(),
            nas_identifier: &self.cfg.nas_identifier,
            nas_ipv6_address: self.cfg.nas_ipv6_address,
        }
        .emit()?;
        // The packet was just emitted with its Message-Authenticator slot.
        if sign_request(&mut datagram, &self.cfg.servers[server].secret).is_err() {
            unreachable!("an emitted Access-Request has one Message-Authenticator");
        }
        self.identifiers[server].insert(identifier, token);
        self.next_identifier[server] = identifier.wrapping_add(1);
        flight.identifier = identifier;
        flight.authenticator = authenticator;
        flight.datagram = datagram;
        flight.sent = 0;
        flight.timeout = self.cfg.timeout;
        Ok(())
    }

    fn transmit(&mut self, now: Instant, token: Token, mut flight: InFlight, tx: &mut dyn Tx) {
        let server = self.cfg.servers[flight.server].address;
        flight.sent += 1;
        flight.transmissions += 1;
        if flight.sent == 1 {
            log::info!(
                "RADIUS Access-Request {token} id {} for {} to {server} (try 1/{})",
                flight.identifier,
                flight.request.user_name,
                self.cfg.tries
            );
        } else {
            self.counters.bump("radius.retransmit");
            log::info!(
                "RADIUS: no answer yet from {server} for {} (id {}): retransmitting unchanged, \
                 try {}/{}, waiting {} ms (RFC 5080 2.2.1)",
                flight.request.user_name,
                flight.identifier,
                flight.sent,
                self.cfg.tries,
                flight.timeout.total_millis()
            );
        }
        tx.send_datagram(server, &flight.datagram);
        self.counters.bump("radius.tx");
        self.timers.set(token, now + flight.timeout);
        flight.timeout = (flight.timeout * 2).min(self.cfg.max_timeout);
        self.in_flight.insert(token, flight);
    }

    /// The earliest retransmission or give-up deadline (possibly that of an
    /// answered request, which costs one early wake-up that finds nothing due).
    pub fn poll_at(&self) -> Option<Instant> {
        if self.in_flight.is_empty() {
            return None;
        }
        self.timers.peek_at()
    }

    /// Retransmits, fails over and gives up as the deadlines say; returns the
    /// requests that ended without an answer.
    pub fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) -> Vec<(Token, Outcome)> {
        let mut ended = Vec::new();
        while let Some(token) = self.timers.pop_due(now) {
            let Some(flight) = self.in_flight.remove(&token) else {
                continue;
            };
            if flight.sent < self.cfg.tries {
                self.transmit(now, token, flight, tx);
                continue;
            }
            self.release(&flight);
            if let Some(outcome) = self.fail_over(now, token, flight, tx) {
                ended.push((token, outcome));
            }
        }
        ended
    }

    /// Moves a request whose server stayed silent to the next server, or ends it.
    fn fail_over(
        &mut self,
        now: Instant,
        token: Token,
        mut flight: InFlight,
        tx: &mut dyn Tx,
    ) -> Option<Outcome> {
        let n = self.cfg.servers.len();
        let silent = self.cfg.servers[flight.server].address;
        self.counters.bump("radius.server_silent");
        while flight.servers_tried < n {
            flight.server = (flight.server + 1) % n;
            flight.servers_tried += 1;
            if self.prepare(token, &mut flight).is_ok() {
                self.preferred = flight.server;
                self.counters.bump("radius.failover");
                log::warn!(
                    "RADIUS: {silent} did not answer for {} after {} tries: failing over to {}",
                    flight.request.user_name,
                    self.cfg.tries,
                    self.cfg.servers[flight.server].address
                );
                self.transmit(now, token, flight, tx);
                return None;
            }
        }
        self.counters.bump("radius.timeout");
        log::warn!(
            "RADIUS: no server answered for {} ({} datagrams to {} servers, the last {silent}): \
             giving up",
            flight.request.user_name,
            flight.transmissions,
            flight.servers_tried
        );
        Some(Outcome::Timeout {
            servers: flight.servers_tried,
            transmissions: flight.transmissions,
        })
    }

    fn release(&mut self, flight: &InFlight) {
        self.identifiers[flight.server].remove(&flight.identifier);
    }

    /// Forgets a request; a late answer to it is dropped as unknown.
    pub fn cancel(&mut self, token: Token) {
        if let Some(flight) = self.in_flight.remove(&token) {
            self.release(&flight);
            self.timers.cancel(&token);
            self.counters.bump("radius.cancelled");
        }
    }

    fn drop_reply(&mut self, counter: &'static str, from: SocketAddr, why: &dyn fmt::Display) {
        self.counters.bump(counter);
        log::warn!("RADIUS: dropped a datagram from {from}: {why}");
    }

    /// Takes a datagram from the network: the outcome it completes, if it is an
    /// authentic answer to a request in flight.
    pub fn on_datagram(&mut self, from: SocketAddr, datagram: &[u8]) -> Option<(Token, Outcome)> {
        self.counters.bump("radius.rx");
        let Some(server) = self.cfg.servers.iter().position(|s| s.address == from) else {
            self.drop_reply(
                "radius.drop.unknown_source",
                from,
                &"not a configured server",
            );
            return None;
        };
        let packet = match RadiusPacket::new_checked(datagram) {
            Ok(p) => p,
            Err(e) => {
                self.drop_reply("radius.drop.malformed", from, &e);
                return None;
            }
        };
        let code = packet.code();
        if !matches!(
            code,
            RadiusCode::AccessAccept | RadiusCode::AccessReject | RadiusCode::AccessChallenge
        ) {
            let why = format!("{code} is not an answer to an Access-Request");
            self.drop_reply("radius.drop.unexpected_code", from, &why);
            return None;
        }
        let id = packet.identifier();
        let Some(&token) = self.identifiers[server].get(&id) else {
            let why = format!("{code} id {id} answers no request in flight (late or duplicate)");
            self.drop_reply("radius.drop.unknown_id", from, &why);
            return None;
        };
        let flight = self.in_flight.get(&token)?;
        let secret = &self.cfg.servers[server].secret;
        if let Err(e) = verify_reply(datagram, &flight.authenticator, secret) {
            let why = format!("{code} id {id} for {}: {e}", flight.request.user_name);
            self.drop_reply(e.counter(), from, &why);
            return None;
        }
        let flight = self.in_flight.remove(&token)?;
        self.release(&flight);
        self.timers.cancel(&token);
        self.preferred = server;
        let user = &flight.request.user_name;
        let outcome = match (code, AccessReplyRepr::parse(&packet)) {
            (RadiusCode::AccessAccept, Ok(reply)) => {
                self.counters.bump("radius.accept");
                log::info!("RADIUS Access-Accept from {from} for {user} (id {id})");
                Outcome::Accept {
                    server: from,
                    reply,
                }
            }
            (RadiusCode::AccessAccept, Err(e)) => {
                self.counters.bump("radius.unusable");
                log::warn!("RADIUS Access-Accept from {from} for {user} is unusable: {e}");
                Outcome::Unusable {
                    server: from,
                    reason: e.to_string(),
                }
            }
            (_, parsed) => {
                self.counters.bump("radius.reject");
                let message = parsed.ok().and_then(|r| r.reply_message);
                let reason = match (code, message) {
                    (RadiusCode::AccessChallenge, _) => {
                        "Access-Challenge, which this router does not answer (RFC 2865 4.4)".into()
                    }
                    (_, Some(message)) => message,
                    (_, None) => "no Reply-Message".to_string(),
                };
                log::info!("RADIUS {code} from {from} for {user} (id {id}): {reason:?}");
                Outcome::Reject {
                    server: from,
                    reason,
                }
            }
        };
        Some((token, outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aaa::radius_auth::build_reply;
    use crate::core::Sent;
    use crate::wire::RadiusAttributeType as A;

    const SECRET: &[u8] = b"testing123";

    fn servers(n: u16) -> Vec<RadiusServer> {
        (0..n)
            .map(|i| RadiusServer {
                address: SocketAddr::from(([127, 0, 0, 1], 1812 + i)),
                secret: SECRET.to_vec(),
            })
            .collect()
    }

    fn client(n: u16) -> RadiusClient {
        let mut cfg = RadiusConfig::new("mag1", servers(n));
        cfg.timeout = Duration::from_millis(100);
        cfg.max_timeout = Duration::from_millis(300);
        RadiusClient::new(cfg).unwrap()
    }

    fn ask(c: &mut RadiusClient, now: Instant, user: &str, sent: &mut Sent) -> Token {
        let request = AccessRequest {
            user_name: user.into(),
            calling_station_id: Some("52-54-00-AA-00-01".into()),
        };
        c.send(now, request, sent).unwrap()
    }

    fn accept_to(request: &[u8]) -> Vec<u8> {
        let prefix = [0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 1];
        let attrs: [(A, &[u8]); 2] = [
            (A::FramedIpv6Prefix, &prefix),
            (A::FramedIpAddress, &[10, 0, 0, 7]),
        ];
        build_reply(request, RadiusCode::AccessAccept, &attrs, true, SECRET).unwrap()
    }

    /// Runs the timers at every deadline up to `until`.
    fn run_until(
        c: &mut RadiusClient,
        until: Instant,
        sent: &mut Sent,
    ) -> Vec<(Instant, Token, Outcome)> {
        let mut ended = Vec::new();
        while let Some(at) = c.poll_at().filter(|at| *at <= until) {
            for (token, outcome) in c.on_timer(at, sent) {
                ended.push((at, token, outcome));
            }
        }
        ended
    }

    #[test]
    fn refuses_bad_configurations() {
        let no_secret = vec![RadiusServer {
            address: SocketAddr::from(([127, 0, 0, 1], 1812)),
            secret: Vec::new(),
        }];
        let err = |cfg| RadiusClient::new(cfg).err().unwrap().to_string();
        assert_eq!(
            err(RadiusConfig::new("m", Vec::new())),
            "RADIUS: no server configured"
        );
        assert!(err(RadiusConfig::new("m", no_secret)).contains("empty shared secret"));
        let mut twice = servers(1);
        twice.extend(servers(1));
        assert!(err(RadiusConfig::new("m", twice)).contains("listed twice"));
        assert!(err(RadiusConfig::new("", servers(1))).contains("NAS-Identifier"));
        let mut cfg = RadiusConfig::new("m", servers(1));
        cfg.tries = 0;
        assert!(err(cfg).contains("tries"));
        assert!(
            !format!("{:?}", servers(1)).contains("testing123"),
            "Debug shows no secret"
        );
    }

    #[test]
    fn an_authentic_accept_ends_the_request() {
        let mut c = client(1);
        let mut sent = Sent::default();
        let t0 = Instant::from_millis(0);
        let token = ask(&mut c, t0, "vm1@tapmip", &mut sent);
        assert_eq!(c.poll_at(), Some(Instant::from_millis(100)));
        let (to, request) = sent.datagrams.pop().unwrap();
        assert_eq!(to, c.config().servers[0].address);
        let (got, outcome) = c.on_datagram(to, &accept_to(&request)).unwrap();
        assert_eq!(got, token);
        let Outcome::Accept { reply, .. } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(
            reply.framed_ipv6_prefixes,
            vec!["2001:db8:1:1::/64".parse().unwrap()]
        );
        assert_eq!(reply.framed_ip_address, Some("10.0.0.7".parse().unwrap()));
        assert_eq!(c.outstanding(), 0);
        assert_eq!(c.poll_at(), None);
        // The same answer again (to a retransmission) finds nothing in flight.
        assert!(c.on_datagram(to, &accept_to(&request)).is_none());
        assert_eq!(c.counters().get("radius.drop.unknown_id"), 1);
    }

    #[test]
    fn forgeries_are_dropped_and_change_nothing() {
        let mut c = client(1);
        let mut sent = Sent::default();
        let token = ask(&mut c, Instant::from_millis(0), "vm1@tapmip", &mut sent);
        let (server, request) = sent.datagrams.pop().unwrap();
        let good = accept_to(&request);
        let no_ma = build_reply(&request, RadiusCode::AccessAccept, &[], false, SECRET).unwrap();
        let other_secret =
            build_reply(&request, RadiusCode::AccessAccept, &[], true, b"guess").unwrap();
        let mut bad_auth = good.clone();
        bad_auth[4] ^= 1;
        let mut other_id = good.clone();
        other_id[1] ^= 1;
        let mut request_echo = request.clone();
        request_echo[0] = 1;
        let stranger = SocketAddr::from(([127, 0, 0, 2], 1812));
        let cases: [(SocketAddr, &[u8], &str); 8] = [
            (stranger, &good, "radius.drop.unknown_source"),
            (server, &good[..19], "radius.drop.malformed"),
            (server, &request_echo, "radius.drop.unexpected_code"),
            (server, &other_id, "radius.drop.unknown_id"),
            (server, &no_ma, "radius.drop.no_message_authenticator"),
            (
                server,
                &other_secret,
                "radius.drop.wrong_message_authenticator",
            ),
            (
                server,
                &bad_auth,
                "radius.drop.wrong_response_authenticator",
            ),
            (server, &[0xff; 3000], "radius.drop.malformed"),
        ];
        for (from, datagram, counter) in cases {
            let before = c.counters().get(counter);
            assert!(c.on_datagram(from, datagram).is_none(), "{counter}");
            assert_eq!(c.counters().get(counter), before + 1, "{counter}");
            assert_eq!(
                c.outstanding(),
                1,
                "{counter}: the request is still in flight"
            );
        }
        assert_eq!(c.poll_at(), Some(Instant::from_millis(100)));
        assert!(
            matches!(c.on_datagram(server, &good), Some((t, Outcome::Accept { .. })) if t == token)
        );
    }

    #[test]
    fn retransmits_unchanged_then_fails_over_then_times_out() {
        let mut c = client(2);
        let mut sent = Sent::default();
        let token = ask(&mut c, Instant::from_millis(0), "vm1@tapmip", &mut sent);
        let ended = run_until(&mut c, Instant::from_secs(10), &mut sent);
        let [a, b] = [c.config().servers[0].address, c.config().servers[1].address];
        let to: Vec<SocketAddr> = sent.datagrams.iter().map(|(to, _)| *to).collect();
        assert_eq!(to, [a, a, a, b, b, b]);
        let first = &sent.datagrams[0].1;
        assert!(
            sent.datagrams[..3].iter().all(|(_, d)| d == first),
            "retransmissions are identical"
        );
        let fourth = &sent.datagrams[3].1;
        assert_ne!(
            fourth[4..20],
            first[4..20],
            "a new server gets a fresh authenticator"
        );
        // 100 ms, then 200, then 300 (capped) on each server: 600 ms each.
        assert_eq!(
            ended,
            vec![(
                Instant::from_millis(1200),
                token,
                Outcome::Timeout {
                    servers: 2,
                    transmissions: 6
                }
            )]
        );
        assert_eq!(c.counters().get("radius.retransmit"), 4);
        assert_eq!(c.counters().get("radius.failover"), 1);
        assert_eq!(c.counters().get("radius.timeout"), 1);
        assert_eq!(c.outstanding(), 0);
        // The next request starts at the server that was tried last.
        ask(&mut c, Instant::from_secs(11), "vm2@tapmip", &mut sent);
        assert_eq!(sent.datagrams.last().unwrap().0, b);
    }

    #[test]
    fn the_second_server_answers_after_failover() {
        let mut c = client(2);
        let mut sent = Sent::default();
        let token = ask(&mut c, Instant::from_millis(0), "vm1@tapmip", &mut sent);
        run_until(&mut c, Instant::from_millis(600), &mut sent);
        let (to, request) = sent.datagrams.last().unwrap().clone();
        assert_eq!(to, c.config().servers[1].address);
        // The first server's late answer to its own request is no longer taken.
        let late = accept_to(&sent.datagrams[0].1);
        assert!(
            c.on_datagram(c.config().servers[0].address, &late)
                .is_none()
        );
        let reject = build_reply(
            &request,
            RadiusCode::AccessReject,
            &[(A::ReplyMessage, b"vm1 is suspended")],
            true,
            SECRET,
        )
        .unwrap();
        let outcome = c.on_datagram(to, &reject);
        assert_eq!(
            outcome,
            Some((
                token,
                Outcome::Reject {
                    server: to,
                    reason: "vm1 is suspended".into()
                }
            ))
        );
    }

    #[test]
    fn challenge_is_a_reject_and_a_bad_accept_is_unusable() {
        let mut c = client(1);
        let mut sent = Sent::default();
        ask(&mut c, Instant::from_millis(0), "a", &mut sent);
        ask(&mut c, Instant::from_millis(0), "b", &mut sent);
        let (server, r1) = sent.datagrams[0].clone();
        let r2 = sent.datagrams[1].1.clone();
        let challenge = build_reply(&r1, RadiusCode::AccessChallenge, &[], true, SECRET).unwrap();
        let Some((_, Outcome::Reject { reason, .. })) = c.on_datagram(server, &challenge) else {
            panic!("a challenge is a reject");
        };
        assert!(reason.contains("RFC 2865 4.4"), "{reason}");
        let bad = build_reply(
            &r2,
            RadiusCode::AccessAccept,
            &[(A::FramedIpv6Prefix, &[0, 200])],
            true,
            SECRET,
        )
        .unwrap();
        let Some((_, Outcome::Unusable { reason, .. })) = c.on_datagram(server, &bad) else {
            panic!("a malformed prefix makes the accept unusable");
        };
        assert!(reason.contains("Framed-IPv6-Prefix"), "{reason}");
    }

    /// Random datagrams from the server, raw and signed (so they pass the
    /// authenticators and reach attribute parsing): never a panic, never an
    /// Accept from unsigned bytes.
    #[test]
    fn random_replies_never_panic() {
        let mut rng = crate::rng::SplitMix64::new(9);
        let mut c = client(1);
        let mut sent = Sent::default();
        let server = c.config().servers[0].address;
        for round in 0..20_000u32 {
            if c.outstanding() == 0 {
                ask(&mut c, Instant::from_millis(0), "vm1@tapmip", &mut sent);
            }
            let request = sent.datagrams.last().unwrap().1.clone();
            let len = 20 + rng.below(80) as usize;
            let mut reply: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            reply[0] = [2, 3, 11, rng.next_u64() as u8][rng.below(4) as usize];
            reply[1] = request[1];
            let declared = if rng.chance(900_000) {
                len
            } else {
                rng.below(100) as usize
            };
            reply[2..4].copy_from_slice(&(declared as u16).to_be_bytes());
            let signed = round % 2 == 0 && declared == len;
            if signed {
                if len >= 38 && rng.chance(500_000) {
                    reply[20] = 80;
                    reply[21] = 18;
                }
                let auth: [u8; 16] = request[4..20].try_into().unwrap();
                crate::aaa::radius_auth::sign_reply(&mut reply, &auth, SECRET);
            }
            if let Some((_, outcome)) = c.on_datagram(server, &reply) {
                assert!(signed, "unsigned random bytes were taken: {outcome:?}");
            }
        }
        assert!(c.counters().get("radius.accept") + c.counters().get("radius.reject") > 0);
    }

    #[test]
    fn identifiers_run_out_at_256_and_cancel_frees_one() {
        let mut c = client(1);
        let mut sent = Sent::default();
        let now = Instant::from_millis(0);
        let tokens: Vec<Token> = (0..256)
            .map(|i| ask(&mut c, now, &format!("vm{i}"), &mut sent))
            .collect();
        let ids: std::collections::HashSet<u8> = sent.datagrams.iter().map(|(_, d)| d[1]).collect();
        assert_eq!(ids.len(), 256);
        let request = AccessRequest {
            user_name: "one-too-many".into(),
            calling_station_id: None,
        };
        assert!(matches!(
            c.send(now, request.clone(), &mut sent),
            Err(SendError::Busy)
        ));
        c.cancel(tokens[7]);
        assert_eq!(c.outstanding(), 255);
        assert!(c.send(now, request, &mut sent).is_ok());
        let long = AccessRequest {
            user_name: "x".repeat(254),
            calling_station_id: None,
        };
        c.cancel(tokens[8]);
        assert!(matches!(
            c.send(now, long, &mut sent),
            Err(SendError::Encode(_))
        ));
    }
}
