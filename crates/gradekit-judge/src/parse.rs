//! Reading what a server said, in two steps.
//!
//! 1. [`chat_reply_from_body`] turns a 2xx body into a [`ChatReply`]: `choices[0].message.content`
//!    and `.refusal`, `finish_reason`, `model`, `usage` (with `prompt_tokens_details.cached_tokens`,
//!    0 when absent as on local servers). A body that is not a chat completion (HTML, an empty
//!    body, wrong types) is a server error: the server did not answer the protocol.
//! 2. [`ChatReply::score`] / [`ChatReply::label`] interpret the reply: refusal first, then a length
//!    cut-off, then the `result` field found by a lenient JSON extraction (whole string, a fenced
//!    block, the outermost `{…}`), because non-strict local servers wrap their JSON in prose.
//!
//! Nothing here panics on any input; every failure is a [`JudgeError`] with details.

use serde_json::Value;

use crate::types::{ChatReply, EmbedReply, JudgeError, JudgeErrorKind, Usage};

/// Longest excerpt of a server body or model output copied into error details.
const DETAILS_MAX: usize = 500;

/// `s` cut to at most [`DETAILS_MAX`] bytes on a char boundary, with `…` when cut.
pub fn excerpt(s: &str) -> String {
    cut(s, DETAILS_MAX)
}

/// `s` cut to at most `max` bytes on a char boundary, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn u64_field(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// Usage from an OpenAI `usage` object; missing fields count 0, and a missing total is the sum.
pub fn usage_from(v: Option<&Value>) -> Usage {
    let Some(u) = v.filter(|u| u.is_object()) else {
        return Usage::default();
    };
    let prompt_tokens = u64_field(u, "prompt_tokens");
    let completion_tokens = u64_field(u, "completion_tokens");
    let total_tokens = u
        .get("total_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(prompt_tokens.saturating_add(completion_tokens));
    let cached_tokens = u
        .get("prompt_tokens_details")
        .map(|d| u64_field(d, "cached_tokens"))
        .unwrap_or(0);
    Usage {
        prompt_tokens,
        completion_tokens,
        total_tokens,
        cached_tokens,
    }
}

/// Longest model name taken from a reply, in bytes. The name is echoed in every result it
/// graded (`sampled_model_name`, a key of `model_grader_token_usage_per_model`), so a server
/// answering a 30 MB `model` would make every result of a batch or a `score` run 60 MB.
pub const MODEL_NAME_MAX: usize = 256;

/// The reply's `model` (the requested one when absent or empty), cut to [`MODEL_NAME_MAX`]
/// bytes on a char boundary with `…` when longer.
fn reply_model(v: &Value, requested_model: &str) -> String {
    let m = v
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or(requested_model);
    cut(m, MODEL_NAME_MAX)
}

/// Parses a 2xx `/chat/completions` body. `requested_model` names the model when the server
/// does not.
pub fn chat_reply_from_body(body: &[u8], requested_model: &str) -> Result<ChatReply, JudgeError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        JudgeError::server(format!(
            "judge reply is not JSON ({e}): {}",
            excerpt(&String::from_utf8_lossy(body))
        ))
    })?;
    let not_completion = || {
        JudgeError::server(format!(
            "judge reply is not a chat completion: {}",
            excerpt(&v.to_string())
        ))
    };
    let choice = v
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(not_completion)?;
    let message = choice
        .get("message")
        .filter(|m| m.is_object())
        .ok_or_else(not_completion)?;
    let content = match message.get("content") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        // Some servers answer with a list of text parts.
        Some(Value::Array(parts)) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<String>(),
        ),
        Some(_) => return Err(not_completion()),
    };
    let refusal = match message.get("refusal") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let finish_reason = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(str::to_string);
    let model = reply_model(&v, requested_model);
    Ok(ChatReply {
        content,
        refusal,
        finish_reason,
        model,
        usage: usage_from(v.get("usage")),
        from_cache: false,
    })
}

