//! Joins detection, the allowlist and the output contract:
//!
//! - [`Policy`]: one event in, its [`Finding`] out (detection, then the allowlist), with the
//!   analysis of each event isolated: a fault in one event's analysis marks that event
//!   `error` and the search goes on.
//! - [`Engine`]: one CSV body in, the tagged body out: every input field written back as its
//!   original bytes, followed by the command's columns ([`crate::output`]). The hot loop reuses
//!   one span buffer and one output buffer.

use std::borrow::Cow;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::allowlist::Allowlist;
use crate::detect::{self, Finding, TaskInfo, Verdict};
use crate::error::CsvError;
use crate::event::{ColumnMap, EventFields, Field, FieldNames};
use crate::options::Mode;
use crate::output;
use crate::record::{FieldSpan, RecordSink, RecordSpan, Scanner, read_whole};

/// Detection and suppression: what the command decides about one event.
#[derive(Default)]
pub struct Policy {
    pub allowlist: Option<Allowlist>,
}

impl Policy {
    /// Detection, then the allowlist for would-be alerts. A panic inside (there should be none;
    /// this guards against a future one) yields a finding with verdict `error` instead of
    /// ending the search; `memos` are then cleared, since a panic may have left them half-written.
    pub fn evaluate<E: EventFields + ?Sized>(&self, event: &E, memos: Option<&mut detect::Memos>) -> Option<Finding> {
        let mut memos = memos;
        let result = catch_unwind(AssertUnwindSafe(|| self.evaluate_unguarded(event, memos.as_deref_mut())));
        match result {
            Ok(finding) => finding,
            Err(payload) => {
                if let Some(memos) = memos {
                    *memos = detect::Memos::default();
                }
                let detail = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown fault".into());
                Some(Finding::new(Verdict::Error, format!("analysis failed: {detail}"), TaskInfo::default()))
            }
        }
    }

    fn evaluate_unguarded<E: EventFields + ?Sized>(
        &self,
        event: &E,
        memos: Option<&mut detect::Memos>,
    ) -> Option<Finding> {
        let mut finding = detect::analyze_with(event, memos)?;
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

/// Everything the command needs, fixed for the life of the process.
#[derive(Default)]
pub struct Engine {
    pub mode: Mode,
    pub policy: Policy,
    pub fields: FieldNames,
    /// Threads a large chunk's records are analysed on (at least 1); see [`Engine::process`].
    pub threads: usize,
    /// Bodies smaller than this stay on one thread ([`PARALLEL_MIN_BODY`] unless set).
    pub parallel_min_body: usize,
}

/// Buffers reused from chunk to chunk; one more set per extra worker thread.
#[derive(Default)]
pub struct Scratch {
    spans: Vec<FieldSpan>,
    cell: Vec<u8>,
    memos: detect::Memos,
    workers: Vec<Scratch>,
}

/// A chunk body is split among worker threads only above this size: below it, starting threads
/// costs more than it saves.
pub const PARALLEL_MIN_BODY: usize = 1 << 20;

/// Counts for one chunk (or, added up, for several).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChunkStats {
    pub records_in: u64,
    pub records_out: u64,
    pub alerts: u64,
    pub suppressed: u64,
    pub benign: u64,
    /// Events whose analysis failed (verdict `error`); they still pass through.
    pub errors: u64,
    /// Parts the records were analysed in, one thread each (see [`Engine::process`]).
    pub parts: u64,
}

impl ChunkStats {
    /// Counts one event's verdict (`None`: not about scheduled tasks).
    pub fn count(&mut self, finding: Option<&Finding>) {
        match finding.map(|f| f.verdict) {
            Some(Verdict::Alert) => self.alerts += 1,
            Some(Verdict::Suppressed) => self.suppressed += 1,
            Some(Verdict::Benign) => self.benign += 1,
            Some(Verdict::Error) => self.errors += 1,
            None => {}
        }
    }

