//! Bulk TCP between two lab hosts with socat, checked byte for byte.

use std::net::IpAddr;
use std::time::Duration;

use crate::{LabError, Sandbox, payload, wait};

const PORT: u16 = 5001;

/// Sends `bytes` of [`payload::make`] from host `from` to `to_addr` (IPv6 or
/// IPv4) on host `to` over one TCP connection and checks that every byte
/// arrived in order.
pub fn transfer(
    lab: &mut Sandbox,
    from: &str,
    to: &str,
    to_addr: impl Into<IpAddr>,
    bytes: usize,
) -> Result<(), LabError> {
    let sent = payload::make(bytes);
    let src = lab.workdir().join(format!("{from}-sent.bin"));
    let dst = lab.workdir().join(format!("{to}-received.bin"));
    std::fs::write(&src, &sent).map_err(|error| LabError::Io {
        what: format!("writing {}", src.display()),
        error,
    })?;
    let server = format!("tcp-server-{to}");
    let (listen, connect) = match to_addr.into() {
        IpAddr::V6(a) => (
            format!("TCP6-LISTEN:{PORT},reuseaddr"),
            format!("TCP6:[{a}]:{PORT}"),
        ),
        IpAddr::V4(a) => (
            format!("TCP4-LISTEN:{PORT},reuseaddr"),
            format!("TCP4:{a}:{PORT}"),
        ),
    };
    let sink = format!("CREATE:{}", dst.display());
    lab.spawn(Some(to), &server, &["socat", "-u", &listen, &sink])?;
    let input = format!("OPEN:{}", src.display());
    // The server may not listen yet: a refused connection is retried.
    let mut last = String::new();
    let sent_ok = wait::until(Duration::from_secs(5), || {
        let out = lab.try_exec(from, &["socat", "-u", &input, &connect])?;
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        Ok(out.status.success().then_some(()))
    })?;
    if sent_ok.is_none() {
        return Err(LabError::Check(format!(
            "{from} could not send to {connect}: {}; the receiver in {to} said:\n{}",
            last.trim(),
            lab.log_of(&server)
        )));
    }
    let done = wait::until(Duration::from_secs(30), || lab.exited(&server))?;
    match done {
        Some(status) if status.success() => {}
        other => {
            return Err(LabError::Check(format!(
                "the TCP receiver in {to} did not finish cleanly ({other:?}):\n{}",
                lab.log_of(&server)
            )));
        }
    }
    payload::compare(&sent, &dst).map_err(LabError::Check)
}
