//! The table of a reference of at most 64 tokens (nearly every pair of the benchmark and of
//! RL rewards): a fixed 256-slot open-addressing table whose slot is the token's key and its
//! LCS match mask, so an input token costs its key, one multiply and (mostly) one slot compare
//! before its Hyyrö step.
//!
//! * **Key.** Two words: a token's first eight bytes and its next eight, lowercased and
//!   zero-padded (the second word is 0 for a token of at most eight bytes). Token bytes are
//!   never zero, so for a token of at most 16 bytes — nearly all — the key *is* the token and
//!   equal keys mean equal tokens, with no byte compare and no hash loop. A longer token's
//!   second word is instead a hash of its bytes from the ninth on with the top bit set (never
//!   the second word of a short token: token bytes are ASCII), and a key match of such tokens
//!   is confirmed byte-wise against the token's first occurrence in the reference text, so a
//!   hash collision costs a compare, never a wrong score.
//! * **Slots.** 256 (load ≤ ¼ with ≤ 64 distinct tokens: every probe sequence ends at an
//!   empty slot, and most look-ups decide at the first slot; empty = an old stamp). The slot is
//!   chosen by the top eight bits of a multiply of the key (words folded) by a random odd
//!   per-thread factor (multiply-shift hashing), so no fixed input makes long probe runs.
//! * **Layout and clearing.** The slots' first words, second words and masks are three arrays
//!   of one struct (one base register, fixed displacements, index × 8). Building empties the
//!   table by taking a new stamp: the top bit of each byte of a key's first word is 0 (token
//!   bytes are ASCII), so slots keep the stamp of the build that wrote them there, and a slot
//!   of another stamp is empty. The 2 KiB of first words are zeroed only when the 255 stamps
//!   wrap (zeroing them at every build was ~130 instructions and 64 stores a build, more than
//!   the middle of a bench pair's reference costs to insert).
//! * **No data-dependent branch at the home slot.** Whether an input token is in the reference,
//!   or a reference token is new or a repeat, is data a branch predictor cannot learn (about
//!   one mispredicted branch in three or four tokens, ~15 cycles each). A look-up takes the
//!   home slot's mask or 0 with a conditional move and probes further only when the slot's
//!   `moved` bit says some token of this home was placed further on (set while building; on
//!   the bench nearly never). An insert writes the home slot without a branch on new-vs-repeat
//!   (an empty slot's stale mask is dropped by a conditional move) and branches only on "home
//!   taken by another token" (rare; tested as one word, "in use" and "not this token's"
//!   folded together, so the compiler does not split it into two data-dependent branches). More instructions (the inline path of a
//!   token is about 44), less time: the loops were bound by mispredictions, not by instruction count (an SSE key in one
//!   register, tried, had fewer instructions and ran 5–10 % slower).
//! * **Walk, word by word** (`each_token`). For bitmap word `w` the loops take the 80 bytes of
//!   text from `64·w` on, once per word (from the text, or from a zero-padded copy of its tail
//!   for the last words). A token starts at an offset `s < 64` of the word, so its sixteen
//!   bytes are `block[s..s + 16]`: no bounds check, no end-of-text case per token. Only a
//!   token longer than 16 bytes (0.02 % on the bench) is keyed and looked up out of line, and
//!   a run across two bitmap words calls out once to find its end.
//! * **Runs.** A token is the lowest run of set bits of the current bitmap word `c`: with
//!   `low = c & −c`, `c + low` clears the run and sets the bit just past it, so the run is
//!   `tz(c)..tz(c + low)` and `c & (c + low)` drops it — no variable shifts; `c + low = 0`
//!   means the run reaches the word's top bit and goes on in the next word (`run_end`).
//! * **Instruction set.** On x86_64 with BMI1/BMI2/POPCNT (detected at run time) the two loops
//!   are compiled for them (`blsi`, `tzcnt`, `rorx`, `popcnt`); elsewhere the same source
//!   compiles for the baseline (`tests::portable_small_table_equals_general` runs that build on
//!   this CPU too).

use std::hint::select_unpredictable;

use super::{long_eq, long_hash, LOWER};

