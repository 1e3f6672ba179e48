use super::testing::*;
use super::*;
use crate::wire::virtio_net::{VirtioNetHdr, VirtioNetRepr};
use smoltcp::wire::{EthernetFrame, IpAddress, Ipv4Packet, Ipv6Packet, TcpPacket, UdpPacket};

fn segments_of(frame: &[u8], offload: &Offload, size: usize) -> Vec<Vec<u8>> {
    let mut out = vec![0; 70_000];
    let mut segs = Vec::new();
    let gso = offload.gso.unwrap();
    let n = segment(frame, &gso, size, &mut out, &mut |s| segs.push(s.to_vec())).unwrap();
    assert_eq!(n, segs.len());
    segs
}

fn tcp6_ok(frame: &[u8]) -> bool {
    let ip = Ipv6Packet::new_checked(&frame[14..]).unwrap();
    let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
    tcp.verify_checksum(
        &IpAddress::Ipv6(ip.src_addr()),
        &IpAddress::Ipv6(ip.dst_addr()),
    )
}

#[test]
fn a_kernel_superframe_is_cut_like_tcp_gso_segment() {
    let data = payload(10_000);
    let frame = with_flags(tcp6(1000, &data, true), TCP_PSH, true);
    let offload = Offload::from_vnet(&vnet(GsoType::TcpV6, 1428, 54, 16), &frame).unwrap();
    let gso = offload.gso.unwrap();
    assert_eq!(gso.layout.headers, 86);
    assert_eq!(gso.segment_ip_len(), 1500);
    let segs = segments_of(&frame, &offload, 1428);
    assert_eq!(segs.len(), 8);
    let mut joined = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        let ip = Ipv6Packet::new_checked(&s[14..]).unwrap();
        assert_eq!(ip.total_len(), s.len() - 14);
        assert!(s.len() <= 1514);
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!(tcp.seq_number().0 as u32, 1000 + (i * 1428) as u32);
        assert_eq!(tcp.psh(), i == 7, "PSH only on the last segment");
        assert!(tcp.ack());
        assert!(tcp6_ok(s), "segment {i} checksum");
        assert_eq!(&s[..18], &frame[..18]);
        assert_eq!(&s[20..58], &frame[20..58]);
        joined.extend_from_slice(tcp.payload());
    }
    assert_eq!(joined, data);
}

#[test]
fn a_smaller_mtu_cuts_tcp_finer() {
    let data = payload(4000);
    let frame = tcp6(7, &data, true);
    let offload = Offload::from_vnet(&vnet(GsoType::TcpV6, 1428, 54, 16), &frame).unwrap();
    let segs = segments_of(&frame, &offload, 1000);
    assert_eq!(segs.len(), 4);
    assert!(segs.iter().all(|s| s.len() <= 86 + 1000 && tcp6_ok(s)));
}

#[test]
fn cwr_stays_on_the_first_segment_only() {
    let frame = with_flags(tcp6(1, &payload(3000), false), TCP_CWR, false);
    let mut v = vnet(GsoType::TcpV6, 1428, 54, 16);
    v.gso_type.ecn = true;
    let offload = Offload::from_vnet(&v, &frame).unwrap();
    assert!(offload.gso.unwrap().ecn);
    assert!(offload.to_vnet().gso_type.ecn);
    let segs = segments_of(&frame, &offload, 1428);
    let cwr: Vec<bool> = segs.iter().map(|s| s[54 + 13] & TCP_CWR != 0).collect();
    assert_eq!(cwr, [true, false, false]);
}

