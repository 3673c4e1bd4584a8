//! The parts of a task definition (Task Scheduler schema) that decide and describe a detection,
//! read with a real XML parser. Tolerates the shapes seen in real events: entity-escaped,
//! `\r\n`, with or without declaration and namespace, and truncated (decides from what is there).

use quick_xml::Reader;
use quick_xml::events::Event;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Principal {
    pub id: Option<String>,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub logon_type: Option<String>,
    pub run_level: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecAction {
    pub command: String,
    pub arguments: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskXml {
    pub principals: Vec<Principal>,
    pub actions_context: Option<String>,
    pub exec: Vec<ExecAction>,
    pub com_handlers: Vec<String>,
    pub triggers: Vec<String>,
    pub hidden: Option<bool>,
    pub author: Option<String>,
    pub uri: Option<String>,
    /// The document ended before `</Task>`.
    pub truncated: bool,
}

impl TaskXml {
    /// The principal the actions run under: the one named by `<Actions Context>`, else the only
    /// (or first) principal.
    pub fn effective_principal(&self) -> Option<&Principal> {
        if let Some(ctx) = &self.actions_context
            && let Some(p) = self.principals.iter().find(|p| p.id.as_deref() == Some(ctx.as_str()))
        {
            return Some(p);
        }
        self.principals.first()
    }
}

/// True when the text looks like task XML, plain or entity-escaped.
pub fn looks_like_task_xml(text: &str) -> bool {
    let t = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    t.starts_with("<?xml") || t.starts_with("<Task") || t.starts_with("&lt;?xml") || t.starts_with("&lt;Task")
}

/// Parses task XML. Returns `None` when the text holds no `<Task>` element at all.
pub fn parse(text: &str) -> Option<TaskXml> {
    let unescaped;
    let mut text = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if text.starts_with("&lt;") {
        unescaped = unescape_lenient(text);
        text = &unescaped;
    }
    let start = text.find('<')?;
    let mut reader = Reader::from_str(&text[start..]);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;

    let mut task = TaskXml { truncated: true, ..TaskXml::default() };
    let mut seen_task = false;
    let mut path: Vec<String> = Vec::new();
    let mut text_buf = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.local_name().as_ref().to_string();
                text_buf.clear();
                if name == "Task" {
                    seen_task = true;
                }
                on_open(&mut task, &path, &name, &e);
                path.push(name);
            }
            Ok(Event::Empty(e)) => {
                let name = e.local_name().as_ref().to_string();
                on_open(&mut task, &path, &name, &e);
            }
            Ok(Event::Text(t)) => text_buf.push_str(&t.xml10_content()),
            Ok(Event::CData(t)) => text_buf.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text_buf.push(c);
                } else {
                    let name = r.xml10_content();
                    text_buf.push_str(match name.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    });
                }
            }
            Ok(Event::End(e)) => {
                let name = e.local_name().as_ref().to_string();
                on_close(&mut task, &path, &name, text_buf.trim());
                text_buf.clear();
                if name == "Task" && path.len() <= 1 {
                    task.truncated = false;
                }
                path.pop();
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    seen_task.then_some(task)
}

fn on_open(task: &mut TaskXml, path: &[String], name: &str, e: &quick_xml::events::BytesStart<'_>) {
    let parent = path.last().map(String::as_str);
    match (parent, name) {
        (Some("Principals"), "Principal") => {
            task.principals.push(Principal { id: attribute(e, "id"), ..Principal::default() });
        }
        (_, "Actions") => task.actions_context = attribute(e, "Context"),
        (Some("Actions"), "Exec") => task.exec.push(ExecAction::default()),
        (Some("Triggers"), trigger) => task.triggers.push(trigger_kind(trigger)),
        _ => {}
    }
}

fn on_close(task: &mut TaskXml, path: &[String], name: &str, text: &str) {
    let parent = if path.len() >= 2 { Some(path[path.len() - 2].as_str()) } else { None };
    let value = || (!text.is_empty()).then(|| text.to_string());
    match (parent, name) {
        (Some("Principal"), field) => {
            if let Some(p) = task.principals.last_mut() {
                match field {
                    "UserId" => p.user_id = value(),
                    "GroupId" => p.group_id = value(),
                    "LogonType" => p.logon_type = value(),
                    "RunLevel" => p.run_level = value(),
                    _ => {}
                }
            }
        }
        (Some("Exec"), "Command") => {
            if let Some(a) = task.exec.last_mut() {
                a.command = text.to_string();
            }
        }
        (Some("Exec"), "Arguments") => {
            if let Some(a) = task.exec.last_mut() {
                a.arguments = value();
            }
        }
        (Some("ComHandler"), "ClassId") => task.com_handlers.extend(value()),
        (Some("Settings"), "Hidden") => task.hidden = Some(text.eq_ignore_ascii_case("true") || text == "1"),
        (Some("RegistrationInfo"), "Author") => task.author = value(),
        (Some("RegistrationInfo"), "URI") => task.uri = value(),
        _ => {}
    }
}

