//! The LMA core driven in memory with a fake clock: PBUs in, PBAs, routes and
//! tunnels out (RFC 5213 section 5), plus the data plane through the tunnels.

mod support;
use support::*;

#[test]
fn first_registration() {
    let mut l = lma();
    let req = pbu(7, "vm01@tapmip", HI_NEW, 3600, 0);
    let pba = send(&mut l, 0, MAG1, &req);
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert!(pba.proxy);
    assert_eq!(pba.sequence, 7);
    assert_eq!(pba.lifetime_secs, 3600);
    let o = &pba.options;
    assert_eq!(o.mn_id.as_deref(), Some("vm01@tapmip"));
    assert_eq!(o.hnps, vec![net(VM01_HNP)]);
    assert_eq!(o.handoff_indicator, Some(HI_NEW));
    assert_eq!(o.access_technology, Some(AccessTechnologyType::Ethernet));
    assert_eq!(o.mn_link_layer_id.as_deref(), Some(&VM01_MAC[..]));
    assert_eq!(o.link_local_address, Some(ip("fe80::1")));
    assert_eq!(o.timestamp, req.options.timestamp);

    let tunnel = tunnel_to(&l, MAG1).expect("tunnel to MAG1");
    assert_eq!(route(&l, VM01_HNP), Some(NextHop::Tunnel(tunnel)));
    let tun = l.engine().routes().tunnels().get(tunnel).unwrap();
    assert_eq!((tun.local, tun.users), (ip(MAG1.lma), 1));
    assert_eq!(state(&l, "vm01@tapmip"), Some(BindingState::Active));
    let c = l.counters();
    assert_eq!((c.get("pbu.received"), c.get("pba.sent.accepted")), (1, 1));

    let r = l.control(t(1000), &Request::Bindings {}, &mut Out::new());
    let row = &r.tables[0].rows[0];
    assert_eq!(row[0], "vm01@tapmip");
    assert_eq!(row[1], VM01_HNP);
    assert_eq!(row[3], "mag1");
    assert_eq!(row[4], "active");
    assert_eq!(row[5], "3599 s");
    assert_eq!(row[9], "52:54:00:aa:00:01");
    let status = l.control(t(1000), &Request::Status {}, &mut Out::new());
    let titles: Vec<_> = status.tables.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "bindings",
            "sizes",
            "tunnels",
            "routes",
            "neighbors",
            "counters"
        ]
    );
}

#[test]
fn one_tunnel_per_mag_shared_by_nodes() {
    let mut l = registered();
    let pba = send(&mut l, 100, MAG1, &pbu(2, "vm02@tapmip", HI_NEW, 3600, 100));
    assert_eq!(pba.options.hnps, vec![net("2001:db8:1:2::/64")]);
    assert_eq!(l.engine().routes().tunnels().len(), 1);
    let t1 = tunnel_to(&l, MAG1).unwrap();
    assert_eq!(l.engine().routes().tunnels().get(t1).unwrap().users, 2);
    assert_eq!(route(&l, "2001:db8:1:2::/64"), Some(NextHop::Tunnel(t1)));
}

#[test]
fn handoff_to_mag2_keeps_the_hnp() {
    let mut l = registered();
    let pba = send(
        &mut l,
        2000,
        MAG2,
        &pbu(1, "vm01@tapmip", HI_MAG, 3600, 2000),
    );
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert_eq!(pba.options.hnps, vec![net(VM01_HNP)]);
    let t2 = tunnel_to(&l, MAG2).expect("tunnel to MAG2");
    assert_eq!(route(&l, VM01_HNP), Some(NextHop::Tunnel(t2)));
    assert_eq!(
        l.engine().routes().tunnels().get(t2).unwrap().local,
        ip(MAG2.lma)
    );
    let t1 = tunnel_to(&l, MAG1).expect("MAG1's tunnel lingers");
    assert_eq!(l.engine().routes().tunnels().get(t1).unwrap().users, 1);
    timer(&mut l, t(2000 + 2001));
    assert_eq!(tunnel_to(&l, MAG1), None, "MAG1's last user left");
}

/// vm01, registered at MAG1, handed off to MAG2 at 2 s.
fn moved_to_mag2() -> Lma {
    let mut l = registered();
    send(
        &mut l,
        2000,
        MAG2,
        &pbu(1, "vm01@tapmip", HI_MAG, 3600, 2000),
    );
    l
}

/// What vm01 sent through MAG1 just before it moved may come in after
/// MAG2's PBU (a hypervisor's hint is quicker than the WAN): MAG1's tunnel
/// still takes it out, with no route into it, for 2 s; then it is gone.
#[test]
fn the_previous_mags_tunnel_takes_what_is_still_on_the_way() {
    let mut l = moved_to_mag2();
    let t2 = tunnel_to(&l, MAG2).expect("tunnel to MAG2");
    assert_eq!(route(&l, VM01_HNP), Some(NextHop::Tunnel(t2)));
    let inner = udp("2001:db8:1:1::10", "2001:db8:c::100", 64);
    let mut outer = Vec::new();
    encapsulate(ip(MAG1.addr), ip(MAG1.lma), &inner, 64, 1500, &mut outer).unwrap();
    let frame = ethernet_ipv6(MAG1.mac, LMA_MACS[1], &outer);
    let out = exchange(&mut l, t(2030), MAG1.port, &frame);
    assert_eq!(out.len(), 1, "{:?}", l.counters());
    assert_eq!(out[0].0, CORE);
    // Moving back and forth keeps one lingering tunnel per MAG, not more.
    send(
        &mut l,
        2100,
        MAG1,
        &pbu(1, "vm01@tapmip", HI_MAG, 3600, 2100),
    );
    send(
        &mut l,
        2200,
        MAG2,
        &pbu(1, "vm01@tapmip", HI_MAG, 3600, 2200),
    );
    assert_eq!(l.engine().routes().tunnels().len(), 2);
    timer(&mut l, t(2200 + 2001));
    assert_eq!(tunnel_to(&l, MAG1), None);
    let out = exchange(&mut l, t(4300), MAG1.port, &frame);
    assert!(out.is_empty());
    assert_eq!(l.counters().get("drop.tunnel_unknown_source"), 1);
    assert_eq!(route(&l, VM01_HNP), Some(NextHop::Tunnel(t2)));
}

