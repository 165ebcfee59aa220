//! From grader JSON to a [`CompiledGrader`], and the `validate` echo.

use crate::cancel::{Cancel, CANCELLED};
use crate::context::{EvalContext, GradeInput};
use crate::graders::multi::Multi;
use crate::graders::Leaf;
use crate::name::generated_name;
use crate::result::{Compact, Failure, GradeResult, Usage};
use crate::EngineOptions;
use gradekit_model::{ConfigErrors, ErrorFlags, Grader, RunResponse, SampleParts};
use indexmap::IndexMap;
use rayon::prelude::*;
use serde_json::Value;
use std::time::Instant;

#[derive(Debug)]
enum Root {
    Leaf(Leaf),
    Multi(Multi),
}

/// A grader ready to grade: immutable, `Send + Sync`, cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct CompiledGrader {
    name: String,
    kind: &'static str,
    pass_threshold: Option<f64>,
    root: Root,
    /// Width of the I/O pool for batches, when grading calls a judge (see [`Self::io_width`]).
    io_width: Option<usize>,
    /// What of a text sample the grader can observe (see [`Self::context_from_text`]).
    sample_parts: SampleParts,
    /// The top-level item keys the grader can observe (see [`Self::item_keys`]).
    item_keys: Option<Vec<String>>,
    /// Largest sample text graded, in bytes (`EngineOptions::max_field_bytes`).
    field_limit: usize,
    /// Every template reference with the fields that use it (see [`Self::template_refs`]).
    template_refs: Vec<crate::TemplateRef>,
    /// The typed config it was compiled from: the source of the echo.
    grader: Grader,
}

/// Samples per python frame in a cancellable batch: the token is checked between frames.
const PY_FRAME: usize = 256;

/// Compiles a grader, rejecting it on any fault (what `/validate` does). Errors carry paths
/// relative to the grader (`graders.email.operation`).
pub fn compile(grader: &Value, opts: &EngineOptions) -> Result<CompiledGrader, ConfigErrors> {
    match compile_inner(grader, opts) {
        (Some(g), errs) if errs.is_empty() => Ok(g),
        (_, errs) => Err(errs),
    }
}

/// Compiles a grader for `/run`: like [`compile`], except that a multi grader whose only
/// fault is its formula compiles, and grades every sample to 0 with `formula_parse_error`.
pub fn compile_for_run(
    grader: &Value,
    opts: &EngineOptions,
) -> Result<CompiledGrader, ConfigErrors> {
    match compile_inner(grader, opts) {
        (Some(g), errs) if errs.is_empty() || errs.only_formula() => Ok(g),
        (_, errs) => Err(errs),
    }
}

/// `/validate`: compiles the grader and returns its echo — the grader as given (key order,
/// nulls and numbers as written), with the `neq` alias written `ne` and a generated `name`
/// added when it had none. Written from the typed grader ([`Grader::to_value`]), so reading
/// the echo back gives the same grader.
pub fn validate(grader: &Value, opts: &EngineOptions) -> Result<Value, ConfigErrors> {
    Ok(compile(grader, opts)?.echo())
}