fn attribute(e: &quick_xml::events::BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key)
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()))
}

/// `LogonTrigger` -> `logon`, `SessionStateChangeTrigger` -> `session_state_change`.
fn trigger_kind(element: &str) -> String {
    let base = element.strip_suffix("Trigger").unwrap_or(element);
    let mut out = String::with_capacity(base.len() + 4);
    for (i, c) in base.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Decodes one level of entity escaping; a truncated entity at the end is dropped.
fn unescape_lenient(text: &str) -> String {
    match quick_xml::escape::unescape(text) {
        Ok(s) => s.into_owned(),
        Err(_) => {
            let cut = text.rfind('&').filter(|&i| !text[i..].contains(';')).unwrap_or(text.len());
            match quick_xml::escape::unescape(&text[..cut]) {
                Ok(s) => s.into_owned(),
                Err(_) => text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo><Author>CORP\admin</Author><URI>\evil</URI></RegistrationInfo>
  <Triggers><LogonTrigger><Enabled>true</Enabled></LogonTrigger><BootTrigger/></Triggers>
  <Settings><Hidden>true</Hidden></Settings>
  <Actions Context="Author">
    <Exec><Command>cmd.exe</Command><Arguments>/C whoami &gt; %windir%\Temp\x.tmp 2&gt;&amp;1</Arguments></Exec>
  </Actions>
  <Principals>
    <Principal id="Other"><UserId>S-1-5-20</UserId></Principal>
    <Principal id="Author"><UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel></Principal>
  </Principals>
</Task>"#;

    #[test]
    fn reads_every_part() {
        let t = parse(FULL).unwrap();
        assert!(!t.truncated);
        assert_eq!(t.effective_principal().unwrap().user_id.as_deref(), Some("S-1-5-18"));
        assert_eq!(t.effective_principal().unwrap().run_level.as_deref(), Some("HighestAvailable"));
        assert_eq!(t.exec[0].command, "cmd.exe");
        assert_eq!(t.exec[0].arguments.as_deref(), Some(r"/C whoami > %windir%\Temp\x.tmp 2>&1"));
        assert_eq!(t.triggers, ["logon", "boot"]);
        assert_eq!(t.hidden, Some(true));
        assert_eq!(t.author.as_deref(), Some(r"CORP\admin"));
        assert_eq!(t.uri.as_deref(), Some(r"\evil"));
    }

    #[test]
    fn shapes_give_the_same_principal() {
        let escaped = quick_xml::escape::escape(FULL).into_owned();
        let crlf = FULL.replace('\n', "\r\n");
        let no_decl = FULL.split_once('\n').unwrap().1.to_string();
        let no_ns = FULL.replace(r#" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task""#, "");
        let prefixed = FULL.replace("<Task ", "<t:Task xmlns:t=\"x\" ").replace("</Task>", "</t:Task>");
        for shape in [escaped, crlf, no_decl, no_ns, prefixed] {
            let t = parse(&shape).unwrap_or_else(|| panic!("no task in {shape}"));
            assert_eq!(t.effective_principal().unwrap().user_id.as_deref(), Some("S-1-5-18"), "{shape}");
        }
    }

    #[test]
    fn truncated_documents_keep_what_is_there() {
        let cut = &FULL[..FULL.find("</Principals>").unwrap()];
        let t = parse(cut).unwrap();
        assert!(t.truncated);
        assert_eq!(t.effective_principal().unwrap().user_id.as_deref(), Some("S-1-5-18"));
        let early = &FULL[..FULL.find("<Principals>").unwrap()];
        let t = parse(early).unwrap();
        assert!(t.truncated && t.principals.is_empty());
        let escaped = quick_xml::escape::escape(FULL).into_owned();
        let mid_entity = &escaped[..escaped.find("&lt;/Principals").unwrap() + 2];
        assert!(parse(mid_entity).is_some());
    }

    #[test]
    fn not_a_task() {
        assert_eq!(parse("hello"), None);
        assert_eq!(parse("<Event><Data/></Event>"), None);
    }
}
