//! Token maps of an ASCII text, derived once per text from its byte-class maps (`bits.rs`):
//! per 64-byte block, which bytes the fused scan's window path (`fused.rs`,
//! `word_space_runs`) may take, where its tokens start and end, and where a CONTRACTIONS2
//! candidate starts. Computed block by block with the neighbouring blocks' edge bits, so a
//! window at any offset is five shifted loads and a few masks instead of re-deriving the
//! same bits from six raw class maps at every call (the window path runs ~10 times a text).
//!
//! The maps are of the whole text, while the scan reads them per Punkt sentence `[a, b)`.
//! They agree with what the sentence alone would give at every byte the window path reads,
//! because of where Punkt puts sentence boundaries (`punkt.rs`): the byte before `a` is a
//! sentence-end mark, whitespace or a closing quote/bracket, and the byte at `b` is
//! whitespace, a Punkt non-word character, `-` or the text end — never a `\w` byte, and `a - 1`
//! is never a word byte either. So a word's start at `a`, a hyphen's merging and every `\w`
//! run's length are the sentence's own; what does depend on the byte at `b` — a word ending
//! at `b - 1` (the sentence end ends it) and a comma at `b - 1` (a token of its own either
//! way) — the window path settles itself (`word_space_runs`), and bits past `b` are masked.
//! `tests/tokenize_fused.rs` checks the result against the exact port on ≥ 10M strings.

use super::bits::{
    block64, has_avx2, Block, CLASSES, COMMA, DASH, INITIAL, MARK, SPACE, SPLIT, WORD,
};
use super::fused::{is_contraction2, Unsupported};
use super::scan::word_run_end;
use super::tokens::Tokens;

/// Index of a map in a block's words.
/// Word bytes: `\w`, and a `-` between two `\w` bytes (kept inside its word by the DASH arm).
pub(crate) const WORDISH: usize = 0;
/// Bytes the window path takes: word bytes, spaces, single-byte tokens (a `,`/`:` before a
/// space, `( ) * ; ? !`).
pub(crate) const OK: usize = 1;
/// First byte of each word, and each single-byte token.
pub(crate) const START: usize = 2;
/// Last byte of each word followed by a space or a single-byte token, and each single-byte
/// token.
pub(crate) const END: usize = 3;
/// First byte of each `\w` run of five or six bytes starting with `c g l w` (either case).
pub(crate) const CANDIDATE: usize = 4;

/// Positions of the sentence-end marks `.?!` (Punkt's candidates), in the same blocks.
pub(crate) const MARKS: usize = 5;

const MAPS: usize = 6;

/// The token maps of one text: one block of [`MAPS`] words per 64 bytes, then one zero block.
#[derive(Debug, Default)]
pub(crate) struct TokenMaps {
    blocks: Vec<[u64; MAPS]>,
}

