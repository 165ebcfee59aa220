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
//!    `i + n − 1`), mapped to a dense rank. Only reference n-grams whose
//!    (n−1)-prefix also occurs in the input get a rank (the others cannot
//!    match), and input n-grams are only looked up, never inserted;
//! 3. the clipped count is accumulated while scanning the input: an occurrence
//!    counts when fewer occurrences of the same rank were seen so far than the
//!    reference holds.
//!
//! Equality of ranks is equality of n-grams (by induction on `n`), so the
//! counts are exact; each order costs O(|ref| + |input|) expected time, and
//! orders stop early once an order has no match (no longer n-gram can match
//! then).
//!
//! The common case — 2 to 5 orders (bleu and gleu ask for 4, rouge for up to
//! 5), a reference of at most 4,096 tokens and tables of at most 2^17 entries —
//! runs steps 2 and 3 for **all orders in one pass over each side**
//! (`ngram/fused.rs`): the rank of each n-gram is found while its prefix's rank
//! is still in a register, so there are no rank arrays and no per-order passes
//! (−28 % instructions for the overlaps on the benchmark pairs). Other pairs
//! take the order-by-order path below ([`Work::clipped_overlaps`]).
//!
//! bleu and gleu (and any caller of [`Scratch::overlaps`]) go further for references of up
//! to 126 tokens: `ngram/stream.rs` interns each token and counts the n-grams *ending* at it
//! in the same step, one pass over each side, with no id arrays at all and constant strides
//! (−21 % instructions for interning and counting on the benchmark pairs); the interning
//! below and the order-by-order and fused passes remain the fallback and the tests' oracle.
//!
//! Speed (this and the tokenizer are the whole cost of bleu/gleu): a token is
//! keyed by its first 16 bytes as two words plus its length (`fasthash::Key16`,
//! two masked loads from the token buffer, no branch on the length), which *is*
//! the token for tokens of ≤ 16 bytes — nearly all of them — so a table slot
//! holds the key and the id and a probe compares three words without reading
//! token bytes again (longer tokens are then compared byte by byte). The token
//! table is a quarter full (half past 4,096 ids), sized by the reference up to
//! 4,096 tokens and grown with its vocabulary beyond (memory follows distinct
//! tokens, not tokens), and its slots carry a per-call stamp (never
//! cleared); an input token's first slot decides hit or miss without a branch
//! on the outcome (input tokens are found or not about as often, so that branch
//! mispredicted half the time). The pairs of step 2 are looked up in a
//! *direct* table indexed by `prefix rank · vocab + id` (no hashing, no probe
//! loop, no branch that depends on the data; entries carry a per-order stamp,
//! so the table is never cleared) whenever that table has at most
//! [`DIRECT_LIMIT`] entries — references of up to 256 tokens — and in a hash
//! table of packed `u64` pairs beyond. Hash seeds are random, so no fixed
//! input forces collisions; all buffers live in a per-thread [`Scratch`]
//! reused across calls, so a call allocates nothing once warm.
//!
//! On the benchmark pairs (~46 tokens a side) interning and orders 1–4 take
//! ~16,000 instructions a pair against ~22,600 for tokenizing the two texts
//! (callgrind; ~20,200 before the fused pass, BENCHMARKS.md). About half of
//! interning's ~90 instructions a token is reading the token (`TokenSeq::key16`:
//! its span, the 16-byte window, the hash).

use std::cell::Cell;

mod fused;
mod keys;
mod stream;
mod table;

use crate::fasthash::{Key, Key16, Seed};
pub(crate) use keys::Keyed;
use table::{TokenTable, KEEP_SLOTS};

/// Seeded hasher for maps keyed by token bytes (rouge's prepared references).
pub(crate) type Hasher = foldhash::fast::RandomState;

/// Id of an input token (or n-gram) that does not occur in the reference.
pub(crate) const ABSENT: u32 = u32::MAX;

/// A list of tokens readable by index (token lists of the different tokenizers, and
/// the `&[S: AsRef<str>]` of the public `*_tokens` functions).
pub(crate) trait TokenSeq {
    fn count(&self) -> usize;
    /// The `k`-th token (`k < count()`).
    fn bytes(&self, k: usize) -> &[u8];
    /// The hash key and the bytes of the `k`-th token.
    #[inline]
    fn keyed(&self, k: usize, seed: &Seed) -> (Key, &[u8]) {
        let b = self.bytes(k);
        (seed.key(b), b)
    }
    /// The exact key of the `k`-th token alone. Unused since the streaming path reads lists
    /// through `keys::Cursor`; kept while `tokenize/tokens.rs` implements it (remove both).
    #[allow(dead_code)]
    #[inline(always)]
    fn key16_only(&self, k: usize, seed: &Seed) -> Key16 {
        self.key16(k, seed).0
    }
    /// The exact key and the bytes of the `k`-th token (what the pair interning uses).
    #[inline]
    fn key16(&self, k: usize, seed: &Seed) -> (Key16, &[u8]) {
        // Through `keyed`, which a list may implement with a cheaper load of short tokens.
        let (key, b) = self.keyed(k, seed);
        if b.len() <= 8 {
            (seed.key16_short(key.word, b.len()), b)
        } else {
            (seed.key16(b), b)
        }
    }
}

