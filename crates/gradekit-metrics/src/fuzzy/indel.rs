//! Indel distance (insertions and deletions only) through the longest common subsequence.
//!
//! `Indel(a, b) = |a| + |b| − 2·LCS(a, b)`. The LCS is computed with the bit-parallel
//! algorithm of Allison & Dix / Hyyrö ("Bit-parallel LCS-length computation revisited", 2004),
//! as rapidfuzz does: the shorter string is the pattern, one bit per pattern position in
//! ⌈m/64⌉ machine words, and each text character updates the words with one add, one and, one
//! or — O(⌈m/64⌉·n) time, O(⌈m/64⌉·σ) memory where σ is the number of distinct pattern
//! characters. Common prefixes and suffixes are stripped first (they are always part of an
//! LCS).
//!
//! The pattern alphabet is compacted: every distinct pattern character gets a dense index
//! (Latin-1 through a 256-entry table, other code points through a small open-addressing hash
//! table) so the match masks take σ·⌈m/64⌉ words, not 256·⌈m/64⌉.

use std::cell::Cell;

/// Match masks of a pattern: for each distinct character, the bit set of its positions.
///
/// Two layouts. *Narrow* (every pattern code point below 256, pattern of at most
/// [`NARROW_MAX`] code points): row `c − base + 1` holds the masks of code point `c`, for `c`
/// in `base .. base + span`, built in one pass with no index table (all rows are zeroed first:
/// one `memset`). `base` is the AND of the pattern's code points and `base + span − 1` their
/// OR — bounds of its smallest and largest code point that cost one vectorized pass; for
/// processed ASCII text (space, digits, lowercase letters) that is 0x20..=0x7F, 97 rows
/// instead of 257. *Compact* (anything else): every distinct character gets a dense index first.
/// Row 0 is all zeros in both (characters absent from the pattern).
#[derive(Debug, Clone)]
pub(crate) struct PatternMatch {
    words: usize,
    /// Narrow layout in use (`masks` holds `span + 1` rows).
    narrow: bool,
    /// Narrow layout: the code point of row 1, and the number of code points with a row.
    base: u32,
    span: u32,
    /// Dense index (0 = absent) of each Latin-1 character.
    latin: [u32; 256],
    /// The Latin-1 characters with a non-zero entry in `latin`.
    latin_used: Vec<u8>,
    /// Open-addressing table of the other characters: (code point, dense index); 0 = empty.
    wide: Vec<(u32, u32)>,
    /// `(σ + 1) · words` masks, index 0 all zeros.
    masks: Vec<u64>,
}

#[inline]
fn hash(c: u32) -> usize {
    (c.wrapping_mul(0x9E37_79B1) >> 7) as usize
}

impl PatternMatch {
    pub(crate) fn new(pattern: &[u32]) -> Self {
        let mut pm = PatternMatch {
            words: 1,
            narrow: false,
            base: 0,
            span: 0,
            latin: [0; 256],
            latin_used: Vec::new(),
            wide: Vec::new(),
            masks: Vec::new(),
        };
        pm.rebuild(pattern);
        pm
    }

    /// Makes `self` the masks of `pattern`, reusing its buffers (only the Latin-1 entries the
    /// previous pattern set are cleared, not the whole table).
    fn rebuild(&mut self, pattern: &[u32]) {
        let (and, or) = pattern
            .iter()
            .fold((u32::MAX, 0), |(a, o), &c| (a & c, o | c));
        if pattern.len() <= NARROW_MAX && or < 256 {
            let words = pattern.len().div_ceil(64).max(1);
            let base = and.min(or);
            let span = or - base + 1;
            // Zeroing all rows (one `memset` of at most 66 KiB, 3 KiB for a sentence) is
            // cheaper than tracking and clearing only the rows the last pattern set.
            self.masks.clear();
            self.masks.resize((span as usize + 1) * words, 0);
            self.narrow = true;
            self.words = words;
            self.base = base;
            self.span = span;
            match words {
                1 => narrow_rows::<1>(pattern, base, &mut self.masks),
                2 => narrow_rows::<2>(pattern, base, &mut self.masks),
                3 => narrow_rows::<3>(pattern, base, &mut self.masks),
                4 => narrow_rows::<4>(pattern, base, &mut self.masks),
                _ => narrow_rows_any(pattern, base, words, &mut self.masks),
            }
            return;
        }
        self.narrow = false;
        for &c in &self.latin_used {
            self.latin[usize::from(c)] = 0;
        }
        self.latin_used.clear();
        let words = pattern.len().div_ceil(64).max(1);
        self.words = words;
        self.wide.clear();
        let wide_count = pattern.iter().filter(|&&c| c >= 256).count();
        if wide_count > 0 {
            self.wide
                .resize((wide_count * 2).next_power_of_two(), (0, 0));
        }
        // pass 1: dense indices; pass 2: the masks, then the bits
        let mut sigma = 0u32;
        for &c in pattern {
            if self.index(c) == 0 {
                sigma += 1;
                self.insert(c, sigma);
            }
        }
        self.masks.clear();
        self.masks.resize((sigma as usize + 1) * words, 0);
        for (pos, &c) in pattern.iter().enumerate() {
            let slot = self.index(c) as usize * words + pos / 64;
            if let Some(m) = self.masks.get_mut(slot) {
                *m |= 1u64 << (pos % 64);
            }
        }
    }

