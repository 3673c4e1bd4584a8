//! A CSV body through the engine: never a panic, and on success every input field survives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use systemtask::engine::{Engine, Scratch};
use systemtask::options::Mode;

fuzz_target!(|data: &[u8]| {
    let engine = Engine::new(Mode::Tag, None, Default::default());
    let mut out = Vec::new();
    let mut scratch = Scratch::default();
    if let Ok(stats) = engine.process(data, &mut out, &mut scratch) {
        assert_eq!(stats.records_in, stats.records_out);
        // The output parses again with the same number of records.
        let mut again = Vec::new();
        let second = engine.process(&out, &mut again, &mut scratch).expect("own output parses");
        assert_eq!(second.records_in, stats.records_out);
        assert_eq!(again, out, "running twice changes nothing");
    }
});
