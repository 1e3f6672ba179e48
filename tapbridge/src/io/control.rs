//! The control socket: a unix stream listener serving JSON-lines requests inside
//! the event loop, without threads and without ever blocking it.
//!
//! Each client has an input buffer (cut at [`router::ctl::MAX_LINE`]) and an output
//! buffer flushed as the socket accepts; a client that misbehaves is dropped.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

/// Tokens at and above this belong to the control socket.
pub const FIRST_TOKEN: usize = 1 << 40;

struct Client {
    stream: UnixStream,
    input: Vec<u8>,
    output: Vec<u8>,
}

pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
    clients: HashMap<usize, Client>,
    next: usize,
}

impl ControlServer {
    /// Listens on `path`, replacing a stale socket file a previous run left.
    pub fn bind(path: &Path) -> io::Result<ControlServer> {
        if std::fs::symlink_metadata(path).is_ok() {
            std::fs::remove_file(path)?;
        }
        Ok(ControlServer {
            listener: UnixListener::bind(path)?,
            path: path.to_path_buf(),
            clients: HashMap::new(),
            next: FIRST_TOKEN + 1,
        })
    }

    pub fn register(&mut self, registry: &Registry) -> io::Result<()> {
        registry.register(&mut self.listener, Token(FIRST_TOKEN), Interest::READABLE)
    }

    /// Serves one readiness event; `answer` turns a request line into a response line.
    pub fn on_event(
        &mut self,
        registry: &Registry,
        token: Token,
        answer: &mut dyn FnMut(&str) -> String,
    ) {
        if token.0 == FIRST_TOKEN {
            self.accept(registry);
            return;
        }
        let Some(client) = self.clients.get_mut(&token.0) else {
            return;
        };
        let alive = serve(client, answer).unwrap_or_else(|e| {
            log::debug!("control client dropped: {e}");
            false
        });
        if !alive {
            if let Some(mut gone) = self.clients.remove(&token.0) {
                let _ = registry.deregister(&mut gone.stream);
            }
            return;
        }
        let interest = if client.output.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        if let Err(e) = registry.reregister(&mut client.stream, token, interest) {
            log::warn!("control client: {e}");
        }
    }

    fn accept(&mut self, registry: &Registry) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let token = self.next;
                    self.next += 1;
                    if let Err(e) = registry.register(&mut stream, Token(token), Interest::READABLE)
                    {
                        log::warn!("control socket: registering a client: {e}");
                        continue;
                    }
                    self.clients.insert(
                        token,
                        Client {
                            stream,
                            input: Vec::new(),
                            output: Vec::new(),
                        },
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log::warn!("control socket: accepting: {e}");
                    return;
                }
            }
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads what is there, answers every whole line, writes what fits. Returns whether
/// the client is still connected.
fn serve(client: &mut Client, answer: &mut dyn FnMut(&str) -> String) -> io::Result<bool> {
    let mut open = true;
    let mut buf = [0u8; 4096];
    loop {
        match client.stream.read(&mut buf) {
            Ok(0) => {
                open = false;
                break;
            }
            Ok(n) => client
                .input
                .extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    while let Some(end) = client.input.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = client.input.drain(..=end).collect();
        let text = String::from_utf8_lossy(&line);
        client.output.extend_from_slice(answer(&text).as_bytes());
    }
    if client.input.len() > router::ctl::MAX_LINE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "request line too long",
        ));
    }
    while !client.output.is_empty() {
        match client.stream.write(&client.output) {
            Ok(n) => {
                client.output.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    // A client that closed its side still gets the answers it asked for.
    Ok(open || !client.output.is_empty())
}
