//! Stage 1 of METEOR (exact matches of the lower-cased words) on the tokenizer's lists, read
//! in place: NLTK's `_match_enums`, where each hypothesis word, last first, takes the right-most
//! unmatched reference position holding the same word.
//!
//! What it costs is mostly branch mispredictions, not instructions: whether a reference word is
//! new or seen, whether a hypothesis word is in the reference, how long a word is — all are
//! coin flips on real text. So every step is written to branch only on what is nearly always
//! the same:
//!
//! * a common tail of equal words pairs off position by position (the last hypothesis word
//!   takes the last reference position, the right-most of all; the one before it the position
//!   before that, every later one being taken; ...) and is compared by one masked 16-byte load
//!   per side, whatever the word's length;
//! * every other word is keyed by one masked 16-byte load of its bytes in the token buffer,
//!   lower-cased in registers ([`ascii_key`]; a word over 16 bytes, not ASCII, or at the very
//!   end of the buffer goes through `str.lower()`, [`lower_key_slow`]);
//! * the per-call table ([`Exact`]) is at most an eighth full (for texts of up to 4,096 words;
//!   half full beyond, to bound its memory), so a word's home slot is nearly
//!   always either empty or its own: that case (new word or seen word, pop or no partner) is
//!   handled with selects instead of branches, and only a collision probes on.
//!
//! The keys are the exact keys of the lower-cased words (for words of at most 16 bytes), made
//! with the seed of stage 2's word memo: stage 2 keys the few positions stage 1 left free the
//! same way ([`key_of`]) and looks their stems up by those keys without lower-casing or
//! hashing the words again. (The keys are not kept per position: a call keys ~70 words and
//! stage 2 needs ~5 of them again, so storing every key cost more than redoing those.)
//! `tests/meteor_paths.rs` holds this path equal to the general one (`meteor_tokens`) on
//! random texts of every key shape.

use std::hint::select_unpredictable;

use crate::fasthash::{Key16, Seed};
use crate::tokenize::Tokens;

use super::intern::NONE;

mod words;
pub(super) use words::key_of;
use words::{fast_words, lower_key_slow, same_lowered, same_word};

/// Stage 1's buffers, reused by every call: the per-call table of the reference's distinct
/// words, each slot holding the word's exact [`Key16`] (words of at most 16 bytes — nearly all —
/// compare without touching their bytes) and its stack of free reference positions (right-most
/// on top, linked through `next`). Slots are live only while they carry the current call's
/// stamp, so nothing is cleared between calls; a call uses the first `2^k ≥ 8·|reference|`
/// slots.
#[derive(Debug, Default)]
pub(super) struct Exact {
    slots: Vec<Slot>,
    mask: usize,
    stamp: u32,
    next: Vec<u32>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    w0: u64,
    w1: u64,
    /// `(stamp << 32) | len`: the call this slot belongs to (0: never used) and the key's
    /// length (saturated, as in [`Key16`]); one word, so one compare covers both.
    tag: u64,
    /// Right-most free reference position holding the word, or [`NONE`].
    head: u32,
    /// First reference position of the word (to compare the bytes of words over 16 bytes).
    first: u32,
}

/// References of up to this many words (before the common tail) get a table at most an
/// eighth full; longer ones one at most half full.
const SPARSE_UP_TO: usize = 1 << 12;

/// Buffers larger than this many entries are dropped before a call rather than kept for the
/// thread's next call (a long text should not pin its memory for the thread's lifetime).
const KEEP_SLOTS: usize = 1 << 16;

