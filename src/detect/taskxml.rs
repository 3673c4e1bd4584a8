//! The parts of a task definition (Task Scheduler schema) that decide and describe a detection,
//! read item by item from its markup (`markup`; references and line ends as `crate::xmltext`
//! resolves them). Tolerates the shapes seen in real events: entity-escaped, `\r\n`, with or
//! without declaration and namespace, and truncated (decides from what is there). A
//! differential test holds it to the quick-xml reader it replaced.

use std::borrow::Cow;

use super::Text;
use crate::bytes::find_any;
use markup::{Attributes, Item, Markup};

mod markup;

/// A value as the document gives it: borrowed from the document when it reads as written (no
/// reference, no `\r`), decoded otherwise. Detection keeps a few values as finding text; the
/// others (ids, the actions' context) are compared and dropped without an allocation.
pub type Value<'a> = Cow<'a, str>;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Principal<'a> {
    pub id: Option<Value<'a>>,
    pub user_id: Option<Value<'a>>,
    pub group_id: Option<Value<'a>>,
    pub logon_type: Option<Value<'a>>,
    pub run_level: Option<Value<'a>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exec<'a> {
    pub command: Option<Value<'a>>,
    pub arguments: Option<Value<'a>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskXml<'a> {
    pub principals: Vec<Principal<'a>>,
    pub actions_context: Option<Value<'a>>,
    pub exec: Vec<Exec<'a>>,
    pub com_handlers: Vec<Value<'a>>,
    pub triggers: Vec<Text>,
    pub hidden: Option<bool>,
    pub author: Option<Value<'a>>,
    pub uri: Option<Value<'a>>,
    /// The document ended before `</Task>`.
    pub truncated: bool,
}

impl TaskXml<'_> {
    /// The principal the actions run under: the one named by `<Actions Context>`, else the only
    /// (or first) principal.
    pub fn effective_principal(&self) -> Option<&Principal<'_>> {
        if let Some(ctx) = &self.actions_context
            && let Some(p) = self.principals.iter().find(|p| p.id.as_deref() == Some(ctx))
        {
            return Some(p);
        }
        self.principals.first()
    }

    /// The same task, owning every value.
    pub fn into_owned(self) -> TaskXml<'static> {
        fn owned(value: Value<'_>) -> Value<'static> {
            Cow::Owned(value.into_owned())
        }
        TaskXml {
            principals: (self.principals.into_iter())
                .map(|p| Principal {
                    id: p.id.map(owned),
                    user_id: p.user_id.map(owned),
                    group_id: p.group_id.map(owned),
                    logon_type: p.logon_type.map(owned),
                    run_level: p.run_level.map(owned),
                })
                .collect(),
            actions_context: self.actions_context.map(owned),
            exec: (self.exec.into_iter())
                .map(|e| Exec { command: e.command.map(owned), arguments: e.arguments.map(owned) })
                .collect(),
            com_handlers: self.com_handlers.into_iter().map(owned).collect(),
            triggers: self.triggers,
            hidden: self.hidden,
            author: self.author.map(owned),
            uri: self.uri.map(owned),
            truncated: self.truncated,
        }
    }
}

/// Elements whose position matters; everything else is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Task,
    RegistrationInfo,
    Triggers,
    Principals,
    Principal,
    Settings,
    Actions,
    Exec,
    ComHandler,
    Other,
}

/// Leaf elements whose text is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leaf {
    UserId,
    GroupId,
    LogonType,
    RunLevel,
    Command,
    Arguments,
    ClassId,
    Hidden,
    Author,
    Uri,
}

fn tag_of(name: &str) -> Tag {
    match name {
        "Task" => Tag::Task,
        "RegistrationInfo" => Tag::RegistrationInfo,
        "Triggers" => Tag::Triggers,
        "Principals" => Tag::Principals,
        "Principal" => Tag::Principal,
        "Settings" => Tag::Settings,
        "Actions" => Tag::Actions,
        "Exec" => Tag::Exec,
        "ComHandler" => Tag::ComHandler,
        _ => Tag::Other,
    }
}

fn leaf_of(parent: Option<Tag>, name: &str) -> Option<Leaf> {
    Some(match (parent?, name) {
        (Tag::Principal, "UserId") => Leaf::UserId,
        (Tag::Principal, "GroupId") => Leaf::GroupId,
        (Tag::Principal, "LogonType") => Leaf::LogonType,
        (Tag::Principal, "RunLevel") => Leaf::RunLevel,
        (Tag::Exec, "Command") => Leaf::Command,
        (Tag::Exec, "Arguments") => Leaf::Arguments,
        (Tag::ComHandler, "ClassId") => Leaf::ClassId,
        (Tag::Settings, "Hidden") => Leaf::Hidden,
        (Tag::RegistrationInfo, "Author") => Leaf::Author,
        (Tag::RegistrationInfo, "URI") => Leaf::Uri,
        _ => return None,
    })
}

