//! Fine-tuning `method` objects (supervised, dpo, reinforcement) with their hyperparameters,
//! validated against the ranges of OpenAI's schema (research/spec-graders.md §5).
//!
//! The typed form keeps what was given and only that: a hyperparameter that was absent stays
//! `None`, a number keeps its JSON form (`4` stays `4`, `0.5` stays `0.5`), and each method
//! serialises with its wrapper (`{"type": "dpo", "dpo": {…}}`). So reading a method and
//! writing it back gives the same JSON (the round-trip property test below); resolving
//! `"auto"` is the jobs service's business, not this crate's.

use crate::error::{ConfigError, ConfigErrorKind, ConfigErrors};
use crate::grader::Grader;
use crate::read::{type_error, Obj};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Number, Value};

/// A hyperparameter: `"auto"` or a number as given.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum HyperValue {
    #[default]
    Auto,
    Number(Number),
}

impl HyperValue {
    /// The number, when not `"auto"`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            HyperValue::Auto => None,
            HyperValue::Number(n) => n.as_f64(),
        }
    }
}

impl Serialize for HyperValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HyperValue::Auto => s.serialize_str("auto"),
            HyperValue::Number(n) => n.serialize(s),
        }
    }
}

/// Hyperparameters of a supervised job (also the legacy top-level `hyperparameters`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SupervisedHyperparameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<HyperValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_rate_multiplier: Option<HyperValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_epochs: Option<HyperValue>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DpoHyperparameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<HyperValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_rate_multiplier: Option<HyperValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_epochs: Option<HyperValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta: Option<HyperValue>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ReinforcementHyperparameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<HyperValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_rate_multiplier: Option<HyperValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_epochs: Option<HyperValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_multiplier: Option<HyperValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_interval: Option<HyperValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_samples: Option<HyperValue>,
    /// `default`, `low`, `medium` or `high` (not `auto`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
}

/// `method.supervised`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SupervisedMethod {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hyperparameters: Option<SupervisedHyperparameters>,
}

/// `method.dpo`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DpoMethod {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hyperparameters: Option<DpoHyperparameters>,
}

/// `method.reinforcement`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReinforcementMethod {
    pub grader: Grader,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hyperparameters: Option<ReinforcementHyperparameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
}

/// `method` of a fine-tuning job: the type, and its settings object when one was given.
#[derive(Debug, Clone, PartialEq)]
pub enum FineTuneMethod {
    Supervised(Option<SupervisedMethod>),
    Dpo(Option<DpoMethod>),
    Reinforcement(Box<ReinforcementMethod>),
}

impl FineTuneMethod {
    /// `supervised`, `dpo` or `reinforcement`.
    pub fn type_name(&self) -> &'static str {
        match self {
            FineTuneMethod::Supervised(_) => "supervised",
            FineTuneMethod::Dpo(_) => "dpo",
            FineTuneMethod::Reinforcement(_) => "reinforcement",
        }
    }
}

impl Serialize for FineTuneMethod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.type_name())?;
        match self {
            FineTuneMethod::Supervised(Some(x)) => m.serialize_entry("supervised", x)?,
            FineTuneMethod::Dpo(Some(x)) => m.serialize_entry("dpo", x)?,
            FineTuneMethod::Reinforcement(x) => m.serialize_entry("reinforcement", x)?,
            _ => {}
        }
        m.end()
    }
}

impl<'de> serde::Deserialize<'de> for FineTuneMethod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        FineTuneMethod::from_value(&v).map_err(serde::de::Error::custom)
    }
}

/// What a numeric hyperparameter must be.
#[derive(Clone, Copy)]
enum Bound {
    /// Integer in `[lo, hi]`.
    Int(f64, f64),
    /// Number in `(lo, hi]`.
    OpenClosed(f64, f64),
    /// Number in `[lo, hi]`.
    Closed(f64, f64),
}

fn hyper(
    o: &mut Obj<'_>,
    key: &'static str,
    bound: Bound,
    errs: &mut ConfigErrors,
) -> Option<HyperValue> {
    let v = o.get(key)?;
    let path = o.at(key);
    match v {
        Value::String(s) if s == "auto" => Some(HyperValue::Auto),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            let ok = match bound {
                Bound::Int(lo, hi) => (n.is_i64() || n.is_u64()) && x >= lo && x <= hi,
                Bound::OpenClosed(lo, hi) => x > lo && x <= hi,
                Bound::Closed(lo, hi) => x >= lo && x <= hi,
            };
            if !ok {
                let want = match bound {
                    Bound::Int(lo, hi) if hi.is_infinite() => format!("an integer >= {lo}"),
                    Bound::Int(lo, hi) => format!("an integer in [{lo}, {hi}]"),
                    Bound::OpenClosed(lo, hi) if hi.is_infinite() => format!("a number > {lo}"),
                    Bound::OpenClosed(lo, hi) => format!("a number in ({lo}, {hi}]"),
                    Bound::Closed(lo, hi) => format!("a number in [{lo}, {hi}]"),
                };
                errs.push(ConfigError::new(
                    path,
                    format!("must be \"auto\" or {want}, got {n}"),
                ));
            }
            Some(HyperValue::Number(n.clone()))
        }
        other => {
            errs.push(type_error(&path, "\"auto\" or a number", other));
            None
        }
    }
}

