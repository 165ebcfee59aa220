//! Extension `POST /v1/graders/run_batch`: one grader, many samples, results in order.
//!
//! Body `{"grader": …, "samples": [{"model_sample" | "sample": string | object, "item"?: any,
//! "reference_answer"?: any}, …]}` → `{"results": [<run response>, …]}`, one per sample, in
//! input order. The grader compiles once (through the cache) and the samples are graded with
//! the engine's `grade_batch` (rayon, or the engine's I/O pool for judge graders) from a
//! blocking thread. A sample entry that cannot be read is a client bug, not a grading result:
//! 400 naming it (`samples[3].sample.output_tools`), like any other malformed body.
//!
//! **Bounded.** The answer is built in memory, ~1 KB per sample, so a batch holds at most
//! `--max-batch-samples` samples (default 400); more is a 400 naming the limit, before any
//! grading. A result is not always ~1 KB: every one repeats the grader's name and, for a
//! multi grader, one `sub_rewards` entry per sub-grader, so a 2 MB multi of 20,000
//! sub-graders made 400 results of 250 KB (a 100 MB answer, ~1 GB while built). The answer's
//! least size — the samples times one clean result of this grader — must therefore fit
//! [`MAX_BATCH_ANSWER_BYTES`], checked after compiling and before grading (400 naming the
//! limit); error details are bounded per result by the model crate (`MAX_DETAIL_BYTES`). With
//! the body limit this bounds the memory of one request by the server's limits, not by what a
//! client sends. A batch past its deadline stops between samples (the engine's
//! cancellation), so a 504 frees its cores and its slot within one sample's cost.

use super::{
    body_object, cancellation, compiled_for_run, entry_errors, json_response, project, request_ctx,
    to_json, type_error,
};
use crate::body::read_json;
use crate::error::ApiError;
use crate::guard::{deadline_exceeded, until};
use crate::{work, AppState};
use axum::extract::{Request, State};
use axum::response::Response;
use gradekit_engine::model::SampleParts;
use gradekit_engine::{read_entry, CompiledGrader, EntryRules, EvalContext, GradeResult};
use gradekit_model::{ConfigError, ConfigErrors};
use serde_json::Value;

/// `POST /v1/graders/run_batch`.
pub(crate) async fn run_batch(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let (deadline, permit) = request_ctx(&req);
    let project = project(&req);
    let timeout = state.0.config.timeout;
    let body = read_json(req, state.0.config.max_body).await?;
    let mut m = body_object(body)?;
    let mut errs = ConfigErrors::default();
    for k in m.keys() {
        if k != "grader" && k != "samples" {
            errs.push(ConfigError::new(k.clone(), "unknown field"));
        }
    }
    let grader = m.remove("grader");
    let samples = match m.remove("samples") {
        Some(Value::Array(a)) => Some(a),
        Some(other) => {
            errs.push(type_error("samples", "an array", &other));
            None
        }
        None => {
            errs.push(ConfigError::new("samples", "missing required field"));
            None
        }
    };
    if grader.is_none() {
        errs.0
            .insert(0, ConfigError::new("grader", "missing required field"));
    }
    let (Some(grader), Some(samples)) = (grader, samples) else {
        return Err(ApiError::config("invalid_request", &errs));
    };
    let max = state.0.config.max_batch;
    if samples.len() > max {
        errs.push(ConfigError::new(
            "samples",
            format!(
                "a batch holds at most {max} samples (got {}); split it into smaller batches \
                 (the server's --max-batch-samples limit)",
                samples.len()
            ),
        ));
    }
    if !errs.is_empty() {
        return Err(ApiError::config("invalid_request", &errs));
    }
    let (cancel, _armed) = cancellation(deadline);
    until(deadline, timeout, async move {
        let compiled = compiled_for_run(&state, &project, grader).await?;
        check_answer_size(&compiled.grader, samples.len())?;
        let bytes = work::blocking(move || {
            let _slot = permit;
            let ctxs = contexts(samples, compiled.grader.sample_parts())
                .map_err(|e| ApiError::config("invalid_request", &e))?;
            if cancel.is_cancelled() {
                return Err(deadline_exceeded(timeout));
            }
            let results = compiled.grader.grade_batch_cancellable(&ctxs, &cancel);
            if cancel.is_cancelled() {
                return Err(deadline_exceeded(timeout)); // nobody waits for the answer
            }
            let (name, kind) = (compiled.grader.name(), compiled.grader.kind());
            let mut out = Vec::with_capacity(64 + results.len() * 700);
            out.extend_from_slice(b"{\"results\":[");
            for (i, r) in results.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(&to_json(&r.to_response(name, kind))?);
            }
            out.extend_from_slice(b"]}");
            Ok::<_, ApiError>(out)
        })
        .await??;
        Ok(json_response(bytes))
    })
    .await
}

