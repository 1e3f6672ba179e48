//! IPv6-in-IPv6 and IPv4-in-IPv6 decapsulation of arbitrary packets never
//! panics, and whatever is encapsulated decapsulates back to the inner packet
//! (hop limit, or TTL and header checksum, less one step).
#![no_main]

use libfuzzer_sys::fuzz_target;
use router::tunnel::{decapsulate, encapsulate};
use std::net::Ipv6Addr;

fuzz_target!(|data: &[u8]| {
    let _ = decapsulate(data);
    let local = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 1);
    let remote = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 2);
    let mut out = Vec::new();
    if encapsulate(local, remote, data, 64, 1500, &mut out).is_ok() {
        let (src, inner) = decapsulate(&out).expect("what we encapsulate decapsulates");
        assert_eq!(src, local);
        assert_eq!(inner.len(), data.len());
        if data[0] >> 4 == 4 {
            // IPv4: the TTL (octet 8) and the header checksum (10, 11) change.
            assert!(
                router::ipv4::packet(inner).is_ok(),
                "the checksum still verifies"
            );
            let same = |i: &usize| ![8, 10, 11].contains(i);
            assert!((0..data.len()).filter(same).all(|i| inner[i] == data[i]));
            assert_eq!(inner[8], data[8] - 1);
        } else {
            assert_eq!(&inner[8..], &data[8..], "only the hop limit changes");
        }
    }
});
