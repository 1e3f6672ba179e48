//! The switch core: named segments of members, one learning table per segment.
//!
//! A member is anything that exchanges whole Ethernet frames with the bridge (a
//! TAP device it owns, or a packet socket on a router's interface); the core only
//! knows its [`MemberId`] and never does I/O: frames go out through a
//! [`router::core::Tx`] whose port ids are member ids, and time comes in as `now`.

use router::core::{Core, PortId, Tx};
use router::counters::Counters;
use router::ctl::{Response, Table};
use router::{Duration, Instant};
use smoltcp::wire::EthernetAddress;

use crate::ctl::Request;
use crate::mac_table::{Learnt, MacTable, colon_hex};

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
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BridgeError {
    #[error("member {0:?} is configured twice")]
    DuplicateMember(String),
    #[error("no member named {0:?}")]
    NoMember(String),
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

#[derive(Debug)]
struct Member {
    name: String,
    segment: usize,
    stats: MemberStats,
}

#[derive(Debug)]
struct Segment {
    name: String,
    table: MacTable,
}

pub struct Bridge {
    members: Vec<Member>,
    segments: Vec<Segment>,
    aging: Duration,
}

impl Bridge {
    pub fn new(members: &[MemberConfig], aging: Duration) -> Result<Bridge, BridgeError> {
        let mut bridge = Bridge {
            members: Vec::new(),
            segments: Vec::new(),
            aging,
        };
        for config in members {
            if bridge.member_id(&config.name).is_some() {
                return Err(BridgeError::DuplicateMember(config.name.clone()));
            }
            let segment = bridge.segment_or_new(&config.segment);
            bridge.members.push(Member {
                name: config.name.clone(),
                segment,
                stats: MemberStats::default(),
            });
        }
        Ok(bridge)
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
    pub fn lookup(&self, segment: &str, mac: EthernetAddress) -> Option<MemberId> {
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
        });
        self.segments.len() - 1
    }

    fn drop_frame(&mut self, member: MemberId, reason: &'static str) {
        if let Some(m) = self.members.get_mut(member) {
            m.stats.drops.bump(reason);
        }
    }

    /// Learns the source and hands the frame to the members it goes to.
    fn switch(&mut self, now: Instant, from: MemberId, frame: &[u8], tx: &mut dyn Tx) {
        let (Some(dst), Some(src)) = (frame.get(0..6), frame.get(6..12)) else {
            return self.drop_frame(from, "runt");
        };
        let dst = EthernetAddress::from_bytes(dst);
        let src = EthernetAddress::from_bytes(src);
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
        if let Learnt::Moved { from: old } = segment.table.learn(src, from, now) {
            log::info!(
                "segment {}: {} moved from {} to {}",
                segment.name,
                colon_hex(src),
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
            Some(to) => self.deliver(to, frame, tx),
            None => {
                let targets: Vec<MemberId> = (0..self.members.len())
                    .filter(|&m| m != from && self.members[m].segment == segment_id)
                    .collect();
                for to in targets {
                    self.deliver(to, frame, tx);
                }
            }
        }
    }

    fn deliver(&mut self, to: MemberId, frame: &[u8], tx: &mut dyn Tx) {
        let Some(member) = self.members.get_mut(to) else {
            return;
        };
        member.stats.tx_frames += 1;
        member.stats.tx_bytes += frame.len() as u64;
        tx.send(to, frame);
    }
}

fn member_label(members: &[Member], id: MemberId) -> &str {
    members.get(id).map_or("?", |m| m.name.as_str())
}

impl Core for Bridge {
    fn on_frame(&mut self, now: Instant, member: MemberId, frame: &[u8], tx: &mut dyn Tx) {
        let Some(m) = self.members.get_mut(member) else {
            return;
        };
        m.stats.rx_frames += 1;
        m.stats.rx_bytes += frame.len() as u64;
        if frame.len() < ETHERNET_HEADER {
            return self.drop_frame(member, "runt");
        }
        self.switch(now, member, frame, tx);
    }

    fn on_timer(&mut self, now: Instant, _tx: &mut dyn Tx) {
        for segment in &mut self.segments {
            let n = segment.table.expire(now);
            if n > 0 {
                log::debug!("segment {}: {n} addresses aged out", segment.name);
            }
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        self.segments.iter().filter_map(|s| s.table.poll_at()).min()
    }
}

/// What the control socket shows.
impl Bridge {
    pub fn control(&mut self, now: Instant, request: &Request) -> Response {
        match request {
            Request::Segments {} => Response::tables(self.segments_tables(now)),
            Request::Counters {} => Response::tables(vec![self.counters_table()]),
            Request::Log { level } => match router::ctl::set_log_level(level) {
                Ok(()) => Response::tables(Vec::new()),
                Err(e) => Response::error(e),
            },
        }
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
                    colon_hex(mac),
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
        Bridge::new(&config, DEFAULT_AGING).unwrap()
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
        assert_eq!(b.lookup("s1", EthernetAddress(C)), Some(0));
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
        assert_eq!(b.lookup("s1", EthernetAddress(A)), Some(2));
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
        assert_eq!(b.lookup("s1", EthernetAddress(A)), None);
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
        let r = b.control(t(5000), &Request::Segments {});
        assert!(r.ok);
        let text: Vec<String> = r.tables.iter().map(|t| t.render()).collect();
        assert!(text[0].contains("s1       m0      1   0"), "{}", text[0]);
        assert!(
            text[1].contains("52:54:00:aa:00:01  m0      5"),
            "{}",
            text[1]
        );
        let r = b.control(t(0), &Request::Counters {});
        assert!(r.tables[0].render().contains("m1      tx.frames  1"));
        assert!(Bridge::new(&members(&[("x", "s"), ("x", "t")]), DEFAULT_AGING).is_err());
    }
}
