//! Stage 1's view of a word in the tokenizer's buffer: its key (the exact key of the
//! lower-cased word, made in registers for ASCII words of at most 16 bytes) and the cheap
//! equality of two words that pairs off the common tail.

use crate::fasthash::{Key16, Seed};
use crate::tokenize::Tokens;

use super::super::lower16::{ascii_lower_word, lower_ascii16};
use super::super::porter::{py_lower, py_lower_in};

/// The high bit of every byte.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// `MASK[n]`: the mask of the first `n` bytes of a little-endian 16-byte word (n ≤ 16).
const MASK: [u128; 17] = {
    let mut m = [0u128; 17];
    let mut n = 1;
    while n <= 16 {
        m[n] = u128::MAX >> (128 - 8 * n);
        n += 1;
    }
    m
};

/// The 16 bytes of `text` from `start` (if there are that many).
#[inline(always)]
fn window(text: &[u8], start: usize) -> Option<u128> {
    let w = text.get(start..)?.first_chunk::<16>()?;
    Some(u128::from_le_bytes(*w))
}

/// The [`Key16`] of the word `text[start..end]` lower-cased, if it is ASCII, at most 16 bytes
/// long and followed by enough bytes that one 16-byte load covers it: the load is masked to the
/// word's length, its capitals are lower-cased in the two key words, and the hash is
/// [`Seed::hash16`] of them — what [`Seed::key16`] gives the lower-cased bytes, which is how
/// every other word is keyed ([`lower_key_slow`]).
#[inline(always)]
fn ascii_key(text: &[u8], span: (usize, usize), seed: &Seed) -> Option<Key16> {
    let (w0, w1, n) = fast_words(text, span)?;
    Some(Key16 {
        hash: seed.hash16(w0, w1, n),
        w0,
        w1,
        len: n as u32,
    })
}

/// The [`Key16`] of word `i` of `t` lower-cased as Python's `str.lower()` does
/// ([`ascii_key`] where it applies, else [`lower_key_slow`]), as [`Exact::run`] keys it.
#[inline]
pub(in crate::meteor) fn key_of(t: &Tokens, i: usize, seed: &Seed, buf: &mut String) -> Key16 {
    let (text, spans) = t.raw_parts();
    match spans.get(i).and_then(|&span| ascii_key(text, span, seed)) {
        Some(k) => k,
        None => lower_key_slow(t, i, seed, buf),
    }
}

/// The key of a word over 16 bytes, not ASCII, or too near the end of the token buffer
/// for one 16-byte load.
#[inline(never)]
pub(super) fn lower_key_slow(t: &Tokens, i: usize, seed: &Seed, buf: &mut String) -> Key16 {
    let word = t.get(i).unwrap_or_default();
    seed.key16(py_lower_in(word, buf).as_bytes())
}

