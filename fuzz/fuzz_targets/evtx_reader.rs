//! Arbitrary bytes as an EVTX file through the modular input's reader and the stream writer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use systemtask::evtxfile;
use systemtask::modinput::stream::{self, StreamEvent};

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let _ = evtxfile::read_records_from(
        std::io::Cursor::new(data),
        "fuzz.evtx",
        0,
        |record| {
            let _ = record.event_id();
            let event = StreamEvent {
                stanza: "systemtask_evtx://fuzz",
                time_ms: Some(record.time_ms),
                host: record.computer(),
                source: record.channel(),
                sourcetype: "XmlWinEventLog",
                index: None,
                data: record.xml(),
            };
            stream::write_event(&mut out, &event)
        },
        || Ok(()),
    );
});