fn compile_inner(v: &Value, opts: &EngineOptions) -> (Option<CompiledGrader>, ConfigErrors) {
    let grader = match Grader::read(v) {
        Ok(g) => g,
        Err(unread) => {
            // Report a bad formula too, even when a sub-grader is broken: the keys are known.
            let mut errs = unread.errors;
            if let Some(f) = unread.formula {
                let vars: Vec<&str> = f.variables.iter().map(String::as_str).collect();
                crate::graders::multi::parse_formula(&f.calculate_output, &vars, &mut errs);
            }
            return (None, errs);
        }
    };
    let mut errs = ConfigErrors::default();
    let root = match &grader {
        Grader::Multi(m) => Multi::compile(m, opts, &mut errs).map(Root::Multi),
        other => Leaf::compile(other, "", opts, &mut errs).map(Root::Leaf),
    };
    let name = match grader.name() {
        Some(n) => n.to_string(),
        None => generated_name(&grader),
    };
    let compiled = root.map(|root| {
        let leaves: Vec<&Leaf> = match &root {
            Root::Leaf(leaf) => vec![leaf],
            Root::Multi(m) => m.subs().iter().collect(),
        };
        CompiledGrader {
            // Distinct keys in first-use order; the set keeps it linear in the keys (a multi of
            // 50,000 sub-graders each reading its own key was quadratic with `Vec::contains`).
            item_keys: {
                let mut seen = std::collections::HashSet::new();
                leaves.iter().try_fold(Vec::new(), |mut keys, leaf| {
                    for k in leaf.item_keys()? {
                        if seen.insert(k.clone()) {
                            keys.push(k);
                        }
                    }
                    Some(keys)
                })
            },
            sample_parts: leaves
                .iter()
                .fold(SampleParts::TEXT, |p, leaf| p.union(leaf.sample_parts())),
            template_refs: crate::refs::collect(leaves.iter().flat_map(|l| l.fields())),
            io_width: leaves
                .iter()
                .any(|l| l.cost() == crate::Cost::Io)
                .then_some(match opts.judge_concurrency {
                    0 => crate::graders::judge::DEFAULT_JUDGE_CONCURRENCY,
                    n => n,
                }),
            name,
            kind: grader.type_name(),
            pass_threshold: grader.pass_threshold(),
            field_limit: opts.field_limit(),
            root,
            grader,
        }
    });
    (compiled, errs)
}

impl CompiledGrader {
    /// The typed config this grader was compiled from.
    pub fn config(&self) -> &Grader {
        &self.grader
    }

    /// The `/validate` echo (see [`validate`]): the config as given, `neq` written `ne`, and
    /// the generated name added when it has none.
    pub fn echo(&self) -> Value {
        let mut echo = self.grader.to_value();
        if let Value::Object(m) = &mut echo {
            if self.grader.name().is_none() {
                // In place of a `"name": null`, else last.
                m.insert("name".into(), Value::String(self.name.clone()));
            }
        }
        echo
    }

    /// Every leaf grader: the root, or a multi grader's sub-graders.
    pub(crate) fn leaves(&self) -> Vec<&Leaf> {
        match &self.root {
            Root::Leaf(l) => vec![l],
            Root::Multi(m) => m.subs().iter().collect(),
        }
    }

    pub(crate) fn multi(&self) -> Option<&Multi> {
        match &self.root {
            Root::Multi(m) => Some(m),
            Root::Leaf(_) => None,
        }
    }

    /// A python grader at the root: a batch goes to its workers in frames.
    pub(crate) fn grades_in_frames(&self) -> bool {
        matches!(self.root, Root::Leaf(Leaf::Python(_)))
    }

    /// Every `{{ item.… }}` / `{{ sample.… }}` reference of the grader's templates, in config
    /// order, each with the config paths of the fields that use it
    /// (`graders.b.input[1].content[2]`): what `lint` resolves against data rows and the jobs
    /// service against training lines.
    pub fn template_refs(&self) -> &[crate::TemplateRef] {
        &self.template_refs
    }

    /// The grader's `name`, or the generated one.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The wire `type` (`string_check`, `multi`, …).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// `pass_threshold` when given; it never changes the reward.
    pub fn pass_threshold(&self) -> Option<f64> {
        self.pass_threshold
    }

    /// The multi grader's keys, in config order (empty for other types).
    pub fn sub_grader_keys(&self) -> Vec<String> {
        match &self.root {
            Root::Multi(m) => m.keys().to_vec(),
            Root::Leaf(_) => Vec::new(),
        }
    }

    /// The parts of a text sample this grader can observe (for building contexts by hand with
    /// `EvalContext::from_string` / `from_sample_object`).
    pub fn sample_parts(&self) -> SampleParts {
        self.sample_parts
    }

    /// The top-level keys of the item this grader can observe, in first-use order: the keys its
    /// templates name (`{{ item.answer }}` → `answer`), or `None` when it can observe the whole
    /// item (python and model graders, `{{ item }}`). A caller holding items in columns (Arrow,
    /// a DataFrame, TRL's keyword lists) needs to build only these keys: grading an item cut
    /// down to them gives exactly the result of grading the full item.
    pub fn item_keys(&self) -> Option<&[String]> {
        self.item_keys.as_deref()
    }

