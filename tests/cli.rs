//! The local commands as a user runs them: `systemtask tag` and `systemtask hunt`.

mod common;

use std::process::Command;

use common::*;

fn run_cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).args(args).output().expect("run systemtask");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("systemtask-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Files of different layouts are tagged as one body whose header is the union of theirs:
/// every value stays in its own column, and each file's events are read in their layout.
#[test]
fn tag_over_files_of_different_layouts() {
    let dir = temp_dir("tag");
    let xml = dir.join("xml.csv");
    std::fs::write(&xml, "EventCode,CommandLine,User\n1,schtasks /create /tn a /tr c:\\x.exe /ru SYSTEM,CORP\\bob\n")
        .unwrap();
    let classic = dir.join("classic.csv");
    std::fs::write(
        &classic,
        "Process_Command_Line,EventCode,Subject_Account_Name\n\"schtasks /create /tn b /tr c:\\y.exe /ru \"\"NT AUTHORITY\\SYSTEM\"\"\",4688,alice\n",
    )
    .unwrap();
    let beat = dir.join("beat.jsonl");
    std::fs::write(
        &beat,
        "{\"winlog\":{\"event_id\":\"1\",\"event_data\":{\"CommandLine\":\"schtasks /create /tn c /tr c:\\\\z.exe\",\"User\":\"CORP\\\\eve\"}}}\n",
    )
    .unwrap();
    let paths = [xml.to_str().unwrap(), classic.to_str().unwrap(), beat.to_str().unwrap()];
    let (code, stdout, stderr) = run_cli(&[&["tag", "--allowlist", "none"][..], &paths[..]].concat());
    assert_eq!(code, 0, "{stderr}");
    let (header, rows) = csv_records(stdout.as_bytes());
    let col = |n: &str| header.iter().position(|h| h == n.as_bytes()).unwrap_or_else(|| panic!("no column {n}"));
    assert_eq!(rows.len(), 3);
    let cell = |r: usize, n: &str| String::from_utf8_lossy(&rows[r][col(n)]).into_owned();
    assert_eq!(cell(0, "User"), "CORP\\bob");
    assert_eq!(cell(1, "Subject_Account_Name"), "alice");
    assert_eq!(cell(1, "CommandLine"), "");
    assert_eq!(cell(2, "winlog.event_data.User"), "CORP\\eve");
    assert_eq!(
        [cell(0, "systemtask_verdict"), cell(1, "systemtask_verdict"), cell(2, "systemtask_verdict")],
        ["alert", "alert", "benign"]
    );
    assert_eq!(cell(1, "task_creator"), "alice");
    assert!(
        stderr.contains(
            "3 events in, 3 out: 2 alert, 0 suppressed, 1 benign, 0 not analysable, 0 not about scheduled tasks"
        ),
        "{stderr}"
    );
}

/// The table lists only events with a verdict; its summary line still accounts for every event
/// read, so an analyst does not take the ones left out for lost.
#[test]
fn table_summary_accounts_for_events_it_does_not_list() {
    let dir = temp_dir("table");
    let events = dir.join("events.csv");
    std::fs::write(
        &events,
        "EventCode,CommandLine,User\n\
         1,schtasks /create /tn a /tr c:\\x.exe /ru SYSTEM,CORP\\bob\n\
         1,schtasks /create /tn b /tr c:\\y.exe,CORP\\bob\n\
         1,notepad.exe c:\\notes.txt,CORP\\bob\n\
         4624,,\n",
    )
    .unwrap();
    let (code, stdout, stderr) =
        run_cli(&["tag", "--format", "table", "--allowlist", "none", events.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let verdicts: Vec<&str> = stdout.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(verdicts, ["alert", "benign"], "{stdout}");
    assert!(
        stderr.contains(
            "4 events in, 2 listed: 1 alert, 0 suppressed, 1 benign, 0 not analysable, 2 not about scheduled tasks"
        ),
        "{stderr}"
    );
}

fn samples_evtx() -> std::path::PathBuf {
    shared().join("samples/evtx")
}

fn allowlist() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("splunk_app/lookups/systemtask_allowlist.csv")
        .display()
        .to_string()
}

/// `hunt` over the real EVTX samples, in each format, against golden files: the same reports,
/// record IDs (the events' EventRecordID) and verdicts, in the same order, on any number of
/// threads.
#[test]
fn hunt_golden_reports() {
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for format in ["csv", "json", "table"] {
        for threads in ["1", "3"] {
            let out = Command::new(bin())
                .current_dir(samples_evtx())
                .args([
                    "hunt",
                    "--allowlist",
                    &allowlist(),
                    "--include-suppressed",
                    "--threads",
                    threads,
                    "--format",
                    format,
                    ".",
                ])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stderr}");
            let want = std::fs::read_to_string(golden.join(format!("hunt.{format}"))).unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{format} on {threads} thread(s)");
            assert!(
                stderr.contains("28 files (0 unreadable, 0 skipped), 1936 records (0 damaged, skipped), 15 alerts, 0 suppressed, 31 benign"),
                "{stderr}"
            );
        }
    }
}

/// Damaged records are counted per file and in the summary; an unreadable file is named; a
/// FIFO named `.evtx` and a link cycle are reported and skipped, never waited on.
#[test]
fn hunt_reports_what_it_could_not_read() {
    let dir = temp_dir("hunt-damaged");
    let big = std::fs::read(
        samples_evtx()
            .join("sbousseaden_EVTX-ATTACK-SAMPLES/AutomatedTestingTools_PanacheSysmon_vs_AtomicRedTeam01.evtx"),
    )
    .unwrap();
    // A chunk with its middle overwritten: its records fail, the rest of the file is read.
    let mut damaged = big.clone();
    for b in &mut damaged[4096 + 65536 + 20_000..4096 + 65536 + 40_000] {
        *b = 0xA5;
    }
    std::fs::write(dir.join("damaged.evtx"), &damaged).unwrap();
    std::fs::write(dir.join("garbage.evtx"), b"not an event log").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
        let _ = Command::new("mkfifo").arg(dir.join("pipe.evtx")).status();
    }
    let (code, _, stderr) = run_cli(&["hunt", "--allowlist", "none", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let summary = stderr.lines().last().unwrap();
    assert!(summary.contains("(1 unreadable"), "{stderr}");
    let damaged_count: u64 = summary.split("records (").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(damaged_count > 0, "{summary}");
    assert!(stderr.contains(&format!("damaged.evtx: {damaged_count} damaged record(s) skipped")), "{stderr}");
    assert!(stderr.contains("garbage.evtx") && stderr.contains("not a readable EVTX file"), "{stderr}");
    #[cfg(unix)]
    {
        assert!(stderr.contains("already walked"), "{stderr}");
        if dir.join("pipe.evtx").exists() {
            assert!(stderr.contains("pipe.evtx") && stderr.contains("FIFO"), "{stderr}");
        }
    }
}
