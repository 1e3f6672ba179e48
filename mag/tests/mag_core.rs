//! The MAG core driven in memory with a fake clock: attachment triggers, PBU
//! contents, PBA handling, retransmission, refresh, detachment, per-node RAs and
//! forwarding through the tunnel.

mod support;
use support::*;

#[test]
fn rs_registers_then_unicast_ra_with_exactly_the_hnp() {
    let mut lab = Lab::default();
    let out = lab.rs(t(0), VM1, "fe80::5");
    let pbu = only_pbu(&out);
    assert!(pbu.ack && pbu.home_registration && pbu.proxy);
    assert_eq!(pbu.lifetime_secs, 100);
    let o = &pbu.options;
    assert_eq!(o.mn_id.as_deref(), Some("vm1@tapmip"));
    assert_eq!(o.hnps, vec![net("::/0")]);
    assert_eq!(o.handoff_indicator, Some(HandoffIndicator::NewInterface));
    assert_eq!(o.access_technology, Some(AccessTechnologyType::Ethernet));
    assert_eq!(o.mn_link_layer_id.as_deref(), Some(VM1.as_bytes()));
    assert_eq!(o.link_local_address, Some(FIXED_LINK_LOCAL));
    assert_eq!(o.timestamp.map(|ts| ts >> 16), Some(1_700_000_000));
    assert!(ras(&out).is_empty(), "no RA before the PBA");
    assert!(
        lab.mag
            .engine()
            .routes()
            .get(RouteTable::Destination, net("2001:db8:1:1::/64"))
            .is_none()
    );

    let out = lab.pba(t(40), &pbu, PbaStatus::Accepted, "2001:db8:1:1::/64");
    let ras = ras(&out);
    assert_eq!(ras.len(), 1);
    let (dst_mac, dst_ip, prefixes) = &ras[0];
    assert_eq!((*dst_mac, *dst_ip), (VM1, ip("fe80::5")));
    assert_eq!(prefixes.len(), 1);
    assert_eq!(prefixes[0].prefix, net("2001:db8:1:1::/64"));
    assert!(prefixes[0].on_link && prefixes[0].autonomous);

    let engine = lab.mag.engine();
    assert_eq!(
        engine
            .routes()
            .get(RouteTable::Destination, net("2001:db8:1:1::/64")),
        Some(NextHop::Connected { port: ACCESS })
    );
    let Some(NextHop::Tunnel(id)) = engine
        .routes()
        .get(RouteTable::Source, net("2001:db8:1:1::/64"))
    else {
        panic!("no source route into the tunnel");
    };
    let tunnel = engine.routes().tunnels().get(id).unwrap();
    assert_eq!((tunnel.local, tunnel.remote), (pcoa(), lmaa()));

    let e = lab.mag.bindings().get(&VM1).unwrap();
    assert_eq!(e.state, BindingState::Registered);
    assert_eq!((e.detected_at, e.ra_sent_at), (t(0), Some(t(40))));
    let table = lab
        .mag
        .control(t(50), &Request::Bindings {}, &mut Out::new());
    assert!(table.ok);
    let row = &table.tables[0].rows[0];
    assert!(row.contains(&"vm1@tapmip".to_string()) && row.contains(&"40".to_string()));

    // An RS from the registered node is answered with its own RA at once.
    let again = lab.rs(t(2000), VM1, "fe80::5");
    assert!(pbus(&again).is_empty());
    assert_eq!(self::ras(&again).len(), 1);
}

#[test]
fn unsolicited_na_of_a_global_address_is_an_inter_mag_handoff() {
    let mut lab = Lab::default();
    let na = |target: &str| {
        build_na(
            &Addressing {
                src_mac: VM1,
                dst_mac: multicast_mac(ip("ff02::1")),
                src_ip: ip(target),
                dst_ip: ip("ff02::1"),
            },
            ip(target),
            NaFlags {
                router: false,
                solicited: false,
                override_: true,
            },
            Some(VM1),
        )
    };
    let pbu = only_pbu(&lab.feed(t(0), ACCESS, &na("2001:db8:1:1::5")));
    assert_eq!(handoff(&pbu), HandoffIndicator::InterMag);
    assert_eq!(counter(&lab, "mag.attach.unsolicited_na"), 1);
    assert!(
        pbus(&lab.feed(t(1), ACCESS, &na("fe80::5"))).is_empty(),
        "already attaching"
    );

    let mut lab = Lab::default();
    let pbu = only_pbu(&lab.feed(t(0), ACCESS, &na("fe80::5")));
    assert_eq!(handoff(&pbu), HandoffIndicator::Unknown);
}

