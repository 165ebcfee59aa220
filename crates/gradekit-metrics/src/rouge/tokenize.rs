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
    /// Tokenises `text` (replacing any previous content).
    pub(crate) fn from_text(text: &str) -> Self {
        let mut t = Tokens::default();
        t.fill(text);
        t
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

    fn fill(&mut self, text: &str) {
        self.buf.clear();
        self.ends.clear();
        let bytes = text.as_bytes();
        let mut in_token = false;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            let mapped = match b {
                b'a'..=b'z' | b'0'..=b'9' => Some(b),
                b'A'..=b'Z' => Some(b | 0x20),
                // U+0130 (C4 B0) lowercases to "i" + U+0307: "i" ends the token.
                0xC4 if bytes.get(i) == Some(&0xB0) => {
                    i += 1;
                    self.buf.push(b'i');
                    self.ends.push(self.buf.len());
                    in_token = false;
                    continue;
                }
                // U+212A KELVIN SIGN (E2 84 AA) lowercases to "k".
                0xE2 if bytes.get(i..i + 2) == Some(&[0x84, 0xAA]) => {
                    i += 2;
                    Some(b'k')
                }
                _ => None,
            };
            match mapped {
                Some(c) => {
                    self.buf.push(c);
                    in_token = true;
                }
                None if in_token => {
                    self.ends.push(self.buf.len());
                    in_token = false;
                }
                None => {}
            }
        }
        if in_token {
            self.ends.push(self.buf.len());
        }
    }
}

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
