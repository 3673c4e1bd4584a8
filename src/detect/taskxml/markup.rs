//! The markup of one XML document, item by item, for the task-XML reader: a tokenizer over a
//! `&str`, no validation beyond what reading needs, no allocation. It is here rather than a
//! general XML parser because it runs on every task event (a quarter of the command's time
//! went to a general reader re-checking UTF-8 that a `&str` already guarantees).
//!
//! It reads what XML 1.0 (§2.4-2.8, §3.1) says a document is made of, the way quick-xml reads
//! it (a differential test in `taskxml` holds the two to the same task on any document): a start
//! tag ends at the first `>` outside a quoted attribute value; comments, processing
//! instructions and a DOCTYPE are skipped; a document cut short ends at the last complete item.
//! Every step finds its delimiter with [`crate::bytes`] (markup comes every few bytes, where a
//! word-at-a-time search beats `memchr`'s set-up), so a document is read in one pass.

use std::borrow::Cow;

use memchr::memmem;

use crate::bytes::{find_any, find_byte};

/// One item of markup, as written: text keeps its references, names their prefix removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// A start tag (`empty` for `<name/>`): the name without its namespace prefix.
    Open { name: &'a str, attributes: Attributes<'a>, empty: bool },
    /// An end tag. Which one is not checked: truncated and hand-edited documents close
    /// elements loosely, and the reader tracks nesting itself.
    Close,
    /// Character data between two tags, references not yet resolved.
    Text(&'a str),
    /// The content of a CDATA section.
    CData(&'a str),
}

/// The items of `document`, in order; the first item starts at its first byte.
pub struct Markup<'a> {
    rest: &'a str,
}

impl<'a> Markup<'a> {
    pub fn new(document: &'a str) -> Self {
        Markup { rest: document }
    }

    /// Stops the iteration: the document is cut short (or malformed) here.
    fn end(&mut self) -> Option<Item<'a>> {
        self.rest = "";
        None
    }
}

impl<'a> Iterator for Markup<'a> {
    type Item = Item<'a>;

    #[inline(always)]
    fn next(&mut self) -> Option<Item<'a>> {
        loop {
            let rest = self.rest;
            if rest.is_empty() {
                return None;
            }
            let Some(after) = rest.strip_prefix('<') else {
                let end = find_byte(b'<', rest.as_bytes()).unwrap_or(rest.len());
                self.rest = &rest[end..];
                return Some(Item::Text(&rest[..end]));
            };
            let bytes = after.as_bytes();
            match bytes.first() {
                None => return self.end(),
                Some(b'/') => {
                    let Some(end) = find_byte(b'>', bytes) else { return self.end() };
                    self.rest = &after[end + 1..];
                    return Some(Item::Close);
                }
                Some(b'?') => {
                    let Some(end) = pi_end(&bytes[1..]) else { return self.end() };
                    self.rest = &after[1 + end + 2..];
                }
                Some(b'!') => {
                    if let Some(body) = after.strip_prefix("!--") {
                        let Some(end) = memmem::find(body.as_bytes(), b"-->") else { return self.end() };
                        self.rest = &body[end + 3..];
                    } else if let Some(body) = after.strip_prefix("![CDATA[") {
                        let Some(end) = memmem::find(body.as_bytes(), b"]]>") else { return self.end() };
                        self.rest = &body[end + 3..];
                        return Some(Item::CData(&body[..end]));
                    } else if bytes.len() >= 8 && bytes[1..8].eq_ignore_ascii_case(b"DOCTYPE") {
                        let Some(end) = doctype_end(bytes) else { return self.end() };
                        self.rest = &after[end + 1..];
                    } else {
                        return self.end();
                    }
                }
                Some(_) => {
                    let Some((item, len)) = bare_start_tag(after).or_else(|| start_tag(after)) else {
                        return self.end();
                    };
                    self.rest = &after[len..];
                    return Some(item);
                }
            }
        }
    }
}

/// The start tag that `after` (what follows its `<`) begins, with the bytes it takes: it ends at
/// the first `>` outside a quoted value, and its name at the first white space.
fn start_tag(after: &str) -> Option<(Item<'_>, usize)> {
    let end = start_tag_end(after.as_bytes())?;
    let (content, empty) = tag_content(after, end);
    let name_end = find_any(SPACE, content.as_bytes()).unwrap_or(content.len());
    let item = Item::Open { name: local(&content[..name_end]), attributes: Attributes(&content[name_end..]), empty };
    Some((item, end + 1))
}

/// A start tag's name and attributes, without the `/` that ends an empty element's, and whether
/// it had one; `end` is where its `>` is in `after`.
fn tag_content(after: &str, end: usize) -> (&str, bool) {
    match after[..end].strip_suffix('/') {
        Some(content) => (content, true),
        None => (&after[..end], false),
    }
}

