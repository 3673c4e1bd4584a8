//! Property tests: for random records (any bytes, quotes, commas, CR/LF, multivalue columns)
//! and random chunkings, every input field comes out unchanged, and the output does not depend
//! on how the records were split into chunks.

use proptest::prelude::*;
use systemtask::engine::{Engine, Scratch};
use systemtask::options::Mode;
use systemtask::record::write_field;

fn engine() -> Engine {
    Engine::new(Mode::Tag, None, Default::default())
}

fn field() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Arbitrary bytes, including non-UTF-8.
        proptest::collection::vec(any::<u8>(), 0..40),
        // Text with the characters CSV cares about.
        "[a-z\",\r\n $;]{0,30}".prop_map(String::into_bytes),
        // Values the detection reads.
        Just(b"4698".to_vec()),
        Just(b"1".to_vec()),
        Just(b"schtasks /create /tn \"x\" /tr c:\\x.exe /ru SYSTEM".to_vec()),
        Just(b"<Task><Principals><Principal><UserId>S-1-5-18</UserId></Principal></Principals>".to_vec()),
    ]
}

const COLUMNS: [&str; 5] = ["EventCode", "CommandLine", "TaskContent", "_raw", "__mv_CommandLine"];

fn body(records: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let mut out = COLUMNS.join(",").into_bytes();
    out.push(b'\n');
    for rec in records {
        for (i, f) in rec.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Empty values are written as nothing, as Splunk does; with several columns a
            // record of empty values is still a line of commas.
            write_field(&mut out, f);
        }
        out.push(b'\n');
    }
    out
}

fn parse(body: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(body);
    r.byte_records().map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn fields_survive_and_chunking_does_not_matter(
        records in proptest::collection::vec(proptest::collection::vec(field(), COLUMNS.len()), 1..30),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..5),
    ) {
        let engine = engine();
        let mut scratch = Scratch::default();

        let mut whole = Vec::new();
        engine.process(&body(&records), &mut whole, &mut scratch).unwrap();
        let whole_rows = parse(&whole);
        prop_assert_eq!(whole_rows.len(), records.len() + 1);
        for (rec, row) in records.iter().zip(&whole_rows[1..]) {
            prop_assert_eq!(&row[..COLUMNS.len()], &rec[..]);
        }

        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(records.len())).collect();
        points.extend([0, records.len()]);
        points.sort_unstable();
        points.dedup();
        let mut chunked_rows = Vec::new();
        for pair in points.windows(2) {
            let mut out = Vec::new();
            engine.process(&body(&records[pair[0]..pair[1]]), &mut out, &mut scratch).unwrap();
            chunked_rows.extend(parse(&out).into_iter().skip(1));
        }
        prop_assert_eq!(&chunked_rows[..], &whole_rows[1..]);
    }
}
