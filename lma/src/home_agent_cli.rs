//! `lma home-agent`: the same router as a Mobile IPv6 home agent (RFC 6275),
//! the baseline of the paper's comparison.
//!
//! ```text
//! lma home-agent --policy policy.toml --address 2001:db8:1::1 --home-prefix 2001:db8:1::/48 \
//!     --port /run/netns/lma:core,addr=2001:db8:c::1/64,advertise \
//!     --port /run/netns/lma:wan1,addr=2001:db8:ff:1::1/64,advertise \
//!     --route 2001:db8:a:1::/64,via=2001:db8:ff:1::2
//! ```

use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{Context, anyhow, bail};
use argh::FromArgs;
use ipnet::Ipv6Net;
use lma::home_agent::{HomeAgent, HomeAgentConfig};
use log::info;
use router::Duration;
use router::engine::EnginePort;
use router::netio::{EventLoop, Stop, logger, open_tap};
use router::plain::advert;
use router::policy::Policy;
use router::portspec::{PortSpec, default_mac};

/// A static route: `PREFIX,via=GATEWAY`.
#[derive(Debug, Clone)]
struct RouteSpec {
    prefix: Ipv6Net,
    via: Ipv6Addr,
}

impl FromStr for RouteSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (prefix, via) = s
            .split_once(",via=")
            .ok_or_else(|| format!("{s}: want PREFIX,via=GATEWAY"))?;
        Ok(RouteSpec {
            prefix: prefix.parse().map_err(|e| format!("{prefix}: {e}"))?,
            via: via.parse().map_err(|e| format!("{via}: {e}"))?,
        })
    }
}

/// A Mobile IPv6 home agent (RFC 6275): home registrations by Binding
/// Update, the tunnel to each care-of address.
#[derive(FromArgs)]
struct Args {
    /// name used in logs
    #[argh(option, default = "String::from(\"ha\")")]
    name: String,
    /// [NETNS_PATH:]IFNAME,addr=A/LEN[,advertise][,mac=02:..][,mtu=N]; repeat per port
    #[argh(option)]
    port: Vec<PortSpec>,
    /// the home agent address mobile nodes send their Binding Updates to
    #[argh(option)]
    address: Ipv6Addr,
    /// a home subnet prefix; repeat
    #[argh(option)]
    home_prefix: Vec<Ipv6Net>,
    /// policy file (TOML): each node's home prefixes (`hnps`) hold its home address
    #[argh(option)]
    policy: PathBuf,
    /// PREFIX,via=GATEWAY: a prefix behind a router on one of the links; repeat
    #[argh(option)]
    route: Vec<RouteSpec>,
    /// control socket path
    #[argh(option)]
    ctl: Option<PathBuf>,
    /// longest binding lifetime granted, in seconds
    #[argh(option, default = "420")]
    max_lifetime: u32,
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
        bail!("no --port given: the home agent needs its links");
    }
    if args.home_prefix.is_empty() {
        bail!("no --home-prefix given");
    }
    let policy = Policy::load(&args.policy)?;
    let interval = Duration::from_millis(args.ra_interval_ms);
    let mut taps = Vec::new();
    let mut ports = Vec::new();
    for (id, spec) in args.port.iter().enumerate() {
        spec.only(&["addr", "prefix", "advertise", "mac", "mtu"])
            .map_err(|e| anyhow!("--port {e}"))?;
        let tap = open_tap(spec.netns.as_deref(), &spec.ifname, spec.mtu)?;
        let mut port = EnginePort::new(spec.mac.unwrap_or_else(|| default_mac(&args.name, id)));
        port.mtu = spec.mtu_or_default();
        port.addresses = spec.all_addresses();
        let advertised = spec.advertised();
        if !advertised.is_empty() {
            port.advertise = Some(advert(&advertised, port.mtu, interval));
            port.answer_rs = true;
        }
        info!(
            "port {id}: TAP {}, addresses {:?}",
            tap.name(),
            port.addresses
        );
        taps.push(tap);
        ports.push(port);
    }
    let mut event_loop = EventLoop::new(taps, stop)?;
    if let Some(path) = &args.ctl {
        event_loop = event_loop.with_control(path)?;
    }
    let now = event_loop.now();
    let cfg = HomeAgentConfig {
        name: args.name.clone(),
        ports,
        address: args.address,
        home_prefixes: args.home_prefix.clone(),
        policy,
        routes: args.route.iter().map(|r| (r.prefix, r.via)).collect(),
        max_lifetime_secs: args.max_lifetime,
    };
    let mut core = HomeAgent::new(cfg, now)?;
    info!(
        "home agent {} for {:?}, {} static route(s); running, SIGTERM or SIGINT stops",
        args.address,
        args.home_prefix,
        args.route.len()
    );
    let reason = event_loop.run(&mut core)?;
    info!("stopped by {reason}");
    for (name, value) in core.counters().iter() {
        info!("counter {name} = {value}");
    }
    Ok(())
}

/// Runs the home agent with the arguments after `home-agent`.
pub fn main(rest: &[String]) -> ExitCode {
    let args: Args = match logger::subcommand_args("lma home-agent", rest) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let name = args.name.clone();
    logger::run_main(&name, args.verbose, || run(args))
}
