//! The whole protocol session over arbitrary stdin: frames, metadata, bodies, state machine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use systemtask::command::{AllowlistSource, SearchCommand};
use systemtask::protocol::session;

fuzz_target!(|data: &[u8]| {
    // Half the inputs start with a valid getinfo so the fuzzer reaches the execute path fast.
    let mut input = Vec::new();
    if data.first().is_some_and(|b| b & 1 == 1) {
        let meta = br#"{"action":"getinfo","searchinfo":{"args":["allowlist=none"]}}"#;
        input.extend_from_slice(format!("chunked 1.0,{},0\n", meta.len()).as_bytes());
        input.extend_from_slice(meta);
    }
    input.extend_from_slice(data.get(1..).unwrap_or(&[]));
    let mut command = SearchCommand::new(AllowlistSource::AppLookups(None));
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = session::run(&input[..], &mut out, &mut command, &mut err);
    assert!(code == 0 || code == 1);
    // Every reply is a well-formed frame.
    let mut rest = &out[..];
    while !rest.is_empty() {
        let nl = rest.iter().position(|&b| b == b'\n').expect("header newline");
        let header = std::str::from_utf8(&rest[..nl]).expect("ascii header");
        let (m, b) = header.strip_prefix("chunked 1.0,").unwrap().split_once(',').unwrap();
        let (m, b): (usize, usize) = (m.parse().unwrap(), b.parse().unwrap());
        rest = &rest[nl + 1 + m + b..];
    }
});
