//! A seeded hash for the short byte strings the metrics intern (tokens: mostly 1–10
//! bytes), cheaper than a general `Hasher` for them.
//!
//! Why not `foldhash` through `BuildHasher::hash_one`: the `Hash` impl of `[u8]` feeds
//! the length and the bytes as separate writes, and the caller still compares the key
//! bytes behind a pointer on every probe. Here a key of at most 8 bytes is loaded once
//! as a zero-padded little-endian word ([`Key::word`]); that word *is* the key (with
//! its length), so a table can compare it inline without touching the key's bytes, and
//! the hash is one folded multiply of it (the mixing step of foldhash / wyhash: the
//! 128-bit product of two 64-bit values, high half XOR low half). Longer keys fold
//! 16 bytes per multiply.
//!
//! The seed is random per [`Seed`] (drawn from `std`'s randomly keyed hasher), so no
//! fixed input forces collisions on every run; the tables built on it also bound their
//! probe sequences by their load factor (≤ ½).

use std::hash::{BuildHasher, RandomState};

/// Two random 64-bit words.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seed([u64; 2]);

impl Default for Seed {
    fn default() -> Self {
        let s = RandomState::new();
        Seed([s.hash_one(0x9e37_79b9_u64) | 1, s.hash_one(0x7f4a_7c15_u64)])
    }
}

/// A hashed key: its hash and its first (up to) 8 bytes as a zero-padded word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) hash: u64,
    /// The key's bytes `0..min(8, len)`, little-endian, zero-padded. For keys of at most
    /// 8 bytes, `(word, len)` equality is key equality.
    pub(crate) word: u64,
}

/// A token's key for exact comparison without reading its bytes again: a key of at most
/// 16 bytes *is* `(w0, w1, len)` (its bytes `0..8` and `8..16`, little-endian, zero-padded);
/// a longer one shares `(w0, w1, len)` with other keys and must be compared byte by byte.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key16 {
    pub(crate) hash: u64,
    pub(crate) w0: u64,
    pub(crate) w1: u64,
    /// The key's length (saturated at `u32::MAX`).
    pub(crate) len: u32,
}

/// `MASK16[n]`: the masks of the first `n` bytes (n ≤ 16) in two little-endian words.
const MASK16: [[u64; 2]; 17] = {
    let mut m = [[0u64; 2]; 17];
    let mut n = 1;
    while n <= 16 {
        m[n] = if n <= 8 {
            [u64::MAX >> (64 - 8 * n), 0]
        } else {
            [u64::MAX, u64::MAX >> (128 - 8 * n)]
        };
        n += 1;
    }
    m
};

#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

