//! The template scanner. Hand-written: one pass over the bytes, no regex.

use super::{Path, Root, Segment, Step};
use std::fmt;

/// A reference that starts with `item`/`sample` but does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The whole `{{ … }}` expression.
    pub expression: String,
    /// Byte offset of the expression in the template.
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot parse template expression {}: {}",
            self.expression, self.message
        )
    }
}

impl std::error::Error for TemplateError {}

/// Characters of a `.key` step.
pub(crate) fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

pub(crate) fn parse(src: &str) -> Result<Vec<Segment>, TemplateError> {
    let mut segs = Vec::new();
    let mut lit = String::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    let mut lit_start = 0;
    // Where the first `}}` / `>>` at or after the last search start is. `i` only moves
    // forward, so a found closer stays the answer until the scan passes it: each delimiter's
    // closers are searched for in one forward sweep (re-searching from every opener made
    // `{{ {{ {{ … }} }} }}` quadratic: 600 KB took 11 s to compile).
    let mut next_close: [Option<usize>; 2] = [None, None];
    while i + 1 < bytes.len() {
        let (close, which) = match (bytes[i], bytes[i + 1]) {
            (b'{', b'{') => ("}}", 0),
            (b'<', b'<') => (">>", 1),
            _ => {
                i += 1;
                continue;
            }
        };
        let inner_start = i + 2;
        let close_at = match next_close[which] {
            Some(at) if at >= inner_start => at,
            _ => match src[inner_start..].find(close) {
                Some(rel) => inner_start + rel,
                None => break,
            },
        };
        next_close[which] = Some(close_at);
        let inner = &src[inner_start..close_at];
        let end = close_at + 2;
        match parse_ref(inner) {
            Ok(Some(path)) => {
                lit.push_str(&src[lit_start..i]);
                if !lit.is_empty() {
                    segs.push(Segment::Lit(std::mem::take(&mut lit)));
                }
                segs.push(Segment::Ref(path));
                i = end;
                lit_start = end;
            }
            // Not a reference: the delimiter's first character is literal text; keep
            // scanning from the next one (so `{{{item.x}}}` renders `{` + value + `}`).
            Ok(None) => i += 1,
            Err(message) => {
                return Err(TemplateError {
                    expression: src[i..end].to_string(),
                    offset: i,
                    message,
                })
            }
        }
    }
    lit.push_str(&src[lit_start..]);
    if !lit.is_empty() {
        segs.push(Segment::Lit(lit));
    }
    Ok(segs)
}

/// `Ok(None)`: not a reference (literal text). `Err`: looks like a reference but is broken.
pub(crate) fn parse_ref(inner: &str) -> Result<Option<Path>, String> {
    // Only the first word decides whether this is a reference, so text that is not one costs
    // its leading spaces and first word, never a scan to its end (`inner` may run to a far
    // closer).
    let s = inner.trim_start();
    let word_len = s
        .char_indices()
        .find(|(_, c)| !is_word_char(*c))
        .map_or(s.len(), |(i, _)| i);
    let root = match &s[..word_len] {
        "item" => Root::Item,
        "sample" => Root::Sample,
        _ => return Ok(None),
    };
    let s = s.trim_end();
    let mut steps = Vec::new();
    let rest = &s[word_len..];
    let mut chars = rest.char_indices().peekable();
    while let Some((pos, c)) = chars.next() {
        match c {
            '.' => {
                let start = pos + 1;
                let mut end = start;
                while let Some(&(p, c)) = chars.peek() {
                    if !is_key_char(c) {
                        break;
                    }
                    end = p + c.len_utf8();
                    chars.next();
                }
                if end == start {
                    return Err(match chars.peek() {
                        Some(&(_, c)) => format!("expected a key after \".\", found {c:?}"),
                        None => "expected a key after \".\"".to_string(),
                    });
                }
                steps.push(Step::Key(rest[start..end].to_string()));
            }
            '[' => {
                skip_ws(&mut chars);
                let step = match chars.peek().map(|&(_, c)| c) {
                    Some(q @ ('"' | '\'')) => {
                        chars.next();
                        let mut key = String::new();
                        loop {
                            match chars.next() {
                                Some((_, '\\')) => match chars.next() {
                                    Some((_, c)) => key.push(c),
                                    None => return Err("unterminated quoted key".into()),
                                },
                                Some((_, c)) if c == q => break,
                                Some((_, c)) => key.push(c),
                                None => return Err("unterminated quoted key".into()),
                            }
                        }
                        Step::Key(key)
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let mut n: usize = 0;
                        while let Some(&(_, c)) = chars.peek() {
                            let Some(d) = c.to_digit(10) else { break };
                            n = n
                                .checked_mul(10)
                                .and_then(|n| n.checked_add(d as usize))
                                .ok_or("index is too large")?;
                            chars.next();
                        }
                        Step::Index(n)
                    }
                    Some(c) => {
                        return Err(format!(
                            "expected an index or a quoted key after \"[\", found {c:?}"
                        ))
                    }
                    None => return Err("unterminated \"[\"".into()),
                };
                skip_ws(&mut chars);
                match chars.next() {
                    Some((_, ']')) => steps.push(step),
                    Some((_, c)) => return Err(format!("expected \"]\", found {c:?}")),
                    None => return Err("unterminated \"[\"".into()),
                }
            }
            other => {
                return Err(format!(
                    "unexpected {other:?}; a reference is item or sample followed by .key, [0] or [\"key\"] steps"
                ))
            }
        }
    }
    Ok(Some(Path { root, steps }))
}

fn skip_ws(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) {
    while chars.peek().is_some_and(|&(_, c)| c.is_whitespace()) {
        chars.next();
    }
}
