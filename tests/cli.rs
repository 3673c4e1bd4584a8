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
    assert!(stderr.contains("3 events in, 3 out: 2 alert"), "{stderr}");
}
