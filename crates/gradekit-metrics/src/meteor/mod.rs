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
//! Speed: tokens are interned into small integer ids once per call, so the exact and stem stages
//! are bucket look-ups (each bucket holds the unmatched reference positions in order, the
//! right-most on top), each distinct word is stemmed once and each distinct hypothesis stem
//! looks up its synonyms once, only when the synonym stage can still match anything.
//!
//! Proof of parity: `tests/meteor_vectors.rs` (the dev vectors, thousands of random
//! synonym-rich pairs scored by NLTK, and the Porter stemmer on a large word list).

pub mod porter;
pub mod wordnet;

use std::borrow::Cow;

use wordnet::{Map, WordNet};

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
    let hyp = crate::tokenize::nltk_tokenize(input);
    let refr = crate::tokenize::nltk_tokenize(reference);
    meteor_tokens(&hyp, &refr)
}

/// METEOR of a tokenised hypothesis against one tokenised reference, as
/// `nltk.translate.meteor_score.meteor_score([refr], hyp)`.
///
/// ```
/// use gradekit_metrics::meteor::meteor_tokens;
/// let hyp = ["the", "cat", "sat", "on", "the", "mat"];
/// let refr = ["the", "cat", "was", "sitting", "on", "the", "mat"];
/// assert!((meteor_tokens(&hyp, &refr) - 0.8445).abs() < 1e-4);
/// ```
pub fn meteor_tokens<S: AsRef<str>>(hyp: &[S], refr: &[S]) -> f64 {
    if hyp.is_empty() || refr.is_empty() {
        return 0.0;
    }
    let mut words = Interner::default();
    let hyp_w: Vec<u32> = hyp.iter().map(|t| words.intern(t.as_ref())).collect();
    let ref_w: Vec<u32> = refr.iter().map(|t| words.intern(t.as_ref())).collect();

    let mut hyp_free = vec![true; hyp_w.len()];
    let mut ref_free = vec![true; ref_w.len()];
    let mut matches: Vec<(usize, usize)> = Vec::with_capacity(hyp_w.len().min(ref_w.len()));

    // Stage 1: exact (lower-cased) words.
    match_by_key(
        &hyp_w,
        &ref_w,
        words.len(),
        &mut hyp_free,
        &mut ref_free,
        &mut matches,
    );

    // Stage 2: Porter stems of the words still unmatched (each distinct word stemmed once).
    if matches.len() < hyp_w.len() && matches.len() < ref_w.len() {
        let stems = words.stems();
        let hyp_s: Vec<u32> = hyp_w.iter().map(|&w| stems.of_word[w as usize]).collect();
        let ref_s: Vec<u32> = ref_w.iter().map(|&w| stems.of_word[w as usize]).collect();
        match_by_key(
            &hyp_s,
            &ref_s,
            stems.len(),
            &mut hyp_free,
            &mut ref_free,
            &mut matches,
        );

        // Stage 3: WordNet synonyms of the hypothesis stems against the reference stems.
        if matches.len() < hyp_w.len() && matches.len() < ref_w.len() {
            synonym_stage(
                &stems,
                &hyp_s,
                &ref_s,
                &mut hyp_free,
                &mut ref_free,
                &mut matches,
            );
        }
    }

    score(matches, hyp_w.len(), ref_w.len())
}

/// Python's float arithmetic of `single_meteor_score`, in the same order.
fn score(mut matches: Vec<(usize, usize)>, hyp_len: usize, ref_len: usize) -> f64 {
    let m = matches.len();
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
    // Hypothesis positions are distinct, so the sort order is total.
    matches.sort_unstable_by_key(|&(h, _)| h);
    let chunks = 1 + matches
        .windows(2)
        .filter(|p| !(p[1].0 == p[0].0 + 1 && p[1].1 == p[0].1 + 1))
        .count();
    let frag = chunks as f64 / m as f64;
    let penalty = GAMMA * frag.powf(BETA);
    (1.0 - penalty) * fmean
}

