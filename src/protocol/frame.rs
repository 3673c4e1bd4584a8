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
//! A body buffer is taken at its declared length (and an eighth more, for the next frames), once
//! checked against the bound, as zeroed memory: the allocator hands that out as untouched pages,
//! which are address space, not resident memory, so a frame that declares a large length and
//! then ends early costs what was sent; a real frame is read without the copies of a growing
//! buffer. The body is read while the command analyses what has arrived
//! ([`FrameReader::read_body_with`]).

use std::io::{BufRead, Read, Write};

use crate::error::ProtocolError;
use crate::record::{Spliced, read_whole};

pub const MAX_HEADER_LINE: usize = 64;
pub const MAX_METADATA: u64 = 64 << 20;
pub const MAX_BODY: u64 = 1 << 30;

const PREFIX: &[u8] = b"chunked 1.0,";

/// The capacity a new buffer for `len` bytes is taken with: an eighth more, because the frames
/// of one search differ in size by a few percent, and a buffer that fits the next one is reused
/// rather than taken (and faulted in) again. Headroom never written is address space, not memory.
fn with_headroom(len: usize) -> usize {
    len + len / 8
}

/// A frame's body as its consumer reads it: reads go to the input, counted (the body's bytes
/// arrive in order at its buffer's front) and retried when interrupted. The first failure is
/// kept as the frame's error; the consumer is told once, and after that the body reads as
/// ended.
struct BodyInput<'a, R> {
    input: &'a mut R,
    got: usize,
    failure: Option<std::io::Error>,
}

