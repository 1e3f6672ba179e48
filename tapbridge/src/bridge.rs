//! The switch core: named segments of members, one learning table per segment.
//!
//! A member is anything that exchanges whole Ethernet frames with the bridge (a
//! TAP device it owns, or a packet socket on a router's interface); the core only
//! knows its [`MemberId`] and never does I/O: frames go out through a
//! [`router::core::Tx`] whose port ids are member ids, and time comes in as `now`.
//!
//! A frame from a member passes the member's ingress [`Link`], is captured and
//! switched in the member's segment, and passes each target's egress [`Link`].
//! The migration primitives act as a hypervisor's network side does: a paused
//! member neither sends nor receives; a moved member keeps its fd (its host sees
//! no carrier change) but is switched in another segment; an announcement is the
//! unsolicited NA a migrated guest sends (RFC 4861 7.2.6), emitted for it.

use std::net::{IpAddr, Ipv6Addr};

use router::core::{Core, PortId, Rx, Tx};
use router::counters::Counters;
use router::ctl::{Response, Table};
use router::gso::{MAX_SUPERFRAME, Offload, to_plain};
use router::mac::Mac;
use router::nd::frames::{Addressing, NaFlags, build_na};
use router::{Duration, Instant};

pub use crate::capture::Capture;
use crate::ctl::{Direction, Request};
use crate::link::{Link, LinkParams, Offer};
use crate::mac_table::{Learnt, MacTable};

/// Index of a member in the order the bridge was configured with them.
pub type MemberId = PortId;

/// How long a learnt address lives without traffic from it (IEEE 802.1Q default).
pub const DEFAULT_AGING: Duration = Duration::from_secs(300);

const ETHERNET_HEADER: usize = 14;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberConfig {
    /// What people and control requests call it, e.g. `vm:eth0`.
    pub name: String,
    pub segment: String,
    /// The host's MAC, when tapbridge set it: what `announce` uses by default.
    pub mac: Option<Mac>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BridgeError {
    #[error("member {0:?} is configured twice")]
    DuplicateMember(String),
    #[error("no member named {0:?}")]
    NoMember(String),
    #[error("no segment named {0:?}")]
    NoSegment(String),
    #[error("member {0:?} has no configured MAC: give one")]
    NoMac(String),
    #[error("{0} is not a unicast MAC address")]
    BadMac(String),
}

/// Frames and bytes per member; `rx` is what the member sent into the bridge.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemberStats {
    pub rx_frames: u64,
    pub rx_bytes: u64,
    pub tx_frames: u64,
    pub tx_bytes: u64,
    /// Frames from or to this member dropped, per reason.
    pub drops: Counters,
}

struct Member {
    name: String,
    segment: usize,
    mac: Option<Mac>,
    paused: bool,
    /// Frames from the member towards the segment.
    ingress: Link,
    /// Frames from the segment towards the member.
    egress: Link,
    stats: MemberStats,
}

struct Segment {
    name: String,
    table: MacTable,
    capture: Option<Capture>,
}

pub struct Bridge {
    members: Vec<Member>,
    segments: Vec<Segment>,
    aging: Duration,
    /// Where a superframe is cut for a link that acts per frame.
    scratch: Box<[u8]>,
}

impl Bridge {
    /// `seed` drives every link's loss and jitter draws: the same seed and the
    /// same input give the same output.
    pub fn new(
        members: &[MemberConfig],
        aging: Duration,
        seed: u64,
    ) -> Result<Bridge, BridgeError> {
        let mut bridge = Bridge {
            members: Vec::new(),
            segments: Vec::new(),
            aging,
            scratch: Box::default(),
        };
        for (id, config) in members.iter().enumerate() {
            if bridge.member_id(&config.name).is_some() {
                return Err(BridgeError::DuplicateMember(config.name.clone()));
            }
            let segment = bridge.segment_or_new(&config.segment);
            // Distinct streams per link, so changing one link leaves the others' draws alone.
            let stream =
                |dir: u64| seed ^ ((id as u64) << 1 | dir).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            bridge.members.push(Member {
                name: config.name.clone(),
                segment,
                mac: config.mac,
                paused: false,
                ingress: Link::new(stream(0)),
                egress: Link::new(stream(1)),
                stats: MemberStats::default(),
            });
        }
        Ok(bridge)
    }

