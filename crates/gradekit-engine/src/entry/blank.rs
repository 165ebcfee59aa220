//! Which JSONL lines are blank: the one rule of every reader of JSONL lines (`score`, `lint`,
//! the jobs' training-file validation, the trainer protocol; the Python package applies the
//! same rule as `not line.strip()`).
//!
//! DESIGN §5: "blank and whitespace-only lines keep their number but produce no output". What
//! counts as whitespace is Python's `str.isspace()` — what `if not line.strip(): continue`
//! skips in the Python tooling people prepare and read these files with (gradekit's own
//! trainer reads training files that way). JSON's four whitespace bytes alone would call a
//! line holding a form feed or a no-break space "invalid JSON" although every Python reader
//! skips it, and ASCII whitespace (the rule before) skipped `\f` but not `\v`.
//!
//! The characters: U+0009–U+000D (tab, line feed, vertical tab, form feed, carriage return),
//! U+001C–U+001F (the information separators), U+0020, U+0085, U+00A0, U+1680, U+2000–U+200A,
//! U+2028, U+2029, U+202F, U+205F, U+3000 (`fixtures/lines/blank.json` lists them, from
//! Python). Not whitespace: U+200B (zero width space), U+FEFF (a byte-order mark), U+180E.
//! A line that is not valid UTF-8 is not blank.

/// True when `line` (without its line break) is empty or holds only whitespace as Python's
/// `str.isspace()` counts it (see the module docs). Inlined: a line starting with a printable
/// ASCII byte (`{`) costs one comparison — `score` asks this of every line.
#[inline]
pub fn is_blank_line(line: &[u8]) -> bool {
    match line.first() {
        None => true,
        Some(b) if b.is_ascii_graphic() => false,
        Some(_) => only_whitespace(line),
    }
}

/// [`is_blank_line`] past its first byte.
fn only_whitespace(line: &[u8]) -> bool {
    let mut rest = line;
    loop {
        match rest {
            [] => return true,
            [b'\t'..=b'\r' | 0x1c..=b' ', tail @ ..] => rest = tail,
            [b, ..] if b.is_ascii() => return false,
            _ => {
                let len = match rest[0] {
                    0xc2..=0xdf => 2,
                    0xe0..=0xef => 3,
                    _ => return false, // four-byte characters hold no whitespace; or invalid
                };
                let Some(Ok(s)) = rest.get(..len).map(std::str::from_utf8) else {
                    return false;
                };
                if !s.chars().all(is_space_beyond_ascii) {
                    return false;
                }
                rest = &rest[len..];
            }
        }
    }
}

/// The non-ASCII characters of Python's `str.isspace()`.
fn is_space_beyond_ascii(c: char) -> bool {
    matches!(
        c,
        '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn fixture() -> Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/lines/blank.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Every code point: whitespace exactly when the fixture's list (Python's) says so.
    #[test]
    fn whitespace_is_pythons_isspace() {
        let f = fixture();
        let listed: Vec<u32> = f["whitespace"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_u64)
                    .map(|n| n as u32)
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            listed.len(),
            29,
            "the fixture lists Python's 29 whitespace characters"
        );
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            let mut b = [0u8; 4];
            let one = c.encode_utf8(&mut b).as_bytes();
            assert_eq!(
                is_blank_line(one),
                listed.contains(&(c as u32)),
                "U+{:04X}",
                c as u32
            );
        }
    }

    /// The fixture's lines.
    #[test]
    fn fixture_lines() {
        let f = fixture();
        let cases = f["cases"].as_array().cloned().unwrap_or_default();
        assert!(cases.len() > 20);
        for c in cases {
            let line = bytes_of(&c);
            assert_eq!(
                is_blank_line(&line),
                c["blank"] == Value::Bool(true),
                "{}",
                c["description"]
            );
        }
    }

    /// A case's line: `line` (text) or `line_hex` (bytes).
    pub(crate) fn bytes_of(case: &Value) -> Vec<u8> {
        if let Some(h) = case["line_hex"].as_str() {
            return (0..h.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                .collect();
        }
        case["line"]
            .as_str()
            .unwrap_or_default()
            .as_bytes()
            .to_vec()
    }

    #[test]
    fn truncated_and_invalid_utf8_is_not_blank() {
        for bad in [
            &b"\xc2"[..],
            b"\xe2\x80",
            b"\xa0",
            b" \xff ",
            b"\xed\xa0\x80",
        ] {
            assert!(!is_blank_line(bad), "{bad:?}");
        }
        assert!(is_blank_line(b""));
        assert!(is_blank_line("\u{a0}\u{3000} \t\x0b\x0c\r".as_bytes()));
        assert!(!is_blank_line(b" {} "));
    }
}
