//! The grader contract (OpenAI python graders): `sample` and `item` arrive as dicts, a number
//! comes back (int/float/bool as Python counts them), everything else is a runtime error with
//! details; invalid sources are rejected at compile time.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use gradekit_python::{CompileErrorKind, PyOutcome, PythonMode, PythonOptions, PythonRuntime};
use serde_json::{json, Value};

fn runtime(mode: PythonMode) -> PythonRuntime {
    PythonRuntime::new(PythonOptions {
        mode,
        timeout: Duration::from_secs(2),
        memory_mib: 512,
        workers: Some(2),
        ..PythonOptions::default()
    })
}

fn runtime_error(o: &PyOutcome) -> &str {
    match o {
        PyOutcome::RuntimeError { details } => details,
        other => panic!("expected a runtime error, got {other:?}"),
    }
}

#[test]
fn dicts_arrive_as_dicts_and_rewards_come_back_in_order() {
    let rt = runtime(PythonMode::Sandboxed);
    let src = r#"
def grade(sample, item):
    assert type(sample) is dict and type(item) is dict
    assert type(sample["choices"]) is list and type(sample["choices"][0]["message"]) is dict
    assert sample["output_json"] == {"a": [1, 2.5, None, True]}
    return item["i"] / 1000.0
"#;
    let p = rt.compile(src, Some("2025-05-08")).unwrap();
    let sample = json!({
        "output_text": "x",
        "output_json": {"a": [1, 2.5, null, true]},
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}}],
    });
    let items: Vec<Value> = (0..300).map(|i| json!({ "i": i })).collect();
    let pairs: Vec<(&Value, &Value)> = items.iter().map(|it| (&sample, it)).collect();
    let out = p.grade_batch(&pairs);
    assert_eq!(out.len(), 300);
    for (i, o) in out.iter().enumerate() {
        assert_eq!(o, &PyOutcome::Reward(i as f64 / 1000.0), "pair {i}");
    }
    assert!(p.grade_batch(&[]).is_empty());
}

#[test]
fn return_types_as_python_counts_them() {
    let rt = runtime(PythonMode::Sandboxed);
    let src = r#"
import math
VALUES = {"int": 3, "true": True, "false": False, "float": 0.25, "neg": -2,
          "str": "1.0", "none": None, "nan": math.nan, "inf": math.inf, "ninf": -math.inf,
          "big": 10**400, "list": [1.0], "complex": 1j}
def grade(sample, item):
    return VALUES[item["k"]]
"#;
    let p = rt.compile(src, None).unwrap();
    let s = json!({});
    let g = |k: &str| p.grade(&s, &json!({ "k": k }));
    assert_eq!(g("int"), PyOutcome::Reward(3.0));
    assert_eq!(g("true"), PyOutcome::Reward(1.0));
    assert_eq!(g("false"), PyOutcome::Reward(0.0));
    assert_eq!(g("float"), PyOutcome::Reward(0.25));
    assert_eq!(g("neg"), PyOutcome::Reward(-2.0));
    assert!(runtime_error(&g("str")).contains("str, not a number"));
    assert!(runtime_error(&g("none")).contains("NoneType"));
    assert!(runtime_error(&g("list")).contains("list"));
    assert!(runtime_error(&g("complex")).contains("complex"));
    for k in ["nan", "inf", "ninf", "big"] {
        assert!(runtime_error(&g(k)).contains("finite"), "{k}");
    }
}

#[test]
fn exceptions_carry_the_traceback_and_the_worker_survives() {
    let rt = runtime(PythonMode::Sandboxed);
    let src = r#"
import sys
def helper(x):
    return 1 / x
def grade(sample, item):
    k = item["k"]
    if k == "zero": return helper(0)
    if k == "exit": sys.exit(3)
    if k == "kbd": raise KeyboardInterrupt
    if k == "key": return sample["missing"]
    print("noise on stdout " * 10000)
    print("noise on stderr", file=sys.stderr)
    return 0.5
"#;
    let p = rt.compile(src, None).unwrap();
    let s = json!({});
    let items: Vec<Value> = ["zero", "ok", "exit", "ok", "kbd", "key", "ok"]
        .iter()
        .map(|k| json!({ "k": k }))
        .collect();
    let pairs: Vec<(&Value, &Value)> = items.iter().map(|i| (&s, i)).collect();
    let out = p.grade_batch(&pairs);
    let zero = runtime_error(&out[0]);
    assert!(zero.contains("ZeroDivisionError"), "{zero}");
    assert!(
        zero.contains("in helper") && zero.contains("line 4"),
        "{zero}"
    );
    assert!(!zero.contains("worker.py"), "harness frames leak: {zero}");
    assert!(runtime_error(&out[2]).contains("SystemExit"));
    assert!(runtime_error(&out[4]).contains("KeyboardInterrupt"));
    assert!(runtime_error(&out[5]).contains("KeyError: 'missing'"));
    for i in [1, 3, 6] {
        assert_eq!(
            out[i],
            PyOutcome::Reward(0.5),
            "print() must not corrupt frames"
        );
    }
}

