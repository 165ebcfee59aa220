//! The borrowed reading of an entry: a sample and an item that the caller holds in its own
//! shape — Python `str` objects, a dict of columns, Arrow buffers — graded without building a
//! JSON tree per sample.
//!
//! An [`EvalContext`] owns two `serde_json::Value` trees. For a grader whose templates read
//! `{{ sample.output_text }}` and `{{ item.reference }}`, building those trees (a copied string
//! in a map in a map, twice) costs several times the grading itself. A [`LeanContext`] instead
//! *lends* what the compiled grader observes — its [`crate::CompiledGrader::item_keys`] and
//! [`crate::CompiledGrader::sample_parts`] — as borrowed strings or borrowed JSON values, and
//! answers template references from them (it is a [`Scope`]). The rules stay those of the
//! entry reader (this module's parent), applied to the borrowed shape:
//!
//! - a text sample is `output_text`; the parts a grader may observe beside it are derived
//!   exactly as [`SampleEntry::text`](super::SampleEntry::text) derives them (on demand: a
//!   caller whose grader observes them builds the sample once, [`LeanSample::Built`]);
//! - a sample object is read by the entry reader (validated, parts derived) and lent built;
//! - an absent or null item is `{}` ([`LeanItem::Empty`]); an item object is lent key by key,
//!   a key the object lacks being *missing* (not null: a template that names it fails with
//!   `invalid_variable_error`, as on the JSON line the object came from);
//! - values render as the engine renders JSON (strings as-is, the rest as compact JSON).
//!
//! Every answer — value, rendering, missing-path details — is the one the equivalent
//! [`EvalContext`] gives (tested against it below); graders that need the whole context
//! (python) get it built by [`GradeInput::eval_context`].

use crate::context::{Direct, EvalContext, GradeInput};
use gradekit_model::{sample_from_string, SampleParts};
use gradekit_template::{Missing, Path, Resolved, Root, Scope, Step};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The value of one observed item key, as the caller holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LeanValue<'a> {
    /// A string, borrowed from the caller's storage.
    Str(&'a str),
    /// Any other JSON value (converted by the caller).
    Json(&'a Value),
}

/// The sample of a lean entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LeanSample<'a> {
    /// A model output: the sample's `output_text` (other parts derived on demand).
    Text(&'a str),
    /// A sample namespace the entry reader built (a sample object, or a text sample whose
    /// grader observes `output_json`, `choices` or `output_tools`).
    Built(&'a Value),
}

/// The item of a lean entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LeanItem<'a> {
    /// No item (absent or null): `{}`.
    Empty,
    /// An object read key by key: the value of each of the context's keys (in the order of
    /// [`crate::CompiledGrader::item_keys`]), `None` where the object lacks the key.
    Keys(&'a [Option<LeanValue<'a>>]),
    /// A whole item value (not an object, or read whole).
    Whole(&'a Value),
}

/// One sample to grade, borrowed (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct LeanContext<'a> {
    sample: LeanSample<'a>,
    item: LeanItem<'a>,
    /// The item keys [`LeanItem::Keys`] values belong to.
    keys: &'a [String],
    /// The sample parts a text sample has beside `output_text`.
    parts: SampleParts,
}

