//! NLTK 3.9.1's `NISTTokenizer().international_tokenize(text)` (defaults:
//! `lowercase=False`, `split_non_ascii=True`), the tokenizer for non-ASCII text.
//!
//! Steps, as in `nltk/tokenize/nist.py`: remove `<skipped>`, turn U+2028 into a space,
//! `xml_unescape`, then four substitutions -- pad every run of ASCII characters with
//! spaces; split a `Number` character from a following `Punctuation` character; split a
//! `Punctuation` character from a following `Number` character; pad every `Symbol`
//! character -- and finally `str.split()`.
//!
//! `Number`, `Punctuation` and `Symbol` are NLTK's perluniprops lists, which are not
//! Unicode's categories (the `Number` list holds ASCII letters and punctuation but no
//! ASCII digits; emoji outside the BMP are in no list).  `data/nist_charclass.txt`
//! records, for every code point, membership in the character classes NLTK actually
//! compiles (tested with those very regexes by `scripts/gen_tokenize_data.py`), plus
//! Python's `str.isspace()`.  `build/tokenize.rs` turns it into a two-level table at build
//! time (a block number per 256 code points, then the distinct blocks): two loads per
//! character, no first-use parse.

use std::borrow::Cow;

use super::scan::alnum_run_end;
use super::tokens::Tokens;

include!(concat!(env!("OUT_DIR"), "/nist_tables.rs"));

const NUMBER: u8 = 1;
const PUNCT: u8 = 2;
const SYMBOL: u8 = 4;
const SPACE: u8 = 8;

/// The class flags of `ch` (0 past the last block with any flag).
#[inline]
fn flags(ch: char) -> u8 {
    let cp = ch as usize;
    match BLOCK_OF.get(cp >> 8) {
        Some(&block) => BLOCKS
            .get(usize::from(block) << 8 | (cp & 0xff))
            .copied()
            .unwrap_or(0),
        None => 0,
    }
}

/// `xml.sax.saxutils.unescape` with NLTK's extra entities: sequential `str.replace`
/// calls in this order (the order matters for overlapping entities).
fn xml_unescape(text: &str) -> String {
    const STEPS: [(&str, &str); 8] = [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&apos;", "'"),
        ("&quot;", "\""),
        ("&#124;", "|"),
        ("&#91;", "["),
        ("&#93;", "]"),
        ("&amp;", "&"),
    ];
    let mut s = text.to_owned();
    for (from, to) in STEPS {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    s
}

/// NIST `international_tokenize` of any text.
pub fn international_tokenize(text: &str) -> Vec<String> {
    let mut out = Tokens::new();
    international_tokenize_into(text, &mut out);
    out.to_strings()
}

/// [`international_tokenize`] through the pass-by-pass port: the oracle the one-pass version
/// is tested against.
#[doc(hidden)]
pub fn international_tokenize_exact(text: &str) -> Vec<String> {
    let mut out = Tokens::new();
    international_tokenize_passes_into(text, &mut Scratch::default(), &mut out);
    out.to_strings()
}

/// Buffers of [`international_tokenize_into`], reused across calls.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    a: Vec<(char, u8)>,
    b: Vec<(char, u8)>,
}

/// The string steps before the substitutions: remove `<skipped>`, U+2028 to a space,
/// `xml_unescape`.
fn preprocess(text: &str) -> Cow<'_, str> {
    let mut s = Cow::Borrowed(text);
    // One vectorized pass over the bytes for the three triggers (`<`, `&`, and 0xA8, the last
    // byte of U+2028), which are nearly always absent: three searches cost ~1k instructions
    // a bench text.
    let (mut lt, mut amp, mut a8) = (false, false, false);
    for &c in text.as_bytes() {
        lt |= c == b'<';
        amp |= c == b'&';
        a8 |= c == 0xa8;
    }
    if !(lt | amp | a8) {
        return s;
    }
    if s.contains("<skipped>") {
        s = Cow::Owned(s.replace("<skipped>", ""));
    }
    if s.contains('\u{2028}') {
        s = Cow::Owned(s.replace('\u{2028}', " "));
    }
    if s.contains('&') {
        s = Cow::Owned(xml_unescape(&s));
    }
    s
}

