//! Clipped n-gram overlap shared by bleu, gleu and rouge_N.
//!
//! All three metrics need, for an order `n`, the multiset intersection size
//! `Σ_g min(count_ref(g), count_hyp(g))` over the n-grams `g` of the two token
//! lists (NLTK `modified_precision`'s clipped count, `gleu`'s `ref & hyp`
//! Counter, rouge-score's `_score_ngrams` intersection). The libraries build a
//! dictionary of token tuples per order; we avoid hashing tuples:
//!
//! 1. tokens are interned to dense ids **anchored to the reference**: every
//!    reference token gets an id, an input token absent from the reference gets
//!    [`ABSENT`] (it can never match, so it needs no id);
//! 2. order `n` is derived from order `n − 1` by *iterated pairing*: the n-gram
//!    at position `i` is the pair (rank of the (n−1)-gram at `i`, id of token
//!    `i + n − 1`), packed into a `u64` and interned into a dense rank. Only
//!    reference n-grams whose (n−1)-prefix also occurs in the input get a rank
//!    (the others cannot match), and input n-grams are only looked up, never
//!    inserted;
//! 3. the clipped count is accumulated while scanning the input: an occurrence
//!    counts when fewer occurrences of the same rank were seen so far than the
//!    reference holds.
//!
//! Equality of ranks is equality of n-grams (by induction on `n`), so the
//! counts are exact; each order costs O(|ref| + |input|) expected time, and
//! orders stop early once an order has no match (no longer n-gram can match
//! then).
//!
//! Speed: the hash tables are small open-addressing index tables (load ≤ ½,
//! linear probing) whose hashes are seeded randomly per thread, so no fixed
//! input forces collisions; all buffers live in a per-thread [`Scratch`]
//! reused across calls, so a call allocates nothing once warm.

use std::cell::Cell;
use std::hash::BuildHasher;

/// Seeded hasher for token bytes: foldhash with a per-process random seed.
pub(crate) type Hasher = foldhash::fast::RandomState;

/// Id of an input token (or n-gram) that does not occur in the reference.
pub(crate) const ABSENT: u32 = u32::MAX;

/// Open-addressing table of dense ids: slot value `id + 1`, 0 = empty. The
/// keys live outside (the caller's equality closure compares them), so one
/// type serves token bytes and packed n-gram pairs.
#[derive(Debug, Default)]
struct Slots {
    slots: Vec<u32>,
    mask: usize,
    shift: u32,
}

impl Slots {
    /// Empties the table, sized for `items` insertions at load ≤ ½.
    fn reset(&mut self, items: usize) {
        let cap = (items.saturating_mul(2)).next_power_of_two().max(16);
        self.slots.clear();
        self.slots.resize(cap, 0);
        self.mask = cap - 1;
        self.shift = 64 - cap.trailing_zeros();
    }

    /// Start slot of a hash: its top bits (the mixers below put their
    /// entropy there).
    #[inline]
    fn home(&self, hash: u64) -> usize {
        (hash >> self.shift) as usize & self.mask
    }

