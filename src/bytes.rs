//! Byte searches for the short distances this crate's text has: a CSV field of a few bytes, a
//! tag every few bytes of task XML. `memchr` is the fastest search over long spans, but its
//! set-up costs more than a short span takes; these look at the first bytes eight at a time
//! (SWAR: a byte equal to the needle becomes zero after XOR, and the lowest flagged byte of a
//! word is exact; bytes above it may be flagged falsely and are never used), then hand the rest
//! to `memchr`.

/// Bytes looked at word by word before `memchr` takes over.
const SHORT: usize = 32;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The first byte of `hay` that is one of `needles`. Past the first bytes, one to three
/// needles go to `memchr`; more stay word by word to the end.
#[inline]
pub fn find_any<const N: usize>(needles: [u8; N], hay: &[u8]) -> Option<usize> {
    let head = if N > 3 { hay } else { &hay[..hay.len().min(SHORT)] };
    let mut words = head.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let word = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        let mut flagged = 0;
        for needle in needles {
            let x = word ^ (ONES * u64::from(needle));
            flagged |= x.wrapping_sub(ONES) & !x & HIGHS;
        }
        if flagged != 0 {
            return Some(at + (flagged.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    if let Some(i) = words.remainder().iter().position(|b| needles.contains(b)) {
        return Some(at + i);
    }
    let tail = &hay[head.len()..];
    // Most spans end within the head: no call into `memchr` for an empty tail.
    if tail.is_empty() {
        return None;
    }
    let found = match needles.as_slice() {
        [a] => memchr::memchr(*a, tail),
        [a, b] => memchr::memchr2(*a, *b, tail),
        [a, b, c] => memchr::memchr3(*a, *b, *c, tail),
        _ => None,
    };
    found.map(|i| i + head.len())
}

/// The first `needle` in `hay`.
#[inline]
pub fn find_byte(needle: u8, hay: &[u8]) -> Option<usize> {
    find_any([needle], hay)
}

/// From `at`, skips eight bytes at a time past bytes at or above `floor` (at most 0x80): the
/// position of the first byte below it, or of the last fewer-than-eight bytes, which the caller
/// judges itself. A word's lowest byte below `floor` is flagged exactly (borrows only go up).
#[inline]
pub fn skip_words_at_least(hay: &[u8], mut at: usize, floor: u8) -> usize {
    debug_assert!(floor <= 0x80);
    while let Some(word) = hay.get(at..at + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
        let word = u64::from_le_bytes(word);
        let below = word.wrapping_sub(ONES * u64::from(floor)) & !word & HIGHS;
        if below != 0 {
            return at + (below.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The word skip stops where a byte loop finds the first byte below the floor, or in the
        /// last eight bytes, and never passes such a byte.
        #[test]
        fn skip_words_stops_at_the_first_byte_below(
            hay in proptest::collection::vec(any::<u8>(), 0..64),
            from in 0usize..16,
            floor in 0u8..=0x80,
        ) {
            let from = from.min(hay.len());
            let stop = skip_words_at_least(&hay, from, floor);
            prop_assert!(stop >= from && stop <= hay.len());
            prop_assert!(hay[from..stop].iter().all(|&b| b >= floor), "passed a byte below {floor:#x}: {stop}");
            prop_assert!(hay.get(stop).is_some_and(|&b| b < floor) || hay.len() - stop < 8, "stopped early: {stop}");
        }

        /// The same answer as a byte loop, for any bytes (high bytes, needles side by side,
        /// every alignment, past the word-by-word head).
        #[test]
        fn find_any_is_a_byte_loop(hay in proptest::collection::vec(any::<u8>(), 0..120), needles in any::<[u8; 3]>()) {
            prop_assert_eq!(find_any(needles, &hay), hay.iter().position(|b| needles.contains(b)));
            prop_assert_eq!(find_any([needles[0], needles[1]], &hay), hay.iter().position(|b| needles[..2].contains(b)));
            prop_assert_eq!(find_byte(needles[0], &hay), hay.iter().position(|&b| b == needles[0]));
            let four = [needles[0], needles[1], needles[2], b','];
            prop_assert_eq!(find_any(four, &hay), hay.iter().position(|b| four.contains(b)));
        }

        /// The same where matches are dense: bytes next to the needles' values and the high bit.
        #[test]
        fn find_any_is_a_byte_loop_on_dense_matches(
            hay in proptest::collection::vec(proptest::sample::select(vec![b'<', b'=', b'>', b'?', b'"', b'\'', 0x00, 0x7f, 0x80, 0xbe, 0xff]), 0..80)
        ) {
            let needles = [b'>', b'"', b'\''];
            prop_assert_eq!(find_any(needles, &hay), hay.iter().position(|b| needles.contains(b)));
        }
    }

    #[test]
    fn far_matches_are_found_past_the_head() {
        let mut hay = vec![b'a'; 1000];
        hay[999] = b',';
        assert_eq!(find_any([b',', b'\n'], &hay), Some(999));
        assert_eq!(find_any([b'\n'], &hay), None);
    }
}
