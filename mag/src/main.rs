//! `mag`: a PMIPv6 Mobile Access Gateway (RFC 5213) over TAP devices.
//!
//! ```text
//! mag --name mag1 --lma 2001:db8:ff:1::1 --policy policy.toml \
//!     --uplink /run/netns/mag1:wan1,addr=2001:db8:ff:1::2/64 \
//!     --access /run/netns/mag1:access1 --ctl /tmp/mag1.sock
//! ```
//!
//! `mag access-router ...` runs a plain access router instead (`access_router_cli`).

use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use argh::FromArgs;
use log::info;
use mag::access::{FIXED_LINK_LOCAL, FIXED_MAC};
use mag::held::HoldLimits;
use mag::{AccessConfig, DetectConfig, Mag, MagConfig, UplinkConfig};
use router::Duration;
use router::aaa::AaaOptions;
use router::auth::{KeyRing, Reloading, Signalling, log_insecure};
use router::heartbeat::HeartbeatConfig;
use router::nd::NudConfig;
use router::netio::{EventLoop, OffloadWish, Stop, logger, open_tap_with};
use router::policy::Policy;
use router::portspec::{PortSpec, default_mac};
use router::wire::AccessTechnologyType;

mod access_router_cli;

/// How long the loop keeps running after SIGTERM so de-registrations leave.
const DRAIN: Duration = Duration::from_millis(300);

/// A PMIPv6 mobile access gateway (RFC 5213) over TAP devices;
/// `mag access-router --help` for the plain access router.
#[derive(FromArgs)]
struct Args {
    /// name used in logs and matched against the policy's [[mag]] names
    #[argh(option)]
    name: String,
    /// [NETNS_PATH:]IFNAME,addr=PROXY_COA/LEN[,mac=02:..][,mtu=N]: the port to the LMA
    #[argh(option)]
    uplink: PortSpec,
    /// [NETNS_PATH:]IFNAME[,mac=..][,link_local=fe80::..][,mtu=N]; repeat per access link
    #[argh(option)]
    access: Vec<PortSpec>,
    /// the LMA address (LMAA) PBUs are sent to
    #[argh(option)]
    lma: Ipv6Addr,
    /// the policy file (TOML) shared with the LMA; this MAG's [[mag.key]] entries
    /// name the key files it signs with
    #[argh(option)]
    policy: PathBuf,
    /// control socket path (tapmipctl)
    #[argh(option)]
    ctl: Option<PathBuf>,
    /// attachment triggers: rs,na,dad,rarp,unknown,arp,dhcp (default all) or none
    #[argh(option, default = "DetectConfig::default()")]
    detect: DetectConfig,
    /// interval between per-node router advertisements, in milliseconds
    #[argh(option, default = "30_000")]
    ra_interval_ms: u64,
    /// binding lifetime requested in PBUs, in seconds
    #[argh(option, default = "3600")]
    lifetime: u32,
    /// deliver between two nodes of this MAG directly (EnableMAGLocalRouting)
    #[argh(switch)]
    local_routing: bool,
    /// order PBUs by timestamps (the default)
    #[argh(switch)]
    timestamps: bool,
    /// order PBUs by sequence numbers only, without the Timestamp option
    #[argh(switch)]
    sequence_numbers: bool,
    /// access technology type in PBUs: 3 (IEEE 802.3, default) or 1 (virtual)
    #[argh(option, default = "3")]
    att: u8,
    /// HEARTBEAT_INTERVAL towards the LMA, in milliseconds (RFC 5847; 0: send none)
    #[argh(option, default = "60000")]
    heartbeat_interval_ms: u64,
    /// MISSING_HEARTBEATS_ALLOWED before the LMA is taken as failed (RFC 5847)
    #[argh(option, default = "3")]
    missing_heartbeats: u32,
    /// DHCP lease handed to IPv4 nodes, in seconds (default 0: the binding lifetime)
    #[argh(option, default = "0")]
    dhcp_lease_s: u32,
    /// do not authenticate PBUs, PBAs and heartbeats (interoperability tests
    /// only: anyone on the WAN can then forge the LMA's answers)
    #[argh(switch)]
    insecure: bool,
    /// policy store: file (the default), or
    /// radius,server=ADDR:PORT[,server=..],secret_file=PATH[,netns=NETNS_PATH]
    #[argh(option, default = "AaaOptions::default()")]
    aaa: AaaOptions,
    /// neighbor cache entries per access link at most (docs/limits.md)
    #[argh(option, default = "NudConfig::default().max_neighbors")]
    max_neighbors: usize,
    /// how long an "arriving" or "leaving" hint lasts unless it says, in ms
    #[argh(option, default = "10_000")]
    hint_timeout_ms: u64,
    /// downlink packets held per node announced as arriving
    #[argh(option, default = "1024")]
    hold_packets: usize,
    /// downlink bytes held per node announced as arriving
    #[argh(option, default = "1 << 20")]
    hold_bytes: usize,
    /// age past which a held packet is dropped rather than delivered, in ms
    #[argh(option, default = "5000")]
    hold_ms: u64,
    /// log every frame decision, not only events
    #[argh(switch, short = 'v')]
    verbose: bool,
}

