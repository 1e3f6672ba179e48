//! Deterministic simulation: cores wired together in memory with a fake clock.
//!
//! [`SimNet`] carries frames between the ports of any number of cores over
//! segments with delay, jitter (reordering), loss and duplication; [`SimHost`] is a
//! small IPv6 host to put at the edges. Tests and benchmarks use it to run
//! thousands of handoffs in milliseconds, repeatably from a seed.

mod host;
pub mod log;
mod net;

pub use host::{Received, SimHost};
pub use net::{LinkParams, NodeId, SegmentId, Sent, SimCore, SimNet};
