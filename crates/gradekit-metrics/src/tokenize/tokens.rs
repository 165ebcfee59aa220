//! [`Tokens`]: a token list stored in one string, so tokenizing allocates nothing per
//! token (a `Vec<String>` costs one allocation and one free per token, which for short
//! texts is a large share of the whole tokenizer's time).

/// The tokens of one text, in order, stored back to back in one buffer.
///
/// Reuse one `Tokens` across calls of [`super::nltk_tokenize_into`] to avoid allocating
/// at all once its buffers have grown.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tokens {
    text: String,
    ends: Vec<usize>,
}

impl Tokens {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes every token, keeping the buffers.
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there is no token.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`-th token.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    /// The tokens in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let tok = self.text.get(start..end).unwrap_or("");
            start = end;
            tok
        })
    }

    /// The tokens as borrowed slices (one allocation).
    pub fn to_vec(&self) -> Vec<&str> {
        self.iter().collect()
    }

    /// The tokens as owned strings.
    pub fn to_strings(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    /// Appends one token (callers never pass an empty one).
    pub(crate) fn push(&mut self, tok: &str) {
        self.text.push_str(tok);
        self.ends.push(self.text.len());
    }

    /// Appends the space-separated words of `buf` (which holds ASCII on the
    /// `word_tokenize` path; anything else is converted lossily rather than dropped).
    pub(crate) fn push_space_separated(&mut self, buf: &[u8]) {
        let s = match std::str::from_utf8(buf) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(buf),
        };
        self.text.reserve(s.len());
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b' ' {
                i += 1;
                continue;
            }
            let end = super::scan::find_byte(&bytes[i..], b' ').map_or(bytes.len(), |k| i + k);
            self.push(&s[i..end]);
            i = end + 1;
        }
    }
}
