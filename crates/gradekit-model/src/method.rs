//! Fine-tuning `method` objects (supervised, dpo, reinforcement) with their hyperparameters,
//! validated against the ranges of OpenAI's schema (research/spec-graders.md §5).

use crate::error::{ConfigError, ConfigErrors};
use crate::grader::Grader;
use crate::read::{type_error, Obj};
use serde::Serialize;
use serde_json::Value;

/// A hyperparameter: `"auto"` or a number.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
#[serde(untagged)]
pub enum HyperValue {
    #[default]
    #[serde(serialize_with = "ser_auto")]
    Auto,
    Number(f64),
}

fn ser_auto<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("auto")
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SupervisedHyperparameters {
    pub batch_size: HyperValue,
    pub learning_rate_multiplier: HyperValue,
    pub n_epochs: HyperValue,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DpoHyperparameters {
    pub batch_size: HyperValue,
    pub learning_rate_multiplier: HyperValue,
    pub n_epochs: HyperValue,
    pub beta: HyperValue,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReinforcementHyperparameters {
    pub batch_size: HyperValue,
    pub learning_rate_multiplier: HyperValue,
    pub n_epochs: HyperValue,
    pub compute_multiplier: HyperValue,
    pub eval_interval: HyperValue,
    pub eval_samples: HyperValue,
    /// `default`, `low`, `medium` or `high` (not `auto`).
    pub reasoning_effort: String,
}

impl Default for ReinforcementHyperparameters {
    fn default() -> Self {
        ReinforcementHyperparameters {
            batch_size: HyperValue::Auto,
            learning_rate_multiplier: HyperValue::Auto,
            n_epochs: HyperValue::Auto,
            compute_multiplier: HyperValue::Auto,
            eval_interval: HyperValue::Auto,
            eval_samples: HyperValue::Auto,
            reasoning_effort: "default".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReinforcementMethod {
    pub grader: Grader,
    pub hyperparameters: ReinforcementHyperparameters,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
}

/// `method` of a fine-tuning job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FineTuneMethod {
    Supervised {
        hyperparameters: SupervisedHyperparameters,
    },
    Dpo {
        hyperparameters: DpoHyperparameters,
    },
    Reinforcement(Box<ReinforcementMethod>),
}

/// What a numeric hyperparameter must be.
#[derive(Clone, Copy)]
enum Bound {
    /// Integer in `[lo, hi]`.
    Int(f64, f64),
    /// Number in `(lo, hi]`.
    OpenClosed(f64, f64),
}

fn hyper(o: &mut Obj<'_>, key: &'static str, bound: Bound, errs: &mut ConfigErrors) -> HyperValue {
    let Some(v) = o.get(key) else {
        return HyperValue::Auto;
    };
    let path = o.at(key);
    match v {
        Value::String(s) if s == "auto" => HyperValue::Auto,
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            let ok = match bound {
                Bound::Int(lo, hi) => x.fract() == 0.0 && x >= lo && x <= hi,
                Bound::OpenClosed(lo, hi) => x > lo && x <= hi,
            };
            if !ok {
                let want = match bound {
                    Bound::Int(lo, hi) if hi.is_infinite() => format!("an integer >= {lo}"),
                    Bound::Int(lo, hi) => format!("an integer in [{lo}, {hi}]"),
                    Bound::OpenClosed(lo, hi) if hi.is_infinite() => format!("a number > {lo}"),
                    Bound::OpenClosed(lo, hi) => format!("a number in ({lo}, {hi}]"),
                };
                errs.push(ConfigError::new(
                    path,
                    format!("must be \"auto\" or {want}, got {x}"),
                ));
            }
            HyperValue::Number(x)
        }
        other => {
            errs.push(type_error(&path, "\"auto\" or a number", other));
            HyperValue::Auto
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

fn read_method(v: &Value, errs: &mut ConfigErrors) -> Option<FineTuneMethod> {
    let mut o = Obj::new(v, "", errs)?;
    let ty = o.req_str("type", errs)?;
    let method = match ty.as_str() {
        "supervised" | "dpo" => {
            let key: &'static str = if ty == "dpo" { "dpo" } else { "supervised" };
            let path = o.at(key);
            let mut inner = o.get(key).and_then(|x| Obj::new(x, &path, errs));
            let mut h = inner.as_mut().and_then(|i| hyper_obj(i, errs));
            let (mut bs, mut lr, mut ep, mut beta) = Default::default();
            if let Some(h) = h.as_mut() {
                bs = hyper(h, "batch_size", BATCH, errs);
                lr = hyper(h, "learning_rate_multiplier", LR, errs);
                ep = hyper(h, "n_epochs", EPOCHS, errs);
                if ty == "dpo" {
                    beta = hyper(h, "beta", Bound::OpenClosed(0.0, 2.0), errs);
                }
            }
            if let Some(h) = h {
                h.finish(errs);
            }
            if let Some(i) = inner {
                i.finish(errs);
            }
            if ty == "dpo" {
                FineTuneMethod::Dpo {
                    hyperparameters: DpoHyperparameters {
                        batch_size: bs,
                        learning_rate_multiplier: lr,
                        n_epochs: ep,
                        beta,
                    },
                }
            } else {
                FineTuneMethod::Supervised {
                    hyperparameters: SupervisedHyperparameters {
                        batch_size: bs,
                        learning_rate_multiplier: lr,
                        n_epochs: ep,
                    },
                }
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
            let mut hp = ReinforcementHyperparameters::default();
            if let Some(mut h) = hyper_obj(&mut inner, errs) {
                hp.batch_size = hyper(&mut h, "batch_size", BATCH, errs);
                hp.learning_rate_multiplier = hyper(&mut h, "learning_rate_multiplier", LR, errs);
                hp.n_epochs = hyper(&mut h, "n_epochs", EPOCHS, errs);
                hp.compute_multiplier = hyper(
                    &mut h,
                    "compute_multiplier",
                    Bound::OpenClosed(0.00001, 10.0),
                    errs,
                );
                let ge1 = Bound::Int(1.0, f64::INFINITY);
                hp.eval_interval = hyper(&mut h, "eval_interval", ge1, errs);
                hp.eval_samples = hyper(&mut h, "eval_samples", ge1, errs);
                if let Some(r) = h.opt_str("reasoning_effort", errs) {
                    if matches!(r.as_str(), "default" | "low" | "medium" | "high") {
                        hp.reasoning_effort = r;
                    } else {
                        errs.push(ConfigError::new(
                            h.at("reasoning_effort"),
                            format!(
                                "unknown reasoning_effort {}; expected default, low, medium, high",
                                Value::String(r)
                            ),
                        ));
                    }
                }
                h.finish(errs);
            }
            let response_format = inner.get("response_format").cloned();
            inner.finish(errs);
            FineTuneMethod::Reinforcement(Box::new(ReinforcementMethod {
                grader: grader?,
                hyperparameters: hp,
                response_format,
            }))
        }
        other => {
            errs.push(ConfigError::new(
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
    use super::*;
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
    }
}
