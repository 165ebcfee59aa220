//! The token bitmap of a text (bit `i % 64` of word `i / 64`: byte `i` is in `[A-Za-z0-9]`),
//! sixteen bytes per step with SSE2 on x86_64.
//!
//! Every x86_64 CPU has SSE2 and the baseline target enables it, so there is no run-time
//! detection: the functions below are `#[target_feature(enable = "sse2")]` (which makes the
//! intrinsics safe calls inside them) and the one `unsafe` is the call into them from code
//! that does not name the feature. Per sixteen bytes one load, an OR
//! with 0x20 (folds ASCII case), two biased signed compares (`[a-z]` on the folded bytes,
//! `[0-9]` on the raw ones — bytes from 0x80 up are negative and fail both), an OR and a
//! `pmovmskb` that gathers the sixteen flags into sixteen bits. That is about a tenth of the
//! instructions of `crate::bitruns::bitmap` (byte-wise tests the compiler vectorizes, then a
//! multiply per eight flags), which stays the path on other targets and the oracle of the
//! tests.
//!
//! The last partial block of a text of at least 64 bytes is read as the text's last 64 bytes
//! and shifted down, so only texts shorter than one block are copied into a padded buffer.

/// Fills `bits` with the token bitmap of `text` and a final zero word; returns the number of
/// tokens (maximal runs of set bits) and whether any byte is non-ASCII.
#[inline]
pub(super) fn token_bitmap(text: &[u8], bits: &mut Vec<u64>) -> (usize, bool) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: the function only needs SSE2, which every x86_64 CPU has (the x86_64 targets
    // enable it at compile time); `unsafe` is only how Rust calls a `#[target_feature]`
    // function from code that does not itself name the feature.
    unsafe {
        sse2::token_bitmap(text, bits)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let (runs, any) = crate::bitruns::bitmap(text, super::TOKEN_CLASS, false, bits);
        (runs, any & 0x80 != 0)
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
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
        // `b` in `lo..=hi` (both < 0x80) ⟺ `b + (0x80 − lo)` (wrapping) read as i8 is below
        // `−0x80 + (hi − lo + 1)`; bytes from 0x80 up land in `−lo..=0x7F − lo` and fail.
        let bias = |lo: u8| _mm_set1_epi8(0x80u8.wrapping_sub(lo) as i8);
        let limit = |lo: u8, hi: u8| _mm_set1_epi8((0x80u8 + (hi - lo + 1)) as i8);
        let (alpha_bias, alpha_limit) = (bias(b'a'), limit(b'a', b'z'));
        let (digit_bias, digit_limit) = (bias(b'0'), limit(b'0', b'9'));
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

    #[target_feature(enable = "sse2")]
    pub(super) fn token_bitmap(text: &[u8], bits: &mut Vec<u64>) -> (usize, bool) {
        bits.clear();
        bits.reserve(text.len() / 64 + 2);
        let mut any = _mm_setzero_si128();
        let mut prev_top = 0u64;
        let mut runs = 0u32;
        let (blocks, rest) = text.as_chunks::<64>();
        for block in blocks {
            let (word, a) = block64(block);
            any = _mm_or_si128(any, a);
            runs += (word & !((word << 1) | prev_top)).count_ones();
            prev_top = word >> 63;
            bits.push(word);
        }
        if !rest.is_empty() {
            let word = match text.last_chunk::<64>() {
                // The last 64 bytes, of which the top `rest.len()` bits are the tail's.
                Some(last) => {
                    let (word, a) = block64(last);
                    any = _mm_or_si128(any, a);
                    word >> (64 - rest.len())
                }
                None => {
                    let mut block = [0u8; 64];
                    block[..rest.len()].copy_from_slice(rest);
                    let (word, a) = block64(&block);
                    any = _mm_or_si128(any, a);
                    word
                }
            };
            runs += (word & !((word << 1) | prev_top)).count_ones();
            bits.push(word);
        }
        bits.push(0);
        (runs as usize, _mm_movemask_epi8(any) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bitmap, run count and non-ASCII flag equal `bitruns::bitmap`'s (the portable path)
    /// on random bytes of every value, at every length around the 16/64-byte steps.
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