    /// The context for a model output given as text, taking the string. Builds only the parts
    /// of the `sample` namespace this grader can observe (`choices`, `output_json`,
    /// `output_tools` when its templates name them), which grades exactly like
    /// [`EvalContext::from_text`] at a fraction of the cost.
    pub fn context_from_text(&self, text: String, item: Option<Value>) -> EvalContext {
        EvalContext::from_string(text, item, self.sample_parts)
    }

    /// Grades one sample. Never fails: a failed sample is reward 0 with its error flags.
    pub fn grade(&self, ctx: &EvalContext) -> GradeResult {
        self.grade_inner(ctx, None)
    }

    /// [`Self::grade`] for a sample in any shape (a [`crate::LeanContext`] borrows the
    /// caller's strings): the same result as for the equivalent [`EvalContext`].
    pub fn grade_input(&self, input: &dyn GradeInput) -> GradeResult {
        self.grade_inner(input, None)
    }

    /// [`Self::grade_input`] for one of a run of samples graded back to back on one thread,
    /// reading the clock once per sample instead of twice: `clock` holds when this sample's
    /// grading began — for the first sample a fresh `Instant::now()`, for the next ones what
    /// this call left in it for the sample before — and is left at the end of this one. The
    /// result's `execution_time` runs from start to end, so it also holds what the caller did
    /// between the two calls (for `score`: lending the sample's strings, a few dozen
    /// nanoseconds; a clock read is ~20 ns, rouge_l grades a pair in ~0.9 µs).
    pub fn grade_input_since(&self, input: &dyn GradeInput, clock: &mut Instant) -> GradeResult {
        self.grade_timed(input, None, Some(clock))
    }

    /// [`Self::grade_input_since`] in [`Compact`] form: equal to `Compact::new` of its result
    /// (the time aside). A single grader's clean sample is answered without building the
    /// full result.
    pub fn grade_compact_since(&self, input: &dyn GradeInput, clock: &mut Instant) -> Compact {
        let Root::Leaf(leaf) = &self.root else {
            return Compact::new(self.grade_input_since(input, clock));
        };
        if let Some(r) = self.oversized(input) {
            return Compact::Full(Box::new(r));
        }
        let start = *clock;
        // A leaf that records no usage (string_check, a local metric) builds no `Usage`.
        let (graded, usage) = match leaf.grade_without_usage(input) {
            Some(graded) => (graded, None),
            None => {
                let mut usage = Usage::default();
                (leaf.grade(input, &mut usage), Some(usage))
            }
        };
        *clock = Instant::now();
        let execution_time = clock.saturating_duration_since(start).as_secs_f64();
        if let Ok(r) = graded {
            if r.is_finite()
                && usage
                    .as_ref()
                    .is_none_or(|u| u.total.is_none() && u.per_model.is_empty())
            {
                return Compact::Clean {
                    reward: r,
                    execution_time,
                };
            }
        }
        let usage = usage.unwrap_or_default();
        let (reward, errors) = leaf_outcome(graded);
        Compact::Full(Box::new(GradeResult {
            reward,
            sub_rewards: IndexMap::new(),
            errors,
            execution_time,
            sampled_model_name: usage.sampled_model_name(),
            token_usage: usage.total,
            usage_per_model: usage.per_model,
        }))
    }

    /// Like [`Self::grade`], but a multi grader stops between sub-graders once `cancel` fires
    /// (the sample is then answered `other_error`, "cancelled").
    pub fn grade_cancellable(&self, ctx: &EvalContext, cancel: &Cancel) -> GradeResult {
        if cancel.is_cancelled() {
            return failed(Failure::Limit(CANCELLED.into()), 0.0);
        }
        if let Root::Leaf(Leaf::Python(p)) = &self.root {
            // A python call stuck in grade() is stopped when the token fires.
            let one = self.python_frame(p, std::slice::from_ref(ctx), Some(cancel));
            return one
                .into_iter()
                .next()
                .unwrap_or_else(|| failed(Failure::Other, 0.0));
        }
        self.grade_inner(ctx, Some(cancel))
    }

