//! METEOR, score-identical to NLTK 3.9.1's
//! `meteor_score([reference], hypothesis, alpha=0.9, beta=3.0, gamma=0.5)`.
//!
//! NLTK's algorithm (`nltk.translate.meteor_score`), reproduced step by step:
//!
//! 1. Lower-case every token with Python's `str.lower`.
//! 2. Align in three stages, each on the tokens the previous stages left unmatched:
//!    exact words, then Porter stems ([`porter`]), then WordNet synonyms ([`wordnet`]). Every
//!    stage walks the hypothesis from its last unmatched token to its first and pairs it with the
//!    right-most unmatched reference token that qualifies. A quirk that matters: the stem stage
//!    hands its *stemmed* leftovers to the synonym stage, so synonyms are looked up for the stem
//!    of a hypothesis word and compared with the stems of the reference words.
//! 3. `P = m/|h|`, `R = m/|r|`, `Fmean = P·R / (α·P + (1−α)·R)`; matches sorted by hypothesis
//!    position are cut into chunks (runs adjacent in both texts);
//!    `score = (1 − γ·(chunks/m)^β) · Fmean`. Every division by zero (an empty side, no match)
//!    gives 0, as NLTK's `except ZeroDivisionError` does.
//!
//! Speed (the grader calls this once per sample, millions of times): each thread keeps one
//! `Scratch` of buffers, so a call allocates nothing once warm. [`meteor`] reads the tokenizer's
//! (cached, shared) token lists where they are. Beyond its instructions (fewer than the
//! tokenizer's), what such a call costs is mostly mispredicted branches — is this word new,
//! does it have a partner, is this position free: coin flips on real text — so the hot paths
//! decide those with selects and bit masks. Stage 1 (`exact.rs`) pairs off the common tail of
//! the two lists by comparing bytes (the algorithm pairs a shared tail position by position),
//! then keys every other word by its lower-cased first 16 bytes (an ASCII word lower-cased in
//! registers, others through `str.lower()`) and makes one probe of a per-call table, whose home
//! slot settles "new / seen / no partner" without a branch, to intern a reference word or pair
//! a hypothesis word. Stages 2 and 3 work on the lists of positions stage 1 left free (a few per
//! pair on typical data), gathered without a branch per position: each word is stemmed once
//! per distinct word — the word → stem (and stem's WordNet id), stem → WordNet id and stem →
//! synonyms results are kept across calls as bounded per-thread caches (a word of ≤ 16 bytes
//! is looked up in `intern::WordMemo` by the key stage 1 makes for it: one index slot and
//! one entry read per hit give both ids) — and paired by bit masks (up to 64 free reference positions) or per-stem
//! buckets. WordNet is consulted only in stage 3, for the stems of positions still free there
//! (a stem's lemma id is not looked up when it is interned: most new stems never reach stage
//! 3); synonyms are only computed when a free reference stem is a WordNet lemma at all. Its
//! tables are compiled in ([`wordnet`]). The score's chunk count reads the matches laid out by
//! hypothesis position, without sorting.
//!
//! Files: this one holds the entry points, the score and the per-thread `Scratch`; stage 1 is
//! `exact.rs`, stage 2 `stem.rs` (with the caches of `intern.rs` and the stemmer `porter.rs`),
//! stage 3 `synonym.rs` (on the tables of `wordnet/`).
//!
//! Proof of parity: `tests/meteor_vectors.rs` (the dev vectors, thousands of random
//! synonym-rich pairs scored by NLTK, and the Porter stemmer on a large word list) and
//! `tests/meteor_paths.rs` (the string path against the general one, `meteor_tokens`).

mod cube;
mod exact;
mod intern;
mod lower16;
pub mod porter;
mod stem;
mod synonym;
pub mod wordnet;

use std::cell::RefCell;

use crate::tokenize::Tokens;
use exact::Exact;
use intern::{StrTable, WordMemo, NONE};

/// NLTK's defaults, which azure-ai-evaluation passes explicitly.
const ALPHA: f64 = 0.9;
const BETA: f64 = 3.0;
const GAMMA: f64 = 0.5;

/// METEOR of `input` (the hypothesis) against `reference`, both tokenised as
/// azure-ai-evaluation's `nltk_tokenize` does ([`crate::tokenize::nltk_tokenize`]).
///
/// ```
/// use gradekit_metrics::meteor::meteor;
/// assert_eq!(meteor("Cat", "cat"), 0.5);
/// assert_eq!(meteor("", "cat"), 0.0);
/// ```
pub fn meteor(input: &str, reference: &str) -> f64 {
    // The tokens are shared (cached for other metrics) and read where they are: stage 1
    // lower-cases each word's key as it hashes it ([`intern::lower_key`]).
    crate::tokenize::with_nltk_tokens(input, reference, |h, r, _| meteor_of(h, r))
}

