//! The real public samples (../shared/samples) through the whole binary, over the protocol,
//! from inside an app layout so the shipped allowlist is found as in Splunk.

mod common;

use std::collections::HashMap;

use common::*;

fn labels() -> HashMap<String, String> {
    let mut r = csv::Reader::from_path(shared().join("samples/labels.csv")).unwrap();
    r.records().map(|r| r.unwrap()).map(|r| (r[0].to_string(), r[1].to_string())).collect()
}

/// Splits a CSV file into bodies of `per_chunk` records, each with the header.
fn chunk_bodies(csv_bytes: &[u8], per_chunk: usize) -> Vec<Vec<u8>> {
    let mut r = csv::ReaderBuilder::new().from_reader(csv_bytes);
    let header = r.byte_headers().unwrap().clone();
    let records: Vec<csv::ByteRecord> = r.byte_records().map(|r| r.unwrap()).collect();
    records
        .chunks(per_chunk)
        .map(|chunk| {
            let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(vec![]);
            w.write_byte_record(&header).unwrap();
            for rec in chunk {
                w.write_byte_record(rec).unwrap();
            }
            w.into_inner().unwrap()
        })
        .collect()
}

struct Score {
    verdicts: Vec<(String, String, String)>,
}

impl Score {
    fn count(&self, expected: &str, got: &str) -> usize {
        self.verdicts.iter().filter(|(_, e, g)| e == expected && g == got).count()
    }
}

fn run_samples(body_source: &[u8], args: &[&str], per_chunk: usize) -> Score {
    let app = temp_app(&format!("samples-{per_chunk}-{}", args.len()));
    let bodies = chunk_bodies(body_source, per_chunk);
    let mut input = getinfo(args);
    for (i, body) in bodies.iter().enumerate() {
        input.extend(execute(i + 1 == bodies.len(), body));
    }
    let run = run_exe(&app.join("bin/systemtask"), input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.replies.len(), bodies.len() + 1);
    assert!(run.messages("WARN").is_empty(), "the app's allowlist is found: {:?}", run.messages("WARN"));
    let labels = labels();
    let mut verdicts = Vec::new();
    for (body, reply) in bodies.iter().zip(&run.replies[1..]) {
        if !args.contains(&"mode=alerts") {
            assert_lossless(body, &reply.body, "samples");
        }
        let (header, rows) = csv_records(&reply.body);
        let col = |n: &str| header.iter().position(|h| h == n.as_bytes()).unwrap();
        for row in rows {
            let case = String::from_utf8_lossy(&row[col("case_id")]).to_string();
            let got = String::from_utf8_lossy(&row[col("systemtask_verdict")]).to_string();
            verdicts.push((case.clone(), labels[&case].clone(), got));
        }
    }
    Score { verdicts }
}

#[test]
fn labelled_samples_get_their_verdicts() {
    let events = std::fs::read(shared().join("samples/events.csv")).unwrap();
    for per_chunk in [1, 7, 1000] {
        let s = run_samples(&events, &[], per_chunk);
        assert_eq!(s.verdicts.len(), 144);
        let misses: Vec<_> = s.verdicts.iter().filter(|(_, e, g)| e != "unknown" && e != g).collect();
        assert!(misses.is_empty(), "chunks of {per_chunk}: {misses:?}");
        assert_eq!(s.count("alert", "alert"), 20);
        assert_eq!(s.count("suppressed", "suppressed"), 51);
        assert_eq!(s.count("benign", "benign"), 67);
    }
}

#[test]
fn without_the_allowlist_every_suppression_is_an_alert() {
    let events = std::fs::read(shared().join("samples/events.csv")).unwrap();
    let s = run_samples(&events, &["allowlist=none"], 50);
    assert_eq!(s.count("suppressed", "alert"), 51);
    assert_eq!(s.count("alert", "alert"), 20);
    assert_eq!(s.count("benign", "alert") + s.count("benign", "suppressed"), 0);
}

#[test]
fn alerts_mode_passes_only_alerts() {
    let events = std::fs::read(shared().join("samples/events.csv")).unwrap();
    let s = run_samples(&events, &["mode=alerts"], 40);
    assert_eq!(s.verdicts.len(), 20);
    assert!(s.verdicts.iter().all(|(_, e, g)| e == "alert" && g == "alert"));
}

/// XML-rendered events reduced to `_raw` alone (no field extraction at the search head) get
/// the same verdicts: the evidence is found in `_raw`.
#[test]
fn bare_raw_xml_events_get_the_same_verdicts() {
    let mut r = csv::Reader::from_path(shared().join("samples/events.csv")).unwrap();
    let header = r.headers().unwrap().clone();
    let (raw, case, st) = (
        header.iter().position(|h| h == "_raw").unwrap(),
        header.iter().position(|h| h == "case_id").unwrap(),
        header.iter().position(|h| h == "sourcetype").unwrap(),
    );
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(vec![]);
    w.write_record(["_raw", "case_id"]).unwrap();
    let mut n = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        if &rec[st] == "XmlWinEventLog" {
            w.write_record([&rec[raw], &rec[case]]).unwrap();
            n += 1;
        }
    }
    let s = run_samples(&w.into_inner().unwrap(), &[], 10);
    assert_eq!(s.verdicts.len(), n);
    let misses: Vec<_> = s.verdicts.iter().filter(|(_, e, g)| e != "unknown" && e != g).collect();
    assert!(misses.is_empty(), "{misses:?}");
    assert!(s.count("alert", "alert") >= 10, "{}", s.count("alert", "alert"));
}
