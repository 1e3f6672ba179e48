//! The MAG core fed what its access link and the LMA could send: sightings
//! of policy nodes (RS, unsolicited NA, DHCP, gratuitous ARP, any frame),
//! PBAs with any status and sequence number and any IPv4 grant (authenticated
//! with the MAG's key), arbitrary frames, timer ticks. After every step: a
//! registered node's prefixes and IPv4 home address route to its access port
//! and its traffic into the one tunnel to the LMA, nothing routes for a node
//! that is not registered, and the BUL never holds more nodes than the policy.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mag::{Mag, UPLINK};
use netns_tests::sim_domain::{
    DomainSpec, FIRST_SPI, lma_wan, mag_key, proxy_coa, vm_hnp, vm_ipv4, vm_mac, vm_mn_id,
};
use router::auth::sealed_packet;
use router::core::Core;
use router::fib::NextHop;
use router::mac::Mac;
use router::nd::frames::{
    ALL_NODES, ALL_ROUTERS, Addressing, NaFlags, build_na, build_rs, ethernet_ipv6, multicast_mac,
};
use router::policy::Policy;
use router::routes::RouteTable;
use router::wire::{Ipv4HomeAddressReply, MhRepr, MobilityOptions, PbaRepr, PbaStatus};
use router::{Duration, Instant};

#[derive(Debug, Arbitrary)]
enum Op {
    Rs {
        node: u8,
    },
    Announce {
        node: u8,
    },
    Dhcp {
        node: u8,
        renew: bool,
    },
    GratuitousArp {
        node: u8,
    },
    Pba {
        node: u8,
        status: u8,
        sequence: u16,
        lifetime: u16,
        prefix: bool,
        /// An IPv4 Home Address Reply: its status, address and length.
        ipv4: Option<(u8, u32, u8)>,
    },
    Frame {
        port: u8,
        bytes: Vec<u8>,
    },
    Tick {
        ms: u16,
    },
}

const NODES: usize = 3;

fuzz_target!(|ops: Vec<Op>| {
    let spec = DomainSpec::new(1, 2, NODES);
    let policy = Policy::parse(&spec.mag_policy, "policy.toml").expect("the sim's policy parses");
    let cfg = spec.mag_config(0);
    let uplink_mac = cfg.uplink.mac;
    let mut mag = Mag::new(cfg, policy, Instant::from_millis(0));
    let mut now = Instant::from_millis(1_000);
    let mut out = Vec::new();
    for op in ops.into_iter().take(200) {
        match op {
            Op::Rs { node } => {
                let v = usize::from(node) % NODES;
                let mac = vm_mac(v);
                let ll = router::engine::eui64_link_local(mac);
                let rs = build_rs(&Addressing {
                    src_mac: mac,
                    dst_mac: multicast_mac(ALL_ROUTERS),
                    src_ip: ll,
                    dst_ip: ALL_ROUTERS,
                });
                mag.on_frame(now, 1, &rs, &mut out);
            }
            Op::Announce { node } => {
                let v = usize::from(node) % NODES;
                let mac = vm_mac(v);
                let target = std::net::Ipv6Addr::from(u128::from(vm_hnp(v).network()) | 5);
                let flags = NaFlags {
                    router: false,
                    solicited: false,
                    override_: true,
                };
                let na = build_na(
                    &Addressing {
                        src_mac: mac,
                        dst_mac: multicast_mac(ALL_NODES),
                        src_ip: target,
                        dst_ip: ALL_NODES,
                    },
                    target,
                    flags,
                    Some(mac),
                );
                mag.on_frame(now, 1, &na, &mut out);
            }
            Op::Dhcp { node, renew } => {
                let mac = vm_mac(usize::from(node) % NODES);
                let mut request = router::dhcp::ClientRequest::discover(mac, 7);
                if renew {
                    request.kind = router::dhcp::MessageType::Request;
                    request.ciaddr = vm_ipv4(usize::from(node) % NODES).addr();
                }
                mag.on_frame(now, 1, &request.frame(), &mut out);
            }
            Op::GratuitousArp { node } => {
                let v = usize::from(node) % NODES;
                let frame = router::arp::frames::gratuitous(vm_mac(v), vm_ipv4(v).addr());
                mag.on_frame(now, 1, &frame, &mut out);
            }
            Op::Pba {
                node,
                status,
                sequence,
                lifetime,
                prefix,
                ipv4,
            } => {
                let v = usize::from(node) % NODES;
                let pba = PbaRepr {
                    status: PbaStatus::from(status),
                    key_mgmt: false,
                    mobile_router: false,
                    proxy: true,
                    sequence,
                    lifetime_secs: u32::from(lifetime),
                    options: MobilityOptions {
                        mn_id: Some(vm_mn_id(v)),
                        hnps: if prefix { vec![vm_hnp(v)] } else { Vec::new() },
                        mn_link_layer_id: Some(vm_mac(v).as_bytes().to_vec()),
                        ipv4_home_address_reply: ipv4.map(|(status, a, len)| {
                            Ipv4HomeAddressReply {
                                status,
                                prefix_len: len % 33,
                                address: a.into(),
                            }
                        }),
                        ..MobilityOptions::default()
                    },
                };
                let packet = sealed_packet(
                    &mag_key(0, FIRST_SPI),
                    lma_wan(0).addr(),
                    proxy_coa(0).addr(),
                    64,
                    MhRepr::Pba(pba),
                );
                let frame = ethernet_ipv6(Mac([0x02, 0x4c, 0, 0, 0, 1]), uplink_mac, &packet);
                mag.on_frame(now, UPLINK, &frame, &mut out);
            }
            Op::Frame { port, bytes } => mag.on_frame(now, usize::from(port) % 2, &bytes, &mut out),
            Op::Tick { ms } => {
                now += Duration::from_millis(u64::from(ms) * 10);
                if mag.poll_at().is_some_and(|at| at <= now) {
                    mag.on_timer(now, &mut out);
                }
            }
        }
        out.clear();
        consistent(&mag);
    }
});

fn consistent(mag: &Mag) {
    let routes = mag.engine().routes();
    assert!(mag.bindings().len() <= NODES);
    assert!(routes.tunnels().len() <= 1, "one tunnel, to the LMA");
    for v in 0..NODES {
        let hnp = vm_hnp(v);
        match mag.bindings().get(&vm_mac(v)) {
            Some(e) if e.is_registered() => {
                if let Some(g) = e.ipv4 {
                    let host = ipnet::Ipv4Net::from(g.address.addr());
                    assert_eq!(
                        routes.get(RouteTable::Destination, host),
                        Some(NextHop::Connected { port: e.port })
                    );
                    assert_eq!(
                        routes.tunnel_of(RouteTable::Source, host).map(|t| t.remote),
                        Some(lma_wan(0).addr())
                    );
                    assert!(mag.engine().is_local4(&g.router), "its default router");
                }
                for p in &e.hnps {
                    assert_eq!(
                        routes.get(RouteTable::Destination, *p),
                        Some(NextHop::Connected { port: e.port })
                    );
                    assert_eq!(
                        routes.tunnel_of(RouteTable::Source, *p).map(|t| t.remote),
                        Some(lma_wan(0).addr())
                    );
                }
            }
            _ => {
                assert_eq!(
                    routes.get(RouteTable::Source, hnp),
                    None,
                    "routes for an unregistered node"
                );
                let host = ipnet::Ipv4Net::from(vm_ipv4(v).addr());
                assert_eq!(routes.get(RouteTable::Source, host), None);
            }
        }
    }
}