    /// The sample's text when it is past the size budget: that sample is refused, not graded.
    fn oversized(&self, input: &dyn GradeInput) -> Option<GradeResult> {
        let text = input.output_text()?;
        (text.len() > self.field_limit).then(|| {
            let why = crate::graders::too_large(
                "sample.output_text",
                "sample text",
                text.len(),
                self.field_limit,
            );
            failed(Failure::Limit(why), 0.0)
        })
    }

    pub(crate) fn grade_inner(&self, ctx: &dyn GradeInput, cancel: Option<&Cancel>) -> GradeResult {
        self.grade_timed(ctx, cancel, None)
    }

    /// Grades one sample, timed from `clock` when given (and leaves the end in it), else from
    /// now. One function builds the result in place: a [`GradeResult`] is ~400 bytes, and
    /// moving it through helpers costs more than a clock read saves.
    #[inline]
    fn grade_timed(
        &self,
        ctx: &dyn GradeInput,
        cancel: Option<&Cancel>,
        clock: Option<&mut Instant>,
    ) -> GradeResult {
        if let Some(r) = self.oversized(ctx) {
            return r;
        }
        let start = clock.as_deref().copied().unwrap_or_else(Instant::now);
        let mut usage = Usage::default();
        let (reward, sub_rewards, errors) = match &self.root {
            Root::Leaf(leaf) => {
                let (reward, errors) = leaf_outcome(leaf.grade(ctx, &mut usage));
                (reward, IndexMap::new(), errors)
            }
            Root::Multi(m) => {
                let o = m.grade(ctx, &mut usage, cancel);
                (o.reward, o.sub_rewards, o.errors)
            }
        };
        let end = Instant::now();
        if let Some(c) = clock {
            *c = end;
        }
        GradeResult {
            reward,
            sub_rewards,
            errors,
            execution_time: end.saturating_duration_since(start).as_secs_f64(),
            sampled_model_name: usage.sampled_model_name(),
            token_usage: usage.total,
            usage_per_model: usage.per_model,
        }
    }

    /// For a grader that calls a judge: how many samples to grade at once so that the judge
    /// client's concurrency is used (`EngineOptions::judge_concurrency`). Callers that run
    /// their own pool (the CLI's `score`) size it at least this wide. `None` for CPU-bound
    /// graders.
    pub fn io_width(&self) -> Option<usize> {
        self.io_width
    }

    /// True when [`Self::grade_batch`] does more than grade each sample on the current pool:
    /// a python grader (samples go to its workers in frames) or one that calls a judge (its own
    /// I/O pool). Callers grading CPU-bound samples one by one can skip collecting batches.
    pub fn grades_in_batches(&self) -> bool {
        self.grades_in_frames() || self.io_width.is_some()
    }

    /// Grades many samples in parallel; results in input order, one per input. CPU-bound
    /// graders use the current rayon pool; graders that call a judge run on a shared I/O pool
    /// [`Self::io_width`] threads wide, so judge calls in flight do not depend on the cores.
    pub fn grade_batch(&self, ctxs: &[EvalContext]) -> Vec<GradeResult> {
        if let Root::Leaf(Leaf::Python(p)) = &self.root {
            return self.python_frame(p, ctxs, None); // many samples per worker frame
        }
        if let Some(pool) = self.io_width.and_then(crate::io_pool::pool) {
            return pool.install(|| ctxs.par_iter().map(|c| self.grade(c)).collect());
        }
        ctxs.par_iter().map(|c| self.grade(c)).collect()
    }

