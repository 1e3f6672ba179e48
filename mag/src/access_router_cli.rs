//! `mag access-router`: the MAG's host as a plain access router, for the
//! paper's Mobile IPv6 comparison (`mag::access_router`).
//!
//! ```text
//! mag access-router --name ar1 --uplink /run/netns/mag1:wan,addr=2001:db8:ff:1::2/64 \
//!     --gateway 2001:db8:ff:1::1 --access /run/netns/mag1:access,prefix=2001:db8:a:1::/64 \
//!     --ra-min-interval-ms 70 --ra-max-interval-ms 70
//! ```

use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use argh::FromArgs;
use log::info;
use mag::access_router::{AccessLink, AccessRouter, AccessRouterConfig};
use router::Duration;
use router::netio::{EventLoop, Stop, logger, open_tap};
use router::portspec::{PortSpec, default_mac};

/// A plain IPv6 access router: its own prefix per access link, RAs at RFC
/// 6275 7.5 intervals, a default route up, no PMIPv6.
#[derive(FromArgs)]
struct Args {
    /// name used in logs
    #[argh(option)]
    name: String,
    /// [NETNS_PATH:]IFNAME,addr=A/LEN[,mac=02:..][,mtu=N]: the port towards the home agent
    #[argh(option)]
    uplink: PortSpec,
    /// the default router on the uplink
    #[argh(option)]
    gateway: Ipv6Addr,
    /// [NETNS_PATH:]IFNAME,prefix=P/64[,mac=..][,mtu=N]; repeat per access link
    #[argh(option)]
    access: Vec<PortSpec>,
    /// the MinRtrAdvInterval in ms (RFC 6275 7.5: at least 30)
    #[argh(option, default = "30")]
    ra_min_interval_ms: u64,
    /// the MaxRtrAdvInterval in ms (RFC 6275 7.5: 70)
    #[argh(option, default = "70")]
    ra_max_interval_ms: u64,
    /// control socket path (tapmipctl)
    #[argh(option)]
    ctl: Option<PathBuf>,
    /// log every frame decision, not only events
    #[argh(switch, short = 'v')]
    verbose: bool,
}

fn config(args: &Args) -> anyhow::Result<AccessRouterConfig> {
    args.uplink
        .only(&["addr", "mac", "mtu"])
        .map_err(|e| anyhow!("--uplink {e}"))?;
    let [uplink_address] = args.uplink.addresses[..] else {
        bail!("--uplink: addr=A/LEN is required, once");
    };
    if args.access.is_empty() {
        bail!("no --access given");
    }
    let mut access = Vec::new();
    for (i, a) in args.access.iter().enumerate() {
        a.only(&["prefix", "mac", "mtu"])
            .map_err(|e| anyhow!("--access {e}"))?;
        let [prefix] = a.prefixes[..] else {
            bail!("--access {}: prefix=P/LEN is required, once", a.ifname);
        };
        access.push(AccessLink {
            mac: a.mac.unwrap_or_else(|| default_mac(&args.name, i + 1)),
            prefix,
            mtu: a.mtu_or_default(),
        });
    }
    Ok(AccessRouterConfig {
        name: args.name.clone(),
        uplink_mac: args
            .uplink
            .mac
            .unwrap_or_else(|| default_mac(&args.name, 0)),
        uplink_mtu: args.uplink.mtu_or_default(),
        uplink_address,
        gateway: args.gateway,
        access,
        ra_min_interval: Duration::from_millis(args.ra_min_interval_ms),
        ra_max_interval: Duration::from_millis(args.ra_max_interval_ms),
    })
}

fn run(args: Args) -> anyhow::Result<()> {
    let stop = Stop::on_signals().context("routing SIGTERM/SIGINT to the event loop")?;
    let cfg = config(&args)?;
    let mut ports = Vec::new();
    for spec in std::iter::once(&args.uplink).chain(&args.access) {
        ports.push(open_tap(spec.netns.as_deref(), &spec.ifname, spec.mtu)?);
    }
    let mut event_loop = EventLoop::new(ports, stop)?;
    if let Some(path) = &args.ctl {
        event_loop = event_loop.with_control(path)?;
    }
    let prefixes: Vec<String> = cfg.access.iter().map(|a| a.prefix.to_string()).collect();
    let mut core = AccessRouter::new(cfg, event_loop.now())?;
    info!(
        "access router: prefixes {}, default via {}, RAs every {}-{} ms; running",
        prefixes.join(" "),
        args.gateway,
        args.ra_min_interval_ms,
        args.ra_max_interval_ms
    );
    let reason = event_loop.run(&mut core)?;
    info!("stopped by {reason}");
    Ok(())
}

/// Runs the access router with the arguments after `access-router`.
pub fn main(rest: &[String]) -> ExitCode {
    let args: Args = match logger::subcommand_args("mag access-router", rest) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let name = args.name.clone();
    logger::run_main(&name, args.verbose, || run(args))
}
