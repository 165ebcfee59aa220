//! The token bitmap of a text (bit `i % 64` of word `i / 64`: byte `i` is in `[A-Za-z0-9]`),
//! 16 or 32 bytes per step with SSE2 or AVX2 on x86_64.
//!
//! Per vector of bytes: one load, an OR with 0x20 (folds ASCII case), two biased signed
//! compares (`[a-z]` on the folded bytes, `[0-9]` on the raw ones — bytes from 0x80 up are
//! negative and fail both), an OR and a `pmovmskb` that gathers the flags into bits. With SSE2
//! that is about a tenth of the instructions of `crate::bitruns::bitmap` (byte-wise tests the
//! compiler vectorizes, then a multiply per eight flags), which stays the path on other targets
//! and the oracle of the tests; AVX2 (32 bytes a step, three-operand forms, `popcnt` for the
//! token count) halves it again.
//!
//! Every x86_64 CPU has SSE2 and the baseline target enables it; AVX2 and POPCNT are detected
//! at run time (`is_x86_feature_detected!`, cached by std after the first call). The functions
//! below are `#[target_feature]` functions, which makes the intrinsics safe calls inside them;
//! the `unsafe` blocks are the calls into them, each after the features are known present.
//! SSE2 vectors are loaded from `u64` words (`_mm_set_epi64x`, merged by the compiler into one
//! unaligned load), so no raw pointer is involved; for AVX2 the compiler did not merge four
//! words (five instructions a vector), so those are one `_mm256_loadu_si256` from a `&[u8; 32]`.
//!
//! The last partial block of a text of at least 64 bytes is read as the text's last 64 bytes
//! and shifted down, so only texts shorter than one block are copied into a padded buffer.

/// Fills `bits` with the token bitmap of `text` and a final zero word; returns the number of
/// tokens (maximal runs of set bits) and whether any byte is non-ASCII.
#[inline]
pub(super) fn token_bitmap(text: &[u8], bits: &mut Vec<u64>) -> (usize, bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("popcnt") {
            #[allow(unsafe_code)]
            // SAFETY: AVX2 and POPCNT were just detected on this CPU.
            return unsafe { avx2::token_bitmap(text, bits) };
        }
        #[allow(unsafe_code)]
        // SAFETY: the function only needs SSE2, which every x86_64 CPU has (the x86_64
        // targets enable it at compile time); `unsafe` is only how Rust calls a
        // `#[target_feature]` function from code that does not itself name the feature.
        unsafe {
            sse2::token_bitmap(text, bits)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let (runs, any) = crate::bitruns::bitmap(text, super::TOKEN_CLASS, false, bits);
        (runs, any & 0x80 != 0)
    }
}

/// The outer loop over 64-byte blocks, given `block64(&[u8; 64]) -> (token bits, OR of the
/// bytes as a vector)` and the vector type's OR, zero and sign-bit mask.
#[cfg(target_arch = "x86_64")]
macro_rules! blocks_loop {
    ($text:expr, $bits:expr, $zero:expr, $or:path, $movemask:path) => {{
        let (text, bits): (&[u8], &mut Vec<u64>) = ($text, $bits);
        bits.clear();
        bits.reserve(text.len() / 64 + 2);
        let mut any = $zero;
        let mut prev_top = 0u64;
        let mut runs = 0u32;
        let (blocks, rest) = text.as_chunks::<64>();
        for block in blocks {
            let (word, a) = block64(block);
            any = $or(any, a);
            runs += (word & !((word << 1) | prev_top)).count_ones();
            prev_top = word >> 63;
            bits.push(word);
        }
        if !rest.is_empty() {
            let word = match text.last_chunk::<64>() {
                // The last 64 bytes, of which the top `rest.len()` bits are the tail's.
                Some(last) => {
                    let (word, a) = block64(last);
                    any = $or(any, a);
                    word >> (64 - rest.len())
                }
                None => {
                    let mut block = [0u8; 64];
                    block[..rest.len()].copy_from_slice(rest);
                    let (word, a) = block64(&block);
                    any = $or(any, a);
                    word
                }
            };
            runs += (word & !((word << 1) | prev_top)).count_ones();
            bits.push(word);
        }
        bits.push(0);
        (runs as usize, $movemask(any) != 0)
    }};
}

/// Biased bounds of the signed range test: `b` in `lo..=hi` (both < 0x80) ⟺
/// `b + (0x80 − lo)` (wrapping) read as i8 is below `−0x80 + (hi − lo + 1)`; bytes from 0x80 up
/// land in `−lo..=0x7F − lo` and fail.
#[cfg(target_arch = "x86_64")]
const fn bias(lo: u8) -> i8 {
    0x80u8.wrapping_sub(lo) as i8
}
#[cfg(target_arch = "x86_64")]
const fn limit(lo: u8, hi: u8) -> i8 {
    (0x80u8 + (hi - lo + 1)) as i8
}

