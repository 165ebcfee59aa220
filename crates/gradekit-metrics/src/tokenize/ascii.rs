//! Python 3 character classes restricted to ASCII bytes.
//!
//! NLTK compiles its patterns as `str` patterns, so `\s`, `\w`, `\d`, `str.split()` and
//! `str.strip()` use Unicode definitions.  On ASCII text those reduce to the sets below;
//! the one surprise is that Python counts the information separators U+001C..U+001F as
//! whitespace (Rust's `u8::is_ascii_whitespace` does not, and omits U+000B too).

/// Python `\s` / `str.isspace()` on an ASCII byte: `\t \n \v \f \r`, `\x1c`..`\x1f`, space.
#[inline]
pub(crate) const fn is_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | 0x1c..=0x1f | b' ')
}

/// Python `\w` on an ASCII byte: `[A-Za-z0-9_]`.
#[inline]
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `string.whitespace` (` \t\n\r\x0b\x0c`), which Punkt uses in one place
/// (`_get_last_whitespace_index`) instead of `\s`.
#[inline]
pub(crate) fn is_string_whitespace(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// A set of bytes as a lookup table (one load per test in the scanning loops).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ByteSet([bool; 256]);

impl ByteSet {
    pub(crate) const fn of(bytes: &[u8]) -> Self {
        let mut t = [false; 256];
        let mut i = 0;
        while i < bytes.len() {
            t[bytes[i] as usize] = true;
            i += 1;
        }
        ByteSet(t)
    }

    #[inline]
    pub(crate) const fn contains(&self, b: u8) -> bool {
        self.0[b as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_space_includes_separators() {
        let spaces: Vec<u8> = (0u8..128).filter(|&b| is_space(b)).collect();
        assert_eq!(spaces, b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ".to_vec());
        assert!(!is_string_whitespace(0x1c));
        assert!(is_string_whitespace(0x0b));
    }

    #[test]
    fn byteset_membership() {
        let s = ByteSet::of(b"ab");
        assert!(s.contains(b'a') && !s.contains(b'c') && !s.contains(200));
    }
}
