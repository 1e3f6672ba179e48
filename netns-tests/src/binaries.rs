//! Finding the workspace's binaries from a test or from another binary.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const ROUTER: &str = "tapmip-router";

/// Every binary a lab runs, with the package that builds it.
pub const LAB: [(&str, &str); 6] = [
    ("router", ROUTER),
    ("lma", "lma"),
    ("mag", "mag"),
    ("tapbridge", "tapbridge"),
    ("netns-tests", "tapmip-probe"),
    ("netns-tests", "tapmip-mn"),
];

/// The binary `name` next to the running executable (all of a profile's binaries
/// share one directory; tests run from its `deps/` subdirectory).
pub fn sibling(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("locating this executable: {e}"))?;
    let mut dir = exe.parent().unwrap_or(Path::new("."));
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().unwrap_or(dir);
    }
    Ok(dir.join(name))
}

/// Builds the router binary with the cargo running these tests (a test of one
/// package cannot depend on another package's binary) and returns its path.
pub fn build_router() -> Result<PathBuf, String> {
    build(&[("router", ROUTER)])?;
    sibling(ROUTER)
}

/// Builds `(package, binary)` pairs with the cargo of the running build, into the
/// same target directory and profile as the running executable.
pub fn build(bins: &[(&str, &str)]) -> Result<(), String> {
    let path = sibling(ROUTER)?;
    let profile_dir = path.parent().ok_or("no profile directory")?;
    let target_dir = profile_dir.parent().ok_or("no target directory")?;
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--profile", profile]);
    for (package, bin) in bins {
        cmd.args(["-p", package, "--bin", bin]);
    }
    let names: Vec<&str> = bins.iter().map(|(_, b)| *b).collect();
    let status = cmd
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .map_err(|e| format!("running cargo build for {}: {e}", names.join(", ")))?;
    if !status.success() {
        return Err(format!(
            "cargo build of {} failed ({status})",
            names.join(", ")
        ));
    }
    Ok(())
}
