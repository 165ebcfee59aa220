//! Formula checks of a multi grader, asked of the compiled grader
//! ([`gradekit_engine::CompiledGrader::sub_graders`]): sub-graders that `calculate_output`
//! never references (graded but unable to change the reward) and keys that are not
//! identifiers (a formula cannot name them).

use super::Finding;
use gradekit_engine::CompiledGrader;
use serde_json::json;

pub(super) fn findings(g: &CompiledGrader, formula: Option<&str>, out: &mut Vec<Finding>) {
    let src = formula.unwrap_or("");
    for s in g.sub_graders() {
        let k = &s.key;
        if !s.identifier {
            out.push(Finding {
                check: "formula_key",
                message: format!(
                    "sub-grader key {k:?} is not an identifier: calculate_output cannot reference it"
                ),
                data: json!({"key": k}),
            });
        } else if !s.in_formula {
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
