//! The common case of the Treebank word tokenizer in one pass.
//!
//! `treebank.rs` replays NLTK's ~30 substitutions one after another, which is what makes it
//! checkable against NLTK line by line. On ordinary prose nearly all of them do nothing: the
//! tokens of a sentence made of words, spaces and plain punctuation follow from a handful of
//! local rules, and every token but a rewritten `"` is a substring of the sentence. This
//! module applies those rules in a single left-to-right scan and records each token as a range
//! of the sentence (copied once); the first byte or pattern outside the rules it knows makes
//! it give up, and the sentence goes through `treebank.rs` instead. Exactness therefore rests
//! on one claim — *on every sentence this scan accepts, its tokens are NLTK's* — which is
//! checked against the exact port on the shared vectors and on ≥ 10M random and adversarial
//! strings (`tests/tokenize_fused.rs`).
//!
//! Speed: wherever no word is open, the runs of words (`\w` bytes and single hyphens between
//! them), spaces, `,`/`:` before a space and `( ) * ; ? !` are taken 64 bytes at a time from
//! the text's token maps (`masks.rs`, `TokenMaps::runs`): the `k`-th token start and end are
//! the `k`-th set bits of two masks; only the byte that stops a run (`.` `'`, quotes, other
//! brackets…) goes through the byte-class dispatch, and the end of a `\w` run there is found
//! eight bytes at a time (`scan::word_run_end`). A sentence's final period after a `\w` byte is
//! recorded without a dispatch. On the benchmark texts the tokenizer as a whole (Punkt
//! included) runs at ~420 MB/s of ASCII prose (`examples/tokenize_mbps.rs`, BENCHMARKS.md;
//! ~290 before the bitmaps, ~390 with the word/space/comma windows alone).
//!
//! The rules, derived from NLTK 3.9.1 `NLTKWordTokenizer` for sentences without `` ` ``,
//! control characters or non-ASCII bytes (each names the NLTK pattern it stands for):
//!
//! * whitespace separates tokens (`\s+` → ` `, `split()`);
//! * `"` is a token of its own, ```` `` ```` where it opens (at the start, after a space or an
//!   opening bracket, STARTING_QUOTES 2–4) and `''` elsewhere (ENDING_QUOTES 3); an opening
//!   one is no closer for the final period;
//! * `; @ # $ % & ? ! *` and brackets `[](){}<>` are always tokens of their own (PUNCTUATION
//!   5, 7, 9, PARENS_BRACKETS);
//! * `,` and `:` are tokens of their own unless a digit follows (`([:,])([^\d])`, `([:,])$`);
//!   a `,`/`:` followed by another `,`/`:` is left to the port (the first match consumes the
//!   second character, so the second is not padded);
//! * a run of two or more periods is a token (`\.{2,}`); the *final period* — the last `.` of
//!   the sentence, not preceded by a `.`, followed only by closing brackets and spaces (the
//!   closer class of PUNCTUATION 1 holds a space), then whitespace — is a token (PUNCTUATION 1
//!   and 6); every other period stays inside its word (`3.88`, `U.S.`);
//! * `--` is a token (DOUBLE_DASHES); a single `-` stays inside its word, three or more go to
//!   the port;
//! * an apostrophe is accepted only as a clitic that ENDING_QUOTES 5/6 split off: `'s 'S 'm
//!   'M 'd 'D 'll 'LL 're 'RE 've 'VE` after a non-empty word part, or `n't`/`N'T` after at
//!   least one more character, and only where the clitic is followed by whitespace, the end,
//!   or a character that is itself split off (NLTK requires a space after the clitic once
//!   padding is done). An apostrophe right after a `\w` byte of a word without a clitic, where
//!   a clitic could end (`jurors' verdict`, `Jones'.`), is a token of its own (PUNCTUATION 8
//!   `([^'])' `, or ENDING_QUOTES 5's bare `'` once later padding has put the space there).
//!   An apostrophe that opens a word (after the start, whitespace or an opening bracket, before
//!   a `\w` run of two or more bytes not starting with `t`/`T`) stays the word's first
//!   character (`'Augsburg Confession'` is `'Augsburg Confession '`).
//!   Every other apostrophe (quotes, `'tis`, `d'ye`, `rock'n'roll`) goes to the port; so do the CONTRACTIONS2 words (`cannot`, `gimme`, `gonna`, `gotta`, `lemme`,
//!   `wanna` as a whole `\w` run, in any case).
//! * everything else printable (`\w`, `/ + = ~ ^ | \` and the like) stays inside its word.

