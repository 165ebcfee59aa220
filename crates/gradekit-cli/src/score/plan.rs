//! A chunk's lines read for grading, on the reader thread: what each line grades as, with the
//! observed strings copied into one per-chunk buffer, so that the grading threads only grade.
//!
//! A line in the common shape (see [`super::scan`]) becomes a [`Plan::Lean`]: ranges into the
//! chunk's text buffer that the grading thread lends to the engine as a
//! [`gradekit_engine::LeanContext`] — no JSON tree, no allocation per line. Any other line is
//! read by the established reader ([`super::line::parse`]) into a built context or an error
//! row, exactly as before. The `id` of every line is kept serialised (the row writes it as
//! is). Memory is the chunk's: the buffer holds at most the chunk's own bytes.

use super::line::{self, Parsed};
use super::scan::{self, Kind, Scan, Token};
use super::strict::Strict;
use gradekit_engine::{EvalContext, LeanContext, LeanItem, LeanSample, LeanValue};
use gradekit_model::SampleParts;
use serde_json::Value;
use std::ops::Range;

/// What the reader needs to know of the grader.
#[derive(Clone)]
pub struct Planner {
    /// The item keys the grader observes.
    pub keys: Vec<String>,
    /// The sample parts it observes (only `SampleParts::TEXT` graders read lines lean).
    pub parts: SampleParts,
}

/// One observed item value.
pub enum ValRef {
    /// A string in [`Plans::text`].
    Str(Range<usize>),
    /// Any other value, in [`Plans::values`].
    Json(usize),
}

/// What one non-blank line grades as.
pub enum Plan {
    /// The sample text and the observed item values (`None`: no item, `{}`), lent at grading.
    Lean {
        id: Option<Range<usize>>,
        sample: Range<usize>,
        item: Option<Range<usize>>,
    },
    /// A line read the established way.
    Built {
        id: Option<Range<usize>>,
        ctx: Box<EvalContext>,
    },
    /// An error row.
    Invalid {
        id: Option<Range<usize>>,
        code: &'static str,
        message: String,
    },
}

/// The plans of a chunk's lines and the data they point into.
#[derive(Default)]
pub struct Plans {
    /// Sample texts, observed string values and serialised ids.
    pub text: String,
    pub values: Vec<Value>,
    /// Per lean line with an item, one entry per observed key (in the grader's key order).
    pub keyvals: Vec<Option<ValRef>>,
    pub plans: Vec<Plan>,
    scratch: scan::Scratch,
}

impl Plans {
    /// Empties the plans (keeping their memory) for a chunk of `lines` lines.
    pub fn clear(&mut self, lines: usize) {
        self.text.clear();
        self.values.clear();
        self.keyvals.clear();
        self.plans.clear();
        self.plans.reserve(lines);
    }

    fn str(&self, r: &Range<usize>) -> &str {
        // Every range was taken around a `push_str` of this buffer: always char boundaries.
        self.text.get(r.clone()).unwrap_or_default()
    }

    /// The serialised `id` of line `i`, if it has one.
    pub fn id(&self, i: usize) -> Option<&[u8]> {
        let (Plan::Lean { id, .. } | Plan::Built { id, .. } | Plan::Invalid { id, .. }) =
            self.plans.get(i)?;
        id.as_ref().map(|r| self.str(r).as_bytes())
    }

    /// Appends an error row's plan.
    pub fn push_invalid(&mut self, code: &'static str, message: String) {
        self.plans.push(Plan::Invalid {
            id: None,
            code,
            message,
        });
    }

    /// Reads one line and appends its plan.
    pub fn push_line(&mut self, bytes: &[u8], planner: &Planner) {
        let line = simdutf8::basic::from_utf8(bytes).ok();
        let mut scratch = std::mem::take(&mut self.scratch);
        // The scan copies the strings it reads into `text` (see `scan::scan`).
        let (text, keyvals, values) = (self.text.len(), self.keyvals.len(), self.values.len());
        let scan = line.map(|l| {
            (
                l,
                scan::scan(l, &planner.keys, &mut scratch, &mut self.text),
            )
        });
        let fast = match scan {
            Some((line, Scan::Fast(f))) => Some((line, f)),
            _ => None,
        };
        let lean = fast.and_then(|(line, f)| self.lean(line, f, &scratch.item_values, planner));
        if lean.is_none() {
            // Read the established way (not expected once the scan accepted the line): what
            // the scan or `lean` copied goes.
            self.text.truncate(text);
            self.keyvals.truncate(keyvals);
            self.values.truncate(values);
        }
        self.scratch = scratch;
        if let Some(p) = lean {
            self.plans.push(p);
            return;
        }
        let plan = match line::parse(bytes, None, planner.parts) {
            Parsed::Grade { id, ctx } => Plan::Built {
                id: self.push_id(id.as_ref()),
                ctx: Box::new(ctx),
            },
            Parsed::Invalid { id, code, message } => Plan::Invalid {
                id: self.push_id(id.as_ref()),
                code,
                message,
            },
        };
        self.plans.push(plan);
    }

