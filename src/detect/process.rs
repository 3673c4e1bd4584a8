//! Process creation (Sysmon 1, Security 4688, CIM): `schtasks /create|/change`, `at.exe`,
//! `cmd.exe /c` chains and PowerShell's ScheduledTasks cmdlets, read as Windows parses them.

use super::accounts::{self, Privilege};
use super::cmdline::{self, split_args, split_program};
use super::{Finding, NormalizedAction, TaskInfo, Text, Verdict, action_reason, indicators, subject_account};
use crate::event::{EventFields, Field};

/// How deep `cmd /c cmd /c ...` and `powershell -c "cmd /c ..."` nesting is followed.
const MAX_DEPTH: u8 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Program {
    Schtasks,
    At,
    Cmd,
    PowerShell,
}

/// The program a base name (see [`cmdline::program_base`]) names, in any case. No allocation:
/// every process event is checked, and nearly all are ruled out here.
fn program_of(base: &str) -> Option<Program> {
    if !base.is_ascii() {
        // Unicode case folding can still yield an ASCII name.
        let lower = base.to_lowercase();
        return if lower.is_ascii() { program_of(&lower) } else { None };
    }
    let mut buf = [0u8; 16];
    let name = buf.get_mut(..base.len())?;
    for (d, s) in name.iter_mut().zip(base.bytes()) {
        *d = s.to_ascii_lowercase();
    }
    match &*name {
        b"schtasks" | b"sctasks" => Some(Program::Schtasks),
        b"at" => Some(Program::At),
        b"cmd" => Some(Program::Cmd),
        b"powershell" | b"pwsh" | b"powershell_ise" => Some(Program::PowerShell),
        _ => None,
    }
}

/// Who ran the process, and whether that is SYSTEM.
struct Runner {
    name: Option<Text>,
    is_system: bool,
}

pub(super) fn analyze<V: EventFields + ?Sized>(view: &V, code: Option<u32>) -> Option<Finding> {
    let line = view.get(Field::CommandLine)?;
    let line = cmdline::decode_entities_if_escaped(&line);
    let (program, rest) = split_program(&line);
    let original = view.get(Field::OriginalFileName);
    let image = view.get(Field::Image);
    let image_kind = image.as_deref().map(|v| program_of(cmdline::program_base(v)));
    let line_kind = program_of(cmdline::program_base(&program));
    // The PE's original name wins over the file name: it survives renaming.
    let kind = original
        .as_deref()
        .and_then(|v| program_of(cmdline::program_base(v)))
        .or(image_kind.flatten())
        .or(line_kind)?;
    let renamed = kind == Program::Schtasks && image_kind.unwrap_or(line_kind) != Some(Program::Schtasks);

    let runner = runner(view, code);
    let mut calls = Vec::new();
    collect(kind, &line, rest, &runner, 0, &mut calls);
    // One event may hold several task commands (a cmd chain): report the one that alerts, else
    // the first one that changes a task, else the first.
    let mut best = calls.into_iter().min_by_key(|c| match (c.verdict, c.task.action) {
        (Verdict::Alert, _) => 0,
        (_, Some("created" | "updated")) => 1,
        _ => 2,
    })?;
    best.task.creator = runner.name.clone();
    best.task.evidence = Some("command_line");
    let normalized = NormalizedAction::of(&best.task);
    best.task.indicators = indicators::compute(&best.task, &normalized, renamed);
    best.normalized = Some(std::rc::Rc::new(normalized));
    if best.verdict == Verdict::Alert {
        best.reasons.push(action_reason(best.task.action.unwrap_or("created")).into());
    }
    Some(best)
}

fn runner<V: EventFields + ?Sized>(view: &V, code: Option<u32>) -> Runner {
    if let Some(user) = view.get(Field::ProcessUser) {
        return Runner { is_system: accounts::is_system(&user), name: Some(Text::from(&*user)) };
    }
    // 4688 names the creator subject; its SID tells SYSTEM in any language.
    if code == Some(4688) || view.get(Field::SubjectUserSid).is_some() {
        let sid_system = view.get(Field::SubjectUserSid).is_some_and(|s| accounts::is_system(&s));
        let logon_system = view.get(Field::SubjectLogonId).is_some_and(|l| accounts::is_system_logon_id(&l));
        return Runner { is_system: sid_system || logon_system, name: subject_account(view) };
    }
    Runner { name: None, is_system: false }
}