/// [`international_tokenize`], appending to `out`: the four substitutions and the split
/// decided in one pass over the characters.
///
/// Every substitution only inserts spaces, so the tokens are the substrings of the
/// preprocessed text between *cuts*, minus its whitespace characters; the pass finds the cuts
/// between each character and the next, reproducing each `re.sub`'s leftmost,
/// non-overlapping matching with one flag of state per pass:
///
/// * NONASCII pads every ASCII run: a cut wherever ASCII-ness changes (so no pair of a later
///   pass straddles such a boundary);
/// * PUNCT_1 (`\1 \2 `) matches a Number then a Punctuation character, adjacent in its input,
///   unless the first was the second character of the previous match: cuts between and
///   after the pair;
/// * PUNCT_2 (` \1 \2`) runs on PUNCT_1's output, where two characters are adjacent unless a
///   PUNCT_1 cut lies between them: cuts before and between its pair;
/// * SYMBOLS pads every Symbol character: cuts on both sides.
///
/// The texts this path sees are mostly ASCII prose with a few curly quotes or accented
/// letters, so the pass alternates between two loops: [`spaced_words`] takes whole
/// whitespace-delimited ASCII words of letters and digits (no cut can fall inside one, and
/// each is exactly one token) several bytes per step, and [`chars_to_space`] runs the
/// character-by-character state machine from the first word that is anything else up to and
/// including the next whitespace character, after which the state is that of the text's
/// start again (with the one-pass preprocessing test: −43 % instructions per non-ASCII bench
/// text, BENCHMARKS.md "#17 ngram7").
///
/// `international_tokenize_passes_into`, the pass-by-pass port, is the oracle of the tests.
pub(crate) fn international_tokenize_into(text: &str, out: &mut Tokens) {
    let s = preprocess(text);
    let base = out.push_source(&s);
    let mut i = 0;
    while i < s.len() {
        i = spaced_words(s.as_bytes(), i, base, out);
        if i < s.len() {
            i = chars_to_space(&s, i, base, out);
        }
    }
}

/// Python's `str.isspace()` for an ASCII byte (NIST's `SPACE` class there).
#[inline(always)]
fn is_ascii_space(c: u8) -> bool {
    matches!(c, b'\t'..=b'\r' | 0x1c..=b' ')
}

/// Tokenizes from `i` — the text's start or the byte after a whitespace character, where no
/// token is open and no match of the earlier passes pends — the ASCII words made of letters
/// and digits only that whitespace (or the text's end) follows, skipping the whitespace
/// between them, and returns where it stopped: at the first byte of a word it does not take
/// (the state there is the same as at `i`), or at the end.
///
/// Such a word is one token in every pass: letters are `Number` only and digits in no class,
/// so no PUNCT_1, PUNCT_2 or SYMBOLS match lies inside it or joins its last character to the
/// whitespace after it, and the whitespace closes it.
#[inline(always)]
fn spaced_words(b: &[u8], mut i: usize, base: usize, out: &mut Tokens) -> usize {
    let n = b.len();
    loop {
        while i < n && is_ascii_space(b[i]) {
            i += 1;
        }
        if i >= n {
            return n;
        }
        let j = alnum_run_end(b, i);
        if j == i || (j < n && !is_ascii_space(b[j])) {
            return i;
        }
        out.push_span(base + i, base + j);
        i = j;
    }
}

