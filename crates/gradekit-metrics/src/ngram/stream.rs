//! Clipped overlaps of orders `1..=K` straight from two token lists: each side is read once,
//! and each token is interned (reference) or looked up (input) and its n-grams counted before
//! the next token is read — no id arrays between the token table and the n-gram tables (the
//! common case of bleu and gleu; [`Scratch::overlaps`] falls back to interning into
//! [`super::Ids`] and [`super::Work::clipped_overlaps`] for other pairs).
//!
//! The n-gram table is that of `fused.rs` (same buffer, same tag scheme: an entry of an
//! earlier call reads as a huge rank), with these differences:
//!
//! * **n-grams are taken where they end**, not where they start: the rank of the `n`-gram
//!   ending at token `j` is found at `(rank of the (n−1)-gram ending at j−1) · stride + id of
//!   token j` in order `n`'s region, so every order at `j` needs only the ranks found at
//!   `j − 1` (kept in registers) and the id just found: the K − 1 look-ups of a position do
//!   not wait for each other (in the start-anchored pass each waits for the one before).
//! * the vocabulary is not known while the reference is read, so the **stride is the
//!   reference length + 1**: ids and ranks lie below the reference length `r`, and `r` itself
//!   is the *absent* marker. An input token or n-gram the reference lacks (id `ABSENT`, or an
//!   entry of an earlier call) is turned into the marker by one conditional move, and the
//!   marker's row and column of each region are never written: the next order's look-up
//!   needs no clamp, and the marker's count is 0 in every row. Each region is `(r + 1)²`
//!   entries; pairs whose regions pass [`LIMIT`] entries (references past ~200 tokens for
//!   4 orders) take the fallback.
//! * count rows have a fixed length ([`ROW`]) in a fixed-size buffer, so a row's start is a
//!   constant and an index is masked by a constant (no bounds check, no register).
//! * the token table's first slot decides a token without a branch on new-or-known
//!   (`table::View`); first positions are recorded only for tokens longer than 16 bytes,
//!   which take the probing path (the table is sized so it never grows here).
//!
//! The counting is that of `fused.rs`: the reference pass counts each n-gram's occurrences by
//! rank, the input pass takes one back for each occurrence it finds and counts it as clipped
//! while any is left. Equality of ranks is equality of n-grams (by induction on `n`: an
//! n-gram ending at `j` is its (n−1)-gram ending at `j − 1` and its last token), so the counts
//! are exact; `tests.rs` checks them against the fallback and a naive tuple count.
//!
//! Measured on the benchmark pairs (BENCHMARKS.md, #17): interning and counting a bleu pair
//! took ~16,100 instructions before (intern, then the fused start-anchored pass) and ~14,300
//! with this path (callgrind), ~10 % less CPU time for the whole metric.

use super::fused::LIMIT;
use super::{Scratch, TokenSeq};
use std::hint::select_unpredictable;

/// Length of a count row: one row per order, rank `r` of order `n` at `(n − 1) · ROW + r`
/// (a constant offset per order).
const ROW: usize = 256;

/// Count rows kept (orders up to 8).
const COUNTS: usize = 8 * ROW;

/// Longest reference this path takes: ranks, ids and the absent marker (the reference length)
/// fit a count row.
pub(super) const MAX_REFERENCE: usize = ROW - 1;

/// Plan of one call: the regions of the n-gram table.
struct Plan<const K: usize> {
    /// Start of order `n + 1`'s region at index `n` (index 0 unused).
    base: [usize; K],
    /// Row stride of the regions: the reference length + 1 (ids, and the absent marker).
    stride: usize,
    /// Rank (or id) standing for "not in the reference": the reference length.
    absent: u32,
    table_mask: usize,
    tag: u32,
}

impl Scratch {
    /// Writes the clipped overlaps of orders `1..=K` of the pair into `out`, computed in one
    /// pass over each list, and returns true; returns false (leaving `out` alone) for pairs
    /// this path does not take (an empty side, K < 2 or K > 8, a reference past
    /// [`MAX_REFERENCE`] tokens or whose regions pass [`LIMIT`] entries).
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
        if !(2..=COUNTS / ROW).contains(&K)
            || r_len == 0
            || r_len > MAX_REFERENCE
            || input.count() == 0
        {
            return false;
        }
        // Order n + 1's region: (rank of the n-gram ending before, or absent) × (id, or
        // absent), both in 0..=r_len.
        let stride = r_len + 1;
        let region = stride * stride;
        let total = (K - 1) * region;
        if total > LIMIT {
            return false;
        }
        let mut base = [0usize; K];
        for (n, b) in base.iter_mut().enumerate().skip(1) {
            *b = (n - 1) * region;
        }
        let f = &mut self.work.fused;
        let tag = f.next_tag(total, r_len);
        if f.rows.len() != COUNTS {
            f.rows.clear();
            f.rows.resize(COUNTS, 0);
        }
        // Rows 0..K−1 up to the absent marker; the rest of a row is never reached.
        for row in f.rows.chunks_mut(ROW).take(K) {
            row[..stride].fill(0);
        }
        let plan = Plan {
            base,
            stride,
            absent: r_len as u32,
            table_mask: f.table.len() - 1,
            tag,
        };
        // Sized for one more token than the reference holds: the table never fills up, so
        // it never grows (growing re-places ids from their first positions, which the fast
        // path records only for long tokens).
        self.tokens.reset(stride);
        plan.reference(self, reference);
        let clipped = plan.input(self, reference, input);
        for (o, c) in out.iter_mut().zip(clipped) {
            *o = u64::from(c);
        }
        true
    }
}

