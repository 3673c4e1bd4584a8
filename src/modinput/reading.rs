//! Sending one EVTX file's records exactly once, across runs: resume after the checkpoint's
//! last record when the file still holds it ([`Anchor`]); start over, saying why, when it does
//! not; never send what cannot be recorded as sent. No process, no stdout: records go to an
//! [`EventSink`], so every case can be tested directly.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::checkpoint::{Anchor, Checkpoint, Store};
use crate::evtxfile::{BATCH, EvtxFile, EvtxFileError, Record};

/// Where records go: written, then flushed before the checkpoint that covers them is saved.
pub trait EventSink {
    fn send(&mut self, record: &Record) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
}

/// What reading one file did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileOutcome {
    /// Records sent (those the event-ID filter kept).
    pub sent: u64,
    /// Records new to the checkpoint that the event-ID filter dropped.
    pub filtered: u64,
    /// Records skipped because an earlier run sent them.
    pub already_sent: u64,
    /// Damaged records skipped.
    pub damaged: u64,
    /// Why the checkpoint was not trusted and the file was read from its start, if it was not.
    pub started_over: Option<String>,
    /// The file ends before the last record sent, but is the same log (a truncated copy):
    /// nothing in it is new.
    pub truncated: bool,
}

#[derive(Debug, Error)]
pub enum FileError {
    #[error(transparent)]
    Open(#[from] EvtxFileError),
    #[error(
        "{file}: checkpoint {checkpoint} cannot be written ({source}); nothing more is sent from this file until it can"
    )]
    Checkpoint { file: String, checkpoint: PathBuf, source: io::Error },
    #[error("writing events: {0}")]
    Output(io::Error),
}

/// Reads `path`, sending every record its checkpoint does not cover and `wants` keeps.
pub fn send_file(
    path: &Path,
    store: &Store,
    wants: impl Fn(Option<u32>) -> bool,
    sink: &mut impl EventSink,
) -> Result<FileOutcome, FileError> {
    let mut outcome = FileOutcome::default();
    let fresh = || Checkpoint { file: path.display().to_string(), ..Checkpoint::default() };
    let mut checkpoint = match store.load(path) {
        Ok(Some(c)) if c.last_record_id > 0 && c.anchor.is_none() => {
            outcome.started_over = Some(format!(
                "checkpoint without a record identity (written by an earlier version) cannot be verified; {} read from its start",
                path.display()
            ));
            Checkpoint { records_sent: c.records_sent, ..fresh() }
        }
        Ok(Some(c)) => c,
        Ok(None) => fresh(),
        Err(e) => {
            outcome.started_over = Some(format!("{e}; {} read from its start", path.display()));
            fresh()
        }
    };
    match read_pass(path, store, &mut checkpoint, &wants, sink, &mut outcome)? {
        Pass::Done => {}
        Pass::StartOver(reason) => {
            outcome.started_over = Some(format!("{reason}; {} read from its start", path.display()));
            outcome.already_sent = 0;
            outcome.damaged = 0;
            checkpoint = Checkpoint { records_sent: checkpoint.records_sent, ..fresh() };
            if let Pass::StartOver(reason) = read_pass(path, store, &mut checkpoint, &wants, sink, &mut outcome)? {
                // Without an anchor there is nothing to distrust: unreachable, but never loop.
                outcome.started_over = Some(reason);
            }
        }
    }
    Ok(outcome)
}

enum Pass {
    Done,
    /// The checkpoint does not describe this file; nothing was sent in this pass.
    StartOver(String),
}

