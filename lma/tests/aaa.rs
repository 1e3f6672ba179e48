//! The LMA asking a RADIUS server (RFC 5213 5.3.1 step 3 through RFC 2865):
//! the PBU waits for the answer, a refusal is a PBA status, silence is no PBA,
//! a forged answer is nothing, and a node already bound never waits for AAA.

mod support;
use support::*;

use lma::AaaConfig;
use router::Duration;
use router::aaa::radius_auth::build_reply;
use router::aaa::{RadiusConfig, RadiusServer};
use router::core::Sent;
use router::wire::{RadiusAttributeType as A, RadiusCode};
use std::net::SocketAddr;

const SECRET: &[u8] = b"lab-secret";
/// RFC 3162 2.3: Framed-IPv6-Prefix, reserved octet, length, prefix.
const FRAMED_PREFIX: [u8; 10] = [0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 7, 0, 1];
const GRANTED: &str = "2001:db8:7:1::/64";

fn server() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 1812))
}

fn radius_lma() -> Lma {
    Lma::new(radius_config(), t(0))
}

fn radius_config() -> LmaConfig {
    let mut cfg = config();
    let mut radius = RadiusConfig::new(
        "lma",
        vec![RadiusServer {
            address: server(),
            secret: SECRET.to_vec(),
        }],
    );
    radius.timeout = Duration::from_millis(500);
    radius.max_timeout = Duration::from_secs(1);
    radius.tries = 2;
    cfg.aaa = AaaConfig::Radius(radius);
    cfg
}

/// Feeds a PBU; returns the PBAs that left and the Access-Requests sent.
fn offer(l: &mut Lma, now_ms: i64, mag: Mag, pbu: &PbuRepr) -> (Out, Vec<Vec<u8>>) {
    let mut sent = Sent::default();
    l.on_frame(t(now_ms), mag.port, &pbu_frame(mag, pbu), &mut sent);
    let frames = settle(l, t(now_ms), sent.frames);
    let requests = sent.datagrams.into_iter().map(|(_, d)| d).collect();
    (frames, requests)
}

/// The server's reply to `request`, handed to the LMA from `from`.
fn reply(l: &mut Lma, now_ms: i64, from: SocketAddr, datagram: &[u8]) -> Out {
    let mut sent = Sent::default();
    l.on_datagram(t(now_ms), from, datagram, &mut sent);
    assert!(sent.datagrams.is_empty());
    settle(l, t(now_ms), sent.frames)
}

fn accept(request: &[u8], secret: &[u8]) -> Vec<u8> {
    build_reply(
        request,
        RadiusCode::AccessAccept,
        &[(A::FramedIpv6Prefix, &FRAMED_PREFIX)],
        true,
        secret,
    )
    .unwrap()
}

fn only_pba(out: &Out) -> PbaRepr {
    let mut all = pbas(out);
    assert_eq!(all.len(), 1, "expected one PBA: {out:?}");
    all.remove(0).2
}

#[test]
fn an_accept_assigns_the_servers_prefix_and_a_refresh_asks_nothing() {
    let mut l = radius_lma();
    let reg = pbu(1, "vm07@tapmip", HI_NEW, 3600, 0);
    let (out, requests) = offer(&mut l, 0, MAG1, &reg);
    assert!(pbas(&out).is_empty(), "the PBU waits for the server");
    assert_eq!(requests.len(), 1);
    // The MAG retransmits before the answer: still one question.
    let (out, again) = offer(&mut l, 400, MAG1, &pbu(1, "vm07@tapmip", HI_NEW, 3600, 400));
    assert!(
        pbas(&out).is_empty() && again.is_empty(),
        "{:?} {again:?}",
        pbas(&out)
    );

    let pba = only_pba(&reply(&mut l, 450, server(), &accept(&requests[0], SECRET)));
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert_eq!(pba.options.hnps, vec![net(GRANTED)]);
    assert!(matches!(route(&l, GRANTED), Some(NextHop::Tunnel(_))));

    // The server goes silent; the bound node's refresh and handoff do not
    // depend on it (a refresh asks nothing; a handoff asks and waits).
    let (out, asked) = offer(
        &mut l,
        60_000,
        MAG1,
        &pbu(2, "vm07@tapmip", HandoffIndicator::NotChanged, 3600, 60_000),
    );
    assert_eq!(only_pba(&out).status, PbaStatus::Accepted);
    assert!(asked.is_empty(), "a refresh asked the AAA server");
    assert_eq!(l.counters().get("radius.request"), 1);
}

#[test]
fn a_reject_is_administratively_prohibited_and_leaves_nothing() {
    let mut l = radius_lma();
    let reg = pbu(1, "vm07@tapmip", HI_NEW, 3600, 0);
    let (_, requests) = offer(&mut l, 0, MAG1, &reg);
    let reject = build_reply(
        &requests[0],
        RadiusCode::AccessReject,
        &[(A::ReplyMessage, b"no such VM")],
        true,
        SECRET,
    )
    .unwrap();
    let pba = only_pba(&reply(&mut l, 10, server(), &reject));
    assert_eq!(pba.status, PbaStatus::AdministrativelyProhibited);
    assert_eq!(pba.lifetime_secs, 0);
    assert!(l.bindings().find("vm07@tapmip").is_none());
    assert!(route(&l, GRANTED).is_none());
    assert_eq!(l.counters().get("aaa.refuse.rejected"), 1);
}

