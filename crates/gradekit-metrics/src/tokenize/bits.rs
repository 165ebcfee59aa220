//! Byte-class bitmaps of an ASCII text: bit `i % 64` of word `i / 64` says whether byte `i` is
//! Python's ASCII `\w` (`[0-9A-Za-z_]`), a second bitmap whether it is a space (`' '`), a third
//! whether it is one of `c g l w` in either case (the initials of the CONTRACTIONS2 words).
//! Built once per text, 16 bytes per step with SSE2 on x86_64 (one load, an OR that folds ASCII
//! case, two biased signed compares for `[a-z]` and `[0-9]`, compares for `_`, the space and
//! the four initials, three `pmovmskb`), about 1.5 instructions per byte; the fused scan (`fused.rs`) then
//! reads runs of "word, space, word" from 64-bit windows of the two maps — a token's start and
//! end are bit positions found with `tzcnt` — instead of classifying bytes again per token.
//!
//! Every x86_64 CPU has SSE2 and the x86_64 targets enable it at compile time; the intrinsics
//! are safe calls inside a `#[target_feature(enable = "sse2")]` function, and the one `unsafe`
//! block is the call into that function (Rust asks for it whenever the caller does not name the
//! feature itself). Vectors are built from two `u64` words (`_mm_set_epi64x`, which the
//! compiler merges into one unaligned load), so no raw pointer is involved. Other targets build
//! the maps byte by byte ([`build_portable`], also the oracle of the tests).

/// The two bitmaps of one text, with one zero word past its end (so a 64-bit window may read
/// one word beyond the last byte's).
#[derive(Debug, Default)]
pub(crate) struct ByteBits {
    /// `\w` bytes.
    pub(crate) word: Vec<u64>,
    /// Space bytes (`' '` only; the other whitespace takes the scan's byte-by-byte arms).
    pub(crate) space: Vec<u64>,
    /// Commas.
    pub(crate) comma: Vec<u64>,
    /// `c g l w C G L W`: where a CONTRACTIONS2 word (`cannot`, `gimme`, `gonna`, `gotta`,
    /// `lemme`, `wanna`) may start.
    pub(crate) initial: Vec<u64>,
}

impl ByteBits {
    /// The maps of `text` (previous contents replaced).
    pub(crate) fn build(&mut self, text: &[u8]) {
        self.word.clear();
        self.space.clear();
        self.initial.clear();
        self.comma.clear();
        let words = text.len() / 64 + 2;
        self.comma.reserve(words);
        self.word.reserve(words);
        self.space.reserve(words);
        self.initial.reserve(words);
        #[cfg(target_arch = "x86_64")]
        {
            #[allow(unsafe_code)]
            // SAFETY: the function only needs SSE2, which every x86_64 CPU has (the x86_64
            // targets enable it at compile time); `unsafe` is only how Rust calls a
            // `#[target_feature]` function from code that does not itself name the feature.
            unsafe {
                sse2::build(text, self);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        build_portable(text, self);
        self.word.push(0);
        self.space.push(0);
        self.initial.push(0);
        self.comma.push(0);
    }
}

/// Whether `b` is one of the CONTRACTIONS2 initials `c g l w` (either case).
#[inline(always)]
fn is_initial(b: u8) -> bool {
    matches!(b | 0x20, b'c' | b'g' | b'l' | b'w')
}

/// Whether `b` is Python's ASCII `\w`.
#[inline(always)]
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// [`ByteBits::build`] without the final zero words, one byte at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) fn build_portable(text: &[u8], bits: &mut ByteBits) {
    for block in text.chunks(64) {
        let (mut w, mut s, mut c, mut m) = (0u64, 0u64, 0u64, 0u64);
        for (k, &b) in block.iter().enumerate() {
            w |= u64::from(is_word(b)) << k;
            s |= u64::from(b == b' ') << k;
            c |= u64::from(is_initial(b)) << k;
            m |= u64::from(b == b',') << k;
        }
        bits.word.push(w);
        bits.space.push(s);
        bits.initial.push(c);
        bits.comma.push(m);
    }
}

/// The 64 bits of `map` from bit `at` on (bit `k` of the result is bit `at + k` of the map);
/// bits past the map's end read as zero.
#[inline(always)]
pub(crate) fn window(map: &[u64], at: usize) -> u64 {
    let (k, o) = (at / 64, (at % 64) as u32);
    let lo = map.get(k).copied().unwrap_or(0) >> o;
    // `<< 1 << (63 − o)`: no shift by 64 when `o` is 0.
    let hi = (map.get(k + 1).copied().unwrap_or(0) << 1) << (63 - o);
    lo | hi
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use super::ByteBits;
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_set_epi64x,
    };

    /// Biased bounds of the signed range test: `b` in `lo..=hi` (both < 0x80) ⟺ `b + (0x80 −
    /// lo)` (wrapping) read as i8 is below `−0x80 + (hi − lo + 1)`.
    const fn bias(lo: u8) -> i8 {
        0x80u8.wrapping_sub(lo) as i8
    }
    const fn limit(lo: u8, hi: u8) -> i8 {
        (0x80u8 + (hi - lo + 1)) as i8
    }