    fn push_id(&mut self, id: Option<&Value>) -> Option<Range<usize>> {
        let start = self.text.len();
        let json = serde_json::to_string(id?).ok()?;
        self.text.push_str(&json);
        Some(start..self.text.len())
    }

    /// Where string token `t`'s text is in the text buffer: copied by the scan, or now.
    fn push_string(&mut self, line: &str, t: &Token) -> Option<Range<usize>> {
        if let Some(r) = &t.text {
            return Some(r.clone());
        }
        let start = self.text.len();
        scan::push_str(line, t, &mut self.text).then_some(start..self.text.len())
    }

    fn value_of(line: &str, t: &Token) -> Option<Value> {
        if t.kind == Kind::Null {
            return Some(Value::Null);
        }
        serde_json::from_str::<Strict>(line.get(t.span.clone())?)
            .ok()
            .map(|s| s.0)
    }

    fn val_ref(&mut self, line: &str, t: &Token) -> Option<ValRef> {
        if let Kind::Str { .. } = t.kind {
            return self.push_string(line, t).map(ValRef::Str);
        }
        self.values.push(Self::value_of(line, t)?);
        Some(ValRef::Json(self.values.len() - 1))
    }

    fn lean(
        &mut self,
        line: &str,
        f: scan::Fields,
        item_values: &[Option<Token>],
        planner: &Planner,
    ) -> Option<Plan> {
        let id = match &f.id {
            None => None,
            Some(t) => {
                let start = self.text.len();
                match t.kind {
                    Kind::Str { escaped: false } | Kind::Null | Kind::SmallUint => {
                        // serde_json writes these back byte for byte.
                        self.text.push_str(line.get(t.span.clone())?);
                        Some(start..self.text.len())
                    }
                    _ => {
                        let v = Self::value_of(line, t)?;
                        Some(self.push_id(Some(&v))?)
                    }
                }
            }
        };
        let sample = self.push_string(line, f.sample.as_ref()?)?;
        let start = self.keyvals.len();
        let item = match (&f.item, &f.reference_answer) {
            (Some(_), _) => {
                for t in item_values {
                    let v = match t {
                        Some(t) => Some(self.val_ref(line, t)?),
                        None => None,
                    };
                    self.keyvals.push(v);
                }
                Some(start..self.keyvals.len())
            }
            (None, Some(r)) => {
                // The legacy reference answer is the item `{"reference_answer": …}`.
                for k in &planner.keys {
                    let v = match k.as_str() {
                        "reference_answer" => Some(self.val_ref(line, r)?),
                        _ => None,
                    };
                    self.keyvals.push(v);
                }
                Some(start..self.keyvals.len())
            }
            (None, None) => None,
        };
        Some(Plan::Lean { id, sample, item })
    }

