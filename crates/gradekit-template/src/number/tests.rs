#![allow(clippy::unwrap_used)]
use super::{plan, python_float_len, python_float_text, write_python_float, Digits};
use crate::{rendered_len, write_value};
use proptest::prelude::*;
use serde_json::{json, Value};

/// `repr(x)` three ways (appended to a string, on the stack, its length), which must agree.
fn repr(x: f64) -> String {
    let mut out = String::new();
    write_python_float(x, &mut out);
    assert_eq!(python_float_text(x).as_str(), out);
    assert_eq!(python_float_len(x), out.len());
    out
}

/// Python's layout of a shortest round-trip rendering in any layout.
fn lay_out(s: &str) -> String {
    let mut out = String::new();
    plan(s).write(s, &mut out);
    out
}

fn render(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

/// Renders the JSON text `src` as a template renders the value it parses to.
fn render_json(src: &str) -> String {
    render(&serde_json::from_str::<Value>(src).unwrap())
}

/// The cases of the brief, with Python 3.11's `repr` / `json.dumps` as expected values
/// (`.venv-ref/bin/python -c 'print(repr(1e-7))'`, …).
#[test]
fn floats_render_as_python_repr() {
    for (src, python) in [
        ("1e-7", "1e-07"),
        ("0.000015", "1.5e-05"),
        ("0.00001", "1e-05"),
        ("-2.5e-5", "-2.5e-05"),
        ("0.0001", "0.0001"),
        ("0.00012", "0.00012"),
        ("1e16", "1e+16"),
        ("1e15", "1000000000000000.0"),
        ("9999999999999998", "9999999999999998"),
        ("9999999999999998.0", "9999999999999998.0"),
        ("1e22", "1e+22"),
        ("1.5e300", "1.5e+300"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("123456789.0", "123456789.0"),
        ("-0.0", "-0.0"),
        ("0.0", "0.0"),
        ("5e-324", "5e-324"),
        ("1.5e-320", "1.5e-320"),
        ("1.0", "1.0"),
        ("1.50", "1.5"),
        ("1e2", "100.0"),
        ("1E+2", "100.0"),
        ("0.1", "0.1"),
        ("12345.678", "12345.678"),
        ("3", "3"),
        ("-2", "-2"),
        ("18446744073709551615", "18446744073709551615"),
        ("-9223372036854775808", "-9223372036854775808"),
    ] {
        assert_eq!(render_json(src), python, "{src}");
    }
}

#[test]
fn nested_numbers_render_as_python_json_dumps() {
    // json.dumps(v, separators=(",", ":"), ensure_ascii=False) of the same JSON in Python.
    for (src, python) in [
        ("[1e-05]", "[1e-05]"),
        ("[1e-7, 1.0, 2, 1e16]", "[1e-07,1.0,2,1e+16]"),
        (
            r#"{"a": 0.000015, "b": [1e22, {"c": -0.0}], "d": "1e-7"}"#,
            r#"{"a":1.5e-05,"b":[1e+22,{"c":-0.0}],"d":"1e-7"}"#,
        ),
    ] {
        assert_eq!(render_json(src), python, "{src}");
    }
}

/// Documented limits (README "Limits"): what serde_json's reading of the JSON text loses before
/// a template sees the value. Python keeps an integer literal past 64 bits whole and reads `-0`
/// as the integer 0; here both arrive as doubles.
#[test]
fn limits_of_the_json_reader_are_pinned() {
    // Python: 123456789012345678901234567890
    assert_eq!(
        render_json("123456789012345678901234567890"),
        "1.2345678901234568e+29"
    );
    // Python: 18446744073709551616
    assert_eq!(
        render_json("18446744073709551616"),
        "1.8446744073709552e+19"
    );
    // Python: 0 (json.loads("-0") is the int 0).
    assert_eq!(render_json("-0"), "-0.0");
}

/// The number `python` (a repr) written in other layouts: `0.ddde±p`, `dddE±k`, positional.
fn layouts(python: &str) -> Vec<String> {
    let d = Digits::parse(python.as_bytes());
    let sign = if d.negative { "-" } else { "" };
    let digits = std::str::from_utf8(&d.digits[..d.n]).unwrap();
    if digits.is_empty() {
        return vec![
            format!("{sign}0"),
            format!("{sign}0e0"),
            format!("{sign}0.000"),
        ];
    }
    let (n, p) = (d.n as i32, d.point);
    let positional = if p <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat(-p as usize))
    } else if p >= n {
        format!("{sign}{digits}{}.0", "0".repeat((p - n) as usize))
    } else {
        format!("{sign}{}.{}", &digits[..p as usize], &digits[p as usize..])
    };
    let (m0, rest) = digits.split_at(1);
    let dot = if rest.is_empty() { "" } else { "." };
    vec![
        // ryu's and zmij's exponent forms: `1.5e-7`, `1e16`, `1e+16`.
        format!("{sign}{m0}{dot}{rest}e{}", p - 1),
        format!("{sign}{m0}{dot}{rest}e{:+}", p - 1),
        format!("{sign}{m0}{dot}{rest}E{:+03}", p - 1),
        format!("{sign}0.{digits}e{p}"),
        format!("{sign}{digits}E{:+}", p - n),
        format!("{sign}00{digits}000e{}", p - n - 3),
        positional,
    ]
}

