//! In-process throughput of the record path on realistic mixed Windows events, against a plain
//! csv-crate parse-and-rewrite passthrough that adds one column, and the allowlist's per-event
//! cost with the default list and with 10,000 entries. Also writes the protocol sessions that
//! bench/run.py feeds to the real binary and to the Python SDK.
//!
//! `cargo bench --bench throughput [-- OUT_DIR]`. Figures are ratios measured in one run.

#[path = "support/mix.rs"]
mod mix;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use systemtask::allowlist::{Allowlist, Date};
use systemtask::engine::{Engine, Scratch};
use systemtask::options::Mode;

const RECORDS_PER_CHUNK: usize = 50_000;
const CHUNKS: usize = 4;
const ROUNDS: usize = 7;
const TODAY: Date = Date { year: 2026, month: 11, day: 28 };

fn default_allowlist() -> Allowlist {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("splunk_app/lookups/systemtask_allowlist.csv");
    Allowlist::load(&path, TODAY).expect("shipped allowlist")
}

/// The shipped entries plus 10,000 more, shaped like a large customer's list: 70% exact task
/// names, 20% vendor folders with a wildcard (`\VendorN\Updater*`), 10% no name, exact program.
fn large_allowlist() -> (Allowlist, usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("splunk_app/lookups/systemtask_allowlist.csv");
    let mut text = std::fs::read_to_string(path).unwrap();
    for i in 0..10_000 {
        let line = match i % 10 {
            0..=6 => {
                format!("c{i},\\Corp\\Team{}\\Job{i},C:\\Program Files\\Corp\\Tool{i}\\run.exe,,,,,synthetic\n", i % 97)
            }
            7 | 8 => format!(
                "v{i},\\Vendor{i}\\Updater*,C:\\Program Files (x86)\\Vendor{i}\\update.exe,/silent,,,,synthetic\n"
            ),
            _ => format!("p{i},,C:\\Program Files\\Agent{i}\\agent.exe,--scheduled,,,,synthetic\n"),
        };
        text.push_str(&line);
    }
    let list = Allowlist::parse(text.as_bytes(), "large.csv", TODAY).unwrap();
    let n = list.len();
    (list, n)
}

fn engine(allowlist: Option<Allowlist>) -> Engine {
    Engine::new(Mode::Tag, allowlist, Default::default())
}

/// A passthrough that parses every record with the csv crate, appends one field and writes it
/// back: the baseline the command must at least match while also detecting.
fn csv_passthrough(body: &[u8], out: &mut Vec<u8>, record: &mut csv::ByteRecord) -> usize {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(body);
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
    let mut n = 0;
    while reader.read_byte_record(record).unwrap() {
        record.push_field(if n == 0 { b"tagged" } else { b"1" });
        writer.write_byte_record(record).unwrap();
        n += 1;
    }
    writer.flush().unwrap();
    n
}

/// Runs every variant once per round, interleaved, so that load drifting on a shared machine
/// hits all of them alike; returns each variant's best round.
/// One way of turning a chunk body into output.
type Variant<'a> = &'a mut dyn FnMut(&[u8], &mut Vec<u8>);

