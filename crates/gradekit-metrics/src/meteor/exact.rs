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
use super::lower16::{ascii_lower_word, lower_ascii16};
use super::porter::{py_lower, py_lower_in};

/// The high bit of every byte.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// `MASK[n]`: the mask of the first `n` bytes of a little-endian 16-byte word (n ≤ 16).
const MASK: [u128; 17] = {
    let mut m = [0u128; 17];
    let mut n = 1;
    while n <= 16 {
        m[n] = u128::MAX >> (128 - 8 * n);
        n += 1;
    }
    m
};

/// The 16 bytes of `text` from `start` (if there are that many).
#[inline(always)]
fn window(text: &[u8], start: usize) -> Option<u128> {
    let w = text.get(start..)?.first_chunk::<16>()?;
    Some(u128::from_le_bytes(*w))
}

/// The [`Key16`] of the word `text[start..end]` lower-cased, if it is ASCII, at most 16 bytes
/// long and followed by enough bytes that one 16-byte load covers it: the load is masked to the
/// word's length, its capitals are lower-cased in the two key words, and the hash is
/// [`Seed::hash16`] of them — what [`Seed::key16`] gives the lower-cased bytes, which is how
/// every other word is keyed ([`lower_key_slow`]).
#[inline(always)]
fn ascii_key(text: &[u8], span: (usize, usize), seed: &Seed) -> Option<Key16> {
    let (w0, w1, n) = fast_words(text, span)?;
    Some(Key16 {
        hash: seed.hash16(w0, w1, n),
        w0,
        w1,
        len: n as u32,
    })
}

/// The [`Key16`] of word `i` of `t` lower-cased as Python's `str.lower()` does
/// ([`ascii_key`] where it applies, else [`lower_key_slow`]), as [`Exact::run`] keys it.
#[inline]
pub(super) fn key_of(t: &Tokens, i: usize, seed: &Seed, buf: &mut String) -> Key16 {
    let (text, spans) = t.raw_parts();
    match spans.get(i).and_then(|&span| ascii_key(text, span, seed)) {
        Some(k) => k,
        None => lower_key_slow(t, i, seed, buf),
    }
}

/// The key of a word over 16 bytes, not ASCII, or too near the end of the token buffer
/// for one 16-byte load.
#[inline(never)]
fn lower_key_slow(t: &Tokens, i: usize, seed: &Seed, buf: &mut String) -> Key16 {
    let word = t.get(i).unwrap_or_default();
    seed.key16(py_lower_in(word, buf).as_bytes())
}

