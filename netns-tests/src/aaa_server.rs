//! A real FreeRADIUS for tests: a small configuration generated in a temporary
//! directory (one client, the `files` module, no EAP, no user switch, so it also
//! runs as an unprivileged user inside `unshare -Urn`), started in the
//! foreground on a free loopback port, stopped on drop.
//!
//! FreeRADIUS 3.2 (Debian 12) puts a Message-Authenticator in Access-Accepts and
//! -Rejects only when the configuration asks for one: `post-auth` adds it to
//! every reply here, as a BlastRADIUS-hardened server does by default.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::LabError;

/// One `users` file entry (the `files` module): a user the server accepts with
/// reply attributes, or rejects with a Reply-Message.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    /// Check items, e.g. `Calling-Station-Id == "52-54-00-AA-00-01"`.
    pub checks: Vec<String>,
    /// Reply items, e.g. `Framed-IPv6-Prefix = 2001:db8:1:1::/64`.
    pub reply: Vec<String>,
    /// `Some(reason)`: reject with this Reply-Message.
    pub reject: Option<String>,
}

impl User {
    pub fn accept(name: &str, checks: &[&str], reply: &[&str]) -> User {
        User {
            name: name.into(),
            checks: checks.iter().map(|c| c.to_string()).collect(),
            reply: reply.iter().map(|r| r.to_string()).collect(),
            reject: None,
        }
    }

    pub fn reject(name: &str, reason: &str) -> User {
        User {
            name: name.into(),
            checks: Vec::new(),
            reply: Vec::new(),
            reject: Some(reason.into()),
        }
    }
}

pub struct FreeRadius {
    child: Child,
    dir: PathBuf,
    address: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

/// The server binary: Debian calls it `freeradius`, upstream `radiusd`; both live
/// in /usr/sbin, which an unprivileged user's PATH often lacks.
fn binary() -> Result<&'static str, LabError> {
    [
        "freeradius",
        "radiusd",
        "/usr/sbin/freeradius",
        "/usr/sbin/radiusd",
    ]
    .into_iter()
    .find(|name| {
        Command::new(name)
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    })
    .ok_or_else(|| {
        LabError::Check(
            "FreeRADIUS is not installed: apt-get install freeradius freeradius-utils".into(),
        )
    })
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> LabError {
    move |error| LabError::Io { what, error }
}

/// A loopback UDP port nobody uses now (it may be taken before FreeRADIUS binds
/// it; [`FreeRadius::start`] then fails with FreeRADIUS' own message).
pub fn free_port() -> Result<u16, LabError> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(io("binding a probe socket".into()))?;
    let addr = socket
        .local_addr()
        .map_err(io("reading the probe socket".into()))?;
    Ok(addr.port())
}

/// Brings loopback up where it is down: a fresh network namespace (`unshare
/// -Urn`) starts so; elsewhere it is up and nothing is run (an unprivileged user
/// could not).
pub fn loopback_up() -> Result<(), LabError> {
    // Asked over netlink: /sys may still show the namespace it was mounted in.
    let link = crate::sandbox::run(&["ip", "-o", "link", "show", "lo"])?;
    let flags = link.split(['<', '>']).nth(1).unwrap_or_default();
    if flags.split(',').any(|f| f == "UP") {
        return Ok(());
    }
    crate::sandbox::run(&["ip", "link", "set", "lo", "up"]).map(|_| ())
}

fn users_file(users: &[User]) -> String {
    let mut out = String::new();
    for user in users {
        let mut check = user.checks.clone();
        match &user.reject {
            Some(_) => check.push("Auth-Type := Reject".into()),
            None => check.push("Auth-Type := Accept".into()),
        }
        let _ = writeln!(out, "\"{}\" {}", user.name, check.join(", "));
        let mut reply = user.reply.clone();
        if let Some(reason) = &user.reject {
            reply.push(format!("Reply-Message = \"{reason}\""));
        }
        let _ = writeln!(out, "\t{}\n", reply.join(",\n\t"));
    }
    // Anyone else, or a known user whose checks fail: rejected, saying so.
    out.push_str(
        "DEFAULT Auth-Type := Reject\n\tReply-Message = \"unknown node or wrong caller\"\n",
    );
    out
}

