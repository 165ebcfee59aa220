//! rouge_l in one pass over each text: tokenize, intern and run the bit-parallel LCS without
//! materialising token lists (issue #17: a metric within 2× of the cost of tokenizing its two
//! texts).
//!
//! The general path ([`super::rouge_l`] before this module existed, still the path of
//! rouge_N and the fallback here) tokenizes each text into a lowercased copy with token
//! ranges, caches it, interns both token lists into ids through a hash table and finally runs
//! the LCS over the id lists. Here, per text:
//!
//! 1. **Bitmap pass** (`scan`). Sixteen bytes at a time (SSE2 on x86_64, the portable
//!    `crate::bitruns::bitmap` elsewhere), the bytes in `[A-Za-z0-9]` are flagged by biased
//!    signed compares and gathered by `pmovmskb`, giving one bit per text byte (`1` = token
//!    byte). The same pass counts tokens (0 → 1 transitions) and notes whether any byte is
//!    non-ASCII.
//! 2. **Tokens from the bitmap.** A token is a maximal run of set bits, found with
//!    `trailing_zeros`. Its key is read straight from the text: for a token of at most eight
//!    bytes (sixteen in `small`'s two-word keys), the bytes at its start masked to its length
//!    and OR-ed with `0x20` per byte
//!    (which lowercases `A-Z` and leaves `a-z0-9` alone: the token is lowercased without a
//!    copy). Token bytes are never zero, so that word alone identifies a short token. Longer
//!    tokens hash all their bytes the same way and are compared byte-wise, case-folded, with
//!    their first occurrence in the reference text.
//! 3. **Reference → table.** A reference of at most 64 tokens (nearly all) fills the small
//!    table of `small`: 256 slots keyed exactly by the token's first 16 lowercased bytes (a
//!    hash plus a byte check only past 16 bytes), each slot holding the token's LCS match mask
//!    (bit `j` = reference position `j`), emptied before each build by zeroing the slots'
//!    first words. A longer reference is interned into the id table below (random seed per thread,
//!    load ≤ ½, slots live by generation stamp so nothing is cleared between calls).
//! 4. **Input → LCS.** With a reference of at most 64 tokens, each input token is looked up
//!    and its mask applied to the one-word Hyyrö state `V` on the spot — no input token
//!    list, no id list. Longer references collect both id lists and use `super::lcs`
//!    (shorter side as pattern, multiword beyond 64 tokens).
//!
//! `small` walks the runs with its own loops (common tokens inline, rare ones out of line, so
//! the loop state stays in registers); the id-table path uses `crate::bitruns::Runs`.
//!
//! Python's `str.lower` maps exactly two non-ASCII code points to ASCII letters (U+0130 and
//! U+212A, see `super::tokenize`); a text holding either (rare: checked only for texts with
//! non-ASCII bytes) takes the general path. Every other non-ASCII byte separates tokens, as
//! the bitmap's range tests decide. Scores are the general path's to the bit: the LCS length
//! and the token counts are integers, and the F-measure is the same code
//! (`tests::fused_equals_general` checks it on random and adversarial pairs).

use std::cell::Cell;

mod affix;
mod scan;
mod small;

use super::lcs::{lcs_one_word, Pattern};
use crate::bitruns::Runs;
use crate::fasthash::Seed;
use crate::ngram::ABSENT;

/// Per byte, `0x20` (lowercases an ASCII letter, keeps a digit).
const LOWER: u64 = 0x2020_2020_2020_2020;

/// rouge-score's token bytes: `[A-Za-z0-9]` (as `crate::bitruns` classes: the portable scan,
/// and the oracle of `scan`'s tests).
#[cfg(any(test, not(target_arch = "x86_64")))]
const TOKEN_CLASS: &[(u8, u8, bool)] = &[(b'a', b'z', true), (b'0', b'9', false)];

