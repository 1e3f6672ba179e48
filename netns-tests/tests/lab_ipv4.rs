//! IPv4 in the lab (RFC 5844), with real Linux stacks and a real DHCP client
//! from Debian (busybox's `udhcpc`) in the VM's namespace: a dual-stack VM
//! keeps both addresses, both default routers and a TCP session over each
//! family across MAG1 -> MAG2 -> MAG1, renews its lease through the new MAG;
//! an IPv4-only VM (IPv6 disabled in its namespace) migrates with its address
//! and TCP session; a node the policy does not name gets no lease. Wireshark
//! decodes options 36/37/38 and the DHCP exchange without complaint. Bulk
//! IPv4 TCP crosses the tunnel intact both ways, the client's superframes cut
//! where they enter it.
//!
//! Bounds on time are generous sanity bounds (pause + one WAN round trip + 50 ms).

use std::time::Duration;

use netns_tests::binaries;
use netns_tests::domain::probes::ProbeFamily;
use netns_tests::domain::trace::{check_frames, check_mobility_headers};
use netns_tests::domain::{Binaries, Domain, MigrateOptions, Topology, Tuning};
use netns_tests::probe::report::{summary, tcp_summary};
use router::ctl::{Request, Table};

const PAUSE: Duration = Duration::from_millis(300);

fn up(topology: &str) -> Domain {
    binaries::build(&binaries::LAB).unwrap_or_else(|e| panic!("{e}"));
    let topology = Topology::parse(topology).unwrap();
    let tuning = Tuning {
        capture: topology.mobility_segments(),
        ..Tuning::default()
    };
    let bins = Binaries::siblings_of_target().unwrap();
    Domain::up(topology, bins, &tuning).unwrap_or_else(|e| panic!("{e}"))
}

fn options() -> MigrateOptions {
    MigrateOptions {
        precopy_bytes: 4 << 20,
        pause: PAUSE,
        ..MigrateOptions::default()
    }
}

fn cell(table: &Table, key: &str, column: &str) -> Option<String> {
    let col = table.columns.iter().position(|c| c == column)?;
    table
        .rows
        .iter()
        .find(|r| r.first().is_some_and(|k| k == key))?
        .get(col)
        .cloned()
}

fn wait_registered(d: &Domain, mag: &str, mn_id: &str) -> bool {
    netns_tests::wait::until(Duration::from_secs(10), || {
        let bul = d.router(mag, &Request::Bindings {})?;
        Ok((cell(&bul[0], mn_id, "state").as_deref() == Some("registered")).then_some(()))
    })
    .unwrap()
    .is_some()
}

