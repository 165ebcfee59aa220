//! Embedded (pyo3) mode: the same contract as the pool for trusted graders.
//! Runs only with `--features embedded`.
#![cfg(feature = "embedded")]
#![allow(clippy::unwrap_used)]

use gradekit_python::{CompileErrorKind, PyOutcome, PythonMode, PythonOptions, PythonRuntime};
use serde_json::{json, Value};

fn runtime() -> PythonRuntime {
    PythonRuntime::new(PythonOptions {
        mode: PythonMode::Embedded,
        ..PythonOptions::default()
    })
}

#[test]
fn embedded_grades_dicts_and_maps_return_values() {
    let rt = runtime();
    let src = r#"
import math
def grade(sample, item):
    assert type(sample) is dict and type(item) is dict
    k = item["k"]
    return {"int": 3, "true": True, "float": sample["x"], "str": "1", "nan": math.nan,
            "none": None}.get(k) if k != "raise" else 1 / 0
"#;
    let p = rt.compile(src, Some("2025-05-08")).unwrap();
    let s = json!({"x": 0.25});
    let items: Vec<Value> = ["int", "true", "float", "str", "nan", "none", "raise"]
        .iter()
        .map(|k| json!({ "k": k }))
        .collect();
    let pairs: Vec<(&Value, &Value)> = items.iter().map(|i| (&s, i)).collect();
    let out = p.grade_batch(&pairs);
    assert_eq!(out[0], PyOutcome::Reward(3.0));
    assert_eq!(out[1], PyOutcome::Reward(1.0));
    assert_eq!(out[2], PyOutcome::Reward(0.25));
    let details = |o: &PyOutcome| match o {
        PyOutcome::RuntimeError { details } => details.clone(),
        other => panic!("{other:?}"),
    };
    assert!(details(&out[3]).contains("str, not a number"));
    assert!(details(&out[4]).contains("finite"));
    assert!(details(&out[5]).contains("NoneType"));
    assert!(details(&out[6]).contains("ZeroDivisionError"));
}

#[test]
fn embedded_compile_errors() {
    let rt = runtime();
    assert_eq!(
        rt.compile("def grade(s, i) return 1", None)
            .unwrap_err()
            .kind,
        CompileErrorKind::Syntax
    );
    let e = rt.compile("x = 1\n", None).unwrap_err();
    assert_eq!(e.message, "source does not define grade(sample, item)");
    let e = rt
        .compile("def grade(s):\n    return 1\n", None)
        .unwrap_err();
    assert_eq!(e.kind, CompileErrorKind::Signature);
    let e = rt.compile("raise ValueError('boom')\n", None).unwrap_err();
    assert!(e.message.contains("ValueError: boom"), "{}", e.message);
}
