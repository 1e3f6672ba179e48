//! The invariant of a PMIPv6 domain, checked against a running simulation:
//!
//! > Once VM `v` has been running on MAG `m`'s access link for longer than the
//! > bound, the LMA's Binding Cache entry for `v` is active and names `m`, the
//! > LMA routes every prefix of `v` and its IPv4 home address into the tunnel
//! > to `m`, and `m` has `v` registered, with its prefixes and IPv4 home
//! > address routed to the access link and its traffic into the tunnel to
//! > the LMA; the VM's IPv4 address, once it has one, is the binding's.
//!
//! The bound counts from the last event the domain has to recover from: the
//! VM's arrival (a reactive handoff: the announcement, one PBU/PBA round trip,
//! and one neighbor resolution where a router had none), the loss of a
//! signalling frame on the way (the MAG's retransmission back-off, at most
//! MAX_BINDACK_TIMEOUT, then one round trip), a restart of the LMA (one
//! HEARTBEAT_INTERVAL until the MAG notices, then the re-registration) or of
//! the VM's MAG (its discovery of the nodes on its links, then the
//! registration). Whatever the interleaving of these, no outage lasts longer.

use super::{SimDomain, lma_wan, proxy_coa, vm_hnp, vm_ipv4};
use crate::sim_domain::mag_name;
use ipnet::Ipv4Net;
use lma::binding_cache::BindingState;
use router::fib::NextHop;
use router::routes::RouteTable;
use router::{Duration, Instant};

/// How long each kind of event may keep a VM from being reachable.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// After the VM arrives on a MAG's link.
    pub handoff: Duration,
    /// After a signalling frame was lost on the VM's MAG's links.
    pub after_signalling_loss: Duration,
    /// After the LMA restarted.
    pub after_lma_restart: Duration,
    /// After the VM's MAG restarted.
    pub after_mag_restart: Duration,
}

impl Bound {
    /// The bound for a domain whose MAG-LMA round trip is at most `rtt` and
    /// whose MAGs send heartbeats every `heartbeat`.
    pub fn new(rtt: Duration, heartbeat: Duration) -> Self {
        let slack = Duration::from_secs(2);
        Bound {
            // NA -> PBU -> PBA, plus ND for the LMA or the MAG on either side.
            handoff: rtt * 3 + slack,
            // The retransmission that follows the last loss comes within
            // MAX_BINDACK_TIMEOUT (32 s), a probe of the node within 4 s; a
            // lost heartbeat is only followed by the next one.
            after_signalling_loss: Duration::from_secs(32 + 4).max(heartbeat) + rtt * 4 + slack,
            // The heartbeat that finds the new Restart Counter, its answer
            // (after ND at the new LMA), then the PBU/PBA.
            after_lma_restart: heartbeat + rtt * 4 + slack,
            // Discovery at once and 2 s later, then ND and the PBU/PBA.
            after_mag_restart: Duration::from_secs(2) + rtt * 3 + slack,
        }
    }
}

/// When the events the bound counts from last happened.
#[derive(Debug, Clone)]
pub(super) struct Events {
    arrived: Vec<Option<Instant>>,
    pub lma_restarted: Option<Instant>,
    pub mag_restarted: Vec<Option<Instant>>,
}

impl Events {
    pub fn new(mags: usize, vms: usize) -> Self {
        Events {
            arrived: vec![None; vms],
            lma_restarted: None,
            mag_restarted: vec![None; mags],
        }
    }

    pub fn arrived(&mut self, v: usize, at: Instant) {
        self.arrived[v] = Some(at);
    }
}

