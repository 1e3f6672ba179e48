//! A member's file descriptor, whichever kind it is, and opening it in the
//! member's network namespace.

use std::io;

use std::os::fd::AsRawFd;
use std::path::Path;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use router::netio::tap::Recv;
use router::netio::{Port, open_tap, within};

use super::dgram::{DgramRecv, DgramSocket};
use super::packet::{PacketRecv, PacketSocket};
use super::stream::{StreamRecv, StreamSocket};
use crate::config::{Endpoint, MemberSpec};

pub enum MemberIo {
    Tap(Port),
    Attach(PacketSocket),
    Dgram(DgramSocket),
    Stream(StreamSocket),
}

/// What one read gave.
pub enum Read {
    Frame(usize),
    /// Nothing for the bridge (a frame the interface itself sent, a datagram
    /// too long for a frame); read again.
    Skip,
    Empty,
}

impl MemberIo {
    /// Creates the TAP device, opens the packet socket inside the member's
    /// namespace, or binds the member's unix socket.
    pub fn open(spec: &MemberSpec) -> anyhow::Result<MemberIo> {
        let what = format!("{} (member {})", spec.endpoint, spec.name);
        match &spec.endpoint {
            Endpoint::Tap { netns, ifname } => {
                let port = open_tap(netns.as_deref(), ifname, spec.mtu)?;
                if let Some(mac) = spec.mac {
                    in_netns(netns.as_deref(), || {
                        router::netio::tap::set_mac(ifname, mac.0)
                    })
                    .map_err(|e| anyhow::anyhow!("{what}: setting MAC {mac}: {e}"))?;
                }
                Ok(MemberIo::Tap(port))
            }
            Endpoint::Attach { netns, ifname } => {
                let socket = in_netns(netns.as_deref(), || PacketSocket::open(ifname))
                    .map_err(|e| anyhow::anyhow!("{what}: opening a packet socket: {e}"))?;
                Ok(MemberIo::Attach(socket))
            }
            Endpoint::Dgram { path, peer } => DgramSocket::bind(path, peer.as_deref())
                .map(MemberIo::Dgram)
                .map_err(|e| anyhow::anyhow!("{what}: binding: {e}")),
            Endpoint::Stream { path } => StreamSocket::listen(path)
                .map(MemberIo::Stream)
                .map_err(|e| anyhow::anyhow!("{what}: listening: {e}")),
        }
    }

    /// Registers the member's descriptors for reading under `token`.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let fd = match self {
            MemberIo::Tap(port) => port.as_raw_fd(),
            MemberIo::Attach(socket) => socket.as_raw_fd(),
            MemberIo::Dgram(socket) => socket.as_raw_fd(),
            MemberIo::Stream(socket) => return socket.register(registry, token),
        };
        registry.register(&mut SourceFd(&fd), token, Interest::READABLE)
    }

    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<Read> {
        match self {
            MemberIo::Tap(port) => Ok(match port.recv(buf)? {
                Recv::Frame(n) => Read::Frame(n),
                Recv::Empty => Read::Empty,
            }),
            MemberIo::Attach(socket) => Ok(match socket.recv(buf)? {
                PacketRecv::Frame(n) => Read::Frame(n),
                PacketRecv::Outgoing => Read::Skip,
                PacketRecv::Empty => Read::Empty,
            }),
            MemberIo::Dgram(socket) => Ok(match socket.recv(buf)? {
                DgramRecv::Frame(n) => Read::Frame(n),
                DgramRecv::TooLong => Read::Skip,
                DgramRecv::Empty => Read::Empty,
            }),
            MemberIo::Stream(socket) => Ok(match socket.recv(buf)? {
                StreamRecv::Frame(n) => Read::Frame(n),
                StreamRecv::Empty => Read::Empty,
            }),
        }
    }

    pub fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        match self {
            MemberIo::Tap(port) => port.send(frame),
            MemberIo::Attach(socket) => socket.send(frame),
            MemberIo::Dgram(socket) => socket.send(frame),
            MemberIo::Stream(socket) => socket.send(frame),
        }
    }
}

fn in_netns<T>(netns: Option<&Path>, f: impl FnOnce() -> io::Result<T>) -> anyhow::Result<T> {
    Ok(match netns {
        Some(path) => within(path, f)??,
        None => f()?,
    })
}
