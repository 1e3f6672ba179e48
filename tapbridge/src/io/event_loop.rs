//! tapbridge's single-threaded mio loop: the members' fds, the control socket and
//! the stop source, around a [`Bridge`].
//!
//! It is the router's loop pattern with members of several kinds instead of TAP
//! ports only; all descriptors of a member (a listener and its connection) share
//! the member's token. Frames the core sends are written at once; a full queue drops them and
//! counts the drop on the member.

use std::io;
use std::path::Path;
use std::time::Duration as StdDuration;

use mio::{Events, Interest, Poll, Token};
use router::Instant;
use router::core::{Core, Tx};
use router::ctl::Response;
use router::netio::control::ControlSocket;
use router::netio::tap::MAX_FRAME;
use router::netio::{Stop, StopReason};
use router::pcap::PcapWriter;

use super::member::{MemberIo, Read};
use crate::bridge::{Bridge, MemberId};
use crate::ctl::{Request, parse_request};

const STOP: Token = Token(usize::MAX);
/// The control socket's listener; its connections take the tokens above it.
const CONTROL: Token = Token(1 << 40);

/// I/O counters the core cannot see: writes the kernel refused.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IoStats {
    pub write_errors: u64,
    pub reads_skipped: u64,
}

pub struct EventLoop {
    poll: Poll,
    events: Events,
    members: Vec<MemberIo>,
    names: Vec<String>,
    io_stats: Vec<IoStats>,
    stop: Stop,
    control: Option<ControlSocket>,
    start: Start,
    buf: Box<[u8]>,
}

impl EventLoop {
    /// Registers every member (its index is its [`MemberId`]) and the stop source,
    /// and serves the control socket at `control`.
    pub fn new(
        members: Vec<(String, MemberIo)>,
        mut stop: Stop,
        control: Option<&Path>,
    ) -> io::Result<EventLoop> {
        let poll = Poll::new()?;
        let (names, mut members): (Vec<String>, Vec<MemberIo>) = members.into_iter().unzip();
        for (id, member) in members.iter_mut().enumerate() {
            member.register(poll.registry(), Token(id))?;
        }
        poll.registry()
            .register(&mut stop, STOP, Interest::READABLE)?;
        let control = control
            .map(|path| {
                ControlSocket::bind(path, poll.registry(), CONTROL).map_err(|e| {
                    io::Error::new(e.kind(), format!("control socket {}: {e}", path.display()))
                })
            })
            .transpose()?;
        Ok(EventLoop {
            poll,
            events: Events::with_capacity(64),
            io_stats: vec![IoStats::default(); members.len()],
            members,
            names,
            stop,
            control,
            start: Start::now(),
            buf: vec![0; MAX_FRAME].into_boxed_slice(),
        })
    }

    pub fn now(&self) -> Instant {
        clock(self.start)
    }

    pub fn io_stats(&self) -> &[IoStats] {
        &self.io_stats
    }

    /// Runs until the stop source fires.
    pub fn run(&mut self, bridge: &mut Bridge) -> io::Result<StopReason> {
        loop {
            if let Some(reason) = self.turn(bridge)? {
                return Ok(reason);
            }
        }
    }

