//! Suppression of known-good tasks: a lookup CSV the customer edits in Splunk, parsed and
//! compiled once per process. An entry constrains several fields together and can never
//! suppress on the task name alone; a match is written on the event, never dropped silently.

mod pattern;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use pattern::Pattern;

use crate::detect::Finding;
use crate::winpath;

/// Columns every allowlist must have.
pub const COLUMNS: [&str; 8] = ["id", "task_name", "command", "arguments", "creator", "host", "expires", "comment"];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AllowlistError {
    #[error("allowlist {file}: cannot read: {detail}")]
    Read { file: String, detail: String },
    #[error("allowlist {file} line {line}: {detail}")]
    Csv { file: String, line: u64, detail: String },
    #[error("allowlist {file} line 1: missing column {column:?} (columns must include {})", COLUMNS.join(", "))]
    MissingColumn { file: String, column: &'static str },
    #[error("allowlist {file} line {line}: entry {id:?} {detail}")]
    Entry { file: String, line: u64, id: String, detail: String },
    #[error("allowlist {0:?} must be a file name in the app's lookups directory")]
    NotAFileName(String),
    #[error("cannot open lookups directory {dir}: {detail}")]
    LookupsDirectory { dir: String, detail: String },
    #[error("allowlist {name:?}: no app lookups directory next to the executable")]
    NoLookupsDirectory { name: String },
    #[error("allowlist {name:?} not found in {dir}: {detail}")]
    NotFound { name: String, dir: String, detail: String },
    #[error("allowlist {0:?} points outside the app's lookups directory")]
    OutsideLookups(String),
    #[error("allowlist {0:?} is not a file")]
    NotAFile(String),
}

/// A calendar date, for entry expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.trim().splitn(3, '-');
        let (y, m, d) = (it.next()?, it.next()?, it.next()?);
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let date = Date { year: y.parse().ok()?, month: m.parse().ok()?, day: d.parse().ok()? };
        let leap = date.year % 4 == 0 && (date.year % 100 != 0 || date.year % 400 == 0);
        let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        (date.month >= 1 && date.month <= 12 && date.day >= 1 && date.day <= days[date.month as usize - 1])
            .then_some(date)
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Date::from_days((secs / 86_400) as i64)
    }

    /// Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

#[derive(Clone, Debug)]
struct Entry {
    id: String,
    task_name: Option<Pattern>,
    command: Pattern,
    arguments: Option<Pattern>,
    creator: Option<Pattern>,
    host: Option<Pattern>,
}

/// The compiled allowlist.
#[derive(Clone, Debug, Default)]
pub struct Allowlist {
    entries: Vec<Entry>,
    /// Entries whose task-name pattern is literal, by normalized name: most entries, so a lookup
    /// costs one hash probe however long the list grows.
    by_name: HashMap<String, Vec<usize>>,
    /// Entries whose name pattern starts with a literal folder (`\Vendor\Updater*`), by that
    /// folder: an event's name is probed once per folder level.
    by_folder: HashMap<String, Vec<usize>>,
    /// The distinct lengths of `by_folder`'s keys, ascending.
    folder_lengths: Vec<usize>,
    /// Entries without a usable name key whose command is literal, by normalized command.
    by_command: HashMap<String, Vec<usize>>,
    /// Entries that must be tried for every event (no literal name, folder or command).
    scan: Vec<usize>,
    /// Ids of entries skipped because they expired.
    pub expired: Vec<String>,
}

/// Normalized forms of the values entries are compared against.
pub fn normalize_task_name(name: &str) -> String {
    let n = name.trim().trim_matches('"').to_lowercase();
    if n.starts_with('\\') || n.starts_with('*') || n.is_empty() { n } else { format!("\\{n}") }
}

