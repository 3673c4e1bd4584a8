//! Replays every recorded session in ../shared/scp through the real binary, frame by frame.

mod common;

use common::*;

/// Sessions whose execute frames are replayed as splunkd sent them. The getinfo is replaced by
/// one carrying this command's arguments (the recordings were made for other commands).
const SESSIONS: &[&str] = &[
    "splunk-8.0.3/harvest.input.gz",
    "splunk-6.3/countmatches.input.gz",
    "splunk-6.3/sum.map.input.gz",
    "python-sdk-2.1.1/ref_tag.tricky.input",
    "python-sdk-2.1.1/ref_tag.empty_input.input",
    "python-sdk-2.1.1/ref_tag.winevents_1k_chunk300.input.gz",
    "python-sdk-2.1.1/ref_tag.bad_option.input",
    "python-sdk-2.1.1/ref_raise.exception.input",
];

#[test]
fn every_recorded_session_round_trips() {
    for name in SESSIONS {
        let recorded = read_maybe_gz(&shared().join("scp").join(name));
        let frames = split_frames(&recorded);
        let mut input = getinfo(&["allowlist=none"]);
        let executes: Vec<&(Vec<u8>, Vec<u8>)> = frames[1..].iter().collect();
        for (m, b) in &executes {
            input.extend(frame(std::str::from_utf8(m).unwrap(), b));
        }
        let run = run(input);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert_eq!(run.replies.len(), 1 + executes.len(), "{name}: one reply per request");
        assert_eq!(run.replies[0].metadata["type"], "streaming", "{name}");
        for (i, ((m, body), reply)) in executes.iter().zip(&run.replies[1..]).enumerate() {
            let request: serde_json::Value = serde_json::from_slice(m).unwrap();
            assert_eq!(reply.metadata["finished"], request["finished"], "{name} chunk {}", i + 1);
            assert_lossless(body, &reply.body, &format!("{name} chunk {}", i + 1));
        }
        assert!(!String::from_utf8_lossy(&run.stdout).contains("SECRET-SESSION-KEY"));
    }
}

#[test]
fn recorded_getinfo_with_foreign_arguments_is_refused_naming_the_argument() {
    let recorded = read_maybe_gz(&shared().join("scp/splunk-6.3/countmatches.input.gz"));
    let run = run(recorded.clone());
    assert_eq!(run.code, 1);
    assert_eq!(run.replies.len(), 1, "only the getinfo reply");
    let errors = run.messages("ERROR");
    assert_eq!(errors, ["Unrecognized option: fieldname=word_count"]);
    assert!(run.stderr.contains("Unrecognized option: fieldname=word_count"));
    // The real session key of the recording never comes back.
    let key = "0JbG1fJEvXrL6iYZw9y7tmvd6nHjTKj7ggaE7a4Jv5R0UIbeYJ65kThn";
    assert!(!String::from_utf8_lossy(&run.stdout).contains(key) && !run.stderr.contains(key));
}

#[test]
fn record_counts_match_the_sdk_replies() {
    // The SDK's passthrough answer to the 8.0.3 session: the same records per chunk.
    let recorded = read_maybe_gz(&shared().join("scp/splunk-8.0.3/harvest.input.gz"));
    let sdk = read_maybe_gz(&shared().join("scp/splunk-8.0.3/harvest.passthrough.output.gz"));
    let sdk_frames = split_frames(&sdk);
    let mut input = getinfo(&["allowlist=none"]);
    for (m, b) in &split_frames(&recorded)[1..] {
        input.extend(frame(std::str::from_utf8(m).unwrap(), b));
    }
    let run = run(input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.messages("WARN").is_empty());
    assert_eq!(sdk_frames.len(), run.replies.len());
    let mut total = 0;
    for ((_, sdk_body), ours) in sdk_frames.iter().zip(&run.replies).skip(1) {
        let (_, a) = csv_records(sdk_body);
        let (_, b) = csv_records(&ours.body);
        assert_eq!(a.len(), b.len());
        total += b.len();
    }
    assert_eq!(total, 40_682);
}

#[test]
fn header_only_final_chunk_gets_a_reply_without_body() {
    let input = [getinfo(&[]), execute(true, b"_time,_raw\n")].concat();
    let run = run(input);
    assert_eq!(run.code, 0);
    assert_eq!(run.replies.len(), 2);
    assert_eq!(run.replies[1].metadata, serde_json::json!({"finished": true}));
    assert!(run.replies[1].body.is_empty());
}

#[test]
fn running_twice_recomputes_instead_of_duplicating() {
    let body = b"EventCode,CommandLine,User\n1,schtasks /create /tn x /tr c:\\x.exe /ru SYSTEM,CORP\\bob\n4624,,\n";
    let first = run([getinfo(&[]), execute(true, body)].concat());
    let once = first.replies[1].body.clone();
    let second = run([getinfo(&[]), execute(true, &once)].concat());
    let twice = &second.replies[1].body;
    assert_eq!(&once, twice, "second run yields the same table");
    let (header, rows) = csv_records(twice);
    assert_eq!(header.iter().filter(|h| h.as_slice() == b"systemtask_verdict").count(), 1);
    assert_eq!(rows[0][header.iter().position(|h| h == b"systemtask_verdict").unwrap()], b"alert");
}

#[test]
fn outside_an_app_suppression_is_off_and_said_once() {
    let dir = std::env::temp_dir().join(format!("systemtask-alone-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("systemtask");
    std::fs::copy(bin(), &exe).unwrap();
    let body = b"EventCode,CommandLine\n1,schtasks /create /tn x /tr c:\\x.exe /ru SYSTEM\n";
    let run = run_exe(&exe, [getinfo(&[]), execute(false, body), execute(true, body)].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let warnings = run.messages("WARN");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("suppression is off"));
    assert!(run.replies[0].metadata["inspector"].is_object(), "the warning rides on the getinfo reply");
}

/// The bytes a text-mode stream would change or stop at come back as they went in: CR LF, lone
/// CR and lone LF inside values, Ctrl-Z (end of input to a Windows C runtime in text mode),
/// NUL, bytes that are not UTF-8, and every other byte value. Run against each packaged build,
/// this is what says the Windows build's stdin and stdout are binary pipes.
#[test]
fn every_byte_value_passes_through_unchanged() {
    let every_byte: Vec<u8> = (0..=255u8).collect();
    let rows: Vec<Vec<&[u8]>> = vec![
        vec![b"1", b"schtasks /create /tn x /tr c:\\x.exe /ru SYSTEM", b"a\r\nb\rc\nd\x1ae\x00f", b"$a\r\n$;$b$"],
        vec![b"4688", b"cmd.exe /c \"\xff\xfe\x80 \x1a\"", &every_byte, b""],
        vec![b"4624", b"", b"\x1a", b"\x1a\r\n"],
    ];
    let mut body = Vec::new();
    {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(&mut body);
        w.write_record(["EventCode", "CommandLine", "Message", "__mv_Message"]).unwrap();
        for row in &rows {
            w.write_record(row).unwrap();
        }
    }
    let run = run([getinfo(&["allowlist=none"]), execute(false, &body), execute(true, &body)].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.replies.len(), 3);
    for (i, reply) in run.replies[1..].iter().enumerate() {
        assert_lossless(&body, &reply.body, &format!("chunk {}", i + 1));
        let (header, out) = csv_records(&reply.body);
        let verdict = header.iter().position(|h| h == b"systemtask_verdict").unwrap();
        assert_eq!(out[0][verdict], b"alert", "the task event is still read");
    }
}
