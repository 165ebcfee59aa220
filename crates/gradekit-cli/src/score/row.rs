//! Serialising `score`'s output rows.
//!
//! Most of a result row never changes between rows: the grader's name and type, and — for a
//! sample that graded cleanly — the 24-key `metadata.errors` object, which alone is ~900 of the
//! row's ~1,100 bytes. [`RowWriter`] serialises those parts once and copies them; only the line
//! number, reward, sub-rewards, timing and the rare per-row values are formatted per row, by
//! serde_json, straight into the chunk's output buffer (`null`s, `passed` and rewards of
//! exactly 0 or 1 are copied as the text serde_json gives them). The bytes are exactly what serialising
//! the row struct with serde_json gives (a test holds the two together), so the wire format has one
//! definition.

use gradekit_engine::{Compact, CompiledGrader, GradeResult, TokenUsage};
use gradekit_model::ErrorFlags;
use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

/// Writes rows for one grader; cheap to share between threads.
#[derive(Clone)]
pub(super) struct RowWriter {
    /// `"metadata":{"name":…,"type":…,"errors":` — up to the errors object.
    meta_head: Vec<u8>,
    /// The errors object of a sample without errors.
    clean_errors: Vec<u8>,
    /// What a clean row ([`Outcome::Clean`]) holds between its reward and its time (empty
    /// sub-rewards, the metadata head, the clean errors), ~1 KB copied at once.
    clean_mid: Vec<u8>,
    threshold: Option<f64>,
}

/// What a clean row holds after its time, without and with a `passed` verdict.
const CLEAN_TAIL: &[u8] = b",\"scores\":{},\"token_usage\":null,\"sampled_model_name\":null}}\n";
const CLEAN_TAIL_PASSED: &[u8] =
    b",\"scores\":{},\"token_usage\":null,\"sampled_model_name\":null},\"passed\":true}\n";
const CLEAN_TAIL_FAILED: &[u8] =
    b",\"scores\":{},\"token_usage\":null,\"sampled_model_name\":null},\"passed\":false}\n";

