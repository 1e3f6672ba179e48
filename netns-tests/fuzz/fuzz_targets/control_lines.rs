//! Control-socket lines, the routers' and tapbridge's: a request or a refusal
//! naming the problem, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let _ = router::ctl::parse_line::<router::ctl::Request>(&line);
    let _ = tapbridge::ctl::parse_request(&line);
});