    fn id(&self, name: &str) -> Result<MemberId, BridgeError> {
        self.member_id(name)
            .ok_or_else(|| BridgeError::NoMember(name.to_string()))
    }

    /// A paused member's frames are dropped both ways, as a stopped VM's would be.
    pub fn pause(&mut self, name: &str) -> Result<(), BridgeError> {
        let id = self.id(name)?;
        if let Some(m) = self.members.get_mut(id) {
            m.paused = true;
        }
        Ok(())
    }

    pub fn resume(&mut self, name: &str) -> Result<(), BridgeError> {
        let id = self.id(name)?;
        if let Some(m) = self.members.get_mut(id) {
            m.paused = false;
        }
        Ok(())
    }

    /// Switches the member in segment `to` (made if new) from now on; the old
    /// segment forgets what it learnt there.
    pub fn move_member(&mut self, name: &str, to: &str) -> Result<(), BridgeError> {
        let id = self.id(name)?;
        let to = self.segment_or_new(to);
        let Some(member) = self.members.get_mut(id) else {
            return Ok(());
        };
        let from = std::mem::replace(&mut member.segment, to);
        if let Some(old) = self.segments.get_mut(from) {
            old.table.forget_member(id);
        }
        Ok(())
    }

    /// Emits, as if the member sent them, one unsolicited NA per IPv6 address
    /// (S=0, O=1, to all-nodes, RFC 4861 7.2.6) with `mac` (default: the
    /// member's own) as source and target link-layer address, and one
    /// gratuitous ARP per IPv4 address (RFC 5227 2.3), as Xen does for a
    /// migrated guest.
    pub fn announce(
        &mut self,
        now: Instant,
        name: &str,
        addrs: &[IpAddr],
        mac: Option<Mac>,
        tx: &mut dyn Tx,
    ) -> Result<(), BridgeError> {
        let id = self.id(name)?;
        let mac = mac
            .or_else(|| self.members.get(id).and_then(|m| m.mac))
            .ok_or_else(|| BridgeError::NoMac(name.to_string()))?;
        if !mac.is_unicast() {
            return Err(BridgeError::BadMac(mac.to_string()));
        }
        let flags = NaFlags {
            override_: true,
            ..NaFlags::default()
        };
        for &addr in addrs {
            let addr = match addr {
                IpAddr::V4(v4) => {
                    let frame = router::arp::frames::gratuitous(mac, v4);
                    self.switch(now, id, &frame, &Offload::NONE, tx);
                    continue;
                }
                IpAddr::V6(v6) => v6,
            };
            let addressing = Addressing {
                src_mac: mac,
                dst_mac: Mac([0x33, 0x33, 0, 0, 0, 1]),
                src_ip: addr,
                dst_ip: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
            };
            let frame = build_na(&addressing, addr, flags, Some(mac));
            self.switch(now, id, &frame, &Offload::NONE, tx);
        }
        Ok(())
    }

    /// Sets both or one direction of a member's link emulation.
    pub fn set_link(
        &mut self,
        name: &str,
        dir: Direction,
        params: LinkParams,
    ) -> Result<(), BridgeError> {
        let id = self.id(name)?;
        if let Some(m) = self.members.get_mut(id) {
            if dir != Direction::Out {
                m.ingress.set_params(params);
            }
            if dir != Direction::In {
                m.egress.set_params(params);
            }
        }
        Ok(())
    }

    /// Starts (or with `None` stops) capturing segment `name`; returns the capture
    /// that was running, for the caller to finish.
    pub fn set_capture(
        &mut self,
        name: &str,
        capture: Option<Capture>,
    ) -> Result<Option<Capture>, BridgeError> {
        let segment = self
            .segments
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(|| BridgeError::NoSegment(name.to_string()))?;
        Ok(std::mem::replace(&mut segment.capture, capture))
    }

