//! `tapmip-probe`: the paper's measurement probes, run inside lab namespaces.
//!
//! ```text
//! tapmip-probe udp-echo   --listen [::]:7000
//! tapmip-probe udp-client --to [ADDR]:7000 --interval-ms 10 --duration-s N --out FILE.json
//! tapmip-probe tcp-server --listen [::]:7001 [--out FILE.json]
//! tapmip-probe tcp-client --to [ADDR]:7001 --interval-ms 10 --until-file PATH --out FILE.json
//! ```
//!
//! Clients end after `--duration-s`, when `--until-file` appears, or on
//! SIGTERM/SIGINT, whichever comes first, and then write their JSON report.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use argh::FromArgs;
use netns_tests::probe::{self, ProbeError, Until, report, tcp, udp};

/// tapmip measurement probes (service downtime, migration time, TCP survivability).
#[derive(FromArgs)]
struct Args {
    #[argh(subcommand)]
    command: Command,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    UdpEcho(UdpEcho),
    UdpClient(UdpClient),
    TcpServer(TcpServer),
    TcpClient(TcpClient),
}

/// answer UDP probe requests (the VM side) until SIGTERM/SIGINT
#[derive(FromArgs)]
#[argh(subcommand, name = "udp-echo")]
struct UdpEcho {
    /// address to listen on (default [::]:7000)
    #[argh(option, default = "\"[::]:7000\".parse().expect(\"a valid default\")")]
    listen: SocketAddr,
    /// receive buffer size in bytes, small so requests arriving while the echo is
    /// stopped are dropped rather than queued
    #[argh(option)]
    rcvbuf: Option<usize>,
}

/// send a UDP probe stream and report downtime and total migration time
#[derive(FromArgs)]
#[argh(subcommand, name = "udp-client")]
struct UdpClient {
    /// the echo's address, e.g. [2001:db8:1:1::10]:7000
    #[argh(option)]
    to: SocketAddr,
    /// interval between requests in ms (default 10)
    #[argh(option, default = "10")]
    interval_ms: u64,
    /// how long to send, in seconds
    #[argh(option)]
    duration_s: Option<f64>,
    /// stop sending when this file exists
    #[argh(option)]
    until_file: Option<PathBuf>,
    /// how long to wait for late echoes after the last request, in ms (default 500)
    #[argh(option, default = "500")]
    grace_ms: u64,
    /// where to write the JSON report
    #[argh(option)]
    out: PathBuf,
}

/// accept one TCP probe connection (the client side) and read it to its end
#[derive(FromArgs)]
#[argh(subcommand, name = "tcp-server")]
struct TcpServer {
    /// address to listen on (default [::]:7001)
    #[argh(option, default = "\"[::]:7001\".parse().expect(\"a valid default\")")]
    listen: SocketAddr,
    /// where to write the JSON report
    #[argh(option)]
    out: Option<PathBuf>,
}

/// keep a TCP probe connection busy (the VM side) and report whether it survived
#[derive(FromArgs)]
#[argh(subcommand, name = "tcp-client")]
struct TcpClient {
    /// the server's address, e.g. [2001:db8:c::100]:7001
    #[argh(option)]
    to: SocketAddr,
    /// interval between messages in ms (default 10)
    #[argh(option, default = "10")]
    interval_ms: u64,
    /// how long to send, in seconds
    #[argh(option)]
    duration_s: Option<f64>,
    /// stop sending when this file exists
    #[argh(option)]
    until_file: Option<PathBuf>,
    /// how long to retry connecting, in seconds (default 10)
    #[argh(option, default = "10")]
    connect_timeout_s: u64,
    /// TCP_USER_TIMEOUT in seconds: how long data may stay unacknowledged before
    /// the kernel drops the session (default 60)
    #[argh(option, default = "60")]
    user_timeout_s: u64,
    /// where to write the JSON report
    #[argh(option)]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    match run(args.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("tapmip-probe: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<ExitCode, String> {
    probe::catch_stop_signals().map_err(|e| e.to_string())?;
    match command {
        Command::UdpEcho(args) => {
            let socket = udp::bind_echo(args.listen, args.rcvbuf).map_err(|e| e.to_string())?;
            let bound = socket.local_addr().map_err(|e| e.to_string())?;
            println!("udp-echo: listening on {bound}");
            let stats = udp::echo(&socket).map_err(|e| e.to_string())?;
            println!(
                "udp-echo: {} echoed, {} ignored (no probe header), {} send errors",
                stats.echoed, stats.ignored, stats.send_errors
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::UdpClient(args) => {
            let (interval, until, start) =
                stream_end(args.interval_ms, args.duration_s, args.until_file)?;
            let config = udp::ClientConfig {
                to: args.to,
                interval,
                grace: Duration::from_millis(args.grace_ms),
            };
            let found = udp::client(&config, start, &until).map_err(|e| e.to_string())?;
            write(&args.out, &found)?;
            println!("{}", report::summary(&found));
            Ok(ExitCode::SUCCESS)
        }
        Command::TcpServer(args) => {
            let listener = TcpListener::bind(args.listen)
                .map_err(|e| format!("binding {}: {e}", args.listen))?;
            let bound = listener.local_addr().map_err(|e| e.to_string())?;
            println!("tcp-server: listening on {bound}");
            let found = tcp::server(&listener).map_err(|e| e.to_string())?;
            if let Some(out) = &args.out {
                write(out, &found)?;
            }
            println!(
                "tcp-server: {} bytes from {}, {}",
                found.bytes_received,
                found.peer.as_deref().unwrap_or("nobody"),
                found.error.as_deref().unwrap_or(if found.clean_close {
                    "closed cleanly"
                } else {
                    "not closed"
                })
            );
            Ok(if found.clean_close {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::TcpClient(args) => {
            let config = tcp::ClientConfig {
                to: args.to,
                interval: Duration::from_millis(args.interval_ms),
                connect_timeout: Duration::from_secs(args.connect_timeout_s),
                user_timeout: Duration::from_secs(args.user_timeout_s),
            };
            let stream = tcp::connect(&config).map_err(|e| e.to_string())?;
            let (interval, until, start) =
                stream_end(args.interval_ms, args.duration_s, args.until_file)?;
            let found = tcp::client(stream, interval, start, &until);
            write(&args.out, &found)?;
            println!("{}", report::tcp_summary(&found));
            Ok(if found.survived {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// The stream's interval, end condition and start, checked.
fn stream_end(
    interval_ms: u64,
    duration_s: Option<f64>,
    until_file: Option<PathBuf>,
) -> Result<(Duration, Until, Instant), String> {
    if interval_ms == 0 {
        return Err("--interval-ms must be at least 1".into());
    }
    if duration_s.is_none() && until_file.is_none() {
        return Err("give --duration-s, --until-file, or both".into());
    }
    let duration = duration_s
        .map(|s| Duration::try_from_secs_f64(s).map_err(|e| format!("--duration-s {s}: {e}")))
        .transpose()?;
    let start = Instant::now();
    Ok((
        Duration::from_millis(interval_ms),
        Until::new(start, duration, until_file),
        start,
    ))
}

fn write<T: serde::Serialize>(out: &Path, found: &T) -> Result<(), String> {
    report::write_report(out, found).map_err(|e: ProbeError| e.to_string())
}
