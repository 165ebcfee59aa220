//! WordNet 3.0 synonym lookup, as METEOR's third stage asks NLTK for it.
//!
//! NLTK computes, for a word `w`, the names without `_` of every synset of
//! `wordnet.synsets(w)`: for each part of speech (noun, verb, adjective, adverb) `morphy` yields
//! the base forms of `w` — `w` itself and either its exception-list bases or the results of the
//! part of speech's suffix rules (applied once, not recursively) — that the lemma index knows
//! for that part of speech, and every synset of those (form, pos) index entries is taken.
//!
//! The data are generated from NLTK's own reader by `scripts/gen_wordnet.py` into
//! `data/wordnet/` (~2 MB of text, WordNet licence beside them); they keep only what can
//! change a METEOR score: names that are all lower-case (the word they are compared with is
//! always lower-cased) and index entries that lead to at least one such name. In the text,
//! word sets are shared between synsets and parts of speech; the compiled tables flatten them.
//!
//! Nothing is parsed at run time: the build script (`build/wordnet.rs`) turns the text into
//! flat little-endian arrays that are compiled in as bytes, so the first look-up of a process
//! costs only the few pages it touches (parsing the text took ~20 ms, most of a small
//! `gradekit score` run). Layout, by key id `k` (lemmas and exception forms; ids
//! `0..LEMMA_FORMS` are exception forms that are lemmas, `LEMMA_FORMS..EXC_KEYS` exception
//! forms that are not, the rest lemmas):
//!
//! * `KEY_TEXT[KEY_END[k]..KEY_END[k + 1]]` — the key's text;
//! * `SLOTS` — open addressing, linear probing, at most 40 % full, 16-byte slots: the key's
//!   first 8 bytes (zero-padded) and `tag << 62 | run << 43 | len << 37 | k << 20 | offset`
//!   (0 = empty), home slot and tag from `hash::hash` (a fixed hash the build script compiles
//!   too; the tag is its top 2 bits: the first 8 bytes and the length are compared anyway),
//!   `offset` = `KEY_END[k]`, `run` = `SYN_START[4k]`. A look-up of a word of at most 8 bytes
//!   reads one slot (nearly always one cache line: a process that meets new words pays one
//!   cache miss per look-up, where key id → text offset → text were three), a longer word
//!   compares the rest of its text at `offset`. A probe stops after `PROBE_LIMIT` slots, the
//!   longest run measured;
//! * `FILTER` — a blocked Bloom filter of the keys (`wordnet/filter.rs`), tested before the
//!   slots: most look-ups are of words that are no key, and it answers nearly all of those
//!   from 128 KiB instead of a probe of the 4 MiB slot table;
//! * `SYN[SYN_START[4k + p]..SYN_START[4k + p + 1]]` — the word ids of the lemma's synsets for
//!   part of speech `p`, in NLTK's order (the build script follows each reference — the lemma's
//!   own singleton or a shared set — and flattens them: a look-up reads one run instead of a
//!   reference list and one set per reference, each a likely cache miss on new words). The
//!   last id of a lemma's whole run (its four parts of speech) has bit 31 set ([`RUN_END`]):
//!   a look-up that found the key reads the run from the slot's `run` on, without waiting for
//!   a `SYN_START` line first;
//! * for `k < EXC_KEYS`: bit `p` of `EXC_MASK[k]` says whether the form has an exception entry
//!   for part of speech `p` (which stops the suffix rules even when it lists no base), and
//!   `EXC_BASES[EXC_START[4k + p]..EXC_START[4k + p + 1]]` are its bases.
//!
//! The text parser is kept as the test oracle (`parsed.rs`): the tests compare both on every
//! lemma, every exception form and morphy-shaped and random words.

pub(crate) mod filter;
pub(crate) mod hash;
#[cfg(test)]
mod parsed;

use super::porter::py_lower;

#[allow(clippy::unreadable_literal)]
mod tables {
    include!(concat!(env!("OUT_DIR"), "/wordnet_tables.rs"));
}