    pub fn member_id(&self, name: &str) -> Option<MemberId> {
        self.members.iter().position(|m| m.name == name)
    }

    pub fn member_name(&self, id: MemberId) -> Option<&str> {
        self.members.get(id).map(|m| m.name.as_str())
    }

    pub fn stats(&self, id: MemberId) -> Option<&MemberStats> {
        self.members.get(id).map(|m| &m.stats)
    }

    /// The segment `id` is in.
    pub fn segment_of(&self, id: MemberId) -> Option<&str> {
        let member = self.members.get(id)?;
        self.segments.get(member.segment).map(|s| s.name.as_str())
    }

    /// Where the segment named `name` has learnt `mac`.
    pub fn lookup(&self, segment: &str, mac: Mac) -> Option<MemberId> {
        let segment = self.segments.iter().find(|s| s.name == segment)?;
        segment.table.lookup(&mac)
    }

    fn segment_or_new(&mut self, name: &str) -> usize {
        if let Some(i) = self.segments.iter().position(|s| s.name == name) {
            return i;
        }
        self.segments.push(Segment {
            name: name.to_string(),
            table: MacTable::new(self.aging),
            capture: None,
        });
        self.segments.len() - 1
    }

    fn drop_frame(&mut self, member: MemberId, reason: &'static str) {
        if let Some(m) = self.members.get_mut(member) {
            m.stats.drops.bump(reason);
        }
    }

    /// Learns the source and hands the frame to the members it goes to.
    fn switch(
        &mut self,
        now: Instant,
        from: MemberId,
        frame: &[u8],
        offload: &Offload,
        tx: &mut dyn Tx,
    ) {
        let (Some(dst), Some(src)) = (
            Mac::from_bytes(frame),
            frame.get(6..).and_then(Mac::from_bytes),
        ) else {
            return self.drop_frame(from, "runt");
        };
        let Some(segment_id) = self.members.get(from).map(|m| m.segment) else {
            return;
        };
        let Some(segment) = self.segments.get_mut(segment_id) else {
            return;
        };
        if src.is_multicast() {
            // A group address is never a source (IEEE 802.3 3.2.3); learning it
            // would send that group's frames to one member.
            return self.drop_frame(from, "multicast_source");
        }
        if let Some(capture) = segment.capture.as_mut()
            && !capture.frame(now, frame, offload)
        {
            log::warn!(
                "segment {}: capture stopped: its writer failed",
                segment.name
            );
            segment.capture = None;
        }
        if let Learnt::Moved { from: old } = segment.table.learn(src, from, now) {
            log::info!(
                "segment {}: {} moved from {} to {}",
                segment.name,
                src,
                member_label(&self.members, old),
                member_label(&self.members, from)
            );
        }
        let known = (dst.is_unicast())
            .then(|| segment.table.lookup(&dst))
            .flatten();
        match known {
            // Both ends on one member: the frame has already reached its target.
            Some(to) if to == from => self.drop_frame(from, "same_member"),
            Some(to) => self.deliver(now, to, frame, offload, tx),
            None => {
                // Flooding is rare (unknown or group destinations): indices, no list.
                for to in 0..self.members.len() {
                    if to != from && self.members[to].segment == segment_id {
                        self.deliver(now, to, frame, offload, tx);
                    }
                }
            }
        }
    }

    /// Hands a switched frame to member `to` through its egress link; a
    /// superframe is cut first when that link acts per frame.
    fn deliver(
        &mut self,
        now: Instant,
        to: MemberId,
        frame: &[u8],
        offload: &Offload,
        tx: &mut dyn Tx,
    ) {
        let Some(member) = self.members.get_mut(to) else {
            return;
        };
        if member.paused {
            return member.stats.drops.bump("paused");
        }
        if offload.gso.is_some() && !member.egress.takes_superframes() {
            let mut scratch = self.take_scratch();
            let cut = to_plain(frame, offload, &mut scratch, &mut |f| {
                self.deliver(now, to, f, &Offload::NONE, tx)
            });
            self.scratch = scratch;
            if cut.is_err() {
                self.drop_frame(to, "offload_cut");
            }
            return;
        }
        match member.egress.offer(now, frame, offload) {
            Offer::Now => transmit(member, to, frame, offload, tx),
            Offer::Held => {}
            Offer::Dropped(reason) => member.stats.drops.bump(reason),
        }
    }

