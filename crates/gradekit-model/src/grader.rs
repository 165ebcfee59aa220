//! The six grader types and their reader.

use crate::error::{ConfigError, ConfigErrorKind, ConfigErrors};
use crate::message::{read_messages, Message, SamplingParams};
use crate::read::{display_key, enum_str, type_error, Obj};
use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

/// The wire `type` of every grader this crate knows.
pub const GRADER_TYPES: &[&str] = &[
    "string_check",
    "text_similarity",
    "python",
    "score_model",
    "label_model",
    "multi",
];

/// A grader config, tagged by `type` on the wire.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Grader {
    StringCheck(StringCheckGrader),
    TextSimilarity(TextSimilarityGrader),
    Python(PythonGrader),
    ScoreModel(ScoreModelGrader),
    LabelModel(LabelModelGrader),
    Multi(MultiGrader),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Eq,
    Ne,
    Like,
    Ilike,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StringCheckGrader {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub input: String,
    pub reference: String,
    pub operation: Operation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_threshold: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Cosine,
    FuzzyMatch,
    Bleu,
    Gleu,
    Meteor,
    #[serde(rename = "rouge_1")]
    Rouge1,
    #[serde(rename = "rouge_2")]
    Rouge2,
    #[serde(rename = "rouge_3")]
    Rouge3,
    #[serde(rename = "rouge_4")]
    Rouge4,
    #[serde(rename = "rouge_5")]
    Rouge5,
    #[serde(rename = "rouge_l")]
    RougeL,
}

