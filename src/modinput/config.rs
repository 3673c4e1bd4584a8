//! The XML splunkd sends on stdin: `<input>` in run mode, `<items>` for validation. Parsed with
//! quick-xml; the session key it carries is skipped, never stored.

use std::path::PathBuf;

use quick_xml::Reader;
use quick_xml::events::Event;
use thiserror::Error;

/// Input configuration splunkd sent that cannot be used; the message says which part and why.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("bad XML on stdin at byte {at}: {detail}")]
    Xml { at: u64, detail: String },
    #[error("path is required: an .evtx file or a folder")]
    NoPath,
    #[error("path {0} does not exist")]
    PathMissing(String),
    #[error("recursive must be true or false, not {0:?}")]
    Recursive(String),
    #[error("event_ids: {0:?} is not an event ID or a range like 4698-4702")]
    EventIds(String),
}

/// One configured input stanza.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stanza {
    /// `systemtask_evtx://name`.
    pub name: String,
    pub params: Vec<(String, String)>,
}

impl Stanza {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// What run mode needs from `<input>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InputConfig {
    pub server_host: Option<String>,
    pub checkpoint_dir: Option<PathBuf>,
    pub stanzas: Vec<Stanza>,
}

/// Parses `<input>` (run mode) or `<items>` (validation): stanzas are `<stanza>` or `<item>`.
pub fn parse(xml: &str) -> Result<InputConfig, ConfigError> {
    let mut reader = Reader::from_str(xml);
    let mut config = InputConfig::default();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut param: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.local_name().as_ref().to_string();
                text.clear();
                let attr = crate::xmltext::attribute(&e, "name");
                match name.as_str() {
                    "stanza" | "item" => {
                        config.stanzas.push(Stanza { name: attr.unwrap_or_default(), params: Vec::new() })
                    }
                    "param" => param = attr,
                    _ => {}
                }
                path.push(name);
            }
            Ok(Event::Empty(e)) => {
                let name = e.local_name().as_ref().to_string();
                if name == "param"
                    && let (Some(stanza), Some(key)) =
                        (config.stanzas.last_mut(), crate::xmltext::attribute(&e, "name"))
                {
                    stanza.params.push((key, String::new()));
                }
            }
            Ok(Event::Text(t)) => text.push_str(&t.xml10_content()),
            Ok(Event::CData(t)) => text.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => crate::xmltext::push_reference(&mut text, &r),
            Ok(Event::End(_)) => {
                let name = path.pop().unwrap_or_default();
                let value = text.trim().to_string();
                match name.as_str() {
                    "param" => {
                        if let (Some(stanza), Some(key)) = (config.stanzas.last_mut(), param.take()) {
                            stanza.params.push((key, value));
                        }
                    }
                    "server_host" => config.server_host = Some(value),
                    "checkpoint_dir" => config.checkpoint_dir = Some(PathBuf::from(value)),
                    // session_key, server_uri and anything else: not needed, not kept.
                    _ => {}
                }
                text.clear();
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(ConfigError::Xml { at: reader.error_position(), detail: e.to_string() }),
            Ok(_) => {}
        }
    }
    Ok(config)
}

/// Validated parameters of one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvtxParams {
    pub path: PathBuf,
    pub recursive: bool,
    /// Inclusive ranges; empty means every event ID.
    pub event_ids: Vec<(u32, u32)>,
}

impl EvtxParams {
    pub fn wants(&self, id: Option<u32>) -> bool {
        self.event_ids.is_empty() || id.is_some_and(|id| self.event_ids.iter().any(|&(lo, hi)| id >= lo && id <= hi))
    }
}

/// Checks a stanza's parameters; the error says which and why.
pub fn validate(stanza: &Stanza) -> Result<EvtxParams, ConfigError> {
    let path = stanza.param("path").map(str::trim).filter(|p| !p.is_empty()).ok_or(ConfigError::NoPath)?;
    let path = PathBuf::from(path);
    if !path.exists() {
        return Err(ConfigError::PathMissing(path.display().to_string()));
    }
    let recursive = match stanza.param("recursive").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("0") | Some("false") | Some("f") | Some("no") => false,
        Some("1") | Some("true") | Some("t") | Some("yes") => true,
        Some(other) => return Err(ConfigError::Recursive(other.to_string())),
    };
    let mut event_ids = Vec::new();
    for part in stanza.param("event_ids").unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let range = match part.split_once('-') {
            Some((lo, hi)) => (lo.trim().parse::<u32>(), hi.trim().parse::<u32>()),
            None => (part.parse::<u32>(), part.parse::<u32>()),
        };
        match range {
            (Ok(lo), Ok(hi)) if lo <= hi => event_ids.push((lo, hi)),
            _ => return Err(ConfigError::EventIds(part.to_string())),
        }
    }
    Ok(EvtxParams { path, recursive, event_ids })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_run_mode_input() {
        let xml = r#"<input><server_host>sh1</server_host><server_uri>https://127.0.0.1:8089</server_uri>
            <session_key>SECRET</session_key><checkpoint_dir>/opt/splunk/var/lib/splunk/modinputs/systemtask_evtx</checkpoint_dir>
            <configuration><stanza name="systemtask_evtx://ir"><param name="path">/data/case 1/&amp;evtx</param><param name="recursive">1</param><param name="index">main</param></stanza></configuration></input>"#;
        let c = parse(xml).unwrap();
        assert_eq!(c.server_host.as_deref(), Some("sh1"));
        assert_eq!(
            c.checkpoint_dir.as_deref(),
            Some(std::path::Path::new("/opt/splunk/var/lib/splunk/modinputs/systemtask_evtx"))
        );
        assert_eq!(c.stanzas.len(), 1);
        assert_eq!(c.stanzas[0].name, "systemtask_evtx://ir");
        assert_eq!(c.stanzas[0].param("path"), Some("/data/case 1/&evtx"));
        assert!(!format!("{c:?}").contains("SECRET"));
    }

    #[test]
    fn validation_table() {
        let dir = std::env::temp_dir();
        let d = dir.to_str().unwrap();
        type Case<'a> = (&'a [(&'a str, &'a str)], Result<(bool, usize), &'a str>);
        let cases: &[Case] = &[
            (&[("path", d)], Ok((false, 0))),
            (&[("path", d), ("recursive", "true"), ("event_ids", "1, 4688,4698-4702")], Ok((true, 3))),
            (&[], Err("path is required")),
            (&[("path", "  ")], Err("path is required")),
            (&[("path", "/no/such/place")], Err("does not exist")),
            (&[("path", d), ("recursive", "maybe")], Err("recursive must be true or false")),
            (&[("path", d), ("event_ids", "46x8")], Err("\"46x8\" is not an event ID")),
            (&[("path", d), ("event_ids", "4702-4698")], Err("\"4702-4698\" is not an event ID")),
        ];
        for (params, want) in cases {
            let stanza = Stanza {
                name: "x".into(),
                params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            };
            match (validate(&stanza), want) {
                (Ok(p), Ok((recursive, ranges))) => assert_eq!((p.recursive, p.event_ids.len()), (*recursive, *ranges)),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{e}"),
                (got, want) => panic!("{params:?}: {got:?} vs {want:?}"),
            }
        }
    }
}
