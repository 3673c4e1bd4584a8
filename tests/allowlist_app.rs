//! The allowlist as Splunk meets it: chosen by name from the app's lookups directory, refused
//! when it would leave it, errors and expiry reported on the getinfo reply.

mod common;

use common::*;

fn with_allowlist(name: &str, file: &str, content: &str) -> std::path::PathBuf {
    let app = temp_app(name);
    std::fs::write(app.join("lookups").join(file), content).unwrap();
    app
}

const HEADER: &str = "id,task_name,command,arguments,creator,host,expires,comment\n";
const BODY: &[u8] =
    b"EventCode,CommandLine,User\n1,schtasks /create /tn \\Vendor\\Job /tr C:\\Vendor\\job.exe /ru SYSTEM,CORP\\bob\n";

#[test]
fn a_named_allowlist_suppresses_visibly() {
    let app = with_allowlist(
        "named",
        "custom.csv",
        &format!("{HEADER}vendor-job,\\Vendor\\Job,C:\\Vendor\\job.exe,,,,,approved by IT\n"),
    );
    let run = run_exe(&app.join("bin/systemtask"), [getinfo(&["allowlist=custom.csv"]), execute(true, BODY)].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (header, rows) = csv_records(&run.replies[1].body);
    let col = |n: &str| header.iter().position(|h| h == n.as_bytes()).unwrap();
    assert_eq!(rows[0][col("systemtask_verdict")], b"suppressed");
    // A named list labels its entries with its file name.
    assert_eq!(rows[0][col("systemtask_suppressed_by")], b"custom.csv:vendor-job");
}

#[test]
fn a_malformed_allowlist_fails_the_search_naming_file_and_line() {
    let app = with_allowlist(
        "bad",
        "bad.csv",
        &format!("{HEADER}ok,\\A,C:\\a.exe,,,,,\nname-only,\\Microsoft\\Windows\\X,,,,,,oops\n"),
    );
    let run = run_exe(&app.join("bin/systemtask"), [getinfo(&["allowlist=bad.csv"]), execute(true, BODY)].concat());
    assert_eq!(run.code, 1);
    assert_eq!(run.replies.len(), 1);
    let errors = run.messages("ERROR");
    assert!(
        errors[0].contains("bad.csv line 3")
            && errors[0].contains("name-only")
            && errors[0].contains("task name alone"),
        "{errors:?}"
    );
}

#[test]
fn expired_entries_are_reported_once() {
    let app = with_allowlist(
        "expired",
        "systemtask_allowlist.csv",
        &format!("{HEADER}old,\\Vendor\\Job,C:\\Vendor\\job.exe,,,,2020-01-01,expired\n"),
    );
    let run = run_exe(&app.join("bin/systemtask"), [getinfo(&[]), execute(false, BODY), execute(true, BODY)].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let warnings = run.messages("WARN");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("1 expired allowlist entry ignored: shipped:old"), "{warnings:?}");
    let (header, rows) = csv_records(&run.replies[1].body);
    let col = header.iter().position(|h| h == b"systemtask_verdict").unwrap();
    assert_eq!(rows[0][col], b"alert", "an expired entry suppresses nothing");
}

/// Unix only: making a symbolic link on Windows needs a privilege the tests do not assume.
#[cfg(unix)]
#[test]
fn a_link_out_of_the_lookups_directory_is_refused() {
    let app = temp_app("link");
    let outside = app.parent().unwrap().join("outside.csv");
    std::fs::write(&outside, format!("{HEADER}x,\\A,C:\\a.exe,,,,,\n")).unwrap();
    std::os::unix::fs::symlink(&outside, app.join("lookups/escape.csv")).unwrap();
    let run = run_exe(&app.join("bin/systemtask"), [getinfo(&["allowlist=escape.csv"]), execute(true, BODY)].concat());
    assert_eq!(run.code, 1);
    assert!(
        run.messages("ERROR")[0].contains("points outside the app's lookups directory"),
        "{:?}",
        run.messages("ERROR")
    );
}

/// The shipped list and the site's own are read together, without options; each suppression
/// says which list it came from; a malformed site list fails the search naming its line.
#[test]
fn the_site_list_is_read_beside_the_shipped_one() {
    let app = with_allowlist(
        "site",
        "systemtask_allowlist_site.csv",
        &format!("{HEADER}vendor-job,\\Vendor\\Job,C:\\Vendor\\job.exe,,,,,approved by IT (CHG-42)\n"),
    );
    let run = run_exe(&app.join("bin/systemtask"), [getinfo(&[]), execute(true, BODY)].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (header, rows) = csv_records(&run.replies[1].body);
    let col = |n: &str| header.iter().position(|h| h == n.as_bytes()).unwrap();
    assert_eq!(rows[0][col("systemtask_verdict")], b"suppressed");
    assert_eq!(rows[0][col("systemtask_suppressed_by")], b"site:vendor-job");

    std::fs::write(
        app.join("lookups/systemtask_allowlist_site.csv"),
        format!("{HEADER}too-wide,\\Vendor\\Job,*.exe,,,,,any program\n"),
    )
    .unwrap();
    let run = run_exe(&app.join("bin/systemtask"), [getinfo(&[]), execute(true, BODY)].concat());
    assert_eq!(run.code, 1);
    let errors = run.messages("ERROR");
    assert!(
        errors[0].contains("systemtask_allowlist_site.csv line 2") && errors[0].contains("names no program"),
        "{errors:?}"
    );
}