/// Parses task XML. Returns `None` when the text holds no `<Task>` element at all.
pub fn parse(text: &str) -> Option<TaskXml<'static>> {
    Reader::default().parse(text).map(TaskXml::into_owned)
}

/// The buffers a definition is read with, kept from one definition to the next: a reader per
/// thread takes their allocations off every task event.
#[derive(Debug, Default)]
pub struct Reader {
    /// The open elements, as far as they matter; one entry per open element.
    path: Vec<Tag>,
    /// The text of the leaf being read, when it has to be decoded.
    text: String,
    /// The document decoded one level, when it arrives entity-escaped.
    unescaped: String,
}

impl Reader {
    /// [`parse`], in this reader's buffers; values that read as written borrow from `text`.
    pub fn parse<'r>(&'r mut self, text: &'r str) -> Option<TaskXml<'r>> {
        let Reader { path, text: text_buf, unescaped } = self;
        path.clear();
        text_buf.clear();
        let mut text = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
        if text.starts_with("&lt;") {
            *unescaped = crate::xmltext::unescape(text).into_owned();
            text = unescaped;
        }
        let start = text.find('<')?;
        read(&text[start..], path, text_buf)
    }
}

/// A leaf's text so far: none, one run that reads as written (borrowed from the document), or
/// decoded into the reader's buffer. Nearly every leaf is one plain run.
#[derive(Clone, Copy)]
enum Gathered<'a> {
    Nothing,
    AsWritten(&'a str),
    Decoded,
}

impl<'a> Gathered<'a> {
    /// Adds `raw`, which `decode` appends decoded.
    fn add(self, raw: &'a str, buf: &mut String, decode: fn(&mut String, &str)) -> Gathered<'a> {
        match self {
            // Without a reference or a `\r`, text and CDATA decode to themselves.
            Gathered::Nothing if find_any([b'&', b'\r'], raw.as_bytes()).is_none() => Gathered::AsWritten(raw),
            Gathered::AsWritten(before) => {
                buf.push_str(before);
                decode(buf, raw);
                Gathered::Decoded
            }
            _ => {
                decode(buf, raw);
                Gathered::Decoded
            }
        }
    }

    /// The leaf's value, trimmed.
    fn value(self, buf: &str) -> Value<'a> {
        match self {
            Gathered::Nothing => Cow::Borrowed(""),
            Gathered::AsWritten(raw) => Cow::Borrowed(raw.trim()),
            Gathered::Decoded => Cow::Owned(buf.trim().to_owned()),
        }
    }
}

fn read<'a>(document: &'a str, path: &mut Vec<Tag>, text_buf: &mut String) -> Option<TaskXml<'a>> {
    let mut task = TaskXml { truncated: true, ..TaskXml::default() };
    let mut seen_task = false;
    let mut capture: Option<Leaf> = None;
    let mut gathered = Gathered::Nothing;
    for item in Markup::new(document) {
        match item {
            Item::Open { name, attributes, empty: false } => {
                let parent = path.last().copied();
                let tag = tag_of(name);
                seen_task |= tag == Tag::Task;
                capture = leaf_of(parent, name);
                text_buf.clear();
                gathered = Gathered::Nothing;
                on_open(&mut task, parent, tag, name, attributes);
                path.push(tag);
            }
            Item::Open { name, attributes, empty: true } => {
                on_open(&mut task, path.last().copied(), tag_of(name), name, attributes);
            }
            Item::Text(raw) if capture.is_some() => gathered = gathered.add(raw, text_buf, crate::xmltext::push_text),
            Item::CData(raw) if capture.is_some() => gathered = gathered.add(raw, text_buf, crate::xmltext::push_cdata),
            Item::Close => {
                if let Some(leaf) = capture.take() {
                    on_leaf(&mut task, leaf, gathered.value(text_buf));
                }
                if path.pop() == Some(Tag::Task) && path.is_empty() {
                    task.truncated = false;
                }
            }
            Item::Text(_) | Item::CData(_) => {}
        }
    }
    seen_task.then_some(task)
}

