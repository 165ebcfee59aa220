//! The judge of model-grader cases: one loopback stub server per test binary, answering each
//! case's canned replies (its `judge` rules, fixtures/README.md) under `/case/<key>/v1`. Every
//! entry point of a case points its judge there, so cases never see each other's replies and
//! no case reaches a real judge. The Python suite serves the same rules the same way
//! (crates/gradekit-py/tests/judge_stub.py).

use crate::case::Case;
use gradekit_judge::stub::{self, StubReply, StubRequest, StubServer};
use serde_json::{json, Value};
use std::collections::HashMap;

pub struct Judge {
    server: StubServer,
}

impl Judge {
    /// Starts the stub with the rules of every case.
    pub fn start(cases: &[Case]) -> Judge {
        let rules: HashMap<String, Vec<Value>> = cases
            .iter()
            .map(|c| (c.key.clone(), c.judge.clone()))
            .collect();
        let server = StubServer::start(move |req, _| {
            let rest = req.path.strip_prefix("/case/").unwrap_or("");
            let (key, endpoint) = rest.split_once("/v1/").unwrap_or(("", ""));
            match rules.get(key) {
                Some(r) => reply(r, endpoint, req),
                None => error(400, &format!("stub judge: no case at {}", req.path)),
            }
        });
        Judge { server }
    }

    /// The judge base URL of a case.
    pub fn base_url(&self, case: &Case) -> String {
        let root = self.server.base_url();
        let root = root.trim_end_matches("/v1");
        format!("{root}/case/{}/v1", case.key)
    }
}

fn error(status: u16, message: &str) -> StubReply {
    StubReply::raw(
        status,
        json!({"error": {"message": message, "type": "invalid_request_error"}}).to_string(),
    )
}

/// The text a rule's `when` is matched against: the messages' text (string contents and the
/// `text` of content parts) or the embedding inputs, joined by newlines.
pub fn request_text(endpoint: &str, body: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    if endpoint == "embeddings" {
        match &body["input"] {
            Value::String(s) => parts.push(s.clone()),
            Value::Array(a) => parts.extend(a.iter().filter_map(Value::as_str).map(String::from)),
            _ => {}
        }
    } else {
        for m in body["messages"].as_array().into_iter().flatten() {
            match &m["content"] {
                Value::String(s) => parts.push(s.clone()),
                Value::Array(a) => parts.extend(
                    a.iter()
                        .filter_map(|p| p["text"].as_str())
                        .map(String::from),
                ),
                _ => {}
            }
        }
    }
    parts.join("\n")
}

/// The first rule for this endpoint whose `when` the request's text contains.
fn reply(rules: &[Value], endpoint: &str, req: &StubRequest) -> StubReply {
    let body = req.json();
    let text = request_text(endpoint, &body);
    let embeddings = endpoint == "embeddings";
    let rule = rules.iter().find(|r| {
        r.get("embedding").is_some() == embeddings
            && r["when"].as_str().is_none_or(|w| text.contains(w))
    });
    let Some(rule) = rule else {
        return error(
            400,
            &format!("stub judge: no canned reply matches this {endpoint} request: {text}"),
        );
    };
    if let Some(status) = rule["status"].as_u64() {
        let status = u16::try_from(status).unwrap_or(500);
        return match rule.get("body") {
            Some(b) => StubReply::raw(status, b.to_string()),
            None => error(status, "canned error"),
        };
    }
    let model = rule["model"].as_str().unwrap_or("stub-judge");
    if embeddings {
        let inputs: Vec<String> = match &body["input"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        let mut vectors = Vec::with_capacity(inputs.len());
        for input in &inputs {
            let Some(v) = rule["embedding"][input.as_str()].as_array() else {
                return error(
                    400,
                    &format!("stub judge: no canned embedding for {input:?}"),
                );
            };
            vectors.push(v.iter().filter_map(Value::as_f64).collect::<Vec<f64>>());
        }
        return StubReply::json(&stub::embeddings(model, &vectors));
    }
    let content = match (rule.get("result"), &rule["content"]) {
        (Some(r), _) => Some(stub::structured(r.clone())),
        (None, Value::String(s)) => Some(s.clone()),
        (None, _) => None,
    };
    let usage = |i: usize, d: u64| rule["usage"][i].as_u64().unwrap_or(d);
    StubReply::json(&stub::completion_full(
        content.as_deref(),
        rule["refusal"].as_str(),
        rule["finish_reason"].as_str().unwrap_or("stop"),
        model,
        (usage(0, 10), usage(1, 5), usage(2, 0)),
    ))
}
