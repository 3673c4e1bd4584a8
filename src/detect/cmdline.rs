//! Windows command lines as Windows itself splits them: `CommandLineToArgvW` rules for a
//! program's arguments, and cmd.exe's rules (`/c` quote stripping, carets, `&`/`|` chains)
//! for what a `cmd /c` runs.

use std::borrow::Cow;

use super::Text;
use crate::bytes::find_byte;

/// Splits a command line into arguments with the rules of `CommandLineToArgvW` / the MSVC
/// runtime: the program name ends at the closing quote or first blank; afterwards `"` toggles
/// quoting, `""` inside quotes is a literal quote, only blanks and tabs separate arguments (a
/// newline is part of one), and backslashes are literal unless they
/// precede a quote (2n backslashes + `"` = n backslashes and a toggle; 2n+1 = n and a `"`).
pub fn split_args(line: &str) -> Vec<Text> {
    let mut args = Vec::new();
    let (program, rest) = split_program(line);
    if program.is_empty() && rest.is_empty() {
        return args;
    }
    args.push(Text::from(&*program));
    // One pass over the bytes: every byte the rules look at is ASCII, which never occurs inside
    // a multi-byte UTF-8 sequence, so a run of other bytes is copied whole. A run of
    // backslashes is counted, then judged by what follows it.
    let bytes = rest.as_bytes();
    // One working buffer, as long as the rest of the line, so it never grows; each argument is
    // copied out of it at its exact length (built in place, each grew one push at a time).
    let mut current = String::with_capacity(rest.len());
    let mut in_arg = false;
    let mut in_quotes = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' if !in_quotes => {
                if in_arg {
                    args.push(Text::from(current.as_str()));
                    current.clear();
                    in_arg = false;
                }
                i += 1;
            }
            b'\\' => {
                let start = i;
                while bytes.get(i) == Some(&b'\\') {
                    i += 1;
                }
                let n = i - start;
                in_arg = true;
                if bytes.get(i) == Some(&b'"') {
                    current.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        current.push('"');
                        i += 1;
                    }
                } else {
                    current.extend(std::iter::repeat_n('\\', n));
                }
            }
            b'"' => {
                in_arg = true;
                if in_quotes && bytes.get(i + 1) == Some(&b'"') {
                    current.push('"');
                    i += 2;
                } else {
                    in_quotes = !in_quotes;
                    i += 1;
                }
            }
            _ => {
                // Ordinary text (or a blank inside quotes) up to the next byte with a rule.
                in_arg = true;
                let start = i;
                i += 1;
                while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\\' | b'"') {
                    i += 1;
                }
                current.push_str(&rest[start..i]);
            }
        }
    }
    if in_arg {
        args.push(Text::from(current));
    }
    args
}

/// Joins arguments into one command line the way Windows' own quoting does it (the inverse of
/// [`split_args`] for arguments without quotes): an argument with blanks is quoted.
pub fn join_args<S: AsRef<str>>(args: &[S]) -> String {
    // Sized once: each argument, its two quotes and a blank at most.
    let mut line = String::with_capacity(args.iter().map(|a| a.as_ref().len() + 3).sum());
    for (i, arg) in args.iter().enumerate() {
        let arg = arg.as_ref();
        if i > 0 {
            line.push(' ');
        }
        if arg.is_empty() || arg.contains([' ', '\t']) {
            line.push('"');
            line.push_str(arg);
            line.push('"');
        } else {
            line.push_str(arg);
        }
    }
    line
}

/// Splits off the program name and returns it with the untouched remainder, leading blanks
/// removed. The name is read as Microsoft's C startup code reads `argv[0]` ("Parsing C
/// command-line arguments", learn.microsoft.com): parts of it may be quoted, anywhere, the
/// quotes are not part of the name, and a blank inside quotes does not end it. So
/// `"C:\X\schtasks.exe"`, `s"cht"asks` and `sc""htasks` all name schtasks, as they do for the
/// schtasks.exe that reads them and for cmd.exe, which drops the quotes of a command's name
/// before looking for it.
pub fn split_program(line: &str) -> (Cow<'_, str>, &str) {
    const BLANKS: [char; 4] = [' ', '\t', '\r', '\n'];
    let line = line.trim_start_matches(BLANKS);
    // The common shapes are slices of the line: a name without quotes, and one quoted whole.
    match line.strip_prefix('"') {
        None => {
            let blank = find_blank(line).unwrap_or(line.len());
            if find_byte(b'"', &line.as_bytes()[..blank]).is_none() {
                return (Cow::Borrowed(&line[..blank]), line[blank..].trim_start_matches(BLANKS));
            }
        }
        Some(inner) => {
            if let Some(close) = find_byte(b'"', inner.as_bytes())
                && inner[close + 1..].chars().next().is_none_or(|c| BLANKS.contains(&c))
            {
                return (Cow::Borrowed(&inner[..close]), inner[close + 1..].trim_start_matches(BLANKS));
            }
        }
    }
    let mut in_quotes = false;
    let end = line
        .bytes()
        .position(|b| match b {
            b'"' => {
                in_quotes = !in_quotes;
                false
            }
            b' ' | b'\t' | b'\r' | b'\n' => !in_quotes,
            _ => false,
        })
        .unwrap_or(line.len());
    (Cow::Owned(line[..end].replace('"', "")), line[end..].trim_start_matches(BLANKS))
}

