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
    /// [`NONE`] or an id.
    slots: Vec<u32>,
    /// Per id: the key's hash, its first-8-byte word and its range in `arena`.
    hashes: Vec<u64>,
    words: Vec<u64>,
    spans: Vec<(usize, usize)>,
    arena: String,
}

impl StrTable {
    /// Empty the table, sized for about `expected` distinct keys.
    pub(super) fn reset(&mut self, expected: usize) {
        let cap = expected.saturating_mul(2).next_power_of_two().max(16);
        self.slots.clear();
        self.slots.resize(cap, NONE);
        self.hashes.clear();
        self.words.clear();
        self.spans.clear();
        self.arena.clear();
    }

    /// Bytes of key text held.
    pub(super) fn text_bytes(&self) -> usize {
        self.arena.len()
    }

    pub(super) fn len(&self) -> usize {
        self.spans.len()
    }

    /// The key of `id` (an id this table returned since the last reset).
    pub(super) fn get(&self, id: u32) -> &str {
        let (a, b) = self.spans[id as usize];
        &self.arena[a..b]
    }

    #[inline]
    fn key_bytes(&self, id: u32) -> &[u8] {
        let (a, b) = self.spans[id as usize];
        &self.arena.as_bytes()[a..b]
    }

    /// Slot holding `key`, or the empty slot where it would go (`Err`).
    #[inline(always)]
    fn probe(&self, key: &str, k: Key) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let mut i = (k.hash as usize) & mask;
        let n = key.len();
        loop {
            let id = self.slots[i];
            if id == NONE {
                return Err(i);
            }
            let (a, b) = self.spans[id as usize];
            if self.hashes[id as usize] == k.hash
                && self.words[id as usize] == k.word
                && b - a == n
                && (n <= 8 || self.key_bytes(id) == key.as_bytes())
            {
                return Ok(id);
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
                let id = self.spans.len() as u32;
                let start = self.arena.len();
                self.arena.push_str(key);
                self.spans.push((start, self.arena.len()));
                self.hashes.push(k.hash);
                self.words.push(k.word);
                self.slots[slot] = id;
                if self.spans.len() * 2 > self.slots.len() {
                    self.grow();
                }
                (id, true)
            }
        }
    }

    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        self.slots.clear();
        self.slots.resize(cap, NONE);
        let mask = cap - 1;
        for (id, &h) in self.hashes.iter().enumerate() {
            let mut i = (h as usize) & mask;
            while self.slots[i] != NONE {
                i = (i + 1) & mask;
            }
            self.slots[i] = id as u32;
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
