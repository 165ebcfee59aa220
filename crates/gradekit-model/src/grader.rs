//! The six grader types and their reader.

use crate::error::{ConfigError, ConfigErrorKind, ConfigErrors};
use crate::layout::{opt, Layout, Num};
use crate::message::{read_messages, Message, SamplingParams};
use crate::read::{display_key, enum_str, type_error, Obj};
use indexmap::IndexMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// Declares [`GraderType`] and [`GRADER_TYPES`] from one list of `Variant = "wire type"`
/// lines: the reader dispatches on a `GraderType` with an exhaustive `match`, so a new line
/// does not compile until the reader (and every other `match`) handles it.
macro_rules! grader_types {
    ($($variant:ident = $wire:literal,)+) => {
        /// The wire `type` of a grader.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum GraderType {
            $($variant,)+
        }

        /// The wire `type` of every grader this crate knows, in the order errors list them.
        pub const GRADER_TYPES: &[&str] = &[$($wire,)+];

        impl GraderType {
            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(GraderType::$variant => $wire,)+
                }
            }

            /// The type of a wire name.
            pub fn from_wire(name: &str) -> Option<GraderType> {
                match name {
                    $($wire => Some(GraderType::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

grader_types! {
    StringCheck = "string_check",
    TextSimilarity = "text_similarity",
    Python = "python",
    ScoreModel = "score_model",
    LabelModel = "label_model",
    Multi = "multi",
}

/// A grader config, tagged by `type` on the wire. Serializes as [`Grader::to_value`].
#[derive(Debug, Clone, PartialEq)]
pub enum Grader {
    StringCheck(StringCheckGrader),
    TextSimilarity(TextSimilarityGrader),
    Python(PythonGrader),
    ScoreModel(ScoreModelGrader),
    LabelModel(LabelModelGrader),
    Multi(MultiGrader),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Eq,
    Ne,
    Like,
    Ilike,
}

impl Operation {
    /// The wire name (`neq` is read as [`Operation::Ne`] and written `ne`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Eq => "eq",
            Operation::Ne => "ne",
            Operation::Like => "like",
            Operation::Ilike => "ilike",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StringCheckGrader {
    pub name: Option<String>,
    pub input: String,
    pub reference: String,
    pub operation: Operation,
    pub pass_threshold: Option<Num>,
    /// How the object was written (see [`Layout`]).
    pub layout: Layout,
}

/// Declares [`Metric`] from one list of `Variant = "wire name"` lines, so that a metric
/// cannot exist without its wire name or be missing from [`Metric::ALL`] (which the reader
/// accepts): adding a line is the whole model change, and every `match` on `Metric` (the
/// engine's scorer) then fails to compile until it has an arm.
macro_rules! metrics {
    ($($variant:ident = $wire:literal,)+) => {
        /// A text_similarity `evaluation_metric`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Metric {
            $($variant,)+
        }

        impl Metric {
            /// Every metric with its wire name, in the order error messages list them.
            pub const ALL: &'static [(&'static str, Metric)] = &[$(($wire, Metric::$variant),)+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Metric::$variant => $wire,)+
                }
            }
        }
    };
}