    /// Events with no verdict: not about scheduled tasks, passed through untagged.
    pub fn untagged(&self) -> u64 {
        self.records_in.saturating_sub(self.alerts + self.suppressed + self.benign + self.errors)
    }
}

impl std::ops::AddAssign for ChunkStats {
    fn add_assign(&mut self, other: ChunkStats) {
        self.records_in += other.records_in;
        self.records_out += other.records_out;
        self.alerts += other.alerts;
        self.suppressed += other.suppressed;
        self.benign += other.benign;
        self.errors += other.errors;
        self.parts += other.parts;
    }
}

/// The records of one CSV body, each checked against the header's width.
pub struct Records<'b> {
    body: &'b [u8],
    /// Where `body` starts in the request's body: records of a part are read from the part
    /// alone, and the reply refers to the request's body.
    base: usize,
    scanner: Scanner<'b>,
    /// The header row and its column names.
    header: RecordSpan,
    columns: Vec<Cow<'b, [u8]>>,
    map: ColumnMap,
}

impl<'b> Records<'b> {
    /// Reads the header row (its field spans left in `spans`) and resolves the field names;
    /// `None` for an empty body.
    pub fn new(body: &'b [u8], fields: &FieldNames, spans: &mut Vec<FieldSpan>) -> Result<Option<Self>, CsvError> {
        let mut scanner = Scanner::new(body);
        let Some(header) = scanner.next_record(spans)? else { return Ok(None) };
        let columns: Vec<Cow<'b, [u8]>> = spans.iter().map(|s| s.value(body)).collect();
        if columns.is_empty() {
            return Err(CsvError::EmptyHeader);
        }
        let names: Vec<Cow<'_, str>> = columns.iter().map(|c| String::from_utf8_lossy(c)).collect();
        let map = fields.resolve(&names);
        Ok(Some(Records { body, base: 0, scanner, header, columns, map }))
    }

