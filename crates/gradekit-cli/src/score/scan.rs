//! The fast reading of a `score` line: one validating pass over its bytes that keeps only what
//! the grader observes.
//!
//! [`super::line::parse`] builds a `serde_json::Value` for every field it reads (the item map,
//! the sample text, the sample namespace map) and drops most of it after grading; for a line of
//! half a kilobyte that was most of the per-line cost of `score`. This scanner instead walks
//! the line once — strict JSON, duplicate keys rejected at any depth, nesting bounded — and
//! records *where* the fields the compiled grader observes are: the sample text, the item's
//! observed keys ([`gradekit_engine::CompiledGrader::item_keys`]), the legacy
//! `reference_answer` and the `id`. Nothing else is copied or allocated.
//!
//! It accepts only the common shape, and says [`Scan::Other`] for everything else, which the
//! caller then reads the established way ([`super::line::parse`]): every error message (invalid
//! JSON, duplicate keys, lone surrogates, numbers out of range, missing or conflicting sample
//! keys, non-object items, sample objects) stays that reader's. Accepted means: a valid UTF-8
//! line holding one JSON object with no duplicate key at any depth and no escaped key, nesting
//! at most [`MAX_DEPTH`] deep, numbers without exponents and with at most
//! [`MAX_INT_DIGITS`] integer digits (so none can overflow to infinity), escapes that decode to
//! Unicode scalar values; exactly one of `model_sample` / `sample` non-null and a string; `item`
//! absent, null or an object. For such a line the result is the one the entry reader gives
//! (tested against it, `props` below).

use std::ops::Range;

/// Deepest nesting the scanner follows (serde_json stops at 128; deeper lines go the slow way).
pub const MAX_DEPTH: usize = 100;
/// Longest integer part of a number accepted (f64 overflows past 309 digits).
pub const MAX_INT_DIGITS: usize = 300;
/// Most keys in one object whose duplicates are checked pairwise here.
const MAX_KEYS: usize = 64;

/// Where a JSON value sits in the line, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The value's bytes (a string's include its quotes).
    pub span: Range<usize>,
    pub kind: Kind,
    /// Where the string's text (escapes decoded) was copied in the scan's text buffer: the
    /// strings the grader reads (the sample text, observed item strings) are copied as they
    /// are scanned (see [`scan`]).
    pub text: Option<Range<usize>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string; `escaped` when it holds a backslash escape.
    Str {
        escaped: bool,
    },
    Null,
    /// A non-negative integer of at most 18 digits without a leading zero: serde_json writes it
    /// back byte for byte.
    SmallUint,
    /// Any other number, `true`, `false`.
    Scalar,
    Object,
    Array,
}

/// The fields of an accepted line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fields {
    pub id: Option<Token>,
    /// The sample text (a string token: `model_sample` or `sample`).
    pub sample: Option<Token>,
    /// The item's shape: `None` when absent or null.
    pub item: Option<Token>,
    /// `reference_answer`, when it matters (no item) and is not null.
    pub reference_answer: Option<Token>,
}

/// Buffers a scan works in, reused from line to line.
#[derive(Debug, Default)]
pub struct Scratch {
    /// Keys of the objects being read, innermost last (for duplicate checks).
    keys: Vec<Range<usize>>,
    /// For each key the grader observes (in its order): its value in the item object.
    pub item_values: Vec<Option<Token>>,
}

/// What the scanner made of a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan {
    Fast(Fields),
    /// Read it the established way (an error, or a shape this scanner does not take).
    Other,
}

/// Scans `line` for a grader observing the item `keys`; the observed item values are left in
/// `scratch.item_values`. The sample text and the observed item values that are strings are
/// appended to `text` as they are scanned, their escapes decoded (their tokens' `text`): the
/// bytes are in the cache then, and the escapes are found once (a pass over each string
/// after the scan, `memchr` for every escape, was ~⅓ of reading a bench line: #17
/// "rouge14"). Whatever the answer, `text` may have grown: a caller that does not keep the
/// line's plan truncates it.
pub fn scan(line: &str, keys: &[String], scratch: &mut Scratch, text: &mut String) -> Scan {
    scratch.keys.clear();
    scratch.item_values.clear();
    scratch.item_values.resize(keys.len(), None);
    let mut s = Scanner {
        line,
        b: line.as_bytes(),
        i: 0,
        keys: &mut scratch.keys,
        text,
    };
    match s.line(keys, &mut scratch.item_values) {
        Some(f) => Scan::Fast(f),
        None => Scan::Other,
    }
}