#[cfg(target_arch = "x86_64")]
pub(super) mod sse2 {
    use super::{bias, limit};
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_cmplt_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        _mm_set_epi64x, _mm_setzero_si128,
    };

    /// The sixteen bytes of `c` as a vector (two word loads the compiler merges into one).
    #[target_feature(enable = "sse2")]
    #[inline]
    fn load(c: &[u8; 16]) -> __m128i {
        let (halves, _) = c.as_chunks::<8>();
        let lo = u64::from_le_bytes(halves[0]);
        let hi = u64::from_le_bytes(halves[1]);
        _mm_set_epi64x(hi as i64, lo as i64)
    }

    /// Token bits of the 64 bytes of `block`, and the OR of its bytes as a vector.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn block64(block: &[u8; 64]) -> (u64, __m128i) {
        let (alpha_bias, alpha_limit) =
            (_mm_set1_epi8(bias(b'a')), _mm_set1_epi8(limit(b'a', b'z')));
        let (digit_bias, digit_limit) =
            (_mm_set1_epi8(bias(b'0')), _mm_set1_epi8(limit(b'0', b'9')));
        let fold = _mm_set1_epi8(0x20);
        let (chunks, _) = block.as_chunks::<16>();
        let mut word = 0u64;
        let mut any = _mm_setzero_si128();
        for (k, c) in chunks.iter().enumerate() {
            let x = load(c);
            any = _mm_or_si128(any, x);
            let alpha =
                _mm_cmplt_epi8(_mm_add_epi8(_mm_or_si128(x, fold), alpha_bias), alpha_limit);
            let digit = _mm_cmplt_epi8(_mm_add_epi8(x, digit_bias), digit_limit);
            let flags = _mm_movemask_epi8(_mm_or_si128(alpha, digit)) as u32;
            word |= u64::from(flags) << (16 * k);
        }
        (word, any)
    }

    /// [`super::token_bitmap`] with SSE2.
    #[target_feature(enable = "sse2")]
    pub(in super::super) fn token_bitmap(text: &[u8], bits: &mut Vec<u64>) -> (usize, bool) {
        blocks_loop!(
            text,
            bits,
            _mm_setzero_si128(),
            _mm_or_si128,
            _mm_movemask_epi8
        )
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) mod avx2 {
    use super::{bias, limit};
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi8, _mm256_cmpgt_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8, _mm256_setzero_si256,
    };

    /// The 32 bytes of `c` as a vector: one unaligned load (built from four word loads, the
    /// compiler emitted five instructions a vector).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn load(c: &[u8; 32]) -> __m256i {
        #[allow(unsafe_code)]
        // SAFETY: `c` is 32 live, readable bytes; `loadu` has no alignment requirement.
        unsafe {
            _mm256_loadu_si256(c.as_ptr().cast())
        }
    }

    /// Token bits of the 64 bytes of `block`, and the OR of its bytes as a vector.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn block64(block: &[u8; 64]) -> (u64, __m256i) {
        let (alpha_bias, alpha_limit) = (
            _mm256_set1_epi8(bias(b'a')),
            _mm256_set1_epi8(limit(b'a', b'z')),
        );
        let (digit_bias, digit_limit) = (
            _mm256_set1_epi8(bias(b'0')),
            _mm256_set1_epi8(limit(b'0', b'9')),
        );
        let fold = _mm256_set1_epi8(0x20);
        let (chunks, _) = block.as_chunks::<32>();
        let mut word = 0u64;
        let mut any = _mm256_setzero_si256();
        for (k, c) in chunks.iter().enumerate() {
            let x = load(c);
            any = _mm256_or_si256(any, x);
            // `a < b` is `b > a` (AVX2 has only the greater-than compare).
            let alpha = _mm256_cmpgt_epi8(
                alpha_limit,
                _mm256_add_epi8(_mm256_or_si256(x, fold), alpha_bias),
            );
            let digit = _mm256_cmpgt_epi8(digit_limit, _mm256_add_epi8(x, digit_bias));
            let flags = _mm256_movemask_epi8(_mm256_or_si256(alpha, digit)) as u32;
            word |= u64::from(flags) << (32 * k);
        }
        (word, any)
    }

    /// [`super::token_bitmap`] with AVX2 (and POPCNT for the token count).
    #[target_feature(enable = "avx2,popcnt")]
    pub(in super::super) fn token_bitmap(text: &[u8], bits: &mut Vec<u64>) -> (usize, bool) {
        blocks_loop!(
            text,
            bits,
            _mm256_setzero_si256(),
            _mm256_or_si256,
            _mm256_movemask_epi8
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bitmap, run count and non-ASCII flag of each path (SSE2, AVX2 when the CPU has it,
    /// the dispatching entry) equal `bitruns::bitmap`'s (the portable path) on random bytes of every value, at every length around the 16/64-byte steps.
    #[test]
    fn equals_the_portable_bitmap() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..20_000usize {
            let len = if round % 4 == 0 {
                round % 700
            } else {
                round % 150
            };
            let ascii_only = round % 3 == 0;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    match r % 8 {
                        // class edges: '/' '0' '9' ':' '@' 'A' 'Z' '[' '`' 'a' 'z' '{'
                        0 => b"/09:@AZ[`az{ \x7f\x00"[(r >> 8) as usize % 15],
                        1 if !ascii_only => 0x80 | (r >> 8) as u8,
                        1 => b' ',
                        _ if ascii_only => (r >> 8) as u8 & 0x7F,
                        _ => (r >> 8) as u8,
                    }
                })
                .collect();
            let (mut got, mut want) = (Vec::new(), Vec::new());
            let (runs, high) = token_bitmap(&text, &mut got);
            let (want_runs, any) =
                crate::bitruns::bitmap(&text, super::super::TOKEN_CLASS, false, &mut want);
            assert_eq!(got, want, "{text:x?}");
            assert_eq!(runs, want_runs, "{text:x?}");
            assert_eq!(high, any & 0x80 != 0, "{text:x?}");
        }
    }
}
