//! A [`Sandbox`]: network namespaces and background processes that belong to one test
//! or script run, and are all removed when it is dropped.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("cannot start `{cmd}`: {error}")]
    Spawn { cmd: String, error: std::io::Error },
    #[error(
        "`{cmd}` failed ({status}){}{}",
        section("stdout", stdout),
        section("stderr", stderr)
    )]
    Failed {
        cmd: String,
        status: ExitStatus,
        stdout: String,
        stderr: String,
    },
    #[error("{what}: {error}")]
    Io { what: String, error: std::io::Error },
    #[error("no process named {0:?} in this lab")]
    NoProcess(String),
    /// What a scenario expected did not happen; the text says what and why.
    #[error("{0}")]
    Check(String),
}

fn section(name: &str, text: &str) -> String {
    if text.trim().is_empty() {
        String::new()
    } else {
        format!("\n--- {name} ---\n{}", text.trim_end())
    }
}

struct Background {
    name: String,
    child: Child,
    log: PathBuf,
    /// The whole command line, to start it again.
    argv: Vec<String>,
}

/// Namespaces named `tm<pid>.<n>-<tag>-<short>` (`n` counts the sandboxes of this
/// process), so labs of concurrent runs, and of tests running in parallel threads of
/// one run, never meet.
pub struct Sandbox {
    prefix: String,
    namespaces: Vec<String>,
    background: Vec<Background>,
    workdir: PathBuf,
}

impl Sandbox {
    /// A lab with a fresh scratch directory for logs and files.
    pub fn new(tag: &str) -> Result<Sandbox, LabError> {
        static SANDBOXES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SANDBOXES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let prefix = format!("tm{}.{n}-{tag}", std::process::id());
        let workdir = std::env::temp_dir().join(format!("tapmip-{prefix}"));
        std::fs::create_dir_all(&workdir).map_err(|error| LabError::Io {
            what: format!("creating {}", workdir.display()),
            error,
        })?;
        Ok(Sandbox {
            prefix,
            namespaces: Vec::new(),
            background: Vec::new(),
            workdir,
        })
    }

    /// Where logs and files of this run go; removed on drop unless `TAPMIP_KEEP` is set.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The full `ip netns` name of the lab namespace `short`.
    pub fn ns(&self, short: &str) -> String {
        format!("{}-{short}", self.prefix)
    }

    /// The namespace file of `short`, what `setns` and the routers' `--port` take.
    pub fn ns_path(&self, short: &str) -> PathBuf {
        Path::new("/run/netns").join(self.ns(short))
    }

    /// Creates namespace `short`, bare: loopback down, no address, no route.
    pub fn add_ns(&mut self, short: &str) -> Result<(), LabError> {
        let name = self.ns(short);
        run(&["ip", "netns", "add", &name])?;
        self.namespaces.push(name);
        Ok(())
    }

    /// Runs `args` inside namespace `short` and returns its stdout.
    pub fn exec(&self, short: &str, args: &[&str]) -> Result<String, LabError> {
        run(&self.in_ns(short, args))
    }

    /// Like [`Sandbox::exec`], but a failure is a value rather than an error.
    pub fn try_exec(&self, short: &str, args: &[&str]) -> Result<Output, LabError> {
        output(&self.in_ns(short, args))
    }

    fn in_ns<'a>(&'a self, short: &str, args: &[&'a str]) -> Vec<String> {
        let mut full = vec!["ip".into(), "netns".into(), "exec".into(), self.ns(short)];
        full.extend(args.iter().map(|a| a.to_string()));
        full
    }

    /// Starts `args` in the background in namespace `short` (or here, if `None`),
    /// its stdout and stderr going to `<workdir>/<name>.log`.
    pub fn spawn(
        &mut self,
        short: Option<&str>,
        name: &str,
        args: &[&str],
    ) -> Result<(), LabError> {
        let argv: Vec<String> = match short {
            Some(short) => self.in_ns(short, args),
            None => args.iter().map(|a| a.to_string()).collect(),
        };
        self.launch(name, argv, false)
    }

    /// Kills background process `name` with SIGKILL, as a crash would (no
    /// clean-up of its own runs), and waits for it.
    pub fn kill(&mut self, name: &str) -> Result<(), LabError> {
        let bg = self.find(name)?;
        let io = |error| LabError::Io {
            what: format!("killing {name}"),
            error,
        };
        bg.child.kill().map_err(io)?;
        bg.child.wait().map_err(io)?;
        Ok(())
    }

    /// Starts background process `name` again with the command line it had,
    /// its log going on in the same file.
    pub fn respawn(&mut self, name: &str) -> Result<(), LabError> {
        let argv = self.find(name)?.argv.clone();
        self.launch(name, argv, true)
    }

