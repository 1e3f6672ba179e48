//! What the event loop runs a core over: a [`Device`] is anything that reads
//! and writes whole Ethernet frames (and superframes, with their offload)
//! without blocking and can be registered with mio. A router's devices are
//! TAP [`Port`]s; tapbridge's are TAPs, packet sockets and QEMU's sockets.

use std::io;

use mio::event::Source;

use super::tap::{Port, RecvOffload};
use crate::ctl::Response;
use crate::gso::Offload;

pub trait Device: Source {
    /// What logs call it.
    fn name(&self) -> &str;
    /// Reads one frame into `buf` without blocking, with its virtio-net header
    /// (all zero for a device that has none). A device skips by itself what
    /// is not for the core (a packet socket's own outgoing frames).
    fn recv_offload(&mut self, buf: &mut [u8]) -> io::Result<RecvOffload>;
    /// Counts a frame [`Device::recv_offload`] returned whose header did not hold.
    fn count_bad_offload(&mut self);
    /// Writes (or queues until [`Device::flush`]) one whole frame; a full
    /// queue drops it and returns why.
    fn send(&mut self, frame: &[u8]) -> io::Result<()>;
    /// Writes a frame that still needs offload work: whole where the other
    /// side takes it, else cut or completed first.
    fn send_offload(&mut self, frame: &[u8], offload: &Offload) -> io::Result<()>;
    /// Writes what the device holds; the loop calls it once per wakeup.
    fn flush(&mut self);
    /// Adds what only the device counts to a control answer (tapbridge's
    /// `counters` table); a router's ports add nothing.
    fn add_counters(&self, _response: &mut Response) {}
}

impl Device for Port {
    fn name(&self) -> &str {
        Port::name(self)
    }
    fn recv_offload(&mut self, buf: &mut [u8]) -> io::Result<RecvOffload> {
        Port::recv_offload(self, buf)
    }
    fn count_bad_offload(&mut self) {
        Port::count_bad_offload(self)
    }
    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        Port::send(self, frame)
    }
    fn send_offload(&mut self, frame: &[u8], offload: &Offload) -> io::Result<()> {
        Port::send_offload(self, frame, offload)
    }
    fn flush(&mut self) {
        Port::flush(self)
    }
}
