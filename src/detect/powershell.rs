//! PowerShell read as PowerShell reads it: the host's own command line (`powershell.exe` /
//! `pwsh.exe` switches, `-EncodedCommand`), and a script's statements, tokens and parameters.
//! Pure text functions, each one pass over its input; they never slice one string with offsets
//! found in another. Sources followed (PowerShell/PowerShell on GitHub):
//!
//! - `src/System.Management.Automation/engine/parser/CharTraits.cs`: `IsDash` is `-`, en dash
//!   U+2013, em dash U+2014, horizontal bar U+2015; `IsSingleQuote` is `'` U+2018 U+2019 U+201A
//!   U+201B; `IsDoubleQuote` is `"` U+201C U+201D U+201E; `IsWhitespace` is ASCII blanks, NBSP,
//!   NEL and Unicode separators (newlines are not whitespace: they end statements).
//! - `engine/parser/tokenizer.cs`: backtick escapes a character outside single quotes (`` `n ``,
//!   `` `t `` ... are control characters, any other escaped character is itself, a backtick before
//!   a newline continues the line); a doubled quote inside a quoted string is one quote; `#`
//!   starts a comment to the end of the line, `<# ... #>` a block comment.
//! - `src/Microsoft.PowerShell.ConsoleHost/host/msh/CommandLineParameterParser.cs`: a host
//!   switch starts with a dash or `/`, a second dash is dropped (`--EncodedCommand`), and
//!   `MatchSwitch` accepts any prefix at least as long as the switch's shortest unambiguous form,
//!   first match in a fixed order (`-e`, `-ec`, `-en`, `-enc`... are `-EncodedCommand`, `-c` is
//!   `-Command`). `-Command` takes every remaining argument, joined by blanks;
//!   `-EncodedCommand` takes Base64 of UTF-16LE, decoded by `Convert.FromBase64String`, which
//!   skips white space.
//! - Parameter binding (`CmdletParameterBinderController`): a parameter name may be any prefix
//!   that names exactly one parameter of the cmdlet (common parameters included); names compare
//!   with `OrdinalIgnoreCase`.
//!
//! Names (cmdlets, parameters, host switches) are compared with [`super::casefold`].

use super::Text;
use super::casefold::is_prefix_of;

pub fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2013}' | '\u{2014}' | '\u{2015}')
}

fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

fn is_double_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}')
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0b' | '\x0c' | '\u{a0}' | '\u{85}') || (c as u32 > 256 && c.is_whitespace())
}

fn is_newline(c: char) -> bool {
    matches!(c, '\n' | '\r')
}

/// What a backtick followed by `c` means outside single quotes.
fn escaped(c: char) -> char {
    match c {
        '0' => '\0',
        'a' => '\x07',
        'b' => '\x08',
        'e' => '\x1b',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        other => other,
    }
}

/// What a bracketed expression reads as in the statement around it.
pub const BRACKETS: &str = "(...)";

/// Whether a value is an expression this reader does not run: a bracketed one, or one that
/// holds a variable (`$u`, `"$env:u"`, `"SYS$x"`), whose value exists only when the script
/// runs. A `$` that no name follows is text (`CORP\WS01$`, a computer account).
pub fn is_unevaluated(value: &str) -> bool {
    value == BRACKETS
        || value.match_indices('$').any(|(i, _)| {
            value[i + 1..].starts_with(|c: char| c.is_alphanumeric() || matches!(c, '_' | '{' | '(' | ':' | '?'))
        })
}

/// One token of a statement, quotes and escapes resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    /// Began with a quote: a string, never a parameter.
    pub quoted: bool,
}

impl Token {
    /// `-Name` or `-Name:value` (any dash): the name, and the attached value if any.
    pub fn parameter(&self) -> Option<(&str, Option<&str>)> {
        if self.quoted {
            return None;
        }
        let mut chars = self.text.chars();
        let first = chars.next()?;
        let rest = chars.as_str();
        if !is_dash(first) || !rest.starts_with(|c: char| c.is_alphabetic() || c == '?' || c == '_') {
            return None;
        }
        Some(match rest.split_once(':') {
            Some((name, value)) => (name, Some(value)),
            None => (rest, None),
        })
    }
}