    fn insert(&mut self, c: u32, idx: u32) {
        if let Some(slot) = self.latin.get_mut(c as usize) {
            *slot = idx;
            self.latin_used.push(c as u8);
            return;
        }
        let mask = self.wide.len() - 1;
        let mut i = hash(c) & mask;
        loop {
            match self.wide.get_mut(i) {
                Some(entry) if entry.1 == 0 => {
                    *entry = (c, idx);
                    return;
                }
                Some(_) => i = (i + 1) & mask,
                None => return,
            }
        }
    }

    /// Row of `c` in `masks` (0 when `c` is not in the pattern).
    #[inline]
    pub(crate) fn index(&self, c: u32) -> u32 {
        if self.narrow {
            let d = c.wrapping_sub(self.base);
            return if d < self.span { d + 1 } else { 0 };
        }
        if let Some(&idx) = self.latin.get(c as usize) {
            return idx;
        }
        if self.wide.is_empty() {
            return 0;
        }
        let mask = self.wide.len() - 1;
        let mut i = hash(c) & mask;
        while let Some(&(key, idx)) = self.wide.get(i) {
            if idx == 0 {
                return 0;
            }
            if key == c {
                return idx;
            }
            i = (i + 1) & mask;
        }
        0
    }

    #[inline]
    fn row(&self, c: u32) -> &[u64] {
        let start = self.index(c) as usize * self.words;
        self.masks.get(start..start + self.words).unwrap_or(&[])
    }

    #[inline]
    fn mask0(&self, c: u32) -> u64 {
        let start = self.index(c) as usize * self.words;
        self.masks.get(start).copied().unwrap_or(0)
    }

    /// The LCS of the pattern and `text`.
    pub(crate) fn lcs(&self, text: &[u32]) -> usize {
        if self.words == 1 {
            let mut s = !0u64;
            for &c in text {
                let u = s & self.mask0(c);
                s = s.wrapping_add(u) | (s - u);
            }
            return (!s).count_ones() as usize;
        }
        match self.words {
            2 => self.lcs_fixed::<2>(text),
            3 => self.lcs_fixed::<3>(text),
            4 => self.lcs_fixed::<4>(text),
            5 => self.lcs_fixed::<5>(text),
            6 => self.lcs_fixed::<6>(text),
            7 => self.lcs_fixed::<7>(text),
            8 => self.lcs_fixed::<8>(text),
            _ => {
                let mut state = vec![!0u64; self.words];
                for &c in text {
                    step(&mut state, self.row(c));
                }
                zeros(&state)
            }
        }
    }

    /// `lcs` for patterns of exactly `N` words: the state lives in registers and the word loop
    /// unrolls (rapidfuzz does the same for up to 8 words).
    fn lcs_fixed<const N: usize>(&self, text: &[u32]) -> usize {
        let mut state = [!0u64; N];
        for &c in text {
            // no test for "no match" (row 0, all zeros, leaves the state as it was): that
            // branch depends on the data
            let idx = self.index(c) as usize;
            let Some(row) = self.masks.get(idx * N..idx * N + N) else {
                continue;
            };
            let mut carry = false;
            for w in 0..N {
                let x = state[w];
                let u = x & row[w];
                let (sum, c1) = x.overflowing_add(u);
                let (sum, c2) = sum.overflowing_add(u64::from(carry));
                carry = c1 | c2;
                state[w] = sum | (x - u);
            }
        }
        zeros(&state)
    }

    /// Calls `f(k, lcs)` with the LCS of the pattern and `text[..k]`, for k = 1 and at least
    /// every later k at which it may have grown (a text character with no match in the
    /// pattern leaves it as it was; for a window score a longer window with the same LCS
    /// only scores lower).
    #[cfg(test)]
    pub(crate) fn lcs_profile(&self, text: &[u32], f: impl FnMut(usize, usize)) {
        self.lcs_profile_from(text, 1, f);
    }

