//! Every rule of DESIGN.md §4 "multi" for the formula language, one test per rule. Expected
//! values are worked out by hand from the rules (and agree with Python's `**`, `math.log`).
#![allow(clippy::unwrap_used)]

use gradekit_formula::{is_identifier, Formula};

fn eval_with(src: &str, vars: &[&str], values: &[f64]) -> f64 {
    match Formula::parse(src, vars) {
        Ok(f) => f.eval(values),
        Err(e) => panic!("{src:?} should parse: {e}"),
    }
}

fn eval(src: &str) -> f64 {
    eval_with(src, &[], &[])
}

#[track_caller]
fn check(src: &str, expected: f64) {
    let got = eval(src);
    assert!(
        got == expected || (got.is_nan() && expected.is_nan()),
        "{src:?}: got {got:?}, expected {expected:?}"
    );
}

#[test]
fn precedence_table() {
    check("1 + 2 * 3", 7.0);
    check("1 * 2 + 3", 5.0);
    check("2 * 3 ^ 2", 18.0);
    check("2 ^ 3 * 2", 16.0);
    check("10 - 4 / 2", 8.0);
    check("(1 + 2) * 3", 9.0);
    check("2 ^ (1 + 1)", 4.0);
    check("1 + 2 ^ 2 * 3", 13.0);
    check("-2 * 3", -6.0);
    check("-2 + 3", 1.0);
    check("8 / 2 ^ 2", 2.0);
}

#[test]
fn left_associativity_of_additive_and_multiplicative() {
    check("10 - 3 - 2", 5.0);
    check("10 - 3 + 2", 9.0);
    check("16 / 4 / 2", 2.0);
    check("16 / 4 * 2", 8.0);
    check("2 * 3 / 4", 1.5);
}

#[test]
fn power_is_right_associative() {
    check("2^3^2", 512.0);
    check("(2^3)^2", 64.0);
    check("2^2^-1", 2f64.powf(0.5));
    check("4^0.5", 2.0);
}

#[test]
fn unary_minus_and_power() {
    check("-2^2", -4.0);
    check("(-2)^2", 4.0);
    check("2^-1", 0.5);
    check("2^+1", 2.0);
    check("2^--1", 2.0);
    check("-2^-2", -0.25);
    check("2^-3^2", 2f64.powf(-9.0));
    check("-(2)^2", -4.0);
    check("(-8)^(1/3)", f64::NAN); // IEEE pow of a negative base, non-integer exponent
    assert_eq!(eval_with("-x^2", &["x"], &[3.0]), -9.0);
    assert_eq!(eval_with("(-x)^2", &["x"], &[3.0]), 9.0);
    assert_eq!(eval_with("x^-x", &["x"], &[2.0]), 0.25);
}

#[test]
fn unary_operators_stack_and_mix() {
    check("--1", 1.0);
    check("---1", -1.0);
    check("-+-1", 1.0);
    check("+1", 1.0);
    check("2*-3", -6.0);
    check("2--3", 5.0);
    check("2+-3", -1.0);
    check("2 - - - 3", -1.0);
    check("-(1+2)", -3.0);
    check("6/-2", -3.0);
    assert_eq!(eval_with("a - -b", &["a", "b"], &[1.0, 2.0]), 3.0);
}

#[test]
fn division_is_float_division() {
    check("1/2", 0.5);
    check("7/2", 3.5);
    check("1/3", 1.0 / 3.0);
    check("-7/2", -3.5);
}

#[test]
fn numeric_literals() {
    check("1e-9", 1e-9);
    check(".5", 0.5);
    check("1.", 1.0);
    check("1E+3", 1000.0);
    check("1e3", 1000.0);
    check("2.5E-1", 0.25);
    check("0.1 + 0.2", 0.1 + 0.2);
    check("1.7976931348623157e308", f64::MAX);
}

#[test]
fn functions() {
    check("max(1)", 1.0);
    check("min(1)", 1.0);
    check("min(3,1,2)", 1.0);
    check("max(3,1,2)", 3.0);
    check("max(-1, -2)", -1.0);
    check("abs(-2.5)", 2.5);
    check("floor(2.7)", 2.0);
    check("floor(-2.5)", -3.0);
    check("ceil(2.1)", 3.0);
    check("ceil(-2.5)", -2.0);
    check("exp(0)", 1.0);
    check("exp(1)", std::f64::consts::E);
    check("sqrt(16)", 4.0);
    check("log(1)", 0.0);
    check("log(exp(2))", 2.0);
    check("log(8, 2)", 3.0);
    check("log(100, 10)", 2.0);
    check("log(1000, 10)", 1000f64.ln() / 10f64.ln()); // as Python's math.log(1000, 10)
    check("max(min(1, 2), 0.5)", 1.0);
    check("-abs(-3)^2", -9.0);
    check("sqrt(4)^2", 4.0);
}

