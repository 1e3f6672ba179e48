//! A node seen on an access link (RFC 5213 6.9.1): a new node gets a BUL entry
//! and its first PBU; a known node that moved ports or announced itself again
//! after a migration is registered again.

use crate::attach::{Sighting, Trigger};
use crate::bul::{BindingState, BulEntry};
use crate::core::{Mag, Timer};
use crate::pbu::{INITIAL_BINDACK_TIMEOUT, INITIAL_BINDACK_TIMEOUT_FIRST_REG};
use ipnet::Ipv6Net;
use router::core::{PortId, Tx};
use router::mac::Mac;
use router::wire::HandoffIndicator;
use router::{Duration, Instant};

/// RFC 6275 13, MAX_UPDATE_RATE: at most 3 PBUs a second started for a node
/// by what it sends, so a storm of announcements is not a storm of PBUs.
pub(crate) const MIN_GAP_BETWEEN_EXCHANGES: Duration = Duration::from_millis(334);

/// When the MAG asks who is on its access links after it starts: nodes that
/// were there before a restart answer and are registered again.
const DISCOVERY_ROUNDS: [Duration; 2] = [Duration::from_secs(0), Duration::from_secs(2)];

impl Mag {
    /// An Echo Request to all nodes on every access link (RFC 4443 4.1): every
    /// node that answers reveals itself as a frame from an unknown source, the
    /// trigger that registers it. A MAG that restarted knows no node, and idle
    /// nodes would otherwise stay unregistered until they speak.
    pub(crate) fn discover(&mut self, now: Instant, round: u8, tx: &mut dyn Tx) {
        let all_nodes = std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
        for (i, access) in self.cfg.access.iter().enumerate() {
            let request =
                router::icmp::echo_request(access.link_local, all_nodes, u16::from(round));
            if let Some(nd) = self.engine.nd_mut(i + 1) {
                nd.send_ipv6(now, all_nodes, &request, tx);
            }
        }
        self.counters.bump("mag.discovery.sent");
        let next = usize::from(round) + 1;
        if let Some(delay) = DISCOVERY_ROUNDS.get(next) {
            self.timers.set(Timer::Discover(next as u8), now + *delay);
        }
    }

    /// Whether an exchange for `mac` may start now (MAX_UPDATE_RATE). One that
    /// may not is put off, not dropped: the announcement it answers may be
    /// the only sign that the node came back.
    fn may_start_exchange(&mut self, now: Instant, mac: Mac) -> bool {
        let Some(at) = self.bul.get(&mac).and_then(|e| e.exchange_started_at) else {
            return true;
        };
        let allowed = at + MIN_GAP_BETWEEN_EXCHANGES;
        if now >= allowed {
            return true;
        }
        self.counters.bump("mag.pbu.rate_limited");
        self.timers.set(Timer::Announced(mac), allowed);
        false
    }

    /// An announcement put off by MAX_UPDATE_RATE, answered now if the binding
    /// is still idle.
    pub(crate) fn on_announced_timer(&mut self, now: Instant, mac: Mac, tx: &mut dyn Tx) {
        let idle = self
            .bul
            .get(&mac)
            .is_some_and(|e| e.is_registered() && e.outstanding.is_none());
        if idle {
            self.counters.bump("mag.pbu.reattach");
            self.reregister(now, mac, tx);
        }
    }

    pub(crate) fn on_sighting(&mut self, now: Instant, port: PortId, s: Sighting, tx: &mut dyn Tx) {
        if self.bul.contains(&s.mac) {
            self.on_known_sighting(now, port, s, tx);
            return;
        }
        if !s.trigger.enabled(&self.cfg.detect) {
            return;
        }
        let Some(node) = self.policy.node_by_mac(&s.mac) else {
            self.counters.bump("mag.attach.ignored_not_in_policy");
            log::debug!("{} ({}) ignored: not in the policy", s.mac, s.trigger);
            return;
        };
        let mn_id = node.mn_id.clone();
        if self.admitted(now, port, s, &mn_id, tx) {
            self.attach_admitted(now, port, s, &mn_id, tx);
        }
    }

