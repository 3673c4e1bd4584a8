//! Triage indicators an analyst looks for on a task (detection.md, "Enrichment for triage").

use once_cell::sync::Lazy;
use regex::Regex;

use super::{NormalizedAction, TaskInfo};
use crate::winpath;

/// Shells and living-off-the-land binaries, with the indicator each one raises.
const SHELLS_AND_LOLBINS: &[(&str, &str)] = &[
    ("cmd", "shell_or_lolbin_action:cmd"),
    ("powershell", "shell_or_lolbin_action:powershell"),
    ("pwsh", "shell_or_lolbin_action:pwsh"),
    ("wscript", "shell_or_lolbin_action:wscript"),
    ("cscript", "shell_or_lolbin_action:cscript"),
    ("mshta", "shell_or_lolbin_action:mshta"),
    ("rundll32", "shell_or_lolbin_action:rundll32"),
    ("regsvr32", "shell_or_lolbin_action:regsvr32"),
    ("certutil", "shell_or_lolbin_action:certutil"),
    ("bitsadmin", "shell_or_lolbin_action:bitsadmin"),
];

/// Encoded or hidden PowerShell, in-memory execution and downloads. One compiled matcher per
/// family: a single pass over the action instead of one `contains` per word.
static POWERSHELL_TELLS: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)(?:^|\s)-(?:enc|encodedcommand|ec)\s|-w(?:indowstyle)?\s+hidden|\biex\b|invoke-expression|downloadstring|downloadfile|frombase64string|net\.webclient")
        .expect("valid pattern")
});

/// Places any user can write to.
static USER_WRITABLE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)\\users\\public\\|\\appdata\\|\\temp\\|\\programdata\\|\\perflogs\\|%(?:temp|tmp|appdata|localappdata|public)%")
        .expect("valid pattern")
});

static URL: Lazy<Regex> = Lazy::new(|| Regex::new(r"(?i)\bhttps?://").expect("valid pattern"));

/// Computes the indicators of a described task, in a stable order.
pub fn compute(task: &TaskInfo, normalized: &NormalizedAction, renamed_binary: bool) -> Vec<&'static str> {
    let mut out = for_action(task, normalized);
    out.extend(for_context(task.name.as_deref(), normalized, task.remote, renamed_binary));
    out
}

/// Indicators that depend on the task definition alone (what it runs, how it is set up).
pub fn for_action(task: &TaskInfo, normalized: &NormalizedAction) -> Vec<&'static str> {
    for_action_with(task, &for_actions(task, normalized))
}

/// Indicators that depend on the task's actions alone (commands and arguments, as written and
/// normalized), first of [`for_action`]'s: what a memo of the actions may remember.
pub fn for_actions(task: &TaskInfo, normalized: &NormalizedAction) -> Vec<&'static str> {
    let mut out = Vec::new();
    // Each indicator once, however many actions raise it: `out` never holds more than the
    // dozen or so distinct indicators, so the check stays constant per action.
    let add = |out: &mut Vec<&'static str>, indicator: &'static str| {
        if !out.contains(&indicator) {
            out.push(indicator);
        }
    };
    let first = (task.command.as_deref().unwrap_or(""), task.arguments.as_deref().unwrap_or(""));
    let more =
        task.more_actions.iter().map(|a| (a.command.as_deref().unwrap_or(""), a.arguments.as_deref().unwrap_or("")));
    // Each action of the task, as written and normalized: a task runs all of them.
    for ((command, arguments), (command_norm, _)) in std::iter::once(first).chain(more).zip(normalized.all()) {
        let base = super::cmdline::program_base(command);
        if let Some((_, indicator)) = SHELLS_AND_LOLBINS.iter().find(|(stem, _)| stem.eq_ignore_ascii_case(base)) {
            add(&mut out, indicator);
        }
        let any = |re: &Regex| re.is_match(command_norm) || re.is_match(arguments);
        if any(&POWERSHELL_TELLS) {
            add(&mut out, "encoded_or_hidden_powershell");
        }
        if any(&USER_WRITABLE) {
            add(&mut out, "user_writable_path");
        }
        if any(&URL) {
            add(&mut out, "url_in_arguments");
        }
    }
    if !task.more_actions.is_empty() {
        out.push("multiple_actions");
    }
    out
}

/// Indicators of how the task is set up (hidden, highest run level), last of [`for_action`]'s.
fn for_settings(task: &TaskInfo) -> impl Iterator<Item = &'static str> {
    let hidden = task.hidden == Some(true);
    let highest = task
        .run_level
        .as_deref()
        .is_some_and(|l| l.eq_ignore_ascii_case("highestavailable") || l.eq_ignore_ascii_case("highest"));
    [(hidden, "hidden_task"), (highest, "highest_run_level")].into_iter().filter_map(|(on, name)| on.then_some(name))
}

/// [`for_action`] with the actions' part already known (`for_actions`, perhaps remembered).
pub fn for_action_with(task: &TaskInfo, actions: &[&'static str]) -> Vec<&'static str> {
    let mut out = Vec::with_capacity(actions.len() + 2);
    out.extend_from_slice(actions);
    out.extend(for_settings(task));
    out
}

/// Indicators that depend on the event: the task's name against its program, where the
/// request came from, a renamed tool.
pub fn for_context(
    name: Option<&str>,
    normalized: &NormalizedAction,
    remote: Option<bool>,
    renamed_binary: bool,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    let under_windows = name.is_some_and(|name| {
        let name = name.strip_prefix('\\').unwrap_or(name);
        name.get(..18).is_some_and(|p| p.eq_ignore_ascii_case("microsoft\\windows\\"))
    });
    if under_windows
        && normalized.all().any(|(command, _)| command.contains('\\') && !winpath::is_windows_binary(command))
    {
        out.push("windows_task_name_non_windows_binary");
    }
    if remote == Some(true) {
        out.push("remote_creation");
    }
    if renamed_binary {
        out.push("renamed_binary");
    }
    out
}
