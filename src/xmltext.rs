//! Text of quick-xml events: the reader reports entity references (`&amp;`, `&#233;`) as events
//! of their own; both XML readers of this crate append them to text the same way.

use quick_xml::events::BytesRef;

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
