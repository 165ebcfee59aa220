//! Extension: OpenRLHF's remote reward protocol, `POST /get_reward`.
//!
//! OpenRLHF's trainer (`--remote_rm_url http://host:port/get_reward`) posts
//! `{"query": [str], "prompts": [str], "labels": [any]}` and reads `{"rewards": [float],
//! "scores": [float], "extra_logs": {name: [float]}}` (peers.md §1.3). The grader is fixed at
//! start-up (`--openrlhf-grader grader.json`). How the three lists map onto `sample` and `item`:
//!
//! - `query[i]` is the whole decoded sequence, prompt then completion. The graded text
//!   (`sample.output_text`) is `query[i]` without its prompt: when `query[i]` starts with
//!   `prompts[i]`, that prefix is cut; otherwise the whole query is graded.
//! - `item = {"label": labels[i], "prompt": prompts[i]}` (a key is left out when its list is
//!   absent, so a grader that needs it reports `invalid_variable_error`), so a grader compares
//!   against `{{ item.label }}`.
//!
//! `scores` repeats `rewards` (OpenRLHF uses it for dynamic filtering). `extra_logs` holds, per
//! sample, `grader_error` (1.0 when any error flag is set) and, for a multi grader, each
//! sub-grader's reward under its key — OpenRLHF averages them into its training logs. Unknown
//! top-level keys are ignored: newer trainers may send more.
//!
//! **Bounded.** At most [`crate::MAX_REWARD_QUERIES`] queries per request (400 beyond); the
//! grading contexts are built [`CHUNK`] at a time, so memory follows the body, not a
//! per-sample amplification of it; a request past its deadline stops between samples.

use super::{body_object, cancellation, json_response, request_ctx, to_json, type_error};
use crate::body::read_json;
use crate::error::ApiError;
use crate::guard::{deadline_exceeded, until};
use crate::{work, AppState};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use gradekit_engine::model::SampleParts;
use gradekit_engine::{ErrorFlags, EvalContext};
use gradekit_model::{ConfigError, ConfigErrorKind, ConfigErrors};
use indexmap::IndexMap;
use serde_json::{json, Map, Value};

/// `POST /get_reward`.
pub(crate) async fn get_reward(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let Some(compiled) = state.0.openrlhf.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            Some("grader_not_found"),
            "no OpenRLHF grader is configured on this server (start it with --openrlhf-grader FILE)",
        ));
    };
    let (deadline, permit) = request_ctx(&req);
    let timeout = state.0.config.timeout;
    let body = read_json(req, state.0.config.max_body).await?;
    let lists =
        Lists::read(body_object(body)?).map_err(|e| ApiError::config("invalid_request", &e))?;
    let (cancel, _armed) = cancellation(deadline);
    until(deadline, timeout, async move {
        let bytes = work::blocking(move || {
            let _slot = permit;
            let n = lists.query.len();
            let keys = compiled.grader.sub_grader_keys();
            let parts = compiled.grader.sample_parts();
            let mut rewards: Vec<f64> = Vec::with_capacity(n);
            let mut errors: Vec<f64> = Vec::with_capacity(n);
            let mut subs: Vec<Vec<f64>> = keys.iter().map(|_| Vec::with_capacity(n)).collect();
            let clean = ErrorFlags::default();
            for start in (0..n).step_by(CHUNK) {
                if cancel.is_cancelled() {
                    return Err(deadline_exceeded(timeout));
                }
                let ctxs = lists.contexts(start..n.min(start + CHUNK), parts);
                for r in compiled.grader.grade_batch_cancellable(&ctxs, &cancel) {
                    rewards.push(r.reward);
                    errors.push(if r.errors == clean { 0.0 } else { 1.0 });
                    for (key, v) in keys.iter().zip(&mut subs) {
                        v.push(r.sub_rewards.get(key).copied().unwrap_or(0.0));
                    }
                }
            }
            let mut logs: IndexMap<String, Vec<f64>> = IndexMap::new();
            logs.insert("grader_error".into(), errors);
            for (key, v) in keys.into_iter().zip(subs) {
                logs.insert(key, v);
            }
            to_json(&json!({"rewards": rewards, "scores": rewards, "extra_logs": logs}))
        })
        .await??;
        Ok(json_response(bytes))
    })
    .await
}

