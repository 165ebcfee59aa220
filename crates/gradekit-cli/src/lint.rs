//! `gradekit lint --grader G.json DATA.jsonl`: static checks of a grader against real rows.
//!
//! Design: lint reads the first `--rows N` rows (0 = all) of the data once, streaming, and
//! runs four checks over them; each finding is a warning, and the exit code says whether any
//! was found (0 none, 1 warnings, 2 fatal: a bad grader or unreadable data).
//! * template paths: every `{{ item.… }}`/`{{ sample.… }}` reference of every template-bearing
//!   field (string_check / text_similarity `input` and `reference`; score_model / label_model
//!   message contents and their content items' text, image_url and audio data; recursively in
//!   multi sub-graders) is resolved against each row, built exactly as `score` builds it (the
//!   same line parser), and the rows where it does not resolve are counted;
//! * formula: multi sub-graders that `calculate_output` never references, and keys that are
//!   not identifiers (a formula cannot name them);
//! * constant rewards: a dry run grades the rows with the engine and reports a reward (top
//!   level, or of a multi sub-grader) that is the same on every row. Python and model graders
//!   (and cosine text_similarity, which calls an embedder) cost time or money, so they are left
//!   out unless `--dry-run-all`: a multi grader with such sub-graders has its cheap sub-graders
//!   compiled and graded on their own;
//! * `--group-key K` (GRPO-style files, K in the row or in its item): groups whose rewards all
//!   equal, which give no learning signal.

use crate::engine_flags::EngineFlags;
use crate::score::line::{self, Parsed};
use anyhow::{Context as _, Result};
use gradekit_engine::model::SampleParts;
use gradekit_engine::{CompiledGrader, EvalContext, GradeResult};
use gradekit_template::Context;
use indexmap::IndexMap;
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Grader JSON file.
    #[arg(long, short = 'g', value_name = "GRADER.json")]
    grader: PathBuf,
    /// Data JSONL (`-` = stdin; .gz/.zst by extension), lines as `score` reads them.
    #[arg(value_name = "DATA.jsonl")]
    input: PathBuf,
    /// Rows to check (the first N non-blank lines; 0 = all).
    #[arg(long, value_name = "N", default_value_t = 200)]
    rows: usize,
    /// GRPO-style files: rows with the same value of K (in the row, else in its item) form a
    /// group; report groups whose rewards have zero variance.
    #[arg(long, value_name = "K")]
    group_key: Option<String>,
    /// Also dry-run python and model graders (they cost time or judge calls).
    #[arg(long)]
    dry_run_all: bool,
    /// Take the sample text from this field of each line and use the whole line as the item.
    #[arg(long, value_name = "K")]
    sample_key: Option<String>,
    /// Print the findings as one JSON document.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    engine: EngineFlags,
}

/// Line numbers shown per finding.
const FIRST_LINES: usize = 5;
/// Rows graded per batch in the dry run.
const BATCH: usize = 512;

/// One warning.
#[derive(Debug)]
struct Finding {
    check: &'static str,
    message: String,
    data: Value,
}

/// One template reference and where it is used.
#[derive(Debug)]
struct PathUse {
    path: gradekit_template::Path,
    fields: Vec<String>,
    failed: u64,
    first_lines: Vec<u64>,
    first_error: Option<String>,
}

/// A grader being dry-run, and how its results are read.
#[derive(Debug)]
enum Dry {
    /// The whole grader: top-level reward and its sub-rewards.
    Whole(Box<CompiledGrader>),
    /// A multi grader with costly parts: its cheap sub-graders on their own.
    Subs(Vec<(String, CompiledGrader)>),
    Skipped(String),
}

/// Tracks whether a value is the same on every row.
#[derive(Debug, Default)]
struct Constancy {
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

#[derive(Debug, Default)]
struct Group {
    rows: u64,
    first: Option<f64>,
    varies: bool,
    first_line: u64,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let opts = a.engine.to_options()?;
    let grader_json = crate::io::read_json(&a.grader)?;
    let full = match gradekit_engine::compile(&grader_json, &opts) {
        Ok(g) => g,
        Err(errs) => {
            crate::io::report(&errs, &format!("grader {}", a.grader.display()));
            return Ok(ExitCode::from(2));
        }
    };
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    formula_checks(&grader_json, &mut findings);

