//! A reusable string → id table for one METEOR call.
//!
//! METEOR's alignment compares words for equality only, so each stage maps its strings to
//! small integer ids first. A `std` `HashMap<&str, _>` cannot outlive the call's strings and would
//! be rebuilt (and reallocated) on every call; this table copies its keys into its own arena
//! instead, so one table per thread serves every call with no allocation once warmed up.
//! Open addressing with linear probing over a power-of-two slot array, at most half full; keys
//! are hashed with `crate::fasthash` seeded randomly per table, so crafted inputs cannot force
//! collisions, and a key of at most 8 bytes is compared by its word and length (kept per id)
//! without reading the arena.

use crate::fasthash::{Key, Seed};

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
}
