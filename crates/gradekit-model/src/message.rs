//! Messages of model graders (`score_model`, `label_model`) and their sampling parameters.

use crate::error::{ConfigError, ConfigErrorKind, ConfigErrors};
use crate::layout::{opt, Layout, Num};
use crate::read::{enum_str, type_error, Obj};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
    System,
    Developer,
}

const ROLES: &[(&str, Role)] = &[
    ("user", Role::User),
    ("assistant", Role::Assistant),
    ("system", Role::System),
    ("developer", Role::Developer),
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
            Role::Developer => "developer",
        }
    }
}

/// One input message (`EvalItem` in OpenAI's schema).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: MessageContent,
    /// Always `"message"` when present (wire key `type`).
    pub kind: Option<String>,
    /// How the object was written (see [`Layout`]).
    pub layout: Layout,
}

impl Message {
    /// The message as given (see `Grader::to_value`).
    pub fn to_value(&self) -> Value {
        let content = match &self.content {
            MessageContent::Text(t) => Value::String(t.clone()),
            MessageContent::Item(item) => item.to_value(),
            MessageContent::Items(items) => {
                Value::Array(items.iter().map(ContentItem::to_value).collect())
            }
        };
        let fields = [
            Some(("role", Value::from(self.role.as_str()))),
            Some(("content", content)),
            opt("type", self.kind.clone()),
        ];
        self.layout.write(fields.into_iter().flatten().collect())
    }
}

/// A message's content: a string, one content item, or a list of them.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageContent {
    Text(String),
    Item(ContentItem),
    Items(Vec<ContentItem>),
}

/// One part of a message's content, tagged by `type` on the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentItem {
    /// A bare string inside a content list: read as `input_text`, echoed as the string.
    PlainText(String),
    InputText {
        text: String,
        layout: Layout,
    },
    OutputText {
        text: String,
        layout: Layout,
    },
    InputImage {
        image_url: String,
        /// `high`, `low` or `auto`.
        detail: Option<String>,
        layout: Layout,
    },
    InputAudio {
        input_audio: AudioInput,
        layout: Layout,
    },
}

impl ContentItem {
    /// The item as given (see `Grader::to_value`).
    pub fn to_value(&self) -> Value {
        let s = |k: &'static str, v: &String| Some((k, Value::String(v.clone())));
        let (layout, fields) = match self {
            ContentItem::PlainText(t) => return Value::String(t.clone()),
            ContentItem::InputText { text, layout } => (
                layout,
                vec![s("type", &"input_text".into()), s("text", text)],
            ),
            ContentItem::OutputText { text, layout } => (
                layout,
                vec![s("type", &"output_text".into()), s("text", text)],
            ),
            ContentItem::InputImage {
                image_url,
                detail,
                layout,
            } => (
                layout,
                vec![
                    s("type", &"input_image".into()),
                    s("image_url", image_url),
                    opt("detail", detail.clone()),
                ],
            ),
            ContentItem::InputAudio {
                input_audio,
                layout,
            } => (
                layout,
                vec![
                    s("type", &"input_audio".into()),
                    Some(("input_audio", input_audio.to_value())),
                ],
            ),
        };
        layout.write(fields.into_iter().flatten().collect())
    }
}

/// The payload of an `input_audio` content item.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInput {
    /// base64 audio (may be a template).
    pub data: String,
    /// `mp3` or `wav`.
    pub format: String,
    /// How the object was written (see [`Layout`]).
    pub layout: Layout,
}

impl AudioInput {
    fn to_value(&self) -> Value {
        self.layout.write(vec![
            ("data", Value::String(self.data.clone())),
            ("format", Value::String(self.format.clone())),
        ])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningEffort {
    None,
    Minimal,
    Low,
    Medium,
    High,
    Xhigh,
    Max,
}

const EFFORTS: &[(&str, ReasoningEffort)] = &[
    ("none", ReasoningEffort::None),
    ("minimal", ReasoningEffort::Minimal),
    ("low", ReasoningEffort::Low),
    ("medium", ReasoningEffort::Medium),
    ("high", ReasoningEffort::High),
    ("xhigh", ReasoningEffort::Xhigh),
    ("max", ReasoningEffort::Max),
];

impl ReasoningEffort {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::None => "none",
            ReasoningEffort::Minimal => "minimal",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
            ReasoningEffort::Xhigh => "xhigh",
            ReasoningEffort::Max => "max",
        }
    }
}

/// `sampling_params` of a model grader. Every field is optional and nullable.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SamplingParams {
    pub seed: Option<i64>,
    pub top_p: Option<Num>,
    pub temperature: Option<Num>,
    /// Spelled `max_completions_tokens` on the wire (sic); sent to chat completions as
    /// `max_completion_tokens`.
    pub max_completions_tokens: Option<u64>,
    pub reasoning_effort: Option<ReasoningEffort>,
    /// How the object was written (see [`Layout`]).
    pub layout: Layout,
}

impl SamplingParams {
    /// The parameters as given (see `Grader::to_value`).
    pub fn to_value(&self) -> Value {
        let fields = [
            opt("seed", self.seed),
            opt("top_p", self.top_p.as_ref()),
            opt("temperature", self.temperature.as_ref()),
            opt("max_completions_tokens", self.max_completions_tokens),
            opt(
                "reasoning_effort",
                self.reasoning_effort.map(ReasoningEffort::as_str),
            ),
        ];
        self.layout.write(fields.into_iter().flatten().collect())
    }

