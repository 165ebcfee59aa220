//! Encodes `serde_json::Value`s in CPython's `marshal` format (version ≥ 2 object codes, no
//! references), so a worker decodes a frame with `marshal.loads` — about 2.5× faster than
//! `json.loads` for grader samples (measured on this machine: 1.7 vs 4.4 µs per 660-byte pair),
//! and the stdlib has it without any package.
//!
//! Only the object codes a JSON value needs are produced; they have been stable since
//! Python 3.4 (`Python/marshal.c`, `w_object`): `N` None, `T`/`F` bools, `i` int32,
//! `l` arbitrary int as base-2¹⁵ digits, `g` binary double, `u` UTF-8 string with a u32 length,
//! `[` list with a u32 count, `)` small tuple with a u8 count, `{` dict as key/value objects
//! closed by `0`. All integers little-endian. The bytes come only from the engine, never from
//! grader code, so the decoder never sees hostile input.

use std::collections::HashMap;

use serde_json::Value;

const FLAG_REF: u8 = 0x80;

/// Encodes one frame. Dict keys repeat in every sample (`output_text`, `choices`, …): the first
/// occurrence is flagged `FLAG_REF` and later ones are `r` + index, so the decoder builds each
/// key string (and hashes it) once per frame instead of once per sample.
#[derive(Debug, Default)]
pub(crate) struct Encoder<'a> {
    refs: HashMap<&'a str, u32>,
}

impl<'a> Encoder<'a> {
    /// Appends `v` to `out`.
    pub(crate) fn write_value(&mut self, out: &mut Vec<u8>, v: &'a Value) {
        match v {
            Value::Null => out.push(b'N'),
            Value::Bool(true) => out.push(b'T'),
            Value::Bool(false) => out.push(b'F'),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    write_int(out, i128::from(i));
                } else if let Some(u) = n.as_u64() {
                    write_int(out, i128::from(u));
                } else {
                    out.push(b'g');
                    out.extend_from_slice(&n.as_f64().unwrap_or(f64::NAN).to_le_bytes());
                }
            }
            Value::String(s) => write_str(out, s, 0),
            Value::Array(items) => {
                write_list_header(out, items.len());
                for item in items {
                    self.write_value(out, item);
                }
            }
            Value::Object(map) => {
                out.push(b'{');
                for (k, val) in map {
                    self.write_key(out, k);
                    self.write_value(out, val);
                }
                out.push(b'0');
            }
        }
    }

    fn write_key(&mut self, out: &mut Vec<u8>, k: &'a str) {
        if let Some(&i) = self.refs.get(k) {
            out.push(b'r');
            out.extend_from_slice(&i.to_le_bytes());
            return;
        }
        let next = u32::try_from(self.refs.len()).unwrap_or(u32::MAX);
        if next < u32::MAX {
            self.refs.insert(k, next);
            write_str(out, k, FLAG_REF);
        } else {
            write_str(out, k, 0);
        }
    }

    /// A small tuple `(a, b)`.
    pub(crate) fn write_pair(&mut self, out: &mut Vec<u8>, a: &'a Value, b: &'a Value) {
        out.extend_from_slice(&[b')', 2]);
        self.write_value(out, a);
        self.write_value(out, b);
    }
}

/// Starts a list of `n` elements.
pub(crate) fn write_list_header(out: &mut Vec<u8>, n: usize) {
    out.push(b'[');
    out.extend_from_slice(&len32(n).to_le_bytes());
}

fn len32(n: usize) -> u32 {
    // Frames are far below 4 GiB (the frame length is a u32 too; larger frames are refused).
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn write_str(out: &mut Vec<u8>, s: &str, flag: u8) {
    out.push(b'u' | flag);
    out.extend_from_slice(&len32(s.len()).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn write_int(out: &mut Vec<u8>, i: i128) {
    if let Ok(small) = i32::try_from(i) {
        out.push(b'i');
        out.extend_from_slice(&small.to_le_bytes());
        return;
    }
    // TYPE_LONG: signed digit count, then 15-bit digits, least significant first.
    let mut mag = i.unsigned_abs();
    let mut digits = Vec::with_capacity(9);
    while mag > 0 {
        digits.push((mag & 0x7fff) as u16);
        mag >>= 15;
    }
    let n = digits.len() as i32;
    out.push(b'l');
    out.extend_from_slice(&(if i < 0 { -n } else { n }).to_le_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn small_values_have_the_documented_bytes() {
        let mut b = Vec::new();
        let v = json!([null, true, 1, "é"]);
        Encoder::default().write_value(&mut b, &v);
        assert_eq!(
            b,
            [b'[', 4, 0, 0, 0, b'N', b'T', b'i', 1, 0, 0, 0, b'u', 2, 0, 0, 0, 0xc3, 0xa9]
        );
        b.clear();
        write_int(&mut b, 1 << 31);
        // 2^31 = 2 * 2^30 → digits [0, 0, 2]
        assert_eq!(b, [b'l', 3, 0, 0, 0, 0, 0, 0, 0, 2, 0]);
    }

    /// Differential check against CPython's own `marshal.loads` (skipped without python3).
    #[test]
    fn python_decodes_what_we_encode() {
        let v = json!({
            "s": "a\u{0}b\"\\ é 漢字 🎉", "empty": "", "i": -5, "big": 9_007_199_254_740_993u64,
            "max": u64::MAX, "min": i64::MIN, "edge": [2_147_483_647, -2_147_483_648, 2_147_483_648i64],
            "f": [0.1, -2.5e-300, 1e300, 1.0, -0.0], "n": null, "b": [true, false],
            "nested": {"a": [{"b": []}, {}]}
        });
        let mut b = Vec::new();
        let mut enc = Encoder::default();
        write_list_header(&mut b, 3);
        for _ in 0..3 {
            enc.write_pair(&mut b, &v, &v["nested"]);
        }
        let mut child = match std::process::Command::new("python3")
            .args(["-I", "-c", "import sys, marshal, json; sys.stdout.write(json.dumps(marshal.loads(sys.stdin.buffer.read())))"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("SKIP: no python3 ({e})");
                return;
            }
        };
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&b).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let back: Value = serde_json::from_slice(&out.stdout).unwrap();
        let pair = json!([v.clone(), v["nested"].clone()]);
        assert_eq!(back, json!([pair.clone(), pair.clone(), pair]));
    }
}
