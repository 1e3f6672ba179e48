//! Running a program inside a fresh unprivileged user namespace that owns its own
//! network and mount namespaces, as the lab does for users without root.

use std::path::Path;
use std::process::Command;

/// `ip netns add` needs a writable `/run/netns` on which it can bind-mount; a
/// private tmpfs gives one without touching the host's. Where `/run/netns` does
/// not exist (and cannot be made by an unprivileged user), `/run` itself is covered.
const SETUP: &str = "set -e
if [ -d /run/netns ]; then mount -t tmpfs tmpfs /run/netns
else mount -t tmpfs tmpfs /run; mkdir /run/netns; fi
exec \"$@\"";

/// `program args...` wrapped in `unshare -Urnm --propagation private`.
pub fn command(program: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["-Urnm", "--propagation", "private", "sh", "-c", SETUP, "sh"])
        .arg(program)
        .args(args);
    cmd
}

/// Re-runs tests of the running test binary (`args`: its filter and options)
/// inside a user namespace, as an unprivileged user would run them; returns
/// their output, or why they failed or did not all run (`passed` of them must).
pub fn rerun_tests(args: &[&str], passed: usize) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| format!("locating this test binary: {e}"))?;
    let out = command(&exe, args)
        .output()
        .map_err(|e| format!("running unshare: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        return Err(format!("in the user namespace:\n{text}"));
    }
    if !text.contains(&format!("{passed} passed")) {
        return Err(format!("the inner tests did not all run:\n{text}"));
    }
    Ok(text)
}
