//! Splunk's XML streaming mode: `<stream><event stanza=".." unbroken="1">...<done/></event>...`.

use std::io::{self, Write};

use super::reading::EventSink;
use crate::evtxfile::Record;

/// One event as splunkd reads it.
pub struct StreamEvent<'a> {
    pub stanza: &'a str,
    /// Seconds since the epoch, millisecond precision.
    pub time_ms: Option<i64>,
    pub host: Option<&'a str>,
    pub source: Option<&'a str>,
    pub sourcetype: &'a str,
    pub index: Option<&'a str>,
    pub data: &'a str,
}

/// The source of a record's event, `XmlWinEventLog:<Channel>` as Splunk_TA_windows names it,
/// built in a buffer reused from record to record.
pub fn xml_source<'b>(channel: &str, buf: &'b mut String) -> &'b str {
    buf.clear();
    buf.push_str("XmlWinEventLog:");
    buf.push_str(channel);
    buf
}

/// The records of one input stanza as XML stream events.
pub struct StanzaSink<'a, W: Write> {
    out: &'a mut W,
    stanza: &'a str,
    sourcetype: &'a str,
    index: Option<&'a str>,
    source: String,
}

impl<'a, W: Write> StanzaSink<'a, W> {
    pub fn new(out: &'a mut W, stanza: &'a str, sourcetype: &'a str, index: Option<&'a str>) -> Self {
        StanzaSink { out, stanza, sourcetype, index, source: String::new() }
    }
}

impl<W: Write> EventSink for StanzaSink<'_, W> {
    fn send(&mut self, record: &Record) -> io::Result<()> {
        let source = record.channel().map(|c| xml_source(c, &mut self.source));
        let event = StreamEvent {
            stanza: self.stanza,
            time_ms: Some(record.time_ms),
            host: record.computer(),
            source,
            sourcetype: self.sourcetype,
            index: self.index,
            data: record.xml(),
        };
        write_event(self.out, &event)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

pub fn begin(out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"<stream>\n")
}

pub fn end(out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"</stream>\n")?;
    out.flush()
}

pub fn write_event(out: &mut impl Write, e: &StreamEvent<'_>) -> io::Result<()> {
    out.write_all(b"<event stanza=\"")?;
    // An attribute value: quotes must be escaped there too. Stanza names are short.
    let stanza = e.stanza.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    out.write_all(stanza.as_bytes())?;
    out.write_all(b"\" unbroken=\"1\">")?;
    if let Some(ms) = e.time_ms {
        // Seconds with milliseconds, written by hand: this runs for every record.
        let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
        out.write_all(b"<time>")?;
        write_decimal(out, secs)?;
        let digit = |d: i64| b'0' + (d % 10) as u8;
        out.write_all(&[b'.', digit(millis / 100), digit(millis / 10), digit(millis)])?;
        out.write_all(b"</time>")?;
    }
    for (tag, value) in [("host", e.host), ("source", e.source), ("sourcetype", Some(e.sourcetype)), ("index", e.index)]
    {
        if let Some(v) = value {
            out.write_all(b"<")?;
            out.write_all(tag.as_bytes())?;
            out.write_all(b">")?;
            escape_to(out, v.as_bytes())?;
            out.write_all(b"</")?;
            out.write_all(tag.as_bytes())?;
            out.write_all(b">")?;
        }
    }
    out.write_all(b"<data>")?;
    escape_to(out, e.data.as_bytes())?;
    out.write_all(b"</data><done/></event>\n")
}

fn write_decimal(out: &mut impl Write, n: i64) -> io::Result<()> {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.write_all(b"-")?;
    }
    out.write_all(&digits[at..])
}

