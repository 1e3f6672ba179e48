//! tapbridge's control requests: the router control protocol's framing
//! ([`router::ctl`]: one JSON object per line, answers are tables) with requests of
//! a switch.
//!
//! ```text
//! -> {"cmd":"segments"}
//! <- {"ok":true,"tables":[{"title":"members","columns":[...],"rows":[...]},...]}
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Segments with their members and learnt addresses.
    Segments {},
    /// Per-member frame, byte and drop counters.
    Counters {},
    /// Changes the log level: error, warn, info, debug or trace.
    Log { level: String },
}

/// Parses one request line; the error names what was wrong with it.
pub fn parse_request(line: &str) -> Result<Request, String> {
    if line.len() > router::ctl::MAX_LINE {
        return Err(format!(
            "request longer than {} bytes",
            router::ctl::MAX_LINE
        ));
    }
    serde_json::from_str(line.trim()).map_err(|e| format!("bad request: {e}"))
}

/// The request `tapbridge ctl SOCKET WORDS...` sends.
pub fn request_from_words(words: &[&str]) -> Result<Request, String> {
    match words {
        ["segments"] => Ok(Request::Segments {}),
        ["counters"] => Ok(Request::Counters {}),
        ["log", level] => Ok(Request::Log {
            level: level.to_string(),
        }),
        _ => Err(format!(
            "{:?}: expected segments | counters | log LEVEL",
            words.join(" ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests() {
        assert_eq!(
            parse_request(r#"{"cmd":"segments"}"#),
            Ok(Request::Segments {})
        );
        let e = parse_request(r#"{"cmd":"neighbors"}"#).unwrap_err();
        assert!(e.contains("unknown variant"), "{e}");
    }
}