#[inline(always)]
fn on_open<'a>(task: &mut TaskXml<'a>, parent: Option<Tag>, tag: Tag, name: &str, attributes: Attributes<'a>) {
    match (parent, tag) {
        (Some(Tag::Principals), Tag::Principal) => {
            task.principals.push(Principal { id: attributes.get("id"), ..Principal::default() });
        }
        (_, Tag::Actions) => task.actions_context = attributes.get("Context"),
        (Some(Tag::Actions), Tag::Exec) => task.exec.push(Exec::default()),
        (Some(Tag::Triggers), _) => task.triggers.push(trigger_kind(name)),
        _ => {}
    }
}

fn on_leaf<'a>(task: &mut TaskXml<'a>, leaf: Leaf, text: Value<'a>) {
    if leaf == Leaf::Hidden {
        task.hidden = Some(text.eq_ignore_ascii_case("true") || text == "1");
        return;
    }
    let value = (!text.is_empty()).then_some(text);
    match leaf {
        Leaf::UserId | Leaf::GroupId | Leaf::LogonType | Leaf::RunLevel => {
            if let Some(p) = task.principals.last_mut() {
                let slot = match leaf {
                    Leaf::UserId => &mut p.user_id,
                    Leaf::GroupId => &mut p.group_id,
                    Leaf::LogonType => &mut p.logon_type,
                    _ => &mut p.run_level,
                };
                *slot = value;
            }
        }
        Leaf::Command => {
            if let Some(a) = task.exec.last_mut() {
                a.command = value;
            }
        }
        Leaf::Arguments => {
            if let Some(a) = task.exec.last_mut() {
                a.arguments = value;
            }
        }
        Leaf::ClassId => task.com_handlers.extend(value),
        Leaf::Author => task.author = value,
        Leaf::Uri => task.uri = value,
        Leaf::Hidden => {}
    }
}

/// The trigger elements of the task schema (and `WnfStateChangeTrigger`, which Windows writes
/// without documenting it), with their kind: every task event names one or more, so these are
/// looked up rather than spelled. A test holds each to [`trigger_kind`]'s spelling.
const KNOWN_TRIGGERS: [(&str, &str); 9] = [
    ("BootTrigger", "boot"),
    ("CalendarTrigger", "calendar"),
    ("EventTrigger", "event"),
    ("IdleTrigger", "idle"),
    ("LogonTrigger", "logon"),
    ("RegistrationTrigger", "registration"),
    ("SessionStateChangeTrigger", "session_state_change"),
    ("TimeTrigger", "time"),
    ("WnfStateChangeTrigger", "wnf_state_change"),
];

/// `LogonTrigger` -> `logon`, `SessionStateChangeTrigger` -> `session_state_change`. Another
/// element is spelled on the stack when short, then made a [`Text`] at once.
fn trigger_kind(element: &str) -> Text {
    if let Some(&(_, kind)) = KNOWN_TRIGGERS.iter().find(|(name, _)| *name == element) {
        return Text::new_static(kind);
    }
    spelled_trigger_kind(element)
}

fn spelled_trigger_kind(element: &str) -> Text {
    let base = element.strip_suffix("Trigger").unwrap_or(element);
    let mut short = [0u8; 64];
    let spelled = snake_case(base).try_fold(0, |len, c| {
        let slot = short.get_mut(len..len + c.len_utf8())?;
        Some(len + c.encode_utf8(slot).len())
    });
    match spelled.and_then(|len| std::str::from_utf8(&short[..len]).ok()) {
        Some(kind) => Text::from(kind),
        None => Text::from(snake_case(base).collect::<String>()),
    }
}

