//! Clipped overlaps of orders `1..=K` straight from two token lists: each side is read once,
//! and each token is interned (reference) or looked up (input) and its n-grams counted before
//! the next token is read — no id arrays between the token table and the n-gram tables (the
//! common case of bleu and gleu; [`Scratch::overlaps`] falls back to interning into
//! [`super::Ids`] and [`super::Work::clipped_overlaps`] for other pairs).
//!
//! The n-gram table works like that of `fused.rs` (one region per order, entries `tag + rank`
//! so an entry of an earlier call reads as a huge rank and nothing is cleared between calls;
//! this path has its own buffers, [`Stream`]), with these differences:
//!
//! * **n-grams are taken where they end**, not where they start: the rank of the `n`-gram
//!   ending at token `j` is found at `(rank of the (n−1)-gram ending at j−1) · S + id of token
//!   j` in order `n`'s region, so every order at `j` needs only the ranks found at `j − 1`
//!   (kept in registers) and the id just found: the K − 1 look-ups of a position do not wait
//!   for each other (in the start-anchored pass each waits for the one before).
//! * the vocabulary is not known while the reference is read, so the **stride `S` is a
//!   constant** above the reference length (32, 64 or 128: references of up to 126 tokens
//!   take this path): ids and ranks lie below the reference length (a new n-gram is ranked
//!   by the position it ends at, so no rank counter per order), `S − 2` is a *start*
//!   marker (the n-grams that would begin before the first token, see [`reference_pass`]) and
//!   `S − 1` the *absent* marker. An input token or n-gram the reference lacks (id `ABSENT`,
//!   or an entry of an earlier call) is turned into the absent marker by one conditional
//!   move; its row and column of each region are never written, so the next order's look-up
//!   needs no clamp, and its count is 0 in every row. With a constant stride, the regions,
//!   the count rows and their masks are constants too: an index is a shift, an add and an
//!   `and` with an immediate (no bounds check, no register), which is most of this path's
//!   gain; and every position runs the same code (no bound per order for the first ones).
//! * the token table's first slot decides a token without a branch on new-or-known
//!   (`table::View`); first positions are recorded only for tokens longer than 16 bytes,
//!   which take the probing path (the table is sized so it never grows here, and sparse).
//!   Its size is a constant of the stride (32 slots per `S`, at least 4× the 8 × |ref|
//!   tokens it is sized for), so its mask and shift are immediates and a slot index needs no
//!   bounds check (−3 % instructions for the overlaps).
//!
//! The counting differs from that of `fused.rs`: the reference pass counts each n-gram's
//! occurrences by rank; the input pass takes one back for each occurrence it finds — one
//! decrement, no test of whether any is left, so a count goes below zero when the input has
//! more — and the clipped overlap of an order is the reference length minus what stays
//! positive in its row (a sum over `|ref|` entries after the passes, instead of a compare, an
//! add and a conditional move per input n-gram: −7 % instructions for the overlaps). Equality
//! of ranks is equality of n-grams (by induction on `n`: an n-gram ending at `j` is its
//! (n−1)-gram ending at `j − 1` and its last token), so the counts are exact; `tests.rs`
//! checks them against the fallback and a naive tuple count.
//!
//! Measured on the benchmark pairs (BENCHMARKS.md, #17): interning and counting a bleu pair
//! took ~16,100 instructions (interning, then the fused start-anchored pass) and takes
//! ~12,700 with this path (callgrind; ~10,650 since the decrement-only input pass and the
//! constant token-table size); the metric's CPU time beyond tokenizing fell by ~30 %.
//! Memory per thread once used: 128 KiB of n-gram table (`u16` entries), 4 KiB of counts, and
//! token-table slots, 32 per stride unit (up to 128 KiB).

use super::{Scratch, TokenSeq};
use std::hint::select_unpredictable;

/// Largest row stride of the regions and length of a count row (`S` below): ids and ranks
/// lie below the reference length, which is below `S − 2`; `S − 2` is the start marker and
/// `S − 1` the absent marker. A call takes the smallest of 32, 64 and 128 that fits its
/// reference (the smaller the regions, the fewer cache lines the tables spread over).
const S_MAX: usize = 128;

/// Longest reference this path takes (`S − 2` is the start marker, see [`reference_pass`]).
pub(super) const MAX_REFERENCE: usize = S_MAX - 2;

