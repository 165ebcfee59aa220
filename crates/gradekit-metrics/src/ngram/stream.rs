//! Clipped overlaps of orders `1..=K` straight from two token lists: each side is read once,
//! and each token is interned (reference) or looked up (input) and its n-grams counted before
//! the next token is read — no id arrays between the token table and the n-gram tables (the
//! common case of bleu and gleu; [`Scratch::overlaps`] falls back to interning into
//! [`super::Ids`] and [`super::Work::clipped_overlaps`] for other pairs).
//!
//! * **Everything is ranked by the position where it first ends.** A reference token's id is
//!   the position of its first occurrence, and the rank of the `n`-gram ending at token `j`
//!   is the end position of its first occurrence, found at `(rank of the (n−1)-gram ending at
//!   j−1) · S + id of token j` in order `n`'s region: every order at `j` needs only the ranks
//!   found at `j − 1` (kept in registers) and the id just found, so the K − 1 look-ups of a
//!   position do not wait for each other, and nothing but the position counts new entries.
//! * **One tag per call, no clearing.** Token slots and n-gram entries hold `tag + rank`
//!   (`u16`); the tag grows by the reference length per call, so anything below it is an
//!   earlier call's (or 0) and reads as new (reference) or absent (input) — one compare and a
//!   conditional move, not a branch (new and known interleave on prose). When the tag would
//!   pass [`TAG_LIMIT`] the parts used are cleared (every ~65,000 reference tokens).
//! * **Constant strides.** `S` is 32, 64 or 128, the smallest above the reference length
//!   (references of up to 126 tokens take this path): `S − 2` is the *start* marker (the
//!   n-grams that would begin before the first token, see [`reference_pass`]) and `S − 1` the
//!   *absent* marker, whose row and column of each region no reference n-gram writes, so an
//!   absent input token or n-gram needs no clamp in the next order. Region offsets, count rows
//!   and masks are immediates; the n-gram regions, the token slots' tags and the count rows
//!   share one `u16` buffer, so the loops keep one base pointer for all of them.
//! * **Token slots hold the token.** A token of at most 15 bytes is its key (two words, the
//!   length in the top byte: `keys.rs`), so a slot is that key plus a tag, and the first slot
//!   decides a token without a branch on new-or-known; the table (32 slots per stride unit, at
//!   most 1/8 full) is sized so that this is the rule. Another key in the first slot, or a
//!   longer token, takes the probing path (long tokens compared byte by byte with the
//!   reference token at their id, which is their first position).
//! * **Counting.** The reference pass counts each n-gram's occurrences by rank; the input pass
//!   takes one back per occurrence it finds (one decrement, no test, so a count goes below
//!   zero when the input has more); the clipped overlap of an order is the reference length
//!   minus what stays positive in its row, read — and the row cleared for the next call — in
//!   one vectorized pass at the end.
//! * **Keys first.** The reference pass keys and hashes its tokens in a loop of their own
//!   (into per-position arrays), so the interning loop starts each token from its home slot's
//!   index, not from a chain of dependent loads and a multiplication.
//! * **In step with the reference.** The reference pass also keeps, per position, its
//!   token's key and the ranks ending there. Once the input's last K tokens are found as a
//!   K-gram (whose rank is where it first ends in the reference), the input is *in step*:
//!   while its next token equals the reference's next one, each n-gram ending at it is the
//!   reference's ending there, so its ranks are read off, with no hash or table look-up (an
//!   input close to its reference — an edit, a paraphrase — runs mostly this way).
//!
//! Equality of ranks is equality of n-grams (by induction on `n`: an n-gram ending at `j` is
//! its (n−1)-gram ending at `j − 1` and its last token), so the counts are exact; `tests.rs`
//! checks them against the fallback and a naive tuple count.
//!
//! Measured on the benchmark pairs (BENCHMARKS.md, #17 ngram8): interning and counting a
//! bleu pair took ~16,100 instructions (interning, then the fused start-anchored pass),
//! ~10,650 with the first streaming path (dense ids per table, a stamp and a 32-byte slot per
//! token, the token table's own buffers, a branch on new-or-known that the compiler had put
//! back) and ~8,560 with this one; its mispredicted branches fell from ~16 to ~5 a pair.
//! Keys first and in step (#17 bleu12): ~17 % less time for the n-gram part of a bleu pair,
//! ~20 % for gleu. Memory per thread once used: 205 KiB (64 KiB of token keys, 138 KiB of
//! `u16` tables, 3 KiB per position).

