//! `--group-key K` (GRPO-style files, K in the row or in its item): groups whose rewards all
//! equal, which give no learning signal.

use super::dry_run::fmt_reward;
use super::{lines_text, Finding, FIRST_LINES};
use gradekit_engine::EvalContext;
use indexmap::IndexMap;
use serde_json::{json, Value};

#[derive(Debug, Default)]
pub(super) struct Group {
    pub(super) rows: u64,
    pub(super) first: Option<f64>,
    pub(super) varies: bool,
    pub(super) first_line: u64,
}

/// The group of a row: `row[K]`, else `item[K]`; strings as they are, other values as JSON.
pub(super) fn group_value(bytes: &[u8], ctx: &EvalContext, key: &str) -> Option<String> {
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

pub(super) fn group_findings(
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