/// The NS of `mac`'s duplicate address detection for `target` (from `::`).
fn dad_ns(mac: Mac, target: Ipv6Addr) -> Vec<u8> {
    build_ns(
        &Addressing {
            src_mac: mac,
            dst_mac: multicast_mac(solicited_node(target)),
            src_ip: Ipv6Addr::UNSPECIFIED,
            dst_ip: solicited_node(target),
        },
        target,
        None,
    )
}

#[test]
fn dad_ns_attaches_a_new_interface() {
    let mut lab = Lab::default();
    let ns = dad_ns(VM1, ip("fe80::5"));
    let pbu = only_pbu(&lab.feed(t(0), ACCESS, &ns));
    assert_eq!(handoff(&pbu), HandoffIndicator::NewInterface);
    assert_eq!(counter(&lab, "mag.attach.dad_ns"), 1);
}

#[test]
fn any_frame_from_a_policy_node_attaches_it() {
    let mut lab = Lab::default();
    let packet = udp("2001:db8:1:1::5", "2001:db8:c::9", 8);
    let frame = ethernet_ipv6(VM1, FIXED_MAC, &packet);
    let pbu = only_pbu(&lab.feed(t(0), ACCESS, &frame));
    assert_eq!(handoff(&pbu), HandoffIndicator::Unknown);
    assert_eq!(counter(&lab, "mag.attach.unknown_source"), 1);

    // Switched off, the same frame does nothing.
    let mut cfg = config();
    cfg.detect = "rs,na,dad".parse::<DetectConfig>().unwrap();
    let mut lab = Lab::new(cfg);
    assert!(pbus(&lab.feed(t(0), ACCESS, &frame)).is_empty());
    assert!(lab.mag.bindings().is_empty());
}

#[test]
fn nodes_outside_the_policy_are_ignored_and_counted() {
    let mut lab = Lab::default();
    let out = lab.rs(t(0), STRANGER, "fe80::9");
    assert!(pbus(&out).is_empty() && ras(&out).is_empty());
    let frame = ethernet_ipv6(
        STRANGER,
        FIXED_MAC,
        &udp("2001:db8:9::9", "2001:db8:c::9", 8),
    );
    assert!(pbus(&lab.feed(t(1), ACCESS, &frame)).is_empty());
    assert!(lab.mag.bindings().is_empty());
    assert_eq!(counter(&lab, "mag.attach.ignored_not_in_policy"), 1);
}

#[test]
fn retransmits_at_1_5_3_6_12_24_s_then_every_32_s_while_the_node_is_here() {
    let mut lab = Lab::default();
    let first = only_pbu(&lab.rs(t(0), VM1, "fe80::5"));
    let sent = lab.run_until(t(100_000));
    let pbu_times: Vec<i64> = sent
        .iter()
        .filter(|(_, p, f)| !pbus(&[(*p, f.clone())]).is_empty())
        .map(|(at, _, _)| at.total_millis())
        .collect();
    // RFC 6275 11.8: doubling up to MAX_BINDACK_TIMEOUT, then at that rate;
    // each retransmission waits for the node to answer a probe first.
    assert_eq!(pbu_times, [1500, 4500, 10_500, 22_500, 46_500, 78_500]);
    let seqs: Vec<u16> = sent
        .iter()
        .flat_map(|(_, p, f)| pbus(&[(*p, f.clone())]))
        .map(|p| p.sequence)
        .collect();
    assert!(
        seqs.iter().all(|s| *s > first.sequence),
        "fresh numbers: {seqs:?}"
    );
    assert_eq!(counter(&lab, "mag.pbu.retransmitted"), 6);
    // The node falls silent: the next retransmission's probe finds it gone,
    // and the MAG lets it go instead of sending a PBU on a guess.
    lab.answers.clear();
    let sent = lab.run_until(t(200_000));
    assert!(
        sent.iter()
            .all(|(_, p, f)| pbus(&[(*p, f.clone())]).is_empty())
    );
    assert!(lab.mag.bindings().is_empty(), "a silent node is let go");
}

#[test]
fn a_late_pba_for_an_earlier_transmission_still_completes() {
    let mut lab = Lab::default();
    let first = only_pbu(&lab.rs(t(0), VM1, "fe80::5"));
    lab.run_until(t(2000));
    let out = lab.pba(t(2100), &first, PbaStatus::Accepted, "2001:db8:1:1::/64");
    assert_eq!(ras(&out).len(), 1);
    let e = lab.mag.bindings().get(&VM1).unwrap();
    assert_eq!(e.retransmissions, 1);
}

