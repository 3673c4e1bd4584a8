//! Realistic mixed Windows events for the benchmarks: about 40% Security 4698/4702 with task
//! XML, 45% Sysmon 1, 15% other events, each about 2 KB, with the `__mv_` columns Splunk sends.
//! Deterministic (a fixed-seed xorshift), so runs compare.

pub const COLUMNS: [&str; 20] = [
    "_time",
    "host",
    "source",
    "sourcetype",
    "index",
    "EventCode",
    "Computer",
    "TaskName",
    "TaskContent",
    "TaskContentNew",
    "SubjectUserName",
    "SubjectDomainName",
    "SubjectUserSid",
    "SubjectLogonId",
    "Image",
    "CommandLine",
    "User",
    "ParentImage",
    "OriginalFileName",
    "_raw",
];

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Windows maintenance tasks as they appear in real 4702 events (allowlisted), and others.
const TASKS: &[(&str, &str, &str, &str)] = &[
    (
        r"\Microsoft\Windows\UpdateOrchestrator\Schedule Scan",
        r"%systemroot%\system32\usoclient.exe",
        "StartScan",
        "S-1-5-18",
    ),
    (
        r"\Microsoft\Windows\UpdateOrchestrator\Schedule Work",
        r"%systemroot%\system32\usoclient.exe",
        "StartWork",
        "S-1-5-18",
    ),
    (
        r"\Microsoft\Windows\Application Experience\Microsoft Compatibility Appraiser",
        r"%windir%\system32\compattelrunner.exe",
        "",
        "S-1-5-18",
    ),
    (r"\Microsoft\Windows\SoftwareProtectionPlatform\SvcRestartTask", r"%windir%\system32\sppsvc.exe", "", "S-1-5-20"),
    (
        r"\GoogleUpdateTaskMachineUA",
        r"C:\Program Files (x86)\Google\Update\GoogleUpdate.exe",
        "/ua /installsource scheduler",
        "S-1-5-18",
    ),
    (
        r"\OneDrive Standalone Update Task-S-1-5-21-1-2-3-1104",
        r"%localappdata%\Microsoft\OneDrive\OneDriveStandaloneUpdater.exe",
        "",
        r"CORP\bob",
    ),
    (r"\Updater", r"C:\Users\Public\upd.exe", "-silent", "S-1-5-18"),
];

