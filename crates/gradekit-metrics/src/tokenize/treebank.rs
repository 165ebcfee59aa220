//! NLTK 3.9.1's improved Treebank word tokenizer (`NLTKWordTokenizer.tokenize`, the
//! one `word_tokenize` applies to each Punkt sentence), on ASCII bytes.
//!
//! NLTK runs ~30 regex substitutions in a fixed order, each over the output of the one
//! before.  We keep that structure -- one hand-written pass per substitution, reading
//! one buffer and writing the other -- because the passes interact (a space inserted by
//! one changes what a later one sees) and pass-by-pass equivalence is easy to check
//! against the Python source.  Each pass reproduces `re.sub` exactly: leftmost,
//! non-overlapping matches, with look-behind context (`\b`) taken from the pass's
//! input, and Python's `$` (end of string *or* before a final newline).
//!
//! Speed comes from skipping: a pass whose trigger characters do not occur in the
//! sentence is the identity and is not run.  A typical sentence (letters, spaces,
//! commas, a final period) runs four or five cheap byte loops.  The non-ASCII
//! patterns of NLTK (`«“‘„»”’`) can never match here: non-ASCII text goes to the
//! NIST tokenizer instead.

use super::ascii::{is_space, is_word, ByteSet};

/// Scratch buffers reused across the sentences of one text.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    a: Vec<u8>,
    b: Vec<u8>,
}

/// Runs `pass(src, dst)` from `a` into `b`, then swaps so that `a` holds the result.
fn run(s: &mut Scratch, pass: impl FnOnce(&[u8], &mut Vec<u8>)) {
    s.b.clear();
    pass(&s.a, &mut s.b);
    std::mem::swap(&mut s.a, &mut s.b);
}

/// Pads every byte of `set` with a space on each side (`[set]` → `" \g<0> "`).
fn pad_each(src: &[u8], dst: &mut Vec<u8>, set: ByteSet) {
    for &c in src {
        if set.contains(c) {
            dst.extend_from_slice(&[b' ', c, b' ']);
        } else {
            dst.push(c);
        }
    }
}

/// Pads every run of `c` at least `min` long (`c{min,}` → `" \g<0> "`).
fn pad_runs(src: &[u8], dst: &mut Vec<u8>, c: u8, min: usize) {
    let mut i = 0;
    while i < src.len() {
        if src[i] == c {
            let run = src[i..].iter().take_while(|&&b| b == c).count();
            if run >= min {
                dst.push(b' ');
                dst.extend_from_slice(&src[i..i + run]);
                dst.push(b' ');
            } else {
                dst.extend_from_slice(&src[i..i + run]);
            }
            i += run;
        } else {
            dst.push(src[i]);
            i += 1;
        }
    }
}

/// Replaces non-overlapping occurrences of the two-byte `pat` with `rep`.
fn replace_pair(src: &[u8], dst: &mut Vec<u8>, pat: [u8; 2], rep: &[u8]) {
    let mut i = 0;
    while i < src.len() {
        if src[i] == pat[0] && src.get(i + 1) == Some(&pat[1]) {
            dst.extend_from_slice(rep);
            i += 2;
        } else {
            dst.push(src[i]);
            i += 1;
        }
    }
}

/// `([^\.])(\.)([<closers>]*)\s*$` → `\1 \2 \3 ` (`spaced`) or `\1 \2\3 `: the final
/// period.  A match must start at the last `.` of the text (nothing after it may be a
/// period), so we check only there.  `$` also matches before a final `\n`, which
/// `\s*` would have consumed anyway.
fn final_period(src: &[u8], dst: &mut Vec<u8>, spaced: bool) {
    let closer =
        |b: u8| matches!(b, b']' | b')' | b'}' | b'>' | b'"' | b'\'') || (spaced && b == b' ');
    let hit = src.iter().rposition(|&b| b == b'.').and_then(|p| {
        if p == 0 || src[p - 1] == b'.' {
            return None;
        }
        let rest = &src[p + 1..];
        let k = rest.iter().take_while(|&&b| closer(b)).count();
        rest[k..].iter().all(|&b| is_space(b)).then_some((p, k))
    });
    match hit {
        None => dst.extend_from_slice(src),
        Some((p, k)) => {
            dst.extend_from_slice(&src[..p]);
            dst.extend_from_slice(if spaced { b" . " } else { b" ." });
            dst.extend_from_slice(&src[p + 1..p + 1 + k]);
            dst.push(b' ');
        }
    }
}