    /// [`Self::grade_batch`] that stops once `cancel` fires: the samples not graded by then are
    /// answered `other_error` ("cancelled"), so the result still has one entry per input, in
    /// order. Checked before every sample (python: every frame of `PY_FRAME` samples).
    pub fn grade_batch_cancellable(
        &self,
        ctxs: &[EvalContext],
        cancel: &Cancel,
    ) -> Vec<GradeResult> {
        let cancelled = || failed(Failure::Limit(CANCELLED.into()), 0.0);
        if let Root::Leaf(Leaf::Python(p)) = &self.root {
            let mut out = Vec::with_capacity(ctxs.len());
            for frame in ctxs.chunks(PY_FRAME) {
                if cancel.is_cancelled() {
                    out.extend(frame.iter().map(|_| cancelled()));
                } else {
                    out.extend(self.python_frame(p, frame, Some(cancel)));
                }
            }
            return out;
        }
        let one = |c: &EvalContext| self.grade_cancellable(c, cancel);
        if let Some(pool) = self.io_width.and_then(crate::io_pool::pool) {
            return pool.install(|| ctxs.par_iter().map(one).collect());
        }
        ctxs.par_iter().map(one).collect()
    }

    /// One python frame; samples past the size budget are answered without being sent.
    pub(crate) fn python_frame(
        &self,
        p: &crate::graders::python::Python,
        ctxs: &[EvalContext],
        cancel: Option<&Cancel>,
    ) -> Vec<GradeResult> {
        let refused: Vec<Option<GradeResult>> = ctxs.iter().map(|c| self.oversized(c)).collect();
        if refused.iter().all(Option::is_none) {
            return p.grade_batch(ctxs, cancel);
        }
        let sendable: Vec<EvalContext> = ctxs
            .iter()
            .zip(&refused)
            .filter(|(_, r)| r.is_none())
            .map(|(c, _)| c.clone())
            .collect();
        let mut graded = p.grade_batch(&sendable, cancel).into_iter();
        refused
            .into_iter()
            .map(|r| {
                r.or_else(|| graded.next())
                    .unwrap_or_else(|| failed(Failure::Other, 0.0))
            })
            .collect()
    }

    /// Grades one sample and shapes the `/run` response.
    pub fn run(&self, ctx: &EvalContext) -> RunResponse {
        self.grade(ctx).to_response(&self.name, self.kind)
    }
}

