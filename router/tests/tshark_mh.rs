//! Cross-checks the Mobility Header encoder against decoders written by other
//! people: Wireshark's mip6 dissector (through tshark) for every field, and
//! scapy's `in6_chksum` for the checksum, which tshark does not verify.
//!
//! Both tools are required: a missing one fails the test with the package to
//! install rather than skipping it.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use router::mac::Mac;
use router::pcap::PcapWriter;
use router::wire::{
    AccessTechnologyType, BE_STATUS_UNRECOGNIZED_MH_TYPE, BindingErrorRepr, HandoffIndicator,
    HeartbeatRepr, Ipv4HomeAddressReply, Ipv4HomeAddressRequest, MhAuth, MhRepr, MobilityOptions,
    PbaRepr, PbaStatus, PbuRepr, mh_ipv6_packet,
};
use smoltcp::wire::{EthernetFrame, EthernetProtocol, EthernetRepr};

/// Every tshark field this test compares with what was emitted.
const TSHARK_FIELDS: &[&str] = &[
    "ipv6.nxt",
    "ipv6.plen",
    "mip6.proto",
    "mip6.hlen",
    "mip6.mhtype",
    "mip6.csum",
    "mip6.bu.seqnr",
    "mip6.bu.lifetime",
    "mip6.bu.a_flag",
    "mip6.bu.h_flag",
    "mip6.bu.l_flag",
    "mip6.bu.k_flag",
    "mip6.bu.m_flag",
    "mip6.nemo.bu.r_flag",
    "mip6.bu.p_flag",
    "mip6.ba.status",
    "mip6.ba.k_flag",
    "mip6.nemo.ba.r_flag",
    "mip6.ba.p_flag",
    "mip6.ba.seqnr",
    "mip6.ba.lifetime",
    "mip6.mnid.subtype",
    "mip6.mnid.identifier",
    "mip6.nemo.mnp.pfl",
    "mip6.nemo.mnp.mnp",
    "mip6.hi",
    "mip6.att",
    "mip6.mnlli.lli",
    "mip6.lila_lla",
    "mip6.timestamp_tmp",
    "mip6.ipv4ha.preflen",
    "mip6.ipv4ha.ha",
    "mip6.ipv4aa.sts",
    "mip6.ipv4dra.dra",
    "mip6.hb.u_flag",
    "mip6.hb.r_flag",
    "mip6.hb.seqnr",
    "mip6.rc",
    "mip6.be.status",
    "mip6.be.haddr",
    "mip6.auth.subtype",
    "mip6.auth.mobility_spi",
    "mip6.auth.auth_data",
];

const MAG: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 1);
const LMA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xb, 0, 0, 0, 0, 1);
/// 2024-06-15 12:34:56 UTC and a quarter second, in the 48.16 format.
const TIMESTAMP: u64 = (1_718_454_896 << 16) | 0x4000;

fn every_option() -> MobilityOptions {
    MobilityOptions {
        mn_id: Some("mn1@example.org".into()),
        hnps: vec![
            "2001:db8:1:2::/64".parse().unwrap(),
            "2001:db8:5::/48".parse().unwrap(),
        ],
        handoff_indicator: Some(HandoffIndicator::InterMag),
        access_technology: Some(AccessTechnologyType::Ethernet),
        mn_link_layer_id: Some(vec![0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]),
        link_local_address: Some("fe80::200:5eff:fe10:2030".parse().unwrap()),
        timestamp: Some(TIMESTAMP),
        restart_counter: None,
        ipv4_home_address_request: Some(Ipv4HomeAddressRequest {
            prefix_len: 24,
            address: Ipv4Addr::new(10, 0, 0, 9),
        }),
        ipv4_home_address_reply: Some(Ipv4HomeAddressReply {
            status: 0,
            prefix_len: 16,
            address: Ipv4Addr::new(10, 0, 0, 5),
        }),
        ipv4_default_router: Some(Ipv4Addr::new(10, 0, 0, 1)),
        authentication: None,
        unknown: vec![],
    }
}

/// The authentication option (RFC 4285) as `router::auth` fills it: subtype
/// MN-HA, the SPI, 16 octets of HMAC-SHA-256-128.
fn authentication(spi: u32) -> Option<MhAuth> {
    Some(MhAuth {
        subtype: 1,
        spi,
        auth_data: (0xa0..0xb0).collect(),
    })
}

