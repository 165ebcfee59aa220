//! Graders that import packages from OpenAI's `2025-05-08` image (rapidfuzz, numpy), run in the
//! sandboxed pool from a venv: `GRADEKIT_REF_PYTHON` (set by scripts/test, which creates the
//! venv), else the workspace's `.venv-ref`. Skips with a message when neither is there — the
//! core tests need only a bare python3.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use gradekit_python::{sandbox_support, PyOutcome, PythonOptions, PythonRuntime};
use serde_json::json;

fn venv_python() -> Option<PathBuf> {
    let p = std::env::var_os("GRADEKIT_REF_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../.venv-ref/bin/python"
            ))
        });
    let ok = std::process::Command::new(&p)
        .args(["-c", "import rapidfuzz, numpy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Some(p)
    } else {
        eprintln!(
            "SKIP: no venv with rapidfuzz and numpy at {} (run scripts/test)",
            p.display()
        );
        None
    }
}

#[test]
fn rapidfuzz_and_numpy_graders_run_sandboxed() {
    let Some(python) = venv_python() else { return };
    let s = sandbox_support();
    if s.landlock_abi == 0 || !s.seccomp {
        eprintln!("SKIP: kernel lacks Landlock or seccomp ({s:?})");
        return;
    }
    let rt = PythonRuntime::new(PythonOptions {
        python: Some(python.clone()),
        timeout: Duration::from_secs(10),
        workers: Some(1),
        ..PythonOptions::default()
    });
    // OpenAI's example grader from the graders guide.
    let fuzzy = "from rapidfuzz import fuzz, utils\n\ndef grade(sample, item) -> float:\n    output_text = sample[\"output_text\"]\n    reference_answer = item[\"reference_answer\"]\n    return fuzz.WRatio(output_text, reference_answer, processor=utils.default_process) / 100.0\n";
    let p = rt.compile(fuzzy, Some("2025-05-08")).unwrap();
    // Differential: the sandboxed result equals rapidfuzz run directly in the same venv.
    let pairs = [
        ("Hello, World!", "hello world"),
        ("The answer is 42", "42"),
        ("abc", "xyz"),
    ];
    for (out, reference) in pairs {
        let direct = std::process::Command::new(&python)
            .args([
                "-c",
                "import sys; from rapidfuzz import fuzz, utils; print(repr(fuzz.WRatio(sys.argv[1], sys.argv[2], processor=utils.default_process) / 100.0))",
                out,
                reference,
            ])
            .output()
            .unwrap();
        let expected: f64 = String::from_utf8_lossy(&direct.stdout)
            .trim()
            .parse()
            .unwrap();
        assert_eq!(
            p.grade(
                &json!({ "output_text": out }),
                &json!({ "reference_answer": reference })
            ),
            PyOutcome::Reward(expected),
            "{out:?} vs {reference:?}"
        );
    }
    let np = "import numpy as np\n\ndef grade(sample, item):\n    return np.float64(np.mean(np.array(item['v'])))\n";
    let p = rt.compile(np, None).unwrap();
    assert_eq!(
        p.grade(&json!({}), &json!({"v": [1, 2, 3, 6]})),
        PyOutcome::Reward(3.0)
    );
    // numpy integer scalars are numbers.Real too.
    let npi = "import numpy as np\n\ndef grade(sample, item):\n    return np.int64(7)\n";
    assert_eq!(
        rt.compile(npi, None).unwrap().grade(&json!({}), &json!({})),
        PyOutcome::Reward(7.0)
    );
}
