//! Where a tagged body goes. Rows pass through byte-for-byte, so the reply to Splunk need not
//! copy them at all: [`Spliced`] records them as spans of the request's body and writes them to
//! the output with vectored writes, next to the bytes the command produced. A plain `Vec<u8>`
//! (local mode, tests, benchmarks) copies them.

use std::io::{self, IoSlice, Write};

/// Receives an output body: spans of the input body, and bytes written by the command.
pub trait RecordSink {
    /// Appends `bytes`, which stand at offset `at` of the request's body.
    fn input(&mut self, bytes: &[u8], at: usize);

    /// The buffer the command appends its own bytes to.
    fn own(&mut self) -> &mut Vec<u8>;

    /// Reserves room, once, for the output of an input body of `body_len` bytes: the input plus
    /// the command's columns, about an eighth more.
    fn reserve_for(&mut self, body_len: usize);

    /// Appends everything `other` holds (a part of the same body, tagged on another thread).
    fn append(&mut self, other: Self)
    where
        Self: Sized;

    /// An empty sink for one part of a body: a part kept from an earlier body when this sink
    /// keeps them, its memory already in place, else a new one.
    fn spare(&mut self) -> Self
    where
        Self: Sized + Default,
    {
        Self::default()
    }
}

impl RecordSink for Vec<u8> {
    fn input(&mut self, bytes: &[u8], _at: usize) {
        self.extend_from_slice(bytes);
    }

    fn own(&mut self) -> &mut Vec<u8> {
        self
    }

    fn reserve_for(&mut self, body_len: usize) {
        self.reserve(body_len + body_len / 8 + 4096);
    }

    fn append(&mut self, other: Self) {
        self.extend_from_slice(&other);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece {
    Input { start: usize, end: usize },
    Own { start: usize, end: usize },
}

/// An output body made of spans of the input body and bytes of its own, in order.
#[derive(Debug, Default)]
pub struct Spliced {
    pieces: Vec<Piece>,
    own: Vec<u8>,
    /// Where the run of own bytes not yet recorded as a piece starts.
    open: usize,
    /// Sinks appended whole after this one's pieces, in order: moved rather than copied, so
    /// that a chunk's output is never held twice. Whatever is written after them goes to the
    /// last one. None of them has sinks appended of its own.
    appended: Vec<Spliced>,
    /// Appended sinks of earlier bodies, emptied, for the parts of the next ([`RecordSink::spare`]):
    /// a new part's memory is faulted in anew, and a chunk's parts are about as large as the
    /// last chunk's.
    spares: Vec<Spliced>,
}

impl Spliced {
    /// Empties the body; the memory of its appended parts is kept for the next body's parts.
    pub fn clear(&mut self) {
        self.pieces.clear();
        self.own.clear();
        self.open = 0;
        for mut part in self.appended.drain(..) {
            part.clear();
            self.spares.push(part);
        }
    }

    /// The sink that takes what is written now: the last appended one, if any.
    fn current(&mut self) -> &mut Spliced {
        match self.appended.len() {
            0 => self,
            n => &mut self.appended[n - 1],
        }
    }

    /// Records the own bytes written since the last piece.
    fn close_own(&mut self) {
        if self.own.len() > self.open {
            self.pieces.push(Piece::Own { start: self.open, end: self.own.len() });
            self.open = self.own.len();
        }
    }

    /// The body's length in bytes.
    pub fn len(&self) -> usize {
        std::iter::once(self).chain(&self.appended).map(Spliced::len_without_appended).sum()
    }

    fn len_without_appended(&self) -> usize {
        let closed: usize = self
            .pieces
            .iter()
            .map(|p| match *p {
                Piece::Input { start, end } | Piece::Own { start, end } => end - start,
            })
            .sum();
        closed + self.own.len() - self.open
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The body's bytes, `input` being the body the spans refer to.
    pub fn slices<'a>(&'a self, input: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.slices_without_appended(input)
            .chain(self.appended.iter().flat_map(move |part| part.slices_without_appended(input)))
    }

    fn slices_without_appended<'a>(&'a self, input: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        let tail = &self.own[self.open..];
        self.pieces
            .iter()
            .map(move |p| match *p {
                Piece::Input { start, end } => &input[start..end],
                Piece::Own { start, end } => &self.own[start..end],
            })
            .chain((!tail.is_empty()).then_some(tail))
    }

    /// Writes the body to `out`, up to [`BATCH`] slices per vectored write.
    pub fn write_to<W: Write + ?Sized>(&self, input: &[u8], out: &mut W) -> io::Result<()> {
        let mut slices = self.slices(input).peekable();
        let mut batch: Vec<IoSlice<'_>> = Vec::with_capacity(BATCH);
        while slices.peek().is_some() {
            batch.clear();
            batch.extend(slices.by_ref().take(BATCH).map(IoSlice::new));
            write_all_vectored(out, &mut batch)?;
        }
        Ok(())
    }
}

/// Slices per vectored write: Linux takes at most 1,024 (IOV_MAX) per `writev`.
pub const BATCH: usize = 1024;

/// `Write::write_all_vectored`, which is not stable yet.
fn write_all_vectored<W: Write + ?Sized>(out: &mut W, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !bufs.is_empty() {
        match out.write_vectored(bufs) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "failed to write the whole reply")),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl RecordSink for Spliced {
    fn input(&mut self, bytes: &[u8], at: usize) {
        if bytes.is_empty() {
            return;
        }
        let (start, end) = (at, at + bytes.len());
        let sink = self.current();
        sink.close_own();
        // Adjacent spans (a record and its row end, consecutive rows) make one slice.
        if let Some(Piece::Input { end: last, .. }) = sink.pieces.last_mut()
            && *last == start
        {
            *last = end;
            return;
        }
        sink.pieces.push(Piece::Input { start, end });
    }

    fn own(&mut self) -> &mut Vec<u8> {
        &mut self.current().own
    }

    fn reserve_for(&mut self, body_len: usize) {
        // Only the command's columns are stored; rows of about 1 KB or more make two pieces each.
        self.own.reserve(body_len / 8 + 4096);
        self.pieces.reserve(body_len / 512);
    }

    fn append(&mut self, mut other: Self) {
        let more = std::mem::take(&mut other.appended);
        self.spares.append(&mut other.spares);
        self.appended.push(other);
        self.appended.extend(more);
    }

    fn spare(&mut self) -> Self {
        self.spares.pop().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `limit` bytes per call, as a pipe may.
    struct Trickle {
        got: Vec<u8>,
        limit: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.limit);
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.limit - n);
                self.got.extend_from_slice(&b[..take]);
                n += take;
                if n == self.limit {
                    break;
                }
            }
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn spliced_equals_copied() {
        let input = b"a,b\n1,2\n3,4\n";
        let (mut spliced, mut copied) = (Spliced::default(), Vec::new());
        for sink in [&mut spliced as &mut dyn RecordSink, &mut copied] {
            sink.input(&input[0..3], 0);
            sink.own().extend_from_slice(b",c\n");
            sink.input(&input[4..7], 4);
            sink.input(&input[7..7], 7);
            sink.own().extend_from_slice(b",x\n");
            sink.input(&input[8..11], 8);
            sink.own().extend_from_slice(b",y\n");
        }
        assert_eq!(copied, b"a,b,c\n1,2,x\n3,4,y\n");
        assert_eq!(spliced.len(), copied.len());
        for limit in [1, 2, 5, 64] {
            let mut out = Trickle { got: Vec::new(), limit };
            spliced.write_to(input, &mut out).unwrap();
            assert_eq!(out.got, copied, "limit {limit}");
        }
        spliced.clear();
        assert!(spliced.is_empty());
    }

