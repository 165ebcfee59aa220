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
//! Proof of parity: `tests/meteor_vectors.rs` (the dev vectors, thousands of random
//! synonym-rich pairs scored by NLTK, and the Porter stemmer on a large word list) and
//! `tests/meteor_paths.rs` (the string path against the general one, `meteor_tokens`).

mod exact;
mod intern;
pub mod porter;
pub mod wordnet;

use std::cell::RefCell;
use std::hint::select_unpredictable;

use crate::tokenize::Tokens;
use exact::Exact;
use intern::{StrTable, WordMemo, NONE};
use wordnet::WordNet;

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
        static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
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
    // `_count_chunks` on the matches sorted by hypothesis position: a new chunk starts at
    // every match that does not follow a match of the previous hypothesis word in the
    // reference (branch-free: `prev` is the previous word's reference position or NONE).
    let mut chunks = 0usize;
    let mut prev = NONE;
    for &r in hyp_match {
        let continues = prev != NONE && prev.wrapping_add(1) == r;
        chunks += usize::from(r != NONE && !continues);
        prev = r;
    }
    let frag = chunks as f64 / m as f64;
    let penalty = GAMMA * frag.powf(BETA);
    (1.0 - penalty) * fmean
}

/// `StemInfo::wn` of a stem not looked up yet.
const UNKNOWN: u32 = NONE - 1;

/// Above this many candidate reference stems, stage 3 buckets them by lemma id.
const BUCKET_FROM: usize = 32;

/// Stage 2 pairs by scanning (`free hypothesis × free reference` compares, no table) up to
/// this many compares, with at most 64 free reference positions.
const SCAN_UP_TO: usize = 1024;