/// The character-by-character pass from byte `i` of `s` (with no token open and no pending
/// match, as at the text's start) up to and including the next whitespace character, after
/// which that state holds again; returns the byte after it (or the text's length, the last
/// token then pushed).
fn chars_to_space(s: &str, mut i: usize, base: usize, out: &mut Tokens) -> usize {
    let b = s.as_bytes();
    let n = b.len();
    // The character at byte `i` and its length.
    let decode = |i: usize| -> (char, usize) {
        match b.get(i) {
            Some(&c) if c < 0x80 => (char::from(c), 1),
            _ => s
                .get(i..)
                .and_then(|t| t.chars().next())
                .map_or((' ', 1), |c| (c, c.len_utf8())),
        }
    };
    const NONE: usize = usize::MAX;
    let mut open = NONE;
    let (mut c, mut len) = decode(i);
    // Whether the current character is the second of a PUNCT_1 / PUNCT_2 match. (A cut after
    // the previous character has closed its token already.)
    let (mut p1_second, mut p2_second) = (false, false);
    loop {
        // Inside a run of ASCII letters and digits nothing is cut (letters are Number only,
        // digits in no class: no pair and no symbol), and every character but the first is
        // the second of no match: jump to the run's last character.
        if c.is_ascii_alphanumeric() {
            let j = alnum_run_end(b, i + 1);
            if j > i + 1 {
                if open == NONE {
                    open = i;
                }
                i = j - 1;
                c = char::from(b[i]);
                p1_second = false;
                p2_second = false;
            }
        }
        let f = flags(c);
        let end = i + len;
        let (next, nf, same) = if end < n {
            let (d, dlen) = decode(end);
            (Some((d, dlen)), flags(d), d.is_ascii() == c.is_ascii())
        } else {
            (None, SPACE, false)
        };
        let p1 = same && !p1_second && f & NUMBER != 0 && nf & PUNCT != 0;
        let adjacent_after_p1 = same && !p1 && !p1_second;
        let p2 = adjacent_after_p1 && !p2_second && f & PUNCT != 0 && nf & NUMBER != 0;
        let cut_after = !adjacent_after_p1 || p2 || (f | nf) & SYMBOL != 0;
        if f & SPACE != 0 {
            if open != NONE {
                out.push_span(base + open, base + i);
            }
            // A whitespace character matches no pair (it is in no other class), so nothing
            // pends after it: the caller goes on from the state of the text's start.
            return end;
        }
        if open != NONE && (p2 || f & SYMBOL != 0) {
            out.push_span(base + open, base + i);
            open = NONE;
        }
        if open == NONE {
            open = i;
        }
        if cut_after {
            out.push_span(base + open, base + end);
            open = NONE;
        }
        let Some((d, dlen)) = next else { break };
        p1_second = p1;
        p2_second = p2;
        (i, c, len) = (end, d, dlen);
    }
    if open != NONE {
        out.push_span(base + open, base + n);
    }
    n
}

/// [`international_tokenize`] replayed pass by pass (characters with their flags copied
/// from pass to pass), appending to `out`: the oracle of [`international_tokenize_into`].
pub(crate) fn international_tokenize_passes_into(
    text: &str,
    scratch: &mut Scratch,
    out: &mut Tokens,
) {
    let s = preprocess(text);
    let space = (' ', SPACE);

    // NONASCII: `([\x00-\x7f]+)` → ` \1 `.  Each character is stored with its class
    // flags, looked up once.
    let Scratch { a, b } = scratch;
    a.clear();
    b.clear();
    a.reserve(s.len() + 16);
    let mut in_ascii = false;
    for ch in s.chars() {
        if ch.is_ascii() != in_ascii {
            a.push(space);
            in_ascii = ch.is_ascii();
        }
        a.push((ch, flags(ch)));
    }
    if in_ascii {
        a.push(space);
    }

    // PUNCT_1: `([Number])([Punctuation])` → `\1 \2 `;
    // PUNCT_2: `([Punctuation])([Number])` → ` \1 \2`.
    if pair_split(a, b, NUMBER, PUNCT, false) {
        std::mem::swap(a, b);
    }
    b.clear();
    if pair_split(a, b, PUNCT, NUMBER, true) {
        std::mem::swap(a, b);
    }

    // SYMBOLS: `([Symbol])` → ` \1 `, then `str.split()`.
    let mut start = out.open();
    for &(ch, f) in a.iter() {
        if f & (SPACE | SYMBOL) != 0 {
            out.close(start);
            if f & SPACE == 0 {
                let one = out.open();
                out.push_char(ch);
                out.close(one);
            }
            start = out.open();
        } else {
            out.push_char(ch);
        }
    }
    out.close(start);
}

