//! How the streaming path (`stream.rs`) reads a token list: a [`Cursor`] over it, taken once
//! per call, that hands out each short token's exact key as two words.
//!
//! A token of at most [`SHORT`] bytes *is* its key `[w0, w1]`: its bytes `0..8` and `8..15`,
//! little-endian and zero-padded, with the length in the top byte of `w1` (byte 15, which such
//! a token does not have). Longer tokens get `0xFF` there ([`key_of`]), so no long key equals a
//! short one, and long keys that agree are told apart by their bytes. The length in the key
//! lets a table slot hold just the two words; and [`Seed::hash16`] of the words with length 0
//! is the hash `fasthash` gives the token (the length goes to the same top byte there).
//!
//! The cursor of a [`Tokens`] list reads the spans and the text buffer as local slices (no
//! per-token trip through the list's fields) and loads a short token's 16-byte window in one
//! go when the buffer has 16 bytes from its start (cached lists are padded for that,
//! `Tokens::pad_for_keys`); a token it cannot key that way comes back as `None` and takes the
//! table's probing path, which keys it from its bytes ([`key_of`]).

use crate::fasthash::Seed;
use crate::tokenize::Tokens;

/// Longest token keyed by its words alone.
pub(super) const SHORT: usize = 15;

/// Top byte of `w1` for tokens longer than [`SHORT`] (a short token's holds its length).
const LONG: u64 = 0xFF << 56;

/// `MASK15[n]` for a token of `n ≤ 15` bytes: the masks of its bytes in the two little-endian
/// words, and the length as it goes into the top byte of the second (ORed in from the table:
/// one instruction fewer per token than shifting it there; four words, so that the index is
/// one shift).
const MASK15: [[u64; 4]; SHORT + 1] = {
    let mut m = [[0u64; 4]; SHORT + 1];
    let mut n = 1;
    while n <= SHORT {
        m[n] = if n <= 8 {
            [u64::MAX >> (64 - 8 * n), 0, (n as u64) << 56, 0]
        } else {
            [u64::MAX, u64::MAX >> (128 - 8 * n), (n as u64) << 56, 0]
        };
        n += 1;
    }
    m
};

/// A token list the streaming path reads (the NLTK token lists and plain lists of strings).
pub(crate) trait Keyed {
    type Cursor<'a>: Cursor
    where
        Self: 'a;
    fn cursor(&self) -> Self::Cursor<'_>;
}

/// Indexed access to a token list for one call (see the module docs).
pub(crate) trait Cursor {
    /// Number of tokens.
    fn len(&self) -> usize;
    /// The key of token `j` if it is short and can be read in one go; `None` otherwise (the
    /// caller then keys it with [`key_of`] from [`Self::bytes`]).
    fn key(&self, j: usize) -> Option<[u64; 2]>;
    /// The bytes of token `j` (empty past the end).
    fn bytes(&self, j: usize) -> &[u8];
}

/// The key of a token from its bytes (`[w0, w1]`, see the module docs) and its hash: for a
/// short token, the hash its words give ([`hash`]); for a long one, a hash of all its bytes.
#[inline]
pub(super) fn key_of(seed: &Seed, b: &[u8]) -> ([u64; 2], u64) {
    let mut w = [0u8; 16];
    let n = b.len().min(16);
    w[..n].copy_from_slice(&b[..n]);
    let v = u128::from_le_bytes(w);
    if b.len() <= SHORT {
        let key = [v as u64, (v >> 64) as u64 | ((b.len() as u64) << 56)];
        (key, hash(seed, key))
    } else {
        let key = [v as u64, ((v >> 64) as u64 & !LONG) | LONG];
        (key, seed.key16(b).hash)
    }
}

/// Hash of a short token's key.
#[inline(always)]
pub(super) fn hash(seed: &Seed, key: [u64; 2]) -> u64 {
    seed.hash16(key[0], key[1], 0)
}

/// Whether a key is that of a long token (its bytes decide equality).
#[inline]
pub(super) fn is_long(key: [u64; 2]) -> bool {
    key[1] & LONG == LONG
}

/// Cursor of a [`Tokens`] list.
#[derive(Debug)]
pub(crate) struct SpanCursor<'a> {
    text: &'a [u8],
    spans: &'a [(usize, usize)],
    /// Positions below this one have 16 bytes of `text` from them.
    window_starts: usize,
}

impl Cursor for SpanCursor<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.spans.len()
    }

    #[inline(always)]
    fn key(&self, j: usize) -> Option<[u64; 2]> {
        let &(start, end) = self.spans.get(j)?;
        let len = end.wrapping_sub(start);
        let [m0, m1, length, _] = *MASK15.get(len)?;
        if start >= self.window_starts {
            // Fewer than 16 bytes from its start (a list not padded for keys): from its bytes.
            return short_key_cold(self.bytes(j));
        }
        #[allow(unsafe_code)]
        // SAFETY: `start < window_starts = text.len() − 15` (and `text.len() ≥ 16`, else no
        // start passes), so `start + 16 ≤ text.len()`: the 16 bytes read are in `text`, and
        // `read_unaligned` has no alignment requirement. One compare per token instead of the
        // two of a checked slice (the compiler did not derive the second from the first).
        // Exercised by `tests::keys_agree_across_cursors_and_from_bytes` at every window end.
        let v = unsafe {
            self.text
                .as_ptr()
                .add(start)
                .cast::<[u8; 16]>()
                .read_unaligned()
        };
        let v = u128::from_le_bytes(v);
        Some([v as u64 & m0, ((v >> 64) as u64 & m1) | length])
    }

    #[inline]
    fn bytes(&self, j: usize) -> &[u8] {
        self.spans
            .get(j)
            .and_then(|&(start, end)| self.text.get(start..end))
            .unwrap_or_default()
    }
}

