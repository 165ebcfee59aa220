//! NLTK 3.9.1's improved Treebank word tokenizer (`NLTKWordTokenizer.tokenize`, the
//! one `word_tokenize` applies to each Punkt sentence), on ASCII bytes.
//!
//! NLTK runs ~30 regex substitutions in a fixed order, each over the output of the one
//! before.  We keep that structure -- one substitution per NLTK pattern, in NLTK's order
//! -- because the passes interact (a space inserted by one changes what a later one
//! sees) and pass-by-pass equivalence is easy to check against the Python source.  Each
//! substitution reproduces `re.sub` exactly: leftmost, non-overlapping matches, with
//! look-behind context (`\b`, the character before a quote) read from the pass's input,
//! and Python's `$` (end of string *or* before a final newline).
//!
//! Every pattern contains a rare "trigger" byte (a quote, a period, a bracket...).  The
//! driver [`subst`] jumps from trigger to trigger, asks the pattern for the match range
//! around it, and copies the untouched stretches in bulk; a pass that finds no match
//! copies nothing, and a pass whose trigger bytes do not occur in the sentence at all is
//! not even scanned.  A typical sentence (words, commas, a final period) costs a handful
//! of short scans.  NLTK's non-ASCII patterns (`«“‘„»”’`) can never match here:
//! non-ASCII text goes to the NIST tokenizer instead.

use super::ascii::{is_space, is_word, ByteSet};
pub(crate) use super::scan::Scratch;
use super::scan::{eq_mask, find_byte, subst, Trigger};
use super::tokens::Tokens;

/// `[set]` → ` \g<0> ` (the set given as the trigger).
fn pad_each(s: &mut Scratch, set: Trigger) {
    subst(
        s,
        set,
        |_, j, _| Some((j, j + 1)),
        |src, a, _, d| d.extend_from_slice(&[b' ', src[a], b' ']),
    );
}

/// `c{min,}` → ` \g<0> `.
fn pad_runs(s: &mut Scratch, c: u8, min: usize) {
    subst(
        s,
        Trigger::Byte(c),
        |src, j, _| {
            let run = src[j..].iter().take_while(|&&b| b == c).count();
            (run >= min).then_some((j, j + run))
        },
        |src, a, b, d| {
            d.push(b' ');
            d.extend_from_slice(&src[a..b]);
            d.push(b' ');
        },
    );
}

/// Non-overlapping occurrences of the two bytes `pat` → `rep`.
fn replace_pair(s: &mut Scratch, pat: [u8; 2], rep: &'static [u8]) {
    subst(
        s,
        Trigger::Byte(pat[0]),
        |src, j, _| (src.get(j + 1) == Some(&pat[1])).then_some((j, j + 2)),
        |_, _, _, d| d.extend_from_slice(rep),
    );
}

/// `([^\.])(\.)([<closers>]*)\s*$` → `\1 \2 \3 ` (`spaced`) or `\1 \2\3 `: the final
/// period.  A match must start at the last `.` of the text (nothing after it may be a
/// period), so we check only there.  `$` also matches before a final `\n`, which `\s*`
/// would have consumed anyway.  (PUNCTUATION patterns 1 and 6.)
fn final_period(s: &mut Scratch, spaced: bool) {
    let src = &s.a;
    let closer =
        |b: u8| matches!(b, b']' | b')' | b'}' | b'>' | b'"' | b'\'') || (spaced && b == b' ');
    let Some(p) = src.iter().rposition(|&b| b == b'.') else {
        return;
    };
    if p == 0 || src[p - 1] == b'.' {
        return;
    }
    let rest = &src[p + 1..];
    let k = rest.iter().take_while(|&&b| closer(b)).count();
    if !rest[k..].iter().all(|&b| is_space(b)) {
        return;
    }
    s.b.clear();
    s.b.extend_from_slice(if spaced { b" . " } else { b" ." });
    s.b.extend_from_slice(&rest[..k]);
    s.b.push(b' ');
    s.a.truncate(p);
    s.a.extend_from_slice(&s.b);
}

/// `([:,])$` → ` \1 ` (PUNCTUATION pattern 3): the last byte, or the one before a final
/// newline.
fn final_colon_comma(s: &mut Scratch) {
    let n = s.a.len();
    let p = if n >= 1 && COLON_COMMA.contains(s.a[n - 1]) {
        n - 1
    } else if n >= 2 && s.a[n - 1] == b'\n' && COLON_COMMA.contains(s.a[n - 2]) {
        n - 2
    } else {
        return;
    };
    let c = s.a[p];
    s.a.splice(p..=p, [b' ', c, b' ']);
}

