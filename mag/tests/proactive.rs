//! Proactive handover in the MAG core: "arriving" and "leaving" hints on the
//! control socket, the held downlink (order, limits), the node's first frame
//! releasing it, the undo of a hint for a node that never came, and the
//! source MAG that never de-registers what the next MAG holds.

mod support;
use mag::held::HoldLimits;
use support::*;

const HNP: &str = "2001:db8:1:1::/64";
const VM_IP: &str = "2001:db8:1:1::5";

fn arriving(
    lab: &mut Lab,
    now: Instant,
    mac: Option<&str>,
    mn_id: Option<&str>,
) -> (router::ctl::Response, Out) {
    hint(lab, now, true, mac, mn_id)
}

fn hint(
    lab: &mut Lab,
    now: Instant,
    arriving: bool,
    mac: Option<&str>,
    mn_id: Option<&str>,
) -> (router::ctl::Response, Out) {
    let (mac, mn_id) = (mac.map(String::from), mn_id.map(String::from));
    let request = if arriving {
        Request::Arriving {
            mac,
            mn_id,
            timeout_ms: None,
        }
    } else {
        Request::Leaving {
            mac,
            mn_id,
            timeout_ms: None,
            to: None,
        }
    };
    let mut sent = Sent::default();
    let answer = lab.mag.control(now, &request, &mut sent);
    let out = lab.settle(now, sent.frames);
    (answer, out)
}

/// A downlink packet with payload byte `n`, tunnelled by the LMA.
fn downlink(n: u8) -> Vec<u8> {
    let mut down = udp("2001:db8:c::9", VM_IP, 20);
    let last = down.len() - 1;
    down[last] = n;
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
    ethernet_ipv6(LMA_MAC, UPLINK_MAC, &encap)
}

/// The payload markers of the packets delivered to the node, in order.
fn delivered(out: &Out) -> Vec<u8> {
    out.iter()
        .filter(|(p, _)| *p == ACCESS)
        .filter_map(|(_, f)| {
            let eth = EthernetFrame::new_checked(&f[..]).ok()?;
            let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
            (ip.next_header() == IpProtocol::Udp && Mac::from(eth.dst_addr()) == VM1)
                .then(|| *ip.payload().last().unwrap())
        })
        .collect()
}

/// The node's first frame after its pause: its hypervisor's RARP
/// announcement. What the MAG sends is returned in the order it sent it (the
/// bench's `feed` answers neighbor solicitations and reorders).
fn announce(lab: &mut Lab, now: Instant) -> Out {
    let frame = router::wire::RarpRepr::announcement(VM1).frame(VM1);
    let mut sent = Sent::default();
    lab.mag.on_frame(now, ACCESS, &frame, &mut sent);
    // The held packets go in bursts a millisecond apart.
    let until = Instant::from_millis(now.total_millis() + 50);
    while let Some(at) = lab.mag.poll_at().filter(|at| *at <= until) {
        lab.mag.on_timer(at, &mut sent);
    }
    sent.frames
}

/// A MAG told VM1 is arriving, registered by the LMA: (lab, the PBU).
fn hinted_and_registered() -> (Lab, PbuRepr) {
    let mut lab = Lab::default();
    lab.run_until(t(0));
    let (answer, out) = arriving(
        &mut lab,
        t(10),
        Some("52:54:00:aa:00:01"),
        Some("vm1@tapmip"),
    );
    assert!(answer.ok, "{answer:?}");
    assert_eq!(answer.tables[0].rows[0][2], "registering");
    let pbu = only_pbu(&out);
    assert_eq!(
        handoff(&pbu),
        HandoffIndicator::InterMag,
        "HI=3, same interface"
    );
    assert_eq!(pbu.lifetime_secs, 100);
    let out = lab.pba(t(40), &pbu, PbaStatus::Accepted, HNP);
    assert!(
        ras(&out).is_empty(),
        "no RA for a node that is not here yet"
    );
    let e = lab.mag.bindings().get(&VM1).unwrap();
    assert_eq!(e.state, BindingState::Registered);
    (lab, pbu)
}

