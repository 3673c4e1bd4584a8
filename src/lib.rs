//! systemtask: detects Windows scheduled tasks created or changed to run as SYSTEM
//! (MITRE ATT&CK T1053.005) inside Splunk.
//!
//! - [`protocol`]: the Splunk chunked protocol (frames, session); knows nothing of events.
//! - [`record`]: CSV bodies in and out, copying untouched fields byte-for-byte.
//! - [`detect`]: the detection rules over event fields; no I/O.
//! - [`allowlist`]: suppression of known-good tasks.
//! - [`engine`]: joins them: one chunk in, tagged chunk out.
//! - [`evtxfile`], [`modinput`]: EVTX files read record by record, and the modular input that
//!   streams them to Splunk exactly once.

#![forbid(unsafe_code)]

pub mod allowlist;
pub mod command;
pub mod detect;
pub mod engine;
pub mod error;
pub mod evtxfile;
pub mod hunt;
pub mod modinput;
pub mod options;
pub mod protocol;
pub mod record;
pub mod winpath;
mod xmltext;
