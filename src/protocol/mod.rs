//! The Splunk chunked protocol (SCP v2): frames, request metadata and the session state machine.
//! Knows nothing about events or detection: it hands CSV bodies to a [`Command`].

pub mod frame;
pub mod session;

use serde::Deserialize;

/// The parts of a request's metadata the command uses. Unknown keys are ignored, so the
/// `session_key` Splunk sends is never parsed out of the raw frame, and cannot reach a message.
#[derive(Debug, Default, Deserialize)]
pub struct Request {
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub finished: Option<bool>,
    #[serde(default)]
    pub searchinfo: Option<SearchInfo>,
}

#[derive(Debug, Default, Deserialize, Clone)]
pub struct SearchInfo {
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub dispatch_dir: Option<String>,
    #[serde(default)]
    pub app: Option<String>,
    #[serde(default)]
    pub sid: Option<String>,
}

/// Severity of an inspector message, as Splunk names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

/// A message shown to the user in the search job inspector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub level: Level,
    pub text: String,
}

impl Message {
    pub fn new(level: Level, text: impl Into<String>) -> Self {
        Message { level, text: text.into() }
    }
}

/// What the session drives: configured once from getinfo, then fed one CSV body per execute.
pub trait Command {
    /// Why the command refuses a search; its message is what the user is shown.
    type Error: std::fmt::Display;

    /// Validates the search arguments. An `Err` is shown to the user and ends the search.
    /// `Ok` may carry warnings for the getinfo reply.
    fn configure(&mut self, info: &SearchInfo) -> Result<Vec<Message>, Self::Error>;

    /// Transforms one chunk's CSV body into `out` (cleared by the caller; its spans refer to
    /// `body`). A header-only or empty body yields 0 records.
    fn process(&mut self, body: &[u8], out: &mut crate::record::Spliced) -> Result<Processed, crate::error::CsvError>;

    /// [`Command::process`] for a body that is still arriving: `body` is its buffer, as long
    /// as the body was declared, and `input` gives its next bytes, to be read in order into the
    /// front of what is not yet read (0 once the input has ended). The session reads whatever is left
    /// unread after this returns, and if the body does not arrive whole the result is not used.
    /// By default: the body read whole, then processed.
    fn process_arriving(
        &mut self,
        body: &mut [u8],
        input: &mut dyn std::io::Read,
        out: &mut crate::record::Spliced,
    ) -> Result<Processed, crate::error::CsvError> {
        if crate::record::read_whole(body, input) < body.len() {
            return Ok(Processed::default());
        }
        self.process(body, out)
    }
}

/// What one chunk produced besides its body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Processed {
    /// Records written to the reply body.
    pub records: u64,
    /// Inspector messages for this chunk's reply.
    pub messages: Vec<Message>,
}

/// Builds reply metadata: `{"type":...,"finished":...,"inspector":{"messages":[[LEVEL,text],...]}}`.
pub fn reply_metadata(kind: Option<&str>, finished: Option<bool>, messages: &[Message]) -> Vec<u8> {
    let mut obj = serde_json::Map::new();
    if let Some(kind) = kind {
        obj.insert("type".into(), kind.into());
    }
    if let Some(finished) = finished {
        obj.insert("finished".into(), finished.into());
    }
    if !messages.is_empty() {
        let list: Vec<serde_json::Value> =
            messages.iter().map(|m| serde_json::json!([m.level.as_str(), m.text])).collect();
        obj.insert("inspector".into(), serde_json::json!({ "messages": list }));
    }
    serde_json::to_vec(&serde_json::Value::Object(obj)).unwrap_or_else(|_| b"{}".to_vec())
}
