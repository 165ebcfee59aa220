//! Ask the compiled grader: how to schedule it, what it is made of, what it reads.
//!
//! The edges (CLI `score`/`lint`, the server's workers and cache, the Python bindings, the fuzz
//! targets) used to answer "is this grader python / I/O-bound / costly?" by matching `type`
//! strings in raw JSON, four different ways, and a python sub-grader inside a multi was missed
//! by some. The answers now come from the compiled tree, through exhaustive matches over the
//! grader types (`Leaf::cost`, `Leaf::kind` in `graders/mod.rs`): adding a grader type does
//! not compile until it says how it is scheduled.

use crate::compile::CompiledGrader;
use crate::graders::Leaf;

/// What grading one (sub-)grader costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cost {
    /// CPU work in this process (string_check, local text_similarity metrics).
    Cpu,
    /// Frames of samples to python workers (python graders).
    Python,
    /// Calls to a judge or an embedder (score_model, label_model, cosine).
    Io,
}

/// How to schedule a grader, over all of its sub-graders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Some part runs python code (samples go to the python workers in frames).
    pub python: bool,
    /// Some part calls a judge or an embedder: the width of the I/O pool a batch runs on
    /// (`EngineOptions::judge_concurrency`). `None` when nothing does.
    pub io_width: Option<usize>,
}

impl Schedule {
    /// Only CPU work in this process: grade on the cores, no pool of its own needed.
    pub fn cpu_only(&self) -> bool {
        !self.python && self.io_width.is_none()
    }

    /// Grading costs time or money beyond the CPU (python workers, judge calls): what `lint`
    /// leaves out of its dry run unless asked.
    pub fn costly(&self) -> bool {
        !self.cpu_only()
    }

    /// Waits on something other than this process's cores (python workers or a judge): run it
    /// off the async workers and wider than the cores.
    pub fn io_bound(&self) -> bool {
        self.costly()
    }
}

/// One sub-grader of a multi grader, as the compiled grader sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SubGrader {
    /// Its key in `graders` (the formula's variable).
    pub key: String,
    /// The wire `type`.
    pub kind: &'static str,
    pub cost: Cost,
    /// `calculate_output` references it (false when the formula did not parse).
    pub in_formula: bool,
    /// The key is an identifier, so a formula can name it.
    pub identifier: bool,
}

impl CompiledGrader {
    /// How to schedule this grader, recursively over a multi grader's sub-graders.
    pub fn schedule(&self) -> Schedule {
        let costs = self.leaves().into_iter().map(Leaf::cost);
        let (mut python, mut io) = (false, false);
        for c in costs {
            match c {
                Cost::Cpu => {}
                Cost::Python => python = true,
                Cost::Io => io = true,
            }
        }
        Schedule {
            python,
            io_width: if io { self.io_width() } else { None },
        }
    }

    /// A multi grader's sub-graders, in config order (empty for other types).
    pub fn sub_graders(&self) -> Vec<SubGrader> {
        let Some(m) = self.multi() else {
            return Vec::new();
        };
        let used = m.referenced_slots();
        m.keys()
            .iter()
            .zip(m.subs())
            .enumerate()
            .map(|(i, (key, leaf))| SubGrader {
                key: key.clone(),
                kind: leaf.kind().as_str(),
                cost: leaf.cost(),
                in_formula: used.contains(&i),
                identifier: gradekit_formula::is_identifier(key),
            })
            .collect()
    }

    /// Grades a batch on the caller's rayon pool (results in input order), where
    /// [`Self::grade_batch`] would pick the pool itself. Python graders still send frames to
    /// their own workers; graders that call a judge run as wide as `pool`.
    pub fn grade_batch_on(
        &self,
        pool: &rayon::ThreadPool,
        ctxs: &[crate::EvalContext],
    ) -> Vec<crate::GradeResult> {
        use rayon::prelude::*;
        if self.grades_in_frames() {
            return self.grade_batch(ctxs);
        }
        pool.install(|| ctxs.par_iter().map(|c| self.grade(c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::{compile, EngineOptions};
    use serde_json::json;

    fn sc() -> serde_json::Value {
        json!({"type": "string_check", "input": "{{ sample.output_text }}", "reference": "x",
               "operation": "eq"})
    }

    #[test]
    fn schedule_looks_inside_multi() {
        let opts = EngineOptions::default();
        let g = compile(&sc(), &opts).expect("valid");
        assert!(g.schedule().cpu_only());
        assert!(g.sub_graders().is_empty());
        let judge = json!({"type": "score_model", "model": "m",
                           "input": [{"role": "user", "content": "x"}]});
        let m = json!({"type": "multi", "calculate_output": "a", "graders": {
            "a": sc(), "b": judge, "c-d": sc()}});
        let g = compile(&m, &opts).expect("valid");
        let s = g.schedule();
        assert!(!s.python && s.io_width.is_some() && s.costly());
        let subs = g.sub_graders();
        let seen: Vec<(&str, bool, bool, bool)> = subs
            .iter()
            .map(|s| {
                (
                    s.key.as_str(),
                    s.in_formula,
                    s.identifier,
                    s.cost == super::Cost::Io,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("a", true, true, false),
                ("b", false, true, true),
                ("c-d", false, false, false)
            ]
        );
    }
}