    /// The buffer superframes are cut in, made on first use.
    fn take_scratch(&mut self) -> Box<[u8]> {
        let scratch = std::mem::take(&mut self.scratch);
        if scratch.is_empty() {
            vec![0; MAX_SUPERFRAME].into_boxed_slice()
        } else {
            scratch
        }
    }

    /// A frame from `member` that may be a superframe or carry a partial
    /// checksum: the ordinary path of [`Core::on_frame`] with its offload.
    fn receive(
        &mut self,
        now: Instant,
        member: MemberId,
        frame: &[u8],
        offload: &Offload,
        tx: &mut dyn Tx,
    ) {
        let Some(m) = self.members.get_mut(member) else {
            return;
        };
        m.stats.rx_frames += 1;
        m.stats.rx_bytes += frame.len() as u64;
        if frame.len() < ETHERNET_HEADER {
            return self.drop_frame(member, "runt");
        }
        if m.paused {
            return self.drop_frame(member, "paused");
        }
        match m.ingress.offer(now, frame, offload) {
            Offer::Now => self.switch(now, member, frame, offload, tx),
            Offer::Held => {}
            Offer::Dropped(reason) => self.drop_frame(member, reason),
        }
    }
}

fn transmit(member: &mut Member, id: MemberId, frame: &[u8], offload: &Offload, tx: &mut dyn Tx) {
    member.stats.tx_frames += 1;
    member.stats.tx_bytes += frame.len() as u64;
    if offload.is_none() {
        tx.send(id, frame);
    } else {
        tx.send_offload(id, frame, offload);
    }
}

fn member_label(members: &[Member], id: MemberId) -> &str {
    members.get(id).map_or("?", |m| m.name.as_str())
}

impl Core for Bridge {
    fn on_frame(&mut self, now: Instant, member: MemberId, frame: &[u8], tx: &mut dyn Tx) {
        self.receive(now, member, frame, &Offload::NONE, tx);
    }

    /// A superframe or a partial checksum crosses whole where every link it
    /// passes only delays; else it is cut here, before the member's ingress.
    fn on_rx(&mut self, now: Instant, member: MemberId, rx: Rx<'_>, tx: &mut dyn Tx) {
        let (frame, offload, scratch) = rx.into_parts();
        let whole = offload.gso.is_none()
            || self
                .members
                .get(member)
                .is_some_and(|m| m.ingress.takes_superframes());
        if whole {
            return self.receive(now, member, frame, &offload, tx);
        }
        if to_plain(frame, &offload, scratch, &mut |f| {
            self.receive(now, member, f, &Offload::NONE, tx)
        })
        .is_err()
        {
            self.drop_frame(member, "offload_cut");
        }
    }

    fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) {
        // Ingress first: what it switches may be due on an egress link at once.
        for id in 0..self.members.len() {
            while let Some((frame, offload)) = self
                .members
                .get_mut(id)
                .and_then(|m| m.ingress.pop_due(now))
            {
                self.switch(now, id, &frame, &offload, tx);
                if let Some(m) = self.members.get_mut(id) {
                    m.ingress.recycle(frame);
                }
            }
        }
        for (id, member) in self.members.iter_mut().enumerate() {
            while let Some((frame, offload)) = member.egress.pop_due(now) {
                if member.paused {
                    member.stats.drops.bump("paused");
                } else {
                    transmit(member, id, &frame, &offload, tx);
                }
                member.egress.recycle(frame);
            }
        }
        for segment in &mut self.segments {
            let n = segment.table.expire(now);
            if n > 0 {
                log::debug!("segment {}: {n} addresses aged out", segment.name);
            }
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        let tables = self.segments.iter().filter_map(|s| s.table.poll_at());
        let links = self
            .members
            .iter()
            .flat_map(|m| [m.ingress.poll_at(), m.egress.poll_at()])
            .flatten();
        tables.chain(links).min()
    }
}

