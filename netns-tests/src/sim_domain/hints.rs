//! Hypervisor hints in the simulated domain: what a migration orchestrator
//! tells the MAGs ("leaving" at the source, "arriving" at the destination)
//! when a VM's stop-and-copy starts, sent to the cores' control interface
//! exactly as the lab sends them to the MAGs' control sockets.

use super::{SimDomain, proxy_coa, vm_mac};
use mag::Mag;
use router::Duration;
use router::core::Core;
use router::ctl::{Request, Response};

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
        let Some(dst) = self.vm_address(v) else {
            return Err("the VM has no address".into());
        };
        let from = self.location(v);
        // Every router on the way learns its neighbors first.
        self.ping_once(v);
        self.run_checked(Duration::from_millis(100), interval, bound)?;
        let (first, start) = (self.next_seq, self.now());
        let mut sent: u16 = 0;
        let mut ping_for = |d: &mut SimDomain, span: Duration| -> Result<(), String> {
            let until = d.now() + span;
            while d.now() < until {
                d.ping_once(v);
                sent += 1;
                d.run_checked(interval, interval, bound)?;
            }
            Ok(())
        };
        ping_for(self, before)?;
        self.depart(v);
        if handover == Handover::Proactive {
            if let Some(from) = from {
                self.hint_leaving(v, from, Some(m));
            }
            self.hint_arriving(v, m);
        }
        ping_for(self, pause)?;
        self.arrive(v, m);
        ping_for(self, after)?;
        self.run_checked(Duration::from_secs(1), interval, bound)?;
        let in_window = |seq: u16| seq.wrapping_sub(first) < sent;
        let mut answers: Vec<(router::Instant, u16)> = self
            .cn()
            .received
            .iter()
            .filter(|r| r.at >= start)
            .filter_map(|r| Some((r.at, super::echo_reply_seq(&r.packet, dst)?)))
            .filter(|(_, s)| in_window(*s))
            .collect();
        answers.sort_unstable();
        let largest_silence = answers
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .max()
            .unwrap_or(Duration::ZERO);
        let mut distinct: Vec<u16> = answers.iter().map(|(_, s)| s.wrapping_sub(first)).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let requests: Vec<u16> = self
            .vm(v)
            .received
            .iter()
            .filter(|r| r.at >= start)
            .filter_map(|r| echo_request_seq(&r.packet))
            .filter(|s| in_window(*s))
            .map(|s| s.wrapping_sub(first))
            .collect();
        Ok(Stream {
            sent,
            answered: u16::try_from(distinct.len()).unwrap_or(u16::MAX),
            in_order: requests.windows(2).all(|w| w[0] <= w[1]),
            largest_silence,
        })
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
