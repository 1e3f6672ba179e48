//! `tapmip-router`: a plain IPv6 router over TAP devices.
//!
//! Each `--port` names a TAP device, optionally inside another network namespace,
//! so the router can own the interfaces of kernel hosts without having any itself.
//! Ports ask the kernel for every offload it has (`offload=all`): a kernel host
//! then hands over 64 KB TCP superframes, which the router forwards whole.
//!
//! ```text
//! tapmip-router --name r1 \
//!     --port /run/netns/h1:eth0,prefix=2001:db8:1::/64 \
//!     --port /run/netns/h2:eth0,prefix=2001:db8:2::/64,mtu=1500 \
//!     --ctl /tmp/r1.sock
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use argh::FromArgs;
use log::info;
use router::netio::{EventLoop, OffloadWish, Stop, logger, open_tap_with};
use router::plain::{PlainConfig, PlainRouter, PortConfig};
use router::portspec::{PortSpec, default_mac};
use router::{Duration, Instant};

/// A plain IPv6 router (RA, ND, forwarding) over TAP devices.
#[derive(FromArgs)]
struct Args {
    /// name used in logs
    #[argh(option)]
    name: String,
    /// [NETNS_PATH:]IFNAME[,prefix=P/LEN]...[,mac=02:..][,mtu=N][,offload=none|csum|tso|all]; repeat per port
    #[argh(option)]
    port: Vec<PortSpec>,
    /// control socket path (tapmipctl)
    #[argh(option)]
    ctl: Option<PathBuf>,
    /// interval between unsolicited router advertisements, in milliseconds
    #[argh(option, default = "1000")]
    ra_interval_ms: u64,
    /// log every frame decision, not only events
    #[argh(switch, short = 'v')]
    verbose: bool,
}

fn run(args: Args) -> anyhow::Result<()> {
    let stop = Stop::on_signals().context("routing SIGTERM/SIGINT to the event loop")?;
    if args.port.is_empty() {
        bail!("no --port given: a router needs at least one");
    }
    let mut ports = Vec::new();
    let mut configs = Vec::new();
    for (id, spec) in args.port.iter().enumerate() {
        spec.only(&["prefix", "mac", "mtu", "offload"])
            .map_err(|e| anyhow!("--port {e}"))?;
        let wish = spec.offload.unwrap_or(OffloadWish::All);
        let port = open_tap_with(spec.netns.as_deref(), &spec.ifname, spec.mtu, wish)?;
        let mac = spec.mac.unwrap_or_else(|| default_mac(&args.name, id));
        let prefixes: Vec<String> = spec.prefixes.iter().map(|p| p.to_string()).collect();
        info!(
            "port {id}: TAP {} in {}, router MAC {mac}, prefixes [{}], offloads {}",
            port.name(),
            spec.place(),
            prefixes.join(", "),
            port.offloads()
        );
        ports.push(port);
        configs.push(PortConfig {
            mac,
            mtu: spec.mtu_or_default(),
            prefixes: spec.prefixes.clone(),
        });
    }
    let mut event_loop = EventLoop::new(ports, stop)?;
    if let Some(path) = &args.ctl {
        event_loop = event_loop.with_control(path)?;
    }
    let cfg = PlainConfig {
        name: args.name.clone(),
        ports: configs,
        ra_interval: Duration::from_millis(args.ra_interval_ms),
    };
    let now: Instant = event_loop.now();
    let mut core = PlainRouter::new(cfg, now);
    info!("running; SIGTERM or SIGINT stops");
    let reason = event_loop.run(&mut core)?;
    info!("stopped by {reason}");
    for (name, value) in core.counters().iter() {
        info!("counter {name} = {value}");
    }
    for (id, port) in event_loop.ports().iter().enumerate() {
        let s = port.stats();
        info!(
            "port {id} ({}): rx {} frames / {} bytes ({} superframes, {} with lying offload headers dropped), tx {} frames / {} bytes ({} superframes, {} cut here), tx dropped (queue full) {}, tx errors {}",
            port.name(),
            s.rx_frames,
            s.rx_bytes,
            s.rx_superframes,
            s.rx_bad_offload,
            s.tx_frames,
            s.tx_bytes,
            s.tx_superframes,
            s.tx_segmented,
            s.tx_dropped_full,
            s.tx_errors
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    let name = args.name.clone();
    logger::run_main(&name, args.verbose, || run(args))
}
