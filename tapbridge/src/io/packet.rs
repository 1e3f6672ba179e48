//! A packet socket bound to one interface: how tapbridge joins an interface whose
//! TAP fd another process (a router) holds.
//!
//! Frames the router writes to its fd are received by the interface, so the socket
//! reads them; frames written to the socket are transmitted by the interface, so
//! the router reads them from its fd. What the interface transmits is also
//! delivered to packet sockets as PACKET_OUTGOING: those are never the router's,
//! and are skipped.
//!
//! The socket carries a `virtio_net_hdr` before every frame (`PACKET_VNET_HDR`),
//! so a router's TCP superframe or partial checksum crosses tapbridge as it is;
//! where the interface cannot take one, the kernel finishes it on transmit.
//! Ordinary frames sent during one wakeup go out in one `sendmmsg`
//! ([`PacketSocket::flush`]). Reads stay one `recvmsg` each, straight into the
//! loop's buffer: the frames that matter for throughput are superframes, where
//! a system call is spent per 64 KB, and a ring (`PACKET_MMAP`) would add a copy
//! out of it for every frame of that size.

use std::cell::Cell;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use router::wire::virtio_net::{HEADER_LEN, VirtioNetHdr, VirtioNetRepr};

/// Socket buffers: a router's TCP superframe cut to the tunnel MTU arrives
/// as a burst of 45 frames per 64 KB, more than the default 208 KB hold.
const SOCKET_BUFFER: libc::c_int = 8 << 20;
/// Frames queued for one `sendmmsg`.
const BATCH: usize = 32;
/// Largest frame that is queued; larger ones (superframes) are sent at once.
const BATCH_FRAME: usize = 9216 + 18;

/// What a non-blocking read gave.
pub enum PacketRecv {
    Frame {
        len: usize,
        vnet: VirtioNetRepr,
    },
    /// A frame the interface sent, not one the router wrote: ignore it.
    Outgoing,
    Empty,
}

pub struct PacketSocket {
    fd: OwnedFd,
    /// Frames carry a virtio-net header.
    vnet: bool,
    /// Headers and frames waiting for [`PacketSocket::flush`], one slot each.
    queued: usize,
    hdrs: Box<[[u8; HEADER_LEN]; BATCH]>,
    frames: Box<[u8]>,
    lens: [usize; BATCH],
    /// Frames the kernel refused in a batch (its queue was full).
    pub batch_drops: u64,
    /// Frames the kernel dropped before this socket read them (its buffer
    /// was full), summed over `PACKET_STATISTICS` reads, which reset it.
    rx_drops: Cell<u64>,
}