    /// A cleared body's parts come back empty, their memory kept, and write as new ones do.
    #[test]
    fn cleared_parts_come_back_empty() {
        let input = b"header\nrow one\n";
        let bytes = |s: &Spliced| s.slices(input).collect::<Vec<_>>().concat();
        let mut out = Spliced::default();
        let mut part = out.spare();
        part.input(&input[7..14], 7);
        part.own().extend_from_slice(&[b'x'; 1000]);
        out.append(part);
        out.clear();
        assert!(out.is_empty() && bytes(&out).is_empty());
        let mut again = out.spare();
        assert!(again.is_empty() && again.own.capacity() >= 1000);
        again.input(&input[0..6], 0);
        again.own().extend_from_slice(b",c\n");
        out.append(again);
        assert_eq!(bytes(&out), b"header,c\n");
        assert_eq!(out.len(), 9);
        assert_eq!(out.spare().own.capacity(), 0, "only one part was kept");
    }

    #[test]
    fn more_slices_than_one_batch() {
        let input: Vec<u8> = (0..3000).map(|i| b'a' + (i % 26) as u8).collect();
        let (mut spliced, mut copied) = (Spliced::default(), Vec::new());
        for i in 0..3000 {
            for sink in [&mut spliced as &mut dyn RecordSink, &mut copied] {
                sink.input(&input[i..i + 1], i);
                sink.own().push(b'|');
            }
        }
        let mut out = Vec::new();
        spliced.write_to(&input, &mut out).unwrap();
        assert_eq!(out, copied);
    }

    /// Appending parts (moved, not copied) gives the same bytes and length as writing them in
    /// place, whatever is written after them and however they were appended themselves.
    #[test]
    fn append_gives_what_writing_in_place_gives() {
        let input = b"header\nrow one\nrow two\nrow three\n";
        let bytes = |s: &Spliced| s.slices(input).collect::<Vec<_>>().concat();
        let rows = |target: &mut Spliced, rows: &[(usize, usize, &[u8])]| {
            for &(start, end, own) in rows {
                target.input(&input[start..end], start);
                target.own().extend_from_slice(own);
            }
        };
        type Rows<'a> = &'a [(usize, usize, &'a [u8])];
        let head: Rows = &[(0, 6, b",c\n")];
        let one: Rows = &[(7, 14, b",1\n")];
        let two: Rows = &[(15, 22, b",2\n")];
        let three: Rows = &[(23, 32, b",3")];
        let mut whole = Spliced::default();
        for part in [head, one, two, three] {
            rows(&mut whole, part);
        }

        let mut out = Spliced::default();
        rows(&mut out, head);
        let mut first = Spliced::default();
        rows(&mut first, one);
        // A part that has a part appended to it.
        let mut second = Spliced::default();
        rows(&mut second, two);
        first.append(second);
        out.append(first);
        out.append(Spliced::default());
        // Written after the parts: goes after them.
        rows(&mut out, three);
        assert_eq!(bytes(&out), bytes(&whole));
        assert_eq!(bytes(&out), b"header,c\nrow one,1\nrow two,2\nrow three,3");
        assert_eq!(out.len(), whole.len());
        out.clear();
        assert!(out.is_empty() && bytes(&out).is_empty());
    }
}
