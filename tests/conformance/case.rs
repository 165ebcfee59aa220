//! A suite case as the runners read it, and the checks against its `expected` (fixtures/README.md).

use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// The keys of a case that form the sample entry, sent as given (nulls included) to the entry
/// points that read them.
pub const ENTRY_KEYS: [&str; 4] = ["model_sample", "sample", "item", "reference_answer"];

#[derive(Debug, Clone)]
pub struct Case {
    /// `<file>#<index> <description>`: the test's name.
    pub name: String,
    /// `<file>-<index>`: a URL- and name-safe key (the judge stub's path, the endpoint name).
    pub key: String,
    pub grader: Value,
    /// The entry fields the case gives, in its order, nulls kept.
    pub fields: Map<String, Value>,
    pub expected: Value,
    /// Canned judge replies (`judge` in the case), served under `/case/<key>/v1`.
    pub judge: Vec<Value>,
    /// Engine options of the case (`engine` in the case: python options only, e.g.
    /// `{"python_timeout": 0.5}`), given to every entry point as its flags, options or keywords.
    pub engine: Vec<(String, String)>,
}

/// What kind of answer a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A run response.
    Graded,
    /// The grader is rejected (`validate_error`).
    Invalid,
    /// The entry is rejected (`entry_error`).
    BadEntry,
}

impl Case {
    pub fn expect(&self) -> Expect {
        if self.expected.get("validate_error").is_some() {
            Expect::Invalid
        } else if self.expected.get("entry_error").is_some() {
            Expect::BadEntry
        } else {
            Expect::Graded
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    /// The sample for a wire with a single sample slot (`/run`'s `model_sample`, the endpoint's
    /// `sample`, Python's positional argument); `Err` (the reason to skip) when the case gives
    /// both keys, since that slot cannot say which one was meant.
    pub fn single_sample(&self) -> Result<Option<&Value>, &'static str> {
        match (self.fields.get("model_sample"), self.fields.get("sample")) {
            (Some(_), Some(_)) => {
                Err("the case gives both model_sample and sample; this wire has one sample slot")
            }
            (Some(v), None) | (None, Some(v)) => Ok(Some(v)),
            (None, None) => Ok(None),
        }
    }

    /// The `/fine_tuning/alpha/graders/run` body (also `gradekit run`, Python `gradekit.run`):
    /// the sample under `model_sample` (the wire takes sample objects there too).
    pub fn run_request(&self) -> Result<Value, &'static str> {
        let sample = self.single_sample()?;
        let mut req = json!({"grader": self.grader});
        if let Some(s) = sample {
            req["model_sample"] = s.clone();
        }
        for k in ["item", "reference_answer"] {
            if let Some(v) = self.fields.get(k) {
                req[k] = v.clone();
            }
        }
        Ok(req)
    }

    /// The entry as `run_batch` and `score` read it: every field verbatim.
    pub fn entry(&self) -> Value {
        Value::Object(self.fields.clone())
    }

    /// The endpoint-grader body `{sample, item, reference_answer?}` (Azure's wire, with the
    /// legacy key every wire reads).
    pub fn endpoint_body(&self) -> Result<Value, &'static str> {
        let mut body = json!({});
        if let Some(s) = self.single_sample()? {
            body["sample"] = s.clone();
        }
        for k in ["item", "reference_answer"] {
            if let Some(v) = self.fields.get(k) {
                body[k] = v.clone();
            }
        }
        Ok(body)
    }

    /// The `/get_reward` body `{query, prompts?, labels?}` when the case fits OpenRLHF's wire:
    /// a text sample and an item that is absent or `{"label"?, "prompt"?: string}` in that
    /// order (the route builds `item = {"label": labels[i], "prompt": prompts[i]}`).
    pub fn get_reward_body(&self) -> Result<Value, &'static str> {
        if self.has("reference_answer") {
            return Err("the OpenRLHF wire has no reference_answer");
        }
        let text = match self.single_sample()? {
            Some(Value::String(s)) => s.clone(),
            _ => return Err("the OpenRLHF wire grades text samples only"),
        };
        let mut body = json!({});
        let item = match self.fields.get("item") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err("the OpenRLHF wire's item is an object {label, prompt}"),
        };
        let keys: Vec<&str> = item.keys().map(String::as_str).collect();
        if !matches!(
            keys.as_slice(),
            [] | ["label"] | ["prompt"] | ["label", "prompt"]
        ) {
            return Err("the OpenRLHF wire's item has only label and prompt, in that order");
        }
        let mut query = text;
        if let Some(p) = item.get("prompt") {
            let Some(p) = p.as_str() else {
                return Err("the OpenRLHF wire's prompts are strings");
            };
            query = format!("{p}{query}");
            body["prompts"] = json!([p]);
        }
        if let Some(l) = item.get("label") {
            body["labels"] = json!([l]);
        }
        body["query"] = json!([query]);
        Ok(body)
    }

    /// The grader's `pass_threshold`, when it has one.
    pub fn pass_threshold(&self) -> Option<f64> {
        self.grader.get("pass_threshold").and_then(Value::as_f64)
    }
}

