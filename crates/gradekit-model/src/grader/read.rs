//! Reading a grader from JSON into the typed tree: every fault collected with its path,
//! unknown fields rejected, the layout of every object recorded for the echo. The dispatch is
//! an exhaustive `match` on [`GraderType`], so a new type does not compile until it is read.

use super::{
    FormulaOutline, Grader, GraderType, LabelModelGrader, Metric, MultiGrader, Operation,
    PythonGrader, ScoreModelGrader, StringCheckGrader, TextSimilarityGrader, GRADER_TYPES,
};
use crate::error::{ConfigError, ConfigErrorKind, ConfigErrors};
use crate::layout::{Layout, Num};
use crate::message::{read_messages, SamplingParams};
use crate::read::{display_key, enum_str, type_error, Obj};
use indexmap::IndexMap;
use serde_json::Value;

const OPERATIONS: &[(&str, Operation)] = &[
    ("eq", Operation::Eq),
    ("ne", Operation::Ne),
    ("like", Operation::Like),
    ("ilike", Operation::Ilike),
];

/// Reads one grader; `outline` is given at the top level only (where multi is allowed) and
/// receives a multi grader's formula outline.
pub(super) fn read_grader(
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
    let g = read_fields(ty, name, pass_threshold, &mut o, outline, errs);
    // Unknown fields are reported even when a known one was faulty (a typo'd `refrence` is
    // named beside the missing `reference`): validate reports every error.
    let layout = o.finish(errs);
    let mut g = g?;
    *g.layout_mut() = layout;
    Some(g)
}

/// The fields of a grader of type `ty` (everything but `type`, `name` and `pass_threshold`).
fn read_fields(
    ty: GraderType,
    name: Option<String>,
    pass_threshold: Option<Num>,
    o: &mut Obj<'_>,
    outline: Option<&mut Option<FormulaOutline>>,
    errs: &mut ConfigErrors,
) -> Option<Grader> {
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
                    check_labels(labels, passing, o, errs);
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
    // Hashed, not pairwise: a request can hold a million labels, and comparing each with every
    // other took minutes of CPU for 100,000 (1.8 MB of JSON).
    let mut seen = std::collections::HashSet::with_capacity(labels.len());
    for (i, l) in labels.iter().enumerate() {
        if !seen.insert(l.as_str()) {
            errs.push(ConfigError::new(
                format!("{}[{i}]", o.at("labels")),
                format!("duplicate label {}", Value::String(l.clone())),
            ));
        }
    }
    for (i, p) in passing.iter().enumerate() {
        if !seen.contains(p.as_str()) {
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