/// What the control socket shows.
impl Bridge {
    /// Answers a request; `capture` needs a file and is the I/O loop's, which
    /// calls [`Bridge::set_capture`].
    pub fn control(&mut self, now: Instant, request: &Request, tx: &mut dyn Tx) -> Response {
        let done = |r: Result<(), BridgeError>| match r {
            Ok(()) => Response::tables(Vec::new()),
            Err(e) => Response::error(e.to_string()),
        };
        match request {
            Request::Segments {} => Response::tables(self.segments_tables(now)),
            Request::Counters {} => Response::tables(vec![self.counters_table()]),
            Request::Links {} => Response::tables(vec![self.links_table()]),
            Request::Log { level } => match router::ctl::set_log_level(level) {
                Ok(()) => Response::tables(Vec::new()),
                Err(e) => Response::error(e),
            },
            Request::Link {
                member,
                dir,
                params,
            } => match self.set_link(member, *dir, *params) {
                Ok(()) => Response::tables(vec![self.links_table()]),
                Err(e) => Response::error(e.to_string()),
            },
            Request::Pause { member } => done(self.pause(member)),
            Request::Resume { member } => done(self.resume(member)),
            Request::Move { member, to } => done(self.move_member(member, to)),
            Request::Announce { member, addrs, mac } => {
                let mac = match mac.as_deref().map(str::parse::<Mac>) {
                    None => None,
                    Some(Ok(mac)) => Some(mac),
                    Some(Err(_)) => {
                        return Response::error(format!("mac: {mac:?} is not a MAC address"));
                    }
                };
                done(self.announce(now, member, addrs, mac, tx))
            }
            Request::Capture { .. } => Response::error("capture: served by the I/O loop"),
        }
    }

    /// Every member's link parameters per direction and the frames each holds.
    pub fn links_table(&self) -> Table {
        let mut t = Table::new(
            "links",
            &[
                "member",
                "dir",
                "paused",
                "delay_us",
                "jitter_us",
                "loss_ppm",
                "burst_ppm",
                "rate_bps",
                "queue",
                "held",
            ],
        );
        for m in &self.members {
            for (dir, link) in [("in", &m.ingress), ("out", &m.egress)] {
                let p = link.params();
                t.row(vec![
                    m.name.clone(),
                    dir.to_string(),
                    m.paused.to_string(),
                    p.delay_us.to_string(),
                    p.jitter_us.to_string(),
                    p.loss_ppm.to_string(),
                    format!(
                        "{}/{}/{}",
                        p.burst_enter_ppm, p.burst_exit_ppm, p.burst_loss_ppm
                    ),
                    p.rate_bps.to_string(),
                    p.queue_frames.to_string(),
                    link.held().to_string(),
                ]);
            }
        }
        t
    }

    /// One table of members and one of the learnt addresses.
    pub fn segments_tables(&self, now: Instant) -> Vec<Table> {
        let mut members = Table::new("members", &["segment", "member", "rx", "tx", "drops"]);
        let mut macs = Table::new("addresses", &["segment", "mac", "member", "idle_s"]);
        for (id, segment) in self.segments.iter().enumerate() {
            for m in self.members.iter().filter(|m| m.segment == id) {
                let drops: u64 = m.stats.drops.iter().map(|(_, n)| n).sum();
                members.row(vec![
                    segment.name.clone(),
                    m.name.clone(),
                    m.stats.rx_frames.to_string(),
                    m.stats.tx_frames.to_string(),
                    drops.to_string(),
                ]);
            }
            for (mac, entry) in segment.table.entries() {
                macs.row(vec![
                    segment.name.clone(),
                    mac.to_string(),
                    member_label(&self.members, entry.member).to_string(),
                    (now - entry.last_seen).secs().to_string(),
                ]);
            }
        }
        vec![members, macs]
    }