/// Finds the JSON object a model meant: the whole string, else the first ```` ``` ```` fenced
/// block, else the span from the first `{` to the last `}`.
pub fn extract_json(content: &str) -> Option<Value> {
    let trimmed = content.trim();
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        return Some(v);
    }
    if let Some(start) = trimmed.find("```") {
        let after = &trimmed[start + 3..];
        // Skip an info string such as `json`.
        let body_start = after.find('\n').map(|i| i + 1).unwrap_or(0);
        let after = &after[body_start..];
        if let Some(end) = after.find("```") {
            if let Ok(v) = serde_json::from_str::<Value>(after[..end].trim()) {
                return Some(v);
            }
        }
    }
    let (open, close) = (trimmed.find('{')?, trimmed.rfind('}')?);
    if open < close {
        if let Ok(v) = serde_json::from_str::<Value>(&trimmed[open..=close]) {
            return Some(v);
        }
    }
    None
}

impl ChatReply {
    /// Refusal and length cut-off checks shared by both interpretations; then the content.
    fn checked_content(&self) -> Result<&str, JudgeError> {
        if let Some(r) = &self.refusal {
            return Err(JudgeError::new(JudgeErrorKind::Refusal, excerpt(r)));
        }
        if self.finish_reason.as_deref() == Some("length") {
            return Err(JudgeError::new(
                JudgeErrorKind::MaxTokens,
                format!(
                    "the judge stopped at its token limit (finish_reason \"length\"): {}",
                    excerpt(self.content.as_deref().unwrap_or(""))
                ),
            ));
        }
        match self.content.as_deref() {
            Some(c) if !c.trim().is_empty() => Ok(c),
            _ => Err(JudgeError::parse("the judge returned no content")),
        }
    }

    /// The raw numeric `result` (unclamped; the caller clamps to the grader's range).
    /// A bare number is accepted from servers that ignore the schema.
    pub fn score(&self) -> Result<f64, JudgeError> {
        let content = self.checked_content()?;
        let bad = |why: &str| JudgeError::parse(format!("{why}: {}", excerpt(content)));
        let value = extract_json(content).ok_or_else(|| bad("judge output is not JSON"))?;
        let result = match &value {
            Value::Object(map) => map
                .get("result")
                .ok_or_else(|| bad("judge output has no \"result\""))?,
            Value::Number(_) => &value,
            _ => return Err(bad("judge output is not a JSON object")),
        };
        match result.as_f64() {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(bad("judge \"result\" is not a finite number")),
        }
    }

    /// The `result` label, which must be one of `labels`. Non-strict servers get an exact match
    /// after trimming whitespace and surrounding quotes.
    pub fn label(&self, labels: &[String]) -> Result<String, JudgeError> {
        let content = self.checked_content()?;
        let bad = |why: &str| JudgeError::parse(format!("{why}: {}", excerpt(content)));
        let result = match extract_json(content) {
            Some(Value::Object(map)) => match map.get("result") {
                Some(Value::String(s)) => s.clone(),
                Some(_) => return Err(bad("judge \"result\" is not a string")),
                None => return Err(bad("judge output has no \"result\"")),
            },
            Some(Value::String(s)) => s,
            _ => content.to_string(),
        };
        let cleaned = result.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        labels
            .iter()
            .find(|l| l.as_str() == result || l.as_str() == cleaned)
            .cloned()
            .ok_or_else(|| {
                JudgeError::parse(format!(
                    "judge label {:?} is not one of {:?}",
                    excerpt(&result),
                    labels
                ))
            })
    }
}

