//! Bad input: a refusal that names what was wrong and where, an ERROR inspector message on a
//! final reply, one line on stderr, a non-zero exit. Never a panic, never a hang.

mod common;

use common::*;

struct Case {
    name: &'static str,
    input: Vec<u8>,
    /// Text the ERROR message must contain.
    want: &'static str,
}

fn cases() -> Vec<Case> {
    let ok = getinfo(&[]);
    let with = |tail: &[u8]| [ok.clone(), tail.to_vec()].concat();
    vec![
        Case { name: "empty stdin", input: vec![], want: "stdin was empty" },
        Case {
            name: "binary garbage",
            input: vec![0xff, 0x00, 0x13, 0x37, b'\n', 0x80],
            want: "frame 1 at byte 0: bad header",
        },
        Case { name: "garbage without newline", input: vec![0x41; 200], want: "header line longer than 64 bytes" },
        Case { name: "non-canonical header", input: b"chunked  1.0,2,0\n{}".to_vec(), want: "does not start with" },
        Case {
            name: "leading zero",
            input: b"chunked 1.0,02,0\n{}".to_vec(),
            want: "metadata length is not a canonical",
        },
        Case {
            name: "non-numeric length",
            input: b"chunked 1.0,abc,0\n{}".to_vec(),
            want: "metadata length is not a canonical",
        },
        Case {
            name: "absurd metadata length",
            input: b"chunked 1.0,999999999999,0\n{}".to_vec(),
            want: "exceeds the limit of 67108864",
        },
        Case {
            name: "absurd body length",
            input: with(b"chunked 1.0,36,99999999999999\n{\"action\":\"execute\",\"finished\":true}"),
            want: "frame 2 at byte",
        },
        Case {
            name: "header with no newline",
            input: b"chunked 1.0,2,0".to_vec(),
            want: "input ended inside the header line",
        },
        Case {
            name: "truncated metadata",
            input: b"chunked 1.0,50,0\n{\"action\":".to_vec(),
            want: "input ended after 10 of 50 declared metadata bytes",
        },
        Case {
            name: "truncated body",
            input: with(b"chunked 1.0,36,100\n{\"action\":\"execute\",\"finished\":true}a,b\n1,2\n"),
            want: "frame 2 at byte",
        },
        Case {
            name: "metadata not JSON",
            input: b"chunked 1.0,5,0\nhello".to_vec(),
            want: "frame 1: metadata is not a valid request",
        },
        Case {
            name: "metadata not an object",
            input: b"chunked 1.0,7,0\n[1,2,3]".to_vec(),
            want: "frame 1: metadata is not a valid request",
        },
        Case {
            name: "metadata not UTF-8",
            input: b"chunked 1.0,4,0\n{\"\xff\"".to_vec(),
            want: "frame 1: metadata is not UTF-8 (byte 2",
        },
        Case {
            name: "execute before getinfo",
            input: execute(true, b"a\n1\n"),
            want: "frame 1: an execute request arrived before getinfo",
        },
        Case { name: "second getinfo", input: with(&getinfo(&[])), want: "frame 2: a second getinfo request arrived" },
        Case {
            name: "unknown action",
            input: with(&frame(r#"{"action":"dance"}"#, b"")),
            want: "frame 2: unknown action \"dance\"",
        },
        Case {
            name: "ragged CSV",
            input: with(&execute(true, b"a,b\n1,2\n1,2,3\n")),
            want: "chunk 1 (frame 2): record 2 at body byte 8: 3 fields where the header has 2",
        },
        Case {
            name: "unterminated quote",
            input: with(&execute(true, b"a,b\n1,\"2\n")),
            want: "chunk 1 (frame 2): record 1: quoted field opened at body byte 6 is never closed",
        },
        Case {
            name: "junk after quote",
            input: with(&execute(true, b"a\n\"x\"y\n")),
            want: "unexpected byte 0x79 after a closing quote",
        },
        Case {
            name: "second chunk bad",
            input: with(&[execute(false, b"a\n1\n"), execute(true, b"a,b\n1\n")].concat()),
            want: "chunk 2 (frame 3): record 1",
        },
    ]
}

#[test]
fn table_of_malformed_inputs() {
    for case in cases() {
        let run = run(case.input);
        assert_eq!(run.code, 1, "{}: exit code; stderr {}", case.name, run.stderr);
        let last = run.replies.last().unwrap_or_else(|| panic!("{}: no reply at all", case.name));
        assert_eq!(last.metadata["finished"], true, "{}: final reply", case.name);
        let errors = run.messages("ERROR");
        assert_eq!(errors.len(), 1, "{}: {errors:?}", case.name);
        assert!(errors[0].contains(case.want), "{}: {:?} lacks {:?}", case.name, errors[0], case.want);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{}: one stderr line, got {:?}", case.name, run.stderr);
        assert!(lines[0].starts_with("systemtask: ") && lines[0].contains(case.want), "{}: {}", case.name, lines[0]);
        assert!(!run.stderr.contains("panicked"), "{}", case.name);
        assert!(!String::from_utf8_lossy(&run.stdout).contains("SECRET-SESSION-KEY"), "{}", case.name);
    }
}

#[test]
fn bad_options_are_refused_on_the_getinfo_reply() {
    let cases: &[(&[&str], &str)] = &[
        (&["bogus=1"], "Unrecognized option: bogus=1"),
        (&["mode=everything"], "Invalid value for mode: \"everything\""),
        (&["mode"], "Malformed argument \"mode\""),
        (&["allowlist=../../../etc/passwd"], "must be a file name in the app's lookups directory"),
        (&["allowlist=custom.csv"], "allowlist \"custom.csv\""),
    ];
    for (args, want) in cases {
        let run = run([getinfo(args), execute(true, b"a\n1\n")].concat());
        assert_eq!(run.code, 1, "{args:?}");
        assert_eq!(run.replies.len(), 1, "{args:?}: only the getinfo reply");
        assert_eq!(run.replies[0].metadata["type"], "streaming");
        let errors = run.messages("ERROR");
        assert!(errors.len() == 1 && errors[0].contains(want), "{args:?}: {errors:?}");
    }
}

#[test]
fn input_closed_without_final_request_exits_cleanly() {
    let run = run([getinfo(&[]), execute(false, b"a\n1\n")].concat());
    assert_eq!(run.code, 0, "stderr {:?}, {} replies", run.stderr, run.replies.len());
    assert_eq!(run.replies.len(), 2, "stderr {:?}", run.stderr);
    assert!(run.stderr.contains("input closed before the final execute request"), "stderr {:?}", run.stderr);
}

#[test]
fn trailing_input_after_the_final_reply_is_drained() {
    let mut input = [getinfo(&[]), execute(true, b"a\n1\n")].concat();
    input.extend(vec![b'x'; 1 << 20]);
    let run = run(input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.replies.len(), 2);
}
