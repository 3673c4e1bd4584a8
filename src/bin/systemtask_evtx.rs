//! `systemtask_evtx`: the modular input that streams EVTX records to Splunk, each record once.
//! `--scheme` prints the scheme, `--validate-arguments` checks an `<items>` document, and with
//! no argument it runs the `<input>` configuration splunkd writes on stdin.

#![forbid(unsafe_code)]

use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use systemtask::evtxfile;
use systemtask::modinput::checkpoint::Store;
use systemtask::modinput::config::{self, EvtxParams, Stanza};
use systemtask::modinput::reading::{self, FileError};
use systemtask::modinput::stream::{self, StanzaSink};
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
    let result = read_stdin().and_then(|xml| config::parse(&xml).map_err(|e| e.to_string())).and_then(|c| {
        c.stanzas
            .first()
            .ok_or_else(|| "no <item> to validate".to_string())
            .and_then(|s| config::validate(s).map(|_| ()).map_err(|e| e.to_string()))
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
    let config = config::parse(&read_stdin()?).map_err(|e| e.to_string())?;
    let checkpoint_dir = config.checkpoint_dir.as_deref().ok_or("the input configuration names no checkpoint_dir")?;
    let store = Store::new(checkpoint_dir).map_err(|e| format!("checkpoint_dir {}: {e}", checkpoint_dir.display()))?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    stream::begin(&mut out).map_err(|e| format!("writing events: {e}"))?;
    let mut failed = 0;
    for stanza in &config.stanzas {
        match config::validate(stanza) {
            Ok(params) => failed += run_stanza(stanza, &params, &store, &mut out)?,
            Err(e) => log("ERROR", &format!("{}: {e}; input skipped", stanza.name)),
        }
    }
    stream::end(&mut out).map_err(|e| format!("writing events: {e}"))?;
    match failed {
        0 => Ok(()),
        n => Err(format!(
            "{n} file(s) could not be read to the end because their checkpoint could not be written (see above)"
        )),
    }
}

/// Reads every file of a stanza; returns how many failed in a way that needs the admin.
fn run_stanza(stanza: &Stanza, params: &EvtxParams, store: &Store, out: &mut impl Write) -> Result<u64, String> {
    let walk = evtxfile::list_files(&params.path, params.recursive);
    for warning in &walk.warnings {
        log("WARN", &format!("{}: {warning}", stanza.name));
    }
    log("INFO", &format!("{}: {} EVTX file(s) under {}", stanza.name, walk.files.len(), params.path.display()));
    let sourcetype = stanza.param("sourcetype").filter(|s| !s.is_empty()).unwrap_or("XmlWinEventLog");
    let index = stanza.param("index").filter(|s| !s.is_empty());
    let mut sink = StanzaSink::new(out, &stanza.name, sourcetype, index);
    let mut failed = 0;
    for file in &walk.files {
        match reading::send_file(file, store, |id| params.wants(id), &mut sink) {
            Ok(outcome) => {
                if let Some(why) = &outcome.started_over {
                    log("WARN", why);
                }
                if outcome.truncated {
                    log(
                        "WARN",
                        &format!(
                            "{}: ends before the last record sent (a truncated copy of the same log); nothing new",
                            file.display()
                        ),
                    );
                }
                log(
                    if outcome.damaged > 0 { "WARN" } else { "INFO" },
                    &format!(
                        "{}: {} record(s) sent, {} left out by event_ids, {} already sent before, {} damaged record(s) skipped",
                        file.display(),
                        outcome.sent,
                        outcome.filtered,
                        outcome.already_sent,
                        outcome.damaged
                    ),
                );
            }
            Err(e @ FileError::Open(_)) => log("ERROR", &format!("{e}; file skipped, the rest still read")),
            Err(e @ FileError::Checkpoint { .. }) => {
                failed += 1;
                log("ERROR", &e.to_string());
            }
            // splunkd stopped reading: nothing more can be sent.
            Err(e @ FileError::Output(_)) => return Err(e.to_string()),
        }
    }
    Ok(failed)
}
