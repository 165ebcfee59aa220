//! Byte-class bitmaps of an ASCII text, one `u64` per class and 64-byte block (bit `k` of a
//! block's word: byte `64·block + k` is in the class): Python's ASCII `\w` (`[0-9A-Za-z_]`),
//! the space `' '`, the comma and colon, Punkt's sentence-end marks `.?!`, `c g l w` in either
//! case (the initials of the CONTRACTIONS2 words), the hyphen, and `( ) * ; ? !`. Built once per text, 32 bytes per step with AVX2
//! (16 with SSE2 where AVX2 is missing) on x86_64: one load, an OR that folds ASCII case, two
//! biased signed compares for `[a-z]` and `[0-9]`, equality compares for the rest, five
//! `pmovmskb` — about 1.2 instructions per byte with AVX2, 4 with SSE2 (callgrind).
//! `masks.rs` derives the token maps from them block by block (Punkt's candidate marks, the
//! fused scan's runs: a token's start and end are bit positions found with `tzcnt`) and keeps
//! only those.
//!
//! Every x86_64 CPU has SSE2 and the x86_64 targets enable it at compile time; AVX2 is detected
//! at run time (`is_x86_feature_detected!`, cached by std). The intrinsics are safe calls
//! inside `#[target_feature]` functions, and the `unsafe` blocks are the calls into those
//! functions (Rust asks for it whenever the caller does not name the feature itself), each once
//! the feature is known present. Vectors are built from two `u64` words (`_mm_set_epi64x`, which the
//! compiler merges into one unaligned load), so no raw pointer is involved. Other targets build
//! the maps byte by byte ([`class_bits`], also the oracle of the tests).

/// Index of a class in a block's words.
pub(crate) const WORD: usize = 0;
pub(crate) const SPACE: usize = 1;
pub(crate) const COMMA: usize = 2;
pub(crate) const INITIAL: usize = 3;
pub(crate) const MARK: usize = 4;
pub(crate) const DASH: usize = 5;
pub(crate) const SPLIT: usize = 6;

/// Number of classes.
pub(crate) const CLASSES: usize = 7;

/// The class words of one 64-byte block.
pub(crate) type Block = [u64; CLASSES];

/// The maps of one text: one [`Block`] per 64 bytes, then one zero block (so a 64-bit window
/// may read one block beyond the last byte's).
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct ByteBits {
    blocks: Vec<Block>,
}

#[cfg(test)]
impl ByteBits {
    /// The maps of `text` (previous contents replaced).
    pub(crate) fn build(&mut self, text: &[u8]) {
        self.blocks.clear();
        self.blocks.reserve(text.len() / 64 + 2);
        let avx2 = has_avx2();
        let (chunks, rest) = text.as_chunks::<64>();
        for chunk in chunks {
            self.blocks.push(block64(chunk, avx2));
        }
        if !rest.is_empty() {
            let block = match text.last_chunk::<64>() {
                // The text's last 64 bytes, shifted down to the tail's `rest.len()` bits.
                Some(last) => block64(last, avx2).map(|m| m >> (64 - rest.len())),
                None => {
                    // Zero padding: in no class.
                    let mut padded = [0u8; 64];
                    padded[..rest.len()].copy_from_slice(rest);
                    block64(&padded, avx2)
                }
            };
            self.blocks.push(block);
        }
        self.blocks.push([0; CLASSES]);
    }

    /// The 64 bits of class `class` from byte `at` on (bit `k`: byte `at + k`); bits past the
    /// text read as zero.
    #[cfg(test)]
    pub(crate) fn window(&self, class: usize, at: usize) -> u64 {
        self.windows::<1>([class], at)[0]
    }

    /// [`Self::window`] of several classes at one position.
    #[inline(always)]
    pub(crate) fn windows<const N: usize>(&self, classes: [usize; N], at: usize) -> [u64; N] {
        let (k, o) = (at / 64, (at % 64) as u32);
        let zero = [0u64; CLASSES];
        let lo = self.blocks.get(k).unwrap_or(&zero);
        let hi = self.blocks.get(k + 1).unwrap_or(&zero);
        // `<< 1 << (63 − o)`: no shift by 64 when `o` is 0.
        classes.map(|c| {
            let (l, h) = (
                lo.get(c).copied().unwrap_or(0),
                hi.get(c).copied().unwrap_or(0),
            );
            (l >> o) | ((h << 1) << (63 - o))
        })
    }

