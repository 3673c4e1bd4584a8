//! Events as detection reads them: logical fields ([`Field`]), whatever layout the event came in.
//!
//! - [`layouts`]: the one table of column names each field goes by (XML and classic rendering,
//!   CIM, Winlogbeat / Elastic Agent, NXLog, EVTX JSON exports), and its resolution against a
//!   header into per-field candidate columns.
//! - [`raw`]: fields recovered from `_raw` when no column carries them.
//! - [`WithRaw`]: a record's fields with `_raw` as every field's last candidate.
//!
//! Resolution is per record: in a chunk whose header is the union of several layouts, each event
//! reads the first candidate column that has a value *for that event*.

pub mod layouts;
pub mod raw;

use std::borrow::Cow;
use std::cell::OnceCell;

pub use layouts::{ColumnMap, FieldNames};

/// A logical field detection reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    EventCode,
    Raw,
    Host,
    Computer,
    TaskName,
    TaskContent,
    TaskContentNew,
    SubjectUserName,
    SubjectDomainName,
    SubjectUserSid,
    SubjectLogonId,
    RpcCallClientLocality,
    ClientProcessId,
    CommandLine,
    Image,
    OriginalFileName,
    ProcessUser,
    ParentImage,
    ParentCommandLine,
}

impl Field {
    pub const ALL: [Field; 19] = [
        Field::EventCode,
        Field::Raw,
        Field::Host,
        Field::Computer,
        Field::TaskName,
        Field::TaskContent,
        Field::TaskContentNew,
        Field::SubjectUserName,
        Field::SubjectDomainName,
        Field::SubjectUserSid,
        Field::SubjectLogonId,
        Field::RpcCallClientLocality,
        Field::ClientProcessId,
        Field::CommandLine,
        Field::Image,
        Field::OriginalFileName,
        Field::ProcessUser,
        Field::ParentImage,
        Field::ParentCommandLine,
    ];
    pub const COUNT: usize = Field::ALL.len();

    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in options (`<key>_field=<column>`) and documentation.
    pub fn key(self) -> &'static str {
        match self {
            Field::EventCode => "event_code",
            Field::Raw => "raw",
            Field::Host => "host",
            Field::Computer => "computer",
            Field::TaskName => "task_name",
            Field::TaskContent => "task_content",
            Field::TaskContentNew => "task_content_new",
            Field::SubjectUserName => "subject_user_name",
            Field::SubjectDomainName => "subject_domain_name",
            Field::SubjectUserSid => "subject_user_sid",
            Field::SubjectLogonId => "subject_logon_id",
            Field::RpcCallClientLocality => "rpc_call_client_locality",
            Field::ClientProcessId => "client_process_id",
            Field::CommandLine => "command_line",
            Field::Image => "image",
            Field::OriginalFileName => "original_file_name",
            Field::ProcessUser => "process_user",
            Field::ParentImage => "parent_image",
            Field::ParentCommandLine => "parent_command_line",
        }
    }

    pub fn from_key(key: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.key() == key)
    }
}

/// Read access to one event's logical fields, whatever the input format.
pub trait EventFields {
    /// The field's value, or `None` when absent or empty.
    fn get(&self, field: Field) -> Option<Cow<'_, str>>;

    /// [`get`](Self::get) into a reused buffer (cleared first): for large values such as task
    /// XML, read on every new definition. Returns whether the field had a value.
    fn get_into(&self, field: Field, buf: &mut String) -> bool {
        buf.clear();
        self.get(field).map(|v| buf.push_str(&v)).is_some()
    }

    /// The field's bytes, not validated as text: for `_raw`, which is searched, not read.
    fn get_bytes(&self, field: Field) -> Option<Cow<'_, [u8]>> {
        self.get(field).map(|v| match v {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        })
    }

    /// Whether the field has a value, without reading it.
    fn has(&self, field: Field) -> bool {
        self.get(field).is_some()
    }

    /// The field exactly as stored (for CSV input, the quoted bytes), when the source can give
    /// it without decoding: a key for remembering what a value says.
    fn stored(&self, _field: Field) -> Option<&[u8]> {
        None
    }
}

/// An event's fields with `_raw` as the last candidate of every field: a field no column
/// carries for this event is looked for in `_raw` (XML or classic rendering). `_raw` is read
/// once, and only when some field needs it.
pub struct WithRaw<'a, E: EventFields + ?Sized> {
    event: &'a E,
    raw: OnceCell<Option<Cow<'a, [u8]>>>,
    /// `_raw`'s `<Data>` elements, indexed on the first field looked for there.
    index: OnceCell<raw::DataIndex>,
}

impl<'a, E: EventFields + ?Sized> WithRaw<'a, E> {
    pub fn new(event: &'a E) -> Self {
        WithRaw { event, raw: OnceCell::new(), index: OnceCell::new() }
    }

    fn raw(&self) -> Option<&[u8]> {
        self.raw.get_or_init(|| self.event.get_bytes(Field::Raw)).as_deref()
    }

    fn recover_from_raw(&self, field: Field) -> Option<String> {
        if matches!(field, Field::Raw | Field::Host) {
            return None;
        }
        if field != Field::EventCode
            && let Some(stored) = self.event.stored(Field::Raw)
            && !raw::may_hold(stored, field)
        {
            return None;
        }
        let raw = self.raw()?;
        match field {
            Field::EventCode => raw::event_code(&String::from_utf8_lossy(raw)).map(|c| c.to_string()),
            _ => raw::field_indexed(raw, self.index.get_or_init(|| raw::data_index(raw)), field),
        }
    }

    /// The event code, from its column or from `_raw`.
    pub fn event_code(&self) -> Option<u32> {
        match self.event.get(Field::EventCode) {
            Some(v) => v.trim().parse::<u32>().ok(),
            None => self.raw().and_then(|r| raw::event_code(&String::from_utf8_lossy(r))),
        }
    }
}

impl<E: EventFields + ?Sized> EventFields for WithRaw<'_, E> {
    fn get(&self, field: Field) -> Option<Cow<'_, str>> {
        self.event.get(field).or_else(|| self.recover_from_raw(field).map(Cow::Owned))
    }

    fn get_into(&self, field: Field, buf: &mut String) -> bool {
        if self.event.get_into(field, buf) {
            return true;
        }
        match self.recover_from_raw(field) {
            Some(v) => {
                buf.push_str(&v);
                true
            }
            None => false,
        }
    }

    fn has(&self, field: Field) -> bool {
        self.event.has(field) || self.recover_from_raw(field).is_some()
    }

    /// The stored form of a field a column carries (never of one recovered from `_raw`).
    fn stored(&self, field: Field) -> Option<&[u8]> {
        self.event.stored(field)
    }
}

/// An event held as a simple list of (field, value) pairs: used by tests and by local inputs.
#[derive(Clone, Debug, Default)]
pub struct FieldList(pub Vec<(Field, String)>);

impl EventFields for FieldList {
    fn get(&self, field: Field) -> Option<Cow<'_, str>> {
        self.0.iter().find(|(f, v)| *f == field && !v.is_empty()).map(|(_, v)| Cow::Borrowed(v.as_str()))
    }
}
