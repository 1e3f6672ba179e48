//! All the I/O of a router: TAP [`Port`]s, the [`Device`] trait the loop runs over, opening them in other network
//! namespaces, the mio [`EventLoop`] that runs a [`crate::core::Core`] over them,
//! and both ends of the control socket ([`control`], [`client`]).
//!
//! `unsafe` is confined to this module (ioctls, setns, signalfd, eventfd).

pub mod client;
pub mod control;
mod device;
mod event_loop;
pub mod logger;
pub mod netns;
mod stop;
pub mod tap;
mod tun;

pub use device::Device;
pub use event_loop::{EventLoop, LoopError};
pub use netns::{NetnsError, open_tap, open_tap_with, within};
pub use stop::{Stop, StopHandle, StopReason};
pub use tap::{OffloadWish, Offloads, Port, PortError, PortStats};