use super::keys::{hash, is_long, key_of, Cursor, Keyed};
use super::Scratch;
use crate::fasthash::Seed;
use std::hint::select_unpredictable;

mod memory;

/// Largest row stride of the regions and length of a count row (`S` below): ids and ranks
/// lie below the reference length, which is below `S − 2`; `S − 2` is the start marker and
/// `S − 1` the absent marker. A call takes the smallest of 32, 64 and 128 that fits its
/// reference (the smaller the regions, the fewer cache lines the tables spread over).
const S_MAX: usize = 128;

/// Longest reference this path takes (`S − 2` is the start marker, see [`reference_pass`]).
pub(super) const MAX_REFERENCE: usize = S_MAX - 2;

/// Longest input this path takes: a count goes down by one per input token at most and must
/// stay within `i16` (the fallback takes longer inputs).
pub(super) const MAX_INPUT: usize = 30_000;

/// Most orders this path counts.
pub(super) const MAX_ORDER: usize = 5;

/// n-gram entries: one region of `S²` per order from 2 to [`MAX_ORDER`], at the buffer's start.
const GRAMS: usize = ((MAX_ORDER - 1) * S_MAX * S_MAX).next_power_of_two();

/// Token slots: 32 per stride unit (a call with stride `S` uses the first `32 · S`).
const SLOTS: usize = 32 * S_MAX;

/// Count entries: one row of `S` per order, rounded to a power of two.
const COUNTS: usize = (MAX_ORDER * S_MAX).next_power_of_two();

/// Entries are `u16`: the tag is reset (and the parts used since the last reset cleared)
/// before an entry `tag + rank` would pass this.
pub(super) const TAG_LIMIT: u32 = u16::MAX as u32;

/// The tables of the streaming path, in one allocation so that the loops address all of
/// them from one base pointer (each field at a constant offset).
#[repr(C)]
struct Tables {
    /// Token slots' keys (`keys.rs`; live only where the slot's tag is). First: a slot's
    /// address is then the base plus its index × 16, one addressing mode.
    keys: [[u64; 2]; SLOTS],
    /// n-gram regions: `tag + rank`, or anything below `tag` (an earlier call's, or 0).
    grams: [u16; GRAMS],
    /// Token slots' tags: `tag + id` of the token in the slot, or anything below `tag`.
    tags: [u16; SLOTS],
    /// Count rows (`i16` counts kept as `u16`; all zero between calls).
    rows: [u16; COUNTS],
    /// Per reference position of the current call: its token's key ([`NO_KEY`] for a token
    /// without one) and the ranks of orders 1..=K ending there, one byte each (the input
    /// pass's in-step path, [`input_pass`]). Only positions below the reference length are
    /// read, all written by the call's reference pass first.
    at_keys: [[u64; 2]; S_MAX],
    at_ranks: [[u8; 8]; S_MAX],
    /// Per reference position: its token's home slot (the reference pass's first loop).
    at_slots: [u16; S_MAX],
}

/// [`Tables::at_keys`] of a reference token without a short key: equal to no short key (their
/// top byte is the length, at most 15), so the in-step path never takes it.
const NO_KEY: [u64; 2] = [u64::MAX, u64::MAX];

/// Buffers of the streaming path (kept across calls in the thread's `Work`).
#[derive(Default)]
pub(super) struct Stream {
    /// 205 KiB once used (token keys 64 KiB, n-gram regions 128 KiB, tags and counts 10 KiB,
    /// per-position arrays 3 KiB); a call touches only its stride's parts.
    tables: Option<Box<Tables>>,
    /// n-gram entries below this index may be non-zero (what a reset clears).
    used: usize,
    /// Tag of the current call (≥ 1 once a call ran).
    tag: u32,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("allocated", &self.tables.is_some())
            .field("used", &self.used)
            .field("tag", &self.tag)
            .finish()
    }
}

