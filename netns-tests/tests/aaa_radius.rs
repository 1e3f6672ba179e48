//! The RADIUS policy store against a real FreeRADIUS, through router's mio loop
//! and its datagram socket: accepts with prefixes and an IPv4 address, rejects
//! with their reason, a silent server (retransmission, failover, giving up), the
//! loop answering its control socket while a request is outstanding, and forged
//! Access-Accepts (from a tiny responder here: FreeRADIUS does not forge).
//! Everything runs as is and again inside `unshare -Urnm`.

use std::collections::HashMap;
use std::net::{Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use ipnet::Ipv6Net;
use netns_tests::aaa_server::{FreeRadius, User};
use netns_tests::userns;
use router::aaa::radius_auth::build_reply;
use router::aaa::{
    Answer, Grant, Lookup, PolicyStore, Question, RadiusConfig, RadiusServer, RadiusStore, Refusal,
    Token,
};
use router::core::{Core, PortId, Tx};
use router::counters::Counters;
use router::ctl::{Request, Response, Table};
use router::mac::Mac;
use router::netio::{EventLoop, Port, Stop, StopHandle};
use router::wire::{RadiusAttributeType as A, RadiusCode, RadiusPacket};
use router::{Duration, Instant};

const SECRET: &str = "tapmip-test-secret";
const VM1_MAC: Mac = Mac([0x52, 0x54, 0, 0xaa, 0, 1]);
const MAG1: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 1, 0, 0, 0, 2);
const MAG2: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 2, 0, 0, 0, 2);

#[derive(Debug, Clone)]
enum Ask {
    Attach(&'static str, Mac),
    Authorize(&'static str, Ipv6Addr),
}

/// A core that asks its store every question at its first tick, records each
/// answer with the time it came, stops the loop when all are in, and shows the
/// store's counters on the control socket.
struct Probe {
    store: Box<dyn PolicyStore>,
    questions: Vec<Ask>,
    asked: bool,
    pending: HashMap<Token, usize>,
    answers: Vec<Option<(Instant, Answer)>>,
    stop: StopHandle,
}

impl Probe {
    fn record(&mut self, now: Instant, index: usize, answer: Answer) {
        self.answers[index] = Some((now, answer));
        if self.answers.iter().all(Option::is_some) {
            self.stop.stop().unwrap();
        }
    }

    fn resume(&mut self, now: Instant, token: Token, answer: Answer) {
        let index = self
            .pending
            .remove(&token)
            .expect("an answer to a pending lookup");
        self.record(now, index, answer);
    }
}

impl Core for Probe {
    fn on_frame(&mut self, _: Instant, _: PortId, _: &[u8], _: &mut dyn Tx) {}

    fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) {
        if !self.asked {
            self.asked = true;
            for (index, ask) in self.questions.clone().iter().enumerate() {
                let question = match ask {
                    Ask::Attach(mn_id, mac) => Question::Attach { mn_id, mac: *mac },
                    Ask::Authorize(mn_id, mag) => Question::Authorize { mn_id, mag: *mag },
                };
                match self.store.lookup(now, &question, tx) {
                    Lookup::Ready(answer) => self.record(now, index, answer),
                    Lookup::Pending(token) => {
                        self.pending.insert(token, index);
                    }
                }
            }
        }
        for (token, answer) in self.store.on_timer(now, tx) {
            self.resume(now, token, answer);
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        if self.asked {
            self.store.poll_at()
        } else {
            Some(Instant::ZERO)
        }
    }

    fn on_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8], _: &mut dyn Tx) {
        if let Some((token, answer)) = self.store.on_datagram(now, from, datagram) {
            self.resume(now, token, answer);
        }
    }

    fn control(&mut self, _: Instant, request: &Request, _: &mut dyn Tx) -> Response {
        let mut table = Table::new("counters", &["counter", "value"]);
        for (name, value) in self.store.counters().iter() {
            table.row(vec![name.into(), value.to_string()]);
        }
        match request {
            Request::Counters {} => Response::tables(vec![table]),
            other => Response::error(format!("{other:?}: not here")),
        }
    }
}

struct Run {
    answers: Vec<(StdDuration, Answer)>,
    counters: Counters,
}

