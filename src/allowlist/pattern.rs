//! Case-insensitive `*` wildcard patterns, compiled once: no regex, no backtracking blow-up.

/// A compiled pattern over already-normalized (lowercase) text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The literal pieces between `*`s.
    parts: Vec<String>,
    anchored_start: bool,
    anchored_end: bool,
}

impl Pattern {
    /// Compiles a normalized pattern. `None` for a pattern that matches anything (empty or `*`s).
    pub fn compile(normalized: &str) -> Option<Pattern> {
        if normalized.chars().all(|c| c == '*') {
            return None;
        }
        let parts: Vec<String> = normalized.split('*').filter(|p| !p.is_empty()).map(str::to_string).collect();
        Some(Pattern { parts, anchored_start: !normalized.starts_with('*'), anchored_end: !normalized.ends_with('*') })
    }

    /// The pattern as literal text when it has no wildcard.
    pub fn literal(&self) -> Option<&str> {
        (self.anchored_start && self.anchored_end && self.parts.len() == 1).then(|| self.parts[0].as_str())
    }

    /// The literal text every match starts with (empty when the pattern starts with `*`).
    pub fn literal_prefix(&self) -> &str {
        if self.anchored_start { self.parts.first().map(String::as_str).unwrap_or("") } else { "" }
    }

    pub fn matches(&self, text: &str) -> bool {
        let mut rest = text;
        let last = self.parts.len().saturating_sub(1);
        for (i, part) in self.parts.iter().enumerate() {
            if i == 0 && self.anchored_start {
                let Some(r) = rest.strip_prefix(part.as_str()) else { return false };
                rest = r;
                if i == last && self.anchored_end {
                    return rest.is_empty();
                }
                continue;
            }
            if i == last && self.anchored_end {
                return rest.ends_with(part.as_str());
            }
            match rest.find(part.as_str()) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_matches() {
        let cases = [
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("abc", "xabc", false),
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("a*c", "abc", true),
            ("a*c", "ac", true),
            ("a*c", "acb", false),
            ("*b*", "abc", true),
            ("*b*", "ac", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxcyyb", false),
            ("ab*ab", "ab", false),
            (
                "c:\\program files\\google\\*\\googleupdate.exe",
                "c:\\program files\\google\\update\\googleupdate.exe",
                true,
            ),
            (
                "c:\\program files\\google\\*\\googleupdate.exe",
                "c:\\users\\public\\google\\update\\googleupdate.exe",
                false,
            ),
        ];
        for (pattern, text, want) in cases {
            let p = Pattern::compile(pattern).unwrap();
            assert_eq!(p.matches(text), want, "{pattern} ~ {text}");
        }
        assert!(Pattern::compile("").is_none());
        assert!(Pattern::compile("**").is_none());
        assert_eq!(Pattern::compile("x").unwrap().literal(), Some("x"));
        assert_eq!(Pattern::compile("x*").unwrap().literal(), None);
    }
}
