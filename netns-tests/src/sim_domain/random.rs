//! Randomized runs of a whole domain for days of fake time: VMs migrate at
//! random instants, many of them placed where timers meet (seconds around a
//! refresh, a quick return before the old MAG's NUD gives up, inside a
//! retransmission back-off), on links that delay, reorder, duplicate and lose,
//! while the LMA and the MAGs are restarted now and then and each MAG's key is
//! rolled over (the four steps of `router::auth::keyring`, minutes apart).
//! Most migrations are hinted (the hypervisor's "leaving" and "arriving",
//! `hints`): as the stop-and-copy starts, during it, or racing the VM's own
//! announcement; some are aborted, the VM resuming where it was after the
//! hints named another MAG. The invariant (`SimDomain::check`) is checked
//! every half second of fake time throughout.

use super::{Bound, DomainSpec, FIRST_SPI, SimDomain, mag_name};
use router::heartbeat::HeartbeatConfig;
use router::rng::SplitMix64;
use router::sim::LinkParams;
use router::{Duration, Instant};
use std::collections::BTreeMap;

/// How often the invariant is checked.
const CHECK_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// The stop-and-copy of VM `v`'s migration to MAG `to` begins.
    Depart {
        v: usize,
        to: usize,
        pause: Duration,
    },
    Arrive {
        v: usize,
        to: usize,
    },
    /// The hypervisor's hints for VM `v` leaving `from` for `to`; `copy`:
    /// the leaving hint names the destination.
    Hint {
        v: usize,
        from: usize,
        to: usize,
        copy: bool,
    },
    /// A failed migration's VM resumed on MAG `at`: the orchestrator says
    /// it is arriving there, where it was.
    Back {
        v: usize,
        at: usize,
    },
    RestartLma,
    RestartMag(usize),
    /// The correspondent pings VM `v` (traffic its MAG hears).
    Ping(usize),
    /// Step `step` (0 to 3) of a key rollover of MAG `m`.
    Rollover {
        m: usize,
        step: u8,
    },
}

/// What one randomized run did.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub migrations: u64,
    pub near_refresh: u64,
    pub quick_returns: u64,
    pub hinted: u64,
    pub aborted: u64,
    pub lma_restarts: u64,
    pub mag_restarts: u64,
    pub refreshes: u64,
    pub rollovers: u64,
    pub checks: u64,
    /// The domain as built, for the failure message.
    pub setup: String,
}

fn between(rng: &mut SplitMix64, lo: Duration, hi: Duration) -> Duration {
    let span = hi.total_micros().saturating_sub(lo.total_micros());
    lo + Duration::from_micros(rng.below(span + 1))
}

fn link(
    rng: &mut SplitMix64,
    delay_ms: u64,
    jitter_ms: u64,
    loss: f64,
    duplicate: f64,
) -> LinkParams {
    LinkParams {
        delay: Duration::from_millis(rng.below(delay_ms + 1)),
        jitter: Duration::from_millis(rng.below(jitter_ms + 1)),
        loss: rng.unit() * loss,
        duplicate: rng.unit() * duplicate,
    }
}

struct Run {
    d: SimDomain,
    rng: SplitMix64,
    events: BTreeMap<(Instant, u64), Event>,
    order: u64,
    stats: RunStats,
    /// The SPI each MAG signs with.
    spis: Vec<u32>,
}

impl Run {
    fn at(&mut self, at: Instant, event: Event) {
        self.order += 1;
        self.events.insert((at, self.order), event);
    }

    /// The next departure of VM `v` from MAG `from`: near a timer of `from`
    /// often, otherwise minutes to an hour away.
    fn plan_departure(&mut self, v: usize, from: usize) {
        let now = self.d.now();
        let mags = self.d.mags.len();
        let to = (from + 1 + self.rng.index(mags - 1)) % mags;
        let pause = between(
            &mut self.rng,
            Duration::from_millis(20),
            Duration::from_millis(600),
        );
        let pick = self.rng.unit();
        let refresh = self
            .d
            .refresh_at(from, v)
            .filter(|at| *at > now + Duration::from_secs(6));
        let at = match refresh {
            Some(at) if pick < 0.35 => {
                self.stats.near_refresh += 1;
                at - Duration::from_secs(5)
                    + between(&mut self.rng, Duration::ZERO, Duration::from_secs(10))
            }
            _ if pick < 0.55 => {
                self.stats.quick_returns += 1;
                now + between(
                    &mut self.rng,
                    Duration::from_millis(300),
                    Duration::from_secs(8),
                )
            }
            _ => {
                now + between(
                    &mut self.rng,
                    Duration::from_secs(60),
                    Duration::from_secs(3600),
                )
            }
        };
        self.at(at, Event::Depart { v, to, pause });
    }

