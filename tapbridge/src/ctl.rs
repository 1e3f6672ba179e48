//! tapbridge's control requests: the router control protocol's framing
//! ([`router::ctl`]: one JSON object per line, answers are tables) with requests of
//! a switch.
//!
//! ```text
//! -> {"cmd":"segments"}
//! <- {"ok":true,"tables":[{"title":"members","columns":[...],"rows":[...]},...]}
//! ```

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::link::LinkParams;

/// Which way of a member's link a `link` request changes: `in` is from the
/// member into the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
    Both,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Segments with their members and learnt addresses.
    Segments {},
    /// Per-member frame, byte and drop counters.
    Counters {},
    /// Every member's link emulation parameters.
    Links {},
    /// Changes the log level: error, warn, info, debug or trace.
    Log {
        level: String,
    },
    /// Replaces a member's link emulation parameters in one or both directions.
    Link {
        member: String,
        dir: Direction,
        #[serde(default)]
        params: LinkParams,
    },
    /// Starts capturing a segment into a pcap file, or stops when `file` is absent.
    Capture {
        segment: String,
        #[serde(default)]
        file: Option<String>,
    },
    /// Holds a member as a paused VM: its frames are dropped both ways.
    Pause {
        member: String,
    },
    Resume {
        member: String,
    },
    /// Moves a member to another segment, its fd untouched.
    Move {
        member: String,
        to: String,
    },
    /// Emits an unsolicited NA per IPv6 address and a gratuitous ARP per IPv4
    /// address as the member, into its segment.
    Announce {
        member: String,
        addrs: Vec<IpAddr>,
        #[serde(default)]
        mac: Option<String>,
    },
}

/// Parses one request line; the error names what was wrong with it.
pub fn parse_request(line: &str) -> Result<Request, String> {
    router::ctl::parse_line(line)
}

/// What `tapbridge ctl` accepts, for its usage message.
pub const USAGE: &str = "segments | counters | links | log LEVEL
  | link MEMBER [in|out|both] [delay=MS] [jitter=MS] [loss=PCT] [burst=ENTER%/EXIT%/LOSS%] [rate=BPS[k|M|G]] [queue=FRAMES]
  | capture SEGMENT FILE|stop | pause MEMBER | resume MEMBER | move MEMBER --to SEGMENT
  | announce MEMBER --addr ADDR... [--mac MAC]";

/// The request `tapbridge ctl SOCKET WORDS...` sends.
pub fn request_from_words(words: &[&str]) -> Result<Request, String> {
    let member = |m: &&str| m.to_string();
    match words {
        ["segments"] => Ok(Request::Segments {}),
        ["counters"] => Ok(Request::Counters {}),
        ["links"] => Ok(Request::Links {}),
        ["log", level] => Ok(Request::Log {
            level: level.to_string(),
        }),
        ["link", m, rest @ ..] => link_request(member(m), rest),
        ["capture", segment, "stop"] => Ok(Request::Capture {
            segment: segment.to_string(),
            file: None,
        }),
        ["capture", segment, file] => Ok(Request::Capture {
            segment: segment.to_string(),
            file: Some(file.to_string()),
        }),
        ["pause", m] => Ok(Request::Pause { member: member(m) }),
        ["resume", m] => Ok(Request::Resume { member: member(m) }),
        ["move", m, "--to", to] | ["move", m, to] => Ok(Request::Move {
            member: member(m),
            to: to.to_string(),
        }),
        ["announce", m, rest @ ..] => announce_request(member(m), rest),
        _ => Err(format!("{:?}: expected {USAGE}", words.join(" "))),
    }
}

fn link_request(member: String, words: &[&str]) -> Result<Request, String> {
    let (dir, settings) = match words.split_first() {
        Some((&"in", rest)) => (Direction::In, rest),
        Some((&"out", rest)) => (Direction::Out, rest),
        Some((&"both", rest)) => (Direction::Both, rest),
        _ => (Direction::Both, words),
    };
    let mut params = LinkParams::default();
    for setting in settings {
        let (key, value) = setting
            .split_once('=')
            .ok_or_else(|| format!("{setting:?}: expected key=value"))?;
        let bad = |why: &str| format!("{key}={value:?}: {why}");
        match key {
            "delay" => {
                params.delay_us = millis_to_micros(value).ok_or_else(|| bad("not milliseconds"))?
            }
            "jitter" => {
                params.jitter_us = millis_to_micros(value).ok_or_else(|| bad("not milliseconds"))?
            }
            "loss" => {
                params.loss_ppm =
                    percent_to_ppm(value).ok_or_else(|| bad("not a percentage 0-100"))?
            }
            "burst" => {
                let parts: Vec<Option<u32>> = value.split('/').map(percent_to_ppm).collect();
                let [Some(enter), Some(exit), Some(loss)] = parts[..] else {
                    return Err(bad("expected ENTER%/EXIT%/LOSS%"));
                };
                params.burst_enter_ppm = enter;
                params.burst_exit_ppm = exit;
                params.burst_loss_ppm = loss;
            }
            "rate" => {
                params.rate_bps =
                    bits_per_second(value).ok_or_else(|| bad("not a rate like 10M"))?
            }
            "queue" => params.queue_frames = value.parse().map_err(|_| bad("not a frame count"))?,
            _ => {
                return Err(format!(
                    "{key:?}: unknown setting (delay, jitter, loss, burst, rate, queue)"
                ));
            }
        }
    }
    Ok(Request::Link {
        member,
        dir,
        params,
    })
}

