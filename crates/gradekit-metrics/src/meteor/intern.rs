//! String → id tables for METEOR.
//!
//! METEOR's alignment compares words for equality only, so each stage maps its strings to
//! small integer ids or slots first (stage 1 on the tokenizer's lists has its own table,
//! `super::exact`). [`StrTable`] interns strings into its own arena (stage 1 on other token lists, and the cross-call word → stem cache for
//! words over 16 bytes); [`WordMemo`] is that cache for the other words. A `std`
//! `HashMap<&str, _>` cannot outlive the call's strings and would be rebuilt (and reallocated)
//! on every call; these tables are kept per thread and serve every call with no allocation
//! once warmed up. Open addressing with linear probing over a power-of-two slot array, at most
//! half full; keys are hashed with `crate::fasthash` seeded randomly per table, so crafted
//! inputs cannot force collisions, and a key of at most 16 bytes is compared by its words and
//! length without reading its bytes.

use crate::fasthash::{Key, Key16, Seed};

/// "No entry" in slots and linked lists.
pub(super) const NONE: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(super) struct StrTable {
    seed: Seed,
    /// `(hash tag << 32) | (id + 1)`, or 0 (empty): a probe compares the tag before it
    /// touches the entry (the cross-call caches grow large, so every extra line read is a
    /// likely cache miss). The tag is the hash's top 32 bits, which also pick the home slot.
    slots: Vec<u64>,
    /// Per id, the key's tag: growing places every id again from these alone (read in
    /// order), without hashing its text.
    tags: Vec<u32>,
    /// Per id, in one place (24 bytes): the key's first-8-byte word, its range in `arena`
    /// and the caller's value. (The hash is not kept: the slot's tag filters, and growing
    /// rehashes the text.)
    entries: Vec<Entry>,
    arena: String,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    word: u64,
    start: usize,
    len: u32,
    /// The caller's value for this key ([`StrTable::set_value`]), kept in the entry the
    /// probe has just read.
    value: u32,
}

#[inline(always)]
fn tag(hash: u64) -> u64 {
    hash >> 32
}

/// The home slot of a key of tag `tag` in a table of `mask + 1` slots.
#[inline(always)]
fn home(tag: u64, mask: usize) -> usize {
    tag as usize & mask
}

impl StrTable {
    /// Empty the table, sized for about `expected` distinct keys.
    pub(super) fn reset(&mut self, expected: usize) {
        let cap = expected.saturating_mul(2).next_power_of_two().max(16);
        self.slots.clear();
        self.slots.resize(cap, 0);
        self.entries.clear();
        self.tags.clear();
        self.arena.clear();
    }

    /// Reserves room for `n` entries, `n * 8` bytes of text and the slots of `n` keys, once
    /// (address space only: pages are touched as the table fills, and growing never copies
    /// them or faults in more than the grown array).
    pub(super) fn reserve_once(&mut self, n: usize) {
        if self.entries.capacity() < n {
            self.entries.reserve_exact(n - self.entries.len());
            self.tags.reserve_exact(n.saturating_sub(self.tags.len()));
            self.arena
                .reserve_exact((n * 8).saturating_sub(self.arena.len()));
            let slots = n.saturating_mul(2).next_power_of_two();
            self.slots
                .reserve_exact(slots.saturating_sub(self.slots.len()));
        }
    }

    /// Bytes of key text held.
    pub(super) fn text_bytes(&self) -> usize {
        self.arena.len()
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The text of an entry (empty if out of range, which no entry is).
    #[inline(always)]
    fn text(&self, e: &Entry) -> &str {
        self.arena
            .get(e.start..e.start + e.len as usize)
            .unwrap_or_default()
    }

    /// The key of `id` (an id this table returned since the last reset; empty otherwise).
    pub(super) fn get(&self, id: u32) -> &str {
        self.entries.get(id as usize).map_or("", |e| self.text(e))
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
        let mut i = home(tag(k.hash), mask);
        let n = key.len();
        loop {
            let s = self.slots[i];
            if s == 0 {
                return Err(i);
            }
            if s >> 32 == tag(k.hash) {
                let id = (s as u32).wrapping_sub(1);
                if let Some(e) = self.entries.get(id as usize) {
                    if e.word == k.word
                        && e.len as usize == n
                        && (n <= 8 || self.text(e).as_bytes() == key.as_bytes())
                    {
                        return Ok(id);
                    }
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
                    word: k.word,
                    start,
                    // Saturated: a key of 4 GiB or more never compares equal to another.
                    len: u32::try_from(key.len()).unwrap_or(u32::MAX),
                    value: NONE,
                });
                self.tags.push(tag(k.hash) as u32);
                self.slots[slot] = (tag(k.hash) << 32) | u64::from(id.wrapping_add(1));
                if self.entries.len() * 2 > self.slots.len() {
                    self.grow();
                }
                (id, true)
            }
        }
    }

    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        // Grown in place (a large array is remapped, not copied, so its pages stay faulted in;
        // only the new half is fresh), then cleared.
        self.slots.clear();
        self.slots.resize(cap, 0);
        let mask = cap - 1;
        for (id, &t) in self.tags.iter().enumerate() {
            let t = u64::from(t);
            let mut i = home(t, mask);
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = (t << 32) | (id as u64 + 1);
        }
    }
}

