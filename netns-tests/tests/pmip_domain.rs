//! The LMA and a MAG as real processes over TAP ports, joined by tapbridge, with a
//! real Linux host as the mobile node: it sends an RS, the MAG registers it, the
//! host autoconfigures from its HNP, a correspondent behind the LMA pings it
//! through the tunnel, and Wireshark's dissector sees the PBU and PBA on the wire.

use std::process::Command;

use netns_tests::binaries;
use netns_tests::domain::{Binaries, Domain, Topology, Tuning};
use router::ctl::Request;
use tapbridge::ctl::Request as BridgeRequest;

const TOPOLOGY: &str = r#"
wan_rtt_ms = 0.0
[[mag]]
name = "mag1"
[[vm]]
name = "vm1"
mag = "mag1"
[[correspondent]]
name = "client"
"#;

fn tshark_fields(pcap: &str, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.args([
        "-r",
        pcap,
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark runs (apt-get install tshark)");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn a_kernel_host_registers_by_router_solicitation_and_is_reached_through_the_tunnel() {
    binaries::build(&binaries::LAB).unwrap_or_else(|e| panic!("{e}"));
    let tuning = Tuning {
        // The RFC 5213 default trigger only, so the registration must come from the RS.
        mag_args: vec!["--detect".into(), "rs".into()],
        capture: vec!["wan1".into()],
        ..Tuning::default()
    };
    let topology = Topology::parse(TOPOLOGY).unwrap();
    let bins = Binaries::siblings_of_target().unwrap();
    let d = Domain::up(topology, bins, &tuning).unwrap_or_else(|e| panic!("{e}"));
    let vm_addr = d.address("vm1").unwrap();
    assert!(
        "2001:db8:1:1::/64"
            .parse::<ipnet::Ipv6Net>()
            .unwrap()
            .contains(&vm_addr)
    );
    let ping = d.exec(
        "client",
        &[
            "ping",
            "-6",
            "-n",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "2",
            &vm_addr.to_string(),
        ],
    );
    assert!(
        ping.is_ok(),
        "client pings the VM through the LMA and the tunnel: {ping:?}\n{}",
        d.diagnosis()
    );

    let bce = d.router("lma", &Request::Bindings {}).unwrap();
    let rendered = bce[0].render();
    assert!(
        rendered.contains("vm1@tapmip")
            && rendered.contains("2001:db8:1:1::/64")
            && rendered.contains("mag1"),
        "{rendered}"
    );
    let bul = d.router("mag1", &Request::Bindings {}).unwrap()[0].render();
    assert!(
        bul.contains("router solicitation"),
        "the registration came from the RS: {bul}"
    );
    let tunnels = d.router("lma", &Request::Tunnels {}).unwrap()[0].clone();
    assert_eq!(tunnels.rows.len(), 1, "one tunnel to mag1");

    d.bridge(&BridgeRequest::Capture {
        segment: "wan1".into(),
        file: None,
    })
    .unwrap();
    let pcap = d.pcap("wan1").display().to_string();
    let pbus = tshark_fields(
        &pcap,
        "mip6.mhtype == 5",
        &[
            "mip6.bu.p_flag",
            "mip6.bu.a_flag",
            "mip6.bu.h_flag",
            "mip6.mnid.identifier",
            "mip6.hi",
        ],
    );
    assert!(!pbus.is_empty(), "a PBU on wan1");
    for p in &pbus {
        // tshark prints a set flag as 1; an RS means a new attachment, HI 1.
        assert_eq!(
            p,
            &["1", "1", "1", "vm1@tapmip", "1"],
            "PBU flags P, A, H, the MN-ID and HI: {p:?}"
        );
    }
    let pbas = tshark_fields(
        &pcap,
        "mip6.mhtype == 6",
        &["mip6.ba.status", "mip6.nemo.mnp.mnp", "mip6.nemo.mnp.pfl"],
    );
    assert!(!pbas.is_empty(), "a PBA on wan1");
    for p in &pbas {
        assert_eq!(
            p,
            &["0", "2001:db8:1:1::", "64"],
            "PBA accepted with the policy's HNP: {p:?}"
        );
    }
    let bad = Command::new("tshark")
        .args([
            "-r",
            &pcap,
            "-Y",
            "mip6 && (_ws.malformed || _ws.expert.severity >= warning)",
        ])
        .output()
        .unwrap();
    assert!(
        bad.stdout.is_empty(),
        "no malformed PBU/PBA: {}",
        String::from_utf8_lossy(&bad.stdout)
    );
}
