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
    if s.is_ascii() {
        // Trim on the bytes first (a byte maps to a space exactly when it is not
        // alphanumeric), then map only the kept middle: no shift of the output afterwards.
        let b = s.as_bytes();
        let kept = |&c: &u8| LATIN1[usize::from(c)] != 0x20;
        let start = b.iter().position(kept).unwrap_or(b.len());
        let end = b.iter().rposition(kept).map_or(start, |p| p + 1);
        let mid = b.get(start..end).unwrap_or_default();
        out.reserve(mid.len());
        out.extend(mid.iter().map(|&c| u32::from(LATIN1[usize::from(c)])));
        return;
    }
    out.extend(s.chars().map(|ch| map_code_point(u32::from(ch))));
    let end = out.iter().rposition(|&c| c != 0x20).map_or(0, |p| p + 1);
    out.truncate(end);
    let start = out.iter().position(|&c| c != 0x20).unwrap_or(out.len());
    out.drain(..start);
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

    #[test]
    fn tables_are_sorted() {
        assert!(ALNUM_RANGES.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(LOWER_RUNS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(LOWER_RUNS
            .iter()
            .all(|&(_, n, stride, _)| n >= 1 && stride >= 1));
    }
}
