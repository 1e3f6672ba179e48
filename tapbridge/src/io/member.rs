//! A member's file descriptor, whichever kind it is, opened in the member's
//! network namespace, as a [`Device`] of the router's event loop.
//!
//! TAPs and packet sockets carry superframes and partial checksums whole
//! (unless the member says `offload=none`); QEMU's sockets carry ordinary
//! frames only, so what reaches them still unfinished is cut here first.

use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use router::ctl::Response;
use router::gso::{MAX_SUPERFRAME, Offload, to_plain};
use router::netio::tap::RecvOffload;
use router::netio::{Device, OffloadWish, Port, open_tap_with, within};
use router::wire::virtio_net::VirtioNetRepr;

use super::dgram::{DgramRecv, DgramSocket};
use super::packet::{PacketRecv, PacketSocket};
use super::stream::{StreamRecv, StreamSocket};
use crate::config::{Endpoint, MemberSpec};

pub enum MemberIo {
    Tap(Port),
    /// A packet socket, and whether it carries virtio-net headers.
    Attach(PacketSocket, bool),
    Dgram(DgramSocket),
    Stream(StreamSocket),
}

/// I/O counters the core cannot see.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IoStats {
    /// Writes the kernel or the peer refused.
    pub write_errors: u64,
    /// Reads that gave nothing for the bridge.
    pub reads_skipped: u64,
    /// Frames whose offload header did not hold, dropped.
    pub bad_offload: u64,
}

/// One member: its descriptor, its name and what only it counts.
pub struct Member {
    io: MemberIo,
    name: String,
    stats: IoStats,
    /// Where a superframe is cut for a member that takes only whole frames.
    scratch: Option<Box<[u8]>>,
}

impl Member {
    /// Creates the TAP device, opens the packet socket inside the member's
    /// namespace, or binds the member's unix socket.
    pub fn open(spec: &MemberSpec) -> anyhow::Result<Member> {
        let what = format!("{} (member {})", spec.endpoint, spec.name);
        let io = match &spec.endpoint {
            Endpoint::Tap { netns, ifname } => {
                let port = open_tap_with(netns.as_deref(), ifname, spec.mtu, spec.offload)?;
                if let Some(mac) = spec.mac {
                    in_netns(netns.as_deref(), || {
                        router::netio::tap::set_mac(ifname, mac.0)
                    })
                    .map_err(|e| anyhow::anyhow!("{what}: setting MAC {mac}: {e}"))?;
                }
                MemberIo::Tap(port)
            }
            Endpoint::Attach { netns, ifname } => {
                let vnet = spec.offload != OffloadWish::None;
                let socket = in_netns(netns.as_deref(), || PacketSocket::open(ifname, vnet))
                    .map_err(|e| anyhow::anyhow!("{what}: opening a packet socket: {e}"))?;
                MemberIo::Attach(socket, vnet)
            }
            Endpoint::Dgram { path, peer } => DgramSocket::bind(path, peer.as_deref())
                .map(MemberIo::Dgram)
                .map_err(|e| anyhow::anyhow!("{what}: binding: {e}"))?,
            Endpoint::Stream { path } => StreamSocket::listen(path)
                .map(MemberIo::Stream)
                .map_err(|e| anyhow::anyhow!("{what}: listening: {e}"))?,
        };
        Ok(Member::new(spec.name.clone(), io))
    }

    pub fn new(name: String, io: MemberIo) -> Member {
        Member {
            io,
            name,
            stats: IoStats::default(),
            scratch: None,
        }
    }

    pub fn io(&self) -> &MemberIo {
        &self.io
    }

    pub fn io_stats(&self) -> IoStats {
        self.stats
    }

    /// The header a frame is sent with: on a socket without headers, none.
    fn count_write(&mut self, result: io::Result<()>, len: usize) -> io::Result<()> {
        if let Err(e) = &result {
            self.stats.write_errors += 1;
            log::debug!("{}: dropped a {len}-byte frame: {e}", self.name);
        }
        result
    }
}

impl Source for Member {
    fn register(&mut self, registry: &Registry, token: Token, _: Interest) -> io::Result<()> {
        let fd = match &mut self.io {
            MemberIo::Tap(port) => port.as_raw_fd(),
            MemberIo::Attach(socket, _) => socket.as_raw_fd(),
            MemberIo::Dgram(socket) => socket.as_raw_fd(),
            MemberIo::Stream(socket) => return socket.register(registry, token),
        };
        registry.register(&mut SourceFd(&fd), token, Interest::READABLE)
    }