use super::ascii::is_space;
use super::masks::TokenMaps;
use super::scan::word_run_end;
use super::tokens::Tokens;

/// Byte classes of the scan.
const REJECT: u8 = 0;
const WORD: u8 = 1;
const SPACE: u8 = 2;
const SPLIT: u8 = 3;
const DOT: u8 = 4;
const COMMA: u8 = 5;
const DASH: u8 = 6;
const APOS: u8 = 7;
const ATTACH: u8 = 8;
const QUOTE: u8 = 9;

static CLASS: [u8; 256] = {
    let mut t = [REJECT; 256];
    let mut b = 0x21;
    while b < 0x7f {
        t[b] = ATTACH;
        b += 1;
    }
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'_' {
            t[b] = WORD;
        }
        if is_space(c) {
            t[b] = SPACE;
        }
        b += 1;
    }
    let split = b";@#$%&?!*[](){}<>";
    let mut i = 0;
    while i < split.len() {
        t[split[i] as usize] = SPLIT;
        i += 1;
    }
    t[b'.' as usize] = DOT;
    t[b',' as usize] = COMMA;
    t[b':' as usize] = COMMA;
    t[b'-' as usize] = DASH;
    t[b'\'' as usize] = APOS;
    t[b'"' as usize] = QUOTE;
    t[b'`' as usize] = REJECT;
    t
};

/// The sentence is outside the rules: use the exact port.
pub(crate) struct Unsupported;

/// Whether the `.` at `p` is the final period (PUNCTUATION 1): preceded by a non-`.`, followed
/// only by closing brackets and spaces (the pattern's closer class holds a space), then
/// whitespace to the end — which also makes it the last `.`. (Quotes, the pattern's other
/// closers, are rejected by the scan.) Decided at each `.` from the bytes after it: a period
/// inside a sentence fails on its next byte or two, so this costs no pass of its own.
#[inline]
fn is_final_period(s: &[u8], p: usize) -> bool {
    if p == 0 || s[p - 1] == b'.' {
        return false;
    }
    let rest = &s[p + 1..];
    // A `"` after a space was an opening quote, already turned into ` `` ` (not a closer) by
    // STARTING_QUOTES before this pattern runs; any other `"` is still a closer here.
    let mut prev = b'.';
    let k = rest
        .iter()
        .take_while(|&&b| {
            let closer =
                matches!(b, b']' | b')' | b'}' | b'>' | b' ') || (b == b'"' && prev != b' ');
            prev = b;
            closer
        })
        .count();
    rest[k..].iter().all(|&b| is_space(b))
}

/// Whether the `"` at `i` opens (STARTING_QUOTES 2–4: at the start, after ` ([{<`, or right
/// after a sentence-initial `"`, which pattern 3 has padded with a space by then): it becomes
/// ```` `` ````; every other `"` becomes `''` (ENDING_QUOTES 3).
#[inline]
fn opens(s: &[u8], i: usize) -> bool {
    i == 0 || matches!(s[i - 1], b' ' | b'(' | b'[' | b'{' | b'<') || (i == 1 && s[0] == b'"')
}

/// Whether a `\w` run is one of the CONTRACTIONS2 words (case-insensitive).
///
/// Branch-free past the length test: the run's first four and last two bytes (overlapping for
/// five bytes) and its length packed into one word with ASCII case folded, compared with the
/// six words packed the same way. (`| 0x20` folds exactly `A-Z` onto `a-z` and no other byte
/// onto a letter, so a packed word equals a packed CONTRACTIONS2 word only for that word in
/// some case.) Five- and six-byte words starting with `c g l w` (`could`, `going`, `while`…)
/// are common, so this is not a cold call.
#[inline(always)]
pub(super) fn is_contraction2(w: &[u8]) -> bool {
    let len = w.len();
    if len.wrapping_sub(5) > 1 {
        return false;
    }
    let (Some(head), Some(tail)) = (w.first_chunk::<4>(), w.last_chunk::<2>()) else {
        return false;
    };
    let key = pack(*head, *tail, len) | FOLD;
    CONTRACTIONS2_KEYS
        .iter()
        .fold(false, |hit, &k| hit | (key == k))
}