fn default_route6(d: &Domain, vm: &str) -> String {
    let route = d
        .exec(vm, &["ip", "-6", "route", "show", "default"])
        .unwrap();
    route
        .split(" expires")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// How many frames of `segment`'s capture match `filter`, all of them clean.
fn clean(d: &Domain, segment: &str, filter: &str) -> usize {
    check_frames(&d.pcap(segment), filter).unwrap_or_else(|e| panic!("{segment}: {e}"))
}

fn counter(d: &Domain, router: &str, name: &str) -> u64 {
    let t = d.router(router, &Request::Counters {}).unwrap();
    cell(&t[0], name, "value")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn bulk_ipv4_tcp_crosses_the_tunnel_intact_both_ways() {
    let mut d = up(
        "[[mag]]\nname = \"mag1\"\n[[vm]]\nname = \"vm1\"\nmag = \"mag1\"\nfamily = \"dual\"\n[[correspondent]]\nname = \"client\"\n",
    );
    let vm = d.vm_ipv4("vm1").unwrap().expect("a lease").addr();
    let client = d.ipv4_of("client").unwrap();
    let bytes = 16 << 20;
    netns_tests::bulk::transfer(&mut d.lab, "client", "vm1", vm, bytes)
        .unwrap_or_else(|e| panic!("client -> vm1: {e}\n{}", d.diagnosis()));
    netns_tests::bulk::transfer(&mut d.lab, "vm1", "client", client, bytes)
        .unwrap_or_else(|e| panic!("vm1 -> client: {e}\n{}", d.diagnosis()));
    for host in ["client", "vm1"] {
        let errors = netns_tests::superframes::checksum_errors(&d.lab, host).unwrap();
        assert_eq!(errors, 0, "{host}'s kernel counted checksum errors");
    }
    let cut = counter(&d, "lma", "tunnel.superframes_cut");
    println!(
        "LMA: {cut} IPv4 superframes cut into the tunnel, {} packets encapsulated",
        counter(&d, "lma", "tunnel.encapsulated")
    );
    assert!(cut > 0, "the client's TCP superframes reach the LMA whole");
}

#[test]
fn a_dual_stack_vm_keeps_both_families_across_mag1_mag2_mag1() {
    let rtt_ms = 20.0;
    let mut d = up(&format!(
        "wan_rtt_ms = {rtt_ms}\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n[[vm]]\nname = \"vm1\"\nmag = \"mag1\"\nfamily = \"dual\"\n[[correspondent]]\nname = \"client\"\n"
    ));
    let v6 = d.vm_addresses("vm1").unwrap();
    let v4 = d.vm_ipv4("vm1").unwrap();
    assert_eq!(
        v4.map(|a| a.to_string()).as_deref(),
        Some("10.1.1.5/24"),
        "the DHCP lease"
    );
    let (route6, route4) = (default_route6(&d, "vm1"), d.vm_ipv4_route("vm1").unwrap());
    assert!(route6.contains("via fe80::1 dev eth0"), "{route6}");
    assert!(
        route4.starts_with("default via 10.1.1.1 dev eth0"),
        "{route4}"
    );
    let mtu = d.exec("vm1", &["cat", "/sys/class/net/eth0/mtu"]).unwrap();
    assert_eq!(mtu.trim(), "1460", "the DHCP MTU option: the tunnel's MTU");

    let probes6 = d.start_probes("vm1", "client").unwrap();
    let probes4 = d
        .start_probes_over("vm1", "client", ProbeFamily::Ipv4)
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    d.migrate("vm1", "mag2", &options()).unwrap();
    assert!(
        wait_registered(&d, "mag2", "vm1@tapmip"),
        "{}",
        d.diagnosis()
    );
    // The lease renewed through the new MAG: the same address, acknowledged
    // by MAG2 under the server identifier every MAG shares.
    let renewed = d.renew_dhcp_lease("vm1").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        renewed.contains("ip=10.1.1.5 ") && renewed.contains("serverid=10.1.1.1"),
        "{renewed}"
    );
    assert!(
        counter(&d, "mag2", "dhcp.sent.ack") >= 1,
        "MAG2 acknowledged it"
    );
    std::thread::sleep(Duration::from_secs(2));
    d.migrate("vm1", "mag1", &options()).unwrap();
    assert!(
        wait_registered(&d, "mag1", "vm1@tapmip"),
        "{}",
        d.diagnosis()
    );
    std::thread::sleep(Duration::from_secs(2));
    let (udp6, tcp6) = d.stop_probes(probes6).unwrap();
    let (udp4, tcp4) = d.stop_probes(probes4).unwrap();
    println!(
        "IPv6: {}\n{}\nIPv4: {}\n{}",
        summary(&udp6),
        tcp_summary(&tcp6),
        summary(&udp4),
        tcp_summary(&tcp4)
    );

    assert_eq!(d.vm_addresses("vm1").unwrap(), v6, "same IPv6 addresses");
    assert_eq!(d.vm_ipv4("vm1").unwrap(), v4, "same IPv4 address");
    assert_eq!(
        default_route6(&d, "vm1"),
        route6,
        "same IPv6 default router"
    );
    assert_eq!(
        d.vm_ipv4_route("vm1").unwrap(),
        route4,
        "same IPv4 default router"
    );
    let neigh = d
        .exec("vm1", &["ip", "-4", "neigh", "show", "10.1.1.1"])
        .unwrap();
    assert!(
        neigh.contains("02:7a:70:00:00:01"),
        "the shared MAG MAC: {neigh}"
    );
    assert!(tcp6.survived, "IPv6 TCP: {}", tcp_summary(&tcp6));
    assert!(tcp4.survived, "IPv4 TCP: {}", tcp_summary(&tcp4));
    let bound = PAUSE.as_secs_f64() * 1e3 + rtt_ms + 50.0;
    for (family, udp) in [("IPv6", &udp6), ("IPv4", &udp4)] {
        assert_eq!(udp.unanswered_tail, 0, "{family}: {}", summary(udp));
        assert!(udp.outages.len() <= 2, "{family}: {:?}", udp.outages);
        for o in &udp.outages {
            assert!(
                o.duration_ms <= bound,
                "{family}: {} ms > {bound} ms",
                o.duration_ms
            );
        }
    }
    let lma = d.router("lma", &Request::Bindings {}).unwrap();
    assert_eq!(
        cell(&lma[0], "vm1@tapmip", "ipv4").as_deref(),
        Some("10.1.1.5/24 via 10.1.1.1")
    );
    // Wireshark reads options 36, 37 and 38 and the whole DHCP exchange cleanly.
    for wan in ["wan1", "wan2"] {
        assert!(check_mobility_headers(&d.pcap(wan)).unwrap() >= 2);
        assert!(
            clean(&d, wan, "mip6.ipv4ha.ha == 0.0.0.0") >= 1,
            "{wan}: option 36"
        );
        assert!(
            clean(
                &d,
                wan,
                "mip6.ipv4aa.sts == 0 && mip6.ipv4ha.ha == 10.1.1.5"
            ) >= 1
        );
        assert!(
            clean(&d, wan, "mip6.ipv4dra.dra == 10.1.1.1") >= 1,
            "{wan}: option 38"
        );
    }
    assert!(
        clean(&d, "access1", "dhcp.option.dhcp == 1") >= 1,
        "DISCOVER"
    );
    assert!(clean(&d, "access1", "dhcp.option.dhcp == 2") >= 1, "OFFER");
    assert!(clean(&d, "access1", "dhcp.option.dhcp == 5") >= 1, "ACK");
    assert!(
        clean(&d, "access2", "dhcp.option.dhcp == 3") >= 1,
        "the RENEW at MAG2"
    );
    assert!(
        clean(&d, "access2", "dhcp.option.dhcp == 5") >= 1,
        "its ACK"
    );
    // TCP's sequence analysis sees the gaps of the move; the rest is clean.
    clean(&d, "access1", "dhcp || arp || icmp");
    clean(&d, "access2", "dhcp || arp || icmp");
    let vm1 = d.ipv4_of("vm1").unwrap().to_string();
    d.exec("client", &["ping", "-4", "-n", "-c", "2", "-W", "2", &vm1])
        .unwrap();
}

#[test]
fn an_ipv4_only_vm_migrates_and_a_stranger_gets_no_lease() {
    let mut d = up(
        "wan_rtt_ms = 10.0\n[[mag]]\nname = \"mag1\"\n[[mag]]\nname = \"mag2\"\n[[vm]]\nname = \"vm1\"\nmag = \"mag1\"\nfamily = \"ipv4\"\n[[vm]]\nname = \"vm2\"\nmag = \"mag1\"\nfamily = \"dual\"\npolicy = false\n[[correspondent]]\nname = \"client\"\n",
    );
    assert!(
        d.vm_addresses("vm1").unwrap().is_empty(),
        "IPv6 is off in vm1"
    );
    let v4 = d.vm_ipv4("vm1").unwrap();
    assert_eq!(v4.map(|a| a.to_string()).as_deref(), Some("10.1.1.5/24"));
    let route4 = d.vm_ipv4_route("vm1").unwrap();
    let lma = d.router("lma", &Request::Bindings {}).unwrap();
    assert_eq!(
        cell(&lma[0], "vm1@tapmip", "hnps").as_deref(),
        Some(""),
        "no HNP"
    );

    let probes = d
        .start_probes_over("vm1", "client", ProbeFamily::Ipv4)
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    // Reactive: the guest's gratuitous ARP is what MAG2 finds it by (the
    // dual-stack test above and lab_proactive migrate with hints).
    let reactive = MigrateOptions {
        hints: false,
        ..options()
    };
    let times = d.migrate("vm1", "mag2", &reactive).unwrap();
    assert!(times.handoff_ms.is_some(), "{}", d.diagnosis());
    assert!(
        wait_registered(&d, "mag2", "vm1@tapmip"),
        "{}",
        d.diagnosis()
    );
    std::thread::sleep(Duration::from_secs(2));
    let (udp, tcp) = d.stop_probes(probes).unwrap();
    println!("{times:?}\n{}\n{}", summary(&udp), tcp_summary(&tcp));
    assert!(tcp.survived, "{}", tcp_summary(&tcp));
    assert_eq!(udp.unanswered_tail, 0, "{}", summary(&udp));
    assert_eq!(d.vm_ipv4("vm1").unwrap(), v4);
    assert_eq!(d.vm_ipv4_route("vm1").unwrap(), route4);
    let lma = d.router("lma", &Request::Bindings {}).unwrap();
    assert_eq!(cell(&lma[0], "vm1@tapmip", "mag").as_deref(), Some("mag2"));
    // The gratuitous ARP of the migrated guest was the handoff's trigger.
    assert_eq!(
        d.bul_cell("mag2", "vm1@tapmip", "trigger").as_deref(),
        Some("gratuitous ARP")
    );
    assert!(clean(&d, "access2", "arp.isgratuitous == 1") >= 1);
    let ladder = netns_tests::domain::trace::render(&d.trace("vm1").unwrap());
    assert!(ladder.contains("Gratuitous ARP 10.1.1.5"), "{ladder}");

    // vm2 is on mag1's link but not in the policy: its client asks three
    // times and gives up (-n), and nothing answers it.
    let out = d
        .lab
        .try_exec(
            "vm2",
            &[
                "busybox",
                "udhcpc",
                "-i",
                "eth0",
                "-n",
                "-q",
                "-t",
                "3",
                "-T",
                "1",
                "-s",
                "/bin/true",
            ],
        )
        .unwrap();
    assert!(!out.status.success(), "udhcpc got a lease: {out:?}");
    assert_eq!(d.vm_ipv4("vm2").unwrap(), None);
    assert!(counter(&d, "mag1", "dhcp.ignored.not_in_policy") >= 3);
    assert_eq!(counter(&d, "mag1", "dhcp.sent.offer"), 1, "vm1's only");
}
