//! ARP (RFC 826) for a router, as a core without I/O: the IPv4 neighbor table
//! of one port beside its ND one ([`crate::nd`]).
//!
//! - [`frames`]: building and validating ARP frames.
//! - [`ArpPort`]: answers requests for the port's addresses, resolves next
//!   hops (queueing what waits), and checks neighbors' reachability with the
//!   same state machine ND runs ([`crate::nd::NeighborCache`], keyed by IPv4
//!   address here): unicast requests instead of Neighbor Solicitations
//!   (RFC 1122 2.3.2.1), a neighbor reported unreachable when they go
//!   unanswered.
//!
//! RFC 826's "merge" rule: a frame from a sender the table knows updates its
//! entry; a request for one of our addresses adds the sender; a reply for us
//! completes a resolution or confirms a neighbor.

pub mod frames;

pub use frames::{ArpError, ArpFrame, ArpMessage};

use crate::Instant;
use crate::core::{PortId, Tx};
use crate::counters::Counters;
use crate::mac::Mac;
use crate::nd::cache::{Flush, NeighborCache, NeighborInfo, NudAction, Resolution};
use crate::nd::{NaFlags, NudConfig, NudState};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpPortConfig {
    pub port: PortId,
    pub mac: Mac,
    /// The port's own IPv4 addresses with their on-link prefixes: requests for
    /// them are answered, and requests the port sends come from the one on the
    /// target's link.
    pub addresses: Vec<Ipv4Net>,
    /// Reachability timers, the same constants as ND's (Linux uses the same
    /// for both families).
    pub nud: NudConfig,
}

/// What an [`ArpPort`] reports to the core that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpEvent {
    /// A valid ARP frame from a neighbor; `answered` when the port replied
    /// itself (a request for one of its addresses). A core that answers by
    /// proxy does so with [`ArpPort::answer`].
    Received { arp: ArpFrame, answered: bool },
    /// Resolution or reachability checks went unanswered (RFC 1122 2.3.2.1).
    Unreachable { mac: Option<Mac>, ip: Ipv4Addr },
}

#[derive(Debug)]
pub struct ArpPort {
    cfg: ArpPortConfig,
    cache: NeighborCache<Ipv4Addr>,
    counters: Counters,
}

/// An ARP reply carries no flags: every reply to us confirms its sender, as
/// a solicited NA with Override does.
const REPLY: NaFlags = NaFlags {
    router: false,
    solicited: true,
    override_: true,
};

impl ArpPort {
    pub fn new(cfg: ArpPortConfig) -> Self {
        ArpPort {
            cache: NeighborCache::new(cfg.nud),
            counters: Counters::default(),
            cfg,
        }
    }

    pub fn config(&self) -> &ArpPortConfig {
        &self.cfg
    }

    /// Frames refused, by reason (`arp.drop.*`), and what was answered.
    pub fn counters(&self) -> Counters {
        let mut all = self.counters.clone();
        let names = [
            "arp.evicted",
            "arp.drop.evicted_queue",
            "arp.drop.table_full",
        ];
        self.cache.cap_counts().add_to(&mut all, names);
        all
    }

    /// Entries in the neighbor cache (at most `NudConfig::max_neighbors`).
    pub fn neighbor_count(&self) -> usize {
        self.cache.len()
    }

    pub fn is_own(&self, ip: &Ipv4Addr) -> bool {
        self.cfg.addresses.iter().any(|a| a.addr() == *ip)
    }

    /// Adds an own address at run time (a MAG learns the default-router
    /// address its nodes use from the LMA).
    pub fn add_address(&mut self, net: Ipv4Net) {
        if !self.cfg.addresses.contains(&net) {
            self.cfg.addresses.push(net);
        }
    }

    pub fn remove_address(&mut self, net: &Ipv4Net) {
        self.cfg.addresses.retain(|a| a != net);
    }