impl RowWriter {
    pub fn new(grader: &CompiledGrader) -> RowWriter {
        let mut meta_head = br#""metadata":{"name":"#.to_vec();
        json(&mut meta_head, grader.name());
        meta_head.extend_from_slice(br#","type":"#);
        json(&mut meta_head, grader.kind());
        meta_head.extend_from_slice(br#","errors":"#);
        let mut clean_errors = Vec::new();
        json(&mut clean_errors, &ErrorFlags::default());
        let mut clean_mid = b",\"sub_rewards\":{},".to_vec();
        clean_mid.extend_from_slice(&meta_head);
        clean_mid.extend_from_slice(&clean_errors);
        clean_mid.extend_from_slice(b",\"execution_time\":");
        RowWriter {
            meta_head,
            clean_errors,
            clean_mid,
            threshold: grader.pass_threshold(),
        }
    }

    /// About the size of a clean row (a line number, a reward and a time around the constant
    /// ~1 KB): what a buffer for a chunk's rows is reserved for per line, so that it is not
    /// grown (and copied) a doubling at a time while it is written.
    pub fn clean_row_bytes(&self) -> usize {
        self.clean_mid.len() + CLEAN_TAIL_FAILED.len() + 64
    }

    /// Appends the row of a graded sample and a newline.
    pub fn graded(&self, out: &mut Vec<u8>, line: u64, id: Option<&Value>, r: &GradeResult) {
        let id = id.map(|v| serde_json::to_vec(v).unwrap_or_else(|_| b"null".to_vec()));
        self.graded_raw(out, line, id.as_deref(), r);
    }

    /// [`Self::graded`] with the `id` already serialised.
    pub fn graded_raw(&self, out: &mut Vec<u8>, line: u64, id: Option<&[u8]>, r: &GradeResult) {
        let parts = Parts {
            reward: r.reward,
            sub_rewards: Some(&r.sub_rewards).filter(|s| !s.is_empty()),
            errors: Some(&r.errors).filter(|e| !e.is_clean()),
            execution_time: r.execution_time,
            token_usage: r.token_usage.as_ref(),
            sampled_model_name: r.sampled_model_name.as_deref(),
        };
        self.row(out, line, id, &parts);
    }

    /// [`Self::graded_raw`] of an [`Outcome`].
    pub fn outcome_raw(&self, out: &mut Vec<u8>, line: u64, id: Option<&[u8]>, o: &Outcome) {
        match o {
            Outcome::Clean { reward, time } => {
                // `row` for a clean result, its constant runs copied whole.
                out.reserve(self.clean_mid.len() + CLEAN_TAIL_FAILED.len() + 80);
                out.extend_from_slice(b"{\"line\":");
                uint(out, line);
                if let Some(id) = id {
                    out.extend_from_slice(b",\"id\":");
                    out.extend_from_slice(id);
                }
                out.extend_from_slice(b",\"reward\":");
                float(out, *reward);
                out.extend_from_slice(&self.clean_mid);
                seconds(out, *time);
                out.extend_from_slice(match self.threshold {
                    None => CLEAN_TAIL,
                    Some(t) if *reward >= t => CLEAN_TAIL_PASSED,
                    Some(_) => CLEAN_TAIL_FAILED,
                });
            }
            Outcome::Full(r) => self.graded_raw(out, line, id, r),
        }
    }

    fn row(&self, out: &mut Vec<u8>, line: u64, id: Option<&[u8]>, r: &Parts<'_>) {
        out.extend_from_slice(b"{\"line\":");
        uint(out, line);
        if let Some(id) = id {
            out.extend_from_slice(b",\"id\":");
            out.extend_from_slice(id);
        }
        out.extend_from_slice(b",\"reward\":");
        float(out, r.reward);
        out.extend_from_slice(b",\"sub_rewards\":");
        match r.sub_rewards {
            None => out.extend_from_slice(b"{}"),
            Some(s) => json(out, s),
        }
        out.push(b',');
        out.extend_from_slice(&self.meta_head);
        match r.errors {
            None => out.extend_from_slice(&self.clean_errors),
            Some(e) => json(out, e),
        }
        out.extend_from_slice(b",\"execution_time\":");
        seconds(out, r.execution_time);
        out.extend_from_slice(b",\"scores\":{},\"token_usage\":");
        match r.token_usage {
            None => out.extend_from_slice(b"null"),
            Some(u) => json(out, u),
        }
        out.extend_from_slice(b",\"sampled_model_name\":");
        match r.sampled_model_name {
            None => out.extend_from_slice(b"null"),
            Some(m) => json(out, m),
        }
        out.extend_from_slice(match self.threshold {
            None => b"}}\n",
            Some(t) if r.reward >= t => b"},\"passed\":true}\n",
            Some(_) => b"},\"passed\":false}\n",
        });
    }

    /// Appends the error row of a line that could not be graded, and a newline.
    pub fn invalid(out: &mut Vec<u8>, line: u64, id: Option<&Value>, code: &str, message: &str) {
        let id = id.map(|v| serde_json::to_vec(v).unwrap_or_else(|_| b"null".to_vec()));
        Self::invalid_raw(out, line, id.as_deref(), code, message);
    }

    /// [`Self::invalid`] with the `id` already serialised.
    pub fn invalid_raw(out: &mut Vec<u8>, line: u64, id: Option<&[u8]>, code: &str, message: &str) {
        out.extend_from_slice(b"{\"line\":");
        uint(out, line);
        if let Some(id) = id {
            out.extend_from_slice(b",\"id\":");
            out.extend_from_slice(id);
        }
        out.extend_from_slice(b",\"reward\":null,\"error\":{\"code\":");
        json(out, code);
        out.extend_from_slice(b",\"message\":");
        json(out, message);
        out.extend_from_slice(b"}}\n");
    }
}

/// What a row says of a result (`None`: empty sub-rewards, clean errors).
struct Parts<'a> {
    reward: f64,
    sub_rewards: Option<&'a IndexMap<String, f64>>,
    errors: Option<&'a ErrorFlags>,
    execution_time: f64,
    token_usage: Option<&'a TokenUsage>,
    sampled_model_name: Option<&'a str>,
}

/// A graded sample's result as the writer needs it. Nearly every row of a CPU-bound grader
/// is a reward and a time (no sub-reward, error, judge usage): those travel from the
/// grading thread to the writer in 24 bytes instead of a whole [`GradeResult`] (~500 bytes
/// written and read back per line, a chunk of them more than the cache holds). The engine
/// gives them so ([`Compact`], from `CompiledGrader::grade_compact_since`).
pub enum Outcome {
    Clean { reward: f64, time: f64 },
    Full(Box<GradeResult>),
}

impl From<Compact> for Outcome {
    fn from(c: Compact) -> Outcome {
        match c {
            Compact::Clean {
                reward,
                execution_time,
            } => Outcome::Clean {
                reward,
                time: execution_time,
            },
            Compact::Full(r) => Outcome::Full(r),
        }
    }
}

#[cfg(test)]
impl Outcome {
    pub fn new(r: GradeResult) -> Outcome {
        Compact::new(r).into()
    }
}

/// A line number, as serde_json writes it.
fn uint(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// A float as serde_json writes it; the rewards most graders give most often (exactly `0.0`
/// and `1.0`, compared bit for bit so that `-0.0` still goes through serde_json) are copied.
fn float(out: &mut Vec<u8>, x: f64) {
    if x.to_bits() == 0f64.to_bits() {
        out.extend_from_slice(b"0.0");
    } else if x.to_bits() == 1f64.to_bits() {
        out.extend_from_slice(b"1.0");
    } else {
        json(out, &x);
    }
}

/// An `execution_time` as serde_json writes it. A time under a second is a whole number of
/// nanoseconds (`Duration::as_secs_f64`: `n as f64 / 1e9`, correctly rounded), and serde_json
/// writes a float's shortest round-tripping digits: for such a time they are `n`'s own digits
/// (trailing zeros dropped) — no other decimal of at most nine digits lies within the double's
/// ~1e-16 relative rounding interval — so the text is written from `n` with zmij's layout
/// (`0.000013535` for a first digit down to 10⁻⁵, `5.901e-6` below). That was ~half of the
/// float formatting of a row (#17 "rouge14"). Any other float (a second or more, not such a
/// quotient) goes through serde_json.
fn seconds(out: &mut Vec<u8>, t: f64) {
    let n = (t * 1e9).round();
    if !((1.0..1e9).contains(&n) && n / 1e9 == t) {
        return json(out, &t);
    }
    // 1 ≤ n < 10⁹: its digits, most significant first, in `digits[at..]`.
    let mut n = n as u32;
    let mut digits = [0u8; 9];
    let mut at = digits.len();
    while n > 0 {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let len = digits.len() - at;
    // Decimal exponent of the first digit: -9 (1 ns) to -1.
    let exp = len as i32 - 10;
    let mut sig = &digits[at..];
    while let [rest @ .., b'0'] = sig {
        sig = rest;
    }
    if exp >= -5 {
        out.extend_from_slice(&b"0.0000"[..(1 - exp) as usize]);
        out.extend_from_slice(sig);
    } else {
        out.push(sig[0]);
        if sig.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&sig[1..]);
        }
        out.extend_from_slice(b"e-");
        out.push(b'0' + (-exp) as u8);
    }
}

/// serde_json into a byte buffer. Writing into a `Vec` cannot fail, and none of the types
/// written here can fail to serialise (string keys, finite or null floats).
fn json<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.extend_from_slice(b"null");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gradekit_engine::RunMetadata;
    use gradekit_model::TokenUsage;
    use indexmap::IndexMap;
    use serde_json::json;

