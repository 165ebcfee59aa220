//! The template references of a compiled grader, with the fields each one is in: what `gradekit
//! lint` checks against data rows and what the jobs service checks against every line of a
//! reinforcement training file (every `item.*` path must resolve).
//!
//! Template-bearing fields (DESIGN.md §4): string_check / text_similarity `input` and
//! `reference`; score_model / label_model message contents and their content items' text,
//! image_url and audio data; in every sub-grader of a multi grader. They are read off the
//! compiled templates, not the config, so nothing is parsed twice.

use crate::graders::Field;
use gradekit_template::Path;

/// One distinct reference and every field that uses it (config paths, e.g.
/// `graders.b.input[1].content[2]`).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRef {
    pub path: Path,
    pub fields: Vec<String>,
}

impl TemplateRef {
    /// Resolves the reference in a grading context: `Err` with the details a grade would put
    /// in `invalid_variable_error_details` (the full path and the step that failed).
    pub fn resolve(&self, ctx: &crate::EvalContext) -> Result<(), String> {
        self.path
            .resolve(&ctx.template_context())
            .map(|_| ())
            .map_err(|m| m.details)
    }
}

/// The distinct references of the compiled template `fields`, in config order: a compiled
/// grader's [`CompiledGrader::template_refs`](crate::CompiledGrader::template_refs). The fields
/// come from the compiled leaves (`Leaf::fields`, an exhaustive match), so a new grader type
/// cannot leave its templates out.
///
/// Linear in the number of references: a multi of 40,000 sub-graders all reading
/// `sample.output_text` took 9 s to compile when every step scanned the lists built so far.
pub(crate) fn collect<'a>(fields: impl Iterator<Item = &'a Field>) -> Vec<TemplateRef> {
    use std::collections::{HashMap, HashSet};
    let mut out: Vec<TemplateRef> = Vec::new();
    let mut index: HashMap<&'a Path, usize> = HashMap::new();
    let mut seen: HashSet<(usize, &'a str)> = HashSet::new();
    for field in fields {
        for p in field.template.refs() {
            let i = *index.entry(p).or_insert_with(|| {
                out.push(TemplateRef {
                    path: p.clone(),
                    fields: Vec::new(),
                });
                out.len() - 1
            });
            if seen.insert((i, field.path())) {
                out[i].fields.push(field.path().to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::{compile, EngineOptions};
    use serde_json::json;

    #[test]
    fn walks_model_contents_and_multi() {
        let g = json!({"type": "multi", "calculate_output": "a", "graders": {
            "a": {"type": "string_check", "input": "{{ sample.output_text }}", "reference": "{{ item.x }}", "operation": "eq"},
            "b": {"type": "score_model", "model": "m", "input": [
                {"role": "user", "content": "q {{ item.q }}"},
                {"role": "user", "content": [{"type": "input_image", "image_url": "{{ item.img }}"},
                                             {"type": "input_audio", "input_audio": {"data": "{{ item.wav }}", "format": "wav"}},
                                             "{{ item.x }}"]}]}}});
        let c = compile(&g, &EngineOptions::default()).unwrap();
        let u = c.template_refs();
        let paths: Vec<String> = u.iter().map(|p| p.path.to_string()).collect();
        assert_eq!(
            paths,
            [
                "sample.output_text",
                "item.x",
                "item.q",
                "item.img",
                "item.wav"
            ]
        );
        assert_eq!(
            u[1].fields,
            ["graders.a.reference", "graders.b.input[1].content[2]"]
        );
        assert_eq!(
            u[4].fields,
            ["graders.b.input[1].content[1].input_audio.data"]
        );
        let bad = json!({"type": "string_check", "input": "{{ item.x + 1 }}", "reference": "", "operation": "eq"});
        let errs = compile(&bad, &EngineOptions::default()).unwrap_err();
        assert_eq!(errs.0[0].path, "input");
    }

    #[test]
    fn a_path_repeated_in_one_field_and_across_many_is_listed_once_per_field() {
        let g = json!({"type": "string_check", "operation": "eq",
            "input": "{{ item.x }} {{ item.x }} {{ sample.output_text }}", "reference": "{{ item.x }}"});
        let c = compile(&g, &EngineOptions::default()).unwrap();
        let u = c.template_refs();
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].fields, ["input", "reference"]);
        assert_eq!(u[1].fields, ["input"]);
        // 50,000 sub-graders reading the same two paths (and one their own): every field once,
        // in config order. (Collecting this scanned every list per step: minutes.)
        let n = 50_000;
        let subs: serde_json::Map<String, serde_json::Value> = (0..n)
            .map(|i| {
                let sub = json!({"type": "string_check", "operation": "eq",
                    "input": "{{ sample.output_text }}", "reference": format!("{{{{ item.a }}}}{{{{ item.k{i} }}}}")});
                (format!("g{i}"), sub)
            })
            .collect();
        let m = json!({"type": "multi", "graders": subs, "calculate_output": "g0"});
        let c = compile(&m, &EngineOptions::default()).unwrap();
        let u = c.template_refs();
        assert_eq!(u.len(), 2 + n);
        assert_eq!(u[0].path.to_string(), "sample.output_text");
        assert_eq!(u[0].fields.len(), n);
        assert_eq!(u[0].fields[n - 1], format!("graders.g{}.input", n - 1));
        assert_eq!(u[1].path.to_string(), "item.a");
        assert_eq!(u[1].fields.len(), n);
        assert_eq!(u[2 + n - 1].path.to_string(), format!("item.k{}", n - 1));
    }
}
