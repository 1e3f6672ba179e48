//! Kernel hosts: namespaces whose Linux IPv6 stack is configured by the routers'
//! RAs, and the probes that look at it.

use std::net::Ipv6Addr;
use std::time::Duration;

use ipnet::Ipv6Net;

use crate::{LabError, Sandbox, wait};

/// Makes `short` a plain IPv6 host: loopback up, not forwarding, accepting RAs and
/// autoconfiguring on every interface created later (the routers create them).
pub fn configure(lab: &Sandbox, short: &str) -> Result<(), LabError> {
    lab.exec(short, &["ip", "link", "set", "lo", "up"])?;
    lab.exec(
        short,
        &[
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.all.forwarding=0",
            "net.ipv6.conf.default.accept_ra=1",
            "net.ipv6.conf.default.autoconf=1",
        ],
    )?;
    Ok(())
}

/// Waits until `ifname` exists in `short`, e.g. once a router created it there.
pub fn wait_for_link(
    lab: &Sandbox,
    short: &str,
    ifname: &str,
    timeout: Duration,
) -> Result<(), LabError> {
    let found = wait::until(timeout, || {
        let out = lab.try_exec(short, &["ip", "link", "show", "dev", ifname])?;
        Ok(out.status.success().then_some(()))
    })?;
    found.ok_or_else(|| {
        LabError::Check(format!(
            "{short}: interface {ifname} did not appear within {timeout:?}"
        ))
    })
}

/// The first non-tentative address of `scope` (`global` or `link`) on `ifname`.
pub fn address(
    lab: &Sandbox,
    short: &str,
    ifname: &str,
    scope: &str,
) -> Result<Option<Ipv6Addr>, LabError> {
    let out = lab.exec(
        short,
        &[
            "ip",
            "-6",
            "-o",
            "addr",
            "show",
            "dev",
            ifname,
            "scope",
            scope,
            "-tentative",
        ],
    )?;
    Ok(out
        .split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .and_then(|a| a.parse().ok()))
}

/// Waits for SLAAC to give `ifname` a usable global address inside `prefix`.
pub fn wait_for_slaac(
    lab: &Sandbox,
    short: &str,
    ifname: &str,
    prefix: Ipv6Net,
    timeout: Duration,
) -> Result<Option<Ipv6Addr>, LabError> {
    wait::until(timeout, || {
        Ok(address(lab, short, ifname, "global")?.filter(|a| prefix.contains(a)))
    })
}

/// Pings `to` from `short` three times; fails with ping's own report.
pub fn ping(lab: &Sandbox, short: &str, to: &str) -> Result<String, LabError> {
    lab.exec(
        short,
        &["ping", "-6", "-n", "-c", "3", "-i", "0.2", "-W", "2", to],
    )
}