impl Exact {
    /// Starts a call whose reference has `n` words (before the common tail).
    fn start(&mut self, n: usize) {
        // An eighth full for texts of up to a few thousand words (a table of at most 1 MiB);
        // half full beyond, so memory stays at most 64 bytes a reference word.
        let per_word = if n <= SPARSE_UP_TO { 8 } else { 2 };
        let cap = n.saturating_mul(per_word).next_power_of_two().max(16);
        if cap < self.slots.len() && self.slots.len() > KEEP_SLOTS {
            // A large text left a large table: give it back rather than keep it per thread.
            self.slots = Vec::new();
        }
        if self.slots.len() < cap {
            self.slots.resize(cap, Slot::default());
        }
        self.mask = cap - 1;
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // Wrapped: forget every old stamp.
            self.slots.iter_mut().for_each(|s| s.tag = 0);
            self.stamp = 1;
        }
    }

    /// Stage 1 on hypothesis `h` and reference `r`: records each match in `hyp_match` (the
    /// reference position of each hypothesis position, [`NONE`]-filled on entry, one entry per
    /// word of `h`) and `ref_free` (`true`-filled, one per word of `r`), and returns the number
    /// of matches. Keys are computed with `seed` (stage 2's word memo's, so they are its keys).
    pub(super) fn run(
        &mut self,
        h: &Tokens,
        r: &Tokens,
        seed: &Seed,
        buf: &mut String,
        hyp_match: &mut [u32],
        ref_free: &mut [bool],
    ) -> usize {
        let (ht, hs) = h.raw_parts();
        let (rt, rs) = r.raw_parts();
        let hs = hs.get(..hyp_match.len()).unwrap_or(hs);
        let rs = rs.get(..ref_free.len()).unwrap_or(rs);

        let mut tail = 0;
        let hyp_tail = hs.iter().zip(hyp_match.iter_mut()).rev();
        let ref_tail = rs.iter().zip(ref_free.iter_mut()).enumerate().rev();
        for ((&a, m), (j, (&b, f))) in hyp_tail.zip(ref_tail) {
            if !same_word(ht, a, rt, b) {
                break;
            }
            *m = j as u32;
            *f = false;
            tail += 1;
        }
        let hs = &hs[..hs.len() - tail];
        let rs = &rs[..rs.len() - tail];
        if hs.is_empty() || rs.is_empty() {
            return tail;
        }

        self.start(rs.len());
        let (mask, stamp) = (self.mask, self.stamp);
        if self.next.capacity() > KEEP_SLOTS {
            self.next = Vec::new();
        }
        // Every entry is written (each reference word is pushed) before it is read: no fill.
        if self.next.len() > rs.len() {
            self.next.truncate(rs.len());
        } else {
            self.next.resize(rs.len(), NONE);
        }
        // Exactly the call's slots: the loops take their mask from this length, so a home
        // (hash & mask) is known to be in range (no bounds check a word).
        let slots = self.slots.get_mut(..=mask).unwrap_or_default();
        let next = &mut self.next[..];

        // Every reference word onto its word's stack (a new slot if the word is new). A word
        // that is ASCII and at most 16 bytes (nearly all) is keyed and placed by
        // `push_fast_refs`, a loop with no call in it (so its values stay in registers); it
        // stops at any other word, which `slow_ref` places.
        let mut j = 0;
        loop {
            j = push_fast_refs(slots, stamp, seed, rt, rs, next, j);
            let Some(n) = next.get_mut(j) else {
                break;
            };
            let k = lower_key_slow(r, j, seed, buf);
            slow_ref(slots, (mask, stamp, seed), &k, r, j, n);
            j += 1;
        }

        // Each hypothesis word, last first, pops the top of its word's stack, if any (the
        // same split: `pop_fast_hyps` stops at a word it cannot key, `slow_hyp` takes it).
        let mut matched = tail;
        let hyp_match = hyp_match.get_mut(..hs.len()).unwrap_or_default();
        let mut end = hs.len();
        loop {
            let (stop, m) =
                pop_fast_hyps(slots, stamp, seed, ht, hs, hyp_match, next, ref_free, end);
            matched += m;
            let Some(i) = stop else {
                break;
            };
            let k = lower_key_slow(h, i, seed, buf);
            if let Some(m) = hyp_match.get_mut(i) {
                matched += usize::from(slow_hyp(
                    slots,
                    (mask, stamp, seed),
                    &k,
                    (r, h, i),
                    next,
                    ref_free,
                    m,
                ));
            }
            end = i;
        }
        matched
    }
}

/// Pushes reference words `from..` (key bytes in `text`, ranges `spans`, `next` entries
/// alongside) onto their stacks while they are ASCII words of at most 16 bytes
/// ([`fast_words`]); returns the position of the first word that is not, or `spans.len()`.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn push_fast_refs(
    slots: &mut [Slot],
    stamp: u32,
    seed: &Seed,
    text: &[u8],
    spans: &[(usize, usize)],
    next: &mut [u32],
    from: usize,
) -> usize {
    let stamp_hi = u64::from(stamp) << 32;
    let Some(mask) = slots.len().checked_sub(1) else {
        return spans.len();
    };
    let (spans, next) = match (spans.get(from..), next.get_mut(from..)) {
        (Some(s), Some(n)) => (s, n),
        _ => return spans.len(),
    };
    for (k, (&span, n)) in spans.iter().zip(next.iter_mut()).enumerate() {
        let Some((w0, w1, len)) = fast_words(text, span) else {
            return from + k;
        };
        let home = home_of(seed, w0, w1) & mask;
        let tag = stamp_hi | len as u64;
        let (at, found) = match first_probe(slots, home, stamp_hi, (w0, w1, tag)) {
            Some(hit) => hit,
            None => probe_short(slots, mask, home, stamp_hi, (w0, w1, tag)),
        };
        // A word of at most 16 bytes never reads its slot's `first` (its key is its bytes):
        // the slot's other fields only.
        if let Some(slot) = slots.get_mut(at & mask) {
            *n = select_unpredictable(found, slot.head, NONE);
            slot.w0 = w0;
            slot.w1 = w1;
            slot.tag = tag;
            slot.head = (from + k) as u32;
        }
    }
    from + spans.len()
}

