//! A [`Port`]: one TAP device whose frames the router reads and writes.
//!
//! A port opened with [`Port::open`] has no packet info and no vnet header, so
//! every read is one whole Ethernet frame with final checksums, and every write
//! is one frame handed to the kernel as if it had arrived on the wire. A port
//! opened with [`Port::open_with`] and offloads ([`super::tun`]) also reads
//! superframes and partial checksums, each with its `virtio_net_hdr`, writes
//! superframes whole, and joins the TCP segments written to it into
//! superframes ([`Coalescer`]) until [`Port::flush`].

use std::ffi::c_int;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::tun::{self, CreateError, TUN_PATH};
pub use super::tun::{OffloadWish, Offloads};
use crate::gso::{Coalescer, MAX_SUPERFRAME, Offload, to_plain};
use crate::wire::virtio_net::{GsoType, HEADER_LEN, VirtioNetHdr, VirtioNetRepr};

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
    /// Superframes read (each also one of `rx_frames`).
    pub rx_superframes: u64,
    /// Frames dropped because their virtio-net header lied about them.
    pub rx_bad_offload: u64,
    /// Superframes written whole (each also one of `tx_frames`), built here by
    /// joining segments or passed on as they came.
    pub tx_superframes: u64,
    /// Superframes the kernel side cannot take, cut here before writing.
    pub tx_segmented: u64,
}

/// One TAP device, non-blocking, ready to register with mio.
pub struct Port {
    file: File,
    name: String,
    offloads: Offloads,
    /// Joins the segments written to a port that takes superframes (boxed: a
    /// port stays small for the enums that hold one).
    coalescer: Option<Box<Coalescer>>,
    /// Where a superframe the device cannot take is cut, or a partial
    /// checksum completed.
    scratch: Box<[u8]>,
    stats: PortStats,
}

/// What a non-blocking read of one frame gave.
pub enum Recv {
    Frame(usize),
    /// The device queue is empty: wait for readiness again.
    Empty,
}

/// What a non-blocking read of one frame gave on a port that may have offloads.
pub enum RecvOffload {
    /// A frame of `len` octets at the start of the buffer, and its header
    /// (all zero on a port without one).
    Frame {
        len: usize,
        vnet: VirtioNetRepr,
    },
    Empty,
}

impl Port {
    /// Creates (or attaches to) TAP device `name` in the current network namespace,
    /// brings it up and sets its MTU when `mtu` is given. No offloads.
    pub fn open(name: &str, mtu: Option<u32>) -> Result<Port, PortError> {
        Port::open_with(name, mtu, OffloadWish::None)
    }

