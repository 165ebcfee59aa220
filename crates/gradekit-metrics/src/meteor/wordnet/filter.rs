//! The negative filter in front of the compiled-in WordNet key table, shared word for word by
//! the build script (`build/wordnet.rs`, which sets the bits of every key) and the crate (which
//! tests them before probing the table): both compile this file.
//!
//! Why: most look-ups find nothing. METEOR asks WordNet for the Porter stem of every word it
//! has not seen yet ("provid", "valuabl": no lemma) and for morphy's candidate base forms
//! ("runn", "runne"), and on the distinct pairs of a one-pass `gradekit score` about three
//! look-ups in four miss. The slot table is 4 MiB, so a probe of it is a likely cache and TLB
//! miss (and, in a fresh process, a page fault); this filter is 128 KiB, stays in the L2 cache
//! over a run, and answers most misses by itself.
//!
//! A blocked Bloom filter: a key sets three bits (picked by three 6-bit fields of its
//! [`super::hash::hash`]) of one 64-bit word (picked by 14 further bits), so a test reads one
//! word. With ~91,000 keys in 16,384 words about a quarter of the bits are set, and about 2 %
//! of non-keys pass (then the table is probed as before). Keys always pass: a look-up gives
//! exactly what it gave without the filter (the tests probe every key and compare the
//! filtered and unfiltered answers on random words).

/// 64-bit words of the filter (a power of two: 128 KiB).
pub(crate) const FILTER_WORDS: usize = 1 << 14;

/// The word index and bit mask of a key with hash `h`: from bits 18..50 of the hash, above the
/// bits that pick the key's slot in the table (2^18 slots), so keys that share a slot do not
/// share a filter word for that reason.
#[inline(always)]
pub(crate) fn word_and_bits(h: u64) -> (usize, u64) {
    let at = (h >> 18) as usize & (FILTER_WORDS - 1);
    let bits = (1u64 << ((h >> 32) & 63)) | (1u64 << ((h >> 38) & 63)) | (1u64 << ((h >> 44) & 63));
    (at, bits)
}
