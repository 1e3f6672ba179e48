//! The virtio_net_hdr in front of every frame of an offloading TAP, with the
//! frame behind it: a header that lies about the frame is refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use router::gso::Offload;
use router::wire::virtio_net::{HEADER_LEN, VirtioNetHdr, VirtioNetRepr};

fuzz_target!(|data: &[u8]| {
    let Ok(hdr) = VirtioNetHdr::new_checked(data) else {
        return;
    };
    let Ok(repr) = VirtioNetRepr::parse(&hdr) else {
        return;
    };
    let frame = data.get(HEADER_LEN..).unwrap_or_default();
    let _ = Offload::from_vnet(&repr, frame);
});
