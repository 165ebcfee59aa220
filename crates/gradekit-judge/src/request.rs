//! Building request bodies: a pure function of the request and the endpoint's dialect, so the
//! exact bytes sent can be unit-tested and used as the cache key.
//!
//! The structured-output schema reproduces OpenAI's own local re-creation of score_model
//! (cookbook "Exploring Model Graders for Reinforcement Fine-Tuning", schema name
//! `float_score_classification`): `steps` before `result`, every property required,
//! `additionalProperties: false`, the range written into `result.description`. label_model uses
//! the same object with `result` an `enum` of the labels (research/model-graders.md §1.3).

use serde_json::{json, Map, Value};

use crate::types::{ChatMessage, ChatRequest, ContentPart, MessageContent, OutputSpec};

/// How an endpoint is asked for structured output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseFormatMode {
    /// `{"type":"json_schema","json_schema":{"name","strict":true,"schema"}}` (OpenAI, vLLM, …).
    #[default]
    JsonSchema,
    /// `{"type":"json_object","schema":…}` (llama-cpp-python's server rejects `json_schema`).
    JsonObject,
    /// No `response_format`: prompt-only, parsed leniently.
    None,
}

impl ResponseFormatMode {
    /// Parses the CLI / config spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "json_schema" => Some(Self::JsonSchema),
            "json_object" => Some(Self::JsonObject),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// Which body field carries the grader's token cap (`sampling_params.max_completions_tokens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenCapField {
    /// OpenAI's current field (reasoning models reject `max_tokens`).
    #[default]
    MaxCompletionTokens,
    /// The legacy field, for servers that ignore `max_completion_tokens` (llama-cpp-python,
    /// LM Studio, older vLLM).
    MaxTokens,
    /// Both fields with the same value, for a server whose dialect is unknown.
    Both,
}

impl TokenCapField {
    /// Parses the CLI / config spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "max_completion_tokens" => Some(Self::MaxCompletionTokens),
            "max_tokens" => Some(Self::MaxTokens),
            "both" => Some(Self::Both),
            _ => None,
        }
    }

    /// The body fields set, in order.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Self::MaxCompletionTokens => &["max_completion_tokens"],
            Self::MaxTokens => &["max_tokens"],
            Self::Both => &["max_completion_tokens", "max_tokens"],
        }
    }
}

/// The schema name sent in `json_schema.name`.
pub fn schema_name(output: &OutputSpec) -> &'static str {
    match output {
        OutputSpec::Score { .. } => "float_score_classification",
        OutputSpec::Label { .. } => "label_classification",
    }
}

/// The JSON schema of the structured output `{"steps":[{"description","conclusion"}],"result"}`.
pub fn output_schema(output: &OutputSpec) -> Value {
    let result = match output {
        OutputSpec::Score { min, max } => json!({
            "type": "number",
            "description": format!(
                "The float score assigned to the response. This should be in inclusive range {} to {}.",
                fmt_num(*min),
                fmt_num(*max)
            ),
        }),
        OutputSpec::Label { labels } => json!({
            "type": "string",
            "description": "The label assigned to the response; one of the allowed labels.",
            "enum": labels,
        }),
    };
    json!({
        "type": "object",
        "properties": {
            "steps": {
                "type": "array",
                "description": "Reasoning steps that lead to the result.",
                "items": {
                    "type": "object",
                    "properties": {
                        "description": {
                            "type": "string",
                            "description": "What this step examines."
                        },
                        "conclusion": {
                            "type": "string",
                            "description": "What this step concludes."
                        }
                    },
                    "required": ["description", "conclusion"],
                    "additionalProperties": false
                }
            },
            "result": result
        },
        "required": ["steps", "result"],
        "additionalProperties": false
    })
}

/// Numbers in the range description: integers without a point (`0 to 10`), others shortest.
fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The `response_format` value for a mode, or `None` when nothing is sent.
pub fn response_format(output: &OutputSpec, mode: ResponseFormatMode) -> Option<Value> {
    match mode {
        ResponseFormatMode::JsonSchema => Some(json!({
            "type": "json_schema",
            "json_schema": {
                "name": schema_name(output),
                "strict": true,
                "schema": output_schema(output),
            }
        })),
        ResponseFormatMode::JsonObject => Some(json!({
            "type": "json_object",
            "schema": output_schema(output),
        })),
        ResponseFormatMode::None => None,
    }
}

