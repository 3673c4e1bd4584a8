//! Security events 4698-4702: the task XML's principal decides.

use std::borrow::Cow;
use std::sync::Arc;

use super::accounts::{self, Privilege};
use super::memo::{Derived, Memo};
use super::{Action, Finding, NormalizedAction, TaskInfo, Text, Verdict, indicators, subject_account, taskxml};
use crate::event::{EventFields, Field};

/// What a task definition says, independent of the event that carried it: derived once per
/// distinct XML text (see [`Memo`]).
#[derive(Clone)]
pub(super) struct Described {
    /// `None` when the text holds no task definition.
    task: Option<TaskInfo>,
    uri: Option<Text>,
    reason: Cow<'static, str>,
    normalized: Option<Arc<NormalizedAction>>,
}

impl Described {
    fn none(reason: &'static str) -> Described {
        Described { task: None, uri: None, reason: reason.into(), normalized: None }
    }
}

/// Remembered task definitions (1,024 at most), and the buffers a new one is decoded and read
/// into.
pub struct TaskXmlMemo {
    memo: Memo<Described>,
    text: String,
    reader: taskxml::Reader,
    actions: ActionMemo,
}

impl Default for TaskXmlMemo {
    fn default() -> Self {
        TaskXmlMemo {
            memo: Memo::with_capacity(1024),
            text: String::new(),
            reader: taskxml::Reader::default(),
            actions: ActionMemo::default(),
        }
    }
}

/// What a task's actions say, which depends on them alone: their normalized spelling and the
/// indicators they raise.
struct ActionFacts {
    normalized: Arc<NormalizedAction>,
    indicators: Vec<&'static str>,
}

/// Remembered action facts (1,024 at most), by the actions' text. A fleet's per-user and
/// per-host tasks (an updater's, a sync client's, a deployment's) differ from host to host in
/// their principal, author, URI or date, so their definitions miss the definition memo, while
/// they run the same program with the same arguments everywhere.
struct ActionMemo {
    memo: Memo<ActionFacts>,
    key: Vec<u8>,
}

impl Default for ActionMemo {
    fn default() -> Self {
        ActionMemo { memo: Memo::with_capacity(1024), key: Vec::new() }
    }
}

/// The facts of `task`'s actions, from `memo` when the same actions were seen before.
fn action_facts(task: &TaskInfo, memo: Option<&mut ActionMemo>) -> Arc<ActionFacts> {
    let derive = || {
        let normalized = NormalizedAction::of(task);
        let indicators = indicators::for_actions(task, &normalized);
        ActionFacts { normalized: Arc::new(normalized), indicators }
    };
    let Some(memo) = memo else { return Arc::new(derive()) };
    // Every action's command and arguments, each ended by 0xFF, which UTF-8 never holds: two
    // lists of actions make the same key only when they are the same. An absent value reads as
    // empty, as it does for the facts.
    memo.key.clear();
    let first = std::iter::once((&task.command, &task.arguments));
    for (command, arguments) in first.chain(task.more_actions.iter().map(|a| (&a.command, &a.arguments))) {
        for text in [command, arguments] {
            memo.key.extend_from_slice(text.as_deref().unwrap_or("").as_bytes());
            memo.key.push(0xFF);
        }
    }
    memo.memo.get_or_derive_keyed(&memo.key, derive).into_arc()
}

/// Names the actions after the first, which the command column does not show.
fn more_actions_reason(task: &TaskInfo) -> String {
    let mut out = format!("{} actions; also runs", task.more_actions.len() + 1);
    for (i, action) in task.more_actions.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { "; " });
        out.push_str(action.command.as_deref().unwrap_or("(no command)"));
        if let Some(arguments) = action.arguments.as_deref().filter(|a| !a.is_empty()) {
            out.push(' ');
            out.push_str(arguments);
        }
    }
    out
}

