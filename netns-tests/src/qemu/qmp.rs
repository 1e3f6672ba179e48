//! A client of QEMU's Machine Protocol (QMP): JSON objects, one per line, over
//! the unix socket of `-qmp unix:PATH,server=on,wait=off`.
//!
//! ```text
//! <- {"QMP": {"version": ..., "capabilities": [...]}}        greeting
//! -> {"execute": "qmp_capabilities", "id": 1}
//! <- {"return": {}, "id": 1}
//! -> {"execute": "migrate", "arguments": {"uri": "tcp:[2001:db8:ff:2::10]:7200"}, "id": 2}
//! <- {"event": "STOP", "timestamp": {"seconds": 1733080000, "microseconds": 12345}}
//! <- {"return": {}, "id": 2}
//! ```
//!
//! Events arrive between answers at any time; they are kept, with QEMU's own
//! timestamps, for [`Qmp::wait_event`] and [`Qmp::events`] (what a migration's
//! timeline, and later hypervisor hints, are read from).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    #[error("QMP {path}: {what}: {source}")]
    Io {
        path: String,
        what: String,
        source: std::io::Error,
    },
    #[error("QMP {path}: {detail}")]
    Protocol { path: String, detail: String },
    #[error("QMP {path}: {command} refused: {class}: {desc}")]
    Refused {
        path: String,
        command: String,
        class: String,
        desc: String,
    },
    #[error("QMP {path}: no {what} within {timeout:?}")]
    Timeout {
        path: String,
        what: String,
        timeout: Duration,
    },
}

/// An asynchronous event, stamped by QEMU with the host's wall clock.
#[derive(Debug, Clone, PartialEq)]
pub struct QmpEvent {
    pub name: String,
    pub data: Value,
    pub at: SystemTime,
}

#[derive(Serialize)]
struct Execute<'a> {
    execute: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<&'a Value>,
    id: u64,
}

#[derive(Deserialize)]
struct Stamp {
    seconds: u64,
    microseconds: u64,
}

#[derive(Deserialize)]
struct ErrorBody {
    class: String,
    desc: String,
}

/// What QEMU sends: an answer, an error, an event or the greeting.
#[derive(Deserialize)]
#[serde(untagged)]
enum Message {
    Return {
        #[serde(rename = "return")]
        value: Value,
        id: Option<u64>,
    },
    Error {
        error: ErrorBody,
        id: Option<u64>,
    },
    Event {
        event: String,
        #[serde(default)]
        data: Value,
        timestamp: Stamp,
    },
    Greeting {
        #[serde(rename = "QMP")]
        _qmp: Value,
    },
}

pub struct Qmp {
    path: String,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
    events: Vec<QmpEvent>,
}

/// How long one command may take to be answered (a `migrate` returns at once;
/// its progress is polled).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

