//! The lab's command channel into a guest: its second serial port, a unix
//! socket QEMU serves, where the guest's init runs one shell command per line
//! (see `guest/init.sh`):
//!
//! ```text
//! -> t42 ip -6 -o addr show dev eth0
//! <- 2: eth0    inet6 2001:db8:1:1:5054:ff:feaa:1/64 scope global dynamic ...
//! <- t42 0
//! ```
//!
//! The serial port migrates with the guest: after a migration the channel is
//! the target QEMU's socket.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::LabError;

static NEXT: AtomicU64 = AtomicU64::new(1);

/// `args` as one command line for the guest's shell, each word single-quoted.
pub fn quote(args: &[&str]) -> String {
    args.iter()
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `args` in the guest behind `socket` and returns its output; a non-zero
/// exit status is an error carrying the output.
pub fn run(socket: &Path, args: &[&str], timeout: Duration) -> Result<String, LabError> {
    let what = format!("guest command channel {}", socket.display());
    let io = |doing: &str| {
        let what = format!("{what}: {doing}");
        move |error| LabError::Io { what, error }
    };
    let stream = UnixStream::connect(socket).map_err(io("connecting"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(io("setting a timeout"))?;
    let token = format!(
        "t{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    (&stream)
        .write_all(format!("{token} {}\n", quote(args)).as_bytes())
        .map_err(io("sending"))?;
    let end = Instant::now() + timeout;
    let mut output = String::new();
    let mut reader = BufReader::new(&stream);
    loop {
        let mut line = String::new();
        let n = reader
            .read_line(&mut line)
            .map_err(io("reading the answer"))?;
        if n == 0 || Instant::now() > end {
            return Err(LabError::Check(format!(
                "{what}: `{}` got no answer (so far: {output:?})",
                args.join(" ")
            )));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        let status = line
            .strip_prefix(&format!("{token} "))
            .and_then(|s| s.parse::<i32>().ok());
        match status {
            Some(0) => return Ok(output),
            Some(status) => {
                return Err(LabError::Check(format!(
                    "guest: `{}` exited with {status}:\n{output}",
                    args.join(" ")
                )));
            }
            None => {}
        }
        output.push_str(line);
        output.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_every_word() {
        assert_eq!(quote(&["ip", "-6", "addr"]), "'ip' '-6' 'addr'");
        assert_eq!(quote(&["echo", "it's"]), r"'echo' 'it'\''s'");
    }
}
