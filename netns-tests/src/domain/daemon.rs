//! The background side of `tapmip-lab`: a supervisor process that owns a running
//! [`Domain`] inside its own user namespace, describes it in `DIR/state.json`, and
//! takes requests that need the domain itself (a migration, a WAN change) on
//! `DIR/lab.sock`. Everything else the CLI does straight on the routers' and
//! tapbridge's control sockets, whose files are linked into `DIR`.
//!
//! ```text
//! -> {"cmd":"migrate","vm":"vm1","to":"mag2","precopy_mb":64,"pause_ms":300}
//! <- {"ok":true,"tables":[{"title":"migration",...},{"title":"binding update list",...}]}
//! -> {"cmd":"wan","mag":"mag1","rtt_ms":30.0,"loss_pct":1.0}
//! <- {"ok":true}
//! ```
//!
//! The supervisor's processes die with it (see [`crate::Sandbox::spawn`]), and its
//! namespaces live only in its private mount and user namespaces, so killing it
//! removes the whole lab.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv6Addr};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use router::ctl::{MAX_LINE, Response, Table};
use serde::{Deserialize, Serialize};

use super::run::{Binaries, Domain, Tuning};
use super::topology::{CORE_PREFIX, LMA_CORE4, Topology};
use super::{MigrateOptions, MigrationTimes};
use crate::LabError;

pub const STATE_FILE: &str = "state.json";
pub const LOG_FILE: &str = "lab.log";
pub const LAB_SOCKET: &str = "lab.sock";

/// How long a client waits for the supervisor: a migration pre-copies its memory
/// across the emulated WAN first.
const ASK_TIMEOUT: Duration = Duration::from_secs(300);

/// What `DIR/state.json` says about a running lab.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub dir: PathBuf,
    pub supervisor_pid: u32,
    /// `/proc/PID/ns/user` of the supervisor: every process of the lab is in it.
    pub user_namespace: String,
    /// The lab's own scratch directory (logs, policy), inside `dir`.
    pub workdir: PathBuf,
    pub nodes: Vec<NodeState>,
    pub sockets: Vec<SocketState>,
    pub processes: Vec<ProcessState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeState {
    pub name: String,
    pub netns: String,
    /// IPv6 addresses first, then IPv4 ones.
    pub addresses: Vec<IpAddr>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SocketState {
    /// `lma`, a MAG's name, `bridge` or `lab`.
    pub name: String,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessState {
    pub name: String,
    pub pid: u32,
}

impl State {
    pub fn read(dir: &Path) -> Result<State, LabError> {
        let path = dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|error| LabError::Io {
            what: format!(
                "reading {} (is a lab up in {}?)",
                path.display(),
                dir.display()
            ),
            error,
        })?;
        serde_json::from_str(&text).map_err(|e| LabError::Check(format!("{}: {e}", path.display())))
    }

    pub fn node(&self, name: &str) -> Option<&NodeState> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn socket(&self, name: &str) -> Option<&Path> {
        self.sockets
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.path.as_path())
    }

    pub fn pid_of(&self, name: &str) -> Option<u32> {
        self.processes
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.pid)
    }
}

/// A request to the supervisor.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum LabRequest {
    /// Live-migrates a VM; answers its phases and the new MAG's handoff.
    Migrate {
        vm: String,
        to: String,
        precopy_mb: u64,
        pause_ms: u64,
        /// No hints to the MAGs: the handover is left to them (reactive).
        #[serde(default)]
        reactive: bool,
    },
    /// The message ladder of a VM's last attach or handoff.
    Trace { vm: String },
    /// Sets a MAG's WAN round trip and loss (per direction, in percent).
    Wan {
        mag: String,
        rtt_ms: f64,
        #[serde(default)]
        loss_pct: f64,
    },
}

/// Sends one request to the supervisor of the lab in `dir` and returns its tables.
pub fn ask(dir: &Path, request: &LabRequest) -> Result<Vec<Table>, LabError> {
    let path = dir.join(LAB_SOCKET);
    let io = |what: &str| {
        let what = format!("{}: {what}", path.display());
        move |error| LabError::Io { what, error }
    };
    let mut stream = UnixStream::connect(&path).map_err(io("connecting (is the lab up?)"))?;
    stream
        .set_read_timeout(Some(ASK_TIMEOUT))
        .map_err(io("setting a timeout"))?;
    let line = serde_json::to_string(request).map_err(|e| LabError::Check(e.to_string()))?;
    stream
        .write_all(format!("{line}\n").as_bytes())
        .map_err(io("sending"))?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(io("reading the answer"))?;
    let response: Response = serde_json::from_str(&answer).map_err(|e| {
        LabError::Check(format!("bad answer from the supervisor ({e}): {answer:?}"))
    })?;
    match response.error {
        Some(e) => Err(LabError::Check(e)),
        None => Ok(response.tables),
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn catch_stop_signals() {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_stop_signal as *const () as libc::sighandler_t);
        }
    }
}

