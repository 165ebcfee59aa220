//! Punkt sentence boundaries, as NLTK 3.9.1's `PunktSentenceTokenizer.span_tokenize`
//! with the English `punkt_tab` parameters and `realign_boundaries=True`.
//!
//! Only ever called on ASCII text (the NIST tokenizer handles everything else), so it
//! works on bytes and uses the ASCII reductions of Python's Unicode classes (`ascii.rs`).
//!
//! NLTK does not annotate the whole text.  It finds every `.`, `?` or `!` followed by a
//! non-word character or by whitespace and a token (`period_context_re`), cuts a small
//! *context* string around each (the word before, the mark, what follows), runs the
//! Punkt word tokenizer and both annotation passes on that context alone, and breaks the
//! sentence if any token but the context's last is still a sentence break.  We reproduce
//! that procedure step by step, including its quirks (for instance a whitespace found at
//! index 0 of the gap before a mark counts as "no whitespace", because NLTK tests the
//! index for truthiness).  The word-level decisions live in `punkt_annotate.rs`.

use super::ascii::{is_space, is_string_whitespace};
use super::masks::TokenMaps;
use super::punkt_annotate::{self, context_has_sentbreak, quick_sentbreak_at};
use super::scan::{ascii_mark_flags, Flagged};

/// Buffers of [`sentence_spans`], reused across calls.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    contexts: Vec<(EndMatch, usize, usize)>,
    slices: Vec<(usize, usize)>,
    annotate: punkt_annotate::Scratch,
    /// Skip the shortcut of [`quick_sentbreak`] (the exact procedure only: the oracle of
    /// the tests).
    pub(crate) exact: bool,
}

/// A hit of NLTK's `period_context_re`: `[.?!]` followed by a non-word character
/// (`after_tok`) or by whitespace and a token (`\s+(?P<next_tok>\S+)`).
#[derive(Debug, Clone, Copy)]
struct EndMatch {
    /// Position of the sentence-end character (the match is that one character).
    start: usize,
    /// End of the `after_tok` group.
    after_end: usize,
    /// Start of `next_tok`, if that alternative matched.
    next_tok: Option<usize>,
}

/// `_re_non_word_chars`: `[)";}\]*:@'({[?!]`.
#[inline]
pub(crate) fn is_non_word_char(b: u8) -> bool {
    matches!(
        b,
        b')' | b'"'
            | b';'
            | b'}'
            | b']'
            | b'*'
            | b':'
            | b'@'
            | b'\''
            | b'('
            | b'{'
            | b'['
            | b'?'
            | b'!'
    )
}

fn period_context_at(text: &[u8], p: usize) -> Option<EndMatch> {
    let next = *text.get(p + 1)?;
    if is_non_word_char(next) {
        return Some(EndMatch {
            start: p,
            after_end: p + 2,
            next_tok: None,
        });
    }
    if !is_space(next) {
        return None;
    }
    let mut q = p + 1;
    while q < text.len() && is_space(text[q]) {
        q += 1;
    }
    if q == text.len() {
        return None;
    }
    let mut r = q;
    while r < text.len() && !is_space(text[r]) {
        r += 1;
    }
    Some(EndMatch {
        start: p,
        after_end: r,
        next_tok: Some(q),
    })
}

/// `_match_potential_end_contexts`: each kept match with its context `(start, end)`,
/// a contiguous range of `text` (the word before the mark up to the end of `after_tok`).
/// `marks` yields the positions of `.?!` in `text`, in order.
fn potential_end_contexts(
    text: &[u8],
    marks: impl Iterator<Item = usize>,
    out: &mut Vec<(EndMatch, usize, usize)>,
) {
    let mut prev_slice = (0usize, 0usize);
    let mut prev_match: Option<EndMatch> = None;
    for p in marks {
        let Some(m) = period_context_at(text, p) else {
            continue;
        };
        // `_get_last_whitespace_index(before_text)`, where 0 means "none" (even when
        // the whitespace really is at index 0).
        let before = &text[prev_slice.1.min(m.start)..m.start];
        let last_ws = before
            .iter()
            .rposition(|&c| is_string_whitespace(c))
            .unwrap_or(0);
        let word_start = if last_ws != 0 {
            last_ws + prev_slice.1 + 1
        } else {
            prev_slice.0
        };
        if let Some(pm) = prev_match {
            if prev_slice.1 <= word_start {
                out.push((pm, prev_slice.0, pm.after_end));
            }
        }
        prev_match = Some(m);
        prev_slice = (word_start, m.start);
    }
    if let Some(pm) = prev_match {
        out.push((pm, prev_slice.0, pm.after_end));
    }
}