/// A script's statements: split at newlines, `;`, `|`, `&&`, `||`; the inside of brackets
/// (`(New-ScheduledTaskPrincipal ...)`, `{ ... }`) is a statement list of its own, and the
/// statement around it goes on after it.
/// Redirections (`>`, `>>`, `2>&1`, `*> file`) and comments are dropped; an array's commas
/// stay in its token (`'a','b'` is `a,b`). One pass.
pub fn statements(script: &str) -> Vec<Vec<Token>> {
    let mut out: Vec<Vec<Token>> = Vec::new();
    let mut statement: Vec<Token> = Vec::new();
    let mut text = String::new();
    let mut in_token = false;
    let mut quoted_start = false;
    // A redirection's target word is dropped.
    let mut skip_next_word = false;
    // Statements interrupted by an opening bracket, innermost last.
    let mut outer: Vec<Vec<Token>> = Vec::new();
    let mut chars = script.chars().peekable();

    fn end_token(text: &mut String, in_token: &mut bool, quoted: bool, skip: &mut bool, statement: &mut Vec<Token>) {
        if *in_token {
            if *skip {
                *skip = false;
                text.clear();
            } else {
                statement.push(Token { text: std::mem::take(text), quoted });
            }
        }
        *in_token = false;
    }

    while let Some(c) = chars.next() {
        // A quoted part continues the token it is glued to (`a'b'` is `ab`).
        let double = is_double_quote(c);
        if double || is_single_quote(c) {
            if !in_token {
                quoted_start = true;
            }
            in_token = true;
            read_quoted(&mut chars, double, &mut text);
            continue;
        }
        match c {
            '`' => match chars.next() {
                // Line continuation.
                Some('\r') => {
                    chars.next_if_eq(&'\n');
                }
                Some('\n') => {}
                Some(e) => {
                    if !in_token {
                        quoted_start = false;
                    }
                    in_token = true;
                    text.push(escaped(e));
                }
                None => {}
            },
            '#' if !in_token => {
                // A comment runs to the end of the line.
                for d in chars.by_ref() {
                    if is_newline(d) {
                        break;
                    }
                }
                end_statement(&mut out, &mut statement);
            }
            '<' if !in_token && chars.peek() == Some(&'#') => {
                chars.next();
                let mut last = '\0';
                for d in chars.by_ref() {
                    if last == '#' && d == '>' {
                        break;
                    }
                    last = d;
                }
            }
            '>' | '<' => {
                // `2>`, `*>`: the stream number is part of the operator.
                if in_token && (text == "*" || (text.len() == 1 && text.as_bytes()[0].is_ascii_digit())) {
                    text.clear();
                    in_token = false;
                } else {
                    end_token(&mut text, &mut in_token, quoted_start, &mut skip_next_word, &mut statement);
                }
                if chars.peek() == Some(&'>') {
                    chars.next();
                }
                // `>&1` names a stream, not a file.
                if chars.peek() == Some(&'&') {
                    chars.next();
                    while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                        chars.next();
                    }
                } else {
                    skip_next_word = true;
                }
            }
            '(' | '{' => {
                // The inside is a statement list of its own; the outer statement resumes after
                // the closing bracket with a placeholder where the brackets stood.
                end_token(&mut text, &mut in_token, quoted_start, &mut skip_next_word, &mut statement);
                outer.push(std::mem::take(&mut statement));
            }
            ')' | '}' => {
                end_token(&mut text, &mut in_token, quoted_start, &mut skip_next_word, &mut statement);
                end_statement(&mut out, &mut statement);
                if let Some(resumed) = outer.pop() {
                    statement = resumed;
                    statement.push(Token { text: BRACKETS.into(), quoted: true });
                }
            }
            ';' | '|' | '&' | '\n' | '\r' => {
                end_token(&mut text, &mut in_token, quoted_start, &mut skip_next_word, &mut statement);
                skip_next_word = false;
                // `& cmd` is the call operator: the statement goes on.
                if c == '&' && chars.peek() != Some(&'&') && statement.is_empty() {
                    continue;
                }
                end_statement(&mut out, &mut statement);
            }
            c if is_blank(c) => end_token(&mut text, &mut in_token, quoted_start, &mut skip_next_word, &mut statement),
            c => {
                if !in_token {
                    quoted_start = false;
                }
                in_token = true;
                text.push(c);
            }
        }
    }
    end_token(&mut text, &mut in_token, quoted_start, &mut skip_next_word, &mut statement);
    end_statement(&mut out, &mut statement);
    // Brackets never closed: what they interrupted still counts.
    while let Some(mut resumed) = outer.pop() {
        end_statement(&mut out, &mut resumed);
    }
    out
}

