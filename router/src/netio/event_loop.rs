//! The single-threaded mio loop that runs a [`Core`] over [`Device`]s: a
//! router's TAP [`Port`]s, or tapbridge's members of every kind.
//!
//! The core's only clock is this loop's: monotonic time since the loop was made,
//! as a [`crate::Instant`]. Its only timer is [`Core::poll_at`], which bounds each
//! poll. Every ready port is read until it is empty; frames the core sends are
//! written at once (a full device queue drops them), except the segments a port
//! with offloads joins into superframes, written when the poll's work is done
//! ([`Port::flush`]). An optional UDP socket ([`EventLoop::with_datagram_socket`])
//! carries a core's datagrams (RADIUS) on the same loop, so waiting for an
//! answer blocks nothing.

use std::io;
use std::net::SocketAddr;
use std::time::Duration as StdDuration;

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

use super::control::ControlSocket;
use super::device::Device;
use super::stop::{Stop, StopReason};
use super::tap::{Port, RecvOffload};
use crate::core::{Core, PortId, Rx, Tx};
use crate::ctl::Response;
use crate::gso::{MAX_SUPERFRAME, Offload};
use crate::{Duration, Instant};

const STOP: Token = Token(usize::MAX);
/// The control socket's listener; its connections take the tokens above it.
const CONTROL: Token = Token(1 << 30);
const DATAGRAM: Token = Token(usize::MAX - 1);

#[derive(Debug, thiserror::Error)]
pub enum LoopError {
    #[error("event loop: {what}: {error}")]
    Poll {
        what: &'static str,
        error: io::Error,
    },
    #[error("control socket {path}: {error}")]
    Control { path: String, error: io::Error },
    #[error("TAP {dev}: reading a frame: {error}")]
    Recv { dev: String, error: io::Error },
    #[error("datagram socket {addr}: {error}")]
    Datagram { addr: SocketAddr, error: io::Error },
}

pub struct EventLoop<D: Device = Port> {
    poll: Poll,
    events: Events,
    ports: Vec<D>,
    stop: Stop,
    control: Option<ControlSocket>,
    datagram: Option<UdpSocket>,
    start: std::time::Instant,
    buf: Box<[u8]>,
    /// Where a superframe is cut for a core that takes only ordinary frames.
    scratch: Box<[u8]>,
}

impl<D: Device> EventLoop<D> {
    /// Registers every port (its index is its [`PortId`]) and the stop error.
    pub fn new(mut ports: Vec<D>, mut stop: Stop) -> Result<EventLoop<D>, LoopError> {
        let err = |what| move |error| LoopError::Poll { what, error };
        let poll = Poll::new().map_err(err("creating the poll instance"))?;
        for (id, port) in ports.iter_mut().enumerate() {
            poll.registry()
                .register(port, Token(id), Interest::READABLE)
                .map_err(err("registering a port"))?;
        }
        poll.registry()
            .register(&mut stop, STOP, Interest::READABLE)
            .map_err(err("registering the stop source"))?;
        Ok(EventLoop {
            poll,
            events: Events::with_capacity(64),
            ports,
            stop,
            control: None,
            datagram: None,
            start: std::time::Instant::now(),
            // One octet more than the largest frame tells a cut one.
            buf: vec![0; MAX_SUPERFRAME + 1].into_boxed_slice(),
            scratch: vec![0; MAX_SUPERFRAME].into_boxed_slice(),
        })
    }

    /// Serves the control protocol ([`crate::ctl`]) on a unix socket at `path`.
    pub fn with_control(mut self, path: &std::path::Path) -> Result<EventLoop<D>, LoopError> {
        let socket = ControlSocket::bind(path, self.poll.registry(), CONTROL).map_err(|error| {
            LoopError::Control {
                path: path.display().to_string(),
                error,
            }
        })?;
        self.control = Some(socket);
        Ok(self)
    }

