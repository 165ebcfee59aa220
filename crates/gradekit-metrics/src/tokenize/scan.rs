//! The substitution driver of the Treebank passes: one Python `re.sub`, done by jumping
//! from trigger byte to trigger byte and copying the untouched stretches in bulk.

use super::ascii::ByteSet;

/// Scratch buffers reused across the sentences of one text.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub(crate) a: Vec<u8>,
    pub(crate) b: Vec<u8>,
}

/// One `re.sub` over `s.a`.  For each byte of `trigger` at index `j` (in order, from
/// the end of the previous match on), `find(src, j, pos)` returns the range of the match
/// that this trigger belongs to, if any (its start is never before `pos`, the end of the
/// previous match); `emit` writes the replacement of that range.  The matches found this
/// way are Python's leftmost non-overlapping ones because every match of the patterns
/// driven here begins at, or one or two bytes before, the first trigger byte it holds,
/// and `find` is asked about the triggers in order.
pub(crate) fn subst(
    s: &mut Scratch,
    trigger: Trigger,
    find: impl Fn(&[u8], usize, usize) -> Option<(usize, usize)>,
    emit: impl Fn(&[u8], usize, usize, &mut Vec<u8>),
) {
    let src = &s.a;
    let dst = &mut s.b;
    dst.clear();
    let (mut pos, mut i) = (0, 0);
    while let Some(off) = trigger.next_in(&src[i..]) {
        let j = i + off;
        match find(src, j, pos) {
            Some((start, end)) => {
                dst.extend_from_slice(&src[pos..start]);
                emit(src, start, end, dst);
                pos = end;
                i = end;
            }
            None => i = j + 1,
        }
        if i >= src.len() {
            break;
        }
    }
    if pos > 0 {
        dst.extend_from_slice(&src[pos..]);
        std::mem::swap(&mut s.a, &mut s.b);
    }
}

/// What a substitution scans for: one byte or two bytes (found eight at a time), or a
/// set of bytes (one table look-up per byte).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Trigger {
    Byte(u8),
    Pair(u8, u8),
    Set(&'static ByteSet),
}

impl Trigger {
    #[inline(always)]
    fn next_in(self, hay: &[u8]) -> Option<usize> {
        match self {
            Trigger::Byte(c) => find_byte(hay, c),
            Trigger::Pair(a, b) => find_first(hay, |w| eq_mask(w, a) | eq_mask(w, b)),
            Trigger::Set(set) => find_in_set(hay, set),
        }
    }
}

/// Index of the first byte of `hay` in `set`: eight table look-ups OR-ed per step, so a
/// branch per eight bytes instead of per byte.
#[inline(always)]
fn find_in_set(hay: &[u8], set: &ByteSet) -> Option<usize> {
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |any, &b| any | set.contains(b)) {
            return chunk
                .iter()
                .position(|&b| set.contains(b))
                .map(|p| base + p);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| set.contains(b))
        .map(|p| base + p)
}

/// Positions of the bytes flagged by `flags` (exact bit-7 flags of an 8-byte word, 0
/// for zero padding), in order, found eight bytes per step.
pub(crate) struct Flagged<'a, F> {
    hay: &'a [u8],
    /// Start of the word whose remaining flags are `bits`.
    at: usize,
    bits: u64,
    flags: F,
}

impl<'a, F: Fn(u64) -> u64> Flagged<'a, F> {
    pub(crate) fn new(hay: &'a [u8], flags: F) -> Self {
        let bits = if hay.is_empty() {
            0
        } else {
            flags(word_at(hay, 0, 0)) & HI
        };
        Flagged {
            hay,
            at: 0,
            bits,
            flags,
        }
    }
}

impl<F: Fn(u64) -> u64> Iterator for Flagged<'_, F> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.bits == 0 {
            self.at += 8;
            // Flagged bytes are sparse (Punkt's sentence-end marks): skip 32 bytes per step
            // while none of them is flagged (one test per four words instead of one per word).
            while let Some(block) = self.hay.get(self.at..self.at + 32) {
                let word = |k: usize| {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(&block[8 * k..8 * k + 8]);
                    (self.flags)(u64::from_le_bytes(w))
                };
                if (word(0) | word(1) | word(2) | word(3)) & HI != 0 {
                    break;
                }
                self.at += 32;
            }
            if self.at >= self.hay.len() {
                return None;
            }
            self.bits = (self.flags)(word_at(self.hay, self.at, 0)) & HI;
        }
        let i = self.at + (self.bits.trailing_zeros() / 8) as usize;
        self.bits &= self.bits - 1;
        (i < self.hay.len()).then_some(i)
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
pub(crate) const HI: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// Exact per-byte equality flags of a word: bit 7 of each byte of the result is set iff
/// that byte of `w` equals `c` (no borrow crosses bytes, unlike the "has a zero byte"
/// test, so every flag is exact).
#[inline(always)]
pub(crate) fn eq_mask(w: u64, c: u8) -> u64 {
    let y = w ^ LO.wrapping_mul(u64::from(c));
    !(((y & LOW7) + LOW7) | y | LOW7)
}

