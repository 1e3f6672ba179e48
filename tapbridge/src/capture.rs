//! Capturing a segment into a pcap file off the forwarding path.
//!
//! The bridge hands each switched frame to [`Capture::frame`], which copies it
//! into a recycled buffer and queues it on a bounded channel without waiting;
//! a writer thread per capture writes the queue with `pcap-file`. When the
//! disk is slower than the link the queue fills and frames are dropped from
//! the capture (never from the segment), counted in [`Capture::dropped`].
//!
//! A superframe or a partial checksum is written as the wire would have
//! carried it: cut into its segments with final checksums, so a capture reads
//! like one from a NIC without offloads and Wireshark finds every checksum
//! right. Timestamps are wall-clock (the loop's epoch plus its clock), so a
//! capture lines up with the routers' logs and another machine's capture.

use std::cell::RefCell;
use std::io::{self, BufWriter, Write};
use std::rc::Rc;
use std::thread::JoinHandle;
use std::time::Duration as StdDuration;

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError, bounded};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness};
use router::Instant;
use router::gso::{MAX_SUPERFRAME, Offload, to_plain};
use router::timestamp::WallClock;

/// Frames queued for the writer: what a segment carries in a few polls.
pub const QUEUE: usize = 1024;
/// How long the writer sleeps when the queue is empty. It polls rather than
/// waits on the channel so that queuing a frame never costs the forwarding
/// thread a wake-up (a futex call per frame).
const POLL: StdDuration = StdDuration::from_millis(1);
/// Largest frame a record holds: a superframe with its Ethernet header.
const SNAPLEN: u32 = 262_144;

/// The sink a capture file is written through.
pub type Sink = Box<dyn Write + Send>;

struct Record {
    at: StdDuration,
    frame: Vec<u8>,
    offload: Offload,
}

/// What a capture did, once finished.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Frames written (a superframe counts as its segments).
    pub written: u64,
    /// Frames the capture missed because its queue was full.
    pub dropped: u64,
}

pub struct Capture {
    queue: Option<Sender<Record>>,
    free: Receiver<Vec<u8>>,
    /// Buffers made so far; at most [`QUEUE`] + 1.
    buffers: usize,
    epoch: WallClock,
    dropped: u64,
    writer: Option<JoinHandle<io::Result<u64>>>,
}

impl Capture {
    /// Starts a writer thread on `sink`; `epoch` is the wall-clock time of the
    /// bridge's `Instant` zero. `name` is the thread's, for logs.
    pub fn start(sink: Sink, epoch: WallClock, name: &str) -> io::Result<Capture> {
        let (queue, records) = bounded::<Record>(QUEUE);
        let (recycle, free) = bounded::<Vec<u8>>(QUEUE + 1);
        let writer = std::thread::Builder::new()
            .name(format!("capture {name}"))
            .spawn(move || write_all(sink, &records, &recycle))?;
        Ok(Capture {
            queue: Some(queue),
            free,
            buffers: 0,
            epoch,
            dropped: 0,
            writer: Some(writer),
        })
    }

