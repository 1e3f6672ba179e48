//! A [`Port`]: one TAP device whose frames the router reads and writes.
//!
//! The device is opened without packet info and without a vnet header, so every
//! read is one whole Ethernet frame with final checksums, and every write is one
//! frame handed to the kernel as if it had arrived on the wire.

use std::ffi::c_int;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use tun_tap::{Iface, Mode};

const TUN_PATH: &str = "/dev/net/tun";

/// Largest frame a TAP device without vnet header hands us: the kernel segments
/// GSO packets before they reach userspace, so 64 KiB plus an Ethernet header is
/// a safe bound whatever the MTU is.
pub const MAX_FRAME: usize = 65536 + 14;

/// Who owns the device, as this process sees it: inside a user namespace an owner
/// from outside it (root, usually) shows as the overflow uid 65534.
fn owner(uid: u32) -> String {
    match uid {
        65534 => " and owned by a user outside this user namespace (usually root)".into(),
        uid => format!(" and owned by uid {uid}"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error(
        "{TUN_PATH} does not exist: load the tun module (modprobe tun) or create it (mknod {TUN_PATH} c 10 200)"
    )]
    TunMissing,
    #[error(
        "{TUN_PATH} is mode {mode:04o}{}: run as root, or chmod 0666 {TUN_PATH} (most distributions ship it 0666)",
        owner(*uid)
    )]
    TunMode { mode: u32, uid: u32 },
    #[error("cannot open {TUN_PATH}: {0}")]
    TunOpen(io::Error),
    #[error(
        "TAP {dev}: creating it needs CAP_NET_ADMIN in the network namespace: run as root or inside `unshare -Urn`"
    )]
    NoNetAdmin { dev: String },
    #[error(
        "TAP {dev}: the name is taken by a device that is not a free TAP (another process owns it, or it is not a TAP)"
    )]
    Busy { dev: String },
    #[error("TAP {dev}: interface name is empty or longer than 15 bytes")]
    BadName { dev: String },
    #[error("TAP {dev}: {what}: {error}")]
    Os {
        dev: String,
        what: &'static str,
        error: io::Error,
    },
}

/// Frames counted per port by the I/O loop.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PortStats {
    pub rx_frames: u64,
    pub rx_bytes: u64,
    pub tx_frames: u64,
    pub tx_bytes: u64,
    /// Writes refused because the device queue was full (EAGAIN/ENOBUFS).
    pub tx_dropped_full: u64,
    /// Writes refused for any other reason (e.g. EIO while the interface is down).
    pub tx_errors: u64,
}

/// One TAP device, non-blocking, ready to register with mio.
pub struct Port {
    iface: Iface,
    stats: PortStats,
}

/// What a non-blocking read of one frame gave.
pub enum Recv {
    Frame(usize),
    /// The device queue is empty: wait for readiness again.
    Empty,
}

impl Port {
    /// Creates (or attaches to) TAP device `name` in the current network namespace,
    /// brings it up and sets its MTU when `mtu` is given.
    pub fn open(name: &str, mtu: Option<u32>) -> Result<Port, PortError> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ {
            return Err(PortError::BadName { dev: name.into() });
        }
        let iface = Iface::without_packet_info(name, Mode::Tap)
            .map_err(|e| explain_create_error(name, e))?;
        let os = |what| {
            let dev = iface.name().to_string();
            move |error| PortError::Os { dev, what, error }
        };
        iface
            .set_non_blocking()
            .map_err(os("setting non-blocking mode"))?;
        let ctl = control_socket().map_err(os("opening a control socket"))?;
        if let Some(mtu) = mtu {
            set_mtu(&ctl, iface.name(), mtu).map_err(os("setting the MTU"))?;
        }
        set_up(&ctl, iface.name()).map_err(os("bringing the interface up"))?;
        Ok(Port {
            iface,
            stats: PortStats::default(),
        })
    }

    pub fn name(&self) -> &str {
        self.iface.name()
    }

    pub fn stats(&self) -> PortStats {
        self.stats
    }

    /// Reads one frame into `buf` without blocking.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<Recv> {
        loop {
            match self.iface.recv(buf) {
                Ok(n) => {
                    self.stats.rx_frames += 1;
                    self.stats.rx_bytes += n as u64;
                    return Ok(Recv::Frame(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Recv::Empty),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes one frame without blocking. A full queue or a down interface drops
    /// the frame and counts it, the way a NIC would; the loop never waits on it.
    /// Returns the error when the frame was dropped, so the caller can log it.
    pub fn send(&mut self, frame: &[u8]) -> Result<(), io::Error> {
        loop {
            match self.iface.send(frame) {
                Ok(_) => {
                    self.stats.tx_frames += 1;
                    self.stats.tx_bytes += frame.len() as u64;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let full = e.kind() == io::ErrorKind::WouldBlock
                        || e.raw_os_error() == Some(libc::ENOBUFS);
                    if full {
                        self.stats.tx_dropped_full += 1;
                    } else {
                        self.stats.tx_errors += 1;
                    }
                    return Err(e);
                }
            }
        }
    }
}

impl AsRawFd for Port {
    fn as_raw_fd(&self) -> RawFd {
        self.iface.as_raw_fd()
    }
}

impl Source for Port {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.as_raw_fd()).deregister(registry)
    }
}

/// Sets the hardware address of interface `name` in the current namespace.
///
/// The interface is taken down for the change and brought up again, so the kernel
/// derives its IPv6 link-local address from the new address rather than keeping
/// the one made from the random address the TAP device was created with.
pub fn set_mac(name: &str, mac: [u8; 6]) -> io::Result<()> {
    check_ifname(name)?;
    let ctl = control_socket()?;
    set_flag(&ctl, name, libc::IFF_UP as libc::c_short, false)?;
    let mut req = ifreq_for(name);
    // SAFETY: ifru_hwaddr is a plain sockaddr in the all-zero ifreq; writing its
    // family and first six data bytes leaves the union fully initialised.
    unsafe {
        req.ifr_ifru.ifru_hwaddr.sa_family = libc::ARPHRD_ETHER;
        for (dst, src) in req.ifr_ifru.ifru_hwaddr.sa_data.iter_mut().zip(mac) {
            *dst = src as libc::c_char;
        }
    }
    ioctl(&ctl, libc::SIOCSIFHWADDR, &mut req)?;
    set_up(&ctl, name)
}

fn check_ifname(name: &str) -> io::Result<()> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name is empty or longer than 15 bytes",
        ));
    }
    Ok(())
}

