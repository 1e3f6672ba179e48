//! Superframes and partial checksums: what a TAP with offloads hands over, and
//! the userspace halves of the kernel's GSO and GRO.
//!
//! A kernel host whose TAP has TSO on hands over TCP superframes of up to 64 KB,
//! one header and the payload of many segments, with a partial checksum (the
//! pseudo-header sum only). [`Offload::from_vnet`] checks what the
//! `virtio_net_hdr` claims against the frame itself (never trusting `hdr_len`);
//! [`segment`] cuts a superframe into ordinary frames with final checksums, the
//! way the kernel's `tcp_gso_segment`/`__udp_gso_segment` do; [`Coalescer`] joins
//! consecutive TCP segments of one flow into a superframe again (GRO), for a TAP
//! whose kernel side takes superframes.
//!
//! Only Ethernet frames carrying IPv4 or IPv6 with TCP or UDP right after the IP
//! header take part; anything else is an ordinary frame or refused.

use crate::wire::virtio_net::{GsoType, GsoTypeField, VirtioNetRepr};
use smoltcp::wire::checksum;
use smoltcp::wire::{IpProtocol, Ipv4Address, Ipv6Address};

const ETH_LEN: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const IPV6_LEN: usize = 40;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
/// Where the checksum sits in a TCP and in a UDP header (`csum_offset`).
const TCP_CSUM: usize = 16;
const UDP_CSUM: usize = 6;

const TCP_FIN: u8 = 0x01;
const TCP_SYN: u8 = 0x02;
const TCP_RST: u8 = 0x04;
const TCP_PSH: u8 = 0x08;
const TCP_URG: u8 = 0x20;
const TCP_CWR: u8 = 0x80;

/// The largest IPv6 payload a superframe carries (no jumbograms through a TAP).
pub const MAX_IP_PAYLOAD: usize = 65535;
/// The largest Ethernet frame a superframe makes.
pub const MAX_SUPERFRAME: usize = ETH_LEN + IPV6_LEN + MAX_IP_PAYLOAD;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OffloadError {
    #[error("frame truncated: {0}")]
    Truncated(&'static str),
    #[error(
        "partial checksum at {start}+{offset} does not fit the {len}-octet frame or its L4 header"
    )]
    BadChecksumOffsets { start: u16, offset: u16, len: usize },
    #[error("GSO type {0:?} with a segment size of 0")]
    GsoSizeZero(GsoType),
    #[error("GSO type {0:?} is not supported (only TCPV4, TCPV6 and UDP_L4)")]
    Unsupported(GsoType),
    #[error("GSO type {kind:?} on a frame that is not {what}")]
    Mismatch { kind: GsoType, what: &'static str },
    #[error("a segment of {needed} octets does not fit the {have}-octet buffer")]
    BufferTooSmall { needed: usize, have: usize },
    #[error("UDP datagrams of {size} octets do not fit segments of {mtu}")]
    DatagramTooBig { size: usize, mtu: usize },
}

impl OffloadError {
    /// The counter a frame refused for this reason is counted under.
    pub fn counter(&self) -> &'static str {
        match self {
            OffloadError::Truncated(_) => "drop.offload.truncated",
            OffloadError::BadChecksumOffsets { .. } => "drop.offload.bad_csum_offsets",
            OffloadError::GsoSizeZero(_) => "drop.offload.gso_size_zero",
            OffloadError::Unsupported(_) => "drop.offload.unsupported_gso",
            OffloadError::Mismatch { .. } => "drop.offload.gso_mismatch",
            OffloadError::BufferTooSmall { .. } => "drop.offload.buffer_too_small",
            OffloadError::DatagramTooBig { .. } => "drop.too_big",
        }
    }
}

/// Where the headers of an Ethernet + IP + TCP/UDP frame end, as parsed from
/// the frame itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub ipv6: bool,
    pub tcp: bool,
    /// Offset of the TCP or UDP header.
    pub l4: usize,
    /// Octets of headers every segment repeats (Ethernet + IP + TCP/UDP).
    pub headers: usize,
    /// Where the IP packet ends, by its length field.
    pub end: usize,
}

