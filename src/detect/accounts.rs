//! Which account a name or SID denotes: SYSTEM, a service account, a group, or a user.
//! Names are compared whole, never by substring: `svc_system` and `CORP\system` are users.

/// The privilege a task runs with, as reported in `task_privilege`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Privilege {
    System,
    Service,
    User,
    Group,
    Unknown,
}

impl Privilege {
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::System => "system",
            Privilege::Service => "service",
            Privilege::User => "user",
            Privilege::Group => "group",
            Privilege::Unknown => "unknown",
        }
    }
}

/// Localized spellings of "NT AUTHORITY" (de, fr, nl, sv, pt, pl, es/it/ru use the English).
const NT_AUTHORITY: &[&str] = &[
    "nt authority",
    "nt-autorität",
    "nt-autoritat",
    "autorite nt",
    "autorité nt",
    "nt-autoriteit",
    "nt instans",
    "nt-myndighet",
    "autoridade nt",
    "zarządzanie nt",
    "nt authority",
];

/// Localized names of the SYSTEM account that appear after the authority.
const SYSTEM_NAMES: &[&str] = &["system", "système", "systeme", "система", "sistema"];

const SERVICE_NAMES: &[&str] = &[
    "local service",
    "network service",
    "localservice",
    "networkservice",
    "lokaler dienst",
    "netzwerkdienst",
    "service local",
    "service réseau",
];

/// Strips the quoting and spacing that survive in event fields and argument values.
fn unquote(raw: &str) -> &str {
    raw.trim().trim_matches(|c| c == '"' || c == '\'').trim()
}

/// Classifies a user name or SID as written in a task principal, `/ru` or `-User`.
pub fn classify(raw: &str) -> Privilege {
    let name = unquote(raw);
    // Nearly every name is ASCII: compared ignoring ASCII case, as it stands. Any other is
    // lowercased first, which meets the tables' lowercase spellings (`nt-autorität`).
    if name.is_ascii() { classify_folded(name) } else { classify_folded(&name.to_lowercase()) }
}

/// [`classify`] of a name that is ASCII or lowercase: the tables are compared ignoring ASCII
/// case.
fn classify_folded(name: &str) -> Privilege {
    let is_one_of = |text: &str, table: &[&str]| table.iter().any(|t| text.eq_ignore_ascii_case(t));
    let starts_with = |prefix: &str| name.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix));
    if is_one_of(name, &["s-1-5-18", "system", "localsystem"]) {
        return Privilege::System;
    }
    if is_one_of(name, &["s-1-5-19", "s-1-5-20"]) {
        return Privilege::Service;
    }
    if starts_with("s-1-5-32-") {
        return Privilege::Group;
    }
    if starts_with("s-1-") {
        return Privilege::User;
    }
    if let Some((domain, account)) = name.rsplit_once('\\') {
        if is_one_of(domain, NT_AUTHORITY) {
            if is_one_of(account, SYSTEM_NAMES) {
                return Privilege::System;
            }
            if is_one_of(account, SERVICE_NAMES) {
                return Privilege::Service;
            }
        }
        if domain.eq_ignore_ascii_case("builtin") {
            return Privilege::Group;
        }
        return Privilege::User;
    }
    if is_one_of(name, SERVICE_NAMES) {
        return Privilege::Service;
    }
    if name.is_empty() {
        return Privilege::Unknown;
    }
    Privilege::User
}

/// True when a process ran as SYSTEM, judged from its user name or SID (Sysmon `User`, 4688
/// `SubjectUserSid`, CIM `user`).
pub fn is_system(raw: &str) -> bool {
    classify(raw) == Privilege::System
}

/// The SYSTEM logon session's id: a subject with this logon id acted as the machine itself.
pub fn is_system_logon_id(raw: &str) -> bool {
    let v = raw.trim().to_ascii_lowercase();
    let digits = v.strip_prefix("0x").unwrap_or(&v).trim_start_matches('0');
    digits == "3e7"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_accounts() {
        let cases = [
            ("S-1-5-18", Privilege::System),
            ("SYSTEM", Privilege::System),
            ("System", Privilege::System),
            ("\"System\"", Privilege::System),
            ("NT AUTHORITY\\SYSTEM", Privilege::System),
            ("nt authority\\system", Privilege::System),
            ("LocalSystem", Privilege::System),
            ("NT-AUTORITÄT\\SYSTEM", Privilege::System),
            ("AUTORITE NT\\SYSTEM", Privilege::System),
            ("AUTORITE NT\\Système", Privilege::System),
            ("NT AUTHORITY\\СИСТЕМА", Privilege::System),
            ("S-1-5-19", Privilege::Service),
            ("S-1-5-20", Privilege::Service),
            ("NT AUTHORITY\\LOCAL SERVICE", Privilege::Service),
            ("NETWORK SERVICE", Privilege::Service),
            ("S-1-5-32-544", Privilege::Group),
            ("BUILTIN\\Administrators", Privilege::Group),
            ("svc_system", Privilege::User),
            ("CORP\\system", Privilege::User),
            ("CORP\\system_admin", Privilege::User),
            ("SystemCheck", Privilege::User),
            ("DOMAIN\\user", Privilege::User),
            ("S-1-5-21-1-2-3-1001", Privilege::User),
            ("", Privilege::Unknown),
            // Long names, and names that are not ASCII.
            ("  \"NT AUTHORITY\\NETWORK SERVICE\"  ", Privilege::Service),
            ("CORP-EUROPE-WEST-PRODUCTION-DOMAIN-CONTROLLER\\svc_nightly_backup_2024", Privilege::User),
            ("NT AUTHORITY\\SYSTEM                                                      ", Privilege::System),
            ("nt-autorität\\système", Privilege::System),
            ("NT-AUTORITÄT\\NETZWERKDIENST", Privilege::Service),
            ("ZARZĄDZANIE NT\\SYSTEM", Privilege::System),
            ("CORP\\Système", Privilege::User),
            ("ÉQUIPE\\système", Privilege::User),
            ("SYSTÈME", Privilege::User),
            ("s-1-5-32-ä", Privilege::Group),
        ];
        for (name, want) in cases {
            assert_eq!(classify(name), want, "{name:?}");
        }
    }

    #[test]
    fn system_logon_id() {
        assert!(is_system_logon_id("0x3e7"));
        assert!(is_system_logon_id("0x00000000000003E7"));
        assert!(!is_system_logon_id("0x3e5"));
        assert!(!is_system_logon_id("0x14f392e"));
    }
}