impl TokenMaps {
    /// The maps of ASCII `text` (previous contents replaced): each 64-byte block classified
    /// (`bits::block64`), then its maps derived with the next block's classes at hand. With
    /// AVX2 the whole loop is compiled for it, so the classification is inlined (no call and
    /// no class words through memory per block).
    pub(crate) fn build(&mut self, text: &[u8]) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            #[allow(unsafe_code)]
            // SAFETY: AVX2 was just detected on this CPU.
            unsafe {
                self.build_avx2(text);
            }
            return;
        }
        self.build_with(text, |c| block64(c, false));
    }

    /// [`Self::build`] compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn build_avx2(&mut self, text: &[u8]) {
        self.build_with(text, |c| super::bits::avx2::block64(c));
    }

    #[inline(always)]
    fn build_with(&mut self, text: &[u8], classify: impl Fn(&[u8; 64]) -> Block) {
        self.blocks.clear();
        self.blocks.reserve(text.len() / 64 + 2);
        let (chunks, rest) = text.as_chunks::<64>();
        let tail = (!rest.is_empty()).then(|| match text.last_chunk::<64>() {
            // The text's last 64 bytes, shifted down to the tail's `rest.len()` bits.
            Some(last) => classify(last).map(|m| m >> (64 - rest.len())),
            None => {
                // Zero padding: in no class.
                let mut padded = [0u8; 64];
                padded[..rest.len()].copy_from_slice(rest);
                classify(&padded)
            }
        });
        let mut raw = chunks.iter().map(&classify).chain(tail);
        let mut carry = Carry::default();
        if let Some(mut cur) = raw.next() {
            for next in raw {
                self.blocks.push(derive(&mut carry, &cur, &next));
                cur = next;
            }
            self.blocks.push(derive(&mut carry, &cur, &[0; CLASSES]));
        }
        self.blocks.push([0; MAPS]);
    }

    /// Positions of the `.?!` bytes, in order.
    pub(crate) fn marks(&self) -> impl Iterator<Item = usize> + '_ {
        self.blocks.iter().enumerate().flat_map(|(k, b)| {
            let mut bits = b[MARKS];
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let i = k * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    i
                })
            })
        })
    }

    /// Records the complete tokens of the run of words, spaces, commas or colons before a space,
    /// and the split characters `( ) * ; ? !` that starts at `s[p]` of the sentence `s` (which
    /// starts at `off` of the text; no word being built, and `s[p - 1]` no word byte), 64 bytes
    /// per step from the token maps — exactly what the WORD, SPACE, COMMA, DASH and SPLIT arms of
    /// `fused::scan_with` record for them (the same CONTRACTIONS2 test included):
    ///
    /// * a word is a run of `\w` bytes and single hyphens between two `\w` bytes (the DASH arm
    ///   keeps such a hyphen inside the word being built); it is a token of its own when followed
    ///   by a space, such a comma, a split character or the sentence end;
    /// * a `,`/`:` followed by a space and a split character are tokens of their own.
    ///
    /// Stops at the first other byte (returned, for the scan's dispatch: `.` `'`, quotes, other
    /// brackets, a comma before anything but a space…), at a word that reaches such a byte (its
    /// start is returned: the WORD arm takes it), or at a word of 64 bytes or more (the same).
    /// Between the last complete token and the byte returned there are only spaces, which the
    /// SPACE arm would skip with no word open. Every byte before a token start is a space, such a
    /// comma or a split character (or `s[p - 1]`, which is no `\w` byte), so the `\w` runs of the
    /// complete words are whole runs, each tested for CONTRACTIONS2.
    #[inline(always)]
    pub(super) fn runs(
        &self,
        s: &[u8],
        off: usize,
        base: usize,
        mut p: usize,
        out: &mut Tokens,
    ) -> Result<usize, Unsupported> {
        let n = s.len();
        loop {
            let avail = n - p;
            // The bytes of the window that are in the sentence (`avail` ≥ 1), and the sentence end
            // as a bit (none when it lies beyond the window).
            let valid = u64::MAX >> (64 - avail.min(64));
            let end = 1u64.checked_shl(avail as u32).unwrap_or(0);
            let [ok, starts, ends, candidates] = self.window([OK, START, END, CANDIDATE], off + p);
            // Bytes before `stop` are words, spaces and single-byte tokens (`stop` ≤ `avail`).
            let stop = (!(ok & valid)).trailing_zeros();
            let below = u64::MAX.checked_shr(64 - stop).unwrap_or(0);
            // Tokens end at a word byte followed by a space, a single-byte token or the sentence
            // end (which lie before `stop` or at the end: the byte at `stop` is none of them), and
            // at each single-byte token; they start at the first byte of a word (`s[p]`, a word
            // byte, starts one) and at each single-byte token. Tokens do not overlap, so the
            // `k`-th start and the `k`-th end bound the `k`-th token.
            let ends = if end == 0 {
                ends & below
            } else {
                (ends | (self.window([WORDISH], off + p)[0] & (end >> 1))) & below
            };
            let mut starts = starts & below;
            if ends == 0 {
                return Ok(p);
            }
            // The complete tokens are the first `ends.count_ones()` starts: only the last start's
            // word can be incomplete (it reaches `stop`), and it is when no end lies at or above it.
            let last = 1u64 << (63 - starts.leading_zeros());
            let incomplete =
                last & u64::from(starts.leading_zeros() < ends.leading_zeros()).wrapping_neg();
            let complete = starts & !incomplete;
            // CONTRACTIONS2 candidates inside the complete tokens (below the incomplete word, if
            // any); each is tested exactly (rare: `could`, `going`…).
            let done = below & incomplete.wrapping_sub(1);
            let mut candidates = candidates & done;
            while candidates != 0 {
                let a = p + candidates.trailing_zeros() as usize;
                candidates &= candidates.wrapping_sub(1);
                if is_contraction2(s.get(a..word_run_end(s, a)).unwrap_or_default()) {
                    return Err(Unsupported);
                }
            }
            out.push_runs(base + p, complete, ends);
            starts &= !complete;
            if stop < 64 || avail <= 64 {
                // A word reaching `stop` (its start), else the byte at `stop` (or the end).
                return Ok(p + if starts != 0 {
                    starts.trailing_zeros() as usize
                } else {
                    stop as usize
                });
            }
            // 64 bytes of tokens and spaces: go on from the unfinished word (which starts after the
            // complete ones: `p` moves on), or past the window, whose last byte is then a space or
            // a single-byte token.
            p += if starts != 0 {
                starts.trailing_zeros() as usize
            } else {
                64
            };
        }
    }

    /// The 64 bits of each map of `maps` from byte `at` on (bit `k`: byte `at + k`); bits
    /// past the text read as zero.
    #[inline(always)]
    pub(crate) fn window<const N: usize>(&self, maps: [usize; N], at: usize) -> [u64; N] {
        let (k, o) = (at / 64, (at % 64) as u32);
        let zero = [0u64; MAPS];
        let lo = self.blocks.get(k).unwrap_or(&zero);
        let hi = self.blocks.get(k + 1).unwrap_or(&zero);
        // `<< 1 << (63 − o)`: no shift by 64 when `o` is 0.
        maps.map(|c| {
            let (l, h) = (
                lo.get(c).copied().unwrap_or(0),
                hi.get(c).copied().unwrap_or(0),
            );
            (l >> o) | ((h << 1) << (63 - o))
        })
    }
}