#[test]
fn refreshes_before_expiry_with_hi_5() {
    let mut lab = Lab::default();
    lab.register(t(0), VM1, "fe80::5", "2001:db8:1:1::/64");
    let sent = lab.run_until(t(80_000));
    let (at, p, f) = sent
        .iter()
        .find(|(_, p, f)| !pbus(&[(*p, f.clone())]).is_empty())
        .expect("a refresh PBU");
    assert_eq!(*at, t(80_000), "80 % of the 100 s lifetime");
    let refresh = only_pbu(&[(*p, f.clone())]);
    assert_eq!(handoff(&refresh), HandoffIndicator::NotChanged);
    assert_eq!(refresh.options.hnps, vec![net("2001:db8:1:1::/64")]);
    let periodic = sent
        .iter()
        .filter(|(_, p, f)| !ras(&[(*p, f.clone())]).is_empty());
    assert_eq!(periodic.count(), 8, "an RA every 10 s");
    let out = lab.pba(
        t(80_050),
        &refresh,
        PbaStatus::Accepted,
        "2001:db8:1:1::/64",
    );
    assert!(ras(&out).is_empty());
    let e = lab.mag.bindings().get(&VM1).unwrap();
    assert_eq!(e.state, BindingState::Registered);
    assert_eq!(e.lifetime_left(t(80_050)), Some(Duration::from_secs(100)));
    assert_eq!(lab.mag.engine().routes().tunnels().len(), 1);
}

#[test]
fn an_unanswered_refresh_lets_the_binding_expire() {
    // The node keeps answering probes; with "unknown source" on, those answers
    // would (rightly) attach it again once the binding is gone.
    let mut cfg = config();
    cfg.detect.unknown_source = false;
    let mut lab = Lab::new(cfg);
    lab.register(t(0), VM1, "fe80::5", "2001:db8:1:1::/64");
    lab.run_until(t(99_999));
    assert!(lab.mag.bindings().get(&VM1).is_some());
    lab.run_until(t(100_000));
    assert!(lab.mag.bindings().get(&VM1).is_none());
    assert!(
        lab.mag
            .engine()
            .routes()
            .get(RouteTable::Destination, net("2001:db8:1:1::/64"))
            .is_none()
    );
    assert!(lab.mag.engine().routes().tunnels().is_empty());
    assert_eq!(counter(&lab, "mag.binding.expired"), 1);
}

/// Defect 5: a refresh whose retransmissions ran out (1, 2, 4 ... 32 s) is
/// tried again every MAX_BINDACK_TIMEOUT while the binding lasts, so an LMA
/// that comes back before the lifetime ends gets it.
#[test]
fn a_refresh_keeps_trying_at_max_bindack_timeout_until_expiry() {
    let mut cfg = config();
    cfg.lifetime = 1000;
    cfg.heartbeat = None;
    let mut lab = Lab::new(cfg);
    lab.register(t(0), VM1, "fe80::5", "2001:db8:1:1::/64");
    // The LMA answers neither the refresh at 800 s nor its retransmissions.
    let pbus_sent: Vec<(Instant, PbuRepr)> = lab
        .run_until(t(930_000))
        .into_iter()
        .filter_map(|(at, p, f)| pbus(&[(p, f)]).pop().map(|pbu| (at, pbu)))
        .collect();
    let secs: Vec<i64> = pbus_sent
        .iter()
        .map(|(at, _)| at.total_millis() / 1000)
        .collect();
    assert_eq!(
        secs,
        [800, 801, 803, 807, 815, 831, 863, 895, 927],
        "then every 32 s"
    );
    // The LMA is back: the last try is accepted and the binding lives on.
    let (_, last) = pbus_sent.last().unwrap();
    lab.pba(t(927_050), last, PbaStatus::Accepted, "2001:db8:1:1::/64");
    lab.run_until(t(1_100_000));
    let e = lab.mag.bindings().get(&VM1).expect("the binding survived");
    assert_eq!(e.state, BindingState::Registered);
}

#[test]
fn unmatched_pbas_are_ignored() {
    let mut lab = Lab::default();
    let pbu = only_pbu(&lab.rs(t(0), VM1, "fe80::5"));
    let mut wrong_seq = pbu.clone();
    wrong_seq.sequence = pbu.sequence.wrapping_add(100);
    assert!(ras(&lab.pba(t(10), &wrong_seq, PbaStatus::Accepted, "2001:db8:1:1::/64")).is_empty());
    let mut wrong_ts = pbu.clone();
    wrong_ts.options.timestamp = pbu.options.timestamp.map(|ts| ts - 0x10000);
    assert!(ras(&lab.pba(t(20), &wrong_ts, PbaStatus::Accepted, "2001:db8:1:1::/64")).is_empty());
    assert_eq!(counter(&lab, "mag.pba.unmatched"), 2);
    assert_eq!(
        lab.mag.bindings().get(&VM1).unwrap().state,
        BindingState::Registering
    );
    // The right one still completes, once.
    assert_eq!(
        ras(&lab.pba(t(30), &pbu, PbaStatus::Accepted, "2001:db8:1:1::/64")).len(),
        1
    );
    assert!(ras(&lab.pba(t(40), &pbu, PbaStatus::Accepted, "2001:db8:1:1::/64")).is_empty());
    assert_eq!(counter(&lab, "mag.pba.unmatched"), 3);
}