fn collect(kind: Program, line: &str, rest: &str, runner: &Runner, depth: u8, out: &mut Vec<Finding>) {
    if depth > MAX_DEPTH {
        return;
    }
    match kind {
        Program::Schtasks => {
            let mut args = split_args(line);
            cmdline::strip_redirections(&mut args);
            out.extend(schtasks(&args, runner));
        }
        Program::At => {
            let mut args = split_args(line);
            cmdline::strip_redirections(&mut args);
            out.extend(at(&args));
        }
        Program::Cmd => {
            for command in cmdline::cmd_commands(rest).unwrap_or_default() {
                let (program, sub_rest) = split_program(&command);
                if let Some(kind) = program_of(cmdline::program_base(&program)) {
                    collect(kind, &command, sub_rest, runner, depth + 1, out);
                }
            }
        }
        Program::PowerShell => powershell(line, runner, depth, out),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verb {
    Create,
    Change,
    Delete,
    Query,
    Run,
    End,
    ShowSid,
}

/// Switches that take a value, per verb (schtasks /? for each verb).
fn takes_value(verb: Option<Verb>, switch: &str) -> bool {
    const COMMON: &[&str] = &["s", "u", "p", "tn"];
    const CREATE: &[&str] =
        &["ru", "rp", "sc", "mo", "d", "m", "i", "tr", "st", "ri", "et", "du", "sd", "ed", "ec", "rl", "delay", "xml"];
    const CHANGE: &[&str] = &["ru", "rp", "tr", "st", "ri", "et", "du", "sd", "ed", "rl", "delay"];
    COMMON.contains(&switch)
        || match verb {
            Some(Verb::Create) | None => CREATE.contains(&switch),
            Some(Verb::Change) => CHANGE.contains(&switch),
            Some(Verb::Query) => switch == "fo",
            _ => false,
        }
}

struct SchtasksCall {
    verb: Option<Verb>,
    switches: Vec<(String, Option<String>)>,
}

impl SchtasksCall {
    /// The last value given for a switch (schtasks keeps the last).
    fn value(&self, name: &str) -> Option<&Option<String>> {
        self.switches.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }
    /// The last value given for a switch, as finding text.
    fn text(&self, name: &str) -> Option<Text> {
        self.value(name).and_then(|v| v.as_deref()).map(Text::from)
    }
    fn has(&self, name: &str) -> bool {
        self.switches.iter().any(|(n, _)| n == name)
    }
}

fn parse_schtasks(args: &[String]) -> SchtasksCall {
    let mut call = SchtasksCall { verb: None, switches: Vec::new() };
    let mut i = 1;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(name) = arg.strip_prefix('/').or_else(|| arg.strip_prefix('-')) else { continue };
        let name = name.to_lowercase();
        let verb = match name.as_str() {
            "create" => Some(Verb::Create),
            "change" => Some(Verb::Change),
            "delete" => Some(Verb::Delete),
            "query" => Some(Verb::Query),
            "run" => Some(Verb::Run),
            "end" => Some(Verb::End),
            "showsid" => Some(Verb::ShowSid),
            _ => None,
        };
        if verb.is_some() && call.verb.is_none() {
            call.verb = verb;
            continue;
        }
        if takes_value(call.verb, &name) {
            let value = args.get(i).cloned();
            if value.is_some() {
                i += 1;
            }
            call.switches.push((name, value));
        } else {
            call.switches.push((name, None));
        }
    }
    call
}

fn is_local_host(host: &str) -> bool {
    let h = host.trim().trim_start_matches('\\').to_ascii_lowercase();
    matches!(h.as_str(), "localhost" | "127.0.0.1" | "." | "::1")
}

fn schtasks(args: &[String], runner: &Runner) -> Option<Finding> {
    let call = parse_schtasks(args);
    let verb = call.verb?;
    let mut task = TaskInfo { action: Some(verb_action(verb, &call)), ..TaskInfo::default() };
    task.name = call.text("tn");
    if let Some(Some(tr)) = call.value("tr") {
        let (program, rest) = split_program(tr);
        task.command = Some(Text::from(&*program));
        task.arguments = (!rest.trim().is_empty()).then(|| Text::from(rest.trim()));
    }
    task.triggers = call.text("sc").map(|s| Text::from(s.to_lowercase())).into_iter().collect();
    task.run_level = call.text("rl");
    let remote_host = call.value("s").cloned().flatten().filter(|h| !is_local_host(h));
    task.remote = Some(remote_host.is_some());

    let changes_task = matches!(verb, Verb::Create | Verb::Change);
    let mut reasons = Vec::new();
    let privilege = match call.value("ru") {
        Some(Some(ru)) if ru.trim().is_empty() => {
            task.run_as = Some("\"\"".into());
            reasons.push("schtasks /ru \"\"".into());
            Privilege::System
        }
        Some(Some(ru)) => {
            task.run_as = Some(Text::from(ru.as_str()));
            reasons.push(format!("schtasks /ru {ru}").into());
            accounts::classify(ru)
        }
        Some(None) => {
            reasons.push("schtasks /ru without a value".into());
            Privilege::Unknown
        }
        None if !changes_task => Privilege::Unknown,
        None if verb == Verb::Change => {
            reasons.push("/change without /ru keeps the principal".into());
            Privilege::Unknown
        }
        None if call.has("xml") => {
            reasons.push("principal is in the imported /xml file, not visible".into());
            Privilege::Unknown
        }
        None if remote_host.is_some() => {
            task.run_as = call.text("u").or_else(|| runner.name.clone());
            reasons.push("remote /s create without /ru runs as the connecting user".into());
            Privilege::User
        }
        None if runner.is_system => {
            task.run_as = runner.name.clone();
            reasons.push("created by SYSTEM without /ru".into());
            Privilege::System
        }
        None => {
            task.run_as = runner.name.clone();
            reasons.push("no /ru: runs as the creating user".into());
            Privilege::User
        }
    };
    task.privilege = Some(privilege);
    if !changes_task {
        reasons.push(format!("schtasks /{}", verb_name(verb)).into());
    }
    let verdict = if changes_task && privilege == Privilege::System { Verdict::Alert } else { Verdict::Benign };
    Some(Finding { verdict, reasons, task, host: None, suppressed_by: None, normalized: None })
}

fn verb_action(verb: Verb, call: &SchtasksCall) -> &'static str {
    match verb {
        Verb::Create => "created",
        Verb::Change if call.has("enable") => "enabled",
        Verb::Change if call.has("disable") => "disabled",
        Verb::Change => "updated",
        Verb::Delete => "deleted",
        Verb::Query | Verb::ShowSid => "query",
        Verb::Run => "run",
        Verb::End => "end",
    }
}