static COLON_COMMA: ByteSet = ByteSet::of(b":,");
static ALL_WS: ByteSet = ByteSet::of(b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ");
static PUNCT_PAD: ByteSet = ByteSet::of(b";@#$%&");
static BRACKETS: ByteSet = ByteSet::of(b"[](){}<>");
static OPEN_CONTEXT: ByteSet = ByteSet::of(b" ([{<");
static CONTRACTION2_FIRST: ByteSet = ByteSet::of(b"cdglmwCDGLMW");

/// Which groups of trigger bytes occur in a sentence: one bit per group, so that a pass
/// whose triggers are absent is skipped without scanning.
mod has {
    pub(super) const BACKTICK: u32 = 1 << 0;
    pub(super) const DOUBLE_QUOTE: u32 = 1 << 1;
    pub(super) const APOSTROPHE: u32 = 1 << 2;
    pub(super) const DOT: u32 = 1 << 3;
    pub(super) const COLON_COMMA: u32 = 1 << 4;
    pub(super) const PUNCT_PAD: u32 = 1 << 5;
    pub(super) const QUESTION_BANG: u32 = 1 << 6;
    pub(super) const STAR: u32 = 1 << 7;
    pub(super) const BRACKET: u32 = 1 << 8;
    pub(super) const DASH: u32 = 1 << 9;
    /// Whitespace other than ' ' (only then must `\s+` be collapsed).
    pub(super) const OTHER_WS: u32 = 1 << 10;
    pub(super) const CONTRACTION2: u32 = 1 << 11;

    const fn set(mut t: [u32; 256], bytes: &[u8], bit: u32) -> [u32; 256] {
        let mut i = 0;
        while i < bytes.len() {
            t[bytes[i] as usize] |= bit;
            i += 1;
        }
        t
    }

    /// Byte → the groups it belongs to.
    pub(super) static TABLE: [u32; 256] = {
        let t = [0u32; 256];
        let t = set(t, b"`", BACKTICK);
        // '"' can become '``' and "''", so it also counts as those.
        let t = set(t, b"\"", DOUBLE_QUOTE | BACKTICK | APOSTROPHE);
        let t = set(t, b"'", APOSTROPHE);
        let t = set(t, b".", DOT);
        let t = set(t, b":,", COLON_COMMA);
        let t = set(t, b";@#$%&", PUNCT_PAD);
        let t = set(t, b"?!", QUESTION_BANG);
        let t = set(t, b"*", STAR);
        let t = set(t, b"[](){}<>", BRACKET);
        let t = set(t, b"-", DASH);
        let t = set(t, b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f", OTHER_WS);
        set(t, b"cdglmwCDGLMW", CONTRACTION2)
    };
}

/// `s[i]` exists and is a word character (so `!word_at` is `\b` after a word character).
fn word_at(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(|&c| is_word(c))
}

fn starts_with_ci(s: &[u8], pat: &[u8]) -> bool {
    s.len() >= pat.len() && s[..pat.len()].eq_ignore_ascii_case(pat)
}

/// The byte before trigger `j` opens the match: it must exist and not belong to the
/// previous match.
fn prev_free(j: usize, pos: usize) -> Option<usize> {
    (j > pos).then(|| j - 1)
}

/// `([ \(\[{<])(\"|\'{2})` → `\1 `` ` (STARTING_QUOTES 4).
fn opening_double_quote(s: &mut Scratch) {
    subst(
        s,
        Trigger::Pair(b'\'', b'"'),
        |src, j, pos| {
            let i = prev_free(j, pos)?;
            if !OPEN_CONTEXT.contains(src[i]) {
                return None;
            }
            match &src[j..] {
                [b'"', ..] => Some((i, j + 1)),
                [b'\'', b'\'', ..] => Some((i, j + 2)),
                _ => None,
            }
        },
        |src, a, _, d| {
            d.push(src[a]);
            d.extend_from_slice(b" `` ");
        },
    );
}

/// `(?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b` → `\1 \2` (STARTING_QUOTES 5): a quote before
/// a one-character word other than the clitic letters.  (`re`/`ve`/`ll` could only
/// matter for two-character words, which `(\w)\b` excludes anyway.)
fn quote_before_single_char(s: &mut Scratch) {
    subst(
        s,
        Trigger::Byte(b'\''),
        |src, j, _| {
            let c = *src.get(j + 1)?;
            let clitic = matches!(c.to_ascii_lowercase(), b'm' | b't' | b's' | b'd' | b'n');
            (is_word(c) && !clitic && !word_at(src, j + 2)).then_some((j, j + 2))
        },
        |src, a, _, d| d.extend_from_slice(&[b'\'', b' ', src[a + 1]]),
    );
}

/// `([:,])([^\d])` → ` \1 \2` (PUNCTUATION 2).
fn colon_comma(s: &mut Scratch) {
    subst(
        s,
        Trigger::Pair(b':', b','),
        |src, j, _| {
            let d = *src.get(j + 1)?;
            (!d.is_ascii_digit()).then_some((j, j + 2))
        },
        |src, a, _, d| d.extend_from_slice(&[b' ', src[a], b' ', src[a + 1]]),
    );
}

/// `([^'])' ` → `\1 ' ` (PUNCTUATION 8).
fn quote_before_space(s: &mut Scratch) {
    subst(
        s,
        Trigger::Byte(b'\''),
        |src, j, pos| {
            let i = prev_free(j, pos)?;
            (src[i] != b'\'' && src.get(j + 1) == Some(&b' ')).then_some((i, j + 2))
        },
        |src, a, _, d| d.extend_from_slice(&[src[a], b' ', b'\'', b' ']),
    );
}

/// `\s+` → ` ` (ENDING_QUOTES 4).  A lone space is left alone (same text).
fn collapse_space(s: &mut Scratch) {
    subst(
        s,
        Trigger::Set(&ALL_WS),
        |src, j, _| {
            let run = src[j..].iter().take_while(|&&b| is_space(b)).count();
            (run > 1 || src[j] != b' ').then_some((j, j + run))
        },
        |_, _, _, d| d.push(b' '),
    );
}

/// `([^' ])(...) ` → `\1 \2 `: writes `\1`, a space, the group, a space.
fn emit_clitic(src: &[u8], a: usize, b: usize, d: &mut Vec<u8>) {
    d.push(src[a]);
    d.push(b' ');
    d.extend_from_slice(&src[a + 1..b - 1]);
    d.push(b' ');
}

/// `([^' ])('[sS]|'[mM]|'[dD]|') ` → `\1 \2 ` (ENDING_QUOTES 5).
fn clitic_smd(s: &mut Scratch) {
    subst(
        s,
        Trigger::Byte(b'\''),
        |src, j, pos| {
            let i = prev_free(j, pos)?;
            if matches!(src[i], b'\'' | b' ') {
                return None;
            }
            match &src[j..] {
                [b'\'', b's' | b'S' | b'm' | b'M' | b'd' | b'D', b' ', ..] => Some((i, j + 3)),
                [b'\'', b' ', ..] => Some((i, j + 2)),
                _ => None,
            }
        },
        emit_clitic,
    );
}

/// `([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ` → `\1 \2 ` (ENDING_QUOTES 6).  The quote is
/// the group's first byte, or its second (`n't`), whose match starts one byte earlier.
fn clitic_long(s: &mut Scratch) {
    let opener = |src: &[u8], i: usize| !matches!(src[i], b'\'' | b' ');
    subst(
        s,
        Trigger::Byte(b'\''),
        |src, j, pos| {
            if j >= pos + 2 && opener(src, j - 2) {
                if let [b'n', b'\'', b't', b' ', ..] | [b'N', b'\'', b'T', b' ', ..] = &src[j - 1..]
                {
                    return Some((j - 2, j + 3));
                }
            }
            let i = prev_free(j, pos)?;
            match &src[j..] {
                [b'\'', b'l', b'l', b' ', ..]
                | [b'\'', b'L', b'L', b' ', ..]
                | [b'\'', b'r', b'e', b' ', ..]
                | [b'\'', b'R', b'E', b' ', ..]
                | [b'\'', b'v', b'e', b' ', ..]
                | [b'\'', b'V', b'E', b' ', ..]
                    if opener(src, i) =>
                {
                    Some((i, j + 4))
                }
                _ => None,
            }
        },
        emit_clitic,
    );
}

/// MacIntyre's `CONTRACTIONS2`, `(?i)\b(first)(second)\b` → ` \1 \2 ` (for "wanna" the
/// end is `(?=\s)`).  NLTK runs the eight patterns one after another; their matches
/// start and end at word boundaries next to non-word characters, so no match of one can
/// create, destroy or overlap a match of another, and a single scan trying them at each
/// word start gives the same text.  Returns (split point, length).
fn contraction2_at(src: &[u8], i: usize) -> Option<(usize, usize)> {
    if i > 0 && is_word(src[i - 1]) {
        return None;
    }
    let rest = &src[i..];
    let (a, b): (&[u8], &[u8]) = match rest.first()?.to_ascii_lowercase() {
        b'c' => (b"can", b"not"),
        b'd' => (b"d", b"'ye"),
        b'g' if starts_with_ci(rest, b"gim") => (b"gim", b"me"),
        b'g' if starts_with_ci(rest, b"gon") => (b"gon", b"na"),
        b'g' => (b"got", b"ta"),
        b'l' => (b"lem", b"me"),
        b'm' => (b"more", b"'n"),
        b'w' => (b"wan", b"na"),
        _ => return None,
    };
    let len = a.len() + b.len();
    if !(starts_with_ci(rest, a) && starts_with_ci(&rest[a.len()..], b)) {
        return None;
    }
    let end_ok = if a == b"wan" {
        rest.get(len).is_some_and(|&c| is_space(c))
    } else {
        !word_at(rest, len)
    };
    end_ok.then_some((a.len(), len))
}

/// Every `CONTRACTIONS2` word holds one of the pairs `nn` (cannot, gonna, wanna), `mm`
/// (gimme, lemme), `tt` (gotta) two bytes after the word start, `'y` (d'ye) or `e'`
/// (more'n), case-insensitively: a cheap test that spares the word-start scan in most
/// sentences.  Doubled letters are
/// found eight positions at a time (bytes equal to their successor, after folding case).
fn may_hold_contraction2(s: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // In all six words the doubled letter sits two bytes after the word start.
    let doubled = |k: usize| {
        let a = s[k] | 0x20;
        a == s[k + 1] | 0x20
            && matches!(a, b'n' | b'm' | b't')
            && k >= 2
            && (k == 2 || !is_word(s[k - 3]))
    };
    let mut from = 0;
    while let Some(k) = find_byte(&s[from..], b'\'').map(|k| from + k) {
        let y_after = s.get(k + 1).is_some_and(|&c| c | 0x20 == b'y');
        let e_before = k > 0 && s[k - 1] | 0x20 == b'e';
        if y_after || e_before {
            return true;
        }
        from = k + 1;
    }
    let load = |k: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[k..k + 8]);
        u64::from_le_bytes(w) | (LO * 0x20)
    };
    let mut i = 0;
    while i + 9 <= s.len() {
        // Candidates: (case-folded) `n`, `m` or `t` equal to the next byte; exact flags,
        // each then checked by `doubled`.
        let a = load(i);
        let mut f = eq_mask(a ^ load(i + 1), 0)
            & (eq_mask(a, b'n') | eq_mask(a, b'm') | eq_mask(a, b't'))
            & HI;
        while f != 0 {
            if doubled(i + (f.trailing_zeros() / 8) as usize) {
                return true;
            }
            f &= f - 1;
        }
        i += 8;
    }
    (i..s.len().saturating_sub(1)).any(doubled)
}

