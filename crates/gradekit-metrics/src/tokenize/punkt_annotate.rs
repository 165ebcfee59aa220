//! Punkt's word tokenizer and its two annotation passes, applied to one context string
//! (NLTK 3.9.1 `PunktLanguageVars.word_tokenize`, `PunktToken`,
//! `_first_pass_annotation`, `_second_pass_annotation`, `_ortho_heuristic`).
//!
//! Contexts are a few words long, so tokens are kept in a small vector and their
//! lower-cased "types" are built in one reused byte buffer.

use super::ascii::is_space;
use super::punkt::is_non_word_char;
use super::punkt_params::{params, PunktParams, ORTHO_BEG_LC, ORTHO_LC, ORTHO_MID_UC, ORTHO_UC};
use super::strmap::Key32;

/// `_re_multi_char_punct` = `(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)` matched at `i`: its end.
fn multi_char_at(s: &[u8], i: usize) -> Option<usize> {
    let rest = &s[i.min(s.len())..];
    if rest.starts_with(b"--") || rest.starts_with(b"..") {
        let c = rest[0];
        let run = rest.iter().take_while(|&&b| b == c).count();
        return Some(i + run);
    }
    // (?:\.\s){2,}\.  -- greedy pairs, then backtrack one pair if needed.
    let mut k = 0;
    while rest.len() >= 2 * k + 2 && rest[2 * k] == b'.' && is_space(rest[2 * k + 1]) {
        k += 1;
    }
    if k >= 2 && rest.get(2 * k) == Some(&b'.') {
        return Some(i + 2 * k + 1);
    }
    if k >= 3 {
        return Some(i + 2 * k - 1);
    }
    None
}

/// The end lookahead of the word alternative: `\s | $ | NonWord | MultiChar |
/// ,(?=$|\s|NonWord|MultiChar)`.  (`$` may also match before a final newline, but
/// lines never contain one.)
fn word_ends_at(s: &[u8], j: usize) -> bool {
    let Some(&c) = s.get(j) else { return true };
    if c.is_ascii_alphanumeric() {
        return false; // none of the alternatives can start with a letter or digit
    }
    if is_space(c) || is_non_word_char(c) || multi_char_at(s, j).is_some() {
        return true;
    }
    if c == b',' {
        return match s.get(j + 1) {
            None => true,
            Some(&d) => is_space(d) || is_non_word_char(d) || multi_char_at(s, j + 1).is_some(),
        };
    }
    false
}

/// `_re_word_start` excludes `( " \` { [ : ; & # * @ ) } ] - ,`.
fn is_word_start(b: u8) -> bool {
    !matches!(
        b,
        b'(' | b'"'
            | b'`'
            | b'{'
            | b'['
            | b':'
            | b';'
            | b'&'
            | b'#'
            | b'*'
            | b'@'
            | b')'
            | b'}'
            | b']'
            | b'-'
            | b','
    )
}

