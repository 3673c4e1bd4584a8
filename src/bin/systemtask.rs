//! `systemtask`: with no arguments, the Splunk search command speaking the chunked protocol on
//! stdin/stdout. With a subcommand, the same engine over local files.

#![forbid(unsafe_code)]

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use systemtask::allowlist;
use systemtask::command::{AllowlistSource, SearchCommand, SetupError, build_engine};
use systemtask::detect::Verdict;
use systemtask::engine::{ChunkStats, Scratch};
use systemtask::options::Options;
use systemtask::output;
use systemtask::protocol::session;
use systemtask::record::{jsonl, union};

#[derive(Parser)]
#[command(
    name = "systemtask",
    version,
    about = "Detects Windows scheduled tasks created or changed to run as SYSTEM (T1053.005).\nWith no arguments it is the Splunk search command (chunked protocol on stdin/stdout)."
)]
struct Cli {
    #[command(subcommand)]
    command: Local,
}

#[derive(Subcommand)]
enum Local {
    /// Tag events from CSV (as exported from Splunk) or JSON-lines files, as `| systemtask` would.
    Tag {
        /// Event files: `.csv`, or `.json`/`.jsonl` with one JSON object a line.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Search options as in SPL: mode=alerts, command_line_field=process, ...
        #[arg(short = 'o', long = "option", value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// Allowlist CSV to use, or `none`. Default: the app's lookup when run from inside the app.
        #[arg(long, value_name = "PATH|none")]
        allowlist: Option<String>,
        /// Output: `csv` (every field, as Splunk would get it) or `table` (the triage columns).
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
    },
    /// Hunt through EVTX files, CSV or JSON-lines exports (files or folders): report the alerts.
    Hunt {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Allowlist CSV to use, or `none`. Default: the app's lookup when run from inside the app.
        #[arg(long, value_name = "PATH|none")]
        allowlist: Option<String>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = HuntFormat::Table)]
        format: HuntFormat,
        /// Also report suppressed events (and which allowlist entry matched).
        #[arg(long)]
        include_suppressed: bool,
        /// Search options as in SPL (field overrides for CSV exports).
        #[arg(short = 'o', long = "option", value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// Files read at once (default: one per core).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum HuntFormat {
    Table,
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Csv,
    Table,
}

fn main() -> ExitCode {
    if std::env::args_os().len() <= 1 {
        return run_search_command();
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Local::Tag { files, options, allowlist, format } => tag_files(&files, &options, allowlist, format),
        Local::Hunt { paths, allowlist, format, include_suppressed, options, threads } => {
            let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            hunt(&paths, &options, allowlist, format, include_suppressed, threads)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("systemtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_search_command() -> ExitCode {
    // Detection never panics by design; if it ever does, the engine marks that one event and
    // goes on. One line in search.log says where, instead of the default multi-line report.
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("systemtask: event analysis fault at {at}; the event is tagged systemtask_verdict=error");
    }));
    let stdin = io::stdin().lock();
    let stdout = BufWriter::with_capacity(1 << 16, reply_output());
    let mut command = SearchCommand::new(AllowlistSource::AppLookups(allowlist::app_lookups_dir()));
    let code = session::run(stdin, stdout, &mut command, &mut io::stderr());
    ExitCode::from(code as u8)
}

/// Replies go to fd 1 through a duplicate of it opened as a file: std's stdout handle is
/// line-buffered and scans every reply for newlines; a file's vectored writes go straight to
/// `writev`, so rows passed through are never copied in user space.
#[cfg(unix)]
fn reply_output() -> Box<dyn Write> {
    use std::os::fd::AsFd;
    match io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(std::fs::File::from(fd)),
        Err(_) => Box::new(io::stdout().lock()),
    }
}

#[cfg(not(unix))]
fn reply_output() -> Box<dyn Write> {
    Box::new(io::stdout().lock())
}