#[inline(always)]
fn load8(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn load4(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u64::from(u32::from_le_bytes(w))
}

/// The bytes of a key shorter than 8, zero-padded (overlapping loads, no byte loop).
#[inline(always)]
fn load_short(b: &[u8]) -> u64 {
    let n = b.len();
    if n >= 4 {
        // Two overlapping 4-byte loads; the overlap holds equal bytes in both.
        load4(b, 0) | (load4(b, n - 4) << (8 * (n - 4)))
    } else if n > 0 {
        u64::from(b[0])
            | (u64::from(b[n / 2]) << (8 * (n / 2)))
            | (u64::from(b[n - 1]) << (8 * (n - 1)))
    } else {
        0
    }
}

impl Seed {
    /// Hash of a key of at most 8 bytes from its word and length.
    #[inline(always)]
    fn short(&self, word: u64, n: usize) -> u64 {
        fold_mul(word ^ self.0[0], (n as u64) ^ self.0[1])
    }

    /// Hash and word of `b`.
    #[inline(always)]
    pub(crate) fn key(&self, b: &[u8]) -> Key {
        let n = b.len();
        if n < 8 {
            let word = load_short(b);
            return Key {
                hash: self.short(word, n),
                word,
            };
        }
        let word = load8(b, 0);
        if n == 8 {
            return Key {
                hash: self.short(word, n),
                word,
            };
        }
        self.long(b, word)
    }

    /// [`Self::key`] of `window[..len]`, where `window` holds the key followed by any
    /// bytes: a key of at most 8 bytes with 8 bytes readable is loaded in one go and
    /// masked, with no branch on its length.
    #[inline(always)]
    pub(crate) fn key_in(&self, window: &[u8], len: usize) -> Key {
        if len <= 8 && window.len() >= 8 {
            let mask = ((1u128 << (8 * len)) - 1) as u64;
            let word = load8(window, 0) & mask;
            Key {
                hash: self.short(word, len),
                word,
            }
        } else {
            self.key(window.get(..len).unwrap_or(window))
        }
    }

    /// Keys longer than 8 bytes.
    #[inline(never)]
    fn long(&self, b: &[u8], word: u64) -> Key {
        let n = b.len();
        let [s0, s1] = self.0;
        if n <= 16 {
            return Key {
                hash: fold_mul(word ^ s0, load8(b, n - 8) ^ s1 ^ ((n as u64) << 56)),
                word,
            };
        }
        let mut h = s0 ^ (n as u64);
        let mut at = 0;
        while at + 16 < n {
            h = fold_mul(load8(b, at) ^ h, load8(b, at + 8) ^ s1);
            at += 16;
        }
        h = fold_mul(load8(b, n - 16) ^ h, load8(b, n - 8) ^ s1);
        Key { hash: h, word }
    }

    /// The exact key of `b` ([`Key16`]): its first 16 bytes as two zero-padded words, its
    /// length, and a hash of all of it.
    #[inline(always)]
    pub(crate) fn key16(&self, b: &[u8]) -> Key16 {
        let n = b.len();
        let (w0, w1) = if n < 8 {
            (load_short(b), 0)
        } else if n == 8 {
            (load8(b, 0), 0)
        } else if n < 16 {
            // Bytes 8..n of the key: the last 8 bytes shifted down past the overlap.
            (load8(b, 0), load8(b, n - 8) >> (8 * (16 - n)))
        } else {
            (load8(b, 0), load8(b, 8))
        };
        self.key16_of(b, w0, w1)
    }

    /// [`Self::key16`] of `window[..len]`, where `window` holds the key followed by any
    /// bytes: with 16 bytes readable, a key of at most 16 bytes is two masked loads (the masks
    /// from a table indexed by the length: no branch, no variable shift).
    #[inline(always)]
    pub(crate) fn key16_in(&self, window: &[u8], len: usize) -> Key16 {
        if let (Some(&[m0, m1]), Some(w)) = (MASK16.get(len), window.first_chunk::<16>()) {
            let v = u128::from_le_bytes(*w);
            let w0 = v as u64 & m0;
            let w1 = (v >> 64) as u64 & m1;
            Key16 {
                hash: fold_mul(w0 ^ self.0[0], w1 ^ self.0[1] ^ ((len as u64) << 56)),
                w0,
                w1,
                len: len as u32,
            }
        } else {
            self.key16(window.get(..len).unwrap_or(window))
        }
    }

    /// [`Self::key16`] of `text[start..end]` (empty if that range is not in `text`): with 16
    /// bytes readable from `start` (token lists padded for keys), a key of at most 16 bytes
    /// is two masked loads; three compares decide that, none of them on the token's bytes.
    #[allow(dead_code)] // only `Tokens::key16_only` calls it (unused since ngram8's `keys.rs`)
    #[inline(always)]
    pub(crate) fn key16_span(&self, text: &[u8], start: usize, end: usize) -> Key16 {
        let len = end.wrapping_sub(start);
        let window = text.get(start..).and_then(<[u8]>::first_chunk::<16>);
        if let (Some(&[m0, m1]), Some(w)) = (MASK16.get(len), window) {
            let v = u128::from_le_bytes(*w);
            let w0 = v as u64 & m0;
            let w1 = (v >> 64) as u64 & m1;
            Key16 {
                hash: fold_mul(w0 ^ self.0[0], w1 ^ self.0[1] ^ ((len as u64) << 56)),
                w0,
                w1,
                len: len as u32,
            }
        } else {
            self.key16(text.get(start..end).unwrap_or_default())
        }
    }

    /// [`Self::key16`] of a key of at most 8 bytes whose word ([`Key::word`]) is known.
    #[inline(always)]
    pub(crate) fn key16_short(&self, word: u64, len: usize) -> Key16 {
        Key16 {
            hash: fold_mul(word ^ self.0[0], self.0[1] ^ ((len as u64) << 56)),
            w0: word,
            w1: 0,
            len: len as u32,
        }
    }

    /// The hash [`Self::key16`] gives a key of at most 16 bytes, from its words and length
    /// (to rehash a table that keeps only those).
    #[inline(always)]
    pub(crate) fn hash16(&self, w0: u64, w1: u64, len: usize) -> u64 {
        fold_mul(w0 ^ self.0[0], w1 ^ self.0[1] ^ ((len as u64) << 56))
    }

    #[inline(always)]
    fn key16_of(&self, b: &[u8], w0: u64, w1: u64) -> Key16 {
        let n = b.len();
        let hash = if n <= 16 {
            fold_mul(w0 ^ self.0[0], w1 ^ self.0[1] ^ ((n as u64) << 56))
        } else {
            self.long(b, w0).hash
        };
        Key16 {
            hash,
            w0,
            w1,
            len: u32::try_from(n).unwrap_or(u32::MAX),
        }
    }

    /// Hash of a 64-bit integer key (packed n-gram pairs).
    #[inline(always)]
    pub(crate) fn int(&self, x: u64) -> u64 {
        fold_mul(x ^ self.0[0], self.0[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_is_the_zero_padded_prefix() {
        let seed = Seed::default();
        for n in 0..=20usize {
            let b: Vec<u8> = (0..n as u8).map(|i| b'a' + i).collect();
            let mut w = [0u8; 8];
            let k = n.min(8);
            w[..k].copy_from_slice(&b[..k]);
            assert_eq!(seed.key(&b).word, u64::from_le_bytes(w), "len {n}");
        }
    }

    #[test]
    fn key_in_agrees_with_key() {
        let seed = Seed::default();
        let text =
            b"a bb ccc dddd eeeee ffffff ggggggg hhhhhhhh iiiiiiiii jjjjjjjjjjjjjjjjjjjjjjjjj";
        for start in 0..text.len() {
            for len in 0..=text.len() - start {
                assert_eq!(
                    seed.key_in(&text[start..], len),
                    seed.key(&text[start..start + len]),
                    "{start} {len}"
                );
            }
        }
    }

    #[test]
    fn key16_is_exact_up_to_16_bytes_and_key16_in_agrees() {
        let seed = Seed::default();
        let text: Vec<u8> = (0..64usize).map(|i| b'a' + (i * 7 % 26) as u8).collect();
        for start in 0..40 {
            for len in 0..=24usize {
                let b = &text[start..start + len];
                let k = seed.key16(b);
                let mut w = [0u8; 16];
                let m = len.min(16);
                w[..m].copy_from_slice(&b[..m]);
                let w0 = u64::from_le_bytes(w[..8].try_into().unwrap_or_default());
                let w1 = u64::from_le_bytes(w[8..].try_into().unwrap_or_default());
                assert_eq!((k.w0, k.w1, k.len as usize), (w0, w1, len), "{start} {len}");
                assert_eq!(seed.key16_in(&text[start..], len), k, "{start} {len}");
                if len <= 8 {
                    assert_eq!(seed.key16_short(seed.key(b).word, len), k);
                }
                assert_eq!(seed.key16_span(&text, start, start + len), k);
                if len <= 16 {
                    assert_eq!(seed.hash16(k.w0, k.w1, len), k.hash);
                }
            }
        }
    }

    #[test]
    fn equal_keys_hash_equal_and_distinct_keys_differ() {
        let seed = Seed::default();
        let words: Vec<Vec<u8>> = (0..40usize)
            .flat_map(|n| {
                [
                    vec![b'x'; n],
                    (0..n).map(|i| b'a' + (i % 7) as u8).collect::<Vec<u8>>(),
                ]
            })
            .collect();
        let mut seen = std::collections::HashMap::new();
        for w in &words {
            let k = seed.key(w);
            assert_eq!(k, seed.key(&w.clone()));
            if let Some(prev) = seen.insert(k.hash, w.clone()) {
                assert_eq!(&prev, w, "hash collision in a tiny set");
            }
        }
    }
}
