//! The template-path check: every `{{ item.… }}` / `{{ sample.… }}` reference of the grader
//! (the compiled grader's [`gradekit_engine::CompiledGrader::template_refs`], with the fields
//! that use it) is resolved against each row, and the rows where it does not resolve counted.

use super::{lines_text, Finding, FIRST_LINES};
use gradekit_engine::{CompiledGrader, EvalContext, TemplateRef};
use serde_json::json;

/// One template reference and where it is used.
#[derive(Debug)]
pub(super) struct PathUse {
    reference: TemplateRef,
    failed: u64,
    first_lines: Vec<u64>,
    first_error: Option<String>,
}

/// The grader's template references, none failed yet.
pub(super) fn uses(g: &CompiledGrader) -> Vec<PathUse> {
    g.template_refs()
        .iter()
        .map(|r| PathUse {
            reference: r.clone(),
            failed: 0,
            first_lines: Vec::new(),
            first_error: None,
        })
        .collect()
}

/// Resolves every reference in one row's context.
pub(super) fn check_row(uses: &mut [PathUse], ctx: &EvalContext, line_no: u64) {
    for u in uses.iter_mut() {
        if let Err(details) = u.reference.resolve(ctx) {
            u.failed += 1;
            if u.first_lines.len() < FIRST_LINES {
                u.first_lines.push(line_no);
            }
            u.first_error.get_or_insert(details);
        }
    }
}

/// A finding per reference that failed on some row.
pub(super) fn findings(uses: &[PathUse], valid_rows: u64, out: &mut Vec<Finding>) {
    for u in uses {
        if u.failed == 0 {
            continue;
        }
        let path = u.reference.path.to_string();
        let fields = &u.reference.fields;
        out.push(Finding {
            check: "template_path",
            message: format!(
                "`{path}` (in {}) does not resolve in {} of {valid_rows} rows (lines {}); first: {}",
                fields.join(", "),
                u.failed,
                lines_text(&u.first_lines, u.failed),
                u.first_error.as_deref().unwrap_or("")
            ),
            data: json!({"path": path, "fields": fields, "rows": u.failed,
                         "of": valid_rows, "first_lines": u.first_lines,
                         "first_error": u.first_error}),
        });
    }
}