    /// Line `i`'s plan graded by `grade` on a lent context (lean lines) or a built one;
    /// `None` for an error row.
    pub fn grade<T>(
        &self,
        i: usize,
        planner: &Planner,
        grade_lean: impl FnOnce(&LeanContext<'_>) -> T,
        grade_built: impl FnOnce(&EvalContext) -> T,
    ) -> Option<T> {
        match self.plans.get(i)? {
            Plan::Invalid { .. } => None,
            Plan::Built { ctx, .. } => Some(grade_built(ctx)),
            Plan::Lean { sample, item, .. } => {
                let text = self.str(sample);
                let mut small = [None; 8];
                let mut big = Vec::new();
                let item = match item {
                    None => LeanItem::Empty,
                    Some(r) => {
                        let refs = self.keyvals.get(r.clone()).unwrap_or_default();
                        let vals: &mut [Option<LeanValue<'_>>] = if refs.len() <= small.len() {
                            &mut small[..refs.len()]
                        } else {
                            big.resize(refs.len(), None);
                            &mut big
                        };
                        for (v, r) in vals.iter_mut().zip(refs) {
                            *v = r.as_ref().and_then(|r| match r {
                                ValRef::Str(s) => Some(LeanValue::Str(self.str(s))),
                                ValRef::Json(j) => self.values.get(*j).map(LeanValue::Json),
                            });
                        }
                        LeanItem::Keys(vals)
                    }
                };
                let ctx =
                    LeanContext::new(LeanSample::Text(text), item, &planner.keys, planner.parts);
                Some(grade_lean(&ctx))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::score::row::RowWriter;
    use gradekit_engine::{CompiledGrader, GradeResult};
    use proptest::prelude::*;
    use serde_json::json;

    fn graders() -> Vec<CompiledGrader> {
        [
            json!({"type": "string_check", "operation": "eq",
                   "input": "{{ sample.output_text }}", "reference": "{{ item.reference }}"}),
            json!({"type": "string_check", "operation": "like", "pass_threshold": 0.5,
                   "input": "{{ sample.output_text }} {{ item.n }} {{ item.o }}",
                   "reference": "{{ item.o.x[1] }}{{ item.reference_answer }}"}),
            json!({"type": "text_similarity", "evaluation_metric": "fuzzy_match",
                   "input": "{{ sample.output_text }}", "reference": "{{ item.reference }}"}),
            json!({"type": "multi", "calculate_output": "a + b", "graders": {
                "a": {"type": "string_check", "operation": "eq",
                      "input": "{{ sample.output_text }}", "reference": "{{ item.reference_answer }}"},
                "b": {"type": "text_similarity", "evaluation_metric": "bleu",
                      "input": "{{ sample.output_text }}", "reference": "{{ item.n }}"}}}),
        ]
        .iter()
        .map(|g| gradekit_engine::compile(g, &Default::default()).unwrap())
        .collect()
    }

    fn planner(g: &CompiledGrader) -> Planner {
        assert_eq!(g.sample_parts(), SampleParts::TEXT);
        Planner {
            keys: g.item_keys().unwrap().to_vec(),
            parts: SampleParts::TEXT,
        }
    }

    fn steady(mut r: GradeResult) -> GradeResult {
        r.execution_time = 0.0;
        r
    }

    /// The row `score` wrote for the line before plans: parse, grade, serialise.
    fn established(g: &CompiledGrader, bytes: &[u8]) -> String {
        let mut out = Vec::new();
        match line::parse(bytes, None, g.sample_parts()) {
            Parsed::Grade { id, ctx } => {
                RowWriter::new(g).graded(&mut out, 3, id.as_ref(), &steady(g.grade(&ctx)))
            }
            Parsed::Invalid { id, code, message } => {
                RowWriter::invalid(&mut out, 3, id.as_ref(), code, &message)
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// The row through a plan; and whether the line was read lean.
    fn planned(g: &CompiledGrader, bytes: &[u8]) -> (String, bool) {
        let p = planner(g);
        let mut plans = Plans::default();
        plans.push_line(bytes, &p);
        let r = plans.grade(0, &p, |l| steady(g.grade_input(l)), |c| steady(g.grade(c)));
        let mut out = Vec::new();
        match (&r, &plans.plans[0]) {
            (Some(r), _) => RowWriter::new(g).graded_raw(&mut out, 3, plans.id(0), r),
            (None, Plan::Invalid { code, message, .. }) => {
                RowWriter::invalid_raw(&mut out, 3, plans.id(0), code, message)
            }
            (None, _) => panic!("no result"),
        }
        let lean = matches!(plans.plans[0], Plan::Lean { .. });
        (String::from_utf8(out).unwrap(), lean)
    }

    fn same(line: &str) -> bool {
        let mut lean = false;
        for g in graders() {
            let (got, l) = planned(&g, line.as_bytes());
            assert_eq!(got, established(&g, line.as_bytes()), "{line}");
            lean |= l;
        }
        lean
    }

    #[test]
    fn common_lines_are_read_lean_and_grade_like_before() {
        for line in [
            r#"{"item": {"reference": "the cat sat"}, "model_sample": "the cat sat"}"#,
            r#"{"id": 7, "item": {"reference": "a\"b\\c\u00e9\ud83d\ude00\n", "n": 1.5, "o": {"x": [1, "y"]}}, "model_sample": "a\"b"}"#,
            r#"{"id": "row-1", "sample": "x y", "reference_answer": "x"}"#,
            r#"{"id": "r\u00e9", "model_sample": "x", "sample": null, "item": null, "reference_answer": {"k": [1]}}"#,
            r#"{"id": -0, "model_sample": "x", "item": {"n": null, "o": []}, "extra": {"k": [true, false, null, -1.25, 0.5]}}"#,
            r#"{"id": 123456789012345678901, "model_sample": "", "item": {}}"#,
            r#"{"id": {"b": 1, "a": [2.50]}, "model_sample": "\/\b\f\r\t"}"#,
            r#"{"id": null, "model_sample": "x", "item": {"reference": 12, "n": "12"}}"#,
        ] {
            assert!(same(line), "not read lean: {line}");
        }
    }

    #[test]
    fn other_lines_grade_or_fail_exactly_like_before() {
        for line in [
            r#"{"item": {"reference": "x"}, "model_sample": "x", "item": {}}"#,
            r#"{"item": {"reference": 1e400}, "model_sample": "x"}"#,
            r#"{"item": {"reference": 1e5}, "model_sample": "x"}"#,
            r#"{"model_sample": "\ud800"}"#,
            r#"{"model_sample": "a", "sample": "b"}"#,
            r#"{"sample": {"output_text": "a"}, "item": {"reference": "a"}}"#,
            r#"{"model_sample": null, "id": 3}"#,
            r#"{"model_sample": "x", "item": "str", "id": "q"}"#,
            r#"{"model_sample": "x", "item": {"n": NaN}}"#,
            r#"[1, 2]"#,
            r#""text""#,
            r#"{"model_sample": "x", "\u0069tem": {"reference": "x"}}"#,
        ] {
            same(line);
        }
        same("{\"model_sample\": \"\u{0}\"}");
        let mut bad = br#"{"model_sample": "x"#.to_vec();
        bad.extend_from_slice(b"\xff\"}");
        for g in graders() {
            assert_eq!(planned(&g, &bad).0, established(&g, &bad));
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-z\u{e9}\u{1f600}\"\\\\ \n/]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-c]|reference|n|o|x", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Serialises `v` as Python's `json.dumps` might (ASCII escapes) or compactly; keys may
    /// repeat through `dup`.
    fn text_of(v: &Value, ascii: bool) -> String {
        let s = serde_json::to_string(v).unwrap();
        if !ascii {
            return s;
        }
        let mut out = String::new();
        for c in s.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                let mut b = [0u16; 2];
                for u in c.encode_utf16(&mut b) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
        out
    }

    fn line_text() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("id"),
            Just("item"),
            Just("item"),
            Just("model_sample"),
            Just("model_sample"),
            Just("sample"),
            Just("reference_answer"),
            Just("x"),
        ];
        (
            prop::collection::vec((key, json_value(), any::<bool>()), 0..6),
            any::<bool>(),
        )
            .prop_map(|(kv, spaced)| {
                let sep = if spaced { ", " } else { "," };
                let body: Vec<String> = kv
                    .into_iter()
                    .map(|(k, v, ascii)| format!("\"{k}\":{}", text_of(&v, ascii)))
                    .collect();
                format!("{{{}}}", body.join(sep))
            })
    }

    /// A line in the common shape: a text sample, an item object with the observed keys among
    /// others, an id and a data column, in any order, any escaping.
    fn common_line() -> impl Strategy<Value = String> {
        let item = prop::collection::vec(("reference|n|o|reference_answer|zz", json_value()), 0..5)
            .prop_map(|kv| Value::Object(kv.into_iter().collect()));
        (
            "[a-z \u{e9}\"\\\\\n]{0,12}",
            prop_oneof![item, Just(Value::Null), json_value()],
            prop::option::of(json_value()),
            prop::option::of(json_value()),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(text, item, id, extra, ascii, legacy, rev)| {
                let mut kv = vec![
                    ("model_sample", Value::String(text)),
                    (if legacy { "reference_answer" } else { "item" }, item),
                ];
                kv.extend(id.map(|v| ("id", v)));
                kv.extend(extra.map(|v| ("extra", v)));
                if rev {
                    kv.reverse();
                }
                let body: Vec<String> = kv
                    .iter()
                    .map(|(k, v)| format!("\"{k}\": {}", text_of(v, ascii)))
                    .collect();
                format!("{{{}}}", body.join(", "))
            })
    }

    /// The common-shape strategy does exercise the lean reading (most of its lines take it).
    #[test]
    fn most_common_lines_are_read_lean() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let g = &graders()[1];
        let lean = (0..400)
            .filter(|_| {
                let text = common_line().new_tree(&mut runner).unwrap().current();
                planned(g, text.as_bytes()).1
            })
            .count();
        assert!(lean > 200, "{lean} of 400");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn common_lines_grade_like_before(text in common_line()) {
            for g in graders() {
                let (got, _) = planned(&g, text.as_bytes());
                prop_assert_eq!(got, established(&g, text.as_bytes()), "{}", text);
            }
        }

        #[test]
        fn any_line_grades_like_before(text in line_text()) {
            for g in graders() {
                let (got, _) = planned(&g, text.as_bytes());
                prop_assert_eq!(got, established(&g, text.as_bytes()), "{}", text);
            }
        }

        #[test]
        fn any_bytes_grade_like_before(bytes in prop::collection::vec(prop_oneof![
            Just(b'{'), Just(b'}'), Just(b'"'), Just(b':'), Just(b','), Just(b'\\'),
            Just(b'u'), Just(b'1'), Just(b'd'), Just(b'['), Just(b']'), any::<u8>()], 0..48)) {
            let g = &graders()[0];
            prop_assert_eq!(planned(g, &bytes).0, established(g, &bytes));
        }
    }
}
