//! The bridge as the router loop's core: [`Switch`] passes frames, timers
//! and control requests to the [`Bridge`] and serves what needs I/O itself,
//! opening and closing capture files.

use std::net::SocketAddr;

use router::Instant;
use router::core::{Core, PortId, Rx, Tx};
use router::ctl::Response;
use router::timestamp::WallClock;

use crate::bridge::{Bridge, MemberId};
use crate::capture::Capture;
use crate::ctl::{Request, parse_request};

pub struct Switch {
    pub bridge: Bridge,
    /// Wall-clock time of the loop's `Instant` zero, for capture timestamps.
    epoch: WallClock,
}

impl Switch {
    pub fn new(bridge: Bridge, epoch: WallClock) -> Switch {
        Switch { bridge, epoch }
    }

    /// Starts (`Some(file)`) or stops capturing `segment` into a pcap file.
    pub fn capture(&mut self, segment: &str, file: Option<&str>) -> Response {
        let capture = match file {
            None => None,
            Some(path) => {
                let started = std::fs::File::create(path)
                    .and_then(|f| Capture::start(Box::new(f), self.epoch, segment));
                match started {
                    Ok(c) => Some(c),
                    Err(e) => return Response::error(format!("capture file {path}: {e}")),
                }
            }
        };
        match self.bridge.set_capture(segment, capture) {
            Ok(old) => {
                if let Some(old) = old {
                    match old.finish() {
                        Ok(s) => log::info!(
                            "segment {segment}: previous capture finished: {} frames written, {} missed (the disk was slower than the segment)",
                            s.written,
                            s.dropped
                        ),
                        Err(e) => {
                            log::warn!("segment {segment}: finishing the previous capture: {e}")
                        }
                    }
                }
                log::info!("segment {segment}: capture {}", file.unwrap_or("stopped"));
                Response::tables(Vec::new())
            }
            Err(e) => Response::error(e.to_string()),
        }
    }
}

impl Core for Switch {
    fn on_frame(&mut self, now: Instant, member: MemberId, frame: &[u8], tx: &mut dyn Tx) {
        self.bridge.on_frame(now, member, frame, tx);
    }

    fn on_rx(&mut self, now: Instant, member: PortId, rx: Rx<'_>, tx: &mut dyn Tx) {
        self.bridge.on_rx(now, member, rx, tx);
    }

    fn on_timer(&mut self, now: Instant, tx: &mut dyn Tx) {
        self.bridge.on_timer(now, tx);
    }

    fn poll_at(&self) -> Option<Instant> {
        self.bridge.poll_at()
    }

    fn control_line(&mut self, now: Instant, line: &str, tx: &mut dyn Tx) -> Response {
        match parse_request(line) {
            Ok(Request::Capture { segment, file }) => self.capture(&segment, file.as_deref()),
            Ok(request) => self.bridge.control(now, &request, tx),
            Err(e) => Response::error(e),
        }
    }

    fn on_datagram(&mut self, _: Instant, from: SocketAddr, _: &[u8], _: &mut dyn Tx) {
        log::debug!("ignored a datagram from {from}");
    }
}
