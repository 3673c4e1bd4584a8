//! The EVTX modular input as splunkd runs it: scheme, validation, and run mode with its
//! checkpoints (each record once; grown files; interrupted runs; damaged files).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const EXE: &str = env!("CARGO_BIN_EXE_systemtask_evtx");

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/evtx")
}

fn big_sample() -> PathBuf {
    samples().join("sbousseaden_EVTX-ATTACK-SAMPLES/AutomatedTestingTools_PanacheSysmon_vs_AtomicRedTeam01.evtx")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("systemtask-modinput-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn input_xml(path: &Path, checkpoints: &Path, extra: &str) -> String {
    format!(
        r#"<input><server_host>sh1</server_host><server_uri>https://127.0.0.1:8089</server_uri><session_key>SECRET-KEY-42</session_key><checkpoint_dir>{}</checkpoint_dir><configuration><stanza name="systemtask_evtx://test"><param name="path">{}</param><param name="recursive">true</param>{extra}</stanza></configuration></input>"#,
        checkpoints.display(),
        path.display()
    )
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: &str) -> Out {
    let mut child = Command::new(EXE)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// (source, EventRecordID) of every emitted event, in order.
fn events(stream: &str) -> Vec<(String, u64)> {
    stream
        .split("<event ")
        .skip(1)
        .map(|e| {
            let source = e.split("<source>").nth(1).and_then(|s| s.split("</source>").next()).unwrap_or("").to_string();
            let id =
                e.split("&lt;EventRecordID&gt;").nth(1).and_then(|s| s.split("&lt;").next()).unwrap().parse().unwrap();
            (source, id)
        })
        .collect()
}

#[test]
fn scheme_declares_the_parameters() {
    let out = run(&["--scheme"], "");
    assert_eq!(out.code, 0);
    for part in [
        "<streaming_mode>xml</streaming_mode>",
        "<use_external_validation>true</use_external_validation>",
        r#"<arg name="path">"#,
        r#"<arg name="recursive">"#,
        r#"<arg name="event_ids">"#,
    ] {
        assert!(out.stdout.contains(part), "{part}");
    }
}

#[test]
fn validation_refuses_bad_arguments() {
    let items = |params: &str| {
        format!(
            r#"<items><server_host>sh1</server_host><session_key>K</session_key><item name="x">{params}</item></items>"#
        )
    };
    let ok = run(&["--validate-arguments"], &items(&format!(r#"<param name="path">{}</param>"#, samples().display())));
    assert_eq!((ok.code, ok.stdout.as_str()), (0, ""));
    for (params, want) in [
        ("", "path is required"),
        (r#"<param name="path">/no/such/folder</param>"#, "does not exist"),
        (
            &format!(r#"<param name="path">{}</param><param name="event_ids">x</param>"#, samples().display()) as &str,
            "event_ids",
        ),
    ] {
        let out = run(&["--validate-arguments"], &items(params));
        assert_eq!(out.code, 1, "{params}");
        assert!(out.stdout.starts_with("<error><message>") && out.stdout.contains(want), "{}", out.stdout);
    }
}

#[test]
fn each_record_is_sent_once_across_runs() {
    let ck = temp("once");
    let first = run(&[], &input_xml(&samples(), &ck, ""));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let sent = events(&first.stdout);
    assert!(sent.len() > 1000, "{}", sent.len());
    assert!(first.stdout.starts_with("<stream>\n") && first.stdout.ends_with("</stream>\n"));
    assert!(sent.iter().all(|(source, _)| source.starts_with("XmlWinEventLog:")));
    assert!(first.stdout.contains("<sourcetype>XmlWinEventLog</sourcetype>") && first.stdout.contains("<time>"));
    for line in first.stderr.lines() {
        assert!(line.starts_with("INFO ") || line.starts_with("WARN "), "{line}");
    }
    let second = run(&[], &input_xml(&samples(), &ck, ""));
    assert_eq!(events(&second.stdout).len(), 0, "nothing is sent twice");
    assert!(!first.stdout.contains("SECRET-KEY-42") && !first.stderr.contains("SECRET-KEY-42"));
}

#[test]
fn event_id_filter_keeps_only_those_records() {
    let ck = temp("filter");
    let out = run(&[], &input_xml(&samples(), &ck, r#"<param name="event_ids">4698-4702</param>"#));
    let all = run(&[], &input_xml(&samples(), &temp("filter-all"), ""));
    let kept = out.stdout.matches("<event ").count();
    let expected = all
        .stdout
        .split("<event ")
        .skip(1)
        .filter(|e| (4698..=4702).any(|id| e.contains(&format!("&lt;EventID&gt;{id}&lt;"))))
        .count();
    assert!(kept > 0);
    assert_eq!(kept, expected);
}

#[test]
fn a_grown_file_sends_only_its_new_records() {
    let dir = temp("grown");
    let ck = temp("grown-ck");
    let full = std::fs::read(big_sample()).unwrap();
    let file = dir.join("Security.evtx");
    // The header and the first three 64 KB chunks: the file as it was earlier.
    std::fs::write(&file, &full[..4096 + 3 * 65536]).unwrap();
    let early = events(&run(&[], &input_xml(&dir, &ck, "")).stdout);
    assert!(!early.is_empty());
    std::fs::write(&file, &full).unwrap();
    let later = events(&run(&[], &input_xml(&dir, &ck, "")).stdout);
    let all = events(&run(&[], &input_xml(&dir, &temp("grown-all"), "")).stdout);
    let mut ids: Vec<u64> = early.iter().chain(&later).map(|e| e.1).collect();
    ids.sort_unstable();
    let mut want: Vec<u64> = all.iter().map(|e| e.1).collect();
    want.sort_unstable();
    assert_eq!(ids, want, "every record once, nothing duplicated");
}

#[test]
fn an_interrupted_run_loses_nothing_and_duplicates_at_most_one_batch() {
    let dir = temp("killed");
    std::fs::copy(big_sample(), dir.join("Sysmon.evtx")).unwrap();
    let ck = temp("killed-ck");
    // The input is killed mid-run (SIGKILL: no chance to clean up); splunkd reads whatever the
    // process wrote before it died.
    let mut child =
        Command::new(EXE).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input_xml(&dir, &ck, "").as_bytes()).unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut received_bytes = vec![0u8; 150_000];
    stdout.read_exact(&mut received_bytes).unwrap();
    child.kill().unwrap();
    stdout.read_to_end(&mut received_bytes).unwrap();
    let _ = child.wait().unwrap();
    let text = String::from_utf8_lossy(&received_bytes);
    // Only complete events count as received.
    let received: Vec<u64> =
        events(&text[..text.rfind("</event>").map_or(0, |i| i + 8)]).into_iter().map(|e| e.1).collect();
    assert!(!received.is_empty());
    let rest: Vec<u64> = events(&run(&[], &input_xml(&dir, &ck, "")).stdout).into_iter().map(|e| e.1).collect();
    let all: Vec<u64> =
        events(&run(&[], &input_xml(&dir, &temp("killed-all"), "")).stdout).into_iter().map(|e| e.1).collect();
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for id in received.iter().chain(&rest) {
        *seen.entry(*id).or_default() += 1;
    }
    assert!(all.iter().all(|id| seen.contains_key(id)), "nothing lost");
    let duplicates = seen.values().filter(|&&n| n > 1).count();
    let batch = systemtask::evtxfile::BATCH as usize;
    assert!(duplicates <= batch, "at most one batch ({batch}) re-sent, got {duplicates} duplicates");
}

#[test]
fn damaged_files_are_reported_and_the_rest_still_read() {
    let dir = temp("damaged");
    let full = std::fs::read(big_sample()).unwrap();
    std::fs::write(dir.join("a-garbage.evtx"), b"this is not an event log at all").unwrap();
    std::fs::write(dir.join("b-truncated.evtx"), &full[..4096 + 65536 + 30_000]).unwrap();
    std::fs::copy(
        samples().join("sbousseaden_EVTX-ATTACK-SAMPLES/Execution_temp_scheduled_task_4698_4699.evtx"),
        dir.join("c-good.evtx"),
    )
    .unwrap();
    let out = run(&[], &input_xml(&dir, &temp("damaged-ck"), ""));
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("ERROR") && out.stderr.contains("a-garbage.evtx"), "{}", out.stderr);
    let good_alone =
        run(&[], &input_xml(&dir.join("c-good.evtx"), &temp("damaged-good"), "")).stdout.matches("<event ").count();
    assert!(good_alone > 0);
    assert!(out.stdout.matches("<event ").count() > good_alone, "the truncated file's complete chunk was read too");
}
