//! Errors, each carrying where it happened: frame number and stream byte offset for the
//! protocol, chunk and record number for CSV bodies, file and line for the allowlist.

use thiserror::Error;

/// A malformed CSV body. `record` counts from 0 = the header row; `offset` is a byte offset
/// within the body.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CsvError {
    #[error("record {record}: quoted field opened at body byte {offset} is never closed")]
    UnterminatedQuote { record: u64, offset: usize },
    #[error("record {record}: unexpected byte 0x{byte:02x} after a closing quote at body byte {offset}")]
    AfterClosingQuote { record: u64, offset: usize, byte: u8 },
    #[error("record {record} at body byte {offset}: {found} fields where the header has {expected}")]
    Ragged { record: u64, offset: usize, expected: usize, found: usize },
    #[error("the header row names no columns")]
    EmptyHeader,
}

/// A malformed frame or session. `frame` counts from 1; `offset` is the byte offset in the
/// input stream where the problem was found.
#[derive(Debug, Error)]
pub enum ProtocolError {
    #[error("stdin was empty: no getinfo request arrived")]
    EmptyInput,
    #[error("frame {frame} at byte {offset}: bad header {header:?}: {reason}")]
    BadHeader { frame: u64, offset: u64, header: String, reason: &'static str },
    #[error("frame {frame} at byte {offset}: header line longer than {max} bytes without a newline")]
    HeaderTooLong { frame: u64, offset: u64, max: usize },
    #[error("frame {frame} at byte {offset}: declared {what} length {len} exceeds the limit of {max} bytes")]
    TooLarge { frame: u64, offset: u64, what: &'static str, len: u64, max: u64 },
    #[error("frame {frame} at byte {offset}: input ended after {got} of {expected} declared {what} bytes")]
    Truncated { frame: u64, offset: u64, what: &'static str, expected: u64, got: u64 },
    #[error("frame {frame} at byte {offset}: input ended inside the header line")]
    TruncatedHeader { frame: u64, offset: u64 },
    #[error("frame {frame}: metadata is not UTF-8 (byte {at} of the metadata)")]
    MetadataNotUtf8 { frame: u64, at: usize },
    #[error("frame {frame}: metadata is not a valid request: {detail}")]
    BadMetadata { frame: u64, detail: String },
    #[error("frame {frame}: an execute request arrived before getinfo")]
    ExecuteBeforeGetinfo { frame: u64 },
    #[error("frame {frame}: a second getinfo request arrived")]
    SecondGetinfo { frame: u64 },
    #[error("frame {frame}: unknown action {action:?}")]
    UnknownAction { frame: u64, action: String },
    #[error("frame {frame}: the first request must be getinfo, got {action:?}")]
    FirstNotGetinfo { frame: u64, action: String },
    #[error("chunk {chunk} (frame {frame}): {source}")]
    Body { chunk: u64, frame: u64, source: CsvError },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