#[test]
fn arriving_registers_at_once_and_delivers_the_held_downlink_in_order_then_the_ra() {
    let (mut lab, _) = hinted_and_registered();
    for n in 0..50 {
        let out = lab.feed(t(50 + i64::from(n)), UPLINK, &downlink(n));
        assert!(out.is_empty(), "held, not sent to a paused node: {out:?}");
    }
    assert_eq!(counter(&lab, "mag.hold.held"), 50);
    let out = announce(&mut lab, t(400));
    assert_eq!(delivered(&out), (0..50).collect::<Vec<u8>>());
    let is_ra = |(_, f): &(PortId, Vec<u8>)| !ras(&[(ACCESS, f.clone())]).is_empty();
    let access: Vec<_> = out.iter().filter(|(p, _)| *p == ACCESS).cloned().collect();
    assert_eq!(
        access.iter().position(is_ra),
        Some(50),
        "the RA comes after the held packets"
    );
    assert_eq!(counter(&lab, "mag.hold.delivered"), 50);
    // The arrival confirms the hint's registration with a PBU stamped now.
    let confirm = only_pbu(&out);
    assert_eq!(handoff(&confirm), HandoffIndicator::InterMag);
    // Held packets were forwarded: their hop limit went down by one.
    let (_, first) = out.iter().find(|(p, _)| *p == ACCESS).unwrap();
    let eth = EthernetFrame::new_checked(&first[..]).unwrap();
    assert_eq!(
        Ipv6Packet::new_checked(eth.payload()).unwrap().hop_limit(),
        63
    );

    // After the arrival the downlink flows as usual, and so does the uplink.
    lab.answers.insert(ip(VM_IP), VM1);
    let out = lab.feed(t(410), UPLINK, &downlink(99));
    assert_eq!(delivered(&out), vec![99]);
    let up = udp(VM_IP, "2001:db8:c::9", 20);
    let out = lab.feed(t(420), ACCESS, &ethernet_ipv6(VM1, FIXED_MAC, &up));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, UPLINK);
    let table = lab
        .mag
        .control(t(430), &Request::Status {}, &mut Out::new());
    let hints = table.tables.iter().find(|t| t.title == "hints").unwrap();
    assert!(hints.rows.is_empty(), "{hints:?}");
}

#[test]
fn uplink_works_from_the_nodes_first_frame() {
    let (mut lab, _) = hinted_and_registered();
    let up = udp(VM_IP, "2001:db8:c::9", 20);
    let out = lab.feed(t(300), ACCESS, &ethernet_ipv6(VM1, FIXED_MAC, &up));
    let tunnelled = out
        .iter()
        .filter(|(p, f)| *p == UPLINK && pbus(&[(*p, f.clone())]).is_empty());
    assert_eq!(tunnelled.count(), 1, "the first frame itself is tunnelled");
    assert_eq!(ras(&out).len(), 1, "and the node gets its RA");
}

#[test]
fn the_held_downlink_is_bounded_and_every_drop_is_counted() {
    let mut cfg = config();
    cfg.hints.hold = HoldLimits {
        packets: 10,
        bytes: 1 << 20,
        age: Duration::from_millis(500),
    };
    let mut lab = Lab::new(cfg);
    lab.run_until(t(0));
    let (_, out) = arriving(&mut lab, t(10), None, Some("vm1@tapmip"));
    lab.pba(t(40), &only_pbu(&out), PbaStatus::Accepted, HNP);
    for n in 0..15 {
        lab.feed(t(50 + i64::from(n)), UPLINK, &downlink(n));
    }
    assert_eq!(counter(&lab, "mag.hold.held"), 10);
    assert_eq!(counter(&lab, "mag.hold.dropped.packets"), 5);
    // The first ten, a gap-free run, are kept; the oldest are past their age
    // only when the node comes later than the age limit.
    let out = announce(&mut lab, t(300));
    assert_eq!(delivered(&out), (0..10).collect::<Vec<u8>>());

    let mut lab = Lab::new({
        let mut cfg = config();
        cfg.hints.hold.age = Duration::from_millis(100);
        cfg
    });
    lab.run_until(t(0));
    let (_, out) = arriving(&mut lab, t(10), None, Some("vm1@tapmip"));
    lab.pba(t(40), &only_pbu(&out), PbaStatus::Accepted, HNP);
    lab.feed(t(50), UPLINK, &downlink(1));
    lab.feed(t(250), UPLINK, &downlink(2));
    let out = announce(&mut lab, t(300));
    assert_eq!(delivered(&out), vec![2]);
    assert_eq!(counter(&lab, "mag.hold.dropped.age"), 1);
}

