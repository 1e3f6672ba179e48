//! Cross-checks the RARP view (RFC 903) against Wireshark's ARP/RARP dissector:
//! QEMU's announce-self frame and a reply reverse with addresses, every field.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Duration;

use router::mac::Mac;
use router::pcap::PcapWriter;
use router::wire::{OP_REPLY_REVERSE, RarpRepr};
use smoltcp::wire::Ipv4Address;

const GUEST: Mac = Mac([0x52, 0x54, 0x00, 0xaa, 0x00, 0x01]);
const SERVER: Mac = Mac([0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);

fn messages() -> Vec<(Mac, RarpRepr)> {
    let reply = RarpRepr {
        operation: OP_REPLY_REVERSE,
        sender_hardware_addr: SERVER,
        sender_protocol_addr: Ipv4Address::new(192, 0, 2, 1),
        target_hardware_addr: GUEST,
        target_protocol_addr: Ipv4Address::new(192, 0, 2, 77),
    };
    vec![(GUEST, RarpRepr::announcement(GUEST)), (SERVER, reply)]
}

#[test]
fn tshark_decodes_every_rarp_field() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tshark_rarp-{}.pcap", std::process::id()));
    let mut writer = PcapWriter::new(BufWriter::new(File::create(&path).unwrap())).unwrap();
    for (i, (src, repr)) in messages().iter().enumerate() {
        let ts = Duration::from_secs(1_718_454_896 + i as u64);
        writer.write_frame(ts, &repr.frame(*src)).unwrap();
    }
    writer.flush().unwrap();
    drop(writer);
    let file = path.to_str().unwrap();
    let fields = [
        "eth.dst",
        "eth.src",
        "eth.type",
        "arp.hw.type",
        "arp.proto.type",
        "arp.hw.size",
        "arp.proto.size",
        "arp.opcode",
        "arp.src.hw_mac",
        "arp.src.proto_ipv4",
        "arp.dst.hw_mac",
        "arp.dst.proto_ipv4",
        "_ws.col.Protocol",
    ];
    let mut args = vec!["-r", file, "-T", "fields", "-E", "separator=|"];
    for f in &fields {
        args.extend(["-e", f]);
    }
    let out = router::tshark::run(&args).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "ff:ff:ff:ff:ff:ff|52:54:00:aa:00:01|0x8035|1|0x0800|6|4|3|\
             52:54:00:aa:00:01|0.0.0.0|52:54:00:aa:00:01|0.0.0.0|RARP",
            "ff:ff:ff:ff:ff:ff|02:00:5e:10:20:30|0x8035|1|0x0800|6|4|4|\
             02:00:5e:10:20:30|192.0.2.1|52:54:00:aa:00:01|192.0.2.77|RARP",
        ],
        "{out}"
    );
    let problems = router::tshark::problems(&path, "").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(problems, None, "Wireshark objects: {problems:?}");
    let _ = std::fs::remove_file(&path);
}
