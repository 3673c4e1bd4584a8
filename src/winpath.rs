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
/// Unicode tables; each rewrite runs only when its marker is present, and the markers are
/// found in one pass (paths are short: a search set up per marker cost more than the path).
pub fn normalize(path: &str) -> String {
    let trimmed = trim(path);
    let mut s = if trimmed.is_ascii() {
        let mut s = trimmed.to_string();
        s.make_ascii_lowercase();
        s
    } else {
        trimmed.to_lowercase()
    };
    let mut marks = Marks::of(&s);
    if marks.slash {
        s = s.replace('/', "\\");
    }
    if marks.percent {
        // Batch files double percent signs: %%SYSTEMROOT%% is %SYSTEMROOT%.
        if s.contains("%%") {
            s = s.replace("%%", "%");
        }
        for (var, value) in EXPANSIONS {
            if contains_variable(&s, var) {
                s = s.replace(var, value);
            }
        }
    }
    if marks.slash || marks.percent {
        marks = Marks::of(&s);
    }
    if let Some(rest) = s.strip_prefix("\\\\?\\").or_else(|| s.strip_prefix("\\??\\")) {
        s = rest.to_string();
        marks = Marks::of(&s);
    }
    while marks.double_separator && !s.starts_with("\\\\") {
        s = s.replace("\\\\", "\\");
        marks = Marks::of(&s);
    }
    if marks.separator_dot && (s.contains("\\..") || s.contains("\\.\\")) {
        s = resolve_dots(&s);
    }
    s
}

/// The markers of the rewrites [`normalize`] may need, found in one pass.
struct Marks {
    slash: bool,
    percent: bool,
    /// `\\` somewhere.
    double_separator: bool,
    /// `\.` somewhere.
    separator_dot: bool,
}

impl Marks {
    fn of(s: &str) -> Marks {
        let mut marks = Marks { slash: false, percent: false, double_separator: false, separator_dot: false };
        let mut previous = 0;
        for &b in s.as_bytes() {
            match b {
                b'/' => marks.slash = true,
                b'%' => marks.percent = true,
                b'\\' if previous == b'\\' => marks.double_separator = true,
                b'.' if previous == b'\\' => marks.separator_dot = true,
                _ => {}
            }
            previous = b;
        }
        marks
    }
}

/// `path` without surrounding white space and quotes: `trim`, then every `"` at either end,
/// then `trim` again. Nearly every path starts and ends with neither.
fn trim(path: &str) -> &str {
    let plain = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii_graphic() && b != b'"');
    if plain(path.as_bytes().first()) && plain(path.as_bytes().last()) {
        return path;
    }
    let text = path.trim();
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|&b| b != b'"').unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|&b| b != b'"').map_or(start, |i| i + 1);
    text[start..end].trim()
}

/// Whether `s` holds `var` (`%name%`): looked for at each `%` only, where a substring search
/// would be set up afresh for each of the variables.
fn contains_variable(s: &str, var: &str) -> bool {
    let bytes = s.as_bytes();
    memchr::memchr_iter(b'%', bytes).any(|i| bytes[i..].starts_with(var.as_bytes()))
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

    /// The rewrites, spelled out one search at a time as they read before their markers were
    /// found in one pass: the two agree on any text made of the markers' bytes.
    fn normalize_by_searches(path: &str) -> String {
        let mut s = path.trim().trim_matches('"').trim().to_lowercase();
        if s.contains('/') {
            s = s.replace('/', "\\");
        }
        if s.contains('%') {
            s = s.replace("%%", "%");
            for (var, value) in EXPANSIONS {
                s = s.replace(var, value);
            }
        }
        if let Some(rest) = s.strip_prefix("\\\\?\\").or_else(|| s.strip_prefix("\\??\\")) {
            s = rest.to_string();
        }
        while s.contains("\\\\") && !s.starts_with("\\\\") {
            s = s.replace("\\\\", "\\");
        }
        if s.contains("\\..") || s.contains("\\.\\") {
            s = resolve_dots(&s);
        }
        s
    }

    proptest::proptest! {
        #[test]
        fn markers_found_in_one_pass_rewrite_as_searches_do(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "\\", "/", ".", "..", "%", "%%", "%windir%", "%SystemRoot%", "%programfiles(x86)%", "\"",
                " ", "\t", "?", "c:", "Users", "x.exe", "\u{e9}", "\u{2003}",
            ]), 0..12)
        ) {
            let path = parts.concat();
            proptest::prop_assert_eq!(normalize(&path), normalize_by_searches(&path), "{:?}", path);
        }
    }
}