impl Keyed for Tokens {
    type Cursor<'a> = SpanCursor<'a>;

    #[inline(always)]
    fn cursor(&self) -> SpanCursor<'_> {
        let (text, spans) = self.raw_parts();
        SpanCursor {
            text,
            spans,
            window_starts: text.len().saturating_sub(15),
        }
    }
}

/// Cursor of a list of strings (the public `*_tokens` functions, tests).
#[derive(Debug)]
pub(crate) struct ListCursor<'a, S>(&'a [S]);

/// [`short_key`] out of line: the rare case of a span cursor (a token near the end of a list
/// not padded for keys).
#[cold]
#[inline(never)]
fn short_key_cold(b: &[u8]) -> Option<[u64; 2]> {
    short_key(b)
}

/// The key of a short token from its bytes (`None` for a long one).
#[inline]
fn short_key(b: &[u8]) -> Option<[u64; 2]> {
    let n = b.len();
    // Overlapping loads, no `memcpy` call (a call per token costs more than the rest).
    let word = |at: usize| {
        b.get(at..at + 8)
            .and_then(|w| w.first_chunk::<8>())
            .map_or(0, |w| u64::from_le_bytes(*w))
    };
    let (w0, w1) = match n {
        0 => (0, 0),
        1..=7 => {
            let half = |at: usize| {
                b.get(at..at + 4)
                    .and_then(|w| w.first_chunk::<4>())
                    .map_or(0, |w| u64::from(u32::from_le_bytes(*w)))
            };
            let lo = if n >= 4 {
                half(0) | (half(n - 4) << (8 * (n - 4)))
            } else {
                u64::from(b[0])
                    | (u64::from(b[n / 2]) << (8 * (n / 2)))
                    | (u64::from(b[n - 1]) << (8 * (n - 1)))
            };
            (lo, 0)
        }
        8 => (word(0), 0),
        // Bytes 8..n: the last eight shifted down past the overlap.
        9..=SHORT => (word(0), word(n - 8) >> (8 * (16 - n))),
        _ => return None,
    };
    Some([w0, w1 | ((n as u64) << 56)])
}

impl<S: AsRef<str>> Cursor for ListCursor<'_, S> {
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }

    #[inline]
    fn key(&self, j: usize) -> Option<[u64; 2]> {
        short_key(self.bytes(j))
    }

    #[inline]
    fn bytes(&self, j: usize) -> &[u8] {
        self.0.get(j).map_or(&[], |s| s.as_ref().as_bytes())
    }
}

impl<S: AsRef<str>> Keyed for [S] {
    type Cursor<'a>
        = ListCursor<'a, S>
    where
        S: 'a;

    #[inline]
    fn cursor(&self) -> ListCursor<'_, S> {
        ListCursor(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_agree_across_cursors_and_from_bytes() {
        // Every token of 0..=24 bytes at every offset of a padded and an unpadded list: the
        // span cursor's key (when it gives one), the list cursor's and `key_of`'s agree; short
        // keys hold the token's bytes and length; long keys are marked long.
        let seed = Seed::default();
        let alphabet: Vec<u8> = (0..40u8)
            .map(|i| [b'a' + i % 26, 0, 0x0F][usize::from(i % 7 / 3)])
            .collect();
        // (Tokens lists hold no empty token.)
        for len in 1..=24usize {
            for at in 0..8usize {
                let words: Vec<String> = (0..3)
                    .map(|k| {
                        let s: Vec<u8> = (0..len)
                            .map(|i| alphabet[(at + k + i * 3) % alphabet.len()])
                            .collect();
                        String::from_utf8(s).unwrap_or_default()
                    })
                    .collect();
                let mut t = Tokens::new();
                for w in &words {
                    t.push_literal(w);
                }
                let mut padded = t.clone();
                padded.pad_for_keys();
                for (k, w) in words.iter().enumerate() {
                    let b = w.as_bytes();
                    let (key, h) = key_of(&seed, b);
                    assert_eq!(is_long(key), b.len() > SHORT);
                    let list = ListCursor(&words[..]);
                    if b.len() <= SHORT {
                        let mut bytes = [0u8; 16];
                        bytes[..b.len()].copy_from_slice(b);
                        bytes[15] = b.len() as u8;
                        assert_eq!(
                            key,
                            [
                                u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default()),
                                u64::from_le_bytes(bytes[8..].try_into().unwrap_or_default())
                            ]
                        );
                        assert_eq!(h, hash(&seed, key));
                        assert_eq!(h, seed.key16(b).hash);
                        assert_eq!(list.key(k), Some(key));
                        assert_eq!(padded.cursor().key(k), Some(key));
                        if let Some(k2) = t.cursor().key(k) {
                            assert_eq!(k2, key);
                        }
                    } else {
                        assert_eq!(list.key(k), None);
                        assert_eq!(padded.cursor().key(k), None);
                        assert_eq!(h, seed.key16(b).hash);
                    }
                    assert_eq!(padded.cursor().bytes(k), b);
                    assert_eq!(list.bytes(k), b);
                }
            }
        }
    }
}