#[test]
fn min_and_max_propagate_nan() {
    check("max(sqrt(-1), 1)", f64::NAN);
    check("min(1, sqrt(-1))", f64::NAN);
    check("max(1, 0/0, 2)", f64::NAN);
}

#[test]
fn ieee_results_are_returned_unchanged() {
    check("1/0", f64::INFINITY);
    check("-1/0", f64::NEG_INFINITY);
    check("0/0", f64::NAN);
    check("sqrt(-1)", f64::NAN);
    check("log(0)", f64::NEG_INFINITY);
    check("log(-1)", f64::NAN);
    check("log(5, 1)", f64::INFINITY);
    check("exp(1000)", f64::INFINITY);
    check("10^400", f64::INFINITY);
    check("0^0", 1.0);
    assert!(eval_with("a/b", &["a", "b"], &[1.0, 0.0]).is_infinite());
}

#[test]
fn results_are_not_clamped() {
    assert_eq!(eval_with("a*5", &["a"], &[1.0]), 5.0);
    assert_eq!(eval_with("a - 2", &["a"], &[1.0]), -1.0);
}

#[test]
fn whitespace_newlines_and_tabs_are_ignored() {
    check(" 1\t+\n2 ", 3.0);
    check("\n\tmax(\n1 ,\t2\n)\n", 2.0);
    check("1\r\n+ 1", 2.0);
    check("- 2 ^ 2", -4.0);
    check("2 ^ - 1", 0.5);
}

#[test]
fn f1_formula_from_the_build_hours() {
    let src = "2 * precision * recall / max(precision + recall, 1e-9)";
    let vars = ["precision", "recall"];
    assert_eq!(eval_with(src, &vars, &[1.0, 1.0]), 1.0);
    assert_eq!(eval_with(src, &vars, &[0.0, 0.0]), 0.0);
    assert_eq!(eval_with(src, &vars, &[0.5, 1.0]), 2.0 * 0.5 / 1.5);
    assert_eq!(eval_with(src, &vars, &[0.75, 0.5]), 2.0 * 0.75 * 0.5 / 1.25);
}

#[test]
fn official_examples() {
    let both = ["function_name", "arguments"];
    let src = "0.5 * function_name + 0.5 * arguments";
    assert_eq!(eval_with(src, &both, &[1.0, 1.0]), 1.0);
    assert_eq!(eval_with(src, &both, &[1.0, 0.0]), 0.5);
    assert_eq!(
        eval_with("(name + email) / 2", &["name", "email"], &[0.5, 1.0]),
        0.75
    );
    let judge = "(100 - abs(expected_score - actual_score)) / 100";
    let vars = ["expected_score", "actual_score"];
    assert_eq!(eval_with(judge, &vars, &[80.0, 70.0]), 0.9);
}

#[test]
fn variables_bind_to_their_slots() {
    let vars = ["a", "b", "c"];
    let f = Formula::parse("c - a * 10 + b * 100", &vars).unwrap();
    assert_eq!(f.eval(&[1.0, 2.0, 3.0]), 3.0 - 10.0 + 200.0);
    assert_eq!(f.referenced_slots(), vec![0, 1, 2]);
    let f = Formula::parse("c + c * c", &vars).unwrap();
    assert_eq!(f.referenced_slots(), vec![2]);
    let f = Formula::parse("1 + 2", &vars).unwrap();
    assert!(f.referenced_slots().is_empty());
    // Duplicate names: the first occurrence wins.
    let f = Formula::parse("x", &["x", "x"]).unwrap();
    assert_eq!(f.referenced_slots(), vec![0]);
}

#[test]
fn missing_values_read_as_nan_and_extra_values_are_ignored() {
    let f = Formula::parse("a + b", &["a", "b"]).unwrap();
    assert!(f.eval(&[1.0]).is_nan());
    assert!(f.eval(&[]).is_nan());
    assert_eq!(f.eval(&[1.0, 2.0, 99.0]), 3.0);
}

