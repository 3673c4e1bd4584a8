//! Windows paths in one comparable spelling: lowercase, unquoted, environment variables for the
//! Windows and program folders expanded, `\\?\` prefixes and doubled separators removed.
//! Shared by the triage indicators and the allowlist so both read a path the same way.

const EXPANSIONS: &[(&str, &str)] = &[
    ("%windir%", "c:\\windows"),
    ("%systemroot%", "c:\\windows"),
    ("%systemdrive%", "c:"),
    ("%programfiles(x86)%", "c:\\program files (x86)"),
    ("%programfiles%", "c:\\program files"),
    ("%commonprogramfiles(x86)%", "c:\\program files (x86)\\common files"),
    ("%commonprogramfiles%", "c:\\program files\\common files"),
    ("%programdata%", "c:\\programdata"),
    ("%allusersprofile%", "c:\\programdata"),
];

/// Normalizes a path or command for comparison. ASCII text (nearly all) is lowercased without
/// Unicode tables; each rewrite runs only when its marker is present.
pub fn normalize(path: &str) -> String {
    let trimmed = path.trim().trim_matches('"').trim();
    let mut s = if trimmed.is_ascii() {
        let mut s = trimmed.to_string();
        s.make_ascii_lowercase();
        s
    } else {
        trimmed.to_lowercase()
    };
    if s.contains('/') {
        s = s.replace('/', "\\");
    }
    if s.contains('%') {
        // Batch files double percent signs: %%SYSTEMROOT%% is %SYSTEMROOT%.
        if s.contains("%%") {
            s = s.replace("%%", "%");
        }
        for (var, value) in EXPANSIONS {
            if s.contains(var) {
                s = s.replace(var, value);
            }
        }
    }
    if let Some(rest) = s.strip_prefix("\\\\?\\").or_else(|| s.strip_prefix("\\??\\")) {
        s = rest.to_string();
    }
    while s.contains("\\\\") && !s.starts_with("\\\\") {
        s = s.replace("\\\\", "\\");
    }
    if s.contains("\\.") && (s.contains("\\..") || s.contains("\\.\\")) {
        s = resolve_dots(&s);
    }
    s
}

/// Resolves `.` and `..` segments, so `c:\program files\..\users\public\x.exe` is read as
/// the `c:\users\public\x.exe` it really is.
fn resolve_dots(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('\\') {
        match segment {
            "." => {}
            ".." if parts.len() > 1 => {
                parts.pop();
            }
            ".." => {}
            other => parts.push(other),
        }
    }
    parts.join("\\")
}

/// True when a normalized path lies in the Windows folder.
pub fn is_windows_binary(normalized: &str) -> bool {
    normalized.starts_with("c:\\windows\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_agree() {
        let want = "c:\\windows\\system32\\cmd.exe";
        for p in [
            "C:\\Windows\\System32\\cmd.exe",
            "\"%windir%\\system32\\cmd.exe\"",
            "%SystemRoot%\\System32\\cmd.exe",
            "%%SYSTEMROOT%%\\system32\\cmd.exe",
            "\\\\?\\C:\\Windows\\System32\\cmd.exe",
            "C:/Windows/System32/cmd.exe",
            "C:\\Windows\\\\System32\\cmd.exe",
        ] {
            assert_eq!(normalize(p), want, "{p}");
        }
        assert_eq!(normalize("C:\\Program Files\\..\\Users\\Public\\x.exe"), "c:\\users\\public\\x.exe");
        assert_eq!(normalize("C:\\Windows\\.\\System32\\..\\Temp\\x.exe"), "c:\\windows\\temp\\x.exe");
    }
}
