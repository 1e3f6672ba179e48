//! The tapmip data plane: everything a userspace router on TAP devices needs.
//!
//! - [`wire`]: Mobility Header (RFC 6275, RFC 5213) views and representations,
//!   plus the ND message builders that smoltcp lacks.
//! - [`nd`]: neighbor cache with RFC 4861 NUD and router-side ND, a core without I/O.
//! - [`arp`]: the IPv4 neighbor table beside ND (RFC 826), on the same state machine.
//! - [`ipv4`]: IPv4 header checks, TTL and fragmentation (RFC 791, RFC 1812).
//! - [`icmpv4`]: the ICMPv4 errors a router sends (RFC 792, RFC 1812 4.3).
//! - [`dhcp`]: DHCPv4 messages in their UDP/IPv4/Ethernet frames (RFC 2131).
//! - [`fib`]: longest-prefix-match forwarding table.
//! - [`gso`]: superframes and partial checksums from TAPs with offloads: checks,
//!   segmentation and coalescing (GSO/GRO in userspace).
//! - [`tunnel`]: IPv6-in-IPv6 (RFC 2473) encapsulation and decapsulation.
//! - [`routes`]: destination and source routes and the tunnels they use, kept consistent.
//! - [`icmp`]: the ICMPv6 errors a router sends (RFC 4443).
//! - [`token_bucket`]: the one rate limiter (ICMP errors, signalling, drop logs).
//! - [`drop_log`]: log lines about dropped messages, summarised under a flood.
//! - [`mh_errors`]: Binding Errors and Parameter Problems for refused Mobility Headers.
//! - [`heartbeat`]: RFC 5847 peer monitoring (failure, recovery, restart).
//! - [`timer`]: binary-heap timer queue with lazy cancellation.
//! - [`timestamp`]: PMIPv6 timestamps (RFC 5213 8.8) computed from `now` and an epoch.
//! - [`counters`]: named received, sent and dropped-per-reason counters.
//! - [`engine`]: the forwarding engine every router is built on (ports with ND, FIB,
//!   tunnels, hop limit, ICMPv6 errors).
//! - [`engine_tables`]: the engine's control-socket tables, shown alike by every router.
//! - [`core`]: the `(now, event) -> actions` contract every protocol core implements.
//! - [`ctl`]: the control protocol: JSON-line requests, answers as tables.
//! - [`policy`]: the policy file shared by the LMA and the MAGs (nodes, prefixes, MAGs).
//! - [`auth`]: authenticated signalling: keys per MAG-LMA pair, the RFC 4285
//!   option in every PBU, PBA and Heartbeat, key rollover.
//! - [`aaa`]: the policy store a core asks (the policy file, or RADIUS answering
//!   later) and a RADIUS client without I/O.
//! - [`portspec`]: the `--port` syntax shared by the router binaries.
//! - [`private_file`]: secrets read only from files no one else may read.
//! - [`plain`]: a plain IPv6 router core built from the pieces above.
//! - [`netio`]: TAP ports, network-namespace plumbing, the mio loop and both ends of
//!   the control socket (all the I/O).
//! - [`pcap`]: a minimal pcap file writer for captures and tests.
//! - [`tshark`]: Wireshark's dissectors over a capture, the independent decoder tests
//!   and the lab check our encoders against.
//! - [`rng`]: SplitMix64, the seeded generator behind losses, jitter and simulations.
//! - [`mac`]: the MAC address type.
//! - [`sim`]: deterministic in-memory simulation of cores with a fake clock.

pub mod aaa;
pub mod arp;
pub mod auth;
pub mod core;
pub mod counters;
pub mod ctl;
pub mod dhcp;
pub mod drop_log;
pub mod engine;
pub mod engine_tables;
pub mod fib;
pub mod gso;
pub mod heartbeat;
pub mod icmp;
pub mod icmpv4;
pub mod ipv4;
pub mod mac;
pub mod mh_errors;
pub mod nd;
pub mod netio;
pub mod pcap;
pub mod plain;
pub mod policy;
pub mod portspec;
pub mod private_file;
pub mod rng;
pub mod routes;
pub mod sim;
pub mod timer;
pub mod timestamp;
pub mod token_bucket;
pub mod tshark;
pub mod tunnel;
pub mod wire;

pub use smoltcp::time::{Duration, Instant};
