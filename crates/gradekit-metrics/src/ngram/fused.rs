//! Clipped overlaps of orders `1..=K` in one pass over each side (the common case of
//! [`super::Work::clipped_overlaps`]: bleu and gleu ask for orders 1..4, rouge for up to 5).
//!
//! The order-by-order method of the parent module walks both id lists once per order and
//! keeps the ranks of order `n − 1` in arrays for order `n`. Here every order is computed at
//! each position while its prefix's rank is still in a register: at reference position `j`
//! the rank of the 1-gram is the token id, and the rank of the `n`-gram is looked up (or
//! assigned) in the direct table of order `n` at `(rank of the (n−1)-gram at j) · vocab + id
//! of token j+n−1`. One pass over the reference and one over the input count every order,
//! with no rank arrays and no per-order set-up; the loops have no branch that depends on the
//! data and no bounds check (indices are masked to power-of-two buffers they never exceed).
//!
//! * The tables of orders 2..K are regions of one `u32` array: order 2 is indexed by
//!   `id · vocab + id` (`vocab²` entries), order `n ≥ 3` by `rank · vocab + id` where the rank
//!   of the `(n−1)`-gram is below the number of reference `(n−1)`-grams. Each region ends
//!   with one entry no reference n-gram writes: input n-grams with an absent prefix or last
//!   token look it up (the index is clamped to it).
//! * An entry holds `tag + rank` where `tag` grows by the reference length every call: the
//!   entries a call writes lie in `tag..tag + |reference|`, so an entry from an earlier call
//!   (or never written, 0) reads as `entry − tag ≥ 2^31` (wrapping), larger than any rank, and
//!   nothing is cleared between calls (only when the tag would pass 2^31, which takes at
//!   least 2^31 reference tokens). An input look-up is one subtraction: a rank, or a huge
//!   value that acts as "absent" (clamped to a dummy count, or making the next order's index
//!   pass the region).
//! * Counts: one row per order of a power of two above `|reference|`, zeroed per call. The
//!   reference pass counts each n-gram's occurrences by rank; the input pass takes one back
//!   for each occurrence it finds and counts it as clipped while any is left, so the clipped
//!   count `Σ_g min(ref_g, input_g)` is accumulated while scanning the input. An input n-gram
//!   the reference lacks goes to the row's last entry, which no rank reaches and stays 0.
//!
//! Equality of ranks is equality of n-grams, as in the order-by-order method (by induction
//! on `n`: same rank of the prefix and same last id), so the counts are exact; the property
//! tests in `tests.rs` compare both methods and a naive tuple count on random lists.

/// Largest table (entries, all orders) this path uses: 512 KiB; larger pairs take the
/// order-by-order path.
pub(super) const LIMIT: usize = 1 << 17;

/// Longest reference this path takes (bounds the count rows kept between calls).
const MAX_REFERENCE: usize = 4096;

/// The tag is reset (and the table cleared) before it would pass this.
const TAG_LIMIT: u32 = 1 << 31;

/// Buffers of the fused path (kept across calls in the thread's `Work`).
#[derive(Debug, Default)]
pub(super) struct Fused {
    /// Direct tables of orders 2..=K, one region each (see the module docs); its length is
    /// a power of two.
    table: Vec<u32>,
    /// Tag of the current call (≥ 1 once a call ran).
    tag: u32,
    /// Occurrences of each reference n-gram not yet matched by the input: row `n − 1` holds
    /// order `n`'s by rank; the last entry of a row (absent input n-grams) stays 0.
    unmatched: Vec<u32>,
}

/// Regions and rows of one call, shared by both passes.
struct Layout<const K: usize> {
    /// Start of order `n`'s region at index `n − 1` (index 0 unused).
    base: [usize; K],
    /// Entries of order `n`'s region before its sentinel.
    size: [usize; K],
    vocab: usize,
    /// Count row length (a power of two > |reference|) and its mask.
    row: usize,
    /// Mask of the table and of the count buffers (power-of-two lengths).
    table_mask: usize,
    count_mask: usize,
    tag: u32,
}

impl Fused {
    /// Writes the clipped overlaps of orders `1..=K` into `out` (`out.len() == K`) and returns
    /// true, or returns false (leaving `out` alone) when the pair is too large for this path.
    ///
    /// `reference` ids must be dense in `0..vocab` and non-empty, `input` ids in `0..vocab`
    /// or `ABSENT` and non-empty.
    pub(super) fn overlaps<const K: usize>(
        &mut self,
        reference: &[u32],
        input: &[u32],
        vocab: usize,
        out: &mut [u64],
    ) -> bool {
        let r_len = reference.len();
        if K < 2 || out.len() != K || vocab == 0 || vocab > r_len || r_len > MAX_REFERENCE {
            return false;
        }
        // Regions: order n's rows are the ranks of (n−1)-grams: ids for n = 2, else below
        // the reference's count of (n−1)-grams. r_len ≤ MAX_REFERENCE: no overflow below.
        let mut base = [0usize; K];
        let mut size = [0usize; K];
        let mut total = 0usize;
        for n in 2..=K {
            let rows = if n == 2 {
                vocab
            } else {
                (r_len + 2).saturating_sub(n)
            };
            size[n - 1] = rows * vocab;
            base[n - 1] = total;
            total += size[n - 1] + 1;
            if total > LIMIT {
                return false;
            }
        }
        let tag = self.next_tag(total, r_len);
        let row = (r_len + 1).next_power_of_two();
        let counts = (K * row).next_power_of_two();
        if self.unmatched.len() < counts {
            self.unmatched.resize(counts, 0);
        }
        // A slice fill is one `memset`; `Vec::resize` writes element by element.
        self.unmatched[..counts].fill(0);
        let layout = Layout {
            base,
            size,
            vocab,
            row,
            table_mask: self.table.len() - 1,
            count_mask: counts - 1,
            tag,
        };
        layout.reference(reference, &mut self.table, &mut self.unmatched);
        let clipped = layout.input(input, &self.table, &mut self.unmatched);
        for (o, c) in out.iter_mut().zip(clipped) {
            *o = u64::from(c);
        }
        true
    }