fn interleaved(bodies: &[Vec<u8>], variants: &mut [Variant<'_>]) -> Vec<Duration> {
    let mut best = vec![Duration::MAX; variants.len()];
    let mut out = Vec::new();
    for _ in 0..ROUNDS {
        for (i, f) in variants.iter_mut().enumerate() {
            let start = Instant::now();
            for body in bodies {
                out.clear();
                f(body, &mut out);
            }
            best[i] = best[i].min(start.elapsed());
        }
    }
    best
}

fn rate(records: usize, d: Duration) -> f64 {
    records as f64 / d.as_secs_f64()
}

fn frame(metadata: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("chunked 1.0,{},{}\n", metadata.len(), body.len()).into_bytes();
    out.extend_from_slice(metadata.as_bytes());
    out.extend_from_slice(body);
    out
}

fn session(bodies: &[Vec<u8>], args: &str) -> Vec<u8> {
    // The searchinfo keys of the recorded sessions in ../shared/scp (the Python SDK needs them).
    let mut s = frame(
        &format!(
            r#"{{"action":"getinfo","preview":false,"streaming_command_will_restart":false,"searchinfo":{{"args":[{args}],"raw_args":[{args}],"dispatch_dir":"/tmp","sid":"1700000000.1","app":"search","owner":"admin","username":"admin","session_key":"bench-session-key","splunkd_uri":"https://127.0.0.1:8089","splunk_version":"9.1.2","search":"search%20index%3Dmain%20%7C%20systemtask","command":"systemtask","maxresultrows":50000,"earliest_time":"0","latest_time":"0"}}}}"#
        ),
        b"",
    );
    for (i, b) in bodies.iter().enumerate() {
        let finished = i + 1 == bodies.len();
        s.extend(frame(&format!(r#"{{"action":"execute","finished":{finished}}}"#), b));
    }
    s
}

fn main() {
    let out_dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("bench/out"));
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut rng = mix::Rng::new(0x5eed_1053_0005);
    let bodies: Vec<Vec<u8>> =
        (0..CHUNKS).map(|c| mix::body(&mut rng, (c * RECORDS_PER_CHUNK) as u64, RECORDS_PER_CHUNK)).collect();
    let records = CHUNKS * RECORDS_PER_CHUNK;
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    println!(
        "input: {CHUNKS} chunks x {RECORDS_PER_CHUNK} records ({}% of task XML unique), {:.0} bytes/record, largest chunk {:.1} MB",
        mix::UNIQUE_TASK_XML_PERCENT,
        bytes as f64 / records as f64,
        bodies.iter().map(Vec::len).max().unwrap() as f64 / 1e6
    );

    let mut record = csv::ByteRecord::new();
    let (mut s1, mut s2, mut s3) = (Scratch::default(), Scratch::default(), Scratch::default());
    let default = engine(Some(default_allowlist()));
    let none = engine(None);
    let (large, large_len) = large_allowlist();
    let large = engine(Some(large));
    let times = interleaved(
        &bodies,
        &mut [
            &mut |b, o| {
                csv_passthrough(b, o, &mut record);
            },
            &mut |b, o| {
                default.process(b, o, &mut s1).unwrap();
            },
            &mut |b, o| {
                none.process(b, o, &mut s2).unwrap();
            },
            &mut |b, o| {
                large.process(b, o, &mut s3).unwrap();
            },
        ],
    );
    let (baseline, tagged, no_allowlist, with_large) = (times[0], times[1], times[2], times[3]);
    let mut out = Vec::new();
    let stats = default.process(&bodies[0], &mut out, &mut s1).unwrap();
    let stats_large = large.process(&bodies[0], &mut out, &mut s1).unwrap();
    assert_eq!(
        (stats.alerts, stats.suppressed),
        (stats_large.alerts, stats_large.suppressed),
        "same verdicts with the large list"
    );

    println!(
        "chunk 1 verdicts: {} alert, {} suppressed, {} benign, {} untouched",
        stats.alerts,
        stats.suppressed,
        stats.benign,
        stats.records_in - stats.alerts - stats.suppressed - stats.benign
    );
    println!("{:<58} {:>12} {:>9}", format!("in-process, best of {ROUNDS} interleaved rounds"), "records/s", "MB/s");
    let row = |name: &str, d: Duration| {
        println!("{name:<58} {:>12.0} {:>9.0}", rate(records, d), bytes as f64 / d.as_secs_f64() / 1e6)
    };
    row("csv crate passthrough + 1 column (baseline)", baseline);
    row("systemtask, detection + default allowlist", tagged);
    row("systemtask, detection, allowlist=none", no_allowlist);
    row(&format!("systemtask, detection + {large_len}-entry allowlist"), with_large);
    println!("ratio systemtask / csv baseline: {:.2}x", baseline.as_secs_f64() / tagged.as_secs_f64());
    println!(
        "per-event cost {large_len}-entry vs default allowlist: {:+.1}%",
        (with_large.as_secs_f64() / tagged.as_secs_f64() - 1.0) * 100.0
    );

    // The allowlist lookup alone, on the would-be alerts of chunk 1.
    let findings: Vec<_> = {
        let mut r = csv::ReaderBuilder::new().from_reader(&bodies[0][..]);
        let headers = r.headers().unwrap().clone();
        let names: Vec<&str> = headers.iter().collect();
        let map = Default::default();
        let _: &systemtask::event::FieldNames = &map;
        let resolved = map.resolve(&names);
        r.records()
            .filter_map(|rec| {
                let rec = rec.unwrap();
                let list = systemtask::event::FieldList(
                    systemtask::event::Field::ALL
                        .iter()
                        .filter_map(|f| {
                            let column = resolved.candidates(*f).iter().find(|&&i| !rec[i].is_empty())?;
                            Some((*f, rec[*column].to_string()))
                        })
                        .collect(),
                );
                systemtask::detect::analyze(&list).filter(|f| f.verdict == systemtask::detect::Verdict::Alert)
            })
            .collect()
    };
    let lookups = |list: &Allowlist| {
        (0..ROUNDS)
            .map(|_| {
                let start = Instant::now();
                let hits = findings.iter().filter(|f| list.matching(f).is_some()).count();
                std::hint::black_box(hits);
                start.elapsed()
            })
            .min()
            .unwrap()
    };
    let (d_default, d_large) =
        (lookups(default.policy.allowlist.as_ref().unwrap()), lookups(large.policy.allowlist.as_ref().unwrap()));
    println!(
        "allowlist lookup per would-be alert ({} of them): default {:.0} ns, {large_len} entries {:.0} ns",
        findings.len(),
        d_default.as_nanos() as f64 / findings.len() as f64,
        d_large.as_nanos() as f64 / findings.len() as f64
    );

    // The mix profiled: the same engine on bodies of one event class each.
    let classes = [
        ("task events (4698/4702 XML)", 0u8, mix::UNIQUE_TASK_XML_PERCENT),
        ("task events, every XML unique", 0, 100),
        ("Sysmon 1", 1, 0),
        ("other events", 2, 0),
    ];
    for (class, pick, unique) in classes {
        let mut rng = mix::Rng::new(7);
        let mut kept = Vec::new();
        let mut i = 0;
        while kept.len() < 20_000 {
            let e = mix::event_with(&mut rng, i, unique);
            i += 1;
            let kind = match e[5].as_str() {
                "4698" | "4702" => 0,
                "1" => 1,
                _ => 2,
            };
            if kind == pick {
                kept.push(e);
            }
        }
        let body = mix::body_of(&kept);
        let t = interleaved(
            std::slice::from_ref(&body),
            &mut [
                &mut |b, o| {
                    default.process(b, o, &mut s1).unwrap();
                },
                &mut |b, o| {
                    csv_passthrough(b, o, &mut record);
                },
            ],
        );
        let (d, dc) = (t[0], t[1]);
        println!(
            "  {class:<30} {:>10.0} records/s ({:.2}x the csv baseline on the same events)",
            rate(kept.len(), d),
            dc.as_secs_f64() / d.as_secs_f64()
        );
    }

    std::fs::write(out_dir.join("session_4x50k.bin"), session(&bodies, "")).unwrap();
    std::fs::write(out_dir.join("session_1x50k.bin"), session(&bodies[..1], "")).unwrap();
    let empty_final = vec![mix::body_of(&[])];
    std::fs::write(out_dir.join("session_getinfo_only.bin"), session(&empty_final, "")).unwrap();
    println!("sessions written to {}", out_dir.display());
}
