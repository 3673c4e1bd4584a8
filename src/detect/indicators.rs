//! Triage indicators an analyst looks for on a task (detection.md, "Enrichment for triage").

use super::TaskInfo;
use crate::winpath;

const SHELLS_AND_LOLBINS: &[&str] =
    &["cmd", "powershell", "pwsh", "wscript", "cscript", "mshta", "rundll32", "regsvr32", "certutil", "bitsadmin"];

const POWERSHELL_TELLS: &[&str] = &[
    "-enc ",
    "-encodedcommand",
    "-ec ",
    "-w hidden",
    "-windowstyle hidden",
    "iex ",
    "iex(",
    "invoke-expression",
    "downloadstring",
    "downloadfile",
    "frombase64string",
    "net.webclient",
];

const USER_WRITABLE: &[&str] = &[
    "\\users\\public\\",
    "\\appdata\\",
    "\\temp\\",
    "\\programdata\\",
    "\\perflogs\\",
    "%temp%",
    "%tmp%",
    "%appdata%",
    "%localappdata%",
    "%public%",
];

/// Computes the indicators of a described task, in a stable order.
pub fn compute(task: &TaskInfo, renamed_binary: bool) -> Vec<String> {
    let mut out = Vec::new();
    let command = task.command.as_deref().unwrap_or("");
    let arguments = task.arguments.as_deref().unwrap_or("");
    let command_norm = winpath::normalize(command);
    let both = format!("{} {}", command_norm, arguments.to_lowercase());
    let stem = super::cmdline::program_stem(command);
    if SHELLS_AND_LOLBINS.contains(&stem.as_str()) {
        out.push(format!("shell_or_lolbin_action:{stem}"));
    }
    let padded = format!("{both} ");
    if POWERSHELL_TELLS.iter().any(|t| padded.contains(t)) {
        out.push("encoded_or_hidden_powershell".into());
    }
    if USER_WRITABLE.iter().any(|p| both.contains(p)) {
        out.push("user_writable_path".into());
    }
    if both.contains("http://") || both.contains("https://") {
        out.push("url_in_arguments".into());
    }
    if let Some(name) = &task.name {
        let name = name.to_lowercase();
        let under_windows = name.starts_with("\\microsoft\\windows\\") || name.starts_with("microsoft\\windows\\");
        let has_dir = command_norm.contains('\\');
        if under_windows && !command.is_empty() && has_dir && !winpath::is_windows_binary(&command_norm) {
            out.push("windows_task_name_non_windows_binary".into());
        }
    }
    if task.hidden == Some(true) {
        out.push("hidden_task".into());
    }
    if task.remote == Some(true) {
        out.push("remote_creation".into());
    }
    if task
        .run_level
        .as_deref()
        .is_some_and(|l| l.eq_ignore_ascii_case("highestavailable") || l.eq_ignore_ascii_case("highest"))
    {
        out.push("highest_run_level".into());
    }
    if renamed_binary {
        out.push("renamed_binary".into());
    }
    out
}
