//! Offline hunting: EVTX files and CSV / JSON-lines exports through the same detection and
//! allowlist as the search command, with a table, CSV or JSON report of what alerts.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::detect::{Field, FieldList, Finding, Verdict};
use crate::engine::{Engine, Scratch};
use crate::evtxfile;
use crate::record::jsonl;

/// One reported event.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Hit {
    pub file: String,
    pub record: String,
    pub host: String,
    pub verdict: &'static str,
    pub action: String,
    pub task_name: String,
    pub run_as: String,
    pub command: String,
    pub arguments: String,
    pub creator: String,
    pub suppressed_by: String,
    pub reasons: Vec<String>,
    pub indicators: Vec<String>,
}

impl Hit {
    fn new(file: &Path, record: String, f: &Finding) -> Hit {
        let t = &f.task;
        let s = |v: Option<&str>| v.unwrap_or_default().to_string();
        Hit {
            file: file.display().to_string(),
            record,
            host: s(f.host.as_deref()),
            verdict: f.verdict.as_str(),
            action: t.action.unwrap_or("").to_string(),
            task_name: s(t.name.as_deref()),
            run_as: s(t.run_as.as_deref()),
            command: s(t.command.as_deref()),
            arguments: s(t.arguments.as_deref()),
            creator: s(t.creator.as_deref()),
            suppressed_by: s(f.suppressed_by.as_deref()),
            reasons: f.reasons.iter().map(|r| r.to_string()).collect(),
            indicators: t.indicators.iter().map(|i| i.to_string()).collect(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    pub files: u64,
    pub unreadable: u64,
    pub records: u64,
    pub alerts: u64,
    pub suppressed: u64,
    pub benign: u64,
}

/// The files a hunt reads: files as named (EVTX, CSV, JSON lines), and the `.evtx` files of
/// folders, walked recursively (collections keep other JSON and CSV beside them).
pub fn collect(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut dirs = vec![p.clone()];
            while let Some(d) = dirs.pop() {
                let Ok(entries) = std::fs::read_dir(&d) else { continue };
                for e in entries.flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        dirs.push(path);
                    } else if kind(&path) == Some(Kind::Evtx) {
                        out.push(path);
                    }
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out
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

/// Hunts through `files`; `keep` decides which verdicts are reported. Progress goes to stderr
/// when it is a terminal.
pub fn hunt(engine: &Engine, files: &[PathBuf], keep: impl Fn(Verdict) -> bool, progress: bool) -> (Vec<Hit>, Summary) {
    let mut hits = Vec::new();
    let mut sum = Summary::default();
    let show = progress && io::stderr().is_terminal();
    let count = |f: &Finding, sum: &mut Summary| match f.verdict {
        Verdict::Alert => sum.alerts += 1,
        Verdict::Suppressed => sum.suppressed += 1,
        Verdict::Benign => sum.benign += 1,
    };
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
        match kind(file) {
            Some(Kind::Evtx) => {
                let result = evtxfile::read_records(
                    file,
                    0,
                    |record| {
                        sum.records += 1;
                        let id = record.id;
                        let event = FieldList(vec![(Field::Raw, record.into_xml())]);
                        if let Some(f) = engine.evaluate(&event) {
                            count(&f, &mut sum);
                            if keep(f.verdict) {
                                hits.push(Hit::new(file, id.to_string(), &f));
                            }
                        }
                        Ok(())
                    },
                    || Ok(()),
                );
                if let Err(e) = result {
                    sum.unreadable += 1;
                    eprintln!("{}systemtask: {e}", if show { "\r\x1b[K" } else { "" });
                }
            }
            Some(k @ (Kind::Csv | Kind::Jsonl)) => match table_findings(engine, file, k) {
                Ok(findings) => {
                    for (n, f) in findings {
                        sum.records += 1;
                        if let Some(f) = f {
                            count(&f, &mut sum);
                            if keep(f.verdict) {
                                hits.push(Hit::new(file, n.to_string(), &f));
                            }
                        }
                    }
                }
                Err(e) => {
                    sum.unreadable += 1;
                    eprintln!("{}systemtask: {}: {e}", if show { "\r\x1b[K" } else { "" }, file.display());
                }
            },
            None => {
                sum.unreadable += 1;
                eprintln!("systemtask: {}: not an .evtx, .csv or .json(l) file", file.display());
            }
        }
    }
    if show {
        eprint!("\r\x1b[K");
    }
    (hits, sum)
}

/// Findings of every record of a CSV or JSON-lines export, numbered from 1.
fn table_findings(engine: &Engine, path: &Path, kind: Kind) -> Result<Vec<(u64, Option<Finding>)>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let body = if kind == Kind::Jsonl { jsonl::to_csv(&String::from_utf8_lossy(&bytes))? } else { bytes };
    let findings = engine.findings(&body, &mut Scratch::default()).map_err(|e| e.to_string())?;
    Ok(findings.into_iter().enumerate().map(|(n, f)| (n as u64 + 1, f)).collect())
}

pub fn write_table(out: &mut impl Write, hits: &[Hit]) -> io::Result<()> {
    writeln!(
        out,
        "{:<10}  {:<8}  {:<26}  {:<44}  {:<20}  {:<40}  {:<24}  reasons",
        "verdict", "action", "host", "task", "run as", "command", "creator"
    )?;
    let clip = |s: &str, n: usize| {
        if s.chars().count() > n { format!("{}…", s.chars().take(n - 1).collect::<String>()) } else { s.to_string() }
    };
    for h in hits {
        writeln!(
            out,
            "{:<10}  {:<8}  {:<26}  {:<44}  {:<20}  {:<40}  {:<24}  {}",
            h.verdict,
            h.action,
            clip(&h.host, 26),
            clip(&h.task_name, 44),
            clip(&h.run_as, 20),
            clip(&h.command, 40),
            clip(&h.creator, 24),
            h.reasons.join("; ")
        )?;
    }
    Ok(())
}

pub fn write_csv(out: &mut impl Write, hits: &[Hit]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "file",
        "record",
        "host",
        "verdict",
        "action",
        "task_name",
        "run_as",
        "command",
        "arguments",
        "creator",
        "suppressed_by",
        "reasons",
        "indicators",
    ])?;
    for h in hits {
        w.write_record([
            &h.file,
            &h.record,
            &h.host,
            h.verdict,
            &h.action,
            &h.task_name,
            &h.run_as,
            &h.command,
            &h.arguments,
            &h.creator,
            &h.suppressed_by,
            &h.reasons.join("\n"),
            &h.indicators.join("\n"),
        ])?;
    }
    w.flush()
}

pub fn write_json(out: &mut impl Write, hits: &[Hit]) -> io::Result<()> {
    for h in hits {
        serde_json::to_writer(&mut *out, h)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
