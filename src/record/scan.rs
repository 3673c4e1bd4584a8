//! A CSV body scanner that records where each field's raw bytes are, so untouched fields can be
//! copied through byte-for-byte instead of being decoded and re-quoted.
//!
//! The dialect is RFC 4180 as Splunk writes it: `,` separators, `"` quoting with `""` escapes,
//! `\n` or `\r\n` row ends. A bare `"` inside an unquoted field is kept as data (the csv crate
//! does the same). Empty lines are skipped, as the csv crate does.

use std::borrow::Cow;

use crate::bytes::{find_any, find_byte};

use crate::error::CsvError;

/// One field's raw bytes within the body, quotes included when `quoted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpan {
    pub start: usize,
    pub end: usize,
    pub quoted: bool,
    /// Quoted and holding a `""` escape, as the scan that found its end saw: a value without one
    /// is a plain slice of the body, known without a second look at its bytes.
    pub escaped: bool,
}

impl FieldSpan {
    fn unquoted(start: usize, end: usize) -> Self {
        FieldSpan { start, end, quoted: false, escaped: false }
    }

    /// The field's value: quotes removed and `""` unescaped; borrowed unless it had escapes.
    pub fn value<'a>(&self, body: &'a [u8]) -> Cow<'a, [u8]> {
        match self.borrowed(body) {
            Some(value) => Cow::Borrowed(value),
            None => Cow::Owned(self.pieces(body).collect::<Vec<_>>().concat()),
        }
    }

    /// The field's value when it is a plain slice of the body (no `""` to unescape).
    pub fn borrowed<'a>(&self, body: &'a [u8]) -> Option<&'a [u8]> {
        (!self.escaped).then(|| self.inner(body))
    }

    /// Appends the field's value to `out` as text, bytes that are not UTF-8 replaced (U+FFFD).
    pub fn push_value_lossy(&self, body: &[u8], out: &mut String) {
        // Nearly always valid: checked once as a whole, then copied between the escapes.
        if let Ok(text) = std::str::from_utf8(self.inner(body)) {
            if !self.escaped {
                out.push_str(text);
                return;
            }
            out.reserve(text.len());
            let mut rest = text;
            while let Some(i) = find_byte(b'"', rest.as_bytes()) {
                out.push_str(&rest[..=i]);
                // Inside a quoted field every quote is doubled: keep one, skip one.
                rest = rest[i + 1..].strip_prefix('"').unwrap_or(&rest[i + 1..]);
            }
            out.push_str(rest);
            return;
        }
        // A `"` never splits a UTF-8 sequence, so each piece decodes alone.
        for piece in self.pieces(body) {
            match std::str::from_utf8(piece) {
                Ok(s) => out.push_str(s),
                Err(_) => out.push_str(&String::from_utf8_lossy(piece)),
            }
        }
    }

    fn inner<'a>(&self, body: &'a [u8]) -> &'a [u8] {
        if self.quoted { &body[self.start + 1..self.end - 1] } else { &body[self.start..self.end] }
    }

    /// The value in pieces, `""` unescaped: every piece but the last ends with the quote kept.
    fn pieces<'a>(&self, body: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        let escaped = self.escaped;
        let mut rest = Some(self.inner(body));
        std::iter::from_fn(move || {
            let r = rest?;
            let quote = if escaped { find_byte(b'"', r) } else { None };
            match quote {
                // Inside a well-formed quoted field every quote is doubled: keep one, skip one.
                Some(i) => {
                    rest = Some(r.get(i + 2..).unwrap_or(&[]));
                    Some(&r[..=i])
                }
                None => {
                    rest = None;
                    Some(r)
                }
            }
        })
    }

    pub fn raw<'a>(&self, body: &'a [u8]) -> &'a [u8] {
        &body[self.start..self.end]
    }
}

/// A record's extent: `content_end` excludes the row terminator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordSpan {
    pub start: usize,
    pub content_end: usize,
}

