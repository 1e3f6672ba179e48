//! `tapmipctl`: asks a running tapmip router for its state over its control socket
//! and prints the answer as tables (or the raw JSON line with `--json`).
//!
//! ```text
//! tapmipctl /tmp/lab/lma.sock bindings
//! tapmipctl /tmp/lab/mag1.sock counters
//! tapmipctl /tmp/lab/mag1.sock log debug
//! ```

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use argh::FromArgs;
use router::ctl::Response;

/// Query a tapmip router (lma, mag, tapmip-router) over its control socket.
#[derive(FromArgs)]
struct Args {
    /// print the raw JSON answer
    #[argh(switch)]
    json: bool,
    /// path of the router's control socket (its --ctl)
    #[argh(positional)]
    socket: PathBuf,
    /// bindings | neighbors | tunnels | routes | counters | status | log LEVEL
    #[argh(positional)]
    command: String,
    /// argument of the command (the level of `log`)
    #[argh(positional)]
    argument: Option<String>,
}

fn request_line(command: &str, argument: Option<&str>) -> anyhow::Result<String> {
    let mut req = serde_json::json!({ "cmd": command });
    match (command, argument) {
        ("log", Some(level)) => req["level"] = level.into(),
        ("log", None) => bail!("log needs a level: error, warn, info, debug or trace"),
        (_, Some(extra)) => bail!("{command} takes no argument (got '{extra}')"),
        _ => {}
    }
    Ok(format!("{req}\n"))
}

fn run(args: Args) -> anyhow::Result<()> {
    let line = request_line(&args.command, args.argument.as_deref())?;
    let mut stream = UnixStream::connect(&args.socket).with_context(|| {
        format!(
            "connecting to {} (is the router running?)",
            args.socket.display()
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(line.as_bytes())?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .context("reading the answer")?;
    if args.json {
        print!("{answer}");
        return Ok(());
    }
    let response: Response = serde_json::from_str(&answer).with_context(|| {
        format!("the router answered something that is not a response: {answer}")
    })?;
    if let Some(e) = response.error {
        bail!("{e}");
    }
    for table in &response.tables {
        println!("{}", table.render());
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(argh::from_env()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tapmipctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            request_line("counters", None).unwrap(),
            "{\"cmd\":\"counters\"}\n"
        );
        assert_eq!(
            request_line("log", Some("debug")).unwrap(),
            "{\"cmd\":\"log\",\"level\":\"debug\"}\n"
        );
        assert!(request_line("log", None).is_err());
        assert!(request_line("routes", Some("x")).is_err());
    }
}
