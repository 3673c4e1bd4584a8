//! The output contract: the columns the command adds to an event, their order, their multivalue
//! encoding and their length limit. The only place that knows them; the protocol's CSV reply,
//! `tag`, `hunt`'s CSV and JSON and the terminal table all render [`cells`] of a [`Finding`].

use std::borrow::Cow;
use std::io::{self, Write};

use crate::bytes::find_byte;
use crate::detect::{self, Finding, Text, Verdict};
use crate::record::{needs_quotes, write_field};

/// The command's columns, in order. Multivalue ones also get a `__mv_` column, after these.
pub const COLUMNS: [&str; 19] = [
    "systemtask_verdict",
    "systemtask_reasons",
    "systemtask_severity",
    "systemtask_mitre",
    "systemtask_suppressed_by",
    "task_name",
    "task_action",
    "task_run_as",
    "task_privilege",
    "task_run_level",
    "task_command",
    "task_arguments",
    "task_triggers",
    "task_hidden",
    "task_author",
    "task_creator",
    "task_remote",
    "task_evidence",
    "task_indicators",
];

/// Columns that hold several values, in the order of their `__mv_` columns.
pub const MULTIVALUE: [&str; 3] = ["systemtask_reasons", "task_triggers", "task_indicators"];

/// A derived value (task command, arguments, ...) longer than this is cut, at a character
/// boundary, and marked as cut: the event's own fields keep the whole text. 64 KiB is twice
/// the longest command line Windows allows (32,767 UTF-16 units).
pub const MAX_VALUE: usize = 64 * 1024;

/// Whether a column (or its `__mv_` twin) is one of the command's: such columns in the input
/// came from an earlier run and are recomputed, never duplicated.
pub fn is_output_column(name: &[u8]) -> bool {
    let base = name.strip_prefix(b"__mv_").unwrap_or(name);
    COLUMNS.iter().any(|c| c.as_bytes() == base)
}

/// The values of a multivalue column.
#[derive(Clone, Copy, Debug)]
pub enum Values<'a> {
    Reasons(&'a [Cow<'static, str>]),
    Texts(&'a [Text]),
    Fixed(&'a [&'static str]),
}