#[test]
fn a_refused_registration_installs_nothing() {
    let mut lab = Lab::default();
    let pbu = only_pbu(&lab.rs(t(0), VM1, "fe80::5"));
    let out = lab.pba(
        t(10),
        &pbu,
        PbaStatus::NotAuthorizedForHomeNetworkPrefix,
        "2001:db8:1:1::/64",
    );
    assert!(ras(&out).is_empty() && pbus(&out).is_empty());
    assert!(lab.mag.bindings().is_empty());
    assert!(
        lab.mag
            .engine()
            .routes()
            .get(RouteTable::Destination, net("2001:db8:1:1::/64"))
            .is_none()
    );
    assert!(lab.mag.engine().routes().tunnels().is_empty());
    assert_eq!(counter(&lab, "mag.pba.rejected"), 1);
}

fn accepting(pbu: &PbuRepr) -> PbaRepr {
    answer(pbu, PbaStatus::Accepted, "2001:db8:1:1::/64")
}

fn status_without_counters(lab: &mut Lab, now: Instant) -> router::ctl::Response {
    let mut s = lab.mag.control(now, &Request::Status {}, &mut Out::new());
    s.tables.retain(|t| t.title != "counters");
    s
}

/// A PBA the LMA did not make, in every form, changes nothing: the node stays
/// unregistered, no RA, no route, no tunnel, no timer; the real one then works.
#[test]
fn forged_pbas_are_dropped_and_change_nothing() {
    let mut lab = Lab::default();
    let pbu = only_pbu(&lab.rs(t(0), VM1, "fe80::5"));
    let pba = || MhRepr::Pba(accepting(&pbu));
    let before = status_without_counters(&mut lab, t(10));
    let other = Key::new(SPI, Algorithm::HmacSha256, &[0x77; 32]).unwrap();
    let impostor = ip("2001:db8:ff:1::99");
    let forged = [
        (
            mh_ipv6_packet(lmaa(), pcoa(), 64, &pba()),
            "auth.drop.missing",
        ),
        (
            sealed_packet(&other, lmaa(), pcoa(), 64, pba()),
            "auth.drop.bad_authenticator",
        ),
        (
            sealed_packet(&key(0x555), lmaa(), pcoa(), 64, pba()),
            "auth.drop.unknown_spi",
        ),
        (
            sealed_packet(&key(SPI), impostor, pcoa(), 64, pba()),
            "auth.drop.unknown_peer",
        ),
    ];
    for (packet, reason) in &forged {
        let out = lab.deliver_from_lma(t(10), packet);
        assert!(out.is_empty(), "{reason}: {out:?}");
        assert!(counter(&lab, reason) > 0, "{reason}");
        assert_eq!(status_without_counters(&mut lab, t(10)), before, "{reason}");
    }
    assert_eq!(counter(&lab, "mag.pba.accepted"), 0);
    let out = lab.pba_repr(t(20), accepting(&pbu));
    assert_eq!(ras(&out).len(), 1, "the LMA's own PBA registers the node");
    // The same PBA again, replayed: it answers nothing any more.
    let replay = sealed_packet(&key(SPI), lmaa(), pcoa(), 64, pba());
    let registered = status_without_counters(&mut lab, t(30));
    assert!(lab.deliver_from_lma(t(30), &replay).is_empty());
    assert_eq!(counter(&lab, "mag.pba.unmatched"), 1);
    assert_eq!(status_without_counters(&mut lab, t(30)), registered);
}