/// Parses a 2xx `/embeddings` body; `expected` is the number of inputs sent.
pub fn embed_reply_from_body(
    body: &[u8],
    requested_model: &str,
    expected: usize,
) -> Result<EmbedReply, JudgeError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        JudgeError::server(format!(
            "embeddings reply is not JSON ({e}): {}",
            excerpt(&String::from_utf8_lossy(body))
        ))
    })?;
    let bad = |why: &str| {
        JudgeError::server(format!(
            "embeddings reply {why}: {}",
            excerpt(&v.to_string())
        ))
    };
    let data = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("has no data array"))?;
    if data.len() != expected {
        return Err(bad(&format!(
            "has {} embeddings for {expected} inputs",
            data.len()
        )));
    }
    let mut slots: Vec<Option<Vec<f64>>> = vec![None; expected];
    for (pos, item) in data.iter().enumerate() {
        let index = match item.get("index") {
            None => pos,
            Some(i) => i
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .filter(|i| *i < expected)
                .ok_or_else(|| bad("has an invalid index"))?,
        };
        let vector = item
            .get("embedding")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("has an embedding that is not a list of numbers"))?
            .iter()
            .map(Value::as_f64)
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| bad("has an embedding that is not a list of numbers"))?;
        if slots[index].replace(vector).is_some() {
            return Err(bad("repeats an index"));
        }
    }
    let embeddings = slots
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("misses an index"))?;
    let model = reply_model(&v, requested_model);
    Ok(EmbedReply {
        embeddings,
        model,
        usage: usage_from(v.get("usage")),
        from_cache: false,
    })
}

/// Cosine similarity `a·b / (‖a‖‖b‖)`, as numpy computes it for OpenAI's cosine grader. In
/// [-1, 1] up to rounding (clamped). `None` for vectors of different lengths, empty vectors, a
/// zero vector or non-finite components: there is no cosine to report.
pub fn cosine(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let (dot, na, nb) = sums(a, b, 1.0, 1.0);
    let c = dot / (na.sqrt() * nb.sqrt());
    if c.is_finite() && na.is_normal() && nb.is_normal() && dot.is_finite() {
        return Some(c.clamp(-1.0, 1.0));
    }
    // The sums overflowed or underflowed (`[1e308; 1000]`, `[1e-200; 1000]`): cosine does not
    // depend on the vectors' lengths, so divide each by its largest magnitude first (the sums
    // then lie in [1, n]) — every finite non-zero vector has its true cosine.
    let scale = |v: &[f64]| v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let (sa, sb) = (scale(a), scale(b));
    if !(sa.is_finite() && sb.is_finite() && sa > 0.0 && sb > 0.0) {
        return None; // a zero vector or a non-finite component
    }
    let (dot, na, nb) = sums(a, b, sa, sb);
    let c = dot / (na.sqrt() * nb.sqrt());
    c.is_finite().then(|| c.clamp(-1.0, 1.0))
}