/// This MAG's keys from the policy file at `path`, read anew.
fn load_keys(path: &std::path::Path, name: &str, lmaa: Ipv6Addr) -> Result<KeyRing, String> {
    let policy = Policy::load(path).map_err(|e| e.to_string())?;
    KeyRing::load_for_mag(&policy, name, lmaa).map_err(|e| e.to_string())
}

fn config(args: &Args) -> anyhow::Result<MagConfig> {
    if args.timestamps && args.sequence_numbers {
        bail!("--timestamps and --sequence-numbers exclude each other");
    }
    if args.access.is_empty() {
        bail!("no --access given: a MAG needs at least one access link");
    }
    args.uplink
        .only(&["addr", "mac", "mtu", "offload"])
        .map_err(|e| anyhow!("--uplink {e}"))?;
    let [proxy_coa] = args.uplink.addresses[..] else {
        bail!("--uplink: addr=PROXY_COA/LEN is required, once");
    };
    let uplink = UplinkConfig {
        mac: args
            .uplink
            .mac
            .unwrap_or_else(|| default_mac(&args.name, 0)),
        mtu: args.uplink.mtu_or_default(),
        proxy_coa,
    };
    let mut access = Vec::new();
    for a in &args.access {
        a.only(&["link_local", "mac", "mtu", "offload"])
            .map_err(|e| anyhow!("--access {e}"))?;
        access.push(AccessConfig {
            mac: a.mac.unwrap_or(FIXED_MAC),
            link_local: a.link_local.unwrap_or(FIXED_LINK_LOCAL),
            mtu: a.mtu_or_default(),
        });
    }
    let mut cfg = MagConfig::new(&args.name, uplink, access, args.lma);
    cfg.detect = args.detect;
    cfg.access_nud.max_neighbors = args.max_neighbors;
    cfg.ra_interval = Duration::from_millis(args.ra_interval_ms.max(1));
    cfg.lifetime = args.lifetime;
    cfg.local_routing = args.local_routing;
    cfg.dhcp_lease_secs = args.dhcp_lease_s;
    cfg.timestamps = !args.sequence_numbers;
    cfg.heartbeat = (args.heartbeat_interval_ms > 0).then(|| HeartbeatConfig {
        interval: Duration::from_millis(args.heartbeat_interval_ms),
        missing_allowed: args.missing_heartbeats.max(1),
    });
    cfg.hints.arrival_timeout = Duration::from_millis(args.hint_timeout_ms);
    cfg.hints.leaving_timeout = Duration::from_millis(args.hint_timeout_ms);
    cfg.hints.hold = HoldLimits {
        packets: args.hold_packets,
        bytes: args.hold_bytes,
        age: Duration::from_millis(args.hold_ms),
    };
    cfg.access_technology = match AccessTechnologyType::from(args.att) {
        t @ (AccessTechnologyType::Ethernet | AccessTechnologyType::Virtual) => t,
        other => bail!(
            "--att {}: {other} is not an access technology tapmip offers (3 or 1)",
            args.att
        ),
    };
    Ok(cfg)
}

