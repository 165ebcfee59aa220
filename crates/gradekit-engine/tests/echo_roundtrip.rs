//! The typed grader is the single source of the `/validate` echo and the generated name
//! (issue #13 item 5). Property tests over valid graders of every type — nested in multi too,
//! with keys in any order, optional fields absent, `null` or set, numbers written as integers
//! or floats, the `neq` alias and bare strings in content lists:
//!
//! - reading the echo gives the same typed grader (parse → echo → parse is the identity) and
//!   echoing again gives the same bytes (the echo is idempotent);
//! - the echo is the grader *as given*, byte for byte, with `neq` written `ne` (DESIGN.md §4),
//!   checked against a direct rewrite of the input JSON, the way the echo was built before it
//!   came from the typed tree;
//! - `validate` adds the generated name in place of a `"name": null`, else last, and that name
//!   is the hash of the canonical echo without its name;
//! - the compiled grader's template references are those of the fields as written.
#![allow(clippy::unwrap_used)]

use gradekit_engine::model::Grader;
use gradekit_engine::{canonical_json, compile, validate, EngineOptions};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// A field of a generated object: absent, given as `null`, or set.
type Field = (&'static str, Option<Value>);

/// An object from `fields` in the (shuffled) order given; absent fields left out.
fn object(fields: Vec<Field>) -> impl Strategy<Value = Value> {
    Just(fields).prop_shuffle().prop_map(|fields| {
        let mut m = Map::new();
        for (k, v) in fields {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        }
        Value::Object(m)
    })
}

/// Absent, `null`, or a value of `s`.
fn optional(s: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![Just(None), Just(Some(Value::Null)), s.prop_map(Some)]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{{ sample.output_text }}".to_string()),
        Just("<<item.answer>>".to_string()),
        Just("{{ item[\"x y\"][0] }} and {{ sample.output_json.a }}".to_string()),
        Just("{{ items.x }} stays literal".to_string()),
        Just("{{ item }}".to_string()),
        "[a-zé \\n\"]{0,12}",
    ]
}

fn str_value() -> impl Strategy<Value = Value> {
    text().prop_map(Value::String)
}

/// A number written as an integer or as a float.
fn number(lo: i64, hi: i64) -> impl Strategy<Value = Value> {
    prop_oneof![
        (lo..hi).prop_map(|n| Value::Number(n.into())),
        (lo as f64..hi as f64).prop_map(|x| Value::Number(Number::from_f64(x).unwrap())),
    ]
}

fn common() -> impl Strategy<Value = Vec<Field>> {
    (
        optional("[a-z]{1,8}".prop_map(Value::String)),
        optional(number(-2, 3)),
    )
        .prop_map(|(name, pt)| vec![("name", name), ("pass_threshold", pt)])
}

fn with(mut fields: Vec<Field>, more: Vec<Field>) -> Vec<Field> {
    fields.extend(more);
    fields
}

fn string_check() -> impl Strategy<Value = Value> {
    let op = prop_oneof!["eq", "ne", "neq", "like", "ilike"].prop_map(Value::from);
    (common(), str_value(), str_value(), op).prop_flat_map(|(c, input, reference, op)| {
        object(with(
            c,
            vec![
                ("type", Some("string_check".into())),
                ("input", Some(input)),
                ("reference", Some(reference)),
                ("operation", Some(op)),
            ],
        ))
    })
}

fn text_similarity() -> impl Strategy<Value = Value> {
    let metric = proptest::sample::select(
        gradekit_engine::model::Metric::ALL
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>(),
    )
    .prop_map(Value::from);
    (common(), str_value(), str_value(), metric).prop_flat_map(|(c, input, reference, m)| {
        object(with(
            c,
            vec![
                ("type", Some("text_similarity".into())),
                ("input", Some(input)),
                ("reference", Some(reference)),
                ("evaluation_metric", Some(m)),
            ],
        ))
    })
}

fn python() -> impl Strategy<Value = Value> {
    let tag = optional(Just(Value::from(gradekit_engine::model::PYTHON_IMAGE_TAG)));
    (common(), tag).prop_flat_map(|(c, tag)| {
        object(with(
            c,
            vec![
                ("type", Some("python".into())),
                (
                    "source",
                    Some("def grade(sample, item):\n    return 1.0\n".into()),
                ),
                ("image_tag", tag),
            ],
        ))
    })
}