/// Distinct words kept in a thread's stem cache before it is cleared (with the byte and
/// synonym-id limits below: ~10 MB at most).
const CACHE_LIMIT: usize = 1 << 16;

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
    /// vocabulary again and again), cleared once they pass [`CACHE_LIMIT`] entries.
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
    /// Range of the synonym ids in `syn_ids`, `(NONE, NONE)` until computed.
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

    /// Stage 2, NLTK's `_enum_stem_match`: the same walk on the Porter stems of the words left.
    fn stem_stage<H: Words + ?Sized, R: Words + ?Sized>(&mut self, hyp: &H, refr: &R) {
        if self.stemmed.len() + self.memo.len() > CACHE_LIMIT
            || self.stemmed.text_bytes() + self.stems.text_bytes() > CACHE_LIMIT * 64
            || self.syn_ids.len() > CACHE_LIMIT * 16
        {
            self.clear_caches();
        }
        // The positions stage 1 left free (usually a few): stages 2 and 3 work on these lists,
        // `hyp_s[k]` / `ref_s[k]` being the stem ids of `free_h[k]` / `free_r[k]`. (Gathered
        // without a branch per position: which positions are free is a coin flip.)
        let mut free_h = std::mem::take(&mut self.free_h);
        let mut free_r = std::mem::take(&mut self.free_r);
        gather(&mut free_h, self.hyp_match.iter().map(|&m| m == NONE));
        gather(&mut free_r, self.ref_free.iter().copied());
        let mut hyp_s = std::mem::take(&mut self.hyp_s);
        let mut ref_s = std::mem::take(&mut self.ref_s);
        hyp_s.clear();
        ref_s.clear();
        let mut ref_w = std::mem::take(&mut self.ref_w);
        ref_w.clear();
        let mut buf = std::mem::take(&mut self.lower_buf);
        for &i in &free_h {
            hyp_s.push(self.stem_at(hyp, i as usize, &mut buf).0);
        }
        for &j in &free_r {
            let (s, w) = self.stem_at(refr, j as usize, &mut buf);
            ref_s.push(s);
            ref_w.push(w);
        }
        self.lower_buf = buf;
        self.ref_w = ref_w;
        if self.stem_info.len() < self.stems.len() {
            self.stem_info.resize(self.stems.len(), StemInfo::default());
        }
        if free_r.len() <= 64 && free_h.len() * free_r.len() <= SCAN_UP_TO {
            pair_small(&hyp_s, &ref_s, |kh, kr| {
                if let (Some(&i), Some(&j)) = (free_h.get(kh), free_r.get(kr)) {
                    self.pair(i as usize, j as usize);
                }
            });
        } else {
            // Buckets of free reference positions per stem (as indices into `free_r`),
            // right-most on top. The heads live in `stem_info` (indexed by the cached stem
            // ids), all-NONE between calls.
            self.next.clear();
            self.next.resize(free_r.len(), NONE);
            for (k, &s) in ref_s.iter().enumerate() {
                self.next[k] = self.stem_info[s as usize].head;
                self.stem_info[s as usize].head = k as u32;
            }
            for (&i, &s) in free_h.iter().zip(&hyp_s).rev() {
                let k = self.stem_info[s as usize].head;
                if k != NONE {
                    self.stem_info[s as usize].head = self.next[k as usize];
                    self.pair(i as usize, free_r[k as usize] as usize);
                }
            }
            for &s in &ref_s {
                self.stem_info[s as usize].head = NONE;
            }
        }
        self.free_h = free_h;
        self.free_r = free_r;
        self.hyp_s = hyp_s;
        self.ref_s = ref_s;
    }

    /// Stem id of word `i` of list `w` and the WordNet id of the stem ([`NONE`] if it is no
    /// lemma, [`UNKNOWN`] if not known here: `StemInfo::wn` then tells). A word of the
    /// tokenizer's lists is keyed as stage 1 keys it (in place, lower-cased in registers, with
    /// the memo's seed: [`exact::key_of`]): a word of at most 16 bytes is looked up by that key
    /// directly (its bytes are the key's), and one memo entry holds both ids.
    #[inline]
    fn stem_at<W: Words + ?Sized>(&mut self, w: &W, i: usize, buf: &mut String) -> (u32, u32) {
        if let Some(t) = w.tokens() {
            let k = exact::key_of(t, i, self.memo.seed(), buf);
            if k.len as usize <= WordMemo::MAX_KEY {
                if let Some((s, extra)) = self.memo.get(&k) {
                    return (s, wn_of_extra(extra));
                }
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&k.w0.to_le_bytes());
                bytes[8..].copy_from_slice(&k.w1.to_le_bytes());
                let lowered = bytes.get(..k.len as usize).unwrap_or_default();
                // Nearly every new word is lower-case ASCII: stemmed as bytes.
                let ascii =
                    porter::stem_lower_ascii(lowered, &mut self.stem_buf, &mut self.porter_buf);
                let stemmed = match ascii {
                    Some(()) => Some(self.intern_stem()),
                    None => std::str::from_utf8(lowered).ok().map(|w| self.new_stem(w)),
                };
                if let Some((s, extra)) = stemmed {
                    self.memo.insert(&k, s, extra);
                    return (s, wn_of_extra(extra));
                }
            }
        }
        (self.stem_id(w.lower(i, buf)), UNKNOWN)
    }

    /// Stems a lower-cased word not seen yet: its stem id and the memo's encoding of the stem's
    /// WordNet id ([`extra_of_wn`]).
    fn new_stem(&mut self, lowered: &str) -> (u32, u32) {
        porter::stem_with(lowered, &mut self.stem_buf, &mut self.porter_buf);
        self.intern_stem()
    }

    /// The id of the stem in `stem_buf` and the memo's encoding of its WordNet id as far as
    /// it is known (`StemInfo::wn`, filled in by stage 3; "unknown" until then).
    fn intern_stem(&mut self) -> (u32, u32) {
        if self.stem_info.capacity() == 0 {
            // The cache's room, reserved once: the stem tables fill in order, so a new stem
            // touches the end of each (pages faulted in once, never copied by a regrowth).
            self.stems.reserve_once(CACHE_LIMIT);
            self.stem_info.reserve_exact(CACHE_LIMIT);
        }
        let (s, _) = self.stems.intern(&self.stem_buf);
        if self.stem_info.len() <= s as usize {
            self.stem_info.resize(s as usize + 1, StemInfo::default());
        }
        // The stem's WordNet id is looked up only when stage 3 needs it (`synonym_stage`):
        // most new stems never meet it, and there the look-ups of a call are started together.
        let wn = self.stem_info[s as usize].wn;
        let extra = match wn {
            UNKNOWN => WordMemo::MAX_EXTRA - 1,
            NONE => extra_of_wn(None),
            id => extra_of_wn(Some(id)),
        };
        (s, extra)
    }

    /// Forget the cross-call stem and synonym caches (they are bounded by [`CACHE_LIMIT`]).
    fn clear_caches(&mut self) {
        self.stemmed.reset(1024);
        self.memo.clear();
        self.stems.reset(1024);
        self.syn_ids.clear();
        self.stem_info.clear();
    }

    /// Stem id of a lower-cased token (stemmed once per distinct word).
    fn stem_id(&mut self, lowered: &str) -> u32 {
        if lowered.len() <= WordMemo::MAX_KEY {
            let k = self.memo.key(lowered.as_bytes());
            if let Some((s, _)) = self.memo.get(&k) {
                return s;
            }
            let (s, extra) = self.new_stem(lowered);
            self.memo.insert(&k, s, extra);
            return s;
        }
        let (w, new) = self.stemmed.intern(lowered);
        if new {
            porter::stem_with(
                self.stemmed.get(w),
                &mut self.stem_buf,
                &mut self.porter_buf,
            );
            let (s, _) = self.intern_stem();
            self.stemmed.set_value(w, s);
        }
        self.stemmed.value(w)
    }

    /// Stage 3, NLTK's `_enum_wordnetsyn_match` on the stems left by stage 2: each hypothesis
    /// stem, last first, takes the right-most free reference stem that is one of the names of
    /// its WordNet synsets. (NLTK also accepts the stem itself, but stage 2 has already paired
    /// every free hypothesis stem that some free reference stem equals.) Only reference stems
    /// that are WordNet lemmas can match; with many of them free, they are bucketed by lemma id
    /// so each hypothesis stem costs one look-up per synonym instead of a scan.
    fn synonym_stage(&mut self) {
        let wn = WordNet::get();
        self.ref_wn.clear();
        self.cand.clear();
        // WordNet ids of stems are cached by stem id across calls, like the synonym sets:
        // the lemma map is large, so a fresh look-up is likely a cache miss.
        if self.stem_info.len() < self.stems.len() {
            self.stem_info.resize(self.stems.len(), StemInfo::default());
        }
        for ((&j, &s), &known) in self.free_r.iter().zip(&self.ref_s).zip(&self.ref_w) {
            // Whether the position is still free and its stem a lemma is a coin flip: selects.
            let free = self.ref_free.get(j as usize).copied().unwrap_or(false);
            let mut id = known;
            if id == UNKNOWN {
                id = match self.stem_info[s as usize].wn {
                    // Only a free position's stem is looked up (taken ones cannot match).
                    UNKNOWN if free => {
                        let id = wn.id(self.stems.get(s)).unwrap_or(NONE);
                        self.stem_info[s as usize].wn = id;
                        id
                    }
                    id => id,
                };
            }
            id = select_unpredictable(free, id, NONE);
            self.cand.push(self.ref_wn.len() as u32);
            self.cand
                .truncate(self.cand.len() - usize::from(id == NONE));
            self.ref_wn.push(id);
        }
        if self.cand.is_empty() {
            return;
        }
        // Synonym sets are cached across calls by stem id (see `clear_caches`).
        let bucketed = self.cand.len() > BUCKET_FROM;
        if bucketed {
            // `wn_head` is indexed by lemma id and kept all-NONE between calls.
            if self.wn_head.len() < wn.len() {
                self.wn_head.resize(wn.len(), NONE);
            }
            self.next.clear();
            self.next.resize(self.ref_wn.len(), NONE);
            for &k in &self.cand {
                let id = self.ref_wn[k as usize] as usize;
                self.next[k as usize] = self.wn_head[id];
                self.wn_head[id] = k;
            }
        }
        for kh in (0..self.free_h.len()).rev() {
            let i = self.free_h[kh] as usize;
            if !self.hyp_free(i) {
                continue;
            }
            let (a, b) = self.synonyms_of(wn, self.hyp_s[kh]);
            let syns = &self.syn_ids[a as usize..b as usize];
            let found = if bucketed {
                syns.iter()
                    .map(|&s| self.wn_head.get(s as usize).copied().unwrap_or(NONE))
                    .filter(|&j| j != NONE)
                    .max()
            } else {
                self.cand.iter().rev().copied().find(|&k| {
                    self.ref_free[self.free_r[k as usize] as usize]
                        && syns.binary_search(&self.ref_wn[k as usize]).is_ok()
                })
            };
            if let Some(k) = found {
                let k = k as usize;
                if bucketed {
                    let id = self.ref_wn[k] as usize;
                    self.wn_head[id] = self.next[k];
                }
                self.pair(i, self.free_r[k] as usize);
            }
        }
        if bucketed {
            for &k in &self.cand {
                self.wn_head[self.ref_wn[k as usize] as usize] = NONE;
            }
        }
    }

    /// Range in `syn_ids` of the sorted, distinct synonym ids of stem `s` (computed once).
    fn synonyms_of(&mut self, wn: &WordNet, s: u32) -> (u32, u32) {
        let cached = self.stem_info[s as usize].syn;
        if cached.0 != NONE {
            return cached;
        }
        let start = self.syn_ids.len();
        // A stem known to be a lemma is its own key: no second look-up.
        let lemma = self.stem_info[s as usize].wn;
        let known = (lemma != UNKNOWN && lemma != NONE).then_some(lemma);
        let lemma = wn.synonym_ids_of(
            self.stems.get(s),
            known,
            &mut self.syn_ids,
            &mut self.morph_buf,
        );
        self.stem_info[s as usize].wn = lemma.unwrap_or(NONE);
        self.syn_ids[start..].sort_unstable();
        let mut end = start;
        for k in start..self.syn_ids.len() {
            if k == start || self.syn_ids[k] != self.syn_ids[end - 1] {
                self.syn_ids[end] = self.syn_ids[k];
                end += 1;
            }
        }
        self.syn_ids.truncate(end);
        let range = (start as u32, end as u32);
        self.stem_info[s as usize].syn = range;
        range
    }
}

