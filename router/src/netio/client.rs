//! The client side of a control socket, shared by `tapmipctl` and `tapbridge ctl`:
//! one request line out, one [`Response`] line back, printed as tables or JSON.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::ctl::Response;

/// Longest wait for an answer: the server answers from its loop at once, so a
/// silent one is stuck, not busy.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("connecting to {path} (is it running?): {error}")]
    Connect { path: String, error: io::Error },
    #[error("{path}: {what}: {error}")]
    Io {
        path: String,
        what: &'static str,
        error: io::Error,
    },
    #[error("the answer is not a response ({error}): {answer:?}")]
    BadAnswer {
        answer: String,
        error: serde_json::Error,
    },
    /// The server understood the request and refused it.
    #[error("{0}")]
    Refused(String),
}

/// Sends `request` (one line of JSON) to the control socket at `path` and returns
/// the answer line as it came and as a [`Response`].
pub fn exchange(path: &Path, request: &str) -> Result<(String, Response), AskError> {
    let io_err = |what| {
        move |error| AskError::Io {
            path: path.display().to_string(),
            what,
            error,
        }
    };
    let mut stream = UnixStream::connect(path).map_err(|error| AskError::Connect {
        path: path.display().to_string(),
        error,
    })?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(io_err("setting a timeout"))?;
    let line = format!("{}\n", request.trim_end());
    stream
        .write_all(line.as_bytes())
        .map_err(io_err("sending the request"))?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(io_err("reading the answer"))?;
    let response: Response =
        serde_json::from_str(&answer).map_err(|error| AskError::BadAnswer {
            answer: answer.clone(),
            error,
        })?;
    Ok((answer, response))
}

/// The tables of the answer to `request`; a refusal is an error.
pub fn ask_tables(path: &Path, request: &str) -> Result<Vec<crate::ctl::Table>, AskError> {
    let (_, response) = exchange(path, request)?;
    match response.error {
        Some(e) => Err(AskError::Refused(e)),
        None => Ok(response.tables),
    }
}

/// What to print for `request`: with `json` the answer line as it came (refusals
/// included, for scripts to read), else its tables rendered for people.
pub fn ask(path: &Path, request: &str, json: bool) -> Result<String, AskError> {
    if json {
        return exchange(path, request).map(|(answer, _)| answer);
    }
    let tables: Vec<String> = ask_tables(path, request)?
        .iter()
        .map(|t| t.render())
        .collect();
    Ok(tables.join("\n"))
}