/// Asks `questions` of `store` on a real event loop with a datagram socket (and
/// a control socket at `control`, if given) until every answer is in.
fn run(store: RadiusStore, questions: &[Ask], control: Option<&Path>) -> Run {
    let (stop, handle) = Stop::handle().unwrap();
    let mut event_loop = EventLoop::<Port>::new(Vec::new(), stop)
        .unwrap()
        .with_datagram_socket("127.0.0.1:0".parse().unwrap())
        .unwrap();
    if let Some(path) = control {
        event_loop = event_loop.with_control(path).unwrap();
    }
    let start = event_loop.now();
    let mut probe = Probe {
        store: Box::new(store),
        questions: questions.to_vec(),
        asked: false,
        pending: HashMap::new(),
        answers: vec![None; questions.len()],
        stop: handle,
    };
    event_loop.run(&mut probe).unwrap();
    let answers = probe
        .answers
        .into_iter()
        .map(|a| {
            let (at, answer) = a.expect("every question answered");
            (
                StdDuration::from_micros((at - start).total_micros()),
                answer,
            )
        })
        .collect();
    Run {
        answers,
        counters: probe.store.counters().clone(),
    }
}

fn store(nas_identifier: &str, servers: &[SocketAddr], timeout_ms: u64, tries: u32) -> RadiusStore {
    let servers = servers
        .iter()
        .map(|address| RadiusServer {
            address: *address,
            secret: SECRET.as_bytes().to_vec(),
        })
        .collect();
    let mut cfg = RadiusConfig::new(nas_identifier, servers);
    cfg.timeout = Duration::from_millis(timeout_ms);
    cfg.max_timeout = Duration::from_millis(2 * timeout_ms);
    cfg.tries = tries;
    RadiusStore::new(cfg).unwrap()
}

/// Logs the routers' lines, and brings loopback up (down in a fresh namespace).
fn init() {
    router::netio::logger::init("radius-test", log::LevelFilter::Info);
    netns_tests::aaa_server::loopback_up().unwrap_or_else(|e| panic!("{e}"));
}

fn nets(list: &[&str]) -> Arc<[Ipv6Net]> {
    list.iter()
        .map(|p| p.parse().unwrap())
        .collect::<Vec<_>>()
        .into()
}

fn users() -> Vec<User> {
    vec![
        // The MAG's question: the node, checked by its MAC.
        User::accept(
            "vm1@tapmip",
            &[
                "NAS-Identifier == \"mag1\"",
                "Calling-Station-Id == \"52-54-00-AA-00-01\"",
            ],
            &[
                "Framed-IPv6-Prefix = 2001:db8:1:1::/64",
                "Delegated-IPv6-Prefix = 2001:db8:2::/56",
                "Framed-IP-Address = 10.0.0.7",
            ],
        ),
        // The LMA's question: may mag1 act for it? Its home network prefix.
        User::accept(
            "vm1@tapmip",
            &[
                "NAS-Identifier == \"lma\"",
                "Calling-Station-Id == \"2001:db8:ff:1::2\"",
            ],
            &[
                "PMIP6-Home-HN-Prefix = 2001:db8:1:1::/64",
                "Framed-IP-Address = 10.0.0.7",
            ],
        ),
        User::reject("vm9@tapmip", "vm9 is suspended"),
    ]
}

fn refusal_text(answer: &Answer) -> String {
    match answer {
        Answer::Refuse(refusal) => refusal.to_string(),
        Answer::Accept(grant) => panic!("expected a refusal, got {grant:?}"),
    }
}