fn announce_request(member: String, words: &[&str]) -> Result<Request, String> {
    let mut addrs = Vec::new();
    let mut mac = None;
    let mut rest = words.iter();
    while let Some(word) = rest.next() {
        match *word {
            "--addr" => {}
            "--mac" => mac = rest.next().map(|m| m.to_string()),
            addr => addrs.push(
                addr.parse()
                    .map_err(|_| format!("{addr:?}: not an IPv6 or IPv4 address"))?,
            ),
        }
    }
    if addrs.is_empty() {
        return Err("announce: give at least one --addr".into());
    }
    Ok(Request::Announce { member, addrs, mac })
}

fn millis_to_micros(text: &str) -> Option<u64> {
    let ms: f64 = text.strip_suffix("ms").unwrap_or(text).parse().ok()?;
    (ms >= 0.0 && ms.is_finite()).then(|| (ms * 1000.0).round() as u64)
}

fn percent_to_ppm(text: &str) -> Option<u32> {
    let pct: f64 = text.strip_suffix('%').unwrap_or(text).parse().ok()?;
    (0.0..=100.0)
        .contains(&pct)
        .then(|| (pct * 10_000.0).round() as u32)
}

fn bits_per_second(text: &str) -> Option<u64> {
    let (number, scale) = match text.char_indices().last()? {
        (i, 'k') => (text.get(..i)?, 1e3),
        (i, 'M') => (text.get(..i)?, 1e6),
        (i, 'G') => (text.get(..i)?, 1e9),
        _ => (text, 1.0),
    };
    let value: f64 = number.parse().ok()?;
    (value >= 0.0 && value.is_finite()).then(|| (value * scale).round() as u64)
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
        let link = r#"{"cmd":"link","member":"vm:eth0","dir":"in","params":{"delay_us":5}}"#;
        assert!(matches!(
            parse_request(link),
            Ok(Request::Link {
                dir: Direction::In,
                ..
            })
        ));
    }

    #[test]
    fn words_make_requests() {
        let req = request_from_words(&[
            "link",
            "vm:eth0",
            "out",
            "delay=10",
            "jitter=2.5ms",
            "loss=1%",
            "burst=1/10/100",
            "rate=10M",
            "queue=50",
        ]);
        let expected = LinkParams {
            delay_us: 10_000,
            jitter_us: 2_500,
            loss_ppm: 10_000,
            burst_enter_ppm: 10_000,
            burst_exit_ppm: 100_000,
            burst_loss_ppm: 1_000_000,
            rate_bps: 10_000_000,
            queue_frames: 50,
        };
        assert_eq!(
            req,
            Ok(Request::Link {
                member: "vm:eth0".into(),
                dir: Direction::Out,
                params: expected
            })
        );
        assert_eq!(
            request_from_words(&["move", "vm:eth0", "--to", "access2"]),
            Ok(Request::Move {
                member: "vm:eth0".into(),
                to: "access2".into()
            })
        );
        assert_eq!(
            request_from_words(&[
                "announce",
                "vm",
                "--addr",
                "2001:db8::1",
                "--mac",
                "52:54:00:aa:00:01"
            ]),
            Ok(Request::Announce {
                member: "vm".into(),
                addrs: vec!["2001:db8::1".parse().unwrap()],
                mac: Some("52:54:00:aa:00:01".into())
            })
        );
        assert!(
            request_from_words(&["link", "vm", "loss=150"])
                .unwrap_err()
                .contains("percentage")
        );
        assert!(request_from_words(&["announce", "vm"]).is_err());
        assert!(
            request_from_words(&["frobnicate"])
                .unwrap_err()
                .contains("segments")
        );
    }
}
