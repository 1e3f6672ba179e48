//! A one-line-per-event stderr logger: `name: message`, the level only when it
//! is not plain information, so a lab's interleaved output stays readable.

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Logger {
    name: String,
    level: LevelFilter,
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        match record.level() {
            Level::Info => eprintln!("{}: {}", self.name, record.args()),
            level => eprintln!(
                "{}: {}: {}",
                self.name,
                level.as_str().to_lowercase(),
                record.args()
            ),
        }
    }

    fn flush(&self) {}
}

/// Installs the logger for the process; a second call is ignored.
pub fn init(name: &str, level: LevelFilter) {
    let logger = Logger {
        name: name.to_string(),
        level,
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(level);
    }
}

/// Parses the arguments after a subcommand (`lma home-agent ...`): `Ok` with
/// them, or `Err` with the exit code once `--help` (success) or the error
/// (failure) is printed.
pub fn subcommand_args<A: argh::FromArgs>(
    command: &str,
    rest: &[String],
) -> Result<A, std::process::ExitCode> {
    let words: Vec<&str> = rest.iter().map(String::as_str).collect();
    A::from_args(&[command], &words).map_err(|early| {
        if early.status.is_ok() {
            println!("{}", early.output);
            std::process::ExitCode::SUCCESS
        } else {
            eprintln!("{}", early.output);
            std::process::ExitCode::FAILURE
        }
    })
}

/// The `main` of a router binary: logs as `name` (debug when `verbose`), runs
/// `run`, and turns its error into a logged line and a failure exit code.
pub fn run_main(
    name: &str,
    verbose: bool,
    run: impl FnOnce() -> anyhow::Result<()>,
) -> std::process::ExitCode {
    let level = if verbose {
        LevelFilter::Debug
    } else {
        LevelFilter::Info
    };
    init(name, level);
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
