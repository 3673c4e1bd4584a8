//! Reading and writing SCP v2 frames: `chunked 1.0,<M>,<B>\n`, M bytes of JSON metadata, B bytes
//! of CSV body.
//!
//! Bounds, so that no allocation follows an unchecked length:
//! - the header line is at most [`MAX_HEADER_LINE`] bytes: the canonical header with two 20-digit
//!   numbers is 54 bytes;
//! - metadata is at most [`MAX_METADATA`]: a getinfo carries the search string, which Splunk caps
//!   far below this;
//! - a body is at most [`MAX_BODY`]: 50,000 events of 20 KB (the common `maxresultrows` with
//!   large task XML) is 1 GB; larger frames are refused rather than risking the host's memory.
//!
//! A body buffer is reserved at its declared length, once checked against the bound: reserved
//! but unwritten memory is address space, not resident memory, so a frame that declares a large
//! length and then ends early costs what was sent; a real frame is read without the copies of
//! a growing buffer.

use std::io::{BufRead, Read, Write};

use crate::error::ProtocolError;
use crate::record::Spliced;

pub const MAX_HEADER_LINE: usize = 64;
pub const MAX_METADATA: u64 = 64 << 20;
pub const MAX_BODY: u64 = 1 << 30;

const PREFIX: &[u8] = b"chunked 1.0,";

/// Reads frames into reused buffers and counts frames and stream bytes for error positions.
pub struct FrameReader<R> {
    input: R,
    /// Number of frames read so far; the frame being read is `frames + 1`.
    frames: u64,
    offset: u64,
    header: Vec<u8>,
}

/// Where a frame was found, for messages.
#[derive(Clone, Copy, Debug)]
pub struct FramePos {
    pub frame: u64,
    pub offset: u64,
}

impl<R: BufRead> FrameReader<R> {
    pub fn new(input: R) -> Self {
        FrameReader { input, frames: 0, offset: 0, header: Vec::with_capacity(MAX_HEADER_LINE) }
    }

    /// Reads one frame into `metadata` and `body` (both cleared). Returns `None` at a clean end
    /// of input (no byte of a new frame).
    pub fn read_frame(
        &mut self,
        metadata: &mut Vec<u8>,
        body: &mut Vec<u8>,
    ) -> Result<Option<FramePos>, ProtocolError> {
        metadata.clear();
        body.clear();
        let pos = FramePos { frame: self.frames + 1, offset: self.offset };
        if !self.read_header_line(pos)? {
            return Ok(None);
        }
        let (m, b) = parse_header(&self.header, pos)?;
        if m > MAX_METADATA {
            return Err(ProtocolError::TooLarge {
                frame: pos.frame,
                offset: pos.offset,
                what: "metadata",
                len: m,
                max: MAX_METADATA,
            });
        }
        if b > MAX_BODY {
            return Err(ProtocolError::TooLarge {
                frame: pos.frame,
                offset: pos.offset,
                what: "body",
                len: b,
                max: MAX_BODY,
            });
        }
        self.read_exact_len(metadata, m, pos, "metadata")?;
        self.read_exact_len(body, b, pos, "body")?;
        self.frames += 1;
        Ok(Some(pos))
    }

    /// Reads and discards everything left, so Splunk never sees a closed pipe.
    pub fn drain(&mut self) -> std::io::Result<u64> {
        std::io::copy(&mut self.input, &mut std::io::sink())
    }

    fn read_header_line(&mut self, pos: FramePos) -> Result<bool, ProtocolError> {
        self.header.clear();
        loop {
            let available = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if available.is_empty() {
                if self.header.is_empty() {
                    return Ok(false);
                }
                return Err(ProtocolError::TruncatedHeader { frame: pos.frame, offset: pos.offset });
            }
            let room = MAX_HEADER_LINE - self.header.len();
            let look = &available[..available.len().min(room)];
            if let Some(i) = memchr::memchr(b'\n', look) {
                self.header.extend_from_slice(&look[..=i]);
                self.input.consume(i + 1);
                self.offset += (i + 1) as u64;
                return Ok(true);
            }
            let n = look.len();
            self.header.extend_from_slice(look);
            self.input.consume(n);
            self.offset += n as u64;
            if self.header.len() >= MAX_HEADER_LINE {
                return Err(ProtocolError::HeaderTooLong {
                    frame: pos.frame,
                    offset: pos.offset,
                    max: MAX_HEADER_LINE,
                });
            }
        }
    }

    fn read_exact_len(
        &mut self,
        buf: &mut Vec<u8>,
        len: u64,
        pos: FramePos,
        what: &'static str,
    ) -> Result<(), ProtocolError> {
        if len == 0 {
            return Ok(());
        }
        // `len` was checked against MAX_METADATA / MAX_BODY by the caller.
        buf.reserve(len as usize);
        let got = (&mut self.input).take(len).read_to_end(buf)? as u64;
        self.offset += got;
        if got < len {
            return Err(ProtocolError::Truncated { frame: pos.frame, offset: self.offset, what, expected: len, got });
        }
        Ok(())
    }
}