struct Scanner<'a> {
    line: &'a str,
    b: &'a [u8],
    i: usize,
    /// Keys of the objects being read, innermost last (for duplicate checks).
    keys: &'a mut Vec<Range<usize>>,
    /// Where the strings the grader reads are copied.
    text: &'a mut String,
}

/// A byte that needs a look inside a string: `"`, `\` or a control character.
fn special(b: u8) -> bool {
    (b == b'"') | (b == b'\\') | (b < 0x20)
}

/// Where the first [`special`] byte of `b` at or after `i` is, if any.
///
/// One pass over a string's bytes, 16 at a time, for the three kinds at once: it was a pass
/// over the whole line for control bytes first, then `memchr2` for quotes and backslashes,
/// called once for every key and value (#17 "rouge13": the scan of a bench line ~185 → ~145
/// ns).
fn special_from(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(blk) = b.get(i..i + 16) {
        let m = special_mask(blk.try_into().ok()?);
        if m != 0 {
            return Some(i + m.trailing_zeros() as usize);
        }
        i += 16;
    }
    let rest = b.get(i..)?;
    rest.iter().position(|&c| special(c)).map(|k| i + k)
}

/// Bit `k` set when byte `k` of `blk` is [`special`].
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn special_mask(blk: &[u8; 16]) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of every x86_64 CPU (the target's baseline); the load reads the 16
    // bytes `blk` refers to (an unaligned load).
    unsafe {
        let v = _mm_loadu_si128(blk.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // c <= 0x1f (unsigned): min(c, 0x1f) == c.
        let ctrl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, slash), ctrl)) as u32
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn special_mask(blk: &[u8; 16]) -> u32 {
    blk.iter()
        .enumerate()
        .fold(0, |m, (k, &c)| m | u32::from(special(c)) << k)
}

