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

/// Tokens stored back to back in one buffer (no per-token allocation).
#[derive(Debug, Default, Clone)]
pub(crate) struct Tokens {
    buf: Vec<u8>,
    /// End offset in `buf` of each token; token `k` starts at `ends[k - 1]`.
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
        self.buf.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }

    /// Number of tokens.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The tokens, in order, as ASCII bytes.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        let buf = &self.buf;
        self.ends.iter().enumerate().map(move |(k, &end)| {
            let start = if k == 0 { 0 } else { self.ends[k - 1] };
            &buf[start..end]
        })
    }

    /// The `k`-th token (empty if out of range).
    #[inline]
    pub(crate) fn get(&self, k: usize) -> &[u8] {
        let start = if k == 0 {
            0
        } else {
            self.ends.get(k - 1).copied().unwrap_or(0)
        };
        let end = self.ends.get(k).copied().unwrap_or(start);
        self.buf.get(start..end).unwrap_or_default()
    }

    /// Tokenises `text` into `self`, replacing any previous content.
    ///
    /// Branch-light: every byte is written through the [`MAP`] table and the
    /// write position advances only for kept bytes; a token end is recorded
    /// on each kept → separator transition. Only the lead bytes of the two
    /// special code points take a branch.
    pub(crate) fn fill(&mut self, text: &str) {
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
    }
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
