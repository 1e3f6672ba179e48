//! The tapmip Local Mobility Anchor (RFC 5213 section 5): a protocol core
//! without I/O ([`Lma`], a [`router::core::Core`]) over the shared forwarding
//! engine, and the `lma` binary that runs it on TAP devices.
//!
//! - [`binding_cache`]: the Binding Cache, one entry per mobile node.
//! - [`hnp_pool`]: home network prefixes allocated from policy pools.
//! - [`ipv4_home`]: IPv4 home addresses (RFC 5844): their source and pools.
//! - `mh`: Mobility Headers addressed to the LMA, and the refusal of bad ones.
//! - `pbu`: PBU checks, the ordering rule, state changes and PBAs, and their
//!   IPv4 part (RFC 5844 3.1.3).
//! - `heartbeat`: RFC 5847 heartbeats with the MAGs.
//! - [`limits`]: caps and signalling rate limits that bound the LMA under a
//!   flood.
//! - `aaa`: the policy store's authorisation of a MAG for a node, which may
//!   come later (RADIUS).
//! - [`core`]: the [`Lma`] core and its configuration.
//! - [`ctl`]: the control-socket tables.
//! - [`home_agent`]: the Mobile IPv6 home agent (RFC 6275), the paper's
//!   baseline, a separate core run by `lma home-agent`.

mod aaa;
pub mod binding_cache;
pub mod core;
pub mod ctl;
mod heartbeat;
pub mod hnp_pool;
pub mod home_agent;
pub mod ipv4_home;
pub mod limits;
mod mh;
mod pbu;

pub use crate::core::{Lma, LmaConfig, Ordering};
pub use crate::limits::LmaLimits;
pub use router::aaa::AaaConfig;