/// Queries turned into grading contexts at a time.
const CHUNK: usize = 1024;

struct Lists {
    query: Vec<String>,
    prompts: Option<Vec<String>>,
    labels: Option<Vec<Value>>,
}

impl Lists {
    fn read(mut m: Map<String, Value>) -> Result<Lists, ConfigErrors> {
        let mut errs = ConfigErrors::default();
        let strings = |key: &str, v: Value, errs: &mut ConfigErrors| -> Option<Vec<String>> {
            let Value::Array(a) = v else {
                errs.push(type_error(key, "an array of strings", &v));
                return None;
            };
            let mut out = Vec::with_capacity(a.len());
            for (i, x) in a.into_iter().enumerate() {
                match x {
                    Value::String(s) => out.push(s),
                    other => errs.push(type_error(&format!("{key}[{i}]"), "a string", &other)),
                }
            }
            Some(out)
        };
        let query = match m.remove("query") {
            Some(v) => strings("query", v, &mut errs),
            None => {
                errs.push(ConfigError::with(
                    ConfigErrorKind::MissingField,
                    "query",
                    "missing required field",
                ));
                None
            }
        };
        let prompts = match m.remove("prompts") {
            None | Some(Value::Null) => None,
            Some(v) => strings("prompts", v, &mut errs),
        };
        let labels = match m.remove("labels") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(a),
            Some(other) => {
                errs.push(type_error("labels", "an array", &other));
                None
            }
        };
        let n = query.as_ref().map_or(0, Vec::len);
        if n > crate::MAX_REWARD_QUERIES {
            errs.push(ConfigError::new(
                "query",
                format!(
                    "a request holds at most {} queries (got {n}); send smaller batches",
                    crate::MAX_REWARD_QUERIES
                ),
            ));
        }
        if prompts.as_ref().is_some_and(|p| p.len() != n) {
            errs.push(ConfigError::new(
                "prompts",
                format!("must have as many entries as query ({n})"),
            ));
        }
        if labels.as_ref().is_some_and(|l| l.len() != n) {
            errs.push(ConfigError::new(
                "labels",
                format!("must have as many entries as query ({n})"),
            ));
        }
        match query {
            Some(query) if errs.is_empty() => Ok(Lists {
                query,
                prompts,
                labels,
            }),
            _ => Err(errs),
        }
    }

    /// Entries `range` of the lists: the completion as the model output, `{label, prompt}` as
    /// the item (read like any text entry by the engine).
    fn contexts(&self, range: std::ops::Range<usize>, parts: SampleParts) -> Vec<EvalContext> {
        range
            .map(|i| {
                let q = &self.query[i];
                let prompt = self.prompts.as_ref().map(|p| p[i].as_str());
                let completion = match prompt {
                    Some(p) if !p.is_empty() => q.strip_prefix(p).unwrap_or(q),
                    _ => q,
                };
                let mut item = Map::new();
                if let Some(l) = &self.labels {
                    item.insert("label".into(), l[i].clone());
                }
                if let Some(p) = prompt {
                    item.insert("prompt".into(), Value::String(p.to_string()));
                }
                EvalContext::from_string(completion.to_string(), Some(Value::Object(item)), parts)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_is_the_query_without_its_prompt() {
        let m = json!({"query": ["Q: 2+2? A: 4", "other 5"], "prompts": ["Q: 2+2? A: ", "Q: x"],
                       "labels": ["4", 5]});
        let Value::Object(m) = m else { return };
        let Ok(l) = Lists::read(m) else {
            panic!("valid lists rejected")
        };
        let c = l.contexts(0..2, SampleParts::ALL);
        assert_eq!(c[0].sample["output_text"], "4");
        assert_eq!(c[0].item, json!({"label": "4", "prompt": "Q: 2+2? A: "}));
        assert_eq!(c[1].sample["output_text"], "other 5");
        assert_eq!(c[1].item["label"], 5);
    }

    #[test]
    fn mismatched_lengths_and_types_are_named() {
        let Value::Object(m) = json!({"query": ["a", 1], "labels": []}) else {
            return;
        };
        let errs = Lists::read(m).err().unwrap_or_default();
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["query[1]", "labels"]);
    }
}
