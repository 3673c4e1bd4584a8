//! `hunt` on one thread against one per core, over a 600-file-style corpus assembled from the
//! public samples (../shared/samples/evtx, 28 files, copied 22 times into a temporary folder):
//! `cargo bench --bench hunt`. Target: at least 1.7x on 2 cores. Best of interleaved rounds.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use systemtask::allowlist::{Allowlist, Date};
use systemtask::engine::Engine;
use systemtask::options::Mode;

fn main() {
    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/evtx");
    let sources = systemtask::hunt::collect(&[samples]).files;
    let corpus = std::env::temp_dir().join(format!("systemtask-hunt-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&corpus);
    for copy in 0..22 {
        let dir = corpus.join(format!("host{copy:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (i, f) in sources.iter().enumerate() {
            std::fs::copy(f, dir.join(format!("{i:02}-{}", f.file_name().unwrap().to_string_lossy()))).unwrap();
        }
    }
    let files = systemtask::hunt::collect(std::slice::from_ref(&corpus)).files;
    let bytes: u64 = files.iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).sum();
    let allowlist = Allowlist::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("splunk_app/lookups/systemtask_allowlist.csv"),
        Date::today(),
    )
    .unwrap();
    let engine = Engine::new(Mode::Tag, Some(allowlist), Default::default());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let run = |threads: usize| {
        let start = Instant::now();
        let reports = systemtask::hunt::hunt(&engine, &files, |_| true, threads, false);
        let records: u64 = reports.iter().map(|r| r.summary.records).sum();
        (start.elapsed(), records)
    };
    let (mut one, mut all) = (Duration::MAX, Duration::MAX);
    let mut records = 0;
    for _ in 0..5 {
        let (t, n) = run(1);
        one = one.min(t);
        records = n;
        all = all.min(run(cores).0);
    }
    println!("corpus: {} files, {:.1} MB, {records} records", files.len(), bytes as f64 / 1e6);
    println!("1 thread:   {:.3} s ({:.0} records/s)", one.as_secs_f64(), records as f64 / one.as_secs_f64());
    println!("{cores} threads: {:.3} s ({:.0} records/s)", all.as_secs_f64(), records as f64 / all.as_secs_f64());
    println!("speed-up on {cores} cores: {:.2}x (target 1.7x on 2 cores)", one.as_secs_f64() / all.as_secs_f64());
    let _ = std::fs::remove_dir_all(&corpus);
}