    /// [`Self::lcs_profile`] from k = `from` on (the shorter prefixes are still scanned,
    /// without counting).
    pub(crate) fn lcs_profile_from(
        &self,
        text: &[u32],
        from: usize,
        mut f: impl FnMut(usize, usize),
    ) {
        let skip = from.saturating_sub(1).min(text.len());
        let (head, tail) = text.split_at(skip);
        match self.words {
            1 => self.profile_fixed::<1>(head, tail, &mut f),
            2 => self.profile_fixed::<2>(head, tail, &mut f),
            3 => self.profile_fixed::<3>(head, tail, &mut f),
            4 => self.profile_fixed::<4>(head, tail, &mut f),
            _ => {
                let mut state = vec![!0u64; self.words];
                for &c in head {
                    step(&mut state, self.row(c));
                }
                for (k, &c) in tail.iter().enumerate() {
                    step(&mut state, self.row(c));
                    f(head.len() + k + 1, zeros(&state));
                }
            }
        }
    }

    /// The profile for patterns of `N` words: the state in registers; a text character with
    /// no match in the pattern leaves the LCS as it was, so `f` is called again only after
    /// a match (a longer window with the same LCS scores lower).
    fn profile_fixed<const N: usize>(
        &self,
        head: &[u32],
        tail: &[u32],
        f: &mut impl FnMut(usize, usize),
    ) {
        let mut state = [!0u64; N];
        let row_of = |c: u32| {
            let idx = self.index(c) as usize;
            self.masks.get(idx * N..idx * N + N)
        };
        let update = |state: &mut [u64; N], row: &[u64]| {
            let mut carry = false;
            let mut any = 0u64;
            for w in 0..N {
                let x = state[w];
                let u = x & row[w];
                any |= u;
                let (sum, c1) = x.overflowing_add(u);
                let (sum, c2) = sum.overflowing_add(u64::from(carry));
                carry = c1 | c2;
                state[w] = sum | (x - u);
            }
            any != 0
        };
        for &c in head {
            if let Some(row) = row_of(c) {
                update(&mut state, row);
            }
        }
        let mut first = true;
        for (k, &c) in tail.iter().enumerate() {
            let changed = row_of(c).is_some_and(|row| update(&mut state, row));
            if changed || first {
                f(head.len() + k + 1, zeros(&state));
                first = false;
            }
        }
    }
}

/// One text character of the multi-word bit-parallel LCS: V' = (V + (V & M)) | (V & !M).
#[inline]
fn step(state: &mut [u64], row: &[u64]) {
    if row.is_empty() {
        return;
    }
    let mut carry = false;
    for (s, &m) in state.iter_mut().zip(row) {
        let x = *s;
        let u = x & m;
        let (sum, c1) = x.overflowing_add(u);
        let (sum, c2) = sum.overflowing_add(u64::from(carry));
        carry = c1 | c2;
        *s = sum | (x - u);
    }
}

#[inline]
fn zeros(state: &[u64]) -> usize {
    state.iter().map(|s| (!s).count_ones() as usize).sum()
}

/// Strips the common prefix and suffix of two slices; returns the stripped middles and the
/// number of characters removed from each.
pub(crate) fn strip_affix<'a>(a: &'a [u32], b: &'a [u32]) -> (&'a [u32], &'a [u32], usize) {
    let prefix = common_prefix(a, b);
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = common_suffix(a, b);
    (
        &a[..a.len() - suffix],
        &b[..b.len() - suffix],
        prefix + suffix,
    )
}

/// Code points compared at once by [`common_prefix`] / [`common_suffix`]: an XOR-OR over a
/// fixed-size chunk is a few vector instructions and one branch (a compare per code point is
/// a branch each; a slice `==` is a `memcmp` call). Near-duplicate texts share long affixes.
const AFFIX_CHUNK: usize = 16;

#[inline(always)]
fn chunk_eq(x: &[u32; AFFIX_CHUNK], y: &[u32; AFFIX_CHUNK]) -> bool {
    x.iter().zip(y).fold(0, |acc, (p, q)| acc | (p ^ q)) == 0
}

/// Length of the common prefix of `a` and `b`.
pub(crate) fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    let (ca, _) = a.as_chunks::<AFFIX_CHUNK>();
    let (cb, _) = b.as_chunks::<AFFIX_CHUNK>();
    let k = AFFIX_CHUNK
        * ca.iter()
            .zip(cb)
            .take_while(|(x, y)| chunk_eq(x, y))
            .count();
    let (a, b) = (&a[k..], &b[k..]);
    k + a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Length of the common suffix of `a` and `b`.
