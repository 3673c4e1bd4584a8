//! Events as Splunk hands them over: one search mixes XML rendering, classic rendering, CIM
//! and JSON collectors (Winlogbeat / Elastic Agent, NXLog), and a chunk's header is the union
//! of every event's fields. The real samples (../shared/samples) are re-laid out as each
//! extraction names fields; every event must get, in a mixed chunk, the verdict it gets alone
//! in its own layout, and the labelled verdict where the layout carries the evidence.

mod common;

use std::collections::HashMap;

use common::*;
use proptest::prelude::*;
use systemtask::engine::{Engine, Scratch};
use systemtask::options::Mode;

/// One event: its columns in order.
#[derive(Clone, Debug)]
struct Event {
    layout: &'static str,
    case: String,
    columns: Vec<(String, Vec<u8>)>,
}

/// EventData names in the samples (XML rendering's `<Data Name=...>`).
const EVENT_DATA: [&str; 17] = [
    "TaskName",
    "TaskContent",
    "TaskContentNew",
    "SubjectUserName",
    "SubjectUserSid",
    "SubjectDomainName",
    "SubjectLogonId",
    "RpcCallClientLocality",
    "ClientProcessId",
    "Image",
    "CommandLine",
    "OriginalFileName",
    "User",
    "ParentImage",
    "ParentCommandLine",
    "NewProcessName",
    "ParentProcessName",
];

fn samples() -> Vec<HashMap<String, Vec<u8>>> {
    let mut r = csv::Reader::from_path(shared().join("samples/events.csv")).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.byte_records().map(|rec| header.iter().cloned().zip(rec.unwrap().iter().map(<[u8]>::to_vec)).collect()).collect()
}

fn labels() -> HashMap<String, String> {
    let mut r = csv::Reader::from_path(shared().join("samples/labels.csv")).unwrap();
    r.records().map(|r| r.unwrap()).map(|r| (r[0].to_string(), r[1].to_string())).collect()
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// A JSON collector's `_raw`: the event as one JSON object.
fn json_raw(columns: &[(String, Vec<u8>)]) -> Vec<u8> {
    let object: serde_json::Map<String, serde_json::Value> =
        columns.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(text(v)))).collect();
    serde_json::to_vec(&object).unwrap()
}

