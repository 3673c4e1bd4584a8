//! Fields recovered from `_raw` when the search head did not extract them: the XML rendering
//! (`<Data Name='TaskContent'>...`), and the classic rendering (`Task Name:\t...`).

use std::ops::Range;

use memchr::memmem;
use once_cell::sync::Lazy;

use super::Field;

/// The event code in `_raw`: `<EventID ...>4698</EventID>`, `EventCode=4698` or `"EventID": 4698`.
pub fn event_code(raw: &str) -> Option<u32> {
    // Built once: every event without an extracted event code, and every EVTX record, asks.
    static EVENT_ID: Lazy<memmem::Finder<'static>> = Lazy::new(|| memmem::Finder::new(b"<EventID"));
    if let Some(i) = EVENT_ID.find(raw.as_bytes()) {
        let rest = &raw[i..];
        let gt = rest.find('>')?;
        return leading_number(&rest[gt + 1..]);
    }
    if let Some(i) = memmem::find(raw.as_bytes(), b"EventCode=") {
        return leading_number(&raw[i + "EventCode=".len()..]);
    }
    if let Some(i) = memmem::find(raw.as_bytes(), b"\"EventID\"") {
        let rest = raw[i + "\"EventID\"".len()..].trim_start_matches([' ', ':', '"']);
        return leading_number(rest);
    }
    None
}

fn leading_number(s: &str) -> Option<u32> {
    let s = s.trim_start();
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().ok()
}

/// Where each `<Data Name='X'>value</Data>` of an XML rendering lies: (name, value) byte
/// ranges in `_raw`, found in one pass. Built once per event, on the first field the event's
/// columns lack, so each further field costs a look through a short list, not a scan of `_raw`.
pub type DataIndex = Vec<(Range<usize>, Range<usize>)>;

/// Indexes the `<Data>` elements of an XML rendering (empty for anything else). Works on
/// bytes: `_raw` is never validated as a whole, only the values read from it.
pub fn data_index(raw: &[u8]) -> DataIndex {
    static DATA: Lazy<memmem::Finder<'static>> = Lazy::new(|| memmem::Finder::new(b"<Data Name="));
    static END: Lazy<memmem::Finder<'static>> = Lazy::new(|| memmem::Finder::new(b"</Data>"));
    let mut index = DataIndex::new();
    if !is_xml(raw) {
        return index;
    }
    let bytes = raw;
    let mut at = 0;
    while let Some(i) = DATA.find(&bytes[at..]) {
        let name_start = at + i + DATA.needle().len() + 1;
        let Some(&quote) = bytes.get(name_start - 1).filter(|q| matches!(q, b'\'' | b'"')) else {
            at = name_start;
            continue;
        };
        let Some(name_len) = memchr::memchr(quote, &bytes[name_start..]) else { break };
        let name = name_start..name_start + name_len;
        let Some(gt) = memchr::memchr(b'>', &bytes[name.end..]) else { break };
        let open_end = name.end + gt;
        if bytes[open_end - 1] == b'/' {
            // `<Data Name='X'/>`: present and empty.
            index.push((name, open_end..open_end));
            at = open_end + 1;
            continue;
        }
        let value_start = open_end + 1;
        let value_end = END.find(&bytes[value_start..]).map_or(bytes.len(), |e| value_start + e);
        index.push((name, value_start..value_end));
        at = value_end;
    }
    index
}

fn is_xml(raw: &[u8]) -> bool {
    raw.trim_ascii_start().starts_with(b"<")
}

/// Text of bytes read from `_raw`: bytes that are not UTF-8 are replaced, for reading only.
fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// A field's value from `_raw`, in either rendering.
pub fn field(raw: &str, field: Field) -> Option<String> {
    field_indexed(raw.as_bytes(), &data_index(raw.as_bytes()), field)
}

