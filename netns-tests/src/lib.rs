//! The tapmip lab: network namespaces, processes in them, and the scenarios the
//! integration tests and `make lab` run.
//!
//! Every scenario runs the same way as root and inside an unprivileged user
//! namespace ([`userns::command`]); [`ensure_tun_access`] says why it cannot run
//! when `/dev/net/tun` is out of reach.

pub mod aaa_server;
pub mod bench_forward;
pub mod binaries;
pub mod bulk;
pub mod domain;
pub mod host;
pub mod mn;
pub mod paper;
pub mod payload;
pub mod plain_router;
pub mod probe;
pub mod qemu;
pub mod sandbox;
pub mod sim_domain;
pub mod soak;
pub mod superframes;
pub mod superframes_bridged;
pub mod userns;
pub mod wait;

pub use sandbox::{LabError, Sandbox};

/// Checks that TAP devices can be created here, explaining what to change if not.
pub fn ensure_tun_access() -> Result<(), String> {
    router::netio::tap::check_tun_access().map_err(|e| e.to_string())
}
