//! NLTK's Porter stemmer in its default `NLTK_EXTENSIONS` mode.
//!
//! Reproduces `nltk.stem.porter.PorterStemmer().stem(word)` of nltk 3.9.1 exactly, including the
//! parts that differ from Porter's 1980 paper: the irregular-forms table, the "ies"/"ied" rules
//! for four-letter words, the "alli" pre-pass and the "fulli"/"logi" rules of step 2, the
//! two-letter `*o` condition and the "no stemming for words of one or two characters" shortcut.
//! METEOR's stem stage uses it, and ROUGE's stemmer variant can share it.
//!
//! NLTK works on Python strings, i.e. on code points: every non-ASCII character counts as a
//! consonant and suffix tests compare code points. The algorithm is therefore written once over a
//! `Letter` type and instantiated for bytes (the common all-ASCII case, no decoding) and for
//! `char`s (anything else), which gives the same answer on ASCII words by construction.
//!
//! Deviations from NLTK, both unreachable in practice: NLTK's consonant test recurses once per
//! letter of a run of `y`s and raises `RecursionError` beyond ~1000 of them (we answer instead),
//! and `str.lower` follows Python's Unicode tables while we follow Rust's (newer) ones.
//! Proof: `tests/meteor_vectors.rs` compares every stem of `fixtures/vectors/porter_words.jsonl`
//! (generated with NLTK).

use std::borrow::Cow;

#[path = "porter_short.rs"]
mod short;

/// One letter of the word being stemmed: a byte of an ASCII word or a `char` of any other word.
trait Letter: Copy + Eq {
    /// The letter as an ASCII byte, or 0 when it is not ASCII (0 matches no suffix letter).
    fn ascii(self) -> u8;
    fn from_ascii(b: u8) -> Self;
}

impl Letter for u8 {
    /// The byte itself: byte words are ASCII (`stem_with` and `stem_lower_ascii` stem only
    /// those as bytes). A byte over 0x7f would act as the 0 of [`Letter`]'s contract anyway:
    /// it is no suffix letter, no vowel, no `y`, and no rule list's last letter.
    #[inline]
    fn ascii(self) -> u8 {
        self
    }
    #[inline]
    fn from_ascii(b: u8) -> Self {
        b
    }
}

impl Letter for char {
    #[inline]
    fn ascii(self) -> u8 {
        if self.is_ascii() {
            self as u8
        } else {
            0
        }
    }
    #[inline]
    fn from_ascii(b: u8) -> Self {
        char::from(b)
    }
}

/// NLTK's irregular-forms pool (`PorterStemmer.__init__`, NLTK_EXTENSIONS): word → stem.
const POOL: &[(&str, &str)] = &[
    ("sky", "sky"),
    ("skies", "sky"),
    ("dying", "die"),
    ("lying", "lie"),
    ("tying", "tie"),
    ("news", "news"),
    ("innings", "inning"),
    ("inning", "inning"),
    ("outings", "outing"),
    ("outing", "outing"),
    ("cannings", "canning"),
    ("canning", "canning"),
    ("howe", "howe"),
    ("proceed", "proceed"),
    ("exceed", "exceed"),
    ("succeed", "succeed"),
];

/// The stem [`POOL`] gives `word`, if it lists it. Called for every word stemmed, nearly
/// always for nothing: the pool's words all end in one of four letters and are 3–8 bytes long,
/// so most words are rejected before any string compare.
#[inline]
fn pool_stem(word: &str) -> Option<&'static str> {
    pool_stem_bytes(word.as_bytes())
}

/// [`pool_stem`] of a word's bytes.
#[inline]
fn pool_stem_bytes(b: &[u8]) -> Option<&'static str> {
    if !(3..=8).contains(&b.len()) || !matches!(b.last(), Some(b'y' | b's' | b'g' | b'e' | b'd')) {
        return None;
    }
    POOL.iter()
        .find(|(w, _)| w.len() == b.len() && w.as_bytes().first() == b.first() && w.as_bytes() == b)
        .map(|&(_, s)| s)
}

/// Python's `str.lower()`, borrowing when nothing changes (the common case).
pub(crate) fn py_lower(word: &str) -> Cow<'_, str> {
    match ascii_case(word.as_bytes()) {
        AsciiCase::Lower => Cow::Borrowed(word),
        AsciiCase::Upper => Cow::Owned(word.to_ascii_lowercase()),
        AsciiCase::NotAscii => lower_unicode(word),
    }
}