fn content_item() -> BoxedStrategy<Value> {
    let typed = |ty: &'static str| {
        str_value()
            .prop_flat_map(move |t| object(vec![("type", Some(ty.into())), ("text", Some(t))]))
    };
    let detail = optional(prop_oneof!["high", "low", "auto"].prop_map(Value::from));
    let image = (str_value(), detail).prop_flat_map(|(url, detail)| {
        object(vec![
            ("type", Some("input_image".into())),
            ("image_url", Some(url)),
            ("detail", detail),
        ])
    });
    let audio = (str_value(), prop_oneof!["mp3", "wav"].prop_map(Value::from))
        .prop_flat_map(|(data, format)| {
            object(vec![("data", Some(data)), ("format", Some(format))])
        })
        .prop_flat_map(|payload| {
            object(vec![
                ("type", Some("input_audio".into())),
                ("input_audio", Some(payload)),
            ])
        });
    prop_oneof![typed("input_text"), typed("output_text"), image, audio].boxed()
}

fn message() -> impl Strategy<Value = Value> {
    let role = prop_oneof!["user", "assistant", "system", "developer"].prop_map(Value::from);
    let list_entry = prop_oneof![str_value(), content_item()];
    let content = prop_oneof![
        str_value(),
        content_item(),
        proptest::collection::vec(list_entry, 0..3).prop_map(Value::Array),
    ];
    let kind = optional(Just(Value::from("message")));
    (role, content, kind).prop_flat_map(|(role, content, kind)| {
        object(vec![
            ("role", Some(role)),
            ("content", Some(content)),
            ("type", kind),
        ])
    })
}

fn sampling_params() -> impl Strategy<Value = Value> {
    let effort = prop_oneof!["low", "medium", "high", "none"].prop_map(Value::from);
    (
        optional((-5i64..5).prop_map(Value::from)),
        optional(number(0, 1)),
        optional(number(0, 2)),
        optional((1u64..5000).prop_map(Value::from)),
        optional(effort),
    )
        .prop_flat_map(|(seed, top_p, temperature, max, effort)| {
            object(vec![
                ("seed", seed),
                ("top_p", top_p),
                ("temperature", temperature),
                ("max_completions_tokens", max),
                ("reasoning_effort", effort),
            ])
        })
}

fn model_grader() -> impl Strategy<Value = Value> {
    let messages = proptest::collection::vec(message(), 1..3).prop_map(Value::Array);
    let range = (number(-3, 0), number(1, 4)).prop_map(|(lo, hi)| Value::Array(vec![lo, hi]));
    let labels = proptest::sample::subsequence(vec!["good", "bad", "ok"], 1..=3)
        .prop_flat_map(|labels| {
            let n = labels.len();
            (
                Just(labels.clone()),
                proptest::sample::subsequence(labels, 0..=n),
            )
        })
        .prop_map(|(l, p)| (Value::from(l), Value::from(p)));
    (
        common(),
        messages,
        optional(range),
        optional(sampling_params()),
        labels,
        any::<bool>(),
    )
        .prop_flat_map(|(c, input, range, sp, (labels, passing), score)| {
            let mut fields = with(
                c,
                vec![
                    ("model", Some("gpt-4o".into())),
                    ("input", Some(input)),
                    ("sampling_params", sp),
                ],
            );
            if score {
                fields.push(("type", Some("score_model".into())));
                fields.push(("range", range));
            } else {
                fields.push(("type", Some("label_model".into())));
                fields.push(("labels", Some(labels)));
                fields.push(("passing_labels", Some(passing)));
            }
            object(fields)
        })
}

fn leaf(with_python: bool) -> BoxedStrategy<Value> {
    if with_python {
        prop_oneof![string_check(), text_similarity(), model_grader(), python()].boxed()
    } else {
        prop_oneof![string_check(), text_similarity(), model_grader()].boxed()
    }
}