/// Whether the words `a_text[a]` and `b_text[b]` (byte ranges) are the same once lower-cased
/// (stage 1's equality): one masked 16-byte load per side for words of at most 16 bytes,
/// whatever their length, equal if their bytes are; if not, ASCII words are compared
/// lower-cased in registers ("The" and "the" at the end of both texts still pair off). Other
/// words only compare equal when their bytes are (`false` is always safe here: the common
/// tail just stops, and the words go through the table).
#[inline(always)]
fn same_word(a_text: &[u8], a: (usize, usize), b_text: &[u8], b: (usize, usize)) -> bool {
    let n = a.1.wrapping_sub(a.0);
    if n != b.1.wrapping_sub(b.0) {
        return false;
    }
    match (window(a_text, a.0), window(b_text, b.0), MASK.get(n)) {
        (Some(x), Some(y), Some(&m)) => (x ^ y) & m == 0 || same_ascii_lowered(x & m, y & m),
        _ => match (a_text.get(a.0..a.1), b_text.get(b.0..b.1)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// Whether two masked 16-byte words are both ASCII and equal once lower-cased.
#[inline(never)]
fn same_ascii_lowered(x: u128, y: u128) -> bool {
    let (x0, x1, y0, y1) = (x as u64, (x >> 64) as u64, y as u64, (y >> 64) as u64);
    (x0 | x1 | y0 | y1) & HIGH == 0
        && ascii_lower_word(x0) == ascii_lower_word(y0)
        && ascii_lower_word(x1) == ascii_lower_word(y1)
}

/// Whether word `a` of `ta` and word `b` of `tb` are equal once lower-cased (Python's
/// `str.lower()`); called only for words over 16 bytes whose keys are equal.
#[cold]
fn same_lowered(ta: &Tokens, a: usize, tb: &Tokens, b: usize) -> bool {
    let (x, y) = (ta.get(a).unwrap_or_default(), tb.get(b).unwrap_or_default());
    if x.is_ascii() && y.is_ascii() {
        x.eq_ignore_ascii_case(y)
    } else {
        py_lower(x) == py_lower(y)
    }
}

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
        let common = hs.len().min(rs.len());
        while tail < common {
            let (i, j) = (hs.len() - 1 - tail, rs.len() - 1 - tail);
            if !same_word(ht, hs[i], rt, rs[j]) {
                break;
            }
            hyp_match[i] = j as u32;
            ref_free[j] = false;
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
        self.next.clear();
        self.next.resize(rs.len(), NONE);
        let slots = &mut self.slots[..];
        let next = &mut self.next[..];

        // Every reference word onto its word's stack (a new slot if the word is new). A word
        // that is ASCII and at most 16 bytes (nearly all) is keyed and placed by
        // `push_fast_refs`, a loop with no call in it (so its values stay in registers); it
        // stops at any other word, which `slow_ref` places.
        let mut j = 0;
        loop {
            j = push_fast_refs(slots, mask, stamp, seed, rt, rs, next, j);
            let Some(n) = next.get_mut(j) else {
                break;
            };
            let k = lower_key_slow(r, j, seed, buf);
            slow_ref(slots, mask, stamp, &k, r, j, n);
            j += 1;
        }

        // Each hypothesis word, last first, pops the top of its word's stack, if any (the
        // same split: `pop_fast_hyps` stops at a word it cannot key, `slow_hyp` takes it).
        let mut matched = tail;
        let hyp_match = hyp_match.get_mut(..hs.len()).unwrap_or_default();
        let mut end = hs.len();
        loop {
            let (stop, m) = pop_fast_hyps(
                slots, mask, stamp, seed, ht, hs, hyp_match, next, ref_free, end,
            );
            matched += m;
            let Some(i) = stop else {
                break;
            };
            let k = lower_key_slow(h, i, seed, buf);
            if let Some(m) = hyp_match.get_mut(i) {
                matched += usize::from(slow_hyp(
                    slots,
                    mask,
                    stamp,
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
    mask: usize,
    stamp: u32,
    seed: &Seed,
    text: &[u8],
    spans: &[(usize, usize)],
    next: &mut [u32],
    from: usize,
) -> usize {
    let stamp_hi = u64::from(stamp) << 32;
    let (spans, next) = match (spans.get(from..), next.get_mut(from..)) {
        (Some(s), Some(n)) => (s, n),
        _ => return spans.len(),
    };
    for (k, (&span, n)) in spans.iter().zip(next.iter_mut()).enumerate() {
        let Some((w0, w1, len)) = fast_words(text, span) else {
            return from + k;
        };
        let home = (seed.hash16(w0, w1, len) >> 32) as usize & mask;
        let tag = stamp_hi | len as u64;
        let (at, found) = match first_probe(slots, home, stamp_hi, (w0, w1, tag)) {
            Some(hit) => hit,
            None => probe_short(slots, mask, home, stamp_hi, (w0, w1, tag)),
        };
        push_ref(slots, at, found, (w0, w1, tag), from + k, n);
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
    mask: usize,
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
    let mut matched = 0;
    let (spans, hyp_match) = match (spans.get(..end), hyp_match.get_mut(..end)) {
        (Some(s), Some(m)) => (s, m),
        _ => return (None, 0),
    };
    for (i, (&span, m)) in spans.iter().zip(hyp_match.iter_mut()).enumerate().rev() {
        let Some((w0, w1, len)) = fast_words(text, span) else {
            return (Some(i), matched);
        };
        let home = (seed.hash16(w0, w1, len) >> 32) as usize & mask;
        let tag = stamp_hi | len as u64;
        let (at, found) = match first_probe(slots, home, stamp_hi, (w0, w1, tag)) {
            Some(hit) => hit,
            None => probe_short(slots, mask, home, stamp_hi, (w0, w1, tag)),
        };
        matched += usize::from(pop_hyp(slots, at, found, next, ref_free, m));
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

/// The lower-cased words `(w0, w1)` and length of the word `text[start..end]` if it is ASCII,
/// at most 16 bytes long and followed by enough bytes that one 16-byte load covers it.
#[inline(always)]
fn fast_words(text: &[u8], (start, end): (usize, usize)) -> Option<(u64, u64, usize)> {
    let n = end.wrapping_sub(start);
    let w = text.get(start..)?.first_chunk::<16>()?;
    let (w0, w1) = lower_ascii16(w, n)?;
    Some((w0, w1, n))
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
    mask: usize,
    stamp: u32,
    k: &Key16,
    r: &Tokens,
    j: usize,
    n: &mut u32,
) {
    let home = (k.hash >> 32) as usize & mask;
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
    mask: usize,
    stamp: u32,
    k: &Key16,
    (r, h, i): (&Tokens, &Tokens, usize),
    next: &[u32],
    ref_free: &mut [bool],
    m: &mut u32,
) -> bool {
    let home = (k.hash >> 32) as usize & mask;
    let (at, found) = probe(slots, mask, home, stamp, (k.w0, k.w1, k.len), |first| {
        same_lowered(r, first as usize, h, i)
    });
    pop_hyp(slots, at, found, next, ref_free, m)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_word_is_lowered_equality() {
        for n in 1..40usize {
            let a: Vec<u8> = (0..n).map(|k| b'a' + (k % 26) as u8).collect();
            let text = format!(
                "{} {} x",
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&a)
            );
            let t = text.as_bytes();
            // The same word at two places; then the word against itself one byte longer or
            // with any one byte flipped.
            assert!(same_word(t, (0, n), t, (n + 1, 2 * n + 1)));
            assert!(!same_word(t, (0, n), t, (n + 1, 2 * n + 2)));
            for k in 0..n {
                let mut c = text.clone().into_bytes();
                c[n + 1 + k] ^= 1;
                assert!(!same_word(t, (0, n), &c, (n + 1, 2 * n + 1)), "{n} {k}");
            }
            // At the very end of the buffer (no 16-byte window).
            let end = &t[..2 * n + 1];
            assert!(same_word(t, (0, n), end, (n + 1, 2 * n + 1)));
            // Capitals: equal with a 16-byte window (words of at most 16 bytes); a case flip
            // of a byte that is no letter is a different word.
            let padded = format!("{text}{}", " ".repeat(16));
            let mut c = padded.clone().into_bytes();
            c[n + 1] = c[n + 1].to_ascii_uppercase();
            let p = padded.as_bytes();
            assert_eq!(same_word(p, (0, n), &c, (n + 1, 2 * n + 1)), n <= 16, "{n}");
            // Without a window (a shorter word at the end of the buffer), only equal bytes
            // are equal.
            let at_end = same_word(p, (0, n), &c[..2 * n + 1], (n + 1, 2 * n + 1));
            assert_eq!(at_end, n == 16, "{n}");
            for (x, y) in [(b'@', b'`'), (b'[', b'{'), (b'^', b'~')] {
                let mut p = text.clone().into_bytes();
                let mut q = text.clone().into_bytes();
                p[0] = x;
                q[n + 1] = y;
                assert!(!same_word(&p, (0, n), &q, (n + 1, 2 * n + 1)), "{n}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The tail's equality never calls two words equal that `str.lower()` tells apart, and
        /// calls equal every pair of ASCII words of at most 16 bytes that it does not.
        #[test]
        fn same_word_implies_lowered_equality(
            a in prop_oneof!["[a-zA-Z@\\[`{]{1,20}", "[a-zA-Zé]{1,20}", any::<String>()],
            flips in proptest::collection::vec(any::<bool>(), 20),
        ) {
            prop_assume!(!a.is_empty());
            let b: String = a
                .chars()
                .zip(flips.iter().cycle())
                .map(|(c, &f)| if f && c.is_ascii() { (c as u8 ^ 0x20) as char } else { c })
                .collect();
            let text = format!("{a} {b} ");
            let mut padded = text.clone().into_bytes();
            padded.extend_from_slice(&[0; 16]);
            let (x, y) = ((0, a.len()), (a.len() + 1, a.len() + 1 + b.len()));
            for t in [text.as_bytes(), &padded[..]] {
                let same = same_word(t, x, t, y);
                let lowered = py_lower(&a) == py_lower(&b);
                prop_assert!(!same || lowered, "{:?} {:?}", a, b);
                if t.len() > text.len() && a.len() <= 16 && a.is_ascii() && b.is_ascii() {
                    prop_assert_eq!(same, lowered, "{:?} {:?}", a, b);
                }
            }
        }

        /// The in-place key of a word is the exact key of its `str.lower()`, whatever sits
        /// beside it in the token buffer.
        #[test]
        fn lower_key_is_the_key_of_the_lowered_word(
            before in "[a-zA-Z]{0,20}",
            word in prop_oneof!["[a-zA-Z0-9'.,-]{1,24}", "[a-zA-Zé]{1,20}", any::<String>()],
            after in "[a-zA-Z]{0,20}",
        ) {
            let mut t = Tokens::new();
            t.push_literal(&before);
            t.push_literal(&word);
            t.push_literal(&after);
            let i = usize::from(!before.is_empty());
            prop_assume!(!word.is_empty());
            let seed = Seed::default();
            let lowered = py_lower(&word);
            prop_assert_eq!(key_of(&t, i, &seed, &mut String::new()), seed.key16(lowered.as_bytes()));
        }
    }
}