impl Metric {
    pub const ALL: &'static [(&'static str, Metric)] = &[
        ("cosine", Metric::Cosine),
        ("fuzzy_match", Metric::FuzzyMatch),
        ("bleu", Metric::Bleu),
        ("gleu", Metric::Gleu),
        ("meteor", Metric::Meteor),
        ("rouge_1", Metric::Rouge1),
        ("rouge_2", Metric::Rouge2),
        ("rouge_3", Metric::Rouge3),
        ("rouge_4", Metric::Rouge4),
        ("rouge_5", Metric::Rouge5),
        ("rouge_l", Metric::RougeL),
    ];

    pub fn as_str(self) -> &'static str {
        Metric::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map(|(n, _)| *n)
            .unwrap_or("unknown")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextSimilarityGrader {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub input: String,
    pub reference: String,
    pub evaluation_metric: Metric,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_threshold: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PythonGrader {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_threshold: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreModelGrader {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub model: String,
    pub input: Vec<Message>,
    /// `[min, max]`; `None` means the default `[0, 1]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampling_params: Option<SamplingParams>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_threshold: Option<f64>,
}

impl ScoreModelGrader {
    pub fn range_or_default(&self) -> [f64; 2] {
        self.range.unwrap_or([0.0, 1.0])
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelModelGrader {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub model: String,
    pub input: Vec<Message>,
    pub labels: Vec<String>,
    pub passing_labels: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampling_params: Option<SamplingParams>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_threshold: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiGrader {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Key → sub-grader; the keys are the formula's variables. Order as given.
    pub graders: IndexMap<String, Grader>,
    pub calculate_output: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_threshold: Option<f64>,
}

impl Grader {
    /// Reads a grader from JSON, reporting every fault with its path. Paths are relative to
    /// the grader object (`graders.email.operation`).
    pub fn from_value(v: &Value) -> Result<Grader, ConfigErrors> {
        let mut errs = ConfigErrors::default();
        let g = read_grader(v, "", true, &mut errs);
        match g {
            Some(g) if errs.is_empty() => Ok(g),
            _ => {
                if errs.is_empty() {
                    errs.push(ConfigError::new("", "invalid grader"));
                }
                Err(errs)
            }
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Grader::StringCheck(_) => "string_check",
            Grader::TextSimilarity(_) => "text_similarity",
            Grader::Python(_) => "python",
            Grader::ScoreModel(_) => "score_model",
            Grader::LabelModel(_) => "label_model",
            Grader::Multi(_) => "multi",
        }
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            Grader::StringCheck(g) => g.name.as_deref(),
            Grader::TextSimilarity(g) => g.name.as_deref(),
            Grader::Python(g) => g.name.as_deref(),
            Grader::ScoreModel(g) => g.name.as_deref(),
            Grader::LabelModel(g) => g.name.as_deref(),
            Grader::Multi(g) => g.name.as_deref(),
        }
    }

    pub fn pass_threshold(&self) -> Option<f64> {
        match self {
            Grader::StringCheck(g) => g.pass_threshold,
            Grader::TextSimilarity(g) => g.pass_threshold,
            Grader::Python(g) => g.pass_threshold,
            Grader::ScoreModel(g) => g.pass_threshold,
            Grader::LabelModel(g) => g.pass_threshold,
            Grader::Multi(g) => g.pass_threshold,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Grader {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Grader::from_value(&v).map_err(serde::de::Error::custom)
    }
}

const OPERATIONS: &[(&str, Operation)] = &[
    ("eq", Operation::Eq),
    ("ne", Operation::Ne),
    ("like", Operation::Like),
    ("ilike", Operation::Ilike),
];

fn read_grader(v: &Value, path: &str, top: bool, errs: &mut ConfigErrors) -> Option<Grader> {
    let mut o = Obj::new(v, path, errs)?;
    let ty = match o.required("type", errs) {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            errs.push(type_error(&o.at("type"), "a string", other));
            return None;
        }
        None => return None,
    };
    let name = o.opt_str("name", errs);
    let pass_threshold = o.opt_f64("pass_threshold", errs);
    let g = match ty {
        "string_check" => {
            let input = o.req_str("input", errs);
            let reference = o.req_str("reference", errs);
            let operation = o.required("operation", errs).and_then(|op| {
                if op.as_str() == Some("neq") {
                    Some(Operation::Ne)
                } else {
                    enum_str(op, &o.at("operation"), "operation", OPERATIONS, errs)
                }
            });
            Grader::StringCheck(StringCheckGrader {
                name,
                input: input?,
                reference: reference?,
                operation: operation?,
                pass_threshold,
            })
        }
        "text_similarity" => {
            let input = o.req_str("input", errs);
            let reference = o.req_str("reference", errs);
            let metric = o.required("evaluation_metric", errs).and_then(|m| {
                enum_str(
                    m,
                    &o.at("evaluation_metric"),
                    "evaluation_metric",
                    Metric::ALL,
                    errs,
                )
            });
            Grader::TextSimilarity(TextSimilarityGrader {
                name,
                input: input?,
                reference: reference?,
                evaluation_metric: metric?,
                pass_threshold,
            })
        }
        "python" => {
            let source = o.req_str("source", errs);
            let image_tag = o.opt_str("image_tag", errs);
            if let Some(src) = &source {
                if src.len() > crate::PYTHON_SOURCE_LIMIT {
                    errs.push(ConfigError::with(
                        ConfigErrorKind::TooLarge,
                        o.at("source"),
                        format!(
                            "source is {} bytes; the limit is {} bytes (256 KiB)",
                            src.len(),
                            crate::PYTHON_SOURCE_LIMIT
                        ),
                    ));
                }
            }
            if let Some(tag) = &image_tag {
                if tag != crate::PYTHON_IMAGE_TAG {
                    errs.push(ConfigError::with(
                        ConfigErrorKind::UnknownValue,
                        o.at("image_tag"),
                        format!(
                            "unknown image_tag {}; expected \"{}\"",
                            Value::String(tag.clone()),
                            crate::PYTHON_IMAGE_TAG
                        ),
                    ));
                }
            }
            Grader::Python(PythonGrader {
                name,
                source: source?,
                image_tag,
                pass_threshold,
            })
        }
        "score_model" | "label_model" => {
            let model = o.req_str("model", errs);
            let input = o
                .required("input", errs)
                .and_then(|m| read_messages(m, &o.at("input"), errs));
            let sampling_params = o
                .get("sampling_params")
                .and_then(|s| SamplingParams::read(s, &o.at("sampling_params"), errs));
            if ty == "score_model" {
                let range = o
                    .get("range")
                    .and_then(|r| read_range(r, &o.at("range"), errs));
                Grader::ScoreModel(ScoreModelGrader {
                    name,
                    model: model?,
                    input: input?,
                    range,
                    sampling_params,
                    pass_threshold,
                })
            } else {
                let labels = o
                    .required("labels", errs)
                    .and_then(|l| read_labels(l, &o.at("labels"), errs));
                let passing = o
                    .required("passing_labels", errs)
                    .and_then(|l| read_labels(l, &o.at("passing_labels"), errs));
                if let (Some(labels), Some(passing)) = (&labels, &passing) {
                    check_labels(labels, passing, &o, errs);
                }
                Grader::LabelModel(LabelModelGrader {
                    name,
                    model: model?,
                    input: input?,
                    labels: labels?,
                    passing_labels: passing?,
                    sampling_params,
                    pass_threshold,
                })
            }
        }
        "multi" => {
            if !top {
                errs.push(ConfigError::new(
                    o.at("type"),
                    "a multi grader cannot contain another multi grader",
                ));
                o.get("graders");
                o.get("calculate_output");
                return None;
            }
            let graders = o
                .required("graders", errs)
                .and_then(|g| read_sub_graders(g, &o.at("graders"), errs));
            // The formula itself is parsed by the engine (gradekit-formula), which also reports
            // an empty one.
            let calc = o.req_str("calculate_output", errs);
            Grader::Multi(MultiGrader {
                name,
                graders: graders?,
                calculate_output: calc?,
                pass_threshold,
            })
        }
        other => {
            errs.push(ConfigError::with(
                ConfigErrorKind::UnknownValue,
                o.at("type"),
                format!(
                    "unknown grader type {}; expected one of {}",
                    Value::String(other.to_string()),
                    GRADER_TYPES.join(", ")
                ),
            ));
            return None;
        }
    };
    o.finish(errs);
    Some(g)
}

fn read_sub_graders(
    v: &Value,
    path: &str,
    errs: &mut ConfigErrors,
) -> Option<IndexMap<String, Grader>> {
    let map = match v {
        Value::Object(m) => m,
        Value::Array(_) => {
            errs.push(ConfigError::with(
                ConfigErrorKind::InvalidType,
                path,
                "invalid type: expected an object mapping names to graders (the names are the \
                 formula's variables), but got an array instead",
            ));
            return None;
        }
        other => {
            errs.push(type_error(
                path,
                "an object mapping names to graders",
                other,
            ));
            return None;
        }
    };
    if map.is_empty() {
        errs.push(ConfigError::new(path, "must contain at least one grader"));
        return None;
    }
    let mut out = IndexMap::new();
    let mut ok = true;
    for (key, sub) in map {
        let sub_path = crate::error::join(path, &display_key(key));
        match read_grader(sub, &sub_path, false, errs) {
            Some(g) => {
                out.insert(key.clone(), g);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn read_range(v: &Value, path: &str, errs: &mut ConfigErrors) -> Option<[f64; 2]> {
    let arr = match v {
        Value::Array(a) => a,
        other => {
            errs.push(type_error(path, "an array of two numbers", other));
            return None;
        }
    };
    let nums: Vec<Option<f64>> = arr.iter().map(Value::as_f64).collect();
    if arr.len() != 2 || nums.iter().any(Option::is_none) {
        errs.push(ConfigError::new(
            path,
            format!(
                "must be two numbers [min, max], got {}",
                Value::Array(arr.clone())
            ),
        ));
        return None;
    }
    let (lo, hi) = (nums[0]?, nums[1]?);
    if lo >= hi {
        errs.push(ConfigError::new(
            path,
            format!("min must be less than max, got [{lo}, {hi}]"),
        ));
        return None;
    }
    Some([lo, hi])
}

fn read_labels(v: &Value, path: &str, errs: &mut ConfigErrors) -> Option<Vec<String>> {
    let arr = match v {
        Value::Array(a) => a,
        other => {
            errs.push(type_error(path, "an array of strings", other));
            return None;
        }
    };
    let mut out = Vec::with_capacity(arr.len());
    let mut ok = true;
    for (i, l) in arr.iter().enumerate() {
        match l {
            Value::String(s) => out.push(s.clone()),
            other => {
                errs.push(type_error(&format!("{path}[{i}]"), "a string", other));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn check_labels(labels: &[String], passing: &[String], o: &Obj<'_>, errs: &mut ConfigErrors) {
    if labels.is_empty() {
        errs.push(ConfigError::new(o.at("labels"), "must not be empty"));
    }
    for (i, l) in labels.iter().enumerate() {
        if labels[..i].contains(l) {
            errs.push(ConfigError::new(
                format!("{}[{i}]", o.at("labels")),
                format!("duplicate label {}", Value::String(l.clone())),
            ));
        }
    }
    for (i, p) in passing.iter().enumerate() {
        if !labels.contains(p) {
            errs.push(ConfigError::new(
                format!("{}[{i}]", o.at("passing_labels")),
                format!(
                    "{} is not one of labels; passing_labels must be a subset of labels",
                    Value::String(p.clone())
                ),
            ));
        }
    }
}