#[test]
fn late_deregistration_from_the_old_mag_is_acknowledged_and_ignored() {
    let mut l = moved_to_mag2();
    // MAG1 noticed the departure before MAG2's PBU but its PBU arrives later.
    let dereg = pbu(2, "vm01@tapmip", HI_MAG, 0, 1950);
    let pba = send(&mut l, 2010, MAG1, &dereg);
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert_eq!(pba.lifetime_secs, 0);
    let t2 = tunnel_to(&l, MAG2).unwrap();
    assert_eq!(route(&l, VM01_HNP), Some(NextHop::Tunnel(t2)));
    assert_eq!(state(&l, "vm01@tapmip"), Some(BindingState::Active));
    let b = l
        .bindings()
        .get(l.bindings().find("vm01@tapmip").unwrap())
        .unwrap();
    assert_eq!(b.proxy_coa, ip(MAG2.addr));
}

#[test]
fn deregistration_then_new_mag_within_min_delay_keeps_the_hnp() {
    let mut l = registered();
    let pba = send(&mut l, 1000, MAG1, &pbu(2, "vm01@tapmip", HI_MAG, 0, 1000));
    assert_eq!((pba.status, pba.lifetime_secs), (PbaStatus::Accepted, 0));
    assert_eq!(route(&l, VM01_HNP), None);
    assert!(l.engine().routes().tunnels().is_empty());
    assert_eq!(
        state(&l, "vm01@tapmip"),
        Some(BindingState::DeregisteredPendingDelete)
    );

    let pba = send(
        &mut l,
        6000,
        MAG2,
        &pbu(1, "vm01@tapmip", HI_UNKNOWN, 3600, 6000),
    );
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert_eq!(pba.options.hnps, vec![net(VM01_HNP)]);
    let t2 = tunnel_to(&l, MAG2).unwrap();
    assert_eq!(route(&l, VM01_HNP), Some(NextHop::Tunnel(t2)));
    // The old deletion deadline no longer applies.
    timer(&mut l, t(11_500));
    assert_eq!(state(&l, "vm01@tapmip"), Some(BindingState::Active));
}

#[test]
fn deregistered_entry_is_deleted_after_min_delay() {
    let mut l = registered();
    send(&mut l, 1000, MAG1, &pbu(2, "vm01@tapmip", HI_MAG, 0, 1000));
    timer(&mut l, t(10_999));
    assert!(l.bindings().find("vm01@tapmip").is_some());
    timer(&mut l, t(11_000));
    assert!(l.bindings().is_empty());
    assert!(l.engine().routes().tunnels().is_empty());
    assert_eq!(l.counters().get("bce.deleted"), 1);
}

#[test]
fn lifetime_expiry_removes_entry_and_routes() {
    let mut cfg = config();
    cfg.max_lifetime_secs = 40;
    let mut l = Lma::new(cfg, t(0));
    let pba = send(&mut l, 0, MAG1, &pbu(1, "vm01@tapmip", HI_NEW, 3600, 0));
    assert_eq!(pba.lifetime_secs, 40);
    assert_eq!(l.poll_at().map(|at| at <= t(40_000)), Some(true));
    timer(&mut l, t(39_999));
    assert!(route(&l, VM01_HNP).is_some());
    timer(&mut l, t(40_000));
    assert!(l.bindings().is_empty());
    assert_eq!(route(&l, VM01_HNP), None);
    assert!(l.engine().routes().tunnels().is_empty());

    // A refresh pushes the expiry out.
    let mut l = Lma::new(config(), t(0));
    send(&mut l, 0, MAG1, &pbu(1, "vm01@tapmip", HI_NEW, 100, 0));
    send(
        &mut l,
        90_000,
        MAG1,
        &pbu(2, "vm01@tapmip", HandoffIndicator::NotChanged, 100, 90_000),
    );
    timer(&mut l, t(150_000));
    assert_eq!(state(&l, "vm01@tapmip"), Some(BindingState::Active));
    timer(&mut l, t(190_000));
    assert!(l.bindings().is_empty());
}

/// Sends `pbu` from `mag` to a fresh LMA with vm01 registered and checks the
/// status and that nothing changed.
fn rejected(mag: Mag, pbu: PbuRepr, status: PbaStatus) -> PbaRepr {
    let mut l = registered();
    let before = l.control(t(200), &Request::Status {}, &mut Out::new());
    let pba = send(&mut l, 200, mag, &pbu);
    assert_eq!(pba.status, status, "{pbu:?}");
    assert_eq!(pba.sequence, pbu.sequence);
    assert_eq!(pba.lifetime_secs, 0);
    // RFC 5213 5.3.6: the MN-ID comes back, an empty one if the PBU had none.
    let mn_id = pbu.options.mn_id.clone().unwrap_or_default();
    assert_eq!(pba.options.mn_id, Some(mn_id));
    let after = l.control(t(200), &Request::Status {}, &mut Out::new());
    // Only counters may differ, and the neighbor entry that resolving the
    // PBA's destination made: the PBU's own frame leaves no trace.
    assert_eq!(
        unchanged(before, mag),
        unchanged(after, mag),
        "state changed by a rejected PBU"
    );
    pba
}

