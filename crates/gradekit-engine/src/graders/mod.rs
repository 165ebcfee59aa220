//! One module per grader `type`. Each compiles its config (collecting errors with paths)
//! and grades one sample: `Ok(reward)` or a [`Failure`] that becomes an error flag.

use crate::context::{Direct, GradeInput};
use crate::result::{Failure, Usage};
use crate::{Cost, EngineOptions};
use gradekit_model::{ConfigError, ConfigErrorKind, ConfigErrors, Grader, GraderType, SampleParts};
use gradekit_template::{RenderError, Root as TemplateRoot, Scope, Step, Template};
use std::borrow::Cow;

pub(crate) mod cosine;
pub(crate) mod judge;
pub(crate) mod label_model;
pub(crate) mod multi;
pub(crate) mod python;
pub(crate) mod score_model;
pub(crate) mod string_check;
pub(crate) mod text_similarity;

/// A compiled grader of any type except multi (which is the only one that holds others).
#[derive(Debug)]
pub(crate) enum Leaf {
    StringCheck(string_check::StringCheck),
    TextSimilarity(text_similarity::TextSimilarity),
    Python(python::Python),
    ScoreModel(score_model::ScoreModel),
    LabelModel(label_model::LabelModel),
}

/// Every question about a leaf is an exhaustive `match` over its type, here: a new grader
/// type does not compile until it says what it is called, what it costs, which template fields
/// it renders and what of the sample and item it can observe.
impl Leaf {
    /// The type of this leaf.
    pub(crate) fn kind(&self) -> GraderType {
        match self {
            Leaf::StringCheck(_) => GraderType::StringCheck,
            Leaf::TextSimilarity(_) => GraderType::TextSimilarity,
            Leaf::Python(_) => GraderType::Python,
            Leaf::ScoreModel(_) => GraderType::ScoreModel,
            Leaf::LabelModel(_) => GraderType::LabelModel,
        }
    }

    /// The cost of grading this leaf (how batches are scheduled, `CompiledGrader::schedule`).
    pub(crate) fn cost(&self) -> Cost {
        match self {
            Leaf::StringCheck(_) => Cost::Cpu,
            Leaf::TextSimilarity(t) if t.calls_embedder() => Cost::Io,
            Leaf::TextSimilarity(_) => Cost::Cpu,
            Leaf::Python(_) => Cost::Python,
            Leaf::ScoreModel(_) | Leaf::LabelModel(_) => Cost::Io,
        }
    }

    /// The template fields this leaf renders, in config order (its template references,
    /// `CompiledGrader::template_refs`).
    pub(crate) fn fields(&self) -> Vec<&Field> {
        match self {
            Leaf::StringCheck(g) => g.fields().to_vec(),
            Leaf::TextSimilarity(g) => g.fields().to_vec(),
            Leaf::Python(_) => Vec::new(),
            Leaf::ScoreModel(g) => g.messages().fields(),
            Leaf::LabelModel(g) => g.messages().fields(),
        }
    }

    /// Whether the grader sees the whole sample and item (python code, a judge's prompt may
    /// quote anything), not only what its templates name.
    fn sees_everything(&self) -> bool {
        match self {
            Leaf::StringCheck(_) | Leaf::TextSimilarity(_) => false,
            Leaf::Python(_) | Leaf::ScoreModel(_) | Leaf::LabelModel(_) => true,
        }
    }

    /// The parts of a text sample this grader can observe: those its templates name, or all
    /// of them for graders that see the whole sample (python, model graders).
    pub(crate) fn sample_parts(&self) -> SampleParts {
        if self.sees_everything() {
            return SampleParts::ALL;
        }
        parts_named_by(self.fields().into_iter().map(|f| &f.template))
    }

    /// The top-level item keys this grader can observe: those its templates name, or `None`
    /// when it can observe the whole item (python and model graders, `{{ item }}`).
    pub(crate) fn item_keys(&self) -> Option<Vec<String>> {
        if self.sees_everything() {
            return None;
        }
        keys_named_by(self.fields().into_iter().map(|f| &f.template))
    }

    /// Compiles a non-multi grader; `None` when errors were pushed.
    pub(crate) fn compile(
        g: &Grader,
        path: &str,
        opts: &EngineOptions,
        errs: &mut ConfigErrors,
    ) -> Option<Leaf> {
        match g {
            Grader::StringCheck(c) => {
                string_check::StringCheck::compile(c, path, opts, errs).map(Leaf::StringCheck)
            }
            Grader::TextSimilarity(c) => {
                text_similarity::TextSimilarity::compile(c, path, opts, errs)
                    .map(Leaf::TextSimilarity)
            }
            Grader::Python(c) => python::Python::compile(c, path, opts, errs).map(Leaf::Python),
            Grader::ScoreModel(c) => {
                score_model::ScoreModel::compile(c, path, opts, errs).map(Leaf::ScoreModel)
            }
            Grader::LabelModel(c) => {
                label_model::LabelModel::compile(c, path, opts, errs).map(Leaf::LabelModel)
            }
            Grader::Multi(_) => {
                errs.push(ConfigError::new(
                    join(path, "type"),
                    "a multi grader cannot contain another multi grader",
                ));
                None
            }
        }
    }

