//! Recursive-descent parser that emits postfix code directly (no syntax tree).
//!
//! Grammar, loosest binding first:
//!
//! ```text
//! expr    := term (("+" | "-") term)*          left-associative
//! term    := unary (("*" | "/") unary)*        left-associative
//! unary   := ("-" | "+") unary | power
//! power   := primary ("^" unary)?              right-associative through `unary`
//! primary := number | name "(" expr ("," expr)* ")" | name | "(" expr ")"
//! ```
//!
//! Because the exponent of `^` is a `unary`, `2^-1` and `2^3^2 = 2^(3^2)` parse, while a
//! leading minus applies to the whole power: `-2^2 = -(2^2)`. This is the convention of
//! mathematics and of Python's `**` (`-2**2 == -4`, `2**-1 == 0.5`, `2**3**2 == 512`).
//!
//! Emitting postfix code while parsing means no tree is ever built, so neither compiling nor
//! dropping a formula recurses; the only recursion is the parser's own, bounded by
//! [`crate::MAX_DEPTH`] (every cycle of the grammar passes through `unary`, which counts).
//! `expr` and `term` share one loop and signs are counted in a loop, so one nesting level costs
//! at most four stack frames (measured for every nesting shape at depth 256: fits a 128 KiB
//! thread in release builds and a 768 KiB one in debug builds; threads get 2 MiB by default).
//! Constant sub-expressions are folded as they are emitted: in postfix code an operand is a
//! single `Const` exactly when the instruction that ends it is a `Const`, so "the last k
//! instructions are constants" is a sound test. Folding applies the very same `f64` operations
//! as evaluation, so it never changes a result.

use crate::error::{position, FormulaError, FormulaErrorKind};
use crate::lexer::{Tok, Token};
use crate::ops::{Func, Op};
use crate::MAX_DEPTH;
use std::collections::HashMap;

/// Past this many variables, names are looked up in a hash table.
const INDEX_VARIABLES: usize = 32;

pub(crate) struct Parser<'s, 'v> {
    src: &'s str,
    tokens: Vec<Token<'s>>,
    pos: usize,
    variables: &'v [&'v str],
    /// Name → slot when there are many variables: a multi grader may have 100,000
    /// sub-graders and its formula thousands of references, and a linear search per
    /// reference took seconds. Few variables are searched in place (no table to build).
    index: Option<HashMap<&'v str, u32>>,
    depth: usize,
    pub code: Vec<Op>,
    stack: usize,
    pub max_stack: usize,
}

/// Errors are boxed inside the parser: a one-word `Err` keeps the frames of the recursive
/// functions small (each `?` otherwise copies the whole error through temporaries, which in
/// debug builds tripled the stack needed per nesting level).
type PResult = Result<(), Box<FormulaError>>;

#[cold]
fn boxed(kind: FormulaErrorKind, offset: usize, message: String) -> Box<FormulaError> {
    Box::new(FormulaError::new(kind, offset, message))
}

