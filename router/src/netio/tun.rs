//! Creating a TAP device (`TUNSETIFF`), with the virtio-net header and as many
//! offloads as the kernel grants.
//!
//! With `IFF_VNET_HDR` every read and write carries a `virtio_net_hdr`
//! ([`crate::wire::virtio_net`]); `TUNSETOFFLOAD` then tells the kernel which
//! unfinished frames it may hand over: partial checksums (`TUN_F_CSUM`), TCP
//! superframes (`TSO4`, `TSO6`, with CWR: `TSO_ECN`) and UDP superframes (`USO4`,
//! `USO6`, Linux 6.2). A kernel that refuses a set is asked for a smaller one,
//! step by step down to none; a kernel that refuses the header itself gets a
//! plain TAP, as before offloads existed.

use std::ffi::{c_int, c_uint};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::str::FromStr;

use crate::wire::virtio_net::HEADER_LEN;

pub(super) const TUN_PATH: &str = "/dev/net/tun";

/// How much a port asks the kernel to leave unfinished (`offload=` of a port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OffloadWish {
    /// A plain TAP: no header, every frame whole (what a packet socket reading
    /// the device, such as tapbridge's `attach:`, needs).
    None,
    /// The header and partial checksums, no superframes.
    Csum,
    /// Partial checksums and TCP superframes.
    Tso,
    /// Everything the kernel has: TCP and UDP superframes too.
    All,
}

impl FromStr for OffloadWish {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(OffloadWish::None),
            "csum" => Ok(OffloadWish::Csum),
            "tso" => Ok(OffloadWish::Tso),
            "all" => Ok(OffloadWish::All),
            other => Err(format!("offload={other}: want none, csum, tso or all")),
        }
    }
}

/// What the kernel granted a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offloads {
    /// Reads and writes carry a `virtio_net_hdr`.
    pub vnet_hdr: bool,
    /// `TUN_F_*` flags `TUNSETOFFLOAD` accepted.
    pub flags: c_uint,
}

impl Offloads {
    pub fn csum(&self) -> bool {
        self.flags & libc::TUN_F_CSUM != 0
    }
    pub fn tso4(&self) -> bool {
        self.flags & libc::TUN_F_TSO4 != 0
    }
    pub fn tso6(&self) -> bool {
        self.flags & libc::TUN_F_TSO6 != 0
    }
    pub fn tso_ecn(&self) -> bool {
        self.flags & libc::TUN_F_TSO_ECN != 0
    }
    pub fn uso4(&self) -> bool {
        self.flags & libc::TUN_F_USO4 != 0
    }
    pub fn uso6(&self) -> bool {
        self.flags & libc::TUN_F_USO6 != 0
    }
}

impl fmt::Display for Offloads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.vnet_hdr {
            return f.write_str("none (no virtio-net header: whole frames only)");
        }
        write!(
            f,
            "virtio-net header, TUNSETOFFLOAD {}",
            flag_names(self.flags)
        )
    }
}

fn flag_names(flags: c_uint) -> String {
    let names = [
        (libc::TUN_F_CSUM, "CSUM"),
        (libc::TUN_F_TSO4, "TSO4"),
        (libc::TUN_F_TSO6, "TSO6"),
        (libc::TUN_F_TSO_ECN, "TSO_ECN"),
        (libc::TUN_F_USO4, "USO4"),
        (libc::TUN_F_USO6, "USO6"),
    ];
    let on: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    if on.is_empty() {
        "(nothing: whole frames only)".into()
    } else {
        on.join("|")
    }
}

/// The `TUNSETOFFLOAD` sets to try for a wish, largest first; the last is 0.
fn ladder(wish: OffloadWish) -> &'static [c_uint] {
    const CSUM: c_uint = libc::TUN_F_CSUM;
    const TSO: c_uint = CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6;
    const TSO_ECN: c_uint = TSO | libc::TUN_F_TSO_ECN;
    const ALL: c_uint = TSO_ECN | libc::TUN_F_USO4 | libc::TUN_F_USO6;
    match wish {
        OffloadWish::None => &[0],
        OffloadWish::Csum => &[CSUM, 0],
        OffloadWish::Tso => &[TSO_ECN, TSO, CSUM, 0],
        OffloadWish::All => &[ALL, TSO_ECN, TSO, CSUM, 0],
    }
}

/// Why creating the device failed, before the caller names the device.
pub(super) enum CreateError {
    /// Opening `/dev/net/tun`.
    Open(io::Error),
    /// `TUNSETIFF`.
    SetIff(io::Error),
}

/// A TAP device attached to `file`, and what it grants.
pub(super) struct Device {
    pub file: File,
    pub name: String,
    pub offloads: Offloads,
}