impl<'a> Values<'a> {
    pub fn len(&self) -> usize {
        match self {
            Values::Reasons(v) => v.len(),
            Values::Texts(v) => v.len(),
            Values::Fixed(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> &'a str {
        match *self {
            Values::Reasons(v) => &v[i],
            Values::Texts(v) => &v[i],
            Values::Fixed(v) => v[i],
        }
    }

    pub fn iter(self) -> impl Iterator<Item = &'a str> {
        (0..self.len()).map(move |i| self.get(i))
    }
}

/// One column's content for one event.
#[derive(Clone, Copy, Debug)]
pub enum Cell<'a> {
    Empty,
    One(&'a str),
    /// A word of the command's own vocabulary (a verdict, a privilege, `true`): never cut, and
    /// never quoted in CSV, so written without a look at its bytes.
    Word(&'static str),
    Many(Values<'a>),
}

/// The command's columns for one finding, in [`COLUMNS`] order.
pub fn cells(f: &Finding) -> [Cell<'_>; COLUMNS.len()] {
    let t = &f.task;
    let flagged = matches!(f.verdict, Verdict::Alert | Verdict::Suppressed);
    fn one(v: Option<&str>) -> Cell<'_> {
        v.map_or(Cell::Empty, Cell::One)
    }
    fn word(v: Option<&'static str>) -> Cell<'static> {
        v.map_or(Cell::Empty, Cell::Word)
    }
    let boolean = |b: Option<bool>| word(b.map(|b| if b { "true" } else { "false" }));
    [
        Cell::Word(f.verdict.as_str()),
        Cell::Many(Values::Reasons(&f.reasons)),
        word(flagged.then_some(detect::SEVERITY)),
        word(flagged.then_some(detect::MITRE_TECHNIQUE)),
        one(f.suppressed_by.as_deref()),
        one(t.name.as_deref()),
        word(t.action),
        one(t.run_as.as_deref()),
        word(t.privilege.map(|p| p.as_str())),
        one(t.run_level.as_deref()),
        one(t.command.as_deref()),
        one(t.arguments.as_deref()),
        Cell::Many(Values::Texts(&t.triggers)),
        boolean(t.hidden),
        one(t.author.as_deref()),
        one(t.creator.as_deref()),
        boolean(t.remote),
        word(t.evidence),
        Cell::Many(Values::Fixed(&t.indicators)),
    ]
}

/// A value as written: whole, or cut at [`MAX_VALUE`] and marked.
pub fn clip(value: &str) -> Cow<'_, str> {
    if value.len() <= MAX_VALUE {
        return Cow::Borrowed(value);
    }
    let mut end = MAX_VALUE;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}… [cut: {} of {} bytes]", &value[..end], end, value.len()))
}

// ---- CSV (the protocol's reply, `tag`) ----

/// Appends `,name` for every column and `__mv_` column: the end of a header row.
pub fn write_csv_header(out: &mut Vec<u8>) {
    for name in COLUMNS {
        out.push(b',');
        out.extend_from_slice(name.as_bytes());
    }
    for name in MULTIVALUE {
        out.extend_from_slice(b",__mv_");
        out.extend_from_slice(name.as_bytes());
    }
}

/// Appends `,value` for every column and `__mv_` column of one record (all empty when the
/// event is not about scheduled tasks). `scratch` is reused between records.
pub fn write_csv_cells(out: &mut Vec<u8>, finding: Option<&Finding>, scratch: &mut Vec<u8>) {
    let Some(f) = finding else {
        out.extend_from_slice(&[b','; COLUMNS.len() + MULTIVALUE.len()]);
        return;
    };
    let cells = cells(f);
    for cell in &cells {
        out.push(b',');
        match *cell {
            Cell::Empty => {}
            Cell::One(v) => write_field(out, clip(v).as_bytes()),
            Cell::Word(w) => {
                debug_assert!(!needs_quotes(w.as_bytes()), "a word of the vocabulary needs quoting: {w:?}");
                out.extend_from_slice(w.as_bytes());
            }
            Cell::Many(values) => write_mv_plain(out, values, scratch),
        }
    }
    for cell in &cells {
        if let Cell::Many(values) = *cell {
            out.push(b',');
            write_mv_encoded(out, values, scratch);
        }
    }
}

/// A multivalue field's plain cell: values joined by `\n`.
fn write_mv_plain(out: &mut Vec<u8>, values: Values<'_>, scratch: &mut Vec<u8>) {
    match values.len() {
        0 => {}
        1 => write_field(out, clip(values.get(0)).as_bytes()),
        _ => {
            scratch.clear();
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    scratch.push(b'\n');
                }
                scratch.extend_from_slice(clip(v).as_bytes());
            }
            write_field(out, scratch);
        }
    }
}

/// A multivalue field's `__mv_` cell: `$v1$;$v2$` with `$` doubled, empty for fewer than two
/// values (Splunk's convention for single values).
fn write_mv_encoded(out: &mut Vec<u8>, values: Values<'_>, scratch: &mut Vec<u8>) {
    if values.len() < 2 {
        return;
    }
    scratch.clear();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            scratch.push(b';');
        }
        scratch.push(b'$');
        // Runs between dollars copied whole; each `$` doubled.
        let value = clip(v);
        let mut rest = value.as_bytes();
        while let Some(i) = find_byte(b'$', rest) {
            scratch.extend_from_slice(&rest[..=i]);
            scratch.push(b'$');
            rest = &rest[i + 1..];
        }
        scratch.extend_from_slice(rest);
        scratch.push(b'$');
    }
    write_field(out, scratch);
}

// ---- Reports (`hunt`, `tag --format table`) ----

