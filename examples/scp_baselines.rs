//! The two yardsticks `bench/run.py` sets the command against, as whole programs speaking the
//! chunked protocol over pipes, built the way the command is shipped:
//!
//! - `scp_baselines csv`: every chunk's records parsed with the csv crate, one column appended,
//!   written back (a minimal streaming command that reads its records properly);
//! - `scp_baselines copy`: every frame's body written back unparsed (the pipe's ceiling: no
//!   command that returns its input can go faster).
//!
//! Both answer getinfo as a streaming command and mirror `finished`, as the command does.

#![forbid(unsafe_code)]

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode != "csv" && mode != "copy" {
        eprintln!("usage: scp_baselines csv|copy < session");
        return ExitCode::from(2);
    }
    match serve(mode == "csv") {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scp_baselines: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(parse: bool) -> io::Result<()> {
    let mut input = BufReader::with_capacity(1 << 16, io::stdin().lock());
    let mut output = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let (mut header, mut metadata, mut body, mut rewritten) = (String::new(), Vec::new(), Vec::new(), Vec::new());
    let mut record = csv::ByteRecord::new();
    loop {
        header.clear();
        if input.read_line(&mut header)? == 0 {
            return Ok(());
        }
        let sizes = header.trim_end().strip_prefix("chunked 1.0,").and_then(|s| s.split_once(','));
        let (m, b) = match sizes.and_then(|(m, b)| Some((m.parse::<usize>().ok()?, b.parse::<usize>().ok()?))) {
            Some(sizes) => sizes,
            None => return Err(io::Error::other(format!("bad frame header {header:?}"))),
        };
        metadata.resize(m, 0);
        input.read_exact(&mut metadata)?;
        body.resize(b, 0);
        input.read_exact(&mut body)?;
        let request: serde_json::Value = serde_json::from_slice(&metadata).map_err(io::Error::other)?;
        let finished = request["finished"].as_bool().unwrap_or(false);
        let reply_metadata = if request["action"] == "getinfo" {
            r#"{"type":"streaming"}"#.to_string()
        } else {
            format!(r#"{{"finished":{finished}}}"#)
        };
        let reply_body: &[u8] = if request["action"] == "getinfo" {
            b""
        } else if parse {
            rewritten.clear();
            add_column(&body, &mut rewritten, &mut record)?;
            &rewritten
        } else {
            &body
        };
        write!(output, "chunked 1.0,{},{}\n{reply_metadata}", reply_metadata.len(), reply_body.len())?;
        output.write_all(reply_body)?;
        output.flush()?;
        if finished {
            return Ok(());
        }
    }
}

fn add_column(body: &[u8], out: &mut Vec<u8>, record: &mut csv::ByteRecord) -> io::Result<()> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body);
    let mut writer = csv::WriterBuilder::new().flexible(true).terminator(csv::Terminator::Any(b'\n')).from_writer(out);
    let mut first = true;
    while reader.read_byte_record(record).map_err(io::Error::other)? {
        record.push_field(if first { b"tagged" } else { b"1" });
        first = false;
        writer.write_byte_record(record).map_err(io::Error::other)?;
    }
    writer.flush()
}
