//! All of tapbridge's I/O: members' file descriptors as [`router::netio::Device`]s
//! of the router's event loop, and the [`Switch`] core that serves what needs
//! I/O (capture files). `unsafe` is confined to [`packet`] (the packet socket calls).
//!
//! Member kinds, each in its own module: TAP devices (router's [`router::netio::Port`]),
//! [`packet`] sockets on routers' interfaces, and QEMU's socket back ends,
//! [`dgram`] and [`stream`] (with its [`framing`]).

pub mod dgram;
pub mod framing;
pub mod member;
pub mod packet;
mod socket_file;
pub mod stream;
pub mod switch;

pub use member::{IoStats, Member, MemberIo};
pub use switch::Switch;