/// Heartbeats the LMA did not make are not answered and reveal no restart.
#[test]
fn forged_heartbeats_are_ignored() {
    let mut lab = Lab::default();
    lab.register(t(0), VM1, "fe80::5", "2001:db8:1:1::/64");
    let request = MhRepr::Heartbeat(router::wire::HeartbeatRepr {
        sequence: 5,
        ..Default::default()
    });
    let out = lab.deliver_from_lma(t(100), &mh_ipv6_packet(lmaa(), pcoa(), 64, &request));
    assert!(out.is_empty(), "no answer to a forged request");
    let out = lab.deliver_from_lma(
        t(100),
        &sealed_packet(&key(SPI), lmaa(), pcoa(), 64, request),
    );
    assert_eq!(
        spis(&out),
        [SPI],
        "the LMA's own request is answered, signed"
    );
    // A forged response with another Restart Counter would make the MAG
    // re-register everything: it is dropped first.
    let lie = MhRepr::Heartbeat(router::wire::HeartbeatRepr {
        response: true,
        sequence: 1,
        options: MobilityOptions {
            restart_counter: Some(99),
            ..MobilityOptions::default()
        },
        ..Default::default()
    });
    let forged = sealed_packet(&key(0x666), lmaa(), pcoa(), 64, lie);
    assert!(lab.deliver_from_lma(t(200), &forged).is_empty());
    assert_eq!(counter(&lab, "auth.drop.missing"), 1);
    assert_eq!(counter(&lab, "auth.drop.unknown_spi"), 1);
    assert_eq!(counter(&lab, "heartbeat.recoveries"), 0);
}

/// A rollover at the MAG: with both keys it signs with the new one and takes
/// PBAs made with either; with the new one only, the old is refused. The
/// binding is never touched.
#[test]
fn key_rollover_at_the_mag_keeps_the_binding() {
    use router::auth::Rekey;
    let mut lab = Lab::default();
    let out = lab.rs(t(0), VM1, "fe80::5");
    assert_eq!(spis(&out), [SPI]);
    let pbu = only_pbu(&out);
    lab.pba(t(10), &pbu, PbaStatus::Accepted, "2001:db8:1:1::/64");
    let table = lab.mag.rekey(keys(&[SPI, 0x102]));
    assert_eq!(table.rows.len(), 2);
    assert_eq!(
        table.rows[1][1..],
        ["258", "hmac-sha256", "16 octets", "yes"]
    );
    // The refresh, at 80 % of the 100 s lifetime, goes out with the new key.
    let sent: Vec<_> = lab
        .run_until(t(81_000))
        .into_iter()
        .map(|(_, p, f)| (p, f))
        .collect();
    let refresh = only_pbu(&sent);
    assert!(
        spis(&sent).iter().all(|spi| *spi == 0x102),
        "PBU and heartbeats"
    );
    // The LMA still answers with the old key: taken.
    lab.pba(
        t(81_100),
        &refresh,
        PbaStatus::Accepted,
        "2001:db8:1:1::/64",
    );
    assert_eq!(counter(&lab, "mag.pba.accepted"), 2);
    lab.mag.rekey(keys(&[0x102]));
    let sent: Vec<_> = lab
        .run_until(t(162_000))
        .into_iter()
        .map(|(_, p, f)| (p, f))
        .collect();
    let refresh = only_pbu(&sent);
    let old = sealed_packet(
        &key(SPI),
        lmaa(),
        pcoa(),
        64,
        MhRepr::Pba(accepting(&refresh)),
    );
    assert!(lab.deliver_from_lma(t(162_100), &old).is_empty());
    assert_eq!(counter(&lab, "auth.drop.unknown_spi"), 1);
    let new = sealed_packet(
        &key(0x102),
        lmaa(),
        pcoa(),
        64,
        MhRepr::Pba(accepting(&refresh)),
    );
    lab.deliver_from_lma(t(162_200), &new);
    assert_eq!(counter(&lab, "mag.pba.accepted"), 3);
    assert!(lab.mag.bindings().get(&VM1).unwrap().is_registered());
}

#[test]
fn nud_loss_of_an_idle_node_deregisters_it() {
    let mut lab = Lab::default();
    lab.register(t(0), VM1, "fe80::5", "2001:db8:1:1::/64");
    // Answered probes keep it attached.
    lab.run_until(t(25_000));
    assert!(counter(&lab, "mag.nud.probes") >= 1);
    assert!(lab.mag.bindings().get(&VM1).is_some());
    // The node leaves: the next probe goes unanswered.
    lab.answers.clear();
    let sent = lab.run_until(t(60_000));
    let dereg: Vec<PbuRepr> = sent
        .iter()
        .flat_map(|(_, p, f)| pbus(&[(*p, f.clone())]))
        .collect();
    assert_eq!(dereg.len(), 1, "{dereg:?}");
    assert_eq!(dereg[0].lifetime_secs, 0);
    assert_eq!(dereg[0].options.hnps, vec![net("2001:db8:1:1::/64")]);
    assert_eq!(dereg[0].options.mn_id.as_deref(), Some("vm1@tapmip"));
    assert!(lab.mag.bindings().is_empty());
    assert!(
        lab.mag
            .engine()
            .routes()
            .get(RouteTable::Destination, net("2001:db8:1:1::/64"))
            .is_none()
    );
    assert!(
        lab.mag
            .engine()
            .routes()
            .get(RouteTable::Source, net("2001:db8:1:1::/64"))
            .is_none()
    );
    assert_eq!(counter(&lab, "mag.detach.nud"), 1);
}