/// [`py_lower`] into a reusable buffer: returns `word` itself when it is already lower-case,
/// else its lower-case form written to `buf` (no allocation once `buf` is warm).
#[inline(always)]
pub(crate) fn py_lower_in<'a>(word: &'a str, buf: &'a mut String) -> &'a str {
    match ascii_case(word.as_bytes()) {
        AsciiCase::Lower => word,
        AsciiCase::Upper => {
            buf.clear();
            buf.push_str(word);
            buf.make_ascii_lowercase();
            buf
        }
        AsciiCase::NotAscii => match lower_unicode(word) {
            Cow::Borrowed(w) => w,
            Cow::Owned(o) => {
                *buf = o;
                buf
            }
        },
    }
}

enum AsciiCase {
    Lower,
    Upper,
    NotAscii,
}

/// Classify a word eight bytes at a time: any byte ≥ 0x80, else any of `A..=Z`.
#[inline(always)]
fn ascii_case(bytes: &[u8]) -> AsciiCase {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut upper = 0u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        let x = u64::from_le_bytes(b);
        if x & HIGH != 0 {
            return AsciiCase::NotAscii;
        }
        // With every byte < 0x80 no addition carries into the next byte: the high bit of
        // (x + 0x3f) is set for bytes >= 'A', that of (x + 0x25) for bytes > 'Z'.
        upper |= x.wrapping_add(0x3f * ONES) & !x.wrapping_add(0x25 * ONES) & HIGH;
    }
    for &b in chunks.remainder() {
        if b >= 0x80 {
            return AsciiCase::NotAscii;
        }
        upper |= u64::from(b.is_ascii_uppercase());
    }
    if upper != 0 {
        AsciiCase::Upper
    } else {
        AsciiCase::Lower
    }
}

#[cold]
fn lower_unicode(word: &str) -> Cow<'_, str> {
    // Borrow when every character is its own full lower-case mapping; a capital sigma always
    // changes, so the final-sigma rule is left to `to_lowercase`.
    if word.chars().all(|c| {
        let mut l = c.to_lowercase();
        l.next() == Some(c) && l.next().is_none()
    }) {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(word.to_lowercase())
    }
}

/// Stem `word` as `nltk.stem.porter.PorterStemmer().stem(word)` does (lower-cases first).
///
/// ```
/// use gradekit_metrics::meteor::porter::stem;
/// assert_eq!(stem("Running"), "run");
/// assert_eq!(stem("generalization"), "gener");
/// assert_eq!(stem("dying"), "die");
/// ```
pub fn stem(word: &str) -> String {
    let mut out = String::new();
    stem_into(word, &mut out);
    out
}

/// [`stem`] writing into a caller-owned buffer (cleared first), for hot loops.
pub fn stem_into(word: &str, out: &mut String) {
    stem_with(word, out, &mut Vec::new());
}

/// [`stem_into`] with a reusable work buffer for ASCII words (no allocation once warm).
pub(crate) fn stem_with(word: &str, out: &mut String, work: &mut Vec<u8>) {
    out.clear();
    let lower = py_lower(word);
    // NLTK tests the pool with the word as given and looks the stem up by the lower-cased word.
    if let Some(s) = pool_stem(word) {
        out.push_str(s);
        return;
    }
    // Words of at most two code points are only lower-cased (length of the word as given).
    if word.chars().nth(2).is_none() {
        out.push_str(&lower);
        return;
    }
    if lower.is_ascii() && lower.len() <= short::MAX_LEN {
        // (At least three letters here: the two-letter words were answered above.)
        short::stem_short(lower.as_bytes(), out);
    } else if lower.is_ascii() {
        work.clear();
        work.extend_from_slice(lower.as_bytes());
        run_steps(work);
        // Only ASCII bytes were removed or added, so this is still ASCII (the fallback is
        // never taken).
        match std::str::from_utf8(work) {
            Ok(s) => out.push_str(s),
            Err(_) => out.extend(work.iter().map(|&b| char::from(b))),
        }
    } else {
        let mut w: Vec<char> = lower.chars().collect();
        run_steps(&mut w);
        out.extend(w.iter());
    }
}

