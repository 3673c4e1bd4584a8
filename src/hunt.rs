//! Offline hunting: EVTX files and CSV / JSON-lines exports through the same detection and
//! allowlist as the search command. What is reported, and in which columns, is the output
//! contract ([`crate::output`]) behind each event's origin.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

use crate::detect::{Finding, Verdict};
use crate::engine::{Engine, Scratch};
use crate::event::{Field, FieldList};
use crate::evtxfile::EvtxFile;
use crate::output::{Origin, Reported};
use crate::record::jsonl;
use crate::walk::{self, Walk};

/// One reported event.
pub struct Hit {
    pub origin: Origin,
    pub finding: Finding,
}

impl Hit {
    pub fn reported(&self) -> Reported<'_> {
        Reported { origin: &self.origin, finding: &self.finding }
    }
}

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

/// Hunts through `files`; `keep` decides which verdicts are reported. Problems with a file go
/// to stderr, one line each; progress too when stderr is a terminal.
pub fn hunt(engine: &Engine, files: &[PathBuf], keep: impl Fn(Verdict) -> bool, progress: bool) -> (Vec<Hit>, Summary) {
    let mut hits = Vec::new();
    let mut sum = Summary::default();
    let show = progress && io::stderr().is_terminal();
    let clear = if show { "\r\x1b[K" } else { "" };
    for (i, file) in files.iter().enumerate() {
        sum.files += 1;
        if show {
            eprint!(
                "\r\x1b[K[{}/{}] {} records, {} alerts  {}",
                i + 1,
                files.len(),
                sum.records,
                sum.alerts,
                file.display()
            );
        }
        let mut report = |origin: Origin, finding: Option<Finding>, sum: &mut Summary| {
            sum.records += 1;
            if let Some(f) = finding {
                sum.count(&f);
                if keep(f.verdict) {
                    hits.push(Hit { origin, finding: f });
                }
            }
        };
        let name = file.display().to_string();
        match kind(file) {
            Some(Kind::Evtx) => match EvtxFile::open(file) {
                Ok(mut evtx) => {
                    let mut damaged = 0u64;
                    for record in evtx.records() {
                        let Ok(record) = record else {
                            damaged += 1;
                            continue;
                        };
                        let origin = Origin {
                            file: name.clone(),
                            record: record.event_record_id().unwrap_or(record.id).to_string(),
                            channel: record.channel().unwrap_or_default().to_string(),
                            computer: record.computer().unwrap_or_default().to_string(),
                        };
                        let event = FieldList(vec![(Field::Raw, record.into_xml())]);
                        let finding = engine.evaluate(&event);
                        report(origin, finding, &mut sum);
                    }
                    if damaged > 0 {
                        sum.damaged_records += damaged;
                        eprintln!("{clear}systemtask: {name}: {damaged} damaged record(s) skipped");
                    }
                }
                Err(e) => {
                    sum.unreadable += 1;
                    eprintln!("{clear}systemtask: {e}");
                }
            },
            Some(k @ (Kind::Csv | Kind::Jsonl)) => match table_findings(engine, file, k) {
                Ok(findings) => {
                    for (n, finding) in findings.into_iter().enumerate() {
                        let computer = finding.as_ref().and_then(|f| f.host.clone()).unwrap_or_default();
                        let origin = Origin {
                            file: name.clone(),
                            record: (n + 1).to_string(),
                            channel: String::new(),
                            computer,
                        };
                        report(origin, finding, &mut sum);
                    }
                }
                Err(e) => {
                    sum.unreadable += 1;
                    eprintln!("{clear}systemtask: {name}: {e}");
                }
            },
            None => {
                sum.unreadable += 1;
                eprintln!("{clear}systemtask: {name}: not an .evtx, .csv or .json(l) file");
            }
        }
    }
    if show {
        eprint!("\r\x1b[K");
    }
    (hits, sum)
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
