//! The tokens two texts share at their start and at their end, found before the LCS.
//!
//! For token sequences `P·X·S` and `P·Y·S`, `LCS = |P| + LCS(X, Y) + |S|` (some longest
//! common subsequence matches a common first token with the other's first token, and likewise
//! at the end). So the shared leading and trailing tokens are counted by comparing tokens in
//! lock step from each end, a few instructions a token and no table, and only the middles go
//! through the table and the bit-parallel LCS. A pair that shares no first or last token pays
//! two token compares. Near-duplicates (an output that edits its reference) share most of
//! their tokens this way.
//!
//! Tokens are compared as the tokenizer defines them (maximal `[A-Za-z0-9]` runs, lowercased):
//! the same length and the same bytes case-folded (`super::long_eq`). The middles are handed on
//! by clearing the bitmap bits outside them (`keep`), so the table's walks see only them.

use super::long_eq;

/// The shared leading and trailing tokens of two texts, and the byte range of each text's
/// middle (from the end of its last shared leading token to the start of its first shared
/// trailing token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Affixes {
    pub(super) prefix: usize,
    pub(super) suffix: usize,
    pub(super) a: (usize, usize),
    pub(super) b: (usize, usize),
}

/// The affixes of texts `a` and `b` (bitmaps `a_bits` / `b_bits`: bit `i` = byte `i` is a
/// token byte, zero past the text). Prefix and suffix do not overlap: `prefix + suffix ≤
/// min(tokens of a, tokens of b)`.
///
/// From each end, stretches of equal bytes are skipped 8 bytes a step: in such a stretch the
/// two bitmaps are equal, so every token in it is shared (counted from the bitmap), except a
/// token cut by the stretch's far end, which is shared only if it ends (starts) there in both
/// texts. After a stretch, the next tokens are compared case-folded (`long_eq`); when equal
/// (a difference of case or of separators), the walk goes on with the next stretch.
///
/// Positions kept between steps (`pa`, `qa`, …) are never strictly inside a token (the byte
/// before and the byte at them are not both token bytes), so the tokens of a range between
/// two of them are the runs that start in it.
pub(super) fn affixes(a: &[u8], a_bits: &[u64], b: &[u8], b_bits: &[u64]) -> Affixes {
    let same = |(sa, ea): (usize, usize), (sb, eb): (usize, usize)| {
        ea - sa == eb - sb && long_eq(a, sa, b, sb, ea - sa)
    };
    // Leading tokens: `a[..pa]` and `b[..pb]` hold the `prefix` shared ones.
    let (mut prefix, mut pa, mut pb) = (0, 0, 0);
    loop {
        let d = common_prefix(
            a.get(pa..).unwrap_or_default(),
            b.get(pb..).unwrap_or_default(),
        );
        if d > 0 {
            let e = pa + d;
            // A token through `e - 1` is shared if it ends at `e` in both texts.
            let cut = if bit(a_bits, e - 1) && (bit(a_bits, e) || bit(b_bits, pb + d)) {
                run_start(a_bits, e - 1)
            } else {
                e
            };
            prefix += starts_in(a_bits, pa, cut);
            (pa, pb) = (cut, pb + (cut - pa));
        }
        match (next_run(a_bits, pa), next_run(b_bits, pb)) {
            (Some(x), Some(y)) if same(x, y) => {
                prefix += 1;
                (pa, pb) = (x.1, y.1);
            }
            _ => break,
        }
    }
    // Trailing tokens: `a[qa..]` and `b[qb..]` hold the `suffix` shared ones, after the prefix.
    let (mut suffix, mut qa, mut qb) = (0, a.len(), b.len());
    loop {
        let d = common_suffix(
            a.get(pa..qa).unwrap_or_default(),
            b.get(pb..qb).unwrap_or_default(),
        );
        if d > 0 {
            let (f, g) = (qa - d, qb - d);
            // A token through `f` is shared if it starts at `f` in both texts.
            let cut = if bit(a_bits, f)
                && ((f > 0 && bit(a_bits, f - 1)) || (g > 0 && bit(b_bits, g - 1)))
            {
                run_end(a_bits, f)
            } else {
                f
            };
            suffix += starts_in(a_bits, cut, qa);
            (qa, qb) = (cut, qb - (qa - cut));
        }
        match (prev_run(a_bits, qa), prev_run(b_bits, qb)) {
            (Some(x), Some(y)) if x.0 >= pa && y.0 >= pb && same(x, y) => {
                suffix += 1;
                (qa, qb) = (x.0, y.0);
            }
            _ => break,
        }
    }
    Affixes {
        prefix,
        suffix,
        a: (pa, qa),
        b: (pb, qb),
    }
}

