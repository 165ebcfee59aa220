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
//! about as long as tokenizing the two texts (perf; interning ~1 µs a pair
//! before the exact 16-byte keys, ~0.3 µs less after, BENCHMARKS.md).

use std::cell::Cell;

use crate::fasthash::{Key, Key16, Seed};

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

/// The token table of one pair: reference tokens → dense ids.
///
/// Each slot holds the token's exact key (`Key16`: its first 16 bytes as two words, and its
/// length) with its id, so a probe reads one slot: a token of at most 16 bytes never has its
/// bytes read again; a longer one is then compared byte by byte with the reference token at
/// the id's first position. Slots carry the stamp of the call that filled them, so the table
/// is never cleared between calls; it is at most a quarter full for references of up to
/// [`SPARSE_UP_TO`] tokens, so a look-up rarely meets another key in its first slot and
/// decides hit or miss without a data-dependent branch.
#[derive(Debug, Default)]
struct TokenTable {
    slots: Vec<Slot>,
    mask: usize,
    shift: u32,
    stamp: u32,
    /// Ids the table takes before it grows.
    limit: usize,
    /// First reference position of each id.
    first: Vec<u32>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    w0: u64,
    w1: u64,
    len: u32,
    id: u32,
    /// Live only when equal to the table's current stamp (never 0).
    stamp: u32,
}

/// References up to this many tokens get a table at most a quarter full (beyond: half).
const SPARSE_UP_TO: usize = 4096;

/// Token tables larger than this many slots (2 MiB) are not kept for the next call.
const KEEP_SLOTS: usize = 1 << 16;

impl TokenTable {
    /// Empties the table, sized for `items` tokens — at most [`SPARSE_UP_TO`] of them: a longer
    /// reference grows the table as its distinct tokens come ([`Self::grow`]), so memory follows
    /// the vocabulary, not the token count.
    fn reset(&mut self, items: usize) {
        let (cap, shift) = table_size(items.min(SPARSE_UP_TO) * 2);
        if self.slots.len() < cap || self.slots.len() > KEEP_SLOTS.max(cap) {
            self.slots.clear();
            self.slots.resize(cap, Slot::default());
            self.stamp = 0;
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.slots.iter_mut().for_each(|s| s.stamp = 0);
            self.stamp = 1;
        }
        self.set_size(cap, shift);
        self.first.clear();
    }

    fn len(&self) -> usize {
        self.first.len()
    }

    /// Whether the table is past its load limit (a quarter up to [`SPARSE_UP_TO`] ids, then
    /// a half) and must [`Self::grow`] before the next insertion.
    #[inline(always)]
    fn full(&self) -> bool {
        self.first.len() >= self.limit
    }

    /// Sets the mask, shift and load limit of a table of `cap` slots.
    fn set_size(&mut self, cap: usize, shift: u32) {
        self.mask = cap - 1;
        self.shift = shift;
        self.limit = if cap <= SPARSE_UP_TO * 4 {
            cap / 4
        } else {
            cap / 2
        };
    }

    /// Doubles the table and places every id again (keys recomputed from the reference).
    #[cold]
    fn grow<R: TokenSeq + ?Sized>(&mut self, reference: &R, seed: &Seed) {
        let (cap, shift) = table_size(self.mask + 1);
        self.slots.clear();
        self.slots.resize(cap, Slot::default());
        self.stamp = 1;
        self.set_size(cap, shift);
        for (id, &j) in self.first.iter().enumerate() {
            let (k, _) = reference.key16(j as usize, seed);
            let mut i = home(k.hash, shift, self.mask);
            while self.slots[i].stamp == self.stamp {
                i = (i + 1) & self.mask;
            }
            self.slots[i] = Slot {
                w0: k.w0,
                w1: k.w1,
                len: k.len,
                id: id as u32,
                stamp: self.stamp,
            };
        }
    }

