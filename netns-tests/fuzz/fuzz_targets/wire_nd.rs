//! Neighbor Discovery frames (RS, RA, NS, NA, Redirect) and the RARP/ARP
//! frames an access link carries: parsing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use router::nd::frames::NdFrame;

fuzz_target!(|data: &[u8]| {
    let _ = NdFrame::parse(data);
});
