//! Input written by an attacker: any process on a watched host writes command lines the alert
//! search reads. No event may end the search, stall it, or hide a SYSTEM task behind a spelling
//! that Windows, cmd.exe or PowerShell accept.

mod common;

use std::time::Instant;

use common::*;
use proptest::prelude::*;
use systemtask::detect::Verdict;
use systemtask::engine::Engine;
use systemtask::event::{Field, FieldList};
use systemtask::options::Mode;

fn sysmon(line: &str, user: &str) -> FieldList {
    FieldList(vec![
        (Field::EventCode, "1".into()),
        (Field::CommandLine, line.into()),
        (Field::Image, line.split(' ').next().unwrap_or("").trim_matches('"').into()),
        (Field::ProcessUser, user.into()),
    ])
}

fn verdict(line: &str) -> Option<Verdict> {
    Engine::new(Mode::Tag, None, Default::default()).evaluate(&sysmon(line, "CORP\\bob")).map(|f| f.verdict)
}

/// Base64 of UTF-16LE, as `-EncodedCommand` takes it.
fn encode(script: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const REGISTER: &str =
    "Register-ScheduledTask -TaskName t -Action (New-ScheduledTaskAction -Execute c:\\x.exe) -User SYSTEM";

/// Spellings PowerShell, cmd.exe and Windows accept for a task that runs as SYSTEM.
#[test]
fn table_of_spellings_that_must_alert() {
    let enc = encode(REGISTER);
    let spaced: String =
        enc.chars().enumerate().flat_map(|(i, c)| if i % 7 == 6 { vec![c, ' '] } else { vec![c] }).collect();
    let nested = encode(&format!("powershell -enc {enc}"));
    let cases: Vec<(String, &str)> = vec![
        (format!("powershell -e {enc}"), "-e"),
        (format!("powershell -en {enc}"), "-en"),
        (format!("powershell -enc {enc}"), "-enc"),
        (format!("powershell -ec {enc}"), "-ec"),
        (format!("powershell /enc {enc}"), "/enc"),
        (format!("pwsh --encodedcommand {enc}"), "--encodedcommand"),
        (format!("powershell \u{2013}enc {enc}"), "en dash switch"),
        (format!("powershell -NoP -W Hidden -enc \"{spaced}\""), "white space in base64"),
        (format!("powershell -enc {nested}"), "encoded inside encoded"),
        ("powershell -c \"Register-ScheduledTask t -Action $a -U SYSTEM\"".into(), "-U prefix"),
        ("powershell -c \"Register-ScheduledTask t -Action $a \u{2014}User SYSTEM\"".into(), "em dash parameter"),
        ("powershell -c \"Register-ScheduledTask t -Action $a \u{2015}User:SYSTEM\"".into(), "horizontal bar, attached value"),
        ("powershell -c \"Register-ScheduledTask t -Action $a -User \u{201C}NT AUTHORITY\\SYSTEM\u{201D}\"".into(), "curly quotes"),
        ("powershell -c \"Register-ScheduledTask t -Action $a -User S`Y`STEM\"".into(), "backticks in a word"),
        ("powershell -c \"$p = New-ScheduledTaskPrincipal -UserId 'SYSTEM'; Register-ScheduledTask t -Principal $p\"".into(), "principal variable"),
        ("powershell -c \"ReGıster-ScheduledTask t -User SYSTEM\"".into(), "dotless i in the cmdlet"),
        ("powershell -c \"cmd /c at 13:20 /interactive cmd\"".into(), "at.exe through cmd through PowerShell"),
        ("powershell -c \"schtasks /create /tn x /tr c:\\x.exe /ru S`YSTEM\"".into(), "schtasks with a backtick"),
        ("powershell -c \"& 'C:\\Windows\\System32\\schtasks.exe' /create /tn x /tr c:\\x.exe /ru system\"".into(), "call operator"),
        ("powershell -c \"Start-Process schtasks -ArgumentList '/create','/tn','x','/tr','c:\\x.exe','/ru','SYSTEM'\"".into(), "Start-Process"),
        ("powershell -c \"K İ ẞ Ω; schtasks /create /tn x /tr c:\\x.exe /ru system\"".into(), "non-ASCII before the command"),
        ("powershell -c \"İİİİ schtasks; schtasks /create /tn x /tr c:\\x.exe /ru system\"".into(), "İ grows when lowercased"),
        ("cmd /c sch^tasks /cre^ate /tn x /tr c:\\x.exe /ru SYS^TEM".into(), "carets"),
        ("cmd /c s\"cht\"asks /create /tn x /tr c:\\x.exe /ru SYSTEM".into(), "quotes inside the program name"),
        ("cmd /c sc\"\"htasks /create /tn x /tr c:\\x.exe /ru SYSTEM".into(), "empty quotes inside the program name"),
        ("cmd /c \"s\"cht\"asks /create /tn x /tr c:\\x.exe /ru SYSTEM\"".into(), "quoted payload, quotes in the name"),
        ("s\"cht\"asks /create /tn x /tr c:\\x.exe /ru SYSTEM".into(), "quotes inside argv[0]"),
    ];
    for (line, what) in &cases {
        assert_eq!(verdict(line), Some(Verdict::Alert), "{what}: {line}");
    }
}

/// Hostile shapes: none may panic, and each must finish (their cost against a plain line of
/// the same length is measured in `cargo bench --bench hostile`).
#[test]
fn table_of_hostile_shapes_ends_with_a_verdict() {
    let n = 32_000;
    let cases: Vec<(String, Option<Verdict>, &str)> = vec![
        (format!("powershell -c \"{}\"", "schtasks > ".repeat(n / 11)), None, "schtasks > > > ..."),
        (format!("powershell -c \"{}\"", "schtasks ".repeat(n / 9)), None, "schtasks repeated"),
        (
            format!("powershell -c \"{}\"", "schtasks /create /ru system; ".repeat(n / 30)),
            Some(Verdict::Alert),
            "many statements",
        ),
        (format!("powershell -c \"{}\"", "(".repeat(n)), None, "open brackets"),
        (format!("powershell -c \"{}\"", "\"".repeat(n)), None, "quotes"),
        (format!("powershell -c \"{}\"", "`".repeat(n)), None, "backticks"),
        (format!("cmd /c {}", "^".repeat(n)), None, "carets"),
        (format!("cmd /c {}", "\"".repeat(n)), None, "cmd quotes"),
        (format!("schtasks /create /tn {} /ru system", "\\".repeat(n)), Some(Verdict::Alert), "backslashes in a name"),
        (format!("schtasks {}", "> ".repeat(n / 2)), None, "redirections"),
        (format!("powershell -enc {}", "A".repeat(n)), None, "a long encoded command"),
        (format!("powershell -c \"{}\"", "K".repeat(n / 3)), None, "Kelvin signs"),
        (
            format!("powershell -c \"{}; schtasks /create /ru system /tn x\"", "İ".repeat(n / 2)),
            Some(Verdict::Alert),
            "İ before",
        ),
        (
            format!("schtasks /create /tn x /ru system /tr \"{}\"", "x".repeat(200_000)),
            Some(Verdict::Alert),
            "longer than Windows allows",
        ),
    ];
    for (line, want, what) in &cases {
        let started = Instant::now();
        let got = verdict(line);
        assert_eq!(got, *want, "{what}");
        // Not a timing assertion: a stall shows up as a test that never ends.
        let _ = started.elapsed();
    }
}

/// A task definition with tens of thousands of actions, each of a different shell: answered, an
/// alert that names the extra actions, each indicator once, and the work grows with the
/// number of actions, not with its square (the time for 2N actions stays near twice N's).
#[test]
fn a_task_with_thousands_of_actions_costs_time_in_proportion() {
    let engine = Engine::new(Mode::Tag, None, Default::default());
    let run = |n: usize| {
        let shells = ["cmd.exe", "powershell.exe", "C:\\Users\\Public\\x.exe", "mshta.exe"];
        let actions: String = (0..n)
            .map(|i| format!("<Exec><Command>{}</Command><Arguments>http://x/{i}</Arguments></Exec>", shells[i % 4]))
            .collect();
        let xml = format!(
            "<Task><Principals><Principal><UserId>S-1-5-18</UserId></Principal></Principals><Actions>{actions}</Actions></Task>"
        );
        let event = FieldList(vec![(Field::EventCode, "4698".into()), (Field::TaskContent, xml)]);
        let started = Instant::now();
        let f = engine.evaluate(&event).unwrap();
        (started.elapsed(), f)
    };
    let (small, _) = run(10_000);
    let (large, f) = run(20_000);
    assert_eq!(f.verdict, Verdict::Alert);
    assert!(f.reasons.iter().any(|r| r.starts_with("20000 actions; also runs")), "{:?}", &f.reasons[..1]);
    let mut distinct = f.task.indicators.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), f.task.indicators.len(), "{:?}", f.task.indicators);
    assert!(f.task.indicators.contains(&"multiple_actions") && f.task.indicators.contains(&"url_in_arguments"));
    // Quadratic work would make this 4x; allow for a noisy machine.
    assert!(large < small * 3 + std::time::Duration::from_millis(50), "{small:?} -> {large:?}");
}

