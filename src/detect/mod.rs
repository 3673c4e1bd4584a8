//! Detection: decides, for one event, whether it creates, updates or enables a scheduled task
//! that runs as SYSTEM, and describes the task for triage. No I/O: events come in through
//! [`EventFields`], findings go out as plain data.

pub mod accounts;
pub mod casefold;
pub mod cmdline;
pub mod indicators;
mod memo;
pub mod powershell;
mod process;
mod task_event;
pub mod taskxml;

use std::borrow::Cow;
use std::sync::Arc;

use crate::event::{EventFields, Field, WithRaw};

pub use accounts::Privilege;
use process::ProcessMemo;
use task_event::TaskXmlMemo;

/// The verdict written to `systemtask_verdict`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Created, updated or enabled to run as SYSTEM.
    Alert,
    /// Would be an alert, but an allowlist entry matched.
    Suppressed,
    /// About a scheduled task, but not an alert.
    Benign,
    /// The event could not be analysed (a fault in the analysis); it passes through marked.
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Alert => "alert",
            Verdict::Suppressed => "suppressed",
            Verdict::Benign => "benign",
            Verdict::Error => "error",
        }
    }
}

/// Text of a finding. Up to 23 bytes it is held inline, with no allocation (accounts, hosts,
/// run levels, trigger kinds, most command-line arguments); longer, it is shared rather than
/// copied, as an `Arc<str>` is: every event that carries the same task definition reads the
/// strings derived from it once (see `task_event`).
pub type Text = smol_str::SmolStr;

/// What the event says about the task. Every field is optional: it is written when known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskInfo {
    pub name: Option<Text>,
    pub action: Option<&'static str>,
    pub run_as: Option<Text>,
    pub privilege: Option<Privilege>,
    pub run_level: Option<Text>,
    /// The first action: its program (or `COM handler {CLSID}`) and arguments.
    pub command: Option<Text>,
    pub arguments: Option<Text>,
    /// Every further action, in order. A task runs all of them, so an allowlist entry covers a
    /// task only when it covers each (an action added to a Windows task is a known way to hide).
    pub more_actions: Vec<Action>,
    pub triggers: Vec<Text>,
    pub hidden: Option<bool>,
    pub author: Option<Text>,
    pub creator: Option<Text>,
    pub remote: Option<bool>,
    pub evidence: Option<&'static str>,
    pub indicators: Vec<&'static str>,
}

/// One action of a task: the program it starts (or `COM handler {CLSID}`) and its arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Action {
    pub command: Option<Text>,
    pub arguments: Option<Text>,
}

/// The result for an event about a scheduled task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub verdict: Verdict,
    /// Why, in an analyst's words; most are fixed phrases, borrowed rather than allocated.
    pub reasons: Vec<Cow<'static, str>>,
    pub task: TaskInfo,
    /// The host the event came from, for allowlist entries that name hosts.
    pub host: Option<Text>,
    /// The allowlist entry that suppressed it.
    pub suppressed_by: Option<String>,
    /// `task`'s command and arguments normalized, when detection already derived them (shared
    /// by every event of one task definition); whoever needs them derives them otherwise.
    pub normalized: Option<Arc<NormalizedAction>>,
}

impl Finding {
    pub fn new(verdict: Verdict, reason: impl Into<Cow<'static, str>>, task: TaskInfo) -> Self {
        Finding { verdict, reasons: vec![reason.into()], task, host: None, suppressed_by: None, normalized: None }
    }

    /// The task's command and arguments normalized: the shared copy, or derived now.
    pub fn normalized_action(&self) -> Cow<'_, NormalizedAction> {
        match &self.normalized {
            Some(n) => Cow::Borrowed(n),
            None => Cow::Owned(NormalizedAction::of(&self.task)),
        }
    }
}

/// A task's program and arguments in the one comparable spelling of [`crate::winpath::normalize`],
/// read by the triage indicators and by the allowlist.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NormalizedAction {
    pub command: String,
    pub arguments: String,
    /// [`TaskInfo::more_actions`], each as (command, arguments).
    pub more: Vec<(String, String)>,
}

impl NormalizedAction {
    pub fn of(task: &TaskInfo) -> Self {
        let normalize = |text: &Option<Text>| crate::winpath::normalize(text.as_deref().unwrap_or(""));
        NormalizedAction {
            command: normalize(&task.command),
            arguments: normalize(&task.arguments),
            more: task.more_actions.iter().map(|a| (normalize(&a.command), normalize(&a.arguments))).collect(),
        }
    }

    /// Every action's (command, arguments), the first one first.
    pub fn all(&self) -> impl Iterator<Item = (&str, &str)> {
        std::iter::once((self.command.as_str(), self.arguments.as_str()))
            .chain(self.more.iter().map(|(c, a)| (c.as_str(), a.as_str())))
    }
}

pub const MITRE_TECHNIQUE: &str = "T1053.005";
pub const SEVERITY: &str = "medium";

/// Event codes this detection reads.
const TASK_EVENTS: [u32; 5] = [4698, 4699, 4700, 4701, 4702];
const PROCESS_EVENTS: [u32; 2] = [1, 4688];

