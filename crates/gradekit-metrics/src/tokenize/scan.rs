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

/// What a substitution scans for: one byte (found eight at a time) or a set of bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Trigger {
    Byte(u8),
    Set(&'static ByteSet),
}

impl Trigger {
    #[inline]
    fn next_in(self, hay: &[u8]) -> Option<usize> {
        match self {
            Trigger::Byte(c) => find_byte(hay, c),
            Trigger::Set(set) => hay.iter().position(|&b| set.contains(b)),
        }
    }
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
