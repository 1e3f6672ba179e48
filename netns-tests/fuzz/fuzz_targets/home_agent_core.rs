//! The Mobile IPv6 home agent core fed Binding Updates (well-formed, any
//! values: home address, care-of address, sequence, lifetime, flags, with or
//! without a Home Address option), arbitrary frames and timer ticks. After
//! every step: each binding's home address routes into the tunnel to its
//! care-of address, no home address routes anywhere without a binding, there
//! is one tunnel per care-of address in use, and no binding names a home
//! address the policy does not own.
#![no_main]

use arbitrary::Arbitrary;
use ipnet::Ipv6Net;
use libfuzzer_sys::fuzz_target;
use lma::home_agent::{HomeAgent, HomeAgentConfig};
use router::core::Core;
use router::engine::EnginePort;
use router::fib::NextHop;
use router::mac::Mac;
use router::nd::frames::ethernet_ipv6;
use router::policy::Policy;
use router::routes::RouteTable;
use router::wire::{MhRepr, MnPacketRepr, PbuRepr, mh_ipv6_packet};
use router::{Duration, Instant};
use std::net::Ipv6Addr;

#[derive(Debug, Arbitrary)]
enum Op {
    Bu {
        home: u8,
        coa: u8,
        sequence: u16,
        lifetime: u16,
        ack: bool,
        home_registration: bool,
        proxy: bool,
        option: bool,
    },
    Frame {
        port: u8,
        bytes: Vec<u8>,
    },
    Tick {
        ms: u16,
    },
}

const HA_MACS: [Mac; 2] = [Mac([2, 0x4c, 0, 0, 0, 0]), Mac([2, 0x4c, 0, 0, 0, 1])];
const HA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);

/// vm0 and vm1 own a home prefix each; index 2 is in the home network but no
/// node's, index 3 outside it.
fn home_address(i: u8) -> Ipv6Addr {
    match i % 4 {
        3 => Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, 5),
        n => Ipv6Addr::new(0x2001, 0xdb8, 1, u16::from(n) + 1, 0, 0, 0, 5),
    }
}

fn care_of(i: u8) -> Ipv6Addr {
    match i % 4 {
        3 => "fe80::5".parse().unwrap_or(Ipv6Addr::LOCALHOST),
        n => Ipv6Addr::new(0x2001, 0xdb8, 0xa, u16::from(n) + 1, 0, 0, 0, 5),
    }
}

fn home_agent() -> Option<HomeAgent> {
    let policy = Policy::parse(
        "[[node]]\nmn_id = \"vm0\"\nmac = \"52:54:00:aa:00:01\"\nhnps = [\"2001:db8:1:1::/64\"]\n\
         [[node]]\nmn_id = \"vm1\"\nmac = \"52:54:00:aa:00:02\"\nhnps = [\"2001:db8:1:2::/64\"]\n",
        "fuzz",
    )
    .ok()?;
    let ports = [
        ("2001:db8:c::1/64", HA_MACS[0]),
        ("2001:db8:ff:1::1/64", HA_MACS[1]),
    ]
    .iter()
    .map(|(a, mac)| {
        let mut p = EnginePort::new(*mac);
        p.addresses = vec![a.parse().unwrap_or_default()];
        p
    })
    .collect();
    let access: Ipv6Net = "2001:db8:a::/48".parse().ok()?;
    let cfg = HomeAgentConfig {
        name: "ha".into(),
        ports,
        address: HA,
        home_prefixes: vec!["2001:db8:1::/48".parse().ok()?],
        policy,
        routes: vec![(access, "2001:db8:ff:1::2".parse().ok()?)],
        max_lifetime_secs: 60,
    };
    HomeAgent::new(cfg, Instant::from_millis(0)).ok()
}

fn check(ha: &HomeAgent) {
    let routes = ha.engine().routes();
    for b in ha.bindings().sorted() {
        let host = Ipv6Net::new(b.home_address, 128).unwrap_or_default();
        let remote = match routes.get(RouteTable::Destination, host) {
            Some(NextHop::Tunnel(id)) => routes.tunnel(id).map(|t| t.remote),
            _ => None,
        };
        assert_eq!(remote, Some(b.care_of), "binding {b:?} without its tunnel");
        assert!(["vm0", "vm1"].contains(&b.mn_id.as_str()));
    }
    for i in 0..4 {
        let host = Ipv6Net::new(home_address(i), 128).unwrap_or_default();
        if routes.get(RouteTable::Destination, host).is_some() {
            assert!(ha.bindings().get(&home_address(i)).is_some());
        }
    }
    // Home addresses behind one care-of address share its tunnel.
    let mut remotes: Vec<Ipv6Addr> = ha.bindings().sorted().iter().map(|b| b.care_of).collect();
    remotes.sort();
    remotes.dedup();
    assert_eq!(routes.tunnels().len(), remotes.len());
}

fuzz_target!(|ops: Vec<Op>| {
    let Some(mut ha) = home_agent() else { return };
    let mut now = Instant::from_millis(1_000);
    let mut out = Vec::new();
    for op in ops.into_iter().take(200) {
        match op {
            Op::Bu {
                home,
                coa,
                sequence,
                lifetime,
                ack,
                home_registration,
                proxy,
                option,
            } => {
                let bu = MhRepr::Pbu(PbuRepr {
                    sequence,
                    ack,
                    home_registration,
                    proxy,
                    lifetime_secs: u32::from(lifetime),
                    ..PbuRepr::default()
                });
                let (hoa, coa) = (home_address(home), care_of(coa));
                let packet = if option {
                    MnPacketRepr::binding_update(coa, HA, hoa, bu).emit()
                } else {
                    mh_ipv6_packet(coa, HA, 64, &bu)
                };
                let frame = ethernet_ipv6(Mac([2, 0x61, 0, 0, 0, 1]), HA_MACS[1], &packet);
                ha.on_frame(now, 1, &frame, &mut out);
            }
            Op::Frame { port, bytes } => ha.on_frame(now, usize::from(port % 2), &bytes, &mut out),
            Op::Tick { ms } => {
                now = now + Duration::from_millis(u64::from(ms) * 10);
                ha.on_timer(now, &mut out);
            }
        }
        out.clear();
        check(&ha);
    }
});
