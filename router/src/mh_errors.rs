//! What a node does with a Mobility Header it cannot process (RFC 6275 9.2):
//! drop it and count why, and for some faults tell the sender: an unknown MH
//! Type gets a Binding Error (9.3.3), a wrong Payload Proto or a Header Len too
//! short for the message an ICMPv6 Parameter Problem pointing at the field.
//! The LMA and the MAG answer alike.

use crate::Instant;
use crate::core::Tx;
use crate::engine::Engine;
use crate::icmp::IcmpError;
use crate::wire::{
    BE_STATUS_UNRECOGNIZED_MH_TYPE, BindingErrorRepr, MhError, MhRepr, mh_ipv6_packet,
};
use smoltcp::wire::Ipv6Packet;
use std::net::Ipv6Addr;

/// Offsets of the Payload Proto and Header Len fields in an IPv6 packet whose
/// first header is the Mobility Header.
const PAYLOAD_PROTO_POINTER: u32 = 40;
const HEADER_LEN_POINTER: u32 = 41;
/// Hop limit of Binding Errors.
const BE_HOP_LIMIT: u8 = 64;

/// The drop counter for a Mobility Header refused with `err`.
pub fn drop_counter(err: &MhError) -> &'static str {
    match err {
        MhError::Truncated { .. } => "mh.drop.truncated",
        MhError::BadLength { .. } => "mh.drop.bad_length",
        MhError::BadChecksum => "mh.drop.bad_checksum",
        MhError::UnsupportedType(_) => "mh.drop.unsupported_type",
        MhError::BadOption { .. } => "mh.drop.bad_option",
        MhError::BadPayloadProto(_) => "mh.drop.bad_payload_proto",
    }
}

/// Counts the refusal of `packet` (a whole IPv6 packet carrying a Mobility
/// Header) and answers its sender where RFC 6275 9.2 says to.
pub fn refuse(engine: &mut Engine, now: Instant, err: &MhError, packet: &[u8], tx: &mut dyn Tx) {
    let Ok(ip) = Ipv6Packet::new_checked(packet) else {
        engine.counters.bump(drop_counter(err));
        return;
    };
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    engine.note_drop(now, drop_counter(err), || {
        format!("dropped a Mobility Header from {src}: {err} (RFC 6275 9.2)")
    });
    match err {
        MhError::BadPayloadProto(_) => {
            let problem = IcmpError::ParameterProblem {
                pointer: PAYLOAD_PROTO_POINTER,
            };
            engine.icmp_error(now, problem, packet, tx);
        }
        MhError::BadLength {
            field: "Header Len",
            ..
        } => {
            let problem = IcmpError::ParameterProblem {
                pointer: HEADER_LEN_POINTER,
            };
            engine.icmp_error(now, problem, packet, tx);
        }
        MhError::UnsupportedType(_) => binding_error(engine, now, dst, src, tx),
        _ => {}
    }
}

/// RFC 6275 9.3.3: status 2 (unrecognized MH Type value), no home address.
fn binding_error(engine: &mut Engine, now: Instant, from: Ipv6Addr, to: Ipv6Addr, tx: &mut dyn Tx) {
    if to.is_multicast() || to.is_unspecified() {
        return;
    }
    let be = MhRepr::BindingError(BindingErrorRepr {
        status: BE_STATUS_UNRECOGNIZED_MH_TYPE,
        home_address: Ipv6Addr::UNSPECIFIED,
    });
    let packet = mh_ipv6_packet(from, to, BE_HOP_LIMIT, &be);
    if engine.send_rate_limited(now, &packet, tx) {
        engine.counters.bump("mh.binding_errors_sent");
    }
}
