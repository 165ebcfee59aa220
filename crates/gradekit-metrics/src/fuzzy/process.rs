//! `default_process`: rapidfuzz's C++ string preprocessor, reproduced per code point.
//!
//! rapidfuzz 3.10.1 runs its C++ `default_process` (not the Python regex fallback): every code
//! point is mapped on its own — alphanumerics (CPython's `isalnum` flags of the Unicode tables
//! rapidfuzz vendors, plus a Latin-1 table generated with Python 3.9) to their *simple*
//! lowercase, everything else to a space — and then spaces are trimmed from both ends. There is
//! no full case mapping ("İ" becomes "i", not "i̇") and no final-sigma rule. The tables were
//! derived empirically from the installed library by `scripts/gen_fuzzy_tables.py`
//! (see `tables.rs`); `tests/fuzzy_vectors.rs` and the random fixtures check them end to end.

use super::tables::{ALNUM_RANGES, LATIN1, LOWER_RUNS};

/// Maps one code point the way rapidfuzz's `default_process` does: simple lowercase for
/// alphanumerics, `0x20` for everything else.
#[inline]
pub(crate) fn map_code_point(c: u32) -> u32 {
    match LATIN1.get(c as usize) {
        Some(&m) => u32::from(m),
        None => map_wide(c),
    }
}

fn map_wide(c: u32) -> u32 {
    let idx = ALNUM_RANGES.partition_point(|&(_, hi)| hi < c);
    match ALNUM_RANGES.get(idx) {
        Some(&(lo, _)) if lo <= c => {}
        _ => return 0x20,
    }
    let run = LOWER_RUNS.partition_point(|&(start, _, _, _)| start <= c);
    let Some(&(start, count, stride, delta)) = run.checked_sub(1).and_then(|r| LOWER_RUNS.get(r))
    else {
        return c;
    };
    let off = c - start;
    if off.is_multiple_of(stride) && off / stride < count {
        c.wrapping_add_signed(delta)
    } else {
        c
    }
}

/// Appends the processed code points of `s` to `out` (which is cleared first).
pub(crate) fn process_into(s: &str, out: &mut Vec<u32>) {
    out.clear();
    // an OR over all bytes (no early exit) vectorizes; `str::is_ascii` walks the unaligned
    // head and tail a byte at a time
    if s.bytes().fold(0u8, |m, c| m | c) < 0x80 {
        // Trim on the bytes first (a byte maps to a space exactly when it is not
        // alphanumeric), then map only the kept middle: no shift of the output afterwards.
        let b = s.as_bytes();
        let kept = |&c: &u8| LATIN1[usize::from(c)] != 0x20;
        let start = b.iter().position(kept).unwrap_or(b.len());
        let end = b.iter().rposition(kept).map_or(start, |p| p + 1);
        let mid = b.get(start..end).unwrap_or_default();
        map_ascii(mid, out);
        return;
    }
    // at most one code point per byte: fill a buffer of that size (no capacity check per
    // code point, as `extend` from `chars()` makes), then cut it to the code points written
    out.resize(s.len(), 0);
    let mut n = 0;
    for (o, ch) in out.iter_mut().zip(s.chars()) {
        *o = map_code_point(u32::from(ch));
        n += 1;
    }
    out.truncate(n);
    let end = out.iter().rposition(|&c| c != 0x20).map_or(0, |p| p + 1);
    out.truncate(end);
    let start = out.iter().position(|&c| c != 0x20).unwrap_or(out.len());
    out.drain(..start);
}