impl<R: Read> Read for BodyInput<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.failure.is_some() {
                return Ok(0);
            }
            match self.input.read(buf) {
                Ok(n) => {
                    self.got += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let kind = e.kind();
                    self.failure = Some(e);
                    return Err(kind.into());
                }
            }
        }
    }
}

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
        let Some((pos, len)) = self.read_head(metadata)? else { return Ok(None) };
        self.read_body_with(body, len, pos, |_, _| ())?;
        Ok(Some(pos))
    }

    /// Reads one frame's header line and its metadata (into `metadata`, cleared): where the
    /// frame is and its body's declared length, which is read next with
    /// [`FrameReader::read_body_with`]. `None` at a clean end of input.
    pub fn read_head(&mut self, metadata: &mut Vec<u8>) -> Result<Option<(FramePos, u64)>, ProtocolError> {
        metadata.clear();
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
        Ok(Some((pos, b)))
    }

    /// Reads the body of the frame whose head was just read (`len` bytes, at `pos`) while
    /// `consume` works on it: `consume` gets the body's buffer, `len` bytes long, and a reader
    /// of its next bytes, and may read as far as it likes; what it leaves is read after it. A
    /// failed read is reported to `consume` once; after it the body reads as ended.
    /// `body` holds the body afterwards. If the input ends or fails first, that is the error,
    /// whatever `consume` returned.
    ///
    /// A buffer too small is replaced, not grown: zeroed memory this large comes from the
    /// allocator as untouched pages (calloc, mmap), so a frame that declares a large length
    /// and then ends early costs about what was sent, and a buffer that is large enough is not
    /// cleared first.
    pub fn read_body_with<T>(
        &mut self,
        body: &mut Vec<u8>,
        len: u64,
        pos: FramePos,
        consume: impl FnOnce(&mut [u8], &mut dyn Read) -> T,
    ) -> Result<T, ProtocolError> {
        // `len` was checked against MAX_BODY by `read_head`.
        let len = len as usize;
        if body.capacity() < len {
            // The old buffer goes first, so the peak is one body, not two.
            *body = Vec::new();
            *body = vec![0u8; with_headroom(len)];
        }
        // Bytes of an earlier body are kept rather than cleared: they are read over.
        body.resize(len, 0);
        let mut input = BodyInput { input: &mut self.input, got: 0, failure: None };
        let consumed = consume(body, &mut input);
        // Whatever `consume` left unread.
        if let Some(rest) = body.get_mut(input.got..) {
            read_whole(rest, &mut input);
        }
        let BodyInput { got, failure, .. } = input;
        if let Some(e) = failure {
            return Err(e.into());
        }
        body.truncate(got);
        self.count_read(got as u64, len as u64, pos, "body")?;
        self.frames += 1;
        Ok(consumed)
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
        // `len` was checked against MAX_METADATA by the caller. A buffer too small is freed
        // before the larger one is taken: it is empty, and growing it in place would have the
        // allocator copy its whole old capacity and hold both at once.
        if buf.capacity() < len as usize {
            *buf = Vec::new();
            buf.reserve(with_headroom(len as usize));
        }
        let got = (&mut self.input).take(len).read_to_end(buf)? as u64;
        self.count_read(got, len, pos, what)
    }

    /// Counts `got` bytes read of the `len` declared for `what`: an error if the input ended
    /// first.
    fn count_read(&mut self, got: u64, len: u64, pos: FramePos, what: &'static str) -> Result<(), ProtocolError> {
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

    /// Hands out at most 7,777 bytes per read, as a pipe does in pieces of its own sizes.
    struct Trickle<'a>(&'a [u8]);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(7_777);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn large_body(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    fn frame(metadata: &[u8], body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_frame(&mut out, metadata, body).unwrap();
        out
    }

    #[test]
    fn large_bodies_arrive_whole_and_in_order() {
        // A large body, a smaller frame that reuses the buffer, one more large one, one past
        // the buffer's headroom (read into a new buffer), and an empty one.
        let first = large_body((16 << 20) + 3);
        let second = b"small".to_vec();
        let third = large_body((16 << 20) + 1);
        let fourth = large_body(with_headroom(first.len()) + 1);
        let bodies = [&first, &second, &third, &fourth, &Vec::new()];
        let input = bodies.map(|body| frame(b"{}", body)).concat();
        let mut reader = FrameReader::new(std::io::BufReader::new(Trickle(&input)));
        let (mut m, mut b) = (Vec::new(), Vec::new());
        for want in bodies {
            reader.read_frame(&mut m, &mut b).unwrap().unwrap();
            assert!(b == *want, "a body of {} bytes came back changed", want.len());
        }
        assert!(reader.read_frame(&mut m, &mut b).unwrap().is_none());
    }

    #[test]
    fn a_large_body_that_ends_early_is_reported_where_it_ended() {
        let len = (16 << 20) + 3;
        let body = large_body(len);
        for sent in [0, 1, 7_777, 1 << 20, len - 1] {
            let mut input = format!("chunked 1.0,2,{len}\n{{}}").into_bytes();
            let header = input.len();
            input.extend_from_slice(&body[..sent]);
            let mut reader = FrameReader::new(std::io::BufReader::new(Trickle(&input)));
            let err = reader.read_frame(&mut Vec::new(), &mut Vec::new()).unwrap_err().to_string();
            let want = format!("frame 1 at byte {}: input ended after {sent} of {len} declared body", header + sent);
            assert!(err.starts_with(&want), "sent {sent}: {err}");
        }
    }

    /// What the consumer reads arrives in order at the buffer's front; what it leaves is read
    /// after it, and the next frame follows.
    #[test]
    fn a_body_read_in_part_by_its_consumer_arrives_whole() {
        let body = large_body(100_000);
        let input = [frame(b"{}", &body), frame(b"{}", b"next")].concat();
        for stop in [0, 1, 7_777, 50_000, 100_000] {
            let mut reader = FrameReader::new(std::io::BufReader::new(Trickle(&input)));
            let (pos, len) = reader.read_head(&mut Vec::new()).unwrap().unwrap();
            let mut b = Vec::new();
            let seen = reader
                .read_body_with(&mut b, len, pos, |buf, input| {
                    assert_eq!(buf.len(), body.len());
                    let mut got = 0;
                    while got < stop {
                        got += input.read(&mut buf[got..stop]).unwrap();
                    }
                    buf[..got].to_vec()
                })
                .unwrap();
            assert!(seen == body[..stop], "stop {stop}: the consumer saw other bytes");
            assert!(b == body, "stop {stop}: the body came back changed");
            let mut next = Vec::new();
            reader.read_frame(&mut Vec::new(), &mut next).unwrap().unwrap();
            assert_eq!(next, b"next");
        }
    }

    /// An input that fails inside a body: the consumer's reads fail, and the failure, not the
    /// consumer's result, is the frame's error.
    #[test]
    fn a_failed_read_inside_a_body_is_the_error() {
        struct Failing<'a>(&'a [u8]);
        impl Read for Failing<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() {
                    return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "gone"));
                }
                let n = buf.len().min(self.0.len()).min(100);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let input = format!("chunked 1.0,2,1000\n{{}}{}", "x".repeat(300)).into_bytes();
        let mut reader = FrameReader::new(std::io::BufReader::new(Failing(&input)));
        let (pos, len) = reader.read_head(&mut Vec::new()).unwrap().unwrap();
        let mut failures = 0;
        let err = reader
            .read_body_with(&mut Vec::new(), len, pos, |buf, input| {
                let mut got = 0;
                loop {
                    match input.read(&mut buf[got..]) {
                        Ok(0) => break,
                        Ok(n) => got += n,
                        Err(_) => failures += 1,
                    }
                }
                got
            })
            .unwrap_err();
        assert_eq!(failures, 1, "the consumer is told once, then the body ends");
        assert!(err.to_string().contains("gone"), "{err}");
    }
}