/// Position matched by Python's `X$` for a one-byte `X`: the last byte, or the one
/// before a final newline.
fn dollar_pos(src: &[u8], set: ByteSet) -> Option<usize> {
    let n = src.len();
    if n >= 1 && set.contains(src[n - 1]) {
        return Some(n - 1);
    }
    if n >= 2 && src[n - 1] == b'\n' && set.contains(src[n - 2]) {
        return Some(n - 2);
    }
    None
}

const COLON_COMMA: ByteSet = ByteSet::of(b":,");
const CLOSE_TRIGGER: ByteSet = ByteSet::of(b"'\"");
const NON_SPACE_WS: ByteSet = ByteSet::of(b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f");
const PUNCT_PAD: ByteSet = ByteSet::of(b";@#$%&");
const QUESTION_BANG: ByteSet = ByteSet::of(b"?!");
const BRACKETS: ByteSet = ByteSet::of(b"[](){}<>");
const OPEN_CONTEXT: ByteSet = ByteSet::of(b" ([{<");

/// `(?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b` → `\1 \2`: a quote before a one-character
/// word other than the clitic letters.
fn quote_before_single_char(src: &[u8], dst: &mut Vec<u8>) {
    let mut i = 0;
    while i < src.len() {
        if src[i] == b'\'' {
            if let Some(&c) = src.get(i + 1) {
                let bounded = !word_at(src, i + 2);
                if is_word(c)
                    && bounded
                    && !matches!(c.to_ascii_lowercase(), b'm' | b't' | b's' | b'd' | b'n')
                {
                    dst.extend_from_slice(&[b'\'', b' ', c]);
                    i += 2;
                    continue;
                }
            }
        }
        dst.push(src[i]);
        i += 1;
    }
}

/// `([ \(\[{<])(\"|\'{2})` → `\1 `` `.
fn opening_double_quote(src: &[u8], dst: &mut Vec<u8>) {
    let mut i = 0;
    while i < src.len() {
        if OPEN_CONTEXT.contains(src[i]) {
            let len = match src.get(i + 1..) {
                Some([b'"', ..]) => 1,
                Some([b'\'', b'\'', ..]) => 2,
                _ => 0,
            };
            if len > 0 {
                dst.push(src[i]);
                dst.extend_from_slice(b" `` ");
                i += 1 + len;
                continue;
            }
        }
        dst.push(src[i]);
        i += 1;
    }
}

/// `([:,])([^\d])` → ` \1 \2`.
fn colon_comma(src: &[u8], dst: &mut Vec<u8>) {
    let mut i = 0;
    while i < src.len() {
        if COLON_COMMA.contains(src[i]) {
            if let Some(&d) = src.get(i + 1) {
                if !d.is_ascii_digit() {
                    dst.extend_from_slice(&[b' ', src[i], b' ', d]);
                    i += 2;
                    continue;
                }
            }
        }
        dst.push(src[i]);
        i += 1;
    }
}

/// `([^'])' ` → `\1 ' `.
fn quote_before_space(src: &[u8], dst: &mut Vec<u8>) {
    let mut i = 0;
    while i < src.len() {
        if src[i] != b'\'' && src.get(i + 1) == Some(&b'\'') && src.get(i + 2) == Some(&b' ') {
            dst.extend_from_slice(&[src[i], b' ', b'\'', b' ']);
            i += 3;
        } else {
            dst.push(src[i]);
            i += 1;
        }
    }
}

/// `\s+` → ` `.
fn collapse_space(src: &[u8], dst: &mut Vec<u8>) {
    let mut i = 0;
    while i < src.len() {
        if is_space(src[i]) {
            while i < src.len() && is_space(src[i]) {
                i += 1;
            }
            dst.push(b' ');
        } else {
            dst.push(src[i]);
            i += 1;
        }
    }
}

/// `([^' ])(<alternatives>) ` → `\1 \2 `, where `clitic_len(rest)` gives the length of
/// the alternative matching at the start of `rest` (in regex order) or 0.
fn split_clitic(src: &[u8], dst: &mut Vec<u8>, clitic_len: impl Fn(&[u8]) -> usize) {
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        if c != b'\'' && c != b' ' {
            let len = clitic_len(&src[i + 1..]);
            if len > 0 {
                dst.push(c);
                dst.push(b' ');
                dst.extend_from_slice(&src[i + 1..i + 1 + len]);
                dst.push(b' ');
                i += len + 2;
                continue;
            }
        }
        dst.push(c);
        i += 1;
    }
}

