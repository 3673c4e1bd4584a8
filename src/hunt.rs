//! Offline hunting: EVTX files and CSV / JSON-lines exports through the same detection and
//! allowlist as the search command. Files are read in parallel, one file per worker at a time
//! (each EVTX file is read single-threaded, so memory stays at one chunk per worker); reports
//! come back in the files' order, whatever order the workers finish in.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::detect::{Finding, Verdict};
use crate::engine::{Engine, Scratch};
use crate::event::{Field, FieldList};
use crate::evtxfile::EvtxFile;
use crate::output::{Origin, Row};
use crate::record::jsonl;
use crate::walk::{self, Walk};

/// Counts over a hunt (or one file of it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub files: u64,
    /// Files that could not be read at all.
    pub unreadable: u64,
    /// Records skipped because they were damaged, in files that were otherwise read.
    pub damaged_records: u64,
    pub records: u64,
    pub alerts: u64,
    pub suppressed: u64,
    pub benign: u64,
    pub errors: u64,
}

impl Summary {
    fn count(&mut self, finding: &Finding) {
        match finding.verdict {
            Verdict::Alert => self.alerts += 1,
            Verdict::Suppressed => self.suppressed += 1,
            Verdict::Benign => self.benign += 1,
            Verdict::Error => self.errors += 1,
        }
    }
}

impl std::ops::AddAssign for Summary {
    fn add_assign(&mut self, o: Summary) {
        self.files += o.files;
        self.unreadable += o.unreadable;
        self.damaged_records += o.damaged_records;
        self.records += o.records;
        self.alerts += o.alerts;
        self.suppressed += o.suppressed;
        self.benign += o.benign;
        self.errors += o.errors;
    }
}

/// What one file gave.
#[derive(Debug, Default)]
pub struct FileReport {
    pub rows: Vec<Row>,
    pub summary: Summary,
    /// Problems to show the user (unreadable file, damaged records), one line each.
    pub problems: Vec<String>,
}

/// The files a hunt reads: files as named (EVTX, CSV, JSON lines), and the `.evtx` files of
/// folders, walked recursively (collections keep other JSON and CSV beside them).
pub fn collect(paths: &[PathBuf]) -> Walk {
    walk::walk(paths, walk::Filter { recursive: true, extensions: &["evtx"] })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Evtx,
    Csv,
    Jsonl,
}

fn kind(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "evtx" => Some(Kind::Evtx),
        "csv" => Some(Kind::Csv),
        "json" | "jsonl" | "ndjson" => Some(Kind::Jsonl),
        _ => None,
    }
}

/// Hunts through `files` on `threads` workers; `keep` decides which verdicts are reported.
/// Returns one report per file, in the order of `files`. With `progress`, a progress line goes
/// to stderr when it is a terminal.
pub fn hunt(
    engine: &Engine,
    files: &[PathBuf],
    keep: impl Fn(Verdict) -> bool + Sync,
    threads: usize,
    progress: bool,
) -> Vec<FileReport> {
    let show = progress && io::stderr().is_terminal();
    let next = AtomicUsize::new(0);
    let mut reports: Vec<Option<FileReport>> = (0..files.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, FileReport)>();
        for _ in 0..threads.clamp(1, files.len().max(1)) {
            let tx = tx.clone();
            let (next, keep) = (&next, &keep);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    if tx.send((i, hunt_file(engine, file, keep))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let (mut done, mut records, mut alerts) = (0, 0, 0);
        for (i, report) in rx {
            done += 1;
            records += report.summary.records;
            alerts += report.summary.alerts;
            if show {
                eprint!("\r\x1b[K[{done}/{}] {records} records, {alerts} alerts  {}", files.len(), files[i].display());
            }
            reports[i] = Some(report);
        }
    });
    if show {
        eprint!("\r\x1b[K");
    }
    reports.into_iter().map(Option::unwrap_or_default).collect()
}

/// One file through the engine.
pub fn hunt_file(engine: &Engine, file: &Path, keep: &impl Fn(Verdict) -> bool) -> FileReport {
    let mut report = FileReport { summary: Summary { files: 1, ..Summary::default() }, ..FileReport::default() };
    let name = file.display().to_string();
    let add = |report: &mut FileReport, origin: Origin, finding: Option<Finding>| {
        report.summary.records += 1;
        if let Some(f) = finding {
            report.summary.count(&f);
            if keep(f.verdict) {
                report.rows.push(Row::new(origin, &f));
            }
        }
    };
    match kind(file) {
        Some(Kind::Evtx) => match EvtxFile::open(file) {
            Ok(mut evtx) => {
                for record in evtx.records() {
                    let Ok(record) = record else {
                        report.summary.damaged_records += 1;
                        continue;
                    };
                    let origin = Origin {
                        file: name.clone(),
                        // The event's own number, as Event Viewer and every other tool show it.
                        record: record.event_record_id().unwrap_or(record.id).to_string(),
                        channel: record.channel().unwrap_or_default().to_string(),
                        computer: record.computer().unwrap_or_default().to_string(),
                    };
                    let event = FieldList(vec![(Field::Raw, record.into_xml())]);
                    let finding = engine.evaluate(&event);
                    add(&mut report, origin, finding);
                }
                if report.summary.damaged_records > 0 {
                    report
                        .problems
                        .push(format!("{name}: {} damaged record(s) skipped", report.summary.damaged_records));
                }
            }
            Err(e) => {
                report.summary.unreadable += 1;
                report.problems.push(e.to_string());
            }
        },
        Some(k @ (Kind::Csv | Kind::Jsonl)) => match table_findings(engine, file, k) {
            Ok(findings) => {
                for (n, finding) in findings.into_iter().enumerate() {
                    let computer = finding.as_ref().and_then(|f| f.host.as_deref()).unwrap_or_default().to_string();
                    let origin =
                        Origin { file: name.clone(), record: (n + 1).to_string(), channel: String::new(), computer };
                    add(&mut report, origin, finding);
                }
            }
            Err(e) => {
                report.summary.unreadable += 1;
                report.problems.push(format!("{name}: {e}"));
            }
        },
        None => {
            report.summary.unreadable += 1;
            report.problems.push(format!("{name}: not an .evtx, .csv or .json(l) file"));
        }
    }
    report
}

/// Findings of every record of a CSV or JSON-lines export, in order.
fn table_findings(engine: &Engine, path: &Path, kind: Kind) -> Result<Vec<Option<Finding>>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let body = if kind == Kind::Jsonl {
        jsonl::to_csv(&String::from_utf8_lossy(&bytes)).map_err(|e| e.to_string())?
    } else {
        bytes
    };
    engine.findings(&body, &mut Scratch::default()).map_err(|e| e.to_string())
}
