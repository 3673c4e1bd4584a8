//! systemtask: detects Windows scheduled tasks created or changed to run as SYSTEM
//! (MITRE ATT&CK T1053.005) inside Splunk.
//!
//! - [`protocol`]: the Splunk chunked protocol (frames, session); knows nothing of events.
//! - [`record`]: CSV bodies in and out, copying untouched fields byte-for-byte.
//! - [`event`]: field layouts: which column (or `_raw`) carries each logical field, per record.
//! - [`detect`]: the detection rules over logical fields; no I/O.
//! - [`allowlist`]: suppression of known-good tasks.
//! - [`engine`]: joins them: one event in, a finding out; one chunk in, tagged chunk out.
//! - [`output`]: the output contract (the columns the command adds), rendered for every format.
//! - [`evtxfile`], [`modinput`]: EVTX files read record by record, and the modular input that
//!   streams them to Splunk exactly once.
//! - `bytes` and `xmltext`: byte searches for short spans, and XML text (references, line
//!   ends), each written once for every module that needs it.

#![forbid(unsafe_code)]

pub mod allowlist;
mod bytes;
pub mod command;
pub mod detect;
pub mod engine;
pub mod error;
pub mod event;
pub mod evtxfile;
pub mod hunt;
pub mod modinput;
pub mod options;
pub mod output;
pub mod protocol;
pub mod record;
pub mod walk;
pub mod winpath;
mod xmltext;
