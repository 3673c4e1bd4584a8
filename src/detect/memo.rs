//! Remembers what was derived from a text, by content. Fleets send the same task definition from
//! thousands of hosts (Windows' own tasks, updated on every patch cycle), byte for byte: deriving
//! it once per process saves most of the work on such events. Bounded: cleared when full.
//!
//! A text is stored on its second sighting, not its first (TinyLFU's "doorkeeper": Einziger,
//! Friedman and Manes, "TinyLFU: A Highly Efficient Cache Admission Policy", 2017): its first
//! leaves only its hash behind. Texts seen once (a task definition with its own date or URI, a
//! command line with a process id) are then never copied into the memo, never evict the ones
//! that repeat, and their value is handed over instead of shared.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Texts longer than this are derived every time: real task definitions are a few KB.
const MAX_KEY: usize = 64 << 10;
/// The memory all remembered keys may take together.
const MAX_KEY_BYTES: usize = 16 << 20;
/// Slots of the doorkeeper per entry the memo may hold: a text is admitted when it comes back
/// before other texts overwrite its slot, here within about four times the memo's size.
const SEEN_PER_ENTRY: usize = 4;

pub struct Memo<T> {
    /// By content hash: where the key's bytes are in `keys`, and the value.
    entries: HashMap<u64, ((usize, usize), Arc<T>), ByContentHash>,
    /// Every key's bytes, one after another: one growing buffer rather than an allocation of
    /// kilobytes per new text.
    keys: Vec<u8>,
    inserted: usize,
    capacity: usize,
    /// The hash of the last text not stored, per slot (indexed by the hash's low bits). Taken
    /// at the first miss, so that a search that sends no events never pays for it.
    seen: Box<[u64]>,
}

/// A value from [`Memo::get_or_derive_keyed`]: shared with the memo, or derived for this caller
/// alone and never boxed (a text seen for the first time costs no allocation for a sharing it
/// may never have).
pub enum Derived<T> {
    Remembered(Arc<T>),
    Fresh(T),
}

impl<T> Derived<T> {
    /// The value as a shared reference.
    pub fn into_arc(self) -> Arc<T> {
        match self {
            Derived::Remembered(shared) => shared,
            Derived::Fresh(value) => Arc::new(value),
        }
    }

    /// The value, moved out when fresh, copied when the memo shares it.
    pub fn into_owned(self) -> T
    where
        T: Clone,
    {
        match self {
            Derived::Remembered(shared) => Arc::unwrap_or_clone(shared),
            Derived::Fresh(value) => value,
        }
    }
}

impl<T> Memo<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        Memo { entries: HashMap::default(), keys: Vec::new(), inserted: 0, capacity, seen: Box::default() }
    }

    /// `derive(text)`, answered from memory when the same text was seen before.
    #[cfg(test)]
    pub fn get_or_derive(&mut self, text: &str, derive: impl FnOnce(&str) -> T) -> Derived<T> {
        self.get_or_derive_keyed(text.as_bytes(), || derive(text))
    }

    /// `derive()` for a value identified by `key` (any bytes that determine the value, such as
    /// its stored form), answered from memory when the same key was seen before. A value not
    /// kept in memory (the key's first sighting) comes back [`Derived::Fresh`], so the caller can
    /// take it apart instead of copying it.
    pub fn get_or_derive_keyed(&mut self, key: &[u8], derive: impl FnOnce() -> T) -> Derived<T> {
        let hash = content_hash(key);
        // `==` is the C library's memcmp, vectorized in the glibc the Linux builds link. memchr's
        // word-at-a-time `is_equal` was chosen when those builds were static musl, whose memcmp
        // goes byte by byte; against glibc's it took 3% of a run on these kilobytes of XML.
        if let Some(((start, end), value)) = self.entries.get(&hash)
            && self.keys[*start..*end] == *key
        {
            return Derived::Remembered(Arc::clone(value));
        }
        let value = derive();
        if self.seen.is_empty() {
            self.seen = vec![0; (self.capacity * SEEN_PER_ENTRY).next_power_of_two()].into_boxed_slice();
        }
        // The slot count is a power of two: the low bits pick the slot.
        let slot = hash as usize & (self.seen.len() - 1);
        if key.len() > MAX_KEY || std::mem::replace(&mut self.seen[slot], hash) != hash {
            return Derived::Fresh(value);
        }
        let value = Arc::new(value);
        // Counted by insertions, not entries: a hash collision replaces an entry but still adds
        // its key's bytes.
        if self.inserted >= self.capacity || self.keys.len() + key.len() > MAX_KEY_BYTES {
            self.entries.clear();
            self.keys.clear();
            self.inserted = 0;
        }
        let start = self.keys.len();
        self.keys.extend_from_slice(key);
        self.entries.insert(hash, ((start, self.keys.len()), Arc::clone(&value)));
        self.inserted += 1;
        Derived::Remembered(value)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// FxHash's multiplier, for [`content_hash`] and the map's fallback.
const K: u64 = 0x517c_c1b7_2722_0a95;

/// The map's hasher: its keys are already [`content_hash`]es, hashed again by nothing.
type ByContentHash = BuildHasherDefault<KeyIsHash>;

#[derive(Default)]
struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

/// A fast non-cryptographic hash (FxHash's multiply-rotate over 8-byte words, in four
/// independent lanes: one chain waits out each multiply's latency, four keep the multiplier
/// busy on keys of kilobytes). A collision only costs a new derivation: entries are used only
/// when the full text is equal.
fn content_hash(bytes: &[u8]) -> u64 {
    let step = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
    let word = |c: &[u8]| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    let mut lanes = [bytes.len() as u64, 1, 2, 3];
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        for (lane, c) in lanes.iter_mut().zip(block.chunks_exact(8)) {
            *lane = step(*lane, word(c));
        }
    }
    let mut h = lanes.into_iter().fold(0, step);
    let mut words = blocks.remainder().chunks_exact(8);
    for c in &mut words {
        h = step(h, word(c));
    }
    for &b in words.remainder() {
        h = step(h, u64::from(b));
    }
    // The map indexes by the low bits, which a multiply leaves the least mixed: fold the high
    // half in.
    h ^ (h >> 32)
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
            assert_eq!(v.into_owned(), text.to_uppercase());
            assert!(memo.len() <= 2);
        }
        assert!(calls < 7, "some answers came from memory");
    }

    /// A text is stored on its second sighting and answered from memory from its third;
    /// texts seen once are handed over (never shared, never stored), however many there are.
    #[test]
    fn texts_are_stored_when_they_come_back() {
        let mut memo = Memo::with_capacity(1024);
        let mut derived = 0;
        let mut kinds = Vec::new();
        for _ in 0..4 {
            let v = memo.get_or_derive_keyed(b"fleet task", || {
                derived += 1;
                7
            });
            kinds.push(matches!(v, Derived::Remembered(_)));
        }
        assert_eq!((derived, kinds), (2, vec![false, true, true, true]));
        for i in 0..100_000u32 {
            let v = memo.get_or_derive_keyed(&i.to_le_bytes(), || i);
            assert!(matches!(v, Derived::Fresh(n) if n == i), "{i}");
        }
        assert_eq!(memo.len(), 1, "only the text that came back is stored");
        // Still remembered after a flood of texts seen once: they evicted nothing.
        assert!(matches!(memo.get_or_derive_keyed(b"fleet task", || 0), Derived::Remembered(v) if *v == 7));
    }
}
