//! Proactive handover: a hypervisor (or an orchestrator, a libvirt hook, a
//! QMP listener) tells the MAGs about a live migration before the node can
//! show it, over the control socket:
//!
//! ```text
//! destination MAG <- {"cmd":"arriving","mac":"52:54:00:aa:00:01","mn_id":"vm1@tapmip"}
//! source MAG      <- {"cmd":"leaving","mac":"52:54:00:aa:00:01"}
//! ```
//!
//! On "arriving" the destination MAG registers the node at once, while the VM
//! is still paused in its stop-and-copy, so the LMA moves the binding during
//! the pause instead of one MAG-LMA round trip after it. Its Handoff Indicator
//! is 3, "handoff between mobile access gateways for the same interface"
//! (RFC 5213 5.4.1, 6.9.1.1): the VM keeps its one virtual NIC, MAC and
//! addresses, so it is the same interface moving, not another interface of
//! the node (2, which asks the LMA to treat the prefixes as moving between
//! interfaces) nor a new attachment (1, which would get new prefixes). The
//! node's downlink, re-routed here before the node is, is held in a bounded
//! queue ([`crate::held`]) and delivered in order the moment the node is seen
//! on the access link (any frame: its hypervisor's announcement, an NA, a
//! packet), followed by its Router Advertisement, and the registration is
//! confirmed with a PBU stamped at that frame (the hint's may have been
//! overtaken meanwhile, by a failed migration's VM announcing itself where it
//! was). Its uplink goes through the tunnel from its first frame, the
//! binding being in place already.
//!
//! On "leaving" the source MAG stops probing the node (probes of a paused VM
//! fail and would end in a de-registration racing the new MAG's registration)
//! and, while the hint lasts, never de-registers the node: the binding is the
//! destination MAG's now. When the hint runs out the node is checked once: a
//! node that answers never left (the hint was wrong) and is registered again
//! here, as a handoff back (HI=3), in case another MAG took it meanwhile; one
//! that does not is forgotten without a de-registration.
//!
//! A node that never arrives is undone when its hint runs out: de-registered,
//! its held packets dropped and counted. Without hints all of this is idle and
//! the MAG is reactive as before.

use crate::attach::{Sighting, Trigger};
use crate::bul::Confirming;
use crate::core::{Mag, Timer};
use crate::held::{Held, HoldLimits};
use ipnet::IpNet;
use router::core::{PortId, Tx};
use router::ctl::{Request, Response, Table};
use router::mac::Mac;
use router::{Duration, Instant};
use smoltcp::wire::Ipv6Packet;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

/// How long after a hinted node arrived the source MAG's copies of its
/// downlink are still taken (they cross the LMA: a round trip late).
const ARRIVED_WINDOW: Duration = Duration::from_secs(2);
/// Destinations of held packets told to neighbor discovery on delivery, so
/// the packets right after them need no resolution either.
const NOTED_DESTINATIONS: usize = 8;
/// Held packets go to an arrived node at most this many at a time, one
/// burst per `DRAIN_GAP`: hundreds at once would overflow the queues of the
/// link to it (a TAP's, a packet socket's) and be lost there after all.
const DRAIN_BURST: usize = 32;
const DRAIN_GAP: Duration = Duration::from_millis(1);

/// The MAG's hint settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintConfig {
    /// How long a node announced as arriving is waited for before the hint is
    /// undone, unless the hint says otherwise.
    pub arrival_timeout: Duration,
    /// How long a node announced as leaving is taken to be gone before it is
    /// checked, unless the hint says otherwise.
    pub leaving_timeout: Duration,
    pub hold: HoldLimits,
}

impl Default for HintConfig {
    fn default() -> Self {
        HintConfig {
            arrival_timeout: Duration::from_secs(10),
            leaving_timeout: Duration::from_secs(10),
            hold: HoldLimits::default(),
        }
    }
}