/// Little-endian word of `b[at..at + 8]`, zero-padded past the end of `b`.
#[inline(always)]
fn load8(b: &[u8], at: usize) -> u64 {
    match b.get(at..at + 8) {
        Some(s) => {
            let mut w = [0u8; 8];
            w.copy_from_slice(s);
            u64::from_le_bytes(w)
        }
        None => load8_tail(b, at),
    }
}

#[cold]
#[inline(never)]
fn load8_tail(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    let tail = b.get(at..).unwrap_or_default();
    let n = tail.len().min(8);
    w[..n].copy_from_slice(&tail[..n]);
    u64::from_le_bytes(w)
}

/// The token bitmap of one text.
#[derive(Debug, Default)]
struct Bitmap {
    /// Bit `i % 64` of word `i / 64`: byte `i` is in `[A-Za-z0-9]`; a zero word at the end.
    bits: Vec<u64>,
    tokens: usize,
}

impl Bitmap {
    /// Builds the bitmap of `text`; returns false when `text` holds U+0130 or U+212A (the
    /// general path is needed).
    fn fill(&mut self, text: &[u8]) -> bool {
        let (tokens, high) = scan::token_bitmap(text, &mut self.bits);
        self.tokens = tokens;
        !high || !super::tokenize::has_special_in(text)
    }

    /// The tokens as `(start, end)`, in order.
    #[inline(always)]
    fn tokens(&self) -> Runs<'_> {
        Runs::new(&self.bits)
    }
}

/// Key of the token `text[start..end]` (non-empty, every byte in `[A-Za-z0-9]`): its first
/// eight bytes lowercased and zero-padded, and its hash.
#[inline(always)]
fn token_key(seed: &[u64; 2], text: &[u8], start: usize, end: usize) -> (u64, u64) {
    let len = end - start;
    let first = load8(text, start) | LOWER;
    if len <= 8 {
        let word = first & (u64::MAX >> (8 * (8 - len)));
        // Multiplicative hashing (the table indexes by the top bits) with a random odd factor.
        return (word, (word ^ seed[0]).wrapping_mul(seed[1]));
    }
    (first, long_hash(seed, text, start, len, first))
}

#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Hash of a token longer than eight bytes, over its lowercased bytes.
#[inline(never)]
fn long_hash(seed: &[u64; 2], text: &[u8], start: usize, len: usize, first: u64) -> u64 {
    let mut h = fold_mul(first ^ seed[0], (len as u64) ^ seed[1]);
    let mut at = 8;
    while at < len {
        let n = (len - at).min(8);
        let w = (load8(text, start + at) | LOWER) & (u64::MAX >> (8 * (8 - n)));
        h = fold_mul(w ^ h, seed[1]);
        at += 8;
    }
    h
}

/// Case-folded equality of two token byte strings of length `len` (every byte in
/// `[A-Za-z0-9]`, where OR-ing 0x20 is an exact case fold).
fn long_eq(a: &[u8], a_start: usize, b: &[u8], b_start: usize, len: usize) -> bool {
    let mut at = 0;
    while at < len {
        let n = (len - at).min(8);
        let mask = u64::MAX >> (8 * (8 - n));
        if (load8(a, a_start + at) | LOWER) & mask != (load8(b, b_start + at) | LOWER) & mask {
            return false;
        }
        at += 8;
    }
    true
}

/// The reference's table, for look-ups of input tokens.
struct Table<'a> {
    slots: &'a [Slot],
    stamp: u32,
    mask: usize,
    shift: u32,
    seed: [u64; 2],
    reference: &'a [u8],
}