/// Where a reported event came from: enough for an analyst to find it again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    /// The event's `EventRecordID` for EVTX records; the row number (from 1) for exports.
    pub record: String,
    pub channel: String,
    pub computer: String,
}

/// Columns of a report's CSV before the output contract's.
const ORIGIN_COLUMNS: [&str; 4] = ["file", "record", "channel", "computer"];

/// A column's content, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Empty,
    One(String),
    Many(Vec<String>),
}

/// A reported event: its origin and the output contract's columns, owned (values cut at
/// [`MAX_VALUE`]), so reports can be built on one thread and written on another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub origin: Origin,
    pub values: Vec<Value>,
}

impl Row {
    pub fn new(origin: Origin, finding: &Finding) -> Row {
        let values = cells(finding)
            .iter()
            .map(|cell| match *cell {
                Cell::Empty => Value::Empty,
                Cell::One(v) => Value::One(clip(v).into_owned()),
                Cell::Word(w) => Value::One(w.to_owned()),
                Cell::Many(values) => Value::Many(values.iter().map(|v| clip(v).into_owned()).collect()),
            })
            .collect();
        Row { origin, values }
    }

    /// A column's single value (or the values joined by `sep`), empty when it has none.
    pub fn text(&self, column: &str, sep: &str) -> String {
        match COLUMNS.iter().position(|c| *c == column).and_then(|i| self.values.get(i)) {
            Some(Value::One(v)) => v.clone(),
            Some(Value::Many(v)) => v.join(sep),
            _ => String::new(),
        }
    }
}

/// CSV report: origin columns, then the output contract's (multivalue as `\n`-joined text).
pub fn write_report_csv<'a>(out: impl Write, rows: impl IntoIterator<Item = &'a Row>) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(ORIGIN_COLUMNS.iter().chain(COLUMNS.iter()))?;
    for row in rows {
        let o = &row.origin;
        let origin = [o.file.as_str(), &o.record, &o.channel, &o.computer];
        let values = row.values.iter().map(|v| match v {
            Value::Empty => String::new(),
            Value::One(v) => v.clone(),
            Value::Many(v) => v.join("\n"),
        });
        w.write_record(origin.iter().map(|s| s.to_string()).chain(values))?;
    }
    w.flush()
}