/// A node announced as arriving, not seen yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expected {
    pub since: Instant,
    pub until: Instant,
    /// What the LMA sent here, once it re-routed the node.
    pub held: Held,
    /// Copies from the source MAG (`forwarding`): what the LMA sent there
    /// before it re-routed the node, so all older than `held`, and delivered
    /// first whenever they came in.
    pub copies: Held,
}

impl Expected {
    fn len(&self) -> usize {
        self.held.len() + self.copies.len()
    }
}

/// An arrived node whose held packets are being delivered (`drain_step`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Draining {
    pub port: PortId,
    pub queue: std::collections::VecDeque<Vec<u8>>,
}

/// A node announced as leaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Leaving {
    pub since: Instant,
    pub until: Instant,
    /// The hint ran out and the node is being checked.
    pub checking: bool,
    /// The destination MAG the node's downlink is copied to (`forwarding`).
    pub to: Option<Ipv6Addr>,
}

#[derive(Debug, Default)]
pub(crate) struct Hints {
    pub expected: HashMap<Mac, Expected>,
    /// Hinted nodes that arrived, for `ARRIVED_WINDOW`: late copies from the
    /// source MAG are delivered to them.
    pub arrived: HashMap<Mac, Instant>,
    pub leaving: HashMap<Mac, Leaving>,
    pub draining: HashMap<Mac, Draining>,
    /// Peer MAGs' copies that came before any hint for their node
    /// (`forwarding`), oldest first.
    pub early: Held,
}

impl Hints {
    pub fn len(&self) -> usize {
        self.expected.len() + self.arrived.len() + self.leaving.len() + self.draining.len()
    }

    /// Whether the engine may be holding packets for a hint.
    pub fn holding(&self) -> bool {
        !self.expected.is_empty()
            || !self.draining.is_empty()
            || self.leaving.values().any(|l| l.to.is_some())
    }

    /// Whether a peer MAG's copies may be for a node here.
    pub fn takes_copies(&self) -> bool {
        !self.expected.is_empty() || !self.arrived.is_empty() || !self.draining.is_empty()
    }
}

/// The ethertype and destination of a held packet that may be forwarded
/// onto a link of `mtu`: its hop limit (TTL) above 1 and within the MTU.
fn forwarded(packet: &[u8], mtu: usize) -> Option<(u16, IpAddr)> {
    let dst = crate::forwarding::destination(packet)?;
    let (ethertype, hops) = match dst {
        IpAddr::V6(_) => (0x86dd, Ipv6Packet::new_unchecked(packet).hop_limit()),
        IpAddr::V4(_) => (0x0800, router::ipv4::ttl(packet)),
    };
    (hops > 1 && packet.len() <= mtu).then_some((ethertype, dst))
}

impl Mag {
    /// Answers an `arriving` or `leaving` request.
    pub(crate) fn on_hint(&mut self, now: Instant, request: &Request, tx: &mut dyn Tx) -> Response {
        let (arriving, mac, mn_id, timeout_ms, to) = match request {
            Request::Arriving {
                mac,
                mn_id,
                timeout_ms,
            } => (true, mac, mn_id, timeout_ms, &None),
            Request::Leaving {
                mac,
                mn_id,
                timeout_ms,
                to,
            } => (false, mac, mn_id, timeout_ms, to),
            _ => return Response::error("not a hint"),
        };
        let to = match to.as_deref().map(|t| self.peer_mag(t)).transpose() {
            Ok(to) => to,
            Err(e) => {
                self.counters.bump("mag.hint.refused");
                return Response::error(e);
            }
        };
        let (mac, mn_id) = match self.hinted_node(mac.as_deref(), mn_id.as_deref()) {
            Ok(node) => node,
            Err(e) => {
                self.counters.bump("mag.hint.refused");
                return Response::error(e);
            }
        };
        let timeout = timeout_ms.map(Duration::from_millis);
        let outcome = if arriving {
            self.counters.bump("mag.hint.arriving");
            let timeout = timeout.unwrap_or(self.cfg.hints.arrival_timeout);
            self.arriving(now, mac, &mn_id, timeout, tx)
        } else {
            self.counters.bump("mag.hint.leaving");
            let timeout = timeout.unwrap_or(self.cfg.hints.leaving_timeout);
            self.leaving(now, mac, timeout, to)
        };
        let mut t = Table::new("hint", &["mn_id", "mac", "outcome"]);
        t.row(vec![mn_id, mac.to_string(), outcome.to_string()]);
        Response::tables(vec![t])
    }