/// Brings interface `name` in the current namespace up.
pub fn set_link_up(name: &str) -> io::Result<()> {
    check_ifname(name)?;
    set_up(&control_socket()?, name)
}

/// Checks that this process may open `/dev/net/tun` read-write, and says how to fix
/// it when it may not. Opening the device is the only step that needs no namespace.
pub fn check_tun_access() -> Result<(), PortError> {
    match OpenOptions::new().read(true).write(true).open(TUN_PATH) {
        Ok(_) => Ok(()),
        Err(e) => Err(explain_open_error(e)),
    }
}

fn explain_open_error(e: io::Error) -> PortError {
    match e.kind() {
        io::ErrorKind::NotFound => PortError::TunMissing,
        io::ErrorKind::PermissionDenied => match std::fs::metadata(TUN_PATH) {
            Ok(meta) => {
                use std::os::unix::fs::MetadataExt;
                PortError::TunMode {
                    mode: meta.permissions().mode() & 0o7777,
                    uid: meta.uid(),
                }
            }
            Err(_) => PortError::TunOpen(e),
        },
        _ => PortError::TunOpen(e),
    }
}

/// tun-tap reports the open of `/dev/net/tun` and the TUNSETIFF ioctl with the same
/// error type; opening the device again tells the two apart.
fn explain_create_error(dev: &str, e: io::Error) -> PortError {
    if let Err(open) = check_tun_access() {
        return open;
    }
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => PortError::NoNetAdmin { dev: dev.into() },
        Some(libc::EBUSY) | Some(libc::EINVAL) => PortError::Busy { dev: dev.into() },
        _ => PortError::Os {
            dev: dev.into(),
            what: "creating the TAP device",
            error: e,
        },
    }
}

/// A datagram socket is what the interface ioctls need; it must be created in the
/// network namespace of the device, which is the current one here.
fn control_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers; the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ifreq_for(name: &str) -> libc::ifreq {
    // SAFETY: ifreq is plain old data (a name array and a union of integers and
    // sockaddrs); all-zero bytes are a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    // The caller checked name.len() < IFNAMSIZ, so the name stays NUL-terminated.
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    req
}

fn ioctl(ctl: &OwnedFd, request: libc::c_ulong, req: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: `req` is a valid, exclusively borrowed ifreq, which is the argument
    // type of every SIOC[GS]IF* request used in this file.
    let r = unsafe { libc::ioctl(ctl.as_raw_fd(), request, req as *mut libc::ifreq) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn set_up(ctl: &OwnedFd, name: &str) -> io::Result<()> {
    set_flag(ctl, name, libc::IFF_UP as libc::c_short, true)
}

fn set_flag(ctl: &OwnedFd, name: &str, flag: libc::c_short, on: bool) -> io::Result<()> {
    let mut req = ifreq_for(name);
    ioctl(ctl, libc::SIOCGIFFLAGS, &mut req)?;
    // SAFETY: SIOCGIFFLAGS filled the ifru_flags member of the union.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    req.ifr_ifru.ifru_flags = if on { flags | flag } else { flags & !flag };
    ioctl(ctl, libc::SIOCSIFFLAGS, &mut req)
}

fn set_mtu(ctl: &OwnedFd, name: &str, mtu: u32) -> io::Result<()> {
    let mut req = ifreq_for(name);
    req.ifr_ifru.ifru_mtu = c_int::try_from(mtu)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "MTU out of range"))?;
    ioctl(ctl, libc::SIOCSIFMTU, &mut req)
}