/// Pops, for hypothesis words `end - 1` down to 0 (key bytes in `text`, ranges `spans`,
/// `hyp_match` entries alongside), the tops of their words' stacks while they are ASCII
/// words of at most 16 bytes; returns the position of the first word that is not (or
/// `None`: all done) and the number of matches made.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn pop_fast_hyps(
    slots: &mut [Slot],
    stamp: u32,
    seed: &Seed,
    text: &[u8],
    spans: &[(usize, usize)],
    hyp_match: &mut [u32],
    next: &[u32],
    ref_free: &mut [bool],
    end: usize,
) -> (Option<usize>, usize) {
    let stamp_hi = u64::from(stamp) << 32;
    let Some(mask) = slots.len().checked_sub(1) else {
        return (None, 0);
    };
    let mut matched = 0;
    let (spans, hyp_match) = match (spans.get(..end), hyp_match.get_mut(..end)) {
        (Some(s), Some(m)) => (s, m),
        _ => return (None, 0),
    };
    for (i, (&span, m)) in spans.iter().zip(hyp_match.iter_mut()).enumerate().rev() {
        let Some((w0, w1, len)) = fast_words(text, span) else {
            return (Some(i), matched);
        };
        let home = home_of(seed, w0, w1) & mask;
        let tag = stamp_hi | len as u64;
        let (at, found) = match first_probe(slots, home, stamp_hi, (w0, w1, tag)) {
            Some(hit) => hit,
            None => probe_short(slots, mask, home, stamp_hi, (w0, w1, tag)),
        };
        matched += usize::from(pop_hyp(slots, at & mask, found, next, ref_free, m));
    }
    (None, matched)
}

/// [`probe`] for the key `(w0, w1)` of a word of at most 16 bytes (`tag` as
/// [`Slot::tag`]), inline: `(slot, true)` where it is, or `(empty slot, false)`.
#[inline(always)]
fn probe_short(
    slots: &[Slot],
    mask: usize,
    home: usize,
    stamp_hi: u64,
    (w0, w1, tag): (u64, u64, u64),
) -> (usize, bool) {
    let mut at = home;
    while let Some(s) = slots.get(at) {
        if (s.tag ^ stamp_hi) >> 32 != 0 {
            return (at, false);
        }
        if s.w0 == w0 && s.w1 == w1 && s.tag == tag {
            return (at, true);
        }
        at = (at + 1) & mask;
    }
    (home, false)
}

/// Reference word `j` with key `(w0, w1, tag)` onto its word's stack in slot `at` (`found`:
/// the slot already holds the word); `n` is the word's `next` entry.
#[inline(always)]
fn push_ref(
    slots: &mut [Slot],
    at: usize,
    found: bool,
    (w0, w1, tag): (u64, u64, u64),
    j: usize,
    n: &mut u32,
) {
    if let Some(slot) = slots.get_mut(at) {
        let s = *slot;
        *n = select_unpredictable(found, s.head, NONE);
        *slot = Slot {
            w0,
            w1,
            tag,
            head: j as u32,
            first: select_unpredictable(found, s.first, j as u32),
        };
    }
}

/// A hypothesis word pops the top of the stack in slot `at` (`found`: the slot holds the
/// word; if not, `at` is an empty slot): records the match in `m` and `ref_free`, and
/// returns whether there was one.
#[inline(always)]
fn pop_hyp(
    slots: &mut [Slot],
    at: usize,
    found: bool,
    next: &[u32],
    ref_free: &mut [bool],
    m: &mut u32,
) -> bool {
    let Some(slot) = slots.get_mut(at) else {
        return false;
    };
    let j = select_unpredictable(found, slot.head, NONE);
    let hit = j != NONE;
    let jj = select_unpredictable(hit, j as usize, 0);
    let after = next.get(jj).copied().unwrap_or(NONE);
    // Unmatched: `at` is an empty slot (its head is dead) or the word's stack is empty.
    slot.head = select_unpredictable(hit, after, slot.head);
    *m = j;
    if let Some(f) = ref_free.get_mut(jj) {
        *f &= !hit;
    }
    hit
}

