//! A member's file descriptor, whichever kind it is, and opening it in the
//! member's network namespace.

use std::io;

use std::os::fd::{AsRawFd, RawFd};

use router::netio::tap::Recv;
use router::netio::{Port, open_tap, within};

use super::packet::{PacketRecv, PacketSocket};
use crate::config::{Kind, MemberSpec};

pub enum MemberIo {
    Tap(Port),
    Attach(PacketSocket),
}

/// What one read gave.
pub enum Read {
    Frame(usize),
    /// Nothing for the bridge (a frame the interface itself sent); read again.
    Skip,
    Empty,
}

impl MemberIo {
    /// Creates the TAP device, or opens the packet socket, inside the member's namespace.
    pub fn open(spec: &MemberSpec) -> anyhow::Result<MemberIo> {
        let ns = spec
            .netns
            .as_ref()
            .map_or("this namespace".into(), |p| p.display().to_string());
        let what = |kind: &str| format!("{kind} {} in {ns} (member {})", spec.ifname, spec.name);
        match spec.kind {
            Kind::Tap => {
                let port = open_tap(spec.netns.as_deref(), &spec.ifname, spec.mtu)?;
                if let Some(mac) = spec.mac {
                    in_netns(spec, || router::netio::tap::set_mac(&spec.ifname, mac.0))
                        .map_err(|e| anyhow::anyhow!("{}: setting MAC {mac}: {e}", what("TAP")))?;
                }
                Ok(MemberIo::Tap(port))
            }
            Kind::Attach => {
                let socket = in_netns(spec, || PacketSocket::open(&spec.ifname)).map_err(|e| {
                    anyhow::anyhow!("{}: opening a packet socket: {e}", what("interface"))
                })?;
                Ok(MemberIo::Attach(socket))
            }
        }
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
        }
    }

    pub fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        match self {
            MemberIo::Tap(port) => port.send(frame),
            MemberIo::Attach(socket) => socket.send(frame),
        }
    }
}

fn in_netns<T>(spec: &MemberSpec, f: impl FnOnce() -> io::Result<T>) -> anyhow::Result<T> {
    Ok(match spec.netns.as_deref() {
        Some(path) => within(path, f)??,
        None => f()?,
    })
}

impl AsRawFd for MemberIo {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            MemberIo::Tap(p) => p.as_raw_fd(),
            MemberIo::Attach(s) => s.as_raw_fd(),
        }
    }
}