type Job = (LabRequest, mpsc::Sender<Response>);

/// Brings the domain up, publishes `dir/state.json`, serves `dir/lab.sock` until
/// SIGTERM, SIGINT or SIGHUP, then takes everything down. Runs in the lab's user
/// namespace; the domain's scratch directory is created under `TMPDIR`.
pub fn supervise(dir: &Path, topology: Topology) -> Result<(), LabError> {
    catch_stop_signals();
    let binaries = Binaries::siblings()?;
    let tuning = Tuning::capturing_mobility(&topology);
    let mut domain = Domain::up(topology, binaries, &tuning)?;
    let listener = bind(&dir.join(LAB_SOCKET))?;
    let state = describe(dir, &domain)?;
    for s in state.sockets.iter().filter(|s| s.name != "lab") {
        let target = domain.sock(&s.name);
        let _ = std::fs::remove_file(&s.path);
        std::os::unix::fs::symlink(&target, &s.path).map_err(|error| LabError::Io {
            what: format!("linking {}", s.path.display()),
            error,
        })?;
    }
    write_state(dir, &state)?;
    println!("lab: up; state in {}", dir.join(STATE_FILE).display());
    let (jobs, queue) = mpsc::channel::<Job>();
    std::thread::spawn(move || serve(listener, jobs));
    while !STOP.load(Ordering::SeqCst) {
        if let Ok((request, reply)) = queue.recv_timeout(Duration::from_millis(200)) {
            println!("lab: request {request:?}");
            let response = match handle(&mut domain, &request) {
                Ok(tables) => Response::tables(tables),
                Err(e) => Response::error(e.to_string()),
            };
            let _ = reply.send(response);
        }
    }
    println!("lab: stopping");
    drop(domain);
    println!("lab: down");
    Ok(())
}

fn bind(path: &Path) -> Result<UnixListener, LabError> {
    let _ = std::fs::remove_file(path);
    UnixListener::bind(path).map_err(|error| LabError::Io {
        what: format!("binding {}", path.display()),
        error,
    })
}

/// Reads one request per connection and answers it with the main thread's result.
fn serve(listener: UnixListener, jobs: mpsc::Sender<Job>) {
    for stream in listener.incoming().flatten() {
        let mut line = String::new();
        let read = BufReader::new(&stream)
            .take(MAX_LINE as u64 + 1)
            .read_line(&mut line);
        let response = match read
            .map_err(|e| e.to_string())
            .and_then(|_| router::ctl::parse_line::<LabRequest>(&line))
        {
            Err(e) => Response::error(e),
            Ok(request) => {
                let (reply, answer) = mpsc::channel();
                if jobs.send((request, reply)).is_err() {
                    return;
                }
                answer
                    .recv()
                    .unwrap_or_else(|_| Response::error("the lab is stopping"))
            }
        };
        let _ = (&stream).write_all(response.to_line().as_bytes());
    }
}

fn handle(domain: &mut Domain, request: &LabRequest) -> Result<Vec<Table>, LabError> {
    match request {
        LabRequest::Migrate {
            vm,
            to,
            precopy_mb,
            pause_ms,
            reactive,
        } => migrate(domain, vm, to, *precopy_mb, *pause_ms, *reactive),
        LabRequest::Trace { vm } => Ok(vec![super::trace::table(&domain.trace(vm)?)]),
        LabRequest::Wan {
            mag,
            rtt_ms,
            loss_pct,
        } => {
            if !(0.0..=100.0).contains(loss_pct) || !(0.0..=10_000.0).contains(rtt_ms) {
                return Err(LabError::Check(format!(
                    "wan: rtt_ms {rtt_ms} must be within 0..=10000, loss_pct {loss_pct} within 0..=100"
                )));
            }
            domain.set_wan(mag, *rtt_ms, loss_pct / 100.0)?;
            Ok(Vec::new())
        }
    }
}

fn bul(domain: &Domain, mag: &str) -> Result<Table, LabError> {
    domain
        .router(mag, &router::ctl::Request::Bindings {})?
        .into_iter()
        .next()
        .ok_or_else(|| LabError::Check(format!("{mag} answered no binding table")))
}