/// Number of slots (a power of two, > 64).
const SLOTS: usize = 256;
/// Top bit of a key's second word: the token is longer than 16 bytes.
const LONG: u64 = 1 << 63;
/// The top bit of each byte of a key's first word: always 0 in a key (token bytes are ASCII),
/// so a slot stores its build's stamp there (see [`Small::stamp`]).
const STAMP: u64 = 0x8080_8080_8080_8080;

/// `MASK_LO[n]` / `MASK_HI[n]`: the bytes of the first / second word of a 16-byte load that
/// belong to a token of `n ≤ 16` bytes.
const MASK_LO: [u64; 17] = {
    let mut m = [0u64; 17];
    let mut n = 1;
    while n < 17 {
        m[n] = if n >= 8 {
            u64::MAX
        } else {
            u64::MAX >> (8 * (8 - n))
        };
        n += 1;
    }
    m
};
const MASK_HI: [u64; 17] = {
    let mut m = [0u64; 17];
    let mut n = 9;
    while n < 17 {
        m[n] = u64::MAX >> (8 * (16 - n));
        n += 1;
    }
    m
};

/// The table (see the module docs): slot `i` is `(k0[i], k1[i], mask[i])`, in three arrays
/// of one struct so that one base register and fixed displacements address them.
#[derive(Debug)]
pub(super) struct Small {
    /// First word of each slot's key, OR-ed with the stamp of the build that wrote it (a slot
    /// whose stamp is not the current one is empty).
    k0: [u64; SLOTS],
    k1: [u64; SLOTS],
    /// Bit `j`: reference token `j` is the slot's token.
    mask: [u64; SLOTS],
    /// For a slot holding a token longer than 16 bytes: its first occurrence in the reference
    /// text (start, length).
    long: [(u32, u32); SLOTS],
    /// Whether some token whose home is this slot was placed further on (the slot was taken
    /// when it came): only then may a look-up that misses at home find its token later. One
    /// bit a slot (four words to clear, not a fifth array).
    moved: [u64; SLOTS / 64],
    /// The current build's stamp: a number in the bits of [`STAMP`], never 0 (a zeroed slot is
    /// empty), advanced by each build. The slots are zeroed only when it wraps (every 255
    /// builds), not at each build: the slots a build writes carry its stamp and no other
    /// slot does, since every older stamp of this round is different.
    stamp: u64,
}

impl Default for Small {
    fn default() -> Self {
        Small {
            k0: [0; SLOTS],
            k1: [0; SLOTS],
            mask: [0; SLOTS],
            long: [(0, 0); SLOTS],
            moved: [0; SLOTS / 64],
            stamp: STAMP,
        }
    }
}

/// Key of the token `text[start..end]` (non-empty, every byte in `[A-Za-z0-9]`, where OR-ing
/// 0x20 lowercases exactly), any length and place.
fn key(seed: &[u64; 2], text: &[u8], start: usize, end: usize) -> (u64, u64) {
    let len = end - start;
    let x = load16(text, start);
    if len <= 16 {
        return short_key(&x.to_le_bytes(), len);
    }
    let (lo, hi) = (x as u64 | LOWER, (x >> 64) as u64 | LOWER);
    (lo, long_hash(seed, text, start + 8, len - 8, hi) | LONG)
}

/// The sixteen bytes of `text` from `at` on (`at < text.len()`) as a little-endian number,
/// zero past the end of the text.
fn load16(text: &[u8], at: usize) -> u128 {
    if let Some(c) = text.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        return u128::from_le_bytes(*c);
    }
    let avail = text.len().saturating_sub(at).min(16);
    if let Some(last) = text.last_chunk::<16>() {
        // The text's last sixteen bytes, shifted down to start at `at` (`avail < 16`).
        return u128::from_le_bytes(*last) >> (8 * (16 - avail));
    }
    let mut w = [0u8; 16];
    for (d, &b) in w.iter_mut().zip(text.get(at..).unwrap_or_default()) {
        *d = b;
    }
    u128::from_le_bytes(w)
}

/// Key of a token of `len ≤ 16` bytes from the sixteen bytes at its start (the fast path).
#[inline(always)]
fn short_key(at: &[u8; 16], len: usize) -> (u64, u64) {
    let x = u128::from_le_bytes(*at);
    let k0 = (x as u64 | LOWER) & MASK_LO[len];
    let k1 = ((x >> 64) as u64 | LOWER) & MASK_HI[len];
    (k0, k1)
}