/// A status answer without its counters and without `mag`'s neighbor entry.
fn unchanged(mut status: router::ctl::Response, mag: Mag) -> router::ctl::Response {
    status.tables.retain(|t| t.title != "counters");
    for t in &mut status.tables {
        t.rows
            .retain(|row| !(t.title == "neighbors" && row[1] == mag.addr));
        // The count of those neighbors, then.
        t.rows
            .retain(|row| !(t.title == "sizes" && row[0].starts_with("neighbors")));
    }
    status
}

#[test]
fn a_refused_pbu_teaches_the_lma_nothing() {
    let mut l = registered();
    let before = l.control(t(200), &Request::Status {}, &mut Out::new());
    let mut p = pbu(9, "vm01@tapmip", HI_NEW, 3600, 200);
    p.ack = false;
    let out = exchange(&mut l, t(200), ROGUE.port, &pbu_frame(ROGUE, &p));
    assert!(
        out.is_empty(),
        "no answer to an unacknowledged refusal: {out:?}"
    );
    let mut after = l.control(t(200), &Request::Status {}, &mut Out::new());
    after.tables.retain(|t| t.title != "counters");
    let mut before = before;
    before.tables.retain(|t| t.title != "counters");
    assert_eq!(
        before, after,
        "the refused PBU's frame wrote the neighbor cache"
    );
}

#[test]
fn every_rejection_status() {
    use PbaStatus as S;
    let ok = || pbu(9, "vm01@tapmip", HandoffIndicator::NotChanged, 3600, 200);
    let with = |f: &dyn Fn(&mut PbuRepr)| {
        let mut p = ok();
        f(&mut p);
        p
    };
    rejected(MAG1, with(&|p| p.proxy = false), S::ProxyRegNotEnabled);
    rejected(
        MAG1,
        with(&|p| p.options.mn_id = None),
        S::MissingMnIdentifierOption,
    );
    rejected(ROGUE, ok(), S::MagNotAuthorizedForProxyReg);
    rejected(
        MAG2,
        pbu(1, "vm04@tapmip", HI_NEW, 3600, 200),
        S::MagNotAuthorizedForProxyReg,
    );
    rejected(
        MAG1,
        pbu(1, "nobody@tapmip", HI_NEW, 3600, 200),
        S::NotLmaForThisMobileNode,
    );
    rejected(
        MAG1,
        with(&|p| p.options.hnps.clear()),
        S::MissingHomeNetworkPrefixOption,
    );
    rejected(
        MAG1,
        with(&|p| p.options.handoff_indicator = None),
        S::MissingHandoffIndicatorOption,
    );
    rejected(
        MAG1,
        with(&|p| p.options.access_technology = None),
        S::MissingAccessTechTypeOption,
    );
    let mut foreign = pbu(1, "vm02@tapmip", HI_NEW, 3600, 200);
    foreign.options.hnps = vec![net("2001:db8:9::/64")];
    rejected(MAG1, foreign, S::NotAuthorizedForHomeNetworkPrefix);
    // An entry exists: its prefix set is what the PBU must match (5.4.1.1).
    rejected(
        MAG1,
        with(&|p| p.options.hnps = vec![net("2001:db8:1:2::/64")]),
        S::BcePbuPrefixSetDoNotMatch,
    );
    rejected(
        MAG1,
        with(&|p| p.options.timestamp = None),
        S::TimestampMismatch,
    );
    // The older timestamp is still inside the 300 ms window.
    rejected(
        MAG1,
        with(&|p| p.options.timestamp = Some(ts(0))),
        S::TimestampLowerThanPrevAccepted,
    );
}

/// Feeds `packet` (from `mag`'s link) to a fresh LMA with vm01 registered at
/// MAG1 and checks it is dropped as `counter` says: no answer at all, and
/// not one table of the status changed but the counters (bindings, timers,
/// held PBUs, neighbors, tunnels, routes), also once the held-PBU wait
/// (MaxDelayBeforeNewBCEAssign) is over.
fn dropped(mag: Mag, packet: &[u8], counter: &str) {
    let mut l = registered();
    let status = |l: &mut Lma, at: i64| {
        let mut s = l.control(t(at), &Request::Status {}, &mut Out::new());
        s.tables.retain(|t| t.title != "counters");
        s
    };
    let before = status(&mut l, 200);
    let out = exchange(&mut l, t(200), mag.port, &frame(mag, packet));
    assert!(out.is_empty(), "{counter}: answered {out:?}");
    assert_eq!(before, status(&mut l, 200), "{counter}: state changed");
    let c = l.counters();
    assert_eq!(c.get(counter), 1, "{counter}");
    assert_eq!(c.get("pbu.received"), 1, "only the registration was read");
    timer(&mut l, t(2000));
    let b = l
        .bindings()
        .get(l.bindings().find("vm01@tapmip").unwrap())
        .unwrap();
    assert_eq!(b.proxy_coa, ip(MAG1.addr), "{counter}: the binding moved");
}