/// Bytes that end a bare start tag's name, or send its tag the general way: white space, `>`,
/// `/`, a quote, and `:` (which ends a prefix).
static NAME_STOP: [bool; 256] = {
    let mut stop = [false; 256];
    let mut i = 0;
    while i < SPACE.len() {
        stop[SPACE[i] as usize] = true;
        i += 1;
    }
    stop[b'>' as usize] = true;
    stop[b'/' as usize] = true;
    stop[b'"' as usize] = true;
    stop[b'\'' as usize] = true;
    stop[b':' as usize] = true;
    stop
};

/// A start tag whose name holds no quote (`<Command>`, `<t:BootTrigger/>`, `<Principal id="A">`),
/// read in one pass over its name, with the bytes it takes after its `<`; every tag of a task
/// definition is. `None` sends anything else (a quote or `/` in the name, a cut) to
/// [`start_tag`], which reads these tags the same.
#[inline]
fn bare_start_tag(after: &str) -> Option<(Item<'_>, usize)> {
    let bytes = after.as_bytes();
    let mut name_start = 0;
    let mut prefixed = false;
    let mut at = 0;
    loop {
        // Every stop is below 0x40, and letters and non-ASCII bytes are not: names are skipped a
        // word at a time up to the first byte below it, which the table then judges.
        at = crate::bytes::skip_words_at_least(bytes, at, 0x40);
        let b = *bytes.get(at)?;
        if !NAME_STOP[usize::from(b)] {
            at += 1;
            continue;
        }
        let open = |empty| Item::Open { name: &after[name_start..at], attributes: Attributes(""), empty };
        match b {
            b':' => {
                // The local name follows the first `:`, as [`local`] reads it.
                if !prefixed {
                    (prefixed, name_start) = (true, at + 1);
                }
                at += 1;
            }
            b'>' => return Some((open(false), at + 1)),
            b'/' if bytes.get(at + 1) == Some(&b'>') => return Some((open(true), at + 2)),
            // The name is read; attributes follow. No quote came before, so the tag ends where
            // the general way ends it, searched from here.
            _ if is_space(b) => {
                let end = at + start_tag_end(&bytes[at..])?;
                let (content, empty) = tag_content(after, end);
                let item = Item::Open { name: &after[name_start..at], attributes: Attributes(&content[at..]), empty };
                return Some((item, end + 1));
            }
            _ => return None,
        }
    }
}

/// A name without its namespace prefix: what follows its first `:`. Names are a few bytes,
/// where a byte loop beats a search's set-up.
fn local(name: &str) -> &str {
    name.as_bytes().iter().position(|&b| b == b':').map_or(name, |i| &name[i + 1..])
}

/// XML's white space (§2.3 `S`).
const SPACE: [u8; 4] = [b' ', b'\t', b'\r', b'\n'];

fn is_space(b: u8) -> bool {
    SPACE.contains(&b)
}

/// Where `?>` starts in `body`: each `>` found, the byte before it looked at. A declaration
/// (`<?xml version="1.0" encoding="UTF-16"?>`) is a few dozen bytes, where setting up a
/// substring search cost more than reading it; every `>` is passed once, so it stays linear.
fn pi_end(body: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let gt = at + find_byte(b'>', &body[at..])?;
        if gt > 0 && body[gt - 1] == b'?' {
            return Some(gt - 1);
        }
        at = gt + 1;
    }
}

/// Where the start tag that `tag` begins (just after its `<`) ends: the first `>` outside a
/// quoted attribute value.
#[inline]
fn start_tag_end(tag: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let found = at + find_any([b'>', b'"', b'\''], &tag[at..])?;
        if tag[found] == b'>' {
            return Some(found);
        }
        at = found + 1 + find_byte(tag[found], &tag[found + 1..])? + 1;
    }
}

/// Where a DOCTYPE declaration (from just after its `<`) ends: its `>`, counting the `<` and
/// `>` of an internal subset's declarations.
fn doctype_end(decl: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = 0;
    loop {
        let found = at + memchr::memchr2(b'<', b'>', &decl[at..])?;
        match decl[found] {
            b'<' => depth += 1,
            _ if depth == 0 => return Some(found),
            _ => depth -= 1,
        }
        at = found + 1;
    }
}

/// The attributes of a start tag, as written (after its name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attributes<'a>(&'a str);

impl<'a> Attributes<'a> {
    /// Each attribute's (name, value as written), in order, until the first that is not
    /// `name = "value"` or `name = 'value'`.
    fn iter(self) -> impl Iterator<Item = (&'a str, &'a str)> {
        let text = self.0;
        let bytes = text.as_bytes();
        let mut at = 0;
        let skip_space = move |mut i: usize| {
            while bytes.get(i).copied().is_some_and(is_space) {
                i += 1;
            }
            i
        };
        std::iter::from_fn(move || {
            let name_start = skip_space(at);
            let [space, tab, cr, lf] = SPACE;
            let name_end = name_start + find_any([b'=', space, tab, cr, lf], &bytes[name_start..])?;
            let equals = skip_space(name_end);
            if bytes.get(equals) != Some(&b'=') {
                return None;
            }
            let open = skip_space(equals + 1);
            let quote = *bytes.get(open).filter(|&&q| q == b'"' || q == b'\'')?;
            let close = open + 1 + find_byte(quote, &bytes[open + 1..])?;
            at = close + 1;
            Some((&text[name_start..name_end], &text[open + 1..close]))
        })
    }