/// The first four and last two bytes of a word and its length, as one word.
#[inline(always)]
const fn pack(head: [u8; 4], tail: [u8; 2], len: usize) -> u64 {
    u32::from_le_bytes(head) as u64 | (u16::from_le_bytes(tail) as u64) << 32 | ((len as u64) << 48)
}

/// The ASCII case bit of the six packed bytes.
const FOLD: u64 = 0x2020_2020_2020;

/// `cannot gimme gonna gotta lemme wanna`, packed by [`pack`].
const CONTRACTIONS2_KEYS: [u64; 6] = {
    const fn key(w: &[u8]) -> u64 {
        let n = w.len();
        pack([w[0], w[1], w[2], w[3]], [w[n - 2], w[n - 1]], n)
    }
    [
        key(b"cannot"),
        key(b"gimme"),
        key(b"gonna"),
        key(b"gotta"),
        key(b"lemme"),
        key(b"wanna"),
    ]
};

/// The length of the clitic that starts at the apostrophe `s[i]` (after `s[i]`), if it is one
/// of ENDING_QUOTES 5/6's `'s 'S 'm 'M 'd 'D 'll 'LL 're 'RE 've 'VE`.
#[inline]
fn clitic_after(s: &[u8], i: usize) -> Option<usize> {
    match s.get(i + 1..).unwrap_or_default() {
        [b'l', b'l', ..] | [b'L', b'L', ..] | [b'r', b'e', ..] | [b'R', b'E', ..] => Some(2),
        [b'v', b'e', ..] | [b'V', b'E', ..] => Some(2),
        [b's' | b'S' | b'm' | b'M' | b'd' | b'D', ..] => Some(1),
        _ => None,
    }
}

/// Whether the apostrophe at `s[i]`, which starts a word, stays the first character of that
/// word: it follows the sentence start, whitespace or an opening bracket and precedes a `\w`
/// run of at least two bytes not starting with `t`/`T`. NLTK's only rules for such a quote are
/// STARTING_QUOTES 5, `'(?!re|ve|ll|m|t|s|d|n)(\w)\b` (a one-byte run: refused here), and
/// CONTRACTIONS3's ` 'tis`/` 'twas` (refused here by their `t`); ENDING_QUOTES 5/6 need a
/// non-space before the quote, and every bracket before it has been padded with a space by
/// then. The word then goes on as any other (`'anime',` is `'anime ' ,`).
#[inline]
fn opening_apostrophe(s: &[u8], i: usize) -> bool {
    let after_gap = i == 0 || matches!(s[i - 1], b'(' | b'[' | b'{' | b'<') || is_space(s[i - 1]);
    let run = word_run_end(s, i + 1) - (i + 1);
    after_gap && run >= 2 && !matches!(s[i + 1], b't' | b'T')
}

/// Whether the character at `i` is split off as (the start of) a token of its own, i.e.
/// padded with a space on its left — what must follow a clitic.
#[inline]
fn splits_at(s: &[u8], i: usize) -> bool {
    let Some(&c) = s.get(i) else { return true };
    match CLASS[usize::from(c)] {
        SPACE | SPLIT | QUOTE => true,
        DOT => s.get(i + 1) == Some(&b'.') || is_final_period(s, i),
        COMMA => !s
            .get(i + 1)
            .is_some_and(|&d| d.is_ascii_digit() || d == b',' || d == b':'),
        DASH => s.get(i + 1) == Some(&b'-') && s.get(i + 2) != Some(&b'-'),
        _ => false,
    }
}

/// Tokenizes one ASCII sentence (`text` is the sentence as `str`, `s` its bytes) into `out`,
/// or leaves `out` as it was and returns [`Unsupported`].
pub(crate) fn tokenize_sentence(text: &str, out: &mut Tokens) -> Result<(), Unsupported> {
    let mark = out.mark();
    let base = out.push_source(text);
    let mut maps = TokenMaps::default();
    maps.build(text.as_bytes());
    let mut fused = true;
    let spans = [(0, text.len())];
    tokenize_sentences(text.as_bytes(), &spans, &maps, base, out, &mut |_, _| {
        fused = false
    });
    if fused {
        Ok(())
    } else {
        out.reset_to(mark);
        Err(Unsupported)
    }
}