impl<'a> LeanContext<'a> {
    /// A sample and item for a grader that observes the item `keys` (what
    /// [`crate::CompiledGrader::item_keys`] says; [`LeanItem::Keys`] values are in this order)
    /// and the sample `parts` ([`crate::CompiledGrader::sample_parts`]).
    pub fn new(
        sample: LeanSample<'a>,
        item: LeanItem<'a>,
        keys: &'a [String],
        parts: SampleParts,
    ) -> LeanContext<'a> {
        LeanContext {
            sample,
            item,
            keys,
            parts,
        }
    }

    /// The sample namespace as JSON.
    fn sample_value(&self) -> Cow<'a, Value> {
        match self.sample {
            LeanSample::Text(t) => Cow::Owned(sample_from_string(t.to_owned(), self.parts)),
            LeanSample::Built(v) => Cow::Borrowed(v),
        }
    }

    /// The item as JSON (an object of the keys present, in key order).
    fn item_value(&self) -> Cow<'a, Value> {
        match self.item {
            LeanItem::Empty => Cow::Owned(Value::Object(Map::new())),
            LeanItem::Whole(v) => Cow::Borrowed(v),
            LeanItem::Keys(values) => {
                let mut m = Map::with_capacity(values.len());
                for (k, v) in self.keys.iter().zip(values) {
                    match v {
                        Some(LeanValue::Str(s)) => m.insert(k.clone(), Value::String((*s).into())),
                        Some(LeanValue::Json(v)) => m.insert(k.clone(), (*v).clone()),
                        None => None,
                    };
                }
                Cow::Owned(Value::Object(m))
            }
        }
    }

    fn resolve_sample(&self, path: &Path) -> Result<Resolved<'a>, Missing> {
        if let (LeanSample::Text(t), [Step::Key(k)]) = (self.sample, path.steps.as_slice()) {
            if k == "output_text" {
                return Ok(Resolved::Str(t));
            }
        }
        within(path, 0, self.sample_value())
    }

    fn resolve_item(&self, path: &Path) -> Result<Resolved<'a>, Missing> {
        let LeanItem::Keys(values) = self.item else {
            return within(path, 0, self.item_value());
        };
        let at = match path.steps.first() {
            Some(Step::Key(k)) => self.keys.iter().position(|x| x == k),
            _ => None,
        };
        let Some(at) = at else {
            // The whole item, an index into it, or a key the context was not built for.
            return within(path, 0, self.item_value());
        };
        match values.get(at).copied().flatten() {
            None => Err(path.missing_at(0, &Value::Object(Map::new()))),
            Some(LeanValue::Str(s)) if path.steps.len() == 1 => Ok(Resolved::Str(s)),
            Some(LeanValue::Str(s)) => within(path, 1, Cow::Owned(Value::String(s.to_owned()))),
            Some(LeanValue::Json(v)) => within(path, 1, Cow::Borrowed(v)),
        }
    }
}

/// Follows `path` from step `from` in `v` (the value its first `from` steps reached).
fn within<'a>(path: &Path, from: usize, v: Cow<'a, Value>) -> Result<Resolved<'a>, Missing> {
    match v {
        Cow::Borrowed(v) => path.resolve_from(from, v).map(Resolved::of),
        Cow::Owned(v) => path
            .resolve_from(from, &v)
            .map(|x| Resolved::Owned(x.clone())),
    }
}

impl Scope for LeanContext<'_> {
    fn resolve_ref<'s>(&'s self, path: &Path) -> Result<Resolved<'s>, Missing> {
        match path.root {
            Root::Sample => self.resolve_sample(path),
            Root::Item => self.resolve_item(path),
        }
    }
}

