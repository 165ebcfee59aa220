//! Grading batches of samples in any shape ([`GradeInput`]) on the caller's pool.
//!
//! The edges that hold their samples in another shape than JSON trees (the Python bindings'
//! borrowed `str` objects and Arrow buffers, as [`crate::LeanContext`]s) grade them here, with
//! the same scheduling rules as [`CompiledGrader::grade_batch`]: python graders send frames to
//! their workers (their contexts built as JSON, which is what the workers read), graders that
//! call a judge run on the engine's I/O pool, and CPU-bound graders on the pool the caller
//! sized — or on the calling thread, which for one thread saves a hand-off per batch.

use crate::cancel::{Cancel, CANCELLED};
use crate::compile::{failed, CompiledGrader};
use crate::context::{EvalContext, GradeInput};
use crate::result::{Failure, GradeResult};
use rayon::prelude::*;

impl CompiledGrader {
    /// Grades `inputs` in input order, one result each, on `pool` (the calling thread when
    /// `None`). Once `cancel` fires, the samples not graded yet are answered `other_error`
    /// ("cancelled"); it is checked before every sample (python: every frame).
    pub fn grade_inputs<I: GradeInput>(
        &self,
        inputs: &[I],
        pool: Option<&rayon::ThreadPool>,
        cancel: &Cancel,
    ) -> Vec<GradeResult> {
        self.grade_inputs_map(inputs, pool, cancel, |r| r)
    }

    /// [`Self::grade_inputs`] keeping only `map` of each result, applied on the grading thread
    /// as soon as the sample is graded (a caller that wants rewards never holds a batch of
    /// whole results: they are large, and moving them around costs more than a string_check).
    pub fn grade_inputs_map<I, T, F>(
        &self,
        inputs: &[I],
        pool: Option<&rayon::ThreadPool>,
        cancel: &Cancel,
        map: F,
    ) -> Vec<T>
    where
        I: GradeInput,
        T: Send,
        F: Fn(GradeResult) -> T + Sync + Send,
    {
        if self.grades_in_frames() {
            let ctxs: Vec<EvalContext> = inputs
                .iter()
                .map(|i| i.eval_context().into_owned())
                .collect();
            let rs = self.grade_batch_cancellable(&ctxs, cancel);
            return rs.into_iter().map(map).collect();
        }
        let one = |i: &I| {
            map(if cancel.is_cancelled() {
                failed(Failure::Limit(CANCELLED.into()), 0.0)
            } else {
                self.grade_inner(i, Some(cancel))
            })
        };
        if let Some(io) = self.io_width().and_then(crate::io_pool::pool) {
            return io.install(|| inputs.par_iter().map(one).collect());
        }
        match pool {
            Some(p) => p.install(|| inputs.par_iter().map(one).collect()),
            None => inputs.iter().map(one).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::{compile, Cancel, EngineOptions, EvalContext, LeanContext, LeanItem, LeanSample};
    use serde_json::json;

    #[test]
    fn batches_in_order_on_any_pool_and_cancel() {
        let g = compile(
            &json!({"type": "string_check", "operation": "eq",
                    "input": "{{ sample.output_text }}", "reference": "a"}),
            &EngineOptions::default(),
        )
        .unwrap();
        let texts: Vec<String> = (0..500)
            .map(|i| if i % 3 == 0 { "a" } else { "b" }.to_string())
            .collect();
        let lean: Vec<LeanContext<'_>> = texts
            .iter()
            .map(|t| LeanContext::new(LeanSample::Text(t), LeanItem::Empty, &[], g.sample_parts()))
            .collect();
        let ctxs: Vec<EvalContext> = texts
            .iter()
            .map(|t| EvalContext::from_text(t, None))
            .collect();
        let want: Vec<f64> = g.grade_batch(&ctxs).iter().map(|r| r.reward).collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        for p in [None, Some(&pool)] {
            let got: Vec<f64> = g
                .grade_inputs(&lean, p, &Cancel::new())
                .iter()
                .map(|r| r.reward)
                .collect();
            assert_eq!(got, want);
        }
        let cancel = Cancel::new();
        cancel.cancel();
        let rs = g.grade_inputs(&lean, Some(&pool), &cancel);
        assert_eq!(rs.len(), lean.len());
        assert!(rs.iter().all(|r| r.errors.other_error && r.reward == 0.0));
    }
}
