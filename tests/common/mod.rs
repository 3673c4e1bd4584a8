//! Splunk's side of the chunked protocol, for tests: builds request frames, runs the real
//! binary, and parses its replies.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The binary under test: the one cargo built, or `SYSTEMTASK_EXE` (a packaged build), run
/// through `SYSTEMTASK_RUNNER` when set (`qemu-aarch64` for the aarch64 build).
pub fn bin() -> PathBuf {
    std::env::var_os("SYSTEMTASK_EXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_systemtask")))
}

/// A command that starts `exe` the way the tests run a build: through `SYSTEMTASK_RUNNER` when
/// set (qemu for a foreign architecture, `tools/wine/run` for the Windows build).
pub fn command_for(exe: &Path) -> Command {
    match runner() {
        Some(runner) => {
            let mut c = Command::new(runner);
            c.arg(exe);
            c
        }
        None => Command::new(exe),
    }
}

/// `SYSTEMTASK_RUNNER`: what starts a build this machine cannot run itself.
fn runner() -> Option<std::ffi::OsString> {
    std::env::var_os("SYSTEMTASK_RUNNER")
}

pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

pub fn frame(metadata: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("chunked 1.0,{},{}\n", metadata.len(), body.len()).into_bytes();
    out.extend_from_slice(metadata.as_bytes());
    out.extend_from_slice(body);
    out
}

pub fn getinfo(args: &[&str]) -> Vec<u8> {
    let args = serde_json::to_string(args).unwrap();
    frame(
        &format!(
            r#"{{"action":"getinfo","preview":false,"searchinfo":{{"args":{args},"raw_args":{args},"session_key":"SECRET-SESSION-KEY-1234","dispatch_dir":"/tmp","sid":"1","app":"systemtask","splunk_version":"9.1.2","earliest_time":"0","latest_time":"0"}}}}"#
        ),
        b"",
    )
}

