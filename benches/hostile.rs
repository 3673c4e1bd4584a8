//! Hostile command lines against ordinary ones of the same length (32,767 characters, the
//! longest Windows allows): the budget is at most 5x. Also one 100 MB CIM `process` value,
//! whose analysis is bounded by the Windows limit. Run: `cargo bench --bench hostile`.

use std::hint::black_box;
use std::time::Instant;

use systemtask::engine::Engine;
use systemtask::event::{Field, FieldList};
use systemtask::options::Mode;

const LEN: usize = 32_767;

fn event(line: String) -> FieldList {
    FieldList(vec![
        (Field::EventCode, "1".into()),
        (Field::CommandLine, line),
        (Field::ProcessUser, "CORP\\bob".into()),
    ])
}

fn fill(prefix: &str, unit: &str, suffix: &str) -> String {
    let mut s = prefix.to_string();
    while s.chars().count() + unit.chars().count() + suffix.chars().count() <= LEN {
        s.push_str(unit);
    }
    s.push_str(suffix);
    s
}

/// Median nanoseconds of one evaluation over `rounds`.
fn time(engine: &Engine, e: &FieldList, rounds: usize) -> f64 {
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            black_box(engine.evaluate(black_box(e)));
            start.elapsed().as_nanos() as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[rounds / 2]
}

fn main() {
    let engine = Engine::new(Mode::Tag, None, Default::default());
    let rounds = 41;
    let plain_cases = [
        ("schtasks, long /tr", fill("schtasks /create /tn x /ru SYSTEM /tr \"c:\\x.exe ", "abcdefgh ", "\"")),
        ("powershell script", fill("powershell -c \"", "Write-Output abc; ", "\"")),
        ("cmd chain", fill("cmd /c ", "echo abc & ", "schtasks /query")),
        // Many short arguments: the shape of a long file list.
        ("powershell, many arguments", fill("powershell -c \"Write-Output ", "a ", "\"")),
    ];
    let hostile_cases = [
        ("powershell: schtasks > > >", fill("powershell -c \"", "schtasks > ", "\"")),
        ("powershell: schtasks repeated", fill("powershell -c \"", "schtasks ", "\"")),
        ("powershell: statements", fill("powershell -c \"", "schtasks /create /ru system; ", "\"")),
        ("powershell: open brackets", fill("powershell -c \"", "(", "\"")),
        ("powershell: quotes", fill("powershell -c \"", "'\"", "\"")),
        ("powershell: backticks", fill("powershell -c \"", "`", "\"")),
        ("powershell: K and İ", fill("powershell -c \"", "Kİ ", "; schtasks /create /ru system\"")),
        ("powershell: parameters", fill("powershell -c \"Register-ScheduledTask ", "-U ", "\"")),
        ("powershell: -enc", fill("powershell -enc ", "AAAA", "")),
        ("cmd: carets", fill("cmd /c ", "^", "")),
        ("cmd: quotes", fill("cmd /c ", "\"", "")),
        ("cmd: chains", fill("cmd /c ", "&", "")),
        ("schtasks: redirections", fill("schtasks ", "> ", "")),
        ("schtasks: switches", fill("schtasks /create ", "/ru ", "")),
        ("schtasks: backslashes", fill("schtasks /create /ru system /tn ", "\\", "")),
    ];
    let plain: Vec<f64> = plain_cases.iter().map(|(_, l)| time(&engine, &event(l.clone()), rounds)).collect();
    let baseline = plain.iter().cloned().fold(f64::MIN, f64::max);
    for ((name, _), ns) in plain_cases.iter().zip(&plain) {
        println!("plain   {name:<32} {:>9.1} us", ns / 1e3);
    }
    let mut worst: f64 = 0.0;
    for (name, line) in &hostile_cases {
        let ns = time(&engine, &event(line.clone()), rounds);
        let ratio = ns / baseline;
        worst = worst.max(ratio);
        println!("hostile {name:<32} {:>9.1} us  {ratio:>5.2}x the slowest plain line", ns / 1e3);
    }
    println!("worst hostile / slowest plain: {worst:.2}x (budget 5x)");

    // A 100 MB CIM `process` value: only the first 98,301 bytes are analysed.
    let huge = event("schtasks /create /ru system ".repeat(100_000_000 / 28));
    let start = Instant::now();
    black_box(engine.evaluate(&huge));
    println!("100 MB command line: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
}