impl Stream {
    /// The tag of a call on a reference of `r_len` tokens whose n-gram entries lie below
    /// `extent`; sizes the buffers on first use and clears them when the tag would pass
    /// [`TAG_LIMIT`].
    fn next_tag(&mut self, r_len: usize, extent: usize) -> (u32, &mut Tables) {
        let fresh = self.tables.is_none();
        let t = self.tables.get_or_insert_with(Tables::zeroed);
        // r_len < S_MAX and tag ≤ TAG_LIMIT: the sum does not overflow.
        if fresh || self.tag == 0 || self.tag as usize + r_len > TAG_LIMIT as usize {
            if !fresh {
                let used = self.used.min(GRAMS);
                t.grams[..used].fill(0);
                t.tags.fill(0);
            }
            self.used = 0;
            self.tag = 1;
        }
        self.used = self.used.max(extent);
        let tag = self.tag;
        self.tag += r_len as u32;
        (tag, t)
    }

    /// Raises the next call's tag to `tag` (tests of the reset near the limit). Never lowers
    /// it: every entry must stay below the tag of the calls after the one that wrote it.
    #[cfg(test)]
    pub(super) fn set_tag_for_test(&mut self, tag: u32) {
        self.tag = self.tag.max(tag);
    }

    /// The next call's tag (tests of the reset).
    #[cfg(test)]
    pub(super) fn tag_for_test(&self) -> u32 {
        self.tag
    }

    /// Whether every count row is zero (what each call must leave behind).
    #[cfg(test)]
    pub(super) fn rows_are_clear(&self) -> bool {
        self.tables
            .as_ref()
            .is_none_or(|t| t.rows.iter().all(|&c| c == 0))
    }
}

impl Scratch {
    /// Writes the clipped overlaps of orders `1..=K` of the pair into `out`, computed in one
    /// pass over each list, and returns true; returns false (leaving `out` alone) for pairs
    /// this path does not take (an empty side, K < 2 or K > [`MAX_ORDER`], a reference past
    /// [`MAX_REFERENCE`] tokens, an input past [`MAX_INPUT`]).
    pub(super) fn overlaps_streamed<const K: usize, R, I>(
        &mut self,
        reference: &R,
        input: &I,
        out: &mut [u64; K],
    ) -> bool
    where
        R: Keyed + ?Sized,
        I: Keyed + ?Sized,
    {
        let (rc, ic) = (reference.cursor(), input.cursor());
        let r_len = rc.len();
        if !(2..=MAX_ORDER).contains(&K)
            || r_len == 0
            || r_len > MAX_REFERENCE
            || ic.len() == 0
            || ic.len() > MAX_INPUT
        {
            return false;
        }
        let stride = if r_len < 31 {
            32
        } else if r_len < 63 {
            64
        } else {
            S_MAX
        };
        // Entries this call may write: the regions of orders 2..=K at its stride.
        let (tag, t) = self.work.stream.next_tag(r_len, (K - 1) * stride * stride);
        let seed = &self.seed;
        let clipped = match stride {
            32 => passes::<K, 32, 1024, _, _>(&rc, &ic, seed, tag, t),
            64 => passes::<K, 64, 2048, _, _>(&rc, &ic, seed, tag, t),
            _ => passes::<K, 128, 4096, _, _>(&rc, &ic, seed, tag, t),
        };
        for (o, c) in out.iter_mut().zip(clipped) {
            *o = u64::from(c);
        }
        true
    }
}

/// Both passes with stride `S` (a power of two ≤ [`S_MAX`] above the reference length) and
/// `N = 32 · S` token slots; reads the clipped overlaps off the count rows and clears them.
#[inline(always)]
fn passes<const K: usize, const S: usize, const N: usize, RC: Cursor, IC: Cursor>(
    rc: &RC,
    ic: &IC,
    seed: &Seed,
    tag: u32,
    t: &mut Tables,
) -> [u32; K] {
    reference_pass::<K, S, N, RC>(rc, seed, tag, t);
    input_pass::<K, S, N, RC, IC>(rc, ic, seed, tag, t);
    // Rank g of order n ended with `ref(g) − inp(g)`: its clipped count `min(ref, inp)` is
    // `ref(g) − max(ref(g) − inp(g), 0)`, and the ref(g) of an order sum to the reference
    // length (one n-gram counted per position, start-marked ones included, which no input
    // n-gram takes from). Ranks lie below the reference length; the absent marker's entry
    // (`S − 1`) is the only other one written, and is never positive.
    // The whole row is read (a constant trip count: no loop exit to mispredict); entries
    // past the ranks are 0, and the marker's only ever goes down.
    let r_len = rc.len().min(S - 2);
    let mut clipped = [0u32; K];
    for (n, c) in clipped.iter_mut().enumerate() {
        let Some(row) = t
            .rows
            .get_mut(n * S..)
            .and_then(<[u16]>::first_chunk_mut::<S>)
        else {
            continue;
        };
        // Counts are `i16` (`MAX_INPUT`), kept as `u16`; the positive ones sum to at most
        // what was counted, r_len < `i16::MAX`, so the sum is taken in `i16` too (eight counts
        // per vector step).
        let mut left = 0i16;
        for v in row.iter_mut() {
            left = left.wrapping_add((*v as i16).max(0));
            *v = 0;
        }
        // 0 ≤ left ≤ r_len.
        *c = (r_len as i32 - i32::from(left)) as u32;
    }
    clipped
}

