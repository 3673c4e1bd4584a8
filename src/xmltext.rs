//! Text of quick-xml events, read the same way by both XML readers of this crate (task XML and
//! splunkd's input configuration): entity references (`&amp;`, `&#233;`) arrive as events of
//! their own, attribute values need their references resolved.

use quick_xml::events::{BytesRef, BytesStart};

/// Appends what an entity reference stands for: a character reference, or one of the five
/// predefined entities. Unknown entities (none are declared in the documents read) add nothing.
pub fn push_reference(text: &mut String, reference: &BytesRef<'_>) {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        text.push(c);
        return;
    }
    text.push_str(match reference.xml10_content().as_ref() {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => "",
    });
}

/// An attribute's value by local name, with references resolved.
pub fn attribute(element: &BytesStart<'_>, key: &str) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key)
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()))
}
