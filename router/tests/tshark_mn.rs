//! The mobile node's Binding Update (Home Address option) and the home agent's
//! Binding Acknowledgement (Type 2 Routing Header), RFC 6275 6.3 and 6.4,
//! against decoders written by other people: Wireshark's IPv6 and mip6
//! dissectors for every field and its expert system, and scapy's
//! `in6_chksum`, which takes the home address from either header for the
//! pseudo-header as RFC 8200 8.1 and RFC 6275 say.

use std::fs::File;
use std::io::BufWriter;
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use router::mac::Mac;
use router::pcap::PcapWriter;
use router::wire::{MhRepr, MnPacketRepr, MobilityOptions, PbaRepr, PbaStatus, PbuRepr};
use smoltcp::wire::{EthernetFrame, EthernetProtocol, EthernetRepr};

const COA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa, 2, 0x5054, 0xff, 0xfeaa, 1);
const HA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
const HOA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 1, 0x5054, 0xff, 0xfeaa, 1);

fn packets() -> Vec<MnPacketRepr> {
    let bu = MhRepr::Pbu(PbuRepr {
        sequence: 4711,
        ack: true,
        home_registration: true,
        link_local_compat: true,
        lifetime_secs: 420,
        ..PbuRepr::default()
    });
    let ba = |status, lifetime_secs| {
        MhRepr::Pba(PbaRepr {
            status,
            key_mgmt: false,
            mobile_router: false,
            proxy: false,
            sequence: 4711,
            lifetime_secs,
            options: MobilityOptions::default(),
        })
    };
    vec![
        MnPacketRepr::binding_update(COA, HA, HOA, bu),
        MnPacketRepr::binding_ack(HA, COA, HOA, ba(PbaStatus::Accepted, 420)),
        MnPacketRepr::binding_ack(HA, COA, HOA, ba(PbaStatus::SequenceNumberOutOfWindow, 0)),
    ]
}

fn capture(name: &str) -> (PathBuf, Vec<Vec<u8>>) {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tshark_mn-{}-{name}.pcap", std::process::id()));
    let mut writer = PcapWriter::new(BufWriter::new(File::create(&path).unwrap())).unwrap();
    let mut out = Vec::new();
    for (i, p) in packets().iter().enumerate() {
        let ipv6 = p.emit();
        let repr = EthernetRepr {
            src_addr: Mac([0x02, 0, 0, 0, 0, 1]).into(),
            dst_addr: Mac([0x02, 0, 0, 0, 0, 2]).into(),
            ethertype: EthernetProtocol::Ipv6,
        };
        let mut frame = vec![0; repr.buffer_len() + ipv6.len()];
        let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
        repr.emit(&mut eth);
        eth.payload_mut().copy_from_slice(&ipv6);
        writer
            .write_frame(Duration::from_secs(1_718_454_896 + i as u64), &frame)
            .unwrap();
        out.push(ipv6);
    }
    writer.flush().unwrap();
    (path, out)
}

const FIELDS: &[&str] = &[
    "ipv6.src",
    "ipv6.dst",
    "ipv6.opt.mipv6.home_address",
    "ipv6.routing.type",
    "ipv6.routing.segleft",
    "ipv6.routing.mipv6.home_address",
    "mip6.mhtype",
    "mip6.bu.seqnr",
    "mip6.bu.a_flag",
    "mip6.bu.h_flag",
    "mip6.bu.l_flag",
    "mip6.bu.p_flag",
    "mip6.bu.lifetime",
    "mip6.ba.status",
    "mip6.ba.seqnr",
    "mip6.ba.lifetime",
];

#[test]
fn tshark_decodes_the_home_address_headers_and_the_messages() {
    let (path, _) = capture("fields");
    let mut args = vec!["-r", path.to_str().unwrap(), "-T", "fields"];
    args.extend(FIELDS.iter().flat_map(|f| ["-e", f]));
    let out = router::tshark::run(&args).unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    let (coa, ha, hoa) = (COA.to_string(), HA.to_string(), HOA.to_string());
    let bu = [
        coa.as_str(),
        &ha,
        &hoa,
        "",
        "",
        "",
        "5",
        "4711",
        "1",
        "1",
        "1",
        "0",
        "105",
        "",
        "",
        "",
    ];
    assert_eq!(rows[0], bu);
    let ba = [
        ha.as_str(),
        &coa,
        "",
        "2",
        "1",
        &hoa,
        "6",
        "",
        "",
        "",
        "",
        "",
        "",
        "0",
        "4711",
        "105",
    ];
    assert_eq!(rows[1], ba);
    assert_eq!(rows[2][13], "135", "SEQUENCE_NUMBER_OUT_OF_WINDOW");
    let problems = router::tshark::problems(&path, "").unwrap();
    assert_eq!(problems, None, "tshark objects");
    std::fs::remove_file(path).unwrap();
}

/// scapy's in6_chksum walks the extension headers: the Home Address option
/// replaces the source, a Type 2 Routing Header the destination. It looks
/// for a Destination Options header holding the option alone, so the PadN
/// that aligns it (RFC 6275 6.3) is dropped from the parsed header first.
const SCAPY: &str = r#"
import sys
from scapy.all import IPv6, in6_chksum, raw, rdpcap
from scapy.layers.inet6 import HAO, IPv6ExtHdrDestOpt
for frame in rdpcap(sys.argv[1]):
    ipv6 = IPv6(raw(frame)[14:])
    ext = ipv6.payload
    if isinstance(ext, IPv6ExtHdrDestOpt):
        ext.options = [o for o in ext.options if isinstance(o, HAO)]
    mh = bytearray(raw(ext.payload))
    mh[4:6] = b"\0\0"
    print(in6_chksum(135, ext, bytes(mh)))
"#;

#[test]
fn scapy_agrees_on_the_checksum() {
    let (path, packets) = capture("checksum");
    let out = Command::new("/usr/bin/python3")
        .args(["-c", SCAPY, path.to_str().unwrap()])
        .output()
        .expect("python3 runs (apt-get install python3-scapy)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sums: Vec<u16> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let ours: Vec<u16> = packets
        .iter()
        .map(|p| u16::from_be_bytes([p[68], p[69]]))
        .collect();
    assert_eq!(sums, ours);
    std::fs::remove_file(path).unwrap();
}