/// Index of the entry of order `n + 1` (n ≥ 1) for the n-gram ranked `prev` followed by the
/// token `id` (both ≤ the marker `S − 1`). The mask, a no-op on such values, keeps the index
/// in the order's region whatever they are; masking within the region rather than the sum
/// lets the region's offset be part of the address (one instruction fewer per order past 2).
#[inline(always)]
fn entry<const S: usize>(n: usize, prev: u32, id: u32) -> usize {
    (n - 1) * S * S + ((((prev as usize) << S.trailing_zeros()) + id as usize) & (S * S - 1))
}

/// Index of the count of rank `rank` (≤ the marker `S − 1`) of order `n + 1`. Truncating
/// the rank to its low byte is a no-op on such ranks (S ≤ 128) and keeps the index within
/// the rows for any rank without a mask (`movzx`, one instruction, where a mask took a move
/// and an `and`); truncating the rank rather than the sum lets the row offset be part of the
/// address.
#[inline(always)]
fn counter<const S: usize>(n: usize, rank: u32) -> usize {
    n * S + usize::from(rank as u8)
}

/// `x`, opaque to the optimizer: keeps a test on `x` a test of one register (on `undecided`
/// below, the compiler otherwise splits the test into a branch on new-or-known, a coin toss on
/// prose). `black_box` did this through a store and a reload.
#[inline(always)]
fn opaque(x: u64) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        let mut x = x;
        #[allow(unsafe_code)]
        // SAFETY: an instruction template of a comment alone, with one register operand: it reads and writes
        // nothing but that register, touches no memory, stack or flags. Runs on every token of
        // the streaming path (every streaming test).
        unsafe {
            std::arch::asm!("/* {0} */", inout(reg) x, options(pure, nomem, nostack, preserves_flags));
        }
        x
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::hint::black_box(x)
    }
}

/// Slot of a key's hash in a table of `N` slots: its top `log2 N` bits.
#[inline(always)]
fn slot<const N: usize>(hash: u64) -> usize {
    (hash >> (64 - N.trailing_zeros())) as usize & (N - 1)
}