    /// A result row, as the reference serialisation (what `score` wrote before `RowWriter`).
    #[derive(Serialize)]
    struct OutLine<'a> {
        line: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a Value>,
        reward: f64,
        sub_rewards: &'a IndexMap<String, f64>,
        metadata: RunMetadata,
        #[serde(skip_serializing_if = "Option::is_none")]
        passed: Option<bool>,
    }

    fn reference(g: &CompiledGrader, line: u64, id: Option<&Value>, r: &GradeResult) -> String {
        let resp = r.to_response(g.name(), g.kind());
        let row = OutLine {
            line,
            id,
            reward: r.reward,
            sub_rewards: &r.sub_rewards,
            metadata: resp.metadata,
            passed: g.pass_threshold().map(|t| r.reward >= t),
        };
        serde_json::to_string(&row).unwrap() + "\n"
    }

    /// An error row: the line could not be graded at all.
    #[derive(Serialize)]
    struct ErrLine<'a> {
        line: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a Value>,
        reward: Option<f64>,
        error: ErrBody<'a>,
    }

    #[derive(Serialize)]
    struct ErrBody<'a> {
        code: &'a str,
        message: &'a str,
    }

    fn grader(v: Value) -> CompiledGrader {
        gradekit_engine::compile(&v, &Default::default()).unwrap()
    }

    fn result() -> GradeResult {
        GradeResult {
            reward: 0.1 + 0.2,
            sub_rewards: IndexMap::new(),
            errors: ErrorFlags::default(),
            execution_time: 1.25e-6,
            token_usage: None,
            sampled_model_name: None,
            usage_per_model: IndexMap::new(),
        }
    }

    #[test]
    fn rows_are_byte_identical_to_the_serde_serialisation() {
        let plain = grader(
            json!({"type": "string_check", "name": "a \"quoted\" name\u{1}",
            "input": "{{sample.output_text}}", "reference": "x", "operation": "eq"}),
        );
        let multi = grader(json!({"type": "multi", "name": "m", "graders": {
            "a": {"type": "string_check", "name": "a", "input": "x", "reference": "x", "operation": "eq"}},
            "calculate_output": "a", "pass_threshold": 0.5}));
        let mut with_errors = result();
        with_errors.reward = 0.0;
        with_errors.errors.invalid_variable_error = true;
        with_errors.errors.invalid_variable_error_details = Some("item.x: \"missing\"\n".into());
        let mut with_usage = result();
        with_usage.token_usage = Some(TokenUsage {
            prompt_tokens: 3,
            completion_tokens: 4,
            total_tokens: 7,
            cached_tokens: 0,
        });
        with_usage.sampled_model_name = Some("gpt-4o-2024".into());
        let mut negative_zero = result();
        negative_zero.reward = -0.0;
        let mut nan = result();
        nan.reward = f64::NAN;
        let mut one = result();
        one.reward = 1.0;
        let mut with_subs = result();
        with_subs.reward = 1.0;
        with_subs.sub_rewards.insert("a".into(), 1.0);
        with_subs.sub_rewards.insert("b c".into(), 1e-300);
        let ids = [
            None,
            Some(json!(7)),
            Some(json!("row-1")),
            Some(json!({"k": [1, 2.5]})),
        ];
        for g in [&plain, &multi] {
            for r in [
                &result(),
                &with_errors,
                &with_usage,
                &with_subs,
                &negative_zero,
                &nan,
                &one,
            ] {
                for id in &ids {
                    for line in [1, u64::MAX] {
                        let mut out = Vec::new();
                        RowWriter::new(g).graded(&mut out, line, id.as_ref(), r);
                        let want = reference(g, line, id.as_ref(), r);
                        assert_eq!(String::from_utf8(out).unwrap(), want);
                        // The same row from the result's compact form.
                        let raw = id.as_ref().map(|v| serde_json::to_vec(v).unwrap());
                        let mut out = Vec::new();
                        let o = Outcome::new(r.clone());
                        RowWriter::new(g).outcome_raw(&mut out, line, raw.as_deref(), &o);
                        assert_eq!(String::from_utf8(out).unwrap(), want);
                    }
                }
            }
        }
    }

    /// Times are written as serde_json writes them: every whole number of nanoseconds up to
    /// 2·10⁶ and from 10⁹ − 10⁶ on, a spread of others below a second (each digit count and
    /// trailing zeros), and floats that are no such quotient. (All of 1..10⁹ was checked once
    /// against zmij outside the tests: BENCHMARKS.md, #17 "rouge14".)
    #[test]
    fn times_are_written_as_serde_json_writes_them() {
        let check = |t: f64| {
            let mut got = Vec::new();
            seconds(&mut got, t);
            assert_eq!(
                String::from_utf8(got).unwrap(),
                serde_json::to_string(&t).unwrap(),
                "{t:e}"
            );
        };
        let ns = |n: u64| std::time::Duration::from_nanos(n).as_secs_f64();
        for n in (0..2_000_000).chain(999_000_000..1_002_000_000) {
            check(ns(n));
        }
        let mut x = 88_172_645_463_325_252u64;
        for _ in 0..300_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = x % 1_000_000_000;
            check(ns(n));
            check(ns(n / 1000 * 1000));
            check(ns(n >> (x % 30)));
        }
        for t in [
            1.25e-6,
            0.1 + 0.2,
            1.5,
            2.0,
            12.5,
            1e9,
            1e-10,
            5e-324,
            1.000_000_000_1e-3,
            -1e-6,
            -0.0,
            0.0,
            3.3e-7,
            0.000_013_535_1,
        ] {
            check(t);
        }
    }

    #[test]
    fn error_rows_are_byte_identical_to_the_serde_serialisation() {
        for id in [
            None,
            Some(json!(7)),
            Some(json!("é\"\n")),
            Some(json!([1, {"a": null}])),
        ] {
            for (code, message) in [
                ("invalid_json", "bad \"x\" \u{1}\t é"),
                ("missing_sample", ""),
            ] {
                for line in [1, 42, u64::MAX] {
                    let mut out = Vec::new();
                    RowWriter::invalid(&mut out, line, id.as_ref(), code, message);
                    let want = serde_json::to_string(&ErrLine {
                        line,
                        id: id.as_ref(),
                        reward: None,
                        error: ErrBody { code, message },
                    })
                    .unwrap()
                        + "\n";
                    assert_eq!(String::from_utf8(out).unwrap(), want);
                }
            }
        }
    }

    #[test]
    fn error_rows_name_the_line_and_the_code() {
        let mut out = Vec::new();
        RowWriter::invalid(&mut out, 9, Some(&json!("a")), "invalid_json", "bad \"x\"");
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            json!({"line": 9, "id": "a", "reward": null,
                   "error": {"code": "invalid_json", "message": "bad \"x\""}})
        );
        assert_eq!(out.last(), Some(&b'\n'));
    }
}
