//! A `score` run whose input cannot be read to its end (a truncated `.gz`, a disk error) loses
//! no line it read: every complete line before the error has its row, in order, the run exits
//! 2 naming the input and the last line read, and its checkpoint stays so that `--resume` with
//! the whole input continues it — the resumed output is the uncut run's, row for row (issue #6
//! item 5, issue #12 "no run loses a line"). Fails on the code before the fix: the chunk being
//! read when the error came (up to 2,048 lines) was dropped, and the checkpoint was removed.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::Path;

mod common;
use common::{gradekit, write};

/// `n` lines of every kind: graded, blank, invalid JSON, a line without a sample (each with
/// a few bytes that do not repeat, so that a cut of the compressed file can end anywhere).
fn input(n: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..n {
        let noise = format!("{:016x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let line = match i % 7 {
            0..=3 => json!({"id": i, "item": {"r": format!("w{}", i % 3), "n": noise},
                            "model_sample": format!("w{}", i % 2)})
            .to_string(),
            4 => " \t".to_string(),
            5 => format!("{{\"id\": {i}, not json"),
            _ => json!({"id": i, "item": {"r": "x"}}).to_string(),
        };
        out.push_str(&line);
        out.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
    }
    out.into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// What a reader of the truncated `.gz` gets before its error.
fn readable_prefix(gz: &[u8]) -> Vec<u8> {
    let mut d = flate2::read::GzDecoder::new(gz);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match d.read(&mut buf) {
            Ok(0) => panic!("the truncated stream read to its end"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => return got,
        }
    }
}

/// The 1-based numbers of the non-blank lines among the complete lines of `bytes`.
fn graded_lines(bytes: &[u8]) -> Vec<u64> {
    let complete = &bytes[..bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)];
    complete
        .split_inclusive(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

/// The rows of `out` without their timing.
fn rows(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if let Some(m) = v.pointer_mut("/metadata").and_then(Value::as_object_mut) {
                m.remove("execution_time");
            }
            v
        })
        .collect()
}

fn score(g: &str, args: &[&str], input: &Path, out: &Path) -> (i32, String) {
    let mut all = vec!["score", "-q", "-g", g];
    all.extend_from_slice(args);
    all.extend([input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let (code, _, err) = gradekit(&all, b"");
    (code, err)
}

#[test]
fn a_run_cut_by_an_input_error_keeps_every_line_read_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let g = common::eq_grader().to_string();
    let g = write(dir.path(), "g.json", g.as_bytes());
    let g = g.to_str().unwrap();
    let text = input(20_000);
    let gz = gzip(&text);
    let whole = write(dir.path(), "whole.jsonl.gz", &gz);
    // Cut inside the stream: the reader fails after thousands of lines, inside a chunk, and
    // more than 20 bytes into a line (so that with `--max-line-bytes 20` the error comes while
    // that line streams by unkept).
    let (cut, prefix) = (0..gz.len() / 2)
        .map(|back| &gz[..gz.len() * 3 / 5 - back])
        .map(|cut| (cut, readable_prefix(cut)))
        .find(|(_, p)| p.len() - p.iter().rposition(|b| *b == b'\n').unwrap() > 30)
        .unwrap();
    let cut = write(dir.path(), "cut.jsonl.gz", cut);
    let expected = graded_lines(&prefix);
    assert!(expected.len() > 3000, "{}", expected.len());
    let last_read = prefix.iter().filter(|b| **b == b'\n').count();
    // Every way of running the stages: one grading thread (with one I/O thread), a pool,
    // the staged path of `--report`, and lines too long to keep (streamed past, not held).
    let ways: [&[&str]; 4] = [
        &["--threads", "1"],
        &["--threads", "2"],
        &["--threads", "2", "--report", "REPORT"],
        &["--threads", "1", "--max-line-bytes", "20"],
    ];
    for (w, way) in ways.iter().enumerate() {
        let report = dir.path().join(format!("report-{w}.html"));
        let args: Vec<&str> = way
            .iter()
            .map(|a| match *a {
                "REPORT" => report.to_str().unwrap(),
                a => a,
            })
            .collect();
        let full = dir.path().join(format!("full-{w}.jsonl"));
        let (code, err) = score(g, &args, &whole, &full);
        assert_eq!(code, 0, "{way:?}: {err}");

        let out = dir.path().join(format!("out-{w}.jsonl"));
        let (code, err) = score(g, &args, &cut, &out);
        assert_eq!(code, 2, "{way:?}: a cut input is an error: {err}");
        assert!(
            err.contains("cannot read") && err.contains(&format!("after line {last_read}")),
            "{way:?}: {err}"
        );
        let got = rows(&out);
        let lines: Vec<u64> = got.iter().map(|r| r["line"].as_u64().unwrap()).collect();
        assert_eq!(
            (lines.len(), lines.last()),
            (expected.len(), expected.last()),
            "{way:?}: one row per line read"
        );
        assert!(lines == expected, "{way:?}: the rows are in input order");
        assert_eq!(got[..], rows(&full)[..got.len()], "{way:?}");

        // The checkpoint stayed: the whole input continues the run, nothing lost or doubled.
        let ckpt = dir.path().join(format!("out-{w}.jsonl.gkresume"));
        assert!(
            ckpt.exists(),
            "{way:?}: the checkpoint of a cut run is kept"
        );
        let mut resumed = args.clone();
        resumed.push("--resume");
        let (code, err) = score(g, &resumed, &whole, &out);
        assert_eq!(code, 0, "{way:?}: {err}");
        assert_eq!(rows(&out), rows(&full), "{way:?}: resumed = uncut");
    }
}
