//! Process creation (Sysmon 1, Security 4688, CIM): `schtasks /create|/change`, `at.exe`,
//! `cmd.exe /c` chains and PowerShell's ScheduledTasks cmdlets, read as Windows parses them.

use super::accounts::{self, Privilege};
use super::casefold;
use super::cmdline::{self, split_args, split_program};
use super::memo::Memo;
use super::powershell::{self, HostScript};
use super::{Finding, NormalizedAction, TaskInfo, Text, Verdict, action_reason, indicators, subject_account};
use crate::event::{EventFields, Field};

/// How deep `cmd /c cmd /c ...` and `powershell -c "cmd /c ..."` nesting is followed.
const MAX_DEPTH: u8 = 4;

/// The longest command line Windows allows, 32,767 UTF-16 units, as UTF-8 bytes at most.
const MAX_COMMAND_LINE: usize = 32_767 * 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Program {
    Schtasks,
    At,
    Cmd,
    PowerShell,
}

/// The program a base name (see [`cmdline::program_base`]) names, in any case as Windows
/// resolves file names ([`casefold`]). No allocation: every process event is checked, and
/// nearly all are ruled out here.
fn program_of(base: &str) -> Option<Program> {
    // An ASCII name folds to its ASCII lowercase: compared in place, no character decoded.
    if base.is_ascii() {
        return PROGRAMS.iter().find(|(name, _)| name.eq_ignore_ascii_case(base)).map(|&(_, program)| program);
    }
    let mut buf = [0u8; 16];
    let mut len = 0;
    for c in base.chars() {
        let c = casefold::fold(c);
        if !c.is_ascii() || len == buf.len() {
            return None;
        }
        buf[len] = c as u8;
        len += 1;
    }
    let folded = &buf[..len];
    PROGRAMS.iter().find(|(name, _)| name.as_bytes() == folded).map(|&(_, program)| program)
}

/// The programs recognised by base name, lowercase.
const PROGRAMS: [(&str, Program); 7] = [
    ("schtasks", Program::Schtasks),
    ("sctasks", Program::Schtasks),
    ("at", Program::At),
    ("cmd", Program::Cmd),
    ("powershell", Program::PowerShell),
    ("pwsh", Program::PowerShell),
    ("powershell_ise", Program::PowerShell),
];

/// Who ran the process, and whether that is SYSTEM.
struct Runner {
    name: Option<Text>,
    is_system: bool,
}

/// The finding for a process event, from `memo` when the same command line was read before in
/// the same circumstances (program, runner).
pub(super) fn analyze<V: EventFields + ?Sized>(
    view: &V,
    code: Option<u32>,
    memo: Option<&mut ProcessMemo>,
) -> Option<Finding> {
    let line = view.get(Field::CommandLine)?;
    // Windows caps a command line at 32,767 UTF-16 units (at most 98,301 bytes of UTF-8); a
    // longer value did not come from a process creation. Only that much is analysed, so one
    // value cannot make the analysis costly, whatever a source sends.
    let (line, cut) = match line.len() {
        n if n <= MAX_COMMAND_LINE => (line, false),
        _ => {
            let mut end = MAX_COMMAND_LINE;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            (std::borrow::Cow::Owned(line[..end].to_string()), true)
        }
    };
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
    let Some(memo) = memo else { return describe(kind, &line, rest, renamed, cut, &runner) };
    // Everything the finding depends on, each flag a byte, the runner's name ended by 0xFF
    // (which UTF-8 never holds), then the line: two events share a key only when they would
    // share a finding.
    memo.key.clear();
    let flags = [renamed, cut, runner.is_system, runner.name.is_some()].map(u8::from);
    memo.key.push(kind as u8);
    memo.key.extend_from_slice(&flags);
    memo.key.extend_from_slice(runner.name.as_deref().unwrap_or("").as_bytes());
    memo.key.push(0xFF);
    memo.key.extend_from_slice(line.as_bytes());
    memo.memo.get_or_derive_keyed(&memo.key, || describe(kind, &line, rest, renamed, cut, &runner)).into_owned()
}

/// Remembered findings of task programs' command lines (4,096 at most), by everything they
/// depend on. Fleets run the same command lines on many hosts and on every schedule (a
/// management agent's PowerShell, a deployment's schtasks call): each is read once per process.
pub struct ProcessMemo {
    memo: Memo<Option<Finding>>,
    key: Vec<u8>,
}

