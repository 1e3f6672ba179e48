//! The UDP echo probe: the client sends a datagram every interval, the echo side
//! (the VM) answers each at once; the client's record gives the downtime.
//!
//! Datagram (both directions, integers big-endian):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                   Marker "tapmip-probe" (12)                  +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Sequence number (64 bits)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Timestamp: ns since the client's start, monotonic (64)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The echo carries the request's timestamp and sequence number + 1 (paper,
//! "Measurements"). Trailing bytes are allowed and not echoed.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::report::{Answer, UdpReport, UdpRun};
use super::{Pacer, ProbeError, Until, nanos_since, stop_signalled};

pub const MARKER: &[u8; 12] = b"tapmip-probe";

mod field {
    use std::ops::Range;

    pub const MARKER: Range<usize> = 0..12;
    pub const SEQ: Range<usize> = 12..20;
    pub const TIMESTAMP: Range<usize> = 20..28;
}

pub const DATAGRAM_LEN: usize = field::TIMESTAMP.end;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DatagramError {
    #[error("datagram of {0} bytes is shorter than the {DATAGRAM_LEN}-byte probe header")]
    Truncated(usize),
    #[error("datagram does not start with the marker \"tapmip-probe\"")]
    NoMarker,
}

/// A probe request or echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    pub seq: u64,
    pub timestamp_ns: u64,
}

impl Datagram {
    pub fn parse(buf: &[u8]) -> Result<Datagram, DatagramError> {
        let word = |range: std::ops::Range<usize>| {
            buf.get(range)
                .and_then(|bytes| bytes.try_into().ok())
                .map(u64::from_be_bytes)
                .ok_or(DatagramError::Truncated(buf.len()))
        };
        let (seq, timestamp_ns) = (word(field::SEQ)?, word(field::TIMESTAMP)?);
        if buf.get(field::MARKER) != Some(MARKER.as_slice()) {
            return Err(DatagramError::NoMarker);
        }
        Ok(Datagram { seq, timestamp_ns })
    }

    pub fn emit(&self) -> [u8; DATAGRAM_LEN] {
        let mut buf = [0; DATAGRAM_LEN];
        buf[field::MARKER].copy_from_slice(MARKER);
        buf[field::SEQ].copy_from_slice(&self.seq.to_be_bytes());
        buf[field::TIMESTAMP].copy_from_slice(&self.timestamp_ns.to_be_bytes());
        buf
    }

    /// The answer to this request.
    pub fn echo(&self) -> Datagram {
        Datagram {
            seq: self.seq.wrapping_add(1),
            timestamp_ns: self.timestamp_ns,
        }
    }
}

/// What the echo side did, reported when it is stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EchoStats {
    pub echoed: u64,
    /// Datagrams without the probe header, not answered.
    pub ignored: u64,
    pub send_errors: u64,
}

/// How often blocking loops look at the stop signal.
const POLL: Duration = Duration::from_millis(100);

/// Binds the echo socket. `rcvbuf` shrinks its receive buffer, so that requests
/// arriving while the echo is not running (stopped, migrating) are dropped as on
/// a real outage instead of being queued and answered late.
pub fn bind_echo(listen: SocketAddr, rcvbuf: Option<usize>) -> Result<UdpSocket, ProbeError> {
    let socket = UdpSocket::bind(listen).map_err(ProbeError::io(format!("binding {listen}")))?;
    if let Some(bytes) = rcvbuf {
        let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        // SAFETY: a valid socket fd and a c_int option value of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&bytes as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(ProbeError::Io {
                what: "setting SO_RCVBUF".into(),
                source: std::io::Error::last_os_error(),
            });
        }
    }
    Ok(socket)
}

/// Answers every probe request on `socket` until a stop signal.
pub fn echo(socket: &UdpSocket) -> Result<EchoStats, ProbeError> {
    socket
        .set_read_timeout(Some(POLL))
        .map_err(ProbeError::io("setting the echo socket's timeout"))?;
    let mut stats = EchoStats::default();
    let mut buf = [0u8; 2048];
    while !stop_signalled() {
        let (len, from) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e) if is_transient(&e) => continue,
            Err(e) => return Err(ProbeError::io("receiving probe requests")(e)),
        };
        match Datagram::parse(buf.get(..len).unwrap_or_default()) {
            Ok(request) => match socket.send_to(&request.echo().emit(), from) {
                Ok(_) => stats.echoed += 1,
                Err(_) => stats.send_errors += 1,
            },
            Err(_) => stats.ignored += 1,
        }
    }
    Ok(stats)
}

/// Errors a polling loop just goes round again on.
fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{Interrupted, TimedOut, WouldBlock};
    matches!(e.kind(), WouldBlock | TimedOut | Interrupted)
}