/// [`stem_with`] of a word known to be lower-case ASCII (`None` if it is not: the caller
/// falls back to [`stem_with`]): the same steps without re-checking its case, its encoding or
/// its length in code points (for ASCII, code points are bytes). METEOR's word memo holds the
/// lower-cased bytes of a new word; this stems them as they are.
pub(crate) fn stem_lower_ascii(word: &[u8], out: &mut String, work: &mut Vec<u8>) -> Option<()> {
    // Eight bytes a step (the words are mostly 5–10 bytes long).
    if !matches!(ascii_case(word), AsciiCase::Lower) {
        return None;
    }
    out.clear();
    if let Some(s) = pool_stem_bytes(word) {
        out.push_str(s);
        return Some(());
    }
    if (3..=short::MAX_LEN).contains(&word.len()) {
        // Nearly every word: the same steps on the word in registers-sized state.
        short::stem_short(word, out);
        return Some(());
    }
    work.clear();
    work.extend_from_slice(word);
    if word.len() > 2 {
        run_steps(work);
    }
    match std::str::from_utf8(work) {
        Ok(s) => out.push_str(s),
        Err(_) => out.extend(work.iter().map(|&b| char::from(b))),
    }
    Some(())
}

fn run_steps<T: Letter>(w: &mut Vec<T>) {
    step1a(w);
    step1b(w);
    step1c(w);
    step2(w);
    step3(w);
    step4(w);
    step5a(w);
    step5b(w);
}

// ---------------------------------------------------------------- predicates

#[inline]
fn is_vowel_byte(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u')
}

/// `_is_consonant(word, i)`. A `y` is a consonant when it starts the word or follows a vowel;
/// NLTK recurses through a run of `y`s, we walk back to the start of the run instead.
fn is_cons<T: Letter>(w: &[T], i: usize) -> bool {
    let b = w[i].ascii();
    if is_vowel_byte(b) {
        return false;
    }
    if b != b'y' {
        return true;
    }
    // w[k..=i] is a run of 'y'.
    let mut k = i;
    while k > 0 && w[k - 1].ascii() == b'y' {
        k -= 1;
    }
    let run_even = (i - k) & 1 == 0;
    if k == 0 {
        // y at 0 is a consonant, then they alternate.
        run_even
    } else {
        let before = !is_vowel_byte(w[k - 1].ascii()); // not a 'y' by construction
                                                       // w[k] is a consonant iff w[k-1] is a vowel.
        if run_even {
            !before
        } else {
            before
        }
    }
}

/// Consonant/vowel pattern walked left to right; calls `f(is_consonant)` per letter.
#[inline]
fn for_each_cv<T: Letter>(w: &[T], mut f: impl FnMut(bool) -> bool) {
    let mut prev_cons = false;
    for (i, l) in w.iter().enumerate() {
        let b = l.ascii();
        let c = if is_vowel_byte(b) {
            false
        } else if b == b'y' {
            i == 0 || !prev_cons
        } else {
            true
        };
        if !f(c) {
            return;
        }
        prev_cons = c;
    }
}

/// `_measure(stem)`: the number of vowel→consonant transitions ("vc" in the c/v string).
fn measure<T: Letter>(w: &[T]) -> usize {
    let mut m = 0;
    let mut prev_vowel = false;
    for_each_cv(w, |c| {
        if c && prev_vowel {
            m += 1;
        }
        prev_vowel = !c;
        true
    });
    m
}

fn contains_vowel<T: Letter>(w: &[T]) -> bool {
    let mut found = false;
    for_each_cv(w, |c| {
        found = !c;
        !found
    });
    found
}

fn ends_double_consonant<T: Letter>(w: &[T]) -> bool {
    let n = w.len();
    n >= 2 && w[n - 1] == w[n - 2] && is_cons(w, n - 1)
}

/// `_ends_cvc` (condition *o), with NLTK's extra two-letter vowel-consonant case.
fn ends_cvc<T: Letter>(w: &[T]) -> bool {
    let n = w.len();
    (n >= 3
        && is_cons(w, n - 3)
        && !is_cons(w, n - 2)
        && is_cons(w, n - 1)
        && !matches!(w[n - 1].ascii(), b'w' | b'x' | b'y'))
        || (n == 2 && !is_cons(w, 0) && is_cons(w, 1))
}