/// The count rows as a fixed-size array (indices masked by a constant).
#[inline(always)]
fn rows(v: &mut [u32]) -> Option<&mut [u32; COUNTS]> {
    v.first_chunk_mut::<COUNTS>()
}

impl<const K: usize> Plan<K> {
    /// Interns every reference token and ranks and counts the n-grams ending at it.
    fn reference<R: TokenSeq + ?Sized>(&self, s: &mut Scratch, reference: &R) {
        let seed = s.seed;
        let table = &mut s.work.fused.table[..=self.table_mask];
        let Some(count) = rows(&mut s.work.fused.rows) else {
            return;
        };
        let tokens = &mut s.tokens;
        // Ranks handed out per order, and the ranks of the n-grams ending at the previous
        // token (index n − 1 for order n).
        let mut ranks = [0u32; K];
        let mut prev = [0u32; K];
        let mut view = tokens.view();
        macro_rules! token {
            ($j:expr, $fits:expr) => {{
                let j = $j;
                let (key, _) = reference.key16(j, &seed);
                let id = match view.intern(key) {
                    Some(id) => id,
                    None => {
                        // Its first slot did not decide: the table's probing path.
                        let ids = view.ids;
                        tokens.set_ids(ids);
                        let id = tokens.intern_slow(key, j, reference, &seed);
                        view = tokens.view();
                        id
                    }
                };
                self.reference_at(id, $fits, &mut ranks, &mut prev, table, count);
            }};
        }
        // The first K − 1 tokens end fewer than K n-grams; the others all K (a constant).
        let head = (K - 1).min(reference.count());
        for j in 0..head {
            token!(j, j + 1);
        }
        for j in head..reference.count() {
            token!(j, K);
        }
        let ids = view.ids;
        tokens.set_ids(ids);
    }

    /// The n-grams of orders `1..=fits` ending at a reference token of id `id`.
    #[inline(always)]
    fn reference_at(
        &self,
        id: u32,
        fits: usize,
        ranks: &mut [u32; K],
        prev: &mut [u32; K],
        table: &mut [u32],
        count: &mut [u32; COUNTS],
    ) {
        count[id as usize & (COUNTS - 1)] += 1;
        let mut cur = [id; K];
        for n in 1..K {
            if n < fits {
                let key = (self.base[n] + prev[n - 1] as usize * self.stride + id as usize)
                    & self.table_mask;
                let seen = table[key].wrapping_sub(self.tag);
                let fresh = seen >= ranks[n];
                let rank = select_unpredictable(fresh, ranks[n], seen);
                table[key] = self.tag + rank;
                ranks[n] += u32::from(fresh);
                count[(n * ROW + rank as usize) & (COUNTS - 1)] += 1;
                cur[n] = rank;
            }
        }
        *prev = cur;
    }

    /// Looks up every input token and the n-grams ending at it; returns the clipped overlap
    /// of each order.
    fn input<R, I>(&self, s: &mut Scratch, reference: &R, input: &I) -> [u32; K]
    where
        R: TokenSeq + ?Sized,
        I: TokenSeq + ?Sized,
    {
        let seed = s.seed;
        let table = &s.work.fused.table[..=self.table_mask];
        let mut clipped = [0u32; K];
        let Some(count) = rows(&mut s.work.fused.rows) else {
            return clipped;
        };
        let tokens = &mut s.tokens;
        let mut view = tokens.view();
        let mut prev = [0u32; K];
        macro_rules! token {
            ($j:expr, $fits:expr) => {{
                let j = $j;
                let (key, tok) = input.key16(j, &seed);
                let id = match view.find(key) {
                    Some(id) => id,
                    None => {
                        let id = tokens.find_slow(key, tok, reference);
                        view = tokens.view();
                        id
                    }
                };
                self.input_at(id, $fits, &mut clipped, &mut prev, table, count);
            }};
        }
        let head = (K - 1).min(input.count());
        for j in 0..head {
            token!(j, j + 1);
        }
        for j in head..input.count() {
            token!(j, K);
        }
        clipped
    }

    /// The n-grams of orders `1..=fits` ending at an input token of id `id` (or `ABSENT`).
    #[inline(always)]
    fn input_at(
        &self,
        id: u32,
        fits: usize,
        clipped: &mut [u32; K],
        prev: &mut [u32; K],
        table: &[u32],
        count: &mut [u32; COUNTS],
    ) {
        let absent = self.absent;
        // Absent ids and ranks (huge: `ABSENT`, or an entry of an earlier call) become the
        // absent marker, whose count is 0 in every row and whose row and column in every
        // region no reference n-gram writes. Conditional moves, not branches: absent and
        // present n-grams interleave on text pairs.
        let id = select_unpredictable(id < absent, id, absent);
        let mut tally = |n: usize, rank: u32| {
            // An occurrence is clipped while the reference has unmatched ones left.
            let k = (n * ROW + rank as usize) & (COUNTS - 1);
            let c = count[k];
            let hit = u32::from(c != 0);
            clipped[n] += hit;
            count[k] = c - hit;
        };
        tally(0, id);
        let mut cur = [id; K];
        for n in 1..K {
            if n < fits {
                // prev[n − 1] and id are ≤ absent < stride: the key lies in the region.
                let key = (self.base[n] + prev[n - 1] as usize * self.stride + id as usize)
                    & self.table_mask;
                let rank = table[key].wrapping_sub(self.tag);
                let rank = select_unpredictable(rank < absent, rank, absent);
                tally(n, rank);
                cur[n] = rank;
            }
        }
        *prev = cur;
    }
}
