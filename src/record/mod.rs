//! Record I/O: CSV bodies in (spans over the original bytes), CSV out (untouched fields copied
//! as their original bytes, the command's columns appended).

pub mod jsonl;
pub mod scan;
pub mod sink;
pub mod union;

pub use scan::{FieldSpan, RecordSpan, Scanner};
pub use sink::{RecordSink, Spliced};

/// Appends a CSV field, quoted only when it must be.
pub fn write_field(out: &mut Vec<u8>, value: &[u8]) {
    if !needs_quotes(value) {
        if value.len() < 32 {
            // Most values are a few bytes: byte stores beat a call to a libc memcpy (musl's
            // starts every copy with `rep movs`).
            out.reserve(value.len());
            for &b in value {
                out.push(b);
            }
        } else {
            out.extend_from_slice(value);
        }
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

fn needs_quotes(value: &[u8]) -> bool {
    // Most of the command's values are a few bytes: a plain loop beats setting up a SIMD search.
    if value.len() < 32 {
        return value.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    }
    memchr::memchr3(b',', b'"', b'\n', value).is_some() || memchr::memchr(b'\r', value).is_some()
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