/// The memo's second value for a stem's WordNet id (`None`: no lemma): ids the memo cannot hold
/// are kept as "unknown" (stage 3 then asks `StemInfo::wn`).
fn extra_of_wn(id: Option<u32>) -> u32 {
    match id {
        None => WordMemo::MAX_EXTRA,
        Some(id) if id < WordMemo::MAX_EXTRA - 1 => id,
        Some(_) => WordMemo::MAX_EXTRA - 1,
    }
}

/// The WordNet id ([`NONE`]: no lemma, [`UNKNOWN`]) the memo's second value stands for.
fn wn_of_extra(extra: u32) -> u32 {
    // Selects: whether a stem is a lemma is a coin flip.
    let known = select_unpredictable(extra == WordMemo::MAX_EXTRA - 1, UNKNOWN, extra);
    select_unpredictable(extra == WordMemo::MAX_EXTRA, NONE, known)
}

/// Sets `out` to the indices of the `true` flags, ascending, without a branch per flag.
fn gather(out: &mut Vec<u32>, flags: impl ExactSizeIterator<Item = bool>) {
    out.clear();
    out.resize(flags.len(), 0);
    let mut n = 0;
    for (i, f) in flags.enumerate() {
        if let Some(slot) = out.get_mut(n) {
            *slot = i as u32;
        }
        n += usize::from(f);
    }
    out.truncate(n);
}