/// The layouts one sample event can be delivered in.
fn layouts(s: &HashMap<String, Vec<u8>>) -> Vec<Event> {
    let get = |k: &str| s.get(k).cloned().unwrap_or_default();
    let case = text(&get("case_id"));
    let code = text(&get("EventCode"));
    let is_process = code == "1" || code == "4688";
    let sysmon = code == "1";
    let mut out = Vec::new();
    let mut push = |layout: &'static str, mut columns: Vec<(String, Vec<u8>)>| {
        columns.retain(|(_, v)| !v.is_empty());
        columns.push(("layout".into(), layout.as_bytes().to_vec()));
        columns.push(("case_id".into(), case.as_bytes().to_vec()));
        out.push(Event { layout, case: case.clone(), columns });
    };

    // XML rendering (or the sample's own JSON extraction), as captured.
    push("xml", s.iter().filter(|(k, _)| *k != "case_id").map(|(k, v)| (k.clone(), v.clone())).collect());

    // Classic rendering: Splunk_TA_windows's names for the message labels; `_raw` is the
    // classic text's header (the labelled lines are what the extraction read).
    let classic_name = |k: &str| -> Option<&'static str> {
        Some(match k {
            "TaskName" => "Task_Name",
            "TaskContent" => "Task_Content",
            "TaskContentNew" => "Task_New_Content",
            "SubjectUserName" => "Subject_Account_Name",
            "SubjectDomainName" => "Subject_Account_Domain",
            "SubjectUserSid" => "Subject_Security_ID",
            "SubjectLogonId" => "Subject_Logon_ID",
            "CommandLine" if !sysmon => "Process_Command_Line",
            "NewProcessName" => "New_Process_Name",
            "ParentProcessName" => "Creator_Process_Name",
            // Sysmon's classic rendering keeps its own names.
            "CommandLine" => "CommandLine",
            "Image" => "Image",
            "User" => "User",
            "OriginalFileName" => "OriginalFileName",
            "ParentImage" => "ParentImage",
            "ParentCommandLine" => "ParentCommandLine",
            _ => return None,
        })
    };
    let mut classic: Vec<(String, Vec<u8>)> = vec![
        ("host".into(), get("host")),
        ("sourcetype".into(), b"WinEventLog".to_vec()),
        ("EventCode".into(), get("EventCode")),
        ("ComputerName".into(), get("Computer")),
    ];
    classic.extend(EVENT_DATA.iter().filter_map(|k| Some((classic_name(k)?.to_string(), get(k)))));
    let classic_raw =
        format!("LogName={}\nEventCode={code}\nComputerName={}\n", text(&get("Channel")), text(&get("Computer")));
    classic.push(("_raw".into(), classic_raw.into_bytes()));
    push("classic", classic);

    // Winlogbeat / Elastic Agent: ECS names and `winlog.event_data.*`; `_raw` is the JSON.
    let mut beat: Vec<(String, Vec<u8>)> = vec![
        ("host".into(), get("host")),
        ("winlog.event_id".into(), get("EventCode")),
        ("winlog.channel".into(), get("Channel")),
        ("winlog.computer_name".into(), get("Computer")),
    ];
    beat.extend(EVENT_DATA.iter().map(|k| (format!("winlog.event_data.{k}"), get(k))));
    beat.retain(|(_, v)| !v.is_empty());
    let raw = json_raw(&beat);
    beat.push(("_raw".into(), raw));
    push("winlogbeat", beat);

    // NXLog `to_json()`: EventData flattened to the top level, `EventID`, `Hostname`.
    let mut nxlog: Vec<(String, Vec<u8>)> = vec![
        ("host".into(), get("host")),
        ("EventID".into(), get("EventCode")),
        ("Hostname".into(), get("Computer")),
        ("Channel".into(), get("Channel")),
    ];
    nxlog.extend(EVENT_DATA.iter().map(|k| (k.to_string(), get(k))));
    nxlog.retain(|(_, v)| !v.is_empty());
    let raw = json_raw(&nxlog);
    nxlog.push(("_raw".into(), raw));
    push("nxlog", nxlog);

    // CIM Endpoint.Processes (process creations only): no event code, no `_raw` (tstats).
    if is_process {
        let image = if sysmon { get("Image") } else { get("NewProcessName") };
        let base = text(&image).rsplit(['\\', '/']).next().unwrap_or("").to_string();
        let user = if sysmon {
            get("User")
        } else {
            format!("{}\\{}", text(&get("SubjectDomainName")), text(&get("SubjectUserName"))).into_bytes()
        };
        push(
            "cim",
            vec![
                ("dest".into(), get("Computer")),
                ("process".into(), get("CommandLine")),
                ("process_path".into(), image),
                ("process_name".into(), base.into_bytes()),
                ("user".into(), user),
                ("original_file_name".into(), get("OriginalFileName")),
                ("parent_process_path".into(), if sysmon { get("ParentImage") } else { get("ParentProcessName") }),
                ("parent_process".into(), get("ParentCommandLine")),
            ],
        );
    }
    out
}

fn all_events() -> Vec<Event> {
    samples().iter().flat_map(layouts).collect()
}

/// A CSV body for `events` whose header is the union of their columns, in first-seen order.
fn union_body(events: &[&Event]) -> Vec<u8> {
    let mut names: Vec<&str> = Vec::new();
    for e in events {
        for (k, _) in &e.columns {
            if !names.contains(&k.as_str()) {
                names.push(k);
            }
        }
    }
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(vec![]);
    w.write_record(&names).unwrap();
    for e in events {
        let row: Vec<&[u8]> = names
            .iter()
            .map(|n| e.columns.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_slice()).unwrap_or(b""))
            .collect();
        w.write_record(row).unwrap();
    }
    w.into_inner().unwrap()
}

/// (layout, case) -> verdict, from replies.
fn verdicts(bodies: &[Vec<u8>]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for body in bodies {
        let (header, rows) = csv_records(body);
        let col = |n: &str| header.iter().position(|h| h == n.as_bytes()).unwrap();
        for row in rows {
            out.push((text(&row[col("layout")]), text(&row[col("case_id")]), text(&row[col("systemtask_verdict")])));
        }
    }
    out
}

/// A deterministic shuffle (no extra dependency): events of every layout interleaved.
fn shuffled(events: &[Event], seed: u64) -> Vec<&Event> {
    let mut order: Vec<&Event> = events.iter().collect();
    let mut state = seed;
    for i in (1..order.len()).rev() {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        order.swap(i, (state >> 33) as usize % (i + 1));
    }
    order
}