impl Default for ProcessMemo {
    fn default() -> Self {
        ProcessMemo { memo: Memo::with_capacity(4096), key: Vec::new() }
    }
}

/// The finding for a task program's command line: its task commands read, the one that
/// matters kept, described for triage.
fn describe(kind: Program, line: &str, rest: &str, renamed: bool, cut: bool, runner: &Runner) -> Option<Finding> {
    let mut calls = Vec::new();
    collect(kind, line, rest, runner, 0, &mut calls);
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
    best.normalized = Some(std::sync::Arc::new(normalized));
    if best.verdict == Verdict::Alert {
        best.reasons.push(action_reason(best.task.action.unwrap_or("created")).into());
    }
    if cut {
        best.reasons.push("command line longer than Windows allows: its first 98,301 bytes analysed".into());
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

/// A command line (as Windows hands it to the program) of a task program.
fn collect(kind: Program, line: &str, rest: &str, runner: &Runner, depth: u8, out: &mut Vec<Finding>) {
    if depth > MAX_DEPTH {
        return;
    }
    match kind {
        Program::Schtasks | Program::At | Program::PowerShell => native(kind, split_args(line), runner, depth, out),
        Program::Cmd => {
            for command in cmdline::cmd_commands(rest).unwrap_or_default() {
                let (program, sub_rest) = split_program(&command);
                if let Some(kind) = program_of(cmdline::program_base(&program)) {
                    collect(kind, &command, sub_rest, runner, depth + 1, out);
                }
            }
        }
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
const COMMON_VALUED: &[&str] = &["s", "u", "p", "tn"];
const CREATE_VALUED: &[&str] =
    &["ru", "rp", "sc", "mo", "d", "m", "i", "tr", "st", "ri", "et", "du", "sd", "ed", "ec", "rl", "delay", "xml"];
const CHANGE_VALUED: &[&str] = &["ru", "rp", "tr", "st", "ri", "et", "du", "sd", "ed", "rl", "delay"];
const QUERY_VALUED: &[&str] = &["fo"];
/// Switches without a value that this detection asks about.
const FLAGS: &[&str] = &["enable", "disable"];

fn takes_value(verb: Option<Verb>, switch: &str) -> bool {
    COMMON_VALUED.contains(&switch)
        || match verb {
            Some(Verb::Create) | None => CREATE_VALUED.contains(&switch),
            Some(Verb::Change) => CHANGE_VALUED.contains(&switch),
            Some(Verb::Query) => QUERY_VALUED.contains(&switch),
            _ => false,
        }
}

/// The switch a folded name is, as its table spells it: one that takes a value for some verb,
/// or a flag this detection asks about.
fn known_switch(folded: &[u8]) -> Option<&'static str> {
    [COMMON_VALUED, CREATE_VALUED, CHANGE_VALUED, QUERY_VALUED, FLAGS]
        .into_iter()
        .flatten()
        .copied()
        .find(|s| s.as_bytes() == folded)
}

/// `name` folded as [`casefold::fold`] reads it, when that is ASCII and at most 8 bytes: every
/// verb and switch schtasks has is, so a longer or other name is none of them.
fn fold_short(name: &str) -> Option<([u8; 8], usize)> {
    let mut folded = [0u8; 8];
    let mut len = 0;
    for c in name.chars() {
        let c = casefold::fold(c);
        let slot = folded.get_mut(len).filter(|_| c.is_ascii())?;
        *slot = c as u8;
        len += 1;
    }
    Some((folded, len))
}

/// One schtasks command line: its verb, and each switch it asks about with its value, borrowed
/// from the arguments.
struct SchtasksCall<'a> {
    verb: Option<Verb>,
    switches: Vec<(&'static str, Option<&'a str>)>,
}

impl<'a> SchtasksCall<'a> {
    /// The last value given for a switch (schtasks keeps the last).
    fn value(&self, name: &str) -> Option<Option<&'a str>> {
        self.switches.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
    /// The last value given for a switch, as finding text.
    fn text(&self, name: &str) -> Option<Text> {
        self.value(name).flatten().map(Text::from)
    }
    fn has(&self, name: &str) -> bool {
        self.switches.iter().any(|(n, _)| *n == name)
    }
}

fn parse_schtasks(args: &[Text]) -> SchtasksCall<'_> {
    let mut call = SchtasksCall { verb: None, switches: Vec::with_capacity(args.len() / 2) };
    let mut i = 1;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(name) = arg.strip_prefix('/').or_else(|| arg.strip_prefix('-')) else { continue };
        // A name no switch or verb has takes no value: the next argument is read on its own.
        let Some((folded, len)) = fold_short(name) else { continue };
        let folded = &folded[..len];
        let verb = match folded {
            b"create" => Some(Verb::Create),
            b"change" => Some(Verb::Change),
            b"delete" => Some(Verb::Delete),
            b"query" => Some(Verb::Query),
            b"run" => Some(Verb::Run),
            b"end" => Some(Verb::End),
            b"showsid" => Some(Verb::ShowSid),
            _ => None,
        };
        if verb.is_some() && call.verb.is_none() {
            call.verb = verb;
            continue;
        }
        let Some(switch) = known_switch(folded) else { continue };
        let value = if takes_value(call.verb, switch) { args.get(i).map(Text::as_str) } else { None };
        if value.is_some() {
            i += 1;
        }
        call.switches.push((switch, value));
    }
    call
}