fn contractions2(s: &mut Scratch) {
    subst(
        s,
        Trigger::Set(&CONTRACTION2_FIRST),
        |src, j, _| contraction2_at(src, j).map(|(_, len)| (j, j + len)),
        |src, a, b, d| {
            let split = contraction2_at(src, a).map_or(b - a, |(k, _)| k);
            d.push(b' ');
            d.extend_from_slice(&src[a..a + split]);
            d.push(b' ');
            d.extend_from_slice(&src[a + split..b]);
            d.push(b' ');
        },
    );
}

/// `CONTRACTIONS3`: `(?i) ('t)(is)\b` then `(?i) ('t)(was)\b` → ` \1 \2 `.  The two
/// cannot overlap or interact, so one scan.
fn contractions3(s: &mut Scratch) {
    subst(
        s,
        Trigger::Byte(b'\''),
        |src, j, pos| {
            let i = prev_free(j, pos)?;
            let rest = &src[i..];
            if !starts_with_ci(rest, b" 't") {
                return None;
            }
            [&b"is"[..], b"was"].iter().find_map(|tail| {
                let len = 3 + tail.len();
                (starts_with_ci(&rest[3..], tail) && !word_at(rest, len)).then_some((i, i + len))
            })
        },
        |src, a, b, d| {
            d.extend_from_slice(b" ");
            d.extend_from_slice(&src[a + 1..a + 3]);
            d.push(b' ');
            d.extend_from_slice(&src[a + 3..b]);
            d.push(b' ');
        },
    );
}