fn radiusd_conf(dir: &Path, port: u16, secret: &str) -> String {
    // Every router of a lab asks from loopback in the AAA namespace, as the
    // tests do from theirs: one client entry serves them all.
    let d = dir.display();
    format!(
        r#"raddbdir = {d}
confdir = {d}
prefix = /usr
logdir = {d}
run_dir = {d}
libdir = /usr/lib/freeradius
pidfile = {d}/radiusd.pid
max_request_time = 5
log {{
    destination = stdout
    auth = yes
}}
security {{
    allow_core_dumps = no
}}
client tests {{
    ipaddr = 127.0.0.1
    secret = {secret}
    require_message_authenticator = yes
}}
modules {{
    files {{
        filename = {d}/users
    }}
}}
server default {{
    listen {{
        type = auth
        ipaddr = 127.0.0.1
        port = {port}
    }}
    authorize {{
        files
    }}
    authenticate {{
    }}
    post-auth {{
        update reply {{
            Message-Authenticator := 0x00
        }}
        Post-Auth-Type REJECT {{
            update reply {{
                Message-Authenticator := 0x00
            }}
        }}
    }}
}}
"#
    )
}

/// Writes a FreeRADIUS configuration for `users` answering on loopback port
/// `port` with `secret` into `dir` (created 0700: FreeRADIUS refuses a
/// configuration others may change) and returns the command line that runs
/// it in the foreground, logging to stdout.
pub fn configure(
    dir: &Path,
    port: u16,
    secret: &str,
    users: &[User],
) -> Result<Vec<String>, LabError> {
    let program = binary()?;
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(io(format!("chmod {}", dir.display())))?;
    let conf = dir.join("radiusd.conf");
    std::fs::write(&conf, radiusd_conf(dir, port, secret))
        .map_err(io(format!("writing {}", conf.display())))?;
    let users_path = dir.join("users");
    std::fs::write(&users_path, users_file(users))
        .map_err(io(format!("writing {}", users_path.display())))?;
    Ok([program, "-f", "-l", "stdout", "-d"]
        .iter()
        .map(|a| a.to_string())
        .chain(std::iter::once(dir.display().to_string()))
        .collect())
}

/// The line FreeRADIUS logs once it answers requests.
pub const READY_LINE: &str = "Ready to process requests";

impl FreeRadius {
    /// Writes the configuration into a fresh temporary directory named after
    /// `tag` (0700: FreeRADIUS refuses a configuration others may change; removed
    /// on drop unless `TAPMIP_KEEP` is set) and starts the server on a free
    /// loopback port; returns once it is ready to process requests.
    pub fn start(tag: &str, secret: &str, users: &[User]) -> Result<FreeRadius, LabError> {
        loopback_up()?;
        let dir = std::env::temp_dir().join(format!("tapmip-radius-{}-{tag}", std::process::id()));
        let dir = dir.as_path();
        let port = free_port()?;
        let argv = configure(dir, port, secret, users)?;
        let cmd = argv.join(" ");
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| LabError::Check("no FreeRADIUS command".into()))?;
        let mut child = Command::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| LabError::Spawn {
                cmd: cmd.clone(),
                error,
            })?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = Arc::clone(&log);
            let ready = ready_tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if line.contains(READY_LINE) {
                        let _ = ready.send(());
                    }
                    if let Ok(mut log) = log.lock() {
                        log.push(line);
                    }
                }
            });
        }
        let mut server = FreeRadius {
            child,
            dir: dir.to_path_buf(),
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        };
        if ready_rx.recv_timeout(Duration::from_secs(20)).is_err() {
            let exited = server.child.try_wait().ok().flatten();
            return Err(LabError::Check(format!(
                "`{cmd}` did not become ready ({}):\n{}",
                exited.map_or("still running".to_string(), |s| s.to_string()),
                server.log_text()
            )));
        }
        Ok(server)
    }

    /// Where it listens for Access-Requests.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// What it logged so far (one "Login OK" / "Login incorrect" line per request).
    pub fn log_text(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// The log once `done` holds for it, or after `limit`: FreeRADIUS may
    /// write a request's log lines after its reply has arrived.
    pub fn log_when(&self, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let until = std::time::Instant::now() + limit;
        loop {
            let log = self.log_text();
            if done(&log) || std::time::Instant::now() >= until {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its configuration and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("TAPMIP_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
