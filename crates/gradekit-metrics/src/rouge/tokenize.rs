//! rouge-score 0.1.2's default tokenizer without stemming
//! (`rouge_score/tokenize.py`): `text.lower()`, every run of characters
//! outside `[a-z0-9]` becomes a space, split, drop empty tokens.
//!
//! The result is exactly the maximal runs of `[a-z0-9]` in the lowercased
//! text, so we scan UTF-8 bytes once without building the lowercased string.
//! Python's full lowercase mapping sends exactly two non-ASCII code points to
//! ASCII letters or digits (checked exhaustively over all code points with
//! CPython 3.11): U+0130 "İ" → "i" + U+0307 (the combining dot then ends the
//! token) and U+212A KELVIN SIGN → "k". Every other non-ASCII character
//! lowercases to non-ASCII and therefore separates tokens.
//!
//! Fast path (texts without those two code points, i.e. nearly all): eight
//! bytes at a time (SWAR), the `[A-Za-z0-9]` bytes are flagged by carry-free
//! range tests, letters lowercased by OR-ing 0x20, the whole chunk copied, and
//! token starts/ends read off the flag transitions — tokens are then ranges
//! of a lowercased copy of the text. The scalar path handles everything else
//! and packs tokens back to back.

/// Tokens of one text: ranges into one buffer (no per-token allocation).
#[derive(Debug, Default, Clone)]
pub(crate) struct Tokens {
    buf: Vec<u8>,
    /// Start / end offsets in `buf` of each token.
    starts: Vec<usize>,
    ends: Vec<usize>,
}

impl Tokens {
    /// Tokenises `text` into a new buffer.
    pub(crate) fn from_text(text: &str) -> Self {
        let mut t = Tokens::default();
        t.fill(text);
        t
    }