#[test]
fn names_are_case_sensitive_unicode_identifiers() {
    assert_eq!(eval_with("précision * 2", &["précision"], &[0.5]), 1.0);
    assert_eq!(eval_with("_x1 + X", &["_x1", "X"], &[1.0, 2.0]), 3.0);
    assert!(Formula::parse("x", &["X"]).is_err());
    assert!(is_identifier("precision"));
    assert!(is_identifier("_"));
    assert!(is_identifier("a1_b"));
    assert!(is_identifier("précision"));
    assert!(is_identifier("max"));
    assert!(!is_identifier(""));
    assert!(!is_identifier("2nd"));
    assert!(!is_identifier("exact-match"));
    assert!(!is_identifier("a b"));
    assert!(!is_identifier("a.b"));
}

#[test]
fn graders_may_share_a_function_name() {
    assert_eq!(eval_with("log(log)", &["log"], &[1.0]), 0.0);
    assert_eq!(eval_with("max + max(max, 2)", &["max"], &[3.0]), 6.0);
    assert_eq!(eval_with("max (1, 2)", &[], &[]), 2.0);
}

#[test]
fn e_and_pi_are_not_constants() {
    assert!(Formula::parse("log(e)", &[]).is_err());
    assert!(Formula::parse("pi", &[]).is_err());
    // …but they are fine grader names.
    assert_eq!(eval_with("log(e)", &["e"], &[1.0]), 0.0);
}

#[test]
fn constant_folding_keeps_variables_and_values() {
    let f = Formula::parse("2 ^ -1 * a + max(1, 2, 3) - sqrt(4)", &["a"]).unwrap();
    assert_eq!(f.eval(&[4.0]), 3.0);
    assert_eq!(f.referenced_slots(), vec![0]);
    assert_eq!(f.source(), "2 ^ -1 * a + max(1, 2, 3) - sqrt(4)");
    assert_eq!(f.to_string(), f.source());
}

#[test]
fn deep_but_legal_nesting_evaluates_on_a_small_stack() {
    // 200 nested parentheses, 200 stacked signs, a long right-nested power chain and a long
    // flat sum, parsed and evaluated on a 1 MiB thread stack (debug builds need the most).
    let handle = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(|| {
            let parens = format!("{}a{}", "(".repeat(200), ")".repeat(200));
            let signs = format!("{}a", "-".repeat(200));
            let powers = format!("{}1", "1^".repeat(200));
            let sum = vec!["a"; 20_000].join("+");
            let right = format!("{}a{}", "a-(".repeat(100), ")".repeat(100));
            (
                eval_with(&parens, &["a"], &[2.0]),
                eval_with(&signs, &["a"], &[2.0]),
                eval(&powers),
                eval_with(&sum, &["a"], &[1.0]),
                eval_with(&right, &["a"], &[2.0]),
            )
        })
        .unwrap();
    let (p, s, w, sum, right) = handle.join().unwrap();
    assert_eq!(p, 2.0);
    assert_eq!(s, 2.0);
    assert_eq!(w, 1.0);
    assert_eq!(sum, 20_000.0);
    // a-(a-(…-(a))) with 101 a's alternates: 2 - 2 + 2 … = 2 (odd count).
    assert_eq!(right, 2.0);
}

#[test]
fn formula_is_send_sync_clone_debug() {
    fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
    assert_traits::<Formula>();
    assert_traits::<gradekit_formula::FormulaError>();
    let f = Formula::parse("a + 1", &["a"]).unwrap();
    let g = f.clone();
    assert_eq!(
        std::thread::spawn(move || g.eval(&[1.0])).join().unwrap(),
        2.0
    );
    assert!(format!("{f:?}").contains("a + 1"));
}

/// Many variables (a multi grader with a million sub-graders) and thousands of references: each
/// reference used to search the whole list — 8·10^9 comparisons here, about a minute of CPU.
/// Slots and the first-occurrence rule are those of the short-list path.
#[test]
fn many_variables_bind_by_table() {
    let mut names: Vec<String> = (0..1_000_000).map(|i| format!("g{i}")).collect();
    names.push("g999999".into()); // a duplicate: the first occurrence is the slot
    let vars: Vec<&str> = names.iter().map(String::as_str).collect();
    let src = vec!["g999999 + g0"; 4_000].join(" + "); // 60 KB, under the length limit
    let mut values = vec![0.0; vars.len()];
    values[999_999] = 1.0;
    values[0] = 0.5;
    values[1_000_000] = 100.0;
    assert_eq!(eval_with(&src, &vars, &values), 6_000.0);
    let e = Formula::parse("g5 + G5", &vars[..40]).unwrap_err();
    assert!(e.to_string().contains("unknown variable \"G5\""), "{e}");
}
