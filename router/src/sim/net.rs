//! A network of cores in memory: segments (hubs) with delay, jitter, loss and
//! duplication, a fake clock, and a seeded RNG so every run repeats exactly.
//!
//! Each port of each core is a member of one segment; a frame sent on a port
//! reaches every other member of its segment after the segment's delay (receivers
//! filter by MAC as real NICs do). Jitter larger than the gap between frames
//! reorders them, which is how tests get reordering. Moving a port to another
//! segment is a VM's live migration at layer 2.

use crate::core::{Core, PortId, Tx};
use crate::rng::SplitMix64;
use crate::{Duration, Instant};
use std::any::Any;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

pub type NodeId = usize;
pub type SegmentId = usize;

/// A core the simulation can also hand back by its concrete type.
pub trait SimCore: Core + Any {}
impl<T: Core + Any> SimCore for T {}

/// How a segment treats frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkParams {
    pub delay: Duration,
    /// Extra delay drawn uniformly from [0, jitter]; may reorder frames.
    pub jitter: Duration,
    /// Probability that one delivery (one receiver) is lost.
    pub loss: f64,
    /// Probability that one delivery happens twice.
    pub duplicate: f64,
}

impl Default for LinkParams {
    fn default() -> Self {
        LinkParams {
            delay: Duration::from_micros(0),
            jitter: Duration::from_micros(0),
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

/// One frame seen on a segment, for tests that look at the wire.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Instant,
    pub segment: SegmentId,
    pub from: (NodeId, PortId),
    pub frame: Vec<u8>,
}

struct Delivery {
    node: NodeId,
    port: PortId,
    frame: Vec<u8>,
}

pub struct SimNet {
    now: Instant,
    nodes: Vec<Box<dyn SimCore>>,
    segments: Vec<LinkParams>,
    // Ordered, so receivers draw from the RNG in the same order every run.
    attached: BTreeMap<(NodeId, PortId), SegmentId>,
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    pending: HashMap<u64, Delivery>,
    order: u64,
    rng: SplitMix64,
    /// Every frame sent, when `record` is on.
    pub trace: Vec<Sent>,
    pub record: bool,
    /// Frames sent on a port that belongs to no segment.
    pub unattached: u64,
    /// When a signalling frame (Mobility Header or Neighbor Discovery) was
    /// last lost, per segment: what a protocol must recover from.
    pub signalling_lost_at: BTreeMap<SegmentId, Instant>,
}

/// Whether `frame` carries a Mobility Header or an ND message (without
/// extension headers, as every tapmip router sends them).
fn is_signalling(frame: &[u8]) -> bool {
    const ETHERTYPE_IPV6: [u8; 2] = [0x86, 0xdd];
    if frame.get(12..14) != Some(&ETHERTYPE_IPV6[..]) {
        return false;
    }
    match frame.get(20) {
        Some(135) => true,
        Some(58) => matches!(frame.get(54), Some(133..=137)),
        _ => false,
    }
}

struct Outbox(Vec<(PortId, Vec<u8>)>);

impl Tx for Outbox {
    fn send(&mut self, port: PortId, frame: &[u8]) {
        self.0.push((port, frame.to_vec()));
    }
}

impl SimNet {
    pub fn new(seed: u64) -> Self {
        SimNet {
            now: Instant::from_millis(0),
            nodes: Vec::new(),
            segments: Vec::new(),
            attached: BTreeMap::new(),
            queue: BinaryHeap::new(),
            pending: HashMap::new(),
            order: 0,
            rng: SplitMix64::new(seed),
            trace: Vec::new(),
            record: false,
            unattached: 0,
            signalling_lost_at: BTreeMap::new(),
        }
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    pub fn add_node(&mut self, core: Box<dyn SimCore>) -> NodeId {
        self.nodes.push(core);
        self.nodes.len() - 1
    }

    pub fn add_segment(&mut self, params: LinkParams) -> SegmentId {
        self.segments.push(params);
        self.segments.len() - 1
    }

    pub fn set_link(&mut self, segment: SegmentId, params: LinkParams) {
        if let Some(s) = self.segments.get_mut(segment) {
            *s = params;
        }
    }

    /// Puts `port` of `node` on `segment` (leaving any segment it was on).
    pub fn attach(&mut self, node: NodeId, port: PortId, segment: SegmentId) {
        self.attached.insert((node, port), segment);
    }

    pub fn detach(&mut self, node: NodeId, port: PortId) {
        self.attached.remove(&(node, port));
    }

    pub fn node<T: Any>(&self, id: NodeId) -> Option<&T> {
        let core: &dyn Any = self.nodes.get(id)?.as_ref();
        core.downcast_ref::<T>()
    }

    pub fn node_mut<T: Any>(&mut self, id: NodeId) -> Option<&mut T> {
        let core: &mut dyn Any = self.nodes.get_mut(id)?.as_mut();
        core.downcast_mut::<T>()
    }

    /// Lets `node` act outside the event flow (e.g. a host sending a packet);
    /// what it sends enters the network now.
    pub fn with_node<T: Any, R>(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut T, Instant, &mut dyn Tx) -> R,
    ) -> Option<R> {
        let now = self.now;
        let mut out = Outbox(Vec::new());
        super::log::set_context(now, id);
        let core: &mut dyn Any = self.nodes.get_mut(id)?.as_mut();
        let r = f(core.downcast_mut::<T>()?, now, &mut out);
        self.transmit(id, out);
        Some(r)
    }

    /// Runs one event (a delivery or a due timer); false when nothing is left
    /// before `until`.
    pub fn step(&mut self, until: Instant) -> bool {
        let next_delivery = self.queue.peek().map(|Reverse((at, _))| *at);
        let next_timer = self
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.poll_at().map(|at| (at.max(self.now), i)))
            .min();
        let deliver_first = match (next_delivery, next_timer) {
            (Some(d), Some((t, _))) => d <= t,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return false,
        };
        if deliver_first {
            let Some(Reverse((at, id))) = self.queue.pop() else {
                return false;
            };
            if at > until {
                self.queue.push(Reverse((at, id)));
                return false;
            }
            self.now = self.now.max(at);
            if let Some(d) = self.pending.remove(&id) {
                self.deliver(d);
            }
        } else if let Some((at, node)) = next_timer {
            if at > until {
                return false;
            }
            self.now = at;
            let mut out = Outbox(Vec::new());
            super::log::set_context(self.now, node);
            if let Some(n) = self.nodes.get_mut(node) {
                n.on_timer(self.now, &mut out);
            }
            self.transmit(node, out);
        }
        true
    }

    /// Runs every event up to `until`, then sets the clock to `until`.
    pub fn run_until(&mut self, until: Instant) {
        while self.step(until) {}
        self.now = self.now.max(until);
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Runs until `cond` holds (checked after every event) or `limit` passes;
    /// returns whether it held.
    pub fn run_until_cond(
        &mut self,
        limit: Duration,
        mut cond: impl FnMut(&SimNet) -> bool,
    ) -> bool {
        let until = self.now + limit;
        loop {
            if cond(self) {
                return true;
            }
            if !self.step(until) {
                self.now = self.now.max(until);
                return cond(self);
            }
        }
    }

    fn deliver(&mut self, d: Delivery) {
        let mut out = Outbox(Vec::new());
        super::log::set_context(self.now, d.node);
        if let Some(n) = self.nodes.get_mut(d.node) {
            n.on_frame(self.now, d.port, &d.frame, &mut out);
        }
        self.transmit(d.node, out);
    }

    fn transmit(&mut self, from: NodeId, out: Outbox) {
        for (port, frame) in out.0 {
            let Some(&segment) = self.attached.get(&(from, port)) else {
                self.unattached += 1;
                continue;
            };
            if self.record {
                self.trace.push(Sent {
                    at: self.now,
                    segment,
                    from: (from, port),
                    frame: frame.clone(),
                });
            }
            let params = self.segments.get(segment).copied().unwrap_or_default();
            let receivers: Vec<(NodeId, PortId)> = self
                .attached
                .iter()
                .filter(|(member, seg)| **seg == segment && **member != (from, port))
                .map(|(member, _)| *member)
                .collect();
            for (node, rport) in receivers {
                if self.rng.unit() < params.loss {
                    if is_signalling(&frame) {
                        self.signalling_lost_at.insert(segment, self.now);
                    }
                    continue;
                }
                let copies = if self.rng.unit() < params.duplicate {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let jitter = self.rng.below(params.jitter.total_micros() + 1);
                    let at = self.now + params.delay + Duration::from_micros(jitter);
                    self.order += 1;
                    self.pending.insert(
                        self.order,
                        Delivery {
                            node,
                            port: rport,
                            frame: frame.clone(),
                        },
                    );
                    self.queue.push(Reverse((at, self.order)));
                }
            }
        }
    }
}