impl<S: AsRef<str>> TokenSeq for [S] {
    #[inline]
    fn count(&self) -> usize {
        self.len()
    }
    #[inline]
    fn bytes(&self, k: usize) -> &[u8] {
        self[k].as_ref().as_bytes()
    }
}

/// Open-addressing table of dense ids: slot value `id + 1`, 0 = empty. The
/// keys live outside (the caller's equality closure compares them); used for
/// packed n-gram pairs when the direct table would be too large.
#[derive(Debug, Default)]
struct Slots {
    slots: Vec<u32>,
    mask: usize,
    shift: u32,
}

/// Start slot of a hash in a table of `2^(64 - shift)` slots: its top bits.
#[inline(always)]
fn home(hash: u64, shift: u32, mask: usize) -> usize {
    (hash >> shift) as usize & mask
}

/// Slot count (a power of two ≥ 16) for `items` insertions at load ≤ ½, and its shift.
fn table_size(items: usize) -> (usize, u32) {
    let cap = (items.saturating_mul(2)).next_power_of_two().max(16);
    (cap, 64 - cap.trailing_zeros())
}

impl Slots {
    /// Empties the table, sized for `items` insertions at load ≤ ½.
    fn reset(&mut self, items: usize) {
        let (cap, shift) = table_size(items);
        self.slots.clear();
        self.slots.resize(cap, 0);
        self.mask = cap - 1;
        self.shift = shift;
    }