fn describe(text: &str, reader: &mut taskxml::Reader, action_memo: Option<&mut ActionMemo>) -> Described {
    let Some(xml) = reader.parse(text) else {
        return Described::none("task XML unreadable");
    };
    let text_of = |value: &Option<taskxml::Value<'_>>| value.as_deref().map(Text::from);
    let mut task = TaskInfo::default();
    let (privilege, reason) = match xml.effective_principal() {
        Some(p) => {
            task.run_level = text_of(&p.run_level);
            match (&p.user_id, &p.group_id) {
                (Some(user), _) => {
                    task.run_as = text_of(&p.user_id);
                    (accounts::classify(user), ["principal ", user].concat().into())
                }
                (None, Some(group)) => {
                    task.run_as = text_of(&p.group_id);
                    (Privilege::Group, ["group principal ", group].concat().into())
                }
                (None, None) => (Privilege::Unknown, "principal names no user or group".into()),
            }
        }
        None if xml.truncated => (Privilege::Unknown, "principal not visible: task XML truncated".into()),
        None => (Privilege::Unknown, "task XML has no principal".into()),
    };
    task.privilege = Some(privilege);
    // Every action, Exec ones then COM handlers: the first is the task's command, the others
    // are kept beside it; a task runs them all.
    let exec = xml.exec.iter().map(|e| Action { command: text_of(&e.command), arguments: text_of(&e.arguments) });
    let com = xml
        .com_handlers
        .iter()
        .map(|class_id| Action { command: Some(super::concat_text(&["COM handler ", class_id])), arguments: None });
    let mut actions = exec.chain(com);
    if let Some(first) = actions.next() {
        task.command = first.command;
        task.arguments = first.arguments;
    }
    task.more_actions = actions.collect();
    task.triggers = xml.triggers;
    task.hidden = xml.hidden;
    task.author = text_of(&xml.author);
    let facts = action_facts(&task, action_memo);
    task.indicators = indicators::for_action_with(&task, &facts.indicators);
    let uri = text_of(&xml.uri);
    Described { task: Some(task), uri, reason, normalized: Some(Arc::clone(&facts.normalized)) }
}

pub(super) fn analyze<V: EventFields + ?Sized>(view: &V, code: u32, memo: Option<&mut TaskXmlMemo>) -> Option<Finding> {
    let action = match code {
        4698 => "created",
        4699 => "deleted",
        4700 => "enabled",
        4701 => "disabled",
        _ => "updated",
    };
    let (first, second) = if code == 4702 {
        (Field::TaskContentNew, Field::TaskContent)
    } else {
        (Field::TaskContent, Field::TaskContentNew)
    };
    let field = if view.has(first) { first } else { second };
    let described = match (view.stored(field), memo) {
        // Remembered by the stored bytes: a repeated definition is neither decoded nor parsed.
        (Some(stored), Some(memo)) => memo.memo.get_or_derive_keyed(stored, || {
            if view.get_into(field, &mut memo.text) {
                describe(&memo.text, &mut memo.reader, Some(&mut memo.actions))
            } else {
                Described::none("no task XML in the event")
            }
        }),
        _ => Derived::Fresh(match view.get(field) {
            Some(text) => describe(&text, &mut taskxml::Reader::default(), None),
            None => Described::none("no task XML in the event"),
        }),
    };
    // A definition the memo does not keep is this event's alone: moved out, not copied.
    let described = described.into_owned();
    let has_task = described.task.is_some();
    let mut task =
        described.task.unwrap_or_else(|| TaskInfo { privilege: Some(Privilege::Unknown), ..TaskInfo::default() });
    task.action = Some(action);
    task.evidence = Some("task_xml");
    task.name = view.get(Field::TaskName).map(|v| Text::from(&*v)).or(described.uri);
    task.creator = subject_account(view);
    task.remote = remote_creation(view);
    let normalized = described.normalized;
    let no_action = NormalizedAction::default();
    let paths = normalized.as_deref().unwrap_or(&no_action);
    task.indicators.extend(indicators::for_context(task.name.as_deref(), paths, task.remote, false));
    // Room for the principal, the action and an allowlist entry without growing.
    let mut reasons = Vec::with_capacity(3);
    reasons.push(described.reason);
    if !task.more_actions.is_empty() {
        reasons.push(more_actions_reason(&task).into());
    }
    if !has_task {
        return Some(Finding { verdict: Verdict::Benign, reasons, task, host: None, suppressed_by: None, normalized });
    }

    let in_scope = matches!(code, 4698 | 4700 | 4702);
    let mut verdict =
        if in_scope && task.privilege == Some(Privilege::System) { Verdict::Alert } else { Verdict::Benign };
    // Enabling changes neither who a task runs as nor what it runs. When SYSTEM itself does it
    // (Windows servicing re-enabling its own tasks), no account gains anything: describe it,
    // do not alert. An enable by any other account still alerts.
    if verdict == Verdict::Alert && code == 4700 && enabled_by_system(view) {
        verdict = Verdict::Benign;
        reasons.push("enabled by SYSTEM itself: state change only".into());
    }
    if verdict == Verdict::Alert {
        reasons.push(super::action_reason(action).into());
    }
    Some(Finding { verdict, reasons, task, host: None, suppressed_by: None, normalized })
}