    /// The first attribute with this local name, its value decoded (`None` also when the value
    /// is not well-formed).
    pub fn get(self, local_name: &str) -> Option<Cow<'a, str>> {
        let (_, raw) = self.iter().find(|(name, _)| local(name) == local_name)?;
        crate::xmltext::attribute_value(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(document: &str) -> Vec<Item<'_>> {
        Markup::new(document).collect()
    }

    fn open<'a>(name: &'a str, attributes: &'a str, empty: bool) -> Item<'a> {
        Item::Open { name, attributes: Attributes(attributes), empty }
    }

    #[test]
    fn table_of_documents() {
        let cases: &[(&str, &[Item<'_>])] = &[
            ("<a>x</a>", &[open("a", "", false), Item::Text("x"), Item::Close]),
            ("<t:a x='1'/>", &[open("a", " x='1'", true)]),
            ("<a b=\"x>y/\" c='\"'>", &[open("a", " b=\"x>y/\" c='\"'", false)]),
            ("<?xml version=\"1.0\"?><!-- <b> --><a/>", &[open("a", "", true)]),
            ("<!DOCTYPE a [<!ENTITY e \"v\">]><a/>", &[open("a", "", true)]),
            ("<a><![CDATA[<b>&amp;]]></a >", &[open("a", "", false), Item::CData("<b>&amp;"), Item::Close]),
            ("text &amp; <", &[Item::Text("text &amp; ")]),
            ("<a><b c=\"unclosed>", &[open("a", "", false)]),
            ("<a></b", &[open("a", "", false)]),
            ("<a><!-- cut", &[open("a", "", false)]),
            ("<a><![CDATA[cut", &[open("a", "", false)]),
            ("<a><?pi cut", &[open("a", "", false)]),
            ("<a><?pi a>b ?", &[open("a", "", false)]),
            ("<?pi >?><?pi ?>?>x<a/>", &[Item::Text("?>x"), open("a", "", true)]),
            ("<??><a/>", &[open("a", "", true)]),
            ("<?>?><a/>", &[open("a", "", true)]),
            ("<a><!bogus>", &[open("a", "", false)]),
            // Bare names, read in one pass, as the general way reads them.
            ("<t:a>x</t:a>", &[open("a", "", false), Item::Text("x"), Item::Close]),
            ("<a:b:c/><:d>", &[open("b:c", "", true), open("d", "", false)]),
            ("<a/b><c/ >", &[open("a/b", "", false), open("c/", " ", false)]),
            ("<é:ü/><>", &[open("ü", "", true), open("", "", false)]),
            ("<a\"b>c\">", &[open("a\"b>c\"", "", false)]),
            ("<a><bc", &[open("a", "", false)]),
            ("<a><bc/", &[open("a", "", false)]),
        ];
        for (document, want) in cases {
            assert_eq!(items(document), *want, "{document:?}");
        }
    }

    #[test]
    fn table_of_attributes() {
        let cases = [
            (" id=\"Author\"", "id", Some("Author")),
            (" x='1' id = 'a&amp;b'", "id", Some("a&b")),
            (" t:id=\"prefixed\"", "id", Some("prefixed")),
            (" id=\"first\" id=\"second\"", "id", Some("first")),
            (" other=\"1\"", "id", None),
            (" broken id=\"x\"", "id", None),
            (" id=unquoted", "id", None),
            (" id=\"a & b\"", "id", None),
        ];
        for (attributes, name, want) in cases {
            assert_eq!(Attributes(attributes).get(name).as_deref(), want, "{attributes:?}");
        }
    }

    proptest::proptest! {
        /// A tag read in one pass over its name is the tag the general way reads.
        #[test]
        fn bare_tags_read_as_the_general_way(after in "[a-zA-Z0-9._:/> \"'\t\r\né-]{0,24}") {
            if let Some(bare) = bare_start_tag(&after) {
                proptest::prop_assert_eq!(Some(bare), start_tag(&after), "{:?}", after);
            }
        }
    }

    /// Hostile shapes are read in one pass: deep quotes, many `<`, an endless DOCTYPE.
    #[test]
    fn hostile_documents_are_linear() {
        for document in [
            format!("<a{}", " b='x'".repeat(1 << 16)),
            "<".repeat(1 << 18),
            format!("<!DOCTYPE{}", "<".repeat(1 << 18)),
            "<a>".repeat(1 << 16),
        ] {
            let start = std::time::Instant::now();
            let _ = items(&document).len();
            assert!(start.elapsed() < std::time::Duration::from_secs(2), "{}", &document[..20]);
        }
    }
}
