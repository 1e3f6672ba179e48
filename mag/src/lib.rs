//! The Mobile Access Gateway of tapmip (RFC 5213 section 6) as a core without I/O.
//!
//! - [`attach`]: which access-link events mean a node attached.
//! - [`bul`]: the Binding Update List.
//! - [`pbu`]: building PBUs, matching PBAs, retransmission back-off.
//! - [`access`]: the per-node Router Advertisements of a shared access link.
//! - [`core`]: [`Mag`], the [`router::core::Core`] the `mag` binary runs, and
//!   the modules its behaviour is split into (attachment, exchanges, the node's
//!   link, detachment, heartbeats, and a node's IPv4 side: its home address
//!   and ARP, `ipv4`, and the DHCPv4 server, `dhcp`).
//! - [`ctl`]: the control-socket tables.
//! - [`proactive`]: hints from a hypervisor ("arriving", "leaving") that make
//!   a live migration's handover happen during its pause; [`held`] is the
//!   bounded queue of a hinted node's downlink.
//! - [`access_router`]: a plain access router for the Mobile IPv6 baseline
//!   (`mag access-router`), a separate core.

pub mod access;
pub mod access_router;
mod admission;
pub mod attach;
mod attachment;
pub mod bul;
pub mod core;
pub mod ctl;
mod detachment;
mod dhcp;
mod exchange;
mod forwarding;
mod heartbeat;
pub mod held;
mod ipv4;
mod node_link;
pub mod pbu;
pub mod proactive;

pub use crate::core::{AccessConfig, Mag, MagConfig, UPLINK, UplinkConfig};
pub use attach::DetectConfig;