fn hex(b: &[u8]) -> Option<u32> {
    let mut n = 0u32;
    for &c in b.get(..4)? {
        n = n * 16 + (c as char).to_digit(16)?;
    }
    Some(n)
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// The top-level object.
    fn line(&mut self, item_keys: &[String], values: &mut [Option<Token>]) -> Option<Fields> {
        self.ws();
        self.eat(b'{')?;
        let mut f = Fields::default();
        let (mut model_sample, mut sample) = (None, None);
        let mut reference = None;
        self.members(0, |s, key| {
            let slot = match key {
                b"id" => &mut f.id,
                b"model_sample" => {
                    model_sample = Some(s.value_copied(1)?);
                    return Some(());
                }
                b"sample" => {
                    sample = Some(s.value_copied(1)?);
                    return Some(());
                }
                b"reference_answer" => &mut reference,
                b"item" if s.peek() == Some(b'{') => {
                    let start = s.i;
                    s.i += 1;
                    s.item_object(item_keys, values)?;
                    f.item = Some(Token {
                        span: start..s.i,
                        kind: Kind::Object,
                        text: None,
                    });
                    return Some(());
                }
                b"item" => &mut f.item,
                _ => return s.value(1).map(drop),
            };
            *slot = Some(s.value(1)?);
            Some(())
        })?;
        self.ws();
        if self.i != self.b.len() {
            return None;
        }
        let present = |t: Option<Token>| t.filter(|t| t.kind != Kind::Null);
        f.sample = match (present(model_sample), present(sample)) {
            (Some(t), None) | (None, Some(t)) if matches!(t.kind, Kind::Str { .. }) => Some(t),
            _ => return None,
        };
        f.item = present(f.item);
        match &f.item {
            None => f.reference_answer = present(reference),
            Some(t) if t.kind == Kind::Object => {}
            Some(_) => return None,
        }
        Some(f)
    }

    /// The members of an object whose `{` was read, through its `}`: `on` reads each value
    /// (the scanner stands at it) given the key's raw bytes. Duplicate and escaped keys fail.
    fn members(
        &mut self,
        depth: usize,
        mut on: impl FnMut(&mut Self, &[u8]) -> Option<()>,
    ) -> Option<()> {
        let base = self.keys.len();
        self.ws();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            self.ws();
            let start = self.i + 1;
            if self.string()? {
                return None; // an escaped key: duplicates could hide behind escapes
            }
            let key = start..self.i - 1;
            let b = self.b;
            let new = &b[key.clone()];
            if self.keys.len() - base >= MAX_KEYS
                || self.keys[base..].iter().any(|k| &b[k.clone()] == new)
            {
                return None;
            }
            self.keys.push(key);
            self.ws();
            self.eat(b':')?;
            self.ws();
            if depth == 0 {
                on(self, new)?;
            } else {
                self.value(depth + 1)?;
            }
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    self.keys.truncate(base);
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// The item object (its `{` read): records the values of the observed keys (strings
    /// copied to the text buffer).
    fn item_object(&mut self, item_keys: &[String], out: &mut [Option<Token>]) -> Option<()> {
        self.members(0, |s, key| {
            match item_keys.iter().position(|k| k.as_bytes() == key) {
                Some(k) => out[k] = Some(s.value_copied(2)?),
                None => {
                    s.value(2)?;
                }
            }
            Some(())
        })
    }

    /// [`Self::value`], a string's text copied to the text buffer ([`Token::text`]).
    fn value_copied(&mut self, depth: usize) -> Option<Token> {
        if self.peek()? != b'"' {
            return self.value(depth);
        }
        let start = self.i;
        let (escaped, text) = self.string_copied()?;
        Some(Token {
            span: start..self.i,
            kind: Kind::Str { escaped },
            text: Some(text),
        })
    }

    /// One value at nesting `depth` (the scanner stands at its first byte).
    fn value(&mut self, depth: usize) -> Option<Token> {
        let start = self.i;
        let kind = match self.peek()? {
            b'"' => Kind::Str {
                escaped: self.string()?,
            },
            b'{' | b'[' if depth > MAX_DEPTH => return None,
            b'{' => {
                self.i += 1;
                self.members(depth, |_, _| None)?;
                Kind::Object
            }
            b'[' => {
                self.i += 1;
                self.array(depth)?;
                Kind::Array
            }
            b'n' => self.literal(b"null", Kind::Null)?,
            b't' => self.literal(b"true", Kind::Scalar)?,
            b'f' => self.literal(b"false", Kind::Scalar)?,
            _ => self.number()?,
        };
        Some(Token {
            span: start..self.i,
            kind,
            text: None,
        })
    }

    fn literal(&mut self, word: &[u8], kind: Kind) -> Option<Kind> {
        self.b.get(self.i..)?.starts_with(word).then(|| {
            self.i += word.len();
            kind
        })
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        self.ws();
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            self.ws();
            self.value(depth + 1)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    /// A number without an exponent (see the module docs).
    fn number(&mut self) -> Option<Kind> {
        let negative = self.eat(b'-').is_some();
        let first = self.peek()?;
        let int = self.digits();
        if int == 0 || int > MAX_INT_DIGITS || (first == b'0' && int > 1) {
            return None;
        }
        let mut kind = if negative || int > 18 {
            Kind::Scalar
        } else {
            Kind::SmallUint
        };
        if self.eat(b'.').is_some() {
            if self.digits() == 0 {
                return None;
            }
            kind = Kind::Scalar;
        }
        match self.peek() {
            Some(b'e' | b'E') => None,
            _ => Some(kind),
        }
    }

    /// A string (the scanner stands at its `"`), through its closing quote; true when it holds
    /// an escape. The line is valid UTF-8, so only quotes, escapes and control bytes matter.
    fn string(&mut self) -> Option<bool> {
        self.eat(b'"')?;
        let mut escaped = false;
        loop {
            self.i = special_from(self.b, self.i)?;
            match self.b[self.i] {
                b'"' => {
                    self.i += 1;
                    return Some(escaped);
                }
                b'\\' => {
                    self.escape()?;
                    escaped = true;
                }
                _ => return None, // a control character
            }
        }
    }

    /// [`Self::string`], its text (escapes decoded) appended to the text buffer: whether it
    /// held an escape, and where the text went.
    fn string_copied(&mut self) -> Option<(bool, Range<usize>)> {
        self.eat(b'"')?;
        let (line, start) = (self.line, self.text.len());
        let mut escaped = false;
        // The text not copied yet starts here.
        let mut run = self.i;
        loop {
            self.i = special_from(self.b, self.i)?;
            // Runs start and end next to ASCII bytes: always char boundaries.
            self.text.push_str(line.get(run..self.i)?);
            match self.b[self.i] {
                b'"' => {
                    self.i += 1;
                    return Some((escaped, start..self.text.len()));
                }
                b'\\' => {
                    let c = self.escape()?;
                    self.text.push(c);
                    run = self.i;
                    escaped = true;
                }
                _ => return None, // a control character
            }
        }
    }

    /// One escape (the scanner stands at its `\`), which must decode to a scalar value: that
    /// value.
    fn escape(&mut self) -> Option<char> {
        let b = self.b;
        let c = match *b.get(self.i + 1)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let n = hex(b.get(self.i + 2..)?)?;
                self.i += 6;
                if (0xDC00..0xE000).contains(&n) {
                    return None;
                }
                if (0xD800..0xDC00).contains(&n) {
                    if b.get(self.i..self.i + 2)? != b"\\u" {
                        return None;
                    }
                    let lo = hex(b.get(self.i + 2..)?)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    self.i += 6;
                    return char::from_u32(0x10000 + ((n - 0xD800) << 10) + (lo - 0xDC00));
                }
                return char::from_u32(n);
            }
            _ => return None,
        };
        self.i += 2;
        Some(c)
    }
}