const BATCH: Bound = Bound::Int(1.0, 256.0);
const LR: Bound = Bound::OpenClosed(0.0, f64::INFINITY);
const EPOCHS: Bound = Bound::Int(1.0, 50.0);

fn hyper_obj<'a>(parent: &mut Obj<'a>, errs: &mut ConfigErrors) -> Option<Obj<'a>> {
    let path = parent.at("hyperparameters");
    parent
        .get("hyperparameters")
        .and_then(|h| Obj::new(h, &path, errs))
}

impl FineTuneMethod {
    /// Reads and validates a `method` object.
    pub fn from_value(v: &Value) -> Result<FineTuneMethod, ConfigErrors> {
        let mut errs = ConfigErrors::default();
        let m = read_method(v, &mut errs);
        match m {
            Some(m) if errs.is_empty() => Ok(m),
            _ => {
                if errs.is_empty() {
                    errs.push(ConfigError::new("", "invalid method"));
                }
                Err(errs)
            }
        }
    }
}

fn read_supervised(
    inner: &mut Option<Obj<'_>>,
    dpo: bool,
    errs: &mut ConfigErrors,
) -> Option<DpoHyperparameters> {
    let mut h = hyper_obj(inner.as_mut()?, errs)?;
    let hp = DpoHyperparameters {
        batch_size: hyper(&mut h, "batch_size", BATCH, errs),
        learning_rate_multiplier: hyper(&mut h, "learning_rate_multiplier", LR, errs),
        n_epochs: hyper(&mut h, "n_epochs", EPOCHS, errs),
        beta: if dpo {
            hyper(&mut h, "beta", Bound::OpenClosed(0.0, 2.0), errs)
        } else {
            None
        },
    };
    h.finish(errs);
    Some(hp)
}