    /// The records of `part` alone, a part of the body that starts at `base` with a record
    /// (or presumed so: a scan that does not end cleanly at the part's end fails, see
    /// [`Engine::process`]), read with this header.
    fn part(&self, base: usize, part: &'b [u8]) -> Records<'b> {
        Records {
            body: part,
            base,
            scanner: Scanner::resume(part, 0),
            header: self.header,
            columns: self.columns.clone(),
            map: self.map.clone(),
        }
    }

    /// Where the next record starts (or empty lines before it).
    fn position(&self) -> usize {
        self.scanner.position()
    }

    /// The next record's span, its field spans in `spans`.
    pub fn next(&mut self, spans: &mut Vec<FieldSpan>) -> Result<Option<RecordSpan>, CsvError> {
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

    /// The record whose spans are in `spans`, seen through the logical fields.
    pub fn row<'s>(&'s self, spans: &'s [FieldSpan]) -> Row<'s> {
        Row { body: self.body, spans, map: &self.map }
    }
}

impl Engine {
    pub fn new(mode: Mode, allowlist: Option<Allowlist>, fields: FieldNames) -> Engine {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS);
        Engine { mode, policy: Policy { allowlist }, fields, threads, parallel_min_body: PARALLEL_MIN_BODY }
    }

    /// The same engine on `threads` threads (1: everything on the caller's thread).
    pub fn with_threads(mut self, threads: usize) -> Engine {
        self.threads = threads.max(1);
        self
    }

    /// The same engine splitting bodies from `bytes` up (tests split small bodies).
    pub fn with_parallel_min_body(mut self, bytes: usize) -> Engine {
        self.parallel_min_body = bytes;
        self
    }

    /// Processes one CSV body (header row first) into `out`.
    ///
    /// A large body's records are split into consecutive parts ([`PARTS_PER_THREAD`] per
    /// thread) that [`Engine::threads`] threads take in turn, each into its own sink, and the
    /// parts are appended in order: the output is the same byte for byte, since every event is
    /// analysed alone. Parts are cut after a `\n` that an even number of quotes precedes (outside
    /// any quoted field, as Splunk quotes every field holding one). A part whose scan does not
    /// end cleanly at its cut, or any error, and the body is processed again on one thread, so
    /// that errors name the record and offset exactly.
    pub fn process<S: RecordSink + Default + Send>(
        &self,
        body: &[u8],
        out: &mut S,
        scratch: &mut Scratch,
    ) -> Result<ChunkStats, CsvError> {
        if self.splits(body.len())
            && let Ok(Some(stats)) = self.process_split(Arrival::whole(body), out, scratch)
        {
            return Ok(stats);
        }
        self.process_serial(body, out, scratch)
    }

    /// [`Engine::process`] for a body that is still arriving: `body` is its buffer, as long as
    /// the body was declared, and `input` gives its next bytes (0 once the input has ended). A
    /// large body's parts are analysed as they arrive, while the rest is read: the read, on one
    /// core, no longer comes before all the analysis. The body is read whole before this
    /// returns. If it does not arrive whole, nothing is analysed (`Ok` with no records):
    /// whoever reads the input reports why.
    pub fn process_arriving<S: RecordSink + Default + Send>(
        &self,
        body: &mut [u8],
        input: &mut dyn Read,
        out: &mut S,
        scratch: &mut Scratch,
    ) -> Result<ChunkStats, CsvError> {
        if !self.splits(body.len()) {
            if read_whole(body, input) < body.len() {
                return Ok(ChunkStats::default());
            }
            return self.process_serial(body, out, scratch);
        }
        match self.process_split(Arrival::reading(body, input), out, scratch) {
            Ok(Some(stats)) => Ok(stats),
            Ok(None) => self.process_serial(body, out, scratch),
            Err(Incomplete) => Ok(ChunkStats::default()),
        }
    }

    /// Whether a body of `len` bytes is cut into parts for several threads.
    fn splits(&self, len: usize) -> bool {
        len >= self.parallel_min_body && self.threads > 1
    }

    /// The whole body on the caller's thread.
    fn process_serial<S: RecordSink + ?Sized>(
        &self,
        body: &[u8],
        out: &mut S,
        scratch: &mut Scratch,
    ) -> Result<ChunkStats, CsvError> {
        let Some(mut records) = Records::new(body, &self.fields, &mut scratch.spans)? else {
            return Ok(ChunkStats::default());
        };
        let keep = kept_columns(&records);
        write_header(out, &records, &scratch.spans, &keep);
        // The output is the input plus the added columns: size it once instead of growing it
        // (the parts of a split body size their own).
        out.reserve_for(body.len());
        let mut stats = ChunkStats { parts: 1, ..ChunkStats::default() };
        self.process_records(&mut records, &keep, out, scratch, &mut stats)?;
        Ok(stats)
    }

    /// The body cut into [`PARTS_PER_THREAD`] parts per thread as its bytes arrive ([`Cuts`]),
    /// which the threads take in turn, each into a sink of its own; once all are done, the
    /// header and the sinks are appended to `out` in order. The caller's thread reads the body
    /// and cuts it, then takes parts too.
    ///
    /// `Ok(None)` when a part failed or the header could not be cut off: the body has arrived
    /// whole, `out` is as it was, and the caller starts over on one thread. `Err` when the body
    /// did not arrive whole.
    ///
    /// More parts than threads, because parts of equal bytes are not equal work (task events
    /// cost several times what a logon does): with one part per thread, one thread sat idle for
    /// up to a quarter of a chunk.
    fn process_split<S: RecordSink + Default + Send>(
        &self,
        mut body: Arrival<'_, '_>,
        out: &mut S,
        scratch: &mut Scratch,
    ) -> Result<Option<ChunkStats>, Incomplete> {
        // The header row, cut off first: every part is read with it.
        let mut header_end = RecordEnd::default();
        let header = loop {
            if let Some(end) = header_end.find(body.arrived(), 0) {
                break body.take(end);
            }
            if !body.more() {
                return body.finish().map(|()| None);
            }
        };
        let records = match Records::new(header, &self.fields, &mut scratch.spans) {
            Ok(Some(records)) if records.position() == header.len() => records,
            _ => return body.finish().map(|()| None),
        };
        let keep = kept_columns(&records);
        let mut head = S::default();
        write_header(&mut head, &records, &scratch.spans, &keep);

        let mut cuts = Cuts::new(body.len(), header.len(), self.threads * PARTS_PER_THREAD);
        let (send, receive) = std::sync::mpsc::channel::<(usize, &[u8])>();
        let receive = Mutex::new(receive);
        let failed = AtomicBool::new(false);
        // Each part's sink, from those `out` kept from earlier chunks when it keeps them.
        let spares = Mutex::new(&mut *out);
        // Part after part, until none is left: each part's start, sink and counts (`None`: it
        // failed). Once one failed, the others are passed over.
        let work = |scratch: &mut Scratch| {
            let mut done = Vec::new();
            // A poisoned lock (a panic while holding it, which cannot happen) ends the work.
            while let Some((base, part)) = receive.lock().ok().and_then(|parts| parts.recv().ok()) {
                if failed.load(Ordering::Relaxed) {
                    continue;
                }
                let Ok(mut sink) = spares.lock().map(|mut out| out.spare()) else {
                    failed.store(true, Ordering::Relaxed);
                    continue;
                };
                sink.reserve_for(part.len());
                let result = self.process_part(&mut records.part(base, part), &mut sink, &keep, scratch);
                failed.fetch_or(result.is_none(), Ordering::Relaxed);
                done.push(result.map(|stats| (base, sink, stats)));
            }
            done
        };
        scratch.workers.resize_with(self.threads - 1, Scratch::default);
        let mut workers = std::mem::take(&mut scratch.workers);
        let (arrived, parts) = std::thread::scope(|scope| {
            let handles: Vec<_> = workers.iter_mut().map(|worker| scope.spawn(|| work(worker))).collect();
            // Cut each part as soon as its bytes are in, and read on.
            let arrived = loop {
                while let Some(end) = cuts.next(body.arrived()) {
                    let base = body.taken();
                    // A worker that is gone has failed; its parts are not needed.
                    let _ = send.send((base, body.take(end - base)));
                }
                if cuts.done() {
                    break Ok(());
                }
                if !body.more() {
                    break Err(Incomplete);
                }
            };
            drop(send);
            let mut parts = work(scratch);
            for handle in handles {
                // A worker that panicked outside the per-event guard fails like an error.
                parts.extend(handle.join().unwrap_or_else(|_| vec![None]));
            }
            (arrived, parts)
        });
        scratch.workers = workers;
        arrived?;
        // Every part done, or none is used.
        let Some(mut parts) = parts.into_iter().collect::<Option<Vec<_>>>() else { return Ok(None) };
        parts.sort_by_key(|&(base, ..)| base);
        let mut stats = ChunkStats::default();
        out.append(head);
        for (_, sink, part_stats) in parts {
            out.append(sink);
            stats += part_stats;
        }
        Ok(Some(stats))
    }

    /// One part's records into `out`; `None` on any error (see [`Engine::process`]).
    fn process_part<S: RecordSink + ?Sized>(
        &self,
        part: &mut Records<'_>,
        out: &mut S,
        keep: &[bool],
        scratch: &mut Scratch,
    ) -> Option<ChunkStats> {
        let mut stats = ChunkStats { parts: 1, ..ChunkStats::default() };
        self.process_records(part, keep, out, scratch, &mut stats).ok()?;
        Some(stats)
    }

    /// Every remaining record of `records`, tagged, into `out`.
    fn process_records<S: RecordSink + ?Sized>(
        &self,
        records: &mut Records<'_>,
        keep: &[bool],
        out: &mut S,
        scratch: &mut Scratch,
        stats: &mut ChunkStats,
    ) -> Result<(), CsvError> {
        let body = records.body;
        let keep_all = keep.iter().all(|&k| k);
        while let Some(record) = records.next(&mut scratch.spans)? {
            stats.records_in += 1;
            let finding = self.policy.evaluate(&records.row(&scratch.spans), Some(&mut scratch.memos));
            stats.count(finding.as_ref());
            // In alerts mode only alerts leave; so do events that could not be analysed, so
            // that nothing that might be an alert disappears without a trace.
            if self.mode == Mode::Alerts
                && !matches!(finding.as_ref().map(|f| f.verdict), Some(Verdict::Alert | Verdict::Error))
            {
                continue;
            }
            if keep_all {
                out.input(&body[record.start..record.content_end], records.base + record.start);
            } else {
                write_kept(out.own(), body, &scratch.spans, keep);
            }
            let own = out.own();
            output::write_csv_cells(own, finding.as_ref(), &mut scratch.cell);
            own.push(b'\n');
            stats.records_out += 1;
        }
        Ok(())
    }

    /// The finding of every record of a CSV body, in order (`None`: not about scheduled tasks).
    pub fn findings(&self, body: &[u8], scratch: &mut Scratch) -> Result<Vec<Option<Finding>>, CsvError> {
        let mut out = Vec::new();
        let Some(mut records) = Records::new(body, &self.fields, &mut scratch.spans)? else { return Ok(out) };
        while records.next(&mut scratch.spans)?.is_some() {
            out.push(self.policy.evaluate(&records.row(&scratch.spans), Some(&mut scratch.memos)));
        }
        Ok(out)
    }

    /// Detection and the allowlist for one event.
    pub fn evaluate<E: EventFields + ?Sized>(&self, event: &E) -> Option<Finding> {
        self.policy.evaluate(event, None)
    }
}

/// Most threads one chunk is analysed on: past this, the pipe, not the analysis, is the limit.
const MAX_THREADS: usize = 4;

/// Parts per thread a large chunk is cut into (see [`Engine::process`]).
pub const PARTS_PER_THREAD: usize = 8;

/// The body did not arrive whole: the input ended or failed first.
#[derive(Debug)]
struct Incomplete;

/// The most a body is read by at a time before its arrived bytes are cut: parts start to be
/// analysed while the rest is read.
const ARRIVAL_STEP: usize = 1 << 20;

/// A body's bytes as the analysis gets them: all in memory, or read into its buffer as it goes.
/// Parts are taken off its front, in order, once their bytes have arrived.
struct Arrival<'b, 'f> {
    /// The bytes not yet taken; of these, the first `arrived` are in.
    rest: Rest<'b, 'f>,
    arrived: usize,
    /// Bytes taken so far.
    taken: usize,
}

enum Rest<'b, 'f> {
    Whole(&'b [u8]),
    /// The buffer's untaken bytes, and the reader of the body's next ones.
    Reading(&'b mut [u8], &'f mut (dyn Read + 'f)),
}

impl<'b, 'f> Arrival<'b, 'f> {
    fn whole(body: &'b [u8]) -> Self {
        Arrival { arrived: body.len(), taken: 0, rest: Rest::Whole(body) }
    }

    fn reading(buf: &'b mut [u8], input: &'f mut (dyn Read + 'f)) -> Self {
        Arrival { arrived: 0, taken: 0, rest: Rest::Reading(buf, input) }
    }

    /// The body's length: what was taken and what is left.
    fn len(&self) -> usize {
        self.taken + self.rest().len()
    }

    /// The bytes not taken yet, arrived or not.
    fn rest(&self) -> &[u8] {
        match &self.rest {
            Rest::Whole(rest) => rest,
            Rest::Reading(rest, _) => rest,
        }
    }

    fn taken(&self) -> usize {
        self.taken
    }

    /// The bytes that are in and not taken yet.
    fn arrived(&self) -> &[u8] {
        &self.rest()[..self.arrived]
    }

    /// Takes the first `n` arrived bytes off the front.
    fn take(&mut self, n: usize) -> &'b [u8] {
        assert!(n <= self.arrived, "a part is taken only once it has arrived");
        let part = match &mut self.rest {
            Rest::Whole(rest) => {
                let (part, tail) = rest.split_at(n);
                *rest = tail;
                part
            }
            Rest::Reading(rest, _) => {
                let (part, tail) = std::mem::take(rest).split_at_mut(n);
                *rest = tail;
                &*part
            }
        };
        self.arrived -= n;
        self.taken += n;
        part
    }

    /// Reads more of the body; `false` when nothing more will arrive (all has, or the input
    /// ended or failed).
    fn more(&mut self) -> bool {
        let Rest::Reading(rest, input) = &mut self.rest else { return false };
        let end = rest.len().min(self.arrived + ARRIVAL_STEP);
        if self.arrived == end {
            return false;
        }
        match input.read(&mut rest[self.arrived..end]) {
            Ok(n) if n > 0 => {
                self.arrived += n;
                true
            }
            _ => false,
        }
    }

    /// Reads the rest of the body; `Err` if it does not arrive whole.
    fn finish(&mut self) -> Result<(), Incomplete> {
        while self.more() {}
        if self.arrived == self.rest().len() { Ok(()) } else { Err(Incomplete) }
    }
}

/// Finds where a record ends: just after the first `\n` that an even number of quotes
/// precedes, from a record start on, over bytes that arrive piece by piece.
#[derive(Default)]
struct RecordEnd {
    /// How far the search has looked (a body offset), and the quotes it passed.
    at: usize,
    quotes: usize,
}

impl RecordEnd {
    /// The end, if it is among `arrived`, the bytes from body offset `start` on that are in.
    fn find(&mut self, arrived: &[u8], start: usize) -> Option<usize> {
        while let Some(&b) = arrived.get(self.at - start) {
            self.at += 1;
            if b == b'"' {
                self.quotes += 1;
            } else if b == b'\n' && self.quotes.is_multiple_of(2) {
                return Some(self.at);
            }
        }
        None
    }
}

/// The parts of a body's records (from `first`, a record start), found as its bytes arrive:
/// each part ends at the first record end ([`RecordEnd`]) past its share of the body; the last
/// at the body's end. The share's quotes are counted a block at a time, then the record end is
/// looked for byte by byte.
struct Cuts {
    first: usize,
    len: usize,
    /// Each part's share of the body, the most parts, and the parts cut so far.
    step: usize,
    parts: usize,
    made: usize,
    /// Where the next part starts, and the search for its end.
    start: usize,
    end: RecordEnd,
}

impl Cuts {
    /// Up to `parts` parts of about equal bytes.
    fn new(len: usize, first: usize, parts: usize) -> Self {
        let step = (len - first) / parts.max(1);
        Cuts { first, len, step, parts, made: 0, start: first, end: RecordEnd { at: first, quotes: 0 } }
    }

    /// Whether every part has been cut.
    fn done(&self) -> bool {
        self.made == self.parts || self.start == self.len
    }

    /// The end of the next part, if its bytes have arrived: `arrived` are the bytes from where
    /// it starts on that are in.
    fn next(&mut self, arrived: &[u8]) -> Option<usize> {
        if self.done() {
            return None;
        }
        let start = self.start;
        let all_in = start + arrived.len() == self.len;
        let cut = if self.made + 1 == self.parts {
            all_in.then_some(self.len)?
        } else {
            let target = (self.first + (self.made + 1) * self.step).min(self.len);
            if target > self.end.at {
                let upto = target.min(start + arrived.len());
                self.end.quotes += count_quotes(&arrived[self.end.at - start..upto - start]);
                self.end.at = upto;
            }
            match self.end.find(arrived, start) {
                Some(cut) => cut,
                None if all_in => self.len,
                None => return None,
            }
        };
        self.made += 1;
        self.start = cut;
        self.end = RecordEnd { at: cut, quotes: 0 };
        Some(cut)
    }
}

/// Quotes in `bytes`: every byte of a large body passes here, on the thread that reads it.
/// `bytecount` picks AVX2 or SSE2 at run time, which this crate's safe code cannot (the shipped
/// x86_64 builds may assume SSE2 only); our own block loop, vectorized by the compiler to SSE2,
/// took twice the instructions.
fn count_quotes(bytes: &[u8]) -> usize {
    bytecount::count(bytes, b'"')
}

/// Which of the body's columns are written back: columns this command wrote on an earlier run
/// are recomputed, never duplicated.
fn kept_columns(records: &Records<'_>) -> Vec<bool> {
    records.columns.iter().map(|c| !output::is_output_column(c)).collect()
}

/// The header row of the reply: the kept columns (`spans` holding the header's field spans),
/// then the command's.
fn write_header<S: RecordSink + ?Sized>(out: &mut S, records: &Records<'_>, spans: &[FieldSpan], keep: &[bool]) {
    let header = records.header;
    if keep.iter().all(|&k| k) {
        out.input(&records.body[header.start..header.content_end], records.base + header.start);
    } else {
        write_kept(out.own(), records.body, spans, keep);
    }
    output::write_csv_header(out.own());
    out.own().push(b'\n');
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

/// One CSV record seen through the logical field names: each field is read from the first of
/// its candidate columns that has a value in this record.
pub struct Row<'a> {
    body: &'a [u8],
    spans: &'a [FieldSpan],
    map: &'a ColumnMap,
}

impl Row<'_> {
    fn span(&self, field: Field) -> Option<&FieldSpan> {
        self.map.candidates(field).iter().filter_map(|&i| self.spans.get(i)).find(|span| {
            // An empty value is absent: `` or `""`.
            span.end - span.start > usize::from(span.quoted) * 2
        })
    }
}

impl EventFields for Row<'_> {
    fn has(&self, field: Field) -> bool {
        self.span(field).is_some()
    }

    fn stored(&self, field: Field) -> Option<&[u8]> {
        self.span(field).map(|s| s.raw(self.body))
    }

    fn get_bytes(&self, field: Field) -> Option<Cow<'_, [u8]>> {
        self.span(field).map(|s| s.value(self.body))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An event source that faults when read: a stand-in for a future bug in the analysis.
    struct Faulty;

    impl EventFields for Faulty {
        fn get(&self, field: Field) -> Option<Cow<'_, str>> {
            match field {
                Field::EventCode => Some("4688".into()),
                _ => panic!("simulated fault reading {field:?}"),
            }
        }
    }

