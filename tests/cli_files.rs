//! Issue #12 against the CLI, files half: `score --resume` refuses a checkpoint that does not
//! match its output, and an output that is one of the inputs; nothing is ever lost or
//! overwritten. Also: a file that is not JSON for a fixable reason (a byte-order mark) says
//! so. Each test fails on the code before its fix.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::process::Stdio;

mod common;
use common::{bin, eq_grader, gradekit, write};

/// A finished 5,000-line run: (dir, grader, input, output) paths.
fn scored_run() -> (tempfile::TempDir, [std::path::PathBuf; 3]) {
    let dir = tempfile::tempdir().unwrap();
    let g = write(dir.path(), "g.json", eq_grader().to_string().as_bytes());
    let mut input = String::new();
    for i in 0..5000 {
        input.push_str(&json!({"id": i, "item": {"r": "a"}, "model_sample": "a"}).to_string());
        input.push('\n');
    }
    let inp = write(dir.path(), "in.jsonl", input.as_bytes());
    let out = dir.path().join("out.jsonl");
    let (code, _, err) = gradekit(
        &[
            "score",
            "--resume", // keeps the checkpoint of the complete run
            "-q",
            "-g",
            g.to_str().unwrap(),
            inp.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    (dir, [g, inp, out])
}

fn resume(paths: &[std::path::PathBuf; 3]) -> (i32, String) {
    let [g, inp, out] = paths;
    let (code, _, err) = gradekit(
        &[
            "score",
            "-q",
            "--resume",
            "-g",
            g.to_str().unwrap(),
            inp.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        b"",
    );
    (code, err)
}

fn ckpt_path(out: &std::path::Path) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("{}.gkresume", out.display()))
}

/// Item 10: every tampering is refused before anything is written.
#[test]
fn resume_refuses_a_checkpoint_that_does_not_match_its_output() {
    let (_dir, paths) = scored_run();
    let out = &paths[2];
    let text = std::fs::read(out).unwrap();
    let ck: Value = serde_json::from_slice(&std::fs::read(ckpt_path(out)).unwrap()).unwrap();
    assert_eq!(ck["output_bytes"].as_u64().unwrap(), text.len() as u64);
    assert_eq!(ck["last_row_line"], json!(5000));
    let row_starts: Vec<usize> = std::iter::once(0)
        .chain(
            text.iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();

    let cases: Vec<(&str, Vec<u8>, Value)> = vec![
        // output_bytes edited down to an earlier row boundary: 2,000 rows would be dropped.
        ("edited output_bytes", text.clone(), {
            let mut c = ck.clone();
            c["output_bytes"] = json!(row_starts[3000]);
            c
        }),
        // A row deleted from the output (the file is now shorter than the checkpoint says).
        (
            "deleted row",
            {
                let mut t = text[..row_starts[10]].to_vec();
                t.extend_from_slice(&text[row_starts[11]..]);
                t
            },
            ck.clone(),
        ),
        // A row deleted, and the checkpoint shortened to match the length.
        (
            "deleted row, length fixed",
            {
                let mut t = text[..row_starts[10]].to_vec();
                t.extend_from_slice(&text[row_starts[11]..]);
                t
            },
            {
                let mut c = ck.clone();
                c["output_bytes"] = json!(text.len() - (row_starts[11] - row_starts[10]));
                c
            },
        ),
        // An offset in the middle of a row.
        ("mid-line offset", text.clone(), {
            let mut c = ck.clone();
            c["output_bytes"] = json!(row_starts[100] + 5);
            c
        }),
        // A row edited in place (same length).
        (
            "edited row",
            {
                let mut t = text.clone();
                let at = row_starts[7] + 2; // inside `"line"`
                t[at] = b'X';
                t
            },
            ck.clone(),
        ),
    ];
    for (what, out_bytes, ckpt) in cases {
        std::fs::write(out, &out_bytes).unwrap();
        let ck_bytes = ckpt.to_string().into_bytes();
        std::fs::write(ckpt_path(out), &ck_bytes).unwrap();
        let (code, err) = resume(&paths);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(
            err.contains("cannot resume") && err.contains("nothing was changed"),
            "{what}: {err}"
        );
        assert_eq!(
            std::fs::read(out).unwrap(),
            out_bytes,
            "{what}: output touched"
        );
        assert_eq!(
            std::fs::read(ckpt_path(out)).unwrap(),
            ck_bytes,
            "{what}: checkpoint touched"
        );
    }
    // The genuine pair still resumes (nothing left to do) and keeps every row.
    std::fs::write(out, &text).unwrap();
    std::fs::write(ckpt_path(out), ck.to_string()).unwrap();
    let (code, err) = resume(&paths);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(out)
            .unwrap()
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        5000
    );
}

/// Runs `gradekit` with stdin and stdout taken from files.
fn gradekit_files(
    args: &[&str],
    stdin: Option<&std::path::Path>,
    stdout: Option<std::fs::File>,
) -> (i32, String) {
    let mut c = bin();
    c.args(args).stderr(Stdio::piped());
    match stdin {
        Some(p) => c.stdin(std::fs::File::open(p).unwrap()),
        None => c.stdin(Stdio::null()),
    };
    match stdout {
        Some(f) => c.stdout(f),
        None => c.stdout(Stdio::piped()),
    };
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Item 9: an output that is the same file as an input is refused, exit 2, nothing touched.
#[test]
fn score_refuses_to_write_over_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let grader = eq_grader().to_string();
    let g = write(d, "g.json", grader.as_bytes());
    let input = format!("{}\n", json!({"item": {"r": "a"}, "model_sample": "a"}));
    let inp = write(d, "in.jsonl", input.as_bytes());
    let link = d.join("link.jsonl");
    std::os::unix::fs::symlink(&inp, &link).unwrap();
    let hard = d.join("hard.jsonl");
    std::fs::hard_link(&inp, &hard).unwrap();
    let (gs, is, ls, hs) = (
        g.to_str().unwrap(),
        inp.to_str().unwrap(),
        link.to_str().unwrap(),
        hard.to_str().unwrap(),
    );
    let check = |what: &str, code: i32, err: &str| {
        assert_eq!(code, 2, "{what}: {err}");
        assert!(err.contains("same file"), "{what}: {err}");
        assert_eq!(
            std::fs::read_to_string(&inp).unwrap(),
            input,
            "{what}: input touched"
        );
        assert_eq!(
            std::fs::read_to_string(&g).unwrap(),
            grader,
            "{what}: grader touched"
        );
    };
    for (what, args) in [
        ("-o = input", vec!["score", "-q", "-g", gs, is, "-o", is]),
        (
            "-o = symlink to input",
            vec!["score", "-q", "-g", gs, is, "-o", ls],
        ),
        (
            "input is a symlink to -o",
            vec!["score", "-q", "-g", gs, ls, "-o", is],
        ),
        (
            "-o = hard link of input",
            vec!["score", "-q", "-g", gs, is, "-o", hs],
        ),
        ("-o = grader", vec!["score", "-q", "-g", gs, is, "-o", gs]),
        (
            "--summary-json = input",
            vec!["score", "-q", "-g", gs, is, "--summary-json", is],
        ),
        (
            "--report = grader",
            vec!["score", "-q", "-g", gs, is, "--report", gs],
        ),
    ] {
        let (code, err) = gradekit_files(&args, None, None);
        check(what, code, &err);
    }
    // stdin redirected from the output file.
    let (code, err) = gradekit_files(&["score", "-q", "-g", gs, "-", "-o", is], Some(&inp), None);
    check("stdin from -o", code, &err);
    // stdout appended to the input (`>> in.jsonl`) would grow the input forever.
    let append = std::fs::OpenOptions::new().append(true).open(&inp).unwrap();
    let (code, err) = gradekit_files(&["score", "-q", "-g", gs, is], None, Some(append));
    check("stdout >> input", code, &err);
    // Two outputs on one file.
    let o = d.join("o.jsonl");
    let os = o.to_str().unwrap();
    let (code, err) = gradekit_files(
        &["score", "-q", "-g", gs, is, "-o", os, "--summary-json", os],
        None,
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(!o.exists());
    // A different file is fine.
    let (code, err) = gradekit_files(&["score", "-q", "-g", gs, is, "-o", os], None, None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&o).unwrap().lines().count(), 1);
}

/// `--sample-key` decides what every row graded: a resume with another one (or without it)
/// is refused with both named, nothing changed; the same one resumes.
#[test]
fn resume_refuses_another_sample_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let g = write(d, "g.json", eq_grader().to_string().as_bytes());
    let mut input = String::new();
    for i in 0..300 {
        input.push_str(&json!({"id": i, "r": "a", "text": "a", "other": "b"}).to_string());
        input.push('\n');
    }
    let inp = write(d, "in.jsonl", input.as_bytes());
    let out = d.join("out.jsonl");
    let (gs, is, os) = (
        g.to_str().unwrap(),
        inp.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let score = |key: Option<&str>| {
        let mut args = vec!["score", "-q", "--resume", "-g", gs, is, "-o", os];
        args.extend(key.map(|k| ["--sample-key", k]).into_iter().flatten());
        gradekit(&args, b"")
    };
    let (code, _, err) = score(Some("text"));
    assert_eq!(code, 0, "{err}");
    let rows = std::fs::read(&out).unwrap();
    let ckpt = std::fs::read(ckpt_path(&out)).unwrap();
    for (key, want) in [
        (
            None,
            "it was written with --sample-key \"text\", and this run is without --sample-key",
        ),
        (Some("other"), "and this run is with --sample-key \"other\""),
    ] {
        let (code, _, err) = score(key);
        assert_eq!(code, 2, "{key:?}: {err}");
        assert!(
            err.contains(want) && err.contains("nothing was changed"),
            "{key:?}: {err}"
        );
        assert_eq!(
            std::fs::read(&out).unwrap(),
            rows,
            "{key:?}: output touched"
        );
        assert_eq!(std::fs::read(ckpt_path(&out)).unwrap(), ckpt, "{key:?}");
    }
    let (code, _, err) = score(Some("text"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), rows);
}

/// A summary or report file that cannot be written is refused before anything is graded
/// (exit 2 naming it, no output made), not after a whole run; one that can is left as the
/// run's end writes it (a file made to check is removed again).
#[test]
fn an_unwritable_summary_or_report_fails_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let g = write(d, "g.json", eq_grader().to_string().as_bytes());
    let line = json!({"item": {"r": "a"}, "model_sample": "a"}).to_string();
    let inp = write(d, "in.jsonl", format!("{line}\n{line}\n").as_bytes());
    let (gs, is) = (g.to_str().unwrap(), inp.to_str().unwrap());
    let out = d.join("out.jsonl");
    let os = out.to_str().unwrap();
    let missing = d.join("no-such-dir").join("s.json");
    let ms = missing.to_str().unwrap();
    let a_dir = d.to_str().unwrap();
    for flag in ["--summary-json", "--report"] {
        for bad in [ms, a_dir] {
            let (code, err) = gradekit_files(
                &["score", "-q", "-g", gs, is, "-o", os, flag, bad],
                None,
                None,
            );
            assert_eq!(code, 2, "{flag} {bad}: {err}");
            assert!(
                err.contains(&format!("cannot write {bad}")),
                "{flag} {bad}: {err}"
            );
            assert!(!out.exists(), "{flag} {bad}: the run started: {err}");
        }
    }
    // Writable ones: the checks leave nothing behind, the run's end writes them.
    let (s, r) = (d.join("s.json"), d.join("r.html"));
    let (code, err) = gradekit_files(
        &[
            "score",
            "-q",
            "-g",
            gs,
            is,
            "-o",
            os,
            "--summary-json",
            s.to_str().unwrap(),
            "--report",
            r.to_str().unwrap(),
        ],
        None,
        None,
    );
    assert_eq!(code, 0, "{err}");
    let summary: Value = serde_json::from_slice(&std::fs::read(&s).unwrap()).unwrap();
    assert_eq!(summary["count"], json!(2));
    assert!(std::fs::read_to_string(&r).unwrap().contains("<svg"));
}

