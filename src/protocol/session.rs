//! The session state machine: getinfo, then exactly one reply per execute request, then drain.

use std::io::{BufRead, Write};

use super::frame::{FramePos, FrameReader, write_frame, write_spliced_frame};
use super::{Command, Level, Message, Request, reply_metadata};
use crate::error::ProtocolError;
use crate::record::Spliced;

/// How the session ended, as the process exit code.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;

/// Runs one session over `input`/`output`. Errors are reported to Splunk as an ERROR inspector
/// message on a final reply, and to `stderr` as one line; the return value is the exit code.
pub fn run<R: BufRead, W: Write, C: Command>(input: R, mut output: W, command: &mut C, stderr: &mut dyn Write) -> i32 {
    let mut reader = FrameReader::new(input);
    match drive(&mut reader, &mut output, command) {
        Ok(Ending::Finished) => {
            // Splunk may still write after the final reply; keep reading so it never blocks.
            let _ = reader.drain();
            EXIT_OK
        }
        Ok(Ending::InputClosed) => {
            let _ = writeln!(stderr, "systemtask: input closed before the final execute request; stopping");
            EXIT_OK
        }
        Ok(Ending::Refused(text)) => {
            let _ = writeln!(stderr, "systemtask: {}", one_line(&text));
            EXIT_FAILED
        }
        Err(err) => {
            let text = err.to_string();
            let meta = reply_metadata(None, Some(true), &[Message::new(Level::Error, text.clone())]);
            let _ = write_frame(&mut output, &meta, b"");
            let _ = writeln!(stderr, "systemtask: {}", one_line(&text));
            EXIT_FAILED
        }
    }
}

enum Ending {
    Finished,
    InputClosed,
    /// Arguments refused on the getinfo reply; the reply was already sent.
    Refused(String),
}

fn drive<R: BufRead, W: Write, C: Command>(
    reader: &mut FrameReader<R>,
    output: &mut W,
    command: &mut C,
) -> Result<Ending, ProtocolError> {
    let mut metadata = Vec::new();
    let mut body = Vec::new();
    let mut reply = Spliced::default();

    let Some(pos) = reader.read_frame(&mut metadata, &mut body)? else {
        return Err(ProtocolError::EmptyInput);
    };
    let request = parse_request(&metadata, pos)?;
    match request.action.as_deref() {
        Some("getinfo") => {}
        Some("execute") => return Err(ProtocolError::ExecuteBeforeGetinfo { frame: pos.frame }),
        other => {
            return Err(ProtocolError::FirstNotGetinfo {
                frame: pos.frame,
                action: other.unwrap_or("(none)").to_string(),
            });
        }
    }
    let info = request.searchinfo.unwrap_or_default();
    match command.configure(&info) {
        Ok(messages) => {
            write_frame(output, &reply_metadata(Some("streaming"), None, &messages), b"")?;
        }
        Err(refused) => {
            let text = refused.to_string();
            // The SDK's shape for a refused argument: the error rides on the getinfo reply.
            let meta = reply_metadata(Some("streaming"), None, &[Message::new(Level::Error, text.clone())]);
            write_frame(output, &meta, b"")?;
            return Ok(Ending::Refused(text));
        }
    }

    let mut chunk = 0u64;
    loop {
        let Some((pos, len)) = reader.read_head(&mut metadata)? else {
            return Ok(Ending::InputClosed);
        };
        let request = parse_request(&metadata, pos)?;
        match request.action.as_deref() {
            Some("execute") => {}
            Some("getinfo") => return Err(ProtocolError::SecondGetinfo { frame: pos.frame }),
            other => {
                return Err(ProtocolError::UnknownAction {
                    frame: pos.frame,
                    action: other.unwrap_or("(none)").to_string(),
                });
            }
        }
        chunk += 1;
        let finished = request.finished.unwrap_or(false);
        reply.clear();
        // The body is analysed as it arrives.
        let processed = reader
            .read_body_with(&mut body, len, pos, |body, input| command.process_arriving(body, input, &mut reply))?
            .map_err(|source| ProtocolError::Body { chunk, frame: pos.frame, source })?;
        // With no records the SDK sends metadata only; do the same.
        let metadata = reply_metadata(None, Some(finished), &processed.messages);
        if processed.records == 0 {
            write_frame(output, &metadata, b"")?;
        } else {
            write_spliced_frame(output, &metadata, &reply, &body)?;
        }
        if finished {
            return Ok(Ending::Finished);
        }
    }
}

fn parse_request(metadata: &[u8], pos: FramePos) -> Result<Request, ProtocolError> {
    if let Err(e) = std::str::from_utf8(metadata) {
        return Err(ProtocolError::MetadataNotUtf8 { frame: pos.frame, at: e.valid_up_to() });
    }
    // Straight into the typed request: unknown keys (the session key among them) are skipped,
    // never copied into a value that could end up in a message.
    serde_json::from_slice(metadata).map_err(|e| ProtocolError::BadMetadata { frame: pos.frame, detail: e.to_string() })
}

fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}
