//! The `systemtask_evtx` modular input: Splunk's side of the modular-input contract (scheme,
//! argument validation, the `<input>` configuration, the XML event stream) and a checkpoint per
//! EVTX file so each record is sent once ([`reading`]: which records a run sends, and when a
//! checkpoint is not trusted). The EVTX reading itself is in [`crate::evtxfile`].

pub mod checkpoint;
pub mod config;
pub mod reading;
pub mod stream;

pub const SCHEME_NAME: &str = "systemtask_evtx";

/// The scheme Splunk asks for with `--scheme`.
pub fn scheme_xml() -> &'static str {
    r#"<scheme>
    <title>EVTX files (systemtask)</title>
    <description>Reads Windows .evtx files from a folder, one Splunk event per record in the XML rendering (sourcetype XmlWinEventLog), each record sent once.</description>
    <use_external_validation>true</use_external_validation>
    <use_single_instance>false</use_single_instance>
    <streaming_mode>xml</streaming_mode>
    <endpoint>
        <args>
            <arg name="name">
                <title>Input name</title>
                <description>A name for this input.</description>
            </arg>
            <arg name="path">
                <title>Path</title>
                <description>An .evtx file, or a folder of them.</description>
                <data_type>string</data_type>
                <required_on_create>true</required_on_create>
                <required_on_edit>true</required_on_edit>
            </arg>
            <arg name="recursive">
                <title>Recursive</title>
                <description>Also read folders below the path (true or false, default false).</description>
                <data_type>boolean</data_type>
                <required_on_create>false</required_on_create>
                <required_on_edit>false</required_on_edit>
            </arg>
            <arg name="event_ids">
                <title>Event IDs</title>
                <description>Only these event IDs, comma-separated (for example 1,4688,4698-4702). Empty: every record.</description>
                <data_type>string</data_type>
                <required_on_create>false</required_on_create>
                <required_on_edit>false</required_on_edit>
            </arg>
        </args>
    </endpoint>
</scheme>
"#
}