/// Tokenizes one sentence, appending the tokens to `out`.
pub(crate) fn tokenize_sentence(sentence: &[u8], s: &mut Scratch, out: &mut Tokens) {
    s.a.clear();
    s.a.extend_from_slice(sentence);
    // Four accumulators: the OR chain of one would cost a cycle per byte.
    let mut acc = [0u32; 4];
    let mut quads = sentence.chunks_exact(4);
    for q in &mut quads {
        for (a, &b) in acc.iter_mut().zip(q) {
            *a |= has::TABLE[usize::from(b)];
        }
    }
    let present = quads
        .remainder()
        .iter()
        .fold(acc[0] | acc[1] | acc[2] | acc[3], |acc, &b| {
            acc | has::TABLE[usize::from(b)]
        });
    let has = |bits: u32| present & bits != 0;

    // STARTING_QUOTES
    if has(has::BACKTICK) {
        pad_runs(s, b'`', 1);
    }
    if s.a.first() == Some(&b'"') {
        s.a.splice(0..1, *b"``");
    }
    if has(has::BACKTICK) {
        replace_pair(s, *b"``", b" `` ");
    }
    if has(has::DOUBLE_QUOTE | has::APOSTROPHE) {
        opening_double_quote(s);
    }
    if has(has::APOSTROPHE) {
        quote_before_single_char(s);
    }

    // PUNCTUATION
    if has(has::DOT) {
        final_period(s, true);
    }
    if has(has::COLON_COMMA) {
        colon_comma(s);
        final_colon_comma(s);
    }
    if has(has::DOT) {
        pad_runs(s, b'.', 2);
    }
    if has(has::PUNCT_PAD) {
        pad_each(s, Trigger::Set(&PUNCT_PAD));
    }
    if has(has::DOT) {
        final_period(s, false);
    }
    if has(has::QUESTION_BANG) {
        pad_each(s, Trigger::Pair(b'?', b'!'));
    }
    if has(has::APOSTROPHE) {
        quote_before_space(s);
    }
    if has(has::STAR) {
        pad_each(s, Trigger::Byte(b'*'));
    }
    // PARENS_BRACKETS, DOUBLE_DASHES
    if has(has::BRACKET) {
        pad_each(s, Trigger::Set(&BRACKETS));
    }
    if has(has::DASH) {
        replace_pair(s, *b"--", b" -- ");
    }

    // text = " " + text + " "; ENDING_QUOTES
    s.a.insert(0, b' ');
    s.a.push(b' ');
    if has(has::APOSTROPHE) {
        replace_pair(s, *b"''", b" '' ");
    }
    if has(has::DOUBLE_QUOTE) {
        replace_each(s, b'"', b" '' ");
    }
    if has(has::OTHER_WS) {
        collapse_space(s);
    }
    if has(has::APOSTROPHE) {
        clitic_smd(s);
        clitic_long(s);
    }

    // CONTRACTIONS2, CONTRACTIONS3
    if has(has::CONTRACTION2) && may_hold_contraction2(&s.a) {
        contractions2(s);
    }
    if has(has::APOSTROPHE) {
        contractions3(s);
    }

    // text.split(): after `\s+` → ' ' (or without other whitespace to begin with) the
    // only whitespace left is ' '.
    out.push_space_separated(&s.a);
}

