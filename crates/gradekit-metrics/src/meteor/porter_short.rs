//! The Porter steps of [`super`] on a short lower-case ASCII word held in registers-sized
//! state: the word in a fixed buffer and, beside it, one bit per letter saying whether the
//! letter is a consonant in Porter's sense. The conditions the rules test then need no walk
//! over the word: the measure of a stem is the number of vowel → consonant steps among its
//! letters (a popcount of two shifted masks), "contains a vowel" a mask test, `*o` and `*d`
//! bit tests; a suffix test compares one 64-bit load with the suffix. Only the tail of the
//! word ever changes, and a letter's bit depends only on the letters before it, so a change
//! recomputes the bits of the letters it added.
//!
//! METEOR stems every word it has not seen yet (a one-pass `gradekit score` run over new text:
//! about two a pair), and the generic steps (written over `Letter` for bytes and `char`s) spend
//! most of their time in per-letter loops and data-dependent branches. This is the same
//! algorithm, step for step and rule for rule (the rule lists are the parent's), for words of
//! 3..=[`MAX_LEN`] bytes; the tests compare it with the generic steps on the NLTK word list,
//! on every word of the bench pairs and on random words built from the rules' suffixes.

use super::{
    Cond, Rules, STEP1A_RULES, STEP1C_RULES, STEP2_RULES, STEP3_RULES, STEP4_RULES, STEP5B_RULES,
};

/// Longest word stemmed here (METEOR's word memo keeps words of up to 16 bytes).
pub(super) const MAX_LEN: usize = 16;

/// Zero bytes kept in front of the word, so the 8 bytes ending at any letter can be loaded.
const PAD: usize = 8;

/// A word being stemmed: bytes `buf[PAD..PAD + n]`, and bit `i` of `cons` set when letter `i`
/// is a consonant (bits at `n` and above mean nothing).
struct Word {
    buf: [u8; PAD + MAX_LEN],
    n: usize,
    cons: u32,
}

// The word-at-a-time form of [`classes`] (the other targets' path, and the tests' reference
// for the SSE2 one).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
const ONES: u64 = 0x0101_0101_0101_0101;
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
const HIGH: u64 = ONES * 0x80;
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
const LOW7: u64 = ONES * 0x7f;

/// The high bit of every byte of `x` equal to `c` (exact: no carry crosses a byte).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn eq_bytes(x: u64, c: u8) -> u64 {
    let y = x ^ (ONES * u64::from(c));
    !(((y & LOW7) + LOW7) | y) & HIGH
}

/// Bit `k` set for each byte `k` whose high bit is set (the 8 flags gathered by one multiply:
/// each lands on its own bit of the top byte, and no two partial products share a bit).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn gather(high: u64) -> u32 {
    ((high >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
}

/// Bits of the vowels (`a e i o u`) and of the `y`s among the 16 bytes of `(w0, w1)` (bit
/// `k` for byte `k`, `w0`'s bytes first).
#[inline(always)]
fn classes((w0, w1): (u64, u64)) -> (u32, u32) {
    #[cfg(target_arch = "x86_64")]
    {
        #[allow(unsafe_code)]
        // SAFETY: `sse2_classes` only needs SSE2, which every x86_64 CPU has (the x86_64
        // targets enable it at compile time); `unsafe` is only how Rust calls a
        // `#[target_feature]` function from code that does not itself name the feature.
        unsafe {
            sse2_classes(w0, w1)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        (
            vowel_bits(w0) | vowel_bits(w1) << 8,
            y_bits(w0) | y_bits(w1) << 8,
        )
    }
}

/// [`classes`] in SSE2: six byte compares and two movemasks (the word-at-a-time form takes
/// ~60 instructions).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn sse2_classes(w0: u64, w1: u64) -> (u32, u32) {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x,
    };
    let x = _mm_set_epi64x(w1 as i64, w0 as i64);
    let eq = |c: u8| _mm_cmpeq_epi8(x, _mm_set1_epi8(c as i8));
    let v = _mm_or_si128(
        _mm_or_si128(
            _mm_or_si128(eq(b'a'), eq(b'e')),
            _mm_or_si128(eq(b'i'), eq(b'o')),
        ),
        eq(b'u'),
    );
    (
        _mm_movemask_epi8(v) as u32,
        _mm_movemask_epi8(eq(b'y')) as u32,
    )
}

