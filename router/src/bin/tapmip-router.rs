//! `tapmip-router`: a plain IPv6 router over TAP devices.
//!
//! Each `--port` names a TAP device, optionally inside another network namespace,
//! so the router can own the interfaces of kernel hosts without having any itself:
//!
//! ```text
//! tapmip-router --name r1 \
//!     --port /run/netns/h1:eth0,prefix=2001:db8:1::/64 \
//!     --port /run/netns/h2:eth0,prefix=2001:db8:2::/64,mtu=1500
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{Context, bail};
use argh::FromArgs;
use ipnet::Ipv6Net;
use log::{LevelFilter, info};
use router::netio::{EventLoop, Stop, logger, open_tap};
use router::plain::{PlainConfig, PlainRouter, PortConfig};
use router::{Duration, Instant};
use smoltcp::wire::EthernetAddress;

/// A plain IPv6 router (RA, ND, forwarding) over TAP devices.
#[derive(FromArgs)]
struct Args {
    /// name used in logs
    #[argh(option)]
    name: String,
    /// [NETNS_PATH:]IFNAME[,prefix=P/LEN]...[,mac=02:..][,mtu=N]; repeat per port
    #[argh(option)]
    port: Vec<PortSpec>,
    /// interval between unsolicited router advertisements, in milliseconds
    #[argh(option, default = "1000")]
    ra_interval_ms: u64,
    /// log every frame decision, not only events
    #[argh(switch, short = 'v')]
    verbose: bool,
}

struct PortSpec {
    netns: Option<PathBuf>,
    ifname: String,
    prefixes: Vec<Ipv6Net>,
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
            prefixes: Vec::new(),
            mac: None,
            mtu: None,
        };
        for part in parts {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected key=value"))?;
            let bad = |e: &dyn std::fmt::Display| format!("{key}={value:?}: {e}");
            match key {
                "prefix" => spec.prefixes.push(value.parse().map_err(|e| bad(&e))?),
                "mac" => spec.mac = Some(value.parse().map_err(|_| bad(&"not a MAC address"))?),
                "mtu" => spec.mtu = Some(value.parse().map_err(|e| bad(&e))?),
                _ => return Err(format!("{key:?}: unknown key (prefix, mac, mtu)")),
            }
        }
        Ok(spec)
    }
}

/// A locally administered MAC that differs per router name and port, so two
/// routers in one lab never collide unless given the same name.
fn default_mac(name: &str, port: usize) -> EthernetAddress {
    let hash = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let [a, b, ..] = hash.to_be_bytes();
    EthernetAddress([0x02, 0x74, 0x6d, a, b, (port as u8).wrapping_add(1)])
}

fn run(args: Args) -> anyhow::Result<()> {
    let stop = Stop::on_signals().context("routing SIGTERM/SIGINT to the event loop")?;
    if args.port.is_empty() {
        bail!("no --port given: a router needs at least one");
    }
    let mut ports = Vec::new();
    let mut configs = Vec::new();
    for (id, spec) in args.port.iter().enumerate() {
        let port = open_tap(spec.netns.as_deref(), &spec.ifname, spec.mtu)?;
        let mac = spec.mac.unwrap_or_else(|| default_mac(&args.name, id));
        let place = spec
            .netns
            .as_ref()
            .map_or("this namespace".into(), |p| p.display().to_string());
        let prefixes: Vec<String> = spec.prefixes.iter().map(|p| p.to_string()).collect();
        info!(
            "port {id}: TAP {} in {place}, router MAC {mac}, prefixes [{}]",
            port.name(),
            prefixes.join(", ")
        );
        ports.push(port);
        configs.push(PortConfig {
            mac,
            mtu: spec.mtu.unwrap_or(1500) as usize,
            prefixes: spec.prefixes.clone(),
        });
    }
    let mut event_loop = EventLoop::new(ports, stop)?;
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
            "port {id} ({}): rx {} frames / {} bytes, tx {} frames / {} bytes, tx dropped (queue full) {}, tx errors {}",
            port.name(),
            s.rx_frames,
            s.rx_bytes,
            s.tx_frames,
            s.tx_bytes,
            s.tx_dropped_full,
            s.tx_errors
        );
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
    fn port_spec_with_namespace_and_options() {
        let spec: PortSpec = "/run/netns/h1:eth0,prefix=2001:db8:1::/64,prefix=2001:db8:9::/64,mac=02:00:00:00:00:01,mtu=1400"
            .parse()
            .unwrap();
        assert_eq!(spec.netns, Some(PathBuf::from("/run/netns/h1")));
        assert_eq!(spec.ifname, "eth0");
        assert_eq!(spec.prefixes.len(), 2);
        assert_eq!(spec.mac, Some(EthernetAddress([2, 0, 0, 0, 0, 1])));
        assert_eq!(spec.mtu, Some(1400));
    }

    #[test]
    fn port_spec_in_current_namespace() {
        let spec: PortSpec = "tap0".parse().unwrap();
        assert_eq!(spec.netns, None);
        assert_eq!(spec.ifname, "tap0");
        assert!(spec.prefixes.is_empty());
    }

    #[test]
    fn port_spec_errors_name_the_field() {
        let e = "eth0,prefix=nope".parse::<PortSpec>().err().unwrap();
        assert!(e.starts_with("prefix=\"nope\""), "{e}");
        let e = "eth0,speed=10".parse::<PortSpec>().err().unwrap();
        assert!(e.contains("unknown key"), "{e}");
        assert!("/run/netns/h1:".parse::<PortSpec>().is_err());
    }

    #[test]
    fn default_macs_are_local_unicast_and_distinct() {
        let a = default_mac("r1", 0);
        assert!(a.is_unicast() && a.is_local());
        assert_ne!(a, default_mac("r1", 1));
        assert_ne!(a, default_mac("r2", 0));
    }
}
