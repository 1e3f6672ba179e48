//! The plain router between two kernel hosts (scenario `plain-router`), with
//! every mix of offloads on its ports (scenario `superframes`), and behind
//! tapbridge (scenario `superframes-bridged`), each run as is and inside an
//! unprivileged user namespace.

use std::path::PathBuf;
use std::process::Command;

use netns_tests::{binaries, userns};

fn scenario() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tapmip-scenario"))
}

fn check(name: &str, mut cmd: Command) {
    let router = binaries::build_router().unwrap_or_else(|e| panic!("{e}"));
    if name == "superframes-bridged" {
        binaries::build(&[("tapbridge", "tapbridge")]).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = cmd
        .arg(name)
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
    assert!(out.status.success(), "scenario {name} failed:\n{text}");
}

#[test]
fn plain_router_between_two_hosts() {
    check("plain-router", Command::new(scenario()));
}

#[test]
fn plain_router_between_two_hosts_in_user_namespace() {
    check("plain-router", userns::command(&scenario(), &[]));
}

#[test]
fn superframes_through_the_plain_router() {
    check("superframes", Command::new(scenario()));
}

#[test]
fn superframes_through_the_plain_router_in_user_namespace() {
    check("superframes", userns::command(&scenario(), &[]));
}

#[test]
fn superframes_through_tapbridge() {
    check("superframes-bridged", Command::new(scenario()));
}

#[test]
fn superframes_through_tapbridge_in_user_namespace() {
    check("superframes-bridged", userns::command(&scenario(), &[]));
}