fn run(args: Args) -> anyhow::Result<()> {
    let stop = Stop::on_signals().context("routing SIGTERM/SIGINT to the event loop")?;
    let policy = Policy::load(&args.policy)?;
    let mut cfg = config(&args)?;
    cfg.signalling = if args.insecure {
        log_insecure();
        Signalling::Insecure
    } else {
        let keys = KeyRing::load_for_mag(&policy, &args.name, args.lma).context(
            "loading this MAG's keys (authenticated signalling; --insecure turns it off)",
        )?;
        let spis: Vec<String> = keys
            .keys(&args.lma)
            .iter()
            .map(|k| format!("{} ({})", k.spi(), k.algorithm()))
            .collect();
        info!(
            "authenticated signalling with {}: SPI {}; the last signs",
            args.lma,
            spis.join(", ")
        );
        Signalling::Authenticated(keys)
    };
    let mut ports = Vec::new();
    let specs = std::iter::once(&args.uplink).chain(&args.access);
    for (id, spec) in specs.enumerate() {
        let wish = spec.offload.unwrap_or(OffloadWish::All);
        let port = open_tap_with(spec.netns.as_deref(), &spec.ifname, spec.mtu, wish)?;
        let role = if id == 0 { "uplink" } else { "access" };
        info!("port {id}: {role} TAP {} in {}", port.name(), spec.place());
        ports.push(port);
    }
    let (aaa, radius_socket) = args
        .aaa
        .open(&args.name, Some(cfg.uplink.proxy_coa.addr()))?;
    let mut event_loop = EventLoop::new(ports, stop)?;
    if let Some(path) = &args.ctl {
        event_loop = event_loop.with_control(path)?;
    }
    if let Some(socket) = radius_socket {
        event_loop = event_loop.with_udp_socket(socket)?;
    }
    info!("policy store: {aaa}");
    cfg.aaa = aaa;
    let now = event_loop.now();
    cfg.epoch = event_loop.epoch();
    // RFC 5847 3.2: a value that changes at every start, with no state on disk.
    cfg.restart_counter = u32::try_from(cfg.epoch.as_secs()).unwrap_or(u32::MAX);
    info!(
        "Proxy-CoA {}, LMA {}, {} access link(s), {} policy node(s), {}",
        cfg.uplink.proxy_coa,
        cfg.lmaa,
        cfg.access.len(),
        policy.nodes.len(),
        if cfg.timestamps {
            "timestamps"
        } else {
            "sequence numbers"
        }
    );
    let (insecure, lmaa) = (args.insecure, args.lma);
    let (policy_path, name) = (args.policy.clone(), args.name.clone());
    let mut core = Reloading::new(Mag::try_new(cfg, policy, now)?, move || {
        if insecure {
            return Err("running with --insecure: there are no keys to reload".into());
        }
        load_keys(&policy_path, &name, lmaa)
    });
    info!("running; SIGTERM or SIGINT de-registers every binding and stops");
    let reason = event_loop.run(&mut core)?;
    info!("stopped by {reason}");
    event_loop.finish(&mut core, DRAIN)?;
    for (name, value) in core.core.counters().iter() {
        info!("counter {name} = {value}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("access-router") {
        return access_router_cli::main(&argv[2..]);
    }
    let args: Args = argh::from_env();
    let name = args.name.clone();
    logger::run_main(&name, args.verbose, || run(args))
}