/// Whether `w` ends with `suffix`, compared from the last letter back (rule lists are tried in
/// order and most suffixes differ from the word in their last letter: one compare rejects).
#[inline]
fn ends_with<T: Letter>(w: &[T], suffix: &[u8]) -> bool {
    let Some(tail) = w.len().checked_sub(suffix.len()).and_then(|at| w.get(at..)) else {
        return false;
    };
    if let (Some(l), Some(&b)) = (tail.last(), suffix.last()) {
        if l.ascii() != b {
            return false;
        }
    }
    tail.iter().zip(suffix).all(|(l, &b)| l.ascii() == b)
}

fn replace_tail<T: Letter>(w: &mut Vec<T>, cut: usize, repl: &[u8]) {
    w.truncate(w.len() - cut);
    w.extend(repl.iter().map(|&b| T::from_ascii(b)));
}

// --------------------------------------------------------------------- rules

/// Rule conditions, evaluated on the stem (the word without the suffix) unless noted.
#[derive(Clone, Copy)]
enum Cond {
    Always,
    MGt0,
    MGt1,
    /// Step 1c, NLTK: the stem has more than one letter and ends with a consonant.
    Step1c,
    /// Step 4 "ion": m > 1 and the stem ends with s or t.
    Ion,
    /// Step 2 "logi" (NLTK): m(word[:-3]) > 0, i.e. the stem plus its "l".
    Logi,
    /// Step 5b "ll": m(word[:-1]) > 1.
    Ll,
}

fn holds<T: Letter>(cond: Cond, word: &[T], stem: &[T]) -> bool {
    match cond {
        Cond::Always => true,
        Cond::MGt0 => measure(stem) > 0,
        Cond::MGt1 => measure(stem) > 1,
        Cond::Step1c => stem.len() > 1 && is_cons(stem, stem.len() - 1),
        Cond::Ion => {
            measure(stem) > 1 && matches!(stem.last().map(|l| l.ascii()), Some(b's' | b't'))
        }
        Cond::Logi => measure(&word[..word.len() - 3]) > 0,
        Cond::Ll => measure(&word[..word.len() - 1]) > 1,
    }
}

type Rule = (&'static [u8], &'static [u8], Cond);

/// A rule list with its rules grouped by the last letter of their suffix: bit `i` of
/// `by_last[c]` is set when rule `i`'s suffix ends with letter `b'a' + c` (every suffix ends
/// with a lower-case letter). A word can only match rules ending with its own last letter,
/// so `_apply_rule_list` tries those alone, in list order: most words meet none of a step's
/// rules, and trying each of the ~55 rules in turn was most of the stemmer's instructions.
struct Rules {
    list: &'static [Rule],
    by_last: [u32; 26],
}

impl Rules {
    const fn new(list: &'static [Rule]) -> Rules {
        assert!(list.len() <= 32);
        let mut by_last = [0u32; 26];
        let mut i = 0;
        while i < list.len() {
            let suffix = list[i].0;
            assert!(!suffix.is_empty());
            let last = suffix[suffix.len() - 1];
            assert!(last.is_ascii_lowercase());
            by_last[(last - b'a') as usize] |= 1 << i;
            i += 1;
        }
        Rules { list, by_last }
    }
}

/// `_apply_rule_list`: the first rule whose suffix matches decides; if its condition fails the
/// word is returned unchanged (no further rule is tried). Inline up to the rules ending with
/// the word's last letter: most words meet none of a step's rules, and then no call is made.
#[inline(always)]
fn apply_rules<T: Letter>(w: &mut Vec<T>, rules: &Rules) {
    let Some(last) = w.last().map(|l| l.ascii()) else {
        return;
    };
    let candidates = match last.checked_sub(b'a') {
        Some(c) => rules.by_last.get(usize::from(c)).copied().unwrap_or(0),
        None => 0,
    };
    if candidates != 0 {
        apply_candidates(w, rules, candidates);
    }
}

/// [`apply_rules`] on the rules of `rules` whose bits are set in `candidates`, in list order.
#[inline(never)]
fn apply_candidates<T: Letter>(w: &mut Vec<T>, rules: &Rules, mut candidates: u32) {
    while candidates != 0 {
        let i = candidates.trailing_zeros() as usize;
        candidates &= candidates - 1;
        let Some(&(suffix, repl, cond)) = rules.list.get(i) else {
            return;
        };
        if ends_with(w, suffix) {
            let stem_len = w.len() - suffix.len();
            if holds(cond, w, &w[..stem_len]) {
                replace_tail(w, suffix.len(), repl);
            }
            return;
        }
    }
}

