//! Forwarding to a known neighbor allocates nothing: ordinary packets, packets
//! with a partial checksum and superframes, through the plain router's core
//! (IPv6) and through the engine (IPv4, and both families into a tunnel), with
//! an allocator that counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use router::core::{Core, PortId, Rx, Tx};
use router::gso::{MAX_SUPERFRAME, Offload};
use router::mac::Mac;
use router::plain::{PlainConfig, PlainRouter, PortConfig};
use router::wire::virtio_net::{GsoType, GsoTypeField, VirtioNetRepr};
use router::{Duration, Instant};

struct Counting;

thread_local! {
    /// Set on the thread whose allocations count: the test harness's own
    /// threads allocate now and then while a test runs.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
    /// Per thread, so tests running side by side do not count each other's.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every call is passed on to the system allocator unchanged; only a
// counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTED.with(Cell::get) {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
        // SAFETY: the caller's contract for `layout` is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, i.e. from the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Counts what the core sends, keeping nothing.
#[derive(Default)]
struct Sink {
    plain: usize,
    offloaded: usize,
}

impl Tx for Sink {
    fn send(&mut self, _: PortId, _: &[u8]) {
        self.plain += 1;
    }
    fn send_offload(&mut self, _: PortId, _: &[u8], _: &Offload) {
        self.offloaded += 1;
    }
}

const R0: [u8; 6] = [2, 0, 0, 0, 0, 1];
const H2: Mac = Mac([2, 0, 0, 0, 0, 0x22]);

/// Ethernet + IPv6 + a 20-octet TCP header + `payload` octets, h1 -> h2.
fn tcp_frame(payload: usize) -> Vec<u8> {
    let mut f = vec![0; 14 + 40 + 20 + payload];
    f[..6].copy_from_slice(&R0);
    f[12..14].copy_from_slice(&[0x86, 0xdd]);
    f[14] = 0x60;
    f[18..20].copy_from_slice(&((20 + payload) as u16).to_be_bytes());
    f[20] = 6;
    f[21] = 64;
    f[22..38].copy_from_slice(
        &"2001:db8:1::2"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    f[38..54].copy_from_slice(
        &"2001:db8:2::2"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    f[54 + 12] = 5 << 4;
    f[54 + 13] = 0x10;
    f
}

fn partial(gso: Option<u16>) -> VirtioNetRepr {
    VirtioNetRepr {
        needs_csum: true,
        csum_start: 54,
        csum_offset: 16,
        gso_type: GsoTypeField {
            kind: if gso.is_some() {
                GsoType::TcpV6
            } else {
                GsoType::None
            },
            ecn: false,
        },
        gso_size: gso.unwrap_or(0),
        ..VirtioNetRepr::default()
    }
}

#[test]
fn forwarding_to_a_known_neighbor_allocates_nothing() {
    let port = |mac: [u8; 6], prefix: &str| PortConfig {
        mac: Mac(mac),
        mtu: 1500,
        prefixes: vec![prefix.parse().unwrap()],
    };
    let cfg = PlainConfig {
        name: "r".into(),
        ports: vec![
            port(R0, "2001:db8:1::/64"),
            port([2, 0, 0, 0, 0, 0x11], "2001:db8:2::/64"),
        ],
        ra_interval: Duration::from_secs(600),
    };
    let now = Instant::ZERO;
    let mut r = PlainRouter::new(cfg, now);
    let mut sink = Sink::default();
    // h2 becomes known the way a router learns it: its answer to our solicitation.
    let probe = tcp_frame(100);
    r.on_frame(now, 0, &probe, &mut sink);
    let na = router::nd::frames::build_na(
        &router::nd::frames::Addressing {
            src_mac: H2,
            dst_mac: Mac([2, 0, 0, 0, 0, 0x11]),
            src_ip: "2001:db8:2::2".parse().unwrap(),
            dst_ip: "2001:db8:2::1".parse().unwrap(),
        },
        "2001:db8:2::2".parse().unwrap(),
        router::nd::frames::NaFlags {
            router: false,
            solicited: true,
            override_: true,
        },
        Some(H2),
    );
    r.on_frame(now, 1, &na, &mut sink);

    let plain = tcp_frame(1400);
    let mut small = tcp_frame(600);
    let mut superframe = tcp_frame(60_000);
    let mut scratch = vec![0; MAX_SUPERFRAME];
    let small_offload = Offload::from_vnet(&partial(None), &small).unwrap();
    let super_offload = Offload::from_vnet(&partial(Some(1440)), &superframe).unwrap();
    assert!(super_offload.gso.is_some());
    COUNTED.with(|c| c.set(true));
    let before = allocations();
    let sink_before = (sink.plain, sink.offloaded);
    for _ in 0..1000 {
        r.on_frame(now, 0, &plain, &mut sink);
        // Forwarding rewrote them in place: they arrive again as they came.
        small[..6].copy_from_slice(&R0);
        small[21] = 64;
        r.on_rx(
            now,
            0,
            Rx::new(&mut small, small_offload, &mut scratch),
            &mut sink,
        );
        superframe[..6].copy_from_slice(&R0);
        superframe[21] = 64;
        let rx = Rx::new(&mut superframe, super_offload, &mut scratch);
        r.on_rx(now, 0, rx, &mut sink);
    }
    let allocated = allocations() - before;
    COUNTED.with(|c| c.set(false));
    assert_eq!(
        (sink.plain - sink_before.0, sink.offloaded - sink_before.1),
        (1000, 2000),
        "every packet forwarded"
    );
    assert_eq!(allocated, 0, "allocations while forwarding 3000 packets");
}

/// Ethernet + IPv4 (DF, header checksum right) + a 20-octet TCP header +
/// `payload` octets from 10.0.0.2 to `dst`.
fn tcp4_frame(payload: usize, dst: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0; 14 + 20 + 20 + payload];
    f[..6].copy_from_slice(&R0);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&((40 + payload) as u16).to_be_bytes());
    f[20] = 0x40;
    f[22] = 64;
    f[23] = 6;
    f[26..30].copy_from_slice(&[10, 0, 0, 2]);
    f[30..34].copy_from_slice(&dst);
    let sum = !smoltcp::wire::checksum::data(&f[14..34]);
    f[24..26].copy_from_slice(&sum.to_be_bytes());
    f[34 + 12] = 5 << 4;
    f[34 + 13] = 0x10;
    f
}

fn partial4(gso: Option<u16>) -> VirtioNetRepr {
    VirtioNetRepr {
        csum_start: 34,
        gso_type: GsoTypeField {
            kind: if gso.is_some() {
                GsoType::TcpV4
            } else {
                GsoType::None
            },
            ecn: false,
        },
        ..partial(gso)
    }
}

/// IPv4 through the engine as the LMA has it: to a known neighbor (ordinary,
/// partial checksum, superframe, fragmented) and into an IPv6 tunnel
/// (ordinary, fragmented, and a superframe cut to the tunnel MTU), IPv6 into
/// the tunnel too.
#[test]
fn ipv4_forwarding_and_tunnel_entry_allocate_nothing() {
    use router::engine::{Engine, EnginePort};
    use router::routes::RouteTable;
    let port = |mac: [u8; 6], v6: &str, v4: &str| {
        let mut p = EnginePort::new(Mac(mac));
        p.addresses = vec![v6.parse().unwrap()];
        p.ipv4 = vec![v4.parse().unwrap()];
        p
    };
    let now = Instant::ZERO;
    let mut e = Engine::new(
        vec![
            port(R0, "2001:db8:1::1/64", "10.0.0.254/24"),
            port([2, 0, 0, 0, 0, 0x11], "2001:db8:2::1/64", "10.0.1.254/24"),
        ],
        now,
    );
    let mut learned = Vec::new();
    let mag: std::net::Ipv6Addr = "2001:db8:2::2".parse().unwrap();
    e.nd_mut(1)
        .unwrap()
        .note_neighbor(now, mag, H2, &mut learned);
    let h4 = "10.0.1.1".parse().unwrap();
    e.arp_mut(1)
        .unwrap()
        .note_neighbor(now, h4, H2, &mut learned);
    let local = "2001:db8:2::1".parse().unwrap();
    let node4: ipnet::Ipv4Net = "10.0.9.0/24".parse().unwrap();
    let node6: ipnet::Ipv6Net = "2001:db8:9::/64".parse().unwrap();
    e.routes_mut()
        .tunnel_into(RouteTable::Destination, node4, local, mag);
    e.routes_mut()
        .tunnel_into(RouteTable::Destination, node6, local, mag);

    let plain = tcp4_frame(1400, [10, 0, 1, 1]);
    let small0 = tcp4_frame(600, [10, 0, 1, 1]);
    let super0 = tcp4_frame(60_000, [10, 0, 1, 1]);
    let tunnelled = tcp4_frame(1000, [10, 0, 9, 9]);
    let tsuper0 = tcp4_frame(30_000, [10, 0, 9, 9]);
    // Without DF and too big for the tunnel, or for the link: fragmented.
    let mut fragmented = [
        tcp4_frame(1450, [10, 0, 9, 9]),
        tcp4_frame(2000, [10, 0, 1, 1]),
    ];
    for f in &mut fragmented {
        f[20] = 0;
        f[24..26].copy_from_slice(&[0, 0]);
        let sum = !smoltcp::wire::checksum::data(&f[14..34]);
        f[24..26].copy_from_slice(&sum.to_be_bytes());
    }
    let mut tunnelled6 = tcp_frame(1000);
    tunnelled6[38..54].copy_from_slice(
        &"2001:db8:9::9"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    let (mut small, mut superframe, mut tsuper) = (small0.clone(), super0.clone(), tsuper0.clone());
    let mut scratch = vec![0; MAX_SUPERFRAME];
    let small_offload = Offload::from_vnet(&partial4(None), &small).unwrap();
    let super_offload = Offload::from_vnet(&partial4(Some(1448)), &superframe).unwrap();
    let tsuper_offload = Offload::from_vnet(&partial4(Some(1448)), &tsuper).unwrap();
    assert!(super_offload.gso.is_some() && tsuper_offload.gso.is_some());
    let mut sink = Sink::default();
    let mut round = |sink: &mut Sink| {
        e.on_frame(now, 0, &plain, sink);
        e.on_frame(now, 0, &tunnelled, sink);
        e.on_frame(now, 0, &tunnelled6, sink);
        for f in &fragmented {
            e.on_frame(now, 0, f, sink);
        }
        // Forwarding rewrites frames in place: each arrives again as it came.
        small.copy_from_slice(&small0);
        e.on_rx(
            now,
            0,
            Rx::new(&mut small, small_offload, &mut scratch),
            sink,
        );
        superframe.copy_from_slice(&super0);
        e.on_rx(
            now,
            0,
            Rx::new(&mut superframe, super_offload, &mut scratch),
            sink,
        );
        tsuper.copy_from_slice(&tsuper0);
        e.on_rx(
            now,
            0,
            Rx::new(&mut tsuper, tsuper_offload, &mut scratch),
            sink,
        );
    };
    // One round first: the buffers the engine reuses grow to size once.
    round(&mut sink);
    let per_round = (sink.plain, sink.offloaded);
    COUNTED.with(|c| c.set(true));
    let before = allocations();
    for _ in 0..1000 {
        round(&mut sink);
    }
    let allocated = allocations() - before;
    COUNTED.with(|c| c.set(false));
    let cut = 30_000usize.div_ceil(1448 - 20);
    assert!(per_round.0 >= 3 + 4 + cut, "{per_round:?}");
    assert_eq!(
        (sink.plain, sink.offloaded),
        (per_round.0 * 1001, per_round.1 * 1001),
        "every packet forwarded"
    );
    assert_eq!(
        per_round.1, 2,
        "the partial checksum and the superframe, whole"
    );
    let c = e.all_counters();
    assert_eq!(c.get("tunnel.superframes_cut"), 1001);
    assert_eq!(c.get("icmp.errors_sent"), 0);
    assert_eq!(
        (c.get("tunnel.fragmented"), c.get("fwd.fragmented")),
        (1001, 1001)
    );
    assert_eq!(allocated, 0, "allocations while forwarding IPv4");
}
