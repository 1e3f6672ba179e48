//! All of tapbridge's I/O: members' file descriptors and the loop, which serves
//! the control socket with [`router::netio::control`]. `unsafe` is confined to [`packet`] (the packet socket calls).

pub mod event_loop;
pub mod member;
pub mod packet;

pub use event_loop::{EventLoop, IoStats, capture};
pub use member::MemberIo;