fn step1a<T: Letter>(w: &mut Vec<T>) {
    if ends_with(w, b"ies") && w.len() == 4 {
        replace_tail(w, 3, b"ie");
        return;
    }
    apply_rules(w, &STEP1A_RULES);
}

const STEP1A_RULES: Rules = Rules::new(&[
    (b"sses", b"ss", Cond::Always),
    (b"ies", b"i", Cond::Always),
    (b"ss", b"ss", Cond::Always),
    (b"s", b"", Cond::Always),
]);

fn step1b<T: Letter>(w: &mut Vec<T>) {
    if ends_with(w, b"ied") {
        let repl: &[u8] = if w.len() == 4 { b"ie" } else { b"i" };
        replace_tail(w, 3, repl);
        return;
    }
    if ends_with(w, b"eed") {
        if measure(&w[..w.len() - 3]) > 0 {
            replace_tail(w, 3, b"ee");
        }
        return;
    }
    let mut cut = 0;
    for suffix in [&b"ed"[..], &b"ing"[..]] {
        if ends_with(w, suffix) && contains_vowel(&w[..w.len() - suffix.len()]) {
            cut = suffix.len();
            break;
        }
    }
    if cut == 0 {
        return;
    }
    w.truncate(w.len() - cut);
    // Rule list applied to the intermediate stem (non-empty: it contains a vowel).
    if ends_with(w, b"at") || ends_with(w, b"bl") || ends_with(w, b"iz") {
        w.push(T::from_ascii(b'e'));
        return;
    }
    let last = w[w.len() - 1];
    // "*d": a double consonant, or (NLTK's literal suffix test) a word ending in "*d".
    if ends_double_consonant(w) || ends_with(w, b"*d") {
        if !matches!(last.ascii(), b'l' | b's' | b'z') {
            w.truncate(w.len() - 2);
            w.push(last);
        }
        return;
    }
    if measure(w) == 1 && ends_cvc(w) {
        w.push(T::from_ascii(b'e'));
    }
}

fn step1c<T: Letter>(w: &mut Vec<T>) {
    apply_rules(w, &STEP1C_RULES);
}

const STEP1C_RULES: Rules = Rules::new(&[(b"y", b"i", Cond::Step1c)]);

const STEP2_RULES: Rules = Rules::new(&[
    (b"ational", b"ate", Cond::MGt0),
    (b"tional", b"tion", Cond::MGt0),
    (b"enci", b"ence", Cond::MGt0),
    (b"anci", b"ance", Cond::MGt0),
    (b"izer", b"ize", Cond::MGt0),
    (b"bli", b"ble", Cond::MGt0),
    (b"alli", b"al", Cond::MGt0),
    (b"entli", b"ent", Cond::MGt0),
    (b"eli", b"e", Cond::MGt0),
    (b"ousli", b"ous", Cond::MGt0),
    (b"ization", b"ize", Cond::MGt0),
    (b"ation", b"ate", Cond::MGt0),
    (b"ator", b"ate", Cond::MGt0),
    (b"alism", b"al", Cond::MGt0),
    (b"iveness", b"ive", Cond::MGt0),
    (b"fulness", b"ful", Cond::MGt0),
    (b"ousness", b"ous", Cond::MGt0),
    (b"aliti", b"al", Cond::MGt0),
    (b"iviti", b"ive", Cond::MGt0),
    (b"biliti", b"ble", Cond::MGt0),
    (b"fulli", b"ful", Cond::MGt0),
    (b"logi", b"log", Cond::Logi),
]);

fn step2<T: Letter>(w: &mut Vec<T>) {
    // NLTK applies "alli" -> "al" first and then runs step 2 again on the result.
    while ends_with(w, b"alli") && measure(&w[..w.len() - 4]) > 0 {
        replace_tail(w, 4, b"al");
    }
    apply_rules(w, &STEP2_RULES);
}

fn step3<T: Letter>(w: &mut Vec<T>) {
    apply_rules(w, &STEP3_RULES);
}

const STEP3_RULES: Rules = Rules::new(&[
    (b"icate", b"ic", Cond::MGt0),
    (b"ative", b"", Cond::MGt0),
    (b"alize", b"al", Cond::MGt0),
    (b"iciti", b"ic", Cond::MGt0),
    (b"ical", b"ic", Cond::MGt0),
    (b"ful", b"", Cond::MGt0),
    (b"ness", b"", Cond::MGt0),
]);

