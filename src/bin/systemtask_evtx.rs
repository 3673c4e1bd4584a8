//! `systemtask_evtx`: the modular input that streams EVTX records to Splunk, each record once.
//! `--scheme` prints the scheme, `--validate-arguments` checks an `<items>` document, and with
//! no argument it runs the `<input>` configuration splunkd writes on stdin.

#![forbid(unsafe_code)]

use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use systemtask::evtxfile;
use systemtask::modinput::checkpoint::{Checkpoint, Store};
use systemtask::modinput::config::{self, EvtxParams, Stanza};
use systemtask::modinput::stream::{self, StreamEvent};
use systemtask::modinput::{SCHEME_NAME, scheme_xml};

/// splunkd reads stderr lines as `LEVEL message` into splunkd.log.
fn log(level: &str, message: &str) {
    eprintln!("{level} {SCHEME_NAME}: {}", message.replace(['\r', '\n'], " "));
}

fn read_stdin() -> Result<String, String> {
    let mut s = String::new();
    io::stdin().read_to_string(&mut s).map_err(|e| format!("reading stdin: {e}"))?;
    Ok(s)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--scheme") => {
            print!("{}", scheme_xml());
            ExitCode::SUCCESS
        }
        Some("--validate-arguments") => validate_arguments(),
        None => match run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                log("ERROR", &e);
                ExitCode::FAILURE
            }
        },
        Some(other) => {
            eprintln!("usage: {SCHEME_NAME} [--scheme | --validate-arguments] (unknown argument {other:?})");
            ExitCode::from(2)
        }
    }
}

fn validate_arguments() -> ExitCode {
    let result = read_stdin().and_then(|xml| config::parse(&xml)).and_then(|c| {
        c.stanzas
            .first()
            .ok_or_else(|| "no <item> to validate".to_string())
            .and_then(|s| config::validate(s).map(|_| ()))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let escaped = message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            println!("<error><message>{escaped}</message></error>");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let config = config::parse(&read_stdin()?)?;
    let checkpoint_dir = config.checkpoint_dir.as_deref().ok_or("the input configuration names no checkpoint_dir")?;
    let store = Store::new(checkpoint_dir).map_err(|e| format!("checkpoint_dir {}: {e}", checkpoint_dir.display()))?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    stream::begin(&mut out).map_err(|e| format!("writing events: {e}"))?;
    for stanza in &config.stanzas {
        match config::validate(stanza) {
            Ok(params) => run_stanza(stanza, &params, &store, &mut out)?,
            Err(e) => log("ERROR", &format!("{}: {e}; input skipped", stanza.name)),
        }
    }
    stream::end(&mut out).map_err(|e| format!("writing events: {e}"))
}

fn run_stanza(stanza: &Stanza, params: &EvtxParams, store: &Store, out: &mut impl Write) -> Result<(), String> {
    let walk = evtxfile::list_files(&params.path, params.recursive);
    for warning in &walk.warnings {
        log("WARN", &format!("{}: {warning}", stanza.name));
    }
    let files = walk.files;
    log("INFO", &format!("{}: {} EVTX file(s) under {}", stanza.name, files.len(), params.path.display()));
    let sourcetype = stanza.param("sourcetype").filter(|s| !s.is_empty()).unwrap_or("XmlWinEventLog");
    let index = stanza.param("index").filter(|s| !s.is_empty());
    for file in files {
        let mut checkpoint = match store.load(&file) {
            Ok(c) => c.unwrap_or_else(|| Checkpoint { file: file.display().to_string(), ..Checkpoint::default() }),
            Err(e) => {
                log("WARN", &format!("{e}; reading {} from the start", file.display()));
                Checkpoint { file: file.display().to_string(), ..Checkpoint::default() }
            }
        };
        let after = checkpoint.last_record_id;
        let sent_before = checkpoint.records_sent;
        let mut seen_up_to = after;
        let mut sent = 0u64;
        // The checkpoint advances only after the events it covers were flushed to splunkd.
        let pending = std::cell::Cell::new((after, 0u64));
        let mut source_buf = String::new();
        let result = {
            let out = std::cell::RefCell::new(&mut *out);
            evtxfile::read_records(
                &file,
                after,
                |record| {
                    seen_up_to = seen_up_to.max(record.id);
                    if params.wants(record.event_id()) {
                        let source = record.channel().map(|c| stream::xml_source(c, &mut source_buf));
                        let event = StreamEvent {
                            stanza: &stanza.name,
                            time_ms: Some(record.time_ms),
                            host: record.computer(),
                            source,
                            sourcetype,
                            index,
                            data: record.xml(),
                        };
                        stream::write_event(&mut *out.borrow_mut(), &event)?;
                        sent += 1;
                    }
                    pending.set((seen_up_to, sent));
                    Ok(())
                },
                || {
                    out.borrow_mut().flush()?;
                    let (last, total) = pending.get();
                    if last > checkpoint.last_record_id {
                        checkpoint.last_record_id = last;
                        checkpoint.records_sent = sent_before + total;
                        store.save(&file, &checkpoint)?;
                    }
                    Ok(())
                },
            )
        };
        match result {
            Ok(stats) => {
                log(
                    if stats.record_errors > 0 { "WARN" } else { "INFO" },
                    &format!(
                        "{}: {} record(s) sent, {} already sent before, {} damaged record(s) skipped",
                        file.display(),
                        sent,
                        stats.skipped_seen,
                        stats.record_errors
                    ),
                );
            }
            Err(e) => log("ERROR", &format!("{e}; file skipped, the rest still read")),
        }
    }
    Ok(())
}