fn normalize_text(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Allowlist {
    pub fn load(path: &Path, today: Date) -> Result<Allowlist, AllowlistError> {
        let mut list = Allowlist::default();
        list.add_file(path, None, today)?;
        Ok(list)
    }

    /// Adds the entries of the file at `path`; with a `label`, their ids are written
    /// `<label>:<id>` so a suppression says which list it came from.
    pub fn add_file(&mut self, path: &Path, label: Option<&str>, today: Date) -> Result<(), AllowlistError> {
        let file = path.display().to_string();
        let bytes =
            std::fs::read(path).map_err(|e| AllowlistError::Read { file: file.clone(), detail: e.to_string() })?;
        self.add(&bytes, &file, label, today)
    }

    pub fn parse(bytes: &[u8], file: &str, today: Date) -> Result<Allowlist, AllowlistError> {
        let mut list = Allowlist::default();
        list.add(bytes, file, None, today)?;
        Ok(list)
    }

    /// Adds a file's entries (after those already there: earlier lists win ties).
    pub fn add(&mut self, bytes: &[u8], file: &str, label: Option<&str>, today: Date) -> Result<(), AllowlistError> {
        let list = self;
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
        let csv_err = |e: csv::Error| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            AllowlistError::Csv { file: file.to_string(), line, detail: e.to_string() }
        };
        let headers = reader.headers().map_err(csv_err)?.clone();
        let mut index = [0usize; COLUMNS.len()];
        for (i, column) in COLUMNS.iter().enumerate() {
            index[i] = headers
                .iter()
                .position(|h| h.trim().trim_start_matches('\u{feff}').eq_ignore_ascii_case(column))
                .ok_or(AllowlistError::MissingColumn { file: file.to_string(), column })?;
        }
        let mut record = csv::StringRecord::new();
        let mut ids: HashMap<String, u64> = HashMap::new();
        while reader.read_record(&mut record).map_err(csv_err)? {
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let get = |c: usize| record.get(index[c]).unwrap_or("").trim();
            let id = get(0).to_string();
            let entry_err =
                |detail: String| AllowlistError::Entry { file: file.to_string(), line, id: id.clone(), detail };
            if id.is_empty() {
                return Err(entry_err("has no id".into()));
            }
            if let Some(first) = ids.insert(id.clone(), line) {
                return Err(entry_err(format!("repeats the id of line {first}")));
            }
            for (c, name) in COLUMNS.iter().enumerate().take(6).skip(1) {
                if get(c).chars().any(char::is_control) {
                    return Err(entry_err(format!("has a control character in {name}")));
                }
            }
            let task_name = Pattern::compile(&normalize_task_name(get(1)));
            let Some(command) = Pattern::compile(&winpath::normalize(get(2))) else {
                let detail = if task_name.is_some() {
                    "constrains the task name alone: add a command pattern (the program the task runs)"
                } else {
                    "has no command pattern: every entry must pin the program the task runs"
                };
                return Err(entry_err(detail.into()));
            };
            if let Some(detail) = unpinned_program(get(2), get(3)) {
                return Err(entry_err(detail));
            }
            let expires = get(6);
            if !expires.is_empty() {
                let date = Date::parse(expires)
                    .ok_or_else(|| entry_err(format!("has a bad expiry date {expires:?} (expected YYYY-MM-DD)")))?;
                if date < today {
                    list.expired.push(labelled(label, &id));
                    continue;
                }
            }
            let entry = Entry {
                id: labelled(label, &id),
                task_name,
                command,
                arguments: Pattern::compile(&winpath::normalize(get(3))),
                creator: Pattern::compile(&normalize_text(get(4))),
                host: Pattern::compile(&normalize_text(get(5))),
            };
            let at = list.entries.len();
            let folder = entry
                .task_name
                .as_ref()
                .map(|p| p.literal_prefix())
                .and_then(|prefix| prefix.rfind('\\').map(|i| &prefix[..=i]));
            if let Some(name) = entry.task_name.as_ref().and_then(Pattern::literal) {
                list.by_name.entry(name.to_string()).or_default().push(at);
            } else if let Some(folder) = folder {
                list.by_folder.entry(folder.to_string()).or_default().push(at);
            } else if let Some(command) = entry.command.literal() {
                list.by_command.entry(command.to_string()).or_default().push(at);
            } else {
                list.scan.push(at);
            }
            list.entries.push(entry);
        }
        list.folder_lengths = list.by_folder.keys().map(String::len).collect();
        list.folder_lengths.sort_unstable();
        list.folder_lengths.dedup();
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn labelled(label: Option<&str>, id: &str) -> String {
    match label {
        Some(label) => format!("{label}:{id}"),
        None => id.to_string(),
    }
}

/// Programs that run whatever their arguments say (shells, script hosts, loaders, Defender's
/// command-line tool with its download option...): an entry for one must pin the arguments too,
/// or it would suppress any use of the program under that task name.
const DUAL_USE: &[&str] = &[
    "cmd.exe",
    "powershell.exe",
    "pwsh.exe",
    "powershell_ise.exe",
    "wscript.exe",
    "cscript.exe",
    "mshta.exe",
    "rundll32.exe",
    "regsvr32.exe",
    "msiexec.exe",
    "mpcmdrun.exe",
    "bitsadmin.exe",
    "certutil.exe",
    "conhost.exe",
    "forfiles.exe",
    "schtasks.exe",
    "wmic.exe",
    "msbuild.exe",
    "installutil.exe",
    "regasm.exe",
    "regsvcs.exe",
    "sc.exe",
    "reg.exe",
    "bash.exe",
    "wsl.exe",
    "python.exe",
    "pythonw.exe",
    "node.exe",
    "curl.exe",
    "explorer.exe",
];

/// Whether a pattern pins what it matches: it has no wildcard, or at least 4 characters other
/// than wildcards, separators, dots and a final program extension.
fn pins(pattern: &str) -> bool {
    !pattern.contains(['*', '?']) || literal_chars(pattern) >= 4
}

/// How many characters a pattern pins: its characters other than wildcards, separators, dots
/// and a final program extension.
fn literal_chars(pattern: &str) -> usize {
    let lower = pattern.to_ascii_lowercase();
    let stem = [".exe", ".com", ".bat", ".cmd"].iter().find_map(|e| lower.strip_suffix(e)).unwrap_or(&lower);
    stem.chars().filter(|c| !matches!(c, '*' | '?' | '\\' | '/' | '.' | '"' | ' ')).count()
}

/// Why an entry's program is not pinned, if it is not. The rule: a command pattern with
/// wildcards holds at least 4 characters besides wildcards, separators, dots and a `.exe`-style
/// extension (so `*.exe`, `*` or `c:\*` are refused; `*\MpCmdRun.exe` is not), and an entry
/// for a dual-use program ([`DUAL_USE`]) pins its non-empty arguments the same way.
fn unpinned_program(command: &str, arguments: &str) -> Option<String> {
    if !pins(command) {
        return Some(format!(
            "has command pattern {command:?}, which names no program: give the program's file name or folder (4 characters or more besides wildcards)"
        ));
    }
    let normalized = winpath::normalize(command);
    let file = normalized.rsplit('\\').next().unwrap_or(&normalized);
    if DUAL_USE.contains(&file) && (arguments.trim().is_empty() || !pins(arguments)) {
        return Some(format!(
            "runs {file}, a program that does whatever its arguments say: pin the arguments too (4 characters or more besides wildcards)"
        ));
    }
    None
}

/// The entries filed under `key`.
fn probe<'a>(map: &'a HashMap<String, Vec<usize>>, key: &str) -> &'a [usize] {
    map.get(key).map(Vec::as_slice).unwrap_or(&[])
}

