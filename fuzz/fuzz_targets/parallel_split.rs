//! Any CSV body, split over threads at every size, whole or arriving a few bytes at a time: the
//! output (or the error) must be what one thread gives, byte for byte, in both sinks and both
//! modes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use systemtask::engine::{Engine, Scratch};
use systemtask::options::Mode;
use systemtask::record::Spliced;

fn run(engine: &Engine, body: &[u8]) -> (Result<Vec<u8>, String>, Result<Vec<u8>, String>) {
    let mut copied = Vec::new();
    let copied = engine.process(body, &mut copied, &mut Scratch::default()).map(|_| copied).map_err(|e| e.to_string());
    let mut spliced = Spliced::default();
    let spliced = engine
        .process(body, &mut spliced, &mut Scratch::default())
        .map(|_| {
            let mut out = Vec::new();
            spliced.write_to(body, &mut out).expect("writing to a Vec");
            out
        })
        .map_err(|e| e.to_string());
    (copied, spliced)
}

/// A body arriving at most `piece` bytes a read.
struct Trickle<'a> {
    body: &'a [u8],
    piece: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, into: &mut [u8]) -> std::io::Result<usize> {
        let n = into.len().min(self.piece).min(self.body.len());
        into[..n].copy_from_slice(&self.body[..n]);
        self.body = &self.body[n..];
        Ok(n)
    }
}

/// As a session analyses a body: while it arrives, `piece` bytes at a time.
fn arriving(engine: &Engine, body: &[u8], piece: usize) -> Result<Vec<u8>, String> {
    let (mut spliced, mut buf) = (Spliced::default(), vec![0; body.len()]);
    let mut input = Trickle { body, piece };
    engine.process_arriving(&mut buf, &mut input, &mut spliced, &mut Scratch::default()).map_err(|e| e.to_string())?;
    assert_eq!(buf, body, "the body is read whole");
    let mut out = Vec::new();
    spliced.write_to(body, &mut out).expect("writing to a Vec");
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else { return };
    let mode = if first & 1 == 1 { Mode::Alerts } else { Mode::Tag };
    let threads = 2 + usize::from(first >> 1) % 3;
    let one = Engine::new(mode, None, Default::default()).with_threads(1);
    let many = Engine::new(mode, None, Default::default()).with_threads(threads).with_parallel_min_body(0);
    let expected = run(&one, body);
    assert_eq!(run(&many, body), expected);
    let piece = 1 + usize::from(first >> 3);
    assert_eq!(arriving(&many, body, piece), expected.1, "arriving {piece} bytes at a time");
    assert_eq!(expected.0, expected.1, "both sinks give the same bytes");
});