#[test]
fn mixed_chunks_give_every_event_its_own_layouts_verdict() {
    let events = all_events();
    let app = temp_app("layouts");
    // Alone: one chunk per event, with only that event's columns.
    let mut input = getinfo(&[]);
    let alone_bodies: Vec<Vec<u8>> = events.iter().map(|e| union_body(&[e])).collect();
    for (i, body) in alone_bodies.iter().enumerate() {
        input.extend(execute(i + 1 == alone_bodies.len(), body));
    }
    let run = run_exe(&app.join("bin/systemtask"), input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let alone: Vec<Vec<u8>> = run.replies[1..].iter().map(|r| r.body.clone()).collect();
    let alone: HashMap<(String, String), String> = verdicts(&alone).into_iter().map(|(l, c, v)| ((l, c), v)).collect();
    assert_eq!(alone.len(), events.len());

    // Mixed: every layout interleaved, in chunks of 1,000 and of 37 (headers differ per chunk).
    for per_chunk in [1000, 37] {
        let order = shuffled(&events, per_chunk as u64);
        let bodies: Vec<Vec<u8>> = order.chunks(per_chunk).map(union_body).collect();
        let mut input = getinfo(&[]);
        for (i, body) in bodies.iter().enumerate() {
            input.extend(execute(i + 1 == bodies.len(), body));
        }
        let run = run_exe(&app.join("bin/systemtask"), input);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let replies: Vec<Vec<u8>> = run.replies[1..].iter().map(|r| r.body.clone()).collect();
        for (body, reply) in bodies.iter().zip(&replies) {
            assert_lossless(body, reply, "mixed layouts");
        }
        let mixed = verdicts(&replies);
        assert_eq!(mixed.len(), events.len());
        let differ: Vec<_> = mixed.iter().filter(|(l, c, v)| &alone[&(l.clone(), c.clone())] != v).collect();
        assert!(differ.is_empty(), "chunks of {per_chunk}: verdicts that depend on the chunk: {differ:?}");
    }

    // Every layout that carries the evidence gets the labelled verdict: the XML rendering, the
    // classic rendering (its maintenance updates suppressed through the subject fields, as
    // their XML twins are), and both JSON collectors.
    let labels = labels();
    for layout in ["xml", "classic", "winlogbeat", "nxlog"] {
        let wrong: Vec<_> = events
            .iter()
            .filter(|e| e.layout == layout)
            .filter(|e| labels[&e.case] != "unknown")
            .filter(|e| alone[&(layout.to_string(), e.case.clone())] != labels[&e.case])
            .map(|e| (e.case.clone(), labels[&e.case].clone(), alone[&(layout.to_string(), e.case.clone())].clone()))
            .collect();
        assert!(wrong.is_empty(), "{layout}: {wrong:?}");
    }
    let suppressed_classic = events
        .iter()
        .filter(|e| e.layout == "classic" && alone[&("classic".to_string(), e.case.clone())] == "suppressed")
        .count();
    assert_eq!(suppressed_classic, 51);
    // CIM process events carry the command line and the user: schtasks alerts are found.
    let cim_alerts =
        events.iter().filter(|e| e.layout == "cim" && alone[&("cim".into(), e.case.clone())] == "alert").count();
    assert!(cim_alerts >= 5, "{cim_alerts}");
}

/// In-process verdicts of a union body, in record order.
fn engine_verdicts(engine: &Engine, events: &[&Event]) -> Vec<String> {
    let findings = engine.findings(&union_body(events), &mut Scratch::default()).unwrap();
    findings.iter().map(|f| f.as_ref().map_or("", |f| f.verdict.as_str()).to_string()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Verdicts do not depend on which other events share the chunk, nor on their order.
    #[test]
    fn verdicts_do_not_depend_on_the_company_an_event_keeps(
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..40),
    ) {
        thread_local! {
            static EVENTS: Vec<Event> = all_events();
        }
        let engine = Engine::new(Mode::Tag, None, Default::default());
        EVENTS.with(|events| {
            let chosen: Vec<&Event> = picks.iter().map(|p| &events[p.index(events.len())]).collect();
            let together = engine_verdicts(&engine, &chosen);
            for (e, v) in chosen.iter().zip(&together) {
                let alone = engine_verdicts(&engine, &[e]);
                prop_assert_eq!(&alone[0], v, "{} {}", e.layout, e.case);
            }
            Ok(())
        })?;
    }
}