/// Walks a CSV body record by record. `record` counts from 0 = the header row.
pub struct Scanner<'a> {
    body: &'a [u8],
    pos: usize,
    record: u64,
}

impl<'a> Scanner<'a> {
    pub fn new(body: &'a [u8]) -> Self {
        Scanner { body, pos: 0, record: 0 }
    }

    /// A scanner of `body` from `pos`, a record start past the header. Record numbers count
    /// from there, so its errors are positioned by byte offset only.
    pub fn resume(body: &'a [u8], pos: usize) -> Self {
        Scanner { body, pos, record: 1 }
    }

    /// Number of records returned so far (the header counts as record 0).
    pub fn records_read(&self) -> u64 {
        self.record
    }

    /// Byte offset of the next unread byte.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Reads the next record's field spans into `fields` (cleared first).
    pub fn next_record(&mut self, fields: &mut Vec<FieldSpan>) -> Result<Option<RecordSpan>, CsvError> {
        fields.clear();
        let body = self.body;
        // Skip empty lines, which carry no record.
        loop {
            match body.get(self.pos) {
                None => return Ok(None),
                Some(b'\n') => self.pos += 1,
                Some(b'\r') if body.get(self.pos + 1) == Some(&b'\n') => self.pos += 2,
                Some(_) => break,
            }
        }
        let start = self.pos;
        let mut pos = self.pos;
        loop {
            if body.get(pos) == Some(&b'"') {
                let field_start = pos;
                let mut i = pos + 1;
                let mut escaped = false;
                loop {
                    match find_byte(b'"', &body[i..]) {
                        None => {
                            return Err(CsvError::UnterminatedQuote { record: self.record, offset: field_start });
                        }
                        Some(q) => {
                            let q = i + q;
                            if body.get(q + 1) == Some(&b'"') {
                                escaped = true;
                                i = q + 2;
                            } else {
                                pos = q + 1;
                                break;
                            }
                        }
                    }
                }
                fields.push(FieldSpan { start: field_start, end: pos, quoted: true, escaped });
                match body.get(pos) {
                    None => return Ok(Some(self.finish(start, pos, pos))),
                    Some(b',') => pos += 1,
                    Some(b'\n') => return Ok(Some(self.finish(start, pos, pos + 1))),
                    Some(b'\r') if body.get(pos + 1) == Some(&b'\n') => {
                        return Ok(Some(self.finish(start, pos, pos + 2)));
                    }
                    Some(&byte) => {
                        return Err(CsvError::AfterClosingQuote { record: self.record, offset: pos, byte });
                    }
                }
            } else if body.get(pos) == Some(&b',') {
                // An empty field, the commonest of all where a chunk's header is the union of
                // several layouts: no search.
                fields.push(FieldSpan::unquoted(pos, pos));
                pos += 1;
            } else {
                let field_start = pos;
                match find_any([b',', b'\n'], &body[pos..]) {
                    None => {
                        fields.push(FieldSpan::unquoted(field_start, body.len()));
                        return Ok(Some(self.finish(start, body.len(), body.len())));
                    }
                    Some(n) => {
                        let at = pos + n;
                        if body[at] == b',' {
                            fields.push(FieldSpan::unquoted(field_start, at));
                            pos = at + 1;
                        } else {
                            let end = if at > field_start && body[at - 1] == b'\r' { at - 1 } else { at };
                            fields.push(FieldSpan::unquoted(field_start, end));
                            return Ok(Some(self.finish(start, end, at + 1)));
                        }
                    }
                }
            }
        }
    }

