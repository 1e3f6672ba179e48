//! `tapbridge`: the lab's Ethernet switch, and `tapbridge ctl`, its control client.
//!
//! ```text
//! tapbridge --ctl /run/tapbridge.sock \
//!     --segment s1=tap:/run/netns/h1:eth0,mac=52:54:00:aa:00:01,attach:/run/netns/r:wan0 \
//!     --segment s2=tap:/run/netns/h2:eth0,attach:/run/netns/r:wan1
//! tapbridge --config lab.toml
//! tapbridge ctl /run/tapbridge.sock segments
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use argh::FromArgs;
use log::{LevelFilter, info};
use router::Duration;
use router::netio::client::ask;
use router::netio::{EventLoop, Stop, logger};
use tapbridge::bridge::Bridge;
use tapbridge::config::{self, SegmentSpec};
use tapbridge::ctl::request_from_words;
use tapbridge::io::{Member, Switch};

/// The tapmip lab switch: joins TAP devices and routers' interfaces into segments.
#[derive(FromArgs)]
struct Args {
    /// TOML file of segments (see the crate docs); combines with --segment
    #[argh(option)]
    config: Option<PathBuf>,
    /// NAME=MEMBER,MEMBER...; a member is tap:NETNS_PATH:IFNAME[,mac=M][,mtu=N][,name=S],
    /// attach:NETNS_PATH:IFNAME[,name=S], dgram:SOCKET[,peer=SOCKET][,name=S] or
    /// stream:SOCKET[,name=S] (QEMU's -netdev dgram / stream); repeat per segment
    #[argh(option)]
    segment: Vec<SegmentSpec>,
    /// unix socket path for control requests (JSON lines)
    #[argh(option)]
    ctl: Option<PathBuf>,
    /// seconds a learnt MAC address lives without traffic (default 300)
    #[argh(option)]
    aging_secs: Option<u64>,
    /// SEGMENT=FILE: capture a segment into a pcap file from the first frame on
    #[argh(option)]
    capture: Vec<String>,
    /// seed of the link emulation's loss and jitter draws (default 1)
    #[argh(option, default = "1")]
    seed: u64,
    /// log every learning decision, not only events
    #[argh(switch, short = 'v')]
    verbose: bool,
    #[argh(subcommand)]
    command: Option<Command>,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    Ctl(CtlArgs),
}

/// Send one request to a running tapbridge and print the answer as tables.
#[derive(FromArgs)]
#[argh(subcommand, name = "ctl")]
struct CtlArgs {
    /// print the raw JSON answer
    #[argh(switch)]
    json: bool,
    /// the control socket
    #[argh(positional)]
    socket: PathBuf,
    /// the request: segments | counters | links | log LEVEL | link MEMBER [in|out|both]
    /// [delay=MS] [jitter=MS] [loss=PCT] [burst=E%/X%/L%] [rate=BPS] [queue=N] |
    /// capture SEGMENT FILE|stop | pause MEMBER | resume MEMBER |
    /// move MEMBER --to SEGMENT | announce MEMBER --addr ADDR... [--mac MAC]
    #[argh(positional, greedy)]
    words: Vec<String>,
}

fn run(args: Args) -> anyhow::Result<()> {
    let stop = Stop::on_signals().context("routing SIGTERM/SIGINT to the event loop")?;
    let mut segments: Vec<SegmentSpec> = Vec::new();
    let mut aging = args.aging_secs;
    if let Some(path) = &args.config {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let (from_file, file_aging) =
            config::parse_file(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        segments.extend(from_file);
        aging = aging.or(file_aging);
    }
    segments.extend(args.segment);
    if segments.is_empty() {
        bail!("no segment given: use --segment or --config");
    }
    let aging = Duration::from_secs(aging.unwrap_or(300));
    let configs = config::member_configs(&segments);
    let bridge = Bridge::new(&configs, aging, args.seed)?;
    let mut members = Vec::new();
    for spec in segments.iter().flat_map(|s| &s.members) {
        members.push(Member::open(spec)?);
        info!("member {}: {} joined", spec.name, spec.endpoint);
    }
    let mut event_loop = EventLoop::new(members, stop).context("event loop")?;
    if let Some(ctl) = &args.ctl {
        event_loop = event_loop.with_control(ctl).context("event loop")?;
    }
    let mut switch = Switch::new(bridge, event_loop.epoch());
    for c in &args.capture {
        let (segment, file) = c
            .split_once('=')
            .with_context(|| format!("--capture {c}: expected SEGMENT=FILE"))?;
        let answer = switch.capture(segment, Some(file));
        if let Some(e) = answer.error {
            bail!("--capture {c}: {e}");
        }
        info!("capturing segment {segment} into {file}");
    }
    for s in &segments {
        let names: Vec<&str> = s.members.iter().map(|m| m.name.as_str()).collect();
        info!("segment {}: {}", s.name, names.join(", "));
    }
    info!("running; SIGTERM or SIGINT stops");
    let reason = event_loop.run(&mut switch)?;
    info!("stopped by {reason}");
    for row in switch.bridge.counters_table().rows {
        info!("{}", row.join(" "));
    }
    Ok(())
}

fn ctl(args: CtlArgs) -> anyhow::Result<()> {
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    let request = request_from_words(&words).map_err(|e| anyhow::anyhow!(e))?;
    let line = serde_json::to_string(&request)?;
    print!("{}", ask(&args.socket, &line, args.json)?);
    Ok(())
}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    let result = match args.command {
        Some(Command::Ctl(ctl_args)) => ctl(ctl_args),
        None => {
            let level = if args.verbose {
                LevelFilter::Debug
            } else {
                LevelFilter::Info
            };
            logger::init("tapbridge", level);
            run(args)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tapbridge: {e:#}");
            ExitCode::FAILURE
        }
    }
}