/// The reward and error flags of a leaf grader's outcome: a non-finite reward is
/// `other_error`, a failure sets its flag; both score 0.
fn leaf_outcome(graded: Result<f64, Failure>) -> (f64, ErrorFlags) {
    let mut errors = ErrorFlags::default();
    let reward = match graded {
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
    (reward, errors)
}

/// The result of a sample that failed before or instead of grading.
pub(crate) fn failed(f: Failure, execution_time: f64) -> GradeResult {
    let mut errors = ErrorFlags::default();
    f.apply(&mut errors);
    GradeResult {
        reward: 0.0,
        sub_rewards: IndexMap::new(),
        errors,
        execution_time,
        token_usage: None,
        sampled_model_name: None,
        usage_per_model: IndexMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `grade_compact_since` is `Compact::new` of `grade` (times aside) for clean, failed,
    /// refused and multi results, and leaves the clock at the end of the sample.
    #[test]
    fn the_compact_result_is_the_full_one_compacted() {
        let untimed = |c: Compact| match c {
            Compact::Clean { reward, .. } => Compact::Clean {
                reward,
                execution_time: 0.0,
            },
            Compact::Full(mut r) => {
                r.execution_time = 0.0;
                Compact::Full(r)
            }
        };
        let opts = EngineOptions {
            max_field_bytes: 64,
            ..EngineOptions::default()
        };
        let graders = [
            json!({"type": "string_check", "operation": "eq",
                   "input": "{{ sample.output_text }}", "reference": "{{ item.reference }}"}),
            json!({"type": "text_similarity", "evaluation_metric": "rouge_l",
                   "input": "{{ sample.output_text }}", "reference": "{{ item.reference }}"}),
            json!({"type": "text_similarity", "evaluation_metric": "bleu",
                   "input": "{{ sample.output_text }}", "reference": "{{ item.missing }}"}),
            json!({"type": "multi", "calculate_output": "a", "graders": {
                "a": {"type": "string_check", "operation": "eq",
                      "input": "{{ sample.output_text }}", "reference": "{{ item.reference }}"}}}),
        ];
        let samples = [
            ("the cat sat", json!({"reference": "the cat sat"})),
            ("a dog", json!({"reference": "the cat sat"})),
            ("x", json!({})),
            (&*"long ".repeat(40), json!({"reference": "x"})),
        ];
        let mut kinds = (0, 0);
        for g in &graders {
            let c = compile(g, &opts).expect("compiles");
            for (text, item) in &samples {
                let ctx = EvalContext::from_text(text, Some(item.clone()));
                let mut r = c.grade(&ctx);
                r.execution_time = 0.0;
                let before = Instant::now();
                let mut clock = before;
                let got = untimed(c.grade_compact_since(&ctx, &mut clock));
                assert!(clock >= before);
                match &got {
                    Compact::Clean { .. } => kinds.0 += 1,
                    Compact::Full(_) => kinds.1 += 1,
                }
                assert_eq!(got, Compact::new(r), "{g} {text:?} {item}");
            }
        }
        assert!(kinds.0 > 0 && kinds.1 > 0, "{kinds:?}");
    }

    fn keys(g: Value) -> Option<Vec<String>> {
        let c = compile(&g, &EngineOptions::default()).expect("compiles");
        c.item_keys().map(<[String]>::to_vec)
    }

    #[test]
    fn item_keys_are_the_top_level_keys_templates_name() {
        let sc = json!({"type": "string_check", "name": "s", "operation": "eq",
            "input": "{{ item.a.b }} {{ sample.output_text }} {{ item[\"x y\"] }}",
            "reference": "<< item.c >>{{ item.a }}"});
        assert_eq!(keys(sc), Some(vec!["a".into(), "x y".into(), "c".into()]));
        let literal = json!({"type": "string_check", "name": "s", "operation": "eq",
            "input": "{{ sample.output_text }}", "reference": "x"});
        assert_eq!(keys(literal), Some(vec![]));
        let whole = json!({"type": "string_check", "name": "s", "operation": "eq",
            "input": "{{ item }}", "reference": "{{ item.a }}"});
        assert_eq!(keys(whole), None);
        let py = json!({"type": "python", "name": "p",
            "source": "def grade(sample, item):\n    return 1.0\n"});
        assert_eq!(keys(py), None);
        let multi = json!({"type": "multi", "name": "m", "calculate_output": "a + b",
            "graders": {
                "a": {"type": "string_check", "name": "a", "operation": "eq",
                      "input": "{{ item.q }}", "reference": "{{ item.r }}"},
                "b": {"type": "text_similarity", "name": "b", "evaluation_metric": "bleu",
                      "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"}}});
        assert_eq!(keys(multi), Some(vec!["q".into(), "r".into()]));
    }

    /// A multi grader whose sub-grader does not read still has its formula checked, against
    /// the keys given (the typed reader's formula outline).
    #[test]
    fn a_bad_formula_is_reported_beside_a_broken_sub_grader() {
        let g = json!({"type": "multi", "calculate_output": "a + nope", "graders": {
            "a": {"type": "string_check", "input": "x", "reference": "y", "operation": "eq"},
            "b": {"type": "string_check", "input": "x", "operation": "eq"}}});
        let errs = compile(&g, &EngineOptions::default()).expect_err("invalid");
        let seen: Vec<(&str, &str)> = errs
            .0
            .iter()
            .map(|e| (e.path.as_str(), e.kind.code()))
            .collect();
        assert!(
            seen.contains(&("graders.b.reference", "missing_field")),
            "{seen:?}"
        );
        assert!(
            seen.contains(&("calculate_output", "unknown_variable")),
            "{seen:?}"
        );
        // A formula naming only the given keys is not reported.
        let mut ok_formula = g.clone();
        ok_formula["calculate_output"] = json!("a + b");
        let errs = compile(&ok_formula, &EngineOptions::default()).expect_err("invalid");
        assert!(errs.0.iter().all(|e| e.path != "calculate_output"));
    }
}