fn multi(with_python: bool) -> impl Strategy<Value = Value> {
    let subs = proptest::collection::vec(leaf(with_python), 1..4);
    (common(), subs, "[+*-]").prop_flat_map(|(c, subs, op)| {
        let keys = ["a", "b-c", "d", "e"];
        let graders: Map<String, Value> = keys
            .iter()
            .zip(subs)
            .map(|(k, g)| (k.to_string(), g))
            .collect();
        // The formula names the identifier keys only ("b-c" is not one).
        let vars: Vec<&str> = graders
            .keys()
            .map(String::as_str)
            .filter(|k| !k.contains('-'))
            .collect();
        let formula = if vars.is_empty() {
            "1".to_string()
        } else {
            vars.join(&format!(" {op} "))
        };
        object(with(
            c,
            vec![
                ("type", Some("multi".into())),
                ("graders", Some(Value::Object(graders))),
                ("calculate_output", Some(formula.into())),
            ],
        ))
    })
}

fn grader(with_python: bool) -> impl Strategy<Value = Value> {
    prop_oneof![leaf(with_python), multi(with_python)]
}

/// The echo as it was built from the raw JSON before: `neq` rewritten `ne` at the top level
/// and in multi sub-graders, everything else as given.
fn as_given(v: &Value) -> Value {
    let mut g = v.clone();
    fn fix(v: &mut Value) {
        if let Value::Object(m) = v {
            if m.get("type").and_then(Value::as_str) == Some("string_check")
                && m.get("operation").and_then(Value::as_str) == Some("neq")
            {
                m.insert("operation".into(), "ne".into());
            }
            if let Some(Value::Object(subs)) = m.get_mut("graders") {
                for (_, s) in subs.iter_mut() {
                    fix(s);
                }
            }
        }
    }
    fix(&mut g);
    g
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn echo_round_trips_and_is_the_grader_as_given(v in grader(true)) {
        let g = Grader::from_value(&v).unwrap();
        let echo = g.to_value();
        prop_assert_eq!(echo.to_string(), as_given(&v).to_string());
        let again = Grader::from_value(&echo).unwrap();
        prop_assert_eq!(&again, &g);
        prop_assert_eq!(again.to_value().to_string(), echo.to_string());
        // Serialize is the echo too.
        prop_assert_eq!(serde_json::to_string(&g).unwrap(), echo.to_string());
    }

    #[test]
    fn validate_adds_the_hashed_name_and_refs_follow_the_fields(v in grader(false)) {
        let opts = EngineOptions::default();
        let echo = validate(&v, &opts).unwrap();
        let mut want = as_given(&v);
        let given_name = v.get("name").and_then(Value::as_str);
        if given_name.is_none() {
            let mut unnamed = want.as_object().unwrap().clone();
            unnamed.shift_remove("name");
            let name = gradekit_engine_name(&Value::Object(unnamed));
            want.as_object_mut().unwrap().insert("name".into(), name.into());
        }
        prop_assert_eq!(echo.to_string(), want.to_string());
        // validate's echo validates to itself.
        prop_assert_eq!(validate(&echo, &opts).unwrap().to_string(), echo.to_string());
        let c = compile(&v, &opts).unwrap();
        prop_assert_eq!(c.name(), echo["name"].as_str().unwrap());
        prop_assert_eq!(c.echo().to_string(), echo.to_string());
        // Every template reference names fields that exist in the echo.
        for r in c.template_refs() {
            for f in &r.fields {
                prop_assert!(resolves(&echo, f), "{} is not a field of {}", f, echo);
            }
        }
    }
}

/// The generated-name rule of DESIGN.md §4, written out: `grader-` + 12 alphanumerics of the
/// SHA-256 of the canonical JSON (keys sorted, no whitespace, `name` left out).
fn gradekit_engine_name(unnamed: &Value) -> String {
    use sha2::{Digest, Sha256};
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let digest = Sha256::digest(canonical_json(unnamed).as_bytes());
    let tail: String = digest
        .iter()
        .take(12)
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect();
    format!("grader-{tail}")
}

/// Whether the config path `graders.b-c.input[1].content[0].text` names a string in `v`.
fn resolves(v: &Value, path: &str) -> bool {
    let mut cur = v;
    for part in path.split('.') {
        let (key, idx) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            match cur.get(key) {
                Some(next) => cur = next,
                None => return false,
            }
        }
        for i in idx.split(['[', ']']).filter(|s| !s.is_empty()) {
            match i.parse::<usize>().ok().and_then(|i| cur.get(i)) {
                Some(next) => cur = next,
                None => return false,
            }
        }
    }
    cur.is_string()
}
