//! Splunk's XML streaming mode: `<stream><event stanza=".." unbroken="1">...<done/></event>...`.

use std::io::{self, Write};

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
        write!(out, "<time>{}.{:03}</time>", ms.div_euclid(1000), ms.rem_euclid(1000))?;
    }
    for (tag, value) in [("host", e.host), ("source", e.source), ("sourcetype", Some(e.sourcetype)), ("index", e.index)]
    {
        if let Some(v) = value {
            write!(out, "<{tag}>")?;
            escape(out, v)?;
            write!(out, "</{tag}>")?;
        }
    }
    out.write_all(b"<data>")?;
    escape(out, e.data)?;
    out.write_all(b"</data><done/></event>\n")
}

/// XML text escaping in one linear pass into a buffer, then one write: writers pay per call,
/// and record XML has a special character every few bytes. In element content only `&`, `<`
/// and `>` need escaping; quotes (abundant in record XML attributes) stay as they are.
fn escape(out: &mut impl Write, s: &str) -> io::Result<()> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with_borrow_mut(|buf| {
        buf.clear();
        escape_into(buf, s.as_bytes());
        out.write_all(buf)
    })
}

fn escape_into(buf: &mut Vec<u8>, bytes: &[u8]) {
    const SPECIAL: [bool; 256] = {
        let mut t = [false; 256];
        t[b'&' as usize] = true;
        t[b'<' as usize] = true;
        t[b'>' as usize] = true;
        t
    };
    buf.reserve(bytes.len() + bytes.len() / 4);
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !SPECIAL[b as usize] {
            continue;
        }
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            _ => b"&gt;",
        });
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

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
