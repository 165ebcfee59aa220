//! `score --threads 1` runs its stages three ways (one thread for a small file, a grading
//! thread and one I/O thread otherwise, a pool with a reader and a writer for several
//! threads or `--report`): every way must give the same rows in the same order, the same
//! summary, and checkpoints a `--resume` trusts.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
mod common;
use common::gradekit;

/// `n` lines: common lines of every shape, blank lines, invalid JSON, too-long lines.
fn input(n: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..n {
        let line = match i % 9 {
            0..=4 => json!({"item": {"reference": format!("the cat {}", i % 4)},
                            "model_sample": format!("the cat {}", i % 3), "id": i})
            .to_string(),
            5 => format!(
                r#"{{"model_sample": "caf\u00e9 {i}", "item": {{"reference": "café {i}"}}}}"#
            ),
            6 => "   ".to_string(),
            7 => {
                if i % 2 == 0 {
                    "{not json".to_string()
                } else {
                    format!("[{i}]")
                }
            }
            _ => format!(r#"{{"model_sample": "{}"}}"#, "y".repeat(300)),
        };
        out.push_str(&line);
        out.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
    }
    out.into_bytes()
}

/// The rows without their timing.
fn rows(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if let Some(m) = v.pointer_mut("/metadata").and_then(|m| m.as_object_mut()) {
                m.remove("execution_time");
            }
            v.to_string()
        })
        .collect()
}

fn xxh3_hex(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
}

#[test]
fn every_way_of_running_the_stages_gives_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let grader = common::write(
        dir.path(),
        "g.json",
        json!({"type": "text_similarity", "name": "r", "evaluation_metric": "rouge_l",
               "pass_threshold": 0.5,
               "input": "{{ sample.output_text }}", "reference": "{{ item.reference }}"})
        .to_string()
        .as_bytes(),
    );
    let g = grader.to_str().unwrap();
    let report = dir.path().join("r.html");
    // Small (graded on one thread), larger than a chunk of either kind (an I/O thread).
    for n in [1, 40, 9000] {
        let data = input(n);
        let file = common::write(dir.path(), &format!("in-{n}.jsonl"), &data);
        let f = file.to_str().unwrap();
        let base = ["score", "-q", "--max-line-bytes", "200", "-g", g];
        let run = |extra: &[&str], stdin: bool| {
            let mut args = base.to_vec();
            args.extend_from_slice(extra);
            args.push(if stdin { "-" } else { f });
            let (code, out, err) = gradekit(&args, if stdin { &data } else { b"" });
            assert_eq!(code, 0, "{err}");
            out
        };
        let want = rows(&run(&["--report", report.to_str().unwrap()], true));
        let non_blank = String::from_utf8_lossy(&data)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        assert_eq!(
            want.len(),
            non_blank,
            "one row per non-blank line ({n} lines)"
        );
        // (No `--threads`: a pool as wide as the cores, or inline for a small file.)
        for threads in [&[][..], &["--threads", "1"], &["--threads", "2"]] {
            for stdin in [false, true] {
                let out = run(threads, stdin);
                assert_eq!(rows(&out), want, "{threads:?}, stdin {stdin}, {n} lines");
            }
        }
        // To a file, with a summary: the same rows, the same counts, and a plain run leaves no
        // checkpoint behind.
        let out = dir.path().join(format!("out-{n}.jsonl"));
        let summary = dir.path().join(format!("sum-{n}.json"));
        let mut sums = Vec::new();
        for threads in ["1", "2"] {
            let _ = std::fs::remove_file(&out);
            run(
                &[
                    "--threads",
                    threads,
                    "-o",
                    out.to_str().unwrap(),
                    "--summary-json",
                    summary.to_str().unwrap(),
                ],
                false,
            );
            assert_eq!(rows(&std::fs::read_to_string(&out).unwrap()), want);
            assert!(!dir.path().join(format!("out-{n}.jsonl.gkresume")).exists());
            let mut s: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
            let o = s.as_object_mut().unwrap();
            o.retain(|k, _| !k.contains("elapsed") && !k.contains("per_second"));
            sums.push(s);
        }
        assert_eq!(sums[0], sums[1], "{n} lines");
    }
}

#[test]
fn a_resume_run_with_one_grading_thread_keeps_a_checkpoint_of_the_whole_output() {
    let dir = tempfile::tempdir().unwrap();
    let grader = common::write(
        dir.path(),
        "g.json",
        json!({"type": "string_check", "operation": "eq",
               "input": "{{ sample.output_text }}", "reference": "{{ item.reference }}"})
        .to_string()
        .as_bytes(),
    );
    // 40,000 lines of a cheap grader: grading waits for the I/O thread, which hands writing to
    // a thread of its own mid-run.
    for n in [30, 9000, 40_000] {
        let data = input(n);
        let file = common::write(dir.path(), &format!("in-{n}.jsonl"), &data);
        let out = dir.path().join(format!("out-{n}.jsonl"));
        let args = [
            "score",
            "-q",
            "--threads",
            "1",
            "--resume",
            "--max-line-bytes",
            "200",
            "-g",
            grader.to_str().unwrap(),
            file.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        let (code, _, err) = gradekit(&args, b"");
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read(&out).unwrap();
        let ck: Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("out-{n}.jsonl.gkresume"))).unwrap(),
        )
        .unwrap();
        assert_eq!(ck["complete"], json!(true));
        assert_eq!(ck["input_offset"], json!(data.len()));
        assert_eq!(ck["input_hash"], json!(xxh3_hex(&data)));
        assert_eq!(ck["output_bytes"], json!(text.len()));
        assert_eq!(ck["output_hash"], json!(xxh3_hex(&text)));
        let last: Value =
            serde_json::from_str(String::from_utf8_lossy(&text).lines().last().unwrap()).unwrap();
        assert_eq!(ck["last_row_line"], last["line"]);
        // Resuming the finished run again changes nothing.
        let (code, _, err) = gradekit(&args, b"");
        assert_eq!(code, 0, "{err}");
        assert_eq!(std::fs::read(&out).unwrap(), text);
    }
}
