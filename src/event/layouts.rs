//! The column names each logical field goes by, in every layout users send: one table, one
//! place. A chunk's header is the union of every event's fields, so a header is resolved to a
//! *list* of candidate columns per field, and each record reads the first one that has a value
//! for it (see [`ColumnMap`]).

use super::Field;

/// Where an EVTX `<EventData><Data Name='X'>` value lands, by collector. The bare name `X`
/// comes first (Splunk's `XmlWinEventLog` extraction in Splunk_TA_windows, and NXLog's
/// `im_msvistalog` + `to_json()`, which flattens EventData into the top level).
const EVENT_DATA_PREFIXES: [&str; 4] = [
    // Winlogbeat and Elastic Agent (ECS `winlog.event_data.*`).
    "winlog.event_data.",
    // Older Winlogbeat (5.x) and some Logstash pipelines.
    "event_data.",
    // EVTX converted to JSON (`evtx_dump -o jsonl`, python-evtx, Splunk's `_json`), two shapes.
    "EventData.",
    "Event.EventData.",
];

/// The names of one field, by the extraction that produces them.
struct Names {
    /// The EventData `Name` attribute(s), looked up bare and behind [`EVENT_DATA_PREFIXES`].
    event_data: &'static [&'static str],
    /// Every other name, in the order tried after the EventData names.
    other: &'static [&'static str],
}

/// The table. Within a field, earlier names win when several columns have a value for one event.
fn names(field: Field) -> Names {
    let (event_data, other): (&[&str], &[&str]) = match field {
        Field::Raw => (&[], &["_raw"]),
        Field::EventCode => (
            &[],
            &[
                // Splunk_TA_windows, both renderings (`EventCode=` in classic).
                "EventCode",
                // XML rendering's System field; NXLog JSON.
                "EventID",
                // Winlogbeat / Elastic Agent; ECS.
                "winlog.event_id",
                "event.code",
                // EVTX JSON exports.
                "Event.System.EventID",
                "System.EventID",
                "event_id",
            ],
        ),
        // Splunk's own host field; CIM `dest` for data models and `tstats`.
        Field::Host => (&[], &["host", "dest", "Processes.dest"]),
        Field::Computer => (
            &[],
            &[
                // XML rendering; classic rendering; Winlogbeat; NXLog JSON; ECS; EVTX JSON.
                "Computer",
                "ComputerName",
                "winlog.computer_name",
                "Hostname",
                "host.name",
                "Event.System.Computer",
                "System.Computer",
            ],
        ),
        // Classic rendering (WinEventLog): Splunk_TA_windows names message labels with `_`
        // for blanks, prefixed by their section ("Subject:" -> `Subject_Account_Name`).
        Field::TaskName => (&["TaskName"], &["Task_Name"]),
        Field::TaskContent => (&["TaskContent"], &["Task_Content"]),
        Field::TaskContentNew => (&["TaskContentNew"], &["Task_New_Content"]),
        Field::SubjectUserName => (&["SubjectUserName"], &["Subject_Account_Name"]),
        Field::SubjectDomainName => (&["SubjectDomainName"], &["Subject_Account_Domain"]),
        Field::SubjectUserSid => (&["SubjectUserSid"], &["Subject_Security_ID"]),
        Field::SubjectLogonId => (&["SubjectLogonId"], &["Subject_Logon_ID"]),
        Field::RpcCallClientLocality => (&["RpcCallClientLocality"], &[]),
        Field::ClientProcessId => (&["ClientProcessId"], &[]),
        Field::CommandLine => (
            &["CommandLine"],
            &[
                // Classic 4688.
                "Process_Command_Line",
                // ECS (Elastic Agent, Winlogbeat 7+ processors).
                "process.command_line",
                // CIM Endpoint.Processes, as events and as `tstats` output before
                // `drop_dm_object_name`.
                "process",
                "Processes.process",
            ],
        ),
        Field::Image => (
            &["Image", "NewProcessName"],
            &[
                "New_Process_Name",
                "process.executable",
                "process_path",
                "Processes.process_path",
                // CIM's bare file name: enough to recognise the program.
                "process_name",
                "Processes.process_name",
            ],
        ),
        Field::OriginalFileName => (
            &["OriginalFileName"],
            &["process.pe.original_file_name", "original_file_name", "Processes.original_file_name"],
        ),
        // Sysmon's `User` (DOMAIN\user); ECS `user.name`; CIM `user`.
        Field::ProcessUser => (&["User"], &["user.name", "user", "Processes.user"]),
        Field::ParentImage => (
            &["ParentImage", "ParentProcessName"],
            &[
                "Creator_Process_Name",
                "process.parent.executable",
                "parent_process_path",
                "Processes.parent_process_path",
            ],
        ),
        Field::ParentCommandLine => {
            (&["ParentCommandLine"], &["process.parent.command_line", "parent_process", "Processes.parent_process"])
        }
    };
    Names { event_data, other }
}