/// `WordNetCorpusReader.MORPHOLOGICAL_SUBSTITUTIONS` (adjective satellites share the adjective
/// rules; NLTK's `synsets` never asks for them separately), in NLTK's `POS_LIST` order
/// (noun, verb, adjective, adverb).
pub(super) const SUBSTITUTIONS: [&[(&str, &str)]; 4] = [
    &[
        ("s", ""),
        ("ses", "s"),
        ("ves", "f"),
        ("xes", "x"),
        ("zes", "z"),
        ("ches", "ch"),
        ("shes", "sh"),
        ("men", "man"),
        ("ies", "y"),
    ],
    &[
        ("s", ""),
        ("ies", "y"),
        ("es", "e"),
        ("es", ""),
        ("ed", "e"),
        ("ed", ""),
        ("ing", "e"),
        ("ing", ""),
    ],
    &[("er", ""), ("est", ""), ("er", "e"), ("est", "e")],
    &[],
];

// The probe bound the build measured stays short (the table is at most 40 % full).
const _: () = assert!(tables::PROBE_LIMIT < 64);

/// A slot's meta word (see the module docs): fields below the tag, and their shifts.
const TAG_SHIFT: u32 = 62;
const RUN_SHIFT: u32 = 43;
const LEN_SHIFT: u32 = 37;
const ID_SHIFT: u32 = 20;
/// The bits of a slot's meta word a probe compares: the tag and the length.
const MATCH_BITS: u64 =
    (u64::MAX << TAG_SHIFT) | (((1 << (RUN_SHIFT - LEN_SHIFT)) - 1) << LEN_SHIFT);
/// The mark of the last id of a lemma's synonym run in `SYN` (ids are below 2^17).
const RUN_END: u32 = 1 << 31;
/// Keys are 1..64 bytes long (the build script checks), so an empty slot's meta is 0.
const MAX_KEY_LEN: usize = 63;