    /// A node the policy store admitted: its BUL entry and first PBU.
    pub(crate) fn attach_admitted(
        &mut self,
        now: Instant,
        port: PortId,
        s: Sighting,
        mn_id: &str,
        tx: &mut dyn Tx,
    ) {
        self.counters.bump(s.trigger.counter());
        let mut entry = BulEntry::new(mn_id, s.mac, port, s.trigger, now);
        let node = self.policy.node_by_mac(&s.mac);
        entry.families = node.map(crate::bul::Families::of).unwrap_or_default();
        if let Some(ip) = s.address {
            entry.learn_address(ip);
        }
        self.bul.insert(entry);
        let hi = s.handoff_indicator();
        let any = [Ipv6Net::default()];
        let seq = self.start_exchange(now, s.mac, hi, &any, INITIAL_BINDACK_TIMEOUT_FIRST_REG, tx);
        let pbu = match seq {
            0 => "PBU once the LMA's link-layer address is known".to_string(),
            seq => format!("PBU seq {seq}"),
        };
        log::info!(
            "{} attached ({}) -> {pbu} HI={} to {}",
            s.mac,
            s.trigger,
            u8::from(hi),
            self.cfg.lmaa
        );
    }

    fn on_known_sighting(&mut self, now: Instant, port: PortId, s: Sighting, tx: &mut dyn Tx) {
        let Some(e) = self.bul.get_mut(&s.mac) else {
            return;
        };
        if let Some(ip) = s.address {
            e.learn_address(ip);
        }
        if e.port != port {
            log::info!("{} moved from access port {} to {port}", e.mac, e.port);
            e.port = port;
            let (hnps, registered, ipv4) = (e.hnps.clone(), e.is_registered(), e.ipv4);
            if registered {
                for hnp in hnps {
                    self.engine.routes_mut().connect(hnp, port);
                }
                if let Some(g) = ipv4 {
                    let host = ipnet::Ipv4Net::from(g.address.addr());
                    self.engine.routes_mut().connect(host, port);
                    self.sync_routers();
                }
            }
        }
        if s.trigger == Trigger::RouterSolicitation {
            self.send_ra(now, s.mac, tx);
        }
        // A migrated VM can come back before this MAG noticed it leave, while
        // the LMA routes its prefixes to the MAG it visited: its hypervisor's
        // announcement re-registers it here (RFC 5213 6.9.1.1, HI=3).
        let announced = s.trigger.announces_arrival() && s.trigger.enabled(&self.cfg.detect);
        let idle = self
            .bul
            .get(&s.mac)
            .is_some_and(|e| e.is_registered() && e.outstanding.is_none());
        if announced && idle && self.may_start_exchange(now, s.mac) {
            self.reregister(now, s.mac, tx);
            self.counters.bump("mag.pbu.reattach");
            log::info!(
                "{} announced itself again ({}) -> PBU HI=3 to {}",
                s.mac,
                s.trigger,
                self.cfg.lmaa
            );
        }
    }

    /// Registers a node this MAG already had a binding for as a handoff to
    /// here (HI=3): a new attachment in all but name, timed afresh, whose PBA is
    /// answered with an RA as for a first registration. Routes stay meanwhile.
    pub(crate) fn reregister(&mut self, now: Instant, mac: Mac, tx: &mut dyn Tx) {
        let Some(e) = self.bul.get_mut(&mac) else {
            return;
        };
        let hnps = e.hnps.clone();
        if e.is_registered() {
            e.state = BindingState::Refreshing;
        }
        e.detected_at = now;
        e.ra_sent_at = None;
        e.confirming = None;
        let any = [Ipv6Net::default()];
        let hnps = if hnps.is_empty() { &any[..] } else { &hnps[..] };
        self.start_exchange(
            now,
            mac,
            HandoffIndicator::InterMag,
            hnps,
            INITIAL_BINDACK_TIMEOUT,
            tx,
        );
    }
}
