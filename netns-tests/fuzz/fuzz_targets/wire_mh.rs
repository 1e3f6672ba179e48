//! Mobility Header parsing: any bytes give a value or an error, never a panic;
//! a message that parses emits back to bytes that parse to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use router::wire::{MhOptionsIterator, MhPacket, MhRepr, MobilityOptions};
use std::net::Ipv6Addr;

const SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 2);
const DST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 1);

fuzz_target!(|data: &[u8]| {
    for option in MhOptionsIterator::new(data) {
        let _ = option;
    }
    let _ = MobilityOptions::parse(data);
    let mut bytes = data.to_vec();
    // Half the inputs get a right checksum, so the body parsers see them.
    if data.first().is_some_and(|b| b & 1 == 1)
        && let Ok(mut packet) = MhPacket::new_checked(&mut bytes[..])
    {
        packet.fill_checksum(&SRC, &DST);
    }
    let Ok(packet) = MhPacket::new_checked(&bytes[..]) else {
        return;
    };
    let Ok(mut repr) = MhRepr::parse(&packet, &SRC, &DST) else {
        return;
    };
    // Unknown options are skipped on parse and never emitted.
    if let MhRepr::Pbu(p) = &mut repr {
        p.options.unknown.clear();
    }
    if let MhRepr::Pba(p) = &mut repr {
        p.options.unknown.clear();
    }
    if let MhRepr::Heartbeat(h) = &mut repr {
        h.options.unknown.clear();
    }
    if repr.validate().is_err() {
        return;
    }
    let mut out = vec![0; repr.buffer_len()];
    repr.emit(&mut MhPacket::new_unchecked(&mut out[..]), &SRC, &DST);
    let back = MhPacket::new_checked(&out[..]).expect("what we emit has a valid length");
    let again = MhRepr::parse(&back, &SRC, &DST).expect("what we emit parses");
    assert_eq!(again, repr, "emit then parse changes the message");
});