fn is_local_host(host: &str) -> bool {
    let h = host.trim().trim_start_matches('\\').to_ascii_lowercase();
    matches!(h.as_str(), "localhost" | "127.0.0.1" | "." | "::1")
}

fn schtasks(args: &[Text], runner: &Runner) -> Option<Finding> {
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
    let remote_host = call.value("s").flatten().filter(|h| !is_local_host(h));
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
            task.run_as = Some(Text::from(ru));
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
fn at(args: &[Text]) -> Option<Finding> {
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
    let command_args: Vec<&Text> = rest[time_at + 1..].iter().filter(|a| !a.starts_with('/')).collect();
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

/// PowerShell: the host's script (`-Command`, or `-EncodedCommand` decoded), read statement
/// by statement for ScheduledTasks cmdlets and for the native commands it starts.
fn powershell(args: &[Text], runner: &Runner, depth: u8, out: &mut Vec<Finding>) {
    let script = match powershell::host_script(args.get(1..).unwrap_or_default()) {
        Some(HostScript::Command(script) | HostScript::Encoded(Some(script))) => script,
        _ => return,
    };
    script_findings(&script, runner, depth, out);
}

fn script_findings(script: &str, runner: &Runner, depth: u8, out: &mut Vec<Finding>) {
    if depth > MAX_DEPTH {
        return;
    }
    let statements = powershell::statements(script);
    let mut cmdlets = Cmdlets::default();
    for statement in &statements {
        let Some((name, rest)) = powershell::command(statement) else { continue };
        // Module-qualified names (`ScheduledTasks\Register-ScheduledTask`) and paths alike.
        let base = cmdline::program_base(name);
        if let Some(kind) = program_of(base) {
            // PowerShell hands a native program its tokens, quotes and escapes resolved.
            let args: Vec<Text> =
                std::iter::once(name).chain(rest.iter().map(|t| t.text.as_str())).map(Text::from).collect();
            native(kind, args, runner, depth + 1, out);
        } else if START_PROCESS.iter().any(|n| casefold::names(base, n)) {
            start_process(rest, runner, depth, out);
        } else {
            cmdlets.add(base, rest);
        }
    }
    out.extend(cmdlets.finding(runner));
}

/// A native task program with its arguments as it receives them.
fn native(kind: Program, mut args: Vec<Text>, runner: &Runner, depth: u8, out: &mut Vec<Finding>) {
    if depth > MAX_DEPTH {
        return;
    }
    match kind {
        Program::Schtasks => {
            cmdline::strip_redirections(&mut args);
            out.extend(schtasks(&args, runner));
        }
        Program::At => {
            cmdline::strip_redirections(&mut args);
            out.extend(at(&args));
        }
        Program::Cmd => {
            // cmd.exe reads its command line as text: the arguments joined as Windows quotes them.
            let line = cmdline::join_args(&args);
            let (_, rest) = split_program(&line);
            collect(Program::Cmd, &line, rest, runner, depth, out);
        }
        Program::PowerShell => powershell(&args, runner, depth, out),
    }
}

const START_PROCESS: [&str; 3] = ["start-process", "saps", "start"];

/// `Start-Process [-FilePath] prog [-ArgumentList] args...`: the program it starts.
fn start_process(tokens: &[powershell::Token], runner: &Runner, depth: u8, out: &mut Vec<Finding>) {
    const PARAMETERS: &[&str] = &[
        "filepath",
        "argumentlist",
        "credential",
        "workingdirectory",
        "loaduserprofile",
        "nonewwindow",
        "passthru",
        "redirectstandarderror",
        "redirectstandardinput",
        "redirectstandardoutput",
        "windowstyle",
        "wait",
        "useshellexecute",
        "verb",
        "environment",
    ];
    let bound = powershell::bind(tokens, PARAMETERS, &["filepath", "argumentlist"]);
    let Some(file) = value(&bound, "filepath") else { return };
    let Some(kind) = program_of(cmdline::program_base(file)) else { return };
    // Start-Process joins an argument array (`'/create','/ru','SYSTEM'`) with blanks into the
    // program's command line, which the program then splits by Windows' rules.
    let list = value(&bound, "argumentlist").unwrap_or("").replace(',', " ");
    let args = split_args(&format!("\"{file}\" {list}"));
    native(kind, args, runner, depth + 1, out);
}

type Bound<'t> = Vec<(&'static str, Option<&'t str>)>;

fn value<'t>(bound: &Bound<'t>, name: &str) -> Option<&'t str> {
    bound.iter().find(|(n, _)| *n == name).and_then(|(_, v)| *v)
}

