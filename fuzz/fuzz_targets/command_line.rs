//! Command lines (schtasks, cmd chains, PowerShell, at) through the process analysis.
#![no_main]

use libfuzzer_sys::fuzz_target;
use systemtask::detect::{analyze, cmdline};
use systemtask::event::{Field, FieldList};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let _ = cmdline::split_args(&text);
    for program in ["schtasks", "cmd.exe /c ", "powershell -c ", "at "] {
        let event = FieldList(vec![
            (Field::EventCode, "1".into()),
            (Field::CommandLine, format!("{program}{text}")),
            (Field::ProcessUser, "NT AUTHORITY\\SYSTEM".into()),
        ]);
        let _ = analyze(&event);
    }
});