    /// The sixteen bytes of `c` as a vector (two word loads the compiler merges into one).
    #[target_feature(enable = "sse2")]
    #[inline]
    fn load(c: &[u8; 16]) -> __m128i {
        let (halves, _) = c.as_chunks::<8>();
        let lo = u64::from_le_bytes(halves[0]);
        let hi = u64::from_le_bytes(halves[1]);
        _mm_set_epi64x(hi as i64, lo as i64)
    }

    /// The word, space, initial and comma bits of a 64-byte block.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn block64(block: &[u8; 64]) -> [u64; 4] {
        let (alpha_bias, alpha_limit) =
            (_mm_set1_epi8(bias(b'a')), _mm_set1_epi8(limit(b'a', b'z')));
        let (digit_bias, digit_limit) =
            (_mm_set1_epi8(bias(b'0')), _mm_set1_epi8(limit(b'0', b'9')));
        let fold = _mm_set1_epi8(0x20);
        let under = _mm_set1_epi8(b'_' as i8);
        let space = _mm_set1_epi8(b' ' as i8);
        let comma = _mm_set1_epi8(b',' as i8);
        let (chunks, _) = block.as_chunks::<16>();
        let initials = [b'c', b'g', b'l', b'w'].map(|c| _mm_set1_epi8(c as i8));
        let (mut w, mut s, mut i, mut m) = (0u64, 0u64, 0u64, 0u64);
        for (k, c) in chunks.iter().enumerate() {
            let x = load(c);
            let folded = _mm_or_si128(x, fold);
            let alpha = _mm_cmplt_epi8(_mm_add_epi8(folded, alpha_bias), alpha_limit);
            let digit = _mm_cmplt_epi8(_mm_add_epi8(x, digit_bias), digit_limit);
            let word = _mm_or_si128(_mm_or_si128(alpha, digit), _mm_cmpeq_epi8(x, under));
            w |= u64::from(_mm_movemask_epi8(word) as u16) << (16 * k);
            s |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(x, space)) as u16) << (16 * k);
            let cg = _mm_or_si128(
                _mm_cmpeq_epi8(folded, initials[0]),
                _mm_cmpeq_epi8(folded, initials[1]),
            );
            let lw = _mm_or_si128(
                _mm_cmpeq_epi8(folded, initials[2]),
                _mm_cmpeq_epi8(folded, initials[3]),
            );
            i |= u64::from(_mm_movemask_epi8(_mm_or_si128(cg, lw)) as u16) << (16 * k);
            m |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(x, comma)) as u16) << (16 * k);
        }
        [w, s, i, m]
    }

    /// [`ByteBits::build`] with SSE2, without the final zero words.
    #[target_feature(enable = "sse2")]
    pub(super) fn build(text: &[u8], bits: &mut ByteBits) {
        let (blocks, rest) = text.as_chunks::<64>();
        for block in blocks {
            push(bits, block64(block));
        }
        if !rest.is_empty() {
            // Zero padding: neither `\w` nor a space.
            let mut block = [0u8; 64];
            block[..rest.len()].copy_from_slice(rest);
            push(bits, block64(&block));
        }
    }

    #[inline(always)]
    fn push(bits: &mut ByteBits, [w, s, i, m]: [u64; 4]) {
        bits.word.push(w);
        bits.space.push(s);
        bits.initial.push(i);
        bits.comma.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_agree_with_the_byte_classes() {
        // Every byte value at every position of a block, texts of every length to 200.
        let all: Vec<u8> = (0u8..=255).collect();
        for len in 0..200 {
            for shift in [0usize, 1, 37, 63, 64, 100] {
                let text: Vec<u8> = (0..len).map(|i| all[(i * 7 + shift) % 256]).collect();
                let mut bits = ByteBits::default();
                bits.build(&text);
                let mut want = ByteBits::default();
                build_portable(&text, &mut want);
                want.word.push(0);
                want.space.push(0);
                want.initial.push(0);
                want.comma.push(0);
                assert_eq!(bits.comma, want.comma, "len {len} shift {shift}");
                assert_eq!(bits.word, want.word, "len {len} shift {shift}");
                assert_eq!(bits.space, want.space, "len {len} shift {shift}");
                assert_eq!(bits.initial, want.initial, "len {len} shift {shift}");
                for (i, &b) in text.iter().enumerate() {
                    assert_eq!(window(&bits.word, i) & 1 == 1, is_word(b), "{i}");
                    assert_eq!(window(&bits.space, i) & 1 == 1, b == b' ', "{i}");
                    let initial = b"cglwCGLW".contains(&b);
                    assert_eq!(window(&bits.initial, i) & 1 == 1, initial, "{i}");
                }
            }
        }
    }

    #[test]
    fn windows_read_any_offset() {
        let map = [0x8000_0000_0000_0001u64, 0xdead_beef_0123_4567, 0x5, 0];
        for at in 0..256 {
            let want = (0..64).fold(0u64, |w, k| {
                let i = at + k;
                let bit = map.get(i / 64).map_or(0, |m| (m >> (i % 64)) & 1);
                w | (bit << k)
            });
            assert_eq!(window(&map, at), want, "{at}");
        }
    }
}
