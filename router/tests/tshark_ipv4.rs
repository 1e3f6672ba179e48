//! Cross-checks the IPv4 frames the routers emit against Wireshark's
//! dissectors: ARP requests, replies and gratuitous announcements, the DHCP
//! server's OFFER, ACK and NAK (and the client messages the simulations
//! send), ICMPv4 errors, Echo Replies and IPv4-in-IPv6. Every field is
//! compared with what was meant, every checksum verified by tshark, and no
//! frame may be malformed or draw an expert warning.

use router::arp::frames::{ArpMessage, build, ethernet_ipv4, gratuitous, request};
use router::dhcp::{ClientRequest, MessageType, ServerReply, mask};
use router::icmp::IcmpError;
use router::mac::Mac;
use router::nd::frames::ethernet_ipv6;
use router::pcap::PcapWriter;
use std::fs::File;
use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

const NODE: Mac = Mac([0x52, 0x54, 0, 0xaa, 0, 1]);
const MAG: Mac = Mac([0x02, 0x7a, 0x70, 0, 0, 1]);

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// A UDP/IPv4 packet from the node to a correspondent.
fn datagram(ttl: u8, payload: usize, df: bool) -> Vec<u8> {
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr};
    let (src, dst) = (a("10.1.1.5"), a("192.0.2.100"));
    let mut buf = vec![0u8; 28 + payload];
    let caps = ChecksumCapabilities::default();
    Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Udp,
        payload_len: 8 + payload,
        hop_limit: ttl,
    }
    .emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), &caps);
    let mut ip = Ipv4Packet::new_unchecked(&mut buf[..]);
    ip.set_dont_frag(df);
    ip.fill_checksum();
    UdpRepr {
        src_port: 40000,
        dst_port: 7000,
    }
    .emit(
        &mut UdpPacket::new_unchecked(&mut buf[20..]),
        &IpAddress::Ipv4(src),
        &IpAddress::Ipv4(dst),
        payload,
        |p| p.fill(0x61),
        &caps,
    );
    buf
}

fn reply(kind: MessageType, yiaddr: &str, message: Option<&str>) -> ServerReply {
    let nak = kind == MessageType::Nak;
    ServerReply {
        kind,
        xid: 0x1234_5678,
        chaddr: NODE,
        ciaddr: Ipv4Addr::UNSPECIFIED,
        broadcast_flag: false,
        yiaddr: a(yiaddr),
        server_id: a("10.1.1.1"),
        lease_secs: (!nak).then_some(3600),
        renew_secs: (!nak).then_some(1800),
        rebind_secs: (!nak).then_some(3150),
        subnet_mask: (!nak).then(|| mask(24)),
        router: (!nak).then_some(a("10.1.1.1")),
        mtu: (!nak).then_some(1460),
        message: message.map(str::to_string),
    }
}

/// A frame and the fields tshark must read in it.
type Expected = (Vec<u8>, Vec<(&'static str, &'static str)>);