impl Allowlist {
    /// The id of the first entry (in file order) that matches every non-empty column.
    pub fn matching(&self, finding: &Finding) -> Option<&str> {
        use std::cell::OnceCell;
        let task = &finding.task;
        let name = normalize_task_name(task.name.as_deref().unwrap_or(""));
        // Command and arguments come normalized once per task definition from detection; the
        // other columns are normalized only when an entry needs them.
        let action = finding.normalized_action();
        let (command, arguments) = (action.command.as_str(), action.arguments.as_str());
        let creator = OnceCell::new();
        let creator = || creator.get_or_init(|| normalize_text(task.creator.as_deref().unwrap_or(""))).as_str();
        let host = OnceCell::new();
        let host = || host.get_or_init(|| normalize_text(finding.host.as_deref().unwrap_or(""))).as_str();
        // An entry covers a task only when it covers every action: an action added to an
        // allowed task (a known way to hide one) keeps the alert.
        let matches = |e: &Entry| {
            e.command.matches(command)
                && e.task_name.as_ref().is_none_or(|p| p.matches(&name))
                && e.arguments.as_ref().is_none_or(|p| p.matches(arguments))
                && action
                    .more
                    .iter()
                    .all(|(c, a)| e.command.matches(c) && e.arguments.as_ref().is_none_or(|p| p.matches(a)))
                && e.creator.as_ref().is_none_or(|p| p.matches(creator()))
                && e.host.as_ref().is_none_or(|p| p.matches(host()))
        };
        // The folders the name lies in that entries name: only prefixes of the lengths the
        // entries' folders have are probed, so a name of thousands of `\` costs a few probes,
        // not one hash per `\`.
        let folders = self
            .folder_lengths
            .iter()
            .filter(|&&len| name.len() >= len && name.as_bytes()[len - 1] == b'\\' && name.is_char_boundary(len))
            .flat_map(|&len| probe(&self.by_folder, &name[..len]));
        let by_command = if self.by_command.is_empty() { &[][..] } else { probe(&self.by_command, command) };
        probe(&self.by_name, &name)
            .iter()
            .chain(folders)
            .chain(by_command)
            .chain(&self.scan)
            .copied()
            .filter(|&i| matches(&self.entries[i]))
            .min()
            .map(|i| self.entries[i].id.as_str())
    }
}