/// Bit 7 of each byte of the result is set iff that byte of `w` is `.`, `?` or `!`, for a
/// word of ASCII bytes (Punkt's sentence-end marks; Punkt only sees ASCII text). With every
/// byte below 0x80, `y + 0x7f` sets bit 7 of a byte exactly when that byte of `y` is not zero
/// and never carries into the next byte: two operations per mark instead of `eq_mask`'s six.
#[inline(always)]
pub(crate) fn ascii_mark_flags(w: u64) -> u64 {
    let nonzero = |c: u8| (w ^ LO.wrapping_mul(u64::from(c))).wrapping_add(LOW7);
    !(nonzero(b'.') & nonzero(b'?') & nonzero(b'!')) & HI
}

/// Bit 7 of each byte of the result is set iff that byte of `w` is not Python's ASCII `\w`
/// (`[0-9A-Za-z_]`). Exact for a word of ASCII bytes; a byte ≥ 0x80 is flagged too, and only
/// flags above it (later bytes) can be wrong, so the lowest flag is always exact.
#[inline(always)]
pub(crate) fn non_word_mask(w: u64) -> u64 {
    // For x < 0x80, `x + (0x80 - lo)` has bit 7 set iff x ≥ lo and `x + (0x7f - hi)` iff
    // x > hi; neither sum carries out of its byte. `| 0x20` folds A-Z onto a-z (and no
    // other byte onto a-z).
    let l = w | (LO * 0x20);
    // Wrapping: a byte ≥ 0x80 may carry out of the top byte (its flags are not used then).
    let ge = |x: u64, lo: u8| x.wrapping_add(LO * (0x80 - u64::from(lo)));
    let gt = |x: u64, hi: u8| x.wrapping_add(LO * (0x7f - u64::from(hi)));
    let alpha = ge(l, b'a') & !gt(l, b'z');
    let digit = ge(w, b'0') & !gt(w, b'9');
    let word = (alpha | digit | eq_mask(w, b'_')) & !w;
    !word & HI
}

/// [`non_word_mask`] for `[0-9A-Za-z]` (no underscore).
#[inline(always)]
pub(crate) fn non_alnum_mask(w: u64) -> u64 {
    let l = w | (LO * 0x20);
    let ge = |x: u64, lo: u8| x.wrapping_add(LO * (0x80 - u64::from(lo)));
    let gt = |x: u64, hi: u8| x.wrapping_add(LO * (0x7f - u64::from(hi)));
    let alpha = ge(l, b'a') & !gt(l, b'z');
    let digit = ge(w, b'0') & !gt(w, b'9');
    !((alpha | digit) & !w) & HI
}

/// End of the run of ASCII `[0-9A-Za-z]` bytes of `s` starting at `from` (eight bytes per
/// step; any byte ≥ 0x80 ends the run).
#[inline(always)]
pub(crate) fn alnum_run_end(s: &[u8], from: usize) -> usize {
    let mut at = from;
    loop {
        let m = non_alnum_mask(word_at(s, at, b' '));
        if m != 0 {
            return (at + (m.trailing_zeros() / 8) as usize).min(s.len());
        }
        at += 8;
    }
}

/// End of the run of `\w` bytes of ASCII `s` starting at `from` (eight bytes per step).
#[inline(always)]
pub(crate) fn word_run_end(s: &[u8], from: usize) -> usize {
    let mut at = from;
    loop {
        // Padding past the end is a space, which ends the run.
        let m = non_word_mask(word_at(s, at, b' '));
        if m != 0 {
            return (at + (m.trailing_zeros() / 8) as usize).min(s.len());
        }
        at += 8;
    }
}