metrics! {
    Cosine = "cosine",
    FuzzyMatch = "fuzzy_match",
    Bleu = "bleu",
    Gleu = "gleu",
    Meteor = "meteor",
    Rouge1 = "rouge_1",
    Rouge2 = "rouge_2",
    Rouge3 = "rouge_3",
    Rouge4 = "rouge_4",
    Rouge5 = "rouge_5",
    RougeL = "rouge_l",
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextSimilarityGrader {
    pub name: Option<String>,
    pub input: String,
    pub reference: String,
    pub evaluation_metric: Metric,
    pub pass_threshold: Option<Num>,
    /// How the object was written (see [`Layout`]).
    pub layout: Layout,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PythonGrader {
    pub name: Option<String>,
    pub source: String,
    pub image_tag: Option<String>,
    pub pass_threshold: Option<Num>,
    /// How the object was written (see [`Layout`]).
    pub layout: Layout,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScoreModelGrader {
    pub name: Option<String>,
    pub model: String,
    pub input: Vec<Message>,
    /// `[min, max]`; `None` means the default `[0, 1]`.
    pub range: Option<[Num; 2]>,
    pub sampling_params: Option<SamplingParams>,
    pub pass_threshold: Option<Num>,
    /// How the object was written (see [`Layout`]).
    pub layout: Layout,
}

impl ScoreModelGrader {
    pub fn range_or_default(&self) -> [f64; 2] {
        match &self.range {
            Some([lo, hi]) => [lo.get(), hi.get()],
            None => [0.0, 1.0],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelModelGrader {
    pub name: Option<String>,
    pub model: String,
    pub input: Vec<Message>,
    pub labels: Vec<String>,
    pub passing_labels: Vec<String>,
    pub sampling_params: Option<SamplingParams>,
    pub pass_threshold: Option<Num>,
    /// How the object was written (see [`Layout`]).
    pub layout: Layout,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MultiGrader {
    pub name: Option<String>,
    /// Key → sub-grader; the keys are the formula's variables. Order as given.
    pub graders: IndexMap<String, Grader>,
    pub calculate_output: String,
    pub pass_threshold: Option<Num>,
    /// How the object was written (see [`Layout`]).
    pub layout: Layout,
}

/// One line of [`Grader::outline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutlineField<'a> {
    pub label: &'static str,
    pub text: &'a str,
    /// Source code, shown as a block rather than a line.
    pub code: bool,
}

/// What is known of a top-level multi grader's formula when the grader as a whole could not
/// be read (a sub-grader is broken): its source and the keys it may name, so that `/validate`
/// reports a bad formula alongside the other faults (the engine parses it).
#[derive(Debug, Clone, PartialEq)]
pub struct FormulaOutline {
    /// The keys of `graders`, in config order: the formula's variables.
    pub variables: Vec<String>,
    pub calculate_output: String,
}

/// A grader that could not be read: every fault with its path, and the formula outline of a
/// multi grader.
#[derive(Debug, Clone)]
pub struct Unread {
    pub errors: ConfigErrors,
    pub formula: Option<FormulaOutline>,
}

impl Grader {
    /// Reads a grader from JSON, reporting every fault with its path. Paths are relative to
    /// the grader object (`graders.email.operation`).
    pub fn from_value(v: &Value) -> Result<Grader, ConfigErrors> {
        Grader::read(v).map_err(|u| u.errors)
    }

    /// [`Grader::from_value`] that also gives, on failure, what is known of a multi grader's
    /// formula.
    pub fn read(v: &Value) -> Result<Grader, Unread> {
        let mut errs = ConfigErrors::default();
        let mut formula = None;
        let g = read_grader(v, "", Some(&mut formula), &mut errs);
        match g {
            Some(g) if errs.is_empty() => Ok(g),
            _ => {
                if errs.is_empty() {
                    errs.push(ConfigError::new("", "invalid grader"));
                }
                Err(Unread {
                    errors: errs,
                    formula,
                })
            }
        }
    }

    /// The grader's type.
    pub fn kind(&self) -> GraderType {
        match self {
            Grader::StringCheck(_) => GraderType::StringCheck,
            Grader::TextSimilarity(_) => GraderType::TextSimilarity,
            Grader::Python(_) => GraderType::Python,
            Grader::ScoreModel(_) => GraderType::ScoreModel,
            Grader::LabelModel(_) => GraderType::LabelModel,
            Grader::Multi(_) => GraderType::Multi,
        }
    }

    /// The wire `type` (`string_check`, `multi`, …).
    pub fn type_name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The fields that say what this grader does, in display order, for outlines (the
    /// server's dashboard); a multi grader's sub-graders are in [`MultiGrader::graders`].
    pub fn outline(&self) -> Vec<OutlineField<'_>> {
        let line = |label, text| OutlineField {
            label,
            text,
            code: false,
        };
        match self {
            Grader::StringCheck(g) => vec![
                line("input", &g.input),
                line("operation", g.operation.as_str()),
                line("reference", &g.reference),
            ],
            Grader::TextSimilarity(g) => vec![
                line("metric", g.evaluation_metric.as_str()),
                line("input", &g.input),
                line("reference", &g.reference),
            ],
            Grader::Python(g) => vec![OutlineField {
                label: "source",
                text: &g.source,
                code: true,
            }],
            Grader::ScoreModel(g) => vec![line("model", &g.model)],
            Grader::LabelModel(g) => vec![line("model", &g.model)],
            Grader::Multi(g) => vec![line("calculate_output", &g.calculate_output)],
        }
    }

    fn layout_mut(&mut self) -> &mut Layout {
        match self {
            Grader::StringCheck(g) => &mut g.layout,
            Grader::TextSimilarity(g) => &mut g.layout,
            Grader::Python(g) => &mut g.layout,
            Grader::ScoreModel(g) => &mut g.layout,
            Grader::LabelModel(g) => &mut g.layout,
            Grader::Multi(g) => &mut g.layout,
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
        let t = match self {
            Grader::StringCheck(g) => &g.pass_threshold,
            Grader::TextSimilarity(g) => &g.pass_threshold,
            Grader::Python(g) => &g.pass_threshold,
            Grader::ScoreModel(g) => &g.pass_threshold,
            Grader::LabelModel(g) => &g.pass_threshold,
            Grader::Multi(g) => &g.pass_threshold,
        };
        t.as_ref().map(Num::get)
    }

    /// The grader as JSON, as given: keys in the order given, keys given as `null` kept,
    /// numbers as written, `neq` written `ne` (the only alias), no defaults filled in. What
    /// `/validate` echoes (the engine adds a generated `name` when there is none). Reading it
    /// back gives an equal grader.
    pub fn to_value(&self) -> Value {
        let ty = Some(("type", Value::from(self.type_name())));
        let s = |k: &'static str, v: &String| Some((k, Value::String(v.clone())));
        let (layout, fields) = match self {
            Grader::StringCheck(g) => (
                &g.layout,
                vec![
                    ty,
                    opt("name", g.name.clone()),
                    s("input", &g.input),
                    s("reference", &g.reference),
                    Some(("operation", g.operation.as_str().into())),
                    opt("pass_threshold", g.pass_threshold.as_ref()),
                ],
            ),
            Grader::TextSimilarity(g) => (
                &g.layout,
                vec![
                    ty,
                    opt("name", g.name.clone()),
                    s("input", &g.input),
                    s("reference", &g.reference),
                    Some(("evaluation_metric", g.evaluation_metric.as_str().into())),
                    opt("pass_threshold", g.pass_threshold.as_ref()),
                ],
            ),
            Grader::Python(g) => (
                &g.layout,
                vec![
                    ty,
                    opt("name", g.name.clone()),
                    s("source", &g.source),
                    opt("image_tag", g.image_tag.clone()),
                    opt("pass_threshold", g.pass_threshold.as_ref()),
                ],
            ),
            Grader::ScoreModel(g) => (
                &g.layout,
                vec![
                    ty,
                    opt("name", g.name.clone()),
                    s("model", &g.model),
                    Some(("input", messages_value(&g.input))),
                    opt(
                        "range",
                        g.range
                            .as_ref()
                            .map(|r| Value::Array(r.iter().map(Value::from).collect())),
                    ),
                    opt(
                        "sampling_params",
                        g.sampling_params.as_ref().map(SamplingParams::to_value),
                    ),
                    opt("pass_threshold", g.pass_threshold.as_ref()),
                ],
            ),
            Grader::LabelModel(g) => (
                &g.layout,
                vec![
                    ty,
                    opt("name", g.name.clone()),
                    s("model", &g.model),
                    Some(("input", messages_value(&g.input))),
                    Some(("labels", g.labels.clone().into())),
                    Some(("passing_labels", g.passing_labels.clone().into())),
                    opt(
                        "sampling_params",
                        g.sampling_params.as_ref().map(SamplingParams::to_value),
                    ),
                    opt("pass_threshold", g.pass_threshold.as_ref()),
                ],
            ),
            Grader::Multi(g) => (
                &g.layout,
                vec![
                    ty,
                    opt("name", g.name.clone()),
                    Some((
                        "graders",
                        Value::Object(
                            g.graders
                                .iter()
                                .map(|(k, sub)| (k.clone(), sub.to_value()))
                                .collect(),
                        ),
                    )),
                    s("calculate_output", &g.calculate_output),
                    opt("pass_threshold", g.pass_threshold.as_ref()),
                ],
            ),
        };
        layout.write(fields.into_iter().flatten().collect())
    }
}

fn messages_value(input: &[Message]) -> Value {
    Value::Array(input.iter().map(Message::to_value).collect())
}

impl Serialize for Grader {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
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

/// Reads one grader; `outline` is given at the top level only (where multi is allowed) and
/// receives a multi grader's formula outline.
fn read_grader(
    v: &Value,
    path: &str,
    outline: Option<&mut Option<FormulaOutline>>,
    errs: &mut ConfigErrors,
) -> Option<Grader> {
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
    let pass_threshold = o.opt_num("pass_threshold", errs);
    let Some(ty) = GraderType::from_wire(ty) else {
        errs.push(ConfigError::with(
            ConfigErrorKind::UnknownValue,
            o.at("type"),
            format!(
                "unknown grader type {}; expected one of {}",
                Value::String(ty.to_string()),
                GRADER_TYPES.join(", ")
            ),
        ));
        return None;
    };
    let g = match ty {
        GraderType::StringCheck => {
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
                layout: Layout::default(),
            })
        }
        GraderType::TextSimilarity => {
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
                layout: Layout::default(),
            })
        }
        GraderType::Python => {
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
                layout: Layout::default(),
            })
        }
        GraderType::ScoreModel | GraderType::LabelModel => {
            let model = o.req_str("model", errs);
            let input = o
                .required("input", errs)
                .and_then(|m| read_messages(m, &o.at("input"), errs));
            let sampling_params = o
                .get("sampling_params")
                .and_then(|s| SamplingParams::read(s, &o.at("sampling_params"), errs));
            if ty == GraderType::ScoreModel {
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
                    layout: Layout::default(),
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
                    layout: Layout::default(),
                })
            }
        }
        GraderType::Multi => {
            let Some(outline) = outline else {
                errs.push(ConfigError::new(
                    o.at("type"),
                    "a multi grader cannot contain another multi grader",
                ));
                o.get("graders");
                o.get("calculate_output");
                return None;
            };
            let raw_graders = o.required("graders", errs);
            // The formula itself is parsed by the engine (gradekit-formula), which also reports
            // an empty one.
            let calc = o.req_str("calculate_output", errs);
            if let (Some(Value::Object(subs)), Some(calc)) = (raw_graders, &calc) {
                *outline = Some(FormulaOutline {
                    variables: subs.keys().cloned().collect(),
                    calculate_output: calc.clone(),
                });
            }
            let graders = raw_graders.and_then(|g| read_sub_graders(g, &o.at("graders"), errs));
            Grader::Multi(MultiGrader {
                name,
                graders: graders?,
                calculate_output: calc?,
                pass_threshold,
                layout: Layout::default(),
            })
        }
    };
    let mut g = g;
    *g.layout_mut() = o.finish(errs);
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
        match read_grader(sub, &sub_path, None, errs) {
            Some(g) => {
                out.insert(key.clone(), g);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn read_range(v: &Value, path: &str, errs: &mut ConfigErrors) -> Option<[Num; 2]> {
    let arr = match v {
        Value::Array(a) => a,
        other => {
            errs.push(type_error(path, "an array of two numbers", other));
            return None;
        }
    };
    let nums: Vec<Option<Num>> = arr
        .iter()
        .map(|x| x.as_number().cloned().map(Num::from))
        .collect();
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
    let mut nums = nums.into_iter().flatten();
    let (lo, hi) = (nums.next()?, nums.next()?);
    if lo.get() >= hi.get() {
        errs.push(ConfigError::new(
            path,
            format!(
                "min must be less than max, got [{}, {}]",
                lo.get(),
                hi.get()
            ),
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