fn migrate(
    domain: &mut Domain,
    vm: &str,
    to: &str,
    precopy_mb: u64,
    pause_ms: u64,
    reactive: bool,
) -> Result<Vec<Table>, LabError> {
    let mn_id = domain
        .topology
        .vm(vm)
        .ok_or_else(|| LabError::Check(format!("no VM named {vm}")))?
        .mn_id();
    if domain.topology.mag(to).is_none() {
        return Err(LabError::Check(format!("no MAG named {to}")));
    }
    let opts = MigrateOptions {
        precopy_bytes: precopy_mb << 20,
        pause: Duration::from_millis(pause_ms),
        hints: !reactive,
        ..Default::default()
    };
    let times = domain.migrate(vm, to, &opts)?;
    let handoff_ms = times.handoff_ms.map_or("-".into(), |h| format!("{h:.0}"));
    if domain.topology.mobility == super::Mobility::Mipv6 {
        let mut binding = domain.home_bindings()?;
        binding.title = format!("home agent: {}", binding.title);
        return Ok(vec![times_table(vm, &times, &handoff_ms), binding]);
    }
    let mut binding = bul(domain, to)?;
    let mn = binding.columns.iter().position(|c| c == "mn_id");
    binding
        .rows
        .retain(|r| mn.and_then(|i| r.get(i)).is_some_and(|m| *m == mn_id));
    binding.title = format!("{to}: {}", binding.title);
    Ok(vec![times_table(vm, &times, &handoff_ms), binding])
}

fn times_table(vm: &str, t: &MigrationTimes, handoff_ms: &str) -> Table {
    let ms = |d: Duration| d.as_millis().to_string();
    let mut table = Table::new(
        "migration",
        &[
            "vm",
            "from",
            "to",
            "precopy_ms",
            "paused_at_ms",
            "resumed_at_ms",
            "total_ms",
            "handoff_ms",
            "handover",
            "announced",
        ],
    );
    let announced: Vec<String> = t.announced.iter().map(ToString::to_string).collect();
    table.row(vec![
        vm.into(),
        t.from.clone(),
        t.to.clone(),
        ms(t.precopy),
        ms(t.paused_at),
        ms(t.resumed_at),
        ms(t.total),
        handoff_ms.into(),
        t.hinted_at.map_or("reactive".into(), |at| {
            format!("proactive (hints at {} ms)", at.as_millis())
        }),
        announced.join(" "),
    ]);
    table
}

/// The addresses of every node: the kernel hosts' as autoconfigured (and
/// leased), the routers' as the topology fixes them.
fn addresses_of(domain: &Domain, node: &str) -> Vec<IpAddr> {
    let t = &domain.topology;
    if node == "lma" {
        let core = CORE_PREFIX
            .parse::<ipnet::Ipv6Net>()
            .map(|n| Ipv6Addr::from(n.network().to_bits() | 1));
        let core4 = LMA_CORE4.parse::<ipnet::Ipv4Net>().map(|n| n.addr());
        return core
            .into_iter()
            .chain(t.mags.iter().map(|m| m.lma_address()))
            .map(IpAddr::V6)
            .chain(core4.into_iter().map(IpAddr::V4))
            .collect();
    }
    if let Some(m) = t.mag(node) {
        return vec![IpAddr::V6(m.proxy_coa())];
    }
    let v4 = domain.addresses4.iter().filter(|(n, _)| n == node);
    domain
        .address(node)
        .into_iter()
        .map(IpAddr::V6)
        .chain(v4.map(|(_, a)| IpAddr::V4(*a)))
        .collect()
}

fn describe(dir: &Path, domain: &Domain) -> Result<State, LabError> {
    let user_namespace = std::fs::read_link("/proc/self/ns/user")
        .map_err(|error| LabError::Io {
            what: "reading /proc/self/ns/user".into(),
            error,
        })?
        .display()
        .to_string();
    let nodes = domain
        .topology
        .nodes()
        .into_iter()
        .map(|name| NodeState {
            netns: domain.lab.ns(&name),
            addresses: addresses_of(domain, &name),
            name,
        })
        .collect();
    let sockets = std::iter::once("lma".to_string())
        .chain(domain.topology.mags.iter().map(|m| m.name.clone()))
        .chain(["bridge".to_string(), "lab".to_string()])
        .map(|name| SocketState {
            path: dir.join(format!("{name}.sock")),
            name,
        })
        .collect();
    let processes = std::iter::once(ProcessState {
        name: "supervisor".into(),
        pid: std::process::id(),
    })
    .chain(
        domain
            .lab
            .pids()
            .into_iter()
            .map(|(name, pid)| ProcessState { name, pid }),
    )
    .collect();
    Ok(State {
        dir: dir.to_path_buf(),
        supervisor_pid: std::process::id(),
        user_namespace,
        workdir: domain.lab.workdir().to_path_buf(),
        nodes,
        sockets,
        processes,
    })
}

/// Written whole then renamed, so a reader never sees half a state.
fn write_state(dir: &Path, state: &State) -> Result<(), LabError> {
    let path = dir.join(STATE_FILE);
    let partial = dir.join(format!("{STATE_FILE}.partial"));
    let text = serde_json::to_string_pretty(state).map_err(|e| LabError::Check(e.to_string()))?;
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|error| LabError::Io {
            what: format!("writing {}", path.display()),
            error,
        })
}