    /// The node a hint names: by MAC, by MN-ID, or by both when they agree;
    /// always one of the policy's nodes.
    fn hinted_node(&self, mac: Option<&str>, mn_id: Option<&str>) -> Result<(Mac, String), String> {
        let by_mac = match mac {
            Some(text) => {
                let mac: Mac = text
                    .parse()
                    .map_err(|e| format!("mac: {text:?} is not a MAC address: {e}"))?;
                let node = self
                    .policy
                    .node_by_mac(&mac)
                    .ok_or_else(|| format!("mac: {mac} is not a node of the policy"))?;
                Some(node)
            }
            None => None,
        };
        let by_id = match mn_id {
            Some(id) => Some(
                self.policy
                    .node_by_mn_id(id)
                    .ok_or_else(|| format!("mn_id: {id:?} is not a node of the policy"))?,
            ),
            None => None,
        };
        match (by_mac, by_id) {
            (Some(a), Some(b)) if a.mn_id != b.mn_id => Err(format!(
                "mn_id: {:?} is not the node of mac {} ({:?})",
                b.mn_id, a.mac, a.mn_id
            )),
            (Some(n), _) | (None, Some(n)) => Ok((n.mac, n.mn_id.clone())),
            (None, None) => Err("mac or mn_id: a hint names its node".into()),
        }
    }

