//! `tapmip-lab`: a PMIPv6 domain that stays up in the background, to look at and
//! play with from a shell: `up`, then `status`, `exec`, `migrate`, `link`,
//! `capture`, `wan`, and `down`.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use argh::FromArgs;
use netns_tests::LabError;
use netns_tests::domain::Topology;
use netns_tests::domain::daemon::{self, LOG_FILE, LabRequest, STATE_FILE, State};
use netns_tests::domain::run::RADIUS_PROCESS;
use netns_tests::domain::topology::Aaa;
use router::ctl::Table;

const DEFAULT_DIR: &str = "/tmp/tapmip-lab";
/// Domain::up waits up to 30 s for each host's address; a healthy lab takes seconds.
const UP_TIMEOUT: Duration = Duration::from_secs(180);
const DOWN_GRACE: Duration = Duration::from_secs(10);

/// A PMIPv6 domain (LMA, MAGs, VMs, correspondents) in network namespaces, in the
/// background (needs root, or an unprivileged user namespace and /dev/net/tun).
#[derive(FromArgs)]
struct Args {
    #[argh(subcommand)]
    cmd: Cmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Cmd {
    Up(Up),
    Supervise(Supervise),
    Exec(Exec),
    Status(Status),
    Migrate(Migrate),
    Capture(Capture),
    Link(Link),
    Wan(Wan),
    Trace(Trace),
    Down(Down),
    Demo(Demo),
}

fn default_dir() -> PathBuf {
    PathBuf::from(DEFAULT_DIR)
}

/// start a lab in the background and print its nodes, addresses and sockets
#[derive(FromArgs)]
#[argh(subcommand, name = "up")]
struct Up {
    /// topology file (TOML; default: the paper's testbed, mag1 + mag2, vm1, client)
    #[argh(option)]
    topology: Option<PathBuf>,
    /// the lab's directory: state.json, lab.log, the control sockets
    #[argh(option, default = "default_dir()")]
    dir: PathBuf,
    /// who authorises nodes: file (the policy file) or radius (a FreeRADIUS
    /// in namespace aaa); overrides the topology's `aaa`
    #[argh(option)]
    aaa: Option<Aaa>,
}

/// (internal) run the lab in the foreground; `up` starts this in a user namespace
#[derive(FromArgs)]
#[argh(subcommand, name = "supervise")]
struct Supervise {
    /// topology file
    #[argh(option)]
    topology: Option<PathBuf>,
    /// the lab's directory
    #[argh(option)]
    dir: PathBuf,
    /// overrides the topology's `aaa`
    #[argh(option)]
    aaa: Option<Aaa>,
}

/// run a command in a node's network namespace: exec NODE -- CMD...
#[derive(FromArgs)]
#[argh(subcommand, name = "exec")]
struct Exec {
    /// the node (lma, mag1, host1, client, vm1, ...)
    #[argh(positional)]
    node: String,
    /// the command and its arguments (options of exec go before NODE)
    #[argh(positional, greedy)]
    cmd: Vec<String>,
    /// the lab's directory
    #[argh(option, default = "default_dir()")]
    dir: PathBuf,
}

/// the binding cache, each MAG's binding update list, tapbridge's segments and counters
#[derive(FromArgs)]
#[argh(subcommand, name = "status")]
struct Status {
    /// the lab's directory
    #[argh(option, default = "default_dir()")]
    dir: PathBuf,
}

/// live-migrate a VM to another MAG and report its phases and handoff
#[derive(FromArgs)]
#[argh(subcommand, name = "migrate")]
struct Migrate {
    /// the VM
    #[argh(positional)]
    vm: String,
    /// the MAG to move it to
    #[argh(option)]
    to: String,
    /// memory pre-copied between the hypervisor hosts, in MiB
    #[argh(option, default = "64")]
    precopy_mb: u64,
    /// how long the VM is paused (stop-and-copy), in ms
    #[argh(option, default = "300")]
    pause_ms: u64,
    /// send the MAGs no hints: leave the handover to them (reactive)
    #[argh(switch)]
    reactive: bool,
    /// the lab's directory
    #[argh(option, default = "default_dir()")]
    dir: PathBuf,
}

/// capture a segment into a pcap file: capture SEGMENT FILE | capture SEGMENT stop
#[derive(FromArgs)]
#[argh(subcommand, name = "capture")]
struct Capture {
    /// the segment (core, wan1, access1, ...)
    #[argh(positional)]
    segment: String,
    /// the pcap file, or `stop`
    #[argh(positional)]
    file: String,
    /// the lab's directory
    #[argh(option, default = "default_dir()")]
    dir: PathBuf,
}

/// emulate a member's link: link MEMBER [in|out|both] delay=MS jitter=MS loss=PCT
/// burst=E%/X%/L% rate=BPS queue=FRAMES
#[derive(FromArgs)]
#[argh(subcommand, name = "link")]
struct Link {
    /// the member (lma-core, mag1-wan, vm1, client, ...)
    #[argh(positional)]
    member: String,
    /// direction and settings
    #[argh(positional)]
    settings: Vec<String>,
    /// the lab's directory
    #[argh(option, default = "default_dir()")]
    dir: PathBuf,
}

/// set a MAG's WAN round trip and loss (applied on the LMA's side, half each way)
#[derive(FromArgs)]
#[argh(subcommand, name = "wan")]
struct Wan {
    /// the MAG
    #[argh(positional)]
    mag: String,
    /// round trip in ms
    #[argh(option)]
    rtt_ms: f64,
    /// loss per direction, in percent
    #[argh(option, default = "0.0")]
    loss: f64,
    /// the lab's directory
    #[argh(option, default = "default_dir()")]
    dir: PathBuf,
}

/// the message ladder of a VM's last attach or handoff (RS/NA -> PBU -> PBA -> RA -> data)
#[derive(FromArgs)]
#[argh(subcommand, name = "trace")]
struct Trace {
    /// the VM
    #[argh(positional, default = "String::from(\"vm1\")")]
    vm: String,
    /// the lab's directory
    #[argh(option, default = "default_dir()")]
    dir: PathBuf,
}

/// the whole story in one run (what `make lab` does): up, attach, probes, migrate
/// vm1 mag1 -> mag2 over a 30 ms WAN, report, down
#[derive(FromArgs)]
#[argh(subcommand, name = "demo")]
struct Demo {
    /// where the captures are kept
    #[argh(option, default = "PathBuf::from(\"lab-out\")")]
    out: PathBuf,
    /// run in the current namespaces instead of a fresh user namespace
    #[argh(switch)]
    here: bool,
    /// make vm1 a real QEMU guest, live-migrated by QEMU (make lab-qemu)
    #[argh(switch)]
    qemu: bool,
}

/// stop the lab: every process and namespace, and remove its directory
#[derive(FromArgs)]
#[argh(subcommand, name = "down")]
struct Down {
    /// the lab's directory
    #[argh(option, default = "default_dir()")]
    dir: PathBuf,
}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    if !matches!(args.cmd, Cmd::Supervise(_)) {
        // SAFETY: no other thread runs yet. A client piped into `head` ends
        // quietly as other tools do; the supervisor keeps ignoring SIGPIPE, so a
        // client that hangs up cannot kill the lab.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let result = match args.cmd {
        Cmd::Up(a) => up(&a),
        Cmd::Supervise(a) => supervise(&a),
        Cmd::Exec(a) => return exec(&a),
        Cmd::Status(a) => status(&a.dir),
        Cmd::Migrate(a) => print_tables(daemon::ask(
            &a.dir,
            &LabRequest::Migrate {
                vm: a.vm,
                to: a.to,
                precopy_mb: a.precopy_mb,
                pause_ms: a.pause_ms,
                reactive: a.reactive,
            },
        )),
        Cmd::Capture(a) => capture(&a),
        Cmd::Link(a) => {
            let mut words = vec!["link", a.member.as_str()];
            words.extend(a.settings.iter().map(String::as_str));
            bridge(&a.dir, &words)
        }
        Cmd::Wan(a) => daemon::ask(
            &a.dir,
            &LabRequest::Wan {
                mag: a.mag,
                rtt_ms: a.rtt_ms,
                loss_pct: a.loss,
            },
        )
        .map(drop),
        Cmd::Trace(a) => print_tables(daemon::ask(&a.dir, &LabRequest::Trace { vm: a.vm })),
        Cmd::Down(a) => down(&a.dir),
        Cmd::Demo(a) => return demo(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tapmip-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Re-runs itself in a fresh user namespace (so the lab's namespaces and
/// processes vanish with it, even after Ctrl-C), unless `--here`.
fn demo(a: &Demo) -> ExitCode {
    if !a.here {
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => {
                eprintln!("tapmip-lab: locating this program: {e}");
                return ExitCode::FAILURE;
            }
        };
        let out = std::path::absolute(&a.out).unwrap_or_else(|_| a.out.clone());
        let out = out.display().to_string();
        let mut args = vec!["demo", "--here", "--out", &out];
        if a.qemu {
            args.push("--qemu");
        }
        let status = netns_tests::userns::command(&exe, &args).status();
        return match status {
            Ok(s) if s.success() => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("tapmip-lab: starting unshare (util-linux): {e}");
                ExitCode::FAILURE
            }
        };
    }
    let result = netns_tests::domain::Binaries::siblings()
        .and_then(|b| netns_tests::domain::demo::run(b, &a.out, a.qemu));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tapmip-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> LabError {
    move |error| LabError::Io { what, error }
}

fn print_tables(tables: Result<Vec<Table>, LabError>) -> Result<(), LabError> {
    let rendered: Vec<String> = tables?.iter().map(Table::render).collect();
    print!("{}", rendered.join("\n"));
    Ok(())
}

fn supervise(a: &Supervise) -> Result<(), LabError> {
    let mut topology = match &a.topology {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(io_err(format!("reading {}", file.display())))?;
            Topology::parse(&text).map_err(|e| LabError::Check(e.to_string()))?
        }
        None => Topology::default(),
    };
    if let Some(aaa) = a.aaa {
        topology.aaa = aaa;
    }
    daemon::supervise(&a.dir, topology)
}

fn up(a: &Up) -> Result<(), LabError> {
    if a.dir.join(STATE_FILE).exists() {
        return Err(LabError::Check(format!(
            "a lab is up in {0} (or was, and crashed): tapmip-lab down --dir {0}",
            a.dir.display()
        )));
    }
    std::fs::create_dir_all(&a.dir).map_err(io_err(format!("creating {}", a.dir.display())))?;
    let dir = a
        .dir
        .canonicalize()
        .map_err(io_err(format!("resolving {}", a.dir.display())))?;
    let log_path = dir.join(LOG_FILE);
    let log = std::fs::File::create(&log_path)
        .map_err(io_err(format!("creating {}", log_path.display())))?;
    let log2 = log
        .try_clone()
        .map_err(io_err(format!("duplicating {}", log_path.display())))?;
    let exe = std::env::current_exe().map_err(io_err("locating tapmip-lab".into()))?;
    let dir_arg = dir.display().to_string();
    let mut args = vec!["supervise".to_string(), "--dir".into(), dir_arg];
    if let Some(t) = &a.topology {
        let t = t
            .canonicalize()
            .map_err(io_err(format!("resolving {}", t.display())))?;
        args.extend(["--topology".into(), t.display().to_string()]);
    }
    if let Some(aaa) = a.aaa {
        args.extend(["--aaa".into(), aaa.to_string()]);
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = netns_tests::userns::command(&exe, &argv);
    // The lab's scratch directory (Sandbox::new) goes under DIR, so `down` finds its
    // processes by DIR in their command lines.
    cmd.env("TMPDIR", &dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    // SAFETY: setsid is async-signal-safe; the supervisor leaves this terminal's
    // session so closing the shell or ^C here does not stop the lab.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(io_err("starting the supervisor".into()))?;
    let start = Instant::now();
    let state = loop {
        if dir.join(STATE_FILE).exists() {
            break State::read(&dir)?;
        }
        let exited = child
            .try_wait()
            .map_err(io_err("checking on the supervisor".into()))?;
        if exited.is_some() || start.elapsed() > UP_TIMEOUT {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            eprintln!("--- {} ---\n{}", log_path.display(), text.trim_end());
            let _ = down(&dir);
            return Err(LabError::Check(match exited {
                Some(status) => {
                    format!("the lab did not come up: its supervisor exited ({status})")
                }
                None => format!("the lab did not come up within {UP_TIMEOUT:?}"),
            }));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    print!("{}", describe(&state));
    Ok(())
}

fn describe(state: &State) -> String {
    let mut nodes = Table::new("nodes", &["node", "netns", "addresses"]);
    for n in &state.nodes {
        let addrs: Vec<String> = n.addresses.iter().map(ToString::to_string).collect();
        nodes.row(vec![n.name.clone(), n.netns.clone(), addrs.join(" ")]);
    }
    let mut sockets = Table::new("control sockets", &["name", "path"]);
    for s in &state.sockets {
        sockets.row(vec![s.name.clone(), s.path.display().to_string()]);
    }
    let dir = state.dir.display();
    let opt = if state.dir == Path::new(DEFAULT_DIR) {
        String::new()
    } else {
        format!(" --dir {dir}")
    };
    let example = state
        .nodes
        .iter()
        .find(|n| n.name.starts_with("vm"))
        .and_then(|vm| vm.addresses.first())
        .map_or("ip addr".to_string(), |a| format!("ping -c3 {a}"));
    format!(
        "lab up in {dir} (supervisor pid {pid}, log {dir}/{LOG_FILE})\n\n{}\n{}\n\
         enter a node:    tapmip-lab exec{opt} NODE -- CMD   (e.g. tapmip-lab exec{opt} client -- {example})\n\
         look at it:      tapmip-lab status{opt}   (or tapmipctl {dir}/lma.sock status)\n\
         stop everything: tapmip-lab down{opt}\n",
        nodes.render(),
        sockets.render(),
        pid = state.supervisor_pid,
    )
}

fn exec(a: &Exec) -> ExitCode {
    let run = || -> Result<std::process::ExitStatus, LabError> {
        let state = State::read(&a.dir)?;
        let node = state.node(&a.node).ok_or_else(|| {
            let names: Vec<&str> = state.nodes.iter().map(|n| n.name.as_str()).collect();
            LabError::Check(format!(
                "no node {:?} (nodes: {})",
                a.node,
                names.join(", ")
            ))
        })?;
        if a.cmd.is_empty() {
            return Err(LabError::Check(
                "exec NODE -- CMD...: give a command".into(),
            ));
        }
        // Into the lab's user namespace (which owns its network namespaces) and
        // mount namespace (whose /run/netns holds their names). The lab's owner
        // keeps its credentials (it may not drop its groups there); root entering
        // another user's lab becomes that namespace's root, as its own uid is not
        // mapped there and would lose every capability on exec.
        let pid = state.supervisor_pid;
        let owner = std::fs::metadata(format!("/proc/{pid}"))
            .map_err(io_err(format!(
                "the supervisor {pid} is gone: tapmip-lab down"
            )))?
            .uid();
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        let mut nsenter = Command::new("nsenter");
        if owner == me {
            nsenter.arg("--preserve-credentials");
        }
        nsenter
            .args(["-U", "-m", "-t", &pid.to_string()])
            .args(["ip", "netns", "exec", &node.netns])
            .args(&a.cmd)
            .status()
            .map_err(io_err("running nsenter".into()))
    };
    match run() {
        Ok(status) => {
            use std::os::unix::process::ExitStatusExt;
            let code = status
                .code()
                .or_else(|| status.signal().map(|s| 128 + s))
                .unwrap_or(1);
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Err(e) => {
            eprintln!("tapmip-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One request to tapbridge, given as `tapbridge ctl` words.
fn bridge(dir: &Path, words: &[&str]) -> Result<(), LabError> {
    let request = tapbridge::ctl::request_from_words(words).map_err(LabError::Check)?;
    print_tables(ask_socket(&dir.join("bridge.sock"), &request))
}

fn ask_socket(path: &Path, request: &impl serde::Serialize) -> Result<Vec<Table>, LabError> {
    let line = serde_json::to_string(request).map_err(|e| LabError::Check(e.to_string()))?;
    router::netio::client::ask_tables(path, &line).map_err(|e| LabError::Check(e.to_string()))
}

fn capture(a: &Capture) -> Result<(), LabError> {
    if a.file == "stop" {
        return bridge(&a.dir, &["capture", &a.segment, "stop"]);
    }
    // tapbridge runs elsewhere: a relative path would land in its directory.
    let file = std::path::absolute(&a.file).map_err(io_err(format!("resolving {}", a.file)))?;
    let file = file.display().to_string();
    bridge(&a.dir, &["capture", &a.segment, &file])
}

/// The lab's FreeRADIUS and what each router asked it.
fn aaa_table(state: &State, pid: u32) -> Result<Vec<Table>, LabError> {
    let mut t = Table::new(
        &format!(
            "FreeRADIUS (pid {pid}, namespace aaa, log {}/{RADIUS_PROCESS}.log)",
            state.workdir.display()
        ),
        &["router", "requests", "accepted", "refused", "unanswered"],
    );
    let routers = state
        .sockets
        .iter()
        .filter(|s| s.name != "bridge" && s.name != "lab");
    for s in routers {
        let tables = ask_socket(&s.path, &router::ctl::Request::Status {})?;
        let counter = |name: &str| -> u64 {
            tables
                .iter()
                .filter(|t| t.title == "counters")
                .flat_map(|t| &t.rows)
                .filter(|r| r.first().is_some_and(|c| c.starts_with(name)))
                .filter_map(|r| r.get(1)?.parse::<u64>().ok())
                .sum()
        };
        t.row(vec![
            s.name.clone(),
            counter("radius.request").to_string(),
            counter("aaa.accept").to_string(),
            (counter("aaa.refuse") - counter("aaa.refuse.unreachable")).to_string(),
            counter("aaa.refuse.unreachable").to_string(),
        ]);
    }
    Ok(vec![t])
}

fn status(dir: &Path) -> Result<(), LabError> {
    let state = State::read(dir)?;
    let mut asks: Vec<(String, Result<Vec<Table>, LabError>)> = Vec::new();
    let routers = state
        .sockets
        .iter()
        .filter(|s| s.name != "bridge" && s.name != "lab");
    for s in routers {
        asks.push((
            s.name.clone(),
            ask_socket(&s.path, &router::ctl::Request::Bindings {}),
        ));
    }
    if let Some(pid) = state.pid_of(RADIUS_PROCESS) {
        asks.push(("aaa".into(), aaa_table(&state, pid)));
    }
    let bridge_sock = dir.join("bridge.sock");
    for request in [
        tapbridge::ctl::Request::Segments {},
        tapbridge::ctl::Request::Counters {},
    ] {
        asks.push(("bridge".into(), ask_socket(&bridge_sock, &request)));
    }
    let mut failed = 0;
    for (name, answer) in asks {
        match answer {
            Ok(tables) => {
                for t in tables {
                    println!("[{name}] {}", t.render());
                }
            }
            Err(e) => {
                failed += 1;
                println!("[{name}] unreachable: {e}\n");
            }
        }
    }
    if failed > 0 {
        return Err(LabError::Check(format!(
            "{failed} control sockets did not answer"
        )));
    }
    Ok(())
}

/// Stops the supervisor (which takes its processes and namespaces with it), then
/// kills whatever of the lab is left, however the lab ended, and removes `dir`.
fn down(dir: &Path) -> Result<(), LabError> {
    if !dir.exists() {
        println!("no lab in {}", dir.display());
        return Ok(());
    }
    let dir = dir
        .canonicalize()
        .map_err(io_err(format!("resolving {}", dir.display())))?;
    let state = State::read(&dir).ok();
    if let Some(s) = &state {
        let pid = s.supervisor_pid;
        if is_lab_process(pid, &dir, s) {
            signal(pid, libc::SIGTERM);
            let end = Instant::now() + DOWN_GRACE;
            while alive(pid) && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(50));
            }
            if alive(pid) {
                eprintln!(
                    "tapmip-lab: supervisor {pid} ignored SIGTERM for {DOWN_GRACE:?}; killing it"
                );
                signal(pid, libc::SIGKILL);
            }
        }
    }
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let left = leftovers(&dir, state.as_ref());
        if left.is_empty() {
            break;
        }
        if Instant::now() > end {
            return Err(LabError::Check(format!(
                "processes of the lab survive SIGKILL: {left:?}"
            )));
        }
        for pid in left {
            signal(pid, libc::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::remove_dir_all(&dir).map_err(io_err(format!("removing {}", dir.display())))?;
    println!("lab in {} is down", dir.display());
    Ok(())
}

fn signal(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory effects; the pid was checked to be the lab's.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Running, not a zombie waiting for a parent (in a container, maybe forever).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|s| s != "Z" && s != "X")
    })
}

/// Whether `pid` belongs to the lab in `dir`: DIR on its command line (the
/// supervisor, the routers, tapbridge) or in the lab's user namespace (also
/// anything `exec` started).
fn is_lab_process(pid: u32, dir: &Path, state: &State) -> bool {
    cmdline_mentions(pid, dir)
        || std::fs::read_link(format!("/proc/{pid}/ns/user"))
            .is_ok_and(|ns| ns.display().to_string() == state.user_namespace)
}

fn cmdline_mentions(pid: u32, dir: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let needle = dir.as_os_str().as_encoded_bytes();
    cmdline.windows(needle.len()).any(|w| w == needle)
}

/// This process and its ancestors, which may mention DIR (a shell running `down`).
fn ours() -> Vec<u32> {
    let mut pids = vec![std::process::id()];
    while let Some(&pid) = pids.last() {
        let ppid = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                let (_, rest) = s.rsplit_once(')')?;
                rest.split_whitespace().nth(1)?.parse::<u32>().ok()
            });
        match ppid {
            Some(p) if p > 1 && !pids.contains(&p) => pids.push(p),
            _ => break,
        }
    }
    pids
}

/// Live processes of the lab in `dir`, but never this one or its ancestors.
fn leftovers(dir: &Path, state: Option<&State>) -> Vec<u32> {
    let ours = ours();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| !ours.contains(pid) && alive(*pid))
        .filter(|&pid| match state {
            Some(s) => is_lab_process(pid, dir, s),
            None => cmdline_mentions(pid, dir),
        })
        .collect()
}