fn hunt(
    paths: &[PathBuf],
    options: &[String],
    allowlist: Option<String>,
    format: HuntFormat,
    include_suppressed: bool,
    threads: usize,
) -> Result<(), String> {
    let (engine, messages) = local_engine(options, allowlist).map_err(|e| e.to_string())?;
    for m in messages {
        eprintln!("{}: {}", m.level.as_str(), m.text);
    }
    let walk = systemtask::hunt::collect(paths);
    for warning in &walk.warnings {
        eprintln!("systemtask: {warning}");
    }
    let started = std::time::Instant::now();
    let keep = |v| v == Verdict::Alert || v == Verdict::Error || (include_suppressed && v == Verdict::Suppressed);
    let reports = systemtask::hunt::hunt(&engine, &walk.files, keep, threads, true);
    let mut sum = systemtask::hunt::Summary::default();
    for report in &reports {
        sum += report.summary;
        for problem in &report.problems {
            eprintln!("systemtask: {problem}");
        }
    }
    let rows = reports.iter().flat_map(|r| &r.rows);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = match format {
        HuntFormat::Table => output::write_table_header(&mut out)
            .and_then(|_| rows.clone().try_for_each(|r| output::write_table_row(&mut out, r))),
        HuntFormat::Csv => output::write_report_csv(&mut out, rows),
        HuntFormat::Json => output::write_report_json(&mut out, rows),
    };
    written.and_then(|_| out.flush()).map_err(|e| format!("writing output: {e}"))?;
    eprintln!(
        "systemtask hunt: {} files ({} unreadable, {} skipped), {} records ({} damaged, skipped), {} alerts, {} suppressed, {} benign, {} not analysable, {:.2} s",
        sum.files,
        sum.unreadable,
        walk.warnings.len(),
        sum.records,
        sum.damaged_records,
        sum.alerts,
        sum.suppressed,
        sum.benign,
        sum.errors,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The engine for local runs: SPL-style options plus an allowlist path (or the app's own).
fn local_engine(
    options: &[String],
    allowlist: Option<String>,
) -> Result<(systemtask::engine::Engine, Vec<systemtask::protocol::Message>), SetupError> {
    let mut spl_args = options.to_vec();
    let source = match allowlist.as_deref() {
        Some("none") => {
            spl_args.push("allowlist=none".into());
            AllowlistSource::Path(PathBuf::new())
        }
        Some(path) => AllowlistSource::Path(PathBuf::from(path)),
        None => match allowlist::app_lookups_dir() {
            Some(dir) => AllowlistSource::AppLookups(Some(dir)),
            None => {
                eprintln!(
                    "systemtask: no allowlist (not run from inside the app); pass --allowlist PATH to suppress known-good tasks"
                );
                spl_args.push("allowlist=none".into());
                AllowlistSource::Path(PathBuf::new())
            }
        },
    };
    let options = Options::from_args(&spl_args)?;
    Ok(build_engine(options, &source)?)
}

/// `tag`: the files as one body whose header is the union of theirs (as Splunk builds a
/// chunk), through the same engine as the search command.
fn tag_files(files: &[PathBuf], options: &[String], allowlist: Option<String>, format: Format) -> Result<(), String> {
    let (engine, messages) = local_engine(options, allowlist).map_err(|e| e.to_string())?;
    for m in messages {
        eprintln!("{}: {}", m.level.as_str(), m.text);
    }
    let mut bodies = Vec::with_capacity(files.len());
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let body = if ext == "json" || ext == "jsonl" || ext == "ndjson" {
            jsonl::to_csv(&String::from_utf8_lossy(&bytes)).map_err(|e| format!("{}: {e}", file.display()))?
        } else {
            bytes
        };
        bodies.push(body);
    }
    let body = match bodies.len() {
        1 => bodies.pop().unwrap_or_default(),
        _ => union::union(&bodies).map_err(|e| format!("{}: {e}", files[e.body].display()))?,
    };
    let mut scratch = Scratch::default();
    let stdout = io::stdout();
    let mut out_stream = BufWriter::new(stdout.lock());
    let totals = match format {
        Format::Csv => {
            let mut out = Vec::new();
            let stats = engine.process(&body, &mut out, &mut scratch).map_err(|e| e.to_string())?;
            out_stream.write_all(&out).map_err(|e| format!("writing output: {e}"))?;
            stats
        }
        Format::Table => {
            let findings = engine.findings(&body, &mut scratch).map_err(|e| e.to_string())?;
            output::write_table_header(&mut out_stream).map_err(|e| format!("writing output: {e}"))?;
            let mut stats = ChunkStats { records_in: findings.len() as u64, ..ChunkStats::default() };
            for f in findings.iter().flatten() {
                stats.count(Some(f));
                stats.records_out += 1;
                let origin = output::Origin {
                    computer: f.host.as_deref().unwrap_or_default().to_string(),
                    ..output::Origin::default()
                };
                output::write_table_row(&mut out_stream, &output::Row::new(origin, f))
                    .map_err(|e| format!("writing output: {e}"))?;
            }
            stats
        }
    };
    out_stream.flush().map_err(|e| format!("writing output: {e}"))?;
    eprintln!("{}", summary(&totals, format));
    Ok(())
}

/// The run's line on stderr, accounting for every event read: the CSV passes every event
/// through, the table lists only those with a verdict, so it says which it did.
fn summary(totals: &ChunkStats, format: Format) -> String {
    let written = match format {
        Format::Csv => "out",
        Format::Table => "listed",
    };
    format!(
        "systemtask: {} events in, {} {written}: {} alert, {} suppressed, {} benign, {} not analysable, {} not about scheduled tasks",
        totals.records_in,
        totals.records_out,
        totals.alerts,
        totals.suppressed,
        totals.benign,
        totals.errors,
        totals.untagged()
    )
}