    /// When the hints of a migration that paused for `pause` are sent: as
    /// the stop-and-copy starts, during it, around the resume (racing the
    /// VM's announcement and the reactive registration), or never. An
    /// aborted migration's hints come before its VM resumes (an orchestrator
    /// learns of the failure after it sent them), sometimes followed by an
    /// "arriving" where the VM resumed.
    fn plan_hints(&mut self, v: usize, from: usize, to: usize, pause: Duration, aborted: bool) {
        let now = self.d.now();
        let pick = self.rng.unit();
        if aborted {
            let after = between(
                &mut self.rng,
                Duration::ZERO,
                pause - Duration::from_micros(1),
            );
            let copy = self.rng.unit() < 0.7;
            self.at(now + after, Event::Hint { v, from, to, copy });
            if pick < 0.5 {
                let back =
                    pause + between(&mut self.rng, Duration::ZERO, Duration::from_millis(20));
                self.at(now + back, Event::Back { v, at: from });
            }
            return;
        }
        let after = if pick < 0.4 {
            Duration::ZERO
        } else if pick < 0.6 {
            between(&mut self.rng, Duration::ZERO, pause)
        } else if pick < 0.8 {
            // From 20 ms before the resume to 50 ms after it.
            let around = between(&mut self.rng, Duration::ZERO, Duration::from_millis(70));
            (pause + around).max(Duration::from_millis(20)) - Duration::from_millis(20)
        } else {
            return;
        };
        let copy = self.rng.unit() < 0.7;
        self.at(now + after, Event::Hint { v, from, to, copy });
    }

    fn handle(&mut self, event: Event) {
        let now = self.d.now();
        match event {
            Event::Depart { v, to, pause } => {
                if let Some(from) = self.d.location(v) {
                    self.d.depart(v);
                    let aborted = self.rng.unit() < 0.05;
                    let resume_at = if aborted {
                        self.stats.aborted += 1;
                        from
                    } else {
                        to
                    };
                    self.at(now + pause, Event::Arrive { v, to: resume_at });
                    self.plan_hints(v, from, to, pause, aborted);
                }
            }
            Event::Hint { v, from, to, copy } => {
                self.d.hint_leaving(v, from, copy.then_some(to));
                self.d.hint_arriving(v, to);
                self.stats.hinted += 1;
            }
            Event::Back { v, at } => {
                self.d.hint_arriving(v, at);
            }
            Event::Arrive { v, to } => {
                self.d.arrive(v, to);
                self.stats.migrations += 1;
                self.plan_departure(v, to);
            }
            Event::RestartLma => {
                self.d.restart_lma();
                self.stats.lma_restarts += 1;
                let next = between(
                    &mut self.rng,
                    Duration::from_secs(4 * 3600),
                    Duration::from_secs(16 * 3600),
                );
                self.at(now + next, Event::RestartLma);
            }
            Event::RestartMag(m) => {
                self.d.restart_mag(m);
                self.stats.mag_restarts += 1;
                let next = between(
                    &mut self.rng,
                    Duration::from_secs(3 * 3600),
                    Duration::from_secs(12 * 3600),
                );
                self.at(now + next, Event::RestartMag(m));
            }
            Event::Rollover { m, step } => {
                let (old, new) = (self.spis[m], self.spis[m] + 1);
                match step {
                    0 => self.d.set_lma_keys(m, &[old, new]),
                    1 => self.d.set_mag_keys(m, &[old, new]),
                    2 => self.d.set_lma_keys(m, &[new]),
                    _ => {
                        self.d.set_mag_keys(m, &[new]);
                        self.spis[m] = new;
                        self.stats.rollovers += 1;
                    }
                }
                let (lo, hi, next) = match step {
                    0..=2 => (10, 1800, Event::Rollover { m, step: step + 1 }),
                    _ => (6 * 3600, 24 * 3600, Event::Rollover { m, step: 0 }),
                };
                let gap = between(
                    &mut self.rng,
                    Duration::from_secs(lo),
                    Duration::from_secs(hi),
                );
                self.at(now + gap, next);
            }
            Event::Ping(v) => {
                self.d.ping_once(v);
                let next = between(
                    &mut self.rng,
                    Duration::from_secs(1),
                    Duration::from_secs(90),
                );
                self.at(now + next, Event::Ping(v));
            }
        }
    }
}