/// A grader file or a JSONL line that starts with a UTF-8 byte-order mark (Windows editors
/// write one) is still refused (JSON forbids it), with a message naming the mark instead of
/// serde_json's bare "expected value at column 1".
#[test]
fn byte_order_mark_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(eq_grader().to_string().as_bytes());
    let g = write(dir.path(), "bom.json", &bytes);
    for cmd in ["validate", "run"] {
        let (code, _, err) = gradekit(&[cmd, g.to_str().unwrap()], b"");
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(err.contains("byte-order mark"), "{cmd}: {err}");
    }
    let g = write(dir.path(), "g.json", eq_grader().to_string().as_bytes());
    let line = json!({"id": 1, "item": {"r": "a"}, "model_sample": "a"}).to_string();
    let input = format!("\u{feff}{line}\n{line}\n");
    let (code, out, err) = gradekit(
        &["score", "-q", "--grader", g.to_str().unwrap(), "-"],
        input.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let rows = common::rows(&out);
    assert_eq!(rows[0]["error"]["code"], json!("invalid_json"), "{out}");
    let msg = rows[0]["error"]["message"].as_str().unwrap();
    assert!(msg.contains("byte-order mark"), "{msg}");
    assert_eq!(rows[1]["reward"], json!(1.0), "{out}");
}