#[test]
fn radius_freeradius_accepts_with_prefixes_and_rejects_with_reason() {
    init();
    let server = FreeRadius::start("answers", SECRET, &users()).unwrap_or_else(|e| panic!("{e}"));
    let mag = run(
        store("mag1", &[server.address()], 1000, 3),
        &[
            Ask::Attach("vm1@tapmip", VM1_MAC),
            Ask::Attach("vm1@tapmip", Mac([0x52, 0x54, 0, 0xaa, 0, 0x99])),
            Ask::Attach("vm9@tapmip", Mac([0x52, 0x54, 0, 0xaa, 0, 9])),
        ],
        None,
    );
    let lma = run(
        store("lma", &[server.address()], 1000, 3),
        &[
            Ask::Authorize("vm1@tapmip", MAG1),
            Ask::Authorize("vm1@tapmip", MAG2),
        ],
        None,
    );
    let log = server.log_when(StdDuration::from_secs(5), |log| {
        log.matches("Login OK").count() >= 2 && log.matches("Login incorrect").count() >= 3
    });
    println!("FreeRADIUS said:\n{log}");
    assert_eq!(
        mag.answers[0].1,
        Answer::Accept(Grant {
            hnps: nets(&["2001:db8:1:1::/64", "2001:db8:2::/56"]),
            pool: None,
            ipv4_home: Some("10.0.0.7".parse().unwrap()),
        })
    );
    let wrong_mac = refusal_text(&mag.answers[1].1);
    assert!(
        wrong_mac.contains("\"unknown node or wrong caller\""),
        "{wrong_mac}"
    );
    let suspended = refusal_text(&mag.answers[2].1);
    assert_eq!(
        suspended,
        format!(
            "rejected: Access-Reject from {}: \"vm9 is suspended\"",
            server.address()
        )
    );
    assert_eq!(
        lma.answers[0].1,
        Answer::Accept(Grant {
            hnps: nets(&["2001:db8:1:1::/64"]),
            pool: None,
            ipv4_home: Some("10.0.0.7".parse().unwrap()),
        })
    );
    assert!(matches!(
        lma.answers[1].1,
        Answer::Refuse(Refusal::Rejected { .. })
    ));
    for (run, accepts, rejects) in [(&mag, 1, 2), (&lma, 1, 1)] {
        let c = &run.counters;
        assert_eq!(c.get("radius.accept"), accepts);
        assert_eq!(c.get("radius.reject"), rejects);
        assert_eq!(c.get("radius.retransmit"), 0, "FreeRADIUS answered at once");
        assert_eq!(
            c.iter()
                .filter(|(n, _)| n.starts_with("radius.drop"))
                .count(),
            0
        );
    }
    assert_eq!(log.matches("Login OK").count(), 2, "{log}");
    assert_eq!(log.matches("Login incorrect").count(), 3, "{log}");
}

/// A socket that takes datagrams and never answers: a server that is down.
struct Silent(UdpSocket);

impl Silent {
    fn new() -> Silent {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        Silent(socket)
    }
    fn address(&self) -> SocketAddr {
        self.0.local_addr().unwrap()
    }
    /// The datagrams it has received so far.
    fn received(&self) -> Vec<Vec<u8>> {
        let mut buf = [0u8; 4096];
        std::iter::from_fn(|| self.0.recv(&mut buf).ok().map(|n| buf[..n].to_vec())).collect()
    }
}

#[test]
fn radius_silent_server_retries_then_the_second_server_answers() {
    init();
    let server = FreeRadius::start("failover", SECRET, &users()).unwrap_or_else(|e| panic!("{e}"));
    let silent = Silent::new();
    let got = run(
        store("mag1", &[silent.address(), server.address()], 200, 2),
        &[Ask::Attach("vm1@tapmip", VM1_MAC)],
        None,
    );
    let (elapsed, answer) = &got.answers[0];
    assert!(matches!(answer, Answer::Accept(_)), "{answer:?}");
    // Two tries on the silent server (200 ms, then 400 ms) before failing over.
    assert!(*elapsed >= StdDuration::from_millis(600), "{elapsed:?}");
    let tries = silent.received();
    assert_eq!(tries.len(), 2);
    assert_eq!(tries[0], tries[1], "a retransmission is the same datagram");
    let c = &got.counters;
    assert_eq!(
        (
            c.get("radius.retransmit"),
            c.get("radius.failover"),
            c.get("radius.accept")
        ),
        (1, 1, 1)
    );
}

/// Asks the control socket for counters until the loop has sent a request, and
/// returns that answer (which proves the loop served it while waiting).
fn counters_while_waiting(path: &Path) -> HashMap<String, u64> {
    for _ in 0..100 {
        if let Ok(tables) = router::netio::client::ask_tables(path, "{\"cmd\":\"counters\"}") {
            let counters: HashMap<String, u64> = tables[0]
                .rows
                .iter()
                .map(|row| (row[0].clone(), row[1].parse().unwrap()))
                .collect();
            if counters.get("radius.tx").copied().unwrap_or(0) > 0 {
                return counters;
            }
        }
        std::thread::sleep(StdDuration::from_millis(20));
    }
    panic!("the control socket never showed a request in flight");
}