    /// Every member's counters, drops per reason as `drop.REASON`.
    pub fn counters_table(&self) -> Table {
        let mut t = Table::new("counters", &["member", "counter", "value"]);
        for m in &self.members {
            let s = &m.stats;
            let fixed = [
                ("rx.frames", s.rx_frames),
                ("rx.bytes", s.rx_bytes),
                ("tx.frames", s.tx_frames),
                ("tx.bytes", s.tx_bytes),
            ];
            let drops = s
                .drops
                .iter()
                .map(|(reason, n)| (format!("drop.{reason}"), n));
            let all = fixed.iter().map(|(k, v)| (k.to_string(), *v)).chain(drops);
            for (counter, value) in all {
                t.row(vec![m.name.clone(), counter, value.to_string()]);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [u8; 6] = [0x52, 0x54, 0, 0xaa, 0, 1];
    const B: [u8; 6] = [0x52, 0x54, 0, 0xaa, 0, 2];
    const C: [u8; 6] = [0x02, 0x7a, 0x70, 0, 0, 1];
    const BROADCAST: [u8; 6] = [0xff; 6];
    const ALL_NODES: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];

    fn frame(dst: [u8; 6], src: [u8; 6], tag: u8) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&dst);
        f.extend_from_slice(&src);
        f.extend_from_slice(&[0x86, 0xdd, tag]);
        f
    }

    fn members(list: &[(&str, &str)]) -> Vec<MemberConfig> {
        list.iter()
            .map(|(name, segment)| MemberConfig {
                name: name.to_string(),
                segment: segment.to_string(),
                mac: None,
            })
            .collect()
    }

    fn t(ms: i64) -> Instant {
        Instant::from_millis(ms)
    }

    fn sent_to(tx: &[(PortId, Vec<u8>)]) -> Vec<PortId> {
        tx.iter().map(|(p, _)| *p).collect()
    }

    /// Members 0, 1, 2 on s1 and 3 on s2.
    fn bridge() -> Bridge {
        let config = members(&[("m0", "s1"), ("m1", "s1"), ("m2", "s1"), ("other", "s2")]);
        Bridge::new(&config, DEFAULT_AGING, 1).unwrap()
    }

    #[test]
    fn floods_unknown_and_group_frames_then_forwards_learnt_unicast() {
        let mut b = bridge();
        let mut tx = Vec::new();
        b.on_frame(t(0), 0, &frame(B, A, 1), &mut tx);
        assert_eq!(
            sent_to(&tx),
            [1, 2],
            "unknown unicast floods within s1 only"
        );
        assert_eq!(tx[0].1, frame(B, A, 1));

        tx.clear();
        b.on_frame(t(1), 1, &frame(A, B, 2), &mut tx);
        assert_eq!(sent_to(&tx), [0], "A was learnt on m0");

        tx.clear();
        b.on_frame(t(2), 0, &frame(B, A, 3), &mut tx);
        assert_eq!(sent_to(&tx), [1], "B was learnt on m1");

        for group in [BROADCAST, ALL_NODES] {
            tx.clear();
            b.on_frame(t(3), 1, &frame(group, B, 4), &mut tx);
            assert_eq!(sent_to(&tx), [0, 2], "group frames flood");
        }

        tx.clear();
        b.on_frame(t(4), 0, &frame(A, C, 5), &mut tx);
        assert!(
            tx.is_empty(),
            "a frame to a member's own address is filtered"
        );
        assert_eq!(b.stats(0).unwrap().drops.get("same_member"), 1);
        assert_eq!(b.lookup("s1", Mac(C)), Some(0));
        assert_eq!(b.stats(0).unwrap().rx_frames, 3);
        assert_eq!(b.stats(1).unwrap().tx_frames, 2);
    }

    #[test]
    fn a_moved_address_is_followed_at_once() {
        let mut b = bridge();
        let mut tx = Vec::new();
        b.on_frame(t(0), 0, &frame(BROADCAST, A, 1), &mut tx);
        b.on_frame(t(0), 1, &frame(BROADCAST, B, 1), &mut tx);
        // A VM migrates from m0 to m2 and announces itself there.
        b.on_frame(t(10), 2, &frame(ALL_NODES, A, 2), &mut tx);
        assert_eq!(b.lookup("s1", Mac(A)), Some(2));
        tx.clear();
        b.on_frame(t(11), 1, &frame(A, B, 3), &mut tx);
        assert_eq!(sent_to(&tx), [2]);
    }