/// `('[sS]|'[mM]|'[dD]|') ` at the start of `r`: length of the group.
fn clitic_smd(r: &[u8]) -> usize {
    match r {
        [b'\'', b's' | b'S' | b'm' | b'M' | b'd' | b'D', b' ', ..] => 2,
        [b'\'', b' ', ..] => 1,
        _ => 0,
    }
}

/// `('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ` at the start of `r`: length of the group.
fn clitic_long(r: &[u8]) -> usize {
    match r {
        [b'\'', b'l', b'l', b' ', ..]
        | [b'\'', b'L', b'L', b' ', ..]
        | [b'\'', b'r', b'e', b' ', ..]
        | [b'\'', b'R', b'E', b' ', ..]
        | [b'\'', b'v', b'e', b' ', ..]
        | [b'\'', b'V', b'E', b' ', ..]
        | [b'n', b'\'', b't', b' ', ..]
        | [b'N', b'\'', b'T', b' ', ..] => 3,
        _ => 0,
    }
}

/// `s[i]` exists and is a word character (so `!word_at` is `\b` after a word character).
fn word_at(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(|&c| is_word(c))
}

fn starts_with_ci(s: &[u8], pat: &[u8]) -> bool {
    s.len() >= pat.len() && s[..pat.len()].eq_ignore_ascii_case(pat)
}

/// MacIntyre's `CONTRACTIONS2`, `(?i)\b(first)(second)\b` → ` \1 \2 ` (for "wanna" the
/// end is `(?=\s)`).  The eight patterns run one after another in NLTK; their matches
/// start and end at word boundaries next to non-word characters, so no match of one can
/// create, destroy or overlap a match of another, and a single scan trying them in
/// order at each word start gives the same text.
const CONTRACTIONS2: [(&[u8], &[u8]); 8] = [
    (b"can", b"not"),
    (b"d", b"'ye"),
    (b"gim", b"me"),
    (b"gon", b"na"),
    (b"got", b"ta"),
    (b"lem", b"me"),
    (b"more", b"'n"),
    (b"wan", b"na"),
];

fn contraction2_at(src: &[u8], i: usize) -> Option<(usize, usize)> {
    if i > 0 && is_word(src[i - 1]) {
        return None;
    }
    let rest = &src[i..];
    for (k, (a, b)) in CONTRACTIONS2.iter().enumerate() {
        let len = a.len() + b.len();
        if starts_with_ci(rest, a) && starts_with_ci(&rest[a.len()..], b) {
            let ok = if k == 7 {
                rest.get(len).is_some_and(|&c| is_space(c))
            } else {
                !word_at(rest, len)
            };
            if ok {
                return Some((a.len(), len));
            }
        }
    }
    None
}

fn might_have_contraction2(src: &[u8]) -> bool {
    src.iter().enumerate().any(|(i, &c)| {
        matches!(c | 0x20, b'c' | b'd' | b'g' | b'l' | b'm' | b'w')
            && (i == 0 || !is_word(src[i - 1]))
    })
}

fn contractions2(src: &[u8], dst: &mut Vec<u8>) {
    let mut i = 0;
    while i < src.len() {
        if let Some((split, len)) = contraction2_at(src, i) {
            dst.push(b' ');
            dst.extend_from_slice(&src[i..i + split]);
            dst.push(b' ');
            dst.extend_from_slice(&src[i + split..i + len]);
            dst.push(b' ');
            i += len;
        } else {
            dst.push(src[i]);
            i += 1;
        }
    }
}

/// `CONTRACTIONS3`: `(?i) ('t)(is)\b` then `(?i) ('t)(was)\b`, → ` \1 \2 `.  The two
/// cannot overlap or interact, so one scan.  Returns the match length at `rest`, or 0.
fn contraction3_len(rest: &[u8]) -> usize {
    if !starts_with_ci(rest, b" 't") {
        return 0;
    }
    for tail in [&b"is"[..], b"was"] {
        let len = 3 + tail.len();
        if starts_with_ci(&rest[3..], tail) && !word_at(rest, len) {
            return len;
        }
    }
    0
}