/// The ScheduledTasks cmdlets of one script, bound to their parameters.
#[derive(Default)]
struct Cmdlets<'t> {
    /// Register-ScheduledTask ("created") or Set-ScheduledTask ("updated").
    change: Option<(&'static str, Bound<'t>)>,
    principal: Option<Bound<'t>>,
    action: Option<Bound<'t>>,
    trigger: Option<Bound<'t>>,
    /// Another ScheduledTasks cmdlet: its name and the action it stands for.
    other: Option<(&'static str, &'static str, Bound<'t>)>,
}

const REGISTER: &[&str] = &[
    "taskname",
    "taskpath",
    "action",
    "trigger",
    "settings",
    "user",
    "password",
    "runlevel",
    "description",
    "principal",
    "inputobject",
    "xml",
    "force",
    "cimsession",
    "throttlelimit",
    "asjob",
];
const SET: &[&str] = &[
    "taskname",
    "taskpath",
    "action",
    "trigger",
    "settings",
    "user",
    "password",
    "principal",
    "inputobject",
    "cimsession",
    "throttlelimit",
    "asjob",
];
const PRINCIPAL: &[&str] = &[
    "userid",
    "groupid",
    "logontype",
    "runlevel",
    "processtokensidtype",
    "requiredprivilege",
    "id",
    "cimsession",
    "throttlelimit",
    "asjob",
];
const ACTION: &[&str] = &["execute", "argument", "workingdirectory", "id", "cimsession", "throttlelimit", "asjob"];
const TRIGGER: &[&str] = &[
    "once",
    "daily",
    "weekly",
    "atstartup",
    "atlogon",
    "at",
    "daysinterval",
    "weeksinterval",
    "daysofweek",
    "randomdelay",
    "repetitioninterval",
    "repetitionduration",
    "user",
    "cimsession",
    "throttlelimit",
    "asjob",
];
const BY_NAME: &[&str] = &["taskname", "taskpath", "inputobject", "cimsession", "throttlelimit", "asjob", "passthru"];