/// `PunktLanguageVars.word_tokenize(line)` (a `findall` of `_word_tokenize_fmt`):
/// pushes token ranges of `line`.
fn line_words(line: &[u8], base: usize, out: &mut Vec<(usize, usize)>) {
    let mut i = 0;
    while i < line.len() {
        let c = line[i];
        if is_space(c) {
            i += 1;
            continue;
        }
        let end = if let Some(e) = multi_char_at(line, i) {
            e
        } else if is_word_start(c) {
            // `\S+?` lazily until the end lookahead holds (it always does at a space).
            let mut j = i + 1;
            while !word_ends_at(line, j) {
                j += 1;
            }
            j
        } else {
            i + 1
        };
        out.push((base + i, base + end));
        i = end;
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Tok {
    start: usize,
    end: usize,
    /// Range of this token's type in the shared type buffer.
    ty: (usize, usize),
    sentbreak: bool,
    abbr: bool,
    ellipsis: bool,
}

/// `_RE_NUMERIC` = `^-?[\.,]?\d[\d,\.-]*\.?$`, fully matched.
fn is_numeric(s: &[u8]) -> bool {
    let mut i = 0;
    if s.first() == Some(&b'-') {
        i += 1;
    }
    if matches!(s.get(i), Some(b'.' | b',')) {
        i += 1;
    }
    if !matches!(s.get(i), Some(b'0'..=b'9')) {
        return false;
    }
    s[i + 1..]
        .iter()
        .all(|&b| matches!(b, b'0'..=b'9' | b',' | b'.' | b'-'))
}

struct Ctx<'a> {
    text: &'a [u8],
    types: &'a [u8],
    params: &'static PunktParams,
}

impl Ctx<'_> {
    fn tok(&self, t: &Tok) -> &[u8] {
        &self.text[t.start..t.end]
    }

    fn ty(&self, t: &Tok) -> &str {
        std::str::from_utf8(&self.types[t.ty.0..t.ty.1]).unwrap_or("")
    }

    /// `type_no_period`.
    fn type_no_period(&self, t: &Tok) -> &str {
        let ty = self.ty(t);
        if ty.len() > 1 && ty.ends_with('.') {
            &ty[..ty.len() - 1]
        } else {
            ty
        }
    }

    /// `type_no_sentperiod`.
    fn type_no_sentperiod(&self, t: &Tok) -> &str {
        if t.sentbreak {
            self.type_no_period(t)
        } else {
            self.ty(t)
        }
    }

    fn first_upper(&self, t: &Tok) -> bool {
        self.tok(t).first().is_some_and(u8::is_ascii_uppercase)
    }

    fn first_lower(&self, t: &Tok) -> bool {
        self.tok(t).first().is_some_and(u8::is_ascii_lowercase)
    }

    /// `_RE_INITIAL` = `[^\W\d]\.$`: a letter or underscore, then a period.
    fn is_initial(&self, t: &Tok) -> bool {
        matches!(self.tok(t), [c, b'.'] if c.is_ascii_alphabetic() || *c == b'_')
    }

    fn first_pass(&self, t: &mut Tok) {
        let tok = self.tok(t);
        if matches!(tok, b"." | b"?" | b"!") {
            t.sentbreak = true;
        } else if tok.len() >= 2 && tok.iter().all(|&b| b == b'.') {
            t.ellipsis = true;
        } else if tok.ends_with(b".") && !tok.ends_with(b"..") {
            // `tok[:-1].lower()` and its part after the last '-'.  That is the type minus
            // its period, except for numeric tokens (type `##number##`), which lowercasing
            // leaves unchanged.
            let ty = self.ty(t);
            let whole = if ty == "##number##" {
                std::str::from_utf8(&tok[..tok.len() - 1]).unwrap_or("")
            } else {
                ty.get(..ty.len() - 1).unwrap_or("")
            };
            let last = whole.rsplit('-').next().unwrap_or(whole);
            let is_abbrev = self.params.is_abbrev(whole) || self.params.is_abbrev(last);
            if is_abbrev {
                t.abbr = true;
            } else {
                t.sentbreak = true;
            }
        }
    }

    /// `_ortho_heuristic`: Some(true) / Some(false) / None for "unknown".
    fn ortho_heuristic(&self, t: &Tok) -> Option<bool> {
        if matches!(self.tok(t), b";" | b":" | b"," | b"." | b"!" | b"?") {
            return Some(false);
        }
        let ctx = self.params.ortho_context(self.type_no_sentperiod(t));
        if self.first_upper(t) && ctx & ORTHO_LC != 0 && ctx & ORTHO_MID_UC == 0 {
            return Some(true);
        }
        if self.first_lower(t) && (ctx & ORTHO_UC != 0 || ctx & ORTHO_BEG_LC == 0) {
            return Some(false);
        }
        None
    }

    /// `_second_pass_annotation(tok1, tok2)`; only `tok1` changes.
    fn second_pass(&self, t1: &mut Tok, t2: &Tok) {
        if !self.tok(t1).ends_with(b".") {
            return;
        }
        let typ = self.type_no_period(t1);
        let next_typ = self.type_no_sentperiod(t2);
        let initial = self.is_initial(t1);

        if self.params.is_collocation(typ, next_typ) {
            t1.sentbreak = false;
            t1.abbr = true;
            return;
        }
        if (t1.abbr || t1.ellipsis) && !initial {
            if self.ortho_heuristic(t2) == Some(true) {
                t1.sentbreak = true;
                return;
            }
            if self.first_upper(t2) && self.params.is_sent_starter(next_typ) {
                t1.sentbreak = true;
                return;
            }
        }
        if initial || typ == "##number##" {
            let starter = self.ortho_heuristic(t2);
            if starter == Some(false) {
                t1.sentbreak = false;
                t1.abbr = true;
                return;
            }
            if starter.is_none()
                && initial
                && self.first_upper(t2)
                && self.params.ortho_context(next_typ) & ORTHO_LC == 0
            {
                t1.sentbreak = false;
                t1.abbr = true;
            }
        }
    }
}