#[test]
fn tcp_over_ipv4_gets_ids_and_header_checksums() {
    let data = payload(5000);
    let frame = tcp4(99, &data, false);
    let offload = Offload::from_vnet(&vnet(GsoType::TcpV4, 1448, 34, 16), &frame).unwrap();
    let segs = segments_of(&frame, &offload, 1448);
    assert_eq!(segs.len(), 4);
    let mut joined = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        let ip = Ipv4Packet::new_checked(&s[14..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(ip.ident(), 0x1234 + i as u16);
        assert_eq!(usize::from(ip.total_len()), s.len() - 14);
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert!(tcp.verify_checksum(
            &IpAddress::Ipv4(ip.src_addr()),
            &IpAddress::Ipv4(ip.dst_addr())
        ));
        joined.extend_from_slice(tcp.payload());
    }
    assert_eq!(joined, data);
}

#[test]
fn udp_l4_makes_one_datagram_per_segment_and_never_splits_one() {
    let data = payload(64 * 10 + 20);
    let frame = udp6(&data);
    let offload = Offload::from_vnet(&vnet(GsoType::UdpL4, 64, 54, 6), &frame).unwrap();
    let segs = segments_of(&frame, &offload, 1500);
    assert_eq!(segs.len(), 11);
    for (i, s) in segs.iter().enumerate() {
        let ip = Ipv6Packet::new_checked(&s[14..]).unwrap();
        let udp = UdpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!(usize::from(udp.len()), ip.payload().len());
        assert_eq!(udp.payload(), &data[i * 64..(i * 64 + 64).min(data.len())]);
        assert!(udp.verify_checksum(
            &IpAddress::Ipv6(ip.src_addr()),
            &IpAddress::Ipv6(ip.dst_addr())
        ));
    }
    let mut out = vec![0; 2000];
    let err = segment(&frame, &offload.gso.unwrap(), 32, &mut out, &mut |_| {}).unwrap_err();
    assert_eq!(err, OffloadError::DatagramTooBig { size: 64, mtu: 32 });
}

#[test]
fn a_partial_checksum_is_completed_to_the_final_one() {
    let data = payload(700);
    let partial = tcp6(5, &data, true);
    let full = tcp6(5, &data, false);
    let offload = Offload::from_vnet(&vnet(GsoType::None, 0, 54, 16), &partial).unwrap();
    assert_eq!(offload.gso, None);
    let mut out = vec![0; 2000];
    let mut got = Vec::new();
    to_plain(&partial, &offload, &mut out, &mut |f| got = f.to_vec()).unwrap();
    assert_eq!(got, full);
    let mut in_place = partial.clone();
    complete_checksum(&mut in_place, 54, 16);
    assert_eq!(in_place, full);
}

#[test]
fn a_superframe_of_one_segment_is_an_ordinary_frame() {
    let frame = tcp6(5, &payload(1000), true);
    let offload = Offload::from_vnet(&vnet(GsoType::TcpV6, 1428, 54, 16), &frame).unwrap();
    assert_eq!(offload.gso, None);
    assert_eq!(offload.partial, Some((54, 16)));
}

#[test]
fn hdr_len_is_never_trusted() {
    let frame = tcp6(5, &payload(5000), true);
    for hdr_len in [0, 1, 54, 85, 87, 9999, u16::MAX] {
        let mut v = vnet(GsoType::TcpV6, 1428, 54, 16);
        v.hdr_len = hdr_len;
        let offload = Offload::from_vnet(&v, &frame).unwrap();
        assert_eq!(offload.gso.unwrap().layout.headers, 86);
        assert_eq!(segments_of(&frame, &offload, 1428).len(), 4);
    }
}

#[test]
fn lying_headers_are_refused_with_a_reason() {
    let frame = tcp6(5, &payload(5000), true);
    let len = frame.len();
    let cases = [
        (vnet(GsoType::TcpV6, 1428, 53, 16), "bad_csum_offsets"),
        (vnet(GsoType::TcpV6, 1428, 54, 6), "bad_csum_offsets"),
        (vnet(GsoType::None, 0, len as u16, 0), "bad_csum_offsets"),
        (
            vnet(GsoType::None, 0, 54, (len - 55) as u16),
            "bad_csum_offsets",
        ),
        (vnet(GsoType::None, 0, 3, 0), "bad_csum_offsets"),
        (
            vnet(GsoType::None, 0, u16::MAX, u16::MAX),
            "bad_csum_offsets",
        ),
        (vnet(GsoType::TcpV6, 0, 54, 16), "gso_size_zero"),
        (vnet(GsoType::TcpV4, 1428, 54, 16), "gso_mismatch"),
        (vnet(GsoType::UdpL4, 1428, 54, 6), "gso_mismatch"),
        (vnet(GsoType::Udp, 1428, 54, 16), "unsupported_gso"),
        (vnet(GsoType::Unknown(9), 1428, 54, 16), "unsupported_gso"),
    ];
    for (v, reason) in cases {
        let err = Offload::from_vnet(&v, &frame).unwrap_err();
        assert_eq!(
            err.counter(),
            format!("drop.offload.{reason}"),
            "{v:?}: {err}"
        );
    }
    // Trailing octets after the IP packet: the kernel never sends them with GSO.
    let mut padded = frame.clone();
    padded.extend_from_slice(&[0; 8]);
    let err = Offload::from_vnet(&vnet(GsoType::TcpV6, 1428, 54, 16), &padded).unwrap_err();
    assert_eq!(err.counter(), "drop.offload.gso_mismatch");
}

#[test]
fn every_truncation_is_refused_or_harmless_never_a_panic() {
    let frame = tcp6(5, &payload(3000), true);
    let udp = udp6(&payload(300));
    let mut out = vec![0; 70_000];
    for whole in [&frame, &udp] {
        for len in 0..whole.len() {
            let cut = &whole[..len];
            for kind in [
                GsoType::TcpV6,
                GsoType::UdpL4,
                GsoType::TcpV4,
                GsoType::None,
            ] {
                let offset = if kind == GsoType::UdpL4 { 6 } else { 16 };
                let v = vnet(kind, 100, 54, offset);
                if let Ok(o) = Offload::from_vnet(&v, cut) {
                    let _ = to_plain(cut, &o, &mut out, &mut |_| {});
                }
            }
            let _ = Layout::parse(cut);
            let mut c = Coalescer::new(true, true).ipv4(true, true);
            c.push(cut, None, &mut |_, _| {});
            c.push(cut, Some((54, 16)), &mut |_, _| {});
            c.flush(&mut |_, _| {});
        }
    }
}

#[test]
fn arbitrary_headers_and_frames_never_panic() {
    let mut rng = crate::rng::SplitMix64::new(7);
    let base = tcp6(5, &payload(2000), true);
    let mut out = vec![0; 70_000];
    for _ in 0..20_000 {
        let mut bytes = [0u8; 10];
        for b in &mut bytes {
            *b = rng.next_u64() as u8;
        }
        // Keep the values near the frame's so that parsing gets far.
        bytes[6] = (54 + rng.next_u64() % 4) as u8;
        bytes[7] = 0;
        let mut frame = base.clone();
        let at = (rng.next_u64() as usize) % frame.len();
        frame[at] = rng.next_u64() as u8;
        frame.truncate(frame.len() - (rng.next_u64() as usize % 64));
        let v = VirtioNetRepr::parse(&VirtioNetHdr::new_unchecked(&bytes[..])).unwrap();
        if let Ok(o) = Offload::from_vnet(&v, &frame) {
            let _ = to_plain(&frame, &o, &mut out, &mut |_| {});
        }
    }
}

/// What a [`Coalescer`] wrote: frames with their offload.
fn coalesce(frames: &[Vec<u8>]) -> Vec<(Vec<u8>, Offload)> {
    let mut c = Coalescer::new(true, true).ipv4(true, true);
    let mut written = Vec::new();
    for f in frames {
        c.push(f, None, &mut |b, o| written.push((b.to_vec(), *o)));
    }
    c.flush(&mut |b, o| written.push((b.to_vec(), *o)));
    written
}

#[test]
fn coalescing_segments_rebuilds_the_kernel_superframe_byte_for_byte() {
    let data = payload(10_000);
    let superframe = with_flags(tcp6(1000, &data, true), TCP_PSH, true);
    let offload = Offload::from_vnet(&vnet(GsoType::TcpV6, 1428, 54, 16), &superframe).unwrap();
    let segs = segments_of(&superframe, &offload, 1428);
    let written = coalesce(&segs);
    assert_eq!(written.len(), 1);
    let (frame, o) = &written[0];
    assert_eq!(frame, &superframe);
    assert_eq!(o, &offload);
    let v = o.to_vnet();
    assert_eq!(
        (
            v.gso_type.kind,
            v.gso_size,
            v.csum_start,
            v.csum_offset,
            v.hdr_len
        ),
        (GsoType::TcpV6, 1428, 54, 16, 86)
    );
}

#[test]
fn coalescing_ipv4_segments_rebuilds_the_kernel_superframe_byte_for_byte() {
    let data = payload(10_000);
    let superframe = with_flags(tcp4(1000, &data, true), TCP_PSH, true);
    let offload = Offload::from_vnet(&vnet(GsoType::TcpV4, 1448, 34, 16), &superframe).unwrap();
    let segs = segments_of(&superframe, &offload, 1448);
    assert!(segs.len() > 1);
    let written = coalesce(&segs);
    assert_eq!(written.len(), 1);
    let (frame, o) = &written[0];
    assert_eq!(
        frame, &superframe,
        "total length, first ID, header checksum"
    );
    assert_eq!(o, &offload);
    assert_eq!(o.to_vnet().gso_type.kind, GsoType::TcpV4);
}

#[test]
fn ipv4_joins_only_where_asked_and_only_with_df() {
    let segs = |df: bool| {
        let mut frames = vec![
            tcp4(0, &payload(1448), false),
            tcp4(1448, &payload(1448), false),
        ];
        for f in &mut frames {
            if !df {
                f[14 + 6] = 0;
            }
            let layout = Layout::parse(f).unwrap();
            fill_ipv4_checksum(f, &layout);
        }
        frames
    };
    assert_eq!(coalesce(&segs(true)).len(), 1);
    assert_eq!(coalesce(&segs(false)).len(), 2, "no DF: IDs would matter");
    let mut c = Coalescer::new(true, true);
    let mut written = 0;
    for f in segs(true) {
        c.push(&f, None, &mut |_, o| {
            assert!(o.is_none());
            written += 1
        });
    }
    c.flush(&mut |_, _| written += 1);
    assert_eq!(written, 2, "IPv6 only: IPv4 segments go out as they came");
}

#[test]
fn what_cannot_join_goes_out_unchanged_and_in_order() {
    let a = tcp6(0, &payload(1428), false);
    let b = tcp6(1428, &payload(1428), false);
    let gap = tcp6(5000, &payload(1428), false);
    let mut bad = tcp6(6428, &payload(1428), false);
    bad[200] ^= 0xff;
    let mut syn = tcp6(9000, &[], false);
    syn[54 + 13] = TCP_SYN;
    let written = coalesce(&[a.clone(), b.clone(), gap.clone(), bad.clone(), syn.clone()]);
    let frames: Vec<&Vec<u8>> = written.iter().map(|(f, _)| f).collect();
    assert_eq!(written.len(), 4);
    assert!(written[0].1.gso.is_some(), "a and b joined");
    assert_eq!(written[0].0.len(), a.len() + 1428);
    assert_eq!(frames[1], &gap, "a gap in sequence starts a new superframe");
    assert_eq!(frames[2], &bad, "a bad checksum is passed on, never joined");
    assert_eq!(frames[3], &syn);
    assert!(written[1..].iter().all(|(_, o)| o.is_none()));
}

#[test]
fn a_short_or_pushed_segment_ends_the_superframe() {
    let s = |seq, len| tcp6(seq, &payload(len), false);
    let pushed = with_flags(s(2856, 1428), TCP_PSH, false);
    let written = coalesce(&[s(0, 1428), s(1428, 1428), pushed, s(4284, 1428)]);
    assert_eq!(written.len(), 2);
    assert_eq!(written[0].1.gso.unwrap().segments(1428), 3);
    assert!(written[0].0[54 + 13] & TCP_PSH != 0);
    let short = coalesce(&[s(0, 1428), s(1428, 100), s(1528, 1428)]);
    assert_eq!(short.len(), 2);
}

#[test]
fn a_superframe_never_exceeds_the_ipv6_payload_limit() {
    let frames: Vec<Vec<u8>> = (0..60)
        .map(|i| tcp6(i * 1428, &payload(1428), false))
        .collect();
    let written = coalesce(&frames);
    assert!(written.len() > 1);
    for (f, _) in &written {
        assert!(f.len() - 54 <= MAX_IP_PAYLOAD);
        let _ = EthernetFrame::new_checked(&f[..]).unwrap();
    }
    let total: usize = written.iter().map(|(f, _)| f.len() - 86).sum();
    assert_eq!(total, 60 * 1428);
}

#[test]
fn equal_datagrams_join_into_one_udp_superframe() {
    let one = |n: u8| {
        let mut f = udp6(&[n; 64]);
        let layout = Layout::parse(&f).unwrap();
        refill(&mut f, &layout, false);
        f
    };
    let datagrams: Vec<Vec<u8>> = (0..70).map(one).collect();
    let written = coalesce(&datagrams);
    assert_eq!(written.len(), 2, "at most 64 datagrams per superframe");
    let (frame, offload) = &written[0];
    let v = offload.to_vnet();
    assert_eq!(
        (v.gso_type.kind, v.gso_size, v.csum_offset),
        (GsoType::UdpL4, 64, 6)
    );
    assert_eq!(frame.len(), 62 + 64 * 64);
    // Cut again, the superframe gives back the very datagrams.
    let again = segments_of(frame, offload, 1500);
    assert_eq!(again, datagrams[..64]);
    let mut odd = one(1);
    odd.truncate(62 + 10);
    put16(&mut odd, 18, 18);
    put16(&mut odd, 58, 18);
    let layout = Layout::parse(&odd).unwrap();
    refill(&mut odd, &layout, false);
    let written = coalesce(&[one(1), odd.clone(), one(2)]);
    assert_eq!(written.len(), 2, "a shorter datagram ends the superframe");
    assert_eq!(written[1].0, one(2));
}

#[test]
fn a_port_without_uso_gets_its_datagrams_one_by_one() {
    let d = |n: u8| {
        let mut f = udp6(&[n; 64]);
        let layout = Layout::parse(&f).unwrap();
        refill(&mut f, &layout, false);
        f
    };
    let mut c = Coalescer::new(true, false);
    let mut written = Vec::new();
    for f in [d(1), d(2)] {
        c.push(&f, None, &mut |b, o| written.push((b.to_vec(), *o)));
    }
    c.flush(&mut |b, o| written.push((b.to_vec(), *o)));
    assert_eq!(written.len(), 2);
    assert!(written.iter().all(|(_, o)| o.is_none()));
}

#[test]
fn segments_with_partial_checksums_join_and_a_lone_one_keeps_its_own() {
    let data = payload(2856);
    let superframe = tcp6(0, &data, true);
    let a = tcp6(0, &data[..1428], true);
    let b = tcp6(1428, &data[1428..], true);
    let mut c = Coalescer::new(true, true);
    let mut written = Vec::new();
    let mut w = |f: &[u8], o: &Offload| written.push((f.to_vec(), *o));
    c.push(&a, Some((54, 16)), &mut w);
    c.push(&b, Some((54, 16)), &mut w);
    c.flush(&mut w);
    c.push(&a, Some((54, 16)), &mut w);
    c.flush(&mut w);
    assert_eq!(written.len(), 2);
    assert_eq!(written[0].0, superframe);
    assert_eq!(
        written[1],
        (
            a,
            Offload {
                partial: Some((54, 16)),
                gso: None
            }
        )
    );
}
