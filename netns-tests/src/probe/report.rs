//! What the probes measured, computed from raw per-packet records by pure
//! functions, and the JSON reports the probes write and the orchestrator reads.
//!
//! Definitions (paper, "Measurements"):
//! - **Service downtime**: time of the first packet answered after the outage minus
//!   time of the last packet answered before it. "Time of a packet" is the send
//!   timestamp the packet carries (the echo returns it unchanged), so the figure
//!   is the span of the client's sending during which nothing got through, not
//!   skewed by the RTT of either bracketing packet. An outage is a run of one or
//!   more unanswered packets between two answered ones; without one, downtime is 0.
//! - **Total migration time**: send time of the last answered packet minus that of
//!   the first; the scenario starts the stream as it invokes the migration.
//! - **Late and lost** (not in the paper): a request answered more than
//!   `late_after_ms` after its round trip's median (twice the interval, at
//!   least 5 ms) was held somewhere and delivered late, not lost: a proactive
//!   handover holds the downlink during the pause. With nothing lost the
//!   downtime above is one interval; `largest_silence_ms` is then the outage.
//! - **TCP survivability**: the session is lost if a send fails or recv() reports
//!   end of stream or an error before the run ends.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::ProbeError;

/// One echo received by the UDP client, as carried in the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The echo's sequence number: the request's plus one.
    pub seq: u64,
    /// The request's send time the echo carries back (ns on the client's clock).
    pub timestamp_ns: u64,
    /// When the client received the echo (ns on the client's clock).
    pub received_ns: u64,
}

/// Everything a UDP client run recorded, before interpretation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UdpRun {
    pub interval_ms: f64,
    /// Send time (ns since the run's start) of request `seq`, indexed by `seq`.
    pub sent_ns: Vec<u64>,
    /// Echoes in arrival order, duplicates and strays included.
    pub answers: Vec<Answer>,
    /// Datagrams received that were not probe echoes at all.
    pub malformed: u64,
    /// Requests whose send() failed; they count as sent and lost.
    pub send_errors: u64,
}

/// An interruption of the echo stream.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// Last request answered before the outage.
    pub last_before: u64,
    /// First request answered after it.
    pub first_after: u64,
    /// Requests in between that were never answered.
    pub lost: u64,
    /// Send time of `first_after` minus that of `last_before`.
    pub duration_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rtt {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

/// The UDP probe's findings; see the module documentation for the definitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UdpReport {
    pub interval_ms: f64,
    pub sent: u64,
    /// Requests with at least one valid echo.
    pub answered: u64,
    pub lost: u64,
    /// Further echoes of an already answered request.
    pub duplicates: u64,
    /// Datagrams that were not echoes of a request of this run.
    pub malformed: u64,
    pub send_errors: u64,
    /// Duration of the largest outage, 0 if there was none.
    pub downtime_ms: f64,
    /// The largest outage.
    pub outage: Option<Outage>,
    /// Every outage longer than 3 intervals, in stream order.
    pub outages: Vec<Outage>,
    pub total_migration_time_ms: f64,
    /// Unanswered requests before the first answered one (the path was not up yet).
    pub unanswered_head: u64,
    /// Unanswered requests after the last answered one: the service had not come
    /// back (or not yet) when the stream ended.
    pub unanswered_tail: u64,
    /// Largest gap between the arrivals of consecutive first echoes, on the
    /// receive clock: sees an interruption whose requests were queued and answered
    /// late rather than lost, which `downtime_ms` by definition does not.
    pub largest_silence_ms: f64,
    /// Round trip of each request's first valid echo.
    pub rtt_ms: Option<Rtt>,
    /// Requests answered, but more than `late_after_ms` past the median round trip.
    #[serde(default)]
    pub late: u64,
    #[serde(default)]
    pub late_after_ms: f64,
}