    /// The address requests to `target` come from: the port's own on its
    /// link, else any of the port's, else 0.0.0.0 (a probe, which every host
    /// answers without adding us to its table).
    fn source_for(&self, target: Ipv4Addr) -> Ipv4Addr {
        let own = self.cfg.addresses.iter();
        own.clone()
            .find(|a| a.contains(&target))
            .or_else(|| own.clone().next())
            .map_or(Ipv4Addr::UNSPECIFIED, Ipv4Net::addr)
    }

    /// Handles one ARP frame received on this port. Invalid frames are counted
    /// and returned as errors without touching any state.
    pub fn on_arp(
        &mut self,
        now: Instant,
        frame: &[u8],
        tx: &mut dyn Tx,
    ) -> Result<ArpEvent, ArpError> {
        let arp = ArpFrame::parse(frame).inspect_err(|e| self.counters.bump(e.counter()))?;
        let for_us = self.is_own(&arp.target_ip);
        if !arp.sender_ip.is_unspecified() && !self.is_own(&arp.sender_ip) {
            let known = self.cache.lookup(&arp.sender_ip).is_some();
            let flush = match (arp.reply, known || for_us) {
                (true, _) => {
                    self.cache
                        .on_advert(now, arp.sender_ip, Some(arp.sender_mac), REPLY)
                        .flush
                }
                (false, true) => self.cache.learn(now, arp.sender_ip, arp.sender_mac, None),
                (false, false) => None,
            };
            self.transmit(flush, tx);
        }
        let answered = for_us && !arp.reply && !arp.is_gratuitous();
        if answered {
            self.answer(&arp, arp.target_ip, tx);
        }
        Ok(ArpEvent::Received { arp, answered })
    }

    /// Replies to `request` that `ip` is at this port's MAC (its own address,
    /// or one the owner answers for by proxy), to the requester's MAC.
    pub fn answer(&mut self, request: &ArpFrame, ip: Ipv4Addr, tx: &mut dyn Tx) {
        let reply = ArpMessage {
            reply: true,
            sender_mac: self.cfg.mac,
            sender_ip: ip,
            target_mac: request.sender_mac,
            target_ip: request.sender_ip,
        };
        tx.send(self.cfg.port, &frames::build(request.sender_mac, &reply));
        self.counters.bump("arp.replies_sent");
    }

    /// The MAC of the on-link `next_hop` if it is known (sending then needs no
    /// queue), with the reachability step sending takes.
    pub fn resolved(&mut self, now: Instant, next_hop: Ipv4Addr) -> Option<Mac> {
        self.cache.resolved(now, next_hop)
    }

    /// Sends a whole IPv4 packet to the on-link `next_hop`, resolving it first
    /// when needed; the limited broadcast goes to every host on the link.
    pub fn send_ipv4(&mut self, now: Instant, next_hop: Ipv4Addr, packet: &[u8], tx: &mut dyn Tx) {
        if next_hop.is_broadcast() {
            let frame = frames::ethernet_ipv4(self.cfg.mac, Mac::BROADCAST, packet);
            tx.send(self.cfg.port, &frame);
            return;
        }
        match self.cache.resolve(now, next_hop, packet) {
            Resolution::Send(mac) => tx.send(
                self.cfg.port,
                &frames::ethernet_ipv4(self.cfg.mac, mac, packet),
            ),
            Resolution::Queued { solicit, overflow } => {
                if overflow {
                    self.counters.bump("arp.drop.queue_full");
                }
                if solicit {
                    self.send_request(next_hop, None, tx);
                }
            }
        }
    }

    /// Records that `ip` is at `mac`, as learnt from a source the core trusts
    /// (a MAG knows its registered node's MAC), and sends what waited for it.
    pub fn note_neighbor(&mut self, now: Instant, ip: Ipv4Addr, mac: Mac, tx: &mut dyn Tx) {
        let flush = self.cache.learn(now, ip, mac, None);
        self.transmit(flush, tx);
    }