/// One `([first])([second])` substitution: leftmost, non-overlapping two-character
/// matches; `lead` selects ` \1 \2` (PUNCT_2) over `\1 \2 ` (PUNCT_1). Writes the result
/// to `dst` and returns true, or returns false (`dst` untouched) when nothing matches.
fn pair_split(
    src: &[(char, u8)],
    dst: &mut Vec<(char, u8)>,
    first: u8,
    second: u8,
    lead: bool,
) -> bool {
    let hit = |i: usize| src[i].1 & first != 0 && src[i + 1].1 & second != 0;
    let Some(mut i) = (0..src.len().saturating_sub(1)).find(|&i| hit(i)) else {
        return false;
    };
    let space = (' ', SPACE);
    dst.extend_from_slice(&src[..i]);
    while i < src.len() {
        let c = src[i];
        if c.1 & first != 0 {
            if let Some(&d) = src.get(i + 1) {
                if d.1 & second != 0 {
                    if lead {
                        dst.extend_from_slice(&[space, c, space, d]);
                    } else {
                        dst.extend_from_slice(&[c, space, d, space]);
                    }
                    i += 2;
                    continue;
                }
            }
        }
        dst.push(c);
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn research_examples() {
        // research/metrics.md §2.1, from NLTK 3.9.1.
        assert_eq!(international_tokenize("café"), ["caf", "é"]);
        assert_eq!(international_tokenize("Amazon.com"), ["Amazon", ".", "com"]);
        assert_eq!(international_tokenize("🍕🍕"), ["🍕🍕"]);
        assert_eq!(international_tokenize("東京、大阪。"), ["東京、大阪。"]);
        assert_eq!(
            international_tokenize("東京は日本の首都です。"),
            ["東京は日本の首都です", "。"]
        );
    }

    #[test]
    fn python_space() {
        for ch in ['\u{1c}', '\u{85}', '\u{a0}', '\u{3000}', '\u{2028}'] {
            assert!(flags(ch) & SPACE != 0, "{ch:?}");
        }
        assert!(flags('\u{200b}') & SPACE == 0 && flags('x') & SPACE == 0);
    }

    /// What the word loop of the one-pass tokenizer rests on: whitespace is in no other class
    /// (nothing pends after it), and `is_ascii_space` is the `SPACE` class of ASCII.
    #[test]
    fn whitespace_is_in_no_other_class() {
        for ch in (0..=0x10_FFFF).filter_map(char::from_u32) {
            let f = flags(ch);
            if f & SPACE != 0 {
                assert_eq!(f, SPACE, "{:#x}", ch as u32);
            }
        }
        for c in 0u8..0x80 {
            assert_eq!(
                is_ascii_space(c),
                flags(char::from(c)) & SPACE != 0,
                "{c:#x}"
            );
        }
    }

    /// Words of letters and digits between every kind of separator, against the pass-by-pass
    /// port: each word loop hand-over (a word followed by punctuation, a non-ASCII character,
    /// the text's end; runs of whitespace of every class; words longer than eight bytes).
    #[test]
    fn word_runs_agree_with_the_port() {
        let words = [
            "a",
            "Z9",
            "word",
            "12345678",
            "abcdefghijklmnopq",
            "x1y2z3w4v5",
        ];
        let seps = [
            " ", "  ", "\t", "\n ", "\u{1c}", "\u{a0}", "\u{3000}", ",", ". ", "’", "“", " “", "é",
            "-", "$", "'s ", "", "&amp; ", "\u{2028}",
        ];
        let mut checked = 0;
        for w1 in words {
            for s1 in seps {
                for w2 in words {
                    for s2 in seps {
                        for lead in ["", " ", "”"] {
                            let text = format!("{lead}{w1}{s1}{w2}{s2}{w1} {w2}{s1}");
                            assert_eq!(
                                international_tokenize(&text),
                                international_tokenize_exact(&text),
                                "{text:?}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 10_000);
    }

    /// The text form parsed as the crate did at run time before the table was generated (a
    /// 64 KiB BMP table, the ranges past the BMP binary-searched), against the generated
    /// table at every code point.
    #[test]
    fn generated_table_equals_the_parsed_text() {
        const DATA: &str = include_str!("../../data/nist_charclass.txt");
        let mut bmp = vec![0u8; 0x10000];
        let mut astral: Vec<(u32, u32, u8)> = Vec::new();
        for line in DATA.lines() {
            let mut it = line.split(' ').map(|f| u32::from_str_radix(f, 16));
            let (Some(Ok(a)), Some(Ok(b)), Some(Ok(fl))) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            let fl = (fl & 0xff) as u8;
            if b < 0x10000 {
                for cp in a..=b {
                    bmp[cp as usize] = fl;
                }
            } else {
                astral.push((a, b, fl));
            }
        }
        let oracle = |cp: u32| -> u8 {
            if let Some(&f) = bmp.get(cp as usize) {
                return f;
            }
            astral
                .iter()
                .find(|&&(a, b, _)| a <= cp && cp <= b)
                .map_or(0, |&(_, _, f)| f)
        };
        let mut flagged = 0;
        for ch in (0..=0x10_FFFF).filter_map(char::from_u32) {
            assert_eq!(flags(ch), oracle(ch as u32), "{:#x}", ch as u32);
            flagged += usize::from(flags(ch) != 0);
        }
        assert!(flagged > 10_000, "{flagged}");
    }
}