/// `out` = the mapped bytes of `mid` (all ASCII). An ASCII byte is kept (lowercased) exactly
/// when it is in `[A-Za-z0-9]`, and `x | 0x20` lowercases a letter and leaves a digit as it is
/// (digits have the 0x20 bit set), so the map is `(x & alnum(x)) | 0x20` — on x86_64 sixteen
/// bytes at a time with SSE2 (two biased signed compares, then a widening to `u32`); the
/// table loop was a load and a store per byte, and the compiler did not vectorize the range
/// tests written per byte.
fn map_ascii(mid: &[u8], out: &mut Vec<u32>) {
    out.clear();
    out.resize(mid.len(), 0);
    #[cfg(target_arch = "x86_64")]
    {
        let (oc, _) = out.as_chunks_mut::<16>();
        let (ic, rest) = mid.as_chunks::<16>();
        #[allow(unsafe_code)]
        // SAFETY: the function only needs SSE2, which every x86_64 CPU has (the x86_64
        // targets enable it at compile time); `unsafe` is only how Rust calls a
        // `#[target_feature]` function from code that does not itself name the feature.
        unsafe {
            sse2::map_chunks(ic, oc);
        }
        if rest.is_empty() {
            return;
        }
        // the tail as the last sixteen bytes (the map is per byte: the ones mapped twice
        // get the same value)
        if let (Some(i), Some(o)) = (mid.last_chunk::<16>(), out.last_chunk_mut::<16>()) {
            #[allow(unsafe_code)]
            // SAFETY: as above, SSE2 only.
            unsafe {
                sse2::map_chunks(std::slice::from_ref(i), std::slice::from_mut(o));
            }
            return;
        }
        // shorter than sixteen bytes: the table below
    }
    for (o, &x) in out.iter_mut().zip(mid) {
        *o = u32::from(LATIN1[usize::from(x)]);
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_and_si128, _mm_cmplt_epi8, _mm_or_si128, _mm_set1_epi8,
        _mm_set_epi64x, _mm_setzero_si128, _mm_storeu_si128, _mm_unpackhi_epi16, _mm_unpackhi_epi8,
        _mm_unpacklo_epi16, _mm_unpacklo_epi8,
    };

    /// Biased signed range test: `b` in `lo..=hi` (both < 0x80) ⟺ `b + (0x80 − lo)`
    /// (wrapping) read as i8 is below `−0x80 + (hi − lo + 1)`; bytes from 0x80 up fail.
    const fn bias(lo: u8) -> i8 {
        0x80u8.wrapping_sub(lo) as i8
    }
    const fn limit(lo: u8, hi: u8) -> i8 {
        (0x80u8 + (hi - lo + 1)) as i8
    }

    /// [`map16`] over chunks.
    #[target_feature(enable = "sse2")]
    pub(super) fn map_chunks(ic: &[[u8; 16]], oc: &mut [[u32; 16]]) {
        for (o, i) in oc.iter_mut().zip(ic) {
            map16(i, o);
        }
    }

    /// `o[k]` = `default_process`'s map of the ASCII byte `c[k]`.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn map16(c: &[u8; 16], o: &mut [u32; 16]) {
        let (halves, _) = c.as_chunks::<8>();
        let x = _mm_set_epi64x(
            u64::from_le_bytes(halves[1]) as i64,
            u64::from_le_bytes(halves[0]) as i64,
        );
        let space = _mm_set1_epi8(0x20);
        let alpha = _mm_cmplt_epi8(
            _mm_add_epi8(_mm_or_si128(x, space), _mm_set1_epi8(bias(b'a'))),
            _mm_set1_epi8(limit(b'a', b'z')),
        );
        let digit = _mm_cmplt_epi8(
            _mm_add_epi8(x, _mm_set1_epi8(bias(b'0'))),
            _mm_set1_epi8(limit(b'0', b'9')),
        );
        let y = _mm_or_si128(_mm_and_si128(x, _mm_or_si128(alpha, digit)), space);
        let z = _mm_setzero_si128();
        let (lo, hi) = (_mm_unpacklo_epi8(y, z), _mm_unpackhi_epi8(y, z));
        let v = [
            _mm_unpacklo_epi16(lo, z),
            _mm_unpackhi_epi16(lo, z),
            _mm_unpacklo_epi16(hi, z),
            _mm_unpackhi_epi16(hi, z),
        ];
        let (quads, _) = o.as_chunks_mut::<4>();
        for (q, v) in quads.iter_mut().zip(v) {
            #[allow(unsafe_code)]
            // SAFETY: `q` is four live, writable `u32`s (16 bytes); `storeu` has no alignment
            // requirement.
            unsafe {
                _mm_storeu_si128(q.as_mut_ptr().cast::<__m128i>(), v);
            }
        }
    }
}

