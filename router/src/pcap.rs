//! A minimal writer of classic pcap files (microsecond timestamps,
//! `LINKTYPE_ETHERNET`), enough for capture tools and tests to hand frames
//! to tcpdump, tshark or Wireshark.
//!
//! Layout (<https://www.tcpdump.org/manpages/pcap-savefile.5.html>): a
//! 24-octet global header, then per frame a 16-octet record header (seconds,
//! microseconds, captured length, original length) and the captured octets.
//! Everything is written little-endian; readers detect the order from the
//! magic number.

use std::io::{self, Write};

use crate::Instant;

const MAGIC_MICROSECONDS: u32 = 0xa1b2_c3d4;
const VERSION_MAJOR: u16 = 2;
const VERSION_MINOR: u16 = 4;
/// Frames longer than this are cut; it covers any TAP MTU we use.
const SNAPLEN: u32 = 65_535;
const LINKTYPE_ETHERNET: u32 = 1;

/// A frame timestamp: either wall-clock time since the Unix epoch or a
/// router `Instant`, which is what the protocol cores see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcapTimestamp {
    micros: u64,
}

impl From<std::time::Duration> for PcapTimestamp {
    fn from(since_epoch: std::time::Duration) -> Self {
        PcapTimestamp {
            micros: u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX),
        }
    }
}

impl From<Instant> for PcapTimestamp {
    fn from(instant: Instant) -> Self {
        PcapTimestamp {
            micros: u64::try_from(instant.total_micros()).unwrap_or(0),
        }
    }
}

/// Writes pcap records to `W`.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&MAGIC_MICROSECONDS.to_le_bytes());
        header.extend_from_slice(&VERSION_MAJOR.to_le_bytes());
        header.extend_from_slice(&VERSION_MINOR.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes()); // thiszone: UTC
        header.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        header.extend_from_slice(&SNAPLEN.to_le_bytes());
        header.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter { out })
    }

    /// Appends one Ethernet frame captured at `ts`.
    pub fn write_frame(&mut self, ts: impl Into<PcapTimestamp>, frame: &[u8]) -> io::Result<()> {
        let micros = ts.into().micros;
        // The format's seconds field is 32 bits: saturate rather than wrap.
        let secs = u32::try_from(micros / 1_000_000).unwrap_or(u32::MAX);
        let usecs = (micros % 1_000_000) as u32;
        let original = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let captured = original.min(SNAPLEN);
        let mut record = Vec::with_capacity(16);
        record.extend_from_slice(&secs.to_le_bytes());
        record.extend_from_slice(&usecs.to_le_bytes());
        record.extend_from_slice(&captured.to_le_bytes());
        record.extend_from_slice(&original.to_le_bytes());
        self.out.write_all(&record)?;
        self.out.write_all(&frame[..captured as usize])
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_header_and_record() {
        let mut writer = PcapWriter::new(Vec::new()).unwrap();
        let ts = std::time::Duration::new(0x0102_0304, 5_000_000);
        writer.write_frame(ts, &[0xaa, 0xbb, 0xcc]).unwrap();
        writer
            .write_frame(Instant::from_micros(2_500_000), &[0x11])
            .unwrap();
        let bytes = writer.into_inner();
        #[rustfmt::skip]
        let expected: &[u8] = &[
            0xd4, 0xc3, 0xb2, 0xa1, // magic, little-endian
            2, 0, 4, 0,             // version 2.4
            0, 0, 0, 0,             // thiszone
            0, 0, 0, 0,             // sigfigs
            0xff, 0xff, 0, 0,       // snaplen 65535
            1, 0, 0, 0,             // LINKTYPE_ETHERNET
            0x04, 0x03, 0x02, 0x01, // seconds
            0x88, 0x13, 0, 0,       // 5000 microseconds
            3, 0, 0, 0,             // captured length
            3, 0, 0, 0,             // original length
            0xaa, 0xbb, 0xcc,
            2, 0, 0, 0,             // 2.5 s from an Instant
            0x20, 0xa1, 0x07, 0,    // 500000 microseconds
            1, 0, 0, 0,
            1, 0, 0, 0,
            0x11,
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn long_frames_are_cut_to_snaplen() {
        let mut writer = PcapWriter::new(Vec::new()).unwrap();
        let frame = vec![0; SNAPLEN as usize + 10];
        writer
            .write_frame(std::time::Duration::ZERO, &frame)
            .unwrap();
        let bytes = writer.into_inner();
        assert_eq!(bytes.len(), 24 + 16 + SNAPLEN as usize);
        assert_eq!(&bytes[32..36], &SNAPLEN.to_le_bytes());
        assert_eq!(&bytes[36..40], &(SNAPLEN + 10).to_le_bytes());
    }
}