/// `(a·b, a·a, b·b)` of `a / sa` and `b / sb`.
fn sums(a: &[f64], b: &[f64], sa: f64, sb: f64) -> (f64, f64, f64) {
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x / sa, y / sb);
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    (dot, na, nb)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn reply(content: &str) -> ChatReply {
        ChatReply {
            content: Some(content.into()),
            finish_reason: Some("stop".into()),
            model: "m".into(),
            ..Default::default()
        }
    }

    #[test]
    fn parses_completion_with_usage_and_model() {
        let body = json!({
            "id": "x", "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": "{\"steps\":[],\"result\":0.5}", "refusal": null}}],
            "usage": {"prompt_tokens": 190, "completion_tokens": 134, "total_tokens": 324,
                      "prompt_tokens_details": {"cached_tokens": 64}}
        });
        let r = chat_reply_from_body(body.to_string().as_bytes(), "gpt-4o").unwrap();
        assert_eq!(r.model, "gpt-4o-2024-08-06");
        assert_eq!(r.refusal, None);
        assert_eq!(
            r.usage,
            Usage {
                prompt_tokens: 190,
                completion_tokens: 134,
                total_tokens: 324,
                cached_tokens: 64
            }
        );
        assert_eq!(r.score().unwrap(), 0.5);
    }

    #[test]
    fn a_huge_model_name_is_cut() {
        let name = "é".repeat(1 << 20);
        let chat = json!({"model": name, "choices": [{"message": {"content": "1"}}]});
        let r = chat_reply_from_body(chat.to_string().as_bytes(), "asked").unwrap();
        assert!(
            r.model.len() <= MODEL_NAME_MAX + 3
                && r.model.starts_with('é')
                && r.model.ends_with('…')
        );
        let emb = json!({"model": name, "data": [{"index": 0, "embedding": [1.0]}]});
        let e = embed_reply_from_body(emb.to_string().as_bytes(), "asked", 1).unwrap();
        assert_eq!(e.model, r.model);
        let ok = json!({"model": "gpt-4o", "choices": [{"message": {"content": "1"}}]});
        let r = chat_reply_from_body(ok.to_string().as_bytes(), "asked").unwrap();
        assert_eq!(r.model, "gpt-4o");
    }

    #[test]
    fn missing_usage_details_and_model_default() {
        let body = json!({"choices": [{"message": {"content": "1"}}],
                          "usage": {"prompt_tokens": 3, "completion_tokens": 4}});
        let r = chat_reply_from_body(body.to_string().as_bytes(), "asked").unwrap();
        assert_eq!(r.model, "asked");
        assert_eq!(r.usage.total_tokens, 7);
        assert_eq!(r.usage.cached_tokens, 0);
    }

    #[test]
    fn non_completion_bodies_are_server_errors() {
        for body in [
            "",
            "<html>502 Bad Gateway</html>",
            "{\"choices\":[]}",
            "{\"choices\":[{\"message\":{\"content\":5}}]}",
            "{\"choices\":[{\"message\":\"hi\"}]}",
            "{\"choices\": [",
            "[1,2]",
            "null",
        ] {
            let e = chat_reply_from_body(body.as_bytes(), "m").unwrap_err();
            assert_eq!(e.kind, JudgeErrorKind::Server, "{body}");
        }
    }

    #[test]
    fn lenient_extraction() {
        assert_eq!(
            reply("```json\n{\"result\": 0.25}\n```").score().unwrap(),
            0.25
        );
        assert_eq!(
            reply("Sure! Here it is: {\"steps\": [{\"description\": \"a\", \"conclusion\": \"b\"}], \"result\": 3} hope it helps")
                .score()
                .unwrap(),
            3.0
        );
        assert_eq!(reply("  0.75 ").score().unwrap(), 0.75);
        assert_eq!(reply("{\"result\": -2}").score().unwrap(), -2.0);
    }

    #[test]
    fn non_numeric_results_are_parse_errors() {
        for c in [
            "definitely a 7/10",
            "{\"result\": \"high\"}",
            "{\"result\": null}",
            "{\"steps\": []}",
            "{\"result\": true}",
            "[0.5]",
            "{\"result\": 1e999}",
            "   ",
        ] {
            let e = reply(c).score().unwrap_err();
            assert_eq!(e.kind, JudgeErrorKind::Parse, "{c}");
        }
        let e = ChatReply {
            content: None,
            ..reply("")
        }
        .score()
        .unwrap_err();
        assert_eq!(e.kind, JudgeErrorKind::Parse);
    }

    #[test]
    fn refusal_and_length_come_first() {
        let r = ChatReply {
            refusal: Some("I can't help with that.".into()),
            content: None,
            ..reply("")
        };
        let e = r.score().unwrap_err();
        assert_eq!(e.kind, JudgeErrorKind::Refusal);
        assert_eq!(e.details, "I can't help with that.");
        let r = ChatReply {
            finish_reason: Some("length".into()),
            ..reply("{\"steps\": [{\"descr")
        };
        assert_eq!(r.score().unwrap_err().kind, JudgeErrorKind::MaxTokens);
        assert_eq!(r.label(&[]).unwrap_err().kind, JudgeErrorKind::MaxTokens);
    }

    #[test]
    fn labels() {
        let labels = vec!["too short".to_string(), "just right".to_string()];
        assert_eq!(
            reply("{\"steps\":[],\"result\":\"just right\"}")
                .label(&labels)
                .unwrap(),
            "just right"
        );
        assert_eq!(
            reply(" \"too short\"\n").label(&labels).unwrap(),
            "too short"
        );
        assert_eq!(reply("too short").label(&labels).unwrap(), "too short");
        for c in [
            "{\"result\":\"Just Right\"}",
            "{\"result\":1}",
            "{\"steps\":[]}",
            "maybe",
        ] {
            assert_eq!(
                reply(c).label(&labels).unwrap_err().kind,
                JudgeErrorKind::Parse,
                "{c}"
            );
        }
    }

    #[test]
    fn embeddings_reorder_by_index() {
        let body = json!({"model": "e5", "data": [
            {"index": 1, "embedding": [0.0, 1.0]},
            {"index": 0, "embedding": [1.0, 0.0]}
        ], "usage": {"prompt_tokens": 5, "total_tokens": 5}});
        let r = embed_reply_from_body(body.to_string().as_bytes(), "x", 2).unwrap();
        assert_eq!(r.embeddings, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert_eq!(r.usage.total_tokens, 5);
        for bad in [
            json!({"data": [{"index": 0, "embedding": [1.0]}]}),
            json!({"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}]}),
            json!({"data": [{"index": 0, "embedding": "AAAA"}, {"index": 1, "embedding": [1.0]}]}),
            json!({"data": [{"index": 5, "embedding": [1.0]}, {"index": 1, "embedding": [1.0]}]}),
        ] {
            assert!(embed_reply_from_body(bad.to_string().as_bytes(), "x", 2).is_err());
        }
    }

    #[test]
    fn cosine_values() {
        // Hand-computed: (1*2 + 2*0 + 3*1) / (sqrt(14) * sqrt(5)) = 5 / sqrt(70).
        let c = cosine(&[1.0, 2.0, 3.0], &[2.0, 0.0, 1.0]).unwrap();
        assert!((c - 5.0 / 70f64.sqrt()).abs() < 1e-15);
        assert_eq!(cosine(&[1.0, 0.0], &[-3.0, 0.0]), Some(-1.0));
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 0.0]), None);
        assert_eq!(cosine(&[1.0], &[1.0, 2.0]), None);
        assert_eq!(cosine(&[], &[]), None);
        // Magnitudes whose squares overflow or underflow still have their true cosine.
        let big = vec![1e308; 1000];
        assert_eq!(cosine(&big, &big), Some(1.0));
        let tiny = vec![1e-200; 1000];
        assert_eq!(cosine(&tiny, &tiny), Some(1.0));
        let mixed: Vec<f64> = (0..1000)
            .map(|i| if i % 2 == 0 { 1e308 } else { -1e308 })
            .collect();
        let c = cosine(&big, &mixed).unwrap();
        assert!(c.abs() < 1e-12, "{c}");
        let c = cosine(&[1e308, 0.0], &[1e308, 1e308]).unwrap();
        assert!((c - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-15, "{c}");
        assert_eq!(cosine(&[f64::INFINITY, 1.0], &[1.0, 1.0]), None);
        assert_eq!(cosine(&[f64::NAN, 1.0], &[1.0, 1.0]), None);
        assert_eq!(cosine(&[0.0, 0.0], &[1e308, 1e308]), None);
    }

    #[test]
    fn excerpt_cuts_on_char_boundary() {
        let s = "é".repeat(400);
        let e = excerpt(&s);
        assert!(e.ends_with('…'));
        assert!(e.len() <= DETAILS_MAX + '…'.len_utf8());
    }
}