/// A PBU from the MAG with every flag but M, and a PBA back with every flag;
/// both authenticated, and a Heartbeat Request signed by `router::auth`.
fn messages() -> Vec<(Ipv6Addr, Ipv6Addr, MhRepr)> {
    let pbu = MhRepr::Pbu(PbuRepr {
        sequence: 4660,
        ack: true,
        home_registration: true,
        link_local_compat: true,
        key_mgmt: true,
        mobile_router: true,
        proxy: true,
        lifetime_secs: 3600,
        options: MobilityOptions {
            authentication: authentication(257),
            ..every_option()
        },
    });
    let pba = MhRepr::Pba(PbaRepr {
        status: PbaStatus::MissingHandoffIndicatorOption,
        key_mgmt: true,
        mobile_router: true,
        proxy: true,
        sequence: 4660,
        lifetime_secs: 1800,
        options: MobilityOptions {
            authentication: authentication(0xfedc_ba98),
            ..every_option()
        },
    });
    // The refusal of a PBU that had no MN-ID carries an empty one (RFC 5213 5.3.6).
    let refusal = MhRepr::Pba(PbaRepr {
        status: PbaStatus::MissingMnIdentifierOption,
        key_mgmt: false,
        mobile_router: false,
        proxy: true,
        sequence: 7,
        lifetime_secs: 0,
        options: MobilityOptions {
            mn_id: Some(String::new()),
            ..MobilityOptions::default()
        },
    });
    let request = MhRepr::Heartbeat(HeartbeatRepr {
        sequence: 0x0102_0304,
        ..HeartbeatRepr::default()
    });
    let response = MhRepr::Heartbeat(HeartbeatRepr {
        response: true,
        unsolicited: true,
        sequence: 0x0102_0304,
        options: MobilityOptions {
            restart_counter: Some(1_718_454_896),
            authentication: authentication(258),
            ..MobilityOptions::default()
        },
    });
    let error = MhRepr::BindingError(BindingErrorRepr {
        status: BE_STATUS_UNRECOGNIZED_MH_TYPE,
        home_address: Ipv6Addr::UNSPECIFIED,
    });
    vec![
        (MAG, LMA, pbu),
        (LMA, MAG, pba),
        (LMA, MAG, refusal),
        (MAG, LMA, request),
        (LMA, MAG, response),
        (LMA, MAG, error),
    ]
}

fn ethernet_frame(ipv6: &[u8]) -> Vec<u8> {
    let repr = EthernetRepr {
        src_addr: Mac([0x02, 0, 0, 0, 0, 0x01]).into(),
        dst_addr: Mac([0x02, 0, 0, 0, 0, 0x02]).into(),
        ethertype: EthernetProtocol::Ipv6,
    };
    let mut buffer = vec![0; repr.buffer_len() + ipv6.len()];
    let mut frame = EthernetFrame::new_unchecked(&mut buffer[..]);
    repr.emit(&mut frame);
    frame.payload_mut().copy_from_slice(ipv6);
    buffer
}

/// Writes the messages to a fresh capture, which a passing test removes and a
/// failing one leaves for inspection; returns its path and each message's
/// IPv6 packet.
fn capture(name: &str) -> (PathBuf, Vec<Vec<u8>>) {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tshark_mh-{}-{name}.pcap", std::process::id()));
    let mut writer = PcapWriter::new(BufWriter::new(File::create(&path).unwrap())).unwrap();
    let mut packets = Vec::new();
    for (i, (src, dst, repr)) in messages().iter().enumerate() {
        let packet = mh_ipv6_packet(*src, *dst, 64, repr);
        let ts = Duration::from_secs(1_718_454_896 + i as u64);
        writer.write_frame(ts, &ethernet_frame(&packet)).unwrap();
        packets.push(packet);
    }
    writer.flush().unwrap();
    (path, packets)
}

/// Runs a tool, failing the test with an install hint if it is missing.
fn run(program: &str, args: &[&str], package: &str) -> String {
    let output = Command::new(program)
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap_or_else(|err| {
            panic!("cannot run {program} ({err}): install it with `apt-get install {package}`")
        });
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}); is {package} installed?\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn tshark(args: &[&str]) -> String {
    router::tshark::run(args).unwrap_or_else(|e| panic!("{e}"))
}

/// Wireshark's rendering of an absolute time: "Jun 15, 2024 12:34:56.250000000 UTC".
fn wireshark_time(timestamp: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = (timestamp >> 16) as i64;
    let nanos = ((timestamp & 0xffff) * 1_000_000_000) >> 16;
    // Days since 1970 to a proleptic Gregorian date, counting eras of 400
    // years from 0000-03-01 so that leap days fall at the end of a year.
    let days = secs.div_euclid(86_400) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let time = secs.rem_euclid(86_400);
    format!(
        "{} {day:>2}, {year} {:02}:{:02}:{:02}.{nanos:09} UTC",
        MONTHS[(month - 1) as usize],
        time / 3600,
        time / 60 % 60,
        time % 60
    )
}

