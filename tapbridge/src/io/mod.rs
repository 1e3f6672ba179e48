//! All of tapbridge's I/O: members' file descriptors, the control socket and the
//! loop. `unsafe` is confined to [`packet`] (the packet socket calls).

pub mod control;
pub mod event_loop;
pub mod member;
pub mod packet;

pub use control::ControlServer;
pub use event_loop::{EventLoop, IoStats};
pub use member::MemberIo;
