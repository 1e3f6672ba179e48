//! All of tapbridge's I/O: members' file descriptors and the loop, which serves
//! the control socket with [`router::netio::control`]. `unsafe` is confined to [`packet`] (the packet socket calls).
//!
//! Member kinds, each in its own module: TAP devices (router's [`router::netio::Port`]),
//! [`packet`] sockets on routers' interfaces, and QEMU's socket back ends,
//! [`dgram`] and [`stream`] (with its [`framing`]).

pub mod dgram;
pub mod event_loop;
pub mod framing;
pub mod member;
pub mod packet;
mod socket_file;
pub mod stream;

pub use event_loop::{EventLoop, IoStats, capture};
pub use member::MemberIo;