    fn reregister(&mut self, registry: &Registry, token: Token, i: Interest) -> io::Result<()> {
        let fd = match &self.io {
            MemberIo::Tap(port) => port.as_raw_fd(),
            MemberIo::Attach(socket, _) => socket.as_raw_fd(),
            MemberIo::Dgram(socket) => socket.as_raw_fd(),
            MemberIo::Stream(socket) => socket.as_raw_fd(),
        };
        registry.reregister(&mut SourceFd(&fd), token, i)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        let fd = match &self.io {
            MemberIo::Tap(port) => port.as_raw_fd(),
            MemberIo::Attach(socket, _) => socket.as_raw_fd(),
            MemberIo::Dgram(socket) => socket.as_raw_fd(),
            MemberIo::Stream(socket) => socket.as_raw_fd(),
        };
        registry.deregister(&mut SourceFd(&fd))
    }
}

impl Device for Member {
    fn name(&self) -> &str {
        &self.name
    }

    fn recv_offload(&mut self, buf: &mut [u8]) -> io::Result<RecvOffload> {
        let plain = |len| RecvOffload::Frame {
            len,
            vnet: VirtioNetRepr::default(),
        };
        loop {
            let got = match &mut self.io {
                MemberIo::Tap(port) => return port.recv_offload(buf),
                MemberIo::Attach(socket, _) => match socket.recv(buf)? {
                    PacketRecv::Frame { len, vnet } => Some(RecvOffload::Frame { len, vnet }),
                    PacketRecv::Outgoing => None,
                    PacketRecv::Empty => Some(RecvOffload::Empty),
                },
                MemberIo::Dgram(socket) => match socket.recv(buf)? {
                    DgramRecv::Frame(n) => Some(plain(n)),
                    DgramRecv::TooLong => None,
                    DgramRecv::Empty => Some(RecvOffload::Empty),
                },
                MemberIo::Stream(socket) => match socket.recv(buf)? {
                    StreamRecv::Frame(n) => Some(plain(n)),
                    StreamRecv::Empty => Some(RecvOffload::Empty),
                },
            };
            match got {
                Some(got) => return Ok(got),
                None => self.stats.reads_skipped += 1,
            }
        }
    }

    fn count_bad_offload(&mut self) {
        match &mut self.io {
            MemberIo::Tap(port) => port.count_bad_offload(),
            _ => self.stats.bad_offload += 1,
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        let result = match &mut self.io {
            MemberIo::Tap(port) => port.send(frame),
            MemberIo::Attach(socket, _) => socket.send(frame, &VirtioNetRepr::default()),
            MemberIo::Dgram(socket) => socket.send(frame),
            MemberIo::Stream(socket) => socket.send(frame),
        };
        self.count_write(result, frame.len())
    }

    fn send_offload(&mut self, frame: &[u8], offload: &Offload) -> io::Result<()> {
        let result = match &mut self.io {
            MemberIo::Tap(port) => port.send_offload(frame, offload),
            MemberIo::Attach(socket, true) => socket.send(frame, &offload.to_vnet()),
            _ => {
                // The member takes whole frames only: cut or finish it here.
                let mut scratch = self
                    .scratch
                    .take()
                    .unwrap_or_else(|| vec![0; MAX_SUPERFRAME].into_boxed_slice());
                let mut result = Ok(());
                let cut = to_plain(frame, offload, &mut scratch, &mut |f| {
                    if let Err(e) = self.send(f) {
                        result = Err(e);
                    }
                });
                self.scratch = Some(scratch);
                return match cut {
                    Ok(_) => result,
                    Err(e) => {
                        let e = io::Error::new(io::ErrorKind::InvalidInput, e);
                        self.count_write(Err(e), frame.len())
                    }
                };
            }
        };
        self.count_write(result, frame.len())
    }

    fn flush(&mut self) {
        match &mut self.io {
            MemberIo::Tap(port) => port.flush(),
            MemberIo::Attach(socket, _) => socket.flush(),
            MemberIo::Dgram(_) | MemberIo::Stream(_) => {}
        }
    }

    /// Frames a member's descriptor refused (a full or absent peer: a socket
    /// member whose QEMU does not read, or is gone), and reads skipped.
    fn add_counters(&self, response: &mut Response) {
        let Some(table) = response
            .tables
            .iter_mut()
            .find(|t| t.title == "counters" && t.columns.len() == 3)
        else {
            return;
        };
        let (batch_drops, rx_drops) = match &self.io {
            MemberIo::Attach(socket, _) => (socket.batch_drops, socket.rx_drops()),
            _ => (0, 0),
        };
        for (counter, value) in [
            ("io.write_errors", self.stats.write_errors + batch_drops),
            ("io.rx_dropped_by_kernel", rx_drops),
            ("io.reads_skipped", self.stats.reads_skipped),
            ("io.bad_offload", self.stats.bad_offload),
        ] {
            if value > 0 {
                table.row(vec![self.name.clone(), counter.into(), value.to_string()]);
            }
        }
    }
}

fn in_netns<T>(netns: Option<&Path>, f: impl FnOnce() -> io::Result<T>) -> anyhow::Result<T> {
    Ok(match netns {
        Some(path) => within(path, f)??,
        None => f()?,
    })
}