/// A task name of thousands of backslashes through the allowlist, as an attacker would name a
/// task to slow the lookup: answered, and the shipped list does not suppress it.
#[test]
fn hostile_task_names_through_the_allowlist() {
    let allowlist = systemtask::allowlist::Allowlist::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("splunk_app/lookups/systemtask_allowlist.csv"),
        systemtask::allowlist::Date::today(),
    )
    .unwrap();
    let engine = Engine::new(Mode::Tag, Some(allowlist), Default::default());
    let name = "\\".repeat(16_000);
    let line = format!("schtasks /create /tn \"{name}\" /tr c:\\x.exe /ru system");
    let f = engine.evaluate(&sysmon(&line, "CORP\\bob")).unwrap();
    assert_eq!(f.verdict, Verdict::Alert);
}

/// Through the binary: one chunk of hostile events next to an ordinary alert; the search ends
/// normally and the alert is still there.
#[test]
fn a_chunk_of_hostile_events_does_not_end_the_search() {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(vec![]);
    w.write_record(["EventCode", "CommandLine", "User", "process"]).unwrap();
    w.write_record(["1", "powershell -c \"K İ; schtasks /create /tn x /tr c:\\x.exe /ru system\"", "CORP\\bob", ""])
        .unwrap();
    w.write_record(["1", &format!("powershell -c \"{}\"", "schtasks > ".repeat(3000)), "CORP\\bob", ""]).unwrap();
    w.write_record([
        "",
        "",
        "CORP\\bob",
        &format!("schtasks /create /tn x /ru system /tr c:\\{}", "x".repeat(300_000)),
    ])
    .unwrap();
    w.write_record(["1", "schtasks /create /tn y /tr c:\\y.exe /ru SYSTEM", "CORP\\bob", ""]).unwrap();
    let body = w.into_inner().unwrap();
    let mut input = getinfo(&["allowlist=none"]);
    input.extend(execute(true, &body));
    let run = run(input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_lossless(&body, &run.replies[1].body, "hostile");
    let (header, rows) = csv_records(&run.replies[1].body);
    let col = header.iter().position(|h| h == b"systemtask_verdict").unwrap();
    let verdicts: Vec<&[u8]> = rows.iter().map(|r| r[col].as_slice()).collect();
    assert_eq!(verdicts, [&b"alert"[..], b"", b"alert", b"alert"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary Unicode before the command and inside values that do not decide the verdict:
    /// no panic, and the verdict of the ASCII part stands.
    #[test]
    fn unicode_around_a_command_keeps_its_verdict(
        before in "\\PC{0,40}",
        name in "[^\"\\\\`\r\n]{0,20}",
        ru in prop_oneof![Just("SYSTEM"), Just("CORP\\bob")],
    ) {
        let want = if ru == "SYSTEM" { Verdict::Alert } else { Verdict::Benign };
        // A statement of its own after arbitrary text: PowerShell reads the second statement
        // whatever the first holds (a line break ends it).
        // PowerShell's own syntax characters (ASCII punctuation and its quote and dash
        // look-alikes) are left out of `before`: they would change what PowerShell runs.
        let before: String = before.chars().filter(|c| !c.is_ascii_punctuation() && !matches!(c, '\u{2018}'..='\u{201E}')).collect();
        let name: String = name.chars().filter(|c| !matches!(c, '\'' | '\u{2018}'..='\u{201B}')).collect();
        let line = format!("powershell -c \"{before}\n schtasks /create /tn '{name}' /tr c:\\x.exe /ru {ru}\"");
        let f = Engine::new(Mode::Tag, None, Default::default()).evaluate(&sysmon(&line, "CORP\\bob"));
        prop_assert_eq!(f.map(|f| f.verdict), Some(want), "{}", line);
    }

    /// Arbitrary Unicode inserted at any character position of a command that alerts (inside
    /// `schtasks`, inside a switch, inside the account): never a panic; and where the insertion
    /// leaves the words as they were (inside the task name), the verdict stands.
    #[test]
    fn unicode_inside_command_words_never_panics(
        insert in "\\PC{1,6}",
        at in any::<prop::sample::Index>(),
        line in prop_oneof![
            Just("schtasks /create /tn ab /tr c:\\x.exe /ru SYSTEM"),
            Just("powershell -c \"Register-ScheduledTask ab -User SYSTEM\""),
            Just("cmd /c sch^tasks /create /tn ab /ru SYS^TEM"),
        ],
    ) {
        let chars: Vec<char> = line.chars().collect();
        let i = at.index(chars.len() + 1);
        let mangled: String = chars[..i].iter().chain(insert.chars().collect::<Vec<_>>().iter()).chain(&chars[i..]).collect();
        let _ = verdict(&mangled);
        // Inside the task name (`a|b`), the words around it are untouched.
        let name_at = line.find(" ab").unwrap() + 2;
        let safe: String = insert.chars().filter(|c| c.is_alphanumeric()).collect();
        let in_name = format!("{}{safe}{}", &line[..name_at], &line[name_at..]);
        prop_assert_eq!(verdict(&in_name), Some(Verdict::Alert), "{}", in_name);
    }

    /// Any text at all in a command line or a PowerShell script: an answer, never a panic.
    #[test]
    fn any_text_gets_an_answer(text in "\\PC{0,200}", program in prop_oneof![Just("schtasks "), Just("cmd /c "), Just("powershell -c "), Just("at "), Just("powershell -enc ")]) {
        let _ = verdict(&format!("{program}{text}"));
    }
}