    /// Queues one switched frame (with what it still needs) for the file;
    /// never blocks. Returns false once the writer has stopped (a write
    /// failed): the caller drops the capture.
    pub fn frame(&mut self, now: Instant, frame: &[u8], offload: &Offload) -> bool {
        let Some(queue) = &self.queue else {
            return false;
        };
        let mut buf = match self.free.try_recv() {
            Ok(buf) => buf,
            Err(_) if self.buffers <= QUEUE => {
                self.buffers += 1;
                Vec::with_capacity(frame.len())
            }
            Err(_) => {
                self.dropped += 1;
                return true;
            }
        };
        buf.clear();
        buf.extend_from_slice(frame);
        let micros = u64::try_from(now.total_micros()).unwrap_or(0);
        let record = Record {
            at: self.epoch + StdDuration::from_micros(micros),
            frame: buf,
            offload: *offload,
        };
        match queue.try_send(record) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.dropped += 1;
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Frames missed so far because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Lets the writer write what is queued, and waits for it.
    pub fn finish(mut self) -> io::Result<Summary> {
        self.queue = None;
        let written = match self.writer.take().map(JoinHandle::join) {
            Some(Ok(result)) => result?,
            Some(Err(_)) => return Err(io::Error::other("the capture writer panicked")),
            None => 0,
        };
        Ok(Summary {
            written,
            dropped: self.dropped,
        })
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.queue = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// A buffered sink the writer thread can flush while `PcapWriter` holds it.
#[derive(Clone)]
struct Shared(Rc<RefCell<BufWriter<Sink>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

/// The writer thread: every record, as ordinary frames, flushed whenever the
/// queue is empty so that readers of a running capture see every frame
/// within a poll.
fn write_all(sink: Sink, records: &Receiver<Record>, recycle: &Sender<Vec<u8>>) -> io::Result<u64> {
    let mut shared = Shared(Rc::new(RefCell::new(BufWriter::with_capacity(
        1 << 16,
        sink,
    ))));
    let header = PcapHeader {
        snaplen: SNAPLEN,
        datalink: DataLink::ETHERNET,
        endianness: Endianness::native(),
        ..PcapHeader::default()
    };
    let mut pcap = PcapWriter::with_header(shared.clone(), header).map_err(pcap_error)?;
    shared.flush()?;
    let mut scratch = vec![0; MAX_SUPERFRAME].into_boxed_slice();
    let mut written = 0;
    let mut unflushed = false;
    loop {
        let record = match records.try_recv() {
            Ok(record) => record,
            Err(TryRecvError::Empty) => {
                if unflushed {
                    shared.flush()?;
                    unflushed = false;
                }
                std::thread::sleep(POLL);
                continue;
            }
            Err(TryRecvError::Disconnected) => break,
        };
        unflushed = true;
        let mut result = Ok(());
        let cut = to_plain(&record.frame, &record.offload, &mut scratch, &mut |f| {
            if result.is_ok() {
                let len = u32::try_from(f.len()).unwrap_or(u32::MAX);
                result = pcap
                    .write_packet(&PcapPacket::new(record.at, len, f))
                    .map(|_| ());
                written += 1;
            }
        });
        result.map_err(pcap_error)?;
        if let Err(e) = cut {
            log::debug!(
                "capture: a {}-byte frame not written: {e}",
                record.frame.len()
            );
        }
        let _ = recycle.try_send(record.frame);
    }
    shared.flush()?;
    Ok(written)
}

fn pcap_error(e: pcap_file::PcapError) -> io::Error {
    match e {
        pcap_file::PcapError::IoError(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Bytes, tcp_superframe};
    use smoltcp::wire::{IpAddress, Ipv6Packet, TcpPacket};

    /// The records of a pcap file: (timestamp seconds, microseconds, frame).
    fn records(file: &[u8]) -> Vec<(u32, u32, Vec<u8>)> {
        let (mut rest, _) = PcapHeader::from_slice(file).unwrap();
        let mut out = Vec::new();
        while rest.len() >= 16 {
            let word = |i: usize| u32::from_ne_bytes(rest[i..i + 4].try_into().unwrap());
            let (sec, usec, len) = (word(0), word(4), word(8) as usize);
            out.push((sec, usec, rest[16..16 + len].to_vec()));
            rest = &rest[16 + len..];
        }
        out
    }

    #[test]
    fn a_superframe_is_written_as_its_segments_with_final_checksums() {
        let bytes = Bytes::default();
        let epoch = WallClock::from_secs(1_700_000_000);
        let mut capture = Capture::start(Box::new(bytes.clone()), epoch, "test").unwrap();
        let (frame, offload) = tcp_superframe([2; 6], [4; 6]);
        assert!(capture.frame(Instant::from_micros(7), &frame, &offload));
        assert_eq!(capture.finish().unwrap().written, 3);
        let file = bytes.0.lock().unwrap().clone();
        let recs = records(&file);
        assert_eq!(recs.len(), 3);
        for (i, (_, usec, seg)) in recs.iter().enumerate() {
            assert_eq!(*usec, 7);
            assert_eq!(seg.len(), 14 + 40 + 20 + 1000);
            let ip = Ipv6Packet::new_checked(&seg[14..]).unwrap();
            let (src, dst) = (
                IpAddress::Ipv6(ip.src_addr()),
                IpAddress::Ipv6(ip.dst_addr()),
            );
            let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
            assert!(tcp.verify_checksum(&src, &dst), "segment {i}");
            assert_eq!(tcp.seq_number().0, 1 + 1000 * i as i32);
        }
    }

    #[test]
    fn records_carry_wall_clock_time() {
        let bytes = Bytes::default();
        let epoch = WallClock::from_secs(1_700_000_000);
        let mut capture = Capture::start(Box::new(bytes.clone()), epoch, "test").unwrap();
        assert!(capture.frame(Instant::from_micros(1_500_000), &[7; 60], &Offload::NONE));
        let summary = capture.finish().unwrap();
        assert_eq!(
            summary,
            Summary {
                written: 1,
                dropped: 0
            }
        );
        let file = bytes.0.lock().unwrap().clone();
        assert_eq!(file.len(), 24 + 16 + 60);
        let (rest, header) = PcapHeader::from_slice(&file).unwrap();
        assert_eq!(header.datalink, DataLink::ETHERNET);
        let ts_sec = u32::from_ne_bytes(rest[0..4].try_into().unwrap());
        let ts_usec = u32::from_ne_bytes(rest[4..8].try_into().unwrap());
        assert_eq!((ts_sec, ts_usec), (1_700_000_001, 500_000));
    }
}