/// The number of equal leading bytes of `a` and `b` (sixteen bytes a step).
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut i = 0;
    for (x, y) in a.chunks_exact(16).zip(b.chunks_exact(16)) {
        let d = wide(x) ^ wide(y);
        if d != 0 {
            return i + (d.trailing_zeros() / 8) as usize;
        }
        i += 16;
    }
    i + a[i..]
        .iter()
        .zip(&b[i..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// The number of equal trailing bytes of `a` and `b` (sixteen bytes a step).
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let mut i = 0;
    for (x, y) in a.rchunks_exact(16).zip(b.rchunks_exact(16)) {
        let d = wide(x) ^ wide(y);
        if d != 0 {
            return i + (d.leading_zeros() / 8) as usize;
        }
        i += 16;
    }
    let (ra, rb) = (&a[..a.len() - i], &b[..b.len() - i]);
    i + ra
        .iter()
        .rev()
        .zip(rb.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// Sixteen bytes as a little-endian number.
#[inline(always)]
fn wide(c: &[u8]) -> u128 {
    match c.first_chunk::<16>() {
        Some(w) => u128::from_le_bytes(*w),
        None => 0,
    }
}

/// Bit `i` of the bitmap (0 past its end).
#[inline(always)]
fn bit(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
}

/// The bits `0..=r` of a word.
#[inline(always)]
fn up_to(r: usize) -> u64 {
    u64::MAX >> (63 - r)
}

/// The number of runs that start in `x..y`.
fn starts_in(bits: &[u64], x: usize, y: usize) -> usize {
    if x >= y {
        return 0;
    }
    let (w0, w1) = (x / 64, (y - 1) / 64);
    let mut n = 0;
    let mut carry = match w0 {
        0 => 0,
        w => bits.get(w - 1).copied().unwrap_or(0) >> 63,
    };
    for w in w0..=w1 {
        let cur = bits.get(w).copied().unwrap_or(0);
        let mut starts = cur & !((cur << 1) | carry);
        carry = cur >> 63;
        if w == w0 {
            starts &= !0u64 << (x % 64);
        }
        if w == w1 {
            starts &= up_to((y - 1) % 64);
        }
        n += starts.count_ones() as usize;
    }
    n
}

/// End of the run holding the set bit `i`.
fn run_end(bits: &[u64], i: usize) -> usize {
    let mut w = i / 64;
    let mut m = !bits.get(w).copied().unwrap_or(0) & (!0u64 << (i % 64));
    while m == 0 {
        w += 1;
        m = !bits.get(w).copied().unwrap_or(0);
    }
    w * 64 + m.trailing_zeros() as usize
}

/// Start of the run holding the set bit `i`.
fn run_start(bits: &[u64], i: usize) -> usize {
    let mut w = i / 64;
    let mut m = !bits.get(w).copied().unwrap_or(0) & up_to(i % 64);
    while m == 0 {
        if w == 0 {
            return 0;
        }
        w -= 1;
        m = !bits.get(w).copied().unwrap_or(0);
    }
    w * 64 + 64 - m.leading_zeros() as usize
}

/// The first run starting at or after `x` (not strictly inside a run).
fn next_run(bits: &[u64], x: usize) -> Option<(usize, usize)> {
    let mut w = x / 64;
    let mut c = bits.get(w)? & (!0u64 << (x % 64));
    while c == 0 {
        w += 1;
        c = *bits.get(w)?;
    }
    let start = w * 64 + c.trailing_zeros() as usize;
    Some((start, run_end(bits, start)))
}

/// The last run ending at or before `y` (not strictly inside a run).
fn prev_run(bits: &[u64], y: usize) -> Option<(usize, usize)> {
    let last = y.checked_sub(1)?;
    let mut w = last / 64;
    let mut c = bits.get(w).copied().unwrap_or(0) & up_to(last % 64);
    while c == 0 {
        w = w.checked_sub(1)?;
        c = bits.get(w).copied().unwrap_or(0);
    }
    let last = w * 64 + 63 - c.leading_zeros() as usize;
    Some((run_start(bits, last), last + 1))
}

/// Clears the bits of `bits` outside the byte range `lo..hi` (`lo ≤ hi`).
pub(super) fn keep(bits: &mut [u64], (lo, hi): (usize, usize)) {
    let n = bits.len();
    let (wl, wh) = ((lo / 64).min(n), (hi / 64).min(n));
    bits[..wl].iter_mut().for_each(|w| *w = 0);
    if let Some(w) = bits.get_mut(wl) {
        *w &= !0u64 << (lo % 64);
    }
    if let Some(w) = bits.get_mut(wh) {
        *w &= (1u64 << (hi % 64)) - 1;
    }
    bits[(wh + 1).min(n)..].iter_mut().for_each(|w| *w = 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// The runs of a bitmap by a bit-by-bit scan.
    fn scan(bits: &[u64]) -> Vec<(usize, usize)> {
        let bit = |i: usize| bits.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1);
        let (mut v, mut i) = (Vec::new(), 0);
        while i < bits.len() * 64 {
            if bit(i) {
                let s = i;
                while bit(i) {
                    i += 1;
                }
                v.push((s, i));
            } else {
                i += 1;
            }
        }
        v
    }

    /// Bitmaps of every shape (runs across words, whole words of ones, empty words, the last
    /// bit of a word): each run helper against the scan, at every position that is not
    /// strictly inside a run; `keep` keeps exactly the bits of its range.
    #[test]
    fn run_helpers_and_keep_equal_a_scan() {
        let mut r = Rng(0x7A3D_9E11_C0DE_5EED);
        for round in 0..5_000 {
            let words = 1 + r.below(5);
            let mut bits: Vec<u64> = (0..words)
                .map(|_| match r.below(6) {
                    0 => 0,
                    1 => !0,
                    2 => 1 << 63,
                    3 => 1,
                    _ => (r.below(usize::MAX) as u64) ^ ((r.below(usize::MAX) as u64) << 32),
                })
                .collect();
            if round % 2 == 0 {
                bits.push(0);
            }
            let runs = scan(&bits);
            let total = bits.len() * 64;
            let bit = |i: usize| bits.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1);
            for x in 0..=total {
                for &(s, e) in &runs {
                    if (s..e).contains(&x) {
                        assert_eq!((run_start(&bits, x), run_end(&bits, x)), (s, e));
                    }
                }
                if x > 0 && x < total && bit(x - 1) && bit(x) {
                    continue; // strictly inside a run
                }
                let next = runs.iter().copied().find(|&(s, _)| s >= x);
                assert_eq!(next_run(&bits, x), next, "{bits:x?} {x}");
                let prev = runs.iter().copied().rev().find(|&(_, e)| e <= x);
                assert_eq!(prev_run(&bits, x), prev, "{bits:x?} {x}");
                for y in [x, x + 1, x + 63, x + 64, x + 65, total] {
                    let want = runs.iter().filter(|&&(s, _)| x <= s && s < y).count();
                    assert_eq!(starts_in(&bits, x, y), want, "{bits:x?} {x}..{y}");
                }
            }
            let lo = r.below(words * 64 + 2);
            let hi = lo + r.below(words * 64 + 2);
            let mut kept = bits.clone();
            keep(&mut kept, (lo, hi));
            for i in 0..total {
                let was = bits[i / 64] >> (i % 64) & 1;
                let now = kept[i / 64] >> (i % 64) & 1;
                assert_eq!(now, was & u64::from(lo <= i && i < hi), "{i} {lo}..{hi}");
            }
        }
    }

    #[test]
    fn common_bytes_equal_a_scan() {
        let mut r = Rng(0x51DE_C0DE_0000_0001);
        for _ in 0..20_000 {
            let n = r.below(40);
            let a: Vec<u8> = (0..n).map(|_| b"ab"[r.below(2)]).collect();
            let mut b = a.clone();
            if r.below(3) > 0 && !b.is_empty() {
                let i = r.below(b.len());
                b[i] = b'c';
            }
            b.truncate(b.len().saturating_sub(r.below(3)));
            let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            let suf = a
                .iter()
                .rev()
                .zip(b.iter().rev())
                .take_while(|(x, y)| x == y)
                .count();
            assert_eq!(common_prefix(&a, &b), pre, "{a:?} {b:?}");
            assert_eq!(common_suffix(&a, &b), suf, "{a:?} {b:?}");
        }
    }
}