/// Longest input this path takes: a count row entry goes down by one per input token at most,
/// so it stays above `i32::MIN` (the fallback takes longer inputs).
const MAX_INPUT: usize = i32::MAX as usize;

/// Most orders this path counts.
pub(super) const MAX_ORDER: usize = 5;

/// Table entries: one region of `S²` per order from 2 to [`MAX_ORDER`].
const TABLE: usize = ((MAX_ORDER - 1) * S_MAX * S_MAX).next_power_of_two();

/// Count entries: one row of `S` per order, rounded to a power of two.
const COUNTS: usize = (MAX_ORDER * S_MAX).next_power_of_two();

/// Entries are `u16`: the tag is reset (and the part of the table used since the last reset
/// cleared) before an entry `tag + rank` would pass this.
pub(super) const TAG_LIMIT: u32 = u16::MAX as u32;

/// Buffers of the streaming path (kept across calls in the thread's `Work`).
#[derive(Debug, Default)]
pub(super) struct Stream {
    /// The n-gram regions: `TABLE` entries once used. Entry `tag + rank` of this call, or
    /// anything below `tag` (an earlier call's, or 0). Two bytes an entry (128 KiB): half the
    /// pages a process faults in and the cache lines a call spreads over of `u32` entries; the
    /// price is a clear every ~65,000 reference tokens (a few µs, ~1,300 bench pairs).
    table: Vec<u16>,
    /// Entries below this index may be non-zero (what a reset clears: the regions of the
    /// largest stride and order count used since the last one, never pages not touched).
    used: usize,
    /// Tag of the current call (≥ 1 once a call ran).
    tag: u32,
    /// Count rows: `COUNTS` entries once used (signed: the input pass takes one back for
    /// every occurrence it finds, below zero when the input has more than the reference).
    rows: Vec<i32>,
}

impl Stream {
    /// The tag of a call on a reference of `r_len` tokens whose entries lie below `extent`;
    /// sizes the buffers on first use and clears the table when the tag would pass
    /// [`TAG_LIMIT`].
    fn next_tag(&mut self, r_len: usize, extent: usize) -> u32 {
        if self.table.len() != TABLE || self.rows.len() != COUNTS {
            // Zeroed by the allocator (fresh pages, mapped as they are first touched): a call
            // touches only its stride's regions, so a short process (one pass over a file)
            // never faults in the rest, and nothing is cleared here (0 is below any tag).
            self.table = vec![0; TABLE];
            self.rows = vec![0; COUNTS];
            self.tag = 1;
            self.used = 0;
        }
        // r_len < S_MAX and tag ≤ TAG_LIMIT: the sum does not overflow.
        if self.tag == 0 || self.tag as usize + r_len > TAG_LIMIT as usize {
            let used = self.used.min(self.table.len());
            self.table[..used].fill(0);
            self.used = 0;
            self.tag = 1;
        }
        self.used = self.used.max(extent);
        let tag = self.tag;
        self.tag += r_len as u32;
        tag
    }

    /// Raises the next call's tag to `tag` (tests of the reset near the limit). Never lowers
    /// it: every entry must stay below the tag of the calls after the one that wrote it (an
    /// entry at or above the tag would read as an n-gram of this call).
    #[cfg(test)]
    pub(super) fn set_tag_for_test(&mut self, tag: u32) {
        self.tag = self.tag.max(tag);
    }

    /// The next call's tag (tests of the reset).
    #[cfg(test)]
    pub(super) fn tag_for_test(&self) -> u32 {
        self.tag
    }
}

