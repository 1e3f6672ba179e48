//! Cross-checks the RADIUS encoder and authenticators against Wireshark's radius
//! dissector: an Access-Request as the client sends it and an Access-Accept as
//! `build_reply` signs it, decoded field by field, with Wireshark verifying the
//! Response Authenticator from the shared secret.

use std::fs::File;
use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use router::aaa::radius_auth::{build_reply, fresh_authenticator, sign_request};
use router::pcap::PcapWriter;
use router::wire::{AccessRequestRepr, RadiusAttributeType as A, RadiusCode};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpProtocol, Ipv4Packet,
    Ipv4Repr, UdpPacket, UdpRepr,
};

const SECRET: &str = "testing123";
const CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

fn udp_frame(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), payload: &[u8]) -> Vec<u8> {
    let udp = UdpRepr {
        src_port: src.1,
        dst_port: dst.1,
    };
    let ip = Ipv4Repr {
        src_addr: src.0,
        dst_addr: dst.0,
        next_header: IpProtocol::Udp,
        payload_len: udp.header_len() + payload.len(),
        hop_limit: 64,
    };
    let eth = EthernetRepr {
        src_addr: EthernetAddress([0x02, 0, 0, 0, 0, 1]),
        dst_addr: EthernetAddress([0x02, 0, 0, 0, 0, 2]),
        ethertype: EthernetProtocol::Ipv4,
    };
    let mut buf = vec![0; eth.buffer_len() + ip.buffer_len() + ip.payload_len];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut frame);
    let caps = ChecksumCapabilities::default();
    let mut packet = Ipv4Packet::new_unchecked(frame.payload_mut());
    ip.emit(&mut packet, &caps);
    let mut datagram = UdpPacket::new_unchecked(packet.payload_mut());
    udp.emit(
        &mut datagram,
        &src.0.into(),
        &dst.0.into(),
        payload.len(),
        |p| p.copy_from_slice(payload),
        &caps,
    );
    buf
}

#[test]
fn wireshark_decodes_request_and_accept_and_checks_the_authenticator() {
    let mut request = AccessRequestRepr {
        identifier: 42,
        authenticator: fresh_authenticator().unwrap(),
        user_name: "vm1@tapmip",
        calling_station_id: Some("52-54-00-AA-00-01"),
        nas_identifier: "mag1",
        nas_ipv6_address: Some("2001:db8:ff:1::2".parse().unwrap()),
    }
    .emit()
    .unwrap();
    sign_request(&mut request, SECRET.as_bytes()).unwrap();
    let p64 = [0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 1];
    let p56 = [0, 56, 0x20, 0x01, 0x0d, 0xb8, 0, 2, 0];
    let attrs: [(A, &[u8]); 5] = [
        (A::FramedIpv6Prefix, &p64),
        (A::DelegatedIpv6Prefix, &p56),
        (A::Pmip6HomeHnPrefix, &p64),
        (A::FramedIpAddress, &[10, 0, 0, 7]),
        (A::ReplyMessage, b"welcome"),
    ];
    let accept = build_reply(
        &request,
        RadiusCode::AccessAccept,
        &attrs,
        true,
        SECRET.as_bytes(),
    )
    .unwrap();

    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tshark_radius-{}.pcap", std::process::id()));
    let mut writer = PcapWriter::new(BufWriter::new(File::create(&path).unwrap())).unwrap();
    let frames = [
        udp_frame((CLIENT, 40000), (SERVER, 1812), &request),
        udp_frame((SERVER, 1812), (CLIENT, 40000), &accept),
    ];
    for (i, frame) in frames.iter().enumerate() {
        writer
            .write_frame(Duration::from_secs(1_700_000_000 + i as u64), frame)
            .unwrap();
    }
    writer.flush().unwrap();
    let file = path.to_str().unwrap();

    let fields = [
        "radius.code",
        "radius.id",
        "radius.length",
        "radius.User_Name",
        "radius.Service_Type",
        "radius.NAS_Identifier",
        "radius.NAS_IPv6_Address",
        "radius.Calling_Station_Id",
        "radius.Framed_IPv6_Prefix",
        "radius.Reply_Message",
        "radius.Message_Authenticator",
        "radius.authenticator.valid",
    ];
    let mut args = vec![
        "-r",
        file,
        "-o",
        "radius.shared_secret:testing123",
        "-o",
        "radius.validate_authenticator:TRUE",
        "-T",
        "fields",
        "-E",
        "separator=|",
    ];
    for f in &fields {
        args.extend(["-e", f]);
    }
    let out = router::tshark::run(&args).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(lines.len(), 2, "{out}");
    let field = |line: usize, name: &str| {
        let i = fields.iter().position(|f| *f == name).unwrap();
        lines[line][i].to_string()
    };
    let ma = |bytes: &[u8]| {
        bytes[22..38]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(field(0, "radius.code"), "1");
    assert_eq!(field(0, "radius.id"), "42");
    assert_eq!(field(0, "radius.length"), request.len().to_string());
    assert_eq!(field(0, "radius.User_Name"), "vm1@tapmip");
    assert_eq!(field(0, "radius.Service_Type"), "2");
    assert_eq!(field(0, "radius.NAS_Identifier"), "mag1");
    assert_eq!(field(0, "radius.NAS_IPv6_Address"), "2001:db8:ff:1::2");
    assert_eq!(field(0, "radius.Calling_Station_Id"), "52-54-00-AA-00-01");
    assert_eq!(field(0, "radius.Message_Authenticator"), ma(&request));
    assert_eq!(field(1, "radius.code"), "2");
    assert_eq!(field(1, "radius.id"), "42");
    // tshark prints prefix fields as bytes (and no Framed-IP-Address field), the
    // decoded values in each attribute's summary line.
    assert_eq!(
        field(1, "radius.Framed_IPv6_Prefix"),
        "004020010db800010001"
    );
    let verbose = router::tshark::run(&["-r", file, "-V", "-Y", "radius.code == 2"])
        .unwrap_or_else(|e| panic!("{e}"));
    for summary in [
        "t=Framed-IPv6-Prefix(97) l=12 val=2001:db8:1:1::/64",
        "t=Delegated-IPv6-Prefix(123) l=11 val=2001:db8:2::/56",
        "t=PMIP6-Home-HN-Prefix(151) l=12 val=2001:db8:1:1::/64",
        "t=Framed-IP-Address(8) l=6 val=10.0.0.7",
    ] {
        assert!(verbose.contains(summary), "no {summary:?} in\n{verbose}");
    }
    assert_eq!(field(1, "radius.Reply_Message"), "welcome");
    assert_eq!(field(1, "radius.Message_Authenticator"), ma(&accept));
    assert_eq!(
        field(1, "radius.authenticator.valid"),
        "1",
        "Wireshark finds the Response Authenticator right"
    );
    let problems = router::tshark::problems(&path, "").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(problems, None, "Wireshark objects:\n{problems:?}");
    let _ = std::fs::remove_file(&path);
}
