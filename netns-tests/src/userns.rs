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