/// A case's `engine` options as (name, value text); only python options (the judge is the
/// suite's stub).
fn engine_options(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            assert!(
                k.starts_with("python_"),
                "engine option {k}: python options only"
            );
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// Every case of `fixtures/suite/*.json`, files in name order.
pub fn load() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/suite");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/suite")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable case file");
        let arr: Vec<Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let stem = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (i, c) in arr.into_iter().enumerate() {
            let d = c["description"].as_str().unwrap_or("");
            let mut fields = Map::new();
            if let Value::Object(m) = &c {
                for (k, v) in m {
                    if ENTRY_KEYS.contains(&k.as_str()) {
                        fields.insert(k.clone(), v.clone());
                    }
                }
            }
            cases.push(Case {
                name: format!("{stem}#{i} {d}"),
                key: format!("{stem}-{i}"),
                grader: c["grader"].clone(),
                fields,
                expected: c["expected"].clone(),
                judge: c["judge"].as_array().cloned().unwrap_or_default(),
                engine: engine_options(&c["engine"]),
            });
        }
    }
    cases
}

/// What a graded answer is compared on, across entry points: everything but the execution time
/// (and the per-model usage, which `score` rows do not carry).
pub fn projection(resp: &Value) -> Value {
    let mut meta = resp["metadata"].clone();
    if let Some(m) = meta.as_object_mut() {
        m.remove("execution_time");
    }
    json!({"reward": resp["reward"], "sub_rewards": resp["sub_rewards"], "metadata": meta})
}