fn set_int(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the option value is a c_int that lives through the call, and its
    // size is passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl PacketSocket {
    /// Opens a socket on `ifname` in the current network namespace and brings the
    /// interface up; `vnet`: every frame with a virtio-net header.
    pub fn open(ifname: &str, vnet: bool) -> io::Result<PacketSocket> {
        let name = CString::new(ifname)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in interface name"))?;
        // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        router::netio::tap::set_link_up(ifname)?;
        // Protocol 0 receives nothing until bind names the interface, so no frame
        // of another interface slips in between the two calls.
        // SAFETY: socket(2) takes no pointers; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` was just returned by socket(2) and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        if vnet {
            set_int(&fd, libc::SOL_PACKET, libc::PACKET_VNET_HDR, 1)?;
        }
        // The TAP behind the interface is a queue of its own (its reader's):
        // the qdisc in front of it only adds work per frame.
        set_int(&fd, libc::SOL_PACKET, libc::PACKET_QDISC_BYPASS, 1)?;
        for (force, plain) in [
            (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
            (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
        ] {
            // Forcing past rmem_max/wmem_max needs CAP_NET_ADMIN, which the lab
            // has in its namespaces; without it the capped size still helps.
            if set_int(&fd, libc::SOL_SOCKET, force, SOCKET_BUFFER).is_err() {
                let _ = set_int(&fd, libc::SOL_SOCKET, plain, SOCKET_BUFFER);
            }
        }
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        addr.sll_ifindex = ifindex as i32;
        // SAFETY: `addr` is a valid sockaddr_ll and the length passed is its size.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(PacketSocket {
            fd,
            vnet,
            queued: 0,
            hdrs: Box::new([[0; HEADER_LEN]; BATCH]),
            frames: vec![0; BATCH * BATCH_FRAME].into_boxed_slice(),
            lens: [0; BATCH],
            batch_drops: 0,
            rx_drops: Cell::new(0),
        })
    }

    /// Frames the kernel dropped because this socket did not read in time.
    pub fn rx_drops(&self) -> u64 {
        // SAFETY: tpacket_stats is plain data; all-zero is a valid value.
        let mut stats: libc::tpacket_stats = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: `stats` and `len` are exclusively borrowed for the call and
        // `len` holds the size of `stats`.
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&raw mut stats).cast(),
                &mut len,
            )
        };
        if r == 0 {
            self.rx_drops
                .set(self.rx_drops.get() + u64::from(stats.tp_drops));
        }
        self.rx_drops.get()
    }

    /// Reads one frame and its header into `buf` without blocking.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<PacketRecv> {
        let mut hdr = [0u8; HEADER_LEN];
        let hdr_len = self.hdr_len();
        loop {
            // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut iov = [
                libc::iovec {
                    iov_base: hdr.as_mut_ptr().cast(),
                    iov_len: hdr_len,
                },
                libc::iovec {
                    iov_base: buf.as_mut_ptr().cast(),
                    iov_len: buf.len(),
                },
            ];
            // SAFETY: msghdr is plain data; all-zero is a valid value.
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            msg.msg_name = (&raw mut from).cast();
            msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            msg.msg_iov = iov.as_mut_ptr();
            msg.msg_iovlen = iov.len();
            // SAFETY: every pointer in `msg` (the address, both iovecs) points to
            // memory exclusively borrowed for the call, with its length.
            let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, 0) };
            if n >= 0 {
                if from.sll_pkttype == libc::PACKET_OUTGOING {
                    return Ok(PacketRecv::Outgoing);
                }
                let Some(len) = (n as usize).checked_sub(hdr_len) else {
                    continue;
                };
                let vnet = VirtioNetRepr::parse(&VirtioNetHdr::new_unchecked(&hdr[..]))
                    .unwrap_or_default();
                return Ok(PacketRecv::Frame { len, vnet });
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => return Ok(PacketRecv::Empty),
                io::ErrorKind::Interrupted => continue,
                _ => return Err(e),
            }
        }
    }

    /// Queues one frame for transmission on the bound interface, with the
    /// header `vnet` (all zero: an ordinary frame). A frame too large for a
    /// slot, and a full batch, are sent at once.
    pub fn send(&mut self, frame: &[u8], vnet: &VirtioNetRepr) -> io::Result<()> {
        let hdr = vnet.to_bytes();
        if frame.len() > BATCH_FRAME {
            self.flush();
            return self.send_now(&hdr, frame);
        }
        let slot = self.queued;
        if let (Some(h), Some(room)) = (
            self.hdrs.get_mut(slot),
            self.frames
                .get_mut(slot * BATCH_FRAME..slot * BATCH_FRAME + frame.len()),
        ) {
            *h = hdr;
            room.copy_from_slice(frame);
            self.lens[slot] = frame.len();
            self.queued += 1;
        }
        if self.queued == BATCH {
            self.flush();
        }
        Ok(())
    }

    /// Octets of header before each frame: none on a socket without them.
    fn hdr_len(&self) -> usize {
        if self.vnet { HEADER_LEN } else { 0 }
    }

    fn send_now(&mut self, hdr: &[u8; HEADER_LEN], frame: &[u8]) -> io::Result<()> {
        let iov = [
            libc::iovec {
                iov_base: hdr.as_ptr().cast_mut().cast(),
                iov_len: self.hdr_len(),
            },
            libc::iovec {
                iov_base: frame.as_ptr().cast_mut().cast(),
                iov_len: frame.len(),
            },
        ];
        // SAFETY: msghdr is plain data; all-zero is a valid value.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_ptr().cast_mut();
        msg.msg_iovlen = iov.len();
        loop {
            // SAFETY: both iovecs point to memory borrowed for the call, which
            // the kernel only reads; a bound packet socket needs no address.
            let n = unsafe { libc::sendmsg(self.fd.as_raw_fd(), &msg, libc::MSG_DONTWAIT) };
            if n >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Sends the queued frames in one `sendmmsg` (more if the kernel takes
    /// part of the batch); a frame the kernel refuses is dropped and counted.
    pub fn flush(&mut self) {
        let hdr_len = self.hdr_len();
        let mut done = 0;
        while done < self.queued {
            let mut iovs = [[libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            }; 2]; BATCH];
            // SAFETY: mmsghdr is plain data; all-zero is a valid value.
            let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
            let count = self.queued - done;
            for i in 0..count {
                let slot = done + i;
                iovs[i] = [
                    libc::iovec {
                        iov_base: self.hdrs[slot].as_mut_ptr().cast(),
                        iov_len: hdr_len,
                    },
                    libc::iovec {
                        iov_base: self.frames[slot * BATCH_FRAME..].as_mut_ptr().cast(),
                        iov_len: self.lens[slot],
                    },
                ];
                msgs[i].msg_hdr.msg_iov = iovs[i].as_mut_ptr();
                msgs[i].msg_hdr.msg_iovlen = 2;
            }
            // SAFETY: `count` messages are initialised, each pointing at a header
            // and a frame inside this socket's buffers, which outlive the call.
            let n = unsafe {
                libc::sendmmsg(
                    self.fd.as_raw_fd(),
                    msgs.as_mut_ptr(),
                    count as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if n > 0 {
                done += n as usize;
                continue;
            }
            let e = io::Error::last_os_error();
            if n < 0 && e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // The first frame left was refused: drop it and go on with the rest.
            log::debug!("packet socket: dropped a queued frame: {e}");
            self.batch_drops += 1;
            done += 1;
        }
        self.queued = 0;
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