    #[test]
    fn a_fault_in_one_event_marks_that_event_and_nothing_else() {
        let policy = Policy::default();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let mut memos = detect::Memos::default();
        let faulty = policy.evaluate(&Faulty, Some(&mut memos));
        std::panic::set_hook(previous);
        let f = faulty.unwrap();
        assert_eq!(f.verdict, Verdict::Error);
        assert!(f.reasons[0].starts_with("analysis failed: simulated fault"), "{:?}", f.reasons);
        // The next event is analysed as usual.
        let ok = crate::event::FieldList(vec![
            (Field::EventCode, "1".into()),
            (Field::CommandLine, "schtasks /create /tn x /tr c:\\x.exe /ru SYSTEM".into()),
        ]);
        assert_eq!(policy.evaluate(&ok, Some(&mut memos)).map(|f| f.verdict), Some(Verdict::Alert));
    }

    /// The parts [`Cuts`] finds in `body` (records from `first`), its bytes arriving `piece` at
    /// a time: each part's (start, end).
    fn cuts_arriving(body: &[u8], first: usize, parts: usize, piece: usize) -> Vec<(usize, usize)> {
        let mut cuts = Cuts::new(body.len(), first, parts);
        let (mut found, mut start, mut arrived) = (Vec::new(), first, first);
        loop {
            while let Some(end) = cuts.next(&body[start..arrived]) {
                found.push((start, end));
                start = end;
            }
            if cuts.done() {
                return found;
            }
            assert!(arrived < body.len(), "all arrived and the cuts not done: {found:?}");
            arrived = (arrived + piece).min(body.len());
        }
    }

