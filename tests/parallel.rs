//! A large chunk is analysed on several threads; what leaves must be what one thread gives, byte
//! for byte, in both output sinks and both modes, and an error must name the same record and
//! offset. The bodies are built past the size that turns the split on (lowered to `SPLIT_FROM`
//! so that the tests stay quick; one test keeps the shipped threshold), with the cases that could
//! fool a cut: quoted values holding newlines and quotes, a bare quote inside an unquoted value
//! (which breaks the quote-parity guess), empty lines, CR LF row ends and a ragged record.

use proptest::prelude::*;
use systemtask::engine::{Engine, PARALLEL_MIN_BODY, PARTS_PER_THREAD, Scratch};

/// The split threshold in these tests: bodies of a few hundred records.
const SPLIT_FROM: usize = 16 * 1024;
use systemtask::options::{Mode, Options};
use systemtask::record::{Spliced, write_field};

const COLUMNS: &str = "EventCode,CommandLine,TaskContent,_raw,__mv_CommandLine";

fn engine(mode: Mode, threads: usize) -> Engine {
    let options =
        Options::from_args(&[format!("mode={}", if mode == Mode::Alerts { "alerts" } else { "tag" })]).unwrap();
    Engine::new(options.mode, None, options.fields).with_threads(threads).with_parallel_min_body(SPLIT_FROM)
}

/// The kinds of record a body is made of; `odd` ones are written as a CSV writer never would.
fn record(kind: u8, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let fields: Vec<Vec<u8>> = match kind % 6 {
        0 => vec![b"1".to_vec(), format!("schtasks /create /tn t{n} /tr c:\\x.exe /ru SYSTEM").into_bytes(), vec![], vec![], vec![]],
        1 => vec![
            b"4698".to_vec(),
            vec![],
            format!("<Task><Principals><Principal><UserId>S-1-5-18</UserId></Principal></Principals><Actions><Exec><Command>c:\\t{n}.exe</Command></Exec></Actions></Task>").into_bytes(),
            b"line one\nline \"two\"\r\n,three".to_vec(),
            vec![],
        ],
        2 => vec![b"4624".to_vec(), vec![], vec![], format!("logon {n}\n\n\"quoted\"").into_bytes(), b"$a$;$b$".to_vec()],
        3 => vec![b"1".to_vec(), format!("cmd.exe /c echo \"{n}\"").into_bytes(), vec![], vec![], vec![]],
        4 => vec![b"4688".to_vec(), b"notepad.exe".to_vec(), vec![], vec![], vec![]],
        _ => vec![b"4702".to_vec(), vec![], vec![], vec![], vec![]],
    };
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_field(&mut out, f);
    }
    out.push(b'\n');
    out
}

/// A body of at least `PARALLEL_MIN_BODY` bytes; `twists` puts odd lines at chosen records.
fn body(kinds: &[u8], twists: &[(usize, &[u8])]) -> Vec<u8> {
    let mut out = format!("{COLUMNS}\n").into_bytes();
    let mut n = 0;
    while out.len() < SPLIT_FROM * 3 {
        for (at, line) in twists {
            if *at == n {
                out.extend_from_slice(line);
            }
        }
        out.extend(record(kinds[n % kinds.len()], n));
        n += 1;
    }
    out
}

fn through_vec(engine: &Engine, body: &[u8]) -> Result<(Vec<u8>, u64), String> {
    let mut out = Vec::new();
    let stats = engine.process(body, &mut out, &mut Scratch::default()).map_err(|e| e.to_string())?;
    Ok((out, stats.records_out))
}

/// The parts a body large enough is analysed in, on `threads` threads.
fn split_into(threads: usize) -> u64 {
    (threads * PARTS_PER_THREAD) as u64
}

/// How many parts a body was analysed in.
fn parts(engine: &Engine, body: &[u8]) -> u64 {
    engine.process(body, &mut Vec::new(), &mut Scratch::default()).unwrap().parts
}