/// The attack of issue 9: a PBU claiming vm01 moved to MAG2, sent from
/// MAG2's address, and every kind of broken or forged authentication.
#[test]
fn unauthenticated_pbus_are_dropped_unanswered_and_change_nothing() {
    let claim = pbu(9, "vm01@tapmip", HI_UNKNOWN, 3600, 200);
    let repr = || MhRepr::Pbu(claim.clone());
    let from = |mag: Mag, key: &Key| sealed_packet(key, ip(mag.addr), ip(mag.lma), 64, repr());
    let plain = mh_ipv6_packet(ip(MAG2.addr), ip(MAG2.lma), 64, &repr());
    dropped(MAG2, &plain, "auth.drop.missing");
    // Someone else's key: MAG1's under MAG2's address.
    dropped(MAG2, &from(MAG2, &MAG1.key()), "auth.drop.unknown_spi");
    dropped(MAG2, &from(MAG2, &key(0x7777)), "auth.drop.unknown_spi");
    let guessed = Key::new(MAG2.spi, Algorithm::HmacSha256, &[0x55; 32]).unwrap();
    dropped(MAG2, &from(MAG2, &guessed), "auth.drop.bad_authenticator");
    let good = from(MAG2, &MAG2.key());
    let auth_at = 40 + router::auth::message::locate(&good[40..]).unwrap().at;
    let mut random = good.clone();
    let mut rng = router::rng::SplitMix64::new(9);
    for b in &mut random[auth_at + 7..] {
        *b = rng.next_u64() as u8;
    }
    MhPacket::new_unchecked(&mut random[40..]).fill_checksum(&ip(MAG2.addr), &ip(MAG2.lma));
    dropped(MAG2, &random, "auth.drop.bad_authenticator");
    // A changed field: the Handoff Indicator says 3 instead of 4.
    let mut changed = good.clone();
    let hi_at = good.windows(2).position(|w| w == [23, 2]).unwrap() + 3;
    changed[hi_at] = 3;
    MhPacket::new_unchecked(&mut changed[40..]).fill_checksum(&ip(MAG2.addr), &ip(MAG2.lma));
    dropped(MAG2, &changed, "auth.drop.bad_authenticator");
    let long = Key::new(MAG2.spi, Algorithm::HmacSha512, &[2; 64]).unwrap();
    dropped(MAG2, &from(MAG2, &long), "auth.drop.wrong_length");
    let mut subtype = good.clone();
    subtype[auth_at + 2] = 2;
    MhPacket::new_unchecked(&mut subtype[40..]).fill_checksum(&ip(MAG2.addr), &ip(MAG2.lma));
    dropped(MAG2, &subtype, "auth.drop.wrong_subtype");
    // Option Length 4 cuts the SPI; 22 runs past the message; 20 leaves an
    // octet after the option.
    for length in [4, 22, 20] {
        let mut cut = good.clone();
        cut[auth_at + 1] = length;
        if length == 20 {
            *cut.last_mut().unwrap() = 0;
        }
        MhPacket::new_unchecked(&mut cut[40..]).fill_checksum(&ip(MAG2.addr), &ip(MAG2.lma));
        dropped(MAG2, &cut, "auth.drop.malformed");
    }
    // From an address that is not a MAG, with a key of its own.
    dropped(
        STRANGER,
        &from(STRANGER, &STRANGER.key()),
        "auth.drop.unknown_peer",
    );
    let c = {
        let mut l = registered();
        for _ in 0..5 {
            exchange(&mut l, t(200), MAG2.port, &frame(MAG2, &plain));
        }
        l.counters()
    };
    assert_eq!(
        c.get("auth.drop.missing"),
        5,
        "the issue's five forged PBUs"
    );
}

/// A replayed authentic PBU passes the authenticator but not the ordering
/// that runs after it: refused as stale, nothing changed.
#[test]
fn a_replayed_authentic_pbu_is_refused_as_stale() {
    let mut l = lma();
    let first = pbu(1, "vm01@tapmip", HI_NEW, 3600, 0);
    assert_eq!(send(&mut l, 0, MAG1, &first).status, PbaStatus::Accepted);
    let moved = pbu(1, "vm01@tapmip", HI_MAG, 3600, 100);
    assert_eq!(send(&mut l, 100, MAG2, &moved).status, PbaStatus::Accepted);
    let before = l.control(t(200), &Request::Bindings {}, &mut Out::new());
    // MAG1's registration again: inside the window, but older than the handoff.
    let pba = send(&mut l, 200, MAG1, &first);
    assert_eq!(pba.status, PbaStatus::TimestampLowerThanPrevAccepted);
    // Long after: outside TimestampValidityWindow.
    let pba = send(&mut l, 5000, MAG1, &first);
    assert_eq!(pba.status, PbaStatus::TimestampMismatch);
    let after = l.control(t(200), &Request::Bindings {}, &mut Out::new());
    assert_eq!(before, after, "the binding stays at MAG2");
    assert_eq!(l.counters().get("pbu.received"), 4);
}

