//! What ends an event loop: SIGTERM/SIGINT through a signalfd, or a [`StopHandle`]
//! another thread holds (tests and embedders), both pollable by mio.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// Why [`super::EventLoop::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The process received this signal (SIGTERM or SIGINT).
    Signal(i32),
    /// [`StopHandle::stop`] was called.
    Requested,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            StopReason::Signal(libc::SIGTERM) => f.write_str("SIGTERM"),
            StopReason::Signal(libc::SIGINT) => f.write_str("SIGINT"),
            StopReason::Signal(n) => write!(f, "signal {n}"),
            StopReason::Requested => f.write_str("a stop request"),
        }
    }
}

enum Kind {
    Signals,
    Handle,
}

/// A readable file descriptor that becomes ready when the loop must stop.
pub struct Stop {
    fd: File,
    kind: Kind,
}

/// Stops the loop that owns the matching [`Stop`] from any thread.
pub struct StopHandle {
    fd: File,
}

impl Stop {
    /// Routes SIGTERM and SIGINT to a signalfd instead of their default action.
    ///
    /// The signals are blocked on the calling thread and on threads it spawns later,
    /// so call this first in `main`, before any other thread exists: a thread that
    /// does not block them would still be killed by them.
    pub fn on_signals() -> io::Result<Stop> {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it before any use.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid, exclusively borrowed sigset_t for each call, and
        // SIGTERM/SIGINT are valid signal numbers.
        unsafe {
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::sigaddset(&mut set, libc::SIGINT);
        }
        // SAFETY: `set` is initialised; a null old-set pointer is allowed.
        let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        // SAFETY: -1 asks for a new signalfd; `set` is initialised; flags are valid.
        let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
        Ok(Stop {
            fd: owned(fd)?.into(),
            kind: Kind::Signals,
        })
    }

    /// A stop source triggered only by the returned handle.
    pub fn handle() -> io::Result<(Stop, StopHandle)> {
        // SAFETY: eventfd(2) takes no pointers; the result is checked in `owned`.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        let fd: File = owned(fd)?.into();
        let handle = StopHandle {
            fd: fd.try_clone()?,
        };
        Ok((
            Stop {
                fd,
                kind: Kind::Handle,
            },
            handle,
        ))
    }

    /// Consumes one pending stop event, if there is one (for loops other than
    /// [`super::EventLoop`] that poll a [`Stop`] themselves).
    pub fn take(&mut self) -> io::Result<Option<StopReason>> {
        match self.kind {
            Kind::Signals => {
                let mut info = [0u8; std::mem::size_of::<libc::signalfd_siginfo>()];
                match read_nonblocking(&mut self.fd, &mut info)? {
                    // ssi_signo is the first field, a native-endian u32.
                    Some(_) => Ok(Some(StopReason::Signal(i32::from_ne_bytes([
                        info[0], info[1], info[2], info[3],
                    ])))),
                    None => Ok(None),
                }
            }
            Kind::Handle => {
                let mut count = [0u8; 8];
                Ok(read_nonblocking(&mut self.fd, &mut count)?.map(|_| StopReason::Requested))
            }
        }
    }
}

impl StopHandle {
    pub fn stop(&self) -> io::Result<()> {
        (&self.fd).write_all(&1u64.to_ne_bytes())
    }
}

fn owned(fd: i32) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn read_nonblocking(fd: &mut File, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        match fd.read(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

impl Source for Stop {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).deregister(registry)
    }
}