/// Appends the text of string token `t` of `line` (accepted by [`scan`]) to `out`, escapes
/// decoded. False (nothing appended) if it is not such a string.
pub fn push_str(line: &str, t: &Token, out: &mut String) -> bool {
    let Kind::Str { escaped } = t.kind else {
        return false;
    };
    let Some(body) = t
        .span
        .start
        .checked_add(1)
        .zip(t.span.end.checked_sub(1))
        .and_then(|(a, z)| line.get(a..z))
    else {
        return false;
    };
    if !escaped {
        out.push_str(body);
        return true;
    }
    let start = out.len();
    let mut rest = body;
    while let Some(at) = memchr::memchr(b'\\', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        let e = rest.as_bytes();
        let (c, len) = match e.get(at + 1) {
            Some(b'"') => ('"', 2),
            Some(b'\\') => ('\\', 2),
            Some(b'/') => ('/', 2),
            Some(b'b') => ('\u{8}', 2),
            Some(b'f') => ('\u{c}', 2),
            Some(b'n') => ('\n', 2),
            Some(b'r') => ('\r', 2),
            Some(b't') => ('\t', 2),
            Some(b'u') => match decode_u(&e[at..]) {
                Some(x) => x,
                None => {
                    out.truncate(start);
                    return false;
                }
            },
            _ => {
                out.truncate(start);
                return false;
            }
        };
        out.push(c);
        match rest.get(at + len..) {
            Some(r) => rest = r,
            None => {
                out.truncate(start);
                return false;
            }
        }
    }
    out.push_str(rest);
    true
}

/// A `\uXXXX` escape (or a surrogate pair of two) at the start of `e`: the character and the
/// bytes it took.
fn decode_u(e: &[u8]) -> Option<(char, usize)> {
    let n = hex(e.get(2..)?)?;
    if (0xD800..0xDC00).contains(&n) {
        if e.get(6..8)? != b"\\u" {
            return None;
        }
        let lo = hex(e.get(8..)?)?;
        let c = 0x10000 + ((n - 0xD800) << 10) + lo.checked_sub(0xDC00)?;
        return Some((char::from_u32(c)?, 12));
    }
    Some((char::from_u32(n)?, 6))
}

#[cfg(test)]
mod tests;