/// One message in Chat Completions form. A string content stays a string.
pub fn message_json(msg: &ChatMessage) -> Value {
    let content = match &msg.content {
        MessageContent::Text(s) => Value::String(s.clone()),
        MessageContent::Parts(parts) => Value::Array(parts.iter().map(part_json).collect()),
    };
    json!({"role": msg.role, "content": content})
}

fn part_json(part: &ContentPart) -> Value {
    match part {
        ContentPart::Text { text } => json!({"type": "text", "text": text}),
        ContentPart::Image { url, detail } => {
            let mut image = Map::new();
            image.insert("url".into(), Value::String(url.clone()));
            if let Some(d) = detail {
                image.insert("detail".into(), Value::String(d.clone()));
            }
            json!({"type": "image_url", "image_url": image})
        }
        ContentPart::Audio { data, format } => json!({
            "type": "input_audio",
            "input_audio": {"data": data, "format": format}
        }),
    }
}

/// The full `/chat/completions` body. Sampling parameters appear only when set.
pub fn chat_body(req: &ChatRequest, mode: ResponseFormatMode, cap: TokenCapField) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), Value::String(req.model.clone()));
    body.insert(
        "messages".into(),
        Value::Array(req.messages.iter().map(message_json).collect()),
    );
    let s = &req.sampling;
    if let Some(n) = s.max_completions_tokens {
        for key in cap.fields() {
            body.insert((*key).into(), json!(n));
        }
    }
    if let Some(e) = &s.reasoning_effort {
        body.insert("reasoning_effort".into(), json!(e));
    }
    if let Some(seed) = s.seed {
        body.insert("seed".into(), json!(seed));
    }
    if let Some(t) = s.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(p) = s.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if let Some(rf) = response_format(&req.output, mode) {
        body.insert("response_format".into(), rf);
    }
    Value::Object(body)
}