impl Scratch {
    /// Writes the clipped overlaps of orders `1..=K` of the pair into `out`, computed in one
    /// pass over each list, and returns true; returns false (leaving `out` alone) for pairs
    /// this path does not take (an empty side, K < 2 or K > [`MAX_ORDER`], a reference past
    /// [`MAX_REFERENCE`] tokens).
    pub(super) fn overlaps_streamed<const K: usize, R, I>(
        &mut self,
        reference: &R,
        input: &I,
        out: &mut [u64; K],
    ) -> bool
    where
        R: TokenSeq + ?Sized,
        I: TokenSeq + ?Sized,
    {
        let r_len = reference.count();
        if !(2..=MAX_ORDER).contains(&K)
            || r_len == 0
            || r_len > MAX_REFERENCE
            || input.count() == 0
            || input.count() > MAX_INPUT
        {
            return false;
        }
        let st = &mut self.work.stream;
        // Entries this call may write: the regions of orders 2..=K at its stride.
        let stride = if r_len < 31 {
            32
        } else if r_len < 63 {
            64
        } else {
            S_MAX
        };
        let tag = st.next_tag(r_len, (K - 1) * stride * stride);
        // Sized for 8 × (reference + 1) tokens: the table never fills up, so it never grows
        // (growing re-places ids from their first positions, which the fast path records only
        // for long tokens), and at most 1/32 full, a first slot rarely holds another key (each
        // such token takes the probing path: 2× → 8× the reference was −0.1 µs a bleu pair).
        // 32 × stride slots (≥ 4 × 8 × (reference + 1), about what that sizing gave): a constant
        // of the stride, so the fast path's mask and shift are immediates.
        self.tokens.reset_to(8 * (r_len + 1), 32 * stride);
        let Scratch {
            seed, tokens, work, ..
        } = self;
        let (Some(table), Some(count)) = (
            work.stream.table.first_chunk_mut::<TABLE>(),
            work.stream.rows.first_chunk_mut::<COUNTS>(),
        ) else {
            return false;
        };
        let clipped = if r_len < 31 {
            passes::<K, 32, 1024, R, I>(reference, input, seed, tokens, tag, table, count)
        } else if r_len < 63 {
            passes::<K, 64, 2048, R, I>(reference, input, seed, tokens, tag, table, count)
        } else {
            passes::<K, 128, 4096, R, I>(reference, input, seed, tokens, tag, table, count)
        };
        // None only if the token table is not of that size (never: `reset_to` just made it).
        let Some(clipped) = clipped else {
            return false;
        };
        for (o, c) in out.iter_mut().zip(clipped) {
            *o = u64::from(c);
        }
        true
    }
}

/// Both passes with stride `S` (a power of two ≤ [`S_MAX`] above the reference length).
#[inline(always)]
fn passes<const K: usize, const S: usize, const N: usize, R, I>(
    reference: &R,
    input: &I,
    seed: &crate::fasthash::Seed,
    tokens: &mut super::table::TokenTable,
    tag: u32,
    table: &mut [u16; TABLE],
    count: &mut [i32; COUNTS],
) -> Option<[u32; K]>
where
    R: TokenSeq + ?Sized,
    I: TokenSeq + ?Sized,
{
    // Ranks of this call lie below the reference length: entries past it in a row are never
    // read (the marker's, S − 1, is taken from by absent input n-grams and never read).
    let r_len = reference.count().min(S - 2);
    for row in count.chunks_mut(S).take(K) {
        row[..r_len].fill(0);
    }
    reference_pass::<K, S, N, R>(reference, seed, tokens, tag, table, count)?;
    input_pass::<K, S, N, R, I>(reference, input, seed, tokens, tag, table, count)?;
    // Rank g of order n ended with `ref(g) − inp(g)`: its clipped count `min(ref, inp)` is
    // `ref(g) − max(ref(g) − inp(g), 0)`, and the ref(g) of an order sum to the reference
    // length (one n-gram counted per position, start-marked ones included, which no input
    // n-gram takes from).
    let mut clipped = [0u32; K];
    for (c, row) in clipped.iter_mut().zip(count.chunks(S)) {
        let left: i32 = row[..r_len].iter().map(|&v| v.max(0)).sum();
        // 0 ≤ left ≤ r_len: the entries that stay positive sum to at most what was counted.
        *c = (r_len as i32 - left) as u32;
    }
    Some(clipped)
}

/// Index of the entry of order `n + 1` (n ≥ 1) for the n-gram ranked `prev` followed by the
/// token `id` (both ≤ the marker `S − 1`).
#[inline(always)]
fn entry<const S: usize>(n: usize, prev: u32, id: u32) -> usize {
    ((n - 1) * S * S + ((prev as usize) << S.trailing_zeros()) + id as usize) & (TABLE - 1)
}

/// Index of the count of rank `rank` (≤ the marker `S − 1`) of order `n + 1`.
#[inline(always)]
fn counter<const S: usize>(n: usize, rank: u32) -> usize {
    (n * S + rank as usize) & (COUNTS - 1)
}

