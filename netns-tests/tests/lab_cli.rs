//! `tapmip-lab` as a user runs it: up, status, exec, a crashed router, down, and
//! nothing of the lab left behind. Needs root and /dev/net/tun.

use std::path::Path;
use std::process::{Command, Output};

use netns_tests::domain::daemon::State;

const TOPOLOGY: &str = r#"
wan_rtt_ms = 0.0
[[mag]]
name = "mag1"
[[vm]]
name = "vm1"
mag = "mag1"
[[correspondent]]
name = "client"
"#;

fn lab(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tapmip-lab"))
        .args(args)
        .output()
        .expect("running tapmip-lab");
    println!(
        "$ tapmip-lab {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn processes_mentioning(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&needle))
        .collect()
}

/// Takes the lab down even when an assertion failed half-way.
struct DownOnDrop<'a>(&'a str);

impl Drop for DownOnDrop<'_> {
    fn drop(&mut self) {
        if Path::new(self.0).exists() {
            lab(&["down", "--dir", self.0]);
        }
    }
}

#[test]
fn up_status_exec_crash_down() {
    if let Err(e) = netns_tests::ensure_tun_access() {
        eprintln!("skipped: {e}");
        return;
    }
    netns_tests::binaries::build(&netns_tests::binaries::LAB).unwrap();
    let dir = std::env::temp_dir().join(format!("tapmip-lab-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let topology = dir.join("topology.toml");
    std::fs::write(&topology, TOPOLOGY).unwrap();
    let d = dir.to_str().unwrap();
    let _guard = DownOnDrop(d);

    let up = lab(&["up", "--topology", topology.to_str().unwrap(), "--dir", d]);
    assert!(up.status.success(), "up failed");
    let state = State::read(&dir).unwrap();
    let vm = state.node("vm1").unwrap().addresses[0];
    assert!(String::from_utf8_lossy(&up.stdout).contains(&vm.to_string()));
    assert!(dir.join("lab.sock").exists() && dir.join("bridge.sock").exists());

    let status = lab(&["status", "--dir", d]);
    assert!(status.status.success());
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("[lma] bindings (1)"), "{text}");
    assert!(text.contains("vm1@tapmip  2001:db8:1:1::/64"), "{text}");
    assert!(text.contains("[bridge] members"), "{text}");

    let vm = vm.to_string();
    let ping = lab(&[
        "exec", "--dir", d, "client", "--", "ping6", "-c", "2", "-W", "2", &vm,
    ]);
    assert!(ping.status.success(), "ping client -> vm1 failed");
    let exit = lab(&["exec", "--dir", d, "vm1", "--", "sh", "-c", "exit 3"]);
    assert_eq!(exit.status.code(), Some(3), "exec passes on the status");

    let mag = state.pid_of("mag1").unwrap();
    assert!(
        Command::new("kill")
            .args(["-9", &mag.to_string()])
            .status()
            .unwrap()
            .success()
    );

    let down = lab(&["down", "--dir", d]);
    assert!(down.status.success(), "down failed");
    assert!(!dir.exists(), "{} is left", dir.display());
    assert_eq!(processes_mentioning(&dir), Vec::<String>::new());
    let netns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let netns = String::from_utf8_lossy(&netns.stdout);
    for node in &state.nodes {
        assert!(!netns.contains(&node.netns), "{} is left", node.netns);
    }
}
