//! `lma`: the tapmip Local Mobility Anchor over TAP devices.
//!
//! ```text
//! lma --name lma --policy policy.toml \
//!     --port /run/netns/lma:core,addr=2001:db8:c::1/64,addr=192.0.2.1/24,advertise \
//!     --port /run/netns/lma:wan1,addr=2001:db8:ff:1::1/64,advertise \
//!     --port /run/netns/lma:wan2,addr=2001:db8:ff:2::1/64,advertise
//! ```
//!
//! `lma home-agent ...` runs the Mobile IPv6 home agent instead (`home_agent_cli`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use argh::FromArgs;
use lma::{Lma, LmaConfig, LmaLimits, Ordering};
use log::info;
use router::Duration;
use router::aaa::AaaOptions;
use router::auth::{KeyRing, Reloading, Signalling, log_insecure};
use router::engine::EnginePort;
use router::heartbeat::HeartbeatConfig;
use router::nd::NudConfig;
use router::netio::{EventLoop, OffloadWish, Stop, logger, open_tap_with};
use router::plain::advert;
use router::policy::Policy;
use router::portspec::{PortSpec, default_mac};

mod home_agent_cli;

/// The Local Mobility Anchor of a Proxy Mobile IPv6 domain (RFC 5213);
/// `lma home-agent --help` for the Mobile IPv6 home agent.
#[derive(FromArgs)]
struct Args {
    /// name used in logs
    #[argh(option, default = "String::from(\"lma\")")]
    name: String,
    /// [NETNS_PATH:]IFNAME,addr=A/LEN[,addr=IPV4/LEN][,advertise][,mac=02:..][,mtu=N]; repeat per port
    #[argh(option)]
    port: Vec<PortSpec>,
    /// policy file (TOML): MAGs, pools and mobile nodes
    #[argh(option)]
    policy: PathBuf,
    /// control socket path
    #[argh(option)]
    ctl: Option<PathBuf>,
    /// order PBUs by Timestamp option (the default, RFC 5213 5.5)
    #[argh(switch)]
    timestamps: bool,
    /// order PBUs by sequence number instead (RFC 6275 9.5.1)
    #[argh(switch)]
    sequence_numbers: bool,
    /// longest binding lifetime granted, in seconds
    #[argh(option, default = "3600")]
    max_lifetime: u32,
    /// how long a de-registered entry is kept (MinDelayBeforeBCEDelete), in milliseconds
    #[argh(option, default = "10000")]
    min_delay_before_bce_delete_ms: u64,
    /// interval between unsolicited router advertisements, in milliseconds
    #[argh(option, default = "1000")]
    ra_interval_ms: u64,
    /// HEARTBEAT_INTERVAL towards the MAGs, in milliseconds (RFC 5847; 0: send none)
    #[argh(option, default = "60000")]
    heartbeat_interval_ms: u64,
    /// MISSING_HEARTBEATS_ALLOWED before a MAG is logged as failed (RFC 5847)
    #[argh(option, default = "3")]
    missing_heartbeats: u32,
    /// do not authenticate PBUs, PBAs and heartbeats (interoperability tests
    /// only: anyone on the WAN can then move any node)
    #[argh(switch)]
    insecure: bool,
    /// policy store: file (the default), or
    /// radius,server=ADDR:PORT[,server=..],secret_file=PATH[,netns=NETNS_PATH]
    #[argh(option, default = "AaaOptions::default()")]
    aaa: AaaOptions,
    /// caps and signalling rates, KEY=N[,KEY=N...] over the defaults: bindings,
    /// held, awaiting-aaa, source-rate, source-burst, unknown-rate,
    /// unknown-burst, mag-rate, mag-burst (docs/limits.md)
    #[argh(option, default = "LmaLimits::default()")]
    limits: LmaLimits,
    /// neighbor cache entries per port at most (docs/limits.md)
    #[argh(option, default = "NudConfig::default().max_neighbors")]
    max_neighbors: usize,
    /// log every frame decision, not only events
    #[argh(switch, short = 'v')]
    verbose: bool,
}

/// The keys of every MAG of the policy file at `path`, read anew.
fn load_keys(path: &std::path::Path) -> Result<KeyRing, String> {
    let policy = Policy::load(path).map_err(|e| e.to_string())?;
    KeyRing::load_for_lma(&policy).map_err(|e| e.to_string())
}

