//! The server side of a control socket: a unix stream socket, one request per
//! line, one [`Response`] per line (see [`crate::ctl`]).
//!
//! It lives on its owner's loop (a router's, tapbridge's), so answering reads the
//! core's state directly with no lock and no second thread. It only frames lines:
//! the owner parses them with its own request type. A client that sends an endless
//! line or stops reading is disconnected, so no client can make the loop buffer
//! without bound.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

use crate::ctl::{MAX_LINE, Response};

/// Most bytes of answers kept for one slow client before it is dropped.
const MAX_PENDING: usize = 16 * 1024 * 1024;

struct Conn {
    stream: UnixStream,
    input: Vec<u8>,
    output: Vec<u8>,
}

pub struct ControlSocket {
    path: PathBuf,
    listener: UnixListener,
    conns: HashMap<Token, Conn>,
    listener_token: Token,
    next: usize,
}

/// What a connection has sent: the caller answers each line, then calls
/// [`ControlSocket::finish`] when `closed`.
pub struct Pending {
    /// Each non-blank request line, or why it was refused unread.
    pub lines: Vec<Result<String, String>>,
    /// The client hung up (or broke the protocol): close after answering.
    pub closed: bool,
}

impl ControlSocket {
    /// Binds `path` (replacing a stale socket file) and registers it as `token`;
    /// connections get tokens above `token`.
    pub fn bind(path: &Path, registry: &Registry, token: Token) -> io::Result<ControlSocket> {
        if std::fs::symlink_metadata(path).is_ok() {
            std::fs::remove_file(path)?;
        }
        let mut listener = UnixListener::bind(path)?;
        registry.register(&mut listener, token, Interest::READABLE)?;
        Ok(ControlSocket {
            path: path.to_path_buf(),
            listener,
            conns: HashMap::new(),
            listener_token: token,
            next: token.0 + 1,
        })
    }

    /// Whether `token` is the listener's or one of its connections'.
    pub fn owns(&self, token: Token) -> bool {
        token == self.listener_token || self.conns.contains_key(&token)
    }

    /// Handles readiness of `token`: accepts clients, reads request lines.
    pub fn ready(&mut self, registry: &Registry, token: Token) -> Option<Pending> {
        if token == self.listener_token {
            self.accept(registry);
            return None;
        }
        // A writable wake-up: send what is queued first.
        let _ = self.flush(registry, token);
        let conn = self.conns.get_mut(&token)?;
        let mut closed = false;
        let mut buf = [0u8; 4096];
        loop {
            match conn.stream.read(&mut buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => conn.input.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        let too_long = || Err(format!("request longer than {MAX_LINE} bytes"));
        let mut lines = Vec::new();
        while let Some(end) = conn.input.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = conn.input.drain(..=end).collect();
            let text = String::from_utf8_lossy(line.get(..end).unwrap_or_default()).into_owned();
            if text.len() > MAX_LINE {
                lines.push(too_long());
            } else if !text.trim().is_empty() {
                lines.push(Ok(text));
            }
        }
        if conn.input.len() > MAX_LINE {
            lines.push(too_long());
            conn.input.clear();
            closed = true;
        }
        Some(Pending { lines, closed })
    }

    /// Writes what is still queued for `token` (best effort) and closes it.
    pub fn finish(&mut self, registry: &Registry, token: Token) {
        if let Some(conn) = self.conns.get_mut(&token) {
            let _ = conn.stream.write_all(&conn.output);
        }
        self.close(registry, token);
    }

    /// Queues an answer line to `token` and writes what the socket takes.
    pub fn answer(&mut self, registry: &Registry, token: Token, response: &Response) {
        if let Some(conn) = self.conns.get_mut(&token) {
            conn.output.extend_from_slice(response.to_line().as_bytes());
        }
        let _ = self.flush(registry, token);
    }

    fn flush(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let Some(conn) = self.conns.get_mut(&token) else {
            return Ok(());
        };
        while !conn.output.is_empty() {
            match conn.stream.write(&conn.output) {
                Ok(0) => break,
                Ok(n) => {
                    conn.output.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.close(registry, token);
                    return Err(e);
                }
            }
        }
        let interest = if conn.output.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        if conn.output.len() > MAX_PENDING {
            self.close(registry, token);
            return Ok(());
        }
        registry.reregister(&mut conn.stream, token, interest)
    }

    fn accept(&mut self, registry: &Registry) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let token = Token(self.next);
                    self.next += 1;
                    if registry
                        .register(&mut stream, token, Interest::READABLE)
                        .is_ok()
                    {
                        self.conns.insert(
                            token,
                            Conn {
                                stream,
                                input: Vec::new(),
                                output: Vec::new(),
                            },
                        );
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }

    fn close(&mut self, registry: &Registry, token: Token) {
        if let Some(mut conn) = self.conns.remove(&token) {
            let _ = registry.deregister(&mut conn.stream);
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