    /// [`Self::grade`] for a leaf that never records token usage (string_check,
    /// text_similarity with a local metric); `None` for the others.
    #[inline]
    pub(crate) fn grade_without_usage(&self, ctx: &dyn GradeInput) -> Option<Result<f64, Failure>> {
        match self {
            Leaf::StringCheck(g) => Some(g.grade(ctx)),
            Leaf::TextSimilarity(g) => g.grade_local(ctx),
            Leaf::Python(_) | Leaf::ScoreModel(_) | Leaf::LabelModel(_) => None,
        }
    }

    pub(crate) fn grade(&self, ctx: &dyn GradeInput, usage: &mut Usage) -> Result<f64, Failure> {
        match self {
            Leaf::StringCheck(g) => g.grade(ctx),
            Leaf::TextSimilarity(g) => g.grade(ctx, usage),
            Leaf::Python(g) => g.grade(ctx),
            Leaf::ScoreModel(g) => g.grade(ctx, usage),
            Leaf::LabelModel(g) => g.grade(ctx, usage),
        }
    }
}

/// `join("graders.a", "input")` = `graders.a.input`; the root path is empty.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else if key.starts_with('[') {
        format!("{path}{key}")
    } else {
        format!("{path}.{key}")
    }
}

/// A template field of a grader: the template, where it is in the config (for messages) and
/// the size budget of its rendering (`EngineOptions::max_field_bytes`).
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) template: Template,
    path: String,
    limit: usize,
    /// The template is this one reference, which an input may answer directly.
    direct: Option<Direct>,
}

impl Field {
    /// Where the field is in the config (`graders.b.input[1].content[2]`).
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Renders the field for a sample; a missing path is an `invalid_variable_error`, a
    /// rendering past the budget an `other_error` naming the field and the limit (measured
    /// before anything is allocated).
    pub(crate) fn render<'a>(&'a self, ctx: &'a dyn Scope) -> Result<Cow<'a, str>, Failure> {
        self.template
            .render_scoped(ctx, self.limit)
            .map_err(|e| match e {
                RenderError::Missing(m) => Failure::InvalidVariable(m.details),
                RenderError::TooLarge { at_least, limit } => {
                    Failure::Limit(too_large(&self.path, "rendered text", at_least, limit))
                }
            })
    }

    /// [`Self::render`] for a sample's input: a field that is one reference to a string the
    /// input holds at hand (`{{ sample.output_text }}`, `{{ item.reference }}` of a lean
    /// context) borrows it without walking the template; the same result either way.
    #[inline]
    pub(crate) fn render_input<'a>(
        &'a self,
        ctx: &'a dyn GradeInput,
    ) -> Result<Cow<'a, str>, Failure> {
        if let Some(s) = self.direct.as_ref().and_then(|d| ctx.direct(d)) {
            if s.len() <= self.limit {
                return Ok(Cow::Borrowed(s));
            }
        }
        self.render(ctx)
    }
}

/// The message of a value refused by the size budget of one field.
pub(crate) fn too_large(field: &str, what: &str, at_least: usize, limit: usize) -> String {
    format!(
        "{field}: the {what} is larger than the limit of {limit} bytes per field \
         (at least {at_least} bytes); the limit is set by --max-field-bytes"
    )
}

/// Parses a template field, reporting a parse error at `path`.
pub(crate) fn template(
    src: &str,
    path: String,
    opts: &EngineOptions,
    errs: &mut ConfigErrors,
) -> Option<Field> {
    match Template::parse(src) {
        Ok(template) => Some(Field {
            direct: template.single_ref().and_then(Direct::of),
            template,
            path,
            limit: opts.field_limit(),
        }),
        Err(e) => {
            errs.push(ConfigError::with(
                ConfigErrorKind::TemplateSyntax,
                path,
                e.to_string(),
            ));
            None
        }
    }
}

/// The sample parts that `templates` reference. A reference to the whole `sample` needs all;
/// a name that no text sample has is missing with or without the optional parts.
fn parts_named_by<'a>(templates: impl Iterator<Item = &'a Template>) -> SampleParts {
    let mut parts = SampleParts::TEXT;
    let sample_refs = templates
        .flat_map(|t| t.refs())
        .filter(|p| p.root == TemplateRoot::Sample);
    for path in sample_refs {
        match path.steps.first() {
            None => return SampleParts::ALL,
            Some(Step::Key(k)) => match k.as_str() {
                "output_json" => parts.output_json = true,
                "output_tools" => parts.output_tools = true,
                "choices" => parts.choices = true,
                _ => {}
            },
            Some(Step::Index(_)) => {}
        }
    }
    parts
}

/// The top-level item keys that `templates` reference, in first-use order; `None` when one
/// references the whole item or indexes it (`{{ item }}`, `{{ item[0] }}`).
fn keys_named_by<'a>(templates: impl Iterator<Item = &'a Template>) -> Option<Vec<String>> {
    let mut keys: Vec<String> = Vec::new();
    let item_refs = templates
        .flat_map(|t| t.refs())
        .filter(|p| p.root == TemplateRoot::Item);
    for path in item_refs {
        match path.steps.first() {
            Some(Step::Key(k)) => {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
            None | Some(Step::Index(_)) => return None,
        }
    }
    Some(keys)
}
