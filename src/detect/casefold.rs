//! Case-insensitive names as Windows and .NET compare them (`OrdinalIgnoreCase`: each
//! character's simple uppercase), folded one character at a time so that lengths never shift
//! and no offset found in a folded copy is ever used on the original.
//!
//! [`fold`] maps a character to the ASCII letter its simple uppercase is (`ı` U+0131 and `ſ`
//! U+017F become `i` and `s`, as `OrdinalIgnoreCase` reads them) and leaves every other
//! character alone: the Kelvin sign U+212A is its own uppercase, so it is not the letter `k`,
//! and `İ` U+0130 is not `i`. Reading a name as the program would is the point: a spelling
//! that Windows resolves to `schtasks` or PowerShell to `Register-ScheduledTask` must be read
//! as that name.

/// A character as names compare: ASCII case-insensitively, and a non-ASCII letter whose simple
/// uppercase is an ASCII letter as that letter.
pub fn fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) if u.is_ascii_alphabetic() => u.to_ascii_lowercase(),
        _ => c,
    }
}

/// Whether `text` names `lower_ascii` (an ASCII, lowercase name) under [`fold`].
pub fn names(text: &str, lower_ascii: &str) -> bool {
    let mut a = text.chars();
    let mut b = lower_ascii.chars();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if fold(x) == y => {}
            _ => return false,
        }
    }
}

/// Whether `text` is a prefix of `lower_ascii` under [`fold`] (and not empty).
pub fn is_prefix_of(text: &str, lower_ascii: &str) -> bool {
    let mut b = lower_ascii.chars();
    !text.is_empty() && text.chars().all(|x| b.next().is_some_and(|y| fold(x) == y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_lengths_and_reads_names_as_dotnet_does() {
        assert!(names("ReGıSTER-ScheduledTask", "register-scheduledtask"));
        assert!(names("ſchtasks", "schtasks"));
        assert!(!names("\u{212A}", "k"));
        assert!(!names("İ", "i"));
        assert!(!names("schtask", "schtasks") && !names("schtasksx", "schtasks"));
        assert!(is_prefix_of("ENC", "encodedcommand") && !is_prefix_of("", "x") && !is_prefix_of("xy", "x"));
    }
}