/// The rest of a quoted string, its closing quote consumed: verbatim inside single quotes;
/// inside double quotes a backtick escapes the next character. A doubled quote is one quote.
fn read_quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, double: bool, text: &mut String) {
    let is_quote = if double { is_double_quote } else { is_single_quote };
    while let Some(d) = chars.next() {
        if double && d == '`' {
            if let Some(e) = chars.next() {
                text.push(escaped(e));
            }
        } else if is_quote(d) {
            if chars.next_if(|&e| is_quote(e)).is_none() {
                return;
            }
            text.push(d);
        } else {
            text.push(d);
        }
    }
}

fn end_statement(out: &mut Vec<Vec<Token>>, statement: &mut Vec<Token>) {
    if !statement.is_empty() {
        out.push(std::mem::take(statement));
    }
}

/// The command a statement runs and its arguments: `$p = New-X ...`, `& 'C:\x\schtasks.exe' ...`
/// and `. .\script.ps1` are read past their assignment and call operators.
pub fn command(statement: &[Token]) -> Option<(&str, &[Token])> {
    let mut i = 0;
    while let Some(t) = statement.get(i) {
        if t.quoted {
            return Some((&t.text, &statement[i + 1..]));
        }
        match t.text.as_str() {
            "=" | "." | "+=" => i += 1,
            s if s.starts_with('$') => match s.split_once('=') {
                // `$p=New-ScheduledTaskPrincipal`: one token.
                Some((_, rest)) if !rest.is_empty() => return Some((rest, &statement[i + 1..])),
                _ => i += 1,
            },
            s if s.ends_with('=') => i += 1,
            s => return Some((s, &statement[i + 1..])),
        }
    }
    None
}

/// What a PowerShell host's command line runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostScript {
    /// `-Command` (or the arguments after the switches): the script text.
    Command(String),
    /// `-EncodedCommand`: the decoded script (or `None` when it does not decode).
    Encoded(Option<String>),
}

/// The host's switches, in the order `CommandLineParameterParser` tries them: (name, shortest
/// unambiguous form, takes a value).
const HOST_SWITCHES: &[(&str, &str, bool)] = &[
    ("version", "v", false),
    ("help", "h", false),
    ("?", "?", false),
    ("login", "l", false),
    ("noexit", "noe", false),
    ("noprofile", "nop", false),
    ("nologo", "nol", false),
    ("noninteractive", "noni", false),
    ("socketservermode", "so", false),
    ("servermode", "s", false),
    ("namedpipeservermode", "nam", false),
    ("sshservermode", "sshs", false),
    ("interactive", "i", false),
    ("configurationname", "config", true),
    ("custompipename", "cus", true),
    ("command", "c", false),
    ("windowstyle", "w", true),
    ("file", "f", false),
    ("outputformat", "o", true),
    ("of", "o", true),
    ("inputformat", "inp", true),
    ("if", "if", true),
    ("executionpolicy", "ex", true),
    ("ep", "ep", true),
    ("encodedcommand", "e", false),
    ("ec", "e", false),
    ("encodedarguments", "encodeda", true),
    ("ea", "ea", true),
    ("settingsfile", "settings", true),
    ("sta", "sta", false),
    ("mta", "mta", false),
    ("workingdirectory", "wo", true),
    ("wd", "wd", true),
    // Windows PowerShell 5.1 only.
    ("psconsolefile", "psc", true),
];

/// Reads a PowerShell host's arguments (after the program name). Windows PowerShell 5.1 runs
/// a first argument that is not a switch as a command; pwsh runs it as a file. Both are read
/// as script text here: a file name holds no cmdlet, so reading it costs nothing, while
/// missing a command would.
pub fn host_script(args: &[Text]) -> Option<HostScript> {
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].trim();
        let mut chars = arg.chars();
        let key = match chars.next() {
            Some(c) if is_dash(c) || c == '/' => {
                let rest = chars.as_str();
                rest.strip_prefix(is_dash).unwrap_or(rest)
            }
            _ => return Some(HostScript::Command(args[i..].join(" "))),
        };
        let matched = HOST_SWITCHES
            .iter()
            .find(|(name, shortest, _)| key.chars().count() >= shortest.len() && is_prefix_of(key, name));
        match matched {
            Some(("command", ..)) => return Some(HostScript::Command(args[i + 1..].join(" "))),
            Some(("encodedcommand" | "ec", ..)) => {
                return Some(HostScript::Encoded(args.get(i + 1).and_then(|a| decode_utf16_base64(a))));
            }
            Some(("file", ..)) => return None,
            Some((_, _, true)) => i += 2,
            Some(_) => i += 1,
            // An unknown switch starts the script (5.1) or the file (pwsh).
            None => return Some(HostScript::Command(args[i..].join(" "))),
        }
    }
    None
}

