//! The LMA core fed a sequence of PBUs (well-formed but with any values, with
//! or without an IPv4 Home Address Request, authenticated with each MAG's key,
//! the stranger's with one the LMA does not know), arbitrary frames and timer
//! ticks, from two MAGs and a stranger. After every step its state must be
//! consistent: an active binding's prefixes and IPv4 home address route into
//! the tunnel to its MAG, nothing routes into a tunnel without one, and the
//! cache holds no more entries than the policy has nodes.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use lma::Lma;
use lma::binding_cache::BindingState;
use mag::pbu::{PBU_HOP_LIMIT, PbuContent, build_pbu};
use netns_tests::sim_domain::{
    DomainSpec, EPOCH, FIRST_SPI, lma_wan, mag_key, proxy_coa, vm_hnp, vm_mac, vm_mn_id,
};
use router::auth::sealed_packet;
use router::core::Core;
use router::fib::NextHop;
use router::mac::Mac;
use router::nd::frames::ethernet_ipv6;
use router::routes::RouteTable;
use router::timestamp::timestamp;
use router::wire::{AccessTechnologyType, HandoffIndicator, MhRepr};
use router::{Duration, Instant};

#[derive(Debug, Arbitrary)]
enum Op {
    Pbu {
        mag: u8,
        node: u8,
        hi: u8,
        lifetime: u16,
        sequence: u16,
        /// Timestamp offset from the LMA's clock, in ms.
        skew_ms: i16,
        ack: bool,
        name_prefix: bool,
        /// Option 36: any address (0), the node's own, or another.
        ipv4: Option<u32>,
    },
    Frame {
        port: u8,
        bytes: Vec<u8>,
    },
    Tick {
        ms: u16,
    },
}

const MAGS: usize = 2;
const NODES: usize = 3;

fuzz_target!(|ops: Vec<Op>| {
    let spec = DomainSpec::new(1, MAGS, NODES);
    let mut lma = Lma::new(spec.lma_config(), Instant::from_millis(0));
    let mut now = Instant::from_millis(1_000);
    let mut out = Vec::new();
    for op in ops.into_iter().take(200) {
        match op {
            Op::Pbu {
                mag,
                node,
                hi,
                lifetime,
                sequence,
                skew_ms,
                ack,
                name_prefix,
                ipv4,
            } => {
                // MAG index 2 is not in the policy: a stranger on wan1.
                let m = usize::from(mag) % (MAGS + 1);
                let v = usize::from(node) % NODES;
                let at = now + Duration::from_millis(0);
                let ts =
                    timestamp(EPOCH, at).wrapping_add_signed(i64::from(skew_ms) * 65536 / 1000);
                let prefix = [vm_hnp(v)];
                let any = [ipnet::Ipv6Net::default()];
                let mut pbu = build_pbu(
                    sequence,
                    &PbuContent {
                        mn_id: &vm_mn_id(v),
                        hnps: if name_prefix { &prefix } else { &any },
                        handoff: HandoffIndicator::from(hi % 7),
                        access_technology: AccessTechnologyType::Ethernet,
                        mac: vm_mac(v),
                        mag_link_local: None,
                        timestamp: Some(ts),
                        lifetime: u32::from(lifetime),
                        ipv4: ipv4.map(|a| router::wire::Ipv4HomeAddressRequest {
                            prefix_len: 0,
                            address: match a % 3 {
                                0 => std::net::Ipv4Addr::UNSPECIFIED,
                                1 => netns_tests::sim_domain::vm_ipv4(v).addr(),
                                _ => a.into(),
                            },
                        }),
                    },
                );
                pbu.ack = ack;
                let (port, src) = match m {
                    2 => (
                        1,
                        std::net::Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 9),
                    ),
                    m => (m + 1, proxy_coa(m).addr()),
                };
                let dst = lma_wan(port - 1).addr();
                let key = mag_key(m, FIRST_SPI);
                let packet = sealed_packet(&key, src, dst, PBU_HOP_LIMIT, MhRepr::Pbu(pbu));
                let lma_mac = lma.engine().port_mac(port).unwrap_or(Mac::BROADCAST);
                let frame =
                    ethernet_ipv6(Mac([0x02, 0x7a, 0x6d, 0, 0, m as u8 + 1]), lma_mac, &packet);
                lma.on_frame(now, port, &frame, &mut out);
            }
            Op::Frame { port, bytes } => {
                lma.on_frame(now, usize::from(port) % (MAGS + 2), &bytes, &mut out);
            }
            Op::Tick { ms } => {
                now += Duration::from_millis(u64::from(ms) * 10);
                if lma.poll_at().is_some_and(|at| at <= now) {
                    lma.on_timer(now, &mut out);
                }
            }
        }
        out.clear();
        consistent(&lma);
    }
});

fn consistent(lma: &Lma) {
    let routes = lma.engine().routes();
    assert!(lma.bindings().len() <= NODES, "more bindings than nodes");
    for (_, b) in lma.bindings().iter() {
        let hnps = b.hnps.iter().map(|h| ipnet::IpNet::V6(*h));
        let host = b
            .ipv4
            .map(|h| ipnet::IpNet::V4(ipnet::Ipv4Net::from(h.address.addr())));
        for home in hnps.chain(host) {
            let tunnel = routes
                .tunnel_of(RouteTable::Destination, home)
                .map(|t| t.remote);
            match b.state {
                BindingState::Active => assert_eq!(
                    tunnel,
                    Some(b.proxy_coa),
                    "{} not routed to its MAG",
                    b.mn_id
                ),
                BindingState::DeregisteredPendingDelete => {
                    assert_eq!(tunnel, None, "{} de-registered but routed", b.mn_id)
                }
            }
        }
    }
    for (prefix, hop) in routes.iter(RouteTable::Destination) {
        if let NextHop::Tunnel(_) = hop {
            let owned = lma.bindings().iter().any(|(_, b)| {
                let host = b
                    .ipv4
                    .map(|h| ipnet::IpNet::V4(ipnet::Ipv4Net::from(h.address.addr())));
                b.state == BindingState::Active
                    && (b.hnps.iter().any(|h| ipnet::IpNet::V6(*h) == prefix)
                        || host == Some(prefix))
            });
            assert!(
                owned,
                "{prefix} routes into a tunnel without an active binding"
            );
        }
    }
    for (id, t) in routes.tunnels().iter() {
        let users = routes
            .iter(RouteTable::Destination)
            .chain(routes.iter(RouteTable::Source))
            .filter(|(_, h)| *h == NextHop::Tunnel(id))
            .count();
        // The tunnel to a MAG a node just left lingers with one use of its own.
        let lingering = lma.lingering_tunnels().filter(|l| *l == id).count();
        assert_eq!(users + lingering, t.users, "tunnel use count");
    }
}