/// [`tokenize_sentence`] of each sentence `text[a..b]` of `spans`, the text already copied
/// into `out`'s text at `base` (once, not each sentence) and `maps` its token maps; a sentence
/// outside the rules leaves no token and goes to `fallback` instead. The CPU features of the
/// scan are detected once per text, not per sentence.
pub(crate) fn tokenize_sentences(
    text: &[u8],
    spans: &[(usize, usize)],
    maps: &TokenMaps,
    base: usize,
    out: &mut Tokens,
    fallback: &mut dyn FnMut(&[u8], &mut Tokens),
) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("popcnt")
        && std::is_x86_feature_detected!("bmi1")
        && std::is_x86_feature_detected!("lzcnt")
    {
        #[allow(unsafe_code)]
        // SAFETY: POPCNT, BMI1 and LZCNT were just detected on this CPU.
        unsafe {
            sentences_bit_ops(text, spans, maps, base, out, fallback);
        }
        return;
    }
    sentences_with(text, spans, maps, base, out, fallback);
}

/// [`sentences_with`] compiled for POPCNT, BMI1 and LZCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt,bmi1,lzcnt")]
fn sentences_bit_ops(
    text: &[u8],
    spans: &[(usize, usize)],
    maps: &TokenMaps,
    base: usize,
    out: &mut Tokens,
    fallback: &mut dyn FnMut(&[u8], &mut Tokens),
) {
    sentences_with(text, spans, maps, base, out, fallback);
}

#[inline(always)]
fn sentences_with(
    text: &[u8],
    spans: &[(usize, usize)],
    maps: &TokenMaps,
    base: usize,
    out: &mut Tokens,
    fallback: &mut dyn FnMut(&[u8], &mut Tokens),
) {
    for &(a, b) in spans {
        let a = a.min(text.len());
        let b = b.clamp(a, text.len());
        let sentence = &text[a..b];
        let mark = out.mark();
        if scan_with(sentence, maps, a, base + a, out).is_err() {
            out.reset_to(mark);
            fallback(sentence, out);
        }
    }
}

