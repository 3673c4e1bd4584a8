//! Triage indicators an analyst looks for on a task (detection.md, "Enrichment for triage").

use once_cell::sync::Lazy;
use regex::Regex;

use super::TaskInfo;
use crate::winpath;

const SHELLS_AND_LOLBINS: &[&str] =
    &["cmd", "powershell", "pwsh", "wscript", "cscript", "mshta", "rundll32", "regsvr32", "certutil", "bitsadmin"];

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
pub fn compute(task: &TaskInfo, renamed_binary: bool) -> Vec<String> {
    let mut out =
        for_action(task.command.as_deref(), task.arguments.as_deref(), task.hidden, task.run_level.as_deref());
    out.extend(for_context(task.name.as_deref(), task.command.as_deref(), task.remote, renamed_binary));
    out
}

/// Indicators that depend on the task definition alone (what it runs, how it is set up).
pub fn for_action(
    command: Option<&str>,
    arguments: Option<&str>,
    hidden: Option<bool>,
    run_level: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    let command = command.unwrap_or("");
    let arguments = arguments.unwrap_or("");
    let command_norm = winpath::normalize(command);
    let stem = super::cmdline::program_stem(command);
    if SHELLS_AND_LOLBINS.contains(&stem.as_str()) {
        out.push(format!("shell_or_lolbin_action:{stem}"));
    }
    let any = |re: &Regex| re.is_match(&command_norm) || re.is_match(arguments);
    if any(&POWERSHELL_TELLS) {
        out.push("encoded_or_hidden_powershell".into());
    }
    if any(&USER_WRITABLE) {
        out.push("user_writable_path".into());
    }
    if any(&URL) {
        out.push("url_in_arguments".into());
    }
    if hidden == Some(true) {
        out.push("hidden_task".into());
    }
    if run_level.is_some_and(|l| l.eq_ignore_ascii_case("highestavailable") || l.eq_ignore_ascii_case("highest")) {
        out.push("highest_run_level".into());
    }
    out
}

/// Indicators that depend on the event: the task's name against its program, where the
/// request came from, a renamed tool.
pub fn for_context(
    name: Option<&str>,
    command: Option<&str>,
    remote: Option<bool>,
    renamed_binary: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(name), Some(command)) = (name, command) {
        let lower = name.get(..19).map(str::to_ascii_lowercase);
        let under_windows = lower.as_deref() == Some("\\microsoft\\windows\\")
            || name.get(..18).is_some_and(|p| p.eq_ignore_ascii_case("microsoft\\windows\\"));
        if under_windows && !command.is_empty() {
            let command_norm = winpath::normalize(command);
            if command_norm.contains('\\') && !winpath::is_windows_binary(&command_norm) {
                out.push("windows_task_name_non_windows_binary".into());
            }
        }
    }
    if remote == Some(true) {
        out.push("remote_creation".into());
    }
    if renamed_binary {
        out.push("renamed_binary".into());
    }
    out
}