fn verb_name(verb: Verb) -> &'static str {
    match verb {
        Verb::Create => "create",
        Verb::Change => "change",
        Verb::Delete => "delete",
        Verb::Query => "query",
        Verb::Run => "run",
        Verb::End => "end",
        Verb::ShowSid => "showsid",
    }
}

/// `at [\\host] time [/interactive] [/every:..|/next:..] command`: AT jobs run as SYSTEM.
fn at(args: &[String]) -> Option<Finding> {
    let rest = &args[1.min(args.len())..];
    let mut task = TaskInfo::default();
    if rest.iter().any(|a| a.eq_ignore_ascii_case("/delete")) {
        task.action = Some("deleted");
        return Some(Finding::new(Verdict::Benign, "at.exe /delete", task));
    }
    let time_at = rest.iter().position(|a| is_time(a));
    let Some(time_at) = time_at else {
        task.action = Some("query");
        return Some(Finding::new(Verdict::Benign, "at.exe without a job: lists jobs", task));
    };
    let command_args: Vec<&String> = rest[time_at + 1..].iter().filter(|a| !a.starts_with('/')).collect();
    task.action = Some("created");
    task.command = command_args.first().map(|s| Text::from(s.as_str()));
    task.arguments = (command_args.len() > 1)
        .then(|| Text::from(command_args[1..].iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")));
    task.triggers = vec![Text::from(format!("time {}", rest[time_at]))];
    task.run_as = Some("SYSTEM".into());
    task.privilege = Some(Privilege::System);
    task.remote = Some(rest[..time_at].iter().any(|a| a.starts_with("\\\\") && !is_local_host(a)));
    Some(Finding::new(Verdict::Alert, "at.exe job: AT jobs run as SYSTEM", task))
}

fn is_time(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let t = lower.trim_end_matches(['a', 'p', 'm']);
    let mut parts = t.split(':');
    let (Some(h), Some(m)) = (parts.next(), parts.next()) else { return false };
    let digits = |p: &str, max: usize| !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit());
    digits(h, 2) && digits(m, 2) && parts.all(|p| digits(p, 2))
}

/// PowerShell: ScheduledTasks cmdlets and `schtasks` invoked from the script, including a
/// script passed as `-EncodedCommand`.
fn powershell(line: &str, runner: &Runner, depth: u8, out: &mut Vec<Finding>) {
    let mut scripts = vec![line.to_string()];
    if let Some(decoded) = encoded_command(line) {
        scripts.push(decoded);
    }
    for script in scripts {
        let lower = script.to_lowercase();
        if let Some(f) = scheduled_task_cmdlets(&script, &lower, runner) {
            out.push(f);
        }
        // `schtasks ...` statements inside the script.
        let mut from = 0;
        while let Some(i) = lower[from..].find("schtasks").map(|i| i + from) {
            from = i + "schtasks".len();
            let word_start = i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric();
            if !word_start || !lower[from..].starts_with([' ', '.', '\t']) {
                continue;
            }
            let end = statement_end(&script, from);
            collect(Program::Schtasks, &script[i..end], "", runner, depth + 1, out);
        }
    }
}

fn statement_end(s: &str, from: usize) -> usize {
    let mut quote: Option<char> = None;
    for (i, c) in s[from..].char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ';' | '\n' | '|' | '}') => return from + i,
            _ => {}
        }
    }
    s.len()
}

