//! [`Tokens`]: a token list stored in one string, so tokenizing allocates nothing per
//! token (a `Vec<String>` costs one allocation and one free per token, which for short
//! texts is a large share of the whole tokenizer's time).

/// The tokens of one text, in order: one text buffer plus the byte range of each token.
///
/// Reuse one `Tokens` across calls of [`super::nltk_tokenize_into`] to avoid allocating
/// at all once its buffers have grown.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    /// Token bytes, possibly with separators between them.
    text: String,
    spans: Vec<(usize, usize)>,
}

impl PartialEq for Tokens {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Tokens {}

impl Tokens {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes every token, keeping the buffers.
    pub fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when there is no token.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The `i`-th token.
    pub fn get(&self, i: usize) -> Option<&str> {
        let &(start, end) = self.spans.get(i)?;
        self.text.get(start..end)
    }

    /// The text buffer and each token's byte range in it, for readers that load a token's
    /// bytes together with the bytes after it (meteor keys a word by one 16-byte load).
    #[inline(always)]
    pub(crate) fn raw_parts(&self) -> (&[u8], &[(usize, usize)]) {
        (self.text.as_bytes(), &self.spans)
    }

    /// The bytes of the `i`-th token (empty when out of range).
    #[inline]
    pub(crate) fn bytes_at(&self, i: usize) -> &[u8] {
        match self.spans.get(i) {
            Some(&(start, end)) => self.text.as_bytes().get(start..end).unwrap_or_default(),
            None => &[],
        }
    }

    /// The tokens in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.spans
            .iter()
            .map(|&(start, end)| self.text.get(start..end).unwrap_or(""))
    }

    /// The tokens as borrowed slices (one allocation).
    pub fn to_vec(&self) -> Vec<&str> {
        self.iter().collect()
    }

