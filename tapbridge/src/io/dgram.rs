//! A member behind a unix datagram socket: one Ethernet frame per datagram, as
//! QEMU's `-netdev dgram` with `local.type=unix` sends and receives them.
//!
//! tapbridge binds its own path (QEMU's `remote.path`) and sends to the peer's
//! (QEMU's `local.path`), or, with no peer configured, to whichever path the
//! last frame came from.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use super::socket_file;

pub struct DgramSocket {
    socket: UnixDatagram,
    path: PathBuf,
    peer: Option<PathBuf>,
    learn_peer: bool,
}

/// What a non-blocking read gave.
pub enum DgramRecv {
    Frame(usize),
    /// A datagram too long for any frame: dropped.
    TooLong,
    Empty,
}

impl DgramSocket {
    pub fn bind(path: &Path, peer: Option<&Path>) -> io::Result<DgramSocket> {
        socket_file::remove_stale(path)?;
        let socket = UnixDatagram::bind(path)?;
        socket.set_nonblocking(true)?;
        Ok(DgramSocket {
            socket,
            path: path.to_path_buf(),
            peer: peer.map(Path::to_path_buf),
            learn_peer: peer.is_none(),
        })
    }

    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<DgramRecv> {
        loop {
            match self.socket.recv_from(buf) {
                Ok((n, from)) => {
                    if self.learn_peer
                        && let Some(p) = from.as_pathname()
                        && self.peer.as_deref() != Some(p)
                    {
                        log::info!("{}: frames now go to {}", self.path.display(), p.display());
                        self.peer = Some(p.to_path_buf());
                    }
                    // A datagram that filled the buffer may have been cut.
                    return Ok(if n >= buf.len() {
                        DgramRecv::TooLong
                    } else {
                        DgramRecv::Frame(n)
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(DgramRecv::Empty),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends one frame without blocking; fails while there is no peer, or while
    /// the peer is gone or not reading (its queue is full).
    pub fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        let peer = self.peer.as_deref().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "no peer has sent a frame yet")
        })?;
        loop {
            match self.socket.send_to(frame, peer) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl AsRawFd for DgramSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl Drop for DgramSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
