//! Record I/O: CSV bodies in (spans over the original bytes), CSV out (untouched fields copied
//! as their original bytes, the command's columns appended).

pub mod jsonl;
pub mod scan;
pub mod sink;

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

/// Appends a multivalue field's plain cell (values joined by `\n`).
pub fn write_mv_plain<S: AsRef<str>>(out: &mut Vec<u8>, values: &[S], scratch: &mut Vec<u8>) {
    match values {
        [] => {}
        [one] => write_field(out, one.as_ref().as_bytes()),
        _ => {
            scratch.clear();
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    scratch.push(b'\n');
                }
                scratch.extend_from_slice(v.as_ref().as_bytes());
            }
            write_field(out, scratch);
        }
    }
}

/// Appends a multivalue field's `__mv_` cell: `$v1$;$v2$` with `$` doubled, empty for fewer
/// than two values (Splunk's convention for single values).
pub fn write_mv_encoded<S: AsRef<str>>(out: &mut Vec<u8>, values: &[S], scratch: &mut Vec<u8>) {
    if values.len() < 2 {
        return;
    }
    scratch.clear();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            scratch.push(b';');
        }
        scratch.push(b'$');
        for &b in v.as_ref().as_bytes() {
            if b == b'$' {
                scratch.push(b'$');
            }
            scratch.push(b);
        }
        scratch.push(b'$');
    }
    write_field(out, scratch);
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

    #[test]
    fn multivalue_cells() {
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        let values = vec!["a".to_string(), "b$c".to_string()];
        write_mv_plain(&mut out, &values, &mut scratch);
        out.push(b',');
        write_mv_encoded(&mut out, &values, &mut scratch);
        assert_eq!(out, b"\"a\nb$c\",$a$;$b$$c$");
        out.clear();
        write_mv_encoded(&mut out, &["one".to_string()], &mut scratch);
        assert!(out.is_empty());
    }
}