/// Whether the words `a_text[a]` and `b_text[b]` (byte ranges) are the same once lower-cased
/// (stage 1's equality): one masked 16-byte load per side for words of at most 16 bytes,
/// whatever their length, equal if their bytes are; if not, ASCII words are compared
/// lower-cased in registers ("The" and "the" at the end of both texts still pair off). Other
/// words only compare equal when their bytes are (`false` is always safe here: the common
/// tail just stops, and the words go through the table).
#[inline(always)]
pub(super) fn same_word(
    a_text: &[u8],
    a: (usize, usize),
    b_text: &[u8],
    b: (usize, usize),
) -> bool {
    let n = a.1.wrapping_sub(a.0);
    if n != b.1.wrapping_sub(b.0) {
        return false;
    }
    match (window(a_text, a.0), window(b_text, b.0), MASK.get(n)) {
        (Some(x), Some(y), Some(&m)) => (x ^ y) & m == 0 || same_ascii_lowered(x & m, y & m),
        _ => match (a_text.get(a.0..a.1), b_text.get(b.0..b.1)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// Whether two masked 16-byte words are both ASCII and equal once lower-cased.
#[inline(never)]
fn same_ascii_lowered(x: u128, y: u128) -> bool {
    let (x0, x1, y0, y1) = (x as u64, (x >> 64) as u64, y as u64, (y >> 64) as u64);
    (x0 | x1 | y0 | y1) & HIGH == 0
        && ascii_lower_word(x0) == ascii_lower_word(y0)
        && ascii_lower_word(x1) == ascii_lower_word(y1)
}

/// Whether word `a` of `ta` and word `b` of `tb` are equal once lower-cased (Python's
/// `str.lower()`); called only for words over 16 bytes whose keys are equal.
#[cold]
pub(super) fn same_lowered(ta: &Tokens, a: usize, tb: &Tokens, b: usize) -> bool {
    let (x, y) = (ta.get(a).unwrap_or_default(), tb.get(b).unwrap_or_default());
    if x.is_ascii() && y.is_ascii() {
        x.eq_ignore_ascii_case(y)
    } else {
        py_lower(x) == py_lower(y)
    }
}

/// The lower-cased words `(w0, w1)` and length of the word `text[start..end]` if it is ASCII,
/// at most 16 bytes long and followed by enough bytes that one 16-byte load covers it.
#[inline(always)]
pub(super) fn fast_words(text: &[u8], (start, end): (usize, usize)) -> Option<(u64, u64, usize)> {
    let n = end.wrapping_sub(start);
    let w = text.get(start..)?.first_chunk::<16>()?;
    let (w0, w1) = lower_ascii16(w, n)?;
    Some((w0, w1, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_word_is_lowered_equality() {
        for n in 1..40usize {
            let a: Vec<u8> = (0..n).map(|k| b'a' + (k % 26) as u8).collect();
            let text = format!(
                "{} {} x",
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&a)
            );
            let t = text.as_bytes();
            // The same word at two places; then the word against itself one byte longer or
            // with any one byte flipped.
            assert!(same_word(t, (0, n), t, (n + 1, 2 * n + 1)));
            assert!(!same_word(t, (0, n), t, (n + 1, 2 * n + 2)));
            for k in 0..n {
                let mut c = text.clone().into_bytes();
                c[n + 1 + k] ^= 1;
                assert!(!same_word(t, (0, n), &c, (n + 1, 2 * n + 1)), "{n} {k}");
            }
            // At the very end of the buffer (no 16-byte window).
            let end = &t[..2 * n + 1];
            assert!(same_word(t, (0, n), end, (n + 1, 2 * n + 1)));
            // Capitals: equal with a 16-byte window (words of at most 16 bytes); a case flip
            // of a byte that is no letter is a different word.
            let padded = format!("{text}{}", " ".repeat(16));
            let mut c = padded.clone().into_bytes();
            c[n + 1] = c[n + 1].to_ascii_uppercase();
            let p = padded.as_bytes();
            assert_eq!(same_word(p, (0, n), &c, (n + 1, 2 * n + 1)), n <= 16, "{n}");
            // Without a window (a shorter word at the end of the buffer), only equal bytes
            // are equal.
            let at_end = same_word(p, (0, n), &c[..2 * n + 1], (n + 1, 2 * n + 1));
            assert_eq!(at_end, n == 16, "{n}");
            for (x, y) in [(b'@', b'`'), (b'[', b'{'), (b'^', b'~')] {
                let mut p = text.clone().into_bytes();
                let mut q = text.clone().into_bytes();
                p[0] = x;
                q[n + 1] = y;
                assert!(!same_word(&p, (0, n), &q, (n + 1, 2 * n + 1)), "{n}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The tail's equality never calls two words equal that `str.lower()` tells apart, and
        /// calls equal every pair of ASCII words of at most 16 bytes that it does not.
        #[test]
        fn same_word_implies_lowered_equality(
            a in prop_oneof!["[a-zA-Z@\\[`{]{1,20}", "[a-zA-Zé]{1,20}", any::<String>()],
            flips in proptest::collection::vec(any::<bool>(), 20),
        ) {
            prop_assume!(!a.is_empty());
            let b: String = a
                .chars()
                .zip(flips.iter().cycle())
                .map(|(c, &f)| if f && c.is_ascii() { (c as u8 ^ 0x20) as char } else { c })
                .collect();
            let text = format!("{a} {b} ");
            let mut padded = text.clone().into_bytes();
            padded.extend_from_slice(&[0; 16]);
            let (x, y) = ((0, a.len()), (a.len() + 1, a.len() + 1 + b.len()));
            for t in [text.as_bytes(), &padded[..]] {
                let same = same_word(t, x, t, y);
                let lowered = py_lower(&a) == py_lower(&b);
                prop_assert!(!same || lowered, "{:?} {:?}", a, b);
                if t.len() > text.len() && a.len() <= 16 && a.is_ascii() && b.is_ascii() {
                    prop_assert_eq!(same, lowered, "{:?} {:?}", a, b);
                }
            }
        }

        /// The in-place key of a word is the exact key of its `str.lower()`, whatever sits
        /// beside it in the token buffer.
        #[test]
        fn lower_key_is_the_key_of_the_lowered_word(
            before in "[a-zA-Z]{0,20}",
            word in prop_oneof!["[a-zA-Z0-9'.,-]{1,24}", "[a-zA-Zé]{1,20}", any::<String>()],
            after in "[a-zA-Z]{0,20}",
        ) {
            let mut t = Tokens::new();
            t.push_literal(&before);
            t.push_literal(&word);
            t.push_literal(&after);
            let i = usize::from(!before.is_empty());
            prop_assume!(!word.is_empty());
            let seed = Seed::default();
            let lowered = py_lower(&word);
            prop_assert_eq!(key_of(&t, i, &seed, &mut String::new()), seed.key16(lowered.as_bytes()));
        }
    }
}