const STEP4_RULES: Rules = Rules::new(&[
    (b"al", b"", Cond::MGt1),
    (b"ance", b"", Cond::MGt1),
    (b"ence", b"", Cond::MGt1),
    (b"er", b"", Cond::MGt1),
    (b"ic", b"", Cond::MGt1),
    (b"able", b"", Cond::MGt1),
    (b"ible", b"", Cond::MGt1),
    (b"ant", b"", Cond::MGt1),
    (b"ement", b"", Cond::MGt1),
    (b"ment", b"", Cond::MGt1),
    (b"ent", b"", Cond::MGt1),
    (b"ion", b"", Cond::Ion),
    (b"ou", b"", Cond::MGt1),
    (b"ism", b"", Cond::MGt1),
    (b"ate", b"", Cond::MGt1),
    (b"iti", b"", Cond::MGt1),
    (b"ous", b"", Cond::MGt1),
    (b"ive", b"", Cond::MGt1),
    (b"ize", b"", Cond::MGt1),
]);

fn step4<T: Letter>(w: &mut Vec<T>) {
    apply_rules(w, &STEP4_RULES);
}

fn step5a<T: Letter>(w: &mut Vec<T>) {
    if ends_with(w, b"e") {
        let stem = &w[..w.len() - 1];
        let m = measure(stem);
        if m > 1 || (m == 1 && !ends_cvc(stem)) {
            w.pop();
        }
    }
}

fn step5b<T: Letter>(w: &mut Vec<T>) {
    apply_rules(w, &STEP5B_RULES);
}

