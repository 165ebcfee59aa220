//! Every way a formula is rejected, with the exact user-facing message (these messages reach
//! people through `validate` and `formula_parse_error`, so their wording is part of the
//! contract).
#![allow(clippy::unwrap_used)]

use gradekit_formula::{Formula, FormulaError, FormulaErrorKind as K, MAX_DEPTH, MAX_FORMULA_LEN};

const PR: [&str; 2] = ["precision", "recall"];

fn err(src: &str, vars: &[&str]) -> FormulaError {
    match Formula::parse(src, vars) {
        Ok(f) => panic!("{src:?} should not parse, got {f:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn check(src: &str, vars: &[&str], kind: K, offset: usize, message: &str) {
    let e = err(src, vars);
    assert_eq!(e.kind, kind, "{src:?}: {}", e.message);
    assert_eq!(e.offset, offset, "{src:?}: {}", e.message);
    assert_eq!(e.message, message, "{src:?}");
    assert_eq!(e.to_string(), message);
}

#[test]
fn empty() {
    check("", &PR, K::Empty, 0, "empty formula");
    check(" \n\t ", &PR, K::Empty, 0, "empty formula");
}

#[test]
fn unknown_variable_lists_the_graders() {
    check(
        "precision + recal",
        &PR,
        K::UnknownVariable,
        12,
        "unknown variable \"recal\" at column 13; the graders are: precision, recall",
    );
    check(
        "x",
        &[],
        K::UnknownVariable,
        0,
        "unknown variable \"x\" at column 1; there are no graders",
    );
    check(
        "Recall",
        &PR,
        K::UnknownVariable,
        0,
        "unknown variable \"Recall\" at column 1; the graders are: precision, recall \
         (did you mean \"recall\"? names are case-sensitive)",
    );
    check(
        "max + 1",
        &PR,
        K::UnknownVariable,
        0,
        "unknown variable \"max\" at column 1; the graders are: precision, recall \
         (max is a function: write max(...))",
    );
    check(
        "log(e)",
        &PR,
        K::UnknownVariable,
        4,
        "unknown variable \"e\" at column 5; the graders are: precision, recall \
         (there are no named constants; write exp(1) for e or the number itself)",
    );
    check(
        "exact - match",
        &["exact-match", "b"],
        K::UnknownVariable,
        0,
        "unknown variable \"exact\" at column 1; the graders are: exact-match, b \
         (keys that are not identifiers cannot be used in the formula: exact-match)",
    );
}

#[test]
fn unknown_function_lists_the_functions() {
    check(
        "avg(precision, recall)",
        &PR,
        K::UnknownFunction,
        0,
        "unknown function \"avg\" at column 1; expected one of min, max, abs, floor, ceil, exp, \
         sqrt, log",
    );
    check(
        "MAX(1, 2)",
        &PR,
        K::UnknownFunction,
        0,
        "unknown function \"MAX\" at column 1; expected one of min, max, abs, floor, ceil, exp, \
         sqrt, log (function names are lower case: max)",
    );
    check(
        "2 * recall(1)",
        &PR,
        K::UnknownFunction,
        4,
        "unknown function \"recall\" at column 5; expected one of min, max, abs, floor, ceil, \
         exp, sqrt, log (\"recall\" is a grader; there is no implicit multiplication, write \
         recall * (...))",
    );
    // The function check comes before the argument check.
    assert_eq!(err("pow()", &PR).kind, K::UnknownFunction);
}

#[test]
fn wrong_arity() {
    check(
        "abs(1, 2)",
        &PR,
        K::WrongArity,
        0,
        "wrong number of arguments at column 1: abs takes 1 argument, got 2",
    );
    check(
        "1 + max()",
        &PR,
        K::WrongArity,
        4,
        "wrong number of arguments at column 5: max takes at least 1 argument, got 0",
    );
    check(
        "min()",
        &PR,
        K::WrongArity,
        0,
        "wrong number of arguments at column 1: min takes at least 1 argument, got 0",
    );
    check(
        "log(8, 2, 1)",
        &PR,
        K::WrongArity,
        0,
        "wrong number of arguments at column 1: log takes 1 or 2 arguments, got 3",
    );
    check(
        "sqrt()",
        &PR,
        K::WrongArity,
        0,
        "wrong number of arguments at column 1: sqrt takes 1 argument, got 0",
    );
    for f in ["abs", "floor", "ceil", "exp", "sqrt"] {
        assert_eq!(err(&format!("{f}(1,2)"), &PR).kind, K::WrongArity, "{f}");
    }
}

#[test]
fn unexpected_tokens() {
    check(
        "(1 + 2))",
        &PR,
        K::UnexpectedToken,
        7,
        "unexpected \")\" at column 8; there is no \"(\" for it to close",
    );
    check(
        "max(1,)",
        &PR,
        K::UnexpectedToken,
        6,
        "unexpected \")\" at column 7; expected a number, a grader name, a function call or \"(\"",
    );
    check(
        "1 + * 2",
        &PR,
        K::UnexpectedToken,
        4,
        "unexpected \"*\" at column 5; expected a number, a grader name, a function call or \"(\"",
    );
    check(
        "precision recall",
        &PR,
        K::UnexpectedToken,
        10,
        "unexpected \"recall\" at column 11; expected an operator (+ - * / ^) or the end of the \
         formula",
    );
    check(
        "2 ** 3",
        &PR,
        K::UnexpectedToken,
        3,
        "unexpected \"*\" at column 4; write powers with ^, as in x^2",
    );
    check(
        "(1 2)",
        &PR,
        K::UnexpectedToken,
        3,
        "unexpected \"2\" at column 4; expected an operator (+ - * / ^) or \")\"",
    );
    check(
        "max(1 2)",
        &PR,
        K::UnexpectedToken,
        6,
        "unexpected \"2\" at column 7; expected \",\" or \")\" in the arguments of max",
    );
    check(
        "1,2",
        &PR,
        K::UnexpectedToken,
        1,
        "unexpected \",\" at column 2; expected an operator (+ - * / ^) or the end of the formula",
    );
    check(
        "()",
        &PR,
        K::UnexpectedToken,
        1,
        "unexpected \")\" at column 2; expected a number, a grader name, a function call or \"(\"",
    );
    // Implicit multiplication is rejected, not guessed.
    assert_eq!(err("2recall", &PR).kind, K::UnexpectedToken);
    assert_eq!(err("2 (recall)", &PR).kind, K::UnexpectedToken);
    assert_eq!(err("(1)(2)", &PR).kind, K::UnexpectedToken);
    // `^` is not unary, and not postfix.
    assert_eq!(err("^2", &PR).kind, K::UnexpectedToken);
    assert_eq!(err("2^^2", &PR).kind, K::UnexpectedToken);
}

#[test]
fn unexpected_end() {
    check(
        "precision +",
        &PR,
        K::UnexpectedEnd,
        11,
        "unexpected end of formula after \"+\"; expected an operand",
    );
    check(
        "-",
        &PR,
        K::UnexpectedEnd,
        1,
        "unexpected end of formula after \"-\"; expected an operand",
    );
    check(
        "2^",
        &PR,
        K::UnexpectedEnd,
        2,
        "unexpected end of formula after \"^\"; expected an operand",
    );
    check(
        "(1 + 2",
        &PR,
        K::UnexpectedEnd,
        6,
        "unexpected end of formula; the \"(\" at column 1 is never closed",
    );
    check(
        "max(1, 2",
        &PR,
        K::UnexpectedEnd,
        8,
        "unexpected end of formula; the \"(\" at column 4 is never closed",
    );
    check(
        "max(1,",
        &PR,
        K::UnexpectedEnd,
        6,
        "unexpected end of formula after \",\"; expected an operand",
    );
}

#[test]
fn invalid_characters_and_numbers() {
    check(
        "recall % 2",
        &PR,
        K::InvalidCharacter,
        7,
        "unexpected character \"%\" at column 8; there is no remainder operator",
    );
    check(
        "recall >= 0.5",
        &PR,
        K::InvalidCharacter,
        7,
        "unexpected character \">\" at column 8; comparisons are not supported, the formula is \
         arithmetic only",
    );
    check(
        "\"recall\"",
        &PR,
        K::InvalidCharacter,
        0,
        "unexpected character \"\"\" at column 1; strings are not supported, and grader names \
         are written bare",
    );
    check(
        "a.b",
        &["a"],
        K::InvalidNumber,
        1,
        "invalid number \".\" at column 2; a number needs at least one digit",
    );
    check(
        "1e",
        &PR,
        K::InvalidNumber,
        0,
        "invalid number \"1e\" at column 1; the exponent needs digits, as in 1e-9",
    );
    check(
        "1.5.2",
        &PR,
        K::InvalidNumber,
        0,
        "invalid number \"1.5.\" at column 1",
    );
    check(
        "1e999",
        &PR,
        K::InvalidNumber,
        0,
        "number \"1e999\" at column 1 is too large for a 64-bit float",
    );
    assert_eq!(err("0x10", &PR).kind, K::UnexpectedToken);
    assert_eq!(err("1_000", &PR).kind, K::UnexpectedToken);
}

#[test]
fn multi_line_formulas_report_line_and_column() {
    check(
        "precision +\n  recal",
        &PR,
        K::UnknownVariable,
        14,
        "unknown variable \"recal\" at line 2, column 3; the graders are: precision, recall",
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    let e = err("précision + x", &["précision"]);
    assert_eq!(e.offset, 13);
    assert!(e.message.contains("at column 13"), "{}", e.message);
}

#[test]
fn nesting_limit() {
    let ok = format!(
        "{}1{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    assert!(Formula::parse(&ok, &[]).is_ok());
    let deep = format!("{}1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    let e = err(&deep, &[]);
    assert_eq!(e.kind, K::TooDeep);
    assert_eq!(e.offset, MAX_DEPTH);
    assert_eq!(
        e.message,
        "formula nests deeper than 256 levels at column 257"
    );
    assert_eq!(err(&"-".repeat(10_000), &[]).kind, K::TooDeep);
    assert_eq!(err(&"1^".repeat(10_000), &[]).kind, K::TooDeep);
    assert_eq!(err(&"max(".repeat(10_000), &[]).kind, K::TooDeep);
    // Hostile depth errors on a 1 MiB thread stack instead of overflowing it.
    let small = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(|| Formula::parse(&"(".repeat(60_000), &[]).map(|_| ()))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(small.unwrap_err().kind, K::TooDeep);
}

#[test]
fn length_limit() {
    let long = format!("1{}", " ".repeat(MAX_FORMULA_LEN));
    check(
        &long,
        &[],
        K::TooLong,
        MAX_FORMULA_LEN,
        "formula is 65537 bytes long; the limit is 65536",
    );
    let at_limit = format!("1{}", " ".repeat(MAX_FORMULA_LEN - 1));
    assert!(Formula::parse(&at_limit, &[]).is_ok());
}

#[test]
fn kinds_have_stable_codes() {
    assert_eq!(K::UnknownVariable.code(), "unknown_variable");
    assert_eq!(K::WrongArity.code(), "wrong_arity");
    assert_eq!(K::TooDeep.code(), "too_deep");
}