/// A token list read by index (the public `&[S: AsRef<str>]` and the tokenizer's
/// [`Tokens`], which the string entry point scores without building a list of slices).
trait Words {
    fn n(&self) -> usize;
    fn word(&self, i: usize) -> &str;
    /// Python's `str.lower()` of word `i` (possibly built in `buf`).
    #[inline(always)]
    fn lower<'a>(&'a self, i: usize, buf: &'a mut String) -> &'a str {
        porter::py_lower_in(self.word(i), buf)
    }
    /// The tokenizer's list, for stage 1's in-place path ([`Scratch::exact_stage_tokens`]).
    #[inline(always)]
    fn tokens(&self) -> Option<&Tokens> {
        None
    }
}

impl<S: AsRef<str>> Words for [S] {
    #[inline(always)]
    fn n(&self) -> usize {
        self.len()
    }
    #[inline(always)]
    fn word(&self, i: usize) -> &str {
        self[i].as_ref()
    }
}

impl Words for Tokens {
    #[inline(always)]
    fn n(&self) -> usize {
        self.len()
    }
    #[inline(always)]
    fn word(&self, i: usize) -> &str {
        self.get(i).unwrap_or_default()
    }
    #[inline(always)]
    fn tokens(&self) -> Option<&Tokens> {
        Some(self)
    }
}

/// METEOR of a tokenised hypothesis against one tokenised reference, as
/// `nltk.translate.meteor_score.meteor_score([refr], hyp)`.
///
/// ```
/// use gradekit_metrics::meteor::meteor_tokens;
/// let hyp = ["the", "cat", "sat", "on", "the", "mat"];
/// let refr = ["the", "cat", "was", "sitting", "on", "the", "mat"];
/// // NLTK 3.9.1 gives 0.8534621578099838: "sat" meets the stem "sit" of "sitting" in the
/// // synonym stage ("sat" is an exception-list form of the verb "sit").
/// assert_eq!(meteor_tokens(&hyp, &refr), 0.8534621578099838);
/// ```
pub fn meteor_tokens<S: AsRef<str>>(hyp: &[S], refr: &[S]) -> f64 {
    meteor_of(hyp, refr)
}

fn meteor_of<H: Words + ?Sized, R: Words + ?Sized>(hyp: &H, refr: &R) -> f64 {
    if hyp.n() == 0 || refr.n() == 0 {
        return 0.0;
    }
    thread_local! {
        static SCRATCH: RefCell<Scratch> = {
            // A new thread's first call: its WordNet tables are worth mapping ahead.
            crate::warm::meteor_used();
            RefCell::new(Scratch::default())
        };
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => s.meteor(hyp, refr),
        // Only reachable if a caller re-entered from inside a call; stay correct anyway.
        Err(_) => Scratch::default().meteor(hyp, refr),
    })
}

/// Python's float arithmetic of `single_meteor_score`, in the same order. The `m` matches are
/// laid out by hypothesis position (`hyp_match[i]` = the reference position of hypothesis word
/// `i`, or [`NONE`]) instead of sorted.
fn score(hyp_match: &[u32], m: usize, ref_len: usize) -> f64 {
    let hyp_len = hyp_match.len();
    if m == 0 || hyp_len == 0 || ref_len == 0 {
        return 0.0;
    }
    let precision = m as f64 / hyp_len as f64;
    let recall = m as f64 / ref_len as f64;
    let denom = ALPHA * precision + (1.0 - ALPHA) * recall;
    if denom == 0.0 {
        return 0.0;
    }
    let fmean = (precision * recall) / denom;
    let chunks = count_chunks(hyp_match, m);
    let frag = chunks as f64 / m as f64;
    // `frag ** 3` (BETA) without a `pow` call where that is checked to give `pow`'s value.
    let cubed = if m <= cube::MAX_MATCHES {
        cube::cube(frag)
    } else {
        frag.powf(BETA)
    };
    let penalty = GAMMA * cubed;
    (1.0 - penalty) * fmean
}