/// Two keys at once: the LMA takes MAG1's new key besides the old one, MAG1
/// switches, the old key goes; the binding lives on through all of it.
#[test]
fn key_rollover_keeps_the_binding() {
    use router::auth::Rekey;
    let mut l = registered();
    let entry = |l: &mut Lma| l.control(t(0), &Request::Bindings {}, &mut Out::new());
    let at_start = entry(&mut l);
    let tunnel = tunnel_to(&l, MAG1);
    let mut both = keys(&[MAG2, ROGUE]);
    both.insert(ip(MAG1.addr), key(0x101));
    both.insert(ip(MAG1.addr), key(0x102));
    l.rekey(both);
    let new_mag1 = Mag { spi: 0x102, ..MAG1 };
    let refresh = |seq, at| pbu(seq, "vm01@tapmip", HandoffIndicator::NotChanged, 3600, at);
    // The old key still works, and so does the new one.
    assert_eq!(
        send(&mut l, 1000, MAG1, &refresh(2, 1000)).status,
        PbaStatus::Accepted
    );
    let out = exchange(
        &mut l,
        t(2000),
        MAG1.port,
        &pbu_frame(new_mag1, &refresh(3, 2000)),
    );
    let signed: Vec<u32> = packets(&out)
        .iter()
        .map(|(_, p)| assert_authenticated(&Ipv6Packet::new_checked(&p[..]).unwrap()))
        .collect();
    assert_eq!(signed, [0x102], "the PBA follows the MAG to the new key");
    // The LMA's own heartbeat request follows it too.
    let out = timer(&mut l, t(61_000));
    let heartbeats: Vec<u32> = packets(&out)
        .iter()
        .filter(|(p, _)| *p == MAG1.port)
        .map(|(_, p)| assert_authenticated(&Ipv6Packet::new_checked(&p[..]).unwrap()))
        .collect();
    assert_eq!(heartbeats, [0x102]);
    let mut new_only = keys(&[MAG2, ROGUE]);
    new_only.insert(ip(MAG1.addr), key(0x102));
    let table = l.rekey(new_only);
    assert!(
        table.rows.iter().any(|r| r[1] == "258" && r[4] == "yes"),
        "{table:?}"
    );
    // The retired key is refused; the binding was never touched.
    let out = exchange(
        &mut l,
        t(62_000),
        MAG1.port,
        &pbu_frame(MAG1, &refresh(4, 62_000)),
    );
    assert!(out.is_empty());
    assert_eq!(l.counters().get("auth.drop.unknown_spi"), 1);
    let later = entry(&mut l);
    assert_eq!(
        later.tables[0].rows[0][..5],
        at_start.tables[0].rows[0][..5]
    );
    assert_eq!(tunnel_to(&l, MAG1), tunnel);
    assert_eq!(state(&l, "vm01@tapmip"), Some(BindingState::Active));
}

/// `--insecure` for interoperability: plain PBUs are taken, plain PBAs sent.
#[test]
fn an_insecure_lma_takes_and_sends_plain_messages() {
    let mut cfg = config();
    cfg.signalling = Signalling::Insecure;
    let mut l = Lma::new(cfg, t(0));
    let p = MhRepr::Pbu(pbu(1, "vm01@tapmip", HI_NEW, 3600, 0));
    let packet = mh_ipv6_packet(ip(MAG1.addr), ip(MAG1.lma), 64, &p);
    let out = exchange(&mut l, t(0), MAG1.port, &frame(MAG1, &packet));
    let (_, pba) = packets(&out).pop().unwrap();
    let mh = MhPacket::new_checked(&pba[40..]).unwrap();
    let Ok(MhRepr::Pba(pba)) = MhRepr::parse(&mh, &ip(MAG1.lma), &ip(MAG1.addr)) else {
        panic!("a PBA");
    };
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert_eq!(pba.options.authentication, None);
}

#[test]
fn timestamp_outside_the_window_gets_the_lma_time() {
    let mut p = pbu(9, "vm01@tapmip", HandoffIndicator::NotChanged, 3600, 0);
    // One second before Instant zero, the LMA being at 200 ms.
    p.options.timestamp = Some(ts(0) - (1 << 16));
    let pba = rejected(MAG1, p.clone(), PbaStatus::TimestampMismatch);
    assert_eq!(pba.options.timestamp, Some(ts(200)));
    p.options.timestamp = Some(ts(200 + 301));
    rejected(MAG1, p, PbaStatus::TimestampMismatch);
}

#[test]
fn prefix_set_must_match_the_entry() {
    let mut l = lma();
    let pba = send(&mut l, 0, MAG1, &pbu(1, "vm05@tapmip", HI_NEW, 3600, 0));
    assert_eq!(pba.options.hnps.len(), 2);
    let mut p = pbu(2, "vm05@tapmip", HI_MAG, 3600, 100);
    p.options.hnps = vec![net("2001:db8:5:1::/64")];
    let pba = send(&mut l, 100, MAG2, &p);
    assert_eq!(pba.status, PbaStatus::BcePbuPrefixSetDoNotMatch);
    assert!(tunnel_to(&l, MAG2).is_none());
    p.options.hnps = vec![net("2001:db8:5:2::/64"), net("2001:db8:5:1::/64")];
    assert_eq!(send(&mut l, 200, MAG2, &p).status, PbaStatus::Accepted);
    assert_eq!(
        l.engine()
            .routes()
            .tunnels()
            .get(tunnel_to(&l, MAG2).unwrap())
            .unwrap()
            .users,
        2
    );
}

#[test]
fn duplicated_pbu_is_refused_without_state_change() {
    let mut l = registered();
    let again = pbu(1, "vm01@tapmip", HI_NEW, 3600, 0);
    let id = l.bindings().find("vm01@tapmip").unwrap();
    let expires = l.bindings().get(id).unwrap().expires;
    let pba = send(&mut l, 100, MAG1, &again);
    assert_eq!(pba.status, PbaStatus::TimestampLowerThanPrevAccepted);
    assert_eq!(l.bindings().get(id).unwrap().expires, expires);
    assert_eq!(
        l.engine()
            .routes()
            .tunnels()
            .get(tunnel_to(&l, MAG1).unwrap())
            .unwrap()
            .users,
        1
    );
}