fn read_method(v: &Value, errs: &mut ConfigErrors) -> Option<FineTuneMethod> {
    let mut o = Obj::new(v, "", errs)?;
    let ty = o.req_str("type", errs)?;
    let method = match ty.as_str() {
        "supervised" | "dpo" => {
            let dpo = ty == "dpo";
            // The other method's settings object would be silently ignored: reject it.
            let key: &'static str = if dpo { "dpo" } else { "supervised" };
            let path = o.at(key);
            let mut inner = o.get(key).and_then(|x| Obj::new(x, &path, errs));
            let given = inner.is_some();
            let hp = read_supervised(&mut inner, dpo, errs);
            if let Some(i) = inner {
                i.finish(errs);
            }
            if dpo {
                FineTuneMethod::Dpo(given.then_some(DpoMethod {
                    hyperparameters: hp,
                }))
            } else {
                FineTuneMethod::Supervised(given.then_some(SupervisedMethod {
                    hyperparameters: hp.map(|h| SupervisedHyperparameters {
                        batch_size: h.batch_size,
                        learning_rate_multiplier: h.learning_rate_multiplier,
                        n_epochs: h.n_epochs,
                    }),
                }))
            }
        }
        "reinforcement" => {
            let path = o.at("reinforcement");
            let mut inner = Obj::new(o.required("reinforcement", errs)?, &path, errs)?;
            let grader = inner.required("grader", errs).and_then(|g| {
                Grader::from_value(g)
                    .map_err(|e| {
                        for x in e.0 {
                            errs.push(x.prefixed(&inner.at("grader")));
                        }
                    })
                    .ok()
            });
            let hp = hyper_obj(&mut inner, errs).map(|mut h| {
                let ge1 = Bound::Int(1.0, f64::INFINITY);
                let mut hp = ReinforcementHyperparameters {
                    batch_size: hyper(&mut h, "batch_size", BATCH, errs),
                    learning_rate_multiplier: hyper(&mut h, "learning_rate_multiplier", LR, errs),
                    n_epochs: hyper(&mut h, "n_epochs", EPOCHS, errs),
                    compute_multiplier: hyper(
                        &mut h,
                        "compute_multiplier",
                        Bound::Closed(0.00001, 10.0),
                        errs,
                    ),
                    eval_interval: hyper(&mut h, "eval_interval", ge1, errs),
                    eval_samples: hyper(&mut h, "eval_samples", ge1, errs),
                    reasoning_effort: None,
                };
                if let Some(r) = h.opt_str("reasoning_effort", errs) {
                    if matches!(r.as_str(), "default" | "low" | "medium" | "high") {
                        hp.reasoning_effort = Some(r);
                    } else {
                        errs.push(ConfigError::with(
                            ConfigErrorKind::UnknownValue,
                            h.at("reasoning_effort"),
                            format!(
                                "unknown reasoning_effort {}; expected default, low, medium, high",
                                Value::String(r)
                            ),
                        ));
                    }
                }
                h.finish(errs);
                hp
            });
            let response_format = inner.get("response_format").cloned();
            inner.finish(errs);
            FineTuneMethod::Reinforcement(Box::new(ReinforcementMethod {
                grader: grader?,
                hyperparameters: hp,
                response_format,
            }))
        }
        other => {
            errs.push(ConfigError::with(
                ConfigErrorKind::UnknownValue,
                o.at("type"),
                format!(
                    "unknown method type {}; expected supervised, dpo, reinforcement",
                    Value::String(other.to_string())
                ),
            ));
            return None;
        }
    };
    o.finish(errs);
    Some(method)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn ranges_are_checked() {
        let ok =
            json!({"type": "dpo", "dpo": {"hyperparameters": {"beta": 2, "n_epochs": "auto"}}});
        assert!(FineTuneMethod::from_value(&ok).is_ok());
        let bad =
            json!({"type": "dpo", "dpo": {"hyperparameters": {"beta": 0, "batch_size": 257}}});
        let e = FineTuneMethod::from_value(&bad).expect_err("out of range");
        assert_eq!(e.0.len(), 2);
        assert_eq!(e.0[0].path, "dpo.hyperparameters.batch_size");
        let rft = json!({"type": "reinforcement", "reinforcement": {
            "grader": {"type": "string_check", "input": "a", "reference": "b", "operation": "eq"},
            "hyperparameters": {"reasoning_effort": "auto", "eval_samples": 0}}});
        let e = FineTuneMethod::from_value(&rft).expect_err("bad");
        assert_eq!(e.0.len(), 2);
        let frac =
            json!({"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2.5}}});
        assert!(FineTuneMethod::from_value(&frac).is_err());
    }

    #[test]
    fn the_issue_examples_round_trip() {
        for v in [
            json!({"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1, "n_epochs": 4}}}),
            json!({"type": "dpo"}),
            json!({"type": "supervised", "supervised": {}}),
            json!({"type": "supervised", "supervised": {"hyperparameters": {"batch_size": "auto", "learning_rate_multiplier": 2}}}),
        ] {
            let m = FineTuneMethod::from_value(&v).unwrap();
            let out = serde_json::to_value(&m).unwrap();
            assert_eq!(out, v);
            assert_eq!(FineTuneMethod::from_value(&out).unwrap(), m);
        }
    }

    fn hv() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            Just(None),
            Just(Some(json!("auto"))),
            (1i64..=50).prop_map(|n| Some(json!(n))),
        ]
    }

    fn lr() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            Just(None),
            Just(Some(json!("auto"))),
            (1u32..1000).prop_map(|n| Some(json!(n as f64 / 7.0))),
            (1i64..10).prop_map(|n| Some(json!(n))),
        ]
    }

    fn obj(pairs: Vec<(&str, Option<Value>)>) -> Value {
        Value::Object(
            pairs
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
                .collect(),
        )
    }

    fn method() -> impl Strategy<Value = Value> {
        (
            0..3usize,
            hv(),
            lr(),
            hv(),
            prop_oneof![Just(None), Just(Some(json!(0.5))), Just(Some(json!(2)))],
            any::<bool>(),
            any::<bool>(),
            prop_oneof![Just(None), Just(Some(json!("low")))],
        )
            .prop_map(|(t, bs, lr, ep, extra, wrap, hp, effort)| {
                let mut h = vec![("batch_size", bs), ("learning_rate_multiplier", lr), ("n_epochs", ep)];
                let ty = ["supervised", "dpo", "reinforcement"][t];
                match ty {
                    "dpo" => h.push(("beta", extra)),
                    "reinforcement" => {
                        h.push(("compute_multiplier", extra));
                        h.push(("reasoning_effort", effort.clone()));
                    }
                    _ => {}
                }
                let h = obj(h);
                let mut inner = serde_json::Map::new();
                if ty == "reinforcement" {
                    inner.insert("grader".into(), json!({"type": "string_check", "name": "g",
                        "input": "{{ sample.output_text }}", "reference": "{{ item.a }}", "operation": "eq"}));
                }
                if hp || ty == "reinforcement" && effort.is_some() {
                    inner.insert("hyperparameters".into(), h);
                }
                let mut m = serde_json::Map::new();
                m.insert("type".into(), json!(ty));
                if wrap || ty == "reinforcement" {
                    m.insert(ty.into(), Value::Object(inner));
                }
                Value::Object(m)
            })
    }

    proptest! {
        /// Reading a valid method and writing it back gives the same JSON, and reading that
        /// gives the same method.
        #[test]
        fn methods_round_trip(v in method()) {
            let m = FineTuneMethod::from_value(&v).unwrap();
            let out = serde_json::to_value(&m).unwrap();
            prop_assert_eq!(&out, &v);
            prop_assert_eq!(FineTuneMethod::from_value(&out).unwrap(), m);
        }
    }
}