    /// Returns the id whose key satisfies `eq`, or inserts `fresh`.
    #[inline]
    fn find_or_insert(&mut self, hash: u64, fresh: u32, eq: impl Fn(u32) -> bool) -> u32 {
        let mut i = self.home(hash);
        loop {
            let s = self.slots[i];
            if s == 0 {
                self.slots[i] = fresh + 1;
                return fresh;
            }
            if eq(s - 1) {
                return s - 1;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Returns the id whose key satisfies `eq`, or [`ABSENT`].
    #[inline]
    fn find(&self, hash: u64, eq: impl Fn(u32) -> bool) -> u32 {
        let mut i = self.home(hash);
        loop {
            let s = self.slots[i];
            if s == 0 {
                return ABSENT;
            }
            if eq(s - 1) {
                return s - 1;
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// Reusable buffers for interning and overlap counting (one per thread).
#[derive(Debug)]
pub(crate) struct Scratch {
    hasher: Hasher,
    tokens: Slots,
    /// Per token id: hash and index of its first reference occurrence.
    token_hash: Vec<u64>,
    token_first: Vec<u32>,
    /// Interned ids of the current pair.
    pub(crate) ids: Ids,
    work: Work,
}

/// Token ids of a (reference, input) pair, anchored to the reference.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    /// Reference token ids, dense in `0..vocab`.
    pub(crate) reference: Vec<u32>,
    /// Input token ids; [`ABSENT`] for tokens not in the reference.
    pub(crate) input: Vec<u32>,
    /// Number of distinct reference tokens.
    pub(crate) vocab: usize,
}

/// Buffers of [`Work::clipped_overlaps`].
#[derive(Debug, Default)]
pub(crate) struct Work {
    /// Odd multiplier for n-gram pair keys, random per thread.
    pair_seed: u64,
    ref_count: Vec<u32>,
    inp_count: Vec<u32>,
    ref_rank: Vec<u32>,
    inp_rank: Vec<u32>,
    gram_keys: Vec<u64>,
    grams: Slots,
}

impl Default for Scratch {
    fn default() -> Self {
        let hasher = Hasher::default();
        let pair_seed = hasher.hash_one(0x5eed_u64) | 1;
        Scratch {
            hasher,
            tokens: Slots::default(),
            token_hash: Vec::new(),
            token_first: Vec::new(),
            ids: Ids::default(),
            work: Work {
                pair_seed,
                ..Work::default()
            },
        }
    }
}

thread_local! {
    static SCRATCH: Cell<Option<Box<Scratch>>> = const { Cell::new(None) };
}

/// Buffers larger than this many elements are not kept for the next call.
const KEEP_LIMIT: usize = 1 << 20;

/// Runs `f` with this thread's scratch buffers. The buffers are taken out of
/// the thread-local slot for the call (a nested call simply gets fresh ones)
/// and put back afterwards unless they grew past [`KEEP_LIMIT`].
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    let mut s: Box<Scratch> = SCRATCH
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default();
    let r = f(&mut s);
    if s.ids.reference.capacity().max(s.ids.input.capacity()) <= KEEP_LIMIT {
        // Fails only during thread teardown; the buffers are then dropped.
        let _ = SCRATCH.try_with(|c| c.set(Some(s)));
    }
    r
}

impl Scratch {
    /// Interns a pair of token lists into `self.ids`: `reference(k)` is the
    /// k-th of `ref_len` reference tokens; `input` yields the input tokens.
    pub(crate) fn intern<'r, 'i, R, I>(&mut self, ref_len: usize, reference: R, input: I)
    where
        R: Fn(usize) -> &'r [u8],
        I: Iterator<Item = &'i [u8]>,
    {
        let ids = &mut self.ids;
        ids.reference.clear();
        ids.input.clear();
        self.token_hash.clear();
        self.token_first.clear();
        self.tokens.reset(ref_len);
        for k in 0..ref_len {
            let tok = reference(k);
            let h = self.hasher.hash_one(tok);
            let fresh = self.token_hash.len() as u32;
            let (hashes, firsts) = (&self.token_hash, &self.token_first);
            let id = self.tokens.find_or_insert(h, fresh, |id| {
                hashes[id as usize] == h && bytes_eq(reference(firsts[id as usize] as usize), tok)
            });
            if id == fresh {
                self.token_hash.push(h);
                self.token_first.push(k as u32);
            }
            ids.reference.push(id);
        }
        ids.vocab = self.token_hash.len();
        if ids.vocab == 0 {
            ids.input.extend(input.map(|_| ABSENT));
            return;
        }
        for tok in input {
            let h = self.hasher.hash_one(tok);
            let (hashes, firsts) = (&self.token_hash, &self.token_first);
            ids.input.push(self.tokens.find(h, |id| {
                hashes[id as usize] == h && bytes_eq(reference(firsts[id as usize] as usize), tok)
            }));
        }
    }

    /// [`Work::clipped_overlaps`] of the interned pair.
    pub(crate) fn clipped_overlaps(&mut self, out: &mut [u64]) {
        let ids = &self.ids;
        self.work
            .clipped_overlaps(&ids.reference, &ids.input, ids.vocab, out);
    }

    /// The id buffers and the counting buffers, borrowed apart (for ids
    /// interned elsewhere, e.g. against a prepared reference).
    pub(crate) fn split(&mut self) -> (&mut Ids, &mut Work) {
        (&mut self.ids, &mut self.work)
    }
}

impl Work {
    #[inline]
    fn pair_hash(&self, key: u64) -> u64 {
        (key ^ (key >> 29)).wrapping_mul(self.pair_seed)
    }

    /// Clipped overlap counts for orders `1..=out.len()`: `out[k]` receives
    /// `Σ_g min(count_ref(g), count_input(g))` over the n-grams of order
    /// `k + 1`.
    ///
    /// `reference` ids must be dense in `0..vocab`; `input` ids are in
    /// `0..vocab` or [`ABSENT`].
    pub(crate) fn clipped_overlaps(
        &mut self,
        reference: &[u32],
        input: &[u32],
        vocab: usize,
        out: &mut [u64],
    ) {
        out.iter_mut().for_each(|o| *o = 0);
        if out.is_empty() || reference.is_empty() || input.is_empty() {
            return;
        }
        // Order 1: counts per token id.
        self.ref_count.clear();
        self.ref_count.resize(vocab, 0);
        for &id in reference {
            if let Some(c) = self.ref_count.get_mut(id as usize) {
                *c += 1;
            }
        }
        self.inp_count.clear();
        self.inp_count.resize(vocab, 0);
        let mut overlap = 0u64;
        for &id in input {
            if let Some(c) = self.inp_count.get_mut(id as usize) {
                if *c < self.ref_count[id as usize] {
                    overlap += 1;
                }
                *c += 1;
            }
        }
        out[0] = overlap;
        if out.len() == 1 {
            return;
        }

        self.ref_rank.clear();
        self.ref_rank.extend_from_slice(reference);
        self.inp_rank.clear();
        self.inp_rank.extend_from_slice(input);
        for n in 2..=out.len() {
            if overlap == 0 || reference.len() < n || input.len() < n {
                return;
            }
            // Reference n-grams whose prefix occurs in the input get a rank.
            let ref_grams = reference.len() + 1 - n;
            self.grams.reset(ref_grams);
            self.gram_keys.clear();
            self.ref_count.clear();
            for j in 0..ref_grams {
                let prefix = self.ref_rank[j];
                let live = self.inp_count.get(prefix as usize).is_some_and(|&c| c > 0);
                self.ref_rank[j] = if live {
                    let key = (u64::from(prefix) << 32) | u64::from(reference[j + n - 1]);
                    let fresh = self.gram_keys.len() as u32;
                    let keys = &self.gram_keys;
                    let rank = self
                        .grams
                        .find_or_insert(self.pair_hash(key), fresh, |r| keys[r as usize] == key);
                    if rank == fresh {
                        self.gram_keys.push(key);
                        self.ref_count.push(0);
                    }
                    self.ref_count[rank as usize] += 1;
                    rank
                } else {
                    ABSENT
                };
            }
            self.ref_rank.truncate(ref_grams);
            // Input n-grams are looked up only.
            self.inp_count.clear();
            self.inp_count.resize(self.gram_keys.len(), 0);
            overlap = 0;
            let inp_grams = input.len() + 1 - n;
            for i in 0..inp_grams {
                let prefix = self.inp_rank[i];
                let last = input[i + n - 1];
                self.inp_rank[i] =
                    if prefix == ABSENT || last == ABSENT || self.gram_keys.is_empty() {
                        ABSENT
                    } else {
                        let key = (u64::from(prefix) << 32) | u64::from(last);
                        let keys = &self.gram_keys;
                        let rank = self
                            .grams
                            .find(self.pair_hash(key), |r| keys[r as usize] == key);
                        if let Some(c) = self.inp_count.get_mut(rank as usize) {
                            if *c < self.ref_count[rank as usize] {
                                overlap += 1;
                            }
                            *c += 1;
                        }
                        rank
                    };
            }
            self.inp_rank.truncate(inp_grams);
            out[n - 1] = overlap;
        }
    }
}

/// Byte-slice equality without a `memcmp` call for the short tokens that
/// dominate text (two overlapping 8-byte loads cover 8..=16 bytes).
#[inline]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    #[inline(always)]
    fn load(s: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 8];
        if let Some(src) = s.get(at..at + 8) {
            w.copy_from_slice(src);
        }
        u64::from_le_bytes(w)
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        a.iter().zip(b).all(|(x, y)| x == y)
    } else if n <= 16 {
        load(a, 0) == load(b, 0) && load(a, n - 8) == load(b, n - 8)
    } else {
        a == b
    }
}

/// Number of n-grams of order `n` in a list of `len` tokens.
#[inline]
pub(crate) fn ngram_count(len: usize, n: usize) -> u64 {
    (len + 1).saturating_sub(n) as u64
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    /// Brute-force multiset intersection of n-gram tuples.
    fn naive(reference: &[&str], input: &[&str], n: usize) -> u64 {
        let mut counts: HashMap<Vec<&str>, i64> = HashMap::new();
        if reference.len() >= n {
            for w in reference.windows(n) {
                *counts.entry(w.to_vec()).or_default() += 1;
            }
        }
        let mut o = 0;
        if input.len() >= n {
            for w in input.windows(n) {
                if let Some(c) = counts.get_mut(w) {
                    if *c > 0 {
                        *c -= 1;
                        o += 1;
                    }
                }
            }
        }
        o
    }

    #[test]
    fn matches_naive_counts() {
        let cases: &[(&str, &str)] = &[
            ("the cat sat on the mat", "the cat is on the mat"),
            ("a a a a a", "a a a"),
            ("a b a b a b", "b a b a"),
            ("x y z", "p q r"),
            ("", "a b"),
            ("a b", ""),
            ("a b c d e f", "a b c d e f"),
            ("the the the the the the the", "the cat is on the mat"),
        ];
        with_scratch(|s| {
            for (r, h) in cases {
                let r: Vec<&str> = r.split_whitespace().collect();
                let h: Vec<&str> = h.split_whitespace().collect();
                s.intern(r.len(), |k| r[k].as_bytes(), h.iter().map(|t| t.as_bytes()));
                let mut out = [0u64; 5];
                s.clipped_overlaps(&mut out);
                for n in 1..=5 {
                    assert_eq!(out[n - 1], naive(&r, &h, n), "{r:?} {h:?} n={n}");
                }
            }
        });
    }

    #[test]
    fn bytes_eq_agrees_with_slice_eq() {
        let words: Vec<Vec<u8>> = (0..40usize)
            .map(|n| (0..n).map(|i| b'a' + (i % 3) as u8).collect())
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(bytes_eq(a, b), a == b);
                let mut c = b.clone();
                if let Some(last) = c.last_mut() {
                    *last = b'z';
                    assert_eq!(bytes_eq(a, &c), *a == c);
                }
                if let Some(first) = c.first_mut() {
                    *first = b'y';
                    assert_eq!(bytes_eq(a, &c), *a == c);
                }
            }
        }
    }

    #[test]
    fn nested_scratch_use_falls_back_to_fresh_buffers() {
        let v = with_scratch(|_| with_scratch(|s| s.ids.vocab));
        assert_eq!(v, 0);
    }
}
