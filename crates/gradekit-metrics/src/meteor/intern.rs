//! String → id tables for METEOR.
//!
//! METEOR's alignment compares words for equality only, so each stage maps its strings to
//! small integer ids or slots first. [`PairTable`] is stage 1's per-call table on the
//! tokenizer's lists (keys lower-cased in place, [`lower_key`]); [`StrTable`] interns strings
//! into its own arena (stage 1 on other token lists, and the cross-call word → stem cache for
//! words over 16 bytes); [`WordMemo`] is that cache for the other words. A `std`
//! `HashMap<&str, _>` cannot outlive the call's strings and would be rebuilt (and reallocated)
//! on every call; these tables are kept per thread and serve every call with no allocation
//! once warmed up. Open addressing with linear probing over a power-of-two slot array, at most
//! half full; keys are hashed with `crate::fasthash` seeded randomly per table, so crafted
//! inputs cannot force collisions, and a key of at most 16 bytes is compared by its words and
//! length without reading its bytes.

use crate::fasthash::{Key, Key16, Seed};
use crate::ngram::TokenSeq;
use crate::tokenize::Tokens;

use super::porter::{py_lower, py_lower_in};

/// "No entry" in slots and linked lists.
pub(super) const NONE: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(super) struct StrTable {
    seed: Seed,
    /// `(hash tag << 32) | id`, or [`EMPTY`]: a probe compares the tag before it touches
    /// the entry (the cross-call caches grow large, so every extra line read is a likely
    /// cache miss).
    slots: Vec<u64>,
    /// Per id, in one place: the key's hash, its first-8-byte word and its range in `arena`.
    entries: Vec<Entry>,
    arena: String,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    hash: u64,
    word: u64,
    start: usize,
    end: usize,
    /// The caller's value for this key ([`StrTable::set_value`]), kept in the entry the
    /// probe has just read.
    value: u32,
}

/// An empty slot (no id reaches `u32::MAX`: ids are below half the slot count).
const EMPTY: u64 = u64::MAX;

#[inline(always)]
fn tag(hash: u64) -> u64 {
    hash >> 32
}

impl StrTable {
    /// Empty the table, sized for about `expected` distinct keys.
    pub(super) fn reset(&mut self, expected: usize) {
        let cap = expected.saturating_mul(2).next_power_of_two().max(16);
        self.slots.clear();
        self.slots.resize(cap, EMPTY);
        self.entries.clear();
        self.arena.clear();
    }

    /// Bytes of key text held.
    pub(super) fn text_bytes(&self) -> usize {
        self.arena.len()
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The key of `id` (an id this table returned since the last reset).
    pub(super) fn get(&self, id: u32) -> &str {
        let e = self.entries[id as usize];
        &self.arena[e.start..e.end]
    }

    /// The value stored for `id` ([`NONE`] until set).
    #[inline]
    pub(super) fn value(&self, id: u32) -> u32 {
        self.entries.get(id as usize).map_or(NONE, |e| e.value)
    }

    /// Stores a value for `id` (an id this table returned since the last reset).
    pub(super) fn set_value(&mut self, id: u32, value: u32) {
        if let Some(e) = self.entries.get_mut(id as usize) {
            e.value = value;
        }
    }

    /// Slot holding `key`, or the empty slot where it would go (`Err`).
    #[inline(always)]
    fn probe(&self, key: &str, k: Key) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let mut i = (k.hash as usize) & mask;
        let n = key.len();
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                return Err(i);
            }
            if s >> 32 == tag(k.hash) {
                let id = s as u32;
                let e = self.entries[id as usize];
                if e.hash == k.hash
                    && e.word == k.word
                    && e.end - e.start == n
                    && (n <= 8 || &self.arena.as_bytes()[e.start..e.end] == key.as_bytes())
                {
                    return Ok(id);
                }
            }
            i = (i + 1) & mask;
        }
    }

    #[inline(always)]
    pub(super) fn lookup(&self, key: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.probe(key, self.seed.key(key.as_bytes())).ok()
    }

    /// The id of `key`, inserting it if new; the flag says whether it was new.
    #[inline(always)]
    pub(super) fn intern(&mut self, key: &str) -> (u32, bool) {
        if self.slots.is_empty() {
            self.reset(0);
        }
        let k = self.seed.key(key.as_bytes());
        match self.probe(key, k) {
            Ok(id) => (id, false),
            Err(slot) => {
                let id = self.entries.len() as u32;
                let start = self.arena.len();
                self.arena.push_str(key);
                self.entries.push(Entry {
                    hash: k.hash,
                    word: k.word,
                    start,
                    end: self.arena.len(),
                    value: NONE,
                });
                self.slots[slot] = (tag(k.hash) << 32) | u64::from(id);
                if self.entries.len() * 2 > self.slots.len() {
                    self.grow();
                }
                (id, true)
            }
        }
    }

    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        self.slots.clear();
        self.slots.resize(cap, EMPTY);
        let mask = cap - 1;
        for (id, e) in self.entries.iter().enumerate() {
            let mut i = (e.hash as usize) & mask;
            while self.slots[i] != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = (tag(e.hash) << 32) | id as u64;
        }
    }
}