/// Through one reply used for two chunks and cleared in between, as a session uses it: the
/// second chunk's parts are written into the first's, emptied. Both must read the same.
fn through_spliced(engine: &Engine, body: &[u8]) -> Result<(Vec<u8>, u64), String> {
    let (mut spliced, mut scratch) = (Spliced::default(), Scratch::default());
    let mut chunks = Vec::new();
    for _ in 0..2 {
        spliced.clear();
        let stats = engine.process(body, &mut spliced, &mut scratch).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        spliced.write_to(body, &mut out).unwrap();
        chunks.push((out, stats.records_out));
    }
    let second = chunks.pop().unwrap();
    assert_eq!(chunks[0], second, "the second chunk through a reused reply");
    Ok(second)
}

/// A reader of `body` that hands out at most `piece` bytes a call and ends after `sent` bytes.
struct Arriving<'a> {
    body: &'a [u8],
    at: usize,
    piece: usize,
    sent: usize,
}

fn arriving(body: &[u8], piece: usize, sent: usize) -> Arriving<'_> {
    Arriving { body, at: 0, piece, sent }
}

impl std::io::Read for Arriving<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.piece).min(self.sent - self.at);
        buf[..n].copy_from_slice(&self.body[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// As a session analyses a body: while it arrives, `piece` bytes at a time, into a reply.
fn through_arriving(engine: &Engine, body: &[u8], piece: usize) -> Result<(Vec<u8>, u64, u64), String> {
    let (mut spliced, mut buf) = (Spliced::default(), vec![0; body.len()]);
    let mut input = arriving(body, piece, body.len());
    let stats = engine
        .process_arriving(&mut buf, &mut input, &mut spliced, &mut Scratch::default())
        .map_err(|e| e.to_string())?;
    assert_eq!(buf, body, "the body is read whole");
    let mut out = Vec::new();
    spliced.write_to(body, &mut out).unwrap();
    Ok((out, stats.records_out, stats.parts))
}

fn assert_same_on_any_threads(body: &[u8]) {
    for mode in [Mode::Tag, Mode::Alerts] {
        let one = through_vec(&engine(mode, 1), body);
        for threads in [2, 3] {
            let many = engine(mode, threads);
            assert_eq!(through_vec(&many, body), one, "Vec sink, {threads} threads, {mode:?}");
            assert_eq!(through_spliced(&many, body), one, "spliced sink, {threads} threads, {mode:?}");
            for piece in [1, 7, 4096, usize::MAX] {
                let arrived = through_arriving(&many, body, piece).map(|(out, records, _)| (out, records));
                assert_eq!(arrived, one, "arriving {piece} bytes at a time, {threads} threads, {mode:?}");
            }
        }
    }
}

#[test]
fn well_formed_bodies_split_into_the_same_output() {
    let body = body(&[0, 1, 2, 3, 4, 5], &[]);
    assert_same_on_any_threads(&body);
    // The split really happens, at every thread count, though records hold quoted newlines:
    // into parts the threads take in turn.
    assert_eq!(parts(&engine(Mode::Tag, 1), &body), 1);
    for threads in [2, 3, 4] {
        assert_eq!(parts(&engine(Mode::Tag, threads), &body), split_into(threads));
        // The same parts when they are cut as the body arrives.
        assert_eq!(through_arriving(&engine(Mode::Tag, threads), &body, 1000).unwrap().2, split_into(threads));
    }
    // Below the threshold a body stays on one thread.
    let small = &body[..body[..SPLIT_FROM / 2].iter().rposition(|&b| b == b'\n').unwrap() + 1];
    assert_eq!(parts(&engine(Mode::Tag, 4), small), 1);
    // The shipped threshold: a 1 MiB chunk is split, a smaller one is not.
    let shipped = |threads| Engine::new(Mode::Tag, None, Default::default()).with_threads(threads);
    let mut big = body.clone();
    while big.len() < PARALLEL_MIN_BODY {
        big.extend_from_slice(&body[COLUMNS.len() + 1..]);
    }
    assert_eq!(parts(&shipped(2), &big), split_into(2));
    assert_eq!(parts(&shipped(2), &body), 1);
    assert_eq!(through_vec(&shipped(2), &big), through_vec(&shipped(1), &big));
}

#[test]
fn a_bare_quote_or_empty_lines_do_not_change_the_output() {
    // `ab"c` in an unquoted field is data (as the csv crate reads it) and flips the parity
    // every cut relies on; the cut is then checked and the body done on one thread.
    let bare: &[u8] = b"1,ab\"c notepad.exe,,,\n";
    let empty: &[u8] = b"\n\r\n\n";
    for at in [3, 40, 80, 120] {
        assert_same_on_any_threads(&body(&[1, 2, 3], &[(at, bare)]));
        assert_same_on_any_threads(&body(&[0, 2], &[(at, empty)]));
    }
    // Empty lines are no reason to give up the split.
    assert_eq!(parts(&engine(Mode::Tag, 2), &body(&[0, 2], &[(80, empty)])), split_into(2));
}

#[test]
fn an_error_in_a_later_part_names_the_same_record_and_offset() {
    let ragged: &[u8] = b"1,too,few\n";
    let unterminated: &[u8] = b"1,\"never closed,,,\n";
    for (at, line) in [(100, ragged), (150, ragged), (150, unterminated)] {
        let body = body(&[0, 1, 2], &[(at, line)]);
        let one = through_vec(&engine(Mode::Tag, 1), &body);
        assert!(one.is_err(), "the body is malformed");
        for threads in [2, 4] {
            assert_eq!(through_vec(&engine(Mode::Tag, threads), &body), one, "{threads} threads");
            let arrived =
                through_arriving(&engine(Mode::Tag, threads), &body, 4096).map(|(out, records, _)| (out, records));
            assert_eq!(arrived, one, "arriving, {threads} threads");
        }
    }
}

/// A body cut short while it arrives: nothing is analysed and nothing is written, wherever it
/// ends (in the header, at a part's end, inside a record), on one thread or several.
#[test]
fn a_body_that_stops_arriving_yields_nothing() {
    let body = body(&[0, 1, 2], &[]);
    let header = COLUMNS.len() + 1;
    for sent in [0, 3, header, header + 1, body.len() / 2, body.len() - 1] {
        for threads in [1, 2, 3] {
            let mut spliced = Spliced::default();
            let mut input = arriving(&body, 500, sent);
            let stats = engine(Mode::Tag, threads)
                .process_arriving(&mut vec![0; body.len()], &mut input, &mut spliced, &mut Scratch::default())
                .unwrap();
            assert_eq!((stats.records_in, stats.records_out), (0, 0), "sent {sent}, {threads} threads");
            assert!(spliced.is_empty(), "sent {sent}, {threads} threads: something was written");
        }
    }
}

#[test]
fn output_columns_of_an_earlier_run_are_recomputed_the_same_on_threads() {
    let body = body(&[0, 1, 4], &[]);
    let (once, _) = through_vec(&engine(Mode::Tag, 1), &body).unwrap();
    assert!(once.len() > SPLIT_FROM);
    let again = through_vec(&engine(Mode::Tag, 1), &once);
    assert_eq!(through_vec(&engine(Mode::Tag, 4), &once), again);
    assert_eq!(again.unwrap().0, once, "a second run yields the same table");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any mix of record kinds and odd lines at any places gives one output whatever the threads.
    #[test]
    fn any_mix_splits_into_the_same_output(
        kinds in proptest::collection::vec(0u8..6, 1..12),
        places in proptest::collection::vec(0usize..200, 0..4),
        odd in proptest::collection::vec(0usize..3, 4),
    ) {
        let lines: [&[u8]; 3] = [b"1,ab\"c,,,\n", b"\n", b"4624,,,\"a\r\nb\",\r\n"];
        let twists: Vec<(usize, &[u8])> = places.iter().zip(&odd).map(|(&p, &o)| (p, lines[o])).collect();
        assert_same_on_any_threads(&body(&kinds, &twists));
    }
}
