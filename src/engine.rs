//! One chunk in, one tagged chunk out: reads records from a CSV body, runs detection and the
//! allowlist on each, and writes every input field back as its original bytes followed by the
//! command's own columns. The hot loop reuses one span buffer and one output buffer.

use std::borrow::Cow;

use crate::allowlist::Allowlist;
use crate::detect::{self, EventFields, Field, FieldNames, Finding, Verdict};
use crate::error::CsvError;
use crate::options::Mode;
use crate::record::{self, FieldSpan, RecordSink, RecordSpan, Scanner};

/// The command's output columns, in order. Multivalue ones also get a `__mv_` column.
pub const OUTPUT_COLUMNS: [&str; 19] = [
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

pub const MULTIVALUE_COLUMNS: [&str; 3] = ["systemtask_reasons", "task_triggers", "task_indicators"];

/// Everything detection needs, fixed for the life of the process.
pub struct Engine {
    pub mode: Mode,
    pub allowlist: Option<Allowlist>,
    pub fields: FieldNames,
}

/// Buffers reused from chunk to chunk.
#[derive(Default)]
pub struct Scratch {
    spans: Vec<FieldSpan>,
    cell: Vec<u8>,
    xml: detect::TaskXmlMemo,
}

/// Counts for one chunk (or, added up, for several).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChunkStats {
    pub records_in: u64,
    pub records_out: u64,
    pub alerts: u64,
    pub suppressed: u64,
    pub benign: u64,
}

impl std::ops::AddAssign for ChunkStats {
    fn add_assign(&mut self, other: ChunkStats) {
        self.records_in += other.records_in;
        self.records_out += other.records_out;
        self.alerts += other.alerts;
        self.suppressed += other.suppressed;
        self.benign += other.benign;
    }
}

fn is_output_column(name: &[u8]) -> bool {
    let base = name.strip_prefix(b"__mv_").unwrap_or(name);
    OUTPUT_COLUMNS.iter().any(|c| c.as_bytes() == base)
}

/// The records of one CSV body, each checked against the header's width.
struct Records<'b> {
    body: &'b [u8],
    scanner: Scanner<'b>,
    /// The header row and its column names.
    header: RecordSpan,
    columns: Vec<Cow<'b, [u8]>>,
    map: [Option<usize>; Field::ALL.len()],
}

impl<'b> Records<'b> {
    /// The next record's span, its field spans in `spans`.
    fn next(&mut self, spans: &mut Vec<FieldSpan>) -> Result<Option<RecordSpan>, CsvError> {
        let offset = self.scanner.position();
        let Some(record) = self.scanner.next_record(spans)? else { return Ok(None) };
        if spans.len() != self.columns.len() {
            return Err(CsvError::Ragged {
                record: self.scanner.records_read() - 1,
                offset,
                expected: self.columns.len(),
                found: spans.len(),
            });
        }
        Ok(Some(record))
    }

    fn row<'s>(&'s self, spans: &'s [FieldSpan]) -> Row<'s> {
        Row { body: self.body, spans, map: &self.map }
    }
}

impl Engine {
    /// Reads the header row (its field spans left in `spans`) and resolves the field names;
    /// `None` for an empty body.
    fn records<'b>(&self, body: &'b [u8], spans: &mut Vec<FieldSpan>) -> Result<Option<Records<'b>>, CsvError> {
        let mut scanner = Scanner::new(body);
        let Some(header) = scanner.next_record(spans)? else { return Ok(None) };
        let columns: Vec<Cow<'b, [u8]>> = spans.iter().map(|s| s.value(body)).collect();
        if columns.is_empty() {
            return Err(CsvError::EmptyHeader);
        }
        let names: Vec<Cow<'_, str>> = columns.iter().map(|c| String::from_utf8_lossy(c)).collect();
        let map = self.fields.resolve(&names);
        Ok(Some(Records { body, scanner, header, columns, map }))
    }

    /// Processes one CSV body (header row first) into `out`.
    pub fn process<S: RecordSink + ?Sized>(
        &self,
        body: &[u8],
        out: &mut S,
        scratch: &mut Scratch,
    ) -> Result<ChunkStats, CsvError> {
        let mut stats = ChunkStats::default();
        // The output is the input plus the added columns: size it once instead of growing it.
        out.reserve_for(body.len());
        let Some(mut records) = self.records(body, &mut scratch.spans)? else {
            return Ok(stats);
        };
        // Columns this command wrote on an earlier run are recomputed, never duplicated.
        let keep: Vec<bool> = records.columns.iter().map(|c| !is_output_column(c)).collect();
        let keep_all = keep.iter().all(|&k| k);

        if keep_all {
            out.input(body, records.header.start, records.header.content_end);
        } else {
            write_kept(out.own(), body, &scratch.spans, &keep);
        }
        let own = out.own();
        for name in OUTPUT_COLUMNS {
            own.push(b',');
            own.extend_from_slice(name.as_bytes());
        }
        for name in MULTIVALUE_COLUMNS {
            own.extend_from_slice(b",__mv_");
            own.extend_from_slice(name.as_bytes());
        }
        own.push(b'\n');

        while let Some(record) = records.next(&mut scratch.spans)? {
            stats.records_in += 1;
            let finding = self.evaluate_with(&records.row(&scratch.spans), Some(&mut scratch.xml));
            match finding.as_ref().map(|f| f.verdict) {
                Some(Verdict::Alert) => stats.alerts += 1,
                Some(Verdict::Suppressed) => stats.suppressed += 1,
                Some(Verdict::Benign) => stats.benign += 1,
                None => {}
            }
            if self.mode == Mode::Alerts && finding.as_ref().map(|f| f.verdict) != Some(Verdict::Alert) {
                continue;
            }
            if keep_all {
                out.input(body, record.start, record.content_end);
            } else {
                write_kept(out.own(), body, &scratch.spans, &keep);
            }
            let own = out.own();
            write_finding(own, finding.as_ref(), &mut scratch.cell);
            own.push(b'\n');
            stats.records_out += 1;
        }
        Ok(stats)
    }

    /// The finding of every record of a CSV body, in order (`None`: not about scheduled tasks).
    pub fn findings(&self, body: &[u8], scratch: &mut Scratch) -> Result<Vec<Option<Finding>>, CsvError> {
        let mut out = Vec::new();
        let Some(mut records) = self.records(body, &mut scratch.spans)? else { return Ok(out) };
        while records.next(&mut scratch.spans)?.is_some() {
            out.push(self.evaluate_with(&records.row(&scratch.spans), Some(&mut scratch.xml)));
        }
        Ok(out)
    }

    /// Detection, then the allowlist for would-be alerts.
    pub fn evaluate<E: EventFields + ?Sized>(&self, event: &E) -> Option<Finding> {
        self.evaluate_with(event, None)
    }

    fn evaluate_with<E: EventFields + ?Sized>(
        &self,
        event: &E,
        cache: Option<&mut detect::TaskXmlMemo>,
    ) -> Option<Finding> {
        let mut finding = detect::analyze_with(event, cache)?;
        if finding.verdict == Verdict::Alert
            && let Some(entry) = self.allowlist.as_ref().and_then(|a| a.matching(&finding))
        {
            finding.verdict = Verdict::Suppressed;
            finding.suppressed_by = Some(entry.to_string());
            finding.reasons.push(format!("allowlist entry {entry}").into());
        }
        Some(finding)
    }
}

