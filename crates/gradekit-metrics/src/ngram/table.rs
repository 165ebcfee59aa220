//! The token table of a (reference, input) pair: reference tokens interned to dense ids,
//! input tokens looked up (see the parent module's docs for why and how fast).

use super::{home, table_size, TokenSeq, ABSENT};
use crate::fasthash::{Key16, Seed};

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
pub(super) struct TokenTable {
    slots: Vec<Slot>,
    mask: usize,
    shift: u32,
    stamp: u32,
    /// Ids the table takes before it grows.
    limit: usize,
    /// Ids handed out in this call.
    ids: usize,
    /// First reference position of each id (`first[..ids]`; sized to the reference, so an
    /// insertion writes its entry without a branch).
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
pub(super) const SPARSE_UP_TO: usize = 4096;

/// Token tables larger than this many slots (2 MiB) are not kept for the next call.
pub(super) const KEEP_SLOTS: usize = 1 << 16;

impl TokenTable {
    /// Interns every reference token, its id into `out` (one entry per token, in order).
    pub(super) fn intern_all<R: TokenSeq + ?Sized>(
        &mut self,
        reference: &R,
        seed: &Seed,
        out: &mut [u32],
    ) {
        let mut k = 0;
        while k < out.len() {
            k = self.intern_run(reference, seed, out, k);
            if self.full() {
                self.grow(reference, seed);
            } else if let Some(id) = out.get_mut(k) {
                let (key, tok) = reference.key16(k, seed);
                *id = self.intern_probing(key, k, tok, reference, seed);
                k += 1;
            }
        }
    }

    /// Interns reference tokens from position `k` on while each is decided by its first slot
    /// (an empty slot: a new token; the same key: a known one) and the table is below its
    /// load limit; returns the position where it stopped. The first slot decides without a
    /// branch on whether the token is new (about as unpredictable as a coin on prose), and
    /// the table's fields live in registers for the run.
    #[inline(always)]
    fn intern_run<R: TokenSeq + ?Sized>(
        &mut self,
        reference: &R,
        seed: &Seed,
        out: &mut [u32],
        mut k: usize,
    ) -> usize {
        let (stamp, shift, mask, limit) = (self.stamp, self.shift, self.mask, self.limit);
        let mut ids = self.ids;
        let Some(slots) = self.slots.get_mut(..=mask) else {
            return k;
        };
        let first = &mut self.first[..];
        while let Some(out_k) = out.get_mut(k) {
            let (key, _) = reference.key16(k, seed);
            let i = home(key.hash, shift, mask);
            let s = slots[i];
            let fresh = s.stamp != stamp;
            let same = (s.w0 == key.w0) & (s.w1 == key.w1) & (s.len == key.len) & (key.len <= 16);
            if !(fresh | same) {
                break;
            }
            let id = if fresh { ids as u32 } else { s.id };
            slots[i] = Slot {
                w0: key.w0,
                w1: key.w1,
                len: key.len,
                id,
                stamp,
            };
            // `ids ≤ k < first.len()`; the entry is overwritten by the next new id if this
            // token was not new.
            if let Some(f) = first.get_mut(ids) {
                *f = k as u32;
            }
            ids += usize::from(fresh);
            *out_k = id;
            k += 1;
            if ids >= limit {
                break;
            }
        }
        self.ids = ids;
        k
    }

    /// Looks up every input token, its id or [`ABSENT`] into `out` (one entry per token).
    pub(super) fn find_all<R: TokenSeq + ?Sized, I: TokenSeq + ?Sized>(
        &self,
        input: &I,
        reference: &R,
        seed: &Seed,
        out: &mut [u32],
    ) {
        let (stamp, shift, mask) = (self.stamp, self.shift, self.mask);
        let Some(slots) = self.slots.get(..=mask) else {
            return;
        };
        for (k, id) in out.iter_mut().enumerate() {
            let (key, tok) = input.key16(k, seed);
            let s = slots[home(key.hash, shift, mask)];
            let live = s.stamp == stamp;
            let same = live & (s.w0 == key.w0) & (s.w1 == key.w1) & (s.len == key.len);
            // The first slot decides without a branch on the outcome unless it holds another
            // key (or the token is longer than 16 bytes).
            *id = if !live | (same & (key.len <= 16)) {
                if same {
                    s.id
                } else {
                    ABSENT
                }
            } else {
                self.probe(key, tok, reference).unwrap_or(ABSENT)
            };
        }
    }

    /// [`Self::intern`] when the first slot holds another key or the token is long.
    #[cold]
    #[inline(never)]
    fn intern_probing<R: TokenSeq + ?Sized>(
        &mut self,
        key: Key16,
        k: usize,
        tok: &[u8],
        reference: &R,
        seed: &Seed,
    ) -> u32 {
        match self.probe(key, tok, reference) {
            Ok(id) => id,
            Err(slot) => {
                let id = self.ids as u32;
                self.slots[slot] = Slot {
                    w0: key.w0,
                    w1: key.w1,
                    len: key.len,
                    id,
                    stamp: self.stamp,
                };
                if let Some(f) = self.first.get_mut(self.ids) {
                    *f = k as u32;
                }
                self.ids += 1;
                if self.full() {
                    self.grow(reference, seed);
                }
                id
            }
        }
    }

    /// Slots held (what decides whether the table is kept for the next call).
    pub(super) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Empties the table for a reference of `items` tokens, sized for at most
    /// [`SPARSE_UP_TO`] of them: a longer reference grows the table as its distinct tokens
    /// come ([`Self::grow`]), so memory follows the vocabulary, not the token count.
    pub(super) fn reset(&mut self, items: usize) {
        let (cap, shift) = table_size(items.min(SPARSE_UP_TO) * 2);
        self.reset_sized(items, cap, shift);
    }

    fn reset_sized(&mut self, items: usize, cap: usize, shift: u32) {
        if self.slots.len() < cap || self.slots.len() > KEEP_SLOTS.max(cap) {
            self.slots = vec![Slot::default(); cap];
            self.stamp = 0;
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.slots.iter_mut().for_each(|s| s.stamp = 0);
            self.stamp = 1;
        }
        self.set_size(cap, shift);
        self.ids = 0;
        if self.first.len() < items || self.first.len() > KEEP_SLOTS.max(items) {
            self.first.clear();
            self.first.resize(items, 0);
        }
    }

    /// Distinct reference tokens interned so far.
    pub(super) fn len(&self) -> usize {
        self.ids
    }

    /// Whether the table is past its load limit (a quarter up to [`SPARSE_UP_TO`] ids, then
    /// a half) and must [`Self::grow`] before the next insertion.
    #[inline(always)]
    fn full(&self) -> bool {
        self.ids >= self.limit
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
    #[inline(never)]
    fn grow<R: TokenSeq + ?Sized>(&mut self, reference: &R, seed: &Seed) {
        let (cap, shift) = table_size(self.mask + 1);
        self.slots.clear();
        self.slots.resize(cap, Slot::default());
        self.stamp = 1;
        self.set_size(cap, shift);
        for (id, &j) in self.first.iter().take(self.ids).enumerate() {
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
    pub(super) fn probe<R: TokenSeq + ?Sized>(
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

    #[cold]
    fn long_eq<R: TokenSeq + ?Sized>(&self, id: u32, tok: &[u8], reference: &R) -> bool {
        let id = id as usize;
        (id < self.ids)
            && self
                .first
                .get(id)
                .is_some_and(|&j| bytes_eq(reference.bytes(j as usize), tok))
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