impl GradeInput for LeanContext<'_> {
    fn output_text(&self) -> Option<&str> {
        match self.sample {
            LeanSample::Text(t) => Some(t),
            LeanSample::Built(v) => v.get("output_text")?.as_str(),
        }
    }

    fn eval_context(&self) -> Cow<'_, EvalContext> {
        Cow::Owned(EvalContext::new(
            self.sample_value().into_owned(),
            self.item_value().into_owned(),
        ))
    }

    /// A text sample's text, and an item key's value lent as a string: what
    /// [`Self::resolve_sample`] / [`Self::resolve_item`] resolve the one-key path to.
    #[inline]
    fn direct(&self, d: &Direct) -> Option<&str> {
        match d {
            Direct::OutputText => match self.sample {
                LeanSample::Text(t) => Some(t),
                LeanSample::Built(_) => None,
            },
            Direct::ItemKey(k) => {
                let LeanItem::Keys(values) = self.item else {
                    return None;
                };
                let at = self.keys.iter().position(|x| x == k)?;
                match values.get(at).copied().flatten()? {
                    LeanValue::Str(s) => Some(s),
                    LeanValue::Json(_) => None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{compile, EngineOptions};
    use gradekit_model::SampleParts;
    use gradekit_template::Resolved;
    use serde_json::json;

    /// The item `v` (an object) lent key by key for `keys`.
    fn keyed<'a>(v: &'a Value, keys: &[String]) -> Vec<Option<LeanValue<'a>>> {
        keys.iter()
            .map(|k| {
                v.get(k).map(|x| match x {
                    Value::String(s) => LeanValue::Str(s),
                    other => LeanValue::Json(other),
                })
            })
            .collect()
    }

    /// Graders reading through every kind of path, on items with present, missing, null,
    /// non-string and nested values: the lean context grades exactly like the JSON one.
    #[test]
    fn grades_like_the_json_context() {
        let graders = [
            json!({"type": "string_check", "operation": "eq",
                   "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"}),
            json!({"type": "string_check", "operation": "like",
                   "input": "{{ sample.output_text }} {{ item.n }} {{ item.o }}",
                   "reference": "{{ item.o.x[1] }}"}),
            json!({"type": "string_check", "operation": "eq",
                   "input": "{{ sample.output_json.a }}", "reference": "{{ item.r.deep }}"}),
            json!({"type": "string_check", "operation": "eq",
                   "input": "{{ sample.choices[0].message.content }}", "reference": "{{ item.r }}"}),
            json!({"type": "string_check", "operation": "ne",
                   "input": "{{ sample.output_text[0] }}", "reference": "{{ sample.nope }}"}),
            json!({"type": "text_similarity", "evaluation_metric": "fuzzy_match",
                   "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"}),
            json!({"type": "multi", "calculate_output": "a + b", "graders": {
                "a": {"type": "string_check", "operation": "eq",
                      "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"},
                "b": {"type": "text_similarity", "evaluation_metric": "bleu",
                      "input": "{{ sample.output_text }}", "reference": "{{ item.n }}"}}}),
        ];
        let texts = ["abc", "{\"a\": \"abc\"}", "", "x y z"];
        let items = [
            json!({"r": "abc", "n": 1.5, "o": {"x": [1, "y", null]}}),
            json!({"r": {"deep": "abc"}, "n": null}),
            json!({"n": "abc"}),
            json!({"r": null, "o": []}),
            json!({}),
        ];
        let opts = EngineOptions::default();
        for g in &graders {
            let c = compile(g, &opts).unwrap();
            let keys = c.item_keys().unwrap().to_vec();
            for t in texts {
                for it in &items {
                    let want = c.grade(&EvalContext::from_text(t, Some(it.clone())));
                    let vals = keyed(it, &keys);
                    let built = sample_from_string(t.to_owned(), c.sample_parts());
                    for sample in [LeanSample::Text(t), LeanSample::Built(&built)] {
                        for item in [LeanItem::Keys(&vals), LeanItem::Whole(it)] {
                            let lean = LeanContext::new(sample, item, &keys, c.sample_parts());
                            let got = c.grade_input(&lean);
                            assert_eq!(got.reward, want.reward, "{g} {t:?} {it}");
                            assert_eq!(got.errors, want.errors, "{g} {t:?} {it}");
                            assert_eq!(got.sub_rewards, want.sub_rewards);
                            assert_eq!(*lean.eval_context(), {
                                let mut e = EvalContext::from_string(
                                    t.to_owned(),
                                    Some(it.clone()),
                                    c.sample_parts(),
                                );
                                if matches!(item, LeanItem::Keys(_)) {
                                    let o = e.item.as_object_mut().unwrap();
                                    o.retain(|k, _| keys.contains(k));
                                }
                                e
                            });
                        }
                    }
                }
            }
            // No item at all is `{}`.
            let want = c.grade(&EvalContext::from_text("abc", None));
            let lean = LeanContext::new(
                LeanSample::Text("abc"),
                LeanItem::Empty,
                &keys,
                c.sample_parts(),
            );
            let got = c.grade_input(&lean);
            assert_eq!((got.reward, got.errors), (want.reward, want.errors));
        }
    }

    /// Every answer of `direct` is the string the reference resolves to through the scope, for
    /// lean contexts (text or built samples, keyed, whole or empty items, keys in any order)
    /// and JSON ones; a lean context lends every string a one-key path resolves to.
    #[test]
    fn direct_answers_what_the_scope_resolves() {
        let items = [
            json!({"r": "abc", "n": 1.5, "o": {"x": "y"}, "e": ""}),
            json!({"r": null, "o": "s"}),
            json!({"n": "abc", "r": ["a"]}),
            json!({}),
        ];
        let key_sets: [&[&str]; 3] = [&["r"], &["n", "r", "o"], &["o", "e", "zz", "r", "n"]];
        let refs = [
            "sample.output_text",
            "item.r",
            "item.n",
            "item.o",
            "item.e",
            "item.zz",
        ];
        for t in ["", "text", "{\"a\": 1}"] {
            for it in &items {
                for keys in key_sets {
                    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                    let vals = keyed(it, &keys);
                    let built = sample_from_string(t.to_owned(), SampleParts::ALL);
                    let json = EvalContext::from_text(t, Some(it.clone()));
                    for sample in [LeanSample::Text(t), LeanSample::Built(&built)] {
                        for item in [LeanItem::Keys(&vals), LeanItem::Whole(it), LeanItem::Empty] {
                            let lean = LeanContext::new(sample, item, &keys, SampleParts::ALL);
                            for r in refs {
                                let path =
                                    gradekit_template::Template::parse(&format!("{{{{{r}}}}}"))
                                        .unwrap()
                                        .single_ref()
                                        .unwrap()
                                        .clone();
                                let d = Direct::of(&path).unwrap();
                                // Lent at hand: the text of a text sample, the strings of
                                // a keyed item (and everything of a JSON context).
                                let at_hand = match d {
                                    Direct::OutputText => matches!(sample, LeanSample::Text(_)),
                                    Direct::ItemKey(_) => matches!(item, LeanItem::Keys(_)),
                                };
                                for (ctx, all) in
                                    [(&lean as &dyn GradeInput, at_hand), (&json, true)]
                                {
                                    let want = match ctx.resolve_ref(&path) {
                                        Ok(Resolved::Str(s)) => Some(s),
                                        _ => None,
                                    };
                                    let got = ctx.direct(&d);
                                    if got.is_some() || all {
                                        assert_eq!(got, want, "{r} {t:?} {it} {keys:?}");
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let p = |s: &str| {
            Direct::of(
                gradekit_template::Template::parse(s)
                    .unwrap()
                    .single_ref()
                    .unwrap(),
            )
        };
        assert_eq!(p("{{ item.a.b }}"), None);
        assert_eq!(p("{{ item[0] }}"), None);
        assert_eq!(p("{{ sample.output_json }}"), None);
        assert_eq!(p("{{ sample.output_text.x }}"), None);
    }

    /// A referenced item string past the field budget is refused as the JSON context refuses
    /// it (the direct answer does not skip the budget).
    #[test]
    fn oversized_reference_is_refused_like_the_json_context() {
        let opts = EngineOptions {
            max_field_bytes: 4,
            ..EngineOptions::default()
        };
        for metric in ["rouge_l", "fuzzy_match"] {
            let g = json!({"type": "text_similarity", "evaluation_metric": metric,
                           "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"});
            let c = compile(&g, &opts).unwrap();
            let keys = c.item_keys().unwrap().to_vec();
            for r in ["abcd", "abcdef"] {
                let it = json!({ "r": r });
                let want = c.grade(&EvalContext::from_text("abc", Some(it.clone())));
                let vals = keyed(&it, &keys);
                let lean = LeanContext::new(
                    LeanSample::Text("abc"),
                    LeanItem::Keys(&vals),
                    &keys,
                    c.sample_parts(),
                );
                let got = c.grade_input(&lean);
                assert_eq!(
                    (got.reward, &got.errors),
                    (want.reward, &want.errors),
                    "{r}"
                );
                assert_eq!(got.errors.other_error, r.len() > 4);
            }
        }
    }

    #[test]
    fn oversized_text_is_refused_like_the_json_context() {
        let opts = EngineOptions {
            max_field_bytes: 4,
            ..EngineOptions::default()
        };
        let g = json!({"type": "string_check", "operation": "eq",
                       "input": "{{ sample.output_text }}", "reference": "x"});
        let c = compile(&g, &opts).unwrap();
        let want = c.grade(&EvalContext::from_text("abcdef", None));
        let lean = LeanContext::new(
            LeanSample::Text("abcdef"),
            LeanItem::Empty,
            &[],
            c.sample_parts(),
        );
        let got = c.grade_input(&lean);
        assert!(got.errors.other_error);
        assert_eq!(got.errors, want.errors);
    }
}