    /// Bytes of buffer held (for deciding whether to keep it).
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
            + (self.starts.capacity() + self.ends.capacity()) * std::mem::size_of::<usize>()
    }

    /// Number of tokens.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The tokens, in order, as ASCII bytes.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        (0..self.len()).map(move |k| self.get(k))
    }

    /// The `k`-th token (empty if out of range).
    #[inline]
    pub(crate) fn get(&self, k: usize) -> &[u8] {
        match (self.starts.get(k), self.ends.get(k)) {
            (Some(&s), Some(&e)) => self.buf.get(s..e).unwrap_or_default(),
            _ => &[],
        }
    }

    /// Tokenises `text` into `self`, replacing any previous content.
    pub(crate) fn fill(&mut self, text: &str) {
        if !self.fill_fast(text.as_bytes()) {
            self.fill_scalar(text);
        }
    }

    /// SWAR fast path; returns false (leaving garbage) when the text holds
    /// U+0130 or U+212A, which need the scalar path.
    fn fill_fast(&mut self, bytes: &[u8]) -> bool {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        /// Flags (0x80 per byte) the bytes of `x` (all < 0x80) in `lo..=hi`.
        #[inline(always)]
        fn in_range(x: u64, lo: u8, hi: u8) -> u64 {
            (x.wrapping_add(ONES * u64::from(0x80 - lo))
                & !x.wrapping_add(ONES * u64::from(0x7F - hi)))
                & HIGH
        }
        self.buf.clear();
        self.buf.reserve(bytes.len() + 8);
        self.starts.clear();
        self.ends.clear();
        let mut in_token = false;
        let mut base = 0usize;
        while base < bytes.len() {
            let chunk = bytes.get(base..base + 8).unwrap_or(&bytes[base..]);
            let mut word = [0u8; 8];
            match <[u8; 8]>::try_from(chunk) {
                // A fixed-size copy (a variable-length one is a `memcpy` call).
                Ok(full) => word = full,
                Err(_) => word[..chunk.len()].copy_from_slice(chunk),
            }
            let x = u64::from_le_bytes(word);
            if x & HIGH != 0 && has_special(bytes, base, chunk.len()) {
                return false;
            }
            let ascii = !x & HIGH;
            let x7 = x & !HIGH;
            let alpha = in_range(x7 | (ONES * 0x20), b'a', b'z') & ascii;
            let keep = (alpha | in_range(x7, b'0', b'9')) & ascii;
            self.buf
                .extend_from_slice(&(x | (alpha >> 2)).to_le_bytes());
            // Bit 7 of byte i of `prev` = byte i − 1 kept (carried across chunks).
            let prev = (keep << 8) | (u64::from(in_token) << 7);
            let mut starts = keep & !prev;
            while starts != 0 {
                self.starts
                    .push(base + (starts.trailing_zeros() / 8) as usize);
                starts &= starts - 1;
            }
            // Padding bytes are zero (not kept), so a token running into the
            // end of the text ends at `bytes.len()` here.
            let mut ends = !keep & prev & HIGH;
            while ends != 0 {
                self.ends.push(base + (ends.trailing_zeros() / 8) as usize);
                ends &= ends - 1;
            }
            in_token = keep >> 63 != 0;
            base += 8;
        }
        if in_token {
            self.ends.push(bytes.len());
        }
        true
    }

    /// Scalar tokenizer for any text (the fast path falls back to it when
    /// U+0130 or U+212A occurs). Branch-light: every byte is written through the [`MAP`] table and the
    /// write position advances only for kept bytes; a token end is recorded
    /// on each kept → separator transition. Only the lead bytes of the two
    /// special code points take a branch.
    fn fill_scalar(&mut self, text: &str) {
        let bytes = text.as_bytes();
        // Output never exceeds the input: one byte per kept byte, "i" for the
        // two bytes of U+0130, "k" for the three of U+212A. Every token but
        // the last is followed by at least one byte that is not part of it
        // (a separator byte, or the second byte of U+0130), so there are at
        // most len/2 + 1 tokens.
        self.buf.clear();
        self.buf.resize(bytes.len(), 0);
        self.ends.clear();
        self.ends.resize(bytes.len() / 2 + 2, 0);
        let (mut w, mut e) = (0usize, 0usize);
        let mut prev_kept = false;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let m = MAP[b as usize];
            if m == SPECIAL {
                if b == 0xC4 && bytes.get(i + 1) == Some(&0xB0) {
                    // U+0130 lowercases to "i" + U+0307: "i" ends the token.
                    if let Some(x) = self.buf.get_mut(w) {
                        *x = b'i';
                    }
                    w += 1;
                    if let Some(x) = self.ends.get_mut(e) {
                        *x = w;
                    }
                    e += 1;
                    prev_kept = false;
                    i += 2;
                    continue;
                }
                if b == 0xE2 && bytes.get(i + 1..i + 3) == Some(&[0x84, 0xAA]) {
                    // U+212A KELVIN SIGN lowercases to "k".
                    if let Some(x) = self.buf.get_mut(w) {
                        *x = b'k';
                    }
                    w += 1;
                    prev_kept = true;
                    i += 3;
                    continue;
                }
            }
            // Kept bytes map to ASCII (positive as i8); 0 and SPECIAL do not.
            let kept = (m as i8) > 0;
            if let Some(x) = self.buf.get_mut(w) {
                *x = m;
            }
            w += usize::from(kept);
            if let Some(x) = self.ends.get_mut(e) {
                *x = w;
            }
            e += usize::from(prev_kept & !kept);
            prev_kept = kept;
            i += 1;
        }
        if prev_kept {
            if let Some(x) = self.ends.get_mut(e) {
                *x = w;
            }
            e += 1;
        }
        self.buf.truncate(w);
        self.ends.truncate(e);
        // Tokens are back to back: each starts where the previous ended.
        self.starts.clear();
        self.starts.push(0);
        self.starts.extend_from_slice(&self.ends);
        self.starts.truncate(self.ends.len());
    }
}

impl crate::ngram::TokenSeq for Tokens {
    #[inline]
    fn count(&self) -> usize {
        self.len()
    }
    #[inline]
    fn bytes(&self, k: usize) -> &[u8] {
        self.get(k)
    }
    #[inline(always)]
    fn keyed(&self, k: usize, seed: &crate::fasthash::Seed) -> (crate::fasthash::Key, &[u8]) {
        match (self.starts.get(k), self.ends.get(k)) {
            (Some(&s), Some(&e)) if s <= e && e <= self.buf.len() => {
                (seed.key_in(&self.buf[s..], e - s), &self.buf[s..e])
            }
            _ => (seed.key(&[]), &[]),
        }
    }
}