/// [`quick_sentbreak`] of a context whose sentence-end mark is `ctx[mark]`, with more shapes:
///
/// * a `?` or `!` mark (followed by whitespace or a non-word character, as every context
///   is): always a break. Punkt's word tokenizer starts a token at the mark (a
///   word token stops before it: `?` and `!` are non-word characters; no multi-character
///   token holds one) and ends it there (what follows is whitespace or a non-word character),
///   so the token is `?`/`!`, a break after the first pass that the second pass, which only
///   changes tokens ending in `.`, keeps; and it is not the context's last token (the context
///   reaches past the mark);
/// * a `.` right after `)`, `"`, `]` or `}` and before whitespace whose next token does not
///   start with `.`: the `.` is then a token of its own (those four are single-character
///   tokens, and no multi-character token starts at the `.`), a break after the first pass
///   that the second pass keeps (it is no initial, no number, no abbreviation, and no
///   collocation starts with `.`), and not the last token;
/// * opening `(`, `"`, `[` or `{` before the word of [`quick_sentbreak`]'s shapes: each is a
///   single-character token that cannot be a break, so the answer is that of the rest.
#[inline]
pub(crate) fn quick_sentbreak_at(ctx: &[u8], mark: usize) -> Option<bool> {
    // What follows the mark: whitespace or a non-word character (`period_context_at` finds no
    // context otherwise; checked again here).
    let after = *ctx.get(mark + 1)?;
    if !(is_space(after) || is_non_word_char(after)) {
        return None;
    }
    match *ctx.get(mark)? {
        b'?' | b'!' => return Some(true),
        b'.' if mark >= 1 && matches!(ctx[mark - 1], b')' | b'"' | b']' | b'}') => {
            let gap = ctx[mark + 1..].iter().take_while(|&&b| is_space(b)).count();
            if gap > 0 && ctx.get(mark + 1 + gap).is_some_and(|&b| b != b'.') {
                return Some(true);
            }
        }
        _ => {}
    }
    let open = ctx
        .iter()
        .take_while(|&&b| matches!(b, b'(' | b'"' | b'[' | b'{'))
        .count();
    quick_sentbreak(&ctx[open..])
}

