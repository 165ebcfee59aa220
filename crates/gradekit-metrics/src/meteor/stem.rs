//! Stage 2 of METEOR (NLTK's `_enum_stem_match`): the Porter stems of the positions stage 1
//! left free, from the thread's cross-call word → stem caches, and their pairing.

use super::exact;
use super::intern::{WordMemo, NONE};
use super::porter;
use super::{Scratch, StemInfo, Words, UNKNOWN};
use std::hint::select_unpredictable;

/// Stage 2 pairs by scanning (`free hypothesis × free reference` compares, no table) up to
/// this many compares, with at most 64 free reference positions.
const SCAN_UP_TO: usize = 1024;

/// Distinct words kept in a thread's stem cache before it is cleared (with the byte and
/// synonym-id limits below: ~10 MB at most).
pub(super) const CACHE_LIMIT: usize = 1 << 16;

impl Scratch {
    /// Stage 2, NLTK's `_enum_stem_match`: the same walk on the Porter stems of the words left.
    pub(super) fn stem_stage<H: Words + ?Sized, R: Words + ?Sized>(&mut self, hyp: &H, refr: &R) {
        if self.stemmed.len() + self.memo.len() > CACHE_LIMIT
            || self.stemmed.text_bytes() + self.stems.text_bytes() > CACHE_LIMIT * 64
            || self.syn_ids.len() > CACHE_LIMIT * 16
        {
            self.clear_caches();
        }
        let words_before = self.memo.len() + self.stemmed.len();
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
        self.new_words = self.memo.len() + self.stemmed.len() != words_before;
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
    use super::super::wordnet::WordNet;
    use super::*;

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
}