    /// Positions of the `.?!` bytes, in order.
    pub(crate) fn marks(&self) -> impl Iterator<Item = usize> + '_ {
        self.blocks.iter().enumerate().flat_map(|(k, b)| {
            let mut bits = b[MARK];
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let i = k * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    i
                })
            })
        })
    }
}

/// The class words of a 64-byte block (`avx2`: the CPU has AVX2, see [`ByteBits::build`]).
#[inline(always)]
pub(crate) fn block64(block: &[u8; 64], avx2: bool) -> Block {
    #[cfg(target_arch = "x86_64")]
    {
        if avx2 {
            #[allow(unsafe_code)]
            // SAFETY: `avx2` is true only when AVX2 was detected on this CPU.
            return unsafe { avx2::block64(block) };
        }
        #[allow(unsafe_code)]
        // SAFETY: the function only needs SSE2, which every x86_64 CPU has (the x86_64
        // targets enable it at compile time); `unsafe` is only how Rust calls a
        // `#[target_feature]` function from code that does not itself name the feature.
        unsafe {
            sse2::block64(block)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = avx2;
        class_bits(block)
    }
}

/// Whether this CPU has AVX2 (std caches the detection after the first call).
#[inline(always)]
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The class bits of up to 64 bytes, one byte at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) fn class_bits(bytes: &[u8]) -> Block {
    let mut b = [0u64; CLASSES];
    for (k, &c) in bytes.iter().take(64).enumerate() {
        b[WORD] |= u64::from(c.is_ascii_alphanumeric() || c == b'_') << k;
        b[SPACE] |= u64::from(c == b' ') << k;
        b[COMMA] |= u64::from(c == b',' || c == b':') << k;
        b[DASH] |= u64::from(c == b'-') << k;
        b[SPLIT] |= u64::from(matches!(c, b'(' | b')' | b'*' | b';' | b'?' | b'!')) << k;
        b[INITIAL] |= u64::from(matches!(c | 0x20, b'c' | b'g' | b'l' | b'w')) << k;
        b[MARK] |= u64::from(matches!(c, b'.' | b'?' | b'!')) << k;
    }
    b
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use super::{Block, CLASSES, COMMA, DASH, INITIAL, MARK, SPACE, SPLIT, WORD};
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_set_epi64x,
    };

    /// Biased bounds of the signed range test: `b` in `lo..=hi` (both < 0x80) ⟺ `b + (0x80 −
    /// lo)` (wrapping) read as i8 is below `−0x80 + (hi − lo + 1)`; bytes from 0x80 up fail.
    pub(super) const fn bias(lo: u8) -> i8 {
        0x80u8.wrapping_sub(lo) as i8
    }
    pub(super) const fn limit(lo: u8, hi: u8) -> i8 {
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

    /// The flags of a compare result as bits `16·k ..` of a word.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn bits(v: __m128i, k: usize) -> u64 {
        u64::from(_mm_movemask_epi8(v) as u16) << (16 * k)
    }

    /// The class words of a 64-byte block.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(super) fn block64(block: &[u8; 64]) -> Block {
        let (alpha_bias, alpha_limit) =
            (_mm_set1_epi8(bias(b'a')), _mm_set1_epi8(limit(b'a', b'z')));
        let (digit_bias, digit_limit) =
            (_mm_set1_epi8(bias(b'0')), _mm_set1_epi8(limit(b'0', b'9')));
        let set = |c: u8| _mm_set1_epi8(c as i8);
        let (fold, under, space, comma) = (set(0x20), set(b'_'), set(b' '), set(b','));
        let (colon, dash, semi) = (set(b':'), set(b'-'), set(b';'));
        let (paren_bias, paren_limit) =
            (_mm_set1_epi8(bias(b'(')), _mm_set1_epi8(limit(b'(', b'*')));
        let initials = [b'c', b'g', b'l', b'w'].map(set);
        let marks = [b'.', b'?', b'!'].map(set);
        let (chunks, _) = block.as_chunks::<16>();
        let mut out = [0u64; CLASSES];
        for (k, c) in chunks.iter().enumerate() {
            let x = load(c);
            let folded = _mm_or_si128(x, fold);
            let alpha = _mm_cmplt_epi8(_mm_add_epi8(folded, alpha_bias), alpha_limit);
            let digit = _mm_cmplt_epi8(_mm_add_epi8(x, digit_bias), digit_limit);
            let word = _mm_or_si128(_mm_or_si128(alpha, digit), _mm_cmpeq_epi8(x, under));
            out[WORD] |= bits(word, k);
            out[SPACE] |= bits(_mm_cmpeq_epi8(x, space), k);
            let punct = _mm_or_si128(_mm_cmpeq_epi8(x, comma), _mm_cmpeq_epi8(x, colon));
            out[COMMA] |= bits(punct, k);
            out[DASH] |= bits(_mm_cmpeq_epi8(x, dash), k);
            let cg = _mm_or_si128(
                _mm_cmpeq_epi8(folded, initials[0]),
                _mm_cmpeq_epi8(folded, initials[1]),
            );
            let lw = _mm_or_si128(
                _mm_cmpeq_epi8(folded, initials[2]),
                _mm_cmpeq_epi8(folded, initials[3]),
            );
            out[INITIAL] |= bits(_mm_or_si128(cg, lw), k);
            let end = _mm_or_si128(_mm_cmpeq_epi8(x, marks[1]), _mm_cmpeq_epi8(x, marks[2]));
            out[MARK] |= bits(_mm_or_si128(_mm_cmpeq_epi8(x, marks[0]), end), k);
            let paren = _mm_cmplt_epi8(_mm_add_epi8(x, paren_bias), paren_limit);
            let split = _mm_or_si128(_mm_or_si128(paren, _mm_cmpeq_epi8(x, semi)), end);
            out[SPLIT] |= bits(split, k);
        }
        out
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use super::{Block, CLASSES, COMMA, DASH, INITIAL, MARK, SPACE, SPLIT, WORD};
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi8, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8, _mm256_set_m128i, _mm_set_epi64x,
    };

    /// The 32 bytes of `c` as a vector (two 16-byte halves from word loads).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn load(c: &[u8; 32]) -> __m256i {
        let (w, _) = c.as_chunks::<8>();
        let half =
            |a: [u8; 8], b: [u8; 8]| _mm_set_epi64x(i64::from_le_bytes(b), i64::from_le_bytes(a));
        _mm256_set_m128i(half(w[2], w[3]), half(w[0], w[1]))
    }

    /// The flags of a compare result as bits `32·k ..` of a word.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn bits(v: __m256i, k: usize) -> u64 {
        u64::from(_mm256_movemask_epi8(v) as u32) << (32 * k)
    }

    /// [`super::sse2::block64`] 32 bytes per step (`a < b` is written `b > a`: AVX2 has only
    /// the greater-than compare).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) fn block64(block: &[u8; 64]) -> Block {
        let set = |c: u8| _mm256_set1_epi8(c as i8);
        let (alpha_bias, alpha_limit) = (
            _mm256_set1_epi8(super::sse2::bias(b'a')),
            _mm256_set1_epi8(super::sse2::limit(b'a', b'z')),
        );
        let (digit_bias, digit_limit) = (
            _mm256_set1_epi8(super::sse2::bias(b'0')),
            _mm256_set1_epi8(super::sse2::limit(b'0', b'9')),
        );
        let (fold, under, space, comma) = (set(0x20), set(b'_'), set(b' '), set(b','));
        let (colon, dash, semi) = (set(b':'), set(b'-'), set(b';'));
        let (paren_bias, paren_limit) = (
            _mm256_set1_epi8(super::sse2::bias(b'(')),
            _mm256_set1_epi8(super::sse2::limit(b'(', b'*')),
        );
        let initials = [b'c', b'g', b'l', b'w'].map(set);
        let marks = [b'.', b'?', b'!'].map(set);
        let (chunks, _) = block.as_chunks::<32>();
        let mut out = [0u64; CLASSES];
        for (k, c) in chunks.iter().enumerate() {
            let x = load(c);
            let folded = _mm256_or_si256(x, fold);
            let alpha = _mm256_cmpgt_epi8(alpha_limit, _mm256_add_epi8(folded, alpha_bias));
            let digit = _mm256_cmpgt_epi8(digit_limit, _mm256_add_epi8(x, digit_bias));
            let word = _mm256_or_si256(_mm256_or_si256(alpha, digit), _mm256_cmpeq_epi8(x, under));
            out[WORD] |= bits(word, k);
            out[SPACE] |= bits(_mm256_cmpeq_epi8(x, space), k);
            let punct = _mm256_or_si256(_mm256_cmpeq_epi8(x, comma), _mm256_cmpeq_epi8(x, colon));
            out[COMMA] |= bits(punct, k);
            out[DASH] |= bits(_mm256_cmpeq_epi8(x, dash), k);
            let cg = _mm256_or_si256(
                _mm256_cmpeq_epi8(folded, initials[0]),
                _mm256_cmpeq_epi8(folded, initials[1]),
            );
            let lw = _mm256_or_si256(
                _mm256_cmpeq_epi8(folded, initials[2]),
                _mm256_cmpeq_epi8(folded, initials[3]),
            );
            out[INITIAL] |= bits(_mm256_or_si256(cg, lw), k);
            let end = _mm256_or_si256(
                _mm256_cmpeq_epi8(x, marks[1]),
                _mm256_cmpeq_epi8(x, marks[2]),
            );
            out[MARK] |= bits(_mm256_or_si256(_mm256_cmpeq_epi8(x, marks[0]), end), k);
            let paren = _mm256_cmpgt_epi8(paren_limit, _mm256_add_epi8(x, paren_bias));
            let split = _mm256_or_si256(_mm256_or_si256(paren, _mm256_cmpeq_epi8(x, semi)), end);
            out[SPLIT] |= bits(split, k);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_agree_with_the_byte_classes() {
        // Every byte value at every position of a block, texts of every length to 200.
        for len in 0..200 {
            for shift in [0usize, 1, 37, 63, 64, 100] {
                let text: Vec<u8> = (0..len).map(|i| ((i * 7 + shift) % 256) as u8).collect();
                let mut bits = ByteBits::default();
                bits.build(&text);
                let mut want: Vec<Block> = text.chunks(64).map(class_bits).collect();
                want.push([0; CLASSES]);
                assert_eq!(bits.blocks, want, "len {len} shift {shift}");
                for (i, &b) in text.iter().enumerate() {
                    let one = class_bits(&[b]);
                    for class in [WORD, SPACE, COMMA, INITIAL, MARK, DASH, SPLIT] {
                        assert_eq!(bits.window(class, i) & 1, one[class], "{i} {class}");
                    }
                }
                let marks: Vec<usize> = (0..text.len())
                    .filter(|&i| matches!(text[i], b'.' | b'?' | b'!'))
                    .collect();
                assert_eq!(bits.marks().collect::<Vec<_>>(), marks, "len {len}");
            }
        }
        // The classes themselves.
        let one = |c: u8| class_bits(&[c]);
        assert_eq!(one(b'_')[WORD], 1);
        assert_eq!(one(b'Z')[WORD] & one(b'0')[WORD] & one(b'9')[WORD], 1);
        assert_eq!(
            one(b'@')[WORD] | one(b'[')[WORD] | one(b'`')[WORD] | one(b'/')[WORD],
            0
        );
        assert_eq!(one(b'W')[INITIAL] & one(b'c')[INITIAL], 1);
        assert_eq!(one(b'C' ^ 0x40)[INITIAL] | one(b'd')[INITIAL], 0);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn sse2_and_avx2_blocks_agree_with_the_byte_classes() {
        let mut g = 0x9E37_79B9_7F4A_7C15u64;
        for round in 0..4000 {
            let mut block = [0u8; 64];
            for (i, b) in block.iter_mut().enumerate() {
                g ^= g << 13;
                g ^= g >> 7;
                g ^= g << 17;
                // Every byte value, and runs of the classes' own bytes.
                *b = match round % 3 {
                    0 => g as u8,
                    1 => b" ,.?!_cglwCGLWaz09AZ@[`{/:-();*')+"[(g % 33) as usize],
                    _ => ((i * 4 + round) % 256) as u8,
                };
            }
            let want = class_bits(&block);
            assert_eq!(block64(&block, false), want, "sse2 {block:?}");
            if has_avx2() {
                assert_eq!(block64(&block, true), want, "avx2 {block:?}");
            }
        }
    }

    #[test]
    fn windows_read_any_offset() {
        let mut bits = ByteBits::default();
        let map = [0x8000_0000_0000_0001u64, 0xdead_beef_0123_4567, 0x5, 0];
        bits.blocks = map.iter().map(|&m| [m, !m, 0, 0, m, 0, 0]).collect();
        for at in 0..256 {
            let want = (0..64).fold(0u64, |w, k| {
                let i = at + k;
                let bit = map.get(i / 64).map_or(0, |m| (m >> (i % 64)) & 1);
                w | (bit << k)
            });
            assert_eq!(bits.window(WORD, at), want, "{at}");
            assert_eq!(bits.windows([MARK, WORD], at), [want, want], "{at}");
        }
    }
}
