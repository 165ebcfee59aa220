//! `text_similarity`: a metric of gradekit-metrics over the rendered input and reference.

use super::{join, not_supported, render, template};
use crate::context::EvalContext;
use crate::result::{Failure, Usage};
use crate::EngineOptions;
use gradekit_model::{ConfigErrors, Metric, TextSimilarityGrader};
use gradekit_template::Template;

#[derive(Debug)]
pub(crate) struct TextSimilarity {
    input: Template,
    reference: Template,
    metric: Metric,
    /// Set for `cosine`, which embeds through the judge client (issue #5).
    cosine: Option<super::cosine::Cosine>,
}

impl TextSimilarity {
    pub(crate) fn compile(
        c: &TextSimilarityGrader,
        path: &str,
        opts: &EngineOptions,
        errs: &mut ConfigErrors,
    ) -> Option<TextSimilarity> {
        let input = template(&c.input, join(path, "input"), errs);
        let reference = template(&c.reference, join(path, "reference"), errs);
        let cosine = if c.evaluation_metric == Metric::Cosine {
            match super::cosine::Cosine::new(opts) {
                Ok(cos) => Some(cos),
                Err(e) => {
                    errs.push(gradekit_model::ConfigError::new(
                        join(path, "evaluation_metric"),
                        e.to_string(),
                    ));
                    return None;
                }
            }
        } else {
            None
        };
        if cosine.is_none() && !metric_available(c.evaluation_metric) {
            let issue = if c.evaluation_metric == Metric::Cosine {
                5
            } else {
                3
            };
            let mut e = not_supported(
                path,
                &format!(
                    "text_similarity metric \"{}\"",
                    c.evaluation_metric.as_str()
                ),
                issue,
            );
            e.path = join(path, "evaluation_metric");
            errs.push(e);
            return None;
        }
        Some(TextSimilarity {
            input: input?,
            reference: reference?,
            metric: c.evaluation_metric,
            cosine,
        })
    }

    pub(crate) fn grade(&self, ctx: &EvalContext, usage: &mut Usage) -> Result<f64, Failure> {
        let input = render(&self.input, ctx)?;
        let reference = render(&self.reference, ctx)?;
        if let Some(cos) = &self.cosine {
            return cos.score(&input, &reference, usage);
        }
        score(self.metric, &input, &reference)
    }
}

fn metric_available(_m: Metric) -> bool {
    false
}

fn score(_m: Metric, _input: &str, _reference: &str) -> Result<f64, Failure> {
    Err(Failure::Other)
}
