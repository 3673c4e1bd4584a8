//! Record I/O: CSV bodies in (spans over the original bytes), CSV out (untouched fields copied
//! as their original bytes, the command's columns appended).

pub mod jsonl;
pub mod scan;
pub mod sink;
pub mod union;

pub use scan::{FieldSpan, RecordSpan, Scanner};
pub use sink::{RecordSink, Spliced};

/// Reads `buf` whole from `input`: how many bytes arrived (fewer only if the input ended or
/// failed first; whoever reads the input keeps the failure).
pub fn read_whole(buf: &mut [u8], input: &mut dyn std::io::Read) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(n) if n > 0 => got += n,
            _ => break,
        }
    }
    got
}

/// Whether a CSV field must be quoted: it holds a separator, a quote or a line end.
pub fn needs_quotes(value: &[u8]) -> bool {
    crate::bytes::find_any([b',', b'"', b'\n', b'\r'], value).is_some()
}

/// Appends a CSV field, quoted only when it must be.
pub fn write_field(out: &mut Vec<u8>, value: &[u8]) {
    if !needs_quotes(value) {
        out.extend_from_slice(value);
        return;
    }
    out.reserve(value.len() + 2);
    out.push(b'"');
    let mut rest = value;
    while let Some(i) = memchr::memchr(b'"', rest) {
        out.extend_from_slice(&rest[..=i]);
        out.push(b'"');
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"plain", b"plain"),
            (b"", b""),
            (b"a,b", b"\"a,b\""),
            (b"say \"hi\"", b"\"say \"\"hi\"\"\""),
            (b"two\nlines", b"\"two\nlines\""),
        ];
        for (value, want) in cases {
            let mut out = Vec::new();
            write_field(&mut out, value);
            assert_eq!(&out, want);
        }
    }
}
