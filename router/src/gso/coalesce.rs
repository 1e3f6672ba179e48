//! GRO in userspace: consecutive segments of one flow joined into a superframe
//! for a TAP whose kernel side takes superframes.
//!
//! IPv6 and IPv4 (a 20-octet header with DF, as a TCP stack doing path MTU
//! discovery sends; the superframe keeps the first segment's identification,
//! from which the kernel numbers the segments it cuts again). TCP follows
//! Linux's `tcp_gro_receive`: same addresses, ports,
//! acknowledgment, window, options and flags but PSH; contiguous sequence
//! numbers; equal segments, only the last one shorter. UDP follows
//! `udp_gro_receive_segment`: same addresses and ports, datagrams of one size,
//! only the last one shorter, at most [`MAX_UDP_SEGMENTS`]; the receiving kernel
//! hands its socket the datagrams one by one again. Every segment's checksum is
//! verified before it joins, since the superframe leaves with a partial one that
//! the receiver does not check. One flow at a time, so the order of frames on
//! the port never changes.

use super::{
    ETH_LEN, Gso, IPV6_LEN, Layout, MAX_IP_PAYLOAD, MAX_SUPERFRAME, Offload, TCP_CSUM, TCP_CWR,
    TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, UDP_CSUM, be32, fill_ipv4_checksum,
    l4_checksum_ok, pseudo_header, put16,
};

/// The IPv4 header a segment must have to join: no options, DF set.
const IPV4_JOINABLE: (usize, u8) = (20, 0x40);

/// Datagrams per UDP superframe, as Linux's `UDP_GRO_CNT_MAX`.
pub const MAX_UDP_SEGMENTS: usize = 64;

/// The superframe being built.
#[derive(Debug, Clone, Copy)]
struct Pending {
    layout: Layout,
    /// Payload of the first segment: the segment size of the superframe.
    size: usize,
    segments: usize,
    /// TCP: the sequence number the next segment must have.
    next_seq: u32,
    /// A short (or TCP PSH) segment ended the burst: nothing more joins.
    closed: bool,
    /// The first segment's own offload, for writing it alone.
    first: Offload,
}

/// Joins TCP segments (`tcp`) and UDP datagrams (`udp`) written to one port,
/// over IPv6 and, once [`Coalescer::ipv4`] says so, over IPv4; see the module
/// documentation.
pub struct Coalescer {
    tcp: bool,
    udp: bool,
    tcp4: bool,
    udp4: bool,
    buf: Box<[u8]>,
    len: usize,
    pending: Option<Pending>,
}

impl Coalescer {
    pub fn new(tcp: bool, udp: bool) -> Coalescer {
        Coalescer {
            tcp,
            udp,
            tcp4: false,
            udp4: false,
            buf: vec![0; MAX_SUPERFRAME].into_boxed_slice(),
            len: 0,
            pending: None,
        }
    }

    /// Joins TCP (`tcp`) and UDP (`udp`) over IPv4 too.
    pub fn ipv4(mut self, tcp: bool, udp: bool) -> Coalescer {
        self.tcp4 = tcp;
        self.udp4 = udp;
        self
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_none()
    }

    /// Takes `frame` in (with its `partial` checksum, if it has one), or writes
    /// it through `write` when it cannot join; what was pending is written first
    /// whenever `frame` does not extend it.
    pub fn push(
        &mut self,
        frame: &[u8],
        partial: Option<(usize, usize)>,
        write: &mut dyn FnMut(&[u8], &Offload),
    ) {
        let own = Offload { partial, gso: None };
        let Some(layout) = self.candidate(frame, partial) else {
            self.flush(write);
            write(frame, &own);
            return;
        };
        if self.extends(frame, &layout) {
            self.append(frame, &layout);
            return;
        }
        self.flush(write);
        let payload = layout.end - layout.headers;
        self.buf[..frame.len()].copy_from_slice(frame);
        self.len = frame.len();
        let (next_seq, closed) = if layout.tcp {
            let seq = be32(frame, layout.l4 + 4).wrapping_add(payload as u32);
            (seq, frame[layout.l4 + 13] & TCP_PSH != 0)
        } else {
            (0, false)
        };
        self.pending = Some(Pending {
            layout,
            size: payload,
            segments: 1,
            next_seq,
            closed,
            first: own,
        });
    }

