//! Security events 4698-4702: the task XML's principal decides.

use super::accounts::{self, Privilege};
use super::fields::{EventFields, Field};
use super::{Finding, TaskInfo, Verdict, WithRaw, indicators, subject_account, taskxml};

pub(super) fn analyze<E: EventFields + ?Sized>(view: &WithRaw<'_, E>, code: u32) -> Option<Finding> {
    let action = match code {
        4698 => "created",
        4699 => "deleted",
        4700 => "enabled",
        4701 => "disabled",
        _ => "updated",
    };
    let mut task = TaskInfo { action: Some(action), evidence: Some("task_xml"), ..TaskInfo::default() };
    task.name = view.get(Field::TaskName).map(|v| v.into_owned());
    task.creator = subject_account(view);
    task.remote = remote_creation(view);

    let content = if code == 4702 {
        view.get(Field::TaskContentNew).or_else(|| view.get(Field::TaskContent))
    } else {
        view.get(Field::TaskContent).or_else(|| view.get(Field::TaskContentNew))
    };
    let xml = content.as_deref().and_then(taskxml::parse);
    let Some(xml) = xml else {
        let reason = if content.is_some() { "task XML unreadable" } else { "no task XML in the event" };
        task.privilege = Some(Privilege::Unknown);
        task.indicators = indicators::compute(&task, false);
        return Some(Finding::new(Verdict::Benign, reason, task));
    };
    if task.name.is_none() {
        task.name = xml.uri.clone();
    }
    describe_actions(&mut task, &xml);
    task.triggers = xml.triggers.clone();
    task.hidden = xml.hidden;
    task.author = xml.author.clone();

    let mut reasons = Vec::new();
    let principal = xml.effective_principal();
    let privilege = match principal {
        Some(p) => {
            task.run_level = p.run_level.clone();
            match (&p.user_id, &p.group_id) {
                (Some(user), _) => {
                    task.run_as = Some(user.clone());
                    let privilege = accounts::classify(user);
                    reasons.push(format!("principal {user}"));
                    privilege
                }
                (None, Some(group)) => {
                    task.run_as = Some(group.clone());
                    reasons.push(format!("group principal {group}"));
                    Privilege::Group
                }
                (None, None) => {
                    reasons.push("principal names no user or group".into());
                    Privilege::Unknown
                }
            }
        }
        None if xml.truncated => {
            reasons.push("principal not visible: task XML truncated".into());
            Privilege::Unknown
        }
        None => {
            reasons.push("task XML has no principal".into());
            Privilege::Unknown
        }
    };
    task.privilege = Some(privilege);
    task.indicators = indicators::compute(&task, false);

    let in_scope = matches!(code, 4698 | 4700 | 4702);
    let mut verdict = if in_scope && privilege == Privilege::System { Verdict::Alert } else { Verdict::Benign };
    // Enabling changes neither who a task runs as nor what it runs. When SYSTEM itself does it
    // (Windows servicing re-enabling its own tasks), no account gains anything: describe it,
    // do not alert. An enable by any other account still alerts.
    if verdict == Verdict::Alert && code == 4700 && enabled_by_system(view) {
        verdict = Verdict::Benign;
        reasons.push("enabled by SYSTEM itself: state change only".into());
    }
    if verdict == Verdict::Alert {
        reasons.push(format!("task {action}"));
    }
    Some(Finding { verdict, reasons, task, host: None, suppressed_by: None })
}

fn describe_actions(task: &mut TaskInfo, xml: &taskxml::TaskXml) {
    if let Some(exec) = xml.exec.first() {
        task.command = Some(exec.command.clone());
        task.arguments = exec.arguments.clone();
    } else if let Some(class_id) = xml.com_handlers.first() {
        task.command = Some(format!("COM handler {class_id}"));
    }
}

fn enabled_by_system<E: EventFields + ?Sized>(view: &WithRaw<'_, E>) -> bool {
    view.get(Field::SubjectUserSid).is_some_and(|s| accounts::is_system(&s))
        || view.get(Field::SubjectLogonId).is_some_and(|l| accounts::is_system_logon_id(&l))
}

/// Windows 10 1903+ records where the request came from: both `0` means another machine.
fn remote_creation<E: EventFields + ?Sized>(view: &WithRaw<'_, E>) -> Option<bool> {
    let locality = view.get(Field::RpcCallClientLocality)?;
    let pid = view.get(Field::ClientProcessId)?;
    Some(locality.trim() == "0" && pid.trim() == "0")
}