/// One alignment stage on keys: each unmatched hypothesis position, last first, takes the
/// right-most unmatched reference position with the same key (NLTK's `_match_enums`).
fn match_by_key(
    hyp: &[u32],
    refr: &[u32],
    n_keys: usize,
    hyp_free: &mut [bool],
    ref_free: &mut [bool],
    matches: &mut Vec<(usize, usize)>,
) {
    // Bucketed linked lists: head[k] = right-most free reference position with key k,
    // next[j] = the next free one to its left.
    const NONE: u32 = u32::MAX;
    let mut head = vec![NONE; n_keys];
    let mut next = vec![NONE; refr.len()];
    for (j, &k) in refr.iter().enumerate() {
        if ref_free[j] {
            next[j] = head[k as usize];
            head[k as usize] = j as u32;
        }
    }
    for i in (0..hyp.len()).rev() {
        if !hyp_free[i] {
            continue;
        }
        let k = hyp[i] as usize;
        let j = head[k];
        if j != NONE {
            head[k] = next[j as usize];
            hyp_free[i] = false;
            ref_free[j as usize] = false;
            matches.push((i, j as usize));
        }
    }
}

/// NLTK's `_enum_wordnetsyn_match` on the stems left by stage 2.
fn synonym_stage(
    stems: &Stems,
    hyp_s: &[u32],
    ref_s: &[u32],
    hyp_free: &mut [bool],
    ref_free: &mut [bool],
    matches: &mut Vec<(usize, usize)>,
) {
    let wn = WordNet::get();
    // WordNet id of each distinct stem (None: no lemma, so no hypothesis synonym can equal it).
    let stem_wn: Vec<Option<u32>> = stems.text.iter().map(|s| wn.id(s)).collect();
    if !ref_s
        .iter()
        .zip(ref_free.iter())
        .any(|(&s, &free)| free && stem_wn[s as usize].is_some())
    {
        // A stem without a lemma could still equal the hypothesis stem itself, but stage 2 has
        // already paired every such equality; nothing can match.
        return;
    }
    let mut syn_cache: Map<u32, Vec<u32>> = Map::default();
    let mut scratch = String::new();
    for i in (0..hyp_s.len()).rev() {
        if !hyp_free[i] {
            continue;
        }
        let hs = hyp_s[i];
        let syns = syn_cache.entry(hs).or_insert_with(|| {
            let mut ids = Vec::new();
            wn.synonym_ids_into(&stems.text[hs as usize], &mut ids, &mut scratch);
            ids.sort_unstable();
            ids.dedup();
            ids
        });
        if syns.is_empty() {
            continue;
        }
        let found = (0..ref_s.len()).rev().find(|&j| {
            ref_free[j]
                && (ref_s[j] == hs
                    || stem_wn[ref_s[j] as usize].is_some_and(|id| syns.binary_search(&id).is_ok()))
        });
        if let Some(j) = found {
            hyp_free[i] = false;
            ref_free[j] = false;
            matches.push((i, j));
        }
    }
}

/// Distinct lower-cased tokens of one call, numbered in order of first appearance.
#[derive(Default)]
struct Interner<'a> {
    ids: Map<Cow<'a, str>, u32>,
    text: Vec<Cow<'a, str>>,
}

impl<'a> Interner<'a> {
    fn intern(&mut self, token: &'a str) -> u32 {
        let lower = porter::py_lower(token);
        if let Some(&id) = self.ids.get(lower.as_ref()) {
            return id;
        }
        let id = self.text.len() as u32;
        self.ids.insert(lower.clone(), id);
        self.text.push(lower);
        id
    }

    fn len(&self) -> usize {
        self.text.len()
    }

    /// Stem every distinct word once and number the distinct stems.
    fn stems(&self) -> Stems {
        let mut ids: Map<String, u32> = Map::default();
        let mut text: Vec<String> = Vec::new();
        let mut of_word = Vec::with_capacity(self.text.len());
        let mut buf = String::new();
        for w in &self.text {
            porter::stem_into(w, &mut buf);
            let id = match ids.get(buf.as_str()) {
                Some(&id) => id,
                None => {
                    let id = text.len() as u32;
                    ids.insert(buf.clone(), id);
                    text.push(buf.clone());
                    id
                }
            };
            of_word.push(id);
        }
        Stems { text, of_word }
    }
}

struct Stems {
    /// Distinct stems; the index is the stem id.
    text: Vec<String>,
    /// Stem id of each interned word.
    of_word: Vec<u32>,
}

impl Stems {
    fn len(&self) -> usize {
        self.text.len()
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

    #[test]
    fn zero_division_paths() {
        let empty: [&str; 0] = [];
        assert_eq!(meteor_tokens(&empty, &empty), 0.0);
        assert_eq!(meteor_tokens(&empty, &["a"]), 0.0);
        assert_eq!(meteor_tokens(&["a"], &empty), 0.0);
        assert_eq!(meteor_tokens(&["Cat"], &["cat"]), 0.5);
    }
}
