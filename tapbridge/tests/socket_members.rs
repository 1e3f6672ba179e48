//! QEMU's socket network back ends as segment members, with the sockets played
//! by this test exactly as QEMU uses them: a guest on `-netdev dgram` (one frame
//! per unix datagram, from its own bound path) and one on `-netdev stream`
//! (connecting to tapbridge, each frame behind a 4-byte big-endian length).
//! Needs no root: no namespace, no TAP. The real QEMU runs in `make lab-qemu`.

use std::io::{Read, Write};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const A: [u8; 6] = [0x52, 0x54, 0, 0xaa, 0, 1];
const B: [u8; 6] = [0x52, 0x54, 0, 0xaa, 0, 2];
const BROADCAST: [u8; 6] = [0xff; 6];

fn frame(dst: [u8; 6], src: [u8; 6], payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x88, 0xb5]); // local experimental EtherType
    f.extend_from_slice(payload);
    f
}

struct Bridge {
    child: Child,
    ctl: PathBuf,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(path: &Path) {
    let end = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(Instant::now() < end, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn start(dir: &Path, segments: &[String]) -> Bridge {
    let ctl = dir.join("ctl.sock");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tapbridge"));
    cmd.arg("--ctl").arg(&ctl);
    for s in segments {
        cmd.args(["--segment", s]);
    }
    let child = cmd
        .arg("--capture")
        .arg(format!("s1={}", dir.join("s1.pcap").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting tapbridge");
    wait_for(&ctl);
    Bridge { child, ctl }
}

fn ctl(b: &Bridge, words: &[&str]) -> String {
    let request = tapbridge::ctl::request_from_words(words).unwrap();
    let line = serde_json::to_string(&request).unwrap();
    router::netio::client::ask(&b.ctl, &line, false).expect("control request")
}

/// One length-prefixed frame from a stream, or `None` after `timeout`.
fn read_stream_frame(s: &mut UnixStream, timeout: Duration) -> Option<Vec<u8>> {
    s.set_read_timeout(Some(timeout)).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut f = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut f).ok()?;
    Some(f)
}

fn write_stream_frame(s: &mut UnixStream, f: &[u8]) {
    let mut out = (f.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(f);
    s.write_all(&out).unwrap();
}

fn read_dgram(d: &UnixDatagram, timeout: Duration) -> Option<Vec<u8>> {
    d.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = [0u8; 2048];
    d.recv(&mut buf).ok().map(|n| buf[..n].to_vec())
}

#[test]
fn dgram_and_stream_guests_share_a_segment_and_move() {
    let dir = std::env::temp_dir().join(format!("tapbridge-sockets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (bridge_a, qemu_a, bridge_b) = (
        dir.join("a.sock"),
        dir.join("qemu-a.sock"),
        dir.join("b.sock"),
    );
    // Guest A's QEMU has bound its local path before tapbridge sends to it.
    let guest_a = UnixDatagram::bind(&qemu_a).unwrap();
    let b = start(
        &dir,
        &[
            format!(
                "s1=dgram:{},peer={},name=a,stream:{},name=b",
                bridge_a.display(),
                qemu_a.display(),
                bridge_b.display()
            ),
            // A socket member without a configured peer answers the last sender.
            format!("s2=dgram:{}", dir.join("c.sock").display()),
        ],
    );
    let mut guest_b = UnixStream::connect(&bridge_b).unwrap();
    let short = Duration::from_millis(300);
    let long = Duration::from_secs(5);

    // A -> everyone: only B, on s1, gets it, framed by its length.
    let hello = frame(BROADCAST, A, b"hello from a dgram guest");
    guest_a.send_to(&hello, &bridge_a).unwrap();
    assert_eq!(read_stream_frame(&mut guest_b, long), Some(hello));
    // B -> A, learnt on a: one datagram to A's own path.
    let reply = frame(A, B, b"hello from a stream guest");
    write_stream_frame(&mut guest_b, &reply);
    assert_eq!(read_dgram(&guest_a, long), Some(reply));
    // Two frames in one write and a frame in two writes come out whole.
    let (one, two) = (frame(A, B, b"one"), frame(A, B, b"two"));
    let mut both = Vec::new();
    for f in [&one, &two] {
        both.extend_from_slice(&(f.len() as u32).to_be_bytes());
        both.extend_from_slice(f);
    }
    guest_b.write_all(&both[..5]).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    guest_b.write_all(&both[5..]).unwrap();
    assert_eq!(read_dgram(&guest_a, long), Some(one));
    assert_eq!(read_dgram(&guest_a, long), Some(two));

    // Link emulation applies as to any member: all of A's frames are lost.
    ctl(&b, &["link", "a", "in", "loss=100"]);
    guest_a.send_to(&frame(B, A, b"lost"), &bridge_a).unwrap();
    assert_eq!(read_stream_frame(&mut guest_b, short), None);
    ctl(&b, &["link", "a", "in", "loss=0"]);
    let counters = ctl(&b, &["counters"]);
    assert!(
        counters
            .lines()
            .any(|l| l.starts_with("a ") && l.contains("drop.link_loss") && l.ends_with(" 1")),
        "{counters}"
    );

    // B moves to s2 (as the namespace lab migrates a VM): A no longer reaches it,
    // the member without a peer learns its sender and answers it.
    ctl(&b, &["move", "b", "--to", "s2"]);
    let c_guest = UnixDatagram::bind(dir.join("qemu-c.sock")).unwrap();
    c_guest
        .send_to(
            &frame(BROADCAST, [0x52, 0x54, 0, 0xaa, 0, 3], b"c"),
            dir.join("c.sock"),
        )
        .unwrap();
    let seen = read_stream_frame(&mut guest_b, long).expect("B hears C on s2");
    assert_eq!(&seen[14..], b"c");
    write_stream_frame(&mut guest_b, &frame(BROADCAST, B, b"to s2"));
    assert_eq!(
        read_dgram(&c_guest, long).map(|f| f[14..].to_vec()),
        Some(b"to s2".to_vec())
    );
    assert_eq!(read_dgram(&guest_a, short), None, "A is on s1 alone now");

    // A new connection replaces the old one (a guest restarted on this port).
    drop(guest_b);
    let mut again = UnixStream::connect(&bridge_b).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    c_guest
        .send_to(
            &frame(BROADCAST, [0x52, 0x54, 0, 0xaa, 0, 3], b"c2"),
            dir.join("c.sock"),
        )
        .unwrap();
    assert_eq!(
        read_stream_frame(&mut again, long).map(|f| f[14..].to_vec()),
        Some(b"c2".to_vec())
    );
    let segments = ctl(&b, &["segments"]);
    assert!(segments.contains("s2       b "), "{segments}");
    drop(b);
    // The capture of s1 holds the frames switched there (file header + records).
    let pcap = std::fs::metadata(dir.join("s1.pcap"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(pcap > 24 + 4 * 16, "s1.pcap has {pcap} bytes");
    let _ = std::fs::remove_dir_all(&dir);
}
