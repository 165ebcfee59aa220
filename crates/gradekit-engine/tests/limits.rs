//! Size budgets and cooperative cancellation (issue #12, items 1 and 2): an amplifying
//! template, an oversized sample text or a cancelled batch costs one sample's flag, never the
//! process, and the neighbours are graded.
#![allow(clippy::unwrap_used)]

use gradekit_engine::{compile, Cancel, EngineOptions, EvalContext, DEFAULT_MAX_FIELD_BYTES};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn amplifier(repeats: usize) -> Value {
    json!({
        "type": "string_check", "name": "amp", "operation": "like",
        "input": "{{ item.a }}".repeat(repeats), "reference": "zz"
    })
}

#[test]
fn default_budget_is_16_mib() {
    assert_eq!(DEFAULT_MAX_FIELD_BYTES, 16 * 1024 * 1024);
    assert_eq!(EngineOptions::default().field_limit(), 16 * 1024 * 1024);
}

#[test]
fn amplifying_template_is_refused_and_neighbours_are_graded() {
    // 10,000 × 1 MB = 10 GB if rendered: the process would abort on allocation.
    let g = compile(&amplifier(10_000), &EngineOptions::default()).unwrap();
    let big = EvalContext::from_text("x", Some(json!({"a": "y".repeat(1 << 20)})));
    let small = EvalContext::from_text("x", Some(json!({"a": "zz"})));
    let rs = g.grade_batch(&[small.clone(), big, small]);
    assert_eq!(rs.len(), 3);
    assert_eq!(rs[0].reward, 1.0);
    assert!(rs[0].errors.is_clean());
    assert_eq!(rs[2].reward, 1.0);
    let e = &rs[1].errors;
    assert_eq!(rs[1].reward, 0.0);
    assert!(e.other_error);
    let d = e.other_error_details.as_deref().unwrap();
    assert!(d.contains("input") && d.contains("16777216"), "{d}");
    // The wire keeps the 24 keys and adds the details only when set.
    let wire = serde_json::to_value(&rs[1].errors).unwrap();
    assert_eq!(wire["other_error_details"], json!(d));
    let clean = serde_json::to_value(&rs[0].errors).unwrap();
    assert_eq!(clean.as_object().unwrap().len(), 24);
}

#[test]
fn budget_is_configurable_and_names_the_field() {
    let mut o = EngineOptions::default();
    o.max_field_bytes = 10;
    let g = compile(
        &json!({"type": "text_similarity", "name": "t", "evaluation_metric": "fuzzy_match",
                "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"}),
        &o,
    )
    .unwrap();
    let ok = g.grade(&EvalContext::from_text("abc", Some(json!({"r": "abc"}))));
    assert_eq!(ok.reward, 1.0);
    let r = g.grade(&EvalContext::from_text(
        "abc",
        Some(json!({"r": "a".repeat(11)})),
    ));
    assert!(r.errors.other_error);
    let d = r.errors.other_error_details.unwrap();
    assert!(
        d.contains("reference") && d.contains("limit of 10 bytes"),
        "{d}"
    );
}

#[test]
fn oversized_sample_text_is_refused_for_every_grader_type() {
    let mut o = EngineOptions::default();
    o.max_field_bytes = 64;
    let g = compile(
        &json!({"type": "string_check", "name": "s", "operation": "eq",
                "input": "fixed", "reference": "fixed"}),
        &o,
    )
    .unwrap();
    let r = g.grade(&EvalContext::from_text(&"q".repeat(65), None));
    assert!(r.errors.other_error);
    assert!(r
        .errors
        .other_error_details
        .unwrap()
        .contains("sample.output_text"));
    assert_eq!(
        g.grade(&EvalContext::from_text(&"q".repeat(64), None))
            .reward,
        1.0
    );
}

#[test]
fn multi_keeps_other_subgraders_and_names_the_path() {
    let mut o = EngineOptions::default();
    o.max_field_bytes = 1000;
    let g = compile(
        &json!({"type": "multi", "name": "m", "calculate_output": "a + b",
          "graders": {
            "a": {"type": "string_check", "name": "a", "operation": "eq",
                  "input": "{{ item.x }}{{ item.x }}", "reference": "k"},
            "b": {"type": "string_check", "name": "b", "operation": "eq",
                  "input": "{{ sample.output_text }}", "reference": "ok"}}}),
        &o,
    )
    .unwrap();
    let r = g.grade(&EvalContext::from_text(
        "ok",
        Some(json!({"x": "v".repeat(600)})),
    ));
    assert_eq!(r.reward, 1.0);
    assert_eq!(r.sub_rewards["a"], 0.0);
    assert_eq!(r.sub_rewards["b"], 1.0);
    assert!(r
        .errors
        .other_error_details
        .unwrap()
        .contains("graders.a.input"));
}

