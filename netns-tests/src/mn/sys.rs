//! The mobile node agent's devices: a TUN device (`IFF_TUN | IFF_NO_PI`:
//! every read and write one bare IPv6 packet) where the home address lives,
//! and raw IPv6 sockets: protocol 41 for what the home agent tunnels to the
//! care-of address, protocol 43 for the Type 2 Routing Header of its Binding
//! Acknowledgements (a kernel without Mobile IPv6 copies the packet to the
//! raw socket, then refuses it with a Parameter Problem), and `IPPROTO_RAW`
//! (header included) to send packets whose source the agent chooses.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// A TUN device, non-blocking.
pub struct Tun {
    file: File,
    pub name: String,
}

fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface name {name:?}: 1 to 15 bytes"),
        ));
    }
    // SAFETY: ifreq is plain old data; all-zero bytes are a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    Ok(req)
}

fn ioctl(fd: RawFd, request: libc::c_ulong, req: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: every request used here (TUNSETIFF, SIOCSIFMTU, SIOC[GS]IFFLAGS)
    // reads or writes one ifreq through the pointer, which points at `req`,
    // alive and exclusively borrowed for the call.
    let r = unsafe { libc::ioctl(fd, request, req as *mut libc::ifreq) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Tun {
    /// Creates TUN device `name` in this namespace with `mtu`, and brings it up.
    pub fn open(name: &str, mtu: u32) -> io::Result<Tun> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")?;
        let mut req = ifreq(name)?;
        req.ifr_ifru.ifru_flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
        ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut req)?;
        let ctl = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
        let mut req = ifreq(name)?;
        req.ifr_ifru.ifru_mtu = libc::c_int::try_from(mtu).unwrap_or(1280);
        ioctl(ctl.as_raw_fd(), libc::SIOCSIFMTU, &mut req)?;
        let mut req = ifreq(name)?;
        ioctl(ctl.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req)?;
        // SAFETY: SIOCGIFFLAGS filled the ifru_flags member of the union.
        let flags = unsafe { req.ifr_ifru.ifru_flags };
        req.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
        ioctl(ctl.as_raw_fd(), libc::SIOCSIFFLAGS, &mut req)?;
        Ok(Tun {
            file,
            name: name.to_string(),
        })
    }

    /// One packet, or `None` when none is queued.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.file.read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn send(&mut self, packet: &[u8]) -> io::Result<()> {
        self.file.write_all(packet)
    }
}

impl AsRawFd for Tun {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// A non-blocking raw IPv6 socket of `protocol`.
pub fn raw_socket(protocol: i32) -> io::Result<Socket> {
    let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(protocol)))?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// One datagram and its sender, or `None` when none is queued.
pub fn recv_from(s: &Socket, buf: &mut [u8]) -> io::Result<Option<(usize, Ipv6Addr)>> {
    // SAFETY: u8 and MaybeUninit<u8> have the same layout, and recv_from only
    // writes initialised bytes into the slice; the returned length says how many.
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    match s.recv_from(uninit) {
        Ok((n, from)) => {
            let from = from
                .as_socket_ipv6()
                .map_or(Ipv6Addr::UNSPECIFIED, |a| *a.ip());
            Ok(Some((n, from)))
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sends a whole IPv6 packet through an `IPPROTO_RAW` socket (the kernel
/// routes it by its destination and leaves the header as it is).
pub fn send_ipv6(s: &Socket, packet: &[u8]) -> io::Result<()> {
    let dst = smoltcp::wire::Ipv6Packet::new_checked(packet)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "not an IPv6 packet"))?
        .dst_addr();
    s.send_to(packet, &SockAddr::from(SocketAddrV6::new(dst, 0, 0, 0)))?;
    Ok(())
}

/// The index of interface `name` in this namespace.
pub fn if_index(name: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in an interface name"))?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(index)
}