/// The scan of one sentence (`off`: where it starts in the text of `maps`; `base`: where the
/// text starts in `out`'s text).
#[inline(always)]
fn scan_with(
    s: &[u8],
    maps: &TokenMaps,
    off: usize,
    base: usize,
    out: &mut Tokens,
) -> Result<(), Unsupported> {
    // A sentence ending in a `\w` byte and a period: that period is the final one (nothing
    // but it follows, and no `.` precedes it), a token of its own; and nothing before it
    // depends on it (a clitic before it is followed by a split character either way, a period
    // before it is no final period either way): scan the sentence without it, then record it.
    let (s, final_period) = match s {
        [head @ .., c, b'.'] if CLASS[usize::from(*c)] == WORD => (&s[..head.len() + 1], true),
        _ => (s, false),
    };
    let n = s.len();
    // Start of the word being built (NONE: none), and where a clitic splits it.
    const NONE: usize = usize::MAX;
    let mut start = NONE;
    let mut split = NONE;
    macro_rules! tok {
        ($a:expr, $b:expr) => {
            out.push_span(base + $a, base + $b)
        };
    }
    macro_rules! end_word {
        ($at:expr) => {
            if start != NONE {
                if split != NONE {
                    tok!(start, split);
                    tok!(split, $at);
                    split = NONE;
                } else {
                    tok!(start, $at);
                }
                start = NONE;
            }
        };
    }
    let mut i = 0;
    while i < n {
        if start == NONE {
            // No word open (and `s[i - 1]` is no word byte: every arm that leaves none open
            // ends on a byte outside words): the runs of words, spaces and single-byte tokens
            // from the token maps; the arms below take the byte they stop at.
            i = maps.runs(s, off, base, i, out)?;
            if i >= n {
                break;
            }
        }
        let c = s[i];
        match CLASS[usize::from(c)] {
            WORD => {
                let j = word_run_end(s, i + 1);
                if is_contraction2(&s[i..j]) {
                    return Err(Unsupported);
                }
                if start == NONE {
                    start = i;
                }
                // A space after the word ends it (the SPACE arm's step, without the dispatch).
                if s.get(j) == Some(&b' ') {
                    end_word!(j);
                    i = j + 1;
                } else {
                    i = j;
                }
            }
            SPACE => {
                end_word!(i);
                i += 1;
            }
            SPLIT => {
                end_word!(i);
                tok!(i, i + 1);
                i += 1;
            }
            DOT => {
                if s.get(i + 1) != Some(&b'.') && is_final_period(s, i) {
                    end_word!(i);
                    tok!(i, i + 1);
                    i += 1;
                } else if s.get(i + 1) == Some(&b'.') {
                    let mut j = i + 2;
                    while j < n && s[j] == b'.' {
                        j += 1;
                    }
                    end_word!(i);
                    tok!(i, j);
                    i = j;
                } else {
                    if split != NONE {
                        return Err(Unsupported);
                    }
                    if start == NONE {
                        start = i;
                    }
                    i += 1;
                }
            }
            COMMA => match s.get(i + 1) {
                Some(b',' | b':') => return Err(Unsupported),
                Some(d) if d.is_ascii_digit() => {
                    if split != NONE {
                        return Err(Unsupported);
                    }
                    if start == NONE {
                        start = i;
                    }
                    i += 1;
                }
                _ => {
                    end_word!(i);
                    tok!(i, i + 1);
                    i += 1;
                }
            },
            DASH => {
                if s.get(i + 1) == Some(&b'-') {
                    if s.get(i + 2) == Some(&b'-') {
                        return Err(Unsupported);
                    }
                    end_word!(i);
                    tok!(i, i + 2);
                    i += 2;
                } else {
                    if split != NONE {
                        return Err(Unsupported);
                    }
                    if start == NONE {
                        start = i;
                    }
                    i += 1;
                }
            }
            APOS => {
                if start == NONE {
                    // An opening quote (`'Augsburg Confession'`) stays at the start of its word.
                    if opening_apostrophe(s, i) {
                        start = i;
                        i += 1;
                        continue;
                    }
                    return Err(Unsupported);
                }
                // A clitic of the word being built: `X's` (at least one character before the
                // apostrophe) or `Xn't` (at least one before the `n`).
                if split != NONE {
                    return Err(Unsupported);
                }
                if CLASS[usize::from(s[i - 1])] == WORD && splits_at(s, i + 1) {
                    // `X' ` (a plural possessive): the quote is a token of its own.
                    end_word!(i);
                    tok!(i, i + 1);
                    i += 1;
                    continue;
                }
                let (at, len) = if i >= start + 2
                    && ((s[i - 1] == b'n' && s.get(i + 1) == Some(&b't'))
                        || (s[i - 1] == b'N' && s.get(i + 1) == Some(&b'T')))
                {
                    (i - 1, 3)
                } else if i > start {
                    match clitic_after(s, i) {
                        Some(k) => (i, k + 1),
                        None => return Err(Unsupported),
                    }
                } else {
                    return Err(Unsupported);
                };
                let end = at + len;
                if !splits_at(s, end) {
                    return Err(Unsupported);
                }
                if at == i - 1 {
                    // `n't` shortens the `\w` run before it by its `n`: CONTRACTIONS2 then
                    // sees the shorter run.
                    let mut w = at;
                    while w > start && CLASS[usize::from(s[w - 1])] == WORD {
                        w -= 1;
                    }
                    if is_contraction2(&s[w..at]) {
                        return Err(Unsupported);
                    }
                }
                split = at;
                i = end;
            }
            QUOTE => {
                end_word!(i);
                out.push_literal(if opens(s, i) { "``" } else { "''" });
                i += 1;
            }
            ATTACH => {
                if split != NONE {
                    return Err(Unsupported);
                }
                if start == NONE {
                    start = i;
                }
                i += 1;
            }
            _ => return Err(Unsupported),
        }
    }
    if start != NONE {
        if split != NONE {
            tok!(start, split);
            tok!(split, n);
        } else {
            tok!(start, n);
        }
    }
    if final_period {
        tok!(n, n + 1);
    }
    Ok(())
}