const STEP5B_RULES: Rules = Rules::new(&[(b"ll", b"l", Cond::Ll)]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_examples() {
        // Examples from Porter (1980); expected stems from NLTK 3.9.1 (NLTK_EXTENSIONS).
        for (w, s) in [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("ties", "tie"),
            ("cats", "cat"),
            ("feed", "feed"),
            ("agreed", "agre"),
            ("plastered", "plaster"),
            ("motoring", "motor"),
            ("sing", "sing"),
            ("conflated", "conflat"),
            ("hopping", "hop"),
            ("falling", "fall"),
            ("filing", "file"),
            ("happy", "happi"),
            ("relational", "relat"),
            ("triplicate", "triplic"),
            ("adoption", "adopt"),
            ("controll", "control"),
            ("roll", "roll"),
            ("dies", "die"),
            ("spied", "spi"),
            ("is", "is"),
            ("Ab", "ab"),
        ] {
            assert_eq!(stem(w), s, "{w}");
        }
    }

    /// `_apply_rule_list` as NLTK writes it: every rule in order.
    fn apply_rules_linear<T: Letter>(w: &mut Vec<T>, rules: &[Rule]) {
        for &(suffix, repl, cond) in rules {
            if ends_with(w, suffix) {
                let stem_len = w.len() - suffix.len();
                if holds(cond, w, &w[..stem_len]) {
                    replace_tail(w, suffix.len(), repl);
                }
                return;
            }
        }
    }

    const ALL_RULES: [&Rules; 6] = [
        &STEP1A_RULES,
        &STEP1C_RULES,
        &STEP2_RULES,
        &STEP3_RULES,
        &STEP4_RULES,
        &STEP5B_RULES,
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Trying only the rules that end with the word's last letter is trying them all:
        /// on random stems followed by every suffix of every list (and by nothing), ASCII and
        /// not.
        #[test]
        fn grouped_rules_are_the_linear_rule_list(
            stem in "[a-z]{0,8}|[a-zé'0-9]{0,6}",
            pick in 0usize..64,
        ) {
            for rules in ALL_RULES {
                let mut words = vec![stem.clone()];
                for (suffix, _, _) in rules.list {
                    words.push(format!("{stem}{}", String::from_utf8_lossy(suffix)));
                }
                let k = pick % words.len();
                words.push(format!("{}x{}", words[k], &stem));
                for word in &words {
                    let (mut a, mut b): (Vec<char>, Vec<char>) =
                        (word.chars().collect(), word.chars().collect());
                    apply_rules(&mut a, rules);
                    apply_rules_linear(&mut b, rules.list);
                    proptest::prop_assert_eq!(&a, &b, "{:?}", word);
                    if word.is_ascii() {
                        let (mut a, mut b) = (word.as_bytes().to_vec(), word.as_bytes().to_vec());
                        apply_rules(&mut a, rules);
                        apply_rules_linear(&mut b, rules.list);
                        proptest::prop_assert_eq!(a, b, "{:?}", word);
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]

        /// The lower-case ASCII entry is [`stem_with`] on every lower-case ASCII word, and
        /// declines every other word.
        #[test]
        fn lower_ascii_entry_is_stem_with(
            word in "[a-z]{0,12}(s|es|ed|ing|ies|ied|y|ly|ness|ation|ational|alli|ll|e)?|[a-z0-9'.-]{0,6}|[a-zA-Zé]{0,8}",
        ) {
            let (mut a, mut b, mut work) = (String::from("x"), String::new(), Vec::new());
            let got = stem_lower_ascii(word.as_bytes(), &mut a, &mut work);
            stem_with(&word, &mut b, &mut work);
            if word.bytes().all(|c| c.is_ascii() && !c.is_ascii_uppercase()) {
                proptest::prop_assert_eq!(got, Some(()));
                proptest::prop_assert_eq!(a, b, "{:?}", word);
            } else {
                proptest::prop_assert_eq!(got, None, "{:?}", word);
            }
        }
    }

    #[test]
    fn lower_ascii_entry_on_the_pool_and_short_words() {
        for w in POOL
            .iter()
            .map(|(w, _)| *w)
            .chain(["", "a", "is", "as", "sky", "ies"])
        {
            let (mut a, mut work) = (String::new(), Vec::new());
            assert_eq!(stem_lower_ascii(w.as_bytes(), &mut a, &mut work), Some(()));
            assert_eq!(a, stem(w), "{w}");
        }
    }

    #[test]
    fn pool_shortcut_is_the_pool() {
        for &(w, s) in POOL {
            assert_eq!(pool_stem(w), Some(s), "{w}");
            assert_eq!(stem(w), s, "{w}");
        }
        // Near misses: other words of the same lengths and endings, capitals (NLTK tests the
        // pool with the word as given).
        for w in [
            "skz", "skies!", "Sky", "SKIES", "dyings", "outin", "succeeds", "", "s",
        ] {
            assert_eq!(pool_stem(w), None, "{w}");
        }
        let ends: Vec<u8> = POOL.iter().filter_map(|(w, _)| w.bytes().last()).collect();
        assert!(ends.iter().all(|b| b"ysged".contains(b)));
        assert!(POOL.iter().all(|(w, _)| (3..=8).contains(&w.len())));
    }

    #[test]
    fn y_runs_match_recursive_definition() {
        fn rec(w: &[u8], i: usize) -> bool {
            match w[i] {
                b'a' | b'e' | b'i' | b'o' | b'u' => false,
                b'y' => i == 0 || !rec(w, i - 1),
                _ => true,
            }
        }
        for w in [&b"yyyy"[..], b"ayyyb", b"byyyyy", b"syzygy", b"toy", b"yay"] {
            for i in 0..w.len() {
                assert_eq!(is_cons(w, i), rec(w, i), "{:?} {i}", std::str::from_utf8(w));
            }
        }
    }

    #[test]
    fn ascii_case_classifies_every_byte() {
        for b in 0u8..=255 {
            for pad in 0..9 {
                let mut w = vec![b'a'; pad];
                w.push(b);
                w.extend(vec![b'z'; 8 - pad]);
                let want = if b >= 0x80 {
                    "n"
                } else if b.is_ascii_uppercase() {
                    "u"
                } else {
                    "l"
                };
                let got = match ascii_case(&w) {
                    AsciiCase::Lower => "l",
                    AsciiCase::Upper => "u",
                    AsciiCase::NotAscii => "n",
                };
                assert_eq!(got, want, "byte {b} at {pad}");
            }
        }
        assert_eq!(py_lower("MiXeD"), "mixed");
        assert_eq!(py_lower("İ"), "i\u{307}");
        assert_eq!(py_lower("ΣΑΣ"), "σας");
        let mut buf = String::new();
        assert_eq!(py_lower_in("ÉCOLE", &mut buf), "école");
        assert_eq!(py_lower_in("école", &mut buf), "école");
    }

    #[test]
    fn long_y_run_does_not_overflow() {
        let w = "y".repeat(100_000);
        assert!(!stem(&w).is_empty());
    }
}