/// Interns every reference token and ranks and counts the n-grams ending at it.
///
/// The first K − 1 tokens end fewer than K n-grams: they are given the missing ones anyway,
/// prefixed by the *start* marker `S − 2` (ranked and counted like the others, one per
/// position and order; ranks are end positions, below the reference length). No input n-gram can equal
/// one of them: the input's ranks are real ranks or the absent marker, never the start marker
/// or a rank derived from it. So every position runs the same code, without a bound per order.
#[inline(always)]
fn reference_pass<const K: usize, const S: usize, const N: usize, R: TokenSeq + ?Sized>(
    reference: &R,
    seed: &crate::fasthash::Seed,
    tokens: &mut super::table::TokenTable,
    tag: u32,
    table: &mut [u16; TABLE],
    count: &mut [i32; COUNTS],
) -> Option<()> {
    // The ranks of the n-grams ending at the previous token (index n − 1 for order n). A new
    // n-gram is ranked by the position it ends at (`j`, below the reference length): no
    // counter per order to keep, and an entry of this call holds a rank below `j`.
    let mut prev = [(S - 2) as u32; K];
    let mut view = tokens.view::<N>()?;
    for j in 0..reference.count() {
        // The entry a new n-gram ending here gets (`tag + j`, its rank `j`).
        let new_entry = tag + j as u32;
        let id = match view.intern(reference.key16_only(j, seed)) {
            Some(id) => id,
            None => {
                // Its first slot did not decide: the table's probing path.
                let ids = view.ids;
                tokens.set_ids(ids);
                let id = tokens.intern_slow(j, reference, seed);
                view = tokens.view::<N>()?;
                id
            }
        };
        count[counter::<S>(0, id)] += 1;
        let mut cur = [id; K];
        for n in 1..K {
            let e = entry::<S>(n, prev[n - 1], id);
            // An entry of this call holds `tag + rank` with rank < j; anything below `tag` is
            // an earlier call's (or 0): the n-gram is new. Not written as `min(seen, j)`: the
            // compiler turns that min into a branch, which mispredicts on repetitive text.
            let raw = u32::from(table[e]);
            let v = select_unpredictable(raw < tag, new_entry, raw);
            // v < TAG_LIMIT (`next_tag`): the entry holds it exactly.
            table[e] = v as u16;
            let rank = v - tag;
            count[counter::<S>(n, rank)] += 1;
            cur[n] = rank;
        }
        prev = cur;
    }
    let ids = view.ids;
    tokens.set_ids(ids);
    Some(())
}

/// Looks up every input token and the n-grams ending at it and takes one from the count of
/// each it finds (the caller reads the clipped overlaps off the count rows). The first K − 1
/// tokens look up their missing n-grams with the absent marker as prefix, which finds
/// nothing; an absent one takes from the marker's count, which is never read.
#[inline(always)]
fn input_pass<const K: usize, const S: usize, const N: usize, R, I>(
    reference: &R,
    input: &I,
    seed: &crate::fasthash::Seed,
    tokens: &mut super::table::TokenTable,
    tag: u32,
    table: &[u16; TABLE],
    count: &mut [i32; COUNTS],
) -> Option<()>
where
    R: TokenSeq + ?Sized,
    I: TokenSeq + ?Sized,
{
    let mark = (S - 1) as u32;
    let mut prev = [mark; K];
    let mut view = tokens.view::<N>()?;
    // No test of whether any is left: a count may go below zero (the caller clips), so an
    // occurrence is one decrement (`MAX_INPUT` keeps it above `i32::MIN`).
    let mut tally = |n: usize, rank: u32| {
        let k = counter::<S>(n, rank);
        count[k] = count[k].wrapping_sub(1);
    };
    for j in 0..input.count() {
        let id = match view.find(input.key16_only(j, seed)) {
            Some(id) => id,
            None => {
                let id = tokens.find_slow(j, input, reference, seed);
                view = tokens.view::<N>()?;
                id
            }
        };
        // Absent ids and ranks (`ABSENT`, or an entry of an earlier call: huge) become the
        // marker, whose count is 0 in every row and whose row and column in every region no
        // reference n-gram writes. Conditional moves, not branches: absent and present
        // n-grams interleave on text pairs.
        let id = select_unpredictable(id < mark, id, mark);
        tally(0, id);
        let mut cur = [id; K];
        for n in 1..K {
            let rank = u32::from(table[entry::<S>(n, prev[n - 1], id)]).wrapping_sub(tag);
            let rank = select_unpredictable(rank < mark, rank, mark);
            tally(n, rank);
            cur[n] = rank;
        }
        prev = cur;
    }
    Some(())
}
