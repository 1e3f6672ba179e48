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
use crate::ctl::{Request, Response};

/// Index of a port (one TAP device) in the order the router was given them.
pub type PortId = usize;

/// Where a core puts the frames it wants transmitted.
pub trait Tx {
    fn send(&mut self, port: PortId, frame: &[u8]);
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
    /// Called when `now >= poll_at()`; the core runs every deadline that is due.
    fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx);
    /// The earliest instant at which the core needs `on_timer`, if any.
    fn poll_at(&self) -> Option<Instant>;
    /// Answers one control-socket request (the loop itself handles `log`).
    fn control(&mut self, _now: Instant, request: &Request, _tx: &mut dyn Tx) -> Response {
        Response::error(format!("{request:?}: not supported by this router"))
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
