//! Generated grader names: `grader-` + 12 alphanumerics from a hash of the canonical JSON.
//!
//! OpenAI invents a random name per call; we derive it from the content instead, so
//! `validate`, `run` and every later run agree (DESIGN.md §4 "name").

use gradekit_model::Grader;
use serde_json::Value;
use sha2::{Digest, Sha256};

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `v` as JSON with object keys sorted and no whitespace: equal for configs that differ only
/// in key order or spacing (used for generated names and compiled-grader cache keys).
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The name a grader without one gets: a hash of its echo ([`Grader::to_value`], the config
/// as given with `neq` written `ne`) in canonical form, its own `name` left out.
pub fn generated_name(grader: &Grader) -> String {
    let canon = match grader.to_value() {
        Value::Object(mut m) => {
            m.shift_remove("name");
            canonical_json(&Value::Object(m))
        }
        other => canonical_json(&other),
    };
    let digest = Sha256::digest(canon.as_bytes());
    let mut name = String::from("grader-");
    for b in digest.iter().take(12) {
        name.push(ALPHABET[(*b as usize) % ALPHABET.len()] as char);
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn name_of(v: Value) -> String {
        generated_name(&Grader::from_value(&v).expect("a valid grader"))
    }

    #[test]
    fn name_ignores_key_order_whitespace_and_name() {
        let a = name_of(json!({"type": "string_check", "input": "a", "name": "x",
                               "reference": "b", "operation": "eq"}));
        let b = name_of(
            json!({"operation": "eq", "input": "a", "type": "string_check",
                               "reference": "b"}),
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), "grader-".len() + 12);
        assert!(a["grader-".len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric()));
        let other = json!({"input": "b", "type": "string_check", "reference": "b",
                           "operation": "eq"});
        assert_ne!(a, name_of(other));
    }

    /// The hash is of the canonical echo: `neq` and `ne` name alike, and the known value of
    /// one grader pins the canonical form (a change would rename every unnamed grader).
    #[test]
    fn name_is_the_hash_of_the_canonical_echo() {
        let g = |op: &str| {
            json!({"type": "string_check", "input": "{{ sample.output_text }}",
                   "reference": "{{ item.r }}", "operation": op})
        };
        assert_eq!(name_of(g("neq")), name_of(g("ne")));
        let canon = r#"{"input":"{{ sample.output_text }}","operation":"ne","reference":"{{ item.r }}","type":"string_check"}"#;
        let digest = Sha256::digest(canon.as_bytes());
        let want: String = digest
            .iter()
            .take(12)
            .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
            .collect();
        assert_eq!(name_of(g("neq")), format!("grader-{want}"));
    }
}