fn write_kept(out: &mut Vec<u8>, body: &[u8], spans: &[FieldSpan], keep: &[bool]) {
    let mut first = true;
    for (span, &k) in spans.iter().zip(keep) {
        if !k {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(span.raw(body));
    }
}

/// Writes the command's columns for one record (all empty when `finding` is `None`).
fn write_finding(out: &mut Vec<u8>, finding: Option<&Finding>, cell: &mut Vec<u8>) {
    let Some(f) = finding else {
        out.extend_from_slice(&[b','; OUTPUT_COLUMNS.len() + MULTIVALUE_COLUMNS.len()]);
        return;
    };
    let t = &f.task;
    let flagged = matches!(f.verdict, Verdict::Alert | Verdict::Suppressed);
    let opt = |out: &mut Vec<u8>, v: Option<&str>| {
        out.push(b',');
        if let Some(v) = v {
            record::write_field(out, v.as_bytes());
        }
    };
    let bool_str = |b: Option<bool>| b.map(|b| if b { "true" } else { "false" });
    opt(out, Some(f.verdict.as_str()));
    out.push(b',');
    record::write_mv_plain(out, &f.reasons, cell);
    opt(out, flagged.then_some(detect::SEVERITY));
    opt(out, flagged.then_some(detect::MITRE_TECHNIQUE));
    opt(out, f.suppressed_by.as_deref());
    opt(out, t.name.as_deref());
    opt(out, t.action);
    opt(out, t.run_as.as_deref());
    opt(out, t.privilege.map(|p| p.as_str()));
    opt(out, t.run_level.as_deref());
    opt(out, t.command.as_deref());
    opt(out, t.arguments.as_deref());
    out.push(b',');
    record::write_mv_plain(out, &t.triggers, cell);
    opt(out, bool_str(t.hidden));
    opt(out, t.author.as_deref());
    opt(out, t.creator.as_deref());
    opt(out, bool_str(t.remote));
    opt(out, t.evidence);
    out.push(b',');
    record::write_mv_plain(out, &t.indicators, cell);
    out.push(b',');
    record::write_mv_encoded(out, &f.reasons, cell);
    out.push(b',');
    record::write_mv_encoded(out, &t.triggers, cell);
    out.push(b',');
    record::write_mv_encoded(out, &t.indicators, cell);
}

/// One CSV record seen through the logical field names.
struct Row<'a> {
    body: &'a [u8],
    spans: &'a [FieldSpan],
    map: &'a [Option<usize>; Field::ALL.len()],
}

impl Row<'_> {
    fn span(&self, field: Field) -> Option<&FieldSpan> {
        let span = self.spans.get(self.map[field.index()]?)?;
        // An empty value is absent: `` or `""`.
        (span.end - span.start > usize::from(span.quoted) * 2).then_some(span)
    }
}

impl EventFields for Row<'_> {
    fn has(&self, field: Field) -> bool {
        self.span(field).is_some()
    }

    fn stored(&self, field: Field) -> Option<&[u8]> {
        self.span(field).map(|s| s.raw(self.body))
    }

    fn get_into(&self, field: Field, buf: &mut String) -> bool {
        buf.clear();
        self.span(field).map(|span| span.push_value_lossy(self.body, buf)).is_some()
    }

    fn get(&self, field: Field) -> Option<Cow<'_, str>> {
        let span = self.span(field)?;
        // Detection reads text; bytes that are not UTF-8 are replaced for reading only (the
        // output copies the original bytes). `from_utf8` first: it is much faster than the
        // lossy path on the large fields (_raw, task XML) that are nearly always valid.
        match span.borrowed(self.body) {
            Some(b) => match std::str::from_utf8(b) {
                Ok(s) => Some(Cow::Borrowed(s)),
                Err(_) => Some(String::from_utf8_lossy(b)),
            },
            None => {
                let mut text = String::new();
                span.push_value_lossy(self.body, &mut text);
                Some(Cow::Owned(text))
            }
        }
    }
}
