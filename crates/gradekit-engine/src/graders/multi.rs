//! `multi`: sub-graders bound to the variables of a `calculate_output` formula.
//!
//! Every sub-grader is graded; a failed one counts 0 and its flags are kept. The formula is
//! parsed once at compile time with the graders' keys as variable slots. A non-finite result
//! is reward 0 with `other_error`; a finite one is not clamped.

use super::{join, Leaf};
use crate::context::GradeInput;
use crate::result::{Failure, Usage};
use crate::EngineOptions;
use gradekit_formula::Formula;
use gradekit_model::{display_key, ConfigError, ConfigErrors, ErrorFlags, MultiGrader};
use indexmap::IndexMap;

#[derive(Debug)]
pub(crate) struct Multi {
    keys: Vec<String>,
    subs: Vec<Leaf>,
    /// `None` when the formula did not parse and the grader was compiled for `/run`, which
    /// answers such a grader with `formula_parse_error`.
    formula: Option<Formula>,
}

/// What grading a multi grader produced.
pub(crate) struct MultiOutcome {
    pub(crate) reward: f64,
    pub(crate) sub_rewards: IndexMap<String, f64>,
    pub(crate) errors: ErrorFlags,
}

impl Multi {
    /// The slots (indexes into [`Self::keys`]) `calculate_output` references; none when it
    /// did not parse.
    pub(crate) fn referenced_slots(&self) -> Vec<usize> {
        self.formula
            .as_ref()
            .map(Formula::referenced_slots)
            .unwrap_or_default()
    }

    /// The sub-graders, in config order.
    pub(crate) fn subs(&self) -> &[Leaf] {
        &self.subs
    }

    pub(crate) fn compile(
        c: &MultiGrader,
        opts: &EngineOptions,
        errs: &mut ConfigErrors,
    ) -> Option<Multi> {
        let mut subs = Vec::with_capacity(c.graders.len());
        let mut ok = true;
        for (key, g) in &c.graders {
            let path = join("graders", &display_key(key));
            match Leaf::compile(g, &path, opts, errs) {
                Some(l) => subs.push(l),
                None => ok = false,
            }
        }
        let keys: Vec<String> = c.graders.keys().cloned().collect();
        let vars: Vec<&str> = keys.iter().map(String::as_str).collect();
        let formula = parse_formula(&c.calculate_output, &vars, errs);
        ok.then_some(Multi {
            keys,
            subs,
            formula,
        })
    }

    pub(crate) fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Grades every sub-grader; with a `cancel` token that fires, stops before the next one
    /// and answers the sample `other_error` ("cancelled").
    pub(crate) fn grade(
        &self,
        ctx: &dyn GradeInput,
        usage: &mut Usage,
        cancel: Option<&crate::cancel::Cancel>,
    ) -> MultiOutcome {
        let mut errors = ErrorFlags::default();
        let Some(formula) = &self.formula else {
            Failure::FormulaParse.apply(&mut errors);
            return MultiOutcome {
                reward: 0.0,
                sub_rewards: IndexMap::new(),
                errors,
            };
        };
        let mut values = Vec::with_capacity(self.subs.len());
        let mut sub_rewards = IndexMap::with_capacity(self.subs.len());
        for (key, sub) in self.keys.iter().zip(&self.subs) {
            if cancel.is_some_and(crate::cancel::Cancel::is_cancelled) {
                Failure::Limit(crate::cancel::CANCELLED.into()).apply(&mut errors);
                return MultiOutcome {
                    reward: 0.0,
                    sub_rewards,
                    errors,
                };
            }
            let graded = match (sub, cancel) {
                // A python sub-grader's call is stopped, not only skipped, once the token fires.
                (Leaf::Python(p), Some(c)) => p.grade_until(ctx, c),
                _ => sub.grade(ctx, usage),
            };
            let r = match graded {
                Ok(r) if r.is_finite() => r,
                Ok(_) => {
                    Failure::Other.apply(&mut errors);
                    0.0
                }
                Err(f) => {
                    f.apply(&mut errors);
                    0.0
                }
            };
            values.push(r);
            sub_rewards.insert(key.clone(), r);
        }
        let mut reward = formula.eval(&values);
        if !reward.is_finite() {
            Failure::Other.apply(&mut errors);
            reward = 0.0;
        }
        MultiOutcome {
            reward,
            sub_rewards,
            errors,
        }
    }
}

/// Parses `calculate_output` with the sub-graders' keys as its variables, reporting a fault at
/// `calculate_output` with the formula crate's code. Also run on the formula outline of a
/// multi grader whose sub-graders failed to read, so that `/validate` reports every fault.
pub(crate) fn parse_formula(src: &str, vars: &[&str], errs: &mut ConfigErrors) -> Option<Formula> {
    Formula::parse(src, vars)
        .map_err(|e| {
            errs.push(ConfigError::formula(
                "calculate_output",
                e.kind.code(),
                e.to_string(),
            ))
        })
        .ok()
}