/// Least size of one `run_batch` answer (the samples times one clean result of the grader):
/// 64 MiB. Past it the batch is refused before grading.
pub const MAX_BATCH_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// Refuses a batch whose answer would be larger than [`MAX_BATCH_ANSWER_BYTES`] even if every
/// sample graded cleanly (its name and sub-reward keys repeated in every result).
fn check_answer_size(grader: &CompiledGrader, samples: usize) -> Result<(), ApiError> {
    let clean = GradeResult {
        reward: 0.0,
        sub_rewards: grader
            .sub_graders()
            .into_iter()
            .map(|s| (s.key, 0.0))
            .collect(),
        errors: Default::default(),
        execution_time: 0.0,
        token_usage: None,
        sampled_model_name: None,
        usage_per_model: Default::default(),
    };
    let one = to_json(&clean.to_response(grader.name(), grader.kind()))?.len() + 1;
    let least = one.saturating_mul(samples);
    if least <= MAX_BATCH_ANSWER_BYTES {
        return Ok(());
    }
    let mut errs = ConfigErrors::default();
    errs.push(ConfigError::new(
        "samples",
        format!(
            "the answer to this batch would hold at least {least} bytes ({samples} results of \
             {one} bytes: this grader's name and sub-reward keys are repeated in every result); \
             the limit is {MAX_BATCH_ANSWER_BYTES} bytes: send at most {} samples per batch",
            (MAX_BATCH_ANSWER_BYTES / one).max(1)
        ),
    ));
    Err(ApiError::config("invalid_request", &errs))
}

/// Every sample entry as a grading context (the engine's one entry reader, with only the
/// sample parts the grader observes), or every fault with its path.
fn contexts(samples: Vec<Value>, parts: SampleParts) -> Result<Vec<EvalContext>, ConfigErrors> {
    let mut errs = Vec::new();
    let mut out = Vec::with_capacity(samples.len());
    for (i, s) in samples.into_iter().enumerate() {
        match read_entry(s, &EntryRules::BATCH_ENTRY, &format!("samples[{i}]"), parts) {
            Ok(c) => out.push(c),
            Err(e) => errs.extend(e),
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(entry_errors(errs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_read_like_run_requests() {
        let ok = contexts(
            vec![
                json!({"model_sample": "a", "item": {"x": 1}}),
                json!({"sample": {"output_text": "b"}}),
                json!({"sample": "c", "reference_answer": "r"}),
                json!({"model_sample": "d", "item": null}),
            ],
            SampleParts::ALL,
        );
        let ok = ok.ok().unwrap_or_default();
        assert_eq!(ok.len(), 4);
        assert_eq!(ok[0].sample["output_text"], "a");
        assert_eq!(ok[0].item, json!({"x": 1}));
        assert_eq!(ok[1].item, json!({}));
        assert_eq!(ok[2].item, json!({"reference_answer": "r"}));
        assert_eq!(ok[3].item, json!({}), "null is absent, as on /run");
    }

    #[test]
    fn bad_entries_name_their_path() {
        let errs = contexts(
            vec![
                json!({"model_sample": "ok"}),
                json!({"model_sample": 3}),
                json!({"sample": {"output_txt": "x"}}),
                json!({"item": {}}),
                json!({"model_sample": "a", "extra": 1}),
                json!("nope"),
            ],
            SampleParts::ALL,
        )
        .err()
        .unwrap_or_default();
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "samples[1].model_sample",
                "samples[2].sample.output_txt",
                "samples[3].model_sample",
                "samples[4].extra",
                "samples[5]"
            ]
        );
    }
}