impl<'s, 'v> Parser<'s, 'v> {
    pub fn new(src: &'s str, tokens: Vec<Token<'s>>, variables: &'v [&'v str]) -> Self {
        let index = (variables.len() > INDEX_VARIABLES).then(|| {
            let mut index = HashMap::with_capacity(variables.len());
            for (i, v) in variables.iter().enumerate() {
                if let Ok(slot) = u32::try_from(i) {
                    // The first occurrence of a name is its slot.
                    index.entry(*v).or_insert(slot);
                }
            }
            index
        });
        Self {
            src,
            tokens,
            pos: 0,
            variables,
            index,
            depth: 0,
            code: Vec::new(),
            stack: 0,
            max_stack: 0,
        }
    }

    /// Parse the whole token stream as one expression.
    pub fn parse(&mut self) -> PResult {
        self.expr()?;
        let t = self.peek();
        match t.tok {
            Tok::End => Ok(()),
            Tok::RParen => Err(self.error_at(
                FormulaErrorKind::UnexpectedToken,
                t,
                "; there is no \"(\" for it to close",
            )),
            _ => Err(self.error_at(
                FormulaErrorKind::UnexpectedToken,
                t,
                "; expected an operator (+ - * / ^) or the end of the formula",
            )),
        }
    }

    fn peek(&self) -> Token<'s> {
        // The token list always ends with `End`, and `pos` never moves past it.
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .copied()
            .unwrap_or(Token {
                tok: Tok::End,
                offset: self.src.len(),
                text: "",
            })
    }

    fn bump(&mut self) -> Token<'s> {
        let t = self.peek();
        if !matches!(t.tok, Tok::End) {
            self.pos += 1;
        }
        t
    }

    fn prev(&self) -> Option<Token<'s>> {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .copied()
    }

    /// `expr` and `term` in one loop: binary operators wait on a two-entry stack (one per
    /// level), so a chain of `+ - * /` costs no recursion and parentheses cost three frames
    /// (`unary` → `primary` → `expr`) per level.
    fn expr(&mut self) -> PResult {
        // (operator, level): level 0 = `+ -`, level 1 = `* /`; at most one of each is pending.
        let mut pending: [(Op, u8); 2] = [(Op::Add, 0); 2];
        let mut n = 0usize;
        self.unary()?;
        loop {
            let (op, level) = match self.peek().tok {
                Tok::Plus => (Op::Add, 0),
                Tok::Minus => (Op::Sub, 0),
                Tok::Star => (Op::Mul, 1),
                Tok::Slash => (Op::Div, 1),
                _ => break,
            };
            // Left associativity: an operator of the same or a tighter level is complete.
            while n > 0 && pending[n - 1].1 >= level {
                n -= 1;
                self.emit(pending[n].0);
            }
            if let Some(slot) = pending.get_mut(n) {
                *slot = (op, level);
                n += 1;
            }
            self.bump();
            self.unary()?;
        }
        while n > 0 {
            n -= 1;
            self.emit(pending[n].0);
        }
        Ok(())
    }

    /// Signs, then a primary, then an optional `^ unary`. Signs are a loop, not recursion
    /// (negation is exact, so an even number of minus signs emits nothing), but each still
    /// counts one level towards [`MAX_DEPTH`].
    fn unary(&mut self) -> PResult {
        let depth = self.depth;
        let mut negate = false;
        loop {
            match self.peek().tok {
                Tok::Minus => negate = !negate,
                Tok::Plus => {}
                _ => break,
            }
            self.enter()?;
            self.bump();
        }
        self.enter()?;
        self.primary()?;
        if matches!(self.peek().tok, Tok::Caret) {
            self.bump();
            self.unary()?;
            self.emit(Op::Pow);
        }
        if negate {
            self.emit(Op::Neg);
        }
        self.depth = depth;
        Ok(())
    }

    fn enter(&mut self) -> PResult {
        if self.depth >= MAX_DEPTH {
            return Err(self.too_deep());
        }
        self.depth += 1;
        Ok(())
    }

    fn primary(&mut self) -> PResult {
        let t = self.bump();
        match t.tok {
            Tok::Num(v) => {
                self.emit(Op::Const(v));
                Ok(())
            }
            Tok::LParen => {
                self.expr()?;
                self.expect_close(t)
            }
            Tok::Ident(name) if matches!(self.peek().tok, Tok::LParen) => self.call(t, name),
            Tok::Ident(name) => {
                let slot = self.resolve(t, name)?;
                self.emit(Op::Var(slot));
                Ok(())
            }
            Tok::End => Err(self.unexpected_end()),
            Tok::Star if self.prev_is_star(t) => Err(self.error_at(
                FormulaErrorKind::UnexpectedToken,
                t,
                "; write powers with ^, as in x^2",
            )),
            _ => Err(self.error_at(
                FormulaErrorKind::UnexpectedToken,
                t,
                "; expected a number, a grader name, a function call or \"(\"",
            )),
        }
    }

    /// `**` typed for a power: the second `*` directly follows the first.
    fn prev_is_star(&self, t: Token<'s>) -> bool {
        self.pos >= 2
            && self
                .tokens
                .get(self.pos - 2)
                .is_some_and(|p| matches!(p.tok, Tok::Star) && p.offset + 1 == t.offset)
    }

    fn call(&mut self, name_tok: Token<'s>, name: &str) -> PResult {
        let Some(func) = Func::from_name(name) else {
            return Err(self.unknown_function(name_tok, name));
        };
        let open = self.bump();
        let mut argc: usize = 0;
        if matches!(self.peek().tok, Tok::RParen) {
            self.bump();
        } else {
            loop {
                self.expr()?;
                argc += 1;
                let t = self.peek();
                match t.tok {
                    Tok::Comma => {
                        self.bump();
                    }
                    Tok::RParen => {
                        self.bump();
                        break;
                    }
                    Tok::End => return Err(self.unclosed(open)),
                    _ => return Err(self.bad_argument_separator(t, func)),
                }
            }
        }
        let (min, max) = func.arity();
        if argc < min || argc > max {
            return Err(self.wrong_arity(name_tok, func, argc));
        }
        self.emit_call(func, argc);
        Ok(())
    }

    fn expect_close(&mut self, open: Token<'s>) -> PResult {
        let t = self.peek();
        match t.tok {
            Tok::RParen => {
                self.bump();
                Ok(())
            }
            Tok::End => Err(self.unclosed(open)),
            _ => Err(self.error_at(
                FormulaErrorKind::UnexpectedToken,
                t,
                "; expected an operator (+ - * / ^) or \")\"",
            )),
        }
    }

    #[inline(never)]
    fn resolve(&self, t: Token<'s>, name: &str) -> Result<u32, Box<FormulaError>> {
        if let Some(index) = &self.index {
            if let Some(&slot) = index.get(name) {
                return Ok(slot);
            }
        } else if let Some(i) = self.variables.iter().position(|v| *v == name) {
            if let Ok(slot) = u32::try_from(i) {
                return Ok(slot);
            }
        }
        let graders = if self.variables.is_empty() {
            "there are no graders".to_string()
        } else {
            format!("the graders are: {}", self.variables.join(", "))
        };
        let mut hint = String::new();
        if let Some(v) = self
            .variables
            .iter()
            .find(|v| v.to_lowercase() == name.to_lowercase())
        {
            hint = format!(" (did you mean \"{v}\"? names are case-sensitive)");
        } else if Func::from_name(name).is_some() {
            hint = format!(" ({name} is a function: write {name}(...))");
        } else if name == "e" || name == "pi" {
            hint = " (there are no named constants; write exp(1) for e or the number itself)"
                .to_string();
        }
        let unreachable: Vec<&str> = self
            .variables
            .iter()
            .copied()
            .filter(|v| !crate::is_identifier(v))
            .collect();
        if !unreachable.is_empty() && hint.is_empty() {
            hint = format!(
                " (keys that are not identifiers cannot be used in the formula: {})",
                unreachable.join(", ")
            );
        }
        Err(boxed(
            FormulaErrorKind::UnknownVariable,
            t.offset,
            format!(
                "unknown variable \"{name}\" {}; {graders}{hint}",
                position(self.src, t.offset)
            ),
        ))
    }

    #[cold]
    #[inline(never)]
    fn too_deep(&self) -> Box<FormulaError> {
        let t = self.peek();
        boxed(
            FormulaErrorKind::TooDeep,
            t.offset,
            format!(
                "formula nests deeper than {MAX_DEPTH} levels {}",
                position(self.src, t.offset)
            ),
        )
    }

    #[cold]
    #[inline(never)]
    fn unknown_function(&self, name_tok: Token<'s>, name: &str) -> Box<FormulaError> {
        let hint = if self.variables.contains(&name) {
            format!(
                " (\"{name}\" is a grader; there is no implicit multiplication, write {name} * (...))"
            )
        } else {
            match Func::from_name(&name.to_lowercase()) {
                Some(f) => format!(" (function names are lower case: {})", f.name()),
                None => String::new(),
            }
        };
        boxed(
            FormulaErrorKind::UnknownFunction,
            name_tok.offset,
            format!(
                "unknown function \"{name}\" {}; expected one of {}{hint}",
                position(self.src, name_tok.offset),
                Func::ALL_NAMES.join(", ")
            ),
        )
    }

    #[cold]
    #[inline(never)]
    fn bad_argument_separator(&self, t: Token<'s>, func: Func) -> Box<FormulaError> {
        self.error_at(
            FormulaErrorKind::UnexpectedToken,
            t,
            &format!(
                "; expected \",\" or \")\" in the arguments of {}",
                func.name()
            ),
        )
    }

    #[cold]
    #[inline(never)]
    fn wrong_arity(&self, name_tok: Token<'s>, func: Func, argc: usize) -> Box<FormulaError> {
        let expected = match func.arity() {
            (1, 1) => "1 argument".to_string(),
            (lo, usize::MAX) => format!("at least {lo} argument{}", plural(lo)),
            (lo, hi) => format!("{lo} or {hi} arguments"),
        };
        boxed(
            FormulaErrorKind::WrongArity,
            name_tok.offset,
            format!(
                "wrong number of arguments {}: {} takes {expected}, got {argc}",
                position(self.src, name_tok.offset),
                func.name()
            ),
        )
    }

    #[cold]
    #[inline(never)]
    fn unexpected_end(&self) -> Box<FormulaError> {
        let hint = match self.prev() {
            Some(p) => format!(" after \"{}\"; expected an operand", p.text),
            None => String::new(),
        };
        boxed(
            FormulaErrorKind::UnexpectedEnd,
            self.src.len(),
            format!("unexpected end of formula{hint}"),
        )
    }

    #[cold]
    #[inline(never)]
    fn unclosed(&self, open: Token<'s>) -> Box<FormulaError> {
        boxed(
            FormulaErrorKind::UnexpectedEnd,
            self.src.len(),
            format!(
                "unexpected end of formula; the \"(\" {} is never closed",
                position(self.src, open.offset)
            ),
        )
    }

    #[cold]
    #[inline(never)]
    fn error_at(&self, kind: FormulaErrorKind, t: Token<'s>, hint: &str) -> Box<FormulaError> {
        boxed(
            kind,
            t.offset,
            format!(
                "unexpected \"{}\" {}{hint}",
                t.text,
                position(self.src, t.offset)
            ),
        )
    }

    /// Append `op`, folding it into a constant when all its operands are constants.
    fn emit(&mut self, op: Op) {
        let (pops, _) = op.stack_effect();
        if pops > 0 {
            if let Some(value) = self.fold(pops, |args| op.apply(args)) {
                self.code.truncate(self.code.len() - pops);
                self.stack -= pops;
                self.push(Op::Const(value));
                return;
            }
        }
        self.push(op);
    }

    fn emit_call(&mut self, func: Func, argc: usize) {
        let op = func.op(argc);
        self.emit(op);
    }

    /// The folded value when the last `n` instructions are all constants.
    fn fold(&self, n: usize, apply: impl Fn(&[f64]) -> f64) -> Option<f64> {
        let tail = self.code.get(self.code.len().checked_sub(n)?..)?;
        let mut args = Vec::with_capacity(n);
        for op in tail {
            match op {
                Op::Const(v) => args.push(*v),
                _ => return None,
            }
        }
        Some(apply(&args))
    }

    fn push(&mut self, op: Op) {
        let (pops, pushes) = op.stack_effect();
        self.stack = self.stack.saturating_sub(pops) + pushes;
        self.max_stack = self.max_stack.max(self.stack);
        self.code.push(op);
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
