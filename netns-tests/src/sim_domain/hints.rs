//! Hypervisor hints in the simulated domain: what a migration orchestrator
//! tells the MAGs ("leaving" at the source, "arriving" at the destination)
//! when a VM's stop-and-copy starts, sent to the cores' control interface
//! exactly as the lab sends them to the MAGs' control sockets.

use super::{ProbeFamily, SimDomain, proxy_coa, vm_mac};
use mag::Mag;
use router::core::Core;
use router::ctl::{Request, Response};
use router::{Duration, Instant};
use std::collections::{HashMap, HashSet};

impl SimDomain {
    /// Sends `request` to MAG `m`'s control interface now.
    pub fn control_mag(&mut self, m: usize, request: &Request) -> Response {
        self.net
            .with_node::<Mag, _>(self.mags[m], |mag, now, tx| mag.control(now, request, tx))
            .unwrap_or_else(|| Response::error("no such MAG"))
    }

    /// Tells MAG `m` that VM `v` is arriving.
    pub fn hint_arriving(&mut self, v: usize, m: usize) -> Response {
        self.control_mag(
            m,
            &Request::Arriving {
                mac: Some(vm_mac(v).to_string()),
                mn_id: None,
                timeout_ms: None,
            },
        )
    }

    /// Tells MAG `m` that VM `v` is leaving, for MAG `to` if given.
    pub fn hint_leaving(&mut self, v: usize, m: usize, to: Option<usize>) -> Response {
        self.control_mag(
            m,
            &Request::Leaving {
                mac: Some(vm_mac(v).to_string()),
                mn_id: None,
                timeout_ms: None,
                to: to.map(|t| proxy_coa(t).addr().to_string()),
            },
        )
    }

    /// A live migration of VM `v` to MAG `m` with both hints sent as its
    /// stop-and-copy starts, the VM paused for `downtime`.
    pub fn migrate_proactive(&mut self, v: usize, m: usize, downtime: Duration) {
        let from = self.location(v);
        self.depart(v);
        if let Some(from) = from {
            self.hint_leaving(v, from, Some(m));
        }
        self.hint_arriving(v, m);
        self.net.run_for(downtime);
        self.arrive(v, m);
    }
}

pub use crate::domain::hints::Handover;

/// What a stream of Echo Requests from the correspondent met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub sent: u16,
    /// Requests answered, each once.
    pub answered: u16,
    /// Whether the VM received the requests in the order they were sent.
    pub in_order: bool,
    /// The longest time between two answers arriving at the correspondent.
    pub largest_silence: Duration,
}

impl Stream {
    pub fn lost(&self) -> u16 {
        self.sent - self.answered
    }
}

impl SimDomain {
    /// Migrates VM `v` to MAG `m` (paused for `pause`) while the
    /// correspondent pings it every `interval`, from `before` ahead of the
    /// stop-and-copy to `after` past the resume; the invariant is checked
    /// after every step.
    #[allow(clippy::too_many_arguments)]
    pub fn migrate_under_stream(
        &mut self,
        v: usize,
        m: usize,
        pause: Duration,
        interval: Duration,
        before: Duration,
        after: Duration,
        handover: Handover,
        bound: &super::Bound,
    ) -> Result<Stream, String> {
        let timing = [pause, interval, before, after];
        let mut streams =
            self.migrate_under_streams(v, m, timing, handover, bound, &[ProbeFamily::Ipv6])?;
        Ok(streams.remove(0))
    }