/// Analyzes one event. `None` means the event is not about scheduled tasks: it passes through
/// untouched. The cost for such events is one field lookup (or a `_raw` scan for the event
/// code when no event-code field exists).
pub fn analyze<E: EventFields + ?Sized>(event: &E) -> Option<Finding> {
    analyze_with(event, None)
}

/// What the analysis remembers on one thread, from event to event: task definitions and task
/// programs' command lines, each by content. A finding read from memory is the one the text
/// would give again.
#[derive(Default)]
pub struct Memos {
    task: TaskXmlMemo,
    process: ProcessMemo,
}

/// [`analyze`], remembering what each distinct task XML and command line says in `memos`.
pub fn analyze_with<E: EventFields + ?Sized>(event: &E, memos: Option<&mut Memos>) -> Option<Finding> {
    let view = WithRaw::new(event);
    let (task, process) = match memos {
        Some(Memos { task, process }) => (Some(task), Some(process)),
        None => (None, None),
    };
    let mut finding = match view.event_code() {
        Some(c) if TASK_EVENTS.contains(&c) => task_event::analyze(&view, c, task),
        Some(c) if PROCESS_EVENTS.contains(&c) => process::analyze(&view, Some(c), process),
        Some(_) => None,
        // CIM process events carry no event code, only a command line.
        None if event.has(Field::CommandLine) => process::analyze(&view, None, process),
        None => None,
    }?;
    finding.host = view.get(Field::Computer).or_else(|| view.get(Field::Host)).map(|h| Text::from(&*h));
    Some(finding)
}

/// The reason that closes an alert: what happened to the task.
fn action_reason(action: &str) -> &'static str {
    match action {
        "created" => "task created",
        "updated" => "task updated",
        "enabled" => "task enabled",
        "deleted" => "task deleted",
        "disabled" => "task disabled",
        _ => "task changed",
    }
}

/// Joins parts into one [`Text`] with a single allocation (the parts are assembled on the stack
/// when short, as account names are).
fn concat_text(parts: &[&str]) -> Text {
    let mut buf = [0u8; 256];
    let mut len = 0;
    for part in parts {
        let Some(slot) = buf.get_mut(len..len + part.len()) else { return Text::from(parts.concat()) };
        slot.copy_from_slice(part.as_bytes());
        len += part.len();
    }
    // Whole strings joined are valid UTF-8.
    std::str::from_utf8(&buf[..len]).map_or_else(|_| Text::from(parts.concat()), Text::from)
}

/// The creator as `DOMAIN\user`, from the subject fields.
fn subject_account<V: EventFields + ?Sized>(view: &V) -> Option<Text> {
    let user = view.get(Field::SubjectUserName)?;
    match view.get(Field::SubjectDomainName) {
        Some(domain) if !domain.is_empty() && domain != "-" => Some(concat_text(&[&domain, "\\", &user])),
        _ => Some(Text::from(&*user)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::FieldList;

    /// Events that share a command line but differ in what else the finding depends on: the
    /// program's image and original name, the runner (named, SYSTEM, absent), the event code.
    fn event(line: &str, image: &str, original: &str, user: &str, code: &str) -> FieldList {
        FieldList(vec![
            (Field::EventCode, code.into()),
            (Field::CommandLine, line.into()),
            (Field::Image, image.into()),
            (Field::OriginalFileName, original.into()),
            (Field::ProcessUser, user.into()),
            (Field::SubjectUserSid, if code == "4688" { "S-1-5-18".into() } else { String::new() }),
            (Field::Computer, "WS1".into()),
        ])
    }

    const LINES: [&str; 5] = [
        "schtasks /create /tn x /tr c:\\x.exe",
        "schtasks /create /tn x /tr c:\\x.exe /ru SYSTEM",
        "cmd /c schtasks /change /tn x /enable & echo",
        "powershell -c \"Register-ScheduledTask x -Action $a\"",
        "cmd /c echo hi",
    ];
    const IMAGES: [&str; 4] =
        ["C:\\Windows\\System32\\schtasks.exe", "C:\\Windows\\System32\\cmd.exe", "C:\\Temp\\x.exe", ""];
    const ORIGINALS: [&str; 2] = ["", "schtasks.exe"];
    const USERS: [&str; 3] = ["CORP\\bob", "NT AUTHORITY\\SYSTEM", ""];
    const CODES: [&str; 2] = ["1", "4688"];

    proptest::proptest! {
        /// Whatever came before, an event read with memories gets the finding it gets alone.
        #[test]
        fn remembered_findings_are_the_findings(
            events in proptest::collection::vec((0..LINES.len(), 0..IMAGES.len(), 0..ORIGINALS.len(), 0..USERS.len(), 0..CODES.len()), 1..40)
        ) {
            let mut memos = Memos::default();
            for (l, i, o, u, c) in events {
                let e = event(LINES[l], IMAGES[i], ORIGINALS[o], USERS[u], CODES[c]);
                proptest::prop_assert_eq!(analyze_with(&e, Some(&mut memos)), analyze(&e), "{:?}", e.0);
            }
        }
    }
}
