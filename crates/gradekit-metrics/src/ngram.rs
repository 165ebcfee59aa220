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
//! counts are exact; each order costs O(|ref| + |input|) expected hash
//! operations, and orders stop early once an order has no match (no longer
//! n-gram can match then).

use std::collections::HashMap;

/// Hasher for the interning tables: foldhash with a per-process random seed,
/// so that no fixed input can force collisions.
pub(crate) type Hasher = foldhash::fast::RandomState;

/// Id of an input token (or n-gram) that does not occur in the reference.
pub(crate) const ABSENT: u32 = u32::MAX;

/// Token ids of a (reference, input) pair, anchored to the reference.
#[derive(Debug, Default)]
pub(crate) struct Interned {
    /// Reference token ids, dense in `0..vocab`.
    pub(crate) reference: Vec<u32>,
    /// Input token ids; [`ABSENT`] for tokens not in the reference.
    pub(crate) input: Vec<u32>,
    /// Number of distinct reference tokens.
    pub(crate) vocab: usize,
}

/// Reference vocabulary: token bytes to dense id.
#[derive(Debug, Default)]
pub(crate) struct Vocab<'a> {
    map: HashMap<&'a [u8], u32, Hasher>,
}

impl<'a> Vocab<'a> {
    /// Interns the reference tokens, returning their ids.
    pub(crate) fn from_reference<I>(tokens: I, capacity: usize) -> (Self, Vec<u32>)
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut map: HashMap<&'a [u8], u32, Hasher> =
            HashMap::with_capacity_and_hasher(capacity, Hasher::default());
        let mut ids = Vec::with_capacity(capacity);
        for tok in tokens {
            let next = map.len() as u32;
            ids.push(*map.entry(tok).or_insert(next));
        }
        (Vocab { map }, ids)
    }

    /// Number of distinct reference tokens.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Id of `tok`, or [`ABSENT`].
    #[inline]
    pub(crate) fn get(&self, tok: &[u8]) -> u32 {
        self.map.get(tok).copied().unwrap_or(ABSENT)
    }
}

/// Interns a pair of token lists (reference first), see the module docs.
pub(crate) fn intern_pair<'a, R, H>(reference: R, input: H) -> Interned
where
    R: ExactSizeIterator<Item = &'a [u8]>,
    H: ExactSizeIterator<Item = &'a [u8]>,
{
    let cap = reference.len();
    let (vocab, ref_ids) = Vocab::from_reference(reference, cap);
    let input_ids = input.map(|t| vocab.get(t)).collect();
    Interned {
        reference: ref_ids,
        input: input_ids,
        vocab: vocab.len(),
    }
}

/// Clipped overlap counts for orders `1..=out.len()`: `out[k]` receives
/// `Σ_g min(count_ref(g), count_input(g))` over the n-grams of order `k + 1`.
///
/// `reference` ids must be dense in `0..vocab`; `input` ids are in `0..vocab`
/// or [`ABSENT`].
pub(crate) fn clipped_overlaps(reference: &[u32], input: &[u32], vocab: usize, out: &mut [u64]) {
    out.iter_mut().for_each(|o| *o = 0);
    if out.is_empty() || reference.is_empty() || input.is_empty() {
        return;
    }
    // Order 1: counts per token id.
    let mut ref_count = vec![0u32; vocab];
    for &id in reference {
        ref_count[id as usize] += 1;
    }
    let mut inp_count = vec![0u32; vocab];
    let mut overlap = 0u64;
    for &id in input {
        if id != ABSENT {
            let c = &mut inp_count[id as usize];
            if *c < ref_count[id as usize] {
                overlap += 1;
            }
            *c += 1;
        }
    }
    out[0] = overlap;

    let mut ref_rank: Vec<u32> = reference.to_vec();
    let mut inp_rank: Vec<u32> = input.to_vec();
    let mut table: HashMap<u64, u32, Hasher> =
        HashMap::with_capacity_and_hasher(reference.len(), Hasher::default());
    for n in 2..=out.len() {
        if overlap == 0 || reference.len() < n || input.len() < n {
            return;
        }
        table.clear();
        let mut next_ref_count: Vec<u32> = Vec::new();
        // Reference n-grams whose prefix occurs in the input get a rank.
        let ref_grams = reference.len() + 1 - n;
        for j in 0..ref_grams {
            let prefix = ref_rank[j];
            ref_rank[j] = if prefix == ABSENT || inp_count[prefix as usize] == 0 {
                ABSENT
            } else {
                let key = (u64::from(prefix) << 32) | u64::from(reference[j + n - 1]);
                let fresh = next_ref_count.len() as u32;
                let rank = *table.entry(key).or_insert(fresh);
                if rank == fresh {
                    next_ref_count.push(0);
                }
                next_ref_count[rank as usize] += 1;
                rank
            };
        }
        ref_rank.truncate(ref_grams);
        // Input n-grams are looked up only.
        let mut next_inp_count = vec![0u32; next_ref_count.len()];
        overlap = 0;
        let inp_grams = input.len() + 1 - n;
        for i in 0..inp_grams {
            let prefix = inp_rank[i];
            let last = input[i + n - 1];
            inp_rank[i] = if prefix == ABSENT || last == ABSENT {
                ABSENT
            } else {
                let key = (u64::from(prefix) << 32) | u64::from(last);
                match table.get(&key) {
                    Some(&rank) => {
                        let c = &mut next_inp_count[rank as usize];
                        if *c < next_ref_count[rank as usize] {
                            overlap += 1;
                        }
                        *c += 1;
                        rank
                    }
                    None => ABSENT,
                }
            };
        }
        inp_rank.truncate(inp_grams);
        inp_count = next_inp_count;
        out[n - 1] = overlap;
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
            ("a b c d e f", "a b c d e f"),
            ("the the the the the the the", "the cat is on the mat"),
        ];
        for (r, h) in cases {
            let r: Vec<&str> = r.split_whitespace().collect();
            let h: Vec<&str> = h.split_whitespace().collect();
            let ids = intern_pair(
                r.iter().map(|t| t.as_bytes()),
                h.iter().map(|t| t.as_bytes()),
            );
            let mut out = [0u64; 5];
            clipped_overlaps(&ids.reference, &ids.input, ids.vocab, &mut out);
            for n in 1..=5 {
                assert_eq!(out[n - 1], naive(&r, &h, n), "{r:?} {h:?} n={n}");
            }
        }
    }
}