impl Layout {
    /// Parses Ethernet, then IPv4 (options allowed, no fragment) or IPv6 (no
    /// extension header), then a whole TCP or UDP header.
    pub fn parse(frame: &[u8]) -> Result<Layout, OffloadError> {
        let ethertype = be16(frame, 12).ok_or(OffloadError::Truncated("Ethernet header"))?;
        let (ipv6, l4, end, proto) = match ethertype {
            ETHERTYPE_IPV6 => {
                let ip = frame
                    .get(ETH_LEN..ETH_LEN + IPV6_LEN)
                    .ok_or(OffloadError::Truncated("IPv6 header"))?;
                if ip[0] >> 4 != 6 {
                    return Err(not_l4("IPv6 of version 6"));
                }
                let payload = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
                (
                    true,
                    ETH_LEN + IPV6_LEN,
                    ETH_LEN + IPV6_LEN + payload,
                    ip[6],
                )
            }
            ETHERTYPE_IPV4 => {
                let ip = frame
                    .get(ETH_LEN..ETH_LEN + 20)
                    .ok_or(OffloadError::Truncated("IPv4 header"))?;
                let ihl = usize::from(ip[0] & 0x0f) * 4;
                if ip[0] >> 4 != 4 || ihl < 20 {
                    return Err(not_l4("IPv4 of version 4 with a valid header length"));
                }
                let fragment = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff;
                if fragment != 0 {
                    return Err(not_l4("an unfragmented IPv4 packet"));
                }
                let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
                if total < ihl {
                    return Err(not_l4("IPv4 with a total length covering its header"));
                }
                (false, ETH_LEN + ihl, ETH_LEN + total, ip[9])
            }
            _ => return Err(not_l4("IPv4 or IPv6")),
        };
        if end > frame.len() {
            return Err(OffloadError::Truncated(
                "IP payload shorter than its length field",
            ));
        }
        let headers = match proto {
            PROTO_TCP => {
                let offset = frame
                    .get(l4 + 12)
                    .filter(|_| l4 + 20 <= end)
                    .ok_or(OffloadError::Truncated("TCP header"))?;
                let len = usize::from(offset >> 4) * 4;
                if len < 20 || l4 + len > end {
                    return Err(OffloadError::Truncated("TCP header and options"));
                }
                l4 + len
            }
            PROTO_UDP if l4 + 8 <= end => l4 + 8,
            PROTO_UDP => return Err(OffloadError::Truncated("UDP header")),
            _ => return Err(not_l4("TCP or UDP right after the IP header")),
        };
        Ok(Layout {
            ipv6,
            tcp: proto == PROTO_TCP,
            l4,
            headers,
            end,
        })
    }

    pub(crate) fn csum_offset(&self) -> usize {
        if self.tcp { TCP_CSUM } else { UDP_CSUM }
    }

    fn proto(&self) -> u8 {
        if self.tcp { PROTO_TCP } else { PROTO_UDP }
    }
}

fn not_l4(what: &'static str) -> OffloadError {
    OffloadError::Mismatch {
        kind: GsoType::None,
        what,
    }
}

/// A superframe: how to cut it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gso {
    pub layout: Layout,
    /// Payload octets per segment (TCP) or per datagram (UDP).
    pub size: usize,
    /// The superframe carries CWR, which only the first segment keeps.
    pub ecn: bool,
}

impl Gso {
    /// How many segments the superframe makes at `size` octets each.
    pub fn segments(&self, size: usize) -> usize {
        (self.layout.end - self.layout.headers).div_ceil(size.max(1))
    }

    /// The largest IP packet among its segments.
    pub fn segment_ip_len(&self) -> usize {
        self.layout.headers - ETH_LEN + self.size
    }
}

/// What must still be done to a received frame, checked against the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offload {
    /// A partial checksum: (csum_start, csum_offset) from the frame's start.
    pub partial: Option<(usize, usize)>,
    pub gso: Option<Gso>,
}

impl Offload {
    /// An ordinary frame with final checksums.
    pub const NONE: Offload = Offload {
        partial: None,
        gso: None,
    };

    pub fn is_none(&self) -> bool {
        self.partial.is_none() && self.gso.is_none()
    }