/// The `<Data Name=...>` names and classic labels a field goes by in `_raw`; `None` for fields
/// read otherwise (`Computer`) or never from `_raw`.
fn names(field: Field) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match field {
        Field::TaskName => (&["TaskName"], &["Task Name:"]),
        Field::TaskContent => (&["TaskContent"], &["Task Content:"]),
        Field::TaskContentNew => (&["TaskContentNew"], &["Task New Content:"]),
        Field::SubjectUserName => (&["SubjectUserName"], &["Account Name:"]),
        Field::SubjectDomainName => (&["SubjectDomainName"], &["Account Domain:"]),
        Field::SubjectUserSid => (&["SubjectUserSid"], &["Security ID:"]),
        Field::SubjectLogonId => (&["SubjectLogonId"], &["Logon ID:"]),
        Field::RpcCallClientLocality => (&["RpcCallClientLocality"], &[]),
        Field::ClientProcessId => (&["ClientProcessId"], &[]),
        Field::CommandLine => (&["CommandLine"], &["Process Command Line:", "CommandLine:"]),
        Field::Image => (&["Image", "NewProcessName"], &["New Process Name:", "Image:"]),
        Field::OriginalFileName => (&["OriginalFileName"], &["OriginalFileName:"]),
        Field::ProcessUser => (&["User"], &["User:"]),
        Field::ParentImage => (&["ParentImage", "ParentProcessName"], &["ParentImage:", "Creator Process Name:"]),
        Field::ParentCommandLine => (&["ParentCommandLine"], &["ParentCommandLine:"]),
        Field::Computer | Field::EventCode | Field::Raw | Field::Host => return None,
    })
}

fn computer(raw: &[u8]) -> Option<String> {
    static COMPUTER: Lazy<memmem::Finder<'static>> = Lazy::new(|| memmem::Finder::new(b"<Computer>"));
    if is_xml(raw) {
        let start = COMPUTER.find(raw)? + COMPUTER.needle().len();
        let end = memchr::memchr(b'<', &raw[start..])? + start;
        let value = decode(text(&raw[start..end]).trim());
        return (!value.is_empty()).then_some(value);
    }
    classic_kv(&text(raw), "ComputerName=")
}

/// Whether `_raw` can hold the field at all: one of its names occurs in the bytes (as stored,
/// escaped or not). A field no column carries is usually absent from `_raw` too; this settles
/// it with one search of the bytes, before `_raw` is copied, validated or indexed.
pub fn may_hold(raw: &[u8], field: Field) -> bool {
    static FINDERS: Lazy<Vec<Vec<memmem::Finder<'static>>>> = Lazy::new(|| {
        Field::ALL
            .iter()
            .map(|&f| match names(f) {
                Some((xml, classic)) => {
                    // A name that contains another is found only where that one is: search the
                    // shortest forms alone (`OriginalFileName`, not also `OriginalFileName:`).
                    let all: Vec<&str> = xml.iter().chain(classic.iter()).copied().collect();
                    all.iter()
                        .filter(|n| !all.iter().any(|m| m != *n && n.contains(m)))
                        .map(|n| memmem::Finder::new(n.as_bytes()).into_owned())
                        .collect()
                }
                None => Vec::new(),
            })
            .collect()
    });
    match field {
        Field::Computer => memmem::find(raw, b"<Computer>").is_some() || memmem::find(raw, b"ComputerName=").is_some(),
        Field::EventCode | Field::Raw | Field::Host => false,
        _ => FINDERS[field.index()].iter().any(|f| f.find(raw).is_some()),
    }
}

/// [`field`] with the `<Data>` elements already indexed by [`data_index`].
pub fn field_indexed(raw: &[u8], index: &DataIndex, field: Field) -> Option<String> {
    let Some((xml_names, classic_labels)) = names(field) else {
        return match field {
            Field::Computer => computer(raw),
            _ => None,
        };
    };
    if is_xml(raw) {
        // The first element of that name decides: an empty one means absent.
        xml_names.iter().find_map(|n| {
            let (_, value) = index.iter().find(|(name, _)| &raw[name.clone()] == n.as_bytes())?;
            let value = decode(&text(&raw[value.clone()]));
            (!value.is_empty()).then_some(value)
        })
    } else {
        let raw = text(raw);
        classic_labels.iter().find_map(|l| classic_label(&raw, l, field))
    }
}

/// The text after the first opening tag `open` finds (`<Computer>`) up to the next tag,
/// trimmed, still entity-escaped. The searcher is built once by the caller.
pub fn element_text_with<'r>(raw: &'r str, open: &memmem::Finder<'_>) -> Option<&'r str> {
    let start = open.find(raw.as_bytes())? + open.needle().len();
    let end = memchr::memchr(b'<', &raw.as_bytes()[start..])? + start;
    Some(raw[start..end].trim())
}

/// One decoding level only: the Data value of `TaskContent` stays task XML text.
fn decode(s: &str) -> String {
    crate::xmltext::unescape(s).into_owned()
}