/// Bit `k` set for each byte `k` of `x` that is a vowel (`a e i o u`).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn vowel_bits(x: u64) -> u32 {
    gather(
        eq_bytes(x, b'a')
            | eq_bytes(x, b'e')
            | eq_bytes(x, b'i')
            | eq_bytes(x, b'o')
            | eq_bytes(x, b'u'),
    )
}

/// Bit `k` set for each byte `k` of `x` that is a `y`.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn y_bits(x: u64) -> u32 {
    gather(eq_bytes(x, b'y'))
}

/// A rule list's suffixes packed ([`packed`]), by rule index.
const fn pack_list(rules: &Rules) -> [(u64, usize); 32] {
    let mut out = [(0u64, 0usize); 32];
    let mut i = 0;
    while i < rules.list.len() {
        out[i] = packed(rules.list[i].0);
        i += 1;
    }
    out
}

const P1A: [(u64, usize); 32] = pack_list(&STEP1A_RULES);
const P1C: [(u64, usize); 32] = pack_list(&STEP1C_RULES);
const P2: [(u64, usize); 32] = pack_list(&STEP2_RULES);
const P3: [(u64, usize); 32] = pack_list(&STEP3_RULES);
const P4: [(u64, usize); 32] = pack_list(&STEP4_RULES);
const P5B: [(u64, usize); 32] = pack_list(&STEP5B_RULES);

/// The low `k` bits.
#[inline(always)]
fn low(k: usize) -> u32 {
    if k >= 32 {
        u32::MAX
    } else {
        (1u32 << k) - 1
    }
}

/// A suffix as the high bytes of a little-endian 64-bit word (the last 8 bytes of a word
/// loaded ending at its last letter), and its length.
#[inline(always)]
const fn packed(s: &[u8]) -> (u64, usize) {
    let mut v = 0u64;
    let mut i = 0;
    while i < s.len() {
        v |= (s[i] as u64) << (8 * (8 - s.len() + i));
        i += 1;
    }
    (v, s.len())
}

impl Word {
    /// `word` (lower-case ASCII, 1..=[`MAX_LEN`] bytes) with its consonant bits.
    #[inline(always)]
    fn new(word: &[u8]) -> Word {
        let mut w = Word {
            buf: [0; PAD + MAX_LEN],
            n: 0,
            cons: 0,
        };
        let n = word.len().min(MAX_LEN);
        w.buf[PAD..PAD + n].copy_from_slice(&word[..n]);
        w.n = n;
        w.mark();
        w
    }