/// `Convert.FromBase64String` then UTF-16LE, as `-EncodedCommand` reads its value: white space
/// anywhere is skipped; anything else outside the alphabet fails the decoding.
pub fn decode_utf16_base64(s: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
        }
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    Some(String::from_utf16_lossy(&units))
}

/// Binds a cmdlet call's tokens to its parameters: `-Name value`, `-Name:value`, and positional
/// values (in order, under the names in `positional`). A name is any prefix that names exactly
/// one of `parameters` (exact names win); an ambiguous or unknown name binds nothing, as
/// PowerShell then refuses the call.
pub fn bind<'t>(
    tokens: &'t [Token],
    parameters: &[&'static str],
    positional: &[&'static str],
) -> Vec<(&'static str, Option<&'t str>)> {
    let mut bound = Vec::new();
    let mut position = 0;
    let mut i = 0;
    // Names already resolved in this call: a line of thousands of `-U` resolves `U` once.
    let mut resolved_names: Vec<(&str, Option<&'static str>)> = Vec::new();
    while i < tokens.len() {
        let token = &tokens[i];
        i += 1;
        let Some((name, attached)) = token.parameter() else {
            if let Some(&p) = positional.get(position) {
                bound.push((p, Some(token.text.as_str())));
            }
            position += 1;
            continue;
        };
        let resolved = match resolved_names.iter().find(|(n, _)| *n == name) {
            Some(&(_, r)) => r,
            None => {
                let r = resolve(name, parameters);
                // Bounded: a hostile line of distinct names keeps resolving, never scans a long list.
                if resolved_names.len() < 16 {
                    resolved_names.push((name, r));
                }
                r
            }
        };
        let value = match attached {
            Some(v) => Some(v),
            None if switch_parameter(resolved) => None,
            None => match tokens.get(i) {
                Some(next) if next.parameter().is_none() => {
                    i += 1;
                    Some(next.text.as_str())
                }
                _ => None,
            },
        };
        if let Some(p) = resolved {
            bound.push((p, value));
        }
    }
    bound
}

/// Switch parameters take no value from the next token.
fn switch_parameter(name: Option<&str>) -> bool {
    matches!(
        name,
        Some("force" | "asjob" | "verbose" | "debug" | "once" | "daily" | "weekly" | "atstartup" | "atlogon")
    )
}

/// Parameters every cmdlet has: they make short prefixes ambiguous (`-P` is `-Password`,
/// `-Principal` or `-PipelineVariable`).
const COMMON_PARAMETERS: &[&str] = &[
    "verbose",
    "debug",
    "erroraction",
    "warningaction",
    "informationaction",
    "errorvariable",
    "warningvariable",
    "informationvariable",
    "outvariable",
    "outbuffer",
    "pipelinevariable",
    "progressaction",
];

fn resolve(name: &str, parameters: &[&'static str]) -> Option<&'static str> {
    // One pass: an exact name wins; otherwise the one parameter the prefix names.
    let mut only: Option<&'static str> = None;
    let mut several = false;
    for &p in parameters.iter().chain(COMMON_PARAMETERS.iter()) {
        if !is_prefix_of(name, p) {
            continue;
        }
        if name.len() == p.len() {
            return Some(p);
        }
        several |= only.replace(p).is_some();
    }
    if several { None } else { only }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_unevaluated_values() {
        let cases: &[(&str, bool)] = &[
            ("(...)", true),
            ("$u", true),
            ("$env:u", true),
            ("SYS$x", true),
            ("${user name}", true),
            ("$($x)", true),
            ("CORP\\WS01$", false),
            ("$", false),
            ("SYSTEM", false),
            ("", false),
        ];
        for &(value, want) in cases {
            assert_eq!(is_unevaluated(value), want, "{value:?}");
        }
    }

    fn texts(script: &str) -> Vec<Vec<String>> {
        statements(script).into_iter().map(|s| s.into_iter().map(|t| t.text).collect()).collect()
    }

    #[test]
    fn table_of_statements() {
        let cases: &[(&str, &[&[&str]])] = &[
            ("schtasks /create /ru SYSTEM", &[&["schtasks", "/create", "/ru", "SYSTEM"]]),
            ("a; b | c\nd", &[&["a"], &["b"], &["c"], &["d"]]),
            ("S`Y`STEM 'it''s' \"say \"\"hi\"\"\"", &[&["SYSTEM", "it's", "say \"hi\""]]),
            ("\u{201C}NT AUTHORITY\\SYSTEM\u{201D} \u{2018}x\u{2019}", &[&["NT AUTHORITY\\SYSTEM", "x"]]),
            ("schtasks /run > $null 2>&1; b", &[&["schtasks", "/run"], &["b"]]),
            ("x *> out.txt y", &[&["x", "y"]]),
            (
                "Register-X -Principal (New-P -UserId SYSTEM) -User y",
                &[&["New-P", "-UserId", "SYSTEM"], &["Register-X", "-Principal", "(...)", "-User", "y"]],
            ),
            ("& { a; b } c", &[&["a"], &["b"], &["(...)", "c"]]),
            ("((((x", &[&["x"]]),
            ("a # comment ; b\nc", &[&["a"], &["c"]]),
            ("a <# block ; #> b", &[&["a", "b"]]),
            ("& 'C:\\x y\\schtasks.exe' /ru system", &[&["C:\\x y\\schtasks.exe", "/ru", "system"]]),
            ("a `\nb", &[&["a", "b"]]),
            ("'a','b' c", &[&["a,b", "c"]]),
        ];
        for (script, want) in cases {
            let want: Vec<Vec<String>> = want.iter().map(|s| s.iter().map(|t| t.to_string()).collect()).collect();
            assert_eq!(texts(script), want, "{script:?}");
        }
    }

    #[test]
    fn table_of_host_command_lines() {
        let enc = "UwBDAEgAVABBAFMASwBTAA=="; // "SCHTASKS" in UTF-16LE
        let cases: &[(&[&str], Option<HostScript>)] = &[
            (&["-c", "a", "b"], Some(HostScript::Command("a b".into()))),
            (&["-NoP", "-W", "Hidden", "-Command", "x"], Some(HostScript::Command("x".into()))),
            (&["-e", enc], Some(HostScript::Encoded(Some("SCHTASKS".into())))),
            (&["-ec", enc], Some(HostScript::Encoded(Some("SCHTASKS".into())))),
            (&["-enc", enc], Some(HostScript::Encoded(Some("SCHTASKS".into())))),
            (&["/enc", enc], Some(HostScript::Encoded(Some("SCHTASKS".into())))),
            (&["--EncodedCommand", enc], Some(HostScript::Encoded(Some("SCHTASKS".into())))),
            (&["\u{2013}enc", enc], Some(HostScript::Encoded(Some("SCHTASKS".into())))),
            (
                &["-ExecutionPolicy", "Bypass", "-en", "UwBD AEgA\nVABBAFMASwBTAA=="],
                Some(HostScript::Encoded(Some("SCHTASKS".into()))),
            ),
            (&["-File", "x.ps1"], None),
            (&["Get-Date"], Some(HostScript::Command("Get-Date".into()))),
            (&["-enc", "not base64!"], Some(HostScript::Encoded(None))),
        ];
        for (args, want) in cases {
            let args: Vec<Text> = args.iter().map(|&s| Text::from(s)).collect();
            assert_eq!(host_script(&args), *want, "{args:?}");
        }
    }

    #[test]
    fn parameters_bind_by_unambiguous_prefix() {
        let tokens = |s: &str| statements(s).remove(0);
        let p = &[
            "taskname",
            "taskpath",
            "action",
            "trigger",
            "settings",
            "user",
            "password",
            "runlevel",
            "principal",
            "inputobject",
            "xml",
            "force",
        ];
        let t = tokens("x -U SYSTEM -Pa secret -TaskN t1 -P y");
        assert_eq!(
            bind(&t[1..], p, &["taskname"]),
            [("user", Some("SYSTEM")), ("password", Some("secret")), ("taskname", Some("t1"))]
        );
        let t = tokens("x \u{2014}User:SYSTEM name");
        assert_eq!(bind(&t[1..], p, &["taskname"]), [("user", Some("SYSTEM")), ("taskname", Some("name"))]);
        let t = tokens("x '-User' v");
        assert_eq!(bind(&t[1..], p, &["taskname", "taskpath"]), [("taskname", Some("-User")), ("taskpath", Some("v"))]);
    }
}
