//! The framing of QEMU's stream network back end (`-netdev stream`, as of the
//! older `-netdev socket`): a byte stream of Ethernet frames, each preceded by
//! its length as a 32-bit big-endian integer.
//!
//! ```text
//! +--------+--------+--------+--------+----------------------------+
//! |          length (big-endian)      |  frame (length octets)     | ...
//! +--------+--------+--------+--------+----------------------------+
//! ```
//!
//! A stream has no way to find the next frame after a bad length, so a length
//! beyond [`MAX_FRAME`] ends the connection rather than being skipped.

use std::io::{self, Read};

use router::netio::tap::MAX_FRAME;

const LENGTH: usize = 4;
/// How much one read asks for.
const READ_CHUNK: usize = 64 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FramingError {
    #[error("frame length {0} exceeds {MAX_FRAME} octets: the stream is out of step")]
    TooLong(usize),
}

/// Reassembles frames from the bytes of a stream as they arrive.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Where the first unconsumed byte is.
    start: usize,
}

impl Decoder {
    /// Reads once from `from` (a non-blocking socket); returns what `read` gave.
    pub fn fill(&mut self, from: &mut impl Read) -> io::Result<usize> {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let end = self.buf.len();
        self.buf.resize(end + READ_CHUNK, 0);
        let got = from.read(&mut self.buf[end..]);
        self.buf.truncate(end + *got.as_ref().unwrap_or(&0));
        got
    }

    /// Moves the next whole frame into `out` and returns its length, if one has
    /// arrived. A frame longer than `out` is cut to fit.
    pub fn next_frame(&mut self, out: &mut [u8]) -> Result<Option<usize>, FramingError> {
        let pending = self.buf.get(self.start..).unwrap_or_default();
        let Some((header, rest)) = pending.split_first_chunk::<LENGTH>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*header) as usize;
        if len > MAX_FRAME {
            return Err(FramingError::TooLong(len));
        }
        let Some(frame) = rest.get(..len) else {
            return Ok(None);
        };
        let n = len.min(out.len());
        out[..n].copy_from_slice(&frame[..n]);
        self.start += LENGTH + len;
        Ok(Some(n))
    }
}

/// Appends `frame` with its length prefix to `out`.
pub fn encode(frame: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(frame);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_reads_come_out_whole() {
        let mut wire = Vec::new();
        encode(&[1, 2, 3], &mut wire);
        encode(&[], &mut wire);
        encode(&[9; 60], &mut wire);
        assert_eq!(&wire[..7], &[0, 0, 0, 3, 1, 2, 3]);
        let mut d = Decoder::default();
        let mut out = [0u8; 100];
        // Two bytes at a time, as a slow stream would deliver them.
        let mut frames = Vec::new();
        for chunk in wire.chunks(2) {
            let mut reader = chunk;
            d.fill(&mut reader).unwrap();
            while let Some(n) = d.next_frame(&mut out).unwrap() {
                frames.push(out[..n].to_vec());
            }
        }
        assert_eq!(frames, vec![vec![1, 2, 3], vec![], vec![9; 60]]);
        assert_eq!(d.next_frame(&mut out), Ok(None));
    }

    #[test]
    fn a_length_beyond_any_frame_is_an_error_and_a_short_buffer_cuts() {
        let mut d = Decoder::default();
        let mut reader: &[u8] = &[0x00, 0x10, 0x00, 0x01, 0xaa];
        d.fill(&mut reader).unwrap();
        assert_eq!(
            d.next_frame(&mut [0u8; 10]),
            Err(FramingError::TooLong(0x0010_0001))
        );
        let mut d = Decoder::default();
        let mut reader: &[u8] = &[0, 0, 0, 4, 1, 2, 3, 4, 0, 0];
        d.fill(&mut reader).unwrap();
        let mut out = [0u8; 2];
        assert_eq!(d.next_frame(&mut out), Ok(Some(2)));
        assert_eq!(out, [1, 2]);
        assert_eq!(d.next_frame(&mut out), Ok(None), "half a length so far");
    }
}