/// Splits a PowerShell statement into tokens on blanks outside quotes.
fn ps_tokens(statement: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in statement.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                current.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (None, ' ' | '\t' | '\r' | '\n') => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

fn ps_clean(value: &str) -> String {
    value.trim_matches(|c| c == '"' || c == '\'' || c == '\\' || c == '`' || c == '(' || c == ')').to_string()
}

/// Parameters of a cmdlet call: `-Name value` or `-Name:value`, names lowercased.
fn ps_parameters(script: &str, after: usize) -> Vec<(String, Option<String>)> {
    let end = statement_end(script, after);
    let tokens = ps_tokens(&script[after..end]);
    let mut params = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        i += 1;
        let Some(name) = t.strip_prefix('-').filter(|n| n.starts_with(|c: char| c.is_ascii_alphabetic())) else {
            if params.is_empty() {
                params.push((String::new(), Some(ps_clean(t))));
            }
            continue;
        };
        if let Some((n, v)) = name.split_once(':') {
            params.push((n.to_lowercase(), Some(ps_clean(v))));
            continue;
        }
        let value = tokens.get(i).filter(|v| !v.starts_with('-')).map(|v| ps_clean(v));
        if value.is_some() {
            i += 1;
        }
        params.push((name.to_lowercase(), value));
    }
    params
}

fn find_cmdlet(lower: &str, name: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| i + from) {
        let end = i + name.len();
        let before_ok = i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric() && lower.as_bytes()[i - 1] != b'-';
        let after_ok = lower.as_bytes().get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
        if before_ok && after_ok {
            return Some(end);
        }
        from = end;
    }
    None
}

fn param<'a>(params: &'a [(String, Option<String>)], names: &[&str]) -> Option<&'a str> {
    params.iter().find(|(n, _)| names.contains(&n.as_str())).and_then(|(_, v)| v.as_deref())
}

