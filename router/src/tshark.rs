//! Wireshark's dissectors, through `tshark`, as a decoder written by other people:
//! tests and the lab hand it captures (see [`crate::pcap`]) to cross-check what
//! our encoders put on the wire.

use std::path::Path;
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum TsharkError {
    #[error("cannot run tshark ({0}): install it with `apt-get install tshark`")]
    Missing(std::io::Error),
    #[error("tshark {args:?} failed ({status}): {stderr}")]
    Failed {
        args: Vec<String>,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("{0} is not a UTF-8 path")]
    Path(String),
}

/// TCP payloads are neither reassembled nor analysed: nothing here reads them,
/// and a lab's WAN capture holds a migration's whole pre-copy stream, which
/// tshark otherwise takes ten times longer over.
const NO_TCP_ANALYSIS: [&str; 4] = [
    "-o",
    "tcp.desegment_tcp_streams:FALSE",
    "-o",
    "tcp.analyze_sequence_numbers:FALSE",
];

/// Runs tshark with `args` and returns what it printed. Times are rendered in UTC
/// so that output does not depend on the machine.
pub fn run(args: &[&str]) -> Result<String, TsharkError> {
    let output = Command::new("tshark")
        .args(NO_TCP_ANALYSIS)
        .args(args)
        .env("TZ", "UTC")
        .output()
        .map_err(TsharkError::Missing)?;
    if !output.status.success() {
        return Err(TsharkError::Failed {
            args: args.iter().map(|a| a.to_string()).collect(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// What Wireshark objects to in the frames of `pcap` that match the display
/// `filter` (every frame if empty): malformed frames and expert warnings or
/// errors, as its expert summary followed by the frames' one-line summaries;
/// `None` when there is nothing.
pub fn problems(pcap: &Path, filter: &str) -> Result<Option<String>, TsharkError> {
    let file = pcap
        .to_str()
        .ok_or_else(|| TsharkError::Path(pcap.display().to_string()))?;
    let scope = |condition: &str| match filter {
        "" => condition.to_string(),
        f => format!("({f}) && ({condition})"),
    };
    // Notes and chats (e.g. "sequence number 0") are not problems.
    let expert_arg = match filter {
        "" => "expert,warn".to_string(),
        f => format!("expert,warn,{f}"),
    };
    let expert = run(&["-r", file, "-q", "-z", &expert_arg])?;
    let frames = run(&[
        "-r",
        file,
        "-Y",
        &scope("_ws.malformed || _ws.expert.severity >= warning"),
    ])?;
    let flagged = ["Malformed", "Error", "Warn"]
        .iter()
        .any(|word| expert.contains(word));
    Ok((flagged || !frames.trim().is_empty()).then(|| format!("{expert}{frames}")))
}
