//! The probes over loopback, with an outage made by stopping the echo (or server)
//! process for a while: no namespaces needed.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use netns_tests::probe::report::{TcpReport, TcpServerReport, UdpReport, read_report};

const PROBE: &str = env!("CARGO_BIN_EXE_tapmip-probe");

/// A probe process, continued and killed if the test ends early.
struct Probe(Child);

impl Probe {
    fn start(args: &[&str]) -> Probe {
        let child = Command::new(PROBE)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting tapmip-probe");
        Probe(child)
    }

    /// The address the server announced it is listening on (port 0 resolved).
    fn listening_on(&mut self) -> SocketAddr {
        let stdout: &mut ChildStdout = self.0.stdout.as_mut().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading the server's first line");
        let addr = line.trim().rsplit(' ').next().unwrap_or_default();
        addr.parse().unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.0.id()).expect("a pid");
        // SAFETY: signalling our own child, which we have not reaped yet.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Stops the process for `pause`: the outage.
    fn pause(&self, pause: Duration) {
        self.signal(libc::SIGSTOP);
        sleep(pause);
        self.signal(libc::SIGCONT);
    }

    fn wait_success(&mut self) {
        let status = self.0.wait().expect("waiting for tapmip-probe");
        assert!(status.success(), "tapmip-probe exited with {status}");
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            self.signal(libc::SIGCONT);
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn report_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tapmip-probe-{}-{name}.json", std::process::id()))
}

#[test]
fn udp_downtime_of_a_stopped_echo() {
    // A tiny receive buffer drops the requests that arrive while the echo is
    // stopped, as an outage would, instead of queueing them.
    let mut echo = Probe::start(&["udp-echo", "--listen", "[::1]:0", "--rcvbuf", "1"]);
    let to = echo.listening_on().to_string();
    let out = report_path("udp");
    let out_arg = out.to_str().expect("a UTF-8 temp path");
    let mut client = Probe::start(&[
        "udp-client",
        "--to",
        &to,
        "--interval-ms",
        "10",
        "--duration-s",
        "1.2",
        "--out",
        out_arg,
    ]);
    sleep(Duration::from_millis(400));
    echo.pause(Duration::from_millis(300));
    client.wait_success();
    echo.signal(libc::SIGTERM);
    echo.wait_success();

    let report: UdpReport = read_report(&out).expect("the client's report");
    std::fs::remove_file(&out).expect("removing the report");
    let outage = report.outage.expect("an outage");
    assert!(
        (250.0..2000.0).contains(&report.downtime_ms),
        "downtime {} ms: {report:?}",
        report.downtime_ms
    );
    assert!(outage.lost > 0 && report.lost >= outage.lost);
    assert!(report.sent >= 100, "{report:?}");
    assert_eq!(report.outages.first(), Some(&outage));
    assert_eq!(report.unanswered_tail, 0);
    assert!(report.total_migration_time_ms > 1000.0);
}

#[test]
fn tcp_session_survives_a_stopped_server() {
    let server_out = report_path("tcp-server");
    let client_out = report_path("tcp-client");
    let mut server = Probe::start(&[
        "tcp-server",
        "--listen",
        "[::1]:0",
        "--out",
        server_out.to_str().expect("a UTF-8 temp path"),
    ]);
    let to = server.listening_on().to_string();
    let mut client = Probe::start(&[
        "tcp-client",
        "--to",
        &to,
        "--interval-ms",
        "10",
        "--duration-s",
        "1.2",
        "--out",
        client_out.to_str().expect("a UTF-8 temp path"),
    ]);
    sleep(Duration::from_millis(400));
    server.pause(Duration::from_millis(300));
    client.wait_success();
    server.wait_success();

    let sent: TcpReport = read_report(&client_out).expect("the client's report");
    let received: TcpServerReport = read_report(&server_out).expect("the server's report");
    std::fs::remove_file(&client_out).expect("removing a report");
    std::fs::remove_file(&server_out).expect("removing a report");
    assert!(sent.survived, "{sent:?}");
    assert!(sent.messages_sent >= 100, "{sent:?}");
    assert!(received.clean_close, "{received:?}");
    assert_eq!(received.bytes_received, sent.bytes_sent);
}
