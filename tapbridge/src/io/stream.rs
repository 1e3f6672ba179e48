//! A member behind a unix stream socket tapbridge listens on: QEMU's `-netdev
//! stream` with `server=off` connects to it, and frames travel length-prefixed
//! ([`super::framing`]).
//!
//! One guest NIC at a time: a new connection replaces the old one, as plugging
//! another cable into the port would. A member with no connection drops what the
//! segment sends it, counted as write errors like any refused write.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::framing::{Decoder, encode};
use super::socket_file;

/// Bytes queued for a slow reader beyond which frames are dropped: a guest
/// that stopped reading must not grow tapbridge without bound.
const TX_LIMIT: usize = 1 << 20;

pub struct StreamSocket {
    listener: UnixListener,
    path: PathBuf,
    conn: Option<Connection>,
    /// Where connections are registered, with the member's token.
    registry: Option<(Registry, Token)>,
}

struct Connection {
    stream: UnixStream,
    rx: Decoder,
    tx: Vec<u8>,
}

/// What a non-blocking read gave.
pub enum StreamRecv {
    Frame(usize),
    Empty,
}

impl StreamSocket {
    pub fn listen(path: &Path) -> io::Result<StreamSocket> {
        socket_file::remove_stale(path)?;
        let listener = UnixListener::bind(path)?;
        listener.set_nonblocking(true)?;
        Ok(StreamSocket {
            listener,
            path: path.to_path_buf(),
            conn: None,
            registry: None,
        })
    }

    /// Registers the listener, and later each accepted connection, under `token`.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut SourceFd(&self.listener.as_raw_fd()),
            token,
            Interest::READABLE,
        )?;
        self.registry = Some((registry.try_clone()?, token));
        Ok(())
    }

    /// Sends what is queued, then hands over the next frame that arrived, then
    /// takes a new connection: every source of the member is drained each call.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<StreamRecv> {
        loop {
            if let Some(conn) = self.conn.as_mut() {
                if let Err(e) = flush(conn) {
                    self.close(&format!("writing: {e}"));
                    continue;
                }
                match conn.rx.next_frame(buf) {
                    Ok(Some(n)) => return Ok(StreamRecv::Frame(n)),
                    Ok(None) => {}
                    Err(e) => {
                        self.close(&e.to_string());
                        continue;
                    }
                }
                match conn.rx.fill(&mut conn.stream) {
                    Ok(0) => self.close("the peer closed the connection"),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if self.accept_one()? {
                            continue;
                        }
                        return Ok(StreamRecv::Empty);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => self.close(&format!("reading: {e}")),
                }
                continue;
            }
            if !self.accept_one()? {
                return Ok(StreamRecv::Empty);
            }
        }
    }

    /// Takes one waiting connection, if any, in place of the current one.
    fn accept_one(&mut self) -> io::Result<bool> {
        let stream = match self.listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(true),
            Err(e) => {
                // Out of descriptors, say: the member waits for the next try.
                log::warn!("{}: accepting a connection: {e}", self.path.display());
                return Ok(false);
            }
        };
        stream.set_nonblocking(true)?;
        if self.conn.is_some() {
            self.close("a new connection replaces it");
        }
        if let Some((registry, token)) = &self.registry {
            registry.register(
                &mut SourceFd(&stream.as_raw_fd()),
                *token,
                Interest::READABLE | Interest::WRITABLE,
            )?;
        }
        log::info!("{}: connected", self.path.display());
        self.conn = Some(Connection {
            stream,
            rx: Decoder::default(),
            tx: Vec::new(),
        });
        Ok(true)
    }

    fn close(&mut self, why: &str) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if let Some((registry, _)) = &self.registry {
            let _ = registry.deregister(&mut SourceFd(&conn.stream.as_raw_fd()));
        }
        log::info!("{}: connection closed: {why}", self.path.display());
    }

    /// Queues one frame and sends what the socket takes now.
    pub fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "no guest is connected",
            ));
        };
        if conn.tx.len() + frame.len() > TX_LIMIT {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "the guest is not reading: its queue is full",
            ));
        }
        encode(frame, &mut conn.tx);
        if let Err(e) = flush(conn) {
            self.close(&format!("writing: {e}"));
            return Err(e);
        }
        Ok(())
    }
}

/// Writes queued bytes until the socket would block.
fn flush(conn: &mut Connection) -> io::Result<()> {
    let mut sent = 0;
    let result = loop {
        let Some(rest) = conn.tx.get(sent..).filter(|r| !r.is_empty()) else {
            break Ok(());
        };
        match conn.stream.write(rest) {
            Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    conn.tx.drain(..sent);
    result
}

impl AsRawFd for StreamSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.listener.as_raw_fd()
    }
}

impl Drop for StreamSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
