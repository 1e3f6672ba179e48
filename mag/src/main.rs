//! `mag`: a PMIPv6 Mobile Access Gateway (RFC 5213) over TAP devices.
//!
//! ```text
//! mag --name mag1 --lma 2001:db8:ff:1::1 --policy policy.toml \
//!     --uplink /run/netns/mag1:wan1,address=2001:db8:ff:1::2/64 \
//!     --access /run/netns/mag1:access1 --ctl /tmp/mag1.sock
//! ```

use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{Context, bail};
use argh::FromArgs;
use ipnet::Ipv6Net;
use log::{LevelFilter, info};
use mag::access::{FIXED_LINK_LOCAL, FIXED_MAC};
use mag::{AccessConfig, DetectConfig, Mag, MagConfig, UplinkConfig};
use router::Duration;
use router::netio::{EventLoop, Stop, logger, open_tap};
use router::policy::Policy;
use router::wire::AccessTechnologyType;
use smoltcp::wire::EthernetAddress;

/// How long the loop keeps running after SIGTERM so de-registrations leave.
const DRAIN: Duration = Duration::from_millis(300);

/// A PMIPv6 mobile access gateway (RFC 5213) over TAP devices.
#[derive(FromArgs)]
struct Args {
    /// name used in logs and matched against the policy's [[mag]] names
    #[argh(option)]
    name: String,
    /// [NETNS_PATH:]IFNAME,address=PROXY_COA/LEN[,mac=02:..][,mtu=N]: the port to the LMA
    #[argh(option)]
    uplink: PortSpec,
    /// [NETNS_PATH:]IFNAME[,mac=..][,link_local=fe80::..][,mtu=N]; repeat per access link
    #[argh(option)]
    access: Vec<PortSpec>,
    /// the LMA address (LMAA) PBUs are sent to
    #[argh(option)]
    lma: Ipv6Addr,
    /// the policy file (TOML) shared with the LMA
    #[argh(option)]
    policy: PathBuf,
    /// control socket path (tapmipctl)
    #[argh(option)]
    ctl: Option<PathBuf>,
    /// attachment triggers: rs,na,dad,unknown (default all) or none
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
    /// log every frame decision, not only events
    #[argh(switch, short = 'v')]
    verbose: bool,
}

/// One TAP port. Kept local until `router::portspec` is shared by every binary.
struct PortSpec {
    netns: Option<PathBuf>,
    ifname: String,
    address: Option<Ipv6Net>,
    link_local: Option<Ipv6Addr>,
    mac: Option<EthernetAddress>,
    mtu: Option<u32>,
}

impl FromStr for PortSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split(',');
        let place = parts.next().unwrap_or_default();
        let (netns, ifname) = match place.rsplit_once(':') {
            Some((ns, ifname)) => (Some(PathBuf::from(ns)), ifname),
            None => (None, place),
        };
        if ifname.is_empty() {
            return Err(format!("{s:?}: no interface name"));
        }
        let mut spec = PortSpec {
            netns,
            ifname: ifname.to_string(),
            address: None,
            link_local: None,
            mac: None,
            mtu: None,
        };
        for part in parts {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected key=value"))?;
            let bad = |e: &dyn std::fmt::Display| format!("{key}={value:?}: {e}");
            match key {
                "address" => spec.address = Some(value.parse().map_err(|e| bad(&e))?),
                "link_local" => spec.link_local = Some(value.parse().map_err(|e| bad(&e))?),
                "mac" => spec.mac = Some(value.parse().map_err(|_| bad(&"not a MAC address"))?),
                "mtu" => spec.mtu = Some(value.parse().map_err(|e| bad(&e))?),
                _ => {
                    return Err(format!(
                        "{key:?}: unknown key (address, link_local, mac, mtu)"
                    ));
                }
            }
        }
        Ok(spec)
    }
}

impl PortSpec {
    fn place(&self) -> String {
        self.netns
            .as_ref()
            .map_or("this namespace".into(), |p| p.display().to_string())
    }

    fn mtu(&self) -> usize {
        self.mtu.unwrap_or(1500) as usize
    }
}

/// A locally administered uplink MAC derived from the MAG's name.
fn uplink_mac(name: &str) -> EthernetAddress {
    let hash = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let [a, b, c, _] = hash.to_be_bytes();
    EthernetAddress([0x02, 0x7a, 0x6d, a, b, c])
}

