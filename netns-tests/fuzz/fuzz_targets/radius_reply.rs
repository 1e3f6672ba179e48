//! RADIUS replies from the network: parsing and the client's verification
//! never panic, and no reply without the right authenticators is taken.
#![no_main]

use libfuzzer_sys::fuzz_target;
use router::aaa::{RadiusClient, RadiusConfig, RadiusServer};
use router::wire::{AccessReplyRepr, RadiusPacket};

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = RadiusPacket::new_checked(data) {
        let _ = AccessReplyRepr::parse(&packet);
    }
    let server = RadiusServer {
        address: "127.0.0.1:1812".parse().unwrap(),
        secret: b"fuzzing secret".to_vec(),
    };
    let Ok(mut client) = RadiusClient::new(RadiusConfig::new("mag1", vec![server])) else {
        return;
    };
    // Unsolicited or forged: nothing is outstanding, so nothing may come out.
    let outcome = client.on_datagram("127.0.0.1:1812".parse().unwrap(), data);
    assert!(outcome.is_none(), "a reply to no request was taken");
});