impl Table<'_> {
    /// The slot of the token `text[start..end]`, if the reference has it.
    #[inline(always)]
    fn find(&self, text: &[u8], start: usize, end: usize) -> Option<&Slot> {
        let (word, hash) = token_key(&self.seed, text, start, end);
        let len = (end - start) as u32;
        let mut i = (hash >> self.shift) as usize & self.mask;
        loop {
            let s = self.slots.get(i)?;
            if s.stamp != self.stamp {
                return None;
            }
            if s.word == word
                && s.len == len
                && (len <= 8
                    || long_eq(self.reference, s.start as usize, text, start, len as usize))
            {
                return Some(s);
            }
            i = (i + 1) & self.mask;
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// First eight lowercased bytes, zero-padded.
    word: u64,
    /// Live when equal to the table's current stamp.
    stamp: u32,
    id: u32,
    /// First occurrence in the reference text (to compare long tokens).
    start: u32,
    len: u32,
}

/// This thread's buffers.
#[derive(Debug, Default)]
pub(crate) struct Fused {
    seed: Option<[u64; 2]>,
    slots: Vec<Slot>,
    stamp: u32,
    /// The table of a reference of at most 64 tokens.
    small: small::Small,
    reference: Bitmap,
    input: Bitmap,
    ref_ids: Vec<u32>,
    inp_ids: Vec<u32>,
    /// The reference the table holds, when it may be reused: its text and what the build
    /// produced. In RL the G completions of one prompt are scored against one reference one
    /// after another; the table then stands and only the input is tokenized.
    last: Option<Built>,
    last_text: Vec<u8>,
    /// A cheap signature of the previous call's reference ([`signature`]): when it repeats
    /// (the G completions of one prompt), a whole table is built for reuse; otherwise the
    /// shared affixes are always stripped. Only a choice of path: either gives the same LCS.
    last_seen: (usize, u128, u128),
}

/// The length and first and last sixteen bytes (zero-padded) of a text: equal for equal
/// texts, and rarely equal for different ones (which then only take the slower path).
fn signature(text: &[u8]) -> (usize, u128, u128) {
    if let (Some(head), Some(tail)) = (text.first_chunk::<16>(), text.last_chunk::<16>()) {
        let word = |b: &[u8; 16]| u128::from_le_bytes(*b);
        return (text.len(), word(head), word(tail));
    }
    let mut head = [0u8; 16];
    let mut tail = [0u8; 16];
    let n = text.len().min(16);
    head[..n].copy_from_slice(&text[..n]);
    tail[..n].copy_from_slice(&text[text.len() - n..]);
    (
        text.len(),
        u128::from_le_bytes(head),
        u128::from_le_bytes(tail),
    )
}

/// What building the table for a reference produced.
#[derive(Debug, Clone, Copy)]
struct Built {
    n_ref: usize,
    vocab: u32,
    cap: usize,
}

/// Longest reference kept for reuse, in bytes.
const REUSE_MAX: usize = 1 << 14;

/// Outcome of one pair.
pub(crate) enum Outcome {
    /// Token counts (input, reference) and LCS length.
    Counts {
        input: usize,
        reference: usize,
        lcs: usize,
    },
    /// The general path is needed (U+0130 / U+212A, or a reference past 4 GiB).
    General,
    /// Over the cost limit (only when checking).
    Limit(crate::LimitError),
}

thread_local! {
    static FUSED: Cell<Option<Box<Fused>>> = const { Cell::new(None) };
}

/// Buffers above this many elements are not kept for the next call.
const KEEP: usize = 1 << 16;

/// Runs `f` with this thread's buffers (fresh ones when nested).
pub(crate) fn with_fused<R>(f: impl FnOnce(&mut Fused) -> R) -> R {
    let mut b: Box<Fused> = FUSED
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default();
    let r = f(&mut b);
    let big = b
        .slots
        .len()
        .max(b.ref_ids.capacity())
        .max(b.inp_ids.capacity())
        .max(b.last_text.capacity());
    if big <= KEEP && b.reference.bits.capacity().max(b.input.bits.capacity()) <= KEEP {
        let _ = FUSED.try_with(|c| c.set(Some(b)));
    }
    r
}

impl Fused {
    /// Fills the table of the reference's tokens (bitmap in `self.reference`): the small one
    /// with LCS masks when it has at most 64 tokens, else dense ids; remembers the reference
    /// for reuse when `whole` (the bitmap holds all of its tokens).
    fn build(&mut self, refr: &[u8], n_ref: usize, seed: &[u64; 2], whole: bool) -> Built {
        let built = if n_ref <= 64 {
            self.small.build(seed, refr, &self.reference.bits);
            Built {
                n_ref,
                vocab: 0,
                cap: 0,
            }
        } else {
            self.build_ids(refr, n_ref, seed)
        };
        self.last_text.clear();
        if whole && refr.len() <= REUSE_MAX {
            self.last_text.extend_from_slice(refr);
            self.last = Some(built);
        } else {
            self.last = None;
        }
        built
    }

    /// Interns the reference's tokens into the id table (references of more than 64 tokens).
    fn build_ids(&mut self, refr: &[u8], n_ref: usize, seed: &[u64; 2]) -> Built {
        // Table of ≥ 2·n_ref slots (load ≤ ½), reused: slots of older calls are dead by stamp.
        let cap = (n_ref * 2).next_power_of_two().max(16);
        if self.slots.len() < cap {
            self.slots.clear();
            self.slots.resize(cap, Slot::default());
            self.stamp = 0;
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.slots.iter_mut().for_each(|s| s.stamp = 0);
            self.stamp = 1;
        }
        let stamp = self.stamp;
        let mask = cap - 1;
        let shift = 64 - cap.trailing_zeros();
        let slots = &mut self.slots[..cap];

        // Reference → ids (and masks when it fits one word).
        let mut next_id = 0u32;
        let ref_ids = &mut self.ref_ids;
        ref_ids.clear();
        for (start, end) in self.reference.tokens() {
            let (word, hash) = token_key(seed, refr, start, end);
            let len = (end - start) as u32;
            let mut i = (hash >> shift) as usize & mask;
            loop {
                let s = &mut slots[i];
                if s.stamp != stamp {
                    *s = Slot {
                        word,
                        stamp,
                        id: next_id,
                        start: start as u32,
                        len,
                    };
                    next_id += 1;
                    break;
                }
                if s.word == word
                    && s.len == len
                    && (len <= 8 || long_eq(refr, s.start as usize, refr, start, len as usize))
                {
                    break;
                }
                i = (i + 1) & mask;
            }
            ref_ids.push(slots[i].id);
        }
        Built {
            n_ref,
            vocab: next_id,
            cap,
        }
    }

    /// LCS and token counts of a pair; `check` applies rouge_l's cost limit before the LCS.
    pub(crate) fn lcs(&mut self, input: &str, reference: &str, check: bool) -> Outcome {
        let (inp, refr) = (input.as_bytes(), reference.as_bytes());
        // The table of the previous call's reference, if it is this one (same bytes).
        let reused = match self.last {
            Some(built) if self.last_text.as_slice() == refr => Some(built),
            _ => None,
        };
        if inp == refr {
            return self.identical(refr, reused, check);
        }
        // Slots keep reference offsets in 32 bits.
        if reused.is_none() && (refr.len() > u32::MAX as usize || !self.reference.fill(refr)) {
            self.last = None;
            return Outcome::General;
        }
        if !self.input.fill(inp) {
            return Outcome::General;
        }
        let n_ref = reused.map_or(self.reference.tokens, |b| b.n_ref);
        let n_inp = self.input.tokens;
        if n_ref == 0 || n_inp == 0 {
            return Outcome::Counts {
                input: n_inp,
                reference: n_ref,
                lcs: 0,
            };
        }
        if check {
            if let Err(e) = crate::limits::check_rouge_l(n_inp, n_ref) {
                return Outcome::Limit(e);
            }
        }
        let seed = *self.seed.get_or_insert_with(|| {
            let s = Seed::default();
            let k = s.key(b"rouge_l fused");
            [k.hash, s.key(b"seed").hash | 1]
        });
        if reused.is_none() {
            // Shared leading and trailing tokens count whole; only the middles go on.
            let (inp_bits, ref_bits) = (&self.input.bits, &self.reference.bits);
            let a = affix::affixes(inp, inp_bits, refr, ref_bits);
            let shared = a.prefix + a.suffix;
            let seen = signature(refr);
            let repeated = seen == self.last_seen;
            self.last_seen = seen;
            // A middle's table is not kept for the next pair: when the reference repeats (the
            // G completions of one prompt, scored in a row) and only a few tokens are shared,
            // the whole reference's table is built and kept instead, for the next ones. A
            // single shared token (an unrelated text that starts or ends alike, as most
            // completions of a prompt) does not make a reference's first pair strip either.
            let strip = 4 * shared >= n_ref || (!repeated && shared >= 2);
            if shared > 0 && (strip || refr.len() > REUSE_MAX) {
                let (mid_inp, mid_ref) = (n_inp - shared, n_ref - shared);
                let mut lcs = shared;
                if mid_inp > 0 && mid_ref > 0 {
                    affix::keep(&mut self.input.bits, a.a);
                    affix::keep(&mut self.reference.bits, a.b);
                    lcs += self.lcs_tokens(inp, refr, mid_ref, &seed, None);
                }
                return Outcome::Counts {
                    input: n_inp,
                    reference: n_ref,
                    lcs,
                };
            }
        }
        let lcs = self.lcs_tokens(inp, refr, n_ref, &seed, reused);
        Outcome::Counts {
            input: n_inp,
            reference: n_ref,
            lcs,
        }
    }

    /// The outcome of a pair whose two texts are the same bytes: every token is common.
    #[inline(never)]
    fn identical(&mut self, text: &[u8], reused: Option<Built>, check: bool) -> Outcome {
        let n = match reused {
            Some(built) => built.n_ref,
            None => {
                if text.len() > u32::MAX as usize || !self.reference.fill(text) {
                    self.last = None;
                    return Outcome::General;
                }
                self.reference.tokens
            }
        };
        if check && n > 0 {
            if let Err(e) = crate::limits::check_rouge_l(n, n) {
                return Outcome::Limit(e);
            }
        }
        Outcome::Counts {
            input: n,
            reference: n,
            lcs: n,
        }
    }

    /// LCS length of the tokens of the bitmaps (`n_ref` of the reference's; both > 0): with
    /// the table of `reused`, else one built now (remembered for reuse only when no affix was
    /// stripped: `reused` is `None` then, and the bitmap is whole iff `n_ref` is its count).
    fn lcs_tokens(
        &mut self,
        inp: &[u8],
        refr: &[u8],
        n_ref: usize,
        seed: &[u64; 2],
        reused: Option<Built>,
    ) -> usize {
        let seed = *seed;
        let built = match reused {
            Some(built) => built,
            None => {
                let whole = n_ref == self.reference.tokens;
                self.build(refr, n_ref, &seed, whole)
            }
        };
        if n_ref <= 64 {
            return self.small.lcs(&seed, refr, n_ref, inp, &self.input.bits);
        }
        let (cap, stamp) = (built.cap, self.stamp);
        let next_id = built.vocab;
        let mask = cap - 1;
        let shift = 64 - cap.trailing_zeros();
        let slots = &self.slots[..cap];
        let ref_ids = &self.ref_ids;

        // Input → lookups: the slot of `text[start..end]`, if the reference has the token.
        let table = Table {
            slots,
            stamp,
            mask,
            shift,
            seed,
            reference: refr,
        };
        let lookup = |start: usize, end: usize| table.find(inp, start, end);
        let lcs = {
            let inp_ids = &mut self.inp_ids;
            inp_ids.clear();
            inp_ids.extend(
                self.input
                    .tokens()
                    .map(|(start, end)| lookup(start, end).map_or(ABSENT, |s| s.id)),
            );
            let vocab = next_id as usize;
            if inp_ids.len() <= 64 {
                lcs_one_word(inp_ids, ref_ids, vocab)
            } else {
                let (pattern, text) = if inp_ids.len() < ref_ids.len() {
                    (&*inp_ids, ref_ids)
                } else {
                    (ref_ids, &*inp_ids)
                };
                Pattern::new(pattern, vocab).lcs(text.iter().copied())
            }
        };
        lcs
    }
}

#[cfg(test)]
mod tests;