#[test]
fn a_node_that_never_arrives_is_undone_after_the_timeout() {
    let (mut lab, pbu) = hinted_and_registered();
    for n in 0..5 {
        lab.feed(t(50 + i64::from(n)), UPLINK, &downlink(n));
    }
    let sent = lab.run_until(t(9_000));
    assert!(
        sent.iter()
            .all(|(_, p, f)| pbus(&[(*p, f.clone())]).is_empty())
    );
    let sent = lab.run_until(t(10_100));
    let dereg: Vec<PbuRepr> = sent
        .iter()
        .flat_map(|(_, p, f)| pbus(&[(*p, f.clone())]))
        .collect();
    assert_eq!(dereg.len(), 1, "{dereg:?}");
    assert_eq!(dereg[0].lifetime_secs, 0);
    assert_eq!(dereg[0].options.mn_id, pbu.options.mn_id);
    assert!(lab.mag.bindings().is_empty());
    assert!(
        lab.mag
            .engine()
            .routes()
            .get(RouteTable::Destination, net(HNP))
            .is_none()
    );
    assert_eq!(counter(&lab, "mag.hint.expired"), 1);
    assert_eq!(counter(&lab, "mag.hold.dropped.expired"), 5);
    // Nothing is held any more, and a late node attaches reactively.
    let out = lab.feed(t(10_200), UPLINK, &downlink(7));
    assert!(delivered(&out).is_empty());
    assert_eq!(counter(&lab, "mag.hold.held"), 5);
    let out = announce(&mut lab, t(10_300));
    assert_eq!(handoff(&only_pbu(&out)), HandoffIndicator::InterMag);
}

#[test]
fn a_node_seen_before_the_pba_gets_its_ra_with_the_pba() {
    let mut lab = Lab::default();
    lab.run_until(t(0));
    let (_, out) = arriving(&mut lab, t(10), Some("52:54:00:aa:00:01"), None);
    let pbu = only_pbu(&out);
    let out = announce(&mut lab, t(20));
    assert!(
        pbus(&out).is_empty(),
        "the hint's PBU is still out: {out:?}"
    );
    lab.answers.insert(ip("fe80::5"), VM1);
    let out = lab.pba(t(40), &pbu, PbaStatus::Accepted, HNP);
    assert_eq!(ras(&out).len(), 1);
    let out = lab.feed(t(50), UPLINK, &downlink(3));
    assert_eq!(counter(&lab, "mag.hold.held"), 0);
    assert!(out.iter().all(|(p, _)| *p == ACCESS));
}

#[test]
fn without_hints_the_mag_stays_reactive() {
    let mut lab = Lab::default();
    lab.run_until(t(0));
    let out = announce(&mut lab, t(10));
    let pbu = only_pbu(&out);
    assert_eq!(handoff(&pbu), HandoffIndicator::InterMag);
    lab.answers.insert(ip("fe80::5"), VM1);
    lab.answers.insert(ip(VM_IP), VM1);
    let out = lab.pba(t(40), &pbu, PbaStatus::Accepted, HNP);
    assert_eq!(ras(&out).len(), 1);
    let out = lab.feed(t(50), UPLINK, &downlink(3));
    assert_eq!(delivered(&out), vec![3]);
    assert_eq!(counter(&lab, "mag.hold.held"), 0);
    assert_eq!(counter(&lab, "fwd.held"), 0);
}