#[test]
fn sequence_number_mode() {
    let mut cfg = config();
    cfg.ordering = Ordering::SequenceNumbers;
    let mut l = Lma::new(cfg, t(0));
    let mut p = pbu(65_534, "vm01@tapmip", HI_NEW, 3600, 0);
    // Timestamps are not looked at in this mode.
    p.options.timestamp = None;
    let pba = send(&mut l, 0, MAG1, &p);
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert_eq!(pba.options.timestamp, None);
    let dup = send(&mut l, 10, MAG1, &p);
    assert_eq!(
        (dup.status, dup.sequence),
        (PbaStatus::SequenceNumberOutOfWindow, 65_534)
    );
    p.sequence = 65_000;
    let old = send(&mut l, 20, MAG1, &p);
    assert_eq!(
        (old.status, old.sequence),
        (PbaStatus::SequenceNumberOutOfWindow, 65_534)
    );
    // Modulo 2^16: 0 follows 65535.
    p.sequence = 1;
    assert_eq!(send(&mut l, 30, MAG1, &p).status, PbaStatus::Accepted);
    assert_eq!(
        l.counters().get("pba.sent.sequence_number_out_of_window"),
        2
    );
    // A new MAG's counter is unrelated to the old one's.
    p.sequence = 100;
    p.options.handoff_indicator = Some(HI_MAG);
    assert_eq!(send(&mut l, 40, MAG2, &p).status, PbaStatus::Accepted);
}

#[test]
fn malformed_mobility_headers_are_dropped_and_counted() {
    let mut l = lma();
    let good = pbu_frame(MAG1, &pbu(1, "vm01@tapmip", HI_NEW, 3600, 0));
    let mut bad_sum = good.clone();
    let last = bad_sum.len() - 1;
    bad_sum[last] ^= 0x01;
    assert!(exchange(&mut l, t(0), 1, &bad_sum).is_empty());
    // Cut the MH to its first 6 octets and say so in the IPv6 header.
    let mut cut = good[..14 + 40 + 6].to_vec();
    cut[14 + 4..14 + 6].copy_from_slice(&6u16.to_be_bytes());
    assert!(exchange(&mut l, t(0), 1, &cut).is_empty());
    // A Header Len claiming more than the packet holds.
    let mut long = good.clone();
    long[14 + 40 + 1] += 4;
    assert!(exchange(&mut l, t(0), 1, &long).is_empty());
    let c = l.counters();
    assert_eq!(c.get("mh.drop.bad_checksum"), 1);
    assert_eq!(c.get("mh.drop.truncated") + c.get("mh.drop.bad_length"), 2);
    assert_eq!(c.get("pbu.received"), 0);
    assert!(l.bindings().is_empty() && l.engine().routes().tunnels().is_empty());
    // The good one still works afterwards.
    assert_eq!(pbas(&exchange(&mut l, t(0), 1, &good)).len(), 1);
}

#[test]
fn no_ack_flag_still_registers_without_pba() {
    let mut l = lma();
    let mut p = pbu(1, "vm01@tapmip", HI_NEW, 3600, 0);
    p.ack = false;
    let out = exchange(&mut l, t(0), MAG1.port, &pbu_frame(MAG1, &p));
    assert!(pbas(&out).is_empty());
    assert!(route(&l, VM01_HNP).is_some());
}

#[test]
fn pool_node_gets_a_prefix_and_returns_it() {
    let mut l = lma();
    let pba = send(&mut l, 0, MAG1, &pbu(1, "vm03@tapmip", HI_NEW, 3600, 0));
    assert_eq!(pba.options.hnps, vec![net("2001:db8:100::/64")]);
    send(&mut l, 1000, MAG1, &pbu(2, "vm03@tapmip", HI_NEW, 0, 1000));
    timer(&mut l, t(11_000));
    assert!(l.bindings().is_empty());
    // Asking for that prefix explicitly is fine once it is free again.
    let mut p = pbu(3, "vm03@tapmip", HI_NEW, 3600, 12_000);
    p.options.hnps = vec![net("2001:db8:100::/64")];
    assert_eq!(send(&mut l, 12_000, MAG1, &p).status, PbaStatus::Accepted);
}

#[test]
fn unknown_handoff_state_waits_for_the_old_mags_deregistration() {
    let mut l = registered();
    let mut p = pbu(1, "vm01@tapmip", HI_UNKNOWN, 3600, 1000);
    p.options.mn_link_layer_id = None;
    let out = exchange(&mut l, t(1000), MAG2.port, &pbu_frame(MAG2, &p));
    assert!(pbas(&out).is_empty(), "held, not answered");
    assert!(tunnel_to(&l, MAG1).is_some());
    let dereg = pbu(2, "vm01@tapmip", HI_MAG, 0, 1200);
    let out = exchange(&mut l, t(1200), MAG1.port, &pbu_frame(MAG1, &dereg));
    let answers = pbas(&out);
    assert_eq!(answers.len(), 2);
    let to_mag2 = answers
        .iter()
        .find(|(port, ..)| *port == MAG2.port)
        .unwrap();
    assert_eq!(to_mag2.2.status, PbaStatus::Accepted);
    assert_eq!(to_mag2.2.options.hnps, vec![net(VM01_HNP)]);
    assert_eq!(
        route(&l, VM01_HNP),
        Some(NextHop::Tunnel(tunnel_to(&l, MAG2).unwrap()))
    );
    assert!(tunnel_to(&l, MAG1).is_none());
}

#[test]
fn unknown_handoff_state_is_taken_up_after_max_delay() {
    let mut l = registered();
    let mut p = pbu(1, "vm01@tapmip", HI_UNKNOWN, 3600, 1000);
    p.options.mn_link_layer_id = None;
    exchange(&mut l, t(1000), MAG2.port, &pbu_frame(MAG2, &p));
    assert!(pbas(&timer(&mut l, t(2499))).is_empty());
    let answers = pbas(&timer(&mut l, t(2500)));
    assert_eq!(answers.len(), 1);
    assert_eq!(
        (answers[0].0, answers[0].2.status),
        (MAG2.port, PbaStatus::Accepted)
    );
    assert!(tunnel_to(&l, MAG2).is_some());
    assert_eq!(
        route(&l, VM01_HNP),
        tunnel_to(&l, MAG2).map(NextHop::Tunnel)
    );
    timer(&mut l, t(2500 + 2001));
    assert!(tunnel_to(&l, MAG1).is_none(), "MAG1's tunnel lingered 2 s");
}

