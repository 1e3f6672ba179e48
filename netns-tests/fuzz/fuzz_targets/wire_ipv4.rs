//! The IPv4 frames an access link and a core link carry: ARP, IPv4 headers,
//! DHCP client and server messages, and the ICMPv4 errors about any packet.
//! Parsing never panics; what the checks accept, the builders handle; a
//! fragmented packet reassembles to the original.
#![no_main]

use libfuzzer_sys::fuzz_target;
use router::arp::ArpFrame;
use router::dhcp::{ClientMessage, ServerMessage};
use router::icmp::IcmpError;
use std::net::Ipv4Addr;

fuzz_target!(|data: &[u8]| {
    let _ = ArpFrame::parse(data);
    let Ok(packet) = router::ipv4::packet(data) else {
        return;
    };
    let _ = ClientMessage::parse(packet);
    let _ = ServerMessage::parse(packet);
    let _ = router::icmpv4::echo_reply(packet);
    let router = Ipv4Addr::new(10, 1, 1, 1);
    for err in [
        IcmpError::HopLimitExceeded,
        IcmpError::NoRoute,
        IcmpError::PacketTooBig { mtu: 1460 },
    ] {
        if let Some(e) = router::icmpv4::error_packet(err, router, packet) {
            assert!(e.len() <= 576, "an ICMPv4 error fits 576 octets");
            assert!(router::ipv4::packet(&e).is_ok());
        }
    }
    let header = usize::from(packet[0] & 0x0f) * 4;
    let mut data_back = Vec::new();
    let mtu = header + 8 * (1 + usize::from(packet[1] % 16));
    let n = router::ipv4::fragment(packet, mtu, &mut Vec::new(), &mut |f| {
        let f = router::ipv4::packet(f).expect("every fragment is a valid packet");
        let h = usize::from(f[0] & 0x0f) * 4;
        data_back.extend_from_slice(&f[h..]);
    });
    if n > 0 {
        assert_eq!(
            data_back,
            packet[header..],
            "the fragments hold the data in order"
        );
    }
});
