//! Access authentication at the MAG through RADIUS (RFC 5213 6.9.1.1, RFC
//! 2865): a node that appears is asked about first, and only an Access-Accept
//! gets it a PBU and Router Advertisements.

mod support;
use support::*;

use router::aaa::radius_auth::build_reply;
use router::aaa::{AaaConfig, RadiusConfig, RadiusServer};
use router::wire::{RadiusAttributeType as A, RadiusCode, RadiusPacket};

const SECRET: &[u8] = b"mag-secret";

fn server() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 1812))
}

fn radius_lab() -> Lab {
    Lab::new(radius_config())
}

fn radius_config() -> MagConfig {
    let mut cfg = config();
    let mut radius = RadiusConfig::new(
        "mag1",
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

fn attribute(datagram: &[u8], kind: A) -> String {
    let packet = RadiusPacket::new_checked(datagram).unwrap();
    let attr = packet
        .attributes()
        .map(Result::unwrap)
        .find(|a| a.kind == kind)
        .unwrap();
    String::from_utf8(attr.value.to_vec()).unwrap()
}

fn answer(lab: &mut Lab, now: Instant, code: RadiusCode, secret: &[u8]) -> Out {
    let (_, request) = lab.datagrams.last().unwrap().clone();
    let reply = build_reply(
        &request,
        code,
        &[(A::ReplyMessage, b"not this VM")],
        true,
        secret,
    )
    .unwrap();
    lab.datagram(now, server(), &reply)
}

#[test]
fn a_node_attaches_only_after_the_access_accept() {
    let mut lab = radius_lab();
    let out = lab.rs(t(0), VM1, "fe80::1");
    assert!(pbus(&out).is_empty() && ras(&out).is_empty());
    assert_eq!(lab.datagrams.len(), 1);
    let request = lab.datagrams[0].1.clone();
    assert_eq!(attribute(&request, A::UserName), "vm1@tapmip");
    assert_eq!(
        attribute(&request, A::CallingStationId),
        "52-54-00-AA-00-01"
    );
    assert_eq!(attribute(&request, A::NasIdentifier), "mag1");
    // The node solicits again while the server thinks: still one question.
    assert!(pbus(&lab.rs(t(100), VM1, "fe80::1")).is_empty());
    assert_eq!(lab.datagrams.len(), 1);
    // A forged accept changes nothing; the real one attaches the node.
    assert!(
        pbus(&answer(
            &mut lab,
            t(150),
            RadiusCode::AccessAccept,
            b"guess"
        ))
        .is_empty()
    );
    let pbu = only_pbu(&answer(&mut lab, t(200), RadiusCode::AccessAccept, SECRET));
    assert_eq!(handoff(&pbu), HandoffIndicator::NewInterface);
    assert_eq!(pbu.options.mn_id.as_deref(), Some("vm1@tapmip"));
    let ras = ras(&lab.pba(t(250), &pbu, PbaStatus::Accepted, "2001:db8:1:1::/64"));
    assert_eq!(ras.len(), 1);
}

#[test]
fn a_rejected_node_gets_no_pbu_no_ra_and_is_not_asked_about_at_every_frame() {
    let mut lab = radius_lab();
    lab.rs(t(0), VM1, "fe80::1");
    let out = answer(&mut lab, t(10), RadiusCode::AccessReject, SECRET);
    assert!(pbus(&out).is_empty() && ras(&out).is_empty());
    assert!(lab.mag.bindings().get(&VM1).is_none());
    assert_eq!(counter(&lab, "aaa.refuse.rejected"), 1);
    // Its solicitations for the next 30 s are ignored and counted.
    for i in 1..=10 {
        let out = lab.rs(t(i * 2_000), VM1, "fe80::1");
        assert!(pbus(&out).is_empty() && ras(&out).is_empty());
    }
    assert_eq!(lab.datagrams.len(), 1);
    assert!(counter(&lab, "mag.attach.refused_recently") >= 10);
    // Then it is asked about again.
    lab.rs(t(31_000), VM1, "fe80::1");
    assert_eq!(lab.datagrams.len(), 2);
}

#[test]
fn a_silent_server_is_retried_and_the_mag_keeps_serving() {
    let mut lab = radius_lab();
    lab.rs(t(0), VM1, "fe80::1");
    // 500 ms, then 1 s, then giving up: no PBU at any point, the control
    // socket answers throughout.
    let out = lab.run_until(t(5_000));
    assert!(
        out.iter()
            .all(|(_, p, f)| pbus(&[(*p, f.clone())]).is_empty())
    );
    assert_eq!(lab.datagrams.len(), 2, "one retransmission");
    assert_eq!(counter(&lab, "aaa.refuse.unreachable"), 1);
    let status = lab
        .mag
        .control(t(5_000), &Request::Status {}, &mut Out::new());
    assert!(status.tables.iter().any(|t| t.title == "sizes"));
    // Within 5 s of the give-up the node's frames ask nothing; then the MAG
    // asks again by itself: an idle node may say nothing more.
    lab.rs(t(3_000), VM1, "fe80::1");
    assert_eq!(lab.datagrams.len(), 2);
    lab.run_until(t(6_000));
    assert_eq!(lab.datagrams.len(), 2);
    // Given up at 1.5 s: asked again at 6.5 s.
    lab.run_until(t(6_600));
    assert_eq!(lab.datagrams.len(), 3);
    let pbu = only_pbu(&answer(
        &mut lab,
        t(7_100),
        RadiusCode::AccessAccept,
        SECRET,
    ));
    assert_eq!(pbu.options.mn_id.as_deref(), Some("vm1@tapmip"));
}

/// Past `max_admission_questions` nodes waiting for the server, the next
/// one is not asked about (counted), and its next frame asks again.
#[test]
fn questions_to_the_server_are_capped() {
    let mut cfg = radius_config();
    cfg.max_admission_questions = 1;
    let mut lab = Lab::new(cfg);
    lab.rs(t(0), VM1, "fe80::1");
    lab.rs(t(10), VM2, "fe80::2");
    assert_eq!(lab.datagrams.len(), 1);
    assert!(counter(&lab, "mag.attach.drop.questions_full") > 0);
    assert_eq!(lab.mag.sizes()[2], ("nodes awaiting the policy store", 1));
    let out = answer(&mut lab, t(20), RadiusCode::AccessAccept, SECRET);
    assert_eq!(pbus(&out).len(), 1);
    lab.rs(t(30), VM2, "fe80::2");
    assert_eq!(lab.datagrams.len(), 2, "vm2 asked about at its next frame");
}