/// Every line of `fixtures/vectors/float_repr.tsv` (`scripts/gen_float_repr_vectors.py`).
#[test]
fn python_repr_vectors() {
    let text = include_str!("../../../../fixtures/vectors/float_repr.tsv");
    let mut n = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (bits, python) = line.split_once('\t').unwrap();
        let x = f64::from_bits(u64::from_str_radix(bits, 16).unwrap());
        assert_eq!(repr(x), python, "bits {bits}");
        let v = Value::from(x);
        assert_eq!(render(&v), python, "bits {bits}");
        assert_eq!(render(&json!([x])), format!("[{python}]"), "bits {bits}");
        // The general reader, whatever layout the digits come in (serde_json has changed its
        // own between releases). Not std's formatting: its digits differ from Python's on
        // ties (1500000000000000.25: std `1.5000000000000003e15`, Python `…0.2`).
        for layout in layouts(python) {
            let s = Digits::parse(layout.as_bytes()).layout();
            assert_eq!(s.as_str(), python, "bits {bits}, read from {layout}");
            assert_eq!(
                lay_out(&layout),
                python,
                "bits {bits}, laid out from {layout}"
            );
        }
        n += 1;
    }
    assert!(n > 5000, "{n} vectors");
}

/// Random doubles against the reference interpreter itself, when `.venv-ref` is there: their
/// `repr`, and `json.dumps` (compact) of an array of them read from the JSON serde_json writes.
#[test]
fn python_repr_live() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let python = std::path::Path::new(root).join(".venv-ref/bin/python");
    if !python.exists() {
        eprintln!("python_repr_live: skipped, no {}", python.display());
        return;
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut state = seed;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut xs = Vec::new();
    while xs.len() < 20_000 {
        let r = next();
        let x = match r % 3 {
            // Any bit pattern.
            0 => f64::from_bits(next()),
            // Short decimals around the layout boundaries (1e-5, 1e16).
            1 => {
                let digits = 1 + (next() % 17) as i32;
                let mant = next() % 10u64.pow(digits as u32);
                let exp = (next() % 40) as i32 - 20 - digits;
                format!("{mant}e{exp}").parse().unwrap()
            }
            // Integers held as doubles.
            _ => (next() >> (next() % 64)) as f64,
        };
        if x.is_finite() {
            xs.push(x);
        }
    }
    let mut input = String::new();
    for x in &xs {
        input.push_str(&format!("{:016x}\n", x.to_bits()));
    }
    let array = Value::from(xs.clone());
    input.push_str(&serde_json::to_string(&array).unwrap());
    input.push('\n');
    let script = r#"
import json, struct, sys
lines = sys.stdin.read().split("\n")
out = [repr(struct.unpack("<d", struct.pack("<Q", int(l, 16)))[0]) for l in lines[:-2]]
out.append(json.dumps(json.loads(lines[-2]), separators=(",", ":"), ensure_ascii=False))
sys.stdout.write("\n".join(out))
"#;
    let mut child = std::process::Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(input.as_bytes()).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "python failed: {:?}", out);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.split('\n');
    for x in &xs {
        let want = lines.next().unwrap();
        assert_eq!(repr(*x), want, "bits {:016x} (seed {seed})", x.to_bits());
    }
    let want = lines.next().unwrap();
    let reparsed: Value = serde_json::from_str(&serde_json::to_string(&array).unwrap()).unwrap();
    assert!(
        render(&reparsed) == want,
        "array rendering differs (seed {seed})"
    );
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::from),
        (any::<u64>(), -30i32..30).prop_map(|(m, e)| {
            Value::from(format!("{}e{e}", m % 100_000).parse::<f64>().unwrap())
        }),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((".{0,4}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    /// The size budget measures exactly what is written, numbers included.
    #[test]
    fn rendered_len_agrees_with_write_value(v in json_value()) {
        let s = render(&v);
        prop_assert_eq!(rendered_len(&v, usize::MAX), Some(s.len()));
        prop_assert_eq!(rendered_len(&v, s.len()), Some(s.len()));
        if !s.is_empty() {
            prop_assert_eq!(rendered_len(&v, s.len() - 1), None);
        }
    }

    /// A rendered float reads back as the same double (Python's repr round-trips too).
    #[test]
    fn rendered_floats_round_trip(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        prop_assume!(x.is_finite());
        let s = repr(x);
        let back: f64 = s.parse().unwrap();
        prop_assert_eq!(back.to_bits(), x.to_bits(), "{}", s);
    }
}
