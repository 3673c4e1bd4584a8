//! Remembers what was derived from a text, by content. Fleets send the same task definition from
//! thousands of hosts (Windows' own tasks, updated on every patch cycle), byte for byte: deriving
//! it once per process saves most of the work on such events. Bounded: cleared when full.

use std::collections::HashMap;
use std::rc::Rc;

pub struct Memo<T> {
    entries: HashMap<u64, (Box<[u8]>, Rc<T>)>,
    capacity: usize,
}

impl<T> Memo<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        Memo { entries: HashMap::new(), capacity }
    }

    /// `derive(text)`, answered from memory when the same text was seen before.
    #[cfg(test)]
    pub fn get_or_derive(&mut self, text: &str, derive: impl FnOnce(&str) -> T) -> Rc<T> {
        self.get_or_derive_keyed(text.as_bytes(), || derive(text))
    }

    /// `derive()` for a value identified by `key` (any bytes that determine the value, such as
    /// its stored form), answered from memory when the same key was seen before.
    pub fn get_or_derive_keyed(&mut self, key: &[u8], derive: impl FnOnce() -> T) -> Rc<T> {
        let hash = content_hash(key);
        if let Some((stored, value)) = self.entries.get(&hash)
            && **stored == *key
        {
            return Rc::clone(value);
        }
        let value = Rc::new(derive());
        if self.entries.len() >= self.capacity {
            self.entries.clear();
        }
        self.entries.insert(hash, (key.into(), Rc::clone(&value)));
        value
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// A fast non-cryptographic hash (FxHash's multiply-rotate over 8-byte words). A collision only
/// costs a new derivation: entries are used only when the full text is equal.
fn content_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_what_derive_answers_and_stays_bounded() {
        let mut memo = Memo::with_capacity(2);
        let mut calls = 0;
        for text in ["a", "b", "a", "c", "b", "a", "a"] {
            let v = memo.get_or_derive(text, |t| {
                calls += 1;
                t.to_uppercase()
            });
            assert_eq!(*v, text.to_uppercase());
            assert!(memo.len() <= 2);
        }
        assert!(calls < 7, "some answers came from memory");
    }
}
