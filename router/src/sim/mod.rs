//! Deterministic simulation: cores wired together in memory with a fake clock.
//!
//! [`SimNet`] carries frames between the ports of any number of cores over
//! segments with delay, jitter (reordering), loss and duplication; [`SimHost`] is a
//! small IPv6 (and, with a DHCP client and ARP, IPv4) host to put at the edges. Tests and benchmarks use it to run
//! thousands of handoffs in milliseconds, repeatably from a seed.

mod host;
mod host4;
pub mod log;
mod net;

pub use host::{Received, SimHost};
pub use host4::Ipv4Side;
pub use net::{LinkParams, NodeId, SegmentId, Sent, SimCore, SimNet};