fn common_suffix(a: &[u32], b: &[u32]) -> usize {
    let (_, ca) = a.as_rchunks::<AFFIX_CHUNK>();
    let (_, cb) = b.as_rchunks::<AFFIX_CHUNK>();
    let k = AFFIX_CHUNK
        * ca.iter()
            .rev()
            .zip(cb.iter().rev())
            .take_while(|(x, y)| chunk_eq(x, y))
            .count();
    let (a, b) = (&a[..a.len() - k], &b[..b.len() - k]);
    k + a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// LCS length of two code-point strings.
pub(crate) fn lcs(a: &[u32], b: &[u32]) -> usize {
    let (a, b, affix) = strip_affix(a, b);
    if a.is_empty() || b.is_empty() {
        return affix;
    }
    let (pattern, text) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    thread_local! {
        static PM: Cell<Option<Box<PatternMatch>>> = const { Cell::new(None) };
    }
    // This thread's masks, taken out for the call (a nested call builds its own) and put back
    // unless a long pattern made them large.
    let mut pm = PM
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_else(|| Box::new(PatternMatch::new(&[])));
    pm.rebuild(pattern);
    let l = pm.lcs(text);
    if pm.masks.len() <= KEEP_MASK_WORDS {
        let _ = PM.try_with(|c| c.set(Some(pm)));
    }
    affix + l
}

/// Sets the narrow-layout rows of `pattern` (rows of `W` words, all zero before, `W` =
/// ⌈|pattern|/64⌉): 64 code points per mask word, the bit shifted along (no division per
/// code point).
#[inline(always)]
fn narrow_rows<const W: usize>(pattern: &[u32], base: u32, masks: &mut [u64]) {
    let (rows, _) = masks.as_chunks_mut::<W>();
    for (w, block) in pattern.chunks(64).enumerate() {
        let w = w.min(W - 1);
        let mut bit = 1u64;
        for &c in block {
            let c = (c.wrapping_sub(base) & 0xff) as usize;
            if let Some(row) = rows.get_mut(c + 1) {
                row[w] |= bit;
            }
            bit <<= 1;
        }
    }
}

/// [`narrow_rows`] for any row width.
fn narrow_rows_any(pattern: &[u32], base: u32, words: usize, masks: &mut [u64]) {
    for (w, block) in pattern.chunks(64).enumerate() {
        let mut bit = 1u64;
        for &c in block {
            let c = (c.wrapping_sub(base) & 0xff) as usize;
            if let Some(m) = masks.get_mut((c + 1) * words + w) {
                *m |= bit;
            }
            bit <<= 1;
        }
    }
}

/// Longest pattern given the narrow layout (≤ 257 rows of ⌈m/64⌉ words: 66 KiB at most).
const NARROW_MAX: usize = 2048;

/// Mask words kept per thread between calls of [`lcs`] (256 KiB).
const KEEP_MASK_WORDS: usize = 1 << 15;

/// Indel distance of two code-point strings.
pub(crate) fn distance(a: &[u32], b: &[u32]) -> usize {
    a.len() + b.len() - 2 * lcs(a, b)
}

/// rapidfuzz's `NormSim_to_NormDist` (with its 1e-5 imprecision allowance).
#[inline]
fn norm_sim_to_norm_dist(score_cutoff: f64) -> f64 {
    (1.0 - score_cutoff + 0.00001).min(1.0)
}

/// Normalized Indel similarity from a known distance, with rapidfuzz's float steps and cutoff
/// checks (`distance.hpp` `_normalized_similarity`): `1 − dist/(|a|+|b|)`, or 0 below
/// `score_cutoff` (both in [0, 1]).
pub(crate) fn normalized_similarity_from(dist: usize, maximum: usize, score_cutoff: f64) -> f64 {
    let cutoff_score = norm_sim_to_norm_dist(score_cutoff);
    let cutoff_distance = (maximum as f64 * cutoff_score).ceil();
    let dist = if dist as f64 <= cutoff_distance {
        dist as f64
    } else {
        cutoff_distance + 1.0
    };
    let norm_dist = if maximum != 0 {
        dist / maximum as f64
    } else {
        0.0
    };
    let norm_dist = if norm_dist <= cutoff_score {
        norm_dist
    } else {
        1.0
    };
    let norm_sim = 1.0 - norm_dist;
    if norm_sim >= score_cutoff {
        norm_sim
    } else {
        0.0
    }
}

/// Normalized Indel similarity of two strings (rapidfuzz `Indel.normalized_similarity`).
pub(crate) fn normalized_similarity(a: &[u32], b: &[u32], score_cutoff: f64) -> f64 {
    normalized_similarity_from(distance(a, b), a.len() + b.len(), score_cutoff)
}

#[cfg(test)]
mod tests;