#[test]
fn a_forged_or_misdirected_accept_changes_nothing() {
    let mut l = radius_lma();
    let (_, requests) = offer(&mut l, 0, MAG1, &pbu(1, "vm07@tapmip", HI_NEW, 3600, 0));
    let stranger = SocketAddr::from(([127, 0, 0, 9], 1812));
    for (from, datagram) in [
        (server(), accept(&requests[0], b"guessed")),
        (stranger, accept(&requests[0], SECRET)),
        (server(), accept(&requests[0], SECRET)[..20].to_vec()),
    ] {
        let out = reply(&mut l, 10, from, &datagram);
        assert!(pbas(&out).is_empty(), "a forged answer was taken: {out:?}");
        assert!(l.bindings().find("vm07@tapmip").is_none());
    }
    // The real answer still completes the held PBU.
    let pba = only_pba(&reply(&mut l, 20, server(), &accept(&requests[0], SECRET)));
    assert_eq!(pba.status, PbaStatus::Accepted);
}

#[test]
fn a_silent_server_means_no_pba_and_the_router_keeps_going() {
    let mut l = radius_lma();
    let (_, requests) = offer(&mut l, 0, MAG1, &pbu(1, "vm07@tapmip", HI_NEW, 3600, 0));
    assert_eq!(requests.len(), 1);
    // Retransmission at 500 ms, give-up at 1.5 s: no PBA either way, so the
    // MAG's own retransmission asks again later.
    let mut now = 0;
    let mut pbas_seen = 0;
    while let Some(at) = l.poll_at().filter(|at| *at <= t(10_000)) {
        now = at.total_millis();
        let mut sent = Sent::default();
        l.on_timer(at, &mut sent);
        pbas_seen += pbas(&sent.frames).len();
    }
    assert_eq!(pbas_seen, 0);
    assert!(now >= 1_500, "gave up at {now} ms");
    let c = l.counters();
    assert_eq!(c.get("radius.retransmit"), 1);
    assert_eq!(c.get("aaa.refuse.unreachable"), 1);
    assert_eq!(c.get("pbu.unanswered"), 1);
    let sizes = l.sizes();
    assert!(sizes.iter().all(|(_, n)| *n == 0), "{sizes:?}");
    // The MAG's retransmission asks anew.
    let (_, again) = offer(
        &mut l,
        11_000,
        MAG1,
        &pbu(1, "vm07@tapmip", HI_NEW, 3600, 11_000),
    );
    assert_eq!(again.len(), 1);
}

#[test]
fn another_mags_claim_supersedes_the_one_waiting() {
    let mut l = radius_lma();
    let (_, first) = offer(&mut l, 0, MAG1, &pbu(1, "vm07@tapmip", HI_NEW, 3600, 0));
    // MAG2 sees the node too: its question is about MAG2, and the claim held
    // from MAG1 is refused as older.
    let (out, second) = offer(&mut l, 100, MAG2, &pbu(1, "vm07@tapmip", HI_MAG, 3600, 100));
    let refused = pbas(&out);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].1, ip(MAG1.addr));
    assert_eq!(
        refused[0].2.status,
        PbaStatus::TimestampLowerThanPrevAccepted
    );
    assert_eq!(second.len(), 1);
    // MAG1's question is cancelled: its answer, if it comes, is dropped.
    assert!(pbas(&reply(&mut l, 150, server(), &accept(&first[0], SECRET))).is_empty());
    let out = reply(&mut l, 200, server(), &accept(&second[0], SECRET));
    let (_, to, pba) = pbas(&out).remove(0);
    assert_eq!((to, pba.status), (ip(MAG2.addr), PbaStatus::Accepted));
    let id = l.bindings().find("vm07@tapmip").unwrap();
    assert_eq!(l.bindings().get(id).unwrap().proxy_coa, ip(MAG2.addr));
}

/// Authentic PBUs for made-up nodes would each wait for the server: past
/// `max_awaiting_aaa` they are dropped unanswered and ask nothing.
#[test]
fn pbus_awaiting_the_server_are_capped() {
    let mut cfg = radius_config();
    cfg.limits.max_awaiting_aaa = 1;
    let mut l = Lma::new(cfg, t(0));
    let (_, asked) = offer(&mut l, 0, MAG1, &pbu(1, "vm07@tapmip", HI_NEW, 3600, 0));
    assert_eq!(asked.len(), 1);
    let (out, asked) = offer(&mut l, 10, MAG1, &pbu(2, "x1@made.up", HI_NEW, 3600, 10));
    assert!(out.is_empty() && asked.is_empty(), "{out:?} {asked:?}");
    assert_eq!(l.counters().get("lma.drop.awaiting_aaa_full"), 1);
    assert_eq!(l.sizes()[4], ("PBUs awaiting the policy store", 1));
    // The one waiting is still answered.
    let (_, again) = offer(&mut l, 20, MAG1, &pbu(1, "vm07@tapmip", HI_NEW, 3600, 20));
    assert!(again.is_empty(), "a retransmission asks nothing new");
}