    /// Checks a received header against its frame. `hdr_len` is ignored: the
    /// headers are measured in the frame. A superframe no longer than one segment
    /// is an ordinary frame (as in Linux's `virtio_net_hdr_to_skb`).
    pub fn from_vnet(vnet: &VirtioNetRepr, frame: &[u8]) -> Result<Offload, OffloadError> {
        let partial = if vnet.needs_csum {
            let (start, offset) = (usize::from(vnet.csum_start), usize::from(vnet.csum_offset));
            if start < ETH_LEN || start + offset + 2 > frame.len() {
                return Err(OffloadError::BadChecksumOffsets {
                    start: vnet.csum_start,
                    offset: vnet.csum_offset,
                    len: frame.len(),
                });
            }
            Some((start, offset))
        } else {
            None
        };
        let kind = vnet.gso_type.kind;
        let (ipv6, tcp) = match kind {
            GsoType::None => return Ok(Offload { partial, gso: None }),
            GsoType::TcpV4 => (Some(false), true),
            GsoType::TcpV6 => (Some(true), true),
            GsoType::UdpL4 => (None, false),
            GsoType::Udp | GsoType::Unknown(_) => return Err(OffloadError::Unsupported(kind)),
        };
        if vnet.gso_size == 0 {
            return Err(OffloadError::GsoSizeZero(kind));
        }
        let mismatch = |what| OffloadError::Mismatch { kind, what };
        let layout = Layout::parse(frame).map_err(|e| match e {
            OffloadError::Mismatch { what, .. } => mismatch(what),
            other => other,
        })?;
        if ipv6.is_some_and(|v6| v6 != layout.ipv6) || layout.tcp != tcp {
            return Err(mismatch(match kind {
                GsoType::TcpV4 => "TCP over IPv4",
                GsoType::TcpV6 => "TCP over IPv6",
                _ => "UDP",
            }));
        }
        if layout.end != frame.len() {
            return Err(mismatch("as long as its IP length field says"));
        }
        if let Some((start, offset)) = partial
            && (start != layout.l4 || offset != layout.csum_offset())
        {
            return Err(OffloadError::BadChecksumOffsets {
                start: vnet.csum_start,
                offset: vnet.csum_offset,
                len: frame.len(),
            });
        }
        let size = usize::from(vnet.gso_size);
        let gso = (layout.end - layout.headers > size).then_some(Gso {
            layout,
            size,
            ecn: vnet.gso_type.ecn,
        });
        Ok(Offload { partial, gso })
    }