#[test]
fn hints_are_checked_and_refusals_name_the_field() {
    let mut lab = Lab::default();
    let cases = [
        (Some("zz"), None, "mac: \"zz\""),
        (Some("52:54:00:bb:00:09"), None, "not a node of the policy"),
        (None, Some("nobody"), "mn_id: \"nobody\""),
        (
            Some("52:54:00:aa:00:01"),
            Some("vm2@tapmip"),
            "is not the node of mac",
        ),
        (None, None, "mac or mn_id"),
    ];
    for (mac, mn_id, why) in cases {
        let (answer, out) = arriving(&mut lab, t(10), mac, mn_id);
        assert!(!answer.ok);
        assert!(answer.error.as_deref().unwrap().contains(why), "{answer:?}");
        assert!(pbus(&out).is_empty());
    }
    assert!(lab.mag.bindings().is_empty());
    assert_eq!(counter(&lab, "mag.hint.refused"), 5);
    let (answer, _) = hint(&mut lab, t(10), false, Some("52:54:00:aa:00:01"), None);
    assert_eq!(answer.tables[0].rows[0][2], "not here");
}

#[test]
fn an_arriving_hint_for_a_node_on_the_link_now_changes_nothing() {
    let mut lab = Lab::default();
    lab.register(t(0), VM1, "fe80::5", HNP);
    let (answer, out) = arriving(&mut lab, t(100), None, Some("vm1@tapmip"));
    assert_eq!(answer.tables[0].rows[0][2], "already here");
    assert!(out.is_empty());
}

#[test]
fn a_leaving_node_is_not_probed_and_never_de_registered() {
    let mut lab = Lab::default();
    lab.register(t(0), VM1, "fe80::5", HNP);
    let (answer, _) = hint(&mut lab, t(1_000), false, Some("52:54:00:aa:00:01"), None);
    assert_eq!(answer.tables[0].rows[0][2], "leaving");
    // The VM is paused: nothing answers any more.
    lab.answers.clear();
    let sent = lab.run_until(t(9_999));
    assert_eq!(
        counter(&lab, "mag.nud.probes"),
        0,
        "no probes while it leaves"
    );
    assert!(
        sent.iter()
            .all(|(_, p, f)| pbus(&[(*p, f.clone())]).is_empty())
    );
    // The hint runs out: the node is checked, does not answer, and is
    // forgotten without a de-registration (the next MAG holds the binding).
    let sent = lab.run_until(t(30_000));
    let pbus: Vec<PbuRepr> = sent
        .iter()
        .flat_map(|(_, p, f)| pbus(&[(*p, f.clone())]))
        .collect();
    assert!(pbus.is_empty(), "{pbus:?}");
    assert!(lab.mag.bindings().is_empty());
    assert!(
        lab.mag
            .engine()
            .routes()
            .get(RouteTable::Destination, net(HNP))
            .is_none()
    );
}

#[test]
fn a_wrong_leaving_hint_changes_nothing_visible() {
    let mut lab = Lab::default();
    lab.register(t(0), VM1, "fe80::5", HNP);
    lab.answers.insert(ip(VM_IP), VM1);
    hint(&mut lab, t(1_000), false, None, Some("vm1@tapmip"));
    // The node never left: its downlink still reaches it meanwhile.
    let out = lab.feed(t(2_000), UPLINK, &downlink(1));
    assert_eq!(delivered(&out), vec![1]);
    // When the hint runs out the node answers its check and is registered
    // again (HI=3), in case another MAG had claimed it meanwhile.
    let sent = lab.run_until(t(11_500));
    let again: Vec<PbuRepr> = sent
        .iter()
        .flat_map(|(_, p, f)| pbus(&[(*p, f.clone())]))
        .collect();
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(handoff(&again[0]), HandoffIndicator::InterMag);
    assert!(again[0].lifetime_secs > 0);
    lab.pba(t(11_600), &again[0], PbaStatus::Accepted, HNP);
    assert_eq!(counter(&lab, "mag.hint.leaving_wrong"), 1);
    let e = lab.mag.bindings().get(&VM1).unwrap();
    assert_eq!(e.state, BindingState::Registered);
    let out = lab.feed(t(12_000), UPLINK, &downlink(2));
    assert_eq!(delivered(&out), vec![2]);
}