impl SimDomain {
    /// What keeps VM `v` at MAG `m` from being reachable, if anything.
    pub fn misrouted(&self, v: usize, m: usize) -> Option<String> {
        let hnp = vm_hnp(v);
        let coa = proxy_coa(m).addr();
        let Some(b) = self.binding(v) else {
            return Some("the LMA has no binding".into());
        };
        if b.state != BindingState::Active || b.proxy_coa != coa {
            let state = format!("{:?}", b.state);
            let at = (0..self.mags.len())
                .find(|o| proxy_coa(*o).addr() == b.proxy_coa)
                .map_or(b.proxy_coa.to_string(), mag_name);
            return Some(format!("the LMA's binding is {state} at {at}"));
        }
        let lma = self.lma().engine().routes();
        let tunnel = lma
            .tunnel_of(RouteTable::Destination, hnp)
            .map(|t| t.remote);
        if tunnel != Some(coa) {
            return Some(format!(
                "the LMA routes {hnp} into the tunnel to {tunnel:?}"
            ));
        }
        let Some(e) = self.bul(m, v).filter(|e| e.is_registered()) else {
            return Some(format!("{} has it unregistered", mag_name(m)));
        };
        let mag = self.mag(m).engine().routes();
        if mag.get(RouteTable::Destination, hnp) != Some(NextHop::Connected { port: e.port }) {
            return Some(format!(
                "{} does not route {hnp} to the access link",
                mag_name(m)
            ));
        }
        if self.mag(m).awaits(&super::vm_mac(v)) {
            return Some(format!(
                "{} holds {hnp}'s downlink, awaiting a node that is here",
                mag_name(m)
            ));
        }
        let up = mag.tunnel_of(RouteTable::Source, hnp).map(|t| t.remote);
        if up != Some(lma_wan(m).addr()) {
            return Some(format!("{} sends {hnp}'s traffic to {up:?}", mag_name(m)));
        }
        self.misrouted4(v, m, e.port)
    }

    /// The IPv4 part of the invariant, for a VM whose binding has an address.
    fn misrouted4(&self, v: usize, m: usize, port: usize) -> Option<String> {
        let home = self.binding(v)?.ipv4?;
        if home.address != vm_ipv4(v) {
            return Some(format!(
                "the LMA gave {} instead of {}",
                home.address,
                vm_ipv4(v)
            ));
        }
        let host = Ipv4Net::from(home.address.addr());
        let coa = proxy_coa(m).addr();
        let lma = self.lma().engine().routes();
        let tunnel = lma
            .tunnel_of(RouteTable::Destination, host)
            .map(|t| t.remote);
        if tunnel != Some(coa) {
            return Some(format!(
                "the LMA routes {host} into the tunnel to {tunnel:?}"
            ));
        }
        let mag = self.mag(m).engine().routes();
        if mag.get(RouteTable::Destination, host) != Some(NextHop::Connected { port }) {
            return Some(format!(
                "{} does not route {host} to the access link",
                mag_name(m)
            ));
        }
        let up = mag.tunnel_of(RouteTable::Source, host).map(|t| t.remote);
        if up != Some(lma_wan(m).addr()) {
            return Some(format!("{} sends {host}'s traffic to {up:?}", mag_name(m)));
        }
        let held = self.vm_address4(v);
        if held.is_some_and(|a| a != home.address.addr()) {
            return Some(format!(
                "the VM holds {held:?}, its binding {}",
                home.address
            ));
        }
        None
    }

    /// Checks the invariant now: every VM that has sat on a link for longer
    /// than `bound` since the last event it counts from is reachable there.
    pub fn check(&self, bound: &Bound) -> Result<(), String> {
        let now = self.now();
        for v in 0..self.vms.len() {
            let (Some(m), Some(arrived)) = (self.where_vm[v], self.events.arrived[v]) else {
                continue;
            };
            let lost = [self.wan[m], self.access[m]]
                .iter()
                .filter_map(|s| self.net.signalling_lost_at.get(s).copied())
                .max();
            let deadline = [
                Some(arrived + bound.handoff),
                lost.map(|at| at + bound.after_signalling_loss),
                self.events
                    .lma_restarted
                    .map(|at| at + bound.after_lma_restart),
                self.events.mag_restarted[m].map(|at| at + bound.after_mag_restart),
            ]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(arrived);
            if now < deadline {
                continue;
            }
            if let Some(wrong) = self.misrouted(v, m) {
                return Err(format!(
                    "at {:.3} s VM {v} has been on {} since {:.3} s (bound passed at {:.3} s) but {wrong}",
                    now.total_millis() as f64 / 1e3,
                    mag_name(m),
                    arrived.total_millis() as f64 / 1e3,
                    deadline.total_millis() as f64 / 1e3,
                ));
            }
        }
        Ok(())
    }

    /// Runs for `d`, checking the invariant after every `step` of fake time.
    pub fn run_checked(
        &mut self,
        d: Duration,
        step: Duration,
        bound: &Bound,
    ) -> Result<(), String> {
        let until = self.now() + d;
        while self.now() < until {
            let next = (self.now() + step).min(until);
            self.net.run_until(next);
            self.check(bound)?;
        }
        Ok(())
    }
}