/// Interns every reference token and ranks and counts the n-grams ending at it.
///
/// The first K − 1 tokens end fewer than K n-grams: they are given the missing ones anyway,
/// prefixed by the *start* marker `S − 2` (ranked and counted like the others, one per
/// position and order; ranks are end positions, below the reference length). No input n-gram
/// can equal one of them: the input's ranks are real ranks or the absent marker, never the
/// start marker or a rank derived from it. So every position runs the same code.
#[inline(always)]
fn reference_pass<const K: usize, const S: usize, const N: usize, RC: Cursor>(
    rc: &RC,
    seed: &Seed,
    tag: u32,
    t: &mut Tables,
) {
    // Keys and home slots first, in a loop of its own: nothing in it waits on a table, so it
    // runs at full width, and the interning loop then starts each token with its slot's
    // address at hand (one load) rather than at the end of a chain of dependent loads and a
    // multiplication — its slot loads (an L1 miss for ~47 % of reference tokens) issue
    // early, overlapping the previous tokens' n-gram work. (A software prefetch of the slot
    // here, or one token ahead in a single loop, measured no faster: BENCHMARKS.md #17 bleu12.)
    for j in 0..rc.len() {
        let (key, i) = match rc.key(j) {
            Some(key) => (key, slot::<N>(hash(seed, key))),
            None => (NO_KEY, 0),
        };
        // Word by word: a 16-byte store or load of the key here went through the stack, and a
        // 16-byte load of two 8-byte stores is not forwarded (a stall per token).
        let at = &mut t.at_keys[j & (S_MAX - 1)];
        at[0] = key[0];
        at[1] = key[1];
        t.at_slots[j & (S_MAX - 1)] = i as u16;
    }
    // The ranks of the n-grams ending at the previous token (index n − 1 for order n).
    let mut prev = [(S - 2) as u32; K];
    for j in 0..rc.len() {
        // The entry of anything new that ends here (`tag + j`, its rank `j`). Entries of this
        // call hold `tag + rank` with rank < j; anything below `tag` is an earlier call's.
        let new_entry = tag + j as u32;
        let key = t.at_keys[j & (S_MAX - 1)];
        let i = usize::from(t.at_slots[j & (S_MAX - 1)]) & (N - 1);
        // (A long token's key is [`NO_KEY`]: it takes the probing path.)
        let fast = if is_long(key) {
            None
        } else {
            let held = t.keys[i];
            let v = u32::from(t.tags[i]);
            let fresh = v < tag;
            // New or known is a coin toss on prose: conditional moves, not branches. (On
            // booleans, `fresh || held == key` and its selects became a branch on `fresh`.)
            let undecided = select_unpredictable(fresh, 0, differ(held, key));
            (opaque(undecided) == 0).then(|| {
                let v = select_unpredictable(fresh, new_entry, v);
                t.keys[i] = key;
                t.tags[i] = v as u16;
                v
            })
        };
        let v = match fast {
            Some(v) => v,
            None => intern_probing::<N, RC>(rc, j, seed, tag, t),
        };
        let id = v - tag;
        bump(&mut t.rows, counter::<S>(0, id), 1);
        let mut cur = [id; K];
        for n in 1..K {
            let e = entry::<S>(n, prev[n - 1], id);
            // A prefix that first ended at j − 1 has no entry yet as a prefix: this n-gram is
            // new, so its entry need not be read. A branch, on orders past 2 only (their
            // prefixes are mostly new on prose; order 2's is the token, a coin toss): it takes
            // the entry's load, a D1 miss in ~45 % of reference positions, off the chain from
            // one position's ranks to the next.
            let v = if n >= 2 && prev[n - 1].wrapping_add(1) == j as u32 {
                new_entry
            } else {
                // Not written as `min(seen, j)`: the compiler turns that min into a branch,
                // which mispredicts on repetitive text.
                let raw = u32::from(t.grams[e]);
                select_unpredictable(raw < tag, new_entry, raw)
            };
            // v < TAG_LIMIT (`next_tag`): the entry holds it exactly.
            t.grams[e] = v as u16;
            let rank = v - tag;
            bump(&mut t.rows, counter::<S>(n, rank), 1);
            cur[n] = rank;
        }
        let ranks = &mut t.at_ranks[j & (S_MAX - 1)];
        for (b, &r) in ranks.iter_mut().zip(&cur) {
            *b = r as u8;
        }
        prev = cur;
    }
}