/// The first blank, tab or line end: a byte search (each is ASCII, which never occurs inside a
/// multi-byte character; a search by `char` decoded every character before it).
fn find_blank(text: &str) -> Option<usize> {
    crate::bytes::find_any([b' ', b'\t', b'\r', b'\n'], text.as_bytes())
}

/// The base name of a program path as written, without quotes and `.exe`:
/// `"C:\X\SchTasks.EXE"` -> `SchTasks`. Borrowed: most events are ruled out on it alone.
pub fn program_base(program: &str) -> &str {
    let program = program.trim().trim_matches('"');
    // Both separators are ASCII, which never occurs inside a multi-byte character: a byte loop
    // from the end finds the last one (a `char` search backwards decoded every character; the
    // base name is a few bytes, too short for `memrchr` to gain on its set-up).
    let last = program.as_bytes().iter().rposition(|&b| b == b'\\' || b == b'/');
    let base = last.map_or(program, |i| &program[i + 1..]);
    match base.len().checked_sub(4) {
        Some(i) if base.is_char_boundary(i) && base[i..].eq_ignore_ascii_case(".exe") => &base[..i],
        _ => base,
    }
}

/// What `cmd.exe` runs for a command line that starts cmd with `/c`, `/k` or `/r`: the commands
/// of the chain, carets removed, each as its own command line. `None` when it is no such call.
pub fn cmd_commands(rest_after_program: &str) -> Option<Vec<String>> {
    let payload = cmd_payload(rest_after_program)?;
    let payload = strip_cmd_quotes(payload);
    Some(split_chain(&payload))
}

/// Finds the text after cmd's `/c` (or `/k`, `/r`), skipping other switches such as `/d /q /s`.
fn cmd_payload(rest: &str) -> Option<&str> {
    let mut s = rest;
    loop {
        s = s.trim_start_matches([' ', '\t']);
        let b = s.as_bytes();
        if b.first() != Some(&b'/') {
            return None;
        }
        match b.get(1).map(|c| c.to_ascii_lowercase()) {
            Some(b'c' | b'k' | b'r') if b.get(2).is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b':') => {
                return Some(s[2..].trim_start_matches([' ', '\t']));
            }
            Some(_) => {
                let end = s.find([' ', '\t']).unwrap_or(s.len());
                s = &s[end..];
            }
            None => return None,
        }
    }
}

/// cmd's documented rule: quotes are kept when there are exactly two, around a name with blanks
/// that is an executable and nothing special; otherwise a leading quote and the last quote go.
fn strip_cmd_quotes(payload: &str) -> String {
    if !payload.starts_with('"') {
        return payload.to_string();
    }
    let quotes = payload.matches('"').count();
    if quotes == 2 {
        let inner_end = payload[1..].find('"').map(|i| i + 1).unwrap_or(payload.len());
        let inner = &payload[1..inner_end];
        let special = inner.contains(['&', '<', '>', '(', ')', '@', '^', '|']);
        let lower = inner.to_ascii_lowercase();
        if !special && inner.contains(' ') && [".exe", ".com", ".bat", ".cmd"].iter().any(|e| lower.ends_with(e)) {
            return payload.to_string();
        }
    }
    let last = payload.rfind('"').unwrap_or(0);
    if last == 0 {
        return payload[1..].to_string();
    }
    format!("{}{}", &payload[1..last], &payload[last + 1..])
}

/// Splits a cmd command chain on `&`, `&&`, `||` and `|` outside quotes, removing carets (cmd's
/// escape character) outside quotes. `>&` and `<&` are redirections, not separators.
pub fn split_chain(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                current.push(c);
            }
            '^' if !in_quotes => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            '&' | '|' if !in_quotes => {
                if c == '&' && (current.ends_with('>') || current.ends_with('<')) {
                    current.push(c);
                    continue;
                }
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                push_command(&mut out, &mut current);
            }
            _ => current.push(c),
        }
    }
    push_command(&mut out, &mut current);
    out
}

