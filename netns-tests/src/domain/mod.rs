//! A whole PMIPv6 domain in network namespaces: the topology, the processes that
//! run it, what can be done to it (migrate a VM, change a link, capture), and the
//! message ladder read back from its captures.

pub mod daemon;
pub mod demo;
pub mod hints;
pub mod ipv4;
pub mod migrate;
pub mod mipv6;
pub mod probes;
pub mod qemu_vm;
pub mod run;
pub mod topology;
pub mod trace;
mod trace_mip;

pub use migrate::{MigrateOptions, MigrationTimes};
pub use run::{Binaries, Domain, Tuning};
pub use topology::{Mobility, Topology};