    /// The header to write before the frame: a superframe always with a
    /// partial checksum, as the kernel requires.
    pub fn to_vnet(&self) -> VirtioNetRepr {
        let mut vnet = VirtioNetRepr::default();
        if let Some(gso) = &self.gso {
            let l = &gso.layout;
            vnet.needs_csum = true;
            vnet.csum_start = l.l4 as u16;
            vnet.csum_offset = l.csum_offset() as u16;
            vnet.hdr_len = l.headers as u16;
            vnet.gso_size = gso.size as u16;
            vnet.gso_type = GsoTypeField {
                kind: match (l.tcp, l.ipv6) {
                    (true, true) => GsoType::TcpV6,
                    (true, false) => GsoType::TcpV4,
                    (false, _) => GsoType::UdpL4,
                },
                ecn: gso.ecn,
            };
        } else if let Some((start, offset)) = self.partial {
            vnet.needs_csum = true;
            vnet.csum_start = start as u16;
            vnet.csum_offset = offset as u16;
        }
        vnet
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Completes a partial checksum in place: the one's complement sum from `start`
/// to the end of `frame` (the field holds the pseudo-header sum) goes at
/// `start + offset`. `Offload::from_vnet` checked both fit.
pub fn complete_checksum(frame: &mut [u8], start: usize, offset: usize) {
    let Some(covered) = frame.get(start..) else {
        return;
    };
    let sum = !checksum::data(covered);
    // 0 would mean "no checksum" to UDP; the one's complement 0xffff is the same.
    let sum = if sum == 0 { 0xffff } else { sum };
    if let Some(field) = frame.get_mut(start + offset..start + offset + 2) {
        field.copy_from_slice(&sum.to_be_bytes());
    }
}

/// The pseudo-header sum of the IP packet in `frame` for an L4 length of `len`.
fn pseudo_header(frame: &[u8], layout: &Layout, len: usize) -> u16 {
    let proto = IpProtocol::from(layout.proto());
    if layout.ipv6 {
        let src = Ipv6Address::from_octets(array16(&frame[ETH_LEN + 8..]));
        let dst = Ipv6Address::from_octets(array16(&frame[ETH_LEN + 24..]));
        checksum::pseudo_header_v6(&src, &dst, proto, len as u32)
    } else {
        let at = |o: usize| Ipv4Address::new(frame[o], frame[o + 1], frame[o + 2], frame[o + 3]);
        checksum::pseudo_header_v4(&at(ETH_LEN + 12), &at(ETH_LEN + 16), proto, len as u32)
    }
}

fn array16(b: &[u8]) -> [u8; 16] {
    let mut out = [0; 16];
    out.copy_from_slice(&b[..16]);
    out
}

/// Writes the IPv4 header checksum of `frame`.
fn fill_ipv4_checksum(frame: &mut [u8], layout: &Layout) {
    put16(frame, ETH_LEN + 10, 0);
    let sum = !checksum::data(&frame[ETH_LEN..layout.l4]);
    put16(frame, ETH_LEN + 10, sum);
}

/// Writes the final TCP/UDP checksum of the L4 segment `frame[l4..]`.
fn fill_l4_checksum(frame: &mut [u8], layout: &Layout) {
    let at = layout.l4 + layout.csum_offset();
    put16(frame, at, 0);
    let len = frame.len() - layout.l4;
    let sum = !checksum::combine(&[
        pseudo_header(frame, layout, len),
        checksum::data(&frame[layout.l4..]),
    ]);
    let sum = if sum == 0 && !layout.tcp { 0xffff } else { sum };
    put16(frame, at, sum);
}

/// Whether the TCP/UDP checksum of `frame` (an IP packet ending at
/// `layout.end`) is right.
fn l4_checksum_ok(frame: &[u8], layout: &Layout) -> bool {
    let l4 = &frame[layout.l4..layout.end];
    checksum::combine(&[pseudo_header(frame, layout, l4.len()), checksum::data(l4)]) == 0xffff
}

/// Cuts a superframe into ordinary frames of at most `size` payload octets
/// each, with final checksums, built one at a time in `out` and handed to
/// `emit`. TCP may be cut finer than the sender's `gso.size` (a smaller link
/// MTU); UDP datagrams are never split. Returns the number of segments.
pub fn segment(
    frame: &[u8],
    gso: &Gso,
    size: usize,
    out: &mut [u8],
    emit: &mut dyn FnMut(&[u8]),
) -> Result<usize, OffloadError> {
    let l = gso.layout;
    let size = if l.tcp {
        size.min(gso.size).max(1)
    } else if size < gso.size {
        return Err(OffloadError::DatagramTooBig {
            size: gso.size,
            mtu: size,
        });
    } else {
        gso.size
    };
    if out.len() < l.headers + size {
        return Err(OffloadError::BufferTooSmall {
            needed: l.headers + size,
            have: out.len(),
        });
    }
    let payload = frame
        .get(l.headers..l.end)
        .ok_or(OffloadError::Truncated("superframe payload"))?;
    let seq = if l.tcp { be32(frame, l.l4 + 4) } else { 0 };
    let ip_id = if l.ipv6 {
        0
    } else {
        be16(frame, ETH_LEN + 4).unwrap_or(0)
    };
    let count = payload.len().div_ceil(size);
    for (i, chunk) in payload.chunks(size).enumerate() {
        let len = l.headers + chunk.len();
        let seg = &mut out[..len];
        seg[..l.headers].copy_from_slice(&frame[..l.headers]);
        seg[l.headers..].copy_from_slice(chunk);
        if l.ipv6 {
            put16(seg, ETH_LEN + 4, (len - ETH_LEN - IPV6_LEN) as u16);
        } else {
            put16(seg, ETH_LEN + 2, (len - ETH_LEN) as u16);
            put16(seg, ETH_LEN + 4, ip_id.wrapping_add(i as u16));
            fill_ipv4_checksum(seg, &l);
        }
        if l.tcp {
            let offset = (i * size) as u32;
            seg[l.l4 + 4..l.l4 + 8].copy_from_slice(&seq.wrapping_add(offset).to_be_bytes());
            let flags = &mut seg[l.l4 + 13];
            if i + 1 < count {
                *flags &= !(TCP_FIN | TCP_PSH);
            }
            if i > 0 {
                *flags &= !TCP_CWR;
            }
        } else {
            put16(seg, l.l4 + 4, (len - l.l4) as u16);
        }
        fill_l4_checksum(seg, &l);
        emit(seg);
    }
    Ok(count)
}

/// Hands `frame` to `emit` as ordinary frames: a superframe cut at its own
/// segment size, a partial checksum completed (in a copy in `out`).
pub fn to_plain(
    frame: &[u8],
    offload: &Offload,
    out: &mut [u8],
    emit: &mut dyn FnMut(&[u8]),
) -> Result<usize, OffloadError> {
    if let Some(gso) = &offload.gso {
        return segment(frame, gso, gso.size, out, emit);
    }
    let Some((start, offset)) = offload.partial else {
        emit(frame);
        return Ok(1);
    };
    let copy = out
        .get_mut(..frame.len())
        .ok_or(OffloadError::BufferTooSmall {
            needed: frame.len(),
            have: 0,
        })?;
    copy.copy_from_slice(frame);
    complete_checksum(copy, start, offset);
    emit(copy);
    Ok(1)
}

mod coalesce;

pub use coalesce::Coalescer;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