    /// Binds a UDP socket at `bind` (port 0: any) for the core's datagrams
    /// ([`Tx::send_datagram`], [`Core::on_datagram`]); its family must be the
    /// servers' (`0.0.0.0:0` to reach IPv4 servers, `[::]:0` for IPv6).
    pub fn with_datagram_socket(self, bind: SocketAddr) -> Result<EventLoop<D>, LoopError> {
        let socket = std::net::UdpSocket::bind(bind)
            .map_err(|error| LoopError::Datagram { addr: bind, error })?;
        self.with_udp_socket(socket)
    }

    /// [`EventLoop::with_datagram_socket`] with a socket bound elsewhere, e.g.
    /// in another network namespace ([`super::within`]).
    pub fn with_udp_socket(
        mut self,
        socket: std::net::UdpSocket,
    ) -> Result<EventLoop<D>, LoopError> {
        let addr = socket
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let err = |error| LoopError::Datagram { addr, error };
        socket.set_nonblocking(true).map_err(err)?;
        let mut socket = UdpSocket::from_std(socket);
        self.poll
            .registry()
            .register(&mut socket, DATAGRAM, Interest::READABLE)
            .map_err(err)?;
        self.datagram = Some(socket);
        Ok(self)
    }

    /// Where the datagram socket is bound (its port when bound to port 0).
    pub fn datagram_addr(&self) -> Option<SocketAddr> {
        self.datagram.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// Lets the core do its last work ([`Core::on_stop`], e.g. de-registrations),
    /// then keeps serving it for `period` so answers can arrive.
    pub fn finish<C: Core>(&mut self, core: &mut C, period: Duration) -> Result<(), LoopError> {
        let now = self.now();
        core.on_stop(now, &mut PortTx::new(&mut self.ports, &self.datagram));
        self.drain(core, period)
    }

    /// The wall-clock time at the loop's `Instant` zero: the `epoch` a core needs
    /// for PMIPv6 timestamps ([`crate::timestamp`]).
    pub fn epoch(&self) -> crate::timestamp::WallClock {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        wall.saturating_sub(self.start.elapsed())
    }

    /// The loop's clock; give it to a core's constructor so both share one origin.
    pub fn now(&self) -> Instant {
        clock(self.start)
    }

    pub fn ports(&self) -> &[D] {
        &self.ports
    }

    /// Runs until the stop source fires. The caller may then ask the core to do its
    /// last work (e.g. send de-registrations) and [`EventLoop::drain`] a moment.
    pub fn run<C: Core>(&mut self, core: &mut C) -> Result<StopReason, LoopError> {
        loop {
            if let Some(reason) = self.turn(core, None)? {
                return Ok(reason);
            }
        }
    }

    /// Keeps serving frames and timers for `period`, ignoring the stop error.
    pub fn drain<C: Core>(&mut self, core: &mut C, period: Duration) -> Result<(), LoopError> {
        let end = std::time::Instant::now() + StdDuration::from_micros(period.total_micros());
        while std::time::Instant::now() < end {
            self.turn(core, Some(end))?;
        }
        Ok(())
    }

    /// One poll: due timers (and what they sent written), then every ready port
    /// read until it is empty, then what the ports hold written.
    fn turn<C: Core>(
        &mut self,
        core: &mut C,
        until: Option<std::time::Instant>,
    ) -> Result<Option<StopReason>, LoopError> {
        let result = self.serve(core, until);
        for port in &mut self.ports {
            port.flush();
        }
        result
    }

    fn serve<C: Core>(
        &mut self,
        core: &mut C,
        until: Option<std::time::Instant>,
    ) -> Result<Option<StopReason>, LoopError> {
        let now = self.now();
        if core.poll_at().is_some_and(|at| at <= now) {
            core.on_timer(now, &mut PortTx::new(&mut self.ports, &self.datagram));
            // What the timers sent leaves now, not after the poll: a device that
            // batches its writes (tapbridge's packet sockets) would otherwise hold
            // a frame due now until the next frame or timer wakes the loop.
            for port in &mut self.ports {
                port.flush();
            }
        }
        let timeout = self.timeout(core.poll_at(), until);
        let EventLoop {
            poll,
            events,
            ports,
            stop,
            control,
            datagram,
            start,
            buf,
            scratch,
        } = self;
        if let Err(error) = poll.poll(events, timeout) {
            if error.kind() == io::ErrorKind::Interrupted {
                return Ok(None);
            }
            return Err(LoopError::Poll {
                what: "waiting for events",
                error,
            });
        }
        for event in events.iter() {
            let token = event.token();
            if let Some(ctl) = control.as_mut().filter(|c| c.owns(token)) {
                serve_control(core, ctl, poll.registry(), ports, datagram, token, *start);
            } else if token == DATAGRAM {
                read_datagrams(core, ports, datagram, buf, *start);
            } else if token != STOP {
                read_port(core, ports, datagram, token.0, (buf, scratch), *start)?;
            } else if until.is_none() {
                // While draining the stop was already acted on: repeats are ignored.
                let taken = stop.take().map_err(|error| LoopError::Poll {
                    what: "reading the stop source",
                    error,
                })?;
                if taken.is_some() {
                    return Ok(taken);
                }
            }
        }
        Ok(None)
    }

    fn timeout(
        &self,
        poll_at: Option<Instant>,
        until: Option<std::time::Instant>,
    ) -> Option<StdDuration> {
        let now = self.now();
        let timer = poll_at.map(|at| {
            StdDuration::from_micros(
                u64::try_from(at.total_micros() - now.total_micros()).unwrap_or(0),
            )
        });
        let end = until.map(|end| end.saturating_duration_since(std::time::Instant::now()));
        match (timer, end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

fn clock(start: std::time::Instant) -> Instant {
    Instant::from_micros(i64::try_from(start.elapsed().as_micros()).unwrap_or(i64::MAX))
}

/// Reads `id` until its queue is empty, handing each frame to the core: an
/// ordinary one to [`Core::on_frame`], one that still needs offload work to
/// [`Core::on_rx`] once its header proved true.
fn read_port<C: Core, D: Device>(
    core: &mut C,
    ports: &mut [D],
    datagram: &Option<UdpSocket>,
    id: PortId,
    (buf, scratch): (&mut [u8], &mut [u8]),
    start: std::time::Instant,
) -> Result<(), LoopError> {
    loop {
        let Some(port) = ports.get_mut(id) else {
            return Ok(());
        };
        let (n, vnet) = match port.recv_offload(buf) {
            Ok(RecvOffload::Frame { len, vnet }) => (len, vnet),
            Ok(RecvOffload::Empty) => return Ok(()),
            Err(error) => {
                return Err(LoopError::Recv {
                    dev: port.name().to_string(),
                    error,
                });
            }
        };
        if n >= buf.len() {
            // Filled the whole buffer: the kernel may have cut it.
            port.count_bad_offload();
            continue;
        }
        let frame = &mut buf[..n];
        let offload = match Offload::from_vnet(&vnet, frame) {
            Ok(offload) => offload,
            Err(e) => {
                port.count_bad_offload();
                log::debug!("{}: dropped a {n}-byte frame: {e}", port.name());
                continue;
            }
        };
        let tx = &mut PortTx::new(ports, datagram);
        if offload.is_none() {
            core.on_frame(clock(start), id, frame, tx);
        } else {
            core.on_rx(clock(start), id, Rx::new(frame, offload, scratch), tx);
        }
    }
}

/// Reads the datagram socket until it is empty, handing each datagram to the core.
/// A receive error (e.g. an ICMP error queued on the socket) is logged, not fatal:
/// the router goes on forwarding, and the core's own timers retry.
fn read_datagrams<C: Core, D: Device>(
    core: &mut C,
    ports: &mut [D],
    datagram: &Option<UdpSocket>,
    buf: &mut [u8],
    start: std::time::Instant,
) {
    let Some(socket) = datagram else {
        return;
    };
    loop {
        let (n, from) = match socket.recv_from(buf) {
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::warn!("datagram socket: receive failed: {e}");
                return;
            }
        };
        let data = buf.get(..n).unwrap_or_default();
        core.on_datagram(clock(start), from, data, &mut PortTx::new(ports, datagram));
    }
}

/// Answers the requests that arrived on one control connection.
fn serve_control<C: Core, D: Device>(
    core: &mut C,
    ctl: &mut ControlSocket,
    registry: &mio::Registry,
    ports: &mut [D],
    datagram: &Option<UdpSocket>,
    token: Token,
    start: std::time::Instant,
) {
    let Some(pending) = ctl.ready(registry, token) else {
        return;
    };
    for line in pending.lines {
        let mut response = match line {
            Ok(line) => core.control_line(clock(start), &line, &mut PortTx::new(ports, datagram)),
            Err(e) => Response::error(e),
        };
        for port in ports.iter() {
            port.add_counters(&mut response);
        }
        ctl.answer(registry, token, &response);
    }
    if pending.closed {
        ctl.finish(registry, token);
    }
}

/// Hands each frame to its port and each datagram to the socket at once; never
/// blocks.
struct PortTx<'a, D> {
    ports: &'a mut [D],
    datagram: &'a Option<UdpSocket>,
}

impl<'a, D: Device> PortTx<'a, D> {
    fn new(ports: &'a mut [D], datagram: &'a Option<UdpSocket>) -> Self {
        PortTx { ports, datagram }
    }

    fn port(&mut self, port: PortId) -> Option<&mut D> {
        let p = self.ports.get_mut(port);
        if p.is_none() {
            log::warn!("core sent a frame to port {port}, which does not exist");
        }
        p
    }
}

impl<D: Device> Tx for PortTx<'_, D> {
    fn send_datagram(&mut self, to: SocketAddr, datagram: &[u8]) {
        let Some(socket) = self.datagram else {
            log::warn!("dropped a datagram to {to}: this loop has no datagram socket");
            return;
        };
        // A full socket buffer drops it like a lossy link; the sender retries.
        if let Err(e) = socket.send_to(datagram, to) {
            log::warn!("dropped a {}-byte datagram to {to}: {e}", datagram.len());
        }
    }

    fn send(&mut self, port: PortId, frame: &[u8]) {
        if let Some(p) = self.port(port)
            && let Err(e) = p.send(frame)
        {
            log::debug!("{}: dropped a {}-byte frame: {e}", p.name(), frame.len());
        }
    }

    fn send_offload(&mut self, port: PortId, frame: &[u8], offload: &Offload) {
        if let Some(p) = self.port(port)
            && let Err(e) = p.send_offload(frame, offload)
        {
            log::debug!("{}: dropped a {}-byte frame: {e}", p.name(), frame.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wants a timer every `period`; records when it ran.
    struct Ticker {
        period: Duration,
        next: Instant,
        ran: Vec<Instant>,
    }

    impl Core for Ticker {
        fn on_frame(&mut self, _: Instant, _: PortId, _: &[u8], _: &mut dyn Tx) {}
        fn on_timer(&mut self, now: Instant, _: &mut dyn Tx) {
            self.ran.push(now);
            self.next = now + self.period;
        }
        fn poll_at(&self) -> Option<Instant> {
            Some(self.next)
        }
    }

    /// Answers `counters` with one table.
    struct Answering;

    impl Core for Answering {
        fn on_frame(&mut self, _: Instant, _: PortId, _: &[u8], _: &mut dyn Tx) {}
        fn on_timer(&mut self, _: Instant, _: &mut dyn Tx) {}
        fn poll_at(&self) -> Option<Instant> {
            None
        }
        fn control(
            &mut self,
            _: Instant,
            request: &crate::ctl::Request,
            _: &mut dyn Tx,
        ) -> crate::ctl::Response {
            let mut t = crate::ctl::Table::new("counters", &["counter", "value"]);
            t.row(vec!["rx.frames".into(), "3".into()]);
            match request {
                crate::ctl::Request::Counters {} => crate::ctl::Response::tables(vec![t]),
                other => crate::ctl::Response::error(format!("{other:?}: no")),
            }
        }
    }

    #[test]
    fn control_socket_answers_each_line_and_survives_garbage() {
        use std::io::{BufRead, BufReader, Write};
        let dir = std::env::temp_dir().join(format!("tapmip-ctl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.sock");
        let (stop, handle) = Stop::handle().unwrap();
        let mut event_loop = EventLoop::<Port>::new(Vec::new(), stop)
            .unwrap()
            .with_control(&path)
            .unwrap();
        let client_path = path.clone();
        let client = std::thread::spawn(move || {
            let mut s = std::os::unix::net::UnixStream::connect(&client_path).unwrap();
            s.write_all(b"{\"cmd\":\"counters\"}\nnot json\n\n{\"cmd\":\"log\",\"level\":\"loud\"}\n{\"cmd\":\"tunnels\"}\n")
                .unwrap();
            let mut lines = BufReader::new(s.try_clone().unwrap()).lines();
            let answers: Vec<String> = (0..4).map(|_| lines.next().unwrap().unwrap()).collect();
            // A second client is served too, and an endless line closes only its sender.
            let mut greedy = std::os::unix::net::UnixStream::connect(&client_path).unwrap();
            let _ = greedy.write_all(&vec![b'x'; crate::ctl::MAX_LINE + 10]);
            let mut rest = String::new();
            let _ = BufReader::new(greedy).read_line(&mut rest);
            handle.stop().unwrap();
            (answers, rest)
        });
        let mut core = Answering;
        event_loop.run(&mut core).unwrap();
        let (answers, rest) = client.join().unwrap();
        assert!(
            answers[0].starts_with("{\"ok\":true,\"tables\":[{\"title\":\"counters\""),
            "{}",
            answers[0]
        );
        assert!(answers[1].contains("bad request"), "{}", answers[1]);
        assert!(answers[2].contains("level: 'loud'"), "{}", answers[2]);
        assert!(answers[3].contains("Tunnels: no"), "{}", answers[3]);
        assert!(rest.contains("longer than"), "{rest}");
        drop(event_loop);
        assert!(!path.exists(), "the socket file is removed with the loop");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Answers every datagram with its bytes reversed, to its sender.
    struct Echo {
        got: Vec<SocketAddr>,
    }

    impl Core for Echo {
        fn on_frame(&mut self, _: Instant, _: PortId, _: &[u8], _: &mut dyn Tx) {}
        fn on_timer(&mut self, _: Instant, _: &mut dyn Tx) {}
        fn poll_at(&self) -> Option<Instant> {
            None
        }
        fn on_datagram(&mut self, _: Instant, from: SocketAddr, data: &[u8], tx: &mut dyn Tx) {
            self.got.push(from);
            let reversed: Vec<u8> = data.iter().rev().copied().collect();
            tx.send_datagram(from, &reversed);
        }
    }

    #[test]
    fn datagram_socket_carries_a_cores_datagrams_both_ways() {
        let (stop, handle) = Stop::handle().unwrap();
        let mut event_loop = EventLoop::<Port>::new(Vec::new(), stop)
            .unwrap()
            .with_datagram_socket("127.0.0.1:0".parse().unwrap())
            .unwrap();
        let server = event_loop.datagram_addr().unwrap();
        assert_ne!(server.port(), 0);
        let peer = std::thread::spawn(move || {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket
                .set_read_timeout(Some(StdDuration::from_secs(10)))
                .unwrap();
            let mut answers = Vec::new();
            for msg in [&b"abc"[..], b"radius"] {
                socket.send_to(msg, server).unwrap();
                let mut buf = [0u8; 64];
                let (n, from) = socket.recv_from(&mut buf).unwrap();
                assert_eq!(from, server);
                answers.push(buf[..n].to_vec());
            }
            handle.stop().unwrap();
            (socket.local_addr().unwrap(), answers)
        });
        let mut core = Echo { got: Vec::new() };
        event_loop.run(&mut core).unwrap();
        let (peer_addr, answers) = peer.join().unwrap();
        assert_eq!(answers, vec![b"cba".to_vec(), b"suidar".to_vec()]);
        assert_eq!(core.got, vec![peer_addr, peer_addr]);
    }

    /// A device that queues its writes until `flush`, as tapbridge's packet
    /// sockets do, over one end of a datagram pair.
    struct Batching {
        socket: mio::net::UnixDatagram,
        queued: Vec<Vec<u8>>,
    }

    impl mio::event::Source for Batching {
        fn register(
            &mut self,
            registry: &mio::Registry,
            token: mio::Token,
            interests: mio::Interest,
        ) -> io::Result<()> {
            self.socket.register(registry, token, interests)
        }
        fn reregister(
            &mut self,
            registry: &mio::Registry,
            token: mio::Token,
            interests: mio::Interest,
        ) -> io::Result<()> {
            self.socket.reregister(registry, token, interests)
        }
        fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
            self.socket.deregister(registry)
        }
    }

    impl Device for Batching {
        fn name(&self) -> &str {
            "batching"
        }
        fn recv_offload(&mut self, _: &mut [u8]) -> io::Result<RecvOffload> {
            Ok(RecvOffload::Empty)
        }
        fn count_bad_offload(&mut self) {}
        fn send(&mut self, frame: &[u8]) -> io::Result<()> {
            self.queued.push(frame.to_vec());
            Ok(())
        }
        fn send_offload(&mut self, frame: &[u8], _: &Offload) -> io::Result<()> {
            self.send(frame)
        }
        fn flush(&mut self) {
            for frame in self.queued.drain(..) {
                let _ = self.socket.send(&frame);
            }
        }
    }

    /// Sends one frame from a timer, then wants no more timers.
    struct SendOnce {
        at: Option<Instant>,
    }

    impl Core for SendOnce {
        fn on_frame(&mut self, _: Instant, _: PortId, _: &[u8], _: &mut dyn Tx) {}
        fn on_timer(&mut self, _: Instant, tx: &mut dyn Tx) {
            self.at = None;
            tx.send(0, b"due now");
        }
        fn poll_at(&self) -> Option<Instant> {
            self.at
        }
    }

    #[test]
    fn a_frame_a_timer_sends_leaves_before_the_loop_waits_again() {
        let (ours, theirs) = std::os::unix::net::UnixDatagram::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let device = Batching {
            socket: mio::net::UnixDatagram::from_std(ours),
            queued: Vec::new(),
        };
        let (stop, handle) = Stop::handle().unwrap();
        let mut event_loop = EventLoop::new(vec![device], stop).unwrap();
        let mut core = SendOnce {
            at: Some(event_loop.now() + Duration::from_millis(20)),
        };
        let peer = std::thread::spawn(move || {
            // Nothing else wakes the loop: a frame still queued after the timer
            // would only leave when the stop does.
            theirs
                .set_read_timeout(Some(StdDuration::from_secs(10)))
                .unwrap();
            let mut buf = [0u8; 16];
            let got = theirs.recv(&mut buf).map(|n| buf[..n].to_vec());
            handle.stop().unwrap();
            got
        });
        event_loop.run(&mut core).unwrap();
        let got = peer.join().unwrap();
        assert_eq!(got.unwrap(), b"due now");
    }

    #[test]
    fn timers_run_when_due_until_stopped_then_drain_keeps_serving() {
        let (stop, handle) = Stop::handle().unwrap();
        let mut event_loop = EventLoop::<Port>::new(Vec::new(), stop).unwrap();
        let mut core = Ticker {
            period: Duration::from_millis(20),
            next: event_loop.now() + Duration::from_millis(20),
            ran: Vec::new(),
        };
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(StdDuration::from_millis(200));
            handle.stop().unwrap();
            // A second stop while draining must not cut the drain short.
            std::thread::sleep(StdDuration::from_millis(20));
            handle.stop().unwrap();
        });
        assert_eq!(event_loop.run(&mut core).unwrap(), StopReason::Requested);
        let after_run = core.ran.len();
        // Few ticks are enough: a loaded machine may delay wake-ups, never advance them.
        assert!(after_run >= 2, "{:?}", core.ran);
        let spaced = core.ran.windows(2).all(|w| w[1] - w[0] >= core.period);
        assert!(spaced, "a timer ran before it was due: {:?}", core.ran);

        event_loop
            .drain(&mut core, Duration::from_millis(100))
            .unwrap();
        stopper.join().unwrap();
        assert!(core.ran.len() > after_run, "{:?}", core.ran);
    }
}