/// Every column name tried for a field, in order.
pub fn candidates(field: Field) -> Vec<String> {
    let n = names(field);
    let mut out: Vec<String> = n.event_data.iter().map(|s| s.to_string()).collect();
    for prefix in EVENT_DATA_PREFIXES {
        out.extend(n.event_data.iter().map(|name| format!("{prefix}{name}")));
    }
    out.extend(n.other.iter().map(|s| s.to_string()));
    out
}

/// The field-to-column choice of a search: the defaults of the table, or a column the user
/// named (`command_line_field=process`), which is then the field's only column.
#[derive(Clone, Debug, Default)]
pub struct FieldNames {
    overrides: Vec<(Field, String)>,
}

impl FieldNames {
    pub fn set_override(&mut self, field: Field, column: String) {
        self.overrides.retain(|(f, _)| *f != field);
        self.overrides.push((field, column));
    }

    /// Resolves a header: for each field, the indexes of the columns present that carry it, in
    /// the table's order. Done once per chunk; the per-record step is a few index probes.
    pub fn resolve<S: AsRef<str>>(&self, columns: &[S]) -> ColumnMap {
        let mut map = ColumnMap::default();
        let position = |name: &str| columns.iter().position(|c| c.as_ref() == name);
        for field in Field::ALL {
            let start = map.columns.len();
            match self.overrides.iter().find(|(f, _)| *f == field) {
                Some((_, column)) => map.columns.extend(position(column)),
                None => {
                    for name in candidates(field) {
                        if let Some(i) = position(&name)
                            && !map.columns[start..].contains(&i)
                        {
                            map.columns.push(i);
                        }
                    }
                }
            }
            map.ranges[field.index()] = (start, map.columns.len());
        }
        map
    }
}

/// A header resolved: for each field, its candidate columns in order.
#[derive(Clone, Debug, Default)]
pub struct ColumnMap {
    columns: Vec<usize>,
    ranges: [(usize, usize); Field::COUNT],
}

impl ColumnMap {
    /// The columns that may carry `field`, most specific first.
    pub fn candidates(&self, field: Field) -> &[usize] {
        let (start, end) = self.ranges[field.index()];
        &self.columns[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_union_header_keeps_every_layouts_column() {
        let header = [
            "_raw",
            "CommandLine",
            "Process_Command_Line",
            "process",
            "winlog.event_data.CommandLine",
            "EventCode",
            "winlog.event_id",
        ];
        let map = FieldNames::default().resolve(&header);
        assert_eq!(map.candidates(Field::CommandLine), [1, 4, 2, 3]);
        assert_eq!(map.candidates(Field::EventCode), [5, 6]);
        assert_eq!(map.candidates(Field::Raw), [0]);
        assert!(map.candidates(Field::TaskContent).is_empty());
    }

    #[test]
    fn an_override_is_the_only_candidate() {
        let mut names = FieldNames::default();
        names.set_override(Field::CommandLine, "cmd".into());
        let map = names.resolve(&["CommandLine", "cmd"]);
        assert_eq!(map.candidates(Field::CommandLine), [1]);
    }

    #[test]
    fn every_field_has_a_name_and_names_are_unique_per_field() {
        for field in Field::ALL {
            let c = candidates(field);
            assert!(!c.is_empty(), "{field:?}");
            let mut sorted = c.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), c.len(), "{field:?}");
        }
    }
}
