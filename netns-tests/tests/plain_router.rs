//! The plain router between two kernel hosts (scenario `plain-router`), run as is
//! and inside an unprivileged user namespace.

use std::path::PathBuf;
use std::process::Command;

use netns_tests::{binaries, userns};

fn scenario() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tapmip-scenario"))
}

fn check(mut cmd: Command) {
    let router = binaries::build_router().unwrap_or_else(|e| panic!("{e}"));
    let out = cmd
        .arg("plain-router")
        .arg("--router")
        .arg(&router)
        .output()
        .unwrap_or_else(|e| panic!("running the scenario: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(
        out.status.success(),
        "scenario plain-router failed:\n{text}"
    );
}

#[test]
fn plain_router_between_two_hosts() {
    check(Command::new(scenario()));
}

#[test]
fn plain_router_between_two_hosts_in_user_namespace() {
    check(userns::command(&scenario(), &[]));
}
