//! The table of a reference of at most 64 tokens (nearly every pair of the benchmark and of
//! RL rewards): a fixed 256-slot open-addressing table whose slot is the token's key and its
//! LCS match mask, so an input token costs its key, one multiply and (mostly) one slot compare
//! before its Hyyrö step.
//!
//! * **Key.** Two words: a token's first eight bytes and its next eight, lowercased and
//!   zero-padded (the second word is 0 for a token of at most eight bytes). Token bytes are
//!   never zero, so for a token of at most 16 bytes — nearly all — the key *is* the token and
//!   equal keys mean equal tokens, with no byte compare and no hash loop. A longer token's
//!   second word is instead a hash of its bytes from the ninth on with the top bit set (never
//!   the second word of a short token: token bytes are ASCII), and a key match of such tokens
//!   is confirmed byte-wise against the token's first occurrence in the reference text, so a
//!   hash collision costs a compare, never a wrong score.
//! * **Slots.** 256 (load ≤ ¼ with ≤ 64 distinct tokens: every probe sequence ends at an
//!   empty slot, and most look-ups decide at the first slot), first word 0 = empty. The slot is
//!   chosen by the top eight bits of a folded multiply of the key with a random per-thread
//!   seed, so no fixed input makes long probe runs.
//! * **Clearing.** Only the slots the previous reference used are emptied (a list of at most
//!   64 indices), not the table.

use super::{fold_mul, load8, long_eq, long_hash, LOWER};
use crate::bitruns::for_each_run;

/// Number of slots (a power of two, > 64).
const SLOTS: usize = 256;
/// Top bit of a key's second word: the token is longer than 16 bytes.
const LONG: u64 = 1 << 63;

/// `MASKS[n]`: the low `n` bytes of a word.
const MASKS: [u64; 9] = {
    let mut m = [0u64; 9];
    let mut n = 1;
    while n < 9 {
        m[n] = u64::MAX >> (8 * (8 - n));
        n += 1;
    }
    m
};

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// The token's key (`k0 == 0`: empty slot).
    k0: u64,
    k1: u64,
    /// Bit `j`: reference token `j` is this token.
    mask: u64,
}

/// The table (see the module docs).
#[derive(Debug)]
pub(super) struct Small {
    slots: [Slot; SLOTS],
    /// For a slot holding a token longer than 16 bytes: its first occurrence in the reference
    /// text (start, length).
    long: [(u32, u32); SLOTS],
    /// Slots in use: the first `n_used` of `used`.
    used: [u8; 64],
    n_used: usize,
}

impl Default for Small {
    fn default() -> Self {
        Small {
            slots: [Slot::default(); SLOTS],
            long: [(0, 0); SLOTS],
            used: [0; 64],
            n_used: 0,
        }
    }
}

/// Key of the token `text[start..end]` (non-empty, every byte in `[A-Za-z0-9]`, where OR-ing
/// 0x20 lowercases exactly) and its first slot.
#[inline(always)]
fn key(seed: &[u64; 2], text: &[u8], start: usize, end: usize) -> (u64, u64, usize) {
    let len = end - start;
    let k0 = (load8(text, start) | LOWER) & MASKS[len.min(8)];
    let k1 = if len <= 8 {
        0
    } else if len <= 16 {
        (load8(text, start + 8) | LOWER) & MASKS[len - 8]
    } else {
        long_hash(
            seed,
            text,
            start + 8,
            len - 8,
            load8(text, start + 8) | LOWER,
        ) | LONG
    };
    let home = (fold_mul(k0 ^ seed[0], k1 ^ seed[1]) >> 56) as usize;
    (k0, k1, home)
}

impl Small {
    /// Whether the long token in slot `i` is `text[start..end]`.
    #[inline(never)]
    fn same_long(&self, i: usize, reference: &[u8], text: &[u8], start: usize, end: usize) -> bool {
        let (at, len) = self.long[i];
        len as usize == end - start && long_eq(reference, at as usize, text, start, end - start)
    }

    /// Whether slot `s` (index `i`) holds the token of key `(k0, k1)`, `text[start..end]`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn holds(
        &self,
        s: &Slot,
        i: usize,
        k0: u64,
        k1: u64,
        reference: &[u8],
        text: &[u8],
        start: usize,
        end: usize,
    ) -> bool {
        s.k0 == k0
            && s.k1 == k1
            && (k1 & LONG == 0 || self.same_long(i, reference, text, start, end))
    }

    /// Fills the table with the tokens of `reference`: the runs of `bits` (at most 64; any
    /// further ones are ignored).
    pub(super) fn build(&mut self, seed: &[u64; 2], reference: &[u8], bits: &[u64]) {
        for &i in self.used.iter().take(self.n_used) {
            self.slots[usize::from(i)].k0 = 0;
        }
        self.n_used = 0;
        let mut pos = 0usize;
        for_each_run(bits, |start, end| {
            if pos >= 64 {
                return;
            }
            let (k0, k1, mut i) = key(seed, reference, start, end);
            let bit = 1u64 << pos;
            loop {
                let s = self.slots[i];
                if s.k0 == 0 {
                    self.slots[i] = Slot { k0, k1, mask: bit };
                    if k1 & LONG != 0 {
                        // Offsets fit: the caller sends references past 4 GiB elsewhere.
                        self.long[i] = (start as u32, (end - start) as u32);
                    }
                    // At most one new slot per token: `n_used ≤ pos < 64`.
                    self.used[self.n_used & 63] = i as u8;
                    self.n_used += 1;
                    break;
                }
                if self.holds(&s, i, k0, k1, reference, reference, start, end) {
                    self.slots[i].mask |= bit;
                    break;
                }
                i = (i + 1) & (SLOTS - 1);
            }
            pos += 1;
        });
    }

    /// Match mask of the token `text[start..end]` of key `(k0, k1)` from slot `i` on.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn mask_of(
        &self,
        reference: &[u8],
        text: &[u8],
        start: usize,
        end: usize,
        k0: u64,
        k1: u64,
        mut i: usize,
    ) -> u64 {
        loop {
            let s = &self.slots[i];
            if self.holds(s, i, k0, k1, reference, text, start, end) {
                return s.mask;
            }
            if s.k0 == 0 {
                return 0;
            }
            i = (i + 1) & (SLOTS - 1);
        }
    }

    /// LCS length of the input tokens (the runs of `bits`, a bitmap of `text`) and the
    /// reference of `n_ref` tokens (1..=64) the table holds: Hyyrö's one-word bit-parallel
    /// step per input token.
    pub(super) fn lcs(
        &self,
        seed: &[u64; 2],
        reference: &[u8],
        n_ref: usize,
        text: &[u8],
        bits: &[u64],
    ) -> usize {
        let mut v = !0u64;
        for_each_run(bits, |start, end| {
            let (k0, k1, i) = key(seed, text, start, end);
            let m = self.mask_of(reference, text, start, end, k0, k1, i);
            v = v.wrapping_add(v & m) | (v & !m);
        });
        let low = u64::MAX >> (64 - n_ref.clamp(1, 64));
        n_ref - (v & low).count_ones() as usize
    }
}