    fn turn(&mut self, bridge: &mut Bridge) -> io::Result<Option<StopReason>> {
        let now = self.now();
        if bridge.poll_at().is_some_and(|at| at <= now) {
            bridge.on_timer(
                now,
                &mut MemberTx(&mut self.members, &mut self.io_stats, &self.names),
            );
        }
        let timeout = bridge.poll_at().map(|at| {
            let micros = at.total_micros() - self.now().total_micros();
            StdDuration::from_micros(u64::try_from(micros).unwrap_or(0))
        });
        if let Err(e) = self.poll.poll(&mut self.events, timeout) {
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(None);
            }
            return Err(e);
        }
        let tokens: Vec<Token> = self.events.iter().map(|e| e.token()).collect();
        for token in tokens {
            if token == STOP {
                if let Some(reason) = self.stop.take()? {
                    return Ok(Some(reason));
                }
            } else if self.control.as_ref().is_some_and(|c| c.owns(token)) {
                self.serve_control(bridge, token);
            } else {
                self.read_member(bridge, token.0)?;
            }
        }
        Ok(None)
    }

    /// Answers the requests that arrived on one control connection.
    fn serve_control(&mut self, bridge: &mut Bridge, token: Token) {
        let Some(control) = self.control.as_mut() else {
            return;
        };
        let registry = self.poll.registry();
        let Some(pending) = control.ready(registry, token) else {
            return;
        };
        for line in pending.lines {
            let response = match line.and_then(|l| parse_request(&l)) {
                Ok(Request::Capture { segment, file }) => {
                    capture(bridge, &segment, file.as_deref())
                }
                Ok(request) => {
                    let mut tx = MemberTx(&mut self.members, &mut self.io_stats, &self.names);
                    let mut response = bridge.control(clock(self.start), &request, &mut tx);
                    if request == (Request::Counters {}) {
                        add_io_counters(&self.names, &self.io_stats, &mut response);
                    }
                    response
                }
                Err(e) => Response::error(e),
            };
            control.answer(registry, token, &response);
        }
        if pending.closed {
            control.finish(registry, token);
        }
    }

    /// Reads member `id` until its queue is empty, handing each frame to the core.
    fn read_member(&mut self, bridge: &mut Bridge, id: MemberId) -> io::Result<()> {
        loop {
            let Some(member) = self.members.get_mut(id) else {
                return Ok(());
            };
            let n = match member.recv(&mut self.buf) {
                Ok(Read::Frame(n)) => n,
                Ok(Read::Skip) => {
                    if let Some(s) = self.io_stats.get_mut(id) {
                        s.reads_skipped += 1;
                    }
                    continue;
                }
                Ok(Read::Empty) => return Ok(()),
                Err(e) => {
                    let name = self.names.get(id).map_or("?", String::as_str);
                    return Err(io::Error::new(
                        e.kind(),
                        format!("member {name}: reading: {e}"),
                    ));
                }
            };
            let frame = self.buf.get(..n).unwrap_or_default();
            let mut tx = MemberTx(&mut self.members, &mut self.io_stats, &self.names);
            bridge.on_frame(clock(self.start), id, frame, &mut tx);
        }
    }
}

/// Appends what only the loop counts to the counters table: frames a member's
/// descriptor refused (a full or absent peer: a socket member whose QEMU does
/// not read, or is gone).
fn add_io_counters(names: &[String], io_stats: &[IoStats], response: &mut Response) {
    let Some(table) = response.tables.first_mut() else {
        return;
    };
    for (name, io) in names.iter().zip(io_stats) {
        for (counter, value) in [
            ("io.write_errors", io.write_errors),
            ("io.reads_skipped", io.reads_skipped),
        ] {
            if value > 0 {
                table.row(vec![name.clone(), counter.into(), value.to_string()]);
            }
        }
    }
}

/// Opens (or closes) the capture file of a segment. The file is unbuffered so
/// that readers see every frame while the capture runs.
/// Starts (`Some(file)`) or stops capturing `segment` into a pcap file.
pub fn capture(bridge: &mut Bridge, segment: &str, file: Option<&str>) -> Response {
    let writer = match file {
        None => None,
        Some(path) => {
            let opened = std::fs::File::create(path)
                .and_then(|f| PcapWriter::new(Box::new(f) as Box<dyn io::Write>));
            match opened {
                Ok(w) => Some(w),
                Err(e) => return Response::error(format!("capture file {path}: {e}")),
            }
        }
    };
    match bridge.set_capture(segment, writer) {
        Ok(old) => {
            if let Some(mut old) = old
                && let Err(e) = old.flush()
            {
                log::warn!("segment {segment}: finishing the previous capture: {e}");
            }
            log::info!("segment {segment}: capture {}", file.unwrap_or("stopped"));
            Response::tables(Vec::new())
        }
        Err(e) => Response::error(e.to_string()),
    }
}

/// When the loop started, on the monotonic clock and on the wall clock.
#[derive(Clone, Copy)]
struct Start {
    mono: std::time::Instant,
    wall_micros: i64,
}

impl Start {
    fn now() -> Start {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Start {
            mono: std::time::Instant::now(),
            wall_micros: i64::try_from(wall.as_micros()).unwrap_or(0),
        }
    }
}

/// The core's clock: monotonic, and reading Unix time as of the start, so that
/// captures carry real dates and line up with other programs' timestamps
/// (QEMU's QMP events).
fn clock(start: Start) -> Instant {
    let elapsed = i64::try_from(start.mono.elapsed().as_micros()).unwrap_or(i64::MAX);
    Instant::from_micros(start.wall_micros.saturating_add(elapsed))
}

/// Writes each frame to its member at once; never blocks.
struct MemberTx<'a>(&'a mut [MemberIo], &'a mut [IoStats], &'a [String]);

impl Tx for MemberTx<'_> {
    fn send(&mut self, id: MemberId, frame: &[u8]) {
        let Some(member) = self.0.get_mut(id) else {
            return;
        };
        if let Err(e) = member.send(frame) {
            if let Some(s) = self.1.get_mut(id) {
                s.write_errors += 1;
            }
            let name = self.2.get(id).map_or("?", String::as_str);
            log::debug!("{name}: dropped a {}-byte frame: {e}", frame.len());
        }
    }
}