/// Looks up every input token and the n-grams ending at it and takes one from the count of
/// each it finds (the caller reads the clipped overlaps off the count rows). The first K − 1
/// tokens look up their missing n-grams with the absent marker as prefix, which finds
/// nothing; an absent one takes from the marker's count, which is never read.
#[inline(always)]
fn input_pass<const K: usize, const S: usize, const N: usize, RC: Cursor, IC: Cursor>(
    rc: &RC,
    ic: &IC,
    seed: &Seed,
    tag: u32,
    t: &mut Tables,
) {
    let mark = (S - 1) as u32;
    let r_len = rc.len();
    let mut prev = [mark; K];
    // The reference position the input is in step with: the input's last K tokens equal the
    // reference's K tokens ending just before it (`usize::MAX`: none). While the next input
    // token equals the reference token there, every n-gram ending at it is the reference's
    // ending there, so its ranks are the reference pass's (no hash, no look-up); inputs close
    // to their reference (paraphrases, edits) run mostly on this path.
    let mut step = usize::MAX;
    for j in 0..ic.len() {
        let key = ic.key(j);
        if let Some(k) = key {
            if step < r_len && differ(t.at_keys[step & (S_MAX - 1)], k) == 0 {
                let ranks = t.at_ranks[step & (S_MAX - 1)];
                let mut cur = [0u32; K];
                for (n, c) in cur.iter_mut().enumerate() {
                    let rank = u32::from(ranks[n]);
                    bump(&mut t.rows, counter::<S>(n, rank), u16::MAX);
                    *c = rank;
                }
                prev = cur;
                step += 1;
                continue;
            }
        }
        let fast = key.and_then(|key| {
            let i = slot::<N>(hash(seed, key));
            let held = t.keys[i];
            let v = u32::from(t.tags[i]);
            let live = v >= tag;
            // A live slot holding another key leaves the token undecided.
            let undecided = select_unpredictable(live, differ(held, key), 0);
            (opaque(undecided) == 0).then(|| select_unpredictable(live, v.wrapping_sub(tag), mark))
        });
        let id = match fast {
            Some(id) => id,
            None => find_probing::<S, N, RC, IC>(rc, ic, j, seed, tag, t),
        };
        // No test of whether any is left: a count may go below zero (the caller clips).
        bump(&mut t.rows, counter::<S>(0, id), u16::MAX);
        let mut cur = [id; K];
        for n in 1..K {
            // Absent n-grams (an entry of an earlier call: huge after the subtraction) become
            // the marker, whose count is never read and whose row and column in every region
            // no reference n-gram writes. Conditional moves, not branches.
            let rank = u32::from(t.grams[entry::<S>(n, prev[n - 1], id)]).wrapping_sub(tag);
            let rank = select_unpredictable(rank < mark, rank, mark);
            bump(&mut t.rows, counter::<S>(n, rank), u16::MAX);
            cur[n] = rank;
        }
        // A K-gram found ends (first) at its rank in the reference: in step after it.
        step = if cur[K - 1] < mark {
            cur[K - 1] as usize + 1
        } else {
            usize::MAX
        };
        prev = cur;
    }
}

/// Zero when two keys are equal (as an integer, so that the callers' selects on it stay
/// conditional moves).
#[inline(always)]
fn differ(a: [u64; 2], b: [u64; 2]) -> u64 {
    (a[0] ^ b[0]) | (a[1] ^ b[1])
}

/// Adds `by` (1, or `u16::MAX` for −1) to the count at `k`.
#[inline(always)]
fn bump(rows: &mut [u16; COUNTS], k: usize, by: u16) {
    if let Some(c) = rows.get_mut(k) {
        *c = c.wrapping_add(by);
    }
}

/// The entry (`tag + id`) of reference token `j` when its first slot did not decide it:
/// probes from its home slot to its key or a free slot, where it is inserted. The table never
/// fills up (at most [`MAX_REFERENCE`] keys in `N ≥ 1,024` slots).
#[cold]
#[inline(never)]
fn intern_probing<const N: usize, RC: Cursor>(
    rc: &RC,
    j: usize,
    seed: &Seed,
    tag: u32,
    t: &mut Tables,
) -> u32 {
    let b = rc.bytes(j);
    let (key, h) = key_of(seed, b);
    let mut i = slot::<N>(h);
    loop {
        let v = u32::from(t.tags[i]);
        if v < tag {
            let v = tag + j as u32;
            t.keys[i] = key;
            t.tags[i] = v as u16;
            return v;
        }
        if t.keys[i] == key && (!is_long(key) || rc.bytes((v - tag) as usize) == b) {
            return v;
        }
        i = (i + 1) & (N - 1);
    }
}

/// The id of input token `j` (or the absent marker `S − 1`) when its first slot did not
/// decide it.
#[cold]
#[inline(never)]
fn find_probing<const S: usize, const N: usize, RC: Cursor, IC: Cursor>(
    rc: &RC,
    ic: &IC,
    j: usize,
    seed: &Seed,
    tag: u32,
    t: &Tables,
) -> u32 {
    let b = ic.bytes(j);
    let (key, h) = key_of(seed, b);
    let mut i = slot::<N>(h);
    loop {
        let v = u32::from(t.tags[i]);
        if v < tag {
            return (S - 1) as u32;
        }
        if t.keys[i] == key && (!is_long(key) || rc.bytes((v - tag) as usize) == b) {
            return v - tag;
        }
        i = (i + 1) & (N - 1);
    }
}
