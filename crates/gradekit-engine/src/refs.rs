//! The template references of a grader config, with the field each one is in: what `gradekit
//! lint` checks against data rows and what the jobs service checks against every line of a
//! reinforcement training file (every `item.*` path must resolve).
//!
//! Template-bearing fields: string_check / text_similarity `input` and `reference`; score_model
//! / label_model message contents and their content items' text, image_url and audio data;
//! recursively in multi sub-graders.

use gradekit_template::{Path, Template};
use serde_json::Value;

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

/// The distinct references of `grader`, in config order. A template that does not parse is an
/// error naming its field (the engine's compile reports the same).
pub fn template_refs(grader: &Value) -> Result<Vec<TemplateRef>, crate::ConfigError> {
    let mut out = Vec::new();
    collect(grader, "", &mut out)?;
    Ok(out)
}

fn add(src: &str, field: String, out: &mut Vec<TemplateRef>) -> Result<(), crate::ConfigError> {
    let t = Template::parse(src).map_err(|e| {
        crate::ConfigError::with(
            crate::model::ConfigErrorKind::TemplateSyntax,
            &field,
            e.to_string(),
        )
    })?;
    for p in t.refs() {
        match out.iter_mut().find(|u| &u.path == p) {
            Some(u) => {
                if !u.fields.contains(&field) {
                    u.fields.push(field.clone());
                }
            }
            None => out.push(TemplateRef {
                path: p.clone(),
                fields: vec![field.clone()],
            }),
        }
    }
    Ok(())
}

fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

fn collect(g: &Value, prefix: &str, out: &mut Vec<TemplateRef>) -> Result<(), crate::ConfigError> {
    match g.get("type").and_then(Value::as_str) {
        Some("string_check" | "text_similarity") => {
            for f in ["input", "reference"] {
                if let Some(s) = g.get(f).and_then(Value::as_str) {
                    add(s, join(prefix, f), out)?;
                }
            }
        }
        Some("score_model" | "label_model") => {
            let msgs = g.get("input").and_then(Value::as_array);
            for (i, m) in msgs.into_iter().flatten().enumerate() {
                let at = join(prefix, &format!("input[{i}].content"));
                match m.get("content") {
                    Some(Value::String(s)) => add(s, at, out)?,
                    Some(item @ Value::Object(_)) => content_item(item, &at, out)?,
                    Some(Value::Array(items)) => {
                        for (j, it) in items.iter().enumerate() {
                            let at = format!("{at}[{j}]");
                            match it {
                                Value::String(s) => add(s, at, out)?,
                                other => content_item(other, &at, out)?,
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Some("multi") => {
            let subs = g.get("graders").and_then(Value::as_object);
            for (k, s) in subs.into_iter().flatten() {
                collect(s, &join(prefix, &format!("graders.{k}")), out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn content_item(
    it: &Value,
    at: &str,
    out: &mut Vec<TemplateRef>,
) -> Result<(), crate::ConfigError> {
    for (f, ptr) in [
        ("text", "/text"),
        ("image_url", "/image_url"),
        ("input_audio.data", "/input_audio/data"),
    ] {
        if let Some(s) = it.pointer(ptr).and_then(Value::as_str) {
            add(s, format!("{at}.{f}"), out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
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
        let u = template_refs(&g).unwrap();
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
        assert_eq!(template_refs(&bad).unwrap_err().path, "input");
    }
}