/// Every `c` → `rep`.
fn replace_each(s: &mut Scratch, c: u8, rep: &'static [u8]) {
    subst(
        s,
        Trigger::Byte(c),
        |_, j, _| Some((j, j + 1)),
        |_, _, _, d| d.extend_from_slice(rep),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tb(s: &str) -> Vec<String> {
        let mut buf = super::super::tokens::Tokens::default();
        tokenize_sentence(s.as_bytes(), &mut Scratch::default(), &mut buf);
        buf.iter().map(str::to_owned).collect()
    }

    #[test]
    fn nltk_docstring_example() {
        // NLTKWordTokenizer.tokenize docstring (nltk 3.9.1).
        let s = "Good muffins cost $3.88 (roughly 3,36 euros)\nin New York.  Please buy me\ntwo of them.\nThanks.";
        let want = [
            "Good", "muffins", "cost", "$", "3.88", "(", "roughly", "3,36", "euros", ")", "in",
            "New", "York.", "Please", "buy", "me", "two", "of", "them.", "Thanks", ".",
        ];
        assert_eq!(tb(s), want);
    }

    #[test]
    fn quotes_and_clitics() {
        // Expected tokens from nltk 3.9.1 NLTKWordTokenizer().tokenize.
        assert_eq!(
            tb("\"I can't,\" he said."),
            ["``", "I", "ca", "n't", ",", "''", "he", "said", "."]
        );
        assert_eq!(tb("'tis cannot"), ["'t", "is", "can", "not"]);
        assert_eq!(tb("x 'tis"), ["x", "'t", "is"]);
    }
}
