//! The files and command-line values people write: the policy, a lab
//! topology, tapbridge's configuration, a router's --port. Refused with the
//! line and the reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = router::policy::Policy::parse(&text, "fuzz.toml");
    let _ = netns_tests::domain::Topology::parse(&text);
    let _ = tapbridge::config::parse_file(&text);
    let _ = text.parse::<router::portspec::PortSpec>();
});