    /// The same with one stream per family of `families`, their requests
    /// sent side by side; `timing` is `[pause, interval, before, after]`.
    pub fn migrate_under_streams(
        &mut self,
        v: usize,
        m: usize,
        timing: [Duration; 4],
        handover: Handover,
        bound: &super::Bound,
        families: &[ProbeFamily],
    ) -> Result<Vec<Stream>, String> {
        let [pause, interval, before, after] = timing;
        let from = self.location(v);
        // Every router on the way learns its neighbors first.
        for family in families {
            if self.ping_once_over(v, *family).is_none() {
                return Err(format!("the VM has no {} address", family.name()));
            }
        }
        self.run_checked(Duration::from_millis(100), interval, bound)?;
        let start = self.now();
        let mut sent: Vec<Vec<u16>> = vec![Vec::new(); families.len()];
        let mut ping_for = |d: &mut SimDomain, span: Duration| -> Result<(), String> {
            let until = d.now() + span;
            while d.now() < until {
                for (family, seqs) in families.iter().zip(sent.iter_mut()) {
                    seqs.extend(d.ping_once_over(v, *family));
                }
                d.run_checked(interval, interval, bound)?;
            }
            Ok(())
        };
        ping_for(self, before)?;
        self.depart(v);
        let mut hinted_after = Duration::ZERO;
        if handover == Handover::Proactive {
            if let Some(from) = from {
                self.hint_leaving(v, from, Some(m));
            }
            hinted_after = self.spec.arriving_hint_delay.min(pause);
            ping_for(self, hinted_after)?;
            self.hint_arriving(v, m);
        }
        ping_for(self, pause - hinted_after)?;
        self.arrive(v, m);
        ping_for(self, after)?;
        self.run_checked(Duration::from_secs(1), interval, bound)?;
        Ok(families
            .iter()
            .zip(&sent)
            .map(|(family, seqs)| self.stream_of(v, *family, start, seqs))
            .collect())
    }

    /// What the requests `sent` over `family` since `start` met.
    fn stream_of(&self, v: usize, family: ProbeFamily, start: Instant, sent: &[u16]) -> Stream {
        let (dst6, dst4) = (self.vm_address(v), self.vm_address4(v));
        let reply = |p: &[u8]| match family {
            ProbeFamily::Ipv6 => super::echo_reply_seq(p, dst6?),
            ProbeFamily::Ipv4 => super::echo4_reply_seq(p, dst4?),
        };
        let request = |p: &[u8]| match family {
            ProbeFamily::Ipv6 => echo_request_seq(p),
            ProbeFamily::Ipv4 => echo4_request_seq(p),
        };
        let ours: HashSet<u16> = sent.iter().copied().collect();
        let mut answers: Vec<(Instant, u16)> = self
            .cn()
            .received
            .iter()
            .filter(|r| r.at >= start)
            .filter_map(|r| Some((r.at, reply(&r.packet)?)))
            .filter(|(_, s)| ours.contains(s))
            .collect();
        answers.sort_unstable();
        let largest_silence = answers
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .max()
            .unwrap_or(Duration::ZERO);
        let distinct: HashSet<u16> = answers.iter().map(|(_, s)| *s).collect();
        // Sequence numbers wrap: requests are ordered by when they were sent.
        let rank: HashMap<u16, usize> = sent.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        let requests: Vec<usize> = self
            .vm(v)
            .received
            .iter()
            .filter(|r| r.at >= start)
            .filter_map(|r| rank.get(&request(&r.packet)?).copied())
            .collect();
        Stream {
            sent: u16::try_from(sent.len()).unwrap_or(u16::MAX),
            answered: u16::try_from(distinct.len()).unwrap_or(u16::MAX),
            in_order: requests.windows(2).all(|w| w[0] <= w[1]),
            largest_silence,
        }
    }
}

/// The sequence number of an Echo Request, if `packet` is one.
fn echo_request_seq(packet: &[u8]) -> Option<u16> {
    use smoltcp::wire::{Icmpv6Packet, IpProtocol, Ipv6Packet};
    let ip = Ipv6Packet::new_checked(packet).ok()?;
    if ip.next_header() != IpProtocol::Icmpv6 {
        return None;
    }
    let icmp = Icmpv6Packet::new_checked(ip.payload()).ok()?;
    (u8::from(icmp.msg_type()) == 128).then(|| icmp.echo_seq_no())
}

/// The sequence number of an ICMPv4 Echo Request, if `packet` is one.
fn echo4_request_seq(packet: &[u8]) -> Option<u16> {
    use smoltcp::wire::{Icmpv4Message, Icmpv4Packet, IpProtocol, Ipv4Packet};
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    if ip.next_header() != IpProtocol::Icmp {
        return None;
    }
    let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
    (icmp.msg_type() == Icmpv4Message::EchoRequest).then(|| icmp.echo_seq_no())
}