pub fn execute(finished: bool, body: &[u8]) -> Vec<u8> {
    frame(&format!(r#"{{"action":"execute","finished":{finished}}}"#), body)
}

#[derive(Debug)]
pub struct Reply {
    pub metadata: serde_json::Value,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub replies: Vec<Reply>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn messages(&self, level: &str) -> Vec<String> {
        self.replies
            .iter()
            .flat_map(|r| r.metadata["inspector"]["messages"].as_array().cloned().unwrap_or_default())
            .filter(|m| m[0] == level)
            .map(|m| m[1].as_str().unwrap_or("").to_string())
            .collect()
    }
}

/// Runs `exe` with `input` on stdin (written from another thread, as splunkd does).
///
/// Every run of the command writes at least one frame (a reply, or the error frame). Through a
/// runner (Wine, qemu), a run with no output and no line of the command's on stderr is the
/// runner failing to start it, not the command: that run is reported and started once more. A
/// build that cannot start at all still fails, the second time.
pub fn run_exe(exe: &Path, input: Vec<u8>) -> Run {
    let Some(runner) = runner() else { return run_once(exe, input) };
    let run = run_once(exe, input.clone());
    if !run.stdout.is_empty() || run.stderr.contains("systemtask") {
        return run;
    }
    eprintln!(
        "note: {} started {} with no output at all (exit {}, stderr {:?}); starting it once more",
        runner.to_string_lossy(),
        exe.display(),
        run.code,
        run.stderr
    );
    run_once(exe, input)
}

fn run_once(exe: &Path, input: Vec<u8>) -> Run {
    let mut child = spawn_retrying(|| {
        let mut c = command_for(exe);
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    });
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut stdout = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    writer.join().unwrap();
    let replies = parse_replies(&stdout)
        .unwrap_or_else(|e| panic!("bad reply stream: {e}\n{}", String::from_utf8_lossy(&stdout)));
    Run { code: status.code().unwrap_or(-1), replies, stdout, stderr }
}

/// Starts a command, retrying "Text file busy": a binary just copied (see [`temp_app`]) can
/// still be open for writing in a child another test thread forked meanwhile.
pub fn spawn_retrying(command: impl Fn() -> Command) -> std::process::Child {
    for attempt in 0.. {
        match command().spawn() {
            Err(e) if e.raw_os_error() == Some(26) && attempt < 50 => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            result => return result.expect("start binary"),
        }
    }
    unreachable!()
}

pub fn run(input: Vec<u8>) -> Run {
    run_exe(&bin(), input)
}

/// Parses the command's reply frames strictly (canonical headers, exact lengths).
pub fn parse_replies(mut out: &[u8]) -> Result<Vec<Reply>, String> {
    let mut replies = Vec::new();
    while !out.is_empty() {
        let nl = out.iter().position(|&b| b == b'\n').ok_or("header without newline")?;
        let header = std::str::from_utf8(&out[..nl]).map_err(|e| e.to_string())?;
        let rest = header.strip_prefix("chunked 1.0,").ok_or(format!("bad header {header:?}"))?;
        let (m, b) = rest.split_once(',').ok_or("bad header")?;
        let (m, b): (usize, usize) = (m.parse().map_err(|_| "m")?, b.parse().map_err(|_| "b")?);
        out = &out[nl + 1..];
        if out.len() < m + b {
            return Err(format!("truncated reply: need {} have {}", m + b, out.len()));
        }
        let metadata = serde_json::from_slice(&out[..m]).map_err(|e| e.to_string())?;
        replies.push(Reply { metadata, body: out[m..m + b].to_vec() });
        out = &out[m + b..];
    }
    Ok(replies)
}

/// Splits a recorded session into its frames: (metadata, body).
pub fn split_frames(mut input: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut frames = Vec::new();
    while !input.is_empty() {
        let nl = input.iter().position(|&b| b == b'\n').unwrap();
        let header = std::str::from_utf8(&input[..nl]).unwrap();
        let (m, b) = header.strip_prefix("chunked 1.0,").unwrap().split_once(',').unwrap();
        let (m, b): (usize, usize) = (m.parse().unwrap(), b.parse().unwrap());
        input = &input[nl + 1..];
        frames.push((input[..m].to_vec(), input[m..m + b].to_vec()));
        input = &input[m + b..];
    }
    frames
}

pub fn read_maybe_gz(path: &Path) -> Vec<u8> {
    if path.extension().is_some_and(|e| e == "gz") {
        let out = Command::new("gzip").arg("-dc").arg(path).output().expect("gzip");
        assert!(out.status.success());
        out.stdout
    } else {
        std::fs::read(path).unwrap()
    }
}

/// Parses a CSV body with the csv crate (an independent parser) into header and records.
pub fn csv_records(body: &[u8]) -> (Vec<Vec<u8>>, Vec<Vec<Vec<u8>>>) {
    if body.is_empty() {
        return (vec![], vec![]);
    }
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(body);
    let mut rows = r.byte_records().map(|r| r.unwrap().iter().map(|f| f.to_vec()).collect::<Vec<_>>());
    let header = rows.next().unwrap_or_default();
    (header, rows.collect())
}

/// Asserts that every input column comes out byte-identical, in order, with the command's
/// columns appended once.
pub fn assert_lossless(input_body: &[u8], output_body: &[u8], context: &str) {
    let (in_header, in_rows) = csv_records(input_body);
    let (out_header, out_rows) = csv_records(output_body);
    if in_rows.is_empty() {
        assert!(out_rows.is_empty(), "{context}: records appeared from nowhere");
        return;
    }
    assert_eq!(in_rows.len(), out_rows.len(), "{context}: record count");
    assert_eq!(&out_header[..in_header.len()], &in_header[..], "{context}: header prefix");
    let own: Vec<&Vec<u8>> = out_header[in_header.len()..].iter().collect();
    for name in &own {
        assert_eq!(
            out_header.iter().filter(|h| h == name).count(),
            1,
            "{context}: column {:?} duplicated",
            String::from_utf8_lossy(name)
        );
    }
    for (i, (a, b)) in in_rows.iter().zip(&out_rows).enumerate() {
        assert_eq!(&b[..a.len()], &a[..], "{context}: record {i} fields differ");
    }
}

/// A temporary app layout (`<tmp>/systemtask/{bin,default,lookups}`) with the real binary and
/// the shipped allowlist, so the binary finds its lookups as it does inside Splunk.
pub fn temp_app(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("systemtask-test-{name}-{}", std::process::id()));
    let app = root.join("systemtask");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(app.join("bin")).unwrap();
    std::fs::create_dir_all(app.join("default")).unwrap();
    std::fs::create_dir_all(app.join("lookups")).unwrap();
    std::fs::copy(bin(), app.join("bin/systemtask")).unwrap();
    let allowlist = Path::new(env!("CARGO_MANIFEST_DIR")).join("splunk_app/lookups/systemtask_allowlist.csv");
    std::fs::copy(allowlist, app.join("lookups/systemtask_allowlist.csv")).unwrap();
    app
}