/// Lower-cased words of at most [`WordMemo::MAX_KEY`] bytes → a value (their stem id), kept
/// across calls. Each slot holds the word's exact key (`Key16`) and the value, so a hit reads
/// one slot: this table grows to tens of thousands of words and is looked up at random, so each
/// further read (an entry array, the key's bytes) would be one more likely cache miss.
#[derive(Debug, Default)]
pub(super) struct WordMemo {
    seed: Seed,
    slots: Vec<MemoSlot>,
    len: usize,
}

#[derive(Debug, Default, Clone, Copy)]
struct MemoSlot {
    w0: u64,
    w1: u64,
    /// Key length + 1; 0 = empty.
    klen: u32,
    value: u32,
}

impl WordMemo {
    /// Longest word kept (longer words go through a [`StrTable`]).
    pub(super) const MAX_KEY: usize = 16;

    pub(super) fn clear(&mut self) {
        self.slots.clear();
        self.len = 0;
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The key of `word` (at most [`Self::MAX_KEY`] bytes).
    #[inline(always)]
    pub(super) fn key(&self, word: &[u8]) -> Key16 {
        self.seed.key16(word)
    }

    #[inline(always)]
    fn home(&self, hash: u64) -> usize {
        (hash >> 32) as usize & (self.slots.len() - 1)
    }

    /// The value kept for the word of key `k`.
    #[inline]
    pub(super) fn get(&self, k: &Key16) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(k.hash);
        loop {
            let s = self.slots[i];
            if s.klen == 0 {
                return None;
            }
            if s.w0 == k.w0 && s.w1 == k.w1 && s.klen == k.len.wrapping_add(1) {
                return Some(s.value);
            }
            i = (i + 1) & mask;
        }
    }

    /// Keeps `value` for the word of key `k`, which must not be kept yet (and must be at most
    /// [`Self::MAX_KEY`] bytes long).
    pub(super) fn insert(&mut self, k: &Key16, value: u32) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        self.place(MemoSlot {
            w0: k.w0,
            w1: k.w1,
            klen: k.len.wrapping_add(1),
            value,
        });
        self.len += 1;
    }

    fn place(&mut self, slot: MemoSlot) {
        let hash = self
            .seed
            .hash16(slot.w0, slot.w1, slot.klen.saturating_sub(1) as usize);
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        while self.slots[i].klen != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
    }

    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![MemoSlot::default(); cap]);
        for s in old.into_iter().filter(|s| s.klen != 0) {
            self.place(s);
        }
    }
}

/// The high bit of every byte.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// `w` with the ASCII capitals of its bytes lower-cased (every byte of `w` must be below 0x80:
/// then adding 0x3f sets a byte's high bit exactly when it is ≥ `A`, adding 0x25 when it is
/// > `Z`, and no addition carries into the next byte).
#[inline(always)]
pub(super) fn ascii_lower_word(w: u64) -> u64 {
    let ge_a = w.wrapping_add(0x3f3f_3f3f_3f3f_3f3f);
    let gt_z = w.wrapping_add(0x2525_2525_2525_2525);
    w | ((ge_a & !gt_z & HIGH) >> 2)
}

