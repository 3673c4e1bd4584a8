//! XML text as this crate reads it, in one place: what an entity reference stands for, text
//! content (references resolved, line ends normalized), attribute values, and the one-level
//! decoding of text that arrives entity-escaped (`TaskContent` in `_raw`, NXLog command lines).
//! The task-XML reader (`detect::taskxml`) and splunkd's input configuration (read with
//! quick-xml) both resolve references here.
//!
//! Rules followed: XML 1.0 §4.1 (character and entity references), §4.6 (the five predefined
//! entities), §2.11 (end-of-line handling), §3.3.3 (attribute-value normalization).

use std::borrow::Cow;

use memchr::{memchr, memchr2};
use quick_xml::events::{BytesRef, BytesStart};

/// Appends what the reference `&name;` stands for (`name` without `&` and `;`): a character
/// reference (`#233`, `#xE9`) or one of the five predefined entities. `false`, and nothing
/// appended, for anything else: the documents read declare no entities, and `&#0;` or a
/// surrogate is no character.
fn resolve(name: &str, out: &mut String) -> bool {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix('x') {
            Some(hex) => parse_digits(hex, 16),
            None => parse_digits(number, 10),
        };
        return match code.filter(|&c| c != 0).and_then(char::from_u32) {
            Some(c) => {
                out.push(c);
                true
            }
            None => false,
        };
    }
    out.push_str(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => return false,
    });
    true
}

/// Digits only (no sign, no space), at most what fits a `u32`.
fn parse_digits(digits: &str, radix: u32) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

/// Appends `raw` with every `\r\n` and lone `\r` turned into `\n` (§2.11).
fn push_normalized_eols(out: &mut String, raw: &str) {
    let mut rest = raw;
    while let Some(i) = memchr(b'\r', rest.as_bytes()) {
        out.push_str(&rest[..i]);
        out.push('\n');
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('\n') {
            rest = after;
        }
    }
    out.push_str(rest);
}

/// Appends the character data `raw` (the text between two tags) stands for: references
/// resolved, line ends normalized. Leniently, as the task XML of real events needs: an `&`
/// that starts no reference (`a & b`) stays as written, and a reference to an undeclared
/// entity adds nothing.
pub fn push_text(out: &mut String, raw: &str) {
    let mut rest = raw;
    while let Some(amp) = memchr(b'&', rest.as_bytes()) {
        push_normalized_eols(out, &rest[..amp]);
        let after = &rest[amp + 1..];
        match memchr2(b';', b'&', after.as_bytes()) {
            Some(end) if after.as_bytes()[end] == b';' => {
                resolve(&after[..end], out);
                rest = &after[end + 1..];
            }
            // A dangling `&`: the text up to the next `&` as written.
            other => {
                let end = other.unwrap_or(after.len());
                out.push('&');
                push_normalized_eols(out, &after[..end]);
                rest = &after[end..];
            }
        }
    }
    push_normalized_eols(out, rest);
}

/// Appends the content of a CDATA section: no references, line ends normalized.
pub fn push_cdata(out: &mut String, raw: &str) {
    push_normalized_eols(out, raw);
}