/// Escapes XML element content onto `out`: `&`, `<` and `>` (quotes stay as they are). Record
/// XML has a `<` or `>` every few bytes, so copying the runs between them would be a copy call
/// per few bytes: instead bytes are staged in a stack chunk, eight at a time where a word holds
/// nothing to escape, otherwise each byte storing its replacement from a table (itself, or its
/// entity) and advancing by its length, without a branch; the chunk is written when full.
fn escape_to(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    const CHUNK: usize = 4096;
    /// Each byte's replacement, padded to eight bytes, and its length.
    const TABLE: ([[u8; 8]; 256], [u8; 256]) = {
        let mut with = [[0u8; 8]; 256];
        let mut len = [1u8; 256];
        let mut b = 0;
        while b < 256 {
            with[b][0] = b as u8;
            b += 1;
        }
        let entities: [(u8, &[u8]); 3] = [(b'&', b"&amp;"), (b'<', b"&lt;"), (b'>', b"&gt;")];
        let mut e = 0;
        while e < entities.len() {
            let (byte, entity) = entities[e];
            let mut i = 0;
            while i < entity.len() {
                with[byte as usize][i] = entity[i];
                i += 1;
            }
            len[byte as usize] = entity.len() as u8;
            e += 1;
        }
        (with, len)
    };
    let (with, len) = (&TABLE.0, &TABLE.1);
    // Past the flush point: room for a word of entities (8 x 5 bytes) plus a table entry's padding.
    let mut chunk = [0u8; CHUNK + 48];
    let mut n = 0;
    let (words, tail) = bytes.as_chunks::<8>();
    for word in words {
        if special_mask(u64::from_le_bytes(*word)) == 0 {
            // Nothing to escape in these eight bytes: one store.
            chunk[n..n + 8].copy_from_slice(word);
            n += 8;
        } else {
            for &b in word {
                chunk[n..n + 8].copy_from_slice(&with[b as usize]);
                n += usize::from(len[b as usize]);
            }
        }
        if n > CHUNK {
            out.write_all(&chunk[..n])?;
            n = 0;
        }
    }
    for &b in tail {
        chunk[n..n + 8].copy_from_slice(&with[b as usize]);
        n += usize::from(len[b as usize]);
    }
    out.write_all(&chunk[..n])
}

/// A mask that is non-zero when any byte of the word is `&`, `<` or `>` (the classic "has zero
/// byte" test on the word XORed with each).
fn special_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    zero_bytes(word ^ (ONES * u64::from(b'&')))
        | zero_bytes(word ^ (ONES * u64::from(b'<')))
        | zero_bytes(word ^ (ONES * u64::from(b'>')))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-at-a-time definition the fast path must agree with.
    fn escape_simple(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in bytes {
            match b {
                b'&' => out.extend_from_slice(b"&amp;"),
                b'<' => out.extend_from_slice(b"&lt;"),
                b'>' => out.extend_from_slice(b"&gt;"),
                _ => out.push(b),
            }
        }
        out
    }

    #[test]
    fn escaping_agrees_with_the_definition() {
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"plain text without specials".to_vec(),
            b"<<<<<<<<<<<<>>>>>>>>>>&&&&&&&&&".to_vec(),
            "<Data Name='x'>a&b \u{e9}\u{2603} \"q\"</Data>".repeat(300).into_bytes(),
            vec![b'<'; 10_000],
            (0..=255u8).cycle().take(9_000).collect(),
        ];
        // Every alignment of a special within and across words.
        for len in 0..20 {
            for at in 0..len {
                let mut v = vec![b'a'; len];
                v[at] = b'&';
                cases.push(v);
            }
        }
        for case in cases {
            let mut got = Vec::new();
            escape_to(&mut got, &case).unwrap();
            assert_eq!(got, escape_simple(&case), "{:?}", String::from_utf8_lossy(&case));
        }
    }

    #[test]
    fn stanza_attribute_is_escaped_once() {
        let mut out = Vec::new();
        let e = StreamEvent {
            stanza: "a&\"b",
            time_ms: None,
            host: None,
            source: None,
            sourcetype: "s",
            index: None,
            data: "",
        };
        write_event(&mut out, &e).unwrap();
        assert!(String::from_utf8(out).unwrap().starts_with("<event stanza=\"a&amp;&quot;b\""));
    }

    #[test]
    fn event_shape() {
        let mut out = Vec::new();
        let e = StreamEvent {
            stanza: "systemtask_evtx://ir",
            time_ms: Some(1_623_360_086_384),
            host: Some("fs01"),
            source: Some("XmlWinEventLog:Security"),
            sourcetype: "XmlWinEventLog",
            index: None,
            data: "<Event><Data Name=\"x\">a&amp;b</Data></Event>",
        };
        write_event(&mut out, &e).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<event stanza=\"systemtask_evtx://ir\" unbroken=\"1\"><time>1623360086.384</time><host>fs01</host><source>XmlWinEventLog:Security</source><sourcetype>XmlWinEventLog</sourcetype><data>&lt;Event&gt;&lt;Data Name=\"x\"&gt;a&amp;amp;b&lt;/Data&gt;&lt;/Event&gt;</data><done/></event>\n"
        );
    }
}