    #[test]
    fn addresses_age_out_and_runts_and_group_sources_are_dropped() {
        let mut b = bridge();
        let mut tx = Vec::new();
        b.on_frame(t(0), 0, &frame(BROADCAST, A, 1), &mut tx);
        assert_eq!(b.poll_at(), Some(t(0) + DEFAULT_AGING));
        b.on_timer(t(0) + DEFAULT_AGING, &mut tx);
        assert_eq!(b.lookup("s1", Mac(A)), None);
        assert_eq!(b.poll_at(), None);

        tx.clear();
        b.on_frame(t(1), 0, &[0; 13], &mut tx);
        b.on_frame(t(1), 0, &frame(B, BROADCAST, 1), &mut tx);
        assert!(tx.is_empty());
        let drops = &b.stats(0).unwrap().drops;
        assert_eq!((drops.get("runt"), drops.get("multicast_source")), (1, 1));
    }

    #[test]
    fn control_tables() {
        let mut b = bridge();
        let mut tx = Vec::new();
        b.on_frame(t(0), 0, &frame(BROADCAST, A, 1), &mut tx);
        let r = b.control(t(5000), &Request::Segments {}, &mut tx);
        assert!(r.ok);
        let text: Vec<String> = r.tables.iter().map(|t| t.render()).collect();
        assert!(text[0].contains("s1       m0      1   0"), "{}", text[0]);
        assert!(
            text[1].contains("52:54:00:aa:00:01  m0      5"),
            "{}",
            text[1]
        );
        let r = b.control(t(0), &Request::Counters {}, &mut tx);
        assert!(r.tables[0].render().contains("m1      tx.frames  1"));
        assert!(Bridge::new(&members(&[("x", "s"), ("x", "t")]), DEFAULT_AGING, 1).is_err());
    }

    #[test]
    fn pause_move_resume_and_announce_migrate_a_member() {
        let mut b = bridge();
        let mut tx = Vec::new();
        b.on_frame(t(0), 0, &frame(BROADCAST, A, 1), &mut tx);
        b.on_frame(t(0), 3, &frame(BROADCAST, C, 1), &mut tx);
        b.pause("m0").unwrap();
        tx.clear();
        b.on_frame(t(1), 1, &frame(A, B, 2), &mut tx);
        b.on_frame(t(1), 0, &frame(B, A, 2), &mut tx);
        assert!(tx.is_empty(), "a paused member neither receives nor sends");
        assert_eq!(b.stats(0).unwrap().drops.get("paused"), 2);

        b.move_member("m0", "s2").unwrap();
        assert_eq!(b.segment_of(0), Some("s2"));
        assert_eq!(b.lookup("s1", Mac(A)), None, "s1 forgot m0's address");
        b.resume("m0").unwrap();
        let addr: IpAddr = "2001:db8:1:1::10".parse().unwrap();
        let v4: IpAddr = "10.1.1.5".parse().unwrap();
        b.announce(t(2), "m0", &[addr, v4], Some(Mac(A)), &mut tx)
            .unwrap();
        assert_eq!(
            sent_to(&tx),
            [3, 3],
            "the NA and the ARP flood the new segment only"
        );
        let na = &tx[0].1;
        assert_eq!(na[0..6], ALL_NODES);
        assert_eq!(na[6..12], A);
        let arp = router::arp::ArpFrame::parse(&tx[1].1).unwrap();
        assert!(arp.is_gratuitous() && arp.sender_mac == Mac(A));
        tx.clear();
        assert_eq!(b.lookup("s2", Mac(A)), Some(0));
        tx.clear();
        b.on_frame(t(3), 3, &frame(A, C, 3), &mut tx);
        assert_eq!(sent_to(&tx), [0]);
        assert_eq!(
            b.announce(t(3), "m1", &[addr], None, &mut tx),
            Err(BridgeError::NoMac("m1".into()))
        );
        assert!(b.pause("nobody").is_err());
    }