    /// The layout of a TCP or UDP segment that may join a superframe: data,
    /// nothing after the IP packet, a right checksum (or a partial one at its
    /// place); TCP with plain ACK or PSH+ACK flags; IPv4 without options, DF.
    fn candidate(&self, frame: &[u8], partial: Option<(usize, usize)>) -> Option<Layout> {
        let layout = Layout::parse(frame).ok()?;
        let (tcp, udp) = if layout.ipv6 {
            (self.tcp, self.udp)
        } else {
            let (header, df) = IPV4_JOINABLE;
            let plain = layout.l4 == ETH_LEN + header && frame[ETH_LEN + 6] & df != 0;
            (self.tcp4 && plain, self.udp4 && plain)
        };
        let joinable = layout.end == frame.len()
            && layout.end > layout.headers
            && if layout.tcp {
                let flags = *frame.get(layout.l4 + 13)?;
                tcp && flags & (TCP_FIN | TCP_SYN | TCP_RST | TCP_URG | TCP_CWR) == 0
            } else {
                udp
            };
        let checksum = match partial {
            Some(at) => at == (layout.l4, layout.csum_offset()),
            None => l4_checksum_ok(frame, &layout),
        };
        (joinable && checksum).then_some(layout)
    }

    fn extends(&self, frame: &[u8], layout: &Layout) -> bool {
        let Some(p) = &self.pending else {
            return false;
        };
        let l4 = p.layout.l4;
        let held = &self.buf[..self.len];
        let payload = layout.end - layout.headers;
        let same_ip = if p.layout.ipv6 {
            // Ethernet header, IPv6 version/class/flow, next header, hop
            // limit, addresses, then the ports.
            frame[..ETH_LEN + 4] == held[..ETH_LEN + 4]
                && frame[ETH_LEN + 6..l4 + 4] == held[ETH_LEN + 6..l4 + 4]
        } else {
            // Ethernet header, IPv4 version/length/TOS, flags and offset, TTL,
            // protocol, addresses, then the ports: all but the total length,
            // identification and header checksum.
            frame[..ETH_LEN + 2] == held[..ETH_LEN + 2]
                && frame[ETH_LEN + 6..ETH_LEN + 10] == held[ETH_LEN + 6..ETH_LEN + 10]
                && frame[ETH_LEN + 12..l4 + 4] == held[ETH_LEN + 12..l4 + 4]
        };
        let ip_header = if p.layout.ipv6 { IPV6_LEN } else { 0 };
        let fits = !p.closed
            && layout.tcp == p.layout.tcp
            && layout.ipv6 == p.layout.ipv6
            && layout.headers == p.layout.headers
            && payload <= p.size
            && self.len + payload <= self.buf.len()
            && self.len - ETH_LEN - ip_header + payload <= MAX_IP_PAYLOAD
            && same_ip;
        if !fits {
            return false;
        }
        if !layout.tcp {
            return p.segments < MAX_UDP_SEGMENTS;
        }
        be32(frame, l4 + 4) == p.next_seq
            // Acknowledgment, offset, flags but PSH, window.
            && frame[l4 + 8..l4 + 13] == held[l4 + 8..l4 + 13]
            && (frame[l4 + 13] ^ held[l4 + 13]) & !TCP_PSH == 0
            && frame[l4 + 14..l4 + 16] == held[l4 + 14..l4 + 16]
            // Options, timestamps included.
            && frame[l4 + 20..p.layout.headers] == held[l4 + 20..p.layout.headers]
    }

    fn append(&mut self, frame: &[u8], layout: &Layout) {
        let Some(p) = &mut self.pending else {
            return;
        };
        let payload = &frame[layout.headers..layout.end];
        self.buf[self.len..self.len + payload.len()].copy_from_slice(payload);
        self.len += payload.len();
        p.segments += 1;
        let mut push = false;
        if layout.tcp {
            p.next_seq = p.next_seq.wrapping_add(payload.len() as u32);
            push = frame[layout.l4 + 13] & TCP_PSH != 0;
            if push {
                self.buf[p.layout.l4 + 13] |= TCP_PSH;
            }
        }
        p.closed = push || payload.len() < p.size;
    }

    /// Writes what is pending: a lone segment as it came, several as one
    /// superframe with a partial checksum.
    pub fn flush(&mut self, write: &mut dyn FnMut(&[u8], &Offload)) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let frame = &mut self.buf[..self.len];
        if p.segments == 1 {
            write(frame, &p.first);
            return;
        }
        let mut layout = p.layout;
        layout.end = frame.len();
        if layout.ipv6 {
            put16(
                frame,
                ETH_LEN + 4,
                (frame.len() - ETH_LEN - IPV6_LEN) as u16,
            );
        } else {
            put16(frame, ETH_LEN + 2, (frame.len() - ETH_LEN) as u16);
            fill_ipv4_checksum(frame, &layout);
        }
        let l4_len = frame.len() - layout.l4;
        let csum = if layout.tcp {
            TCP_CSUM
        } else {
            put16(frame, layout.l4 + 4, l4_len as u16);
            UDP_CSUM
        };
        let pseudo = pseudo_header(frame, &layout, l4_len);
        put16(frame, layout.l4 + csum, pseudo);
        let offload = Offload {
            partial: Some((layout.l4, csum)),
            gso: Some(Gso {
                layout,
                size: p.size,
                ecn: false,
            }),
        };
        write(frame, &offload);
    }
}
