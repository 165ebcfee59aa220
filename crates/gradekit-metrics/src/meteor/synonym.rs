//! Stage 3 of METEOR (NLTK's `_enum_wordnetsyn_match`): WordNet synonyms of the stems stages
//! 1 and 2 left free ([`super::wordnet`]).

use std::hint::select_unpredictable;

use super::intern::NONE;
use super::wordnet::WordNet;
use super::{Scratch, StemInfo, UNKNOWN};

/// Above this many candidate reference stems, stage 3 buckets them by lemma id.
const BUCKET_FROM: usize = 32;

impl Scratch {
    /// Stage 3, NLTK's `_enum_wordnetsyn_match` on the stems left by stage 2: each hypothesis
    /// stem, last first, takes the right-most free reference stem that is one of the names of
    /// its WordNet synsets. (NLTK also accepts the stem itself, but stage 2 has already paired
    /// every free hypothesis stem that some free reference stem equals.) Only reference stems
    /// that are WordNet lemmas can match; with many of them free, they are bucketed by lemma id
    /// so each hypothesis stem costs one look-up per synonym instead of a scan.
    ///
    /// What a run over new text pays here is memory: a reference stem's lemma id is a probe of
    /// the 4 MiB key table, a likely cache and TLB miss. So a new reference stem is first only
    /// tested against WordNet's negative filter (most are no key: the answer is then final and
    /// cached), and the ones that pass are probed only when a hypothesis stem with synonyms
    /// reaches them in the walk (most calls have none).
    pub(super) fn synonym_stage(&mut self) {
        let wn = WordNet::get();
        self.ref_wn.clear();
        self.cand.clear();
        // WordNet ids of stems are cached by stem id across calls, like the synonym sets:
        // the lemma map is large, so a fresh look-up is likely a cache miss.
        if self.stem_info.len() < self.stems.len() {
            self.stem_info.resize(self.stems.len(), StemInfo::default());
        }
        if self.new_words {
            self.prefetch_refs(wn);
        }
        for ((&j, &s), &known) in self.free_r.iter().zip(&self.ref_s).zip(&self.ref_w) {
            // Whether the position is still free and its stem a lemma is a coin flip: selects.
            let free = self.ref_free.get(j as usize).copied().unwrap_or(false);
            let mut id = known;
            if id == UNKNOWN {
                id = self.stem_info[s as usize].wn;
                // Only a free position's stem is tested (taken ones cannot match); one the
                // filter rejects is no lemma. The others stay UNKNOWN (a candidate) until a
                // hypothesis stem with synonyms needs them (`ref_lemma`).
                if id == UNKNOWN && free && !wn.may_be_key(self.stems.get(s)) {
                    self.stem_info[s as usize].wn = NONE;
                    id = NONE;
                }
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
        if self.new_words {
            self.prefetch_hyps(wn);
        }
        if self.cand.len() > BUCKET_FROM {
            return self.synonym_buckets(wn);
        }
        for kh in (0..self.free_h.len()).rev() {
            let i = self.free_h[kh] as usize;
            if !self.hyp_free(i) {
                continue;
            }
            let (a, b) = self.synonyms_of(wn, self.hyp_s[kh]);
            if a == b {
                continue;
            }
            // The right-most free candidate whose lemma is a synonym.
            let mut found = None;
            for c in (0..self.cand.len()).rev() {
                let k = self.cand[c] as usize;
                if !self.ref_free[self.free_r[k] as usize] {
                    continue;
                }
                let id = self.ref_lemma(wn, k);
                if id != NONE
                    && self.syn_ids[a as usize..b as usize]
                        .binary_search(&id)
                        .is_ok()
                {
                    found = Some(k);
                    break;
                }
            }
            if let Some(k) = found {
                self.pair(i, self.free_r[k] as usize);
            }
        }
    }

    /// Starts loading the filter words of the free reference stems not known yet, which the
    /// loop of [`Self::synonym_stage`] tests next ([`WordNet::prefetch_filter`]; the test
    /// itself starts loading the home slot of a stem that passes). In a run over new text
    /// each is a likely cache miss; started together, they are waited for about once instead
    /// of one after another. Changes no value.
    fn prefetch_refs(&self, wn: &WordNet) {
        for ((&j, &s), &known) in self.free_r.iter().zip(&self.ref_s).zip(&self.ref_w) {
            if known == UNKNOWN
                && self.ref_free.get(j as usize) == Some(&true)
                && self.stem_info[s as usize].wn == UNKNOWN
            {
                wn.prefetch_filter(self.stems.get(s));
            }
        }
    }

    /// The same for the still free hypothesis stems whose synonyms the walk will compute,
    /// last first as the walk takes them: the key's filter word and home slot
    /// ([`WordNet::prefetch_key`]), or for a stem already known to be a lemma (met as a
    /// reference stem before), the start of its synset runs. Changes no value.
    fn prefetch_hyps(&self, wn: &WordNet) {
        for (&i, &s) in self.free_h.iter().zip(&self.hyp_s).rev() {
            let info = &self.stem_info[s as usize];
            if info.syn.0 == NONE && self.hyp_free(i as usize) {
                match (info.wn, info.syn.1) {
                    (UNKNOWN, _) => wn.prefetch_key(self.stems.get(s)),
                    (NONE, _) => {}
                    (id, NONE) => wn.prefetch_sets(id),
                    (_, run) => wn.prefetch_run(run),
                }
            }
        }
    }

    /// The lemma id (or NONE) of candidate `k` of `ref_wn`, looked up once if UNKNOWN.
    fn ref_lemma(&mut self, wn: &WordNet, k: usize) -> u32 {
        let id = self.ref_wn[k];
        if id != UNKNOWN {
            return id;
        }
        let s = self.ref_s[k] as usize;
        let id = match self.stem_info[s].wn {
            UNKNOWN => {
                // Its synonyms are not computed yet (that would have set `wn`): the run's
                // start is kept for them in `syn.1` ([`StemInfo::syn`]).
                let (id, run) = wn
                    .lemma_run(self.stems.get(s as u32))
                    .unwrap_or((NONE, NONE));
                self.stem_info[s].wn = id;
                self.stem_info[s].syn.1 = run;
                id
            }
            id => id,
        };
        self.ref_wn[k] = id;
        id
    }

    /// Stage 3's walk with many candidates: they are bucketed by lemma id (right-most on top),
    /// so each hypothesis stem costs one look-up per synonym instead of a scan.
    fn synonym_buckets(&mut self, wn: &WordNet) {
        // Every candidate's lemma id, then only the lemmas stay candidates.
        for c in 0..self.cand.len() {
            let k = self.cand[c] as usize;
            self.ref_lemma(wn, k);
        }
        let ref_wn = &self.ref_wn;
        self.cand.retain(|&k| ref_wn[k as usize] != NONE);
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
        for kh in (0..self.free_h.len()).rev() {
            let i = self.free_h[kh] as usize;
            if !self.hyp_free(i) {
                continue;
            }
            let (a, b) = self.synonyms_of(wn, self.hyp_s[kh]);
            let found = self.syn_ids[a as usize..b as usize]
                .iter()
                .map(|&s| self.wn_head.get(s as usize).copied().unwrap_or(NONE))
                .filter(|&j| j != NONE)
                .max();
            if let Some(k) = found {
                let k = k as usize;
                let id = self.ref_wn[k] as usize;
                self.wn_head[id] = self.next[k];
                self.pair(i, self.free_r[k] as usize);
            }
        }
        for &k in &self.cand {
            self.wn_head[self.ref_wn[k as usize] as usize] = NONE;
        }
    }

    /// Range in `syn_ids` of the sorted, distinct synonym ids of stem `s` (computed once).
    fn synonyms_of(&mut self, wn: &WordNet, s: u32) -> (u32, u32) {
        let cached = self.stem_info[s as usize].syn;
        if cached.0 != NONE {
            return cached;
        }
        let start = self.syn_ids.len();
        // A stem known to be a lemma is its own key: no second look-up (and if it was looked
        // up here, its run's start is known too).
        let lemma = self.stem_info[s as usize].wn;
        let run = (cached.1 != NONE).then_some(cached.1);
        let known = (lemma != UNKNOWN && lemma != NONE).then_some((lemma, run));
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