fn push_command(out: &mut Vec<String>, current: &mut String) {
    let trimmed = current.trim().trim_start_matches('(').trim_end_matches(')').trim();
    if !trimmed.is_empty() {
        out.push(trimmed.to_string());
    }
    current.clear();
}

/// Drops redirection tokens (`>`, `2>&1`, `> nul`, ...) from arguments of a cmd chain element.
pub fn strip_redirections(args: &mut Vec<Text>) {
    // One pass: a bare operator (`>`, `>>`, `<`) also drops the target that follows it.
    let mut drop_next = false;
    args.retain(|a| {
        if std::mem::take(&mut drop_next) {
            return false;
        }
        let body = a.trim_start_matches(|c: char| c.is_ascii_digit());
        if body.starts_with('>') || body.starts_with('<') {
            drop_next = matches!(body, ">" | ">>" | "<");
            return false;
        }
        true
    });
}

/// Decodes the XML entities that NXLog-style sources leave in command lines (`&amp;`, `&quot;`).
/// Applied only when the text carries such an entity.
pub fn decode_entities_if_escaped(s: &str) -> Cow<'_, str> {
    const MARKERS: [&str; 5] = ["&amp;", "&quot;", "&lt;", "&gt;", "&#"];
    if memchr::memchr(b'&', s.as_bytes()).is_none() || !MARKERS.iter().any(|m| s.contains(m)) {
        return Cow::Borrowed(s);
    }
    crate::xmltext::unescape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_argv_splits() {
        let cases: &[(&str, &[&str])] = &[
            ("schtasks /create /tn x", &["schtasks", "/create", "/tn", "x"]),
            (
                "\"C:\\Windows\\system32\\schtasks.exe\" /ru \"NT AUTHORITY\\SYSTEM\"",
                &["C:\\Windows\\system32\\schtasks.exe", "/ru", "NT AUTHORITY\\SYSTEM"],
            ),
            ("schtasks /ru \"SYS\"TEM", &["schtasks", "/ru", "SYSTEM"]),
            ("schtasks /ru \"\"", &["schtasks", "/ru", ""]),
            ("schtasks /tr \"a \\\"b\\\" c\"", &["schtasks", "/tr", "a \"b\" c"]),
            ("x a\\\\\"b c\"", &["x", "a\\b c"]),
            ("x C:\\dir\\ y", &["x", "C:\\dir\\", "y"]),
            ("x \"a\"\"b\"", &["x", "a\"b"]),
            // The program name: quoted parts anywhere, quotes dropped, blanks inside kept.
            ("s\"cht\"asks /ru x", &["schtasks", "/ru", "x"]),
            ("sc\"\"htasks /ru x", &["schtasks", "/ru", "x"]),
            ("\"C:\\x\"y.exe a", &["C:\\xy.exe", "a"]),
            ("\"sch\"tasks\"x y\" /create", &["schtasksx y", "/create"]),
            ("C:\\Program\" \"Files\\x.exe /c", &["C:\\Program Files\\x.exe", "/c"]),
            ("\"C:\\open y", &["C:\\open y"]),
            ("  x   a  ", &["x", "a"]),
            ("", &[]),
        ];
        for (line, want) in cases {
            assert_eq!(split_args(line), *want, "{line:?}");
        }
    }

    /// The rules as first written, a character at a time: the byte-wise reading must agree
    /// on any line made of the bytes the rules look at and text around them.
    fn split_args_by_chars(line: &str) -> Vec<String> {
        let (program, rest) = split_program(line);
        if program.is_empty() && rest.is_empty() {
            return Vec::new();
        }
        let mut args = vec![program.into_owned()];
        let mut chars = rest.chars().peekable();
        let (mut current, mut in_arg, mut in_quotes) = (String::new(), false, false);
        while let Some(c) = chars.next() {
            match c {
                ' ' | '\t' if !in_quotes => {
                    if in_arg {
                        args.push(std::mem::take(&mut current));
                        in_arg = false;
                    }
                }
                '\\' => {
                    let mut n = 1;
                    while chars.next_if_eq(&'\\').is_some() {
                        n += 1;
                    }
                    in_arg = true;
                    if chars.peek() == Some(&'"') {
                        current.extend(std::iter::repeat_n('\\', n / 2));
                        if n % 2 == 1 {
                            current.push('"');
                            chars.next();
                        }
                    } else {
                        current.extend(std::iter::repeat_n('\\', n));
                    }
                }
                '"' => {
                    in_arg = true;
                    if in_quotes && chars.next_if_eq(&'"').is_some() {
                        current.push('"');
                    } else {
                        in_quotes = !in_quotes;
                    }
                }
                _ => {
                    in_arg = true;
                    current.push(c);
                }
            }
        }
        if in_arg {
            args.push(current);
        }
        args
    }

    /// `argv[0]` as Microsoft's startup code reads it, a character at a time: quotes toggle and
    /// are dropped, a blank outside quotes ends the name.
    fn program_by_chars(line: &str) -> (String, String) {
        let line = line.trim_start_matches([' ', '\t', '\r', '\n']);
        let (mut name, mut in_quotes) = (String::new(), false);
        for (i, c) in line.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ' ' | '\t' | '\r' | '\n' if !in_quotes => {
                    return (name, line[i..].trim_start_matches([' ', '\t', '\r', '\n']).to_string());
                }
                _ => name.push(c),
            }
        }
        (name, String::new())
    }

    proptest::proptest! {
        /// The borrowed shortcuts (no quote, one quoted name) read as the general rule does.
        #[test]
        fn program_name_is_read_as_the_startup_code_reads_it(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                " ", "\t", "\"", "\"\"", "a", "sch", "\\", "\u{e9}", "\n",
            ]), 0..12)
        ) {
            let line = parts.concat();
            let (program, rest) = split_program(&line);
            proptest::prop_assert_eq!((program.into_owned(), rest.to_string()), program_by_chars(&line), "{:?}", line);
        }

        #[test]
        fn bytewise_split_agrees_with_the_rules_read_by_character(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                " ", "\t", "\\", "\\\\", "\"", "\"\"", "a", "/ru", "SYSTEM", "\u{e9}", "\u{3000}", "\u{1f600}", "\n",
            ]), 0..16)
        ) {
            let line = parts.concat();
            proptest::prop_assert_eq!(split_args(&line), split_args_by_chars(&line), "{:?}", line);
        }
    }

    #[test]
    fn table_of_cmd_chains() {
        let cases: &[(&str, &[&str])] = &[
            ("/c \"SCHTASKS /Create /SC ONCE /TN spawn\"", &["SCHTASKS /Create /SC ONCE /TN spawn"]),
            (
                "/c \"schtasks /create /tn \"a\" /tr \"cmd.exe /c calc.exe\" & schtasks /create /ru system\" ",
                &["schtasks /create /tn \"a\" /tr \"cmd.exe /c calc.exe\"", "schtasks /create /ru system"],
            ),
            ("/c sch^tasks /cre^ate /ru SYS^TEM", &["schtasks /create /ru SYSTEM"]),
            ("/d /q /c a && b || c | d", &["a", "b", "c", "d"]),
            ("/c schtasks /run /TN x > nul 2>&1", &["schtasks /run /TN x > nul 2>&1"]),
            ("/c \"C:\\Program Files\\x.exe\"", &["\"C:\\Program Files\\x.exe\""]),
            ("/C schtasks /create /tn \"^a\"", &["schtasks /create /tn \"^a\""]),
        ];
        for (rest, want) in cases {
            assert_eq!(cmd_commands(rest).unwrap(), *want, "{rest:?}");
        }
        assert_eq!(cmd_commands("/s x"), None);
        assert_eq!(cmd_commands("echo"), None);
    }

    #[test]
    fn redirections_are_dropped() {
        let mut a = split_args("schtasks /run /tn x > nul 2>&1");
        strip_redirections(&mut a);
        assert_eq!(a, ["schtasks", "/run", "/tn", "x"]);
    }

    #[test]
    fn stems() {
        assert_eq!(program_base("C:\\Windows\\System32\\SchTasks.EXE"), "SchTasks");
        assert_eq!(program_base("%%SYSTEMROOT%%\\system32\\schtasks.exe"), "schtasks");
        assert_eq!(program_base("\"C:\\Windows\\System32\\at.exe\""), "at");
        assert_eq!(program_base("at"), "at");
        assert_eq!(program_base("C:/Tools/ünïcödé\\schtasks.exe"), "schtasks");
        assert_eq!(program_base("C:\\Temp\\"), "");
    }

    proptest::proptest! {
        /// The byte search from the end finds what splitting on either separator by characters
        /// finds, in any text (separators beside multi-byte characters, quotes, blanks).
        #[test]
        fn program_base_is_the_last_path_part(text in "[a\\\\/é€\" .EeXx]{0,24}") {
            let program = text.trim().trim_matches('"');
            let last = program.rsplit(['\\', '/']).next().unwrap_or(program);
            let want = match last.len().checked_sub(4) {
                Some(i) if last.is_char_boundary(i) && last[i..].eq_ignore_ascii_case(".exe") => &last[..i],
                _ => last,
            };
            proptest::prop_assert_eq!(program_base(&text), want);
        }
    }
}