#[test]
fn invalid_sources_are_compile_errors() {
    let rt = runtime(PythonMode::Sandboxed);
    let kind = |src: &str, tag: Option<&str>| rt.compile(src, tag).unwrap_err();
    let e = kind("def grade(sample, item) return 1", None);
    assert_eq!(e.kind, CompileErrorKind::Syntax);
    assert!(e.message.starts_with("syntax error"), "{}", e.message);
    let e = kind("x = 1\n", None);
    assert_eq!(e.message, "source does not define grade(sample, item)");
    assert_eq!(kind("grade = 3\n", None).kind, CompileErrorKind::NoGrade);
    assert_eq!(
        kind("def grade(sample):\n    return 1\n", None).kind,
        CompileErrorKind::Signature
    );
    assert_eq!(
        kind("def grade(a, b, c):\n    return 1\n", None).kind,
        CompileErrorKind::Signature
    );
    let e = kind(
        "raise ValueError('boom')\ndef grade(s, i):\n    return 1\n",
        None,
    );
    assert_eq!(e.kind, CompileErrorKind::Module);
    assert!(e.message.contains("ValueError: boom"), "{}", e.message);
    let e = kind("def grade(s, i):\n    return 1\n", Some("2024-01-01"));
    assert_eq!(e.kind, CompileErrorKind::ImageTag);
    let big = format!(
        "def grade(s, i):\n    return 1\n#{}\n",
        "x".repeat(256 * 1024)
    );
    assert_eq!(kind(&big, None).kind, CompileErrorKind::TooLarge);
    // Accepted: extra defaulted parameters, *args, a callable object.
    for ok in [
        "def grade(s, i, extra=1):\n    return 1\n",
        "def grade(*args):\n    return 1\n",
        "class G:\n    def __call__(self, s, i):\n        return 1\ngrade = G()\n",
    ] {
        let p = rt.compile(ok, Some("2025-05-08")).unwrap();
        assert_eq!(
            p.grade(&json!({}), &json!({})),
            PyOutcome::Reward(1.0),
            "{ok}"
        );
    }
}

#[test]
fn process_mode_grades_the_same() {
    let rt = runtime(PythonMode::Process);
    let p = rt
        .compile(
            "def grade(s, i):\n    return len(s['output_text']) + i['n']\n",
            None,
        )
        .unwrap();
    assert_eq!(
        p.grade(&json!({"output_text": "abc"}), &json!({"n": 2})),
        PyOutcome::Reward(5.0)
    );
    let e = rt.compile("def grade(s):\n    pass\n", None).unwrap_err();
    assert_eq!(e.kind, CompileErrorKind::Signature);
}

#[test]
fn same_source_shares_a_warm_pool_and_state_persists_in_a_worker() {
    let rt = runtime(PythonMode::Sandboxed);
    let src = "calls = 0\ndef grade(s, i):\n    global calls\n    calls += 1\n    return calls\n";
    let a = rt.compile(src, None).unwrap();
    let b = rt.clone().compile(src, None).unwrap();
    let s = json!({});
    let first = a.grade(&s, &s);
    let second = b.grade(&s, &s);
    // One warm worker answered both (the pool only grows when two frames run at once).
    assert_eq!(
        (first, second),
        (PyOutcome::Reward(1.0), PyOutcome::Reward(2.0))
    );
}

#[cfg(not(feature = "embedded"))]
#[test]
fn embedded_mode_without_the_feature_is_a_clear_compile_error() {
    let rt = runtime(PythonMode::Embedded);
    let e = rt
        .compile("def grade(s, i):\n    return 1\n", None)
        .unwrap_err();
    assert_eq!(e.kind, CompileErrorKind::EmbeddedNotBuilt);
    assert_eq!(
        e.message,
        "embedded mode not built; rebuild with --features embedded"
    );
}

#[test]
fn a_missing_interpreter_is_a_server_error() {
    let rt = PythonRuntime::new(PythonOptions {
        python: Some("/nonexistent/python3".into()),
        ..PythonOptions::default()
    });
    let p = rt
        .compile("def grade(s, i):\n    return 1\n", None)
        .unwrap();
    match p.grade(&json!({}), &json!({})) {
        PyOutcome::ServerError { error_type, .. } => assert_eq!(error_type, "spawn_failed"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn extreme_timeouts_do_not_panic() {
    for timeout in [Duration::MAX, Duration::ZERO] {
        let rt = PythonRuntime::new(PythonOptions {
            mode: PythonMode::Process,
            timeout,
            init_timeout: timeout,
            workers: Some(1),
            ..PythonOptions::default()
        });
        // Duration::ZERO is clamped to 1 ms: loading may then legitimately time out.
        if let Ok(p) = rt.compile("def grade(s, i):\n    return 1\n", None) {
            let out = p.grade(&json!({}), &json!({}));
            if timeout == Duration::MAX {
                assert_eq!(out, PyOutcome::Reward(1.0));
            }
        }
    }
}