/// A node that attached with its DAD (from `::`) and then only sends data, no RS
/// nor NA, is still probed and found gone: the MAG learns the address from its
/// traffic (the paper's lab lost track of such a VM after its first migration).
#[test]
fn a_node_heard_only_by_its_traffic_is_found_gone_by_nud() {
    let mut lab = Lab::default();
    let ns = dad_ns(VM1, ip("fe80::5"));
    let pbu = only_pbu(&lab.feed(t(0), ACCESS, &ns));
    lab.pba(t(10), &pbu, PbaStatus::Accepted, "2001:db8:1:1::/64");
    let global = "2001:db8:1:1::5";
    lab.answers.insert(ip(global), VM1);
    let packet = udp(global, "2001:db8:c::9", 8);
    lab.feed(t(100), ACCESS, &ethernet_ipv6(VM1, FIXED_MAC, &packet));
    lab.run_until(t(25_000));
    assert!(counter(&lab, "mag.nud.probes") >= 1, "the node is probed");
    assert!(lab.mag.bindings().get(&VM1).is_some(), "and answers");
    lab.answers.clear();
    lab.run_until(t(60_000));
    assert_eq!(counter(&lab, "mag.detach.nud"), 1);
    assert!(lab.mag.bindings().is_empty());
}

#[test]
fn stopping_deregisters_every_binding() {
    let mut lab = Lab::default();
    lab.register(t(0), VM1, "fe80::5", "2001:db8:1:1::/64");
    lab.register(t(10), VM2, "fe80::6", "2001:db8:1:2::/64");
    let mut out = Out::new();
    lab.mag.on_stop(t(1000), &mut out);
    let out = lab.settle(t(1000), out);
    let deregs = pbus(&out);
    assert_eq!(deregs.len(), 2);
    assert!(deregs.iter().all(|p| p.lifetime_secs == 0));
    let mut ids: Vec<String> = deregs
        .iter()
        .filter_map(|p| p.options.mn_id.clone())
        .collect();
    ids.sort();
    assert_eq!(ids, ["vm1@tapmip", "vm2@tapmip"]);
    assert!(lab.mag.bindings().is_empty());
    assert!(lab.mag.engine().routes().tunnels().is_empty());
}

#[test]
fn nodes_sharing_a_link_each_get_only_their_prefix() {
    let mut lab = Lab::default();
    let ra1 = ras(&lab.register(t(0), VM1, "fe80::5", "2001:db8:1:1::/64"));
    let ra2 = ras(&lab.register(t(10), VM2, "fe80::6", "2001:db8:1:2::/64"));
    let periodic = lab.run_until(t(30_000));
    let all: Vec<_> = ra1
        .into_iter()
        .chain(ra2)
        .chain(
            periodic
                .iter()
                .flat_map(|(_, p, f)| ras(&[(*p, f.clone())])),
        )
        .collect();
    assert!(all.len() >= 6, "{all:?}");
    for (dst_mac, dst_ip, prefixes) in all {
        assert!(
            !dst_mac.is_multicast(),
            "never an L2-multicast RA with prefixes"
        );
        let (want_ip, want) = if dst_mac == VM1 {
            ("fe80::5", "2001:db8:1:1::/64")
        } else {
            assert_eq!(dst_mac, VM2);
            ("fe80::6", "2001:db8:1:2::/64")
        };
        assert_eq!(dst_ip, ip(want_ip));
        let got: Vec<Ipv6Net> = prefixes.iter().map(|p| p.prefix).collect();
        assert_eq!(got, vec![net(want)]);
    }
    assert_eq!(
        lab.mag.engine().routes().tunnels().len(),
        1,
        "one tunnel shared by both"
    );
}

/// The IPv6 packet of a frame, trimmed to its length.
fn ipv6_of(frame: &[u8]) -> Vec<u8> {
    let eth = EthernetFrame::new_checked(frame).unwrap();
    let p = Ipv6Packet::new_checked(eth.payload()).unwrap();
    eth.payload()[..p.total_len()].to_vec()
}