impl Qmp {
    /// Connects to the QMP socket at `path`, waiting up to `timeout` for QEMU to
    /// create it, and leaves capabilities negotiation mode.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Qmp, QmpError> {
        let name = path.display().to_string();
        let end = Instant::now() + timeout;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(_) if Instant::now() < end => std::thread::sleep(Duration::from_millis(50)),
                Err(source) => {
                    return Err(QmpError::Io {
                        path: name,
                        what: format!("connecting (for {timeout:?})"),
                        source,
                    });
                }
            }
        };
        let io = |what: &str| {
            let (path, what) = (name.clone(), what.to_string());
            move |source| QmpError::Io { path, what, source }
        };
        let writer = stream.try_clone().map_err(io("duplicating the socket"))?;
        let mut qmp = Qmp {
            path: name.clone(),
            reader: BufReader::new(stream),
            writer,
            next_id: 1,
            events: Vec::new(),
        };
        match qmp.read_message(ANSWER_TIMEOUT, "greeting")? {
            Message::Greeting { .. } => {}
            _ => return Err(qmp.protocol("the first message is not QMP's greeting")),
        }
        qmp.execute("qmp_capabilities", None)?;
        Ok(qmp)
    }

    fn protocol(&self, detail: impl Into<String>) -> QmpError {
        QmpError::Protocol {
            path: self.path.clone(),
            detail: detail.into(),
        }
    }

    fn read_message(&mut self, timeout: Duration, what: &str) -> Result<Message, QmpError> {
        let timed_out = || QmpError::Timeout {
            path: self.path.clone(),
            what: what.into(),
            timeout,
        };
        self.reader
            .get_ref()
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .map_err(|source| QmpError::Io {
                path: self.path.clone(),
                what: "setting a timeout".into(),
                source,
            })?;
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err(self.protocol("QEMU closed the socket")),
            Ok(_) => serde_json::from_str(&line)
                .map_err(|e| self.protocol(format!("unreadable message ({e}): {}", line.trim()))),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Err(timed_out())
            }
            Err(source) => Err(QmpError::Io {
                path: self.path.clone(),
                what: format!("reading the {what}"),
                source,
            }),
        }
    }

    /// Runs `command` and returns its answer; events read meanwhile are kept.
    pub fn execute(&mut self, command: &str, arguments: Option<Value>) -> Result<Value, QmpError> {
        let id = self.next_id;
        self.next_id += 1;
        let line = serde_json::to_string(&Execute {
            execute: command,
            arguments: arguments.as_ref(),
            id,
        })
        .map_err(|e| self.protocol(e.to_string()))?;
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .map_err(|source| QmpError::Io {
                path: self.path.clone(),
                what: format!("sending {command}"),
                source,
            })?;
        let end = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.read_message(left, &format!("answer to {command}"))? {
                Message::Return { value, id: Some(i) } if i == id => return Ok(value),
                Message::Error { error, id: Some(i) } if i == id => {
                    return Err(QmpError::Refused {
                        path: self.path.clone(),
                        command: command.into(),
                        class: error.class,
                        desc: error.desc,
                    });
                }
                Message::Event {
                    event,
                    data,
                    timestamp,
                } => self.keep(event, data, timestamp),
                _ => {}
            }
        }
    }

    fn keep(&mut self, name: String, data: Value, stamp: Stamp) {
        let at = UNIX_EPOCH
            + Duration::from_secs(stamp.seconds)
            + Duration::from_micros(stamp.microseconds);
        self.events.push(QmpEvent { name, data, at });
    }

    /// The first event named `name` received so far, or the next one to arrive
    /// within `timeout`.
    pub fn wait_event(&mut self, name: &str, timeout: Duration) -> Result<QmpEvent, QmpError> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(e) = self.events.iter().find(|e| e.name == name) {
                return Ok(e.clone());
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(QmpError::Timeout {
                    path: self.path.clone(),
                    what: format!("{name} event"),
                    timeout,
                });
            }
            match self.read_message(left, &format!("{name} event")) {
                Ok(Message::Event {
                    event,
                    data,
                    timestamp,
                }) => self.keep(event, data, timestamp),
                Ok(_) => {}
                Err(QmpError::Timeout { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Every event received so far, in order.
    pub fn events(&self) -> &[QmpEvent] {
        &self.events
    }
}

/// `query-migrate`'s answer: QEMU's own figures of a migration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct MigrationInfo {
    #[serde(default)]
    pub status: String,
    /// Milliseconds from `migrate` to completion.
    pub total_time: Option<u64>,
    /// Milliseconds the guest was stopped (stop-and-copy), as QEMU counts it.
    pub downtime: Option<u64>,
    pub setup_time: Option<u64>,
    pub ram: Option<RamInfo>,
    #[serde(default)]
    pub error_desc: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RamInfo {
    /// Bytes sent on the migration stream for RAM.
    pub transferred: u64,
    /// The guest's RAM size.
    pub total: u64,
    /// Pages sent whole, and pages sent as "all one byte" (mostly zero pages).
    pub normal: u64,
    pub duplicate: u64,
    pub dirty_sync_count: u64,
    /// Throughput QEMU measured, in Mbit/s.
    pub mbps: f64,
}

impl MigrationInfo {
    pub fn parse(value: Value) -> Result<MigrationInfo, String> {
        serde_json::from_value(value).map_err(|e| format!("query-migrate answer: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_qemus_messages() {
        let m: Message = serde_json::from_str(
            r#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}"#,
        )
        .unwrap();
        assert!(matches!(m, Message::Greeting { .. }));
        let m: Message = serde_json::from_str(r#"{"return": {}, "id": 3}"#).unwrap();
        assert!(matches!(m, Message::Return { id: Some(3), .. }));
        let m: Message = serde_json::from_str(
            r#"{"id": 4, "error": {"class": "GenericError", "desc": "no migration"}}"#,
        )
        .unwrap();
        assert!(matches!(m, Message::Error { id: Some(4), .. }));
        let m: Message = serde_json::from_str(
            r#"{"timestamp": {"seconds": 1733080000, "microseconds": 250000}, "event": "RESUME"}"#,
        )
        .unwrap();
        let Message::Event {
            event, timestamp, ..
        } = m
        else {
            panic!("not an event");
        };
        assert_eq!(
            (event.as_str(), timestamp.microseconds),
            ("RESUME", 250_000)
        );
    }

    #[test]
    fn reads_query_migrate() {
        let info = MigrationInfo::parse(serde_json::json!({
            "status": "completed", "total-time": 512, "downtime": 17, "setup-time": 2,
            "expected-downtime": 300,
            "ram": {"transferred": 45_000_000u64, "total": 134_217_728u64, "normal": 10_000,
                    "duplicate": 22_000, "dirty-sync-count": 3, "mbps": 700.5,
                    "remaining": 0, "skipped": 0, "normal-bytes": 40_960_000u64,
                    "pages-per-second": 1000, "precopy-bytes": 1, "downtime-bytes": 2,
                    "postcopy-bytes": 0, "dirty-pages-rate": 0, "multifd-bytes": 0,
                    "page-size": 4096, "postcopy-requests": 0}
        }))
        .unwrap();
        assert_eq!(info.downtime, Some(17));
        let ram = info.ram.unwrap();
        assert_eq!((ram.transferred, ram.dirty_sync_count), (45_000_000, 3));
        assert!(MigrationInfo::parse(serde_json::json!({"status": 5})).is_err());
    }
}
