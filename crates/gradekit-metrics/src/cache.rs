//! Tokenize each distinct text once: a small per-thread cache of the last few texts a
//! tokenizer saw, keyed by their content.
//!
//! A multi grader that scores bleu, gleu and meteor (or rouge_1 and rouge_l) of the same two
//! texts would otherwise tokenize them once per metric; an input equal to its reference would
//! be tokenized twice; and in RL the G completions of one prompt share one reference. Each
//! tokenizer (NLTK, rouge) keeps [`SLOTS`] recent texts with their tokens, per thread: a text
//! is looked up by length and then bytes (a miss usually costs one length compare per slot; a
//! hit a `memcmp`, far cheaper than tokenizing), filled on a miss by evicting round-robin.
//! Each fill gets a fresh generation number, so a pair of slots identifies a pair of texts
//! exactly ([`PairKey`]): work derived from a pair (interned ids, clipped n-gram counts) can be
//! shared by the metrics of that pair too. Texts longer than [`MAX_TEXT`] are not cached
//! (tokenized into spare buffers), which also bounds the memory held to a few hundred KiB.
//!
//! No key is derived from anything but the full text, so a cache hit can never return the
//! tokens of another text: scores are those of the uncached functions (`tests/cache.rs`).

/// Texts kept per tokenizer and thread: a sample whose graders read up to this many distinct
/// texts tokenizes each once (`tests/cache.rs`).
pub(crate) const SLOTS: usize = 8;

/// Longest text cached, in bytes.
pub(crate) const MAX_TEXT: usize = 1 << 16;

/// Identifies the (input, reference) texts of a pair as filled in the cache; `None` for
/// pairs that bypassed it.
pub(crate) type PairKey = Option<(u64, u64)>;

#[derive(Debug, Default)]
struct Slot<T> {
    text: String,
    value: T,
    /// 0 = empty.
    generation: u64,
}

/// The recent texts of one tokenizer with their tokens `T`.
#[derive(Debug)]
pub(crate) struct TextCache<T> {
    slots: [Slot<T>; SLOTS],
    next: usize,
    generation: u64,
    /// Buffers for texts too long to cache.
    spare: (T, T),
}

impl<T: Default> Default for TextCache<T> {
    fn default() -> Self {
        TextCache {
            slots: Default::default(),
            next: 0,
            generation: 0,
            spare: Default::default(),
        }
    }
}

impl<T: Default> TextCache<T> {
    /// Index of the slot holding `text`, filling one with `fill` on a miss (never slot `keep`).
    fn slot_of(&mut self, text: &str, keep: usize, fill: &impl Fn(&str, &mut T)) -> usize {
        if let Some(i) = self
            .slots
            .iter()
            .position(|s| s.generation != 0 && s.text.len() == text.len() && s.text == text)
        {
            return i;
        }
        let mut i = self.next % SLOTS;
        if i == keep {
            i = (i + 1) % SLOTS;
        }
        self.next = i + 1;
        self.generation += 1;
        let slot = &mut self.slots[i];
        slot.text.clear();
        slot.text.push_str(text);
        fill(text, &mut slot.value);
        slot.generation = self.generation;
        i
    }

    /// Runs `f` with the tokens of `input` and `reference` (each filled by `fill` unless
    /// cached) and the pair's key.
    pub(crate) fn with_pair<R>(
        &mut self,
        input: &str,
        reference: &str,
        fill: impl Fn(&str, &mut T),
        f: impl FnOnce(&T, &T, PairKey) -> R,
    ) -> R {
        if input.len() > MAX_TEXT || reference.len() > MAX_TEXT {
            let (h, r) = &mut self.spare;
            fill(input, h);
            fill(reference, r);
            let r = f(&self.spare.0, &self.spare.1, None);
            // Long texts leave large buffers: drop them rather than keep them per thread.
            self.spare = Default::default();
            return r;
        }
        let i = self.slot_of(input, SLOTS, &fill);
        let j = self.slot_of(reference, i, &fill);
        let (a, b) = (&self.slots[i], &self.slots[j]);
        f(&a.value, &b.value, Some((a.generation, b.generation)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn fills_once_per_distinct_text_and_keys_pairs() {
        let fills = Cell::new(0);
        let fill = |t: &str, v: &mut String| {
            fills.set(fills.get() + 1);
            *v = t.to_uppercase();
        };
        let mut c: TextCache<String> = TextCache::default();
        let k1 = c.with_pair("a", "b", fill, |h, r, k| {
            assert_eq!((h.as_str(), r.as_str()), ("A", "B"));
            k
        });
        let k2 = c.with_pair("a", "b", fill, |_, _, k| k);
        assert_eq!(fills.get(), 2);
        assert_eq!(k1, k2);
        // Same text on both sides: one fill, one slot.
        let k3 = c.with_pair("c", "c", fill, |h, r, k| {
            assert_eq!((h.as_str(), r.as_str()), ("C", "C"));
            k
        });
        assert_eq!(fills.get(), 3);
        assert!(k3.is_some_and(|(x, y)| x == y) && k3 != k1);
        // Evicting: SLOTS new texts push "a" out; its refill gets a new generation.
        for t in ["d", "e", "f", "g", "h", "i", "j", "k"] {
            c.with_pair(t, "c", fill, |_, _, _| ());
        }
        let k4 = c.with_pair("a", "b", fill, |_, _, k| k);
        assert_ne!(k4, k1);
        // Too long to cache: filled every time, no key.
        let long = "x".repeat(MAX_TEXT + 1);
        let before = fills.get();
        assert_eq!(c.with_pair(&long, "b", fill, |_, _, k| k), None);
        assert_eq!(fills.get(), before + 2);
    }
}
