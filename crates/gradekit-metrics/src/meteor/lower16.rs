//! The lower-cased first `n` bytes of a 16-byte window, as the two little-endian words stage 1
//! keys a word by ([`lower_ascii16`]): one masked load, an ASCII test and the lower-casing of
//! the capitals. On x86_64 this is done in one SSE2 register (four vector instructions and a
//! movemask, where the two 64-bit words took ~20 general-purpose instructions and registers the
//! table loops around it need); elsewhere in two `u64`s.

/// The high bit of every byte.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// `MASK[n]`: the mask of the first `n` bytes of a 16-byte window (n ≤ 16).
const MASK: [[u8; 16]; 17] = {
    let mut m = [[0u8; 16]; 17];
    let mut n = 1;
    while n <= 16 {
        let mut k = 0;
        while k < n {
            m[n][k] = 0xff;
            k += 1;
        }
        n += 1;
    }
    m
};

/// The two little-endian words of 16 bytes.
#[inline(always)]
fn words(w: &[u8; 16]) -> (u64, u64) {
    let (halves, _) = w.as_chunks::<8>();
    let lo = halves.first().map_or(0, |h| u64::from_le_bytes(*h));
    let hi = halves.get(1).map_or(0, |h| u64::from_le_bytes(*h));
    (lo, hi)
}

/// `w` with the ASCII capitals of its bytes lower-cased (every byte of `w` must be below 0x80:
/// then adding 0x3f sets a byte's high bit exactly when it is ≥ `A`, adding 0x25 when it is
/// > `Z`, and no addition carries into the next byte).
#[inline(always)]
pub(super) fn ascii_lower_word(w: u64) -> u64 {
    let ge_a = w.wrapping_add(0x3f3f_3f3f_3f3f_3f3f);
    let gt_z = w.wrapping_add(0x2525_2525_2525_2525);
    w | ((ge_a & !gt_z & HIGH) >> 2)
}

/// The first `n` bytes of `w` (n ≤ 16), zero-padded to two little-endian words and
/// ASCII-lower-cased, or `None` if one of them is not ASCII (or `n > 16`).
#[inline(always)]
pub(super) fn lower_ascii16(w: &[u8; 16], n: usize) -> Option<(u64, u64)> {
    let m = MASK.get(n)?;
    #[cfg(target_arch = "x86_64")]
    {
        #[allow(unsafe_code)]
        // SAFETY: `sse2::lower` only needs SSE2, which every x86_64 CPU has (the x86_64
        // targets enable it at compile time); `unsafe` is only how Rust calls a
        // `#[target_feature]` function from code that does not itself name the feature.
        let (high, w0, w1) = unsafe { sse2::lower(w, m) };
        (high == 0).then_some((w0, w1))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        lower_ascii16_words(w, m)
    }
}

/// [`lower_ascii16`] in two `u64`s (the other targets' path, and the tests' reference).
#[inline(always)]
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn lower_ascii16_words(w: &[u8; 16], m: &[u8; 16]) -> Option<(u64, u64)> {
    let ((w0, w1), (m0, m1)) = (words(w), words(m));
    let (w0, w1) = (w0 & m0, w1 & m1);
    if (w0 | w1) & HIGH != 0 {
        return None;
    }
    Some((ascii_lower_word(w0), ascii_lower_word(w1)))
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use super::words;
    use std::arch::x86_64::{
        _mm_add_epi8, _mm_and_si128, _mm_cmplt_epi8, _mm_cvtsi128_si64, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x, _mm_unpackhi_epi64,
    };

    /// `(high bits, w0, w1)`: the movemask of the bytes of `w` masked by `m` (non-zero if one
    /// is not ASCII) and the two words of those bytes with `A`–`Z` lower-cased. A byte `b` is
    /// a capital exactly when `b + 0x3f` (wrapping) read as `i8` is below −0x66: `A`–`Z` go
    /// to −0x80..=−0x67, the other ASCII bytes to 0x3f..=0x7f or −0x66..=−0x42.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(super) fn lower(w: &[u8; 16], m: &[u8; 16]) -> (i32, u64, u64) {
        // (Two word loads each, which the compiler merges into one 16-byte load.)
        let ((lo, hi), (m0, m1)) = (words(w), words(m));
        let v = _mm_and_si128(
            _mm_set_epi64x(hi as i64, lo as i64),
            _mm_set_epi64x(m1 as i64, m0 as i64),
        );
        let high = _mm_movemask_epi8(v);
        let capital = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(0x3f)), _mm_set1_epi8(-0x66));
        let l = _mm_or_si128(v, _mm_and_si128(capital, _mm_set1_epi8(0x20)));
        (
            high,
            _mm_cvtsi128_si64(l) as u64,
            _mm_cvtsi128_si64(_mm_unpackhi_epi64(l, l)) as u64,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference: the bytes one by one.
    fn by_bytes(w: &[u8; 16], n: usize) -> Option<(u64, u64)> {
        let b = w.get(..n)?;
        if !b.is_ascii() {
            return None;
        }
        let mut out = [0u8; 16];
        for (o, c) in out.iter_mut().zip(b) {
            *o = c.to_ascii_lowercase();
        }
        let (halves, _) = out.as_chunks::<8>();
        Some((u64::from_le_bytes(halves[0]), u64::from_le_bytes(halves[1])))
    }

    #[test]
    fn every_byte_at_every_length() {
        for c in 0..=255u8 {
            for at in 0..16 {
                let mut w = [b'q'; 16];
                w[at] = c;
                for n in 0..=17 {
                    let want = by_bytes(&w, n);
                    assert_eq!(lower_ascii16(&w, n), want, "{c:#x} at {at}, n {n}");
                    let words = MASK.get(n).and_then(|m| lower_ascii16_words(&w, m));
                    assert_eq!(words, want, "{c:#x} at {at}, n {n}");
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn agrees_with_the_bytes(
            w in prop_oneof![any::<[u8; 16]>(), proptest::array::uniform16(0u8..0x80)],
            n in 0usize..18,
        ) {
            prop_assert_eq!(lower_ascii16(&w, n), by_bytes(&w, n));
        }
    }
}