fn contractions3(src: &[u8], dst: &mut Vec<u8>) {
    let mut i = 0;
    while i < src.len() {
        let len = contraction3_len(&src[i..]);
        if len > 0 {
            dst.push(b' ');
            dst.extend_from_slice(&src[i + 1..i + 3]);
            dst.push(b' ');
            dst.extend_from_slice(&src[i + 3..i + len]);
            dst.push(b' ');
            i += len;
        } else {
            dst.push(src[i]);
            i += 1;
        }
    }
}

/// Tokenizes one sentence, appending the tokens to `out`.
pub(crate) fn tokenize_sentence(sentence: &[u8], s: &mut Scratch, out: &mut Vec<String>) {
    s.a.clear();
    s.a.extend_from_slice(sentence);
    let mut present = ByteSet::present_in(sentence);
    // Bytes that passes may introduce: '`' (from '"'), '\'' (from '"').
    if present.contains(b'"') {
        present = present.union(ByteSet::of(b"`'"));
    }

    // STARTING_QUOTES
    if present.contains(b'`') {
        run(s, |a, b| pad_runs(a, b, b'`', 1));
    }
    if s.a.first() == Some(&b'"') {
        s.a.splice(0..1, *b"``");
    }
    if present.contains(b'`') {
        run(s, |a, b| replace_pair(a, b, *b"``", b" `` "));
    }
    if present.intersects(CLOSE_TRIGGER) {
        run(s, opening_double_quote);
    }
    if present.contains(b'\'') {
        run(s, quote_before_single_char);
    }

    // PUNCTUATION
    if present.contains(b'.') {
        run(s, |a, b| final_period(a, b, true));
    }
    if present.intersects(COLON_COMMA) {
        run(s, colon_comma);
        if let Some(p) = dollar_pos(&s.a, COLON_COMMA) {
            let c = s.a[p];
            s.a.splice(p..=p, [b' ', c, b' ']);
        }
    }
    if present.contains(b'.') {
        run(s, |a, b| pad_runs(a, b, b'.', 2));
    }
    if present.intersects(PUNCT_PAD) {
        run(s, |a, b| pad_each(a, b, PUNCT_PAD));
    }
    if present.contains(b'.') {
        run(s, |a, b| final_period(a, b, false));
    }
    if present.intersects(QUESTION_BANG) {
        run(s, |a, b| pad_each(a, b, QUESTION_BANG));
    }
    if present.contains(b'\'') {
        run(s, quote_before_space);
    }
    if present.contains(b'*') {
        run(s, |a, b| pad_each(a, b, ByteSet::of(b"*")));
    }
    // PARENS_BRACKETS, DOUBLE_DASHES
    if present.intersects(BRACKETS) {
        run(s, |a, b| pad_each(a, b, BRACKETS));
    }
    if present.contains(b'-') {
        run(s, |a, b| replace_pair(a, b, *b"--", b" -- "));
    }

    // text = " " + text + " "; ENDING_QUOTES
    s.a.insert(0, b' ');
    s.a.push(b' ');
    if present.contains(b'\'') {
        run(s, |a, b| replace_pair(a, b, *b"''", b" '' "));
    }
    if present.contains(b'"') {
        run(s, |a, b| {
            for &c in a {
                if c == b'"' {
                    b.extend_from_slice(b" '' ");
                } else {
                    b.push(c);
                }
            }
        });
    }
    if present.intersects(NON_SPACE_WS) {
        run(s, collapse_space);
    }
    if present.contains(b'\'') {
        run(s, |a, b| split_clitic(a, b, clitic_smd));
        run(s, |a, b| split_clitic(a, b, clitic_long));
    }

    // CONTRACTIONS2, CONTRACTIONS3
    if might_have_contraction2(&s.a) {
        run(s, contractions2);
    }
    if present.contains(b'\'') {
        run(s, contractions3);
    }

    // text.split()
    for tok in s.a.split(|&b| is_space(b)).filter(|t| !t.is_empty()) {
        out.push(String::from_utf8_lossy(tok).into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tb(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        tokenize_sentence(s.as_bytes(), &mut Scratch::default(), &mut out);
        out
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