    /// Returns the id whose key satisfies `eq`, or inserts `fresh`.
    #[inline]
    fn find_or_insert(&mut self, hash: u64, fresh: u32, eq: impl Fn(u32) -> bool) -> u32 {
        let mut i = home(hash, self.shift, self.mask);
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
        let mut i = home(hash, self.shift, self.mask);
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
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    seed: Seed,
    tokens: TokenTable,
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

/// Largest direct n-gram table (entries) [`Work::clipped_overlaps`] uses before
/// falling back to hashing: 512 KiB, ref × vocab for references up to 256 tokens.
const DIRECT_LIMIT: usize = 1 << 16;

/// Buffers of [`Work::clipped_overlaps`].
#[derive(Debug, Default)]
pub(crate) struct Work {
    /// Hash seed for n-gram pair keys (fallback path), random per thread.
    seed: Option<Seed>,
    ref_count: Vec<u32>,
    inp_count: Vec<u32>,
    ref_rank: Vec<u32>,
    inp_rank: Vec<u32>,
    gram_keys: Vec<u64>,
    grams: Slots,
    /// Direct table: `(stamp << 32) | (rank + 1)` at `prefix · vocab + last`; an entry
    /// is live only while its stamp is the current one, so nothing is cleared between
    /// orders or calls.
    direct: Vec<u64>,
    /// Stamp of the current order (never 0, so zeroed entries are never live).
    stamp: u32,
    /// Buffers of the one-pass path for orders 2..=5 (`fused.rs`).
    fused: fused::Fused,
    /// Buffers of the streaming path (`stream.rs`).
    stream: stream::Stream,
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
    if s.ids.reference.capacity().max(s.ids.input.capacity()) <= KEEP_LIMIT
        && s.tokens.slot_count() <= KEEP_SLOTS
    {
        // Fails only during thread teardown; the buffers are then dropped.
        let _ = SCRATCH.try_with(|c| c.set(Some(s)));
    }
    r
}

/// Clipped overlaps of orders 1..=4 of an NLTK-tokenized pair (bleu and gleu both need
/// exactly these): computed once per pair of cached texts (`key`, see `crate::cache`) and
/// reused when the other metric asks for the same pair.
///
/// Both sides one list (an input equal to its reference shares the reference's cache slot):
/// every n-gram matches itself, so each order's overlap is its n-gram count, without counting.
pub(crate) fn clipped_1_to_4<T: TokenSeq + Keyed + ?Sized>(
    hyp: &T,
    refr: &T,
    key: crate::cache::PairKey,
) -> [u64; 4] {
    if std::ptr::eq(hyp, refr) {
        let len = hyp.count();
        return [1, 2, 3, 4].map(|n| ngram_count(len, n));
    }
    /// The last keyed pair and its counts.
    type Last = Option<((u64, u64), [u64; 4])>;
    thread_local! {
        static LAST: Cell<Last> = const { Cell::new(None) };
    }
    if let (Some(k), Ok(Some((last, counts)))) = (key, LAST.try_with(Cell::get)) {
        if k == last {
            return counts;
        }
    }
    let mut clipped = [0u64; 4];
    with_scratch(|s| s.overlaps(refr, hyp, &mut clipped));
    if let Some(k) = key {
        let _ = LAST.try_with(|c| c.set(Some((k, clipped))));
    }
    clipped
}

impl Scratch {
    /// Interns a pair of token lists into `self.ids`, ids anchored to `reference`.
    pub(crate) fn intern<R, I>(&mut self, reference: &R, input: &I)
    where
        R: TokenSeq + ?Sized,
        I: TokenSeq + ?Sized,
    {
        let ids = &mut self.ids;
        let t = &mut self.tokens;
        let seed = &self.seed;
        t.reset(reference.count());
        ids.reference.clear();
        ids.reference.resize(reference.count(), 0);
        t.intern_all(reference, seed, &mut ids.reference);
        ids.vocab = t.len();
        ids.input.clear();
        if ids.vocab == 0 {
            ids.input.resize(input.count(), ABSENT);
            return;
        }
        ids.input.resize(input.count(), 0);
        t.find_all(input, reference, seed, &mut ids.input);
    }

    /// Clipped overlaps of orders `1..=K` of a pair of token lists (`out[n − 1]` for order
    /// `n`): in one pass over each list when the pair allows (`stream.rs`), else by
    /// [`Self::intern`] and [`Self::clipped_overlaps`]. Leaves `self.ids` unspecified.
    pub(crate) fn overlaps<const K: usize, R, I>(
        &mut self,
        reference: &R,
        input: &I,
        out: &mut [u64; K],
    ) where
        R: TokenSeq + Keyed + ?Sized,
        I: TokenSeq + Keyed + ?Sized,
    {
        if !self.overlaps_streamed(reference, input, out) {
            self.intern(reference, input);
            self.clipped_overlaps(out);
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
        let f = &mut self.fused;
        let done = match out.len() {
            2 => f.overlaps::<2>(reference, input, vocab, out),
            3 => f.overlaps::<3>(reference, input, vocab, out),
            4 => f.overlaps::<4>(reference, input, vocab, out),
            5 => f.overlaps::<5>(reference, input, vocab, out),
            _ => false,
        };
        if !done {
            self.by_order(reference, input, vocab, out);
        }
    }

    /// [`Self::clipped_overlaps`] order by order (any number of orders, any pair size):
    /// ranks of order `n` from those of order `n − 1`, kept in arrays between orders.
    fn by_order(&mut self, reference: &[u32], input: &[u32], vocab: usize, out: &mut [u64]) {
        // Order 1: counts per token id. Index `vocab` is a dummy that absent input
        // tokens count into (its reference count stays 0), so the loop has no branch.
        self.ref_count.clear();
        self.ref_count.resize(vocab + 1, 0);
        for &id in reference {
            self.ref_count[(id as usize).min(vocab)] += 1;
        }
        self.ref_count[vocab] = 0;
        self.inp_count.clear();
        self.inp_count.resize(vocab + 1, 0);
        let mut overlap = 0u64;
        for &id in input {
            let k = (id as usize).min(vocab);
            let c = self.inp_count[k];
            overlap += u64::from(c < self.ref_count[k]);
            self.inp_count[k] = c + 1;
        }
        out[0] = overlap;
        if out.len() == 1 {
            return;
        }

        self.ref_rank.clear();
        self.ref_rank.extend_from_slice(reference);
        self.inp_rank.clear();
        self.inp_rank.extend_from_slice(input);
        // Ranks of an order lie below the reference length (and, for order 1, below
        // `vocab ≤ |reference|`), so one test decides the table for every order.
        let direct = reference
            .len()
            .checked_mul(vocab)
            .filter(|&size| size <= DIRECT_LIMIT)
            .is_some();
        // Ranks of the previous order lie in `0..prev_ranks`.
        let mut prev_ranks = vocab;
        for n in 2..=out.len() {
            if overlap == 0 || reference.len() < n || input.len() < n {
                return;
            }
            let ranks = if direct {
                let (overlap_n, ranks) =
                    self.order_direct(reference, input, n, vocab, prev_ranks * vocab);
                overlap = overlap_n;
                ranks
            } else {
                overlap = self.order_hashed(reference, input, n);
                self.gram_keys.len()
            };
            prev_ranks = ranks;
            out[n - 1] = overlap;
        }
    }

    /// One order ≥ 2 with the direct table (`size` = previous ranks × vocab entries):
    /// returns the clipped overlap and the number of ranks of this order, and leaves
    /// the ranks in `ref_rank` / `inp_rank`.
    ///
    /// Every reference n-gram gets a rank (an n-gram whose prefix the input lacks
    /// simply never matches), and both loops are branch-free: entry `size` of the
    /// table is never stamped and is what absent input n-grams look up; count index
    /// `ranks` is a dummy they count into.
    fn order_direct(
        &mut self,
        reference: &[u32],
        input: &[u32],
        n: usize,
        vocab: usize,
        size: usize,
    ) -> (u64, usize) {
        if self.direct.len() <= size {
            self.direct.resize(size + 1, 0);
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // Wrapped: forget every old stamp.
            self.direct.iter_mut().for_each(|e| *e = 0);
            self.stamp = 1;
        }
        let stamp = u64::from(self.stamp);
        let ref_grams = reference.len() + 1 - n;
        let inp_grams = input.len() + 1 - n;
        self.ref_count.clear();
        self.ref_count.resize(ref_grams + 1, 0);
        self.ref_rank.truncate(ref_grams);
        self.inp_rank.truncate(inp_grams);
        // Local slices: the loops keep their pointers in registers.
        let direct = &mut self.direct[..];
        let ref_count = &mut self.ref_count[..];
        let mut ranks = 0u32;
        for (rank_j, &last) in self.ref_rank.iter_mut().zip(&reference[n - 1..]) {
            let key = *rank_j as usize * vocab + last as usize;
            let slot = direct[key];
            let fresh = slot >> 32 != stamp;
            let rank = if fresh {
                ranks
            } else {
                (slot as u32).wrapping_sub(1)
            };
            direct[key] = (stamp << 32) | u64::from(rank + 1);
            ranks += u32::from(fresh);
            ref_count[rank as usize] += 1;
            *rank_j = rank;
        }
        let dummy = ranks as usize;
        // Input n-grams are looked up only.
        self.inp_count.clear();
        self.inp_count.resize(dummy + 1, 0);
        let inp_count = &mut self.inp_count[..];
        let mut overlap = 0u64;
        for (rank_i, &last) in self.inp_rank.iter_mut().zip(&input[n - 1..]) {
            // An `ABSENT` prefix or last id puts the key past `size` (no overflow: both
            // are below 2^32), clamped to the never-stamped entry `size`.
            let key = (*rank_i as usize * vocab + last as usize).min(size);
            let slot = direct[key];
            let live = slot >> 32 == stamp;
            let rank = if live {
                (slot as u32).wrapping_sub(1)
            } else {
                ABSENT
            };
            let k = (rank as usize).min(dummy);
            let c = inp_count[k];
            overlap += u64::from(c < ref_count[k]);
            inp_count[k] = c + 1;
            *rank_i = rank;
        }
        (overlap, dummy)
    }

    /// One order ≥ 2 with a hash table of packed (prefix rank, last id) pairs, for
    /// pairs whose direct table would be too large; same contract as
    /// [`Self::order_direct`].
    fn order_hashed(&mut self, reference: &[u32], input: &[u32], n: usize) -> u64 {
        let seed = *self.seed.get_or_insert_with(Seed::default);
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
                    .find_or_insert(seed.int(key), fresh, |r| keys[r as usize] == key);
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
        let mut overlap = 0u64;
        let inp_grams = input.len() + 1 - n;
        for i in 0..inp_grams {
            let prefix = self.inp_rank[i];
            let last = input[i + n - 1];
            self.inp_rank[i] = if prefix == ABSENT || last == ABSENT || self.gram_keys.is_empty() {
                ABSENT
            } else {
                let key = (u64::from(prefix) << 32) | u64::from(last);
                let keys = &self.gram_keys;
                let rank = self.grams.find(seed.int(key), |r| keys[r as usize] == key);
                if let Some(c) = self.inp_count.get_mut(rank as usize) {
                    overlap += u64::from(*c < self.ref_count[rank as usize]);
                    *c += 1;
                }
                rank
            };
        }
        self.inp_rank.truncate(inp_grams);
        overlap
    }
}

/// Number of n-grams of order `n` in a list of `len` tokens.
#[inline]
pub(crate) fn ngram_count(len: usize, n: usize) -> u64 {
    (len + 1).saturating_sub(n) as u64
}

#[cfg(test)]
mod tests;