/// [`context_has_sentbreak`] of the commonest context shapes, decided without tokenizing
/// it: `A. B…`, `A? B…` or `A! B…` — `A` a run of ASCII letters (with single hyphens inside),
/// whitespace, then `B` a run of ASCII letters, optionally followed by a tail that starts with
/// a character ending `B`'s token (a Punkt non-word character, or a `,` before a space, a
/// non-word character or the end) and holds no `.`, `?`, `!` or whitespace. `None` for every
/// other context (the caller then runs the full procedure).
///
/// For those shapes Punkt's word tokenizer gives `["A.", "B", tail tokens…]` (or
/// `["A", "?", "B", …]`); no tail token can be a break (none holds a mark), so the answer is
/// whether the first token is one after both passes: a `?`/`!` token is; `A.` is unless its
/// type (or the part after its last hyphen) is an abbreviation (a collocation needs a first
/// word that is a number or one letter, and a one-letter `A.` is an initial: both are left to
/// the full procedure), and an abbreviation is a break again when the orthographic heuristic
/// or a capitalised sentence starter says `B` starts a sentence (`_second_pass_annotation`).
#[inline]
pub(crate) fn quick_sentbreak(ctx: &[u8]) -> Option<bool> {
    let a = ctx
        .iter()
        .position(|&b| !(b.is_ascii_alphabetic() || b == b'-'))?;
    let word = &ctx[..a];
    let (&first, &last) = (word.first()?, word.last()?);
    if !first.is_ascii_alphabetic()
        || !last.is_ascii_alphabetic()
        || word.windows(2).any(|w| w == b"--")
    {
        return None;
    }
    let mark = *ctx.get(a)?;
    let rest = ctx.get(a + 1..)?;
    let gap = rest.iter().position(|&b| !is_space(b))?;
    let next = &rest[gap..];
    let l = next
        .iter()
        .position(|b| !b.is_ascii_alphabetic())
        .unwrap_or(next.len());
    if gap == 0 || l == 0 {
        return None;
    }
    let tail = &next[l..];
    if let Some(&c) = tail.first() {
        let ends_token = is_non_word_char(c)
            || (c == b','
                && tail
                    .get(1)
                    .is_none_or(|&d| is_space(d) || is_non_word_char(d)));
        let plain = !tail
            .iter()
            .any(|&b| matches!(b, b'.' | b'?' | b'!') || is_space(b));
        if !(ends_token && plain) {
            return None;
        }
    }
    let next = &next[..l];
    match mark {
        b'?' | b'!' => return Some(true),
        b'.' if a >= 2 => {}
        _ => return None,
    }
    // `tok[:-1].lower()` (the word is letters and hyphens: `| 0x20` lower-cases it).
    let typ = Key32::folded(word)?;
    let p = params();
    if p.has_collocation_first(typ.as_bytes()) {
        return None;
    }
    // The type and its part after the last '-' (without a hyphen that part is the whole type:
    // one look-up, not the same one twice).
    if !p.is_abbrev32(&typ) {
        match word.iter().rposition(|&b| b == b'-') {
            None => return Some(true),
            Some(h) => {
                if !p.is_abbrev32(&Key32::folded(&word[h + 1..])?) {
                    return Some(true);
                }
            }
        }
    }
    let next_typ = Key32::folded(next)?;
    let upper = next[0].is_ascii_uppercase();
    // `_ortho_heuristic(B)` == True (B is no punctuation token), then the sentence starters.
    let ctx_flags = p.ortho_context32(&next_typ);
    let ortho_true = upper && ctx_flags & ORTHO_LC != 0 && ctx_flags & ORTHO_MID_UC == 0;
    Some(ortho_true || (upper && p.is_sent_starter32(&next_typ)))
}

/// Buffers of [`context_has_sentbreak`], reused across calls.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    spans: Vec<(usize, usize)>,
    types: Vec<u8>,
    toks: Vec<Tok>,
}