/// How far past the median round trip an answer counts as late.
fn late_after_ms(interval_ms: f64) -> f64 {
    (2.0 * interval_ms).max(5.0)
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

impl UdpReport {
    pub fn from_run(run: &UdpRun) -> UdpReport {
        let mut first_echo: Vec<Option<u64>> = vec![None; run.sent_ns.len()];
        let mut duplicates = 0;
        let mut malformed = run.malformed;
        for answer in &run.answers {
            let request = answer
                .seq
                .checked_sub(1)
                .and_then(|seq| usize::try_from(seq).ok());
            let slot = request.and_then(|seq| {
                let sent = run.sent_ns.get(seq)?;
                // A stale or forged echo carries another time than the request had.
                (*sent == answer.timestamp_ns).then_some(())?;
                first_echo.get_mut(seq)
            });
            match slot {
                None => malformed += 1,
                Some(Some(_)) => duplicates += 1,
                Some(slot @ None) => *slot = Some(answer.received_ns),
            }
        }

        let answered: Vec<(u64, u64, u64)> = first_echo
            .iter()
            .zip(&run.sent_ns)
            .enumerate()
            .filter_map(|(seq, (echo, &sent))| Some((seq as u64, sent, (*echo)?)))
            .collect();
        let sent = run.sent_ns.len() as u64;

        let gaps: Vec<Outage> = answered
            .windows(2)
            .filter_map(|pair| {
                let [(before, sent_before, _), (after, sent_after, _)] = pair else {
                    return None;
                };
                (after - before > 1).then(|| Outage {
                    last_before: *before,
                    first_after: *after,
                    lost: after - before - 1,
                    duration_ms: ms(sent_after.saturating_sub(*sent_before)),
                })
            })
            .collect();
        let outage = gaps
            .iter()
            .copied()
            .reduce(|a, b| if b.duration_ms > a.duration_ms { b } else { a });
        let outages = gaps
            .into_iter()
            .filter(|o| o.duration_ms > 3.0 * run.interval_ms)
            .collect();

        let (unanswered_head, unanswered_tail, total_ns) = match (answered.first(), answered.last())
        {
            (Some(first), Some(last)) => (first.0, sent - 1 - last.0, last.1 - first.1),
            _ => (sent, 0, 0),
        };

        let mut arrivals: Vec<u64> = answered.iter().map(|a| a.2).collect();
        arrivals.sort_unstable();
        let largest_silence_ns = arrivals.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);

        let mut rtts: Vec<u64> = answered
            .iter()
            .map(|(_, sent, received)| received.saturating_sub(*sent))
            .collect();
        rtts.sort_unstable();
        let rtt_ms = rtt_summary(&rtts);
        let late_after = late_after_ms(run.interval_ms);
        let late = rtt_ms.map_or(0, |r| {
            rtts.iter()
                .filter(|ns| ms(**ns) > r.median + late_after)
                .count() as u64
        });

        UdpReport {
            interval_ms: run.interval_ms,
            sent,
            answered: answered.len() as u64,
            lost: sent - answered.len() as u64,
            duplicates,
            malformed,
            send_errors: run.send_errors,
            downtime_ms: outage.map_or(0.0, |o| o.duration_ms),
            outage,
            outages,
            total_migration_time_ms: ms(total_ns),
            unanswered_head,
            unanswered_tail,
            largest_silence_ms: ms(largest_silence_ns),
            rtt_ms,
            late,
            late_after_ms: late_after,
        }
    }
}

fn rtt_summary(sorted_ns: &[u64]) -> Option<Rtt> {
    let (&min, &max) = (sorted_ns.first()?, sorted_ns.last()?);
    let upper = sorted_ns.get(sorted_ns.len() / 2)?;
    // An even count has two middles; their mean is the median.
    let lower = sorted_ns.get((sorted_ns.len() - 1) / 2)?;
    let median = (ms(*lower) + ms(*upper)) / 2.0;
    Some(Rtt {
        min: ms(min),
        median,
        max: ms(max),
    })
}