fn classic_kv(raw: &str, key: &str) -> Option<String> {
    let i = raw.find(key)? + key.len();
    let line = raw[i..].lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_string())
}

/// `\tLabel:\t\tvalue` up to the end of the line; task content runs to `</Task>` or the end.
fn classic_label(raw: &str, label: &str, field: Field) -> Option<String> {
    let i = raw.find(label)? + label.len();
    let rest = raw[i..].trim_start_matches([' ', '\t']);
    if matches!(field, Field::TaskContent | Field::TaskContentNew) {
        let start = rest.find('<')?;
        let body = &rest[start..];
        let end = body.find("</Task>").map(|e| e + "</Task>".len()).unwrap_or(body.len());
        return Some(body[..end].to_string());
    }
    let line = rest.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML_RAW: &str = "<Event xmlns='x'><System><EventID>4698</EventID><Computer>host1</Computer></System><EventData><Data Name='SubjectUserName'>admin</Data><Data Name='TaskName'>\\evil</Data><Data Name='TaskContent'>&lt;Task&gt;&lt;Principals&gt;&lt;Principal id=\"a\"&gt;&lt;UserId&gt;S-1-5-18&lt;/UserId&gt;&lt;/Principal&gt;&lt;/Principals&gt;&lt;/Task&gt;</Data></EventData></Event>";

    const CLASSIC_RAW: &str = "11/28/2026 01:02:03 PM\nLogName=Security\nEventCode=4698\nComputerName=host2\nMessage=A scheduled task was created.\n\nSubject:\n\tSecurity ID:\t\tS-1-5-21-1\n\tAccount Name:\t\tadmin\n\tAccount Domain:\t\tCORP\n\tLogon ID:\t\t0x1\n\nTask Information:\n\tTask Name: \t\t\\evil\n\tTask Content: \t\t<?xml version=\"1.0\"?>\r\n<Task><Principals><Principal><UserId>SYSTEM</UserId></Principal></Principals></Task>\n\nOther";

    #[test]
    fn xml_rendering() {
        assert_eq!(event_code(XML_RAW), Some(4698));
        assert_eq!(field(XML_RAW, Field::TaskName).as_deref(), Some("\\evil"));
        assert_eq!(field(XML_RAW, Field::Computer).as_deref(), Some("host1"));
        assert!(field(XML_RAW, Field::TaskContent).unwrap().starts_with("<Task><Principals>"));
        assert_eq!(field(XML_RAW, Field::CommandLine), None);
    }

    #[test]
    fn classic_rendering() {
        assert_eq!(event_code(CLASSIC_RAW), Some(4698));
        assert_eq!(field(CLASSIC_RAW, Field::TaskName).as_deref(), Some("\\evil"));
        assert_eq!(field(CLASSIC_RAW, Field::SubjectUserName).as_deref(), Some("admin"));
        assert_eq!(field(CLASSIC_RAW, Field::Computer).as_deref(), Some("host2"));
        let content = field(CLASSIC_RAW, Field::TaskContent).unwrap();
        assert!(content.starts_with("<?xml") && content.ends_with("</Task>"), "{content}");
    }

    #[test]
    fn data_elements_are_indexed_in_one_pass() {
        let raw = "<Event><EventData><Data Name='A'>1</Data><Data Name=\"B\"/><Data Name='C'>x &amp; y</Data><Data Name='B'>late</Data></EventData></Event>";
        let index = data_index(raw.as_bytes());
        let names: Vec<&str> = index.iter().map(|(n, _)| &raw[n.clone()]).collect();
        assert_eq!(names, ["A", "B", "C", "B"]);
        assert_eq!(field_indexed(raw.as_bytes(), &index, Field::SubjectUserName), None);
        assert!(data_index(b"plain text Name='A'").is_empty());
        // Truncated: the last value runs to the end.
        let cut = "<Event><Data Name='CommandLine'>schtasks /ru sys";
        assert_eq!(field(cut, Field::CommandLine).as_deref(), Some("schtasks /ru sys"));
        assert_eq!(field(XML_RAW, Field::SubjectUserName).as_deref(), Some("admin"));
    }

    #[test]
    fn json_event_id() {
        assert_eq!(event_code("{\"EventID\": 4702, \"x\": 1}"), Some(4702));
        assert_eq!(event_code("{\"EventID\":\"1\"}"), Some(1));
        assert_eq!(event_code("plain text"), None);
    }
}
