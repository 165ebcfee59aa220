//! Byte classes into bitmaps, and the maximal runs of set bits of a bitmap: how rouge_l's
//! fused path finds its tokens and fuzzy_match its words without a branch per byte.
//!
//! A class is a set of byte ranges below 0x80; `block_bits` tests the 64 bytes of a block
//! against them byte-wise (vectorized by the compiler) and gathers the flags into one word
//! (bit `i` = byte `i`). A bitmap holds one bit per byte of a text, 64 per word, and ends with
//! a zero word so every run ends inside it; [`Runs`] walks its runs with `trailing_zeros`.
//! (rouge_l's fused path has its own SSE2 scan and walk, `crate::rouge::fused`; the byte-wise
//! class test here is the oracle of its tests.)

/// The little-endian word of up to eight bytes, zero-padded.
#[inline(always)]
pub(crate) fn word_of(chunk: &[u8]) -> u64 {
    match <[u8; 8]>::try_from(chunk) {
        Ok(full) => u64::from_le_bytes(full),
        Err(_) => {
            let mut w = [0u8; 8];
            let n = chunk.len().min(8);
            w[..n].copy_from_slice(&chunk[..n]);
            u64::from_le_bytes(w)
        }
    }
}

/// Bit `i` of the result: byte `i` of `block` lies in one of `ranges` (inclusive, all below 0x80; a range marked `true` is tested on
/// the byte OR-ed with 0x20, which folds ASCII case); and the
/// OR of the block's bytes.
///
/// Byte-wise range tests into a flag byte per text byte (0 or 1) — a loop the compiler turns
/// into 16-byte vector compares — then each eight flag bytes gathered into one byte by a
/// multiply. (The same tests on 64-bit words, eight bytes at a time, cost about 2.5× the
/// instructions: the compiler vectorizes those into two 64-bit lanes with emulated
/// multiplies.)
#[inline(always)]
fn block_bits(block: &[u8; 64], ranges: &[(u8, u8, bool)]) -> (u64, u8) {
    let mut flags = [0u8; 64];
    let mut any = 0u8;
    for (f, &b) in flags.iter_mut().zip(block) {
        let mut hit = false;
        for &(lo, hi, fold) in ranges {
            let y = if fold { b | 0x20 } else { b };
            // Bytes from 0x80 up fail every test: `y − lo ≥ 0x80 − lo > hi − lo`.
            hit |= y.wrapping_sub(lo) <= hi - lo;
        }
        *f = u8::from(hit);
        any |= b;
    }
    let (eights, _) = flags.as_chunks::<8>();
    let mut word = 0u64;
    for (k, e) in eights.iter().enumerate() {
        // Bytes 0/1 at bits 8j; the multiply sums bit j of byte j into bit 56 + j.
        word |= (u64::from_le_bytes(*e).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    (word, any)
}

/// Fills `bits` with the bitmap of `text` for `class` (bit `i` = byte `i` is in the class; with
/// `invert`, = byte `i` is *not* in it), plus a final zero word; returns the number of runs
/// and a word whose 0x80 bits say whether any byte is non-ASCII (the OR of all bytes).
#[inline(always)]
pub(crate) fn bitmap(
    text: &[u8],
    class: &[(u8, u8, bool)],
    invert: bool,
    bits: &mut Vec<u64>,
) -> (usize, u64) {
    bits.clear();
    bits.reserve(text.len() / 64 + 2);
    let mut any = 0u8;
    let mut prev_top = 0u64;
    let mut runs = 0u32;
    let (blocks, rest) = text.as_chunks::<64>();
    for block in blocks {
        let (mut word, a) = block_bits(block, class);
        any |= a;
        if invert {
            word = !word;
        }
        runs += (word & !((word << 1) | prev_top)).count_ones();
        prev_top = word >> 63;
        bits.push(word);
    }
    if !rest.is_empty() {
        // The tail, zero-padded to a block; only its own bytes' bits are kept.
        let mut block = [0u8; 64];
        block[..rest.len()].copy_from_slice(rest);
        let (mut word, a) = block_bits(&block, class);
        any |= a;
        if invert {
            word = !word;
        }
        word &= (1u64 << rest.len()) - 1;
        runs += (word & !((word << 1) | prev_top)).count_ones();
        bits.push(word);
    }
    bits.push(0);
    (runs as usize, u64::from(any))
}

/// The maximal runs of set bits of a bitmap ending with a zero word, as `(start, end)`.
#[derive(Debug)]
pub(crate) struct Runs<'a> {
    bits: &'a [u64],
    w: usize,
    /// Bits of word `w` not yet consumed.
    cur: u64,
}

impl<'a> Runs<'a> {
    pub(crate) fn new(bits: &'a [u64]) -> Self {
        Runs {
            bits,
            w: 0,
            cur: bits.first().copied().unwrap_or(0),
        }
    }

    /// End of a run that reaches the top bit of word `w`; moves past it.
    #[inline(never)]
    fn long_run(&mut self) -> usize {
        let mut end = (self.w + 1) * 64;
        self.w += 1;
        self.cur = self.bits.get(self.w).copied().unwrap_or(0);
        while self.cur == !0u64 {
            end += 64;
            self.w += 1;
            self.cur = self.bits.get(self.w).copied().unwrap_or(0);
        }
        // `cur` has a zero bit (the bitmap ends with a zero word, or past its end cur = 0).
        let r = (!self.cur).trailing_zeros();
        self.cur &= !0u64 << r;
        end + r as usize
    }
}

impl Iterator for Runs<'_> {
    type Item = (usize, usize);

    #[inline(always)]
    fn next(&mut self) -> Option<(usize, usize)> {
        while self.cur == 0 {
            self.w += 1;
            self.cur = *self.bits.get(self.w)?;
        }
        let s = self.cur.trailing_zeros();
        let start = self.w * 64 + s as usize;
        // Ones from bit `s` up (at most 64 − s: the shift brings in zeros).
        let run = (!(self.cur >> s)).trailing_zeros();
        if s + run < 64 {
            // Bits below `s` are already clear; drop the run's.
            self.cur &= !0u64 << (s + run);
            return Some((start, start + run as usize));
        }
        Some((start, self.long_run()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_random_bitmaps_equal_a_scan() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let class: &[(u8, u8, bool)] = &[(b'a', b'z', true), (b'0', b'9', false)];
        for round in 0..3000 {
            let len = (round * 7) % 400;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    // long runs sometimes, to cross 64-byte words
                    match seed % 11 {
                        0 => b' ',
                        1 => 0xC3,
                        2 => b'Z',
                        3 => b'5',
                        4 => b'.',
                        _ if round % 3 == 0 => b'q',
                        _ => [b'a', b'@', b'[', b'`', b'{', b'/', b':'][(seed >> 8) as usize % 7],
                    }
                })
                .collect();
            let mut bits = Vec::new();
            let (n, _) = bitmap(&text, class, false, &mut bits);
            let runs: Vec<(usize, usize)> = Runs::new(&bits).collect();
            let mut inv = Vec::new();
            let (n_inv, _) = bitmap(&text, class, true, &mut inv);
            let gaps: Vec<(usize, usize)> = Runs::new(&inv).collect();
            let mut want_gaps = Vec::new();
            let mut i = 0;
            while i < text.len() {
                if !text[i].is_ascii_alphanumeric() {
                    let s = i;
                    while i < text.len() && !text[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                    want_gaps.push((s, i));
                } else {
                    i += 1;
                }
            }
            assert_eq!(gaps, want_gaps, "{text:?}");
            assert_eq!(n_inv, want_gaps.len());
            let mut want = Vec::new();
            let mut i = 0;
            while i < text.len() {
                if text[i].is_ascii_alphanumeric() {
                    let s = i;
                    while i < text.len() && text[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                    want.push((s, i));
                } else {
                    i += 1;
                }
            }
            assert_eq!(runs, want, "{text:?}");
            assert_eq!(n, want.len());
        }
    }

    #[test]
    fn bitmap_bits_of_every_byte_value() {
        let classes: [&[(u8, u8, bool)]; 3] = [
            &[(b'a', b'z', true), (b'0', b'9', false)],
            &[(0x09, 0x0D, false), (0x1C, 0x20, false)],
            &[(0x00, 0x7F, false)],
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for round in 0..2000 {
            let len = round % 300;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed >> 24) as u8
                })
                .collect();
            for class in classes {
                let member = |b: u8| {
                    class.iter().any(|&(lo, hi, fold)| {
                        let y = if fold && b < 0x80 { b | 0x20 } else { b };
                        b < 0x80 && (lo..=hi).contains(&y)
                    })
                };
                for invert in [false, true] {
                    let mut bits = Vec::new();
                    let (_, any) = bitmap(&text, class, invert, &mut bits);
                    assert_eq!(bits.len(), text.len().div_ceil(64) + 1);
                    assert_eq!(bits.last(), Some(&0));
                    for (i, &b) in text.iter().enumerate() {
                        let bit = bits[i / 64] >> (i % 64) & 1 == 1;
                        assert_eq!(bit, member(b) != invert, "byte {b:#x} at {i}");
                    }
                    // no bits past the text
                    if !text.len().is_multiple_of(64) {
                        assert_eq!(bits[text.len() / 64] >> (text.len() % 64), 0);
                    }
                    assert_eq!(any & 0x80 != 0, text.iter().any(|&b| b >= 0x80));
                }
            }
        }
    }
}
