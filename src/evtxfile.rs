//! Reading EVTX files record by record with the `evtx` crate, one 64 KB chunk at a time, so
//! memory does not grow with file size. Shared by the modular input and the offline hunt.
//! A damaged chunk surfaces as errors of its records ([`DamagedRecord`]), which callers count.

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

/// How many records the modular input sends between two checkpoints: the most a killed run
/// can send twice.
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
