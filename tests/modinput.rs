//! The EVTX modular input as splunkd runs it: scheme, validation, and run mode with its
//! checkpoints (each record once; grown files; interrupted runs; damaged files).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;

/// The input under test: the one cargo built, or `SYSTEMTASK_EVTX_EXE` (a packaged build), run
/// through `SYSTEMTASK_RUNNER` when set (`qemu-aarch64`, or `tools/wine/run` for the Windows build).
fn exe() -> PathBuf {
    std::env::var_os("SYSTEMTASK_EVTX_EXE")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_systemtask_evtx")), PathBuf::from)
}

fn command() -> Command {
    common::command_for(&exe())
}

/// A path as the input under test spells it. A Windows build gets the drive-letter form
/// (Wine shows the host's root as `Z:`), as splunkd on Windows passes `path` and
/// `checkpoint_dir`, so the tests go through drive letters and backslashes.
fn native(path: &Path) -> String {
    if exe().extension().is_some_and(|e| e.eq_ignore_ascii_case("exe")) {
        format!("Z:{}", path.display()).replace('/', "\\")
    } else {
        path.display().to_string()
    }
}

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
        native(checkpoints),
        native(path)
    )
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: &str) -> Out {
    let mut child =
        command().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
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
    let ok = run(&["--validate-arguments"], &items(&format!(r#"<param name="path">{}</param>"#, native(&samples()))));
    assert_eq!((ok.code, ok.stdout.as_str()), (0, ""));
    for (params, want) in [
        ("", "path is required"),
        (r#"<param name="path">/no/such/folder</param>"#, "does not exist"),
        (
            &format!(r#"<param name="path">{}</param><param name="event_ids">x</param>"#, native(&samples())) as &str,
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
    let first = run(&[], &input_xml(&dir, &ck, ""));
    let early = events(&first.stdout);
    assert!(!early.is_empty(), "exit {}, stderr: {}", first.code, first.stderr);
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
    let mut child = command().stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
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

/// Every sample EVTX file with its records' EventRecordIDs, read with the library.
fn sample_ids() -> Vec<(PathBuf, Vec<u64>)> {
    systemtask::evtxfile::list_files(&samples(), true)
        .files
        .into_iter()
        .filter_map(|f| {
            let mut file = systemtask::evtxfile::EvtxFile::open(&f).ok()?;
            let ids: Vec<u64> = file.records().flatten().filter_map(|r| r.event_record_id()).collect();
            Some((f, ids))
        })
        .collect()
}

fn ids_of(stream: &str) -> Vec<u64> {
    let mut ids: Vec<u64> = events(stream).into_iter().map(|e| e.1).collect();
    ids.sort_unstable();
    ids
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// A log cleared and collected again (or another case's file copied over the old one): record
/// IDs restart, and every record of the new file is sent.
#[test]
fn a_file_replaced_by_another_with_restarting_ids_is_read_again() {
    let samples = sample_ids();
    let (a, a_ids) = samples.iter().max_by_key(|(_, ids)| ids.iter().max().copied().unwrap_or(0)).unwrap();
    let a_max = *a_ids.iter().max().unwrap();
    // A different log whose IDs all lie at or below A's last: the old checkpoint would cover them.
    let (b, b_ids) = samples
        .iter()
        .filter(|(f, ids)| f != a && ids.len() >= 5 && ids.iter().all(|&i| i <= a_max))
        .max_by_key(|(_, ids)| ids.len())
        .expect("a sample with lower record IDs");
    let dir = temp("replaced");
    let ck = temp("replaced-ck");
    let log = dir.join("Security.evtx");
    std::fs::copy(a, &log).unwrap();
    let first = run(&[], &input_xml(&dir, &ck, ""));
    assert_eq!(ids_of(&first.stdout), sorted(a_ids.clone()));
    std::fs::copy(b, &log).unwrap();
    let second = run(&[], &input_xml(&dir, &ck, ""));
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(ids_of(&second.stdout), sorted(b_ids.clone()), "every record of the new file");
    assert!(second.stderr.contains("WARN") && second.stderr.contains("read from its start"), "{}", second.stderr);
    let third = run(&[], &input_xml(&dir, &ck, ""));
    assert!(ids_of(&third.stdout).is_empty(), "then nothing twice");
}

/// A copy of the log cut short, then whole again: nothing is lost and nothing sent twice.
#[test]
fn a_truncated_then_regrown_file_loses_nothing_and_repeats_nothing() {
    let dir = temp("truncated");
    let ck = temp("truncated-ck");
    let full = std::fs::read(big_sample()).unwrap();
    let log = dir.join("Sysmon.evtx");
    std::fs::write(&log, &full).unwrap();
    let all = ids_of(&run(&[], &input_xml(&dir, &ck, "")).stdout);
    assert!(all.len() > 100);
    std::fs::write(&log, &full[..4096 + 3 * 65536]).unwrap();
    let cut = run(&[], &input_xml(&dir, &ck, ""));
    assert!(ids_of(&cut.stdout).is_empty(), "the cut copy holds nothing new");
    assert!(cut.stderr.contains("truncated copy"), "{}", cut.stderr);
    std::fs::write(&log, &full).unwrap();
    let regrown = run(&[], &input_xml(&dir, &ck, ""));
    assert!(ids_of(&regrown.stdout).is_empty(), "nothing twice");
    // And a copy cut short before anything was sent, then grown: every record once.
    let ck2 = temp("truncated-ck2");
    std::fs::write(&log, &full[..4096 + 3 * 65536]).unwrap();
    let early = ids_of(&run(&[], &input_xml(&dir, &ck2, "")).stdout);
    std::fs::write(&log, &full).unwrap();
    let later = ids_of(&run(&[], &input_xml(&dir, &ck2, "")).stdout);
    assert_eq!(sorted([early, later].concat()), all);
}

/// A checkpoint that cannot be written stops that file, loudly, before anything is sent that
/// could not be recorded; other files are still read; the run exits non-zero.
#[test]
fn an_unwritable_checkpoint_stops_that_file_loudly() {
    let dir = temp("unwritable");
    let ck = temp("unwritable-ck");
    let good = samples().join("sbousseaden_EVTX-ATTACK-SAMPLES/Execution_temp_scheduled_task_4698_4699.evtx");
    std::fs::copy(&good, dir.join("b-good.evtx")).unwrap();
    let full = std::fs::read(big_sample()).unwrap();
    std::fs::write(dir.join("a-blocked.evtx"), &full[..4096 + 65536]).unwrap();
    // A first run writes both checkpoints.
    let first = run(&[], &input_xml(&dir, &ck, ""));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let blocked: PathBuf = std::fs::read_dir(&ck)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("a-blocked"))
        .unwrap();
    // A folder where the checkpoint file should be (a rename cannot replace it): as root,
    // permissions would not stop a write, this does.
    std::fs::remove_file(&blocked).unwrap();
    std::fs::create_dir_all(blocked.join("in-the-way")).unwrap();
    std::fs::write(dir.join("a-blocked.evtx"), &full).unwrap();
    let second = run(&[], &input_xml(&dir, &ck, ""));
    assert_ne!(second.code, 0, "the run reports the failure");
    assert!(
        second.stderr.contains("ERROR") && second.stderr.contains(&native(&blocked)),
        "names the checkpoint: {}",
        second.stderr
    );
    assert!(ids_of(&second.stdout).is_empty(), "nothing sent that could not be recorded");
    // Once the way is clear, every record of the blocked file arrives.
    std::fs::remove_dir_all(&blocked).unwrap();
    let third = run(&[], &input_xml(&dir, &ck, ""));
    assert_eq!(third.code, 0, "{}", third.stderr);
    let all_big = ids_of(&run(&[], &input_xml(&dir.join("a-blocked.evtx"), &temp("unwritable-all"), "")).stdout);
    assert_eq!(ids_of(&third.stdout), all_big);
}

/// A checkpoint copied from another file, or one claiming a record far beyond the file, is not
/// trusted: the file is read from its start.
#[test]
fn a_checkpoint_of_another_file_is_not_trusted() {
    let dir = temp("foreign");
    let ck = temp("foreign-ck");
    let samples = sample_ids();
    let (x, x_ids) = samples.iter().filter(|(_, ids)| ids.len() >= 5).min_by_key(|(_, ids)| ids.len()).unwrap();
    std::fs::copy(x, dir.join("x.evtx")).unwrap();
    std::fs::copy(big_sample(), dir.join("y.evtx")).unwrap();
    run(&[], &input_xml(&dir, &ck, ""));
    let path = |prefix: &str| -> PathBuf {
        std::fs::read_dir(&ck)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .unwrap()
    };
    std::fs::copy(path("y.evtx"), path("x.evtx")).unwrap();
    let out = run(&[], &input_xml(&dir, &ck, ""));
    assert_eq!(ids_of(&out.stdout), sorted(x_ids.clone()), "x read again, y not");
    assert!(out.stderr.contains("read from its start"), "{}", out.stderr);
    // Another file's checkpoint claiming a record far beyond this file's last.
    let mut forged: serde_json::Value = serde_json::from_slice(&std::fs::read(path("y.evtx")).unwrap()).unwrap();
    forged["last_record_id"] = serde_json::json!(u64::MAX - 1);
    forged["anchor"]["record_id"] = serde_json::json!(u64::MAX - 1);
    std::fs::write(path("x.evtx"), serde_json::to_vec(&forged).unwrap()).unwrap();
    let out = run(&[], &input_xml(&dir, &ck, ""));
    assert_eq!(ids_of(&out.stdout), sorted(x_ids.clone()), "not trusted");
}

/// The file grows while a run reads it: every record reaches the output at least once, and no
/// more than one checkpoint interval twice.
#[test]
fn a_file_that_grows_while_read_loses_nothing() {
    let dir = temp("growing");
    let ck = temp("growing-ck");
    let full = std::fs::read(big_sample()).unwrap();
    let log = dir.join("Sysmon.evtx");
    std::fs::write(&log, &full[..4096 + 2 * 65536]).unwrap();
    let mut child = command().stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input_xml(&dir, &ck, "").as_bytes()).unwrap();
    // Grow it in place while the run is under way (wherever it is by then).
    let mut f = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    f.write_all(&full).unwrap();
    drop(f);
    let out = child.wait_with_output().unwrap();
    let first = ids_of(&String::from_utf8_lossy(&out.stdout));
    let second = ids_of(&run(&[], &input_xml(&dir, &ck, "")).stdout);
    let all = ids_of(&run(&[], &input_xml(&dir, &temp("growing-all"), "")).stdout);
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for id in first.iter().chain(&second) {
        *seen.entry(*id).or_default() += 1;
    }
    assert!(all.iter().all(|id| seen.contains_key(id)), "nothing lost");
    let duplicates = seen.values().filter(|&&n| n > 1).count();
    assert!(duplicates <= systemtask::evtxfile::BATCH as usize, "{duplicates}");
}

/// The exactly-once logic without the process: `send_file` into a sink that records IDs.
#[test]
fn send_file_resumes_and_starts_over_without_a_process() {
    use systemtask::evtxfile::Record;
    use systemtask::modinput::checkpoint::Store;
    use systemtask::modinput::reading::{EventSink, send_file};

    #[derive(Default)]
    struct Ids(Vec<u64>, usize);
    impl EventSink for Ids {
        fn send(&mut self, record: &Record) -> std::io::Result<()> {
            self.0.push(record.event_record_id().unwrap());
            Ok(())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.1 += 1;
            Ok(())
        }
    }
    let dir = temp("lib");
    let store = Store::new(&temp("lib-ck")).unwrap();
    let full = std::fs::read(big_sample()).unwrap();
    let log = dir.join("Sysmon.evtx");
    std::fs::write(&log, &full[..4096 + 2 * 65536]).unwrap();
    let mut first = Ids::default();
    let outcome = send_file(&log, &store, |_| true, &mut first).unwrap();
    assert_eq!(outcome.sent as usize, first.0.len());
    assert!(first.1 >= 1, "flushed before the checkpoint");
    std::fs::write(&log, &full).unwrap();
    let mut second = Ids::default();
    let outcome = send_file(&log, &store, |_| true, &mut second).unwrap();
    assert_eq!(outcome.already_sent as usize, first.0.len());
    assert!(outcome.started_over.is_none());
    assert!(second.0.iter().all(|id| id > first.0.iter().max().unwrap()), "only what is new");
    // Another log at the same path: read from its start, and said so.
    let other = samples().join("sbousseaden_EVTX-ATTACK-SAMPLES/Execution_temp_scheduled_task_4698_4699.evtx");
    std::fs::copy(&other, &log).unwrap();
    let mut third = Ids::default();
    let outcome = send_file(&log, &store, |_| true, &mut third).unwrap();
    let mut want: Vec<u64> = {
        let mut f = systemtask::evtxfile::EvtxFile::open(&other).unwrap();
        f.records().flatten().filter_map(|r| r.event_record_id()).collect()
    };
    want.sort_unstable();
    third.0.sort_unstable();
    assert_eq!(third.0, want);
    assert!(outcome.started_over.is_some() || want.iter().all(|id| id > second.0.iter().max().unwrap()));
}
