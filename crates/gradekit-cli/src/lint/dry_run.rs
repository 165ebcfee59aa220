//! The constant-reward check: a dry run grades the rows and reports a reward (top level, or of
//! a multi sub-grader) that is the same on every row. Graders that cost time or money (python
//! workers, judge and embedding calls — the compiled grader's
//! [`gradekit_engine::Schedule::costly`]) are left out unless `--dry-run-all`; a multi grader
//! with such sub-graders has its cheap sub-graders compiled and graded on their own.

use super::groups::Group;
use super::Finding;
use gradekit_engine::{CompiledGrader, Cost, EvalContext, GradeResult};
use indexmap::IndexMap;
use serde_json::{json, Value};

/// A grader being dry-run, and how its results are read.
#[derive(Debug)]
pub(super) enum Dry {
    /// The whole grader: top-level reward and its sub-rewards.
    Whole(Box<CompiledGrader>),
    /// A multi grader with costly parts: its cheap sub-graders on their own.
    Subs(Vec<(String, CompiledGrader)>),
    Skipped(String),
}

/// Tracks whether a value is the same on every row.
#[derive(Debug, Default)]
pub(super) struct Constancy {
    first: Option<f64>,
    varies: bool,
    rows: u64,
    flagged: IndexMap<String, u64>,
}

impl Constancy {
    fn add(&mut self, v: f64, flags: Option<&GradeResult>) {
        self.rows += 1;
        match self.first {
            None => self.first = Some(v),
            Some(f) if f.to_bits() != v.to_bits() && f != v => self.varies = true,
            Some(_) => {}
        }
        if let Some(r) = flags {
            for f in r.errors.set_flags() {
                *self.flagged.entry(f.to_string()).or_insert(0) += 1;
            }
        }
    }
}

/// What to dry-run: the whole grader, its cheap sub-graders, or nothing.
pub(super) fn plan(
    g: &Value,
    full: CompiledGrader,
    opts: &gradekit_engine::EngineOptions,
    all: bool,
) -> Dry {
    if all || !full.schedule().costly() {
        return Dry::Whole(Box::new(full));
    }
    let subs = full.sub_graders();
    if subs.is_empty() {
        return Dry::Skipped(format!(
            "no dry run: a {} grader calls python or a model (--dry-run-all grades it)",
            full.kind()
        ));
    }
    let mut cheap = Vec::new();
    for s in subs.iter().filter(|s| s.cost == Cost::Cpu) {
        let Some(config) = g.get("graders").and_then(|m| m.get(&s.key)) else {
            continue;
        };
        if let Ok(c) = gradekit_engine::compile(config, opts) {
            cheap.push((s.key.clone(), c));
        }
    }
    if cheap.is_empty() {
        return Dry::Skipped(
            "no dry run: every sub-grader calls python or a model (--dry-run-all grades them)"
                .into(),
        );
    }
    Dry::Subs(cheap)
}

pub(super) fn grade_batch(
    dry: &Dry,
    batch: &[(u64, EvalContext, Option<String>)],
    top: &mut Constancy,
    subs: &mut IndexMap<String, Constancy>,
    groups: &mut IndexMap<String, Group>,
) {
    let ctxs: Vec<EvalContext> = batch.iter().map(|b| b.1.clone()).collect();
    match dry {
        Dry::Skipped(_) => {}
        Dry::Whole(g) => {
            for (r, (_, _, group)) in g.grade_batch(&ctxs).iter().zip(batch) {
                top.add(r.reward, Some(r));
                for (k, v) in &r.sub_rewards {
                    subs.entry(k.clone()).or_default().add(*v, None);
                }
                if let Some(gr) = group.as_ref().and_then(|k| groups.get_mut(k)) {
                    gr.rows += 1;
                    match gr.first {
                        None => gr.first = Some(r.reward),
                        Some(f) if f != r.reward => gr.varies = true,
                        Some(_) => {}
                    }
                }
            }
        }
        Dry::Subs(list) => {
            for (k, g) in list {
                let c = subs.entry(k.clone()).or_default();
                for r in g.grade_batch(&ctxs) {
                    c.add(r.reward, Some(&r));
                }
            }
        }
    }
}

pub(super) fn fmt_reward(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

pub(super) fn constant_findings(
    top: &Constancy,
    subs: &IndexMap<String, Constancy>,
    whole: bool,
    out: &mut Vec<Finding>,
) {
    let mut one = |what: String, c: &Constancy, key: Option<&str>| {
        let Some(v) = c.first else { return };
        if c.varies || c.rows < 2 {
            return;
        }
        let mut msg = format!("{what} is {} on all {} rows", fmt_reward(v), c.rows);
        if let Some((flag, n)) = c.flagged.iter().max_by_key(|(_, n)| **n) {
            msg.push_str(&format!(" ({flag} on {n} of them)"));
        }
        out.push(Finding {
            check: "constant_reward",
            message: msg,
            data: json!({"grader": key, "value": v, "rows": c.rows, "errors": c.flagged}),
        });
    };
    if whole {
        one("the reward".into(), top, None);
    }
    for (k, c) in subs {
        one(format!("sub-grader `{k}`"), c, Some(k));
    }
}
