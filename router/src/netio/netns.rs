//! Opening a TAP device inside another network namespace.
//!
//! A TAP file descriptor stays bound to its device wherever the device lives, so a
//! router with no interfaces of its own can own devices that are the kernel hosts'
//! interfaces: the calling thread enters the target namespace, creates the device
//! there, and returns to where it was.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::tap::{OffloadWish, Port, PortError};

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("network namespace {path}: {what}: {error}")]
    Os {
        path: PathBuf,
        what: &'static str,
        error: io::Error,
    },
    #[error("in network namespace {path}: {error}")]
    Port { path: PathBuf, error: PortError },
    #[error("{0}")]
    Here(PortError),
}

/// Opens TAP `name` in the network namespace file `netns` (e.g. `/run/netns/h1` or
/// `/proc/PID/ns/net`), or in the current namespace when `netns` is `None`.
pub fn open_tap(netns: Option<&Path>, name: &str, mtu: Option<u32>) -> Result<Port, NetnsError> {
    open_tap_with(netns, name, mtu, OffloadWish::None)
}

/// [`open_tap`] asking for offloads up to `wish` ([`Port::open_with`]).
pub fn open_tap_with(
    netns: Option<&Path>,
    name: &str,
    mtu: Option<u32>,
    wish: OffloadWish,
) -> Result<Port, NetnsError> {
    let Some(path) = netns else {
        return Port::open_with(name, mtu, wish).map_err(NetnsError::Here);
    };
    within(path, || Port::open_with(name, mtu, wish))?.map_err(|error| NetnsError::Port {
        path: path.to_path_buf(),
        error,
    })
}

/// Runs `f` with the calling thread inside the network namespace file `path`, then
/// returns to the original namespace. Sockets and devices `f` creates stay in
/// `path`'s namespace, and their file descriptors keep working from anywhere.
pub fn within<T>(path: &Path, f: impl FnOnce() -> T) -> Result<T, NetnsError> {
    let os = |what| {
        move |error| NetnsError::Os {
            path: path.to_path_buf(),
            what,
            error,
        }
    };
    let target = File::open(path).map_err(os("opening the namespace file"))?;
    let home = File::open("/proc/thread-self/ns/net").map_err(os(
        "saving the current namespace (/proc/thread-self/ns/net)",
    ))?;
    setns(&target).map_err(os("entering it (setns needs CAP_SYS_ADMIN over it)"))?;
    let back = Return { home };
    let result = f();
    drop(back);
    Ok(result)
}

fn setns(ns: &File) -> io::Result<()> {
    // SAFETY: setns(2) takes a valid open fd (borrowed from `ns` for the call) and a
    // flag; it changes only the calling thread's network namespace.
    let r = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Puts the thread back in its original namespace, also if the work done there unwinds.
struct Return {
    home: File,
}

impl Drop for Return {
    fn drop(&mut self) {
        if let Err(e) = setns(&self.home) {
            // A thread stranded in another namespace would open sockets and devices
            // in the wrong place without any error; stopping is the only safe answer.
            eprintln!("cannot return to the original network namespace: {e}");
            std::process::abort();
        }
    }
}