/// Little-endian `u32`s compiled in as bytes (read with bounds checks; a read past the end
/// gives 0, which the generated tables never need).
#[derive(Clone, Copy)]
struct U32s(&'static [u8]);

impl U32s {
    #[inline(always)]
    fn at(self, i: usize) -> u32 {
        match self.0.get(i * 4..i * 4 + 4) {
            Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
            _ => 0,
        }
    }

    /// Elements `a..b` (empty if out of range).
    #[inline(always)]
    fn range(self, a: u32, b: u32) -> impl Iterator<Item = u32> {
        self.0
            .get(a as usize * 4..b as usize * 4)
            .unwrap_or_default()
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// Asks the CPU to start loading the cache line of `bytes[at]` (nothing if `at` is out of
/// range). A hint only: it changes no value and cannot fault.
#[inline(always)]
fn prefetch(bytes: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(b) = bytes.get(at) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        #[allow(unsafe_code)]
        // SAFETY: a prefetch reads nothing into the program and never faults (a line that
        // is not mapped is dropped); the pointer is that of a byte of a live slice anyway.
        // `unsafe` is only how Rust calls an SSE `#[target_feature]` intrinsic (every x86_64
        // CPU has SSE) from code that does not name the feature.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(b).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, at);
}

/// The compiled-in WordNet tables (see the module docs for the layout).
pub struct WordNet {
    key_text: &'static str,
    key_end: U32s,
    slots: &'static [u8],
    filter: &'static [u8],
    syn_start: U32s,
    syn: U32s,
    exc_start: U32s,
    exc_mask: &'static [u8],
    exc_bases: U32s,
}

impl std::fmt::Debug for WordNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordNet")
            .field("keys", &tables::N_KEYS)
            .field("slots", &(tables::SLOT_MASK + 1))
            .finish_non_exhaustive()
    }
}

static WN: WordNet = WordNet {
    key_text: tables::KEY_TEXT,
    key_end: U32s(tables::KEY_END),
    slots: tables::SLOTS,
    filter: tables::FILTER,
    syn_start: U32s(tables::SYN_START),
    syn: U32s(tables::SYN),
    exc_start: U32s(tables::EXC_START),
    exc_mask: tables::EXC_MASK,
    exc_bases: U32s(tables::EXC_BASES),
};

impl WordNet {
    /// The tables (compiled in: nothing to load).
    pub fn get() -> &'static WordNet {
        &WN
    }

    /// Every table, most read first (the filter, then the slots and the synonym runs), for
    /// [`crate::warm`], which maps them ahead on an idle thread.
    pub(crate) fn tables(&self) -> [&'static [u8]; 9] {
        [
            self.filter,
            self.slots,
            self.syn.0,
            self.syn_start.0,
            self.key_text.as_bytes(),
            self.key_end.0,
            self.exc_start.0,
            self.exc_bases.0,
            self.exc_mask,
        ]
    }

    /// Number of ids (lemmas and exception forms; [`Self::id`] gives lemmas only).
    pub fn len(&self) -> usize {
        tables::N_KEYS as usize
    }

    /// Whether the table is empty (never, with the committed data).
    pub fn is_empty(&self) -> bool {
        tables::N_KEYS == 0
    }

    /// Slot `i`: the key's first 8 bytes and its meta word (`(0, 0)`, empty, if out of range).
    #[inline(always)]
    fn slot(&self, i: usize) -> (u64, u64) {
        match self
            .slots
            .get(i * 16..i * 16 + 16)
            .map(<[u8]>::first_chunk::<16>)
        {
            Some(Some(b)) => {
                let v = u128::from_le_bytes(*b);
                (v as u64, (v >> 64) as u64)
            }
            _ => (0, 0),
        }
    }

    /// The text of key `k` (empty if out of range).
    #[inline(always)]
    fn key_str(&self, k: u32) -> &'static str {
        let (a, b) = (self.key_end.at(k as usize), self.key_end.at(k as usize + 1));
        self.key_text
            .get(a as usize..b as usize)
            .unwrap_or_default()
    }

    /// Whether the key table may hold a key of hash `h` ([`filter`]: `false` means it does
    /// not).
    #[inline(always)]
    fn may_hold(&self, h: u64) -> bool {
        let (at, bits) = filter::word_and_bits(h);
        let word = match self
            .filter
            .get(at * 8..at * 8 + 8)
            .map(<[u8]>::first_chunk::<8>)
        {
            Some(Some(b)) => u64::from_le_bytes(*b),
            // Out of range (never, with the generated table): probe the table.
            _ => u64::MAX,
        };
        word & bits == bits
    }

    /// The key id of a lemma or exception form.
    #[inline]
    fn key(&self, word: &str) -> Option<u32> {
        self.key_run(word).map(|(k, _)| k)
    }

    /// The key id of a lemma or exception form, and where its synonym run starts in `SYN`
    /// (`SYN_START[4k]`, held by its slot).
    #[inline]
    fn key_run(&self, word: &str) -> Option<(u32, u32)> {
        let b = word.as_bytes();
        if b.is_empty() || b.len() > MAX_KEY_LEN {
            return None;
        }
        let h = hash::hash(b);
        // The home slot's line is fetched while the filter is read (a key's look-up then
        // waits for one miss, not a filter miss and then a slot miss).
        self.prefetch_slot(h);
        if !self.may_hold(h) {
            return None;
        }
        self.probe(b, h)
    }

    /// Starts loading the home slot of a key of hash `h` ([`prefetch`]).
    #[inline(always)]
    fn prefetch_slot(&self, h: u64) {
        prefetch(self.slots, (h as usize & tables::SLOT_MASK) * 16);
    }

    /// [`Self::key_run`] of the bytes `b` (1..=[`MAX_KEY_LEN`] of them) with hash `h`, from
    /// the slot table alone (without the filter).
    #[inline(always)]
    fn probe(&self, b: &[u8], h: u64) -> Option<(u32, u32)> {
        let want = (h >> TAG_SHIFT << TAG_SHIFT) | ((b.len() as u64) << LEN_SHIFT);
        let mut head = [0u8; 8];
        let n = b.len().min(8);
        head[..n].copy_from_slice(&b[..n]);
        let head = u64::from_le_bytes(head);
        let mut i = h as usize & tables::SLOT_MASK;
        for _ in 0..tables::PROBE_LIMIT {
            let (w, meta) = self.slot(i);
            if meta == 0 {
                return None;
            }
            // The tag and the length (not the run start between them).
            if w == head && meta & MATCH_BITS == want {
                let off = (meta & ((1 << ID_SHIFT) - 1)) as usize;
                let rest = self.key_text.as_bytes().get(off + n..off + b.len());
                if b.len() <= 8 || rest == b.get(8..) {
                    let k = (meta >> ID_SHIFT) & ((1 << (LEN_SHIFT - ID_SHIFT)) - 1);
                    let run = (meta >> RUN_SHIFT) & ((1 << (TAG_SHIFT - RUN_SHIFT)) - 1);
                    return Some((k as u32, run as u32));
                }
            }
            i = (i + 1) & tables::SLOT_MASK;
        }
        None
    }

    #[inline(always)]
    fn is_lemma(k: u32) -> bool {
        !(tables::LEMMA_FORMS..tables::EXC_KEYS).contains(&k)
    }

    /// Starts loading the lines a look-up of `word` ([`Self::id`],
    /// [`Self::synonym_ids_into`]) reads first: its filter word and its home slot. A hint
    /// only ([`prefetch`]): stage 3 calls it for the hypothesis stems whose synonyms a call
    /// will compute, before computing them, so their cache misses overlap instead of following
    /// one another. (Not free on this VM: a prefetch whose page is not in the TLB waits for
    /// the page walk, so the hints are given only for lines the call will read.)
    #[inline]
    pub(crate) fn prefetch_key(&self, word: &str) {
        if let Some(h) = Self::hash_of(word) {
            prefetch(self.filter, filter::word_and_bits(h).0 * 8);
            self.prefetch_slot(h);
        }
    }

    /// Starts loading the filter word [`Self::may_be_key`] tests for `word` ([`prefetch`]).
    #[inline]
    pub(crate) fn prefetch_filter(&self, word: &str) {
        if let Some(h) = Self::hash_of(word) {
            prefetch(self.filter, filter::word_and_bits(h).0 * 8);
        }
    }

    /// The table's hash of a word that can be a key (1..=[`MAX_KEY_LEN`] bytes).
    #[inline(always)]
    fn hash_of(word: &str) -> Option<u64> {
        let b = word.as_bytes();
        (!b.is_empty() && b.len() <= MAX_KEY_LEN).then(|| hash::hash(b))
    }

    /// Starts loading the line of lemma `id`'s synset-run starts ([`Self::synonym_ids_of`]
    /// reads it first when given the lemma). A hint only ([`prefetch`]).
    #[inline]
    pub(crate) fn prefetch_sets(&self, id: u32) {
        prefetch(self.syn_start.0, id as usize * 16);
    }

    /// Starts loading the first line of the synonym run that starts at `start`
    /// ([`Self::lemma_run`]; [`Self::synonym_ids_of`] reads it first when given it). A hint
    /// only ([`prefetch`]).
    #[inline]
    pub(crate) fn prefetch_run(&self, start: u32) {
        prefetch(self.syn.0, start as usize * 4);
    }

    /// Whether `word` may be a key (lemma or exception form): `false` means it is none, as
    /// [`Self::id`] would find, from the negative filter alone (no slot is read). When it may
    /// be, the home slot a look-up of `word` probes is started loading ([`prefetch`], a hint):
    /// stage 3 probes it later in the call if a hypothesis stem with synonyms reaches the
    /// word, and a slot of the 4 MiB table is a likely miss in a run over new text. (Only
    /// then: most words the filter rejects, and a prefetch costs a page walk here.)
    #[inline]
    pub(crate) fn may_be_key(&self, word: &str) -> bool {
        let Some(h) = Self::hash_of(word) else {
            return false;
        };
        let maybe = self.may_hold(h);
        if maybe {
            self.prefetch_slot(h);
        }
        maybe
    }

    /// The id of a lemma, if it has any synonym.
    #[inline]
    pub fn id(&self, word: &str) -> Option<u32> {
        self.key(word).filter(|&k| Self::is_lemma(k))
    }

    /// The id of a lemma (as [`Self::id`]) and where its synonym run starts, for
    /// [`Self::synonym_ids_of`].
    #[inline]
    pub(crate) fn lemma_run(&self, word: &str) -> Option<(u32, u32)> {
        self.key_run(word).filter(|&(k, _)| Self::is_lemma(k))
    }

    /// The lemma of an id.
    pub fn word(&self, id: u32) -> Option<&'static str> {
        (id < tables::N_KEYS).then(|| self.key_str(id))
    }

    /// Push the word ids of every lower-case, `_`-free synset name of `wordnet.synsets(word)`
    /// onto `out` (not deduplicated, and not in NLTK's order: the word's own synsets of every
    /// part of speech come first; `scratch` is a reusable buffer for morphy's candidates).
    /// `word` must already be lower-case, as NLTK lower-cases it first.
    pub(crate) fn synonym_ids_into(&self, word: &str, out: &mut Vec<u32>, scratch: &mut String) {
        self.synonym_ids_of(word, None, out, scratch);
    }

    /// [`Self::synonym_ids_into`] where `lemma`, if given, is `self.id(word)` (known to the
    /// caller: the key is not looked up again), with the start of its synonym run if that is
    /// known too ([`Self::lemma_run`]). Returns the word's lemma id (`self.id(word)`), looked
    /// up or given.
    pub(crate) fn synonym_ids_of(
        &self,
        word: &str,
        lemma: Option<(u32, Option<u32>)>,
        out: &mut Vec<u32>,
        scratch: &mut String,
    ) -> Option<u32> {
        // A key looked up here comes with its run's start (from its slot); a lemma given
        // without it reads it from `SYN_START` (which `prefetch_sets` starts loading).
        let (key, run) = match lemma {
            Some((id, run)) => (Some(id), run),
            None => self.key_run(word).unzip(),
        };
        let lemma = key.filter(|&k| Self::is_lemma(k));
        if let Some(id) = lemma {
            // Its synsets of every part of speech, one run (the order of `out` is free).
            let start = run.unwrap_or_else(|| self.syn_start.at(id as usize * 4));
            self.push_run(start, out);
        }
        let exc = key
            .filter(|&k| k < tables::EXC_KEYS)
            .map_or(0, |k| self.exc_mask.get(k as usize).copied().unwrap_or(0));
        for (p, rules) in SUBSTITUTIONS.iter().enumerate() {
            if exc & (1 << p) != 0 {
                let at = key.unwrap_or_default() as usize * 4 + p;
                let (a, b) = (self.exc_start.at(at), self.exc_start.at(at + 1));
                for id in self.exc_bases.range(a, b) {
                    self.push_sets(id, p, out);
                }
                continue;
            }
            for &(old, new) in *rules {
                // Most words end with none of a rule list's suffixes: compare the last byte
                // before the whole suffix (`strip_suffix` is a `memcmp` call per rule).
                if word.as_bytes().last() != old.as_bytes().last() {
                    continue;
                }
                if let Some(stem) = word.strip_suffix(old) {
                    scratch.clear();
                    scratch.push_str(stem);
                    scratch.push_str(new);
                    if let Some(id) = self.id(scratch) {
                        self.push_sets(id, p, out);
                    }
                }
            }
        }
        lemma
    }

    /// Pushes the ids of lemma `id`'s synsets of part of speech `p`.
    #[inline]
    fn push_sets(&self, id: u32, p: usize, out: &mut Vec<u32>) {
        let at = id as usize * 4 + p;
        let (a, b) = (self.syn_start.at(at), self.syn_start.at(at + 1));
        out.extend(self.syn.range(a, b).map(|v| v & !RUN_END));
    }

    /// Pushes the ids of a lemma's whole synonym run, which starts at `start` in `SYN` and
    /// ends with the id marked [`RUN_END`] (or at the table's end: never, with the built
    /// tables).
    #[inline]
    fn push_run(&self, start: u32, out: &mut Vec<u32>) {
        let run = self.syn.0.get(start as usize * 4..).unwrap_or_default();
        let n = run
            .chunks_exact(4)
            .position(|c| c[3] & 0x80 != 0)
            .map_or(run.len() / 4, |i| i + 1);
        // Then copied as one range (a few ids, in the L1 cache by now).
        out.extend(
            self.syn
                .range(start, start.saturating_add(n as u32))
                .map(|v| v & !RUN_END),
        );
    }

    /// The synonyms METEOR accepts for `word`: the sorted, distinct names without `_` of all
    /// synsets of `wordnet.synsets(word)` that could equal a lower-cased word (NLTK lower-cases
    /// `word` first; METEOR also accepts the word itself, which is not added here).
    ///
    /// ```
    /// use gradekit_metrics::meteor::wordnet::WordNet;
    /// let syn = WordNet::get().synonyms("ran");
    /// assert!(syn.contains(&"run") && syn.contains(&"scarper"));
    /// ```
    pub fn synonyms(&self, word: &str) -> Vec<&'static str> {
        let word = py_lower(word);
        let mut ids = Vec::new();
        self.synonym_ids_into(&word, &mut ids, &mut String::new());
        let mut out: Vec<&'static str> = ids.iter().filter_map(|&i| self.word(i)).collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests;