    /// The tag of a call on a reference of `r_len` tokens whose tables take `total` entries
    /// (the table is grown to a power of two ≥ `total`, and cleared when the tag wraps).
    fn next_tag(&mut self, total: usize, r_len: usize) -> u32 {
        if self.table.len() < total {
            self.table.clear();
            self.table.resize(total.next_power_of_two(), 0);
        }
        // r_len ≤ MAX_REFERENCE and tag ≤ 2^31: the sum does not overflow.
        if self.tag == 0 || self.tag as usize + r_len > TAG_LIMIT as usize {
            self.table.iter_mut().for_each(|e| *e = 0);
            self.tag = 1;
        }
        let tag = self.tag;
        self.tag += r_len as u32;
        tag
    }

    /// Sets the next call's tag (tests of the reset near the limit).
    #[cfg(test)]
    pub(super) fn set_tag_for_test(&mut self, tag: u32) {
        self.tag = tag;
    }
}

impl<const K: usize> Layout<K> {
    /// Ranks every reference n-gram (first come, dense per order) and counts them.
    fn reference(&self, reference: &[u32], table: &mut [u32], count: &mut [u32]) {
        let table = &mut table[..=self.table_mask];
        let count = &mut count[..=self.count_mask];
        let mut ranks = [0u32; K];
        // Positions where all K orders fit, then the last K − 1 (or fewer).
        let full = (reference.len() + 1).saturating_sub(K);
        for w in reference.windows(K) {
            if let Some(w) = w.first_chunk::<K>() {
                self.reference_at(w, K, &mut ranks, table, count);
            }
        }
        for j in full..reference.len() {
            let mut w = [0u32; K];
            let tail = &reference[j..];
            // An element loop (not `copy_from_slice`'s `memcpy` call) for ≤ K − 1 ids.
            w.iter_mut().zip(tail).for_each(|(d, &s)| *d = s);
            self.reference_at(&w, tail.len(), &mut ranks, table, count);
        }
    }

    /// The n-grams of orders `1..=fits` starting at a reference position whose next
    /// `fits` ids are `w[..fits]`.
    #[inline(always)]
    fn reference_at(
        &self,
        w: &[u32; K],
        fits: usize,
        ranks: &mut [u32; K],
        table: &mut [u32],
        count: &mut [u32],
    ) {
        let mut prefix = w[0];
        count[prefix as usize & self.count_mask] += 1;
        for n in 1..K {
            if n < fits {
                let key =
                    (self.base[n] + prefix as usize * self.vocab + w[n] as usize) & self.table_mask;
                let seen = table[key].wrapping_sub(self.tag);
                let fresh = seen >= ranks[n];
                let rank = if fresh { ranks[n] } else { seen };
                table[key] = self.tag + rank;
                ranks[n] += u32::from(fresh);
                count[(n * self.row + rank as usize) & self.count_mask] += 1;
                prefix = rank;
            }
        }
    }

    /// Looks up every input n-gram and returns the clipped overlap of each order.
    fn input(&self, input: &[u32], table: &[u32], count: &mut [u32]) -> [u32; K] {
        let table = &table[..=self.table_mask];
        let count = &mut count[..=self.count_mask];
        let mut clipped = [0u32; K];
        let full = (input.len() + 1).saturating_sub(K);
        for w in input.windows(K) {
            if let Some(w) = w.first_chunk::<K>() {
                self.input_at(w, K, &mut clipped, table, count);
            }
        }
        for j in full..input.len() {
            let mut w = [0u32; K];
            let tail = &input[j..];
            w.iter_mut().zip(tail).for_each(|(d, &s)| *d = s);
            self.input_at(&w, tail.len(), &mut clipped, table, count);
        }
        clipped
    }

    /// The n-grams of orders `1..=fits` starting at an input position (see
    /// [`Self::reference_at`]).
    #[inline(always)]
    fn input_at(
        &self,
        w: &[u32; K],
        fits: usize,
        clipped: &mut [u32; K],
        table: &[u32],
        count: &mut [u32],
    ) {
        // The last entry of each row: no rank reaches it (ranks < |reference| < row).
        let dummy = self.row - 1;
        let mut prefix = w[0];
        let mut tally = |n: usize, rank: u32| {
            let k = (n * self.row + (rank as usize).min(dummy)) & self.count_mask;
            // An occurrence is clipped while the reference has unmatched ones left.
            let c = count[k];
            let hit = u32::from(c != 0);
            clipped[n] += hit;
            count[k] = c - hit;
        };
        tally(0, prefix);
        // `n` indexes the window, the regions and the counts in step.
        #[allow(clippy::needless_range_loop)]
        for n in 1..K {
            if n < fits {
                // An absent id or prefix (≥ 2^31) puts the index past the region's size (the
                // u64 product and sum of two values below 2^32 do not overflow); it is
                // clamped to the region's sentinel, which no reference n-gram writes.
                let at = u64::from(prefix) * self.vocab as u64 + u64::from(w[n]);
                let key = (self.base[n] + at.min(self.size[n] as u64) as usize) & self.table_mask;
                let rank = table[key].wrapping_sub(self.tag);
                tally(n, rank);
                prefix = rank;
            }
        }
    }
}
