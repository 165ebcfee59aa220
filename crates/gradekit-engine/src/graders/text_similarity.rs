//! `text_similarity`: a metric of gradekit-metrics over the rendered input and reference.

use super::{join, template, Field};
use crate::context::GradeInput;
use crate::result::{Failure, Usage};
use crate::EngineOptions;
use gradekit_model::{ConfigErrors, Metric, TextSimilarityGrader};

#[derive(Debug)]
pub(crate) struct TextSimilarity {
    input: Field,
    reference: Field,
    scorer: Scorer,
    /// `PATH.input and PATH.reference`: the fields a metric limit error names.
    fields: String,
}

/// How a metric is scored, decided once at compile time.
#[derive(Debug)]
enum Scorer {
    /// A pure function of gradekit-metrics, on this thread.
    Local(gradekit_metrics::Metric),
    /// `cosine`: two embeddings from the judge client's embedder (issue #5).
    Cosine(super::cosine::Cosine),
}

impl TextSimilarity {
    /// True for `cosine`, which calls an embedder.
    pub(crate) fn calls_embedder(&self) -> bool {
        matches!(self.scorer, Scorer::Cosine(_))
    }

    /// The template fields rendered per sample.
    pub(crate) fn fields(&self) -> [&Field; 2] {
        [&self.input, &self.reference]
    }

    pub(crate) fn compile(
        c: &TextSimilarityGrader,
        path: &str,
        opts: &EngineOptions,
        errs: &mut ConfigErrors,
    ) -> Option<TextSimilarity> {
        let input = template(&c.input, join(path, "input"), opts, errs);
        let reference = template(&c.reference, join(path, "reference"), opts, errs);
        let scorer = match local_metric(c.evaluation_metric) {
            Some(m) => {
                // Its tables may be mapped ahead by an idle thread (`score`'s I/O thread).
                gradekit_metrics::warm::expect(m);
                Scorer::Local(m)
            }
            None => match super::cosine::Cosine::new(opts) {
                Ok(cos) => Scorer::Cosine(cos),
                Err(e) => {
                    errs.push(gradekit_model::ConfigError::new(
                        join(path, "evaluation_metric"),
                        e.to_string(),
                    ));
                    return None;
                }
            },
        };
        Some(TextSimilarity {
            input: input?,
            reference: reference?,
            scorer,
            fields: format!("{} and {}", join(path, "input"), join(path, "reference")),
        })
    }

    /// The primary variant of each metric (DESIGN.md §4), from gradekit-metrics' checked entry
    /// point: a pair whose exact score would cost more than the metric's limit (rouge_l's LCS,
    /// fuzzy_match's Indel/partial_ratio on long texts) is refused with `other_error` instead
    /// of stalling a thread. The metrics are total functions into [0, 1] otherwise; a
    /// non-finite value would be an engine bug and is reported as `other_error` by the caller
    /// rather than passed on.
    pub(crate) fn grade(&self, ctx: &dyn GradeInput, usage: &mut Usage) -> Result<f64, Failure> {
        match &self.scorer {
            Scorer::Cosine(cos) => {
                let input = self.input.render_input(ctx)?;
                let reference = self.reference.render_input(ctx)?;
                cos.score(&input, &reference, usage)
            }
            Scorer::Local(m) => self.local(*m, ctx),
        }
    }

    /// [`Self::grade`] when the metric is local (it records no usage); `None` for `cosine`.
    #[inline]
    pub(crate) fn grade_local(&self, ctx: &dyn GradeInput) -> Option<Result<f64, Failure>> {
        match self.scorer {
            Scorer::Local(m) => Some(self.local(m, ctx)),
            Scorer::Cosine(_) => None,
        }
    }

    #[inline]
    fn local(&self, m: gradekit_metrics::Metric, ctx: &dyn GradeInput) -> Result<f64, Failure> {
        let input = self.input.render_input(ctx)?;
        let reference = self.reference.render_input(ctx)?;
        gradekit_metrics::score(m, &input, &reference).map_err(|e| self.limit_failure(e))
    }

    #[cold]
    fn limit_failure(&self, e: gradekit_metrics::LimitError) -> Failure {
        Failure::Limit(format!(
            "{}: {e}; a longer text against a short one is accepted",
            self.fields
        ))
    }
}

/// The wire metric as a local metric of gradekit-metrics; `None` for `cosine`, which embeds
/// through the judge client. Exhaustive: a new `Metric` does not compile until it is mapped.
fn local_metric(m: Metric) -> Option<gradekit_metrics::Metric> {
    use gradekit_metrics::Metric as M;
    Some(match m {
        Metric::FuzzyMatch => M::FuzzyMatch,
        Metric::Bleu => M::Bleu,
        Metric::Gleu => M::Gleu,
        Metric::Meteor => M::Meteor,
        Metric::Rouge1 => M::RougeN(1),
        Metric::Rouge2 => M::RougeN(2),
        Metric::Rouge3 => M::RougeN(3),
        Metric::Rouge4 => M::RougeN(4),
        Metric::Rouge5 => M::RougeN(5),
        Metric::RougeL => M::RougeL,
        Metric::Cosine => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::{compile, EngineOptions, EvalContext};
    use serde_json::json;

    fn words(n: usize, seed: u64) -> String {
        let mut s = seed;
        let mut out = String::new();
        for _ in 0..n {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            out.push_str(["alpha ", "beta ", "gamma ", "delta ", "eps "][(s >> 40) as usize % 5]);
        }
        out
    }

    /// A pair over a metric's cost limit is that sample's `other_error`, with details naming
    /// the metric, both fields and the limit; its neighbours are graded.
    #[test]
    fn metric_limit_is_other_error_with_details() {
        for metric in ["rouge_l", "fuzzy_match"] {
            let g = compile(
                &json!({"type": "multi", "calculate_output": "s",
                        "graders": {"s": {"type": "text_similarity", "name": "s",
                            "evaluation_metric": metric,
                            "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"}}}),
                &EngineOptions::default(),
            )
            .unwrap();
            let (long_a, long_b) = (words(300_000, 1), words(300_000, 2));
            let small = EvalContext::from_text("alpha beta", Some(json!({"r": "alpha beta"})));
            let big = EvalContext::from_text(&long_a, Some(json!({"r": long_b})));
            let rs = g.grade_batch(&[small.clone(), big, small]);
            assert_eq!((rs[0].reward, rs[2].reward), (1.0, 1.0), "{metric}");
            assert!(rs[0].errors.is_clean());
            assert_eq!(rs[1].reward, 0.0);
            assert!(rs[1].errors.other_error);
            let d = rs[1].errors.other_error_details.as_deref().unwrap();
            assert!(
                d.starts_with("graders.s.input and graders.s.reference: "),
                "{d}"
            );
            assert!(d.contains(metric) && d.contains("limit"), "{d}");
        }
    }
}
