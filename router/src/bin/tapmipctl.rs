//! `tapmipctl`: asks a running tapmip router for its state over its control socket
//! and prints the answer as tables (or the raw JSON line with `--json`).
//!
//! ```text
//! tapmipctl /tmp/lab/lma.sock bindings
//! tapmipctl /tmp/lab/mag1.sock counters
//! tapmipctl /tmp/lab/mag1.sock log debug
//! tapmipctl /tmp/lab/lma.sock reload_keys
//! tapmipctl /tmp/lab/mag2.sock arriving 52:54:00:aa:00:01
//! tapmipctl /tmp/lab/mag1.sock leaving vm1@tapmip
//! ```
//!
//! `arriving` and `leaving` are a hypervisor's hints to a MAG about a live
//! migration (docs/proactive.md); NODE is the node's MAC or its MN-ID.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use argh::FromArgs;
use router::netio::client::ask;

/// Query a tapmip router (lma, mag, tapmip-router) over its control socket.
#[derive(FromArgs)]
struct Args {
    /// print the raw JSON answer
    #[argh(switch)]
    json: bool,
    /// path of the router's control socket (its --ctl)
    #[argh(positional)]
    socket: PathBuf,
    /// bindings | neighbors | tunnels | routes | counters | status | log LEVEL |
    /// reload_keys (LMA, MAG: re-read the key files, for a key rollover) |
    /// arriving NODE | leaving NODE
    #[argh(positional)]
    command: String,
    /// argument of the command (the level of `log`, the MAC or MN-ID of a hint)
    #[argh(positional)]
    argument: Option<String>,
}

fn request_line(command: &str, argument: Option<&str>) -> anyhow::Result<String> {
    let mut req = serde_json::json!({ "cmd": command });
    match (command, argument) {
        ("log", Some(level)) => req["level"] = level.into(),
        ("log", None) => bail!("log needs a level: error, warn, info, debug or trace"),
        ("arriving" | "leaving", Some(node)) if node.parse::<router::mac::Mac>().is_ok() => {
            req["mac"] = node.into()
        }
        ("arriving" | "leaving", Some(node)) => req["mn_id"] = node.into(),
        ("arriving" | "leaving", None) => bail!("{command} needs the node: its MAC or MN-ID"),
        (_, Some(extra)) => bail!("{command} takes no argument (got '{extra}')"),
        _ => {}
    }
    Ok(format!("{req}\n"))
}

fn run(args: Args) -> anyhow::Result<()> {
    let line = request_line(&args.command, args.argument.as_deref())?;
    print!("{}", ask(&args.socket, &line, args.json)?);
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
        assert_eq!(
            request_line("arriving", Some("52:54:00:aa:00:01")).unwrap(),
            "{\"cmd\":\"arriving\",\"mac\":\"52:54:00:aa:00:01\"}\n"
        );
        assert_eq!(
            request_line("leaving", Some("vm1@tapmip")).unwrap(),
            "{\"cmd\":\"leaving\",\"mn_id\":\"vm1@tapmip\"}\n"
        );
        assert!(request_line("leaving", None).is_err());
        assert!(request_line("routes", Some("x")).is_err());
    }
}