/// Ordinary process creations.
const PROCESSES: &[(&str, &str)] = &[
    (r"C:\Windows\System32\svchost.exe", r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule"),
    (
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r#""C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --lang=en-US --field-trial-handle=1234,5678 --renderer-client-id=42 /prefetch:1"#,
    ),
    (r"C:\Windows\System32\conhost.exe", r"\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1"),
    (
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        r#"powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\scripts\inventory.ps1"#,
    ),
    (r"C:\Windows\System32\cmd.exe", r#"C:\Windows\system32\cmd.exe /c "echo %DATE% > C:\temp\stamp.txt""#),
    (
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none"#,
    ),
    (r"C:\Windows\System32\RuntimeBroker.exe", r"C:\Windows\System32\RuntimeBroker.exe -Embedding"),
    (r"C:\Windows\System32\wbem\WmiPrvSE.exe", r"C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding"),
    (r"C:\Windows\System32\taskhostw.exe", r"taskhostw.exe Install $(Arg0)"),
    (
        r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
        r#""C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE" /recycle"#,
    ),
];

/// Process creations about scheduled tasks: 5% of all, far above a real fleet's share.
const TASK_PROCESSES: &[(&str, &str)] = &[
    (r"C:\Windows\System32\schtasks.exe", r#"schtasks /query /fo csv /v"#),
    (
        r"C:\Windows\System32\schtasks.exe",
        r#"schtasks /create /tn "Backup" /tr "C:\Tools\backup.exe" /sc daily /ru SYSTEM"#,
    ),
    (
        r"C:\Windows\System32\cmd.exe",
        r#""C:\Windows\system32\cmd.exe" /c "schtasks /create /tn x /tr c:\x.exe /sc onlogon""#,
    ),
    (
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        r#"powershell.exe -c "Get-ScheduledTask | Where-Object State -eq Ready""#,
    ),
];

/// Share of task events whose XML is unique (a start time of its own); the rest repeat one of
/// the templates byte for byte, as the same task definition does across a fleet.
pub const UNIQUE_TASK_XML_PERCENT: u64 = 50;

fn task_xml(user: &str, command: &str, args: &str, uri: &str, start: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<Task version=\"1.4\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n  <RegistrationInfo>\n    <Author>Microsoft Corporation</Author>\n    <Description>Keeps the machine current.</Description>\n    <URI>{uri}</URI>\n  </RegistrationInfo>\n  <Principals>\n    <Principal id=\"LocalSystem\">\n      <UserId>{user}</UserId>\n    </Principal>\n  </Principals>\n  <Settings>\n    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n    <StartWhenAvailable>true</StartWhenAvailable>\n    <IdleSettings>\n      <StopOnIdleEnd>true</StopOnIdleEnd>\n      <RestartOnIdle>false</RestartOnIdle>\n    </IdleSettings>\n  </Settings>\n  <Triggers>\n    <TimeTrigger>\n      <StartBoundary>{start}</StartBoundary>\n      <Repetition><Interval>PT22H</Interval></Repetition>\n    </TimeTrigger>\n  </Triggers>\n  <Actions Context=\"LocalSystem\">\n    <Exec>\n      <Command>{command}</Command>\n      <Arguments>{args}</Arguments>\n    </Exec>\n  </Actions>\n</Task>"
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn system_xml(code: u32, host: &str, record: u64, data: &[(&str, &str)]) -> String {
    let mut s = format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{{54849625-5478-4994-a5ba-3e3b0328c30d}}'/><EventID>{code}</EventID><Version>1</Version><Level>0</Level><Task>12804</Task><Opcode>0</Opcode><Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='2024-05-01T10:00:00.000000000Z'/><EventRecordID>{record}</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='120'/><Channel>Security</Channel><Computer>{host}</Computer><Security/></System><EventData>"
    );
    for (k, v) in data {
        s.push_str(&format!("<Data Name='{k}'>{}</Data>", escape(v)));
    }
    s.push_str("</EventData></Event>");
    s
}

/// One event as CSV fields in [`COLUMNS`] order.
pub fn event(rng: &mut Rng, i: u64) -> Vec<String> {
    event_with(rng, i, UNIQUE_TASK_XML_PERCENT)
}

/// [`event`] with a given share of unique task XML.
pub fn event_with(rng: &mut Rng, i: u64, unique_xml_percent: u64) -> Vec<String> {
    let host = format!("WS{:04}.corp.example.com", rng.below(2000));
    let mut f = vec![String::new(); COLUMNS.len()];
    f[0] = format!("{}.{:03}", 1_714_557_600 + i, rng.below(1000));
    f[1] = host.clone();
    f[4] = "wineventlog".into();
    f[6] = host.clone();
    let roll = rng.below(100);
    if roll < 40 {
        let (name, command, args, user) = TASKS[rng.below(TASKS.len() as u64) as usize];
        let code = if rng.below(4) == 0 { 4698 } else { 4702 };
        let start = if rng.below(100) < unique_xml_percent {
            format!(
                "20{:02}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}",
                rng.below(25),
                1 + rng.below(12),
                1 + rng.below(28),
                rng.below(24),
                rng.below(60),
                rng.below(60),
                rng.below(10_000_000)
            )
        } else {
            "2020-01-01T03:00:00".to_string()
        };
        let xml = task_xml(user, command, args, name, &start);
        let machine = format!("WS{:04}$", rng.below(2000));
        f[2] = "XmlWinEventLog:Security".into();
        f[3] = "XmlWinEventLog".into();
        f[5] = code.to_string();
        f[7] = name.into();
        f[if code == 4702 { 9 } else { 8 }] = xml.clone();
        f[10] = machine.clone();
        f[11] = "CORP".into();
        f[12] = "S-1-5-18".into();
        f[13] = "0x3e7".into();
        let content_key = if code == 4702 { "TaskContentNew" } else { "TaskContent" };
        f[19] = system_xml(
            code,
            &host,
            i,
            &[
                ("SubjectUserSid", "S-1-5-18"),
                ("SubjectUserName", &machine),
                ("SubjectDomainName", "CORP"),
                ("SubjectLogonId", "0x3e7"),
                ("TaskName", name),
                (content_key, &xml),
            ],
        );
    } else if roll < 85 {
        let (image, command_line) = if rng.below(100) < 5 {
            TASK_PROCESSES[rng.below(TASK_PROCESSES.len() as u64) as usize]
        } else {
            PROCESSES[rng.below(PROCESSES.len() as u64) as usize]
        };
        let user = if rng.below(3) == 0 { r"NT AUTHORITY\SYSTEM" } else { r"CORP\alice" };
        f[2] = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational".into();
        f[3] = "XmlWinEventLog".into();
        f[5] = "1".into();
        f[14] = image.into();
        f[15] = command_line.into();
        f[16] = user.into();
        f[17] = r"C:\Windows\explorer.exe".into();
        f[18] = image.rsplit('\\').next().unwrap_or("").into();
        let guid = format!("{{{:08x}-1234-5678-9abc-{:012x}}}", rng.next() as u32, rng.next() & 0xffff_ffff_ffff);
        f[19] = system_xml(
            1,
            &host,
            i,
            &[
                ("RuleName", "-"),
                ("UtcTime", "2024-05-01 10:00:00.000"),
                ("ProcessGuid", &guid),
                ("ProcessId", "4242"),
                ("Image", image),
                ("FileVersion", "10.0.19041.1 (WinBuild.160101.0800)"),
                ("Description", "Windows Component"),
                ("Product", "Microsoft® Windows® Operating System"),
                ("Company", "Microsoft Corporation"),
                ("OriginalFileName", &f[18]),
                ("CommandLine", command_line),
                ("CurrentDirectory", r"C:\Windows\system32\"),
                ("User", user),
                ("LogonGuid", &guid),
                ("LogonId", "0x3e7"),
                ("TerminalSessionId", "0"),
                ("IntegrityLevel", "System"),
                (
                    "Hashes",
                    "SHA1=8DCA9749CD48D286950E7A9FA1088C937CBCCAD4,MD5=D7AB69FAD18D4A643D84A271DFC0DBDF,SHA256=FF79D3C4A0B7EB191783C323AB8363EBD1FD10BE58D8BCC96B07067743CA81D5,IMPHASH=272245E2988E1E430500B852C4FB5E18",
                ),
                ("ParentProcessGuid", &guid),
                ("ParentProcessId", "1000"),
                ("ParentImage", r"C:\Windows\explorer.exe"),
                ("ParentCommandLine", r"C:\Windows\Explorer.EXE"),
            ],
        );
    } else {
        let code = [4624u32, 4634, 4672, 5156][rng.below(4) as usize];
        f[2] = "XmlWinEventLog:Security".into();
        f[3] = "XmlWinEventLog".into();
        f[5] = code.to_string();
        f[19] = system_xml(
            code,
            &host,
            i,
            &[
                ("SubjectUserSid", "S-1-5-18"),
                ("SubjectUserName", "WS0001$"),
                ("SubjectDomainName", "CORP"),
                ("SubjectLogonId", "0x3e7"),
                ("TargetUserSid", "S-1-5-21-1-2-3-1104"),
                ("TargetUserName", "alice"),
                ("TargetDomainName", "CORP"),
                ("TargetLogonId", "0x1234567"),
                ("LogonType", "3"),
                ("LogonProcessName", "Kerberos"),
                ("AuthenticationPackageName", "Kerberos"),
                ("WorkstationName", "-"),
                ("LogonGuid", "{00000000-0000-0000-0000-000000000000}"),
                ("TransmittedServices", "-"),
                ("LmPackageName", "-"),
                ("KeyLength", "0"),
                ("ProcessId", "0x0"),
                ("ProcessName", "-"),
                ("IpAddress", "10.1.2.3"),
                ("IpPort", "49152"),
                ("ImpersonationLevel", "%%1833"),
                ("RestrictedAdminMode", "-"),
                ("TargetOutboundUserName", "-"),
                ("TargetOutboundDomainName", "-"),
                ("VirtualAccount", "%%1843"),
                ("TargetLinkedLogonId", "0x0"),
                ("ElevatedToken", "%%1842"),
            ],
        );
    }
    f
}

/// A CSV body as splunkd writes it: quoted names, every plain column then its `__mv_` column.
pub fn body(rng: &mut Rng, start: u64, records: usize) -> Vec<u8> {
    let events: Vec<Vec<String>> = (0..records).map(|r| event(rng, start + r as u64)).collect();
    body_of(&events)
}

/// The CSV body of given events.
pub fn body_of(events: &[Vec<String>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.len() * 2500 + 1024);
    let names: Vec<String> =
        COLUMNS.iter().map(|c| c.to_string()).chain(COLUMNS.iter().map(|c| format!("__mv_{c}"))).collect();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(format!("\"{n}\"").as_bytes());
    }
    out.push(b'\n');
    for fields in events {
        for (i, v) in fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if !v.is_empty() {
                out.push(b'"');
                out.extend_from_slice(v.replace('"', "\"\"").as_bytes());
                out.push(b'"');
            }
        }
        out.extend(std::iter::repeat_n(b',', COLUMNS.len()));
        out.push(b'\n');
    }
    out
}