/// Bit 63 of the previous block's word bytes and raw `\w` bytes.
#[derive(Default)]
struct Carry {
    wordish: u64,
    w: u64,
}

/// The maps of the block whose classes are `r`, given the next block's classes.
#[inline(always)]
fn derive(carry: &mut Carry, r: &Block, next: &Block) -> [u64; MAPS] {
    let w = r[WORD];
    // Bit i: byte i − 1 / byte i + 1 is a `\w` byte.
    let w_before = (w << 1) | (carry.w >> 63);
    let w_after = (w >> 1) | (next[WORD] << 63);
    let wordish = w | (r[DASH] & w_before & w_after);
    let sp = r[SPACE];
    let single_at = |c: &Block, sp_after: u64| (c[COMMA] & sp_after) | c[SPLIT];
    let single = single_at(r, (sp >> 1) | (next[SPACE] << 63));
    let next_single = single_at(next, next[SPACE] >> 1) & 1;
    let bound_after = ((sp | single) >> 1) | ((next[SPACE] | next_single) << 63);
    let start = (wordish & !((wordish << 1) | (carry.wordish >> 63))) | single;
    let end = (wordish & bound_after) | single;
    // `\w` bytes from `i + d` on, across the block edge.
    let wide = u128::from(w) | (u128::from(next[WORD]) << 64);
    let at = |d: u32| (wide >> d) as u64;
    let five = w & !w_before & at(1) & at(2) & at(3) & at(4);
    let candidate = five & !(at(5) & at(6)) & r[INITIAL];
    carry.wordish = wordish;
    carry.w = w;
    let mut maps = [0; MAPS];
    maps[WORDISH] = wordish;
    maps[OK] = wordish | sp | single;
    maps[START] = start;
    maps[END] = end;
    maps[CANDIDATE] = candidate;
    maps[MARKS] = r[MARK];
    maps
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every map against its definition, byte by byte, on texts of words, hyphens, spaces,
    /// commas, colons, split characters and other punctuation of every length to ~300.
    #[test]
    fn maps_agree_with_their_definitions() {
        let mut g = 0x1234_5678_9abc_def1u64;
        let alphabet = b"ab cgw-lW,:;()*?!.'\"x_9 -  ,Cg";
        for round in 0..3000 {
            let len = round % 300;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    g ^= g << 13;
                    g ^= g >> 7;
                    g ^= g << 17;
                    alphabet[(g % alphabet.len() as u64) as usize]
                })
                .collect();
            let mut maps = TokenMaps::default();
            maps.build(&text);
            // The SSE2 (and byte-by-byte) classification gives the same maps as the AVX2 loop.
            let mut sse2 = TokenMaps::default();
            sse2.build_with(&text, |c| block64(c, false));
            let mut bytes = TokenMaps::default();
            bytes.build_with(&text, |c| super::super::bits::class_bits(c));
            assert_eq!(sse2.blocks, maps.blocks);
            assert_eq!(bytes.blocks, maps.blocks);
            let at = |i: isize| -> u8 {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| text.get(i).copied())
                    .unwrap_or(0)
            };
            let is_w = |i: isize| at(i).is_ascii_alphanumeric() || at(i) == b'_';
            let wordish = |i: isize| is_w(i) || (at(i) == b'-' && is_w(i - 1) && is_w(i + 1));
            let single = |i: isize| {
                (matches!(at(i), b',' | b':') && at(i + 1) == b' ')
                    || matches!(at(i), b'(' | b')' | b'*' | b';' | b'?' | b'!')
            };
            let run = |i: isize| (i..).take_while(|&j| is_w(j)).count();
            for i in 0..len as isize {
                let want = [
                    wordish(i),
                    wordish(i) || at(i) == b' ' || single(i),
                    (wordish(i) && !wordish(i - 1)) || single(i),
                    (wordish(i) && (at(i + 1) == b' ' || single(i + 1))) || single(i),
                    is_w(i)
                        && !is_w(i - 1)
                        && matches!(run(i), 5 | 6)
                        && matches!(at(i) | 0x20, b'c' | b'g' | b'l' | b'w'),
                    matches!(at(i), b'.' | b'?' | b'!'),
                ];
                for off in [0usize, 1, 5, 63] {
                    let Some(base) = (i as usize).checked_sub(off) else {
                        continue;
                    };
                    let win = maps.window([0, 1, 2, 3, 4, 5], base);
                    for (m, &want) in want.iter().enumerate() {
                        assert_eq!(
                            (win[m] >> off) & 1 == 1,
                            want,
                            "map {m} byte {i} of {:?}",
                            String::from_utf8_lossy(&text)
                        );
                    }
                }
            }
            // Past the text: nothing.
            assert_eq!(maps.window([0, 1, 2, 3, 4, 5], len), [0; MAPS]);
            let marks: Vec<usize> = (0..len)
                .filter(|&i| matches!(text[i], b'.' | b'?' | b'!'))
                .collect();
            assert_eq!(maps.marks().collect::<Vec<_>>(), marks);
        }
    }
}