/// Every frame of the capture.
fn frames() -> Vec<Expected> {
    let asked = request(NODE, a("10.1.1.5"), a("10.1.1.1"), None);
    let proxied = build(
        NODE,
        &ArpMessage {
            reply: true,
            sender_mac: MAG,
            sender_ip: a("10.1.1.77"),
            target_mac: NODE,
            target_ip: a("10.1.1.5"),
        },
    );
    let discover = ClientRequest::discover(NODE, 0x1234_5678);
    let renew = ClientRequest {
        kind: MessageType::Request,
        ciaddr: a("10.1.1.5"),
        to: a("10.1.1.1"),
        to_mac: MAG,
        ..discover.clone()
    };
    let too_big = datagram(64, 1472, true);
    let dying = datagram(1, 32, true);
    let err = |e, orig: &[u8]| {
        let packet = router::icmpv4::error_packet(e, a("10.1.1.1"), orig).unwrap();
        ethernet_ipv4(MAG, NODE, &packet)
    };
    let echo = router::icmpv4::echo_request(a("10.1.1.5"), a("10.1.1.1"), 9);
    let echo_reply = router::icmpv4::echo_reply(&echo).unwrap();
    let mut tunnelled = Vec::new();
    router::tunnel::encapsulate(
        "2001:db8:ff:1::2".parse().unwrap(),
        "2001:db8:ff:1::1".parse().unwrap(),
        &datagram(64, 32, true),
        64,
        1500,
        &mut tunnelled,
    )
    .unwrap();
    vec![
        (
            asked,
            vec![
                ("arp.opcode", "1"),
                ("arp.src.proto_ipv4", "10.1.1.5"),
                ("arp.dst.proto_ipv4", "10.1.1.1"),
                ("arp.isgratuitous", ""),
            ],
        ),
        (
            proxied,
            vec![
                ("arp.opcode", "2"),
                ("arp.src.hw_mac", "02:7a:70:00:00:01"),
                ("arp.src.proto_ipv4", "10.1.1.77"),
            ],
        ),
        (
            gratuitous(NODE, a("10.1.1.5")),
            vec![("arp.opcode", "1"), ("arp.isgratuitous", "1")],
        ),
        (
            discover.frame(),
            vec![("dhcp.option.dhcp", "1"), ("udp.checksum.status", "1")],
        ),
        (
            reply(MessageType::Offer, "10.1.1.5", None).frame(MAG),
            vec![
                ("dhcp.option.dhcp", "2"),
                ("dhcp.ip.your", "10.1.1.5"),
                ("dhcp.option.dhcp_server_id", "10.1.1.1"),
                ("dhcp.option.router", "10.1.1.1"),
                ("dhcp.option.subnet_mask", "255.255.255.0"),
                ("dhcp.option.ip_address_lease_time", "3600"),
                ("dhcp.option.renewal_time_value", "1800"),
                ("dhcp.option.rebinding_time_value", "3150"),
                ("dhcp.option.interface_mtu", "1460"),
                ("udp.checksum.status", "1"),
                ("ip.checksum.status", "1"),
            ],
        ),
        (
            renew.frame(),
            vec![("dhcp.option.dhcp", "3"), ("dhcp.ip.client", "10.1.1.5")],
        ),
        (
            reply(MessageType::Ack, "10.1.1.5", None).frame(MAG),
            vec![("dhcp.option.dhcp", "5"), ("dhcp.ip.your", "10.1.1.5")],
        ),
        (
            reply(MessageType::Nak, "0.0.0.0", Some("not your address")).frame(MAG),
            vec![
                ("dhcp.option.dhcp", "6"),
                ("dhcp.option.message", "not your address"),
            ],
        ),
        (
            err(IcmpError::HopLimitExceeded, &dying),
            vec![
                ("icmp.type", "11"),
                ("icmp.code", "0"),
                ("icmp.checksum.status", "1"),
            ],
        ),
        (
            err(IcmpError::PacketTooBig { mtu: 1460 }, &too_big),
            vec![
                ("icmp.type", "3"),
                ("icmp.code", "4"),
                ("icmp.mtu", "1460"),
                ("icmp.checksum.status", "1"),
            ],
        ),
        (
            ethernet_ipv4(MAG, NODE, &echo_reply),
            vec![("icmp.type", "0"), ("ip.ttl", "64")],
        ),
        (
            ethernet_ipv6(MAG, NODE, &tunnelled),
            vec![
                ("ipv6.nxt", "4"),
                ("ip.ttl", "63"),
                ("ip.checksum.status", "1"),
            ],
        ),
    ]
}

fn capture() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tshark_ipv4-{}.pcap", std::process::id()));
    let mut w = PcapWriter::new(BufWriter::new(File::create(&path).unwrap())).unwrap();
    for (i, (frame, _)) in frames().iter().enumerate() {
        w.write_frame(Duration::from_secs(1_718_454_896 + i as u64), frame)
            .unwrap();
    }
    w.flush().unwrap();
    path
}

#[test]
fn tshark_decodes_every_ipv4_frame_we_emit() {
    let path = capture();
    let file = path.to_str().unwrap();
    let wanted = frames();
    let mut fields: Vec<&str> = wanted
        .iter()
        .flat_map(|(_, f)| f.iter().map(|(name, _)| *name))
        .collect();
    fields.sort_unstable();
    fields.dedup();
    let mut args = vec![
        "-r",
        file,
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
        "-T",
        "fields",
        "-E",
        "separator=/t",
    ];
    args.extend(fields.iter().flat_map(|f| ["-e", *f]));
    let out = router::tshark::run(&args).unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), wanted.len(), "{out}");
    for (i, ((_, expect), row)) in wanted.iter().zip(&rows).enumerate() {
        let cells: Vec<&str> = row.split('\t').collect();
        for (name, value) in expect {
            let col = fields.iter().position(|f| f == name).unwrap();
            // Innermost value for fields that repeat (a quoted header).
            let got = cells[col].split(',').next().unwrap_or_default();
            let got = if *name == "ip.ttl" {
                cells[col].rsplit(',').next().unwrap_or_default()
            } else {
                got
            };
            assert_eq!(got, *value, "frame {}: {name} in {row:?}", i + 1);
        }
    }
    let problems = router::tshark::problems(&path, "").unwrap_or_else(|e| panic!("{e}"));
    assert!(problems.is_none(), "{}", problems.unwrap_or_default());
    std::fs::remove_file(&path).unwrap();
}