/// Creates (or attaches to) TAP `name` in the current network namespace.
pub(super) fn create(name: &str, wish: OffloadWish) -> Result<Device, CreateError> {
    let open = || {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(TUN_PATH)
            .map_err(CreateError::Open)
    };
    let file = open()?;
    let base = libc::IFF_TAP | libc::IFF_NO_PI;
    if wish > OffloadWish::None {
        match features(&file) {
            Ok(f) if f & libc::IFF_VNET_HDR as c_uint != 0 => {
                match set_iff(&file, name, base | libc::IFF_VNET_HDR) {
                    Ok(name) => {
                        if let Some(offloads) = negotiate(&file, &name, wish) {
                            return Ok(Device {
                                file,
                                name,
                                offloads,
                            });
                        }
                        // The header cannot be used: start over with a plain TAP.
                        drop(file);
                        return plain(open()?, name, base);
                    }
                    Err(e) => log::info!(
                        "TAP {name}: TUNSETIFF refused IFF_VNET_HDR ({e}): no offloads, whole frames only"
                    ),
                }
            }
            Ok(_) => log::info!(
                "TAP {name}: the kernel's tun has no IFF_VNET_HDR: no offloads, whole frames only"
            ),
            Err(e) => log::info!(
                "TAP {name}: TUNGETFEATURES failed ({e}): no offloads, whole frames only"
            ),
        }
    }
    plain(file, name.to_string(), base)
}

fn plain(file: File, name: String, flags: c_int) -> Result<Device, CreateError> {
    let name = set_iff(&file, &name, flags).map_err(CreateError::SetIff)?;
    Ok(Device {
        file,
        name,
        offloads: Offloads::default(),
    })
}

/// Sets the header's size and byte order, then the largest offload set the
/// kernel accepts. `None` when the header cannot be used at all.
fn negotiate(file: &File, name: &str, wish: OffloadWish) -> Option<Offloads> {
    let size = HEADER_LEN as c_int;
    if let Err(e) = ioctl_ptr(file, libc::TUNSETVNETHDRSZ, &size) {
        log::info!("TAP {name}: TUNSETVNETHDRSZ {size} refused ({e}): no offloads");
        return None;
    }
    let little: c_int = 1;
    // Little-endian hosts read the header in their own order anyway; a
    // big-endian one needs the switch, which kernels before 4.1 may lack.
    if let Err(e) = ioctl_ptr(file, libc::TUNSETVNETLE, &little)
        && cfg!(target_endian = "big")
    {
        log::info!("TAP {name}: TUNSETVNETLE refused ({e}): no offloads");
        return None;
    }
    for &flags in ladder(wish) {
        match ioctl_value(file, libc::TUNSETOFFLOAD, flags) {
            Ok(()) => {
                let offloads = Offloads {
                    vnet_hdr: true,
                    flags,
                };
                log::info!("TAP {name}: offloads {offloads}");
                return Some(offloads);
            }
            Err(e) => log::info!(
                "TAP {name}: TUNSETOFFLOAD {} refused ({e}), asking for less",
                flag_names(flags)
            ),
        }
    }
    None
}

fn features(file: &File) -> io::Result<c_uint> {
    let mut features: c_uint = 0;
    // SAFETY: TUNGETFEATURES writes one unsigned int through the pointer, which
    // points at `features`, alive and exclusively borrowed for the call.
    let r = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            libc::TUNGETFEATURES,
            &mut features as *mut c_uint,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(features)
}

/// TUNSETIFF: attaches `file` to TAP `name`; returns the name the kernel used.
fn set_iff(file: &File, name: &str, flags: c_int) -> io::Result<String> {
    // SAFETY: ifreq is plain old data; all-zero bytes are a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    // The caller checked name.len() < IFNAMSIZ, so the name stays NUL-terminated.
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    req.ifr_ifru.ifru_flags = flags as libc::c_short;
    // SAFETY: TUNSETIFF reads and writes one ifreq through the pointer, which
    // points at `req`, alive and exclusively borrowed for the call.
    let r = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            libc::TUNSETIFF,
            &mut req as *mut libc::ifreq,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    let bytes: Vec<u8> = req
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn ioctl_ptr(file: &File, request: libc::Ioctl, value: &c_int) -> io::Result<()> {
    // SAFETY: the request reads one int through the pointer, which points at
    // `value`, alive for the call.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), request, value as *const c_int) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn ioctl_value(file: &File, request: libc::Ioctl, value: c_uint) -> io::Result<()> {
    // SAFETY: TUNSETOFFLOAD takes its flags by value: no memory is touched.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), request, libc::c_ulong::from(value)) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wish_falls_back_step_by_step_to_nothing() {
        for wish in [
            OffloadWish::None,
            OffloadWish::Csum,
            OffloadWish::Tso,
            OffloadWish::All,
        ] {
            let steps = ladder(wish);
            assert_eq!(steps.last(), Some(&0));
            assert!(
                steps
                    .windows(2)
                    .all(|w| w[0] & w[1] == w[1] && w[0] != w[1])
            );
        }
        assert_eq!(
            flag_names(ladder(OffloadWish::All)[0]),
            "CSUM|TSO4|TSO6|TSO_ECN|USO4|USO6"
        );
        assert_eq!("tso".parse::<OffloadWish>(), Ok(OffloadWish::Tso));
        assert!("fast".parse::<OffloadWish>().is_err());
    }
}
