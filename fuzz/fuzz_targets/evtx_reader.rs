//! Arbitrary bytes as an EVTX file through the record iterator and the modular input's stream
//! writer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use systemtask::evtxfile::EvtxFile;
use systemtask::modinput::reading::EventSink;
use systemtask::modinput::stream::StanzaSink;

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = EvtxFile::from_reader(std::io::Cursor::new(data), "fuzz.evtx") else { return };
    let mut out = Vec::new();
    let mut sink = StanzaSink::new(&mut out, "systemtask_evtx://fuzz", "XmlWinEventLog", None);
    for record in file.records().flatten() {
        let _ = (record.event_id(), record.event_record_id());
        let _ = sink.send(&record);
    }
});
