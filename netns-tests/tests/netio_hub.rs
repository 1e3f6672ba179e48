//! The netio layer end to end, without any router logic: a hub core copies every
//! frame between two TAP ports that are the `eth0` of two kernel hosts, so the
//! hosts can reach each other's link-local addresses only through the event loop.

use std::time::Duration;

use netns_tests::{LabError, Sandbox, bulk, host, userns};
use router::Instant;
use router::core::{Core, PortId, Tx};
use router::netio::{EventLoop, Stop, StopReason, open_tap};

struct Hub {
    ports: usize,
}

impl Core for Hub {
    fn on_frame(&mut self, _now: Instant, port: PortId, frame: &[u8], tx: &mut dyn Tx) {
        for other in (0..self.ports).filter(|&p| p != port) {
            tx.send(other, frame);
        }
    }
    fn on_timer(&mut self, _now: Instant, _tx: &mut dyn Tx) {}
    fn poll_at(&self) -> Option<Instant> {
        None
    }
}

fn hub_scenario() -> Result<(), LabError> {
    netns_tests::ensure_tun_access().map_err(LabError::Check)?;
    let mut lab = Sandbox::new("hub")?;
    let mut ports = Vec::new();
    for short in ["h1", "h2"] {
        lab.add_ns(short)?;
        host::configure(&lab, short)?;
        let port = open_tap(Some(&lab.ns_path(short)), "eth0", Some(1400))
            .map_err(|e| LabError::Check(e.to_string()))?;
        ports.push(port);
    }
    // The device lives in h1, not here: the fd is all this process holds.
    let here = netns_tests::sandbox::run(&["ip", "link", "show"])?;
    let there = lab.exec("h1", &["ip", "link", "show", "dev", "eth0"])?;
    assert!(
        there.contains("mtu 1400") && there.contains(",UP"),
        "{there}"
    );
    assert!(!here.contains(&format!("{}:", lab.ns("h1"))));

    let (stop, handle) = Stop::handle().map_err(|e| LabError::Check(e.to_string()))?;
    let event_loop = EventLoop::new(ports, stop).map_err(|e| LabError::Check(e.to_string()))?;
    let worker = std::thread::spawn(move || {
        let mut event_loop = event_loop;
        let mut hub = Hub { ports: 2 };
        let reason = event_loop.run(&mut hub);
        (
            reason.map_err(|e| e.to_string()),
            event_loop
                .ports()
                .iter()
                .map(|p| p.stats())
                .collect::<Vec<_>>(),
        )
    });

    // Both ends must have finished DAD: a tentative address cannot be a source.
    let mut link_local = Vec::new();
    for short in ["h1", "h2"] {
        let found = netns_tests::wait::until(Duration::from_secs(10), || {
            host::address(&lab, short, "eth0", "link")
        })?;
        link_local.push(found.ok_or_else(|| {
            LabError::Check(format!("{short} got no link-local address on eth0"))
        })?);
    }
    let h2_ll = link_local[1];
    let ping = host::ping(&lab, "h1", &format!("{h2_ll}%eth0"));
    // A bulk transfer makes the hub hit full device queues: drops must not stall it.
    let bulk = static_addresses(&lab).and_then(|()| {
        bulk::transfer(
            &mut lab,
            "h1",
            "h2",
            "2001:db8::2".parse::<std::net::Ipv6Addr>().unwrap(),
            10 << 20,
        )
    });

    handle.stop().map_err(|e| LabError::Check(e.to_string()))?;
    let (reason, stats) = worker
        .join()
        .map_err(|_| LabError::Check("event loop panicked".into()))?;
    ping?;
    bulk?;
    assert_eq!(reason, Ok(StopReason::Requested));
    for s in &stats {
        assert!(s.rx_frames >= 3 && s.tx_frames >= 3, "{stats:?}");
    }
    Ok(())
}

/// One shared prefix on both hosts: through a hub they are on one link.
fn static_addresses(lab: &Sandbox) -> Result<(), LabError> {
    for (short, addr) in [("h1", "2001:db8::1/64"), ("h2", "2001:db8::2/64")] {
        lab.exec(short, &["ip", "addr", "add", addr, "dev", "eth0", "nodad"])?;
    }
    Ok(())
}

#[test]
fn hub_between_two_hosts() {
    if let Err(e) = hub_scenario() {
        panic!("{e}");
    }
}

/// The same, as an unprivileged user would run it: this test binary re-runs the
/// test above inside `unshare -Urnm`.
#[test]
fn hub_between_two_hosts_in_user_namespace() {
    let args = [
        "--exact",
        "hub_between_two_hosts",
        "--nocapture",
        "--test-threads=1",
    ];
    if let Err(e) = userns::rerun_tests(&args, 1) {
        panic!("{e}");
    }
}
