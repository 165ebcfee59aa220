//! Property tests.
//!
//! * Robustness: parsing arbitrary text and evaluating with arbitrary `f64` values (NaN, ±inf,
//!   subnormals, too few values) never panics, and every error points inside the source.
//! * Reference evaluator: random expression trees are printed (with the fewest parentheses the
//!   precedence table allows, or fully parenthesised, with random spacing), parsed, and
//!   evaluated; the result must equal a direct recursive evaluation of the tree, bit for bit.
//!   This checks precedence, associativity, sign handling, constant folding and the stack
//!   machine against an independent statement of the rules.
#![allow(clippy::unwrap_used)]

use gradekit_formula::Formula;
use proptest::prelude::*;

const VARS: [&str; 4] = ["a", "b", "recall", "_x1"];

#[derive(Debug, Clone)]
enum Expr {
    Num(f64),
    Var(usize),
    Neg(Box<Expr>),
    Bin(char, Box<Expr>, Box<Expr>),
    Call(&'static str, Vec<Expr>),
}

fn eval_ref(e: &Expr, vals: &[f64]) -> f64 {
    match e {
        Expr::Num(v) => *v,
        Expr::Var(i) => vals[*i],
        Expr::Neg(x) => -eval_ref(x, vals),
        Expr::Bin(op, l, r) => {
            let (l, r) = (eval_ref(l, vals), eval_ref(r, vals));
            match op {
                '+' => l + r,
                '-' => l - r,
                '*' => l * r,
                '/' => l / r,
                _ => l.powf(r),
            }
        }
        Expr::Call(name, args) => {
            let v: Vec<f64> = args.iter().map(|a| eval_ref(a, vals)).collect();
            match (*name, v.as_slice()) {
                ("abs", [x]) => x.abs(),
                ("floor", [x]) => x.floor(),
                ("ceil", [x]) => x.ceil(),
                ("exp", [x]) => x.exp(),
                ("sqrt", [x]) => x.sqrt(),
                ("log", [x]) => x.ln(),
                ("log", [x, b]) => x.ln() / b.ln(),
                ("min", _) if v.iter().any(|x| x.is_nan()) => f64::NAN,
                ("max", _) if v.iter().any(|x| x.is_nan()) => f64::NAN,
                ("min", _) => v
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, |a, b| if b < a { b } else { a }),
                ("max", _) => v
                    .iter()
                    .copied()
                    .fold(f64::NEG_INFINITY, |a, b| if b > a { b } else { a }),
                _ => unreachable!("generator only makes valid calls"),
            }
        }
    }
}

/// Binding strength of the node's outermost operator (higher binds tighter).
fn prec(e: &Expr) -> u8 {
    match e {
        Expr::Bin('+' | '-', ..) => 1,
        Expr::Bin('*' | '/', ..) => 2,
        Expr::Neg(_) => 3,
        Expr::Bin(..) => 4, // ^
        Expr::Num(_) | Expr::Var(_) | Expr::Call(..) => 5,
    }
}

struct Printer<'a> {
    minimal: bool,
    spaces: &'a [u8],
    i: usize,
    out: String,
}

impl Printer<'_> {
    fn ws(&mut self) {
        let k = self.spaces.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        self.out
            .push_str(["", "", " ", "\n\t", "  "][usize::from(k % 5)]);
    }

    fn child(&mut self, e: &Expr, needs_parens: bool) {
        if needs_parens || !self.minimal {
            self.out.push('(');
            self.ws();
            self.print(e);
            self.ws();
            self.out.push(')');
        } else {
            self.print(e);
        }
    }

    fn print(&mut self, e: &Expr) {
        match e {
            Expr::Num(v) => {
                let s = if self.i & 1 == 0 {
                    format!("{v}")
                } else {
                    format!("{v:e}")
                };
                self.out.push_str(&s);
            }
            Expr::Var(i) => self.out.push_str(VARS[*i]),
            Expr::Neg(x) => {
                self.out.push('-');
                self.ws();
                // The operand of a sign is a `unary`: signs, powers and atoms need no parens.
                self.child(x, prec(x) < 3);
            }
            Expr::Bin(op, l, r) => {
                let p = prec(e);
                let (lp, rp) = if *op == '^' {
                    // Base: only an atom; exponent: a unary (sign, power or atom).
                    (prec(l) < 5, prec(r) < 3)
                } else {
                    // Left-associative: the right operand of the same level needs parens.
                    (prec(l) < p, prec(r) <= p)
                };
                self.child(l, lp);
                self.ws();
                self.out.push(*op);
                self.ws();
                self.child(r, rp);
            }
            Expr::Call(name, args) => {
                self.out.push_str(name);
                self.ws();
                self.out.push('(');
                for (k, a) in args.iter().enumerate() {
                    if k > 0 {
                        self.out.push(',');
                    }
                    self.ws();
                    self.print(a);
                    self.ws();
                }
                self.out.push(')');
            }
        }
    }
}