    /// Id of `tok` (`Ok`), or the free slot where it would go (`Err`).
    #[inline(always)]
    fn probe<R: TokenSeq + ?Sized>(
        &self,
        k: Key16,
        tok: &[u8],
        reference: &R,
    ) -> Result<u32, usize> {
        let mut i = home(k.hash, self.shift, self.mask);
        loop {
            let s = self.slots[i];
            if s.stamp != self.stamp {
                return Err(i);
            }
            if s.w0 == k.w0
                && s.w1 == k.w1
                && s.len == k.len
                && (k.len <= 16 || self.long_eq(s.id, tok, reference))
            {
                return Ok(s.id);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Id of `tok`, or [`ABSENT`]: the first slot decides without a branch on the outcome
    /// unless it holds another key (or `tok` is longer than 16 bytes).
    #[inline(always)]
    fn find<R: TokenSeq + ?Sized>(&self, k: Key16, tok: &[u8], reference: &R) -> u32 {
        let s = self.slots[home(k.hash, self.shift, self.mask)];
        let live = s.stamp == self.stamp;
        let same = live & (s.w0 == k.w0) & (s.w1 == k.w1) & (s.len == k.len);
        if !live | (same & (k.len <= 16)) {
            if same {
                s.id
            } else {
                ABSENT
            }
        } else {
            self.probe(k, tok, reference).unwrap_or(ABSENT)
        }
    }

    #[cold]
    fn long_eq<R: TokenSeq + ?Sized>(&self, id: u32, tok: &[u8], reference: &R) -> bool {
        self.first
            .get(id as usize)
            .is_some_and(|&j| bytes_eq(reference.bytes(j as usize), tok))
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
        && s.tokens.slots.len() <= KEEP_SLOTS
    {
        // Fails only during thread teardown; the buffers are then dropped.
        let _ = SCRATCH.try_with(|c| c.set(Some(s)));
    }
    r
}

/// Clipped overlaps of orders 1..=4 of an NLTK-tokenized pair (bleu and gleu both need
/// exactly these): computed once per pair of cached texts (`key`, see `crate::cache`) and
/// reused when the other metric asks for the same pair.
pub(crate) fn clipped_1_to_4<T: TokenSeq + ?Sized>(
    hyp: &T,
    refr: &T,
    key: crate::cache::PairKey,
) -> [u64; 4] {
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
    with_scratch(|s| {
        s.intern(refr, hyp);
        s.clipped_overlaps(&mut clipped);
    });
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
        ids.reference.clear();
        ids.input.clear();
        let t = &mut self.tokens;
        t.reset(reference.count());
        for k in 0..reference.count() {
            let (key, tok) = reference.key16(k, &self.seed);
            let id = match t.probe(key, tok, reference) {
                Ok(id) => id,
                Err(slot) => {
                    let id = t.len() as u32;
                    t.slots[slot] = Slot {
                        w0: key.w0,
                        w1: key.w1,
                        len: key.len,
                        id,
                        stamp: t.stamp,
                    };
                    t.first.push(k as u32);
                    if t.full() {
                        t.grow(reference, &self.seed);
                    }
                    id
                }
            };
            ids.reference.push(id);
        }
        ids.vocab = t.len();
        if ids.vocab == 0 {
            ids.input.extend((0..input.count()).map(|_| ABSENT));
            return;
        }
        for k in 0..input.count() {
            let (key, tok) = input.key16(k, &self.seed);
            ids.input.push(t.find(key, tok, reference));
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
                s.intern(&r[..], &h[..]);
                let mut out = [0u64; 5];
                s.clipped_overlaps(&mut out);
                for n in 1..=5 {
                    assert_eq!(out[n - 1], naive(&r, &h, n), "{r:?} {h:?} n={n}");
                }
            }
        });
    }

    #[test]
    fn matches_naive_counts_past_the_direct_table() {
        // 300 distinct reference tokens: 300 × 300 entries exceed DIRECT_LIMIT, so the
        // hashed path runs; long tokens exercise the byte comparison.
        let words: Vec<String> = (0..300)
            .map(|i| format!("token-number-{}", i % 290))
            .collect();
        let r: Vec<&str> = words.iter().map(String::as_str).collect();
        let h: Vec<&str> = r.iter().rev().chain(r.iter().skip(7)).copied().collect();
        with_scratch(|s| {
            s.intern(&r[..], &h[..]);
            let mut out = [0u64; 5];
            s.clipped_overlaps(&mut out);
            for n in 1..=5 {
                assert_eq!(out[n - 1], naive(&r, &h, n), "n={n}");
            }
        });
    }

    #[test]
    fn a_large_vocabulary_grows_the_token_table() {
        // 20,000 distinct tokens (short and long) in a reference of 30,000: the table starts
        // sized for SPARSE_UP_TO tokens and grows several times.
        let words: Vec<String> = (0..30_000)
            .map(|i| {
                let k = i % 20_000;
                if k % 3 == 0 {
                    format!("a-rather-long-token-{k}")
                } else {
                    format!("w{k}")
                }
            })
            .collect();
        let r: Vec<&str> = words.iter().map(String::as_str).collect();
        let h: Vec<&str> = r
            .iter()
            .step_by(7)
            .chain(["absent", "w3"].iter())
            .copied()
            .collect();
        with_scratch(|s| {
            s.intern(&r[..], &h[..]);
            assert_eq!(s.ids.vocab, 20_000);
            for (j, &id) in s.ids.reference.iter().enumerate() {
                assert_eq!(s.ids.reference[j % 20_000], id, "{j}");
            }
            let mut out = [0u64; 2];
            s.clipped_overlaps(&mut out);
            for n in 1..=2 {
                assert_eq!(out[n - 1], naive(&r, &h, n), "n={n}");
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