/// Mismatches of a graded answer against the case's `expected`.
pub fn check_expected(resp: &Value, expected: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let want = expected["reward"].as_f64().unwrap_or(f64::NAN);
    let got = resp["reward"].as_f64().unwrap_or(f64::NAN);
    let d = (want - got).abs();
    if d.is_nan() || d > 1e-9 {
        bad.push(format!("reward: want {want}, got {}", resp["reward"]));
    }
    if let Some(subs) = expected.get("sub_rewards") {
        let got = &resp["sub_rewards"];
        let (w, g) = (
            subs.as_object().cloned().unwrap_or_default(),
            got.as_object().cloned().unwrap_or_default(),
        );
        if w.len() != g.len()
            || w.iter().any(|(k, v)| {
                let d = v.as_f64().unwrap_or(f64::NAN)
                    - g.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
                d.abs().is_nan() || d.abs() > 1e-9
            })
        {
            bad.push(format!("sub_rewards: want {subs}, got {got}"));
        }
    }
    let errors = resp["metadata"]["errors"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if errors.len() != 24 {
        bad.push(format!("errors has {} keys, not 24", errors.len()));
    }
    let want_errs = expected.get("errors").cloned().unwrap_or(json!({}));
    for (k, v) in &errors {
        match (want_errs.get(k), v) {
            (Some(Value::Bool(w)), Value::Bool(g)) if w == g => {}
            (Some(Value::String(w)), Value::String(g)) if g.contains(w.as_str()) => {}
            (None, Value::Bool(false) | Value::Null) => {}
            (w, g) => bad.push(format!("errors.{k}: want {w:?}, got {g}")),
        }
    }
    for k in want_errs.as_object().into_iter().flatten().map(|(k, _)| k) {
        if !errors.contains_key(k) {
            bad.push(format!(
                "errors.{k}: expected, but not a flag of the response"
            ));
        }
    }
    for k in ["token_usage", "sampled_model_name"] {
        if let Some(w) = expected.get(k) {
            if resp["metadata"][k] != *w {
                bad.push(format!(
                    "metadata.{k}: want {w}, got {}",
                    resp["metadata"][k]
                ));
            }
        }
    }
    bad
}

/// Mismatches of a graded answer against the wire rules every answer keeps, whatever the case
/// pins (DESIGN §3, §4): `metadata.type` is the grader's; `sub_rewards` is `{}` except for multi,
/// whose `sub_rewards` has one entry per sub-grader key, in the map's order (unless the formula
/// does not parse: then nothing is graded); `token_usage` is
/// `null` or `{prompt_tokens, completion_tokens, total_tokens, cached_tokens}` (total = prompt +
/// completion), `null` together with `sampled_model_name` and an empty per-model map (on the
/// answers that carry it); `execution_time` is a number of seconds.
pub fn check_shape(resp: &Value, grader: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let meta = &resp["metadata"];
    if meta["type"] != grader["type"] {
        bad.push(format!(
            "metadata.type {} is not the grader's {}",
            meta["type"], grader["type"]
        ));
    }
    let subs: Vec<&String> = resp["sub_rewards"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    // A grader whose formula does not parse grades nothing: its sub_rewards are `{}`.
    let formula_fault = meta["errors"]["formula_parse_error"] == json!(true);
    let keys: Vec<&String> = match grader["type"].as_str() {
        Some("multi") if !formula_fault => grader["graders"]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    if !resp["sub_rewards"].is_object() || subs != keys {
        bad.push(format!(
            "sub_rewards {} must have the keys {keys:?}",
            resp["sub_rewards"]
        ));
    }
    match &meta["token_usage"] {
        Value::Null => {
            if !meta["sampled_model_name"].is_null() {
                bad.push("sampled_model_name without token_usage".into());
            }
            if let Some(per) = resp.get("model_grader_token_usage_per_model") {
                if per != &json!({}) {
                    bad.push(format!(
                        "model_grader_token_usage_per_model {per} without token_usage"
                    ));
                }
            }
        }
        Value::Object(u) => {
            let names: Vec<&str> = u.keys().map(String::as_str).collect();
            let n = |k: &str| u.get(k).and_then(Value::as_u64);
            if names
                != [
                    "prompt_tokens",
                    "completion_tokens",
                    "total_tokens",
                    "cached_tokens",
                ]
                || n("total_tokens")
                    != n("prompt_tokens")
                        .zip(n("completion_tokens"))
                        .map(|(p, c)| p + c)
            {
                bad.push(format!(
                    "token_usage {} is not a usage object",
                    meta["token_usage"]
                ));
            }
        }
        other => bad.push(format!("token_usage {other} is neither null nor an object")),
    }
    if !meta["execution_time"].as_f64().is_some_and(|t| t >= 0.0) {
        bad.push(format!(
            "execution_time {} is not a number of seconds",
            meta["execution_time"]
        ));
    }
    bad
}

/// True when one of `errs` (`[{"path", "code", "message"}]`) is the `{code, path, message?}`
/// a case expects (`message`: a substring, given where the wording is the contract).
pub fn has_validate_error(errs: &Value, want: &Value) -> bool {
    errs.as_array().into_iter().flatten().any(|e| {
        e["code"] == want["code"]
            && e["path"] == want["path"]
            && want["message"]
                .as_str()
                .is_none_or(|m| e["message"].as_str().unwrap_or("").contains(m))
    })
}

/// True when any error flag of a response is set.
pub fn any_flag(resp: &Value) -> bool {
    resp["metadata"]["errors"]
        .as_object()
        .into_iter()
        .flatten()
        .any(|(_, v)| *v == json!(true))
}

/// The serialisation answers are compared by: byte for byte, key order included (`Value`'s
/// `==` ignores the order of object keys).
pub fn text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
