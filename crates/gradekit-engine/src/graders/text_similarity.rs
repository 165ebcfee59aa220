//! `text_similarity`: a metric of gradekit-metrics over the rendered input and reference.

use super::{join, not_supported, template, Field};
use crate::context::EvalContext;
use crate::result::{Failure, Usage};
use crate::EngineOptions;
use gradekit_model::{ConfigErrors, Metric, TextSimilarityGrader};
use gradekit_template::Template;

#[derive(Debug)]
pub(crate) struct TextSimilarity {
    input: Field,
    reference: Field,
    metric: Metric,
    /// Set for `cosine`, which embeds through the judge client (issue #5).
    cosine: Option<super::cosine::Cosine>,
}

impl TextSimilarity {
    /// The templates rendered per sample.
    pub(crate) fn templates(&self) -> [&Template; 2] {
        [&self.input.template, &self.reference.template]
    }

    pub(crate) fn compile(
        c: &TextSimilarityGrader,
        path: &str,
        opts: &EngineOptions,
        errs: &mut ConfigErrors,
    ) -> Option<TextSimilarity> {
        let input = template(&c.input, join(path, "input"), opts, errs);
        let reference = template(&c.reference, join(path, "reference"), opts, errs);
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
        let input = self.input.render(ctx)?;
        let reference = self.reference.render(ctx)?;
        if let Some(cos) = &self.cosine {
            return cos.score(&input, &reference, usage);
        }
        score(self.metric, &input, &reference)
    }
}

fn metric_available(m: Metric) -> bool {
    m != Metric::Cosine
}

/// The primary variant of each metric (DESIGN.md §4), from gradekit-metrics. The metrics are
/// total functions into [0, 1]; a non-finite value would be an engine bug and is reported as
/// `other_error` by the caller rather than passed on.
fn score(m: Metric, input: &str, reference: &str) -> Result<f64, Failure> {
    use gradekit_metrics as gm;
    Ok(match m {
        Metric::FuzzyMatch => gm::fuzzy::fuzzy_match(input, reference),
        Metric::Bleu => gm::bleu::bleu(input, reference),
        Metric::Gleu => gm::gleu::gleu(input, reference),
        Metric::Meteor => gm::meteor::meteor(input, reference),
        Metric::Rouge1 => gm::rouge::rouge_n(input, reference, 1),
        Metric::Rouge2 => gm::rouge::rouge_n(input, reference, 2),
        Metric::Rouge3 => gm::rouge::rouge_n(input, reference, 3),
        Metric::Rouge4 => gm::rouge::rouge_n(input, reference, 4),
        Metric::Rouge5 => gm::rouge::rouge_n(input, reference, 5),
        Metric::RougeL => gm::rouge::rouge_l(input, reference),
        Metric::Cosine => return Err(Failure::Other),
    })
}