fn config(args: &Args) -> anyhow::Result<MagConfig> {
    if args.timestamps && args.sequence_numbers {
        bail!("--timestamps and --sequence-numbers exclude each other");
    }
    if args.access.is_empty() {
        bail!("no --access given: a MAG needs at least one access link");
    }
    let Some(proxy_coa) = args.uplink.address else {
        bail!("--uplink: address=PROXY_COA/LEN is required");
    };
    let uplink = UplinkConfig {
        mac: args.uplink.mac.unwrap_or_else(|| uplink_mac(&args.name)),
        mtu: args.uplink.mtu(),
        proxy_coa,
    };
    let access = args
        .access
        .iter()
        .map(|a| AccessConfig {
            mac: a.mac.unwrap_or(FIXED_MAC),
            link_local: a.link_local.unwrap_or(FIXED_LINK_LOCAL),
            mtu: a.mtu(),
        })
        .collect();
    let mut cfg = MagConfig::new(&args.name, uplink, access, args.lma);
    cfg.detect = args.detect;
    cfg.ra_interval = Duration::from_millis(args.ra_interval_ms.max(1));
    cfg.lifetime = args.lifetime;
    cfg.local_routing = args.local_routing;
    cfg.timestamps = !args.sequence_numbers;
    cfg.access_technology = match AccessTechnologyType::from(args.att) {
        t @ (AccessTechnologyType::Ethernet | AccessTechnologyType::Virtual) => t,
        other => bail!(
            "--att {}: {other} is not an access technology tapmip offers (3 or 1)",
            args.att
        ),
    };
    cfg.epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    Ok(cfg)
}

fn run(args: Args) -> anyhow::Result<()> {
    let stop = Stop::on_signals().context("routing SIGTERM/SIGINT to the event loop")?;
    let policy = Policy::load(&args.policy)?;
    let mut cfg = config(&args)?;
    let mut ports = Vec::new();
    let specs = std::iter::once(&args.uplink).chain(&args.access);
    for (id, spec) in specs.enumerate() {
        let port = open_tap(spec.netns.as_deref(), &spec.ifname, spec.mtu)?;
        let role = if id == 0 { "uplink" } else { "access" };
        info!("port {id}: {role} TAP {} in {}", port.name(), spec.place());
        ports.push(port);
    }
    let mut event_loop = EventLoop::new(ports, stop)?;
    if let Some(path) = &args.ctl {
        event_loop = event_loop.with_control(path)?;
    }
    let now = event_loop.now();
    // The epoch is the wall clock at the loop's Instant zero.
    cfg.epoch = cfg
        .epoch
        .saturating_sub(std::time::Duration::from_micros(now.total_micros() as u64));
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
    let mut core = Mag::new(cfg, policy, now);
    info!("running; SIGTERM or SIGINT de-registers every binding and stops");
    let reason = event_loop.run(&mut core)?;
    info!("stopped by {reason}");
    event_loop.finish(&mut core, DRAIN)?;
    for (name, value) in core.counters().iter() {
        info!("counter {name} = {value}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    let level = if args.verbose {
        LevelFilter::Debug
    } else {
        LevelFilter::Info
    };
    logger::init(&args.name, level);
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_specs() {
        let up: PortSpec = "/run/netns/mag1:wan1,address=2001:db8:ff:1::2/64,mtu=1400"
            .parse()
            .unwrap();
        assert_eq!(up.netns, Some(PathBuf::from("/run/netns/mag1")));
        assert_eq!(up.address, Some("2001:db8:ff:1::2/64".parse().unwrap()));
        assert_eq!(up.mtu(), 1400);
        let acc: PortSpec = "access1,link_local=fe80::9".parse().unwrap();
        assert_eq!(acc.link_local, Some("fe80::9".parse().unwrap()));
        assert!("eth0,speed=1".parse::<PortSpec>().is_err());
        assert!("eth0,address=nope".parse::<PortSpec>().is_err());
    }

    #[test]
    fn uplink_macs_are_local_unicast() {
        let m = uplink_mac("mag1");
        assert!(m.is_unicast() && m.is_local());
        assert_ne!(m, uplink_mac("mag2"));
    }
}