    /// The tokens as owned strings.
    pub fn to_strings(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    /// Appends 16 bytes after the last token's bytes (no token): every token then has 16
    /// bytes readable from its start, so its n-gram key (`fasthash::Key16`) is two masked
    /// loads with no branch on where the token lies (the cached token lists of bleu and gleu,
    /// `with_nltk_tokens`). Appending tokens later is still allowed.
    #[inline]
    pub(crate) fn pad_for_keys(&mut self) {
        self.text.push_str("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    }

    /// The current length of both buffers, to undo appends with [`Self::reset_to`].
    #[inline]
    pub(crate) fn mark(&self) -> (usize, usize) {
        (self.text.len(), self.spans.len())
    }

    /// Drops everything appended since `mark` was taken.
    #[inline]
    pub(crate) fn reset_to(&mut self, mark: (usize, usize)) {
        self.text.truncate(mark.0);
        self.spans.truncate(mark.1);
    }

    /// Appends `source` to the text buffer without recording a token and returns where it
    /// starts: tokens that are substrings of it are then recorded with [`Self::push_span`].
    #[inline]
    pub(crate) fn push_source(&mut self, source: &str) -> usize {
        let base = self.text.len();
        self.text.push_str(source);
        base
    }

    /// Records the token `text[start..end]` (a range of text appended before; an empty or
    /// inverted range records nothing).
    #[inline]
    pub(crate) fn push_span(&mut self, start: usize, end: usize) {
        if start < end {
            self.spans.push((start, end));
        }
    }

    /// Records one token per set bit of `ends`: the `k`-th token is `text[at + (k-th set bit
    /// of starts) .. at + (k-th set bit of ends) + 1]` (the word runs of a 64-byte window,
    /// `fused.rs`; `starts` holds at least as many bits as `ends`, each below its end). One
    /// reservation for all of them, no check per token.
    #[inline(always)]
    pub(crate) fn push_runs(&mut self, at: usize, mut starts: u64, mut ends: u64) {
        let count = ends.count_ones() as usize;
        self.spans.extend((0..count).map(|_| {
            let a = at + starts.trailing_zeros() as usize;
            let b = at + ends.trailing_zeros() as usize + 1;
            starts &= starts.wrapping_sub(1);
            ends &= ends.wrapping_sub(1);
            (a, b)
        }));
    }

    /// Appends the token `literal` (a replacement text, not a range of the source).
    #[inline]
    pub(crate) fn push_literal(&mut self, literal: &str) {
        let start = self.text.len();
        self.text.push_str(literal);
        self.push_span(start, self.text.len());
    }

    /// Start of a token built piecewise with [`Self::push_char`] and [`Self::close`].
    pub(crate) fn open(&self) -> usize {
        self.text.len()
    }

    pub(crate) fn push_char(&mut self, ch: char) {
        self.text.push(ch);
    }

    /// Ends the token opened at `start`; nothing is recorded if it is empty.
    pub(crate) fn close(&mut self, start: usize) {
        if self.text.len() > start {
            self.spans.push((start, self.text.len()));
        }
    }

    /// Appends the space-separated words of `buf` (which holds ASCII on the
    /// `word_tokenize` path; anything else is converted lossily rather than dropped).
    /// The buffer is copied once, separators included, and only the ranges recorded.
    pub(crate) fn push_space_separated(&mut self, buf: &[u8]) {
        let base = self.text.len();
        match std::str::from_utf8(buf) {
            Ok(s) => self.text.push_str(s),
            Err(_) => self.text.push_str(&String::from_utf8_lossy(buf)),
        }
        // Token starts and ends are read off eight bytes at a time (bit 7 of each byte
        // flags a space, the padding past the end counts as space), instead of a
        // branch per byte; a token's end is filled in when its terminating space is
        // found (tokens close in the order they open).
        let bytes = &self.text.as_bytes()[base..];
        let n = bytes.len();
        let mut pending = self.spans.len();
        let mut open = false;
        let mut at = 0;
        while at < n {
            let keep = !super::scan::eq_mask(super::scan::word_at(bytes, at, b' '), b' ')
                & 0x8080_8080_8080_8080;
            let prev = (keep << 8) | (u64::from(open) << 7);
            let mut starts = keep & !prev;
            while starts != 0 {
                let i = base + at + (starts.trailing_zeros() / 8) as usize;
                self.spans.push((i, i));
                starts &= starts - 1;
            }
            let mut ends = !keep & prev & 0x8080_8080_8080_8080;
            while ends != 0 {
                if let Some(span) = self.spans.get_mut(pending) {
                    span.1 = base + at + (ends.trailing_zeros() / 8) as usize;
                }
                pending += 1;
                ends &= ends - 1;
            }
            open = keep >> 63 != 0;
            at += 8;
        }
        if open {
            if let Some(span) = self.spans.get_mut(pending) {
                span.1 = base + n;
            }
        }
    }
}

impl crate::ngram::TokenSeq for Tokens {
    #[inline]
    fn count(&self) -> usize {
        self.len()
    }
    #[inline]
    fn bytes(&self, k: usize) -> &[u8] {
        self.bytes_at(k)
    }
    #[inline(always)]
    fn keyed(&self, k: usize, seed: &crate::fasthash::Seed) -> (crate::fasthash::Key, &[u8]) {
        let text = self.text.as_bytes();
        match self.spans.get(k) {
            Some(&(start, end)) if start <= end && end <= text.len() => {
                (seed.key_in(&text[start..], end - start), &text[start..end])
            }
            _ => (seed.key(&[]), &[]),
        }
    }
    #[inline(always)]
    fn key16_only(&self, k: usize, seed: &crate::fasthash::Seed) -> crate::fasthash::Key16 {
        match self.spans.get(k) {
            Some(&(start, end)) => seed.key16_span(self.text.as_bytes(), start, end),
            None => seed.key16(&[]),
        }
    }
    #[inline(always)]
    fn key16(&self, k: usize, seed: &crate::fasthash::Seed) -> (crate::fasthash::Key16, &[u8]) {
        let text = self.text.as_bytes();
        match self.spans.get(k) {
            Some(&(start, end)) if start <= end && end <= text.len() => (
                seed.key16_in(&text[start..], end - start),
                &text[start..end],
            ),
            _ => (seed.key16(&[]), &[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_equality() {
        let mut a = Tokens::new();
        a.push_space_separated(b"  ab c  d ");
        let start = a.open();
        a.push_char('e');
        a.close(start);
        let empty = a.open();
        a.close(empty);
        assert_eq!(a.to_vec(), ["ab", "c", "d", "e"]);
        assert_eq!(a.get(1), Some("c"));
        assert_eq!(a.get(4), None);
        let mut b = Tokens::new();
        b.push_space_separated("ab c".as_bytes());
        b.push_space_separated(b"d e");
        assert_eq!(a, b);
        a.clear();
        assert!(a.is_empty());
    }
}