/// What tshark should show for each field of `packet`, built from `repr`.
fn expected(repr: &MhRepr, packet: &[u8]) -> HashMap<&'static str, String> {
    let flag = |set: bool| String::from(if set { "1" } else { "0" });
    let mh = &packet[40..];
    let mut values = HashMap::from([
        ("ipv6.nxt", "135".to_string()),
        ("ipv6.plen", mh.len().to_string()),
        ("mip6.proto", "59".to_string()),
        ("mip6.hlen", (mh.len() / 8 - 1).to_string()),
        (
            "mip6.csum",
            format!("{:#06x}", u16::from_be_bytes([mh[4], mh[5]])),
        ),
    ]);
    let options = match repr {
        MhRepr::Pbu(pbu) => {
            values.extend([
                ("mip6.mhtype", "5".to_string()),
                ("mip6.bu.seqnr", pbu.sequence.to_string()),
                ("mip6.bu.lifetime", (pbu.lifetime_secs / 4).to_string()),
                ("mip6.bu.a_flag", flag(pbu.ack)),
                ("mip6.bu.h_flag", flag(pbu.home_registration)),
                ("mip6.bu.l_flag", flag(pbu.link_local_compat)),
                ("mip6.bu.k_flag", flag(pbu.key_mgmt)),
                ("mip6.bu.m_flag", flag(false)),
                ("mip6.nemo.bu.r_flag", flag(pbu.mobile_router)),
                ("mip6.bu.p_flag", flag(pbu.proxy)),
            ]);
            &pbu.options
        }
        MhRepr::Pba(pba) => {
            values.extend([
                ("mip6.mhtype", "6".to_string()),
                ("mip6.ba.status", u8::from(pba.status).to_string()),
                ("mip6.ba.k_flag", flag(pba.key_mgmt)),
                ("mip6.nemo.ba.r_flag", flag(pba.mobile_router)),
                ("mip6.ba.p_flag", flag(pba.proxy)),
                ("mip6.ba.seqnr", pba.sequence.to_string()),
                ("mip6.ba.lifetime", (pba.lifetime_secs / 4).to_string()),
            ]);
            &pba.options
        }
        MhRepr::Heartbeat(hb) => {
            values.extend([
                ("mip6.mhtype", "13".to_string()),
                ("mip6.hb.u_flag", flag(hb.unsolicited)),
                ("mip6.hb.r_flag", flag(hb.response)),
                ("mip6.hb.seqnr", hb.sequence.to_string()),
            ]);
            &hb.options
        }
        MhRepr::BindingError(be) => {
            values.extend([
                ("mip6.mhtype", "7".to_string()),
                ("mip6.be.status", be.status.to_string()),
                ("mip6.be.haddr", be.home_address.to_string()),
            ]);
            return values;
        }
    };
    let join = |items: Vec<String>| items.join(",");
    let some = |value: Option<String>| value.into_iter();
    let request = options.ipv4_home_address_request;
    let reply = options.ipv4_home_address_reply;
    let hnps = |f: fn(&ipnet::Ipv6Net) -> String| {
        (!options.hnps.is_empty()).then(|| join(options.hnps.iter().map(f).collect()))
    };
    let pairs = |a: Option<String>, b: Option<String>| {
        let both: Vec<String> = a.into_iter().chain(b).collect();
        (!both.is_empty()).then(|| join(both))
    };
    let optional = [
        (
            "mip6.mnid.subtype",
            options.mn_id.as_ref().map(|_| "1".to_string()),
        ),
        ("mip6.mnid.identifier", options.mn_id.clone()),
        ("mip6.nemo.mnp.pfl", hnps(|p| p.prefix_len().to_string())),
        ("mip6.nemo.mnp.mnp", hnps(|p| p.addr().to_string())),
        (
            "mip6.hi",
            options.handoff_indicator.map(|hi| u8::from(hi).to_string()),
        ),
        (
            "mip6.att",
            options.access_technology.map(|t| u8::from(t).to_string()),
        ),
        (
            "mip6.mnlli.lli",
            options
                .mn_link_layer_id
                .as_ref()
                .map(|id| id.iter().map(|b| format!("{b:02x}")).collect()),
        ),
        (
            "mip6.lila_lla",
            options.link_local_address.map(|a| a.to_string()),
        ),
        ("mip6.timestamp_tmp", options.timestamp.map(wireshark_time)),
        ("mip6.rc", options.restart_counter.map(|c| c.to_string())),
        // The request and the reply share these two field names.
        (
            "mip6.ipv4ha.preflen",
            pairs(
                request.map(|r| r.prefix_len.to_string()),
                reply.map(|r| r.prefix_len.to_string()),
            ),
        ),
        (
            "mip6.ipv4ha.ha",
            pairs(
                request.map(|r| r.address.to_string()),
                reply.map(|r| r.address.to_string()),
            ),
        ),
        ("mip6.ipv4aa.sts", reply.map(|r| r.status.to_string())),
        (
            "mip6.ipv4dra.dra",
            options.ipv4_default_router.map(|a| a.to_string()),
        ),
        (
            "mip6.auth.subtype",
            options
                .authentication
                .as_ref()
                .map(|a| a.subtype.to_string()),
        ),
        (
            "mip6.auth.mobility_spi",
            options.authentication.as_ref().map(|a| a.spi.to_string()),
        ),
        // Wireshark (4.0's packet-mip6.c, dissect_mip6_opt_auth) shows the
        // Authentication Data two octets short: it takes the option length
        // without Type and Length and subtracts an offset that counts them.
        // The option's Length octet and the data are right (see
        // `router::auth::message`'s tests, which recompute the HMAC).
        (
            "mip6.auth.auth_data",
            options.authentication.as_ref().map(|a| {
                let shown = a.auth_data.len().saturating_sub(2);
                a.auth_data[..shown]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            }),
        ),
    ];
    for (field, value) in optional {
        values.extend(some(value).map(|v| (field, v)));
    }
    values
}

