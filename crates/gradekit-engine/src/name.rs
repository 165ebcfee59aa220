//! Generated grader names: `grader-` + 12 alphanumerics from a hash of the canonical JSON.
//!
//! OpenAI invents a random name per call; we derive it from the content instead, so
//! `validate`, `run` and every later run agree (DESIGN.md §4 "name").

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

/// The name a grader without one gets; `grader` is its JSON (its own `name` key is ignored).
pub fn generated_name(grader: &Value) -> String {
    let canon = match grader {
        Value::Object(m) => {
            let mut m = m.clone();
            m.shift_remove("name");
            canonical_json(&Value::Object(m))
        }
        other => canonical_json(other),
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

    #[test]
    fn name_ignores_key_order_whitespace_and_name() {
        let a = generated_name(&json!({"type": "string_check", "input": "a", "name": "x"}));
        let b = generated_name(&json!({"input": "a", "type": "string_check"}));
        assert_eq!(a, b);
        assert_eq!(a.len(), "grader-".len() + 12);
        assert!(a["grader-".len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(
            a,
            generated_name(&json!({"input": "b", "type": "string_check"}))
        );
    }
}
