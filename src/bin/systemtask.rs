//! `systemtask`: with no arguments, the Splunk search command speaking the chunked protocol on
//! stdin/stdout. With a subcommand, the same engine over local files.

#![forbid(unsafe_code)]

use std::io::{self, BufWriter, Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use systemtask::allowlist;
use systemtask::command::{AllowlistSource, SearchCommand, build_engine};
use systemtask::engine::{ChunkStats, Scratch};
use systemtask::options::Options;
use systemtask::protocol::session;
use systemtask::record::jsonl;

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
        Local::Hunt { paths, allowlist, format, include_suppressed, options } => {
            hunt(&paths, &options, allowlist, format, include_suppressed)
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
    let stdin = io::stdin().lock();
    // Replies go to fd 1 through a duplicate of it opened as a file: std's stdout handle is
    // line-buffered and scans every reply for newlines; a file's vectored writes go straight to
    // `writev`, so rows passed through are never copied in user space.
    let fd1: Box<dyn Write> = match io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(std::fs::File::from(fd)),
        Err(_) => Box::new(io::stdout().lock()),
    };
    let stdout = BufWriter::with_capacity(1 << 16, fd1);
    let mut command = SearchCommand::new(AllowlistSource::AppLookups(allowlist::app_lookups_dir()));
    let code = session::run(stdin, stdout, &mut command, &mut io::stderr());
    ExitCode::from(code as u8)
}

fn hunt(
    paths: &[PathBuf],
    options: &[String],
    allowlist: Option<String>,
    format: HuntFormat,
    include_suppressed: bool,
) -> Result<(), String> {
    let (engine, messages) = local_engine(options, allowlist)?;
    for m in messages {
        eprintln!("{}: {}", m.level.as_str(), m.text);
    }
    let files = systemtask::hunt::collect(paths);
    let started = std::time::Instant::now();
    let keep = |v| {
        v == systemtask::detect::Verdict::Alert || (include_suppressed && v == systemtask::detect::Verdict::Suppressed)
    };
    let (hits, sum) = systemtask::hunt::hunt(&engine, &files, keep, true);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = match format {
        HuntFormat::Table => systemtask::hunt::write_table(&mut out, &hits),
        HuntFormat::Csv => systemtask::hunt::write_csv(&mut out, &hits),
        HuntFormat::Json => systemtask::hunt::write_json(&mut out, &hits),
    };
    written.and_then(|_| out.flush()).map_err(|e| format!("writing output: {e}"))?;
    eprintln!(
        "systemtask hunt: {} files ({} unreadable), {} records, {} alerts, {} suppressed, {} benign, {:.2} s",
        sum.files,
        sum.unreadable,
        sum.records,
        sum.alerts,
        sum.suppressed,
        sum.benign,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The engine for local runs: SPL-style options plus an allowlist path (or the app's own).
fn local_engine(
    options: &[String],
    allowlist: Option<String>,
) -> Result<(systemtask::engine::Engine, Vec<systemtask::protocol::Message>), String> {
    let mut spl_args = options.to_vec();
    let source = match allowlist.as_deref() {
        Some("none") => {
            spl_args.push("allowlist=none".into());
            AllowlistSource::Path(PathBuf::new())
        }
        Some(path) => AllowlistSource::Path(PathBuf::from(path)),
        None => match allowlist::app_lookups_dir() {
            Some(dir) => AllowlistSource::Path(dir.join(systemtask::options::DEFAULT_ALLOWLIST)),
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
    build_engine(options, &source)
}

fn tag_files(files: &[PathBuf], options: &[String], allowlist: Option<String>, format: Format) -> Result<(), String> {
    let (engine, messages) = local_engine(options, allowlist)?;
    for m in messages {
        eprintln!("{}: {}", m.level.as_str(), m.text);
    }
    let mut scratch = Scratch::default();
    let mut totals = ChunkStats::default();
    let stdout = io::stdout();
    let mut out_stream = BufWriter::new(stdout.lock());
    let mut wrote_header = false;
    for file in files {
        let mut bytes = Vec::new();
        std::fs::File::open(file)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let body = if ext == "json" || ext == "jsonl" || ext == "ndjson" {
            let text = String::from_utf8_lossy(&bytes);
            jsonl::to_csv(&text).map_err(|e| format!("{}: {e}", file.display()))?
        } else {
            bytes
        };
        let mut out = Vec::with_capacity(body.len() + body.len() / 4);
        let stats = engine.process(&body, &mut out, &mut scratch).map_err(|e| format!("{}: {e}", file.display()))?;
        totals += stats;
        let written = match format {
            Format::Csv => {
                // One header for the whole output when files share a layout.
                let skip = if wrote_header { out.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1) } else { 0 };
                out_stream.write_all(&out[skip..])
            }
            Format::Table => write_table(&mut out_stream, &out, !wrote_header),
        };
        written.map_err(|e| format!("writing output: {e}"))?;
        wrote_header = true;
    }
    out_stream.flush().map_err(|e| format!("writing output: {e}"))?;
    eprintln!(
        "systemtask: {} events in, {} out: {} alert, {} suppressed, {} benign",
        totals.records_in, totals.records_out, totals.alerts, totals.suppressed, totals.benign
    );
    Ok(())
}

/// The triage view: one line per scheduled-task event, the columns an analyst reads first.
fn write_table(out: &mut impl Write, tagged_csv: &[u8], header: bool) -> io::Result<()> {
    const COLUMNS: [&str; 7] = [
        "systemtask_verdict",
        "task_action",
        "task_name",
        "task_run_as",
        "task_command",
        "systemtask_suppressed_by",
        "systemtask_reasons",
    ];
    let mut reader = csv::ReaderBuilder::new().from_reader(tagged_csv);
    let headers = reader.byte_headers().map_err(io::Error::other)?.clone();
    let host_col = ["Computer", "host"].iter().find_map(|n| headers.iter().position(|h| h == n.as_bytes()));
    let index: Vec<Option<usize>> = COLUMNS.iter().map(|c| headers.iter().position(|h| h == c.as_bytes())).collect();
    if header {
        writeln!(
            out,
            "{:<10}  {:<8}  {:<28}  {:<50}  {:<20}  {:<40}  {:<30}  reasons",
            "verdict", "action", "host", "task", "run as", "command", "suppressed by"
        )?;
    }
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(io::Error::other)? {
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i)).map(|v| String::from_utf8_lossy(v).replace('\n', "; ")).unwrap_or_default()
        };
        let verdict = cell(index[0]);
        if verdict.is_empty() {
            continue;
        }
        let clip = |s: String, n: usize| {
            if s.chars().count() > n { format!("{}…", s.chars().take(n - 1).collect::<String>()) } else { s }
        };
        writeln!(
            out,
            "{:<10}  {:<8}  {:<28}  {:<50}  {:<20}  {:<40}  {:<30}  {}",
            verdict,
            cell(index[1]),
            clip(cell(host_col), 28),
            clip(cell(index[2]), 50),
            clip(cell(index[3]), 20),
            clip(cell(index[4]), 40),
            cell(index[5]),
            cell(index[6])
        )?;
    }
    Ok(())
}