    fn arriving(
        &mut self,
        now: Instant,
        mac: Mac,
        mn_id: &str,
        timeout: Duration,
        tx: &mut dyn Tx,
    ) -> &'static str {
        let was_leaving = self.is_leaving(&mac);
        self.end_leaving(&mac);
        self.hints.arrived.remove(&mac);
        let here = self.bul.get(&mac).map(|e| {
            let heard = now - e.last_heard <= crate::attachment::MIN_GAP_BETWEEN_EXCHANGES;
            (e.is_registered(), e.outstanding.is_some(), heard)
        });
        if let Some((registered, outstanding, true)) = here {
            if was_leaving && registered && !outstanding {
                // A migration that failed: the VM runs here again, and the
                // binding may be at the MAG it was going to.
                self.reregister(now, mac, tx);
                log::info!(
                    "{mac} ({mn_id}) arriving (hint) back where it was leaving from -> PBU HI=3 to {}",
                    self.cfg.lmaa
                );
                return "back: registering again";
            }
            // Seen on the link this very moment: the reactive path has it.
            self.counters.bump("mag.hint.already_here");
            return "already here";
        }
        let mut copies = Held::default();
        let limits = self.cfg.hints.hold;
        for packet in self.claim_early_copies(now, &mac) {
            match copies.push(now, packet, &limits) {
                Ok(()) => self.counters.bump("mag.forward.held"),
                Err(limit) => self.counters.bump(limit.counter()),
            }
        }
        self.hints.expected.insert(
            mac,
            Expected {
                since: now,
                until: now + timeout,
                held: Held::default(),
                copies,
            },
        );
        self.timers.set(Timer::Arrival(mac), now + timeout);
        match here {
            // A node this MAG still holds from an earlier stay: a handoff back.
            Some((true, false, _)) => {
                self.reregister(now, mac, tx);
                let homes = self.node_homes(&mac);
                self.hold_downlink(&homes);
                // It may never have left (a wrong hint, a silent node): one
                // that answers this probe is here, and its downlink flows.
                self.probe_node(now, mac, true, tx);
                log::info!(
                    "{mac} ({mn_id}) arriving (hint): registered again -> PBU HI=3 to {}; its downlink is held until it shows up",
                    self.cfg.lmaa
                );
                "registering again"
            }
            Some(_) => "registration under way",
            None => {
                let s = Sighting {
                    mac,
                    trigger: Trigger::Hint,
                    address: None,
                };
                // The hint does not say which access link: the first, until
                // the node shows up on another.
                if self.admitted(now, 1, s, mn_id, tx) {
                    self.attach_admitted(now, 1, s, mn_id, tx);
                }
                "registering"
            }
        }
    }

    fn leaving(
        &mut self,
        now: Instant,
        mac: Mac,
        timeout: Duration,
        to: Option<Ipv6Addr>,
    ) -> &'static str {
        if !self.bul.contains(&mac) {
            return "not here";
        }
        self.end_leaving(&mac);
        if let Some(e) = self.hints.expected.remove(&mac) {
            self.timers.cancel(&Timer::Arrival(mac));
            self.count_dropped(e.len(), "mag.hold.dropped.left");
        }
        self.hints.leaving.insert(
            mac,
            Leaving {
                since: now,
                until: now + timeout,
                checking: false,
                to,
            },
        );
        if let Some(to) = to {
            self.start_forwarding(mac, to);
        }
        self.timers.set(Timer::Leaving(mac), now + timeout);
        log::info!(
            "{mac} leaving (hint): no more probes, and no de-registration of what the next MAG registers"
        );
        "leaving"
    }

    pub(crate) fn is_expected(&self, mac: &Mac) -> bool {
        self.hints.expected.contains_key(mac)
    }

    /// Whether the MAG holds the downlink of `mac`, announced as arriving
    /// and not seen yet.
    pub fn awaits(&self, mac: &Mac) -> bool {
        self.is_expected(mac)
    }

    pub(crate) fn is_leaving(&self, mac: &Mac) -> bool {
        self.hints.leaving.contains_key(mac)
    }

    fn hold_downlink(&mut self, homes: &[IpNet]) {
        for home in homes {
            self.engine.hold(*home);
        }
    }

    fn release_downlink(&mut self, homes: &[IpNet]) {
        for home in homes {
            self.engine.release(*home);
        }
    }

    /// The binding of an expected node is in place: its downlink (IPv6 and
    /// IPv4) is held.
    pub(crate) fn hold_if_expected(&mut self, mac: Mac) -> bool {
        let expected = self.is_expected(&mac);
        if expected {
            let homes = self.node_homes(&mac);
            self.hold_downlink(&homes);
            log::info!(
                "{mac} is registered here before it arrived: {} held until it shows up",
                crate::node_link::prefixes(&homes)
            );
        }
        expected
    }

    /// The draining node `dst` is a home address of.
    pub(crate) fn draining_for(&self, dst: IpAddr) -> Option<Mac> {
        self.hints
            .draining
            .keys()
            .copied()
            .find(|mac| self.is_home_of(mac, dst))
    }

    /// Ends a node's leaving hint, and the copying of its downlink.
    fn end_leaving(&mut self, mac: &Mac) {
        self.timers.cancel(&Timer::Leaving(*mac));
        if let Some(Leaving { to: Some(to), .. }) = self.hints.leaving.remove(mac) {
            self.stop_forwarding(mac, to);
        }
    }

    /// The packets the engine held since the last frame: each to the queue
    /// of the expected node whose prefix it is for, or, for a leaving node
    /// whose destination MAG is known, to the node and a copy to that MAG.
    pub(crate) fn collect_held(&mut self, now: Instant, tx: &mut dyn Tx) {
        for packet in self.engine.take_held() {
            let Some(dst) = crate::forwarding::destination(&packet) else {
                continue;
            };
            let leaving = self.hints.leaving.iter().find_map(|(mac, l)| {
                let to = l.to?;
                let port = self.bul.get(mac)?.port;
                self.is_home_of(mac, dst).then_some((*mac, port, to))
            });
            if let Some((mac, port, to)) = leaving {
                self.copy_to_peer(now, to, &packet, tx);
                self.deliver_held(now, port, mac, &[packet], tx);
                continue;
            }
            let owner = self
                .hints
                .expected
                .keys()
                .copied()
                .find(|mac| self.bul.contains(mac) && self.is_home_of(mac, dst));
            if let Some(d) = owner
                .is_none()
                .then(|| self.draining_for(dst))
                .flatten()
                .and_then(|mac| self.hints.draining.get_mut(&mac))
            {
                d.queue.push_back(packet);
                continue;
            }
            let limits = self.cfg.hints.hold;
            let verdict = owner
                .and_then(|mac| self.hints.expected.get_mut(&mac))
                .map(|exp| exp.held.push(now, packet, &limits));
            match verdict {
                Some(Ok(())) => self.counters.bump("mag.hold.held"),
                Some(Err(limit)) => self.counters.bump(limit.counter()),
                None => self.counters.bump("mag.hold.dropped.no_node"),
            }
        }
    }

    pub(crate) fn count_dropped(&mut self, n: usize, counter: &'static str) {
        for _ in 0..n {
            self.counters.bump(counter);
        }
    }

    /// A frame from an expected node on access port `port`: it is here. Its
    /// held downlink goes first, in order, then its RA.
    pub(crate) fn hinted_node_seen(
        &mut self,
        now: Instant,
        port: PortId,
        mac: Mac,
        tx: &mut dyn Tx,
    ) {
        let Some(mut exp) = self.hints.expected.remove(&mac) else {
            return;
        };
        self.hints.arrived.insert(mac, now);
        self.timers.set(Timer::Arrival(mac), now + ARRIVED_WINDOW);
        self.counters.bump("mag.hint.arrived");
        let Some(e) = self.bul.get_mut(&mac) else {
            // Still waiting for the policy store: attached when it answers.
            self.count_dropped(exp.len(), "mag.hold.dropped.not_admitted");
            return;
        };
        e.last_heard = now;
        let (hnps, registered, moved) = (e.hnps.clone(), e.is_registered(), e.port != port);
        e.port = port;
        if moved && registered {
            for hnp in &hnps {
                self.engine.routes_mut().connect(*hnp, port);
            }
        }
        let limits = self.cfg.hints.hold;
        let (mut packets, mut stale) = exp.copies.drain(now, &limits);
        let (direct, stale_direct) = exp.held.drain(now, &limits);
        packets.extend(direct);
        stale += stale_direct;
        self.count_dropped(stale, crate::held::HoldDrop::Age.counter());
        log::info!(
            "{mac} arrived as hinted {} ms after the hint: {} held packets go to it in order{}, then its RA",
            (now - exp.since).total_millis(),
            packets.len(),
            if stale > 0 {
                format!(
                    " ({stale} older than {} ms dropped)",
                    limits.age.total_millis()
                )
            } else {
                String::new()
            },
        );
        if !registered {
            // Nothing was routed here yet: its RA follows the PBA.
            return;
        }
        self.hints.draining.insert(
            mac,
            Draining {
                port,
                queue: packets.into(),
            },
        );
        self.drain_step(now, mac, tx);
    }

    /// The next `DRAIN_BURST` of a node's held packets; the RA and the
    /// confirming PBU once none is left. New downlink queues behind the held
    /// until then, so nothing overtakes it.
    pub(crate) fn drain_step(&mut self, now: Instant, mac: Mac, tx: &mut dyn Tx) {
        let Some(d) = self.hints.draining.get_mut(&mac) else {
            return;
        };
        let n = d.queue.len().min(DRAIN_BURST);
        let burst: Vec<Vec<u8>> = d.queue.drain(..n).collect();
        let (port, done) = (d.port, d.queue.is_empty());
        self.deliver_held(now, port, mac, &burst, tx);
        if !done {
            self.timers.set(Timer::Drain(mac), now + DRAIN_GAP);
            return;
        }
        self.hints.draining.remove(&mac);
        self.timers.cancel(&Timer::Drain(mac));
        let homes = self.node_homes(&mac);
        self.release_downlink(&homes);
        self.send_ra(now, mac, tx);
        // The hint's registration is as old as the hint, and anything may
        // have happened since (a failed migration whose VM resumed where it
        // was, announced there): one PBU stamped now, with the node here,
        // makes the claim certain. Routes stay meanwhile.
        if self.bul.get(&mac).is_some_and(|e| e.outstanding.is_none()) {
            let kept = self.bul.get(&mac).map(|e| (e.detected_at, e.ra_sent_at));
            self.reregister(now, mac, tx);
            // The handoff is the hint's: detected then, done with this RA.
            if let (Some((detected, ra)), Some(e)) = (kept, self.bul.get_mut(&mac)) {
                (e.detected_at, e.ra_sent_at) = (detected, ra);
            }
        }
    }

    /// Sends held packets to the node's MAC directly: it is the only node of
    /// its prefixes and its IPv4 home address on the link, so they need no
    /// address resolution (ND or ARP).
    pub(crate) fn deliver_held(
        &mut self,
        now: Instant,
        port: PortId,
        mac: Mac,
        packets: &[Vec<u8>],
        tx: &mut dyn Tx,
    ) -> usize {
        let Some(access) = port.checked_sub(1).and_then(|i| self.cfg.access.get(i)) else {
            return 0;
        };
        let (own, mtu) = (access.mac, access.mtu);
        let mut frame = Vec::with_capacity(2048);
        let mut noted = Vec::new();
        let mut delivered = 0;
        for packet in packets {
            let Some((ethertype, dst)) = forwarded(packet, mtu) else {
                self.counters.bump("mag.hold.dropped.undeliverable");
                continue;
            };
            if noted.len() < NOTED_DESTINATIONS && !noted.contains(&dst) {
                noted.push(dst);
            }
            frame.clear();
            frame.extend_from_slice(mac.as_bytes());
            frame.extend_from_slice(own.as_bytes());
            frame.extend_from_slice(&ethertype.to_be_bytes());
            let ip = frame.len();
            frame.extend_from_slice(packet);
            match dst {
                IpAddr::V6(_) => {
                    let mut p = Ipv6Packet::new_unchecked(&mut frame[ip..]);
                    p.set_hop_limit(p.hop_limit() - 1);
                }
                IpAddr::V4(_) => router::ipv4::decrement_ttl(&mut frame[ip..]),
            }
            tx.send(port, &frame);
            delivered += 1;
        }
        self.count_dropped(delivered, "mag.hold.delivered");
        for dst in noted {
            match dst {
                IpAddr::V6(dst) => {
                    if let Some(nd) = self.engine.nd_mut(port) {
                        nd.note_neighbor(now, dst, mac, tx);
                    }
                }
                IpAddr::V4(dst) => {
                    if let Some(arp) = self.engine.arp_mut(port) {
                        arp.note_neighbor(now, dst, mac, tx);
                    }
                }
            }
        }
        delivered
    }

    /// An arrival hint ran out: undone if the node never came.
    pub(crate) fn on_arrival_timer(&mut self, now: Instant, mac: Mac, tx: &mut dyn Tx) {
        if self.hints.arrived.remove(&mac).is_some() {
            return;
        }
        let Some(exp) = self.hints.expected.remove(&mac) else {
            return;
        };
        self.counters.bump("mag.hint.expired");
        self.count_dropped(exp.len(), "mag.hold.dropped.expired");
        let homes = self.node_homes(&mac);
        self.release_downlink(&homes);
        log::warn!(
            "{mac}: announced as arriving {} ms ago, never seen: hint undone ({} held packets dropped)",
            (now - exp.since).total_millis(),
            exp.len()
        );
        self.forget_node(now, mac, Some("never arrived as hinted"), tx);
    }

    /// Removes a node the MAG no longer serves, and whatever waits for it.
    fn forget_node(&mut self, now: Instant, mac: Mac, why: Option<&str>, tx: &mut dyn Tx) {
        if let Some(token) = self.asking.remove(&mac) {
            self.waiting.remove(&token);
        }
        self.retrying.remove(&mac);
        self.timers.cancel(&Timer::Reask(mac));
        self.remove(now, mac, why, tx);
    }

    /// A leaving hint ran out: the node is checked; one that answers never
    /// left and is registered again, one that does not was right to go.
    pub(crate) fn on_leaving_timer(&mut self, now: Instant, mac: Mac, tx: &mut dyn Tx) {
        let Some(l) = self.hints.leaving.get_mut(&mac) else {
            return;
        };
        if !self.bul.contains(&mac) {
            self.hints.leaving.remove(&mac);
            return;
        }
        l.checking = true;
        if let Some(to) = l.to.take() {
            self.stop_forwarding(&mac, to);
        }
        log::info!("{mac}: announced as leaving; checking whether it is still here");
        self.confirm_then(now, mac, Confirming::Reregister, tx);
        if self.bul.get(&mac).is_some_and(|e| e.confirming.is_none()) {
            // Heard a moment ago: registered again at once.
            self.leaving_disproved(&mac);
        }
    }

    /// The node answered while a leaving hint was being checked: it stays.
    pub(crate) fn leaving_disproved(&mut self, mac: &Mac) {
        if self.hints.leaving.get(mac).is_some_and(|l| l.checking) {
            self.hints.leaving.remove(mac);
            self.counters.bump("mag.hint.leaving_wrong");
            log::info!("{mac} is still here: the leaving hint was wrong");
        }
    }

    /// Whatever hint a node being removed had ends with it.
    pub(crate) fn end_hints(&mut self, mac: &Mac, homes: &[IpNet]) {
        self.end_leaving(mac);
        if let Some(d) = self.hints.draining.remove(mac) {
            self.timers.cancel(&Timer::Drain(*mac));
            self.count_dropped(d.queue.len(), "mag.hold.dropped.expired");
        }
        if let Some(exp) = self.hints.expected.remove(mac) {
            self.timers.cancel(&Timer::Arrival(*mac));
            self.count_dropped(exp.len(), "mag.hold.dropped.expired");
        }
        self.release_downlink(homes);
    }

    /// The hints table of `status`.
    pub(crate) fn hints_table(&self, now: Instant) -> Table {
        let mut t = Table::new(
            "hints",
            &["mac", "hint", "since_ms", "left_ms", "held", "held_bytes"],
        );
        let left = |until: Instant| {
            if until > now {
                (until - now).total_millis().to_string()
            } else {
                "0".into()
            }
        };
        let mut rows: Vec<Vec<String>> = Vec::new();
        for (mac, e) in &self.hints.expected {
            rows.push(vec![
                mac.to_string(),
                "arriving".into(),
                e.since.total_millis().to_string(),
                left(e.until),
                e.len().to_string(),
                (e.held.bytes() + e.copies.bytes()).to_string(),
            ]);
        }
        for (mac, l) in &self.hints.leaving {
            rows.push(vec![
                mac.to_string(),
                if l.checking {
                    "leaving (checking)"
                } else {
                    "leaving"
                }
                .into(),
                l.since.total_millis().to_string(),
                left(l.until),
                "-".into(),
                "-".into(),
            ]);
        }
        rows.sort();
        for r in rows {
            t.row(r);
        }
        t
    }
}