/// Accepts only the canonical header: decimal lengths without sign, spaces or leading zeros.
fn parse_header(line: &[u8], pos: FramePos) -> Result<(u64, u64), ProtocolError> {
    let bad = |reason: &'static str| ProtocolError::BadHeader {
        frame: pos.frame,
        offset: pos.offset,
        header: String::from_utf8_lossy(line).into_owned(),
        reason,
    };
    let line = line.strip_suffix(b"\n").ok_or_else(|| bad("no newline"))?;
    let rest = line.strip_prefix(PREFIX).ok_or_else(|| bad("does not start with \"chunked 1.0,\""))?;
    let comma = memchr::memchr(b',', rest).ok_or_else(|| bad("expected two comma-separated lengths"))?;
    let m = parse_len(&rest[..comma]).ok_or_else(|| bad("metadata length is not a canonical decimal number"))?;
    let b = parse_len(&rest[comma + 1..]).ok_or_else(|| bad("body length is not a canonical decimal number"))?;
    Ok((m, b))
}

fn parse_len(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(n)
}

/// Writes one frame whose body is spliced from spans of `input` and the command's own bytes.
pub fn write_spliced_frame<W: Write>(
    out: &mut W,
    metadata: &[u8],
    body: &Spliced,
    input: &[u8],
) -> std::io::Result<()> {
    writeln!(out, "chunked 1.0,{},{}", metadata.len(), body.len())?;
    out.write_all(metadata)?;
    body.write_to(input, out)?;
    out.flush()
}

/// Writes one frame with the canonical header.
pub fn write_frame<W: Write>(out: &mut W, metadata: &[u8], body: &[u8]) -> std::io::Result<()> {
    writeln!(out, "chunked 1.0,{},{}", metadata.len(), body.len())?;
    out.write_all(metadata)?;
    out.write_all(body)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    type Frames = Vec<(Vec<u8>, Vec<u8>)>;

    fn read_all(input: &[u8]) -> Result<Frames, ProtocolError> {
        let mut r = FrameReader::new(input);
        let (mut m, mut b) = (Vec::new(), Vec::new());
        let mut out = Vec::new();
        while r.read_frame(&mut m, &mut b)?.is_some() {
            out.push((m.clone(), b.clone()));
        }
        Ok(out)
    }

    #[test]
    fn reads_canonical_frames() {
        let frames = read_all(b"chunked 1.0,2,3\n{}a,bchunked 1.0,2,0\n{}").unwrap();
        assert_eq!(frames, vec![(b"{}".to_vec(), b"a,b".to_vec()), (b"{}".to_vec(), vec![])]);
    }

    #[test]
    fn refuses_bad_headers_with_position() {
        let cases: &[(&[u8], &str)] = &[
            (b"chunked 1.0,01,0\n{}", "metadata length is not a canonical"),
            (b"chunked 1.0, 2,0\n{}", "metadata length is not a canonical"),
            (b"chunked 1.0,2,+0\n{}", "body length is not a canonical"),
            (b"chunked 1.0,2\n{}", "expected two comma-separated"),
            (b"chunked 2.0,2,0\n{}", "does not start with"),
            (b"CHUNKED 1.0,2,0\n{}", "does not start with"),
            (b"chunked 1.0,2,0\r\n{}", "body length is not a canonical"),
            (b"chunked 1.0,x,0\n", "metadata length is not a canonical"),
            (b"chunked 1.0,99999999999999999999,0\n", "metadata length is not a canonical"),
            (b"chunked 1.0,2,0", "input ended inside the header"),
            (b"chunked 1.0,2,0000000000000000000000000000000000000000000000000000000", "longer than 64"),
            (b"chunked 1.0,70000000,0\n", "exceeds the limit"),
            (b"chunked 1.0,2,2000000000\n{}", "exceeds the limit"),
            (b"chunked 1.0,10,0\n{}", "input ended after 2 of 10 declared metadata"),
            (b"chunked 1.0,2,10\n{}abc", "input ended after 3 of 10 declared body"),
        ];
        for (input, want) in cases {
            let err = read_all(input).unwrap_err().to_string();
            assert!(err.contains(want), "input {:?}: {err}", String::from_utf8_lossy(input));
            assert!(err.starts_with("frame 1 at byte"), "{err}");
        }
    }

    #[test]
    fn second_frame_position_is_reported() {
        let err = read_all(b"chunked 1.0,2,0\n{}chunked 1.0,2,x\n").unwrap_err().to_string();
        assert!(err.starts_with("frame 2 at byte 18:"), "{err}");
    }
}