/// Length of `text.rstrip()` (Python whitespace).
fn rstrip_len(text: &[u8]) -> usize {
    text.iter()
        .rposition(|&b| !is_space(b))
        .map_or(0, |i| i + 1)
}

/// `re_boundary_realignment.match(s)` = `["')\]}]+?(?:\s+|(?=--)|$)` (MULTILINE):
/// returns (length of the closing characters, match end).
fn realign_match(s: &[u8]) -> Option<(usize, usize)> {
    let mut k = 0;
    while k < s.len() && matches!(s[k], b'"' | b'\'' | b')' | b']' | b'}') {
        k += 1; // lazy `+?`: try the shortest run first
        if k < s.len() && is_space(s[k]) {
            let mut e = k;
            while e < s.len() && is_space(s[e]) {
                e += 1;
            }
            return Some((k, e));
        }
        if s[k..].starts_with(b"--") || k == s.len() {
            return Some((k, k));
        }
    }
    None
}

/// Sentence spans of ASCII `text`, as `PunktSentenceTokenizer.span_tokenize(text)`; `bits`,
/// the text's byte-class maps if built (their `.?!` map replaces the scan for the marks, unless
/// the scratch asks for the exact procedure).
pub(crate) fn sentence_spans(
    text: &[u8],
    bits: Option<&TokenMaps>,
    scratch: &mut Scratch,
    out: &mut Vec<(usize, usize)>,
) {
    let Scratch {
        contexts,
        slices,
        annotate,
        exact,
    } = scratch;
    contexts.clear();
    slices.clear();
    match bits {
        Some(bits) if !*exact => potential_end_contexts(text, bits.marks(), contexts),
        _ => potential_end_contexts(text, Flagged::new(text, ascii_mark_flags), contexts),
    }

    // `_slices_from_text`.
    let mut last_break = 0;
    for &(m, cs, ce) in contexts.iter() {
        let cs = cs.min(ce);
        let context = &text[cs..ce];
        let quick = if *exact {
            None
        } else {
            quick_sentbreak_at(context, m.start - cs)
        };
        if quick.unwrap_or_else(|| context_has_sentbreak(context, annotate)) {
            slices.push((last_break, m.start + 1));
            last_break = m.next_tok.unwrap_or(m.start + 1);
        }
    }
    slices.push((last_break, rstrip_len(text)));

    // `_realign_boundaries`.
    let mut realign = 0;
    for i in 0..slices.len() {
        let s1 = (slices[i].0 + realign, slices[i].1);
        let nonempty = s1.0 < s1.1.min(text.len());
        let Some(&s2) = slices.get(i + 1) else {
            if nonempty {
                out.push(s1);
            }
            continue;
        };
        let a = s2.0.min(text.len());
        let sub = &text[a..s2.1.min(text.len()).max(a)];
        if let Some((keep, end)) = realign_match(sub) {
            out.push((s1.0, s2.0 + keep));
            realign = end;
        } else {
            realign = 0;
            if nonempty {
                out.push(s1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(text: &str) -> Vec<&str> {
        let mut spans = Vec::new();
        sentence_spans(text.as_bytes(), None, &mut Scratch::default(), &mut spans);
        spans
            .into_iter()
            .map(|(a, b)| text.get(a..b.max(a)).unwrap_or(""))
            .collect()
    }

    #[test]
    fn nltk_doctest_examples() {
        // From NLTK's punkt docstrings / tokenize.doctest (nltk 3.9.1).
        assert_eq!(
            sents("Very bad acting!!! I promise."),
            vec!["Very bad acting!!!", "I promise."]
        );
        assert_eq!(sents("(Sent1.) Sent2."), vec!["(Sent1.)", "Sent2."]);
        assert_eq!(sents(""), Vec::<&str>::new());
    }
}