#[test]
fn model_grader_messages_are_bounded_before_any_call() {
    let mut o = EngineOptions::default();
    o.max_field_bytes = 100;
    // No judge is reachable: an over-budget sample must fail on its size, not on the network.
    o.judge = None;
    let g = compile(
        &json!({"type": "score_model", "name": "s", "model": "m",
          "input": [{"role": "user", "content": "{{ item.q }}{{ item.q }}"}]}),
        &o,
    )
    .unwrap();
    let r = g.grade(&EvalContext::from_text(
        "a",
        Some(json!({"q": "w".repeat(60)})),
    ));
    assert!(r.errors.other_error, "{:?}", r.errors);
    assert!(r
        .errors
        .other_error_details
        .unwrap()
        .contains("input[0].content"));
}

#[test]
fn a_fired_token_stops_a_batch_at_once() {
    // Each sample costs a few ms (fuzzy over 2 KB texts); 2,000 of them would take seconds.
    let g = compile(
        &json!({"type": "text_similarity", "name": "t", "evaluation_metric": "fuzzy_match",
                "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"}),
        &EngineOptions::default(),
    )
    .unwrap();
    let text: String = (0..2000)
        .map(|i| (b'a' + (i * 7 % 26) as u8) as char)
        .collect();
    let other: String = (0..2000)
        .map(|i| (b'a' + (i * 11 % 26) as u8) as char)
        .collect();
    let ctxs: Vec<EvalContext> = (0..2000)
        .map(|_| EvalContext::from_text(&text, Some(json!({"r": other}))))
        .collect();
    let cancel = Cancel::new();
    cancel.cancel();
    let t = Instant::now();
    let rs = g.grade_batch_cancellable(&ctxs, &cancel);
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(rs.len(), ctxs.len());
    assert!(rs.iter().all(|r| r.errors.other_error
        && r.errors
            .other_error_details
            .as_deref()
            .unwrap()
            .contains("cancelled")));

    // A deadline in the middle: the batch ends soon after it, the rest marked cancelled.
    let t = Instant::now();
    let cancel = Cancel::with_deadline(t + Duration::from_millis(200));
    let rs = g.grade_batch_cancellable(&ctxs, &cancel);
    assert_eq!(rs.len(), ctxs.len());
    let graded = rs.iter().filter(|r| !r.errors.other_error).count();
    let full = g.grade(&ctxs[0]).execution_time * ctxs.len() as f64;
    if full > 2.0 {
        assert!(graded < ctxs.len(), "nothing was cancelled");
        assert!(t.elapsed() < Duration::from_secs_f64(full / 2.0));
    }
    // Without cancellation everything is graded.
    let rs = g.grade_batch_cancellable(&ctxs[..4], &Cancel::new());
    assert!(rs.iter().all(|r| !r.errors.other_error));
}

/// A label_model with 200,000 labels (3.6 MB of JSON, well under the server's 16 MiB body
/// limit): its checks (unique labels, passing_labels ⊆ labels) used to compare every label
/// with every other — hours of CPU for one /validate request. Duplicates and strangers are
/// still reported at their index.
#[test]
fn many_labels_are_checked_in_linear_time() {
    let n = 200_000;
    let labels: Vec<String> = (0..n).map(|i| format!("l{i}")).collect();
    let grader = |labels: &[String], passing: &[String]| {
        json!({"type": "label_model", "name": "many", "model": "m",
               "input": [{"role": "user", "content": "x"}],
               "labels": labels, "passing_labels": passing})
    };
    let opts = EngineOptions::default();
    assert!(gradekit_engine::validate(&grader(&labels, &labels), &opts).is_ok());
    let mut dup = labels.clone();
    dup.push("l7".into());
    let passing = vec!["l3".to_string(), "nope".to_string()];
    let errs = gradekit_engine::validate(&grader(&dup, &passing), &opts).unwrap_err();
    let got: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with(&format!("labels[{n}]: duplicate label \"l7\"")),
        "{got:?}"
    );
    assert!(
        got[1].starts_with("passing_labels[1]: \"nope\" is not one of labels"),
        "{got:?}"
    );
}