const MAG2: &str = "2001:db8:ff:2::2";

/// The bench's MAG with a policy that also names a second MAG.
fn lab_with_peer() -> Lab {
    let policy = format!("{POLICY}\n[[mag]]\nname = \"mag2\"\naddress = \"{MAG2}\"\n");
    let policy = Policy::parse(&policy, "policy.toml").unwrap();
    Lab {
        mag: Mag::new(config(), policy, t(0)),
        answers: HashMap::new(),
        datagrams: Vec::new(),
    }
}

fn leaving_to(lab: &mut Lab, now: Instant, to: &str) -> (router::ctl::Response, Out) {
    let request = Request::Leaving {
        mac: Some("52:54:00:aa:00:01".into()),
        mn_id: None,
        timeout_ms: None,
        to: Some(to.into()),
    };
    let mut sent = Sent::default();
    let answer = lab.mag.control(now, &request, &mut sent);
    (answer, sent.frames)
}

/// `inner` as a peer MAG at `from` tunnels it to this MAG.
fn from_peer(from: &str, inner: &[u8]) -> Vec<u8> {
    let mut encap = vec![0u8; 40];
    Ipv6Repr {
        src_addr: ip(from),
        dst_addr: pcoa(),
        next_header: IpProtocol::Unknown(41),
        payload_len: inner.len(),
        hop_limit: 63,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut encap[..]));
    encap.extend_from_slice(inner);
    ethernet_ipv6(LMA_MAC, UPLINK_MAC, &encap)
}

#[test]
fn a_leaving_node_s_downlink_is_copied_to_the_destination_mag() {
    let mut lab = lab_with_peer();
    lab.register(t(0), VM1, "fe80::5", HNP);
    let (answer, _) = leaving_to(&mut lab, t(100), "2001:db8:ff:9::2");
    assert!(answer.error.unwrap().contains("not a MAG of the policy"));
    let (answer, _) = leaving_to(&mut lab, t(100), &pcoa().to_string());
    assert!(answer.error.unwrap().contains("own Proxy-CoA"));
    let (answer, _) = leaving_to(&mut lab, t(100), MAG2);
    assert!(answer.ok, "{answer:?}");

    let mut sent = Sent::default();
    lab.mag.on_frame(t(200), UPLINK, &downlink(4), &mut sent);
    // The node may still be here (the hint may be wrong): it gets the packet,
    // and the destination MAG a copy through the tunnel, via the LMA.
    assert_eq!(delivered(&sent.frames), vec![4]);
    let copies: Vec<_> = sent.frames.iter().filter(|(p, _)| *p == UPLINK).collect();
    assert_eq!(copies.len(), 1);
    let eth = EthernetFrame::new_checked(&copies[0].1[..]).unwrap();
    assert_eq!(Mac::from(eth.dst_addr()), LMA_MAC);
    let outer = Ipv6Packet::new_checked(eth.payload()).unwrap();
    assert_eq!((outer.src_addr(), outer.dst_addr()), (pcoa(), ip(MAG2)));
    let inner = Ipv6Packet::new_checked(outer.payload()).unwrap();
    assert_eq!((inner.dst_addr(), inner.hop_limit()), (ip(VM_IP), 63));
    assert_eq!(*inner.payload().last().unwrap(), 4);

    // When the hint runs out the copying ends, and so does the route to the peer.
    lab.run_until(t(10_200));
    let mut sent = Sent::default();
    lab.answers.insert(ip(VM_IP), VM1);
    lab.mag.on_frame(t(10_300), UPLINK, &downlink(5), &mut sent);
    assert_eq!(delivered(&sent.frames), vec![5]);
    assert_eq!(counter(&lab, "mag.forward.copied"), 1);
    let host = net(&format!("{MAG2}/128"));
    assert!(
        lab.mag
            .engine()
            .routes()
            .get(RouteTable::Destination, host)
            .is_none()
    );
}