    fn launch(&mut self, name: &str, argv: Vec<String>, append: bool) -> Result<(), LabError> {
        let log = self.workdir.join(format!("{name}.log"));
        let io = |what: &str| {
            let what = format!("{what} {}", log.display());
            move |error| LabError::Io { what, error }
        };
        let out = File::options()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&log)
            .map_err(io("opening"))?;
        let err = out.try_clone().map_err(io("duplicating"))?;
        let (program, rest) = argv
            .split_first()
            .ok_or_else(|| LabError::NoProcess(name.into()))?;
        let mut cmd = Command::new(program);
        cmd.args(rest).stdin(Stdio::null()).stdout(out).stderr(err);
        let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
        // SAFETY: the closure runs in the forked child before exec and calls only
        // async-signal-safe functions (prctl, getppid), allocating nothing.
        // The child dies with the thread that spawned it, so a lab whose owner
        // crashes or is killed leaves no process behind; the parent check closes
        // the race of the owner dying before prctl took effect.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    return Err(std::io::ErrorKind::BrokenPipe.into());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|error| LabError::Spawn {
            cmd: argv.join(" "),
            error,
        })?;
        self.background.push(Background {
            name: name.into(),
            child,
            log,
            argv,
        });
        Ok(())
    }

    /// The process id of every background process, by name.
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.background
            .iter()
            .map(|b| (b.name.clone(), b.child.id()))
            .collect()
    }

    /// Everything background process `name` printed so far.
    pub fn log_of(&self, name: &str) -> String {
        self.background
            .iter()
            .find(|b| b.name == name)
            .and_then(|b| std::fs::read_to_string(&b.log).ok())
            .unwrap_or_default()
    }

    /// The process id of background process `name` (the program itself: `ip netns
    /// exec` replaces itself with it).
    pub fn pid(&mut self, name: &str) -> Result<u32, LabError> {
        Ok(self.find(name)?.child.id())
    }

    /// Whether background process `name` has exited, and how.
    pub fn exited(&mut self, name: &str) -> Result<Option<ExitStatus>, LabError> {
        let bg = self.find(name)?;
        bg.child.try_wait().map_err(|error| LabError::Io {
            what: format!("checking on {name}"),
            error,
        })
    }

    /// Sends SIGTERM to `name`, waits up to `grace` for it (then SIGKILL), and
    /// returns its exit status and its whole log.
    pub fn stop(&mut self, name: &str, grace: Duration) -> Result<(ExitStatus, String), LabError> {
        let bg = self.find(name)?;
        let status = terminate(&mut bg.child, grace);
        let status = status.map_err(|error| LabError::Io {
            what: format!("stopping {name}"),
            error,
        })?;
        Ok((status, self.log_of(name)))
    }

    fn find(&mut self, name: &str) -> Result<&mut Background, LabError> {
        // A name is reused when a run starts its probes again: the latest is meant.
        self.background
            .iter_mut()
            .rev()
            .find(|b| b.name == name)
            .ok_or_else(|| LabError::NoProcess(name.into()))
    }
}

fn terminate(child: &mut Child, grace: Duration) -> std::io::Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    // The processes are `ip netns exec` replaced by the command itself, so the
    // signal reaches the program, which may print its counters before exiting.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stderr(Stdio::null())
        .status();
    let end = Instant::now() + grace;
    while Instant::now() < end {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill()?;
    child.wait()
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for bg in &mut self.background {
            let _ = terminate(&mut bg.child, Duration::from_secs(2));
        }
        for name in self.namespaces.iter().rev() {
            if let Err(e) = run(&["ip", "netns", "del", name]) {
                eprintln!("lab teardown: {e}");
            }
        }
        if std::env::var_os("TAPMIP_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.workdir);
        } else {
            eprintln!("lab: kept {}", self.workdir.display());
        }
    }
}

/// Runs a command to completion and returns its output, whatever its status.
pub fn output<S: AsRef<str>>(argv: &[S]) -> Result<Output, LabError> {
    let cmd = argv
        .iter()
        .map(|a| a.as_ref())
        .collect::<Vec<_>>()
        .join(" ");
    let (program, rest) = argv.split_first().ok_or_else(|| LabError::Spawn {
        cmd: cmd.clone(),
        error: std::io::ErrorKind::InvalidInput.into(),
    })?;
    Command::new(program.as_ref())
        .args(rest.iter().map(|a| a.as_ref()))
        .stdin(Stdio::null())
        .output()
        .map_err(|error| LabError::Spawn { cmd, error })
}

/// Runs a command that must succeed and returns its stdout.
pub fn run<S: AsRef<str>>(argv: &[S]) -> Result<String, LabError> {
    let out = output(argv)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    Err(LabError::Failed {
        cmd: argv
            .iter()
            .map(|a| a.as_ref())
            .collect::<Vec<_>>()
            .join(" "),
        status: out.status,
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