/// JSON lines report: one object per event, multivalue columns as arrays, empty ones left out.
pub fn write_report_json<'a>(mut out: impl Write, rows: impl IntoIterator<Item = &'a Row>) -> io::Result<()> {
    use serde_json::{Map, Value as Json};
    for row in rows {
        let o = &row.origin;
        let mut object = Map::new();
        for (name, value) in ORIGIN_COLUMNS.iter().zip([&o.file, &o.record, &o.channel, &o.computer]) {
            object.insert(name.to_string(), Json::String(value.clone()));
        }
        for (name, value) in COLUMNS.iter().zip(&row.values) {
            let value = match value {
                Value::Empty => continue,
                Value::Many(v) if v.is_empty() => continue,
                Value::One(v) => Json::String(v.clone()),
                Value::Many(v) => Json::Array(v.iter().cloned().map(Json::String).collect()),
            };
            object.insert(name.to_string(), value);
        }
        serde_json::to_writer(&mut out, &Json::Object(object))?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// The triage table's header: the columns an analyst reads first.
pub fn write_table_header(out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "{:<10}  {:<8}  {:<24}  {:<44}  {:<20}  {:<40}  {:<24}  {:<28}  reasons",
        "verdict", "action", "host", "task", "run as", "command", "creator", "suppressed by"
    )
}

/// One line of the triage table.
pub fn write_table_row(out: &mut impl Write, row: &Row) -> io::Result<()> {
    let fit = |s: String, n: usize| {
        let s = s.replace(['\n', '\r'], " ");
        if s.chars().count() > n { format!("{}…", s.chars().take(n - 1).collect::<String>()) } else { s }
    };
    let col = |c: &str, n: usize| fit(row.text(c, "; "), n);
    writeln!(
        out,
        "{:<10}  {:<8}  {:<24}  {:<44}  {:<20}  {:<40}  {:<24}  {:<28}  {}",
        col("systemtask_verdict", 10),
        col("task_action", 8),
        fit(row.origin.computer.clone(), 24),
        col("task_name", 44),
        col("task_run_as", 20),
        col("task_command", 40),
        col("task_creator", 24),
        col("systemtask_suppressed_by", 28),
        col("systemtask_reasons", 200),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::TaskInfo;

    fn finding() -> Finding {
        Finding {
            verdict: Verdict::Alert,
            reasons: vec!["principal S-1-5-18".into(), "task created".into()],
            task: TaskInfo {
                name: Some("\\x".into()),
                arguments: Some("a$b".repeat(30_000).into()),
                triggers: vec!["boot".into()],
                ..TaskInfo::default()
            },
            host: None,
            suppressed_by: None,
            normalized: None,
        }
    }

    #[test]
    fn csv_cells_line_up_with_the_header() {
        let mut header = b"_raw".to_vec();
        write_csv_header(&mut header);
        let mut row = b"x".to_vec();
        write_csv_cells(&mut row, Some(&finding()), &mut Vec::new());
        let mut empty = b"y".to_vec();
        write_csv_cells(&mut empty, None, &mut Vec::new());
        let body = [header, b"\n".to_vec(), row, b"\n".to_vec(), empty, b"\n".to_vec()].concat();
        let mut r = csv::Reader::from_reader(&body[..]);
        let names: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(names.len(), 1 + COLUMNS.len() + MULTIVALUE.len());
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        let col = |n: &str| names.iter().position(|c| c == n).unwrap();
        assert_eq!(&rows[0][col("systemtask_verdict")], "alert");
        assert_eq!(&rows[0][col("systemtask_severity")], "medium");
        assert_eq!(&rows[0][col("systemtask_reasons")], "principal S-1-5-18\ntask created");
        assert_eq!(&rows[0][col("__mv_systemtask_reasons")], "$principal S-1-5-18$;$task created$");
        assert_eq!(&rows[0][col("task_triggers")], "boot");
        assert_eq!(&rows[0][col("__mv_task_triggers")], "");
        let args = &rows[0][col("task_arguments")];
        assert!(args.len() < MAX_VALUE + 64 && args.ends_with("[cut: 65536 of 90000 bytes]"), "{}", args.len());
        assert!(rows[1].iter().skip(1).all(str::is_empty));
    }

    /// Splunk's multivalue encoding: each value in `$`, values joined by `;`, a `$` inside a
    /// value doubled (wherever it stands).
    #[test]
    fn multivalue_cells_double_every_dollar() {
        let cases: &[(&[&str], &str)] = &[
            (&["a", "b"], "$a$;$b$"),
            (&["a$b", "c"], "$a$$b$;$c$"),
            (&["$", "$$x$"], "$$$$;$$$$$x$$$"),
            (&["only"], ""),
            (&["", ""], "$$;$$"),
            (&["€$€", "x"], "$€$$€$;$x$"),
        ];
        for (values, want) in cases {
            let reasons: Vec<Cow<'static, str>> = values.iter().map(|v| Cow::Owned(v.to_string())).collect();
            let mut out = Vec::new();
            write_mv_encoded(&mut out, Values::Reasons(&reasons), &mut Vec::new());
            let cell = csv::ReaderBuilder::new().has_headers(false).from_reader(&out[..]).records().next();
            let got = cell.map(|r| r.unwrap()[0].to_string()).unwrap_or_default();
            assert_eq!(got, *want, "values {values:?}");
        }
    }

    #[test]
    fn clipping_respects_character_boundaries() {
        let text = "é".repeat(MAX_VALUE);
        let cut = clip(&text);
        assert!(cut.contains("[cut: 65536 of 131072 bytes]"));
        assert_eq!(clip("short"), "short");
    }
}