fn run(args: Args) -> anyhow::Result<()> {
    let stop = Stop::on_signals().context("routing SIGTERM/SIGINT to the event loop")?;
    if args.port.is_empty() {
        bail!("no --port given: the LMA needs its core and WAN links");
    }
    if args.timestamps && args.sequence_numbers {
        bail!("--timestamps and --sequence-numbers exclude each other");
    }
    let policy = Policy::load(&args.policy)?;
    let signalling = if args.insecure {
        log_insecure();
        Signalling::Insecure
    } else {
        let keys = KeyRing::load_for_lma(&policy).context(
            "loading the MAGs' keys (authenticated signalling; --insecure turns it off)",
        )?;
        let count: usize = keys.peers().map(|(_, k)| k.len()).sum();
        info!(
            "authenticated signalling: {count} key(s) for {} MAG(s); unauthenticated PBUs are dropped unanswered",
            policy.mags.len()
        );
        Signalling::Authenticated(keys)
    };
    let interval = Duration::from_millis(args.ra_interval_ms);
    let mut taps = Vec::new();
    let mut ports = Vec::new();
    for (id, spec) in args.port.iter().enumerate() {
        spec.only(&["addr", "prefix", "advertise", "mac", "mtu", "offload"])
            .map_err(|e| anyhow::anyhow!("--port {e}"))?;
        let wish = spec.offload.unwrap_or(OffloadWish::All);
        let tap = open_tap_with(spec.netns.as_deref(), &spec.ifname, spec.mtu, wish)?;
        let mac = spec.mac.unwrap_or_else(|| default_mac(&args.name, id));
        let mut port = EnginePort::new(mac);
        port.nud.max_neighbors = args.max_neighbors;
        port.mtu = spec.mtu_or_default();
        port.addresses = spec.all_addresses();
        port.ipv4 = spec.ipv4.clone();
        let advertised = spec.advertised();
        if !advertised.is_empty() {
            port.advertise = Some(advert(&advertised, port.mtu, interval));
            port.answer_rs = true;
        }
        let v6 = port.addresses.iter().map(|a| a.to_string());
        let addrs: Vec<String> = v6.chain(port.ipv4.iter().map(|a| a.to_string())).collect();
        info!(
            "port {id}: TAP {}, MAC {mac}, addresses [{}], RAs {}",
            tap.name(),
            addrs.join(", "),
            if advertised.is_empty() { "off" } else { "on" }
        );
        taps.push(tap);
        ports.push(port);
    }
    info!(
        "policy {}: {} MAGs, {} nodes, {} pools",
        args.policy.display(),
        policy.mags.len(),
        policy.nodes.len(),
        policy.pools.len()
    );
    // The LMA's own address in RADIUS requests (NAS-IPv6-Address).
    let lmaa = ports
        .iter()
        .flat_map(|p| p.addresses.iter())
        .map(|a| a.addr())
        .next();
    let (aaa, radius_socket) = args.aaa.open(&args.name, lmaa)?;
    let mut event_loop = EventLoop::new(taps, stop)?;
    if let Some(path) = &args.ctl {
        event_loop = event_loop.with_control(path)?;
        info!("control socket {}", path.display());
    }
    if let Some(socket) = radius_socket {
        event_loop = event_loop.with_udp_socket(socket)?;
    }
    info!("policy store: {aaa}");
    let now = event_loop.now();
    let mut cfg = LmaConfig::new(&args.name, ports, policy, event_loop.epoch());
    cfg.aaa = aaa;
    if args.sequence_numbers {
        cfg.ordering = Ordering::SequenceNumbers;
    }
    cfg.max_lifetime_secs = args.max_lifetime;
    cfg.heartbeat = (args.heartbeat_interval_ms > 0).then(|| HeartbeatConfig {
        interval: Duration::from_millis(args.heartbeat_interval_ms),
        missing_allowed: args.missing_heartbeats.max(1),
    });
    info!(
        "restart counter {} (RFC 5847: the second this LMA started)",
        cfg.restart_counter
    );
    cfg.min_delay_before_bce_delete = Duration::from_millis(args.min_delay_before_bce_delete_ms);
    cfg.signalling = signalling;
    cfg.limits = args.limits;
    info!(
        "limits: {}; {} neighbors per port (docs/limits.md)",
        cfg.limits, args.max_neighbors
    );
    let (insecure, policy_path) = (args.insecure, args.policy.clone());
    let mut core = Reloading::new(Lma::try_new(cfg, now)?, move || {
        if insecure {
            return Err("running with --insecure: there are no keys to reload".into());
        }
        load_keys(&policy_path)
    });
    info!(
        "running; SIGTERM or SIGINT stops; `reload_keys` on the control socket re-reads the keys"
    );
    let reason = event_loop.run(&mut core)?;
    info!("stopped by {reason}");
    for (name, value) in core.core.counters().iter() {
        info!("counter {name} = {value}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("home-agent") {
        return home_agent_cli::main(&argv[2..]);
    }
    let args: Args = argh::from_env();
    let name = args.name.clone();
    logger::run_main(&name, args.verbose, || run(args))
}