    /// The letters.
    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        &self.buf[PAD..PAD + self.n]
    }

    /// Letter `i` (0 past the end).
    #[inline(always)]
    fn at(&self, i: usize) -> u8 {
        self.buf.get(PAD.wrapping_add(i)).copied().unwrap_or(0)
    }

    /// Computes the consonant bits of the letters (`_is_consonant`: a vowel is none, a `y`
    /// is one when it starts the word or follows a vowel, anything else is one): vowels and
    /// `y`s found eight bytes at a time, then the `y`s (few) in order.
    #[inline(always)]
    fn mark(&mut self) {
        let (vowels, ys) = classes(self.words());
        let mut ys = ys & low(self.n);
        let mut cons = !(vowels | ys) & low(self.n);
        while ys != 0 {
            let i = ys.trailing_zeros();
            ys &= ys - 1;
            let c = i == 0 || cons >> (i - 1) & 1 == 0;
            cons |= u32::from(c) << i;
        }
        self.cons = cons;
    }

    /// The buffer's 16 letter bytes (the word and what follows it) as two little-endian words.
    #[inline(always)]
    fn words(&self) -> (u64, u64) {
        let (mut a, mut b) = ([0u8; 8], [0u8; 8]);
        a.copy_from_slice(&self.buf[PAD..PAD + 8]);
        b.copy_from_slice(&self.buf[PAD + 8..PAD + 16]);
        (u64::from_le_bytes(a), u64::from_le_bytes(b))
    }

    #[inline(always)]
    fn is_cons(&self, i: usize) -> bool {
        self.cons >> i & 1 != 0
    }

    /// `_measure` of the first `len` letters: vowel → consonant steps among them.
    #[inline(always)]
    fn measure(&self, len: usize) -> u32 {
        if len < 2 {
            return 0;
        }
        (!self.cons & (self.cons >> 1) & low(len - 1)).count_ones()
    }

    /// `_contains_vowel` of the first `len` letters.
    #[inline(always)]
    fn has_vowel(&self, len: usize) -> bool {
        !self.cons & low(len) != 0
    }

    /// `_ends_cvc` (with NLTK's two-letter case) of the first `len` letters.
    #[inline(always)]
    fn ends_cvc(&self, len: usize) -> bool {
        if len >= 3 {
            self.is_cons(len - 3)
                && !self.is_cons(len - 2)
                && self.is_cons(len - 1)
                && !matches!(self.at(len - 1), b'w' | b'x' | b'y')
        } else {
            len == 2 && !self.is_cons(0) && self.is_cons(1)
        }
    }

    /// `_ends_double_consonant` of the word.
    #[inline(always)]
    fn ends_double_consonant(&self) -> bool {
        let n = self.n;
        n >= 2 && self.at(n - 1) == self.at(n - 2) && self.is_cons(n - 1)
    }

    /// The 8 bytes ending at the word's last letter, as a little-endian word.
    #[inline(always)]
    fn tail8(&self) -> u64 {
        let mut t = [0u8; 8];
        if let Some(s) = self.buf.get(self.n..self.n + PAD) {
            t.copy_from_slice(s);
        }
        u64::from_le_bytes(t)
    }

    /// Whether the word ends with the suffix `packed(s)` (1..=8 bytes, none of them 0: the
    /// zero bytes in front of the word match no suffix letter).
    #[inline(always)]
    fn ends(&self, (v, len): (u64, usize)) -> bool {
        self.tail8() >> (8 * (8 - len)) << (8 * (8 - len)) == v
    }

    /// Replaces the last `cut` letters by `repl`.
    #[inline(always)]
    fn replace_tail(&mut self, cut: usize, repl: &[u8]) {
        let keep = self.n - cut.min(self.n);
        let m = repl.len().min(MAX_LEN - keep);
        self.buf[PAD + keep..PAD + keep + m].copy_from_slice(&repl[..m]);
        self.n = keep + m;
        if m > 0 {
            self.mark();
        }
    }

    #[inline(always)]
    fn truncate(&mut self, n: usize) {
        self.n = self.n.min(n);
    }

    #[inline(always)]
    fn push(&mut self, b: u8) {
        if self.n < MAX_LEN {
            self.buf[PAD + self.n] = b;
            self.n += 1;
            self.mark();
        }
    }

    /// Whether `cond` holds for the rule whose suffix leaves the first `stem` letters.
    #[inline(always)]
    fn holds(&self, cond: Cond, stem: usize) -> bool {
        match cond {
            Cond::Always => true,
            Cond::MGt0 => self.measure(stem) > 0,
            Cond::MGt1 => self.measure(stem) > 1,
            Cond::Step1c => stem > 1 && self.is_cons(stem - 1),
            Cond::Ion => {
                self.measure(stem) > 1 && matches!(self.at(stem.wrapping_sub(1)), b's' | b't')
            }
            Cond::Logi => self.measure(self.n - 3) > 0,
            Cond::Ll => self.measure(self.n - 1) > 1,
        }
    }

    /// `_apply_rule_list`: the first rule (of those ending with the word's last letter, in
    /// list order) whose suffix matches decides.
    #[inline(always)]
    fn apply(&mut self, rules: &Rules, packs: &[(u64, usize); 32]) {
        let Some(c) = self.at(self.n.wrapping_sub(1)).checked_sub(b'a') else {
            return;
        };
        let mut candidates = rules.by_last.get(usize::from(c)).copied().unwrap_or(0);
        if candidates != 0 {
            let tail = self.tail8();
            while candidates != 0 {
                let i = candidates.trailing_zeros() as usize;
                candidates &= candidates - 1;
                let (Some(&(_, repl, cond)), Some(&(v, k))) = (rules.list.get(i), packs.get(i))
                else {
                    return;
                };
                // (A suffix longer than the word meets its zero padding: no match.)
                let shift = 8 * (8 - k.clamp(1, 8));
                if tail >> shift << shift == v {
                    if self.holds(cond, self.n - k) {
                        self.replace_tail(k, repl);
                    }
                    return;
                }
            }
        }
    }
}