/// The client side of a run.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub to: SocketAddr,
    pub interval: Duration,
    /// How long to keep listening for late echoes once sending has stopped.
    pub grace: Duration,
}

/// Sends a request every `interval` to the echo until `until`, then waits the
/// grace period for late echoes, and reports. `until` is built on the same `start`.
///
/// Echoes are received on a thread of their own, so that sending is paced by
/// sleeping (hrtimer-precise) rather than by socket timeouts (jiffy-rounded).
pub fn client(
    config: &ClientConfig,
    start: Instant,
    until: &Until,
) -> Result<UdpReport, ProbeError> {
    let any: SocketAddr = match config.to {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    // Not connected: the echo may answer from another of the VM's addresses, and
    // ICMP errors during an outage must not surface as receive errors.
    let socket = UdpSocket::bind(any).map_err(ProbeError::io("binding the client socket"))?;
    let receiving = socket
        .try_clone()
        .and_then(|s| s.set_read_timeout(Some(POLL)).map(|()| s))
        .map_err(ProbeError::io("setting up the receiving socket"))?;
    let done = Arc::new(AtomicBool::new(false));
    let receiver = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || receive(&receiving, start, &done))
    };

    let mut run = UdpRun {
        interval_ms: config.interval.as_secs_f64() * 1e3,
        ..UdpRun::default()
    };
    let mut pacer = Pacer::new(start, config.interval);
    loop {
        let now = Instant::now();
        if until.reached(now) {
            break;
        }
        let due = pacer.due();
        if now < due {
            std::thread::sleep(due - now);
            continue;
        }
        let request = Datagram {
            seq: run.sent_ns.len() as u64,
            timestamp_ns: nanos_since(start, now),
        };
        if socket.send_to(&request.emit(), config.to).is_err() {
            run.send_errors += 1;
        }
        run.sent_ns.push(request.timestamp_ns);
        pacer.advance(now);
    }
    std::thread::sleep(config.grace);
    done.store(true, Ordering::Relaxed);
    let (answers, malformed) = receiver
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    run.answers = answers;
    run.malformed = malformed;
    Ok(UdpReport::from_run(&run))
}

/// Records every datagram arriving on `socket` until `done`: the echoes, and how
/// many were not probe datagrams.
fn receive(
    socket: &UdpSocket,
    start: Instant,
    done: &AtomicBool,
) -> Result<(Vec<Answer>, u64), ProbeError> {
    let (mut answers, mut malformed) = (Vec::new(), 0);
    let mut buf = [0u8; 2048];
    while !done.load(Ordering::Relaxed) {
        let len = match socket.recv(&mut buf) {
            Ok(len) => len,
            Err(e) if is_transient(&e) => continue,
            Err(e) => return Err(ProbeError::io("receiving echoes")(e)),
        };
        let received_ns = nanos_since(start, Instant::now());
        match Datagram::parse(buf.get(..len).unwrap_or_default()) {
            Ok(echo) => answers.push(Answer {
                seq: echo.seq,
                timestamp_ns: echo.timestamp_ns,
                received_ns,
            }),
            Err(_) => malformed += 1,
        }
    }
    Ok((answers, malformed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagram_round_trip_and_echo() {
        let request = Datagram {
            seq: 812,
            timestamp_ns: 8_120_000_123,
        };
        let bytes = request.emit();
        assert_eq!(&bytes[..12], b"tapmip-probe");
        assert_eq!(Datagram::parse(&bytes), Ok(request));
        let echo = request.echo();
        assert_eq!((echo.seq, echo.timestamp_ns), (813, 8_120_000_123));
        assert_eq!(
            Datagram {
                seq: u64::MAX,
                ..request
            }
            .echo()
            .seq,
            0
        );
    }

    #[test]
    fn trailing_bytes_are_allowed() {
        let mut bytes = Datagram {
            seq: 1,
            timestamp_ns: 2,
        }
        .emit()
        .to_vec();
        bytes.extend_from_slice(b"padding");
        assert_eq!(Datagram::parse(&bytes).map(|d| d.seq), Ok(1));
    }

    #[test]
    fn malformed_datagrams_are_rejected() {
        let bytes = Datagram {
            seq: 1,
            timestamp_ns: 2,
        }
        .emit();
        for len in 0..DATAGRAM_LEN {
            assert_eq!(
                Datagram::parse(&bytes[..len]),
                Err(DatagramError::Truncated(len))
            );
        }
        let mut wrong = bytes;
        wrong[0] = b'T';
        assert_eq!(Datagram::parse(&wrong), Err(DatagramError::NoMarker));
    }
}