#[test]
fn node_traffic_is_tunnelled_to_the_lma_and_back() {
    let mut lab = Lab::default();
    lab.register(t(0), VM1, "fe80::5", "2001:db8:1:1::/64");
    lab.answers.insert(ip("2001:db8:1:1::5"), VM1);

    let up = udp("2001:db8:1:1::5", "2001:db8:c::9", 20);
    let out = lab.feed(t(100), ACCESS, &ethernet_ipv6(VM1, FIXED_MAC, &up));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, UPLINK);
    let outer = ipv6_of(&out[0].1);
    let o = Ipv6Packet::new_checked(&outer[..]).unwrap();
    assert_eq!((o.src_addr(), o.dst_addr()), (pcoa(), lmaa()));
    assert_eq!(o.next_header(), IpProtocol::Unknown(41));
    let inner = Ipv6Packet::new_checked(o.payload()).unwrap();
    assert_eq!(inner.dst_addr(), ip("2001:db8:c::9"));
    assert_eq!(inner.hop_limit(), 63);

    let down = udp("2001:db8:c::9", "2001:db8:1:1::5", 20);
    let mut encap = vec![0u8; 40];
    Ipv6Repr {
        src_addr: lmaa(),
        dst_addr: pcoa(),
        next_header: IpProtocol::Unknown(41),
        payload_len: down.len(),
        hop_limit: 64,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut encap[..]));
    encap.extend_from_slice(&down);
    let out = lab.feed(t(200), UPLINK, &ethernet_ipv6(LMA_MAC, UPLINK_MAC, &encap));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, ACCESS);
    let eth = EthernetFrame::new_checked(&out[0].1[..]).unwrap();
    assert_eq!(
        (Mac::from(eth.src_addr()), Mac::from(eth.dst_addr())),
        (FIXED_MAC, VM1)
    );
    let delivered = ipv6_of(&out[0].1);
    let d = Ipv6Packet::new_checked(&delivered[..]).unwrap();
    assert_eq!(
        (d.src_addr(), d.dst_addr()),
        (ip("2001:db8:c::9"), ip("2001:db8:1:1::5"))
    );
}

fn node_to_node(local_routing: bool) -> Out {
    let mut cfg = config();
    cfg.local_routing = local_routing;
    let mut lab = Lab::new(cfg);
    lab.register(t(0), VM1, "fe80::5", "2001:db8:1:1::/64");
    lab.register(t(10), VM2, "fe80::6", "2001:db8:1:2::/64");
    lab.answers.insert(ip("2001:db8:1:2::6"), VM2);
    let packet = udp("2001:db8:1:1::5", "2001:db8:1:2::6", 20);
    lab.feed(t(100), ACCESS, &ethernet_ipv6(VM1, FIXED_MAC, &packet))
}

#[test]
fn local_routing_only_when_enabled() {
    let off = node_to_node(false);
    assert_eq!(off.len(), 1);
    assert_eq!(
        off[0].0, UPLINK,
        "through the LMA by default (RFC 5213 6.10.3)"
    );
    let on = node_to_node(true);
    assert_eq!(on.len(), 1);
    assert_eq!(on[0].0, ACCESS);
    let eth = EthernetFrame::new_checked(&on[0].1[..]).unwrap();
    assert_eq!(Mac::from(eth.dst_addr()), VM2);
}

fn unsolicited_na(mac: Mac, target: &str) -> Vec<u8> {
    build_na(
        &Addressing {
            src_mac: mac,
            dst_mac: multicast_mac(ip("ff02::1")),
            src_ip: ip(target),
            dst_ip: ip("ff02::1"),
        },
        ip(target),
        NaFlags {
            router: false,
            solicited: false,
            override_: true,
        },
        Some(mac),
    )
}

/// Regression: a VM that migrated away and back before this MAG noticed kept
/// its binding here while the LMA routed to the other MAG, until the refresh.
#[test]
fn a_registered_node_announcing_itself_again_is_re_registered() {
    let mut lab = Lab::default();
    lab.register(t(0), VM1, "fe80::5", "2001:db8:1:1::/64");
    let out = lab.feed(t(2000), ACCESS, &unsolicited_na(VM1, "fe80::5"));
    let pbu = only_pbu(&out);
    assert_eq!(handoff(&pbu), HandoffIndicator::InterMag);
    assert_eq!(pbu.options.hnps, [net("2001:db8:1:1::/64")]);
    assert_eq!(counter(&lab, "mag.pbu.reattach"), 1);
    let again = lab.feed(t(2001), ACCESS, &unsolicited_na(VM1, "2001:db8:1:1::5"));
    assert!(pbus(&again).is_empty(), "one exchange per announcement");
    let e = lab.mag.bindings().get(&VM1).unwrap();
    assert!(e.is_registered(), "routes stay while re-registering");
    lab.pba(t(2010), &pbu, PbaStatus::Accepted, "2001:db8:1:1::/64");
    let e = lab.mag.bindings().get(&VM1).unwrap();
    assert_eq!(e.state, BindingState::Registered);
}

