//! Frame builders for the tests of superframes here and in the engine.

use super::*;
use crate::wire::virtio_net::{GsoType, GsoTypeField, VirtioNetRepr};

pub const SRC6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
pub const DST6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

pub fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

pub fn eth(ethertype: u16) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// A TCP header with the timestamp option (32 octets), flags ACK.
pub fn tcp_header(seq: u32) -> Vec<u8> {
    let mut t = vec![0x9c, 0x40, 0x14, 0x51];
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&0x0102_0304u32.to_be_bytes());
    t.extend_from_slice(&[0x80, 0x10, 0x01, 0xf5, 0, 0, 0, 0]);
    t.extend_from_slice(&[1, 1, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0xd4, 0x31]);
    t
}

/// A TCP/IPv6 frame as a kernel with TSO hands it over: a partial checksum
/// (the pseudo-header sum) when `partial`, else the final checksum.
pub fn tcp6(seq: u32, data: &[u8], partial: bool) -> Vec<u8> {
    let mut f = eth(0x86dd);
    let l4_len = 32 + data.len();
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&(l4_len as u16).to_be_bytes());
    f.extend_from_slice(&[6, 64]);
    f.extend_from_slice(&SRC6);
    f.extend_from_slice(&DST6);
    f.extend_from_slice(&tcp_header(seq));
    f.extend_from_slice(data);
    let layout = Layout::parse(&f).unwrap();
    refill(&mut f, &layout, partial);
    f
}

/// `frame` with TCP flags `or` added and its checksum redone.
pub fn with_flags(mut frame: Vec<u8>, or: u8, partial: bool) -> Vec<u8> {
    let layout = Layout::parse(&frame).unwrap();
    frame[layout.l4 + 13] |= or;
    refill(&mut frame, &layout, partial);
    frame
}

/// A TCP/IPv4 frame from 10.0.0.1 to 10.0.1.1 (DF, TTL 64, header checksum
/// right), the TCP checksum partial when `partial`, as [`tcp6`].
pub fn tcp4(seq: u32, data: &[u8], partial: bool) -> Vec<u8> {
    let mut f = eth(0x0800);
    let total = 20 + 32 + data.len();
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&(total as u16).to_be_bytes());
    f.extend_from_slice(&[0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 1, 1]);
    let sum = !checksum::data(&f[ETH_LEN..ETH_LEN + 20]);
    put16(&mut f, ETH_LEN + 10, sum);
    f.extend_from_slice(&tcp_header(seq));
    f.extend_from_slice(data);
    let layout = Layout::parse(&f).unwrap();
    refill(&mut f, &layout, partial);
    f
}

pub fn udp6(datagrams: &[u8]) -> Vec<u8> {
    let mut f = eth(0x86dd);
    let l4_len = 8 + datagrams.len();
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&(l4_len as u16).to_be_bytes());
    f.extend_from_slice(&[17, 64]);
    f.extend_from_slice(&SRC6);
    f.extend_from_slice(&DST6);
    f.extend_from_slice(&[0x13, 0x88, 0x14, 0x51]);
    f.extend_from_slice(&(l4_len as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(datagrams);
    f
}

pub fn vnet(kind: GsoType, size: u16, start: u16, offset: u16) -> VirtioNetRepr {
    VirtioNetRepr {
        needs_csum: true,
        gso_type: GsoTypeField { kind, ecn: false },
        hdr_len: 86,
        gso_size: size,
        csum_start: start,
        csum_offset: offset,
        ..VirtioNetRepr::default()
    }
}

/// Redoes the L4 checksum of `frame`: the pseudo-header sum only when `partial`.
pub fn refill(frame: &mut [u8], layout: &Layout, partial: bool) {
    if partial {
        let len = layout.end - layout.l4;
        let pseudo = pseudo_header(frame, layout, len);
        put16(frame, layout.l4 + layout.csum_offset(), pseudo);
    } else {
        fill_l4_checksum(frame, layout);
    }
}
