//! Tokeniser: source text → tokens with byte offsets.
//!
//! Lexing is a separate pass so the parser can look one token ahead (`name (` is a call, `name`
//! alone a variable) and so every error can point at the exact text. Numbers are validated here:
//! `digits [. digits?] | . digits`, then an optional `e|E [+|-] digits`; the validated slice is
//! handed to Rust's `f64` parser, which rounds correctly. A literal that overflows to infinity is
//! rejected rather than guessed at.

use crate::error::{position, FormulaError, FormulaErrorKind};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Tok<'a> {
    Num(f64),
    Ident(&'a str),
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    LParen,
    RParen,
    Comma,
    End,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    /// Byte offset of the first character.
    pub offset: usize,
    /// The source text of the token (empty for `End`).
    pub text: &'a str,
}

/// Can `c` start an identifier? Letters of any script and `_`.
pub(crate) fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

/// Can `c` continue an identifier? Letters and digits of any script and `_`.
pub(crate) fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

pub(crate) fn tokenize(src: &str) -> Result<Vec<Token<'_>>, FormulaError> {
    let mut tokens = Vec::new();
    let bytes = src.as_bytes();
    let mut chars = src.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let single = match c {
            '+' => Some(Tok::Plus),
            '-' => Some(Tok::Minus),
            '*' => Some(Tok::Star),
            '/' => Some(Tok::Slash),
            '^' => Some(Tok::Caret),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(tok) = single {
            chars.next();
            tokens.push(Token {
                tok,
                offset: start,
                text: &src[start..start + 1],
            });
            continue;
        }
        if c.is_ascii_digit() || c == '.' {
            let end = scan_number(src, bytes, start)?;
            let text = &src[start..end];
            let value: f64 = text.parse().map_err(|_| {
                FormulaError::new(
                    FormulaErrorKind::InvalidNumber,
                    start,
                    format!("invalid number \"{text}\" {}", position(src, start)),
                )
            })?;
            if !value.is_finite() {
                return Err(FormulaError::new(
                    FormulaErrorKind::InvalidNumber,
                    start,
                    format!(
                        "number \"{text}\" {} is too large for a 64-bit float",
                        position(src, start)
                    ),
                ));
            }
            tokens.push(Token {
                tok: Tok::Num(value),
                offset: start,
                text,
            });
            while chars.peek().is_some_and(|&(i, _)| i < end) {
                chars.next();
            }
            continue;
        }
        if is_ident_start(c) {
            let mut end = start;
            while let Some(&(i, d)) = chars.peek() {
                if !is_ident_continue(d) {
                    break;
                }
                end = i + d.len_utf8();
                chars.next();
            }
            let text = &src[start..end];
            tokens.push(Token {
                tok: Tok::Ident(text),
                offset: start,
                text,
            });
            continue;
        }
        return Err(invalid_character(src, start, c));
    }
    tokens.push(Token {
        tok: Tok::End,
        offset: src.len(),
        text: "",
    });
    Ok(tokens)
}

/// End (exclusive byte offset) of the numeric literal starting at `start`, which holds a digit
/// or `.`.
fn scan_number(src: &str, bytes: &[u8], start: usize) -> Result<usize, FormulaError> {
    let digits = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let int_end = digits(start);
    let mut end = int_end;
    let mut mantissa_digits = int_end - start;
    if bytes.get(end) == Some(&b'.') {
        let frac_end = digits(end + 1);
        mantissa_digits += frac_end - (end + 1);
        end = frac_end;
    }
    if mantissa_digits == 0 {
        return Err(FormulaError::new(
            FormulaErrorKind::InvalidNumber,
            start,
            format!(
                "invalid number \".\" {}; a number needs at least one digit",
                position(src, start)
            ),
        ));
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let mut i = end + 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_end = digits(i);
        if exp_end == i {
            let shown = &src[start..i.min(src.len())];
            return Err(FormulaError::new(
                FormulaErrorKind::InvalidNumber,
                start,
                format!(
                    "invalid number \"{shown}\" {}; the exponent needs digits, as in 1e-9",
                    position(src, start)
                ),
            ));
        }
        end = exp_end;
    }
    if bytes.get(end) == Some(&b'.') {
        return Err(FormulaError::new(
            FormulaErrorKind::InvalidNumber,
            start,
            format!(
                "invalid number \"{}\" {}",
                &src[start..end + 1],
                position(src, start)
            ),
        ));
    }
    Ok(end)
}

fn invalid_character(src: &str, offset: usize, c: char) -> FormulaError {
    let hint = match c {
        '%' => "; there is no remainder operator",
        '=' | '<' | '>' | '!' => "; comparisons are not supported, the formula is arithmetic only",
        '&' | '|' => "; logical operators are not supported, the formula is arithmetic only",
        '[' | ']' | '{' | '}' => "; only ( and ) group expressions",
        '"' | '\'' | '`' => "; strings are not supported, and grader names are written bare",
        _ => "",
    };
    let shown = if c.is_control() {
        c.escape_default().to_string()
    } else {
        c.to_string()
    };
    FormulaError::new(
        FormulaErrorKind::InvalidCharacter,
        offset,
        format!(
            "unexpected character \"{shown}\" {}{hint}",
            position(src, offset)
        ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn toks(src: &str) -> Vec<Tok<'_>> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_in_every_documented_form() {
        for (src, v) in [
            ("1", 1.0),
            ("1.", 1.0),
            (".5", 0.5),
            ("1e-9", 1e-9),
            ("1E+3", 1000.0),
            ("2.5e2", 250.0),
            ("007", 7.0),
        ] {
            assert_eq!(toks(src), vec![Tok::Num(v), Tok::End], "{src}");
        }
    }

    #[test]
    fn malformed_numbers_are_rejected() {
        for src in [".", "1e", "1e+", "1.2.3", "1e999", "1..2"] {
            let err = tokenize(src).unwrap_err();
            assert_eq!(err.kind, FormulaErrorKind::InvalidNumber, "{src}");
        }
    }

    #[test]
    fn identifiers_take_unicode_letters_digits_underscore() {
        assert_eq!(
            toks("_a1 précision x2y"),
            vec![
                Tok::Ident("_a1"),
                Tok::Ident("précision"),
                Tok::Ident("x2y"),
                Tok::End
            ]
        );
        // A digit run followed by letters is a number then an identifier (the parser rejects it).
        assert_eq!(toks("2x"), vec![Tok::Num(2.0), Tok::Ident("x"), Tok::End]);
    }

    #[test]
    fn offsets_are_bytes() {
        let t = tokenize("é + b").unwrap();
        assert_eq!(t[1].offset, 3);
        assert_eq!(t[2].offset, 5);
        assert_eq!(t[3].offset, 6);
    }

    #[test]
    fn bad_characters_name_themselves() {
        let e = tokenize("a % b").unwrap_err();
        assert_eq!(e.kind, FormulaErrorKind::InvalidCharacter);
        assert_eq!(e.offset, 2);
        assert!(e
            .message
            .starts_with("unexpected character \"%\" at column 3"));
        let e = tokenize("a\u{7}").unwrap_err();
        assert!(e.message.contains("\\u{7}"), "{}", e.message);
    }
}