#[test]
fn unknown_handoff_state_with_the_same_link_layer_id_moves_at_once() {
    let mut l = registered();
    let pba = send(
        &mut l,
        1000,
        MAG2,
        &pbu(1, "vm01@tapmip", HI_UNKNOWN, 3600, 1000),
    );
    assert_eq!(pba.status, PbaStatus::Accepted);
    assert!(tunnel_to(&l, MAG2).is_some());
}

fn udp(src: &str, dst: &str, hop_limit: u8) -> Vec<u8> {
    let mut buf = vec![0x5a; 40 + 16];
    Ipv6Repr {
        src_addr: ip(src),
        dst_addr: ip(dst),
        next_header: IpProtocol::Udp,
        payload_len: 16,
        hop_limit,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
    buf
}

#[test]
fn packets_to_an_hnp_are_tunnelled_to_the_serving_mag() {
    let mut l = registered();
    let inner = udp("2001:db8:c::100", "2001:db8:1:1::10", 64);
    let frame = ethernet_ipv6(CLIENT_MAC, LMA_MACS[CORE], &inner);
    let out = exchange(&mut l, t(100), CORE, &frame);
    assert_eq!(out.len(), 1);
    let (port, f) = &out[0];
    assert_eq!(*port, MAG1.port);
    let eth = EthernetFrame::new_checked(&f[..]).unwrap();
    assert_eq!(Mac::from(eth.dst_addr()), MAG1.mac);
    let outer = Ipv6Packet::new_checked(eth.payload()).unwrap();
    assert_eq!(outer.next_header(), IpProtocol::from(41));
    assert_eq!(
        (outer.src_addr(), outer.dst_addr()),
        (ip(MAG1.lma), ip(MAG1.addr))
    );
    let carried = Ipv6Packet::new_checked(outer.payload()).unwrap();
    assert_eq!(carried.dst_addr(), ip("2001:db8:1:1::10"));
    assert_eq!(carried.hop_limit(), 63);

    // After the handoff the same packet goes to MAG2.
    send(&mut l, 200, MAG2, &pbu(1, "vm01@tapmip", HI_MAG, 3600, 200));
    let out = exchange(&mut l, t(300), CORE, &frame);
    assert_eq!(out[0].0, MAG2.port);
}

#[test]
fn decapsulated_packets_from_the_mag_reach_the_client() {
    let mut l = registered();
    let inner = udp("2001:db8:1:1::10", "2001:db8:c::100", 64);
    let mut outer = Vec::new();
    encapsulate(ip(MAG1.addr), ip(MAG1.lma), &inner, 64, 1500, &mut outer).unwrap();
    let out = exchange(
        &mut l,
        t(100),
        MAG1.port,
        &ethernet_ipv6(MAG1.mac, LMA_MACS[1], &outer),
    );
    assert_eq!(out.len(), 1);
    let (port, f) = &out[0];
    assert_eq!(*port, CORE);
    let eth = EthernetFrame::new_checked(&f[..]).unwrap();
    assert_eq!(Mac::from(eth.dst_addr()), CLIENT_MAC);
    let p = Ipv6Packet::new_checked(eth.payload()).unwrap();
    assert_eq!(
        (p.src_addr(), p.dst_addr()),
        (ip("2001:db8:1:1::10"), ip("2001:db8:c::100"))
    );
    // One decrement at the MAG's tunnel entry, one here.
    assert!(p.hop_limit() < 64);
    assert_eq!(l.counters().get("tunnel.decapsulated"), 1);
}

/// An IPv6 packet carrying `mh` (already checksummed) from `src` to `dst`.
fn ipv6_packet(src: &str, dst: &str, mh: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 40 + mh.len()];
    Ipv6Repr {
        src_addr: ip(src),
        dst_addr: ip(dst),
        next_header: IpProtocol::from(135),
        payload_len: mh.len(),
        hop_limit: 64,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
    buf[40..].copy_from_slice(mh);
    buf
}

/// The IPv6 packets in `out` (Ethernet headers stripped), with their port.
fn packets(out: &Out) -> Vec<(PortId, Vec<u8>)> {
    out.iter()
        .filter_map(|(p, f)| {
            let eth = EthernetFrame::new_checked(&f[..]).ok()?;
            Some((*p, eth.payload().to_vec()))
        })
        .collect()
}

/// RFC 5213 5.4.1 as `order` reads it: HI=5 ("handoff state not changed")
/// from a MAG the entry does not name is a stale re-registration, refused
/// without touching the entry, however new its timestamp.
#[test]
fn a_re_registration_from_a_mag_that_does_not_serve_the_node_is_refused() {
    let mut l = registered();
    let moved = send(
        &mut l,
        100,
        MAG2,
        &pbu(2, "vm01@tapmip", HandoffIndicator::InterMag, 3600, 100),
    );
    assert_eq!(moved.status, PbaStatus::Accepted);
    let before = l.control(t(200), &Request::Bindings {}, &mut Out::new());
    let stale = pbu(3, "vm01@tapmip", HandoffIndicator::NotChanged, 3600, 200);
    let pba = send(&mut l, 200, MAG1, &stale);
    assert_eq!(pba.status, PbaStatus::ReasonUnspecified);
    assert_eq!(
        pba.options.timestamp,
        Some(ts(200)),
        "the PBU's own timestamp comes back"
    );
    let after = l.control(t(200), &Request::Bindings {}, &mut Out::new());
    assert_eq!(before, after, "the binding stays at MAG2");
    assert_eq!(
        route(&l, VM01_HNP),
        Some(NextHop::Tunnel(tunnel_to(&l, MAG2).unwrap()))
    );
}

/// RFC 6275 9.2: a Payload Proto other than 59 is dropped with an ICMPv6
/// Parameter Problem pointing at it; an unknown MH Type gets a Binding Error
/// with status 2. Neither changes any state.
#[test]
fn mobility_headers_the_lma_cannot_process_are_answered_as_rfc_6275_says() {
    let mut l = registered();
    let mut packet = mh_ipv6_packet(
        ip(MAG1.addr),
        ip(MAG1.lma),
        64,
        &MhRepr::Pbu(pbu(
            5,
            "vm01@tapmip",
            HandoffIndicator::NotChanged,
            3600,
            200,
        )),
    );
    packet[40] = 6;
    let mut mh = router::wire::MhPacket::new_unchecked(&mut packet[40..]);
    mh.fill_checksum(&ip(MAG1.addr), &ip(MAG1.lma));
    let out = exchange(
        &mut l,
        t(200),
        MAG1.port,
        &ethernet_ipv6(MAG1.mac, LMA_MACS[1], &packet),
    );
    assert!(pbas(&out).is_empty());
    let icmp: Vec<_> = packets(&out)
        .into_iter()
        .filter(|(_, p)| p[6] == 58 && p[40] == 4)
        .collect();
    assert_eq!(icmp.len(), 1, "one Parameter Problem: {out:?}");
    assert_eq!(
        &icmp[0].1[44..48],
        &40u32.to_be_bytes(),
        "pointing at Payload Proto"
    );
    assert_eq!(l.counters().get("mh.drop.bad_payload_proto"), 1);

    let mut unknown = vec![59, 0, 20, 0, 0, 0, 0, 0];
    router::wire::MhPacket::new_unchecked(&mut unknown[..])
        .fill_checksum(&ip(MAG1.addr), &ip(MAG1.lma));
    let packet = ipv6_packet(MAG1.addr, MAG1.lma, &unknown);
    let out = exchange(
        &mut l,
        t(300),
        MAG1.port,
        &ethernet_ipv6(MAG1.mac, LMA_MACS[1], &packet),
    );
    let be: Vec<_> = packets(&out)
        .into_iter()
        .filter(|(_, p)| p[6] == 135 && p[42] == 7)
        .collect();
    assert_eq!(be.len(), 1, "one Binding Error: {out:?}");
    assert_eq!(be[0].1[46], 2, "status 2: unrecognized MH Type value");
    assert_eq!(state(&l, "vm01@tapmip"), Some(BindingState::Active));
}

/// RFC 5847: a Heartbeat Request from an accepted MAG is answered with the
/// same sequence number and the LMA's Restart Counter; one from elsewhere is not.
#[test]
fn heartbeats_are_answered_with_the_restart_counter() {
    let mut cfg = config();
    cfg.restart_counter = 4242;
    let mut l = Lma::new(cfg, t(0));
    let request = MhRepr::Heartbeat(router::wire::HeartbeatRepr {
        sequence: 77,
        ..Default::default()
    });
    for (mag, answered) in [(MAG1, true), (ROGUE, false)] {
        let packet = sealed_packet(&mag.key(), ip(mag.addr), ip(mag.lma), 64, request.clone());
        let out = exchange(
            &mut l,
            t(10),
            mag.port,
            &ethernet_ipv6(mag.mac, LMA_MACS[mag.port], &packet),
        );
        let responses: Vec<_> = packets(&out)
            .into_iter()
            .filter_map(|(_, p)| {
                let ipp = Ipv6Packet::new_checked(&p[..]).ok()?;
                let mh = router::wire::MhPacket::new_checked(ipp.payload()).ok()?;
                match MhRepr::parse(&mh, &ipp.src_addr(), &ipp.dst_addr()).ok()? {
                    MhRepr::Heartbeat(hb) => Some(hb),
                    _ => None,
                }
            })
            .collect();
        if answered {
            assert_eq!(responses.len(), 1);
            assert!(responses[0].response && responses[0].sequence == 77);
            assert_eq!(responses[0].options.restart_counter, Some(4242));
        } else {
            assert!(responses.is_empty(), "no answer to a stranger");
        }
    }
}

/// An ICMPv6 error about a packet that came up a tunnel has no connected
/// route back to choose its source by: it comes from the first port's
/// address, the same in every run (not whichever a hash set yields first).
#[test]
fn an_icmp_error_into_a_tunnel_has_the_same_source_every_run() {
    let mut l = registered();
    let vm = "2001:db8:1:1:5054:ff:feaa:1";
    let mut inner = ipv6_packet(vm, "2001:db8:c::99", &[0; 8]);
    inner[6] = 17;
    inner[7] = 2;
    let mut outer = Vec::new();
    router::tunnel::encapsulate(ip(MAG1.addr), ip(MAG1.lma), &inner, 64, 1500, &mut outer).unwrap();
    let out = exchange(
        &mut l,
        t(300),
        MAG1.port,
        &ethernet_ipv6(MAG1.mac, LMA_MACS[1], &outer),
    );
    let errors: Vec<Ipv6Addr> = packets(&out)
        .into_iter()
        .filter(|(_, p)| p[6] == 41 && p.get(40 + 6) == Some(&58) && p.get(80) == Some(&3))
        .map(|(_, p)| Ipv6Packet::new_unchecked(&p[40..]).src_addr())
        .collect();
    assert_eq!(errors, vec![ip("2001:db8:c::1")], "{out:?}");
}
