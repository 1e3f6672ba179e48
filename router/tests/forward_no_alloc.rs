//! Forwarding to a known neighbor allocates nothing: ordinary packets, packets
//! with a partial checksum and superframes, through the plain router's core, with
//! an allocator that counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use router::core::{Core, PortId, Rx, Tx};
use router::gso::{MAX_SUPERFRAME, Offload};
use router::mac::Mac;
use router::plain::{PlainConfig, PlainRouter, PortConfig};
use router::wire::virtio_net::{GsoType, GsoTypeField, VirtioNetRepr};
use router::{Duration, Instant};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the thread whose allocations count: the test harness's own
    /// threads allocate now and then while a test runs.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every call is passed on to the system allocator unchanged; only a
// counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTED.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
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
    let before = ALLOCATIONS.load(Ordering::Relaxed);
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
    let allocated = ALLOCATIONS.load(Ordering::Relaxed) - before;
    COUNTED.with(|c| c.set(false));
    assert_eq!(
        (sink.plain - sink_before.0, sink.offloaded - sink_before.1),
        (1000, 2000),
        "every packet forwarded"
    );
    assert_eq!(allocated, 0, "allocations while forwarding 3000 packets");
}