#[test]
fn copies_from_a_peer_mag_are_held_and_delivered_before_what_the_lma_sent_here() {
    let mut lab = lab_with_peer();
    lab.run_until(t(0));
    let (_, out) = arriving(&mut lab, t(10), None, Some("vm1@tapmip"));
    let pbu = only_pbu(&out);
    // A copy before the PBA: the policy's prefix tells whose it is.
    let copy = |n: u8| {
        let mut p = udp("2001:db8:c::9", VM_IP, 20);
        let last = p.len() - 1;
        p[last] = n;
        from_peer(MAG2, &p)
    };
    assert!(lab.feed(t(20), UPLINK, &copy(1)).is_empty());
    lab.pba(t(40), &pbu, PbaStatus::Accepted, HNP);
    lab.feed(t(50), UPLINK, &downlink(2));
    lab.feed(t(60), UPLINK, &copy(3));
    // A tunnel from anyone else is not a peer's: the engine drops it.
    lab.feed(
        t(70),
        UPLINK,
        &from_peer("2001:db8:ff:9::2", &udp("2001:db8:c::9", VM_IP, 20)),
    );
    assert_eq!(counter(&lab, "mag.forward.held"), 2);
    let out = announce(&mut lab, t(300));
    // The copies are what the LMA sent before it re-routed the node: older.
    assert_eq!(delivered(&out), vec![1, 3, 2]);
    // A late copy, after the node arrived, is delivered at once.
    let mut sent = Sent::default();
    lab.mag.on_frame(t(310), UPLINK, &copy(4), &mut sent);
    assert_eq!(delivered(&sent.frames), vec![4]);
    // Without a hint for the node, a copy is dropped.
    lab.run_until(t(5_000));
    let mut sent = Sent::default();
    lab.mag.on_frame(t(5_010), UPLINK, &copy(5), &mut sent);
    assert!(delivered(&sent.frames).is_empty());
}

#[test]
fn a_hinted_registration_is_sent_once_and_retried_only_when_the_node_shows_up() {
    let mut lab = Lab::default();
    lab.run_until(t(0));
    let (_, out) = arriving(&mut lab, t(10), None, Some("vm1@tapmip"));
    let first = only_pbu(&out);
    // Its PBA is lost: no retransmission stamped later on the hint's word,
    // which could outdate a sighting of the node at another MAG.
    let sent = lab.run_until(t(5_000));
    assert!(
        sent.iter()
            .all(|(_, p, f)| pbus(&[(*p, f.clone())]).is_empty())
    );
    assert_eq!(counter(&lab, "mag.hint.pbu_waits_for_node"), 1);
    // The node shows up: the PBU goes at once, and completes the handoff.
    let out = announce(&mut lab, t(5_100));
    let again = only_pbu(&out);
    assert!(again.sequence != first.sequence);
    assert!(again.options.timestamp > first.options.timestamp);
    lab.answers.insert(ip("fe80::5"), VM1);
    let out = lab.pba(t(5_140), &again, PbaStatus::Accepted, HNP);
    assert_eq!(ras(&out).len(), 1);
}

#[test]
fn a_wrong_arriving_hint_for_a_node_that_is_here_is_settled_by_a_probe() {
    let mut lab = Lab::default();
    lab.register(t(0), VM1, "fe80::5", HNP);
    lab.answers.insert(ip(VM_IP), VM1);
    // Silent for a while, then a hint says it is arriving: it is probed,
    // and its answer releases its downlink at once.
    lab.run_until(t(5_000));
    let (answer, _) = arriving(&mut lab, t(5_000), None, Some("vm1@tapmip"));
    assert_eq!(answer.tables[0].rows[0][2], "registering again");
    assert!(
        !lab.mag.awaits(&VM1),
        "the probe's answer showed it is here"
    );
    let out = lab.feed(t(5_100), UPLINK, &downlink(9));
    assert_eq!(delivered(&out), vec![9]);
}