/// `_count_chunks` on the `m` matches sorted by hypothesis position: a new chunk starts at
/// every match that does not continue the previous hypothesis word's match (the next
/// reference position), so the count is `m` minus the continuations. A continuation is a pair
/// of neighbours `(p, r)` with `p` matched and `r == p + 1` (then `r` is matched too: positions
/// are below `NONE - 1`). Equality tests only, no carried flag: the loop vectorizes.
fn count_chunks(hyp_match: &[u32], m: usize) -> usize {
    let continued: u32 = hyp_match
        .iter()
        .zip(hyp_match.iter().skip(1))
        .map(|(&p, &r)| u32::from((p != NONE) & (r == p.wrapping_add(1))))
        .sum();
    debug_assert_eq!(m, hyp_match.iter().filter(|&&r| r != NONE).count());
    m - continued as usize
}

/// `StemInfo::wn` of a stem not looked up yet.
const UNKNOWN: u32 = NONE - 1;

/// Buffers of one thread, reused by every call (cleared, never shrunk).
#[derive(Default)]
struct Scratch {
    /// Stage 1: distinct lower-cased reference words.
    words: StrTable,
    lower_buf: String,
    /// Per key: right-most free reference position; per reference position: the next free one
    /// to its left with the same key (bucketed linked lists, reused by stages 1 and 2).
    head: Vec<u32>,
    next: Vec<u32>,
    /// Stage 1 on the tokenizer's lists.
    exact: Exact,
    /// Per hypothesis position: the reference position it is matched with, or [`NONE`].
    hyp_match: Vec<u32>,
    /// Number of matches so far.
    n_match: usize,
    ref_free: Vec<bool>,
    /// Stage 2: lower-cased word → stem id (the table's value), and the distinct stems. These
    /// and the synonym sets below are kept across calls as caches (a grader sees the same
    /// vocabulary again and again), cleared once they pass [`stem::CACHE_LIMIT`] entries.
    stemmed: StrTable,
    /// The same for words of at most 16 bytes (nearly all), one index slot and one entry read
    /// per hit.
    memo: WordMemo,
    stems: StrTable,
    /// Positions left free by stage 1, ascending, and the stem ids of their words (and for the
    /// reference, the WordNet ids of the stems as stage 2 found them, or [`UNKNOWN`]).
    free_h: Vec<u32>,
    free_r: Vec<u32>,
    hyp_s: Vec<u32>,
    ref_s: Vec<u32>,
    ref_w: Vec<u32>,
    stem_buf: String,
    porter_buf: Vec<u8>,
    /// Per cached stem id, everything stages 2 and 3 keep about it, in one place (these
    /// tables grow large, so each separate array would be one more cache miss per stem).
    stem_info: Vec<StemInfo>,
    /// Whether this call's stage 2 met a word not seen before: only then does stage 3 start
    /// its WordNet look-ups ahead (`synonym.rs`), so a call over known words pays nothing.
    new_words: bool,
    /// Stage 3: WordNet id of the stem of each `free_r` position (NONE once matched).
    ref_wn: Vec<u32>,
    /// Indices into `free_r` of the still free positions whose stem is a WordNet lemma,
    /// ascending.
    cand: Vec<u32>,
    /// Buckets by lemma id (stage 3), all-NONE between calls.
    wn_head: Vec<u32>,
    /// Synonym ids of the stems, `syn_ids[StemInfo::syn]` (sorted, distinct).
    syn_ids: Vec<u32>,
    morph_buf: String,
}

/// What is cached per stem id.
#[derive(Debug, Clone, Copy)]
struct StemInfo {
    /// Stage 2 bucket: right-most free reference position with this stem, NONE between calls.
    head: u32,
    /// WordNet id (or `NONE`), [`UNKNOWN`] until looked up.
    wn: u32,
    /// Range of the synonym ids in `syn_ids`; until computed `(NONE, NONE)`, or `(NONE,
    /// start)` once `wn` was looked up (a lemma, `start` its WordNet synonym run's start).
    syn: (u32, u32),
}

impl Default for StemInfo {
    fn default() -> Self {
        StemInfo {
            head: NONE,
            wn: UNKNOWN,
            syn: (NONE, NONE),
        }
    }
}

impl Scratch {
    fn meteor<H: Words + ?Sized, R: Words + ?Sized>(&mut self, hyp: &H, refr: &R) -> f64 {
        let (h_len, r_len) = (hyp.n(), refr.n());
        self.hyp_match.clear();
        self.hyp_match.resize(h_len, NONE);
        self.ref_free.clear();
        self.ref_free.resize(r_len, true);
        self.n_match = 0;

        self.exact_stage(hyp, refr);
        let open = |s: &Scratch| s.n_match < h_len.min(r_len);
        if open(self) {
            self.stem_stage(hyp, refr);
            if open(self) {
                self.synonym_stage();
            }
        }
        score(&self.hyp_match, self.n_match, r_len)
    }