fn scheduled_task_cmdlets(script: &str, lower: &str, runner: &Runner) -> Option<Finding> {
    let register = find_cmdlet(lower, "register-scheduledtask").map(|at| ps_parameters(script, at));
    let set = find_cmdlet(lower, "set-scheduledtask").map(|at| ps_parameters(script, at));
    let principal = find_cmdlet(lower, "new-scheduledtaskprincipal").map(|at| ps_parameters(script, at));
    let action = find_cmdlet(lower, "new-scheduledtaskaction").map(|at| ps_parameters(script, at));
    let trigger = find_cmdlet(lower, "new-scheduledtasktrigger").map(|at| ps_parameters(script, at));
    let mut task = TaskInfo::default();
    let (verb_params, action_name) = if let Some(p) = &register {
        (p, "created")
    } else if let Some(p) = &set {
        (p, "updated")
    } else {
        for (cmdlet, action) in [
            ("unregister-scheduledtask", "deleted"),
            ("disable-scheduledtask", "disabled"),
            ("enable-scheduledtask", "enabled"),
            ("start-scheduledtask", "run"),
            ("get-scheduledtask", "query"),
        ] {
            if let Some(at) = find_cmdlet(lower, cmdlet) {
                let params = ps_parameters(script, at);
                task.action = Some(action);
                task.name = param(&params, &["taskname", ""]).map(Text::from);
                return Some(Finding::new(Verdict::Benign, format!("PowerShell {cmdlet}"), task));
            }
        }
        // A principal built but never registered in this command line.
        principal.as_ref()?;
        (principal.as_ref()?, "created")
    };
    task.action = Some(action_name);
    task.name = param(verb_params, &["taskname", ""]).map(Text::from);
    if let Some(a) = &action {
        task.command = param(a, &["execute"]).map(Text::from);
        task.arguments = param(a, &["argument"]).map(Text::from);
    }
    if let Some(t) = &trigger {
        task.triggers = t
            .iter()
            .filter(|(n, _)| n.starts_with("at") || ["daily", "weekly", "once"].contains(&n.as_str()))
            .map(|(n, _)| Text::from(n.as_str()))
            .collect();
    }
    task.run_level = param(verb_params, &["runlevel"])
        .or_else(|| principal.as_deref().and_then(|p| param(p, &["runlevel"])))
        .map(Text::from);

    let mut reasons = Vec::new();
    let user = param(verb_params, &["user"])
        .map(|u| ("-User", u))
        .or_else(|| principal.as_deref().and_then(|p| param(p, &["userid"])).map(|u| ("-UserId", u)));
    let group = principal.as_deref().and_then(|p| param(p, &["groupid"]));
    let privilege = if let Some((switch, user)) = user {
        task.run_as = Some(Text::from(user));
        reasons.push(format!("PowerShell {switch} {user}").into());
        accounts::classify(user)
    } else if let Some(group) = group {
        task.run_as = Some(Text::from(group));
        reasons.push(format!("PowerShell -GroupId {group}: group principal").into());
        Privilege::Group
    } else if verb_params.iter().any(|(n, _)| n == "inputobject" || n == "xml") {
        reasons.push("principal is in a task object or XML, not visible".into());
        Privilege::Unknown
    } else if action_name == "created" && runner.is_system {
        task.run_as = runner.name.clone();
        reasons.push("registered by SYSTEM without -User".into());
        Privilege::System
    } else {
        task.run_as = runner.name.clone();
        reasons.push("no -User: runs as the registering user".into());
        Privilege::User
    };
    task.privilege = Some(privilege);
    let verdict = if privilege == Privilege::System { Verdict::Alert } else { Verdict::Benign };
    Some(Finding { verdict, reasons, task, host: None, suppressed_by: None, normalized: None })
}

/// The script of `-EncodedCommand` / `-enc` / `-e` (Base64 of UTF-16LE), when present.
fn encoded_command(line: &str) -> Option<String> {
    let args = split_args(line);
    let i = args.iter().position(|a| {
        let lower = a.to_ascii_lowercase();
        let Some(name) = lower.strip_prefix(['-', '/']) else { return false };
        name == "e" || name == "ec" || (name.len() >= 3 && "encodedcommand".starts_with(name))
    })?;
    let bytes = base64_decode(args.get(i + 1)?)?;
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    Some(String::from_utf16_lossy(&units))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}
