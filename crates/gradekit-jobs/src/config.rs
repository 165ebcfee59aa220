//! Operator configuration files: the model registry (`--models FILE`) and the projects and
//! their keys (`--api-keys FILE`), both TOML.
//!
//! ```toml
//! # --models
//! [models."qwen2.5-0.5b"]
//! path = "/models/Qwen2.5-0.5B-Instruct"   # a local Hugging Face directory
//! lora = true                              # optional training defaults, passed to the trainer
//! learning_rate = 2e-5
//! max_seq_length = 2048
//!
//! # --api-keys
//! [projects."proj_a"]
//! keys = ["sk-a-1", "sk-a-2"]
//! ```

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;

/// Longest model name (it becomes part of `ft:…` names and URL paths).
pub const MAX_MODEL_NAME: usize = 128;

/// One base model of the registry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub path: PathBuf,
    #[serde(default)]
    pub lora: Option<bool>,
    #[serde(default)]
    pub learning_rate: Option<f64>,
    #[serde(default)]
    pub max_seq_length: Option<i64>,
}

/// Base models by name, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelRegistry {
    pub models: IndexMap<String, ModelEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsFile {
    #[serde(default)]
    models: IndexMap<String, ModelEntry>,
}

impl ModelRegistry {
    /// Parses a `--models` file.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let f: ModelsFile = toml::from_str(text).map_err(|e| e.to_string())?;
        for (name, m) in &f.models {
            if name.is_empty()
                || name.len() > MAX_MODEL_NAME
                || name.contains(':')
                || name.chars().any(|c| c.is_control() || c.is_whitespace())
            {
                return Err(format!(
                    "model name {name:?} must be 1 to {MAX_MODEL_NAME} characters without ':', spaces or control characters"
                ));
            }
            if m.learning_rate
                .is_some_and(|lr| !(lr.is_finite() && lr > 0.0))
            {
                return Err(format!(
                    "models.{name}.learning_rate must be a positive number"
                ));
            }
            if m.max_seq_length.is_some_and(|n| n < 1) {
                return Err(format!("models.{name}.max_seq_length must be at least 1"));
            }
        }
        Ok(ModelRegistry { models: f.models })
    }

    /// The spec's `model` object: `{"name", "path"}` plus the training defaults that are set.
    pub fn spec_model(&self, name: &str) -> Option<Value> {
        let m = self.models.get(name)?;
        let mut v = json!({"name": name, "path": m.path.to_string_lossy()});
        if let Some(o) = v.as_object_mut() {
            if let Some(l) = m.lora {
                o.insert("lora".into(), json!(l));
            }
            if let Some(l) = m.learning_rate {
                o.insert("learning_rate".into(), json!(l));
            }
            if let Some(l) = m.max_seq_length {
                o.insert("max_seq_length".into(), json!(l));
            }
        }
        Some(v)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectsFile {
    #[serde(default)]
    projects: IndexMap<String, ProjectEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectEntry {
    keys: Vec<String>,
}

/// True for a usable project id: 1 to 64 ASCII letters, digits, `_` or `-`.
pub fn is_project_id(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 64
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Parses an `--api-keys` file into (project, keys) pairs. A key given twice is an error (it
/// would belong to two projects). Error messages never quote a key.
pub fn projects_from_toml(text: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let f: ProjectsFile = toml::from_str(text).map_err(|e| {
        // toml's messages quote values, which may be keys: say only where.
        let line = e.span().map_or(0, |s| text[..s.start.min(text.len())].lines().count().max(1));
        format!(
            "invalid at line {line}: expected tables [projects.\"PROJECT_ID\"] with keys = [\"KEY\", ...]"
        )
    })?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (p, e) in f.projects {
        if !is_project_id(&p) {
            return Err(format!(
                "project id {p:?} must be 1 to 64 ASCII letters, digits, '_' or '-'"
            ));
        }
        for k in &e.keys {
            if k.is_empty() {
                return Err(format!("project {p:?} has an empty key"));
            }
            if !seen.insert(k.clone()) {
                return Err(format!("project {p:?} repeats a key of another project"));
            }
        }
        out.push((p, e.keys));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn registry_and_projects_parse() {
        let r = ModelRegistry::from_toml(
            "[models.\"tiny\"]\npath = \"/m/tiny\"\nlora = true\n[models.b]\npath = \"/m/b\"\n",
        )
        .unwrap();
        assert_eq!(r.models.keys().collect::<Vec<_>>(), ["tiny", "b"]);
        assert_eq!(
            r.spec_model("tiny").unwrap(),
            json!({"name": "tiny", "path": "/m/tiny", "lora": true})
        );
        assert!(ModelRegistry::from_toml("[models.\"a:b\"]\npath = \"x\"").is_err());
        assert!(ModelRegistry::from_toml("[models.a]\npth = \"x\"").is_err());
        let p = projects_from_toml(
            "[projects.a]\nkeys = [\"k1\"]\n[projects.b]\nkeys = [\"k2\", \"k3\"]",
        )
        .unwrap();
        assert_eq!(
            p[1],
            ("b".to_string(), vec!["k2".to_string(), "k3".to_string()])
        );
        let e = projects_from_toml(
            "[projects.a]\nkeys = [\"secret\"]\n[projects.b]\nkeys = [\"secret\"]",
        )
        .unwrap_err();
        assert!(!e.contains("secret"), "{e}");
        let e = projects_from_toml("[projects.a]\nkeys = \"secret-not-a-list\"").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }
}
