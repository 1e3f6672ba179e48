//! Scenario `plain-router`: two kernel hosts autoconfigure from a userspace router
//! that owns their interfaces, then ping and move 10 MB of TCP across it.
//!
//! ```text
//!   h1 (kernel)            r (no address, no route)            h2 (kernel)
//!   eth0 <- TAP fd --- tapmip-router ---- TAP fd -> eth0
//!   2001:db8:1::/64                                            2001:db8:2::/64
//! ```

use std::net::Ipv6Addr;
use std::path::Path;
use std::time::Duration;

use ipnet::Ipv6Net;

use crate::{LabError, Sandbox, bulk, host};

const TRANSFER_BYTES: usize = 10 * 1024 * 1024;
const SLAAC_TIMEOUT: Duration = Duration::from_secs(20);

fn step(msg: &str) {
    println!("plain-router: {msg}");
}

/// Runs the whole scenario with the router binary at `router`.
pub fn run(router: &Path) -> Result<(), LabError> {
    crate::ensure_tun_access().map_err(LabError::Check)?;
    let mut lab = Sandbox::new("plain")?;
    let result = scenario(&mut lab, router);
    if result.is_err() {
        // Stopping it first makes the router print its counters into the log.
        let log = match lab.stop("router", Duration::from_secs(5)) {
            Ok((_, log)) => log,
            Err(_) => lab.log_of("router"),
        };
        println!("--- router log ---\n{}", log.trim_end());
    }
    result
}

fn scenario(lab: &mut Sandbox, router: &Path) -> Result<(), LabError> {
    let (a1, a2) = start(lab, router)?;
    host::ping(lab, "h1", &a2.to_string())?;
    step(&format!("h1 pinged h2 ({a2}) across the router"));
    host::ping(lab, "h2", &a1.to_string())?;
    step(&format!("h2 pinged h1 ({a1}) across the router"));

    bulk::transfer(lab, "h1", "h2", a2, TRANSFER_BYTES)?;
    step(&format!(
        "{TRANSFER_BYTES} bytes of TCP h1 -> h2 arrived intact"
    ));

    let (status, log) = lab.stop("router", Duration::from_secs(5))?;
    step(&format!(
        "router stopped ({status}); its log:\n{}",
        log.trim_end()
    ));
    if !status.success() {
        return Err(LabError::Check(format!("the router exited with {status}")));
    }
    Ok(())
}

/// Brings up h1 -- router -- h2 (the router as process `router`) and waits until
/// both hosts have autoconfigured; returns their global addresses.
pub fn start(lab: &mut Sandbox, router: &Path) -> Result<(Ipv6Addr, Ipv6Addr), LabError> {
    start_with(lab, router, [None, None])
}

/// [`start`] with the `offload=` of the router's port to h1 and to h2, when given.
pub fn start_with(
    lab: &mut Sandbox,
    router: &Path,
    offload: [Option<&str>; 2],
) -> Result<(Ipv6Addr, Ipv6Addr), LabError> {
    let nets: [(&str, Ipv6Net); 2] = [
        ("h1", "2001:db8:1::/64".parse().map_err(|_| bad_prefix())?),
        ("h2", "2001:db8:2::/64".parse().map_err(|_| bad_prefix())?),
    ];
    for short in ["h1", "h2", "r"] {
        lab.add_ns(short)?;
    }
    for (short, _) in nets {
        host::configure(lab, short)?;
    }
    step(&format!(
        "namespaces {}, {}, {}",
        lab.ns("h1"),
        lab.ns("h2"),
        lab.ns("r")
    ));
    check_router_ns_is_bare(lab)?;

    let mut argv = vec![
        "--name".to_string(),
        "r1".into(),
        "--ra-interval-ms".into(),
        "1000".into(),
    ];
    for ((short, prefix), offload) in nets.into_iter().zip(offload) {
        argv.push("--port".into());
        let extra = offload.map_or(String::new(), |o| format!(",offload={o}"));
        argv.push(format!(
            "{}:eth0,prefix={prefix}{extra}",
            lab.ns_path(short).display()
        ));
    }
    let mut cmd = vec![
        router
            .to_str()
            .ok_or_else(|| LabError::Check("router path is not UTF-8".into()))?,
    ];
    cmd.extend(argv.iter().map(String::as_str));
    step(&format!("starting in r: {}", cmd.join(" ")));
    lab.spawn(Some("r"), "router", &cmd)?;

    let mut addrs = Vec::new();
    for (short, _) in nets {
        host::wait_for_link(lab, short, "eth0", Duration::from_secs(5)).map_err(|e| {
            LabError::Check(format!(
                "{e} (did the router start? its log:\n{})",
                lab.log_of("router")
            ))
        })?;
        lab.exec(
            short,
            &["sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_ra=1"],
        )?;
    }
    for (short, prefix) in nets {
        let addr =
            host::wait_for_slaac(lab, short, "eth0", prefix, SLAAC_TIMEOUT)?.ok_or_else(|| {
                LabError::Check(format!(
                    "{short} got no global address in {prefix} within {SLAAC_TIMEOUT:?}: \
                 the router sent no usable RA (a Prefix Information option with A=1) on its eth0"
                ))
            })?;
        step(&format!(
            "{short} autoconfigured {addr} from the router's RA"
        ));
        addrs.push(addr);
    }
    Ok((addrs[0], addrs[1]))
}

fn bad_prefix() -> LabError {
    LabError::Check("bad built-in prefix".into())
}

/// The point of the design: the router works with no kernel networking of its own.
fn check_router_ns_is_bare(lab: &Sandbox) -> Result<(), LabError> {
    let addrs = lab.exec("r", &["ip", "-6", "addr", "show"])?;
    let routes = lab.exec("r", &["ip", "-6", "route", "show"])?;
    let fwd = lab.exec("r", &["sysctl", "-n", "net.ipv6.conf.all.forwarding"])?;
    if !addrs.trim().is_empty() || !routes.trim().is_empty() || fwd.trim() != "0" {
        return Err(LabError::Check(format!(
            "namespace r is not bare: addresses {addrs:?}, routes {routes:?}, forwarding {fwd:?}"
        )));
    }
    step("r has no IPv6 address, no IPv6 route, forwarding off");
    Ok(())
}