/// Code points of `s`, unprocessed.
pub(crate) fn code_points(s: &str) -> Vec<u32> {
    let mut out = Vec::with_capacity(s.len());
    if s.is_ascii() {
        out.extend(s.bytes().map(u32::from));
    } else {
        out.extend(s.chars().map(u32::from));
    }
    out
}

/// `rapidfuzz.utils.default_process` (the C++ implementation): lowercases alphanumeric code
/// points (simple case mapping), replaces every other code point with a space and trims spaces
/// from both ends. Inner runs of spaces are kept.
///
/// ```
/// use gradekit_metrics::fuzzy::default_process;
/// assert_eq!(default_process("  Héllo, WÖRLD! "), "héllo  wörld");
/// assert_eq!(default_process("İ"), "i");
/// ```
pub fn default_process(s: &str) -> String {
    let mut cps = Vec::with_capacity(s.len());
    process_into(s, &mut cps);
    cps.into_iter()
        .map(|c| char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_from_rapidfuzz() {
        // expected values from rapidfuzz 3.10.1 `default_process`
        assert_eq!(
            default_process("  Héllo, WÖRLD!  İ K ǅ ß ẞ Σ"),
            "héllo  wörld   i k ǆ ß ß σ"
        );
        assert_eq!(default_process("!!!"), "");
        assert_eq!(default_process(""), "");
        assert_eq!(default_process("a_b"), "a b");
        assert_eq!(default_process("🙂x🙂"), "x");
    }

    /// The ASCII path (trim on bytes, then map) equals mapping every code point and trimming.
    #[test]
    fn ascii_path_equals_the_general_one() {
        let mut seed = 0x9E37_79B9u64;
        for round in 0..20_000 {
            let len = round % 50;
            let s: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let pool = b"aZ9 _-.\t\n\0!~Qq  ";
                    char::from(pool[(seed % pool.len() as u64) as usize])
                })
                .collect();
            let mut fast = Vec::new();
            process_into(&s, &mut fast);
            let mut slow: Vec<u32> = s.chars().map(|c| map_code_point(u32::from(c))).collect();
            let end = slow.iter().rposition(|&c| c != 0x20).map_or(0, |p| p + 1);
            slow.truncate(end);
            let start = slow.iter().position(|&c| c != 0x20).unwrap_or(slow.len());
            slow.drain(..start);
            assert_eq!(fast, slow, "{s:?}");
        }
    }

    /// The ASCII map equals the table on every ASCII byte, at every position of a chunk, for
    /// texts shorter than a chunk and tails of every length (mapped as the last chunk).
    #[test]
    fn ascii_map_equals_the_table() {
        let all: Vec<u8> = (0..0x80u8).chain((0..0x80u8).rev()).collect();
        for (skip, len) in (0..40).flat_map(|k| [(k, all.len() - k), (k * 3, k)]) {
            let text = &all[skip..skip + len];
            let mut out = Vec::new();
            map_ascii(text, &mut out);
            let want: Vec<u32> = text
                .iter()
                .map(|&c| u32::from(LATIN1[usize::from(c)]))
                .collect();
            assert_eq!(out, want);
        }
    }

    #[test]
    fn tables_are_sorted() {
        assert!(ALNUM_RANGES.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(LOWER_RUNS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(LOWER_RUNS
            .iter()
            .all(|&(_, n, stride, _)| n >= 1 && stride >= 1));
    }
}