/// `text_contains_sentbreak(context)`: does any token other than the last end a
/// sentence after both annotation passes?
pub(crate) fn context_has_sentbreak(text: &[u8], scratch: &mut Scratch) -> bool {
    let Scratch { spans, types, toks } = scratch;
    spans.clear();
    types.clear();
    toks.clear();
    // `_tokenize_words`: lines that are not blank, each through the word regex.
    let mut start = 0;
    for line in text.split(|&b| b == b'\n') {
        if line.iter().any(|&b| !is_space(b)) {
            line_words(line, start, spans);
        }
        start += line.len() + 1;
    }
    if spans.len() < 2 {
        return false;
    }

    // Types: lower-cased token, or `##number##`.
    for &(s, e) in spans.iter() {
        let tok = &text[s..e];
        let ts = types.len();
        if is_numeric(tok) {
            types.extend_from_slice(b"##number##");
        } else {
            types.extend(tok.iter().map(u8::to_ascii_lowercase));
        }
        toks.push(Tok {
            start: s,
            end: e,
            ty: (ts, types.len()),
            ..Tok::default()
        });
    }
    let ctx = Ctx {
        text,
        types,
        params: params(),
    };
    for t in toks.iter_mut() {
        ctx.first_pass(t);
    }
    for i in 0..toks.len() - 1 {
        let next = toks[i + 1];
        ctx.second_pass(&mut toks[i], &next);
        if toks[i].sentbreak {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        line_words(s.as_bytes(), 0, &mut out);
        out.into_iter().map(|(a, b)| &s[a..b]).collect()
    }

    #[test]
    fn punkt_word_tokenizer() {
        assert_eq!(words("Hello, world..."), vec!["Hello", ",", "world", "..."]);
        assert_eq!(words("a . . . b"), vec!["a", ". . .", "b"]);
        assert_eq!(words("(end.) x,y"), vec!["(", "end.", ")", "x,y"]);
    }

    #[test]
    fn numeric_types() {
        assert!(is_numeric(b"3.14") && is_numeric(b"-,5") && is_numeric(b"1,000."));
        assert!(!is_numeric(b"a1") && !is_numeric(b"-") && !is_numeric(b"1a"));
    }

    /// The shortcut agrees with the full procedure wherever it answers, over contexts built
    /// from abbreviations, initials, sentence starters, collocation words, numbers and common
    /// words in several cases, every mark, and several gaps.
    #[test]
    fn quick_sentbreak_agrees_with_the_full_procedure() {
        let words = [
            "dr", "Dr", "DR", "mr", "Mrs", "jan", "Jan", "st", "co", "Corp", "inc", "vs", "sept",
            "a", "I", "b", "j", "o", "The", "the", "THE", "However", "however", "he", "He", "in",
            "In", "cat", "Cat", "artist", "Smith", "business", "abreast", "magnin", "Magnin",
            "number", "u", "us", "x", "Tracks", "edelman", "Who", "who", "Pepper", "ok", "Ok",
            "OK", "wed", "Wed", "yr", "ms", "Ms", "It", "This", "lt", "vt",
        ];
        let marks = [".", "?", "!", ",", ";", "..", "-"];
        let gaps = [" ", "  ", "\n", "", " \t ", "\x1c", "\n\n", " \r\n"];
        let tails = [
            "", ",", ",x", ", ", ",)", ",,", "'s", "'", ":", ")", ");", "\"", "?", ".", "!", "-x",
            "--", "...", ",.", "x", "1", "(a)", "'s.", "*", "@x", ";", "]", ",--", ",'",
        ];
        let mut s = Scratch::default();
        let (mut answered, mut total) = (0, 0);
        for a in words {
            for m in marks {
                for g in gaps {
                    for b in words.iter().chain(&["3", "x1", "(The"]) {
                        for t in tails {
                            let ctx = format!("{a}{m}{g}{b}{t}");
                            total += 1;
                            if let Some(q) = quick_sentbreak(ctx.as_bytes()) {
                                answered += 1;
                                let full = context_has_sentbreak(ctx.as_bytes(), &mut s);
                                assert_eq!(q, full, "{ctx:?}");
                            }
                        }
                    }
                }
            }
        }
        assert!(answered * 20 > total, "{answered} of {total}");
    }

    /// [`quick_sentbreak_at`]'s own shapes agree with the full procedure: marks after closing
    /// brackets and quotes, opening brackets and quotes before the word, `?`/`!` after anything.
    #[test]
    fn quick_sentbreak_at_agrees_with_the_full_procedure() {
        let befores = [
            "", "(", "\"", "[", "{", "((", "(\"", "'", "`", "-", "--", "x", "(x ", ".", "a.", "3",
        ];
        let words = [
            "dr", "Dr", "a", "I", "b", "j", "The", "cat", "Smith", "abreast", "u", "us", "no", "3",
            "1994", "e.g", "x-y", "--", "", "it's", "U.S",
        ];
        let closers = ["", ")", "\"", "]", "}", "'", ")\"", ".", ",", "-", "?", "!"];
        let marks = [".", "?", "!"];
        let gaps = [" ", "  ", "\n", "", "\t"];
        let nexts = [
            "The", "the", "However", "abreast", "(The", "\"The", ".", "...", ". .", "'s", "3", ")",
            "\"", "?", "--", "x.", "Who", "-x", "edelman",
        ];
        let mut s = Scratch::default();
        let (mut answered, mut total) = (0, 0);
        for b in befores {
            for w in words {
                for c in closers {
                    for m in marks {
                        for g in gaps {
                            for n in nexts {
                                let head = format!("{b}{w}{c}");
                                let ctx = format!("{head}{m}{g}{n}");
                                total += 1;
                                if let Some(q) = quick_sentbreak_at(ctx.as_bytes(), head.len()) {
                                    answered += 1;
                                    let full = context_has_sentbreak(ctx.as_bytes(), &mut s);
                                    assert_eq!(q, full, "{ctx:?}");
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(answered * 3 > total, "{answered} of {total}");
    }

    #[test]
    fn abbreviation_contexts() {
        let mut s = Scratch::default();
        assert!(!context_has_sentbreak(b"Dr. Smith", &mut s));
        assert!(context_has_sentbreak(b"cat. The", &mut s));
    }
}