fn read_pass(
    path: &Path,
    store: &Store,
    checkpoint: &mut Checkpoint,
    wants: &impl Fn(Option<u32>) -> bool,
    sink: &mut impl EventSink,
    outcome: &mut FileOutcome,
) -> Result<Pass, FileError> {
    let file = path.display().to_string();
    let checkpoint_error =
        |source: io::Error| FileError::Checkpoint { file: file.clone(), checkpoint: store.location(path), source };
    let mut evtx = EvtxFile::open(path)?;
    let anchor = checkpoint.anchor.clone();
    // Whether the file was shown to hold the anchor record (or to need none).
    let mut verified = anchor.is_none();
    let mut skipped = 0u64;
    let mut first: Option<Anchor> = None;
    let mut writable_checked = false;
    let mut since_checkpoint = 0u64;
    let mut last: Option<Anchor> = None;
    for record in evtx.records() {
        let Ok(record) = record else {
            outcome.damaged += 1;
            continue;
        };
        let id = record.event_record_id().unwrap_or(record.id);
        let this = anchor_of(&record, id);
        let first = first.get_or_insert_with(|| this.clone());
        if let Some(a) = &anchor
            && !verified
        {
            if id < a.record_id {
                skipped += 1;
                continue;
            }
            if id == a.record_id {
                if this == *a {
                    verified = true;
                    skipped += 1;
                    continue;
                }
                return Ok(Pass::StartOver(format!(
                    "record {id} is not the one the checkpoint recorded (another log at this path, or a checkpoint of another file)"
                )));
            }
            // Past the anchor without meeting it. Records after it are new if this is the same
            // log (a gap where a damaged record was) or if nothing came before it.
            if checkpoint.first.as_ref() != Some(first) {
                let why = format!(
                    "the checkpoint's last record {} is not in the file and its first record changed (replaced or cleared)",
                    a.record_id
                );
                if skipped > 0 {
                    return Ok(Pass::StartOver(why));
                }
                // Every record is after the anchor: all of them are sent, as from the start.
                outcome.started_over = Some(format!("{why}; {} read from its start", path.display()));
            }
            verified = true;
        } else if let Some(a) = &anchor
            && id <= a.record_id
        {
            // After the anchor, a record at or below it is one already sent.
            skipped += 1;
            continue;
        }
        // A record to send: first make sure its sending can be recorded.
        if !writable_checked {
            store.save(path, checkpoint).map_err(&checkpoint_error)?;
            writable_checked = true;
        }
        if wants(record.event_id()) {
            sink.send(&record).map_err(FileError::Output)?;
            outcome.sent += 1;
            checkpoint.records_sent += 1;
        } else {
            outcome.filtered += 1;
        }
        checkpoint.first = Some(first.clone());
        last = Some(this);
        since_checkpoint += 1;
        if since_checkpoint == BATCH {
            commit(sink, store, path, checkpoint, last.take()).map_err(|e| match e {
                Commit::Output(e) => FileError::Output(e),
                Commit::Checkpoint(e) => checkpoint_error(e),
            })?;
            since_checkpoint = 0;
        }
    }
    outcome.already_sent += skipped;
    if let Some(a) = &anchor
        && !verified
        && skipped > 0
    {
        // The file ends before the anchor. The same log, cut short (its first record unchanged:
        // timestamps cannot tell, some records carry none), holds nothing new; anything else is
        // read again.
        let same_log = checkpoint.first.is_some() && checkpoint.first == first;
        if !same_log {
            return Ok(Pass::StartOver(format!(
                "the file ends before the checkpoint's last record {} and is not the log it recorded (cleared, replaced or another file's checkpoint)",
                a.record_id
            )));
        }
        outcome.truncated = true;
    }
    if since_checkpoint > 0 {
        commit(sink, store, path, checkpoint, last).map_err(|e| match e {
            Commit::Output(e) => FileError::Output(e),
            Commit::Checkpoint(e) => checkpoint_error(e),
        })?;
    }
    Ok(Pass::Done)
}

enum Commit {
    Output(io::Error),
    Checkpoint(io::Error),
}

/// Flushes what was sent, then records it: a checkpoint never covers an event splunkd has not
/// been handed.
fn commit(
    sink: &mut impl EventSink,
    store: &Store,
    path: &Path,
    checkpoint: &mut Checkpoint,
    last: Option<Anchor>,
) -> Result<(), Commit> {
    sink.flush().map_err(Commit::Output)?;
    if let Some(last) = last
        && last.record_id >= checkpoint.last_record_id
    {
        checkpoint.last_record_id = last.record_id;
        checkpoint.anchor = Some(last);
    }
    store.save(path, checkpoint).map_err(Commit::Checkpoint)
}

fn anchor_of(record: &Record, id: u64) -> Anchor {
    Anchor {
        record_id: id,
        time_ms: record.time_ms,
        computer: record.computer().unwrap_or_default().to_string(),
        channel: record.channel().unwrap_or_default().to_string(),
    }
}