    pub(crate) fn read(v: &Value, path: &str, errs: &mut ConfigErrors) -> Option<SamplingParams> {
        let mut o = Obj::new(v, path, errs)?;
        let mut p = SamplingParams::default();
        if let Some(s) = o.get("seed") {
            match s.as_i64() {
                Some(n) => p.seed = Some(n),
                None => errs.push(type_error(&o.at("seed"), "an integer", s)),
            }
        }
        p.top_p = o.opt_num("top_p", errs);
        p.temperature = o.opt_num("temperature", errs);
        if let Some(m) = o.get("max_completions_tokens") {
            match m.as_u64() {
                Some(n) if n >= 1 => p.max_completions_tokens = Some(n),
                _ => errs.push(ConfigError::new(
                    o.at("max_completions_tokens"),
                    format!("must be an integer >= 1, got {m}"),
                )),
            }
        }
        if let Some(e) = o.get("reasoning_effort") {
            p.reasoning_effort = enum_str(
                e,
                &o.at("reasoning_effort"),
                "reasoning_effort",
                EFFORTS,
                errs,
            );
        }
        p.layout = o.finish(errs);
        Some(p)
    }
}

pub(crate) fn read_messages(
    v: &Value,
    path: &str,
    errs: &mut ConfigErrors,
) -> Option<Vec<Message>> {
    let arr = match v {
        Value::Array(a) => a,
        other => {
            errs.push(type_error(path, "an array of messages", other));
            return None;
        }
    };
    if arr.is_empty() {
        errs.push(ConfigError::new(path, "must contain at least one message"));
        return None;
    }
    let mut out = Vec::with_capacity(arr.len());
    let mut ok = true;
    for (i, m) in arr.iter().enumerate() {
        match read_message(m, &format!("{path}[{i}]"), errs) {
            Some(m) => out.push(m),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn read_message(v: &Value, path: &str, errs: &mut ConfigErrors) -> Option<Message> {
    let mut o = Obj::new(v, path, errs)?;
    let role = o
        .required("role", errs)
        .and_then(|r| enum_str(r, &o.at("role"), "role", ROLES, errs));
    let kind = o.opt_str("type", errs);
    if let Some(k) = &kind {
        if k != "message" {
            errs.push(ConfigError::with(
                ConfigErrorKind::UnknownValue,
                o.at("type"),
                format!(
                    "unknown message type {}; expected \"message\"",
                    Value::String(k.clone())
                ),
            ));
        }
    }
    let content = o.required("content", errs).and_then(|c| {
        let cpath = o.at("content");
        match c {
            Value::String(s) => Some(MessageContent::Text(s.clone())),
            Value::Object(_) => read_item(c, &cpath, errs).map(MessageContent::Item),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, it) in items.iter().enumerate() {
                    let ipath = format!("{cpath}[{i}]");
                    let item = match it {
                        // A bare string inside the list is read as input_text.
                        Value::String(s) => Some(ContentItem::PlainText(s.clone())),
                        _ => read_item(it, &ipath, errs),
                    };
                    match item {
                        Some(x) => out.push(x),
                        None => ok = false,
                    }
                }
                ok.then_some(MessageContent::Items(out))
            }
            other => {
                errs.push(type_error(
                    &cpath,
                    "a string, a content item or a list of them",
                    other,
                ));
                None
            }
        }
    });
    let layout = o.finish(errs);
    Some(Message {
        role: role?,
        content: content?,
        kind,
        layout,
    })
}

fn read_item(v: &Value, path: &str, errs: &mut ConfigErrors) -> Option<ContentItem> {
    let mut o = Obj::new(v, path, errs)?;
    let ty = o.req_str("type", errs)?;
    let layout = Layout::default();
    let mut item = match ty.as_str() {
        "input_text" => ContentItem::InputText {
            text: o.req_str("text", errs)?,
            layout,
        },
        "output_text" => ContentItem::OutputText {
            text: o.req_str("text", errs)?,
            layout,
        },
        "input_image" => {
            let image_url = o.req_str("image_url", errs);
            let detail = o.opt_str("detail", errs);
            if let Some(d) = &detail {
                if !matches!(d.as_str(), "high" | "low" | "auto") {
                    errs.push(ConfigError::with(
                        ConfigErrorKind::UnknownValue,
                        o.at("detail"),
                        format!(
                            "unknown detail {}; expected high, low, auto",
                            Value::String(d.clone())
                        ),
                    ));
                }
            }
            ContentItem::InputImage {
                image_url: image_url?,
                detail,
                layout,
            }
        }
        "input_audio" => {
            let audio = o.required("input_audio", errs)?;
            let apath = o.at("input_audio");
            let mut a = Obj::new(audio, &apath, errs)?;
            let data = a.req_str("data", errs);
            let format = a.req_str("format", errs);
            if let Some(f) = &format {
                if !matches!(f.as_str(), "mp3" | "wav") {
                    errs.push(ConfigError::with(
                        ConfigErrorKind::UnknownValue,
                        a.at("format"),
                        format!(
                            "unknown audio format {}; expected mp3, wav",
                            Value::String(f.clone())
                        ),
                    ));
                }
            }
            let audio_layout = a.finish(errs);
            ContentItem::InputAudio {
                input_audio: AudioInput {
                    data: data?,
                    format: format?,
                    layout: audio_layout,
                },
                layout,
            }
        }
        other => {
            errs.push(ConfigError::with(ConfigErrorKind::UnknownValue,
                o.at("type"),
                format!(
                    "unknown content type {}; expected input_text, output_text, input_image, input_audio",
                    Value::String(other.to_string())
                ),
            ));
            return None;
        }
    };
    let given = o.finish(errs);
    match &mut item {
        ContentItem::PlainText(_) => {}
        ContentItem::InputText { layout, .. }
        | ContentItem::OutputText { layout, .. }
        | ContentItem::InputImage { layout, .. }
        | ContentItem::InputAudio { layout, .. } => *layout = given,
    }
    Some(item)
}
