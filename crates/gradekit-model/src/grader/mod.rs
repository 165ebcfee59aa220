//! The six grader types: their config structs, the `/validate` echo ([`Grader::to_value`])
//! and the outline; reading them from JSON is in `read`.

mod read;
use read::read_grader;

use crate::error::{ConfigError, ConfigErrors};
use crate::layout::{opt, Layout, Num};
use crate::message::{Message, SamplingParams};
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