/// Runs seed `seed` for `length` of fake time; the error names the first
/// moment the invariant did not hold, and the setup.
pub fn run(seed: u64, length: Duration) -> Result<RunStats, String> {
    let mut rng = SplitMix64::new(seed ^ 0x7a70_6d69_7072_6e64);
    let mags = 2 + rng.index(2);
    let vms = 2 + rng.index(2);
    let lossy = seed % 2 == 1;
    let mut spec = DomainSpec::new(seed, mags, vms);
    spec.wan = link(&mut rng, 60, 10, if lossy { 0.03 } else { 0.0 }, 0.03);
    spec.access = link(&mut rng, 1, 2, 0.0, 0.02);
    let lifetime = [120, 300, 3600][rng.index(3)];
    let heartbeat = HeartbeatConfig {
        interval: Duration::from_secs([10, 30, 60][rng.index(3)]),
        missing_allowed: 3,
    };
    let setup = format!(
        "seed {seed}: {mags} MAGs, {vms} VMs, WAN {:?}, access {:?}, lifetime {lifetime} s, heartbeat {} s",
        spec.wan,
        spec.access,
        heartbeat.interval.secs()
    );
    let d = spec.build_with(
        |lma| lma.heartbeat = Some(heartbeat),
        |_, mag| {
            mag.lifetime = lifetime;
            mag.heartbeat = Some(heartbeat);
        },
    );
    let rtt = (spec.wan.delay + spec.wan.jitter) * 2 + (spec.access.delay + spec.access.jitter) * 2;
    let bound = Bound::new(rtt, heartbeat.interval);
    let mut run = Run {
        d,
        rng,
        events: BTreeMap::new(),
        order: 0,
        stats: RunStats {
            setup: setup.clone(),
            ..RunStats::default()
        },
        spis: vec![FIRST_SPI; mags],
    };
    for v in 0..vms {
        let m = run.rng.index(mags);
        run.d.run_for(Duration::from_millis(500));
        run.d.boot(v, m);
        run.plan_departure(v, m);
        let first = run.d.now() + Duration::from_secs(5);
        run.at(first, Event::Ping(v));
    }
    let first = run.d.now()
        + between(
            &mut run.rng,
            Duration::from_secs(3600),
            Duration::from_secs(12 * 3600),
        );
    run.at(first, Event::RestartLma);
    for m in 0..mags {
        let first = run.d.now()
            + between(
                &mut run.rng,
                Duration::from_secs(3600),
                Duration::from_secs(12 * 3600),
            );
        run.at(first, Event::RestartMag(m));
        let first = run.d.now()
            + between(
                &mut run.rng,
                Duration::from_secs(600),
                Duration::from_secs(6 * 3600),
            );
        run.at(first, Event::Rollover { m, step: 0 });
    }
    let end = run.d.now() + length;
    while run.d.now() < end {
        let next_check = (run.d.now() + CHECK_EVERY).min(end);
        let due = run.events.first_key_value().map(|((at, _), _)| *at);
        match due {
            Some(at) if at <= next_check => {
                run.d.net.run_until(at);
                if let Some((_, event)) = run.events.pop_first() {
                    run.handle(event);
                }
            }
            _ => {
                run.d.net.run_until(next_check);
                run.stats.checks += 1;
                run.d.check(&bound).map_err(|e| format!("{setup}\n{e}"))?;
            }
        }
    }
    // A quiet hour at the end: every MAG notices the VMs that left it.
    run.d
        .run_checked(Duration::from_secs(3600), CHECK_EVERY, &bound)
        .map_err(|e| format!("{setup}\n{e}"))?;
    run.stats.refreshes = (0..mags)
        .map(|m| run.d.mag(m).counters().get("mag.pbu.refresh"))
        .sum();
    leaks(&run.d).map_err(|e| format!("{setup}\n{e}"))?;
    for v in 0..vms {
        let held = run.d.vm_address4(v);
        if held != Some(super::vm_ipv4(v).addr()) {
            return Err(format!(
                "{setup}\nVM {v} holds IPv4 {held:?}, not its lease"
            ));
        }
    }
    refused(&run.d).map_err(|e| format!("{setup}\n{e}"))?;
    Ok(run.stats)
}

/// Messages refused for their authentication since each router last started:
/// none, rollovers included.
fn refused(d: &SimDomain) -> Result<(), String> {
    let routers = std::iter::once(("lma".to_string(), d.lma().counters()))
        .chain((0..d.mags.len()).map(|m| (mag_name(m), d.mag(m).counters())));
    for (name, counters) in routers {
        for (counter, value) in counters.iter() {
            if counter.starts_with("auth.") && value > 0 {
                return Err(format!("{name}: {counter} = {value}"));
            }
        }
    }
    Ok(())
}

/// State that would grow without bound: at most one binding per VM, one
/// tunnel per MAG, and no BUL entry at a MAG for a VM that is not there.
fn leaks(d: &SimDomain) -> Result<(), String> {
    let lma = d.lma();
    if lma.bindings().len() > d.vms.len() {
        return Err(format!("the LMA holds {} bindings", lma.bindings().len()));
    }
    if lma.engine().routes().tunnels().len() > d.mags.len() {
        return Err("the LMA has more tunnels than MAGs".into());
    }
    for m in 0..d.mags.len() {
        let bul = d.mag(m).bindings().len();
        let here = (0..d.vms.len())
            .filter(|v| d.location(*v) == Some(m))
            .count();
        if bul > here {
            return Err(format!(
                "{} has {bul} BUL entries for {here} VMs on its link",
                mag_name(m)
            ));
        }
    }
    Ok(())
}