impl<'t> Cmdlets<'t> {
    fn add(&mut self, name: &str, rest: &'t [powershell::Token]) {
        let is = |cmdlet: &str| casefold::names(name, cmdlet);
        if is("register-scheduledtask") && self.change.is_none() {
            self.change = Some(("created", powershell::bind(rest, REGISTER, &["taskname", "taskpath"])));
        } else if is("set-scheduledtask") && self.change.is_none() {
            self.change = Some(("updated", powershell::bind(rest, SET, &["taskname", "taskpath"])));
        } else if is("new-scheduledtaskprincipal") {
            self.principal.get_or_insert_with(|| powershell::bind(rest, PRINCIPAL, &[]));
        } else if is("new-scheduledtaskaction") {
            self.action
                .get_or_insert_with(|| powershell::bind(rest, ACTION, &["execute", "argument", "workingdirectory"]));
        } else if is("new-scheduledtasktrigger") {
            self.trigger.get_or_insert_with(|| powershell::bind(rest, TRIGGER, &[]));
        } else if self.other.is_none() {
            for (cmdlet, action) in [
                ("unregister-scheduledtask", "deleted"),
                ("disable-scheduledtask", "disabled"),
                ("enable-scheduledtask", "enabled"),
                ("start-scheduledtask", "run"),
                ("get-scheduledtask", "query"),
            ] {
                if is(cmdlet) {
                    self.other = Some((cmdlet, action, powershell::bind(rest, BY_NAME, &["taskname", "taskpath"])));
                }
            }
        }
    }

    fn finding(&self, runner: &Runner) -> Option<Finding> {
        let mut task = TaskInfo::default();
        let (verb_params, action_name) = match (&self.change, &self.other, &self.principal) {
            (Some((action, params)), _, _) => (params, *action),
            (None, Some((cmdlet, action, params)), _) => {
                task.action = Some(action);
                task.name = value(params, "taskname").map(Text::from);
                return Some(Finding::new(Verdict::Benign, format!("PowerShell {cmdlet}"), task));
            }
            // A principal built but never registered in this command line.
            (None, None, Some(principal)) => (principal, "created"),
            (None, None, None) => return None,
        };
        let principal = self.principal.as_ref();
        task.action = Some(action_name);
        task.name = value(verb_params, "taskname").map(Text::from);
        if let Some(a) = &self.action {
            task.command = value(a, "execute").map(Text::from);
            task.arguments = value(a, "argument").map(Text::from);
        }
        if let Some(t) = &self.trigger {
            task.triggers = t
                .iter()
                .filter(|(n, _)| ["once", "daily", "weekly", "atstartup", "atlogon", "at"].contains(n))
                .map(|(n, _)| Text::from(*n))
                .collect();
        }
        task.run_level =
            value(verb_params, "runlevel").or_else(|| principal.and_then(|p| value(p, "runlevel"))).map(Text::from);

        let mut reasons = Vec::new();
        let user = value(verb_params, "user")
            .map(|u| ("-User", u))
            .or_else(|| principal.and_then(|p| value(p, "userid")).map(|u| ("-UserId", u)));
        let group = principal.and_then(|p| value(p, "groupid"));
        let privilege = if let Some((switch, user)) = user {
            task.run_as = Some(Text::from(user));
            if powershell::is_unevaluated(user) {
                reasons.push(format!("PowerShell {switch} {user}: an expression, its account not visible").into());
                Privilege::Unknown
            } else {
                reasons.push(format!("PowerShell {switch} {user}").into());
                accounts::classify(user)
            }
        } else if let Some(group) = group {
            task.run_as = Some(Text::from(group));
            reasons.push(format!("PowerShell -GroupId {group}: group principal").into());
            Privilege::Group
        } else if verb_params.iter().any(|(n, _)| *n == "inputobject" || *n == "xml") {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names as Windows resolves them: any ASCII case, `ſ` (whose uppercase is `S`) as `s`, the
    /// Kelvin sign (its own uppercase) not as `k`; nothing else, not even a near name.
    #[test]
    fn programs_by_base_name() {
        let cases: &[(&str, Option<Program>)] = &[
            ("schtasks", Some(Program::Schtasks)),
            ("SchTasks", Some(Program::Schtasks)),
            ("ſchtasks", Some(Program::Schtasks)),
            ("sctasks", Some(Program::Schtasks)),
            ("AT", Some(Program::At)),
            ("cmd", Some(Program::Cmd)),
            ("PowerShell", Some(Program::PowerShell)),
            ("pwsh", Some(Program::PowerShell)),
            ("powershell_ise", Some(Program::PowerShell)),
            ("schtasks2", None),
            ("cmdx", None),
            ("", None),
            ("\u{212A}", None),
            ("ａｔ", None),
            ("powershell_ise_powershell_ise", None),
        ];
        for &(base, want) in cases {
            assert_eq!(program_of(base), want, "{base:?}");
        }
    }
}