/// The characters of `name` in snake case: an `_` before each ASCII capital but the first,
/// ASCII letters lowercased.
fn snake_case(name: &str) -> impl Iterator<Item = char> + '_ {
    name.chars().enumerate().flat_map(|(i, c)| {
        let underscore = (c.is_ascii_uppercase() && i > 0).then_some('_');
        underscore.into_iter().chain(std::iter::once(c.to_ascii_lowercase()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_kinds_read_the_same_on_the_stack_and_off_it() {
        let long = format!("Very{}Trigger", "LongName".repeat(10));
        let cases = [
            ("LogonTrigger", "logon"),
            ("SessionStateChangeTrigger", "session_state_change"),
            ("BootTrigger", "boot"),
            ("Trigger", ""),
            ("Custom", "custom"),
            ("ÉvénementTrigger", "Événement"),
            ("ÉvénementTriggerX", "Événement_trigger_x"),
        ];
        for (element, want) in cases {
            assert_eq!(&*trigger_kind(element), want, "{element}");
        }
        assert_eq!(&*trigger_kind(&long), format!("very{}", "_long_name".repeat(10)));
        assert!(trigger_kind(&long).len() > 64);
    }

    #[test]
    fn known_triggers_read_as_they_are_spelled() {
        for (element, kind) in KNOWN_TRIGGERS {
            assert_eq!(&*spelled_trigger_kind(element), kind, "{element}");
        }
    }

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
        assert_eq!(t.exec[0].command.as_deref(), Some("cmd.exe"));
        assert_eq!(t.exec[0].arguments.as_deref(), Some(r"/C whoami > %windir%\Temp\x.tmp 2>&1"));
        assert_eq!(t.triggers.iter().map(|t| &**t).collect::<Vec<_>>(), ["logon", "boot"]);
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

    /// One reader across documents of every shape reads each as a new reader does, whatever
    /// the document before it left open (a truncated one leaves elements and leaf text behind).
    #[test]
    fn a_reused_reader_reads_as_a_new_one() {
        let escaped = quick_xml::escape::escape(FULL).into_owned();
        let cut_in_leaf = &FULL[..FULL.find("S-1-5-18").unwrap() + 4];
        let cut_in_actions = &FULL[..FULL.find("</Command>").unwrap()];
        let documents = [FULL, cut_in_leaf, FULL, cut_in_actions, &escaped, "hello", cut_in_leaf, FULL];
        let mut reader = Reader::default();
        for document in documents {
            assert_eq!(reader.parse(document), parse(document), "{document}");
        }
    }

    #[test]
    fn not_a_task() {
        assert_eq!(parse("hello"), None);
        assert_eq!(parse("<Event><Data/></Event>"), None);
    }
}

/// The reader this module replaced, on quick-xml, kept as an oracle: on any document the two
/// must find the same task. quick-xml's own reference and attribute handling is used, so the
/// oracle shares nothing with `markup` or `xmltext`.
#[cfg(test)]
mod differential {
    use super::*;
    use proptest::prelude::*;
    use quick_xml::Reader;
    use quick_xml::events::{BytesStart, Event};

    fn oracle_attribute(e: &BytesStart<'_>, key: &str) -> Option<String> {
        e.attributes()
            .flatten()
            .find(|a| a.key.local_name().as_ref() == key)
            .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()))
    }

    fn oracle(text: &str) -> Option<TaskXml<'static>> {
        let unescaped;
        let mut text = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
        if text.starts_with("&lt;") {
            unescaped = quick_xml::escape::unescape(text).map(|t| t.into_owned()).ok()?;
            text = &unescaped;
        }
        let start = text.find('<')?;
        let mut reader = Reader::from_str(&text[start..]);
        let config = reader.config_mut();
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        config.allow_dangling_amp = true;
        let mut task = TaskXml { truncated: true, ..TaskXml::default() };
        let (mut seen_task, mut path, mut capture, mut text_buf) = (false, Vec::new(), None, String::new());
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) => {
                    let local = e.local_name();
                    let name: &str = local.as_ref();
                    let parent = path.last().copied();
                    let tag = tag_of(name);
                    seen_task |= tag == Tag::Task;
                    capture = leaf_of(parent, name);
                    text_buf.clear();
                    oracle_open(&mut task, parent, tag, name, &e);
                    path.push(tag);
                }
                Ok(Event::Empty(e)) => {
                    let local = e.local_name();
                    let name: &str = local.as_ref();
                    oracle_open(&mut task, path.last().copied(), tag_of(name), name, &e);
                }
                Ok(Event::Text(t)) if capture.is_some() => text_buf.push_str(&t.xml10_content()),
                Ok(Event::CData(t)) if capture.is_some() => text_buf.push_str(&t.xml10_content()),
                Ok(Event::GeneralRef(r)) if capture.is_some() => match r.resolve_char_ref() {
                    Ok(Some(c)) => text_buf.push(c),
                    _ => text_buf.push_str(quick_xml::escape::resolve_predefined_entity(&r).unwrap_or("")),
                },
                Ok(Event::End(_)) => {
                    if let Some(leaf) = capture.take() {
                        on_leaf(&mut task, leaf, Cow::Owned(text_buf.trim().to_owned()));
                    }
                    if path.pop() == Some(Tag::Task) && path.is_empty() {
                        task.truncated = false;
                    }
                }
                Ok(Event::Eof) | Err(_) => break,
                Ok(_) => {}
            }
        }
        seen_task.then_some(task)
    }

    fn oracle_open(task: &mut TaskXml<'static>, parent: Option<Tag>, tag: Tag, name: &str, e: &BytesStart<'_>) {
        match (parent, tag) {
            (Some(Tag::Principals), Tag::Principal) => task
                .principals
                .push(Principal { id: oracle_attribute(e, "id").map(Cow::Owned), ..Principal::default() }),
            (_, Tag::Actions) => task.actions_context = oracle_attribute(e, "Context").map(Cow::Owned),
            (Some(Tag::Actions), Tag::Exec) => task.exec.push(Exec::default()),
            (Some(Tag::Triggers), _) => task.triggers.push(trigger_kind(name)),
            _ => {}
        }
    }

    /// Text as a task's values hold it: paths, arguments with quotes and redirections, entity
    /// and character references, line ends of either kind, non-ASCII.
    fn text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[A-Za-z0-9 .:%/\\\\-]{0,12}",
            Just("&amp;".to_string()),
            Just("&lt;&gt;".to_string()),
            Just("&quot;&apos;".to_string()),
            Just("&#233;&#x41;".to_string()),
            Just("\r\n".to_string()),
            Just("\r".to_string()),
            Just(" \t ".to_string()),
            Just("é✓".to_string()),
            Just("<![CDATA[a<b>&c\r\n]]>".to_string()),
            Just("<!-- note <x> -->".to_string()),
        ];
        proptest::collection::vec(piece, 0..5).prop_map(|p| p.concat())
    }

    fn attributes(name: &'static str) -> impl Strategy<Value = String> {
        (text().prop_map(|t| t.replace(['<', '"'], "").replace('&', "&amp;")), any::<bool>(), any::<bool>()).prop_map(
            move |(value, single, spaced)| {
                let q = if single { '\'' } else { '"' };
                let eq = if spaced { " = " } else { "=" };
                format!(" other{eq}{q}a>b/{q} {name}{eq}{q}{}{q}", value.replace(q, ""))
            },
        )
    }

    fn leaf(name: &'static str) -> impl Strategy<Value = String> {
        (text(), any::<bool>()).prop_map(move |(t, empty)| {
            let t = t.replace('<', "&lt;");
            let t = if t.contains("CDATA") || t.contains("--") { t.replace("&lt;", "<") } else { t };
            if empty { format!("<{name}/>") } else { format!("<{name}>{t}</{name}>") }
        })
    }

    fn document() -> impl Strategy<Value = String> {
        let exec = (leaf("Command"), leaf("Arguments")).prop_map(|(c, a)| format!("<Exec>{c}{a}</Exec>"));
        let principal = (attributes("id"), leaf("UserId"), leaf("GroupId"), leaf("RunLevel"))
            .prop_map(|(id, u, g, r)| format!("<Principal{id}>\r\n {u}{g}{r}</Principal>"));
        let com = leaf("ClassId").prop_map(|c| format!("<ComHandler>{c}</ComHandler>"));
        let trigger = prop_oneof![Just("<LogonTrigger/>"), Just("<BootTrigger><Enabled>true</Enabled></BootTrigger>")];
        (
            any::<bool>(),
            proptest::collection::vec(principal, 0..3),
            attributes("Context"),
            proptest::collection::vec(prop_oneof![exec, com], 0..3),
            proptest::collection::vec(trigger, 0..3),
            leaf("Author"),
            leaf("Hidden"),
            any::<bool>(),
        )
            .prop_map(|(decl, principals, context, actions, triggers, author, hidden, prefixed)| {
                let task = if prefixed { "t:Task xmlns:t=\"x\"" } else { "Task version=\"1.2\"" };
                let close = if prefixed { "t:Task" } else { "Task" };
                format!(
                    "{}<{task}>\n<RegistrationInfo>{author}<URI>\\a&amp;b</URI></RegistrationInfo><Triggers>{}</Triggers>\
                     <Settings>{hidden}</Settings><Principals>{}</Principals><Actions{context}>{}</Actions></{close}>",
                    if decl { "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n" } else { "" },
                    triggers.concat(),
                    principals.concat(),
                    actions.concat(),
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Whole documents, as written and entity-escaped as `_raw` carries them.
        #[test]
        fn same_task_as_quick_xml(document in document()) {
            prop_assert_eq!(parse(&document), oracle(&document), "{}", document);
            let escaped = quick_xml::escape::escape(&document).into_owned();
            prop_assert_eq!(parse(&escaped), oracle(&escaped), "{}", escaped);
        }

        /// Cut anywhere, as a truncated event is: the same partial task.
        #[test]
        fn same_task_as_quick_xml_when_cut(document in document(), cut in 0.0..1.0f64) {
            let mut at = (document.len() as f64 * cut) as usize;
            while !document.is_char_boundary(at) {
                at -= 1;
            }
            let cut = &document[..at];
            prop_assert_eq!(parse(cut), oracle(cut), "{}", cut);
        }
    }
}