    #[test]
    fn links_delay_frames_and_captures_see_switched_frames() {
        let mut b = bridge();
        let mut tx = Vec::new();
        let delay = LinkParams {
            delay_us: 10_000,
            ..LinkParams::default()
        };
        b.set_link("m0", Direction::In, delay).unwrap();
        b.set_link("m1", Direction::Out, delay).unwrap();
        let written = crate::testing::Bytes::default();
        let epoch = router::timestamp::WallClock::from_secs(1_700_000_000);
        let capture = Capture::start(Box::new(written.clone()), epoch, "s1").unwrap();
        assert!(b.set_capture("s1", Some(capture)).unwrap().is_none());
        b.on_frame(t(0), 0, &frame(BROADCAST, A, 1), &mut tx);
        assert!(tx.is_empty());
        assert_eq!(b.poll_at(), Some(t(10)));
        b.on_timer(t(10), &mut tx);
        assert_eq!(
            sent_to(&tx),
            [2],
            "m2 at once after ingress, m1 after its egress"
        );
        assert_eq!(b.poll_at(), Some(t(20)));
        b.on_timer(t(20), &mut tx);
        assert_eq!(sent_to(&tx), [2, 1]);
        let capture = b.set_capture("s1", None).unwrap().unwrap();
        assert_eq!(capture.finish().unwrap().written, 1);
        b.on_frame(t(30), 2, &frame(BROADCAST, B, 2), &mut tx);
        // A 24-byte file header, one 16-byte record header and the 15-byte frame.
        assert_eq!(written.0.lock().unwrap().len(), 24 + 16 + 15);
        assert!(b.set_capture("s9", None).is_err());
    }

    /// Records which frames went out whole (with their offload) and which
    /// as ordinary frames.
    #[derive(Default)]
    struct Recorder {
        whole: Vec<PortId>,
        plain: Vec<(PortId, usize)>,
    }

    impl Tx for Recorder {
        fn send(&mut self, port: PortId, frame: &[u8]) {
            self.plain.push((port, frame.len()));
        }
        fn send_offload(&mut self, port: PortId, _: &[u8], _: &Offload) {
            self.whole.push(port);
        }
    }

    fn receive_superframe(b: &mut Bridge, at: i64) -> Recorder {
        let (mut f, offload) = crate::testing::tcp_superframe(B, A);
        let mut scratch = vec![0; MAX_SUPERFRAME];
        let mut tx = Recorder::default();
        b.on_rx(t(at), 0, Rx::new(&mut f, offload, &mut scratch), &mut tx);
        tx
    }

    #[test]
    fn superframes_cross_whole_unless_a_link_acts_per_frame() {
        let mut b = bridge();
        b.on_frame(t(0), 1, &frame(BROADCAST, B, 1), &mut Vec::new());
        let tx = receive_superframe(&mut b, 1);
        assert_eq!(
            (tx.whole, tx.plain.len()),
            (vec![1], 0),
            "whole to B's member"
        );

        let lossy = LinkParams {
            loss_ppm: 1,
            ..LinkParams::default()
        };
        b.set_link("m1", Direction::Out, lossy).unwrap();
        let tx = receive_superframe(&mut b, 2);
        assert!(tx.whole.is_empty());
        let segments: Vec<usize> = tx.plain.iter().map(|(_, len)| *len).collect();
        assert_eq!(segments, [1074; 3], "cut before the lossy egress link");

        b.set_link("m1", Direction::Out, LinkParams::default())
            .unwrap();
        let jitter = LinkParams {
            jitter_us: 1,
            ..LinkParams::default()
        };
        b.set_link("m0", Direction::In, jitter).unwrap();
        let tx = receive_superframe(&mut b, 3);
        let mut tx2 = Recorder::default();
        b.on_timer(t(10), &mut tx2);
        assert!(tx.whole.is_empty() && tx2.whole.is_empty());
        assert_eq!(
            tx.plain.len() + tx2.plain.len(),
            3,
            "cut before the ingress link"
        );
        assert_eq!(b.stats(1).unwrap().tx_frames, 7);
    }
}
