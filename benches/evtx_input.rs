//! The EVTX modular input's record path against the `evtx` crate's own XML iteration, on the same
//! files: `cargo bench --bench evtx_input [-- FILE_OR_DIR...]` (default: ../shared/samples/evtx).
//! Both single-threaded; the input's figure includes event-ID filtering, the XML stream's escaping
//! and writing (to a sink). Best of interleaved rounds.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use evtx::{EvtxParser, ParserSettings};
use systemtask::evtxfile;
use systemtask::evtxfile::EvtxFile;
use systemtask::modinput::reading::EventSink;
use systemtask::modinput::stream::StanzaSink;

const ROUNDS: usize = 7;

fn main() {
    let args: Vec<PathBuf> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).map(PathBuf::from).collect();
    let roots = if args.is_empty() {
        vec![PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/samples/evtx"))]
    } else {
        args
    };
    let files: Vec<PathBuf> = roots.iter().flat_map(|r| evtxfile::list_files(r, true).files).collect();
    let bytes: u64 = files.iter().map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)).sum();

    let crate_only = || {
        let mut n = 0u64;
        for f in &files {
            let mut parser = EvtxParser::from_path(f)
                .unwrap()
                .with_configuration(ParserSettings::new().num_threads(1).indent(false));
            for r in parser.records().flatten() {
                std::hint::black_box(&r.data);
                n += 1;
            }
        }
        n
    };
    let input = || {
        let mut n = 0u64;
        let mut out = std::io::sink();
        let mut sink = StanzaSink::new(&mut out, "systemtask_evtx://bench", "XmlWinEventLog", None);
        for f in &files {
            let mut file = EvtxFile::open(f).unwrap();
            for record in file.records().flatten() {
                let _ = record.event_id();
                sink.send(&record).unwrap();
                n += 1;
            }
        }
        n
    };
    let (mut best_crate, mut best_input) = (Duration::MAX, Duration::MAX);
    let (mut n_crate, mut n_input) = (0, 0);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        n_crate = crate_only();
        best_crate = best_crate.min(t.elapsed());
        let t = Instant::now();
        n_input = input();
        best_input = best_input.min(t.elapsed());
    }
    assert_eq!(n_crate, n_input, "both read every record");
    let rate = |n: u64, d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "{} files, {:.1} MB, {} records; best of {ROUNDS} interleaved rounds",
        files.len(),
        bytes as f64 / 1e6,
        n_crate
    );
    println!("evtx crate, records() to XML            {:>10.0} records/s", rate(n_crate, best_crate));
    println!("systemtask_evtx record path to a sink   {:>10.0} records/s", rate(n_input, best_input));
    println!("ratio: {:.2} of the evtx crate's own records/s", best_crate.as_secs_f64() / best_input.as_secs_f64());
}
