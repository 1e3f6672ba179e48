//! The tapmip data plane: everything a userspace router on TAP devices needs.
//!
//! - [`wire`]: Mobility Header (RFC 6275, RFC 5213) views and representations,
//!   plus the ND message builders that smoltcp lacks.
//! - [`nd`]: neighbor cache with RFC 4861 NUD and router-side ND, a core without I/O.
//! - [`fib`]: longest-prefix-match forwarding table.
//! - [`tunnel`]: IPv6-in-IPv6 (RFC 2473) encapsulation and decapsulation.
//! - [`timer`]: binary-heap timer queue with lazy cancellation.
//! - [`core`]: the `(now, event) -> actions` contract every protocol core implements.
//! - [`netio`]: TAP ports, network-namespace plumbing and the mio loop (all the I/O).
//! - [`plain`]: a plain IPv6 router core built from the pieces above.

pub mod core;
pub mod counters;
pub mod ctl;
pub mod engine;
pub mod engine_tables;
pub mod fib;
pub mod icmp;
pub mod nd;
pub mod netio;
pub mod pcap;
pub mod plain;
pub mod policy;
pub mod portspec;
pub mod rng;
pub mod sim;
pub mod timer;
pub mod timestamp;
pub mod tunnel;
pub mod wire;

pub use smoltcp::time::{Duration, Instant};