/// The [`Key16`] of word `i` of `t` lower-cased as Python's `str.lower()` does. An ASCII word of
/// at most 16 bytes is lower-cased in its two key words (one masked load in place for the
/// common word of at most 8 bytes, two loads of its own bytes for 9 to 16), and its hash is
/// [`Seed::hash16`] of them — what [`Seed::key16`] gives the same lower-cased bytes, which is
/// how every other word is keyed (lower-cased into `buf` first).
#[inline(always)]
pub(super) fn lower_key(t: &Tokens, i: usize, seed: &Seed, buf: &mut String) -> Key16 {
    let (k, bytes) = t.keyed(i, seed);
    let n = bytes.len();
    let (w0, w1) = if n <= 8 {
        if k.word & HIGH != 0 {
            return lower_key_slow(t, i, seed, buf);
        }
        (ascii_lower_word(k.word), 0)
    } else if n <= 16 {
        // Bytes 8..n: the last eight bytes shifted down past the overlap.
        let (w0, w1) = (load8(bytes, 0), load8(bytes, n - 8) >> (8 * (16 - n)));
        if (w0 | w1) & HIGH != 0 {
            return lower_key_slow(t, i, seed, buf);
        }
        (ascii_lower_word(w0), ascii_lower_word(w1))
    } else {
        return lower_key_slow(t, i, seed, buf);
    };
    Key16 {
        hash: seed.hash16(w0, w1, n),
        w0,
        w1,
        len: n as u32,
    }
}

/// [`lower_key`] of a word over 16 bytes or not ASCII.
#[cold]
#[inline(never)]
fn lower_key_slow(t: &Tokens, i: usize, seed: &Seed, buf: &mut String) -> Key16 {
    let word = t.get(i).unwrap_or_default();
    seed.key16(py_lower_in(word, buf).as_bytes())
}

/// `a == b` for the short byte strings words are, without a call: two overlapping loads
/// per side by length class.
#[inline(always)]
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        (Some(a0), Some(b0)) => {
            a0 == b0
                && match (a.last_chunk::<8>(), b.last_chunk::<8>()) {
                    (Some(a1), Some(b1)) if a.len() <= 16 => a1 == b1,
                    _ => a == b,
                }
        }
        _ => match (a.first_chunk::<4>(), b.first_chunk::<4>()) {
            (Some(a0), Some(b0)) => a0 == b0 && a.last_chunk::<4>() == b.last_chunk::<4>(),
            _ => a == b,
        },
    }
}

/// Whether word `a` of `ta` and word `b` of `tb` are equal once lower-cased (Python's
/// `str.lower()`); called only for words over 16 bytes whose keys are equal.
#[cold]
pub(super) fn same_lowered(ta: &Tokens, a: usize, tb: &Tokens, b: usize) -> bool {
    let (x, y) = (ta.get(a).unwrap_or_default(), tb.get(b).unwrap_or_default());
    if x.is_ascii() && y.is_ascii() {
        x.eq_ignore_ascii_case(y)
    } else {
        py_lower(x) == py_lower(y)
    }
}

/// Bytes `at..at + 8` of `b` as a little-endian word (0 if out of range).
#[inline(always)]
fn load8(b: &[u8], at: usize) -> u64 {
    match b.get(at..at + 8) {
        Some(&[a, b, c, d, e, f, g, h]) => u64::from_le_bytes([a, b, c, d, e, f, g, h]),
        _ => 0,
    }
}

/// Stage 1's table for one call: the distinct words of the reference, each with its stack of
/// free reference positions (right-most on top; the stacks are linked through the caller's
/// `next` array). Each slot holds the word's exact [`Key16`] (words of at most 16 bytes — nearly
/// all — compare without touching their bytes), so interning a reference word and pairing a
/// hypothesis word are one probe each, with no separate id array or second pass. Slots are
/// live only while they carry the current call's stamp, so nothing is cleared between calls; the
/// table uses the first `2^k ≥ 2·|reference|` slots (at most half full, probes stay short).
#[derive(Debug, Default)]
pub(super) struct PairTable {
    seed: Seed,
    slots: Vec<PairSlot>,
    mask: usize,
    stamp: u32,
}

#[derive(Debug, Default, Clone, Copy)]
struct PairSlot {
    w0: u64,
    w1: u64,
    /// Key length (saturated), as in [`Key16`].
    len: u32,
    /// The call this slot belongs to (0: never used).
    stamp: u32,
    /// Right-most free reference position holding the word, or [`NONE`].
    head: u32,
    /// First reference position of the word (to compare the bytes of words over 16 bytes).
    first: u32,
}