/// Stage 2's walk on few free positions (at most 64 reference ones): each hypothesis stem,
/// last first, takes the right-most still free reference position with the same stem, found
/// as the highest bit of a mask of the equal ones; `pair(kh, kr)` gets the indices into
/// `hyp_s` and `ref_s`. No table (the per-stem buckets are in a large cross-call array, one
/// likely cache miss per stem), and no branch per compare.
fn pair_small(hyp_s: &[u32], ref_s: &[u32], mut pair: impl FnMut(usize, usize)) {
    let mut free = match ref_s.len() {
        0 => return,
        n @ 1..=63 => (1u64 << n) - 1,
        _ => u64::MAX,
    };
    for (kh, &s) in hyp_s.iter().enumerate().rev() {
        let same = ref_s
            .iter()
            .take(64)
            .enumerate()
            .fold(0u64, |m, (k, &t)| m | (u64::from(t == s) << k));
        let hit = same & free;
        if hit != 0 {
            let kr = 63 - hit.leading_zeros() as usize;
            free &= !(1u64 << kr);
            pair(kh, kr);
        }
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

    /// Stage 2's walk as NLTK writes it: each hypothesis item, last first, takes the
    /// right-most unused equal reference item.
    fn naive_pairs(hyp_s: &[u32], ref_s: &[u32]) -> Vec<(usize, usize)> {
        let mut used = vec![false; ref_s.len()];
        let mut out = Vec::new();
        for kh in (0..hyp_s.len()).rev() {
            if let Some(kr) = (0..ref_s.len())
                .rev()
                .find(|&kr| !used[kr] && ref_s[kr] == hyp_s[kh])
            {
                used[kr] = true;
                out.push((kh, kr));
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn pair_small_is_the_naive_walk(
            hyp_s in proptest::collection::vec(0u32..6, 0..70),
            ref_s in proptest::collection::vec(0u32..6, 0..=64),
        ) {
            let mut got = Vec::new();
            pair_small(&hyp_s, &ref_s, |kh, kr| got.push((kh, kr)));
            proptest::prop_assert_eq!(got, naive_pairs(&hyp_s, &ref_s));
        }

        #[test]
        fn gather_lists_the_true_flags(flags in proptest::collection::vec(proptest::bool::ANY, 0..100)) {
            let mut out = vec![7, 7];
            gather(&mut out, flags.iter().copied());
            let want: Vec<u32> = (0..flags.len() as u32).filter(|&i| flags[i as usize]).collect();
            proptest::prop_assert_eq!(out, want);
        }
    }

    #[test]
    fn memo_encodes_wordnet_ids() {
        for id in [0, 1, 150_000, WordMemo::MAX_EXTRA - 2] {
            assert_eq!(wn_of_extra(extra_of_wn(Some(id))), id);
        }
        assert_eq!(wn_of_extra(extra_of_wn(None)), NONE);
        // Ids the memo cannot hold read back as unknown (looked up again, never wrong).
        for id in [WordMemo::MAX_EXTRA - 1, WordMemo::MAX_EXTRA, u32::MAX - 1] {
            assert_eq!(wn_of_extra(extra_of_wn(Some(id))), UNKNOWN);
        }
        // Every WordNet id fits.
        assert!((WordNet::get().len() as u32) < WordMemo::MAX_EXTRA - 1);
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
