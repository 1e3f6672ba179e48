//! The control protocol: one JSON object per line over a unix socket.
//!
//! ```text
//! -> {"cmd":"counters"}
//! <- {"ok":true,"tables":[{"title":"counters","columns":["counter","value"],"rows":[["rx.frames","12"]]}]}
//! -> {"cmd":"log","level":"debug"}
//! <- {"ok":true,"tables":[]}
//! -> {"cmd":"frobnicate"}
//! <- {"ok":false,"error":"cmd: unknown variant `frobnicate`, expected one of ..."}
//! ```
//!
//! Answers are tables so that one small client prints any router's state
//! readably, and scripts get the same data as JSON.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Longest request line accepted; longer ones are refused, not buffered forever.
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Received, sent and dropped-per-reason counters.
    Counters {},
    /// The neighbor caches of every port.
    Neighbors {},
    /// The IPv6-in-IPv6 tunnels.
    Tunnels {},
    /// The forwarding table.
    Routes {},
    /// LMA: the binding cache; MAG: the binding update list.
    Bindings {},
    /// Everything above in one answer.
    Status {},
    /// Changes the log level: error, warn, info, debug or trace.
    Log { level: String },
    /// MAG: a hypervisor says the node (by MAC and/or MN-ID) is arriving on
    /// this MAG's access link: register it now, hold its downlink until it
    /// shows up (see the MAG's `proactive` module).
    Arriving {
        #[serde(default)]
        mac: Option<String>,
        #[serde(default)]
        mn_id: Option<String>,
        /// How long to wait for the node before undoing the hint, in ms.
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    /// MAG: a hypervisor says the node is leaving this MAG's access link.
    Leaving {
        #[serde(default)]
        mac: Option<String>,
        #[serde(default)]
        mn_id: Option<String>,
        /// How long the node is taken to be gone before it is checked, in ms.
        #[serde(default)]
        timeout_ms: Option<u64>,
        /// The destination MAG's Proxy-CoA: the node's downlink is copied there.
        #[serde(default)]
        to: Option<String>,
    },
    /// LMA, MAG: reads the key files again and uses them from now on (a key
    /// rollover, [`crate::auth::keyring`]).
    ReloadKeys {},
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: &str, columns: &[&str]) -> Self {
        Table {
            title: title.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The value of `column` in the row whose first cell is `key`.
    pub fn cell(&self, key: &str, column: &str) -> Option<&str> {
        let col = self.columns.iter().position(|c| c == column)?;
        self.rows
            .iter()
            .find(|r| r.first().is_some_and(|k| k == key))?
            .get(col)
            .map(String::as_str)
    }

    /// Aligned plain-text rendering for people.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(String::len).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.len());
                }
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
                .collect();
            padded.join("  ").trim_end().to_string()
        };
        let mut out = format!(
            "{} ({})\n{}\n",
            self.title,
            self.rows.len(),
            line(&self.columns)
        );
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<Table>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    pub fn tables(tables: Vec<Table>) -> Self {
        Response {
            ok: true,
            tables,
            error: None,
        }
    }

    pub fn error(msg: impl Into<String>) -> Self {
        Response {
            ok: false,
            tables: Vec::new(),
            error: Some(msg.into()),
        }
    }

    /// The response as one line of JSON, newline included.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_else(|e| {
            format!("{{\"ok\":false,\"error\":\"cannot encode answer: {e}\"}}")
        });
        s.push('\n');
        s
    }
}

/// Parses one request line; the error names what was wrong with it.
pub fn parse_request(line: &str) -> Result<Request, String> {
    parse_line(line)
}

/// Parses one request line into any request type (a router's, tapbridge's).
pub fn parse_line<R: DeserializeOwned>(line: &str) -> Result<R, String> {
    if line.len() > MAX_LINE {
        return Err(format!("request longer than {MAX_LINE} bytes"));
    }
    serde_json::from_str(line.trim()).map_err(|e| format!("bad request: {e}"))
}

/// Applies a `log` request; returns the error text for an unknown level.
pub fn set_log_level(level: &str) -> Result<(), String> {
    let filter = level.parse::<log::LevelFilter>().map_err(|_| {
        format!("level: '{level}' is not one of off, error, warn, info, debug, trace")
    })?;
    log::set_max_level(filter);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests_and_names_errors() {
        assert_eq!(
            parse_request(r#"{"cmd":"counters"}"#),
            Ok(Request::Counters {})
        );
        assert_eq!(
            parse_request(r#" {"cmd":"log","level":"debug"} "#),
            Ok(Request::Log {
                level: "debug".into()
            })
        );
        let e = parse_request(r#"{"cmd":"frobnicate"}"#).unwrap_err();
        assert!(e.contains("unknown variant `frobnicate`"), "{e}");
        let e = parse_request(r#"{"cmd":"counters","x":1}"#).unwrap_err();
        assert!(e.contains("unknown field `x`"), "{e}");
        assert!(
            parse_request(r#"{"cmd":"log"}"#)
                .unwrap_err()
                .contains("missing field `level`")
        );
        assert_eq!(
            parse_request(r#"{"cmd":"arriving","mac":"52:54:00:aa:00:01"}"#),
            Ok(Request::Arriving {
                mac: Some("52:54:00:aa:00:01".into()),
                mn_id: None,
                timeout_ms: None
            })
        );
        assert!(
            parse_request(r#"{"cmd":"leaving","mn_id":"vm1","timeout_ms":"x"}"#)
                .unwrap_err()
                .contains("invalid type")
        );
        assert!(parse_request("not json").is_err());
        assert!(
            parse_request(&"x".repeat(MAX_LINE + 1))
                .unwrap_err()
                .contains("longer than")
        );
    }

    #[test]
    fn responses_round_trip_and_render() {
        let mut t = Table::new("counters", &["counter", "value"]);
        t.row(vec!["rx.frames".into(), "12".into()]);
        t.row(vec!["drop.truncated".into(), "1".into()]);
        let r = Response::tables(vec![t]);
        let line = r.to_line();
        assert!(line.ends_with('\n'));
        let back: Response = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
        assert_eq!(
            back.tables[0].render(),
            "counters (2)\ncounter         value\nrx.frames       12\ndrop.truncated  1\n"
        );
        let e = Response::error("nope").to_line();
        assert_eq!(e, "{\"ok\":false,\"error\":\"nope\"}\n");
    }

    #[test]
    fn log_levels() {
        assert!(set_log_level("debug").is_ok());
        assert!(set_log_level("loud").unwrap_err().contains("'loud'"));
        log::set_max_level(log::LevelFilter::Info);
    }
}