impl PairTable {
    /// Starts a call whose reference has `n` words.
    pub(super) fn start(&mut self, n: usize) {
        let cap = n.saturating_mul(2).next_power_of_two().max(16);
        if self.slots.len() < cap {
            self.slots.resize(cap, PairSlot::default());
        }
        self.mask = cap - 1;
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // Wrapped: forget every old stamp.
            self.slots.iter_mut().for_each(|s| s.stamp = 0);
            self.stamp = 1;
        }
    }

    /// Hash seed of the keys.
    #[inline(always)]
    pub(super) fn seed(&self) -> &Seed {
        &self.seed
    }

    /// Slot of key `k`, or the free slot where it would go (`Err`). `same(first)` compares the
    /// looked-up word's bytes with those of reference position `first` (called only for
    /// words over 16 bytes whose key matches).
    #[inline(always)]
    fn probe(&self, k: &Key16, same: impl Fn(u32) -> bool) -> Result<usize, usize> {
        let mut i = (k.hash >> 32) as usize & self.mask;
        loop {
            let s = match self.slots.get(i) {
                Some(s) => s,
                None => return Err(i),
            };
            if s.stamp != self.stamp {
                return Err(i);
            }
            if s.w0 == k.w0 && s.w1 == k.w1 && s.len == k.len && (k.len <= 16 || same(s.first)) {
                return Ok(i);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Reference position `j` holds the word of key `k`: pushes `j` onto the word's stack,
    /// whose previous top goes to `next[j]`.
    #[inline(always)]
    pub(super) fn push_ref(
        &mut self,
        k: &Key16,
        j: u32,
        next: &mut [u32],
        same: impl Fn(u32) -> bool,
    ) {
        let prev = match self.probe(k, same) {
            Ok(i) => std::mem::replace(&mut self.slots[i].head, j),
            Err(i) => {
                if let Some(s) = self.slots.get_mut(i) {
                    *s = PairSlot {
                        w0: k.w0,
                        w1: k.w1,
                        len: k.len,
                        stamp: self.stamp,
                        head: j,
                        first: j,
                    };
                }
                NONE
            }
        };
        if let Some(n) = next.get_mut(j as usize) {
            *n = prev;
        }
    }

    /// Pops the right-most free reference position holding the word of key `k`, if any.
    #[inline(always)]
    pub(super) fn pop(
        &mut self,
        k: &Key16,
        next: &[u32],
        same: impl Fn(u32) -> bool,
    ) -> Option<u32> {
        let i = self.probe(k, same).ok()?;
        let slot = &mut self.slots[i];
        let j = slot.head;
        if j == NONE {
            return None;
        }
        slot.head = next.get(j as usize).copied().unwrap_or(NONE);
        Some(j)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_bytes_is_equality() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n).map(|k| b'a' + (k % 26) as u8).collect();
            assert!(same_bytes(&a, &a.clone()));
            let mut longer = a.clone();
            longer.push(b'a');
            assert!(!same_bytes(&a, &longer));
            for k in 0..n {
                let mut c = a.clone();
                c[k] ^= 1;
                assert!(!same_bytes(&a, &c), "{n} {k}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

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
            prop_assert_eq!(lower_key(&t, i, &seed, &mut String::new()), seed.key16(lowered.as_bytes()));
        }
    }

    #[test]
    fn interns_and_grows() {
        let mut t = StrTable::default();
        t.reset(2);
        let words: Vec<String> = (0..1000).map(|i| format!("w{i}")).collect();
        for (i, w) in words.iter().enumerate() {
            assert_eq!(t.intern(w), (i as u32, true));
        }
        for (i, w) in words.iter().enumerate() {
            assert_eq!(t.intern(w), (i as u32, false));
            assert_eq!(t.lookup(w), Some(i as u32));
            assert_eq!(t.get(i as u32), w);
        }
        assert_eq!(t.lookup("nope"), None);
        t.reset(1);
        assert_eq!(t.len(), 0);
        assert_eq!(t.lookup("w1"), None);
        assert_eq!(t.intern(""), (0, true));
    }

    #[test]
    fn memo_keeps_values_through_growth() {
        let mut m = WordMemo::default();
        let words: Vec<String> = (0..5000).map(|i| format!("w{i}x")).collect();
        for (i, w) in words.iter().enumerate() {
            let k = m.key(w.as_bytes());
            assert_eq!(m.get(&k), None);
            m.insert(&k, i as u32);
        }
        assert_eq!(m.len(), 5000);
        for (i, w) in words.iter().enumerate() {
            assert_eq!(m.get(&m.key(w.as_bytes())), Some(i as u32));
        }
        // Equal words of other lengths, a zero byte, the empty word: distinct keys.
        assert_eq!(m.get(&m.key(b"w1")), None);
        assert_eq!(m.get(&m.key(b"w1x\0")), None);
        assert_eq!(m.get(&m.key(b"")), None);
        let k = m.key(b"");
        m.insert(&k, 7);
        assert_eq!(m.get(&k), Some(7));
        m.clear();
        assert_eq!(m.get(&m.key(b"w1x")), None);
    }
}
