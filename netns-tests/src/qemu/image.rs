//! The lab's guest image: a Debian kernel and an initramfs of busybox (with
//! the lab's udhcpc script), the virtio-net modules and the lab's probe, built
//! by `guest/build-guest.sh` from installed Debian packages (linux-image-amd64,
//! busybox-static) and cached.
//!
//! The recipe is compiled into the lab, so the image always matches the lab
//! that boots it; it is rebuilt whenever the recipe or the probe binary change.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::LabError;

const BUILD_SCRIPT: &str = include_str!("../../guest/build-guest.sh");
const INIT: &str = include_str!("../../guest/init.sh");
const DHCP_SCRIPT: &str = include_str!("../../guest/udhcpc.script");
const KEY_FILE: &str = "recipe-key";

#[derive(Debug, Clone)]
pub struct GuestImage {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// The Debian kernel's release, e.g. `6.1.0-57-amd64`.
    pub kernel_version: String,
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> LabError {
    move |error| LabError::Io { what, error }
}

/// The cache directory: `TAPMIP_GUEST_DIR`, else `guest/` beside the profile
/// directory the probe was built in (`target/guest`).
pub fn default_dir(probe: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("TAPMIP_GUEST_DIR") {
        return PathBuf::from(dir);
    }
    probe
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."))
        .join("guest")
}

/// What the image is built from: the recipe, the probe binary and the kernels
/// installed (a new Debian kernel gets a new image).
fn key(probe: &Path) -> Result<String, LabError> {
    let meta = std::fs::metadata(probe).map_err(io(format!("reading {}", probe.display())))?;
    let mut h = DefaultHasher::new();
    (BUILD_SCRIPT, INIT, DHCP_SCRIPT, meta.len()).hash(&mut h);
    meta.modified().ok().hash(&mut h);
    let mut kernels: Vec<String> = std::fs::read_dir("/boot")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    kernels.sort();
    kernels.hash(&mut h);
    Ok(format!("{:016x}", h.finish()))
}

/// The image in `dir`, built first if missing or out of date.
pub fn ensure(probe: &Path, dir: &Path) -> Result<GuestImage, LabError> {
    let image = GuestImage {
        kernel: dir.join("vmlinuz"),
        initrd: dir.join("initramfs.cpio"),
        kernel_version: String::new(),
    };
    let key = key(probe)?;
    let current = std::fs::read_to_string(dir.join(KEY_FILE)).unwrap_or_default();
    if current.trim() != key || !image.kernel.exists() || !image.initrd.exists() {
        build(probe, dir)?;
        std::fs::write(dir.join(KEY_FILE), &key)
            .map_err(io(format!("writing {}", dir.join(KEY_FILE).display())))?;
    }
    let version = dir.join("kernel-version");
    let kernel_version = std::fs::read_to_string(&version)
        .map_err(io(format!("reading {}", version.display())))?
        .trim()
        .to_string();
    Ok(GuestImage {
        kernel_version,
        ..image
    })
}

fn build(probe: &Path, dir: &Path) -> Result<(), LabError> {
    let recipe = dir.join("recipe");
    std::fs::create_dir_all(&recipe).map_err(io(format!("creating {}", recipe.display())))?;
    let (script, init) = (recipe.join("build-guest.sh"), recipe.join("init.sh"));
    let dhcp = recipe.join("udhcpc.script");
    for (path, text) in [(&script, BUILD_SCRIPT), (&init, INIT), (&dhcp, DHCP_SCRIPT)] {
        std::fs::write(path, text).map_err(io(format!("writing {}", path.display())))?;
    }
    println!("lab: building the guest image in {} (once)", dir.display());
    let out = Command::new("sh")
        .arg(&script)
        .arg("--out")
        .arg(dir)
        .arg("--init")
        .arg(&init)
        .arg("--dhcp-script")
        .arg(&dhcp)
        .arg("--probe")
        .arg(probe)
        .output()
        .map_err(io("running sh (the guest's build script)".into()))?;
    if !out.status.success() {
        return Err(LabError::Check(format!(
            "building the guest image failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    print!("lab: {}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}
