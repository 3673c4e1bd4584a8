//! Fields recovered from `_raw` when the search head did not extract them: the XML rendering
//! (`<Data Name='TaskContent'>...`), and the classic rendering (`Task Name:\t...`).

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

/// A field's value from `_raw`, in either rendering.
pub fn field(raw: &str, field: Field) -> Option<String> {
    let (xml_names, classic_labels): (&[&str], &[&str]) = match field {
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
        Field::Computer => return xml_element(raw, "Computer").or_else(|| classic_kv(raw, "ComputerName=")),
        Field::EventCode | Field::Raw | Field::Host => return None,
    };
    if raw.trim_start().starts_with('<') {
        xml_names.iter().find_map(|n| xml_data(raw, n))
    } else {
        classic_labels.iter().find_map(|l| classic_label(raw, l, field))
    }
}

/// `<Data Name='X'>value</Data>` (either quote), entity-decoded.
fn xml_data(raw: &str, name: &str) -> Option<String> {
    for quote in ['\'', '"'] {
        let needle = format!("Name={quote}{name}{quote}");
        let mut from = 0;
        while let Some(i) = memmem::find(&raw.as_bytes()[from..], needle.as_bytes()) {
            let at = from + i + needle.len();
            let rest = raw[at..].trim_start();
            if let Some(rest) = rest.strip_prefix('>') {
                let end = rest.find("</Data>").unwrap_or(rest.len());
                let value = decode(&rest[..end]);
                return (!value.is_empty()).then_some(value);
            }
            if rest.starts_with("/>") {
                return None;
            }
            from = at;
        }
    }
    None
}

fn xml_element(raw: &str, name: &str) -> Option<String> {
    let value = decode(element_text(raw, &format!("<{name}>"))?);
    (!value.is_empty()).then_some(value)
}

/// The text after the first `open` tag (`"<Computer>"`) up to the next tag, trimmed, still
/// entity-escaped.
pub fn element_text<'r>(raw: &'r str, open: &str) -> Option<&'r str> {
    element_text_with(raw, &memmem::Finder::new(open.as_bytes()))
}

/// [`element_text`] with the opening tag's searcher built once by the caller.
pub fn element_text_with<'r>(raw: &'r str, open: &memmem::Finder<'_>) -> Option<&'r str> {
    let start = open.find(raw.as_bytes())? + open.needle().len();
    let end = memchr::memchr(b'<', &raw.as_bytes()[start..])? + start;
    Some(raw[start..end].trim())
}

/// One decoding level only: the Data value of `TaskContent` stays task XML text.
fn decode(s: &str) -> String {
    quick_xml::escape::unescape(s).map(|c| c.into_owned()).unwrap_or_else(|_| s.to_string())
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
    fn json_event_id() {
        assert_eq!(event_code("{\"EventID\": 4702, \"x\": 1}"), Some(4702));
        assert_eq!(event_code("{\"EventID\":\"1\"}"), Some(1));
        assert_eq!(event_code("plain text"), None);
    }
}