/// Lower-cased words of at most [`WordMemo::MAX_KEY`] bytes → a value (their stem id) and a
/// second value, kept across calls.
///
/// Layout: the entries (the word's exact key, `Key16`, and the values: 24 bytes) are kept in
/// insertion order in one array, and a hash index of `u32`s (a tag of the hash and the entry's
/// position, at most half full) finds them. A hit reads one index slot (the index is small: 8
/// bytes a word, so it stays in the L2 cache) and one entry. What this is for is a process
/// that meets many new words (one pass of `gradekit score` over distinct pairs): the entries
/// are written in order, so a new word touches the end of the array — not a random line of a
/// table twice the size — and the array's capacity is reserved once (pages are only touched
/// when written): growing rehashes the small index only (in place, within its own reserved
/// room), where a table holding the keys had to be copied into a fresh one twice its size,
/// every page of both faulted in (a page fault costs ~1.2 µs in this VM; the old layout
/// faulted 188 pages for the first 2,000 bench pairs and 381 for 10,000, this one 42 and 114:
/// BENCHMARKS.md, helper `meteor5`).
#[derive(Debug, Default)]
pub(super) struct WordMemo {
    seed: Seed,
    /// `tag << IDX_BITS | (position + 1)`, or 0 (empty).
    index: Vec<u32>,
    entries: Vec<MemoSlot>,
}

#[derive(Debug, Default, Clone, Copy)]
struct MemoSlot {
    w0: u64,
    w1: u64,
    /// `(key length + 1) << 27 | extra`: the caller's second value shares the length's word,
    /// so an entry stays 24 bytes.
    meta: u32,
    value: u32,
}

/// Bits of a [`WordMemo`] entry's second value.
const EXTRA_BITS: u32 = 27;

/// Bits of an index slot holding the entry's position + 1; the rest hold a tag of the hash.
const IDX_BITS: u32 = 20;

/// Entries the memo keeps at most (a cache: beyond this, new words are not kept).
const MAX_ENTRIES: usize = (1 << IDX_BITS) - 2;

/// Entries whose room is reserved at the first insert: the stage's cache limit (one
/// allocation of 1.5 MiB of address space, touched only as it fills).
const RESERVE: usize = 1 << 16;

/// The tag of a hash in an index slot (bits the home slot does not use, for tables of up to
/// 2^32 slots: the home is taken from bits 32.., see [`WordMemo::home`]).
#[inline(always)]
fn memo_tag(hash: u64) -> u32 {
    ((hash as u32) >> IDX_BITS) << IDX_BITS
}

impl WordMemo {
    /// Longest word kept (longer words go through a [`StrTable`]).
    pub(super) const MAX_KEY: usize = 16;

    /// Forgets every word (the reserved room is kept).
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The key of `word` (at most [`Self::MAX_KEY`] bytes).
    #[inline(always)]
    pub(super) fn key(&self, word: &[u8]) -> Key16 {
        self.seed.key16(word)
    }

    /// The seed of the keys: `Seed::key16` of a word with it is the word's key here.
    pub(super) fn seed(&self) -> &Seed {
        &self.seed
    }

    #[inline(always)]
    fn home(&self, hash: u64) -> usize {
        (hash >> 32) as usize & (self.index.len().wrapping_sub(1))
    }

    /// Largest second value an entry keeps.
    pub(super) const MAX_EXTRA: u32 = (1 << EXTRA_BITS) - 1;