    /// Hypothesis position `i` and reference position `j` are matched.
    #[inline(always)]
    fn pair(&mut self, i: usize, j: usize) {
        if let Some(m) = self.hyp_match.get_mut(i) {
            *m = j as u32;
        }
        if let Some(f) = self.ref_free.get_mut(j) {
            *f = false;
        }
        self.n_match += 1;
    }

    #[inline(always)]
    fn hyp_free(&self, i: usize) -> bool {
        self.hyp_match.get(i) == Some(&NONE)
    }

    /// Stage 1, NLTK's `_match_enums` on the lower-cased words: each hypothesis word, last
    /// first, takes the right-most unmatched reference position holding the same word.
    fn exact_stage<H: Words + ?Sized, R: Words + ?Sized>(&mut self, hyp: &H, refr: &R) {
        if let (Some(h), Some(r)) = (hyp.tokens(), refr.tokens()) {
            return self.exact_stage_tokens(h, r);
        }
        self.words.reset(refr.n());
        self.head.clear();
        self.next.clear();
        self.next.resize(refr.n(), NONE);
        for j in 0..refr.n() {
            let (id, new) = self.words.intern(refr.lower(j, &mut self.lower_buf));
            if new {
                self.head.push(NONE);
            }
            self.next[j] = self.head[id as usize];
            self.head[id as usize] = j as u32;
        }
        for i in (0..hyp.n()).rev() {
            let key = hyp.lower(i, &mut self.lower_buf);
            if let Some(id) = self.words.lookup(key) {
                let j = self.head[id as usize];
                if j != NONE {
                    self.head[id as usize] = self.next[j as usize];
                    self.pair(i, j as usize);
                }
            }
        }
    }

    /// [`Self::exact_stage`] on the tokenizer's lists, read in place ([`exact`]).
    fn exact_stage_tokens(&mut self, h: &Tokens, r: &Tokens) {
        let mut buf = std::mem::take(&mut self.lower_buf);
        self.n_match += self.exact.run(
            h,
            r,
            self.memo.seed(),
            &mut buf,
            &mut self.hyp_match,
            &mut self.ref_free,
        );
        self.lower_buf = buf;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nltk_doctest_values() {
        // nltk/translate/meteor_score.py doctests.
        let hyp1 = "It is a guide to action which ensures that the military always obeys the commands of the party";
        let ref1 = "It is a guide to action that ensures that the military will forever heed Party commands";
        let h: Vec<&str> = hyp1.split(' ').collect();
        let r: Vec<&str> = ref1.split(' ').collect();
        assert_eq!(format!("{:.4}", meteor_tokens(&h, &r)), "0.6944");
        assert_eq!(
            meteor_tokens(
                &["non", "matching", "hypothesis"],
                &["this", "is", "a", "cat"]
            ),
            0.0
        );
    }

    /// The chunk count as NLTK's `_count_chunks` writes it, on random match layouts.
    #[test]
    fn chunks_are_nltks_count() {
        fn naive(hyp_match: &[u32]) -> usize {
            let pairs: Vec<(usize, u32)> = hyp_match
                .iter()
                .enumerate()
                .filter(|&(_, &r)| r != NONE)
                .map(|(i, &r)| (i, r))
                .collect();
            let mut chunks = usize::from(!pairs.is_empty());
            for w in pairs.windows(2) {
                if !(w[1].0 == w[0].0 + 1 && w[1].1 == w[0].1 + 1) {
                    chunks += 1;
                }
            }
            chunks
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x % 12) as usize;
            let mut v = Vec::with_capacity(n);
            let mut y = x;
            for _ in 0..n {
                y = y.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                // Few distinct positions (runs are common), position 0 often, NONE often.
                v.push(match (y >> 60) % 4 {
                    0 => NONE,
                    _ => ((y >> 32) % 5) as u32,
                });
            }
            let m = v.iter().filter(|&&r| r != NONE).count();
            assert_eq!(count_chunks(&v, m), naive(&v), "{v:?}");
        }
        assert_eq!(count_chunks(&[0, NONE, 0, 1, NONE, NONE, 2], 4), 3);
        assert_eq!(count_chunks(&[NONE, 0, 1, 2, 4, 5], 5), 2);
    }

    #[test]
    fn zero_division_paths() {
        let empty: [&str; 0] = [];
        assert_eq!(meteor_tokens(&empty, &empty), 0.0);
        assert_eq!(meteor_tokens(&empty, &["a"]), 0.0);
        assert_eq!(meteor_tokens(&["a"], &empty), 0.0);
        assert_eq!(meteor_tokens(&["Cat"], &["cat"]), 0.5);
    }
}