    let mut uses: Vec<PathUse> = Vec::new();
    collect_templates(&grader_json, &mut uses)?;

    let dry = plan_dry_run(&grader_json, full, &opts, a.dry_run_all);
    if let Dry::Skipped(why) = &dry {
        notes.push(why.clone());
    }
    if let Dry::Subs(subs) = &dry {
        notes.push(format!(
            "the grader calls python or a model: only its sub-graders {} were dry-run (--dry-run-all grades everything)",
            subs.iter().map(|(k, _)| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        ));
        if a.group_key.is_some() {
            notes.push("--group-key needs the top-level reward: pass --dry-run-all".into());
        }
    }
    let mut top = Constancy::default();
    let mut subs: IndexMap<String, Constancy> = IndexMap::new();
    let mut groups: IndexMap<String, Group> = IndexMap::new();
    let mut missing_key = (0u64, Vec::new());
    let mut invalid = (0u64, Vec::new(), None::<String>);

    let (input, _) = crate::score::io_open(&a.input)?;
    let reader = std::io::BufReader::with_capacity(1 << 20, input);
    let mut rows = 0usize;
    let mut batch: Vec<(u64, EvalContext, Option<String>)> = Vec::new();
    for (i, l) in reader.split(b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let mut bytes =
            l.with_context(|| format!("cannot read {} at line {line_no}", a.input.display()))?;
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        if line::is_blank(&bytes) {
            continue;
        }
        if a.rows > 0 && rows >= a.rows {
            break;
        }
        rows += 1;
        let ctx = match line::parse(&bytes, a.sample_key.as_deref(), SampleParts::ALL) {
            Parsed::Grade { ctx, .. } => ctx,
            Parsed::Invalid { message, .. } => {
                invalid.0 += 1;
                if invalid.1.len() < FIRST_LINES {
                    invalid.1.push(line_no);
                }
                invalid.2.get_or_insert(message);
                continue;
            }
        };
        let tctx = Context {
            item: &ctx.item,
            sample: &ctx.sample,
        };
        for u in uses.iter_mut() {
            if let Err(m) = u.path.resolve(&tctx) {
                u.failed += 1;
                if u.first_lines.len() < FIRST_LINES {
                    u.first_lines.push(line_no);
                }
                u.first_error.get_or_insert(m.details);
            }
        }
        let group = match &a.group_key {
            None => None,
            Some(k) => match group_value(&bytes, &ctx, k) {
                Some(g) => Some(g),
                None => {
                    missing_key.0 += 1;
                    if missing_key.1.len() < FIRST_LINES {
                        missing_key.1.push(line_no);
                    }
                    None
                }
            },
        };
        if let Some(g) = &group {
            groups.entry(g.clone()).or_insert_with(|| Group {
                first_line: line_no,
                ..Group::default()
            });
        }
        batch.push((line_no, ctx, group));
        if batch.len() >= BATCH {
            grade_batch(&dry, &batch, &mut top, &mut subs, &mut groups);
            batch.clear();
        }
    }
    grade_batch(&dry, &batch, &mut top, &mut subs, &mut groups);

    let valid_rows = rows as u64 - invalid.0;
    if invalid.0 > 0 {
        findings.push(Finding {
            check: "invalid_lines",
            message: format!(
                "{} of {rows} lines cannot be graded (lines {}); first: {}",
                invalid.0,
                lines_text(&invalid.1, invalid.0),
                invalid.2.as_deref().unwrap_or("")
            ),
            data: json!({"count": invalid.0, "first_lines": invalid.1}),
        });
    }
    for u in &uses {
        if u.failed == 0 {
            continue;
        }
        findings.push(Finding {
            check: "template_path",
            message: format!(
                "`{}` (in {}) does not resolve in {} of {valid_rows} rows (lines {}); first: {}",
                u.path,
                u.fields.join(", "),
                u.failed,
                lines_text(&u.first_lines, u.failed),
                u.first_error.as_deref().unwrap_or("")
            ),
            data: json!({"path": u.path.to_string(), "fields": u.fields, "rows": u.failed,
                         "of": valid_rows, "first_lines": u.first_lines,
                         "first_error": u.first_error}),
        });
    }
    constant_findings(&top, &subs, matches!(dry, Dry::Whole(_)), &mut findings);
    if let Some(k) = &a.group_key {
        group_findings(k, &groups, &missing_key, valid_rows, &mut findings);
    }

    let code: u8 = if findings.is_empty() { 0 } else { 1 };
    if a.json {
        let doc = json!({
            "grader": a.grader.display().to_string(),
            "input": a.input.display().to_string(),
            "rows_checked": rows,
            "findings": findings.iter().map(|f| json!({
                "check": f.check, "severity": "warning", "message": f.message, "data": f.data
            })).collect::<Vec<_>>(),
            "notes": notes,
            "exit_code": code,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for f in &findings {
            println!("warning[{}]: {}", f.check, f.message);
        }
        for n in &notes {
            println!("note: {n}");
        }
        println!(
            "{} warning{} on {rows} rows of {}",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" },
            a.input.display()
        );
    }
    Ok(ExitCode::from(code))
}

fn lines_text(lines: &[u64], total: u64) -> String {
    let mut s = lines
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if total > lines.len() as u64 {
        s.push_str(", …");
    }
    s
}

/// The group of a row: `row[K]`, else `item[K]`; strings as they are, other values as JSON.
fn group_value(bytes: &[u8], ctx: &EvalContext, key: &str) -> Option<String> {
    let row: Option<Value> = serde_json::from_slice(bytes).ok();
    let v = row
        .as_ref()
        .and_then(|r| r.get(key))
        .filter(|v| !v.is_null())
        .or_else(|| ctx.item.get(key).filter(|v| !v.is_null()))?;
    Some(match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

fn grade_batch(
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

fn fmt_reward(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

fn constant_findings(
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

fn group_findings(
    key: &str,
    groups: &IndexMap<String, Group>,
    missing: &(u64, Vec<u64>),
    rows: u64,
    out: &mut Vec<Finding>,
) {
    if missing.0 > 0 {
        out.push(Finding {
            check: "group_key",
            message: format!(
                "{} of {rows} rows have no `{key}` (in the row or its item) (lines {})",
                missing.0,
                lines_text(&missing.1, missing.0)
            ),
            data: json!({"missing": missing.0, "first_lines": missing.1}),
        });
    }
    let graded: Vec<(&String, &Group)> = groups.iter().filter(|(_, g)| g.rows > 0).collect();
    let multi: Vec<&(&String, &Group)> = graded.iter().filter(|(_, g)| g.rows >= 2).collect();
    let flat: Vec<&&(&String, &Group)> = multi.iter().filter(|(_, g)| !g.varies).collect();
    let singles = graded.len() - multi.len();
    if !flat.is_empty() {
        let examples: Vec<Value> = flat
            .iter()
            .take(FIRST_LINES)
            .map(|(k, g)| json!({"group": k, "rows": g.rows, "reward": g.first, "first_line": g.first_line}))
            .collect();
        let shown = flat
            .iter()
            .take(FIRST_LINES)
            .map(|(k, g)| {
                format!(
                    "{k:?}: {} rows all {} (line {})",
                    g.rows,
                    g.first.map_or("-".into(), fmt_reward),
                    g.first_line
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let rows_in: u64 = flat.iter().map(|(_, g)| g.rows).sum();
        out.push(Finding {
            check: "zero_variance_group",
            message: format!(
                "{} of {} groups ({:.0}%, {rows_in} rows) have zero reward variance (no learning signal): {shown}{}",
                flat.len(),
                multi.len(),
                100.0 * flat.len() as f64 / multi.len() as f64,
                if flat.len() > FIRST_LINES { "; …" } else { "" }
            ),
            data: json!({"groups": flat.len(), "of": multi.len(), "rows": rows_in, "examples": examples}),
        });
    }
    if singles > 0 {
        out.push(Finding {
            check: "single_row_group",
            message: format!(
                "{singles} of {} groups have a single row (no variance to learn from)",
                graded.len()
            ),
            data: json!({"groups": singles, "of": graded.len()}),
        });
    }
}

/// Is grading this (sub-)grader costly: python code or a model/embedding call?
fn costly(g: &Value) -> bool {
    match g.get("type").and_then(Value::as_str) {
        Some("python" | "score_model" | "label_model") => true,
        Some("text_similarity") => {
            g.get("evaluation_metric").and_then(Value::as_str) == Some("cosine")
        }
        Some("multi") => g
            .get("graders")
            .and_then(Value::as_object)
            .is_some_and(|m| m.values().any(costly)),
        _ => false,
    }
}

fn plan_dry_run(
    g: &Value,
    full: CompiledGrader,
    opts: &gradekit_engine::EngineOptions,
    all: bool,
) -> Dry {
    if all || !costly(g) {
        return Dry::Whole(Box::new(full));
    }
    let subs = g.get("graders").and_then(Value::as_object);
    let Some(subs) = subs.filter(|_| g.get("type").and_then(Value::as_str) == Some("multi")) else {
        return Dry::Skipped(format!(
            "no dry run: a {} grader calls python or a model (--dry-run-all grades it)",
            g.get("type").and_then(Value::as_str).unwrap_or("?")
        ));
    };
    let mut cheap = Vec::new();
    for (k, s) in subs {
        if costly(s) {
            continue;
        }
        if let Ok(c) = gradekit_engine::compile(s, opts) {
            cheap.push((k.clone(), c));
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

/// Formula checks of a multi grader: unreferenced sub-graders, keys that are not identifiers.
fn formula_checks(g: &Value, out: &mut Vec<Finding>) {
    if g.get("type").and_then(Value::as_str) != Some("multi") {
        return;
    }
    let (Some(subs), Some(src)) = (
        g.get("graders").and_then(Value::as_object),
        g.get("calculate_output").and_then(Value::as_str),
    ) else {
        return;
    };
    let keys: Vec<&str> = subs.keys().map(String::as_str).collect();
    for k in &keys {
        if !gradekit_formula::is_identifier(k) {
            out.push(Finding {
                check: "formula_key",
                message: format!(
                    "sub-grader key {k:?} is not an identifier: calculate_output cannot reference it"
                ),
                data: json!({"key": k}),
            });
        }
    }
    let Ok(f) = gradekit_formula::Formula::parse(src, &keys) else {
        return; // compile() already rejected a bad formula
    };
    let used = f.referenced_slots();
    for (i, k) in keys.iter().enumerate() {
        if !used.contains(&i) && gradekit_formula::is_identifier(k) {
            out.push(Finding {
                check: "formula_unused",
                message: format!(
                    "sub-grader `{k}` is never referenced by calculate_output ({src:?}): it is graded but cannot change the reward"
                ),
                data: json!({"key": k, "calculate_output": src}),
            });
        }
    }
}

/// The grader's template references (the engine's walker, shared with the jobs service).
fn collect_templates(g: &Value, out: &mut Vec<PathUse>) -> Result<()> {
    let refs = gradekit_engine::template_refs(g)
        .map_err(|e| anyhow::anyhow!("cannot parse the template at {}: {}", e.path, e.message))?;
    out.extend(refs.into_iter().map(|r| PathUse {
        path: r.path,
        fields: r.fields,
        failed: 0,
        first_lines: Vec::new(),
        first_error: None,
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn costly_detects_python_models_and_cosine() {
        assert!(costly(&json!({"type": "python", "source": ""})));
        assert!(costly(
            &json!({"type": "text_similarity", "evaluation_metric": "cosine"})
        ));
        assert!(!costly(
            &json!({"type": "text_similarity", "evaluation_metric": "bleu"})
        ));
        assert!(costly(
            &json!({"type": "multi", "graders": {"a": {"type": "label_model"}}})
        ));
    }
}