/// Eight bytes of `b` from `at` as a little-endian word (`pad` past the end).
#[inline(always)]
pub(crate) fn word_at(b: &[u8], at: usize, pad: u8) -> u64 {
    match b.get(at..at + 8) {
        Some(chunk) => {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            u64::from_le_bytes(w)
        }
        None => {
            let mut w = [pad; 8];
            let tail = b.get(at..).unwrap_or_default();
            for (d, &s) in w.iter_mut().zip(tail) {
                *d = s;
            }
            u64::from_le_bytes(w)
        }
    }
}

/// Index of the first byte flagged by `flags` (a function of an 8-byte word giving exact
/// bit-7 flags, 0 for zero padding), eight bytes per step.
#[inline(always)]
pub(crate) fn find_first(hay: &[u8], flags: impl Fn(u64) -> u64) -> Option<usize> {
    let mut at = 0;
    while at < hay.len() {
        let f = flags(word_at(hay, at, 0)) & HI;
        if f != 0 {
            let i = at + (f.trailing_zeros() / 8) as usize;
            return (i < hay.len()).then_some(i);
        }
        at += 8;
    }
    None
}

/// Index of the first `c` in `hay`, testing eight bytes per step (the classic
/// "has a zero byte" bit trick; the lowest flagged byte is always a true match).
#[inline]
pub(crate) fn find_byte(hay: &[u8], c: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO.wrapping_mul(u64::from(c));
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == c)
        .map(|p| base + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_run_end_agrees_with_the_byte_class() {
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut bytes: Vec<u8> = (0u8..=255).collect();
        bytes.extend_from_slice(b"abc_XYZ019 @[`{/:");
        for (i, &c) in bytes.iter().enumerate() {
            for len in 0..20 {
                // A run of word bytes, then `c`, then more word bytes.
                let mut s: Vec<u8> = (0..len).map(|k| b"aZ9_q"[k % 5]).collect();
                s.push(c);
                s.extend_from_slice(b"word");
                let want = s.iter().position(|&b| !is_word(b)).unwrap_or(s.len());
                assert_eq!(word_run_end(&s, 0), want, "{i} {len}");
            }
        }
        assert_eq!(word_run_end(b"abc", 0), 3);
        assert_eq!(word_run_end(b"", 0), 0);
        assert_eq!(word_run_end(b"ab cd", 3), 5);
    }

    #[test]
    fn ascii_mark_flags_are_exact_on_ascii() {
        for a in 0u8..128 {
            for b in 0u8..128 {
                let w = u64::from_le_bytes([a, b, b'.', a, b'?', b, b'!', a]);
                let want: u64 = [a, b, b'.', a, b'?', b, b'!', a]
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| matches!(c, b'.' | b'?' | b'!'))
                    .map(|(k, _)| 0x80u64 << (8 * k))
                    .sum();
                assert_eq!(ascii_mark_flags(w), want, "{a} {b}");
            }
        }
    }

    #[test]
    fn flagged_finds_every_mark_in_order() {
        // Texts of every length up to 100 with marks at a few positions (sparse, dense, in
        // and across 32-byte blocks, at the last byte), against a plain filter.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in 0..100usize {
            for round in 0..40 {
                let mut t: Vec<u8> = (0..len).map(|k| b"ab cd,ef-gh"[k % 11]).collect();
                let marks = if round == 0 { len } else { round % 5 };
                for _ in 0..marks {
                    if len > 0 {
                        let at = (next() as usize) % len;
                        t[at] = b".?!"[(next() % 3) as usize];
                    }
                }
                let want: Vec<usize> = t
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| matches!(c, b'.' | b'?' | b'!'))
                    .map(|(k, _)| k)
                    .collect();
                let got: Vec<usize> = Flagged::new(&t, ascii_mark_flags).collect();
                assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&t));
            }
        }
    }

    #[test]
    fn alnum_run_end_agrees_with_the_byte_class() {
        let mut bytes: Vec<u8> = (0u8..=255).collect();
        bytes.extend_from_slice(b"abc_XYZ019 @[`{/:");
        for (i, &c) in bytes.iter().enumerate() {
            for len in 0..20 {
                let mut s: Vec<u8> = (0..len).map(|k| b"aZ9zq"[k % 5]).collect();
                s.push(c);
                s.extend_from_slice(b"word");
                let want = s
                    .iter()
                    .position(|&b| !b.is_ascii_alphanumeric())
                    .unwrap_or(s.len());
                assert_eq!(alnum_run_end(&s, 0), want, "{i} {len}");
            }
        }
        assert_eq!(alnum_run_end("ab\u{e9}".as_bytes(), 0), 2);
        assert_eq!(alnum_run_end(b"", 0), 0);
    }
}