fn expr_strategy() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        prop_oneof![
            Just(0.0),
            Just(1.0),
            Just(2.0),
            Just(0.5),
            Just(1e-9),
            Just(3.0),
            0.0..100.0f64,
            (0.0..1e300f64),
        ]
        .prop_map(Expr::Num),
        (0..VARS.len()).prop_map(Expr::Var),
    ];
    leaf.prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|x| Expr::Neg(Box::new(x))),
            (
                prop_oneof![Just('+'), Just('-'), Just('*'), Just('/'), Just('^')],
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, l, r)| Expr::Bin(op, Box::new(l), Box::new(r))),
            (
                prop_oneof![
                    Just("abs"),
                    Just("floor"),
                    Just("ceil"),
                    Just("exp"),
                    Just("sqrt"),
                    Just("log")
                ],
                inner.clone()
            )
                .prop_map(|(f, x)| Expr::Call(f, vec![x])),
            (inner.clone(), inner.clone()).prop_map(|(x, b)| Expr::Call("log", vec![x, b])),
            (
                prop_oneof![Just("min"), Just("max")],
                prop::collection::vec(inner, 1..4)
            )
                .prop_map(|(f, v)| Expr::Call(f, v)),
        ]
    })
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(f64::MIN_POSITIVE / 2.0),
        -2.0..2.0f64,
        any::<f64>(),
    ]
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn vars_of(e: &Expr, out: &mut Vec<usize>) {
    match e {
        Expr::Num(_) => {}
        Expr::Var(i) => out.push(*i),
        Expr::Neg(x) => vars_of(x, out),
        Expr::Bin(_, l, r) => {
            vars_of(l, out);
            vars_of(r, out);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| vars_of(a, out)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(src in ".{0,64}", vals in prop::collection::vec(any_f64(), 0..5)) {
        match Formula::parse(&src, &VARS) {
            Ok(f) => { let _ = f.eval(&vals); }
            Err(e) => {
                prop_assert!(e.offset <= src.len());
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn formula_alphabet_never_panics(
        src in "[-+*/^(),. 0-9eE\\n\\tabrecalmxinogsqtpfd_]{0,48}",
        vals in prop::collection::vec(any_f64(), 0..5),
    ) {
        match Formula::parse(&src, &VARS) {
            Ok(f) => {
                let _ = f.eval(&vals);
                prop_assert!(f.referenced_slots().iter().all(|&s| s < VARS.len()));
            }
            Err(e) => {
                prop_assert!(e.offset <= src.len());
                prop_assert!(src.is_char_boundary(e.offset));
            }
        }
    }

    #[test]
    fn matches_the_reference_evaluator(
        e in expr_strategy(),
        vals in prop::collection::vec(any_f64(), 4),
        spaces in prop::collection::vec(any::<u8>(), 64),
        minimal in any::<bool>(),
    ) {
        let mut p = Printer { minimal, spaces: &spaces, i: 0, out: String::new() };
        p.print(&e);
        let f = match Formula::parse(&p.out, &VARS) {
            Ok(f) => f,
            Err(err) => return Err(TestCaseError::fail(format!("{:?}: {err}", p.out))),
        };
        let (got, want) = (f.eval(&vals), eval_ref(&e, &vals));
        prop_assert!(same(got, want), "{:?} with {:?}: got {got:?}, want {want:?}", p.out, vals);
        let mut vars = Vec::new();
        vars_of(&e, &mut vars);
        vars.sort_unstable();
        vars.dedup();
        prop_assert_eq!(f.referenced_slots(), vars);
    }

    #[test]
    fn unused_values_do_not_matter(vals in prop::collection::vec(any_f64(), 2), extra in any_f64()) {
        let f = Formula::parse("2 * a * b / max(a + b, 1e-9)", &VARS).unwrap();
        let mut more = vals.clone();
        more.extend([extra, extra, extra]);
        prop_assert!(same(f.eval(&vals[..2].iter().chain([&0.0, &0.0]).copied().collect::<Vec<_>>()), f.eval(&more)));
    }
}
