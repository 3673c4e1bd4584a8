//! Reading EVTX files record by record with the `evtx` crate, one 64 KB chunk at a time, so
//! memory does not grow with file size. Shared by the modular input and the offline hunt.
//! A damaged chunk surfaces as errors of its records, counted in `record_errors`.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use thiserror::Error;

use evtx::{EvtxParser, ParserSettings};
use memchr::memmem::Finder;
use once_cell::sync::Lazy;

use crate::event::raw;
use crate::walk::{self, Walk};

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

    /// The event's `EventRecordID` as Windows numbered it (what Event Viewer and every other
    /// tool shows). The EVTX record header's own number usually agrees, but not always.
    pub fn event_record_id(&self) -> Option<u64> {
        static ID: Lazy<Finder<'static>> = Lazy::new(|| Finder::new(b"<EventRecordID>"));
        raw::element_text_with(self.xml(), &ID)?.parse().ok()
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

/// The `.evtx` files at `path` (a file, or a folder; subfolders when `recursive`), sorted,
/// with warnings for what was passed over (see [`crate::walk`]).
pub fn list_files(path: &Path, recursive: bool) -> Walk {
    walk::walk(&[path.to_path_buf()], walk::Filter { recursive, extensions: &["evtx"] })
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

/// An EVTX file opened for reading.
pub struct EvtxFile<R: Read + Seek> {
    parser: EvtxParser<R>,
}

/// Why a file could not be read as EVTX at all.
#[derive(Debug, Error)]
pub enum EvtxFileError {
    #[error("{file}: {source}")]
    Open { file: String, source: std::io::Error },
    #[error("{file}: not a readable EVTX file: {detail}")]
    NotEvtx { file: String, detail: String },
}

/// A record that could not be read (a damaged record or chunk): skipped and counted.
#[derive(Debug, Error)]
#[error("damaged record: {0}")]
pub struct DamagedRecord(pub String);

impl EvtxFile<BufReader<File>> {
    pub fn open(path: &Path) -> Result<Self, EvtxFileError> {
        let file =
            File::open(path).map_err(|source| EvtxFileError::Open { file: path.display().to_string(), source })?;
        EvtxFile::from_reader(BufReader::new(file), &path.display().to_string())
    }
}

impl<R: Read + Seek> EvtxFile<R> {
    /// Opens any seekable reader; `name` is used in errors.
    pub fn from_reader(reader: R, name: &str) -> Result<Self, EvtxFileError> {
        // Single-threaded: chunks are read and rendered one at a time, so memory stays at one
        // chunk whatever the file size.
        let settings = ParserSettings::new().num_threads(1).indent(false);
        let parser = EvtxParser::from_read_seek(reader)
            .map_err(|e| EvtxFileError::NotEvtx { file: name.to_string(), detail: e.to_string() })?
            .with_configuration(settings);
        Ok(EvtxFile { parser })
    }

    /// The records in file order (Windows' order for a log that wrapped around).
    pub fn records(&mut self) -> impl Iterator<Item = Result<Record, DamagedRecord>> + '_ {
        self.parser.records().map(|record| {
            let serialized = record.map_err(|e| DamagedRecord(e.to_string()))?;
            let start = after_declaration(&serialized.data);
            Ok(Record {
                id: serialized.event_record_id,
                time_ms: serialized.timestamp.as_millisecond(),
                rendered: serialized.data,
                start,
            })
        })
    }
}

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
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_records_from(BufReader::new(file), &path.display().to_string(), after, on_record, on_batch_end)
}

/// [`read_records`] over any seekable reader; `name` is used in messages.
pub fn read_records_from<R: Read + Seek>(
    reader: R,
    name: &str,
    after: u64,
    mut on_record: impl FnMut(Record) -> std::io::Result<()>,
    mut on_batch_end: impl FnMut() -> std::io::Result<()>,
) -> Result<FileStats, String> {
    let mut file = EvtxFile::from_reader(reader, name).map_err(|e| e.to_string())?;
    let mut stats = FileStats::default();
    let mut in_batch = 0;
    for record in file.records() {
        let Ok(record) = record else {
            stats.record_errors += 1;
            continue;
        };
        if record.id <= after {
            stats.skipped_seen += 1;
            continue;
        }
        stats.records += 1;
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