/// One readable line, e.g. `UDP probe: 1523 sent, 1490 answered, downtime 312.4 ms
/// (seq 812..843), total migration time 15.2 s`.
pub fn summary(report: &UdpReport) -> String {
    let outage = match report.outage {
        Some(o) => format!(
            "downtime {:.1} ms (seq {}..{})",
            report.downtime_ms, o.last_before, o.first_after
        ),
        None => "no outage".to_string(),
    };
    let mut line = format!(
        "UDP probe: {} sent, {} answered, {outage}, total migration time {:.1} s",
        report.sent,
        report.answered,
        report.total_migration_time_ms / 1e3
    );
    if report.late > 0 {
        line += &format!(
            ", {} lost, {} late, largest silence {:.1} ms",
            report.lost, report.late, report.largest_silence_ms
        );
    }
    if report.unanswered_tail > 0 {
        line += &format!(", last {} unanswered", report.unanswered_tail);
    }
    line
}

/// Everything a TCP client run recorded, before interpretation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TcpRun {
    /// When each message was completely handed to the kernel (ns since start).
    pub sends_done_ns: Vec<u64>,
    pub bytes_sent: u64,
    /// When the run ended (ns since start).
    pub end_ns: u64,
    /// What ended the session before the run did, if anything.
    pub first_error: Option<String>,
}

/// The TCP client's findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TcpReport {
    /// No send failed and recv() never reported end of stream or an error.
    pub survived: bool,
    pub messages_sent: u64,
    pub bytes_sent: u64,
    pub duration_ms: f64,
    pub first_error: Option<String>,
    /// Largest gap between completed sends, counting from the start and up to the
    /// end: a connection blocked at the end of the run stalled until then.
    pub longest_stall_ms: f64,
}

impl TcpReport {
    pub fn from_run(run: &TcpRun) -> TcpReport {
        let edges = std::iter::once(0)
            .chain(run.sends_done_ns.iter().copied())
            .chain(std::iter::once(run.end_ns));
        let longest = edges
            .clone()
            .zip(edges.skip(1))
            .map(|(a, b)| b.saturating_sub(a))
            .max()
            .unwrap_or(0);
        TcpReport {
            survived: run.first_error.is_none(),
            messages_sent: run.sends_done_ns.len() as u64,
            bytes_sent: run.bytes_sent,
            duration_ms: ms(run.end_ns),
            first_error: run.first_error.clone(),
            longest_stall_ms: ms(longest),
        }
    }
}

/// One readable line for the TCP client's report.
pub fn tcp_summary(report: &TcpReport) -> String {
    let outcome = match &report.first_error {
        None => "session survived".to_string(),
        Some(error) => format!("session LOST ({error})"),
    };
    format!(
        "TCP probe: {outcome}, {} messages sent, longest stall {:.1} ms",
        report.messages_sent, report.longest_stall_ms
    )
}

/// The TCP server's view of the one session it accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TcpServerReport {
    pub peer: Option<String>,
    pub bytes_received: u64,
    /// The peer ended the stream with a FIN (not a reset, not still open).
    pub clean_close: bool,
    pub error: Option<String>,
}