/// First slot of a key: multiply-shift hashing by a random odd factor (the top byte of the
/// product depends on every bit of the key), the second word folded in rotated.
#[inline(always)]
fn home(factor: u64, k0: u64, k1: u64) -> usize {
    ((k0 ^ k1.rotate_left(29)).wrapping_mul(factor) >> 56) as usize
}

#[cfg(test)]
thread_local! {
    /// Tests set it to run the portable build of the loops on this thread.
    pub(super) static PORTABLE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this CPU has BMI1, BMI2 and POPCNT (std caches the detection).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn bmi() -> bool {
    #[cfg(test)]
    if PORTABLE.with(std::cell::Cell::get) {
        return false;
    }
    std::is_x86_feature_detected!("bmi1")
        && std::is_x86_feature_detected!("bmi2")
        && std::is_x86_feature_detected!("popcnt")
}

/// A token found by [`each_token`].
enum Token<'a> {
    /// At most 16 bytes: the sixteen bytes from its start on (zero past the text's end) and
    /// its length.
    Short(&'a [u8; 16], usize),
    /// Longer: its place in the text, `(start, end)`.
    Long(usize, usize),
}

/// Calls `f` on each token of `text` (the runs of set bits of `bits`, its bitmap, which ends
/// with a zero word), in order.
///
/// The walk goes word by word: for bitmap word `w` it takes the 80 bytes of the text from
/// `64·w` on (a run starting in the word starts at one of its first 64 bytes, and a short
/// token's sixteen bytes then lie within them), straight from the text or, for the last
/// words, from a zero-padded copy of the text's tail. A token's bytes are then a sub-array of
/// that block at its offset in the word, with no bounds check and no tail case per token.
/// Within the word, the lowest run of the bits `c` not yet consumed is
/// `tz(c)..tz(c + (c & −c))`, and `c & (c + (c & −c))` drops it (no variable shifts);
/// `c + (c & −c) = 0` means the run reaches the word's top bit and goes on in the next word
/// (`run_end`, out of line).
#[inline(always)]
fn each_token(text: &[u8], bits: &[u64], mut f: impl FnMut(Token<'_>)) {
    let mut tail;
    let mut w = 0usize;
    let mut c = bits.first().copied().unwrap_or(0);
    'words: loop {
        while c == 0 {
            w += 1;
            match bits.get(w) {
                Some(&x) => c = x,
                None => return,
            }
        }
        let block: &[u8; 80] = match text.get(w * 64..).and_then(<[u8]>::first_chunk::<80>) {
            Some(block) => block,
            None => {
                let rest = text.get(w * 64..).unwrap_or_default();
                let n = rest.len().min(80);
                tail = [0u8; 80];
                tail[..n].copy_from_slice(&rest[..n]);
                &tail
            }
        };
        let base = w * 64;
        loop {
            // `s < 64`: `c` is not zero.
            let s = c.trailing_zeros() as usize & 63;
            let sum = c.wrapping_add(c & c.wrapping_neg());
            if sum == 0 {
                let (end, next_w, next_c) = run_end(bits, w);
                emit(&mut f, block, s, base + s, end);
                (w, c) = (next_w, next_c);
                continue 'words;
            }
            c &= sum;
            emit(
                &mut f,
                block,
                s,
                base + s,
                base + sum.trailing_zeros() as usize,
            );
            if c == 0 {
                break;
            }
        }
    }
}

/// Calls `f` on the token `start..end` of a text, which starts at offset `s` (< 64) of
/// `block`.
#[inline(always)]
fn emit(f: &mut impl FnMut(Token<'_>), block: &[u8; 80], s: usize, start: usize, end: usize) {
    let len = end - start;
    match block.get(s..s + 16).and_then(|b| b.first_chunk::<16>()) {
        Some(at) if len <= 16 => f(Token::Short(at, len)),
        _ => f(Token::Long(start, end)),
    }
}

/// End of a run that reaches the top bit of word `w` of a bitmap ending with a zero word, the
/// word it ends in and that word's bits past the run. (Out of line, and by value so that the
/// walk's state stays in registers.)
#[cold]
#[inline(never)]
fn run_end(bits: &[u64], mut w: usize) -> (usize, usize, u64) {
    let mut end = (w + 1) * 64;
    w += 1;
    let mut cur = bits.get(w).copied().unwrap_or(0);
    while cur == !0u64 {
        end += 64;
        w += 1;
        cur = bits.get(w).copied().unwrap_or(0);
    }
    // `cur` has a zero bit (the bitmap ends with a zero word, or past its end cur = 0).
    let r = (!cur).trailing_zeros();
    (end + r as usize, w, cur & (!0u64 << r))
}

/// Hyyrö's step for a token of match mask `m`: `V = (V + (V & M)) | (V & !M)`, with
/// `V & !M = V ^ (V & M)`.
#[inline(always)]
fn step(v: u64, m: u64) -> u64 {
    let u = v & m;
    v.wrapping_add(u) | (v ^ u)
}

impl Small {
    /// Whether the long token in slot `i` is `text[start..end]`.
    #[inline(never)]
    fn same_long(&self, i: usize, reference: &[u8], text: &[u8], start: usize, end: usize) -> bool {
        let (at, len) = self.long[i];
        len as usize == end - start && long_eq(reference, at as usize, text, start, end - start)
    }

    /// Whether slot `i` is empty (not written by the current build).
    #[inline(always)]
    fn empty(&self, i: usize) -> bool {
        self.k0[i] & STAMP != self.stamp
    }

    /// Whether slot `i` holds the token of key `(k0, k1)` (`k0` stamped), `text[start..end]`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn holds(
        &self,
        i: usize,
        k0: u64,
        k1: u64,
        reference: &[u8],
        text: &[u8],
        start: usize,
        end: usize,
    ) -> bool {
        self.k0[i] == k0
            && self.k1[i] == k1
            && (k1 & LONG == 0 || self.same_long(i, reference, text, start, end))
    }

    /// Fills the table with the tokens of `reference`: the runs of `bits` (at most 64; any
    /// further ones are ignored).
    pub(super) fn build(&mut self, seed: &[u64; 2], reference: &[u8], bits: &[u64]) {
        #[cfg(target_arch = "x86_64")]
        if bmi() {
            #[allow(unsafe_code)]
            // SAFETY: BMI1, BMI2 and POPCNT were detected on this CPU.
            return unsafe { self.build_bmi(seed, reference, bits) };
        }
        self.build_any(seed, reference, bits);
    }

    /// [`Small::build`] compiled with BMI1/BMI2/POPCNT.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "bmi1,bmi2,popcnt")]
    fn build_bmi(&mut self, seed: &[u64; 2], reference: &[u8], bits: &[u64]) {
        self.build_any(seed, reference, bits);
    }

    #[inline(always)]
    fn build_any(&mut self, seed: &[u64; 2], reference: &[u8], bits: &[u64]) {
        // A new stamp empties every slot; only when the stamps wrap are the slots zeroed.
        self.stamp = ((self.stamp | !STAMP).wrapping_add(1)) & STAMP;
        if self.stamp == 0 {
            self.k0 = [0; SLOTS];
            self.stamp = ((self.stamp | !STAMP).wrapping_add(1)) & STAMP;
        }
        self.moved = [0; SLOTS / 64];
        let (factor, stamp) = (seed[1] | 1, self.stamp);
        // Reference position `pos` (0..64) as a bit; 0 past 64 tokens (then ignored).
        let mut bit = 1u64;
        each_token(
            reference,
            bits,
            #[inline(always)]
            |t| {
                if bit == 0 {
                    return;
                }
                match t {
                    Token::Short(at, len) => {
                        let (k0, k1) = short_key(at, len);
                        self.insert_short(home(factor, k0, k1), k0 | stamp, k1, bit, stamp);
                    }
                    Token::Long(start, end) => self.insert(seed, reference, start, end, bit),
                }
                bit <<= 1;
            },
        );
    }

    /// Adds reference position `bit` to the slot of the key `(k0, k1)` (`k0` stamped) of a
    /// token of at most 16 bytes, from slot `i` on.
    #[inline(always)]
    fn insert_short(&mut self, mut i: usize, k0: u64, k1: u64, bit: u64, stamp: u64) {
        // The home slot decides nearly always (empty, or this token's): without a branch on
        // which (a new token or a repeated one is data, not a pattern a predictor learns). The
        // one branch, "taken by another token", is nearly always false, and is one test of one
        // word (`other` is 0 exactly when the slot is in use and not this token's), so that
        // the compiler does not split it into a branch per condition.
        let s0 = self.k0[i];
        let diff = (s0 ^ k0) | (self.k1[i] ^ k1);
        let other = ((s0 & STAMP) ^ stamp) | u64::from(diff == 0);
        if other != 0 {
            // An empty slot's mask is stale: kept only when the slot is this token's.
            let old = select_unpredictable(diff == 0, self.mask[i], 0);
            (self.k0[i], self.k1[i], self.mask[i]) = (k0, k1, old | bit);
            return;
        }
        self.moved[i / 64] |= 1 << (i % 64);
        loop {
            i = (i + 1) & (SLOTS - 1);
            let s0 = self.k0[i];
            if s0 == k0 && self.k1[i] == k1 {
                self.mask[i] |= bit;
                return;
            }
            if s0 & STAMP != stamp {
                (self.k0[i], self.k1[i], self.mask[i]) = (k0, k1, bit);
                return;
            }
        }
    }

    /// Adds reference position `bit` to the slot of the token `reference[start..end]`, any
    /// length and place.
    #[cold]
    #[inline(never)]
    fn insert(&mut self, seed: &[u64; 2], reference: &[u8], start: usize, end: usize, bit: u64) {
        let (k0, k1) = key(seed, reference, start, end);
        let home = home(seed[1] | 1, k0, k1);
        let k0 = k0 | self.stamp;
        let mut i = home;
        loop {
            if self.empty(i) {
                (self.k0[i], self.k1[i], self.mask[i]) = (k0, k1, bit);
                self.moved[home / 64] |= u64::from(i != home) << (home % 64);
                if k1 & LONG != 0 {
                    // Offsets fit: the caller sends references past 4 GiB elsewhere.
                    self.long[i] = (start as u32, (end - start) as u32);
                }
                return;
            }
            if self.holds(i, k0, k1, reference, reference, start, end) {
                self.mask[i] |= bit;
                return;
            }
            i = (i + 1) & (SLOTS - 1);
        }
    }

    /// Match mask of the key `(k0, k1)` (`k0` stamped) of a token of at most 16 bytes, from
    /// slot `i` on (a slot of a long token never matches: its second word has the top bit set).
    #[inline(always)]
    fn mask_short(&self, mut i: usize, k0: u64, k1: u64) -> u64 {
        // Whether an input token is in the reference is data, not a pattern a predictor
        // learns: the home slot's mask is taken or not without a branch, and the table is
        // probed further only when a token of this home was moved on (rare, predictable).
        let hit = (self.k0[i] == k0) & (self.k1[i] == k1);
        let m = select_unpredictable(hit, self.mask[i], 0);
        if self.moved[i / 64] & (1 << (i % 64)) == 0 {
            return m;
        }
        loop {
            let s0 = self.k0[i];
            if s0 == k0 && self.k1[i] == k1 {
                return self.mask[i];
            }
            if s0 & STAMP != self.stamp {
                return 0;
            }
            i = (i + 1) & (SLOTS - 1);
        }
    }

    /// Match mask of the token `text[start..end]`, any length and place.
    #[cold]
    #[inline(never)]
    fn mask_of(
        &self,
        seed: &[u64; 2],
        reference: &[u8],
        text: &[u8],
        start: usize,
        end: usize,
    ) -> u64 {
        let (k0, k1) = key(seed, text, start, end);
        let mut i = home(seed[1] | 1, k0, k1);
        let k0 = k0 | self.stamp;
        loop {
            if self.holds(i, k0, k1, reference, text, start, end) {
                return self.mask[i];
            }
            if self.empty(i) {
                return 0;
            }
            i = (i + 1) & (SLOTS - 1);
        }
    }

    /// LCS length of the input tokens (the runs of `bits`, a bitmap of `text`) and the
    /// reference of `n_ref` tokens (1..=64) the table holds: Hyyrö's one-word bit-parallel
    /// step per input token.
    pub(super) fn lcs(
        &self,
        seed: &[u64; 2],
        reference: &[u8],
        n_ref: usize,
        text: &[u8],
        bits: &[u64],
    ) -> usize {
        #[cfg(target_arch = "x86_64")]
        if bmi() {
            #[allow(unsafe_code)]
            // SAFETY: BMI1, BMI2 and POPCNT were detected on this CPU.
            return unsafe { self.lcs_bmi(seed, reference, n_ref, text, bits) };
        }
        self.lcs_any(seed, reference, n_ref, text, bits)
    }

    /// [`Small::lcs`] compiled with BMI1/BMI2/POPCNT.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "bmi1,bmi2,popcnt")]
    fn lcs_bmi(
        &self,
        seed: &[u64; 2],
        reference: &[u8],
        n_ref: usize,
        text: &[u8],
        bits: &[u64],
    ) -> usize {
        self.lcs_any(seed, reference, n_ref, text, bits)
    }

    #[inline(always)]
    fn lcs_any(
        &self,
        seed: &[u64; 2],
        reference: &[u8],
        n_ref: usize,
        text: &[u8],
        bits: &[u64],
    ) -> usize {
        let (factor, stamp) = (seed[1] | 1, self.stamp);
        let mut v = !0u64;
        each_token(
            text,
            bits,
            #[inline(always)]
            |t| {
                let m = match t {
                    Token::Short(at, len) => {
                        let (k0, k1) = short_key(at, len);
                        self.mask_short(home(factor, k0, k1), k0 | stamp, k1)
                    }
                    Token::Long(start, end) => self.mask_of(seed, reference, text, start, end),
                };
                v = step(v, m);
            },
        );
        let low = u64::MAX >> (64 - n_ref.clamp(1, 64));
        n_ref - (v & low).count_ones() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::super::Bitmap;
    use super::*;

    fn lcs_dp(a: &[String], b: &[String]) -> usize {
        let mut t = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                t[i][j] = if a[i - 1] == b[j - 1] {
                    t[i - 1][j - 1] + 1
                } else {
                    t[i - 1][j].max(t[i][j - 1])
                };
            }
        }
        t[a.len()][b.len()]
    }

    /// With a multiplier of 1, every token of at most seven bytes has home slot 0 (the top
    /// byte of its key is zero): one long probe run, tokens moved away from their home, and
    /// look-ups that miss at home but find their token further on. Both builds of the loops,
    /// against the DP LCS of the tokenizer's tokens.
    #[test]
    fn colliding_homes_equal_dp() {
        let seed = [0x1234_5678_9ABC_DEF0u64, 0];
        let words = [
            "a",
            "b",
            "c",
            "ab",
            "ba",
            "abc",
            "x1",
            "Q",
            "zz",
            "0",
            "9",
            "the",
            "cat",
            "dog",
            "abcdefgh",
            "abcdefghi",
            "abcdefghijklmnopq",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        // Multiplier 1 (every short token at home 0), then a random odd one; both builds of
        // the loops; 3,000 builds each, so the stamps wrap (stale slots of older builds with
        // the same tokens must read as empty).
        for (portable, seed) in [
            (false, seed),
            (true, seed),
            (false, [seed[0], 0x9E37_79B9_7F4A_7C15]),
        ] {
            PORTABLE.with(|p| p.set(portable));
            let mut small = Small::default();
            for _ in 0..3000 {
                let n_ref = 1 + next(64);
                let reference: Vec<&str> = (0..n_ref).map(|_| words[next(words.len())]).collect();
                let reference = reference.join(" ");
                let n_inp = next(80);
                let input: Vec<&str> = (0..n_inp).map(|_| words[next(words.len())]).collect();
                let input = input.join(", ");
                let (mut rb, mut ib) = (Bitmap::default(), Bitmap::default());
                assert!(rb.fill(reference.as_bytes()) && ib.fill(input.as_bytes()));
                assert_eq!(rb.tokens, n_ref);
                small.build(&seed, reference.as_bytes(), &rb.bits);
                let got = small.lcs(
                    &seed,
                    reference.as_bytes(),
                    n_ref,
                    input.as_bytes(),
                    &ib.bits,
                );
                let want = lcs_dp(
                    &super::super::super::tokenize(&input),
                    &super::super::super::tokenize(&reference),
                );
                assert_eq!(got, want, "{input:?} / {reference:?}");
            }
        }
        PORTABLE.with(|p| p.set(false));
    }
}