/// A stale refusal (a PBU late past the LMA's timestamp window, older than
/// another MAG's registration, or a re-registration from a MAG the LMA no
/// longer names) is never answered blindly: the MAG first checks the node is
/// on its link, and only then registers it again, as a handoff to here with a
/// fresh timestamp. Three such refusals in a row end the attempt.
#[test]
fn a_stale_refusal_is_answered_only_for_a_node_that_is_here() {
    for status in [
        PbaStatus::TimestampMismatch,
        PbaStatus::TimestampLowerThanPrevAccepted,
        PbaStatus::ReasonUnspecified,
    ] {
        let mut lab = Lab::default();
        let mut last = only_pbu(&lab.rs(t(0), VM1, "fe80::5"));
        for round in 1..=3 {
            // The node answers the probe at once here (see `Lab::settle`).
            let out = lab.pba(t(10 * round), &last, status, "2001:db8:1:1::/64");
            let again = only_pbu(&out);
            assert!(ras(&out).is_empty());
            assert_eq!(
                again.options.handoff_indicator,
                Some(HandoffIndicator::InterMag),
                "{status}: a handoff to here"
            );
            assert!(
                again.options.timestamp > last.options.timestamp,
                "{status}: fresh timestamp"
            );
            last = again;
        }
        let out = lab.pba(t(40), &last, status, "2001:db8:1:1::/64");
        assert!(pbus(&out).is_empty(), "{status}: no endless argument");
        assert!(lab.mag.bindings().get(&VM1).is_none(), "{status}: given up");
        assert_eq!(counter(&lab, "mag.pba.stale"), 3);
    }
}

/// The same refusal for a node that does not answer: no PBU at all, and the
/// node is dropped when NUD gives up.
#[test]
fn a_stale_refusal_for_a_node_that_left_sends_nothing() {
    let mut lab = Lab::default();
    let first = only_pbu(&lab.rs(t(0), VM1, "fe80::5"));
    lab.answers.clear();
    let out = lab.pba(
        t(10),
        &first,
        PbaStatus::TimestampLowerThanPrevAccepted,
        "::/0",
    );
    assert!(pbus(&out).is_empty(), "the node is probed, not registered");
    let later: Out = lab
        .run_until(t(10_000))
        .into_iter()
        .map(|(_, p, f)| (p, f))
        .collect();
    assert!(
        pbus(&later).is_empty(),
        "no PBU for a node that does not answer"
    );
    assert!(lab.mag.bindings().get(&VM1).is_none());
}

/// QEMU's announce-self after a migration: RARP frames carrying only the
/// guest's MAC (RFC 903). The policy gives the MN-ID; the PBU says HI=3.
#[test]
fn a_hypervisors_rarp_announcement_attaches_the_guest() {
    use router::wire::RarpRepr;
    let rarp = |mac| RarpRepr::announcement(mac).frame(mac);
    let mut lab = Lab::default();
    let pbu = only_pbu(&lab.feed(t(0), ACCESS, &rarp(VM1)));
    assert_eq!(pbu.options.mn_id.as_deref(), Some("vm1@tapmip"));
    assert_eq!(
        pbu.options.mn_link_layer_id.as_deref(),
        Some(VM1.as_bytes())
    );
    assert_eq!(handoff(&pbu), HandoffIndicator::InterMag);
    assert_eq!(counter(&lab, "mag.attach.rarp"), 1);
    assert_eq!(counter(&lab, "mag.attach.unknown_source"), 0);
    assert!(
        pbus(&lab.feed(t(50), ACCESS, &rarp(VM1))).is_empty(),
        "QEMU's later rounds while the PBU is out start nothing"
    );
    let out = lab.pba(t(60), &pbu, PbaStatus::Accepted, "2001:db8:1:1::/64");
    assert_eq!(ras(&out).len(), 1, "the guest gets its RA");
    let e = lab.mag.bindings().get(&VM1).unwrap();
    assert_eq!(e.trigger.to_string(), "RARP announcement");

    // Registered and announced again (it came back before this MAG noticed it
    // leave): re-registered, as an unsolicited NA would; QEMU's later rounds
    // are held to MAX_UPDATE_RATE like any announcement.
    let again = only_pbu(&lab.feed(t(5000), ACCESS, &rarp(VM1)));
    assert_eq!(handoff(&again), HandoffIndicator::InterMag);
    assert_eq!(counter(&lab, "mag.pbu.reattach"), 1);

    // Not in the policy, or the trigger switched off: nothing.
    assert!(pbus(&lab.feed(t(6000), ACCESS, &rarp(STRANGER))).is_empty());
    let mut cfg = config();
    cfg.detect = "rs,na,unknown".parse::<DetectConfig>().unwrap();
    let mut lab = Lab::new(cfg);
    assert!(pbus(&lab.feed(t(0), ACCESS, &rarp(VM1))).is_empty());
    assert_eq!(counter(&lab, "mag.attach.unknown_source"), 0);
}
