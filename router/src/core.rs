//! The contract between a protocol core and the I/O loop that runs it.
//!
//! A core never reads the clock and never touches a file descriptor: the loop
//! passes `now` in with every event, and the core hands frames to a [`Tx`].
//! Tests drive the same cores with a fake clock and an in-memory [`Tx`].
//!
//! Besides frames, a core may talk UDP (e.g. RADIUS, [`crate::aaa`]) through the
//! loop's one datagram socket: [`Tx::send_datagram`] out, [`Core::on_datagram`] in.

use std::net::SocketAddr;

use crate::Instant;
use crate::ctl::{Request, Response, parse_request, set_log_level};
use crate::gso::{MAX_SUPERFRAME, Offload, OffloadError, to_plain};

/// Index of a port (one TAP device) in the order the router was given them.
pub type PortId = usize;

/// Where a core puts the frames it wants transmitted.
pub trait Tx {
    fn send(&mut self, port: PortId, frame: &[u8]);

    /// Sends a frame that still needs offload work (a superframe, or a partial
    /// checksum) as one unit where the port's kernel side takes it. This
    /// default, for in-memory transmitters, sends it as ordinary frames.
    fn send_offload(&mut self, port: PortId, frame: &[u8], offload: &Offload) {
        let mut out = vec![0; MAX_SUPERFRAME];
        if let Err(e) = to_plain(frame, offload, &mut out, &mut |f| self.send(port, f)) {
            log::debug!("port {port}: dropped a {}-byte frame: {e}", frame.len());
        }
    }

    /// Sends one UDP datagram from the loop's datagram socket. A `Tx` without one
    /// drops it, loudly: a core configured for RADIUS on a loop without a socket
    /// is a wiring mistake, not a lossy network.
    fn send_datagram(&mut self, to: SocketAddr, datagram: &[u8]) {
        log::warn!(
            "dropped a {}-byte datagram to {to}: this loop has no datagram socket",
            datagram.len()
        );
    }
}

/// A frame read from a port with offloads that still needs work, its
/// virtio-net header already checked against it ([`Offload::from_vnet`]).
pub struct Rx<'a> {
    pub frame: &'a mut [u8],
    pub offload: Offload,
    /// Room for one segment (a superframe's largest) for [`Rx::into_plain`].
    scratch: &'a mut [u8],
}

impl<'a> Rx<'a> {
    pub fn new(frame: &'a mut [u8], offload: Offload, scratch: &'a mut [u8]) -> Rx<'a> {
        Rx {
            frame,
            offload,
            scratch,
        }
    }

    /// The frame, its offload and the scratch room, for a core that handles
    /// superframes itself.
    pub fn into_parts(self) -> (&'a mut [u8], Offload, &'a mut [u8]) {
        (self.frame, self.offload, self.scratch)
    }

    /// Hands the frame to `emit` as ordinary frames: a superframe cut into its
    /// segments, a partial checksum completed. Returns how many.
    pub fn into_plain(self, emit: &mut dyn FnMut(&[u8])) -> Result<usize, OffloadError> {
        to_plain(self.frame, &self.offload, self.scratch, emit)
    }
}

/// Collects frames in memory; what tests and simulations use as a [`Tx`].
impl Tx for Vec<(PortId, Vec<u8>)> {
    fn send(&mut self, port: PortId, frame: &[u8]) {
        self.push((port, frame.to_vec()));
    }
}

/// Collects frames and datagrams in memory, for tests of cores that talk UDP.
#[derive(Debug, Default)]
pub struct Sent {
    pub frames: Vec<(PortId, Vec<u8>)>,
    pub datagrams: Vec<(SocketAddr, Vec<u8>)>,
}

impl Tx for Sent {
    fn send(&mut self, port: PortId, frame: &[u8]) {
        self.frames.push((port, frame.to_vec()));
    }
    fn send_datagram(&mut self, to: SocketAddr, datagram: &[u8]) {
        self.datagrams.push((to, datagram.to_vec()));
    }
}

/// A protocol state machine: `(now, event) -> frames`, with `poll_at` telling the
/// loop when it next wants [`Core::on_timer`].
pub trait Core {
    /// One whole Ethernet frame received on `port`.
    fn on_frame(&mut self, now: Instant, port: PortId, frame: &[u8], tx: &mut dyn Tx);
    /// A frame from a port with offloads that still needs work (a superframe or
    /// a partial checksum). The default makes ordinary frames of it for
    /// [`Core::on_frame`]; a core that forwards superframes whole overrides it.
    fn on_rx(&mut self, now: Instant, port: PortId, rx: Rx<'_>, tx: &mut dyn Tx) {
        if let Err(e) = rx.into_plain(&mut |frame| self.on_frame(now, port, frame, tx)) {
            log::debug!("port {port}: dropped a frame: {e}");
        }
    }
    /// Called when `now >= poll_at()`; the core runs every deadline that is due.
    fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx);
    /// The earliest instant at which the core needs `on_timer`, if any.
    fn poll_at(&self) -> Option<Instant>;
    /// Answers one control-socket request ([`Core::control_line`] handles `log`).
    fn control(&mut self, _now: Instant, request: &Request, _tx: &mut dyn Tx) -> Response {
        Response::error(format!("{request:?}: not supported by this router"))
    }
    /// Answers one control-socket line. The default parses the routers'
    /// requests ([`crate::ctl`]), sets the log level itself and hands the rest
    /// to [`Core::control`]; a core with requests of its own (tapbridge) parses
    /// them here.
    fn control_line(&mut self, now: Instant, line: &str, tx: &mut dyn Tx) -> Response {
        match parse_request(line) {
            Ok(Request::Log { level }) => match set_log_level(&level) {
                Ok(()) => Response::tables(Vec::new()),
                Err(e) => Response::error(e),
            },
            Ok(request) => self.control(now, &request, tx),
            Err(e) => Response::error(e),
        }
    }
    /// One UDP datagram received on the loop's datagram socket, from `from`
    /// (untrusted: the core authenticates it, e.g. a RADIUS reply).
    fn on_datagram(&mut self, _now: Instant, from: SocketAddr, datagram: &[u8], _tx: &mut dyn Tx) {
        log::debug!(
            "ignored a {}-byte datagram from {from}: this router takes none",
            datagram.len()
        );
    }
    /// Called once when the loop is asked to stop (SIGTERM/SIGINT), before a short
    /// drain: a MAG de-registers its bindings here (RFC 5213 6.10).
    fn on_stop(&mut self, _now: Instant, _tx: &mut dyn Tx) {}
}