/// The app's `lookups/` directory, found from the executable's own location: the binary lives in
/// `<app>/bin/` or `<app>/<platform>/bin/`.
pub fn app_lookups_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let mut dir = exe.parent()?;
    for _ in 0..3 {
        let candidate = dir.join("lookups");
        if candidate.is_dir() && dir.join("default").is_dir() {
            return Some(candidate);
        }
        dir = dir.parent()?;
    }
    None
}

/// Whether `name` can only name a file directly inside a directory: no separator of either
/// system, no `..`, no drive or stream (`:`), no control character, not empty. (Without a
/// separator or a `:`, no path is absolute on either system.)
pub fn is_file_name(name: &str) -> bool {
    !(name.is_empty()
        || name.contains(['/', '\\', ':'])
        || name.contains("..")
        || name == "."
        || name.chars().any(char::is_control))
}

/// Resolves a lookup file name inside `lookups`, refusing anything that leaves the directory
/// (including links that point outside it).
pub fn resolve_in(lookups: &Path, name: &str) -> Result<PathBuf, AllowlistError> {
    if !is_file_name(name) {
        return Err(AllowlistError::NotAFileName(name.to_string()));
    }
    let dir = lookups
        .canonicalize()
        .map_err(|e| AllowlistError::LookupsDirectory { dir: lookups.display().to_string(), detail: e.to_string() })?;
    let path = dir.join(name);
    let real = path.canonicalize().map_err(|e| AllowlistError::NotFound {
        name: name.to_string(),
        dir: dir.display().to_string(),
        detail: e.to_string(),
    })?;
    if !real.starts_with(&dir) {
        return Err(AllowlistError::OutsideLookups(name.to_string()));
    }
    if !real.is_file() {
        return Err(AllowlistError::NotAFile(name.to_string()));
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{TaskInfo, Verdict};

    const TODAY: Date = Date { year: 2026, month: 11, day: 28 };
    const HEADER: &str = "id,task_name,command,arguments,creator,host,expires,comment\n";

    fn finding(name: &str, command: &str, creator: &str) -> Finding {
        Finding {
            verdict: Verdict::Alert,
            reasons: vec![],
            task: TaskInfo {
                name: Some(name.into()),
                command: Some(command.into()),
                creator: Some(creator.into()),
                ..TaskInfo::default()
            },
            host: Some("WS1".into()),
            suppressed_by: None,
            normalized: None,
        }
    }

    fn list(rows: &str) -> Result<Allowlist, AllowlistError> {
        Allowlist::parse(format!("{HEADER}{rows}").as_bytes(), "test.csv", TODAY)
    }

    /// Names that reach into another directory, a drive or a stream are not file names, on
    /// either system; the shipped names and names in any script are.
    #[test]
    fn file_names_table() {
        let cases = [
            ("systemtask_allowlist_site.csv", true),
            ("ausnahmen_für_server.csv", true),
            ("", false),
            (".", false),
            ("..", false),
            ("../x.csv", false),
            ("..\\x.csv", false),
            ("sub/x.csv", false),
            ("/etc/passwd", false),
            ("C:x.csv", false),
            ("x.csv:stream", false),
            ("x\0.csv", false),
            ("x\n.csv", false),
        ];
        for (name, want) in cases {
            assert_eq!(is_file_name(name), want, "{name:?}");
        }
    }

    #[test]
    fn matching_is_precise() {
        let l = list(
            "g1,\\GoogleUpdateTaskMachine*,%ProgramFiles(x86)%\\Google\\Update\\GoogleUpdate.exe,,,,,Google\n\
             w1,\\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan,%systemroot%\\system32\\usoclient.exe,StartScan,*$,,2027-01-01,Windows\n",
        )
        .unwrap();
        let cases = [
            (
                finding(
                    "\\GoogleUpdateTaskMachineUA",
                    "C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe",
                    "X",
                ),
                Some("g1"),
            ),
            (finding("\\GoogleUpdateTaskMachineUA", "C:\\Users\\Public\\GoogleUpdate.exe", "X"), None),
            (
                finding(
                    "\\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan",
                    "C:\\Windows\\system32\\usoclient.exe",
                    "CORP\\WS1$",
                ),
                None,
            ),
            (finding("\\EvilTask", "C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe", "X"), None),
        ];
        for (f, want) in cases {
            assert_eq!(l.matching(&f), want, "{:?}", f.task);
        }
        let mut with_args = finding(
            "\\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan",
            "C:\\Windows\\system32\\usoclient.exe",
            "CORP\\WS1$",
        );
        with_args.task.arguments = Some("StartScan".into());
        assert_eq!(l.matching(&with_args), Some("w1"));
        with_args.task.creator = Some("CORP\\alice".into());
        assert_eq!(l.matching(&with_args), None);
    }

    #[test]
    fn every_index_finds_its_entries() {
        let l = list(
            "lit,\\A\\B,c:\\x.exe,,,,,\n\
             folder,\\A\\C*,c:\\x.exe,,,,,\n\
             cmd,,c:\\y.exe,,,,,\n\
             scan,*z,c:\\tool*\\*.exe,,,,,\n",
        )
        .unwrap();
        assert_eq!((l.by_name.len(), l.by_folder.len(), l.by_command.len(), l.scan.len()), (1, 1, 1, 1));
        let cases = [
            ("\\A\\B", "c:\\x.exe", Some("lit")),
            ("\\A\\Cat", "c:\\x.exe", Some("folder")),
            ("\\Q", "c:\\y.exe", Some("cmd")),
            ("\\Qz", "c:\\tools\\q.exe", Some("scan")),
            ("\\A\\D", "c:\\x.exe", None),
        ];
        for (name, command, want) in cases {
            assert_eq!(l.matching(&finding(name, command, "X")), want, "{name} {command}");
        }
    }

    #[test]
    fn refusals_name_the_line() {
        let cases = [
            ("n1,\\SomeTask,,,,,,name only\n", "line 2: entry \"n1\" constrains the task name alone"),
            ("n1,\\SomeTask,*,,,,,star\n", "constrains the task name alone"),
            (
                "x1,\\SomeTask,*.exe,,,,,any exe\n",
                "line 2: entry \"x1\" has command pattern \"*.exe\", which names no program",
            ),
            ("x2,,c:\\*,,,,,a drive\n", "which names no program"),
            (
                "d1,\\T,%windir%\\system32\\rundll32.exe,,,,,no args\n",
                "runs rundll32.exe, a program that does whatever",
            ),
            ("d2,\\T,*\\MpCmdRun.exe,*,,,,any args\n", "runs mpcmdrun.exe"),
            (",\\SomeTask,x.exe,,,,,\n", "has no id"),
            ("a,\\x,x.exe,,,,2026-13-01,\n", "bad expiry date \"2026-13-01\""),
            ("a,\\x,x.exe,,,,tomorrow,\n", "bad expiry date"),
            ("a,\\x,x.exe,,,,,\na,\\y,y.exe,,,,,\n", "line 3: entry \"a\" repeats the id of line 2"),
            ("a,\\x,x.exe\n", "line 2"),
        ];
        for (rows, want) in cases {
            let err = list(rows).unwrap_err().to_string();
            assert!(err.contains(want), "{rows:?}: {err}");
        }
        let err = Allowlist::parse(b"id,task_name\n", "t.csv", TODAY).unwrap_err().to_string();
        assert!(err.contains("missing column \"command\""), "{err}");
    }

    #[test]
    fn expired_entries_are_skipped_and_reported() {
        let l = list("old,\\x,x.exe,,,,2020-01-01,\nnew,\\x,x.exe,,,,2030-01-01,\n").unwrap();
        assert_eq!(l.expired, ["old"]);
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn dates() {
        assert_eq!(Date::from_days(0), Date { year: 1970, month: 1, day: 1 });
        assert_eq!(Date::from_days(20_785), Date { year: 2026, month: 11, day: 28 });
        assert_eq!(Date::parse("2024-02-29"), Some(Date { year: 2024, month: 2, day: 29 }));
        assert_eq!(Date::parse("2023-02-29"), None);
    }
}
