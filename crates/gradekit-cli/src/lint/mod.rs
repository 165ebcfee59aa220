//! `gradekit lint --grader G.json DATA.jsonl`: static checks of a grader against real rows.
//!
//! Design: lint reads the first `--rows N` rows (0 = all) of the data once, streaming, and
//! runs four checks over them, one module each; each finding is a warning, and the exit code
//! says whether any was found (0 none, 1 warnings, 2 fatal: a bad grader or unreadable data).
//! Everything lint knows about the grader it asks the compiled grader (template references,
//! sub-graders, formula references, schedule): it parses no template or formula itself.
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

mod dry_run;
mod formula;
mod groups;
mod templates;

use crate::engine_flags::EngineFlags;
use crate::score::line::{self, Parsed};
use anyhow::{Context as _, Result};
use gradekit_engine::model::SampleParts;
use gradekit_engine::EvalContext;
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
pub(crate) struct Finding {
    pub(crate) check: &'static str,
    pub(crate) message: String,
    pub(crate) data: Value,
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
    let formula_src = grader_json.get("calculate_output").and_then(Value::as_str);
    formula::findings(&full, formula_src, &mut findings);
    let mut uses = templates::uses(&full);

    let dry = dry_run::plan(&grader_json, full, &opts, a.dry_run_all);
    if let dry_run::Dry::Skipped(why) = &dry {
        notes.push(why.clone());
    }
    if let dry_run::Dry::Subs(subs) = &dry {
        notes.push(format!(
            "the grader calls python or a model: only its sub-graders {} were dry-run (--dry-run-all grades everything)",
            subs.iter().map(|(k, _)| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        ));
        if a.group_key.is_some() {
            notes.push("--group-key needs the top-level reward: pass --dry-run-all".into());
        }
    }
    let mut top = dry_run::Constancy::default();
    let mut subs: IndexMap<String, dry_run::Constancy> = IndexMap::new();
    let mut groups: IndexMap<String, groups::Group> = IndexMap::new();
    let mut missing_key = (0u64, Vec::new());
    let mut invalid = (0u64, Vec::new(), None::<String>);

    let (input, _) = crate::io::open_input(&a.input)?;
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
        templates::check_row(&mut uses, &ctx, line_no);
        let group = match &a.group_key {
            None => None,
            Some(k) => match groups::group_value(&bytes, &ctx, k) {
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
            groups.entry(g.clone()).or_insert_with(|| groups::Group {
                first_line: line_no,
                ..groups::Group::default()
            });
        }
        batch.push((line_no, ctx, group));
        if batch.len() >= BATCH {
            dry_run::grade_batch(&dry, &batch, &mut top, &mut subs, &mut groups);
            batch.clear();
        }
    }
    dry_run::grade_batch(&dry, &batch, &mut top, &mut subs, &mut groups);

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
    templates::findings(&uses, valid_rows, &mut findings);
    dry_run::constant_findings(
        &top,
        &subs,
        matches!(dry, dry_run::Dry::Whole(_)),
        &mut findings,
    );
    if let Some(k) = &a.group_key {
        groups::group_findings(k, &groups, &missing_key, valid_rows, &mut findings);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use gradekit_engine::{compile, EngineOptions};
    use serde_json::json;

    #[test]
    fn costly_detects_python_models_and_cosine_inside_multi() {
        let opts = EngineOptions::default();
        let sc = json!({"type": "string_check", "input": "{{ sample.output_text }}",
                        "reference": "x", "operation": "eq"});
        let judge = json!({"type": "label_model", "model": "m", "labels": ["a", "b"],
                           "passing_labels": ["a"], "input": [{"role": "user", "content": "x"}]});
        let cheap = compile(&sc, &opts).unwrap();
        assert!(!cheap.schedule().costly());
        let m = json!({"type": "multi", "calculate_output": "a", "graders": {"a": sc, "b": judge}});
        assert!(compile(&m, &opts).unwrap().schedule().costly());
    }
}