    /// Parts cover the records after the header exactly, in order, each ending at a record end
    /// (never at a newline inside quotes), at most the number asked for.
    #[test]
    fn cuts_end_parts_at_record_ends_only() {
        let header = "a,b\n";
        let records = ["1,\"x\ny\"\n", "2,\"\"\"\n\"\"\"\r\n", "3,z\n", "4,\"\n\n\n\"\n", "5,w"];
        let body = format!("{header}{}", records.concat());
        let ends: Vec<usize> =
            records.iter().scan(header.len(), |at, r| Some(std::mem::replace(at, *at + r.len()) + r.len())).collect();
        for parts in [1, 2, 3, 8, 16, 100] {
            let found = cuts_arriving(body.as_bytes(), header.len(), parts, body.len());
            // The same cuts, whatever pieces the body arrives in.
            for piece in [1, 2, 5, 9] {
                assert_eq!(cuts_arriving(body.as_bytes(), header.len(), parts, piece), found, "{parts} parts, {piece}");
            }
            assert!(!found.is_empty() && found.len() <= parts, "{parts} parts: {found:?}");
            assert_eq!(found[0].0, header.len());
            assert_eq!(found.last().map(|p| p.1), Some(body.len()));
            for (part, next) in found.iter().zip(&found[1..]) {
                assert_eq!(part.1, next.0, "contiguous");
                assert!(ends.contains(&part.1), "{parts} parts: cut at {} is inside a record", part.1);
            }
        }
    }

    /// Lengths around the vector widths and around where byte counters are flushed (255
    /// vectors of 32 bytes), quotes dense and sparse: a count that wraps or drops a tail fails.
    #[test]
    fn quotes_are_counted_across_blocks() {
        for len in [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000, 8159, 8160, 8161, 20_000] {
            for every in [1, 2, 7, 300] {
                let bytes: Vec<u8> = (0..len).map(|i| if i % every == 0 { b'"' } else { b'x' }).collect();
                assert_eq!(
                    count_quotes(&bytes),
                    bytes.iter().filter(|&&b| b == b'"').count(),
                    "{len} bytes, every {every}"
                );
            }
        }
    }
}