/// Whether U+0130 (C4 B0) or U+212A (E2 84 AA) starts within
/// `bytes[base..base + len]`.
#[cold]
fn has_special(bytes: &[u8], base: usize, len: usize) -> bool {
    (base..base + len).any(|i| match bytes.get(i) {
        Some(0xC4) => bytes.get(i + 1) == Some(&0xB0),
        Some(0xE2) => bytes.get(i + 1..i + 3) == Some(&[0x84, 0xAA]),
        _ => false,
    })
}

/// Whether `bytes` holds U+0130 (C4 B0) or U+212A (E2 84 AA) anywhere.
///
/// Eight bytes at a time, a zero-byte test on the word XOR-ed with each lead byte finds the
/// chunks that may hold one (a test that may flag a chunk wrongly, never miss one); only those
/// are checked byte-wise. Curly quotes and dashes (E2 80 xx) still reach the byte-wise check,
/// other non-ASCII text mostly does not.
pub(super) fn has_special_in(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    #[inline(always)]
    fn may_hold_lead(x: u64) -> bool {
        let a = x ^ (ONES * 0xC4);
        let e = x ^ (ONES * 0xE2);
        ((a.wrapping_sub(ONES) & !a) | (e.wrapping_sub(ONES) & !e)) & HIGH != 0
    }
    let (chunks, rest) = bytes.as_chunks::<8>();
    for (k, c) in chunks.iter().enumerate() {
        if may_hold_lead(u64::from_le_bytes(*c)) && has_special(bytes, k * 8, 8) {
            return true;
        }
    }
    has_special(bytes, chunks.len() * 8, rest.len())
}

/// Table value of the lead bytes of U+0130 and U+212A.
const SPECIAL: u8 = 0xFF;

/// Per byte: its lowercase if in `[A-Za-z0-9]`, [`SPECIAL`] for the lead
/// bytes 0xC4 / 0xE2, 0 (separator) otherwise.
static MAP: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b as u8 {
            c @ (b'a'..=b'z' | b'0'..=b'9') => c,
            c @ b'A'..=b'Z' => c | 0x20,
            0xC4 | 0xE2 => SPECIAL,
            _ => 0,
        };
        b += 1;
    }
    t
};

/// rouge-score's tokens of `text` (no stemming), for inspection and tests.
pub fn tokenize(text: &str) -> Vec<String> {
    Tokens::from_text(text)
        .iter()
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_special_in_equals_a_byte_scan() {
        let naive = |b: &[u8]| {
            b.windows(2).any(|w| w == [0xC4, 0xB0]) || b.windows(3).any(|w| w == [0xE2, 0x84, 0xAA])
        };
        let alphabet = [0xC4u8, 0xB0, 0xE2, 0x84, 0xAA, b'a', b' ', 0x80, 0xC3];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for round in 0..20_000 {
            let len = round % 40;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            assert_eq!(has_special_in(&text), naive(&text), "{text:x?}");
        }
    }

    #[test]
    fn python_lowercase_corners() {
        // Expected tokens from rouge_score.tokenize.tokenize(text, None).
        assert_eq!(tokenize("İstanbul"), ["i", "stanbul"]);
        assert_eq!(tokenize("KİM"), ["ki", "m"]);
        assert_eq!(tokenize("5\u{212A}elvin"), ["5kelvin"]);
        assert_eq!(
            tokenize("café au-lait 3.14"),
            ["caf", "au", "lait", "3", "14"]
        );
        assert_eq!(tokenize("東京 Ωmega ǅ x"), ["mega", "x"]);
        assert!(tokenize("").is_empty());
        assert!(tokenize("  !!! ... ").is_empty());
        assert_eq!(tokenize("Don't STOP_now"), ["don", "t", "stop", "now"]);
    }
}