/// [`push_ref`] for reference word `j` of `r` keyed by `k` out of line (a word over 16
/// bytes, not ASCII, or at the end of the token buffer).
#[inline(never)]
fn slow_ref(
    slots: &mut [Slot],
    (mask, stamp, seed): (usize, u32, &Seed),
    k: &Key16,
    r: &Tokens,
    j: usize,
    n: &mut u32,
) {
    let home = key_home(seed, k) & mask;
    let (at, found) = probe(slots, mask, home, stamp, (k.w0, k.w1, k.len), |first| {
        same_lowered(r, first as usize, r, j)
    });
    let tag = (u64::from(stamp) << 32) | u64::from(k.len);
    push_ref(slots, at, found, (k.w0, k.w1, tag), j, n);
}

/// [`pop_hyp`] for hypothesis word `i` of `h` keyed by `k` out of line (reference `r`).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn slow_hyp(
    slots: &mut [Slot],
    (mask, stamp, seed): (usize, u32, &Seed),
    k: &Key16,
    (r, h, i): (&Tokens, &Tokens, usize),
    next: &[u32],
    ref_free: &mut [bool],
    m: &mut u32,
) -> bool {
    let home = key_home(seed, k) & mask;
    let (at, found) = probe(slots, mask, home, stamp, (k.w0, k.w1, k.len), |first| {
        same_lowered(r, first as usize, h, i)
    });
    pop_hyp(slots, at, found, next, ref_free, m)
}

/// The per-call table's hash of a key of at most 16 bytes, from its two words alone (the
/// length is in the slot's tag: words whose padded bytes agree but whose lengths differ share
/// a home and are told apart there). One folded multiply, as [`Seed::hash16`] without the
/// length term; only this table uses it, so it need not be the word memo's hash.
#[inline(always)]
fn home_of(seed: &Seed, w0: u64, w1: u64) -> usize {
    (seed.hash16(w0, w1, 0) >> 32) as usize
}

/// [`home_of`] of any key (a word over 16 bytes: its own hash, which covers all its bytes).
#[inline(always)]
fn key_home(seed: &Seed, k: &Key16) -> usize {
    if k.len <= 16 {
        home_of(seed, k.w0, k.w1)
    } else {
        (k.hash >> 32) as usize
    }
}

/// The home slot's verdict on the key `(w0, w1)` of a word of at most 16 bytes (`tag`: the
/// call's stamp and the word's length, as [`Slot::tag`]) when it is decisive: `(home, true)`
/// if the slot holds the word, `(home, false)` if it is empty; `None` when the probe must go
/// on (another word). Branch-free.
#[inline(always)]
fn first_probe(
    slots: &[Slot],
    home: usize,
    stamp_hi: u64,
    (w0, w1, tag): (u64, u64, u64),
) -> Option<(usize, bool)> {
    let s = slots.get(home)?;
    let t = s.tag ^ tag;
    let live = (s.tag ^ stamp_hi) >> 32 == 0;
    let differ = (s.w0 ^ w0) | (s.w1 ^ w1) | t;
    // Decisive unless live and different. `black_box` keeps the compiler from splitting the
    // test into a branch on `live` (a coin flip) and one on `differ`: one rarely taken branch
    // remains, whose operand's latency the branch predictor hides.
    let collides = std::hint::black_box(select_unpredictable(live, differ, 0));
    if collides != 0 {
        return None;
    }
    Some((home, live))
}

/// Linear probing from `home` for the key of words `(w0, w1)` and length `len` (passed as
/// scalars, so the caller's key stays in registers): `(slot, true)` where it is, or `(empty
/// slot, false)`. `same_long(first)` compares a word over 16 bytes with the word at reference
/// position `first` once their keys agree. (The table is at most half full, so an empty
/// slot is always reached.)
#[inline(never)]
fn probe(
    slots: &[Slot],
    mask: usize,
    home: usize,
    stamp: u32,
    (w0, w1, len): (u64, u64, u32),
    same_long: impl Fn(u32) -> bool,
) -> (usize, bool) {
    let mut at = home;
    while let Some(s) = slots.get(at) {
        if (s.tag >> 32) as u32 != stamp {
            return (at, false);
        }
        if s.w0 == w0 && s.w1 == w1 && s.tag as u32 == len && (len <= 16 || same_long(s.first)) {
            return (at, true);
        }
        at = (at + 1) & mask;
    }
    (home, false)
}