#[test]
fn tshark_decodes_every_field() {
    let (path, packets) = capture("fields");
    let mut args = vec![
        "-r",
        path.to_str().unwrap(),
        "-T",
        "fields",
        "-E",
        "separator=/t",
    ];
    args.extend(TSHARK_FIELDS.iter().flat_map(|field| ["-e", field]));
    let output = tshark(&args);
    let rows: Vec<&str> = output.lines().collect();
    assert_eq!(rows.len(), packets.len(), "tshark output:\n{output}");

    let mut covered = HashMap::new();
    for ((row, packet), (_, _, repr)) in rows.iter().zip(&packets).zip(messages()) {
        let decoded: Vec<&str> = row.split('\t').collect();
        assert_eq!(decoded.len(), TSHARK_FIELDS.len(), "row: {row}");
        let expected = expected(&repr, packet);
        for key in expected.keys() {
            assert!(
                TSHARK_FIELDS.contains(key),
                "{key} missing from TSHARK_FIELDS"
            );
        }
        for (field, decoded) in TSHARK_FIELDS.iter().zip(decoded) {
            let want = expected.get(field).map(String::as_str).unwrap_or_default();
            assert_eq!(decoded, want, "{field} of {repr:?}");
            *covered.entry(*field).or_insert(0) += usize::from(!want.is_empty());
        }
    }
    for field in TSHARK_FIELDS {
        assert!(
            covered[field] > 0,
            "{field} was never checked against a value"
        );
    }
}

#[test]
fn tshark_reports_no_problems() {
    let (path, _) = capture("expert");
    let problems = router::tshark::problems(&path, "!(mip6.ba.status == 160)").unwrap();
    assert_eq!(problems, None, "tshark objects");
    // RFC 5213 5.3.6 has the refusal of a PBU without MN-ID carry an empty
    // one; Wireshark's dissector wants an identifier in every MN-ID option,
    // and that warning is the only one it has about the message.
    let refusal = router::tshark::problems(&path, "mip6.ba.status == 160")
        .unwrap()
        .unwrap_or_default();
    assert!(refusal.contains("Warns (1)"), "{refusal}");
    assert!(refusal.contains("Mobile Node Identifier"), "{refusal}");
    std::fs::remove_file(path).unwrap();
}

/// scapy reads the capture and recomputes each MH checksum over the IPv6
/// pseudo-header with the checksum field zeroed.
const SCAPY_CHECKSUMS: &str = r#"
import sys
from scapy.all import IPv6, in6_chksum, raw, rdpcap
for frame in rdpcap(sys.argv[1]):
    packet = raw(frame)[14:]
    ipv6 = IPv6(packet)
    mh = bytearray(packet[40:])
    mh[4:6] = b"\0\0"
    print(in6_chksum(135, ipv6, bytes(mh)))
"#;

#[test]
fn scapy_agrees_on_checksum() {
    let python = "/usr/bin/python3";
    run(python, &["-c", "import scapy.all"], "python3-scapy");
    let (path, packets) = capture("checksum");
    let output = run(
        python,
        &["-c", SCAPY_CHECKSUMS, path.to_str().unwrap()],
        "python3-scapy",
    );
    let sums: Vec<u16> = output.lines().map(|line| line.parse().unwrap()).collect();
    let ours: Vec<u16> = packets
        .iter()
        .map(|packet| u16::from_be_bytes([packet[44], packet[45]]))
        .collect();
    assert_eq!(sums, ours);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn wireshark_time_format() {
    assert_eq!(
        wireshark_time((1_704_067_200 << 16) | 0x8000),
        "Jan  1, 2024 00:00:00.500000000 UTC"
    );
    assert_eq!(
        wireshark_time(951_782_400 << 16),
        "Feb 29, 2000 00:00:00.000000000 UTC"
    );
}
