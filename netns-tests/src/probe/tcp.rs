//! The TCP survivability probe: the VM keeps one connection to the client busy
//! with a small message every interval; the server (client namespace) is a sink.
//!
//! The session is lost if a send fails or recv() returns 0 or an error before the
//! run ends (paper, "Measurements"). A short outage must only stall it: the kernel
//! retransmits with its usual backoff, and TCP_USER_TIMEOUT bounds how long unacked
//! data may wait before the kernel gives up.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::report::{TcpReport, TcpRun, TcpServerReport};
use super::{Pacer, ProbeError, Until, nanos_since, stop_signalled};

/// How often blocking loops look at the stop signal.
const POLL: Duration = Duration::from_millis(100);

/// Accepts one connection on `listener` and reads it to its end (or a stop signal).
pub fn server(listener: &TcpListener) -> Result<TcpServerReport, ProbeError> {
    listener
        .set_nonblocking(true)
        .map_err(ProbeError::io("making the listener non-blocking"))?;
    let (mut stream, peer) = loop {
        match listener.accept() {
            Ok(accepted) => break accepted,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                if stop_signalled() {
                    return Ok(TcpServerReport {
                        peer: None,
                        bytes_received: 0,
                        clean_close: false,
                        error: Some("stopped before any connection".into()),
                    });
                }
                std::thread::sleep(POLL);
            }
            Err(e) => return Err(ProbeError::io("accepting the probe connection")(e)),
        }
    };
    let setup = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_read_timeout(Some(POLL)));
    setup.map_err(ProbeError::io("setting up the accepted connection"))?;
    let mut report = TcpServerReport {
        peer: Some(peer.to_string()),
        bytes_received: 0,
        clean_close: false,
        error: None,
    };
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => {
                report.clean_close = true;
                break;
            }
            Ok(n) => report.bytes_received += n as u64,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                report.error = Some(format!("recv: {e}"));
                break;
            }
        }
        if stop_signalled() {
            report.error = Some("stopped while the peer was still connected".into());
            break;
        }
    }
    Ok(report)
}

/// The client side of a run.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub to: SocketAddr,
    pub interval: Duration,
    /// How long to retry connecting: the server may not listen yet.
    pub connect_timeout: Duration,
    /// TCP_USER_TIMEOUT: how long sent data may stay unacknowledged.
    pub user_timeout: Duration,
}

/// Connects, retrying refusals until the connect timeout.
pub fn connect(config: &ClientConfig) -> Result<TcpStream, ProbeError> {
    let give_up = Instant::now() + config.connect_timeout;
    let stream = loop {
        match TcpStream::connect_timeout(&config.to, config.connect_timeout) {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < give_up && !stop_signalled() => {
                std::thread::sleep(POLL);
            }
            Err(e) => return Err(ProbeError::io(format!("connecting to {}", config.to))(e)),
        }
    };
    let millis = u32::try_from(config.user_timeout.as_millis()).unwrap_or(u32::MAX);
    // SAFETY: a valid socket fd and a u32 option value of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_USER_TIMEOUT,
            (&millis as *const u32).cast(),
            std::mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(ProbeError::Io {
            what: "setting TCP_USER_TIMEOUT".into(),
            source: std::io::Error::last_os_error(),
        });
    }
    // Non-blocking: a full send buffer during an outage is a stall to measure, not a
    // reason to stop looking at the clock and the stop conditions.
    let setup = stream
        .set_nodelay(true)
        .and_then(|()| stream.set_nonblocking(true));
    setup.map_err(ProbeError::io("setting up the probe connection"))?;
    Ok(stream)
}

/// Sends a message every `interval` on `stream` until `until` or the session's
/// loss, then closes the sending side cleanly so the server sees a FIN.
pub fn client(
    mut stream: TcpStream,
    interval: Duration,
    start: Instant,
    until: &Until,
) -> TcpReport {
    let mut run = TcpRun::default();
    let mut pacer = Pacer::new(start, interval);
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let now = Instant::now();
        if until.reached(now) {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                run.first_error = Some("recv() returned 0: the peer closed".into());
                break;
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(e) => {
                run.first_error = Some(format!("recv: {e}"));
                break;
            }
        }
        let due = pacer.due();
        if now < due {
            std::thread::sleep(due - now);
            continue;
        }
        if pending.is_empty() {
            pending = format!("tapmip-probe {}\n", run.sends_done_ns.len()).into_bytes();
        }
        match stream.write(&pending) {
            Ok(n) => {
                pending.drain(..n.min(pending.len()));
                run.bytes_sent += n as u64;
                if pending.is_empty() {
                    run.sends_done_ns.push(nanos_since(start, Instant::now()));
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(e) => {
                run.first_error = Some(format!("send: {e}"));
                break;
            }
        }
        pacer.advance(now);
    }
    run.end_ns = nanos_since(start, Instant::now());
    if run.first_error.is_none() {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    TcpReport::from_run(&run)
}