    /// Checks that `ip` still answers at `mac` with a unicast request, unless
    /// it is already being checked (see [`NeighborCache::probe`]); a neighbor
    /// that does not answer is reported by [`ArpPort::on_timer`]. Returns
    /// whether a request went out.
    pub fn probe(
        &mut self,
        now: Instant,
        ip: Ipv4Addr,
        mac: Mac,
        even_if_reachable: bool,
        tx: &mut dyn Tx,
    ) -> bool {
        let Some(target) = self.cache.probe(now, ip, mac, even_if_reachable) else {
            return false;
        };
        self.send_request(ip, Some(target), tx);
        true
    }

    /// Upper-layer proof that `ip` is there (any frame from it).
    pub fn confirm(&mut self, now: Instant, ip: Ipv4Addr) {
        self.cache.confirm(now, ip);
    }

    pub fn neighbor(&self, ip: &Ipv4Addr) -> Option<(NudState, Option<Mac>)> {
        self.cache.lookup(ip)
    }

    pub fn neighbors(&self) -> impl Iterator<Item = NeighborInfo<Ipv4Addr>> + '_ {
        self.cache.iter()
    }

    pub fn forget(&mut self, ip: &Ipv4Addr) {
        self.cache.remove(ip);
    }

    pub fn poll_at(&self) -> Option<Instant> {
        self.cache.poll_at()
    }

    /// Runs the timers due at `now`: retransmitted requests and neighbors lost.
    pub fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) -> Vec<ArpEvent> {
        let mut events = Vec::new();
        for action in self.cache.on_timer(now) {
            match action {
                NudAction::Solicit { target, unicast } => self.send_request(target, unicast, tx),
                NudAction::Unreachable { ip, mac, dropped } => {
                    self.counters.add("arp.drop.unresolved", dropped as u64);
                    events.push(ArpEvent::Unreachable { mac, ip });
                }
            }
        }
        events
    }

    fn send_request(&mut self, target: Ipv4Addr, unicast: Option<Mac>, tx: &mut dyn Tx) {
        let frame = frames::request(self.cfg.mac, self.source_for(target), target, unicast);
        tx.send(self.cfg.port, &frame);
        self.counters.bump("arp.requests_sent");
    }

    fn transmit(&self, flush: Option<Flush>, tx: &mut dyn Tx) {
        let Some(Flush { mac, packets }) = flush else {
            return;
        };
        for packet in &packets {
            tx.send(
                self.cfg.port,
                &frames::ethernet_ipv4(self.cfg.mac, mac, packet),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Duration;

    const ROUTER: Mac = Mac([0x02, 0x7a, 0x70, 0, 0, 1]);
    const NODE: Mac = Mac([0x52, 0x54, 0, 0xaa, 0, 1]);

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn port() -> ArpPort {
        ArpPort::new(ArpPortConfig {
            port: 1,
            mac: ROUTER,
            addresses: vec!["10.1.1.1/24".parse().unwrap()],
            nud: NudConfig::default(),
        })
    }

    fn t(ms: i64) -> Instant {
        Instant::from_millis(ms)
    }

    fn parsed(tx: &[(PortId, Vec<u8>)]) -> Vec<ArpFrame> {
        tx.iter()
            .filter_map(|(_, f)| ArpFrame::parse(f).ok())
            .collect()
    }

    #[test]
    fn answers_requests_for_its_address_and_learns_the_asker() {
        let mut p = port();
        let mut tx = Vec::new();
        let req = frames::request(NODE, a("10.1.1.5"), a("10.1.1.1"), None);
        let ev = p.on_arp(t(0), &req, &mut tx).unwrap();
        assert!(matches!(ev, ArpEvent::Received { answered: true, .. }));
        let reply = parsed(&tx);
        assert_eq!(reply.len(), 1);
        assert!(reply[0].reply && reply[0].sender_ip == a("10.1.1.1"));
        assert_eq!(
            (reply[0].eth_dst, reply[0].target_ip),
            (NODE, a("10.1.1.5"))
        );
        assert_eq!(
            p.neighbor(&a("10.1.1.5")),
            Some((NudState::Stale, Some(NODE)))
        );
        // A request for someone else is reported, not answered, not learnt.
        let mut tx = Vec::new();
        let other = frames::request(NODE, a("10.1.1.6"), a("10.1.1.7"), None);
        let ev = p.on_arp(t(1), &other, &mut tx).unwrap();
        assert!(matches!(
            ev,
            ArpEvent::Received {
                answered: false,
                ..
            }
        ));
        assert!(tx.is_empty() && p.neighbor(&a("10.1.1.6")).is_none());
        let mut tx = Vec::new();
        let g = frames::gratuitous(NODE, a("10.1.1.1"));
        assert!(matches!(
            p.on_arp(t(2), &g, &mut tx),
            Ok(ArpEvent::Received {
                answered: false,
                ..
            })
        ));
    }

    #[test]
    fn resolution_queues_then_flushes_on_the_reply() {
        let mut p = port();
        let mut tx = Vec::new();
        let packet = crate::ipv4::tests::udp4("192.0.2.100", "10.1.1.5", 63, 8, true);
        p.send_ipv4(t(0), a("10.1.1.5"), &packet, &mut tx);
        let req = parsed(&tx);
        assert_eq!(req.len(), 1);
        assert_eq!(
            (req[0].eth_dst, req[0].sender_ip),
            (Mac::BROADCAST, a("10.1.1.1"))
        );
        let reply = frames::build(
            ROUTER,
            &ArpMessage {
                reply: true,
                sender_mac: NODE,
                sender_ip: a("10.1.1.5"),
                target_mac: ROUTER,
                target_ip: a("10.1.1.1"),
            },
        );
        let mut tx = Vec::new();
        p.on_arp(t(5), &reply, &mut tx).unwrap();
        assert_eq!(tx.len(), 1);
        assert_eq!(&tx[0].1[14..], &packet[..]);
        assert_eq!(&tx[0].1[..6], NODE.as_bytes());
        assert_eq!(p.resolved(t(6), a("10.1.1.5")), Some(NODE));
    }

    #[test]
    fn a_silent_neighbor_is_reported_after_three_unicast_probes() {
        let mut p = port();
        let mut tx = Vec::new();
        p.note_neighbor(t(0), a("10.1.1.5"), NODE, &mut tx);
        assert!(p.probe(t(0), a("10.1.1.5"), NODE, true, &mut tx));
        assert!(
            !p.probe(t(1), a("10.1.1.5"), NODE, true, &mut tx),
            "already probing"
        );
        let mut now = t(0);
        let mut events = Vec::new();
        for _ in 0..4 {
            now += Duration::from_secs(1);
            events.extend(p.on_timer(now, &mut tx));
        }
        let sent = parsed(&tx);
        assert_eq!(sent.len(), 3);
        assert!(sent.iter().all(|f| f.eth_dst == NODE && !f.reply));
        assert_eq!(
            events,
            [ArpEvent::Unreachable {
                mac: Some(NODE),
                ip: a("10.1.1.5")
            }]
        );
        assert!(p.neighbor(&a("10.1.1.5")).is_none());
    }

    #[test]
    fn malformed_frames_are_counted_and_change_nothing() {
        let mut p = port();
        let mut tx = Vec::new();
        let mut bad = frames::request(NODE, a("10.1.1.5"), a("10.1.1.1"), None);
        bad[21] = 9;
        assert!(p.on_arp(t(0), &bad, &mut tx).is_err());
        assert!(p.on_arp(t(0), &bad[..30], &mut tx).is_err());
        assert!(tx.is_empty() && p.neighbors().count() == 0);
        assert_eq!(p.counters().get("arp.drop.operation"), 1);
        assert_eq!(p.counters().get("arp.drop.truncated"), 1);
    }
}