/// The `/embeddings` body.
pub fn embed_body(model: &str, inputs: &[String]) -> Value {
    json!({"model": model, "input": inputs, "encoding_format": "float"})
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::types::SamplingParams;

    fn req(output: OutputSpec) -> ChatRequest {
        ChatRequest {
            model: "gpt-4o".into(),
            messages: vec![
                ChatMessage::text("system", "Be strict."),
                ChatMessage {
                    role: "user".into(),
                    content: MessageContent::Parts(vec![
                        ContentPart::Text {
                            text: "Rate:".into(),
                        },
                        ContentPart::Image {
                            url: "https://x/y.png".into(),
                            detail: Some("low".into()),
                        },
                        ContentPart::Image {
                            url: "data:image/png;base64,AA".into(),
                            detail: None,
                        },
                        ContentPart::Audio {
                            data: "UklG".into(),
                            format: "wav".into(),
                        },
                    ]),
                },
                ChatMessage {
                    role: "assistant".into(),
                    content: MessageContent::Parts(vec![ContentPart::Text {
                        text: "Earlier answer".into(),
                    }]),
                },
            ],
            sampling: SamplingParams {
                max_completions_tokens: Some(512),
                reasoning_effort: Some("low".into()),
                seed: Some(7),
                temperature: Some(0.0),
                top_p: Some(0.5),
            },
            output,
        }
    }

    #[test]
    fn messages_and_parts_map_to_chat_completions_shapes() {
        let body = chat_body(
            &req(OutputSpec::Score { min: 0.0, max: 1.0 }),
            ResponseFormatMode::JsonSchema,
            TokenCapField::MaxCompletionTokens,
        );
        let expected_messages = json!([
            {"role": "system", "content": "Be strict."},
            {"role": "user", "content": [
                {"type": "text", "text": "Rate:"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}},
                {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}}
            ]},
            {"role": "assistant", "content": [{"type": "text", "text": "Earlier answer"}]}
        ]);
        assert_eq!(body["messages"], expected_messages);
        assert_eq!(body["model"], "gpt-4o");
    }

    #[test]
    fn sampling_params_are_renamed_and_only_set_ones_sent() {
        let r = req(OutputSpec::Score { min: 0.0, max: 1.0 });
        let body = chat_body(
            &r,
            ResponseFormatMode::JsonSchema,
            TokenCapField::MaxCompletionTokens,
        );
        assert_eq!(body["max_completion_tokens"], 512);
        assert!(body.get("max_completions_tokens").is_none());
        assert_eq!(body["reasoning_effort"], "low");
        assert_eq!(body["seed"], 7);
        assert_eq!(body["temperature"], 0.0);
        assert_eq!(body["top_p"], 0.5);

        let mut bare = r.clone();
        bare.sampling = SamplingParams::default();
        let body = chat_body(
            &bare,
            ResponseFormatMode::JsonSchema,
            TokenCapField::MaxTokens,
        );
        for k in [
            "max_completion_tokens",
            "max_tokens",
            "reasoning_effort",
            "seed",
            "temperature",
            "top_p",
        ] {
            assert!(body.get(k).is_none(), "{k} should be absent");
        }
        let body = chat_body(&r, ResponseFormatMode::JsonSchema, TokenCapField::MaxTokens);
        assert_eq!(body["max_tokens"], 512);
        assert!(body.get("max_completion_tokens").is_none());
        let body = chat_body(&r, ResponseFormatMode::JsonSchema, TokenCapField::Both);
        assert_eq!(body["max_tokens"], 512);
        assert_eq!(body["max_completion_tokens"], 512);
        for name in ["max_completion_tokens", "max_tokens", "both"] {
            let cap = TokenCapField::parse(name).unwrap();
            assert!(cap.fields().contains(&name) || name == "both");
        }
        assert_eq!(TokenCapField::parse("max_token"), None);
    }

    #[test]
    fn score_schema_is_strict_steps_then_result() {
        let body = chat_body(
            &req(OutputSpec::Score {
                min: 0.0,
                max: 10.0,
            }),
            ResponseFormatMode::JsonSchema,
            TokenCapField::MaxCompletionTokens,
        );
        let rf = &body["response_format"];
        assert_eq!(rf["type"], "json_schema");
        assert_eq!(rf["json_schema"]["name"], "float_score_classification");
        assert_eq!(rf["json_schema"]["strict"], true);
        let schema = &rf["json_schema"]["schema"];
        assert_eq!(schema["required"], json!(["steps", "result"]));
        assert_eq!(schema["additionalProperties"], false);
        let keys: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["steps", "result"]);
        assert_eq!(schema["properties"]["result"]["type"], "number");
        assert!(schema["properties"]["result"]["description"]
            .as_str()
            .unwrap()
            .contains("inclusive range 0 to 10"));
        let item = &schema["properties"]["steps"]["items"];
        assert_eq!(item["required"], json!(["description", "conclusion"]));
        assert_eq!(item["additionalProperties"], false);
    }

    #[test]
    fn label_schema_enumerates_labels_and_json_object_mode_carries_schema() {
        let labels = vec!["good".to_string(), "bad".to_string()];
        let r = req(OutputSpec::Label { labels });
        let body = chat_body(
            &r,
            ResponseFormatMode::JsonObject,
            TokenCapField::MaxCompletionTokens,
        );
        let rf = &body["response_format"];
        assert_eq!(rf["type"], "json_object");
        assert_eq!(
            rf["schema"]["properties"]["result"],
            json!({"type": "string",
                   "description": "The label assigned to the response; one of the allowed labels.",
                   "enum": ["good", "bad"]})
        );
        let none = chat_body(&r, ResponseFormatMode::None, TokenCapField::MaxTokens);
        assert!(none.get("response_format").is_none());
    }

    #[test]
    fn range_description_formats_fractions() {
        let s = output_schema(&OutputSpec::Score {
            min: -1.0,
            max: 2.5,
        });
        assert!(s["properties"]["result"]["description"]
            .as_str()
            .unwrap()
            .contains("inclusive range -1 to 2.5"));
    }
}