/// The Porter steps (`run_steps`) of a lower-case ASCII word of 3..=[`MAX_LEN`] bytes, into
/// `out` (cleared first).
pub(super) fn stem_short(word: &[u8], out: &mut String) {
    let mut w = Word::new(word);
    if w.n >= 3 {
        run_short(&mut w);
    }
    out.clear();
    // ASCII in, ASCII letters added: valid UTF-8 (the fallback is never taken).
    match std::str::from_utf8(w.bytes()) {
        Ok(s) => out.push_str(s),
        Err(_) => out.extend(w.bytes().iter().map(|&b| char::from(b))),
    }
}

/// `run_steps` on a word of at least three letters.
#[inline(always)]
fn run_short(w: &mut Word) {
    step1a(w);
    step1b(w);
    w.apply(&STEP1C_RULES, &P1C);
    step2(w);
    w.apply(&STEP3_RULES, &P3);
    w.apply(&STEP4_RULES, &P4);
    step5a(w);
    w.apply(&STEP5B_RULES, &P5B);
}

const IES: (u64, usize) = packed(b"ies");
const IED: (u64, usize) = packed(b"ied");
const EED: (u64, usize) = packed(b"eed");
const ED: (u64, usize) = packed(b"ed");
const ING: (u64, usize) = packed(b"ing");
const AT: (u64, usize) = packed(b"at");
const BL: (u64, usize) = packed(b"bl");
const IZ: (u64, usize) = packed(b"iz");
const STAR_D: (u64, usize) = packed(b"*d");
const ALLI: (u64, usize) = packed(b"alli");
const E: (u64, usize) = packed(b"e");

#[inline(always)]
fn step1a(w: &mut Word) {
    if w.n == 4 && w.ends(IES) {
        w.replace_tail(3, b"ie");
        return;
    }
    w.apply(&STEP1A_RULES, &P1A);
}

#[inline(always)]
fn step1b(w: &mut Word) {
    let last = w.at(w.n - 1);
    if last == b'd' {
        if w.ends(IED) {
            let repl: &[u8] = if w.n == 4 { b"ie" } else { b"i" };
            w.replace_tail(3, repl);
            return;
        }
        if w.ends(EED) {
            if w.measure(w.n - 3) > 0 {
                w.replace_tail(3, b"ee");
            }
            return;
        }
    }
    let cut = if last == b'd' && w.ends(ED) && w.has_vowel(w.n - 2) {
        2
    } else if last == b'g' && w.ends(ING) && w.has_vowel(w.n - 3) {
        3
    } else {
        return;
    };
    w.truncate(w.n - cut);
    if w.ends(AT) || w.ends(BL) || w.ends(IZ) {
        w.push(b'e');
        return;
    }
    let last = w.at(w.n - 1);
    if w.ends_double_consonant() || w.ends(STAR_D) {
        // The last two letters become the last one ("*d" is NLTK's literal suffix test).
        if !matches!(last, b'l' | b's' | b'z') {
            w.replace_tail(2, &[last]);
        }
        return;
    }
    if w.measure(w.n) == 1 && w.ends_cvc(w.n) {
        w.push(b'e');
    }
}

#[inline(always)]
fn step2(w: &mut Word) {
    while w.ends(ALLI) && w.measure(w.n - 4) > 0 {
        w.replace_tail(4, b"al");
    }
    w.apply(&STEP2_RULES, &P2);
}

#[inline(always)]
fn step5a(w: &mut Word) {
    if w.ends(E) {
        let m = w.measure(w.n - 1);
        if m > 1 || (m == 1 && !w.ends_cvc(w.n - 1)) {
            w.truncate(w.n - 1);
        }
    }
}

#[cfg(test)]
#[path = "porter_short_tests.rs"]
mod tests;
