//! The compiled form: postfix instructions for a small stack machine, and their semantics.
//!
//! Every operation is plain IEEE-754 `f64` arithmetic; nothing here raises. Division by zero,
//! `sqrt(-1)`, `log(0)`, overflow of `exp` or `^` give `±inf`/`NaN`, and the caller (the multi
//! grader) turns a non-finite result into `other_error`. Two choices go beyond bare IEEE:
//!
//! * `min`/`max` propagate NaN (any NaN argument gives NaN, like IEEE 754-2019 `minimum` /
//!   `maximum`), where Rust's `f64::min`/`max` would silently drop it. A formula such as
//!   `max(sqrt(a - 1), 0)` must not hide an invalid intermediate result.
//! * `log(x, b)` is `ln(x) / ln(b)`, the same computation as Python's `math.log(x, b)`, so
//!   `log(8, 2)` is exactly `3`.

/// One instruction. `Var` reads a slot; every other non-`Const` instruction pops its operands
/// and pushes one result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    Const(f64),
    Var(u32),
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Abs,
    Floor,
    Ceil,
    Exp,
    Sqrt,
    Ln,
    /// `log(x, base)`.
    LogBase,
    /// `min` of the top `n` values.
    Min(u32),
    /// `max` of the top `n` values.
    Max(u32),
}

impl Op {
    /// (values popped, values pushed).
    pub fn stack_effect(self) -> (usize, usize) {
        match self {
            Op::Const(_) | Op::Var(_) => (0, 1),
            Op::Neg | Op::Abs | Op::Floor | Op::Ceil | Op::Exp | Op::Sqrt | Op::Ln => (1, 1),
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Pow | Op::LogBase => (2, 1),
            Op::Min(n) | Op::Max(n) => (n as usize, 1),
        }
    }

    /// Apply an operation to its operands (in source order). `Const`/`Var` and a wrong operand
    /// count give NaN; the parser never produces either. Constant folding calls this, and
    /// [`run`] calls the same `unary`/`binary`/`nary`, so folding never changes a result.
    pub fn apply(self, args: &[f64]) -> f64 {
        match (self, args) {
            (Op::Min(_) | Op::Max(_), args) => self.nary(args),
            (_, &[a]) => self.unary(a),
            (_, &[a, b]) => self.binary(a, b),
            _ => f64::NAN,
        }
    }

    #[inline(always)]
    fn unary(self, a: f64) -> f64 {
        match self {
            Op::Neg => -a,
            Op::Abs => a.abs(),
            Op::Floor => a.floor(),
            Op::Ceil => a.ceil(),
            Op::Exp => a.exp(),
            Op::Sqrt => a.sqrt(),
            Op::Ln => a.ln(),
            _ => f64::NAN,
        }
    }

    #[inline(always)]
    fn binary(self, a: f64, b: f64) -> f64 {
        match self {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div => a / b,
            Op::Pow => a.powf(b),
            Op::LogBase => log_base(a, b),
            _ => f64::NAN,
        }
    }

    fn nary(self, args: &[f64]) -> f64 {
        match self {
            Op::Min(_) if !args.is_empty() => args.iter().copied().fold(f64::INFINITY, min),
            Op::Max(_) if !args.is_empty() => args.iter().copied().fold(f64::NEG_INFINITY, max),
            _ => f64::NAN,
        }
    }
}

pub(crate) fn log_base(x: f64, base: f64) -> f64 {
    x.ln() / base.ln()
}

/// NaN-propagating minimum.
pub(crate) fn min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if b < a {
        b
    } else {
        a
    }
}

/// NaN-propagating maximum.
pub(crate) fn max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if b > a {
        b
    } else {
        a
    }
}

/// The built-in functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Min,
    Max,
    Abs,
    Floor,
    Ceil,
    Exp,
    Sqrt,
    Log,
}

impl Func {
    pub const ALL_NAMES: [&'static str; 8] =
        ["min", "max", "abs", "floor", "ceil", "exp", "sqrt", "log"];

    pub fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "min" => Func::Min,
            "max" => Func::Max,
            "abs" => Func::Abs,
            "floor" => Func::Floor,
            "ceil" => Func::Ceil,
            "exp" => Func::Exp,
            "sqrt" => Func::Sqrt,
            "log" => Func::Log,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Func::Min => "min",
            Func::Max => "max",
            Func::Abs => "abs",
            Func::Floor => "floor",
            Func::Ceil => "ceil",
            Func::Exp => "exp",
            Func::Sqrt => "sqrt",
            Func::Log => "log",
        }
    }

    /// Inclusive (min, max) argument counts; `usize::MAX` = unbounded.
    pub fn arity(self) -> (usize, usize) {
        match self {
            Func::Min | Func::Max => (1, usize::MAX),
            Func::Log => (1, 2),
            _ => (1, 1),
        }
    }

    /// The instruction for a call with `argc` arguments (already arity-checked).
    pub fn op(self, argc: usize) -> Op {
        let n = u32::try_from(argc).unwrap_or(u32::MAX);
        match self {
            Func::Min => Op::Min(n),
            Func::Max => Op::Max(n),
            Func::Abs => Op::Abs,
            Func::Floor => Op::Floor,
            Func::Ceil => Op::Ceil,
            Func::Exp => Op::Exp,
            Func::Sqrt => Op::Sqrt,
            Func::Log if argc == 2 => Op::LogBase,
            Func::Log => Op::Ln,
        }
    }
}

/// Run `code` over `stack` (at least as long as the deepest point of the program). Reads of a
/// missing slot give NaN; a stack too small (impossible for parser output) gives NaN rather than
/// a panic.
pub(crate) fn run(code: &[Op], values: &[f64], stack: &mut [f64]) -> f64 {
    let mut sp = 0usize; // number of live values
    for &op in code {
        match op {
            Op::Const(v) => {
                let Some(slot) = stack.get_mut(sp) else {
                    return f64::NAN;
                };
                *slot = v;
                sp += 1;
            }
            Op::Var(i) => {
                let Some(slot) = stack.get_mut(sp) else {
                    return f64::NAN;
                };
                *slot = values.get(i as usize).copied().unwrap_or(f64::NAN);
                sp += 1;
            }
            Op::Neg | Op::Abs | Op::Floor | Op::Ceil | Op::Exp | Op::Sqrt | Op::Ln => {
                let Some(top) = sp.checked_sub(1).and_then(|i| stack.get_mut(i)) else {
                    return f64::NAN;
                };
                *top = op.unary(*top);
            }
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Pow | Op::LogBase => {
                let Some(base) = sp.checked_sub(2) else {
                    return f64::NAN;
                };
                let Some([a, b]) = stack.get_mut(base..sp) else {
                    return f64::NAN;
                };
                *a = op.binary(*a, *b);
                sp -= 1;
            }
            Op::Min(n) | Op::Max(n) => {
                let Some(base) = sp.checked_sub(n as usize) else {
                    return f64::NAN;
                };
                let Some(args) = stack.get_mut(base..sp) else {
                    return f64::NAN;
                };
                let result = op.nary(args);
                let Some(first) = args.first_mut() else {
                    return f64::NAN;
                };
                *first = result;
                sp = base + 1;
            }
        }
    }
    if sp == 1 {
        stack.first().copied().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}