pub fn write_report<T: Serialize>(path: &Path, report: &T) -> Result<(), ProbeError> {
    let json = serde_json::to_vec_pretty(report).map_err(|source| ProbeError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(path, json).map_err(ProbeError::io(format!("writing {}", path.display())))
}

/// Reads a report a probe wrote: `read_report::<UdpReport>(path)`.
pub fn read_report<T: DeserializeOwned>(path: &Path) -> Result<T, ProbeError> {
    let json =
        std::fs::read(path).map_err(ProbeError::io(format!("reading {}", path.display())))?;
    serde_json::from_slice(&json).map_err(|source| ProbeError::Json {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// A run with one request every 10 ms, echoed after 1 ms unless in `lost`.
    fn run(count: u64, lost: impl Fn(u64) -> bool) -> UdpRun {
        let sent_ns: Vec<u64> = (0..count).map(|seq| seq * 10 * MS).collect();
        let answers = sent_ns
            .iter()
            .enumerate()
            .filter(|(seq, _)| !lost(*seq as u64))
            .map(|(seq, &sent)| Answer {
                seq: seq as u64 + 1,
                timestamp_ns: sent,
                received_ns: sent + MS,
            })
            .collect();
        UdpRun {
            interval_ms: 10.0,
            sent_ns,
            answers,
            ..UdpRun::default()
        }
    }

    #[test]
    fn held_answers_are_late_not_lost() {
        let mut r = run(100, |_| false);
        // Requests 40..70 were held for a pause and all answered at 1 s.
        for a in r.answers.iter_mut().filter(|a| (41..71).contains(&a.seq)) {
            a.received_ns = 1000 * MS;
        }
        let report = UdpReport::from_run(&r);
        assert_eq!((report.lost, report.late), (0, 30));
        assert_eq!(
            report.downtime_ms, 0.0,
            "nothing lost: no outage by the paper's definition"
        );
        assert!(report.largest_silence_ms >= 250.0, "{report:?}");
        assert_eq!(report.late_after_ms, 20.0);
        assert!(summary(&report).contains("0 lost, 30 late"));
    }

    #[test]
    fn no_outage() {
        let report = UdpReport::from_run(&run(100, |_| false));
        assert_eq!((report.sent, report.answered, report.lost), (100, 100, 0));
        assert_eq!(report.downtime_ms, 0.0);
        assert_eq!(report.outage, None);
        assert!(report.outages.is_empty());
        assert_eq!(report.total_migration_time_ms, 990.0);
        assert_eq!(report.largest_silence_ms, 10.0);
        let rtt = report.rtt_ms.unwrap();
        assert_eq!((rtt.min, rtt.median, rtt.max), (1.0, 1.0, 1.0));
        assert_eq!(
            summary(&report),
            "UDP probe: 100 sent, 100 answered, no outage, total migration time 1.0 s"
        );
    }

    #[test]
    fn one_outage() {
        let report = UdpReport::from_run(&run(100, |seq| (40..70).contains(&seq)));
        let expected = Outage {
            last_before: 39,
            first_after: 70,
            lost: 30,
            duration_ms: 310.0,
        };
        assert_eq!(report.outage, Some(expected));
        assert_eq!(report.outages, vec![expected]);
        assert_eq!(report.downtime_ms, 310.0);
        assert_eq!(report.lost, 30);
        assert_eq!(report.largest_silence_ms, 310.0);
        assert_eq!(
            summary(&report),
            "UDP probe: 100 sent, 70 answered, downtime 310.0 ms (seq 39..70), \
             total migration time 1.0 s"
        );
    }

    #[test]
    fn the_largest_of_two_outages_is_the_downtime() {
        let report = UdpReport::from_run(&run(200, |seq| {
            (20..25).contains(&seq) || (100..150).contains(&seq)
        }));
        assert_eq!(report.downtime_ms, 510.0);
        assert_eq!(report.outage.unwrap().last_before, 99);
        assert_eq!(report.outages.len(), 2);
        assert_eq!(report.outages[0].first_after, 25);
    }

    #[test]
    fn single_losses_are_outages_but_not_listed() {
        let report = UdpReport::from_run(&run(50, |seq| seq == 10 || seq == 30));
        assert_eq!(report.downtime_ms, 20.0);
        assert!(report.outages.is_empty());
    }

    #[test]
    fn lost_head_and_tail_are_not_outages() {
        let report = UdpReport::from_run(&run(100, |seq| !(5..60).contains(&seq)));
        assert_eq!(report.outage, None);
        assert_eq!(report.downtime_ms, 0.0);
        assert_eq!((report.unanswered_head, report.unanswered_tail), (5, 40));
        assert_eq!(report.lost, 45);
        assert_eq!(report.total_migration_time_ms, 540.0);
        assert!(summary(&report).ends_with(", last 40 unanswered"));
    }

    #[test]
    fn nothing_answered() {
        let report = UdpReport::from_run(&run(10, |_| true));
        assert_eq!((report.answered, report.unanswered_head), (0, 10));
        assert_eq!(report.total_migration_time_ms, 0.0);
        assert_eq!(report.rtt_ms, None);
        let empty = UdpReport::from_run(&UdpRun::default());
        assert_eq!((empty.sent, empty.lost), (0, 0));
    }

    #[test]
    fn duplicates_are_counted_once() {
        let mut udp = run(20, |_| false);
        let again = udp.answers[5];
        udp.answers.push(Answer {
            received_ns: again.received_ns + 50 * MS,
            ..again
        });
        let report = UdpReport::from_run(&udp);
        assert_eq!((report.answered, report.duplicates), (20, 1));
        assert_eq!(report.rtt_ms.unwrap().max, 1.0);
    }

    #[test]
    fn reordered_echoes_change_nothing() {
        let mut udp = run(100, |seq| (40..70).contains(&seq));
        let in_order = UdpReport::from_run(&udp);
        udp.answers.reverse();
        udp.answers.swap(3, 50);
        assert_eq!(UdpReport::from_run(&udp), in_order);
    }

    #[test]
    fn strays_and_forgeries_are_malformed() {
        let mut udp = run(10, |seq| seq == 4);
        udp.malformed = 2;
        let forged = [
            Answer {
                seq: 0,
                timestamp_ns: 0,
                received_ns: 0,
            },
            Answer {
                seq: 11,
                timestamp_ns: 100 * MS,
                received_ns: 0,
            },
            Answer {
                seq: u64::MAX,
                timestamp_ns: 0,
                received_ns: 0,
            },
            // Right sequence number, wrong time: not the echo of our request 4.
            Answer {
                seq: 5,
                timestamp_ns: 41 * MS,
                received_ns: 45 * MS,
            },
        ];
        udp.answers.extend(forged);
        let report = UdpReport::from_run(&udp);
        assert_eq!((report.malformed, report.answered), (6, 9));
        assert_eq!(report.downtime_ms, 20.0);
    }

    #[test]
    fn rtt_median_of_an_even_count() {
        let mut udp = run(4, |_| false);
        for (answer, rtt) in udp.answers.iter_mut().zip([1, 2, 4, 8]) {
            answer.received_ns = answer.timestamp_ns + rtt * MS;
        }
        let rtt = UdpReport::from_run(&udp).rtt_ms.unwrap();
        assert_eq!((rtt.min, rtt.median, rtt.max), (1.0, 3.0, 8.0));
    }

    #[test]
    fn tcp_stall_counts_the_end_of_the_run() {
        let steady = TcpReport::from_run(&TcpRun {
            sends_done_ns: vec![0, 10 * MS, 20 * MS, 300 * MS, 310 * MS],
            bytes_sent: 100,
            end_ns: 315 * MS,
            first_error: None,
        });
        assert!(steady.survived);
        assert_eq!((steady.messages_sent, steady.longest_stall_ms), (5, 280.0));
        let blocked = TcpReport::from_run(&TcpRun {
            sends_done_ns: vec![0, 10 * MS],
            end_ns: 900 * MS,
            first_error: Some("recv: connection reset".into()),
            ..TcpRun::default()
        });
        assert!(!blocked.survived);
        assert_eq!(blocked.longest_stall_ms, 890.0);
        assert_eq!(
            tcp_summary(&blocked),
            "TCP probe: session LOST (recv: connection reset), 2 messages sent, \
             longest stall 890.0 ms"
        );
    }

    #[test]
    fn reports_survive_a_json_round_trip() {
        let report = UdpReport::from_run(&run(100, |seq| (40..70).contains(&seq)));
        let path = std::env::temp_dir().join(format!("probe-report-{}.json", std::process::id()));
        write_report(&path, &report).unwrap();
        let back: UdpReport = read_report(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back, report);
    }
}
