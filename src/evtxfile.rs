//! Reading EVTX files record by record with the `evtx` crate, one 64 KB chunk at a time, so
//! memory does not grow with file size. Shared by the modular input and the offline hunt.
//! A damaged chunk surfaces as errors of its records, counted in `record_errors`.

use std::path::{Path, PathBuf};

use evtx::{EvtxParser, ParserSettings};
use memchr::memmem::Finder;
use once_cell::sync::Lazy;

use crate::detect::raw;

/// One record in the XML rendering.
pub struct Record {
    pub id: u64,
    pub time_ms: i64,
    /// The renderer's output; the record's XML starts at `start`.
    rendered: String,
    start: usize,
}

impl Record {
    /// The record's XML, without the `<?xml ...?>` declaration the renderer puts first.
    pub fn xml(&self) -> &str {
        &self.rendered[self.start..]
    }

    /// [`Record::xml`], owned.
    pub fn into_xml(mut self) -> String {
        self.rendered.drain(..self.start);
        self.rendered
    }

    pub fn event_id(&self) -> Option<u32> {
        raw::event_code(self.xml())
    }

    pub fn channel(&self) -> Option<&str> {
        static CHANNEL: Lazy<Finder<'static>> = Lazy::new(|| Finder::new(b"<Channel>"));
        raw::element_text_with(self.xml(), &CHANNEL)
    }

    pub fn computer(&self) -> Option<&str> {
        static COMPUTER: Lazy<Finder<'static>> = Lazy::new(|| Finder::new(b"<Computer>"));
        raw::element_text_with(self.xml(), &COMPUTER)
    }
}

/// What happened while reading one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileStats {
    pub records: u64,
    pub skipped_seen: u64,
    pub record_errors: u64,
}

/// The `.evtx` files at `path` (a file, or a folder; subfolders when `recursive`), sorted.
pub fn list_files(path: &Path, recursive: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if path.is_file() {
        out.push(path.to_path_buf());
        return out;
    }
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let p = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                if recursive {
                    dirs.push(p);
                }
            } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("evtx")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Where the record's XML starts: after the `<?xml ...?>` declaration the renderer puts first.
/// An offset rather than a copy: records are kilobytes and the input reads thousands a second.
fn after_declaration(xml: &str) -> usize {
    if xml.starts_with("<?xml")
        && let Some(end) = xml.find("?>")
    {
        return xml.len() - xml[end + 2..].trim_start().len();
    }
    0
}

/// How many records pass between two calls of `on_batch_end` (where the modular input flushes
/// and checkpoints): the most a killed run can send twice.
pub const BATCH: u64 = 2000;

/// Reads a file's records in order, skipping those with an ID up to `after`. `on_record` gets
/// each record; `on_batch_end` is called every [`BATCH`] records and at the end (the place to
/// flush and checkpoint). Returns an error only when the file cannot be opened as EVTX;
/// damaged records (a damaged chunk's included) are counted and skipped. Uses the crate's own
/// record iterator, single-threaded: chunks are read and rendered one at a time.
pub fn read_records(
    path: &Path,
    after: u64,
    on_record: impl FnMut(Record) -> std::io::Result<()>,
    on_batch_end: impl FnMut() -> std::io::Result<()>,
) -> Result<FileStats, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_records_from(std::io::BufReader::new(file), &path.display().to_string(), after, on_record, on_batch_end)
}

/// [`read_records`] over any seekable reader; `name` is used in messages.
pub fn read_records_from<R: std::io::Read + std::io::Seek>(
    reader: R,
    name: &str,
    after: u64,
    mut on_record: impl FnMut(Record) -> std::io::Result<()>,
    mut on_batch_end: impl FnMut() -> std::io::Result<()>,
) -> Result<FileStats, String> {
    let settings = ParserSettings::new().num_threads(1).indent(false);
    let mut parser = EvtxParser::from_read_seek(reader)
        .map_err(|e| format!("{name}: not a readable EVTX file: {e}"))?
        .with_configuration(settings);
    let mut stats = FileStats::default();
    let mut in_batch = 0;
    for record in parser.records() {
        let serialized = match record {
            Ok(s) => s,
            Err(_) => {
                stats.record_errors += 1;
                continue;
            }
        };
        if serialized.event_record_id <= after {
            stats.skipped_seen += 1;
            continue;
        }
        stats.records += 1;
        let start = after_declaration(&serialized.data);
        let record = Record {
            id: serialized.event_record_id,
            time_ms: serialized.timestamp.as_millisecond(),
            rendered: serialized.data,
            start,
        };
        on_record(record).map_err(|e| format!("writing events: {e}"))?;
        in_batch += 1;
        if in_batch == BATCH {
            on_batch_end().map_err(|e| format!("writing events: {e}"))?;
            in_batch = 0;
        }
    }
    on_batch_end().map_err(|e| format!("writing events: {e}"))?;
    Ok(stats)
}