#[test]
fn radius_no_server_answers_and_the_loop_keeps_serving_its_control_socket() {
    init();
    let (a, b) = (Silent::new(), Silent::new());
    let dir = std::env::temp_dir().join(format!("tapmip-radius-ctl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join("probe.sock");
    let client_path = path.clone();
    let client = std::thread::spawn(move || counters_while_waiting(&client_path));
    let got = run(
        store("mag1", &[a.address(), b.address()], 300, 3),
        &[Ask::Attach("vm1@tapmip", VM1_MAC)],
        Some(&path),
    );
    let during = client.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        during.get("aaa.refuse.unreachable"),
        None,
        "answered while outstanding"
    );
    let (elapsed, answer) = &got.answers[0];
    let text = refusal_text(answer);
    assert_eq!(
        text,
        "no AAA server answered: 6 Access-Requests to 2 server(s) unanswered"
    );
    // 300 + 600 + 600 ms on each server.
    assert!(*elapsed >= StdDuration::from_millis(3000), "{elapsed:?}");
    assert_eq!((a.received().len(), b.received().len()), (3, 3));
    let c = &got.counters;
    assert_eq!(
        (
            c.get("radius.tx"),
            c.get("radius.timeout"),
            c.get("aaa.refuse.unreachable")
        ),
        (6, 1, 1)
    );
}

/// Answers the first Access-Request it gets with forged Access-Accepts, each
/// wrong in one way, then with a genuine Access-Reject: the request must end with
/// that reject, none of the accepts taken.
fn forging_responder() -> (SocketAddr, std::thread::JoinHandle<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = socket.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        socket
            .set_read_timeout(Some(StdDuration::from_secs(30)))
            .unwrap();
        let mut buf = [0u8; 4096];
        let (n, client) = socket.recv_from(&mut buf).unwrap();
        let request = buf[..n].to_vec();
        let prefix: &[u8] = &[0, 64, 0x20, 0x01, 0x0d, 0xb8, 0x66, 0x66, 0, 0];
        let attrs = [(A::FramedIpv6Prefix, prefix)];
        let accept = |ma: bool, secret: &[u8]| {
            build_reply(&request, RadiusCode::AccessAccept, &attrs, ma, secret).unwrap()
        };
        let secret = SECRET.as_bytes();
        // BlastRADIUS' result: a right Response Authenticator, no Message-Authenticator.
        let no_ma = accept(false, secret);
        let guessed_secret = accept(true, b"guessed");
        let mut wrong_response_auth = accept(true, secret);
        wrong_response_auth[4..20].copy_from_slice(&[0x42; 16]);
        let mut wrong_ma = accept(true, secret);
        wrong_ma[22..38].copy_from_slice(&[0x42; 16]);
        let mut other_id = accept(true, secret);
        other_id[1] = other_id[1].wrapping_add(1);
        for forged in [
            &no_ma,
            &guessed_secret,
            &wrong_response_auth,
            &wrong_ma,
            &other_id,
        ] {
            socket.send_to(forged, client).unwrap();
        }
        // The genuine accept, but from another port: not the server's address.
        let elsewhere = UdpSocket::bind("127.0.0.1:0").unwrap();
        elsewhere.send_to(&accept(true, secret), client).unwrap();
        let reject = build_reply(
            &request,
            RadiusCode::AccessReject,
            &[(A::ReplyMessage, b"the real answer")],
            true,
            secret,
        )
        .unwrap();
        // Give the forgeries a head start so they are judged first.
        std::thread::sleep(StdDuration::from_millis(200));
        socket.send_to(&reject, client).unwrap();
        assert!(RadiusPacket::new_checked(&request[..]).is_ok());
    });
    (address, handle)
}

#[test]
fn radius_forged_accepts_are_refused() {
    init();
    let (address, responder) = forging_responder();
    let got = run(
        store("mag1", &[address], 5000, 1),
        &[Ask::Attach("vm1@tapmip", VM1_MAC)],
        None,
    );
    responder.join().unwrap();
    let text = refusal_text(&got.answers[0].1);
    assert_eq!(
        text,
        format!("rejected: Access-Reject from {address}: \"the real answer\"")
    );
    let c = &got.counters;
    for counter in [
        "radius.drop.no_message_authenticator",
        "radius.drop.wrong_message_authenticator",
        "radius.drop.wrong_response_authenticator",
        "radius.drop.unknown_id",
        "radius.drop.unknown_source",
    ] {
        let want = if counter.ends_with("wrong_message_authenticator") {
            2
        } else {
            1
        };
        assert_eq!(c.get(counter), want, "{counter}: {c:?}");
    }
    assert_eq!(c.get("radius.accept"), 0);
    assert_eq!(c.get("aaa.accept"), 0);
}

/// The tests above, as an unprivileged user runs them: this binary re-runs them
/// inside `unshare -Urnm`, FreeRADIUS included.
#[test]
fn user_namespace_runs_the_radius_tests() {
    let args = [
        "radius_",
        "--skip",
        "user_namespace",
        "--test-threads=1",
        "--nocapture",
    ];
    match userns::rerun_tests(&args, 4) {
        Ok(text) => println!("{text}"),
        Err(e) => panic!("{e}"),
    }
}