    /// The values kept for the word of key `k`: the first, and the second
    /// ([`Self::insert`]).
    #[inline]
    pub(super) fn get(&self, k: &Key16) -> Option<(u32, u32)> {
        if self.index.is_empty() {
            return None;
        }
        let mask = self.index.len() - 1;
        let mut i = self.home(k.hash);
        let tag = memo_tag(k.hash);
        let klen = k.len.wrapping_add(1);
        loop {
            let s = *self.index.get(i)?;
            if s == 0 {
                return None;
            }
            if s & !((1 << IDX_BITS) - 1) == tag {
                let at = (s & ((1 << IDX_BITS) - 1)).wrapping_sub(1);
                let e = self.entries.get(at as usize)?;
                if e.w0 == k.w0 && e.w1 == k.w1 && e.meta >> EXTRA_BITS == klen {
                    return Some((e.value, e.meta & Self::MAX_EXTRA));
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Keeps `value` and `extra` (at most [`Self::MAX_EXTRA`]; larger ones are cut to it) for
    /// the word of key `k`, which must not be kept yet (and must be at most
    /// [`Self::MAX_KEY`] bytes long). Past [`MAX_ENTRIES`] words nothing is kept.
    pub(super) fn insert(&mut self, k: &Key16, value: u32, extra: u32) {
        let n = self.entries.len();
        if n >= MAX_ENTRIES {
            return;
        }
        if self.entries.capacity() == 0 {
            self.entries.reserve_exact(RESERVE);
            self.index
                .reserve_exact((2 * RESERVE).saturating_sub(self.index.len()));
        }
        if (n + 1) * 2 > self.index.len() {
            self.grow();
        }
        self.entries.push(MemoSlot {
            w0: k.w0,
            w1: k.w1,
            meta: (k.len.wrapping_add(1) << EXTRA_BITS) | extra.min(Self::MAX_EXTRA),
            value,
        });
        self.place(k.hash, n);
    }

    /// Enters the entry at `at` (of key hash `hash`) into the index.
    fn place(&mut self, hash: u64, at: usize) {
        let mask = self.index.len() - 1;
        let mut i = self.home(hash);
        while let Some(s) = self.index.get_mut(i) {
            if *s == 0 {
                *s = memo_tag(hash) | (at as u32 + 1);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Doubles the index (at least 1,024 slots) and enters every entry again.
    fn grow(&mut self) {
        let cap = (self.index.len() * 2).max(1024);
        // Grown in place (a large array is remapped, not copied, so its pages stay faulted in;
        // only the new half is fresh), then cleared.
        self.index.clear();
        self.index.resize(cap, 0);
        for at in 0..self.entries.len() {
            let e = self.entries[at];
            let len = (e.meta >> EXTRA_BITS).saturating_sub(1);
            let hash = self.seed.hash16(e.w0, e.w1, len as usize);
            self.place(hash, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            m.insert(&k, i as u32, (i as u32 * 7919) & WordMemo::MAX_EXTRA);
        }
        assert_eq!(m.len(), 5000);
        for (i, w) in words.iter().enumerate() {
            assert_eq!(
                m.get(&m.key(w.as_bytes())),
                Some((i as u32, (i as u32 * 7919) & WordMemo::MAX_EXTRA))
            );
        }
        // Equal words of other lengths, a zero byte, the empty word: distinct keys.
        assert_eq!(m.get(&m.key(b"w1")), None);
        assert_eq!(m.get(&m.key(b"w1x\0")), None);
        assert_eq!(m.get(&m.key(b"")), None);
        let k = m.key(b"");
        m.insert(&k, 7, u32::MAX);
        assert_eq!(m.get(&k), Some((7, WordMemo::MAX_EXTRA)));
        // A 16-byte key, and a second value of 0.
        let k = m.key(b"abcdefghijklmnop");
        m.insert(&k, u32::MAX, 0);
        assert_eq!(m.get(&k), Some((u32::MAX, 0)));
        m.clear();
        assert_eq!(m.get(&m.key(b"w1x")), None);
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn memo_past_its_reserve_and_after_clear() {
        let mut m = WordMemo::default();
        let n = RESERVE + 3000;
        let words: Vec<String> = (0..n).map(|i| format!("{i:x}.")).collect();
        for round in 0..2 {
            for (i, w) in words.iter().enumerate() {
                let k = m.key(w.as_bytes());
                assert_eq!(m.get(&k), None);
                m.insert(&k, (i + round) as u32, i as u32 & 0xff);
            }
            assert_eq!(m.len(), n);
            for (i, w) in words.iter().enumerate().step_by(7) {
                assert_eq!(
                    m.get(&m.key(w.as_bytes())),
                    Some(((i + round) as u32, i as u32 & 0xff))
                );
            }
            assert_eq!(m.get(&m.key(b"not kept")), None);
            m.clear();
        }
    }
}