    /// [`Port::open`] asking for offloads up to `wish`; what the kernel granted
    /// is logged and in [`Port::offloads`].
    pub fn open_with(name: &str, mtu: Option<u32>, wish: OffloadWish) -> Result<Port, PortError> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ {
            return Err(PortError::BadName { dev: name.into() });
        }
        let device = tun::create(name, wish).map_err(|e| explain_create_error(name, e))?;
        let os = |what| {
            let dev = device.name.clone();
            move |error| PortError::Os { dev, what, error }
        };
        set_non_blocking(&device.file).map_err(os("setting non-blocking mode"))?;
        let ctl = control_socket().map_err(os("opening a control socket"))?;
        if let Some(mtu) = mtu {
            set_mtu(&ctl, &device.name, mtu).map_err(os("setting the MTU"))?;
        }
        set_up(&ctl, &device.name).map_err(os("bringing the interface up"))?;
        let offloads = device.offloads;
        // Superframes go out only where the kernel sends them too: the peer is a
        // kernel stack that takes them, not a packet socket reading the device.
        let coalescer = (offloads.tso6() || offloads.uso6() || offloads.tso4() || offloads.uso4())
            .then(|| {
                let joins = Coalescer::new(offloads.tso6(), offloads.uso6());
                Box::new(joins.ipv4(offloads.tso4(), offloads.uso4()))
            });
        Ok(Port {
            file: device.file,
            name: device.name,
            offloads,
            coalescer,
            // A port without a header still gets frames from ports with one.
            scratch: vec![0; MAX_SUPERFRAME].into_boxed_slice(),
            stats: PortStats::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn stats(&self) -> PortStats {
        self.stats
    }

    pub fn offloads(&self) -> Offloads {
        self.offloads
    }

    /// Reads one whole frame into `buf` without blocking. On a port with
    /// offloads a frame that still needs work is dropped and counted: such a
    /// port is read with [`Port::recv_offload`].
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<Recv> {
        loop {
            return match self.recv_offload(buf)? {
                RecvOffload::Frame { len, vnet }
                    if !vnet.needs_csum && vnet.gso_type.kind == GsoType::None =>
                {
                    Ok(Recv::Frame(len))
                }
                RecvOffload::Frame { .. } => {
                    self.stats.rx_bad_offload += 1;
                    continue;
                }
                RecvOffload::Empty => Ok(Recv::Empty),
            };
        }
    }

    /// Reads one frame into `buf` without blocking, with its virtio-net header.
    pub fn recv_offload(&mut self, buf: &mut [u8]) -> io::Result<RecvOffload> {
        let mut hdr = [0u8; HEADER_LEN];
        loop {
            let read = if self.offloads.vnet_hdr {
                let mut iov = [IoSliceMut::new(&mut hdr), IoSliceMut::new(buf)];
                self.file.read_vectored(&mut iov)
            } else {
                self.file.read(buf)
            };
            match read {
                Ok(n) => {
                    let len = if self.offloads.vnet_hdr {
                        if n < HEADER_LEN {
                            self.stats.rx_bad_offload += 1;
                            continue;
                        }
                        n - HEADER_LEN
                    } else {
                        n
                    };
                    let vnet = VirtioNetRepr::parse(&VirtioNetHdr::new_unchecked(&hdr[..]))
                        .unwrap_or_default();
                    self.stats.rx_frames += 1;
                    self.stats.rx_bytes += len as u64;
                    if vnet.gso_type.kind != GsoType::None {
                        self.stats.rx_superframes += 1;
                    }
                    return Ok(RecvOffload::Frame { len, vnet });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(RecvOffload::Empty),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Counts a frame [`Port::recv_offload`] returned whose header did not hold.
    pub fn count_bad_offload(&mut self) {
        self.stats.rx_bad_offload += 1;
    }

    /// Writes one whole frame without blocking. A full queue or a down interface
    /// drops the frame and counts it, the way a NIC would; the loop never waits
    /// on it. Returns the error when the frame was dropped, so the caller can log
    /// it. On a port that takes superframes a TCP segment may instead be held to
    /// be joined with the next ones: [`Port::flush`] writes what is held.
    pub fn send(&mut self, frame: &[u8]) -> Result<(), io::Error> {
        let Port {
            file,
            name,
            offloads,
            coalescer,
            stats,
            ..
        } = self;
        match coalescer {
            Some(c) => {
                c.push(frame, None, &mut |bytes, offload| {
                    write_logged(file, name, *offloads, stats, bytes, offload)
                });
                Ok(())
            }
            None => write(file, *offloads, stats, frame, &Offload::NONE),
        }
    }

    /// Writes a frame that still needs offload work: whole when the kernel side
    /// takes it, else cut or completed here first.
    pub fn send_offload(&mut self, frame: &[u8], offload: &Offload) -> Result<(), io::Error> {
        if offload.gso.is_none()
            && self.offloads.csum()
            && let Port {
                file,
                name,
                offloads,
                coalescer: Some(c),
                stats,
                ..
            } = self
        {
            c.push(frame, offload.partial, &mut |bytes, offload| {
                write_logged(file, name, *offloads, stats, bytes, offload)
            });
            return Ok(());
        }
        self.flush();
        if self.takes(offload) {
            return write(
                &mut self.file,
                self.offloads,
                &mut self.stats,
                frame,
                offload,
            );
        }
        let Port {
            file,
            name,
            offloads,
            scratch,
            stats,
            ..
        } = self;
        if offload.gso.is_some() {
            stats.tx_segmented += 1;
        }
        let mut emit = |seg: &[u8]| write_logged(file, name, *offloads, stats, seg, &Offload::NONE);
        let cut = to_plain(frame, offload, scratch, &mut emit);
        cut.map(|_| ()).map_err(|e| {
            self.stats.tx_errors += 1;
            io::Error::new(io::ErrorKind::InvalidInput, e)
        })
    }

    /// Whether the kernel side of this port takes `offload` as it is.
    fn takes(&self, offload: &Offload) -> bool {
        let o = &self.offloads;
        match &offload.gso {
            Some(gso) => match (gso.layout.tcp, gso.layout.ipv6) {
                (true, true) => o.tso6() && (!gso.ecn || o.tso_ecn()),
                (true, false) => o.tso4() && (!gso.ecn || o.tso_ecn()),
                (false, true) => o.uso6(),
                (false, false) => o.uso4(),
            },
            None => offload.partial.is_none() || o.csum(),
        }
    }

    /// Writes the superframe being joined, if any.
    pub fn flush(&mut self) {
        let Port {
            file,
            name,
            offloads,
            coalescer,
            stats,
            ..
        } = self;
        if let Some(c) = coalescer {
            c.flush(&mut |bytes, offload| {
                write_logged(file, name, *offloads, stats, bytes, offload)
            });
        }
    }
}

/// [`write`], logging a drop: for writes whose caller is no longer there.
fn write_logged(
    file: &mut File,
    name: &str,
    offloads: Offloads,
    stats: &mut PortStats,
    frame: &[u8],
    offload: &Offload,
) {
    if let Err(e) = write(file, offloads, stats, frame, offload) {
        log::debug!("{name}: dropped a {}-byte frame: {e}", frame.len());
    }
}

/// One write of one frame, behind its header on a port that has one.
fn write(
    file: &mut File,
    offloads: Offloads,
    stats: &mut PortStats,
    frame: &[u8],
    offload: &Offload,
) -> io::Result<()> {
    let hdr = offload.to_vnet().to_bytes();
    loop {
        let written = if offloads.vnet_hdr {
            file.write_vectored(&[IoSlice::new(&hdr), IoSlice::new(frame)])
        } else {
            file.write(frame)
        };
        match written {
            Ok(_) => {
                stats.tx_frames += 1;
                stats.tx_bytes += frame.len() as u64;
                if offload.gso.is_some() {
                    stats.tx_superframes += 1;
                }
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let full = e.kind() == io::ErrorKind::WouldBlock
                    || e.raw_os_error() == Some(libc::ENOBUFS);
                if full {
                    stats.tx_dropped_full += 1;
                } else {
                    stats.tx_errors += 1;
                }
                return Err(e);
            }
        }
    }
}

fn set_non_blocking(file: &File) -> io::Result<()> {
    // SAFETY: fcntl(2) F_GETFL/F_SETFL take and return integers only.
    let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl AsRawFd for Port {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
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

fn explain_create_error(dev: &str, e: CreateError) -> PortError {
    let e = match e {
        CreateError::Open(e) => return explain_open_error(e),
        CreateError::SetIff(e) => e,
    };
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