/// An attribute's value (between its quotes) as §3.3.3 defines it: references resolved, each
/// line end, tab or newline one space. `None` when it holds an `&` that is not a reference to
/// a character or a predefined entity, which is not well-formed. Borrowed when `raw` reads as
/// written.
pub fn attribute_value(raw: &str) -> Option<Cow<'_, str>> {
    // Nearly every value is plain text (`Author`, `LocalSystem`): a byte loop over a few bytes.
    if !raw.bytes().any(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r')) {
        return Some(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    loop {
        let amp = memchr(b'&', rest.as_bytes()).unwrap_or(rest.len());
        let mut plain = &rest[..amp];
        while let Some(i) = plain.find(['\t', '\n', '\r']) {
            out.push_str(&plain[..i]);
            out.push(' ');
            let skip = if plain[i..].starts_with("\r\n") { 2 } else { 1 };
            plain = &plain[i + skip..];
        }
        out.push_str(plain);
        if amp == rest.len() {
            return Some(Cow::Owned(out));
        }
        let after = &rest[amp + 1..];
        let end = memchr(b';', after.as_bytes())?;
        if !resolve(&after[..end], &mut out) {
            return None;
        }
        rest = &after[end + 1..];
    }
}

/// Decodes one level of entity escaping: every reference to a character or a predefined
/// entity becomes what it stands for; anything else (a stray `&`, an unknown or truncated
/// reference) stays as written. Borrowed when there is nothing to decode. Line ends are left
/// alone: the result is itself text to be read (task XML, a command line).
pub fn unescape(text: &str) -> Cow<'_, str> {
    let Some(first) = memchr(b'&', text.as_bytes()) else { return Cow::Borrowed(text) };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    let mut rest = &text[first..];
    while let Some(amp) = memchr(b'&', rest.as_bytes()) {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        // Each `&` looks no further than the next `&`: linear however many there are.
        match memchr2(b';', b'&', after.as_bytes()) {
            Some(end) if after.as_bytes()[end] == b';' && resolve(&after[..end], &mut out) => rest = &after[end + 1..],
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A quick-xml reference event, resolved by the rules above.
pub fn push_reference(text: &mut String, reference: &BytesRef<'_>) {
    resolve(reference, text);
}

/// An attribute's value by local name, from a quick-xml start tag.
pub fn attribute(element: &BytesStart<'_>, key: &str) -> Option<String> {
    let attribute = element.attributes().flatten().find(|a| a.key.local_name().as_ref() == key)?;
    attribute_value(&attribute.value).map(Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &str) -> String {
        let mut out = String::new();
        push_text(&mut out, raw);
        out
    }

    #[test]
    fn table_of_text_content() {
        let cases = [
            ("plain", "plain"),
            ("a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;", "a & b <c> \"d\" 'e'"),
            ("&#233;&#xE9;&#x1F600;", "éé😀"),
            ("line\r\nnext\rlast\n", "line\nnext\nlast\n"),
            ("a & b", "a & b"),
            ("a &unknown; b", "a  b"),
            ("&#0;&#xD800;&#-1;&#;&#x;", ""),
            ("tail &amp", "tail &amp"),
            ("&&amp;", "&&"),
            ("\r&amp;\n", "\n&\n"),
        ];
        for (raw, want) in cases {
            assert_eq!(text(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn table_of_attribute_values() {
        let cases = [
            ("Author", Some("Author")),
            ("a&amp;b&#x41;", Some("a&bA")),
            ("tab\there\r\nline\nx\ry", Some("tab here line x y")),
            ("a & b", None),
            ("a &nbsp; b", None),
            ("a &amp", None),
        ];
        for (raw, want) in cases {
            assert_eq!(attribute_value(raw).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn table_of_one_level_unescaping() {
        let cases = [
            ("no entity", "no entity"),
            ("&lt;Task&gt;&amp;lt;", "<Task>&lt;"),
            ("cmd /c a &amp;&amp; b", "cmd /c a && b"),
            ("stray & here &quot;q&quot;", "stray & here \"q\""),
            ("cut at the end &l", "cut at the end &l"),
            ("&unknown; &#65;", "&unknown; A"),
            ("crlf\r\nstays", "crlf\r\nstays"),
        ];
        for (raw, want) in cases {
            assert_eq!(unescape(raw), want, "{raw:?}");
        }
    }

    /// Linear in its input: a run of `&` with no `;` in sight is read once.
    #[test]
    fn unescaping_a_run_of_ampersands_is_linear() {
        let hostile = "&".repeat(1 << 20);
        assert_eq!(unescape(&hostile), hostile);
        assert_eq!(text(&hostile), hostile);
    }
}
