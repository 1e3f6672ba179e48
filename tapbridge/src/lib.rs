//! tapbridge: the lab's userspace Ethernet switch.
//!
//! It joins interfaces into named segments: TAP devices it creates inside kernel
//! hosts' network namespaces, routers' own TAP devices, which it reaches with a
//! packet socket in the router's namespace, and QEMU guests' NICs, whose
//! `-netdev dgram` or `-netdev stream` back end is a unix socket it binds.
//!
//! - [`bridge`]: the switch core without I/O (learning, flooding, counters).
//! - [`mac_table`]: one segment's learning table with aging.
//! - [`link`]: per-member, per-direction link emulation (delay, jitter, loss, rate).
//! - [`rng`]: the seeded generator behind loss and jitter.
//! - [`config`]: segments and members from flags or a TOML file.
//! - [`ctl`]: control requests.
//! - [`io`]: members' file descriptors (TAPs, packet sockets, QEMU's unix
//!   socket back ends), the control socket and the mio loop.

pub mod bridge;
pub mod capture;
pub mod config;
pub mod ctl;
pub mod io;
pub mod link;
pub mod mac_table;
#[cfg(test)]
mod testing;