    fn finish(&mut self, start: usize, content_end: usize, next: usize) -> RecordSpan {
        self.pos = next;
        self.record += 1;
        RecordSpan { start, content_end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(body: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, CsvError> {
        let mut s = Scanner::new(body);
        let mut fields = Vec::new();
        let mut out = Vec::new();
        while s.next_record(&mut fields)?.is_some() {
            for f in &fields {
                let mut text = String::new();
                f.push_value_lossy(body, &mut text);
                assert_eq!(text, String::from_utf8_lossy(&f.value(body)), "text of {f:?}");
            }
            out.push(fields.iter().map(|f| f.value(body).into_owned()).collect());
        }
        Ok(out)
    }

    #[test]
    fn table_of_bodies() {
        type Rows<'a> = &'a [&'a [&'a [u8]]];
        let cases: &[(&[u8], Rows)] = &[
            (b"a,b\n1,2\n", &[&[b"a", b"b"], &[b"1", b"2"]]),
            (b"a,b\r\n1,2\r\n", &[&[b"a", b"b"], &[b"1", b"2"]]),
            (b"a,b\n1,2", &[&[b"a", b"b"], &[b"1", b"2"]]),
            (b"a,b\n,\n", &[&[b"a", b"b"], &[b"", b""]]),
            (b"a\n\"x,\"\"y\"\"\nz\"\n", &[&[b"a"], &[b"x,\"y\"\nz"]]),
            (b"a\n\"\"\n", &[&[b"a"], &[b""]]),
            (b"a,b\n\n1,2\n\n", &[&[b"a", b"b"], &[b"1", b"2"]]),
            (b"a\nx\"y\n", &[&[b"a"], &[b"x\"y"]]),
            (b"a\n\xff\xfe\n", &[&[b"a"], &[b"\xff\xfe"]]),
            (b"a\nx\ry\n", &[&[b"a"], &[b"x\ry"]]),
            (b"a\n\"\xe2\x80\"\"\xff\"\n", &[&[b"a"], &[b"\xe2\x80\"\xff"]]),
        ];
        for (body, want) in cases {
            let got = values(body).unwrap();
            let want: Vec<Vec<Vec<u8>>> = want.iter().map(|r| r.iter().map(|f| f.to_vec()).collect()).collect();
            assert_eq!(got, want, "body {:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn errors_carry_record_and_offset() {
        assert_eq!(values(b"a\n\"open\n").unwrap_err(), CsvError::UnterminatedQuote { record: 1, offset: 2 });
        assert_eq!(
            values(b"a\n\"x\"y\n").unwrap_err(),
            CsvError::AfterClosingQuote { record: 1, offset: 5, byte: b'y' }
        );
    }

    #[test]
    fn content_end_excludes_terminator() {
        let body = b"a,b\r\n1,\"2\"\r\n";
        let mut s = Scanner::new(body);
        let mut f = Vec::new();
        let r = s.next_record(&mut f).unwrap().unwrap();
        assert_eq!(&body[r.start..r.content_end], b"a,b");
        let r = s.next_record(&mut f).unwrap().unwrap();
        assert_eq!(&body[r.start..r.content_end], b"1,\"2\"");
    }

    proptest::proptest! {
        /// The text a field reads as is its value decoded leniently, whichever path it takes
        /// (valid UTF-8 as a whole, or piece by piece): escapes, line breaks, bytes not UTF-8.
        #[test]
        fn text_is_the_value_decoded(
            fields in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(vec![b'a', b'"', b',', b'\n', b'\r', 0xc3, 0xa9, 0xff, b' ']), 0..12),
                1..6,
            )
        ) {
            let mut body = b"h\n".to_vec();
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                crate::record::write_field(&mut body, f);
            }
            body.push(b'\n');
            let mut scanner = Scanner::new(&body);
            let mut spans = Vec::new();
            scanner.next_record(&mut spans).unwrap();
            scanner.next_record(&mut spans).unwrap();
            for (span, field) in spans.iter().zip(&fields) {
                let mut text = String::new();
                span.push_value_lossy(&body, &mut text);
                proptest::prop_assert_eq!(&text, &String::from_utf8_lossy(field));
                proptest::prop_assert_eq!(&*span.value(&body), &field[..]);
            }
        }
    }
}
