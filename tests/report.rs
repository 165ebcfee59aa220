//! `gradekit score --report`: the page is self-contained (no URL of any external resource, no
//! script) and holds the plots and the tables. The headless-browser check is
//! scripts/test.d/report_browser.sh.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn score_report(grader: &str, input: &str, extra: &[&str]) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_gradekit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["score", "-q", "--grader", grader, input, "-o"])
        .arg(dir.path().join("out.jsonl"))
        .arg("--report")
        .arg(&page)
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (std::fs::read_to_string(&page).unwrap(), dir)
}

/// Every `<svg id="…"` in the page.
fn svg_ids(html: &str) -> Vec<String> {
    html.match_indices("<svg id=\"")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

#[test]
fn report_is_self_contained_with_plots_and_tables() {
    let (html, _dir) = score_report(
        "fixtures/examples/multi.json",
        "fixtures/examples/outputs.jsonl",
        &[],
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
    // No external resource of any kind: no URL scheme at all, no script, no link, no import.
    for bad in [
        "http://", "https://", "<script", "<link", "@import", "url(", "src=", "href=", "//cdn",
    ] {
        assert!(!html.contains(bad), "page contains {bad:?}");
    }
    assert!(html.contains("Content-Security-Policy"));
    assert_eq!(
        svg_ids(&html),
        [
            "reward-histogram",
            "sub-grader-0",
            "sub-grader-1",
            "error-breakdown"
        ]
    );
    // The plots are drawn: bars are <rect> elements, labels <text>.
    let hist = &html[html.find("<svg id=\"reward-histogram\"").unwrap()..];
    let hist = &hist[..hist.find("</svg>").unwrap()];
    assert!(hist.matches("<rect").count() > 20, "{hist}");
    assert!(hist.contains("<text"));
    // fixtures/examples/outputs.jsonl: 7 non-blank lines, 2 invalid (line 6: not JSON, line 7:
    // no sample), a3 has no arguments.city → invalid_variable_error.
    assert!(html.contains("id=\"slowest-rows\""));
    assert!(html.contains("id=\"failed-rows\""));
    let failed = &html[html.find("id=\"failed-rows\"").unwrap()..];
    assert!(failed.contains("invalid_json"), "{failed}");
    assert!(failed.contains("missing_sample"));
    assert!(failed.contains("invalid_variable_error"));
    assert!(failed.contains("this line is not JSON"));
    // The rendered inputs of a failed graded row: its item (escaped JSON) and its sample text.
    assert!(
        failed.contains("&quot;city&quot;:&quot;Lima&quot;"),
        "{failed}"
    );
    assert!(
        failed.contains("&quot;town&quot;: &quot;Lima&quot;"),
        "{failed}"
    );
    assert!(html.contains("invalid line: invalid_json"));
}

#[test]
fn report_escapes_row_text() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"id\": \"<b>x</b>\", \"item\": {\"answer\": \"<script>alert(1)</script>\"}, \"model_sample\": \"<img src=x onerror=alert(1)>\"}\n",
    )
    .unwrap();
    let (html, _d) = score_report(
        "fixtures/examples/string_check.json",
        input.to_str().unwrap(),
        &[],
    );
    assert!(!html.contains("<script"));
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
    // A single-type grader has no sub-grader plots.
    assert_eq!(svg_ids(&html), ["reward-histogram", "error-breakdown"]);
}
