//! Task XML in any shape, plain or entity-escaped, through the parser and a 4698 analysis.
#![no_main]

use libfuzzer_sys::fuzz_target;
use systemtask::detect::{analyze, taskxml};
use systemtask::event::{Field, FieldList};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = taskxml::parse(&text);
    let event = FieldList(vec![(Field::EventCode, "4698".into()), (Field::TaskContent, text.into_owned())]);
    let _ = analyze(&event);
});