fn enabled_by_system<V: EventFields + ?Sized>(view: &V) -> bool {
    view.get(Field::SubjectUserSid).is_some_and(|s| accounts::is_system(&s))
        || view.get(Field::SubjectLogonId).is_some_and(|l| accounts::is_system_logon_id(&l))
}

/// Windows 10 1903+ records where the request came from: both `0` means another machine.
fn remote_creation<V: EventFields + ?Sized>(view: &V) -> Option<bool> {
    let locality = view.get(Field::RpcCallClientLocality)?;
    let pid = view.get(Field::ClientProcessId)?;
    Some(locality.trim() == "0" && pid.trim() == "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(user: &str, hidden: bool, run_level: &str, exec: &[(&str, &str)]) -> String {
        let exec: String = exec
            .iter()
            .map(|(c, a)| format!("<Exec><Command>{c}</Command><Arguments>{a}</Arguments></Exec>"))
            .collect();
        format!(
            "<Task><Principals><Principal id=\"A\"><UserId>{user}</UserId><RunLevel>{run_level}</RunLevel>\
             </Principal></Principals><Settings><Hidden>{hidden}</Hidden></Settings>\
             <Actions Context=\"A\">{exec}</Actions></Task>"
        )
    }

    /// Definitions that share actions but not their principal or settings, and actions that
    /// differ only in where the command ends and its arguments begin: with one action memo
    /// across all of them, each reads exactly as it does alone.
    #[test]
    fn remembered_actions_read_as_fresh_ones() {
        let update = ("C:\\ProgramData\\upd.exe", "/silent");
        let shell = ("powershell.exe", "-enc SQBFAFgA");
        let documents = [
            definition("S-1-5-18", false, "LeastPrivilege", &[update]),
            definition("CORP\\alice", true, "HighestAvailable", &[update]),
            definition("S-1-5-18", true, "HighestAvailable", &[update, shell]),
            definition("S-1-5-18", false, "LeastPrivilege", &[shell, update]),
            definition("S-1-5-18", false, "LeastPrivilege", &[("powershell.exe -enc", "SQBFAFgA")]),
            definition("S-1-5-18", false, "LeastPrivilege", &[("powershell.exe", "-enc SQBFAFgA")]),
            definition("S-1-5-18", false, "LeastPrivilege", &[("powershell.exe", "-File C:\\Scripts\\x.ps1")]),
            definition("S-1-5-18", false, "LeastPrivilege", &[("", "")]),
            definition("S-1-5-18", false, "LeastPrivilege", &[]),
        ];
        let (mut memo, mut reader) = (ActionMemo::default(), taskxml::Reader::default());
        for round in 0..2 {
            for document in &documents {
                let fresh = describe(document, &mut taskxml::Reader::default(), None);
                let remembered = describe(document, &mut reader, Some(&mut memo));
                let (fresh_task, remembered_task) = (fresh.task.unwrap(), remembered.task.unwrap());
                assert_eq!(remembered_task.indicators, fresh_task.indicators, "round {round}: {document}");
                assert_eq!(remembered.normalized, fresh.normalized, "round {round}: {document}");
                assert_eq!(remembered_task, fresh_task, "round {round}: {document}");
            }
        }
        // The first task and the third (hidden, two actions) share an action, not indicators.
        let two = describe(&documents[2], &mut reader, Some(&mut memo)).task.unwrap().indicators;
        assert!(two.contains(&"multiple_actions") && two.contains(&"encoded_or_hidden_powershell"), "{two:?}");
        assert!(
            !describe(&documents[0], &mut reader, Some(&mut memo)).task.unwrap().indicators.contains(&"hidden_task")
        );
    }
}
