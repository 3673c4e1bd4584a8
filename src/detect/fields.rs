//! The event fields detection reads, and the column names each goes by in Splunk extractions
//! (XML rendering, classic rendering, CIM, JSON collectors).

use std::borrow::Cow;

/// A logical field. Each has a list of column names tried in order; the first present wins.
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

    /// Column names as extractions name them, most specific first. JSON collectors' nested names
    /// (`winlog.event_data.X`, `event_data.X`) are added by [`Field::candidates`].
    fn base_names(self) -> &'static [&'static str] {
        match self {
            Field::EventCode => &["EventCode", "EventID", "event_id", "winlog.event_id", "event.code"],
            Field::Raw => &["_raw"],
            Field::Host => &["host", "dest"],
            Field::Computer => &["Computer", "ComputerName", "winlog.computer_name", "Hostname"],
            Field::TaskName => &["TaskName", "Task_Name"],
            Field::TaskContent => &["TaskContent", "Task_Content"],
            Field::TaskContentNew => &["TaskContentNew", "Task_New_Content"],
            Field::SubjectUserName => &["SubjectUserName"],
            Field::SubjectDomainName => &["SubjectDomainName"],
            Field::SubjectUserSid => &["SubjectUserSid"],
            Field::SubjectLogonId => &["SubjectLogonId"],
            Field::RpcCallClientLocality => &["RpcCallClientLocality"],
            Field::ClientProcessId => &["ClientProcessId"],
            Field::CommandLine => &["CommandLine", "Process_Command_Line", "process"],
            Field::Image => &["Image", "NewProcessName", "New_Process_Name", "process_path"],
            Field::OriginalFileName => &["OriginalFileName"],
            Field::ProcessUser => &["User", "user"],
            Field::ParentImage => &["ParentImage", "ParentProcessName", "Creator_Process_Name", "parent_process_path"],
            Field::ParentCommandLine => &["ParentCommandLine", "parent_process"],
        }
    }

    /// Every column name tried for this field, in order.
    pub fn candidates(self) -> Vec<String> {
        let base = self.base_names();
        let mut out: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        if !matches!(self, Field::Raw | Field::Host | Field::EventCode) {
            for prefix in ["winlog.event_data.", "event_data.", "EventData."] {
                out.push(format!("{prefix}{}", base[0]));
            }
        }
        out
    }
}

/// Read access to one event's fields, whatever the input format.
pub trait EventFields {
    /// The field's value, or `None` when absent or empty.
    fn get(&self, field: Field) -> Option<Cow<'_, str>>;

    /// [`get`](Self::get) into a reused buffer (cleared first): for large values such as task
    /// XML, read on every new definition. Returns whether the field had a value.
    fn get_into(&self, field: Field, buf: &mut String) -> bool {
        buf.clear();
        self.get(field).map(|v| buf.push_str(&v)).is_some()
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

/// Resolves a column header to the column index of each logical field, honouring overrides.
#[derive(Clone, Debug, Default)]
pub struct FieldNames {
    overrides: Vec<(Field, String)>,
}

impl FieldNames {
    pub fn set_override(&mut self, field: Field, column: String) {
        self.overrides.retain(|(f, _)| *f != field);
        self.overrides.push((field, column));
    }

    /// For each field, the index into `columns` of the column that carries it.
    pub fn resolve<S: AsRef<str>>(&self, columns: &[S]) -> [Option<usize>; Field::ALL.len()] {
        let mut map = [None; Field::ALL.len()];
        let find = |name: &str| columns.iter().position(|c| c.as_ref() == name);
        for field in Field::ALL {
            map[field.index()] = match self.overrides.iter().find(|(f, _)| *f == field) {
                Some((_, column)) => find(column),
                None => field.candidates().iter().find_map(|c| find(c)),
            };
        }
        map
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
