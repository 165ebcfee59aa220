#![allow(clippy::unwrap_used)]
use super::*;
use proptest::prelude::*;
use serde_json::json;

fn render(t: &str, item: &Value, sample: &Value) -> Result<String, Missing> {
    let t = Template::parse(t).unwrap();
    t.render(&Context { item, sample }).map(|c| c.into_owned())
}

#[test]
fn both_delimiters_and_optional_spaces() {
    let item = json!({"x": "X", "n": {"k": [1, 2]}});
    let s = json!({"output_text": "out"});
    assert_eq!(
        render(
            "{{item.x}}|<<item.x>>|{{  item.x }}|<< sample.output_text>>",
            &item,
            &s
        )
        .unwrap(),
        "X|X|X|out"
    );
    assert_eq!(render("{{ item.n.k[1] }}", &item, &s).unwrap(), "2");
    assert_eq!(
        render("{{ item[\"x\"] }}{{item['x']}}", &item, &s).unwrap(),
        "XX"
    );
}

#[test]
fn values_render_as_compact_json() {
    let item: Value = serde_json::from_str(
        r#"{"f": 1.0, "g": 1.50, "i": 3, "b": true, "z": null, "o": {"b": 1, "a": "é"}, "a": [1, "x"]}"#,
    )
    .unwrap();
    let s = json!({});
    assert_eq!(
        render(
            "{{item.f}} {{item.g}} {{item.i}} {{item.b}} {{item.z}}",
            &item,
            &s
        )
        .unwrap(),
        "1.0 1.5 3 true null"
    );
    assert_eq!(
        render("{{item.o}}", &item, &s).unwrap(),
        r#"{"b":1,"a":"é"}"#
    );
    assert_eq!(render("{{item.a}}", &item, &s).unwrap(), r#"[1,"x"]"#);
    assert_eq!(
        render("{{ item }}", &json!({"k": "v"}), &s).unwrap(),
        r#"{"k":"v"}"#
    );
}

#[test]
fn non_references_stay_literal() {
    let item = json!({"x": "X"});
    let s = json!({});
    for lit in [
        "{{ items.x }}",
        "{{ sample_rate }}",
        "{{ not a var }}",
        "{{}}",
        "<<>>",
        "{ item.x }",
        "{{ item.x",
        "a << b >> c",
    ] {
        assert_eq!(render(lit, &item, &s).unwrap(), lit, "{lit}");
    }
    assert_eq!(render("{{{item.x}}}", &item, &s).unwrap(), "{X}");
    assert_eq!(
        render(r#"{"smiles": "{{item.x}}"}"#, &item, &s).unwrap(),
        r#"{"smiles": "X"}"#
    );
}

#[test]
fn broken_references_are_errors() {
    for bad in [
        "{{ item.x + 1 }}",
        "{{ item. }}",
        "{{ item[ }}",
        "{{ item[x] }}",
        "{{ sample.a b }}",
        "<< item.x) >>",
        "{{ item[-1] }}",
    ] {
        assert!(Template::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn values_are_not_re_expanded() {
    let item = json!({"x": "{{ item.y }}", "y": "Y"});
    assert_eq!(
        render("{{ item.x }}", &item, &json!({})).unwrap(),
        "{{ item.y }}"
    );
}

#[test]
fn missing_paths_name_the_step() {
    let s = json!({"output_tools": []});
    let e = render("{{ sample.output_tools[0].function.name }}", &json!({}), &s).unwrap_err();
    assert_eq!(e.path, "sample.output_tools[0].function.name");
    assert!(
        e.details.contains("sample.output_tools has no element [0]"),
        "{}",
        e.details
    );
    let e = render("{{ item.a.b }}", &json!({"a": "str"}), &s).unwrap_err();
    assert!(e.details.contains("item.a is a string"), "{}", e.details);
    let e = render("{{ item[\"a key\"] }}", &json!({}), &s).unwrap_err();
    assert_eq!(e.path, "item[\"a key\"]");
}

proptest! {
    #[test]
    fn parse_never_panics(s in "\\PC*") {
        if let Ok(t) = Template::parse(&s) {
            let _ = t.render(&Context { item: &json!({"a": [1]}), sample: &json!({}) });
        }
    }

    #[test]
    fn brace_soup_never_panics(s in "[{}<>\\[\\]\"'. itemsaple0-9é]{0,40}") {
        if let Ok(t) = Template::parse(&s) {
            let _ = t.render(&Context { item: &json!({"a": [1]}), sample: &json!({}) });
        }
    }

    #[test]
    fn text_without_delimiters_is_identity(s in "[^{<]*") {
        let t = Template::parse(&s).unwrap();
        prop_assert!(t.is_literal());
        let (item, sample) = (json!({}), json!({}));
        let r = t.render(&Context { item: &item, sample: &sample }).unwrap();
        prop_assert_eq!(r.as_ref(), s.as_str());
    }
}

fn render_lim(t: &str, item: &Value, limit: usize) -> Result<String, RenderError> {
    let t = Template::parse(t).unwrap();
    let s = json!({});
    t.render_limited(&Context { item, sample: &s }, limit)
        .map(|c| c.into_owned())
}

#[test]
fn amplification_is_refused_before_allocating() {
    // 10,000 references to a 1 MB value would render 10 GB; the budget stops it at once.
    let item = json!({"a": "x".repeat(1 << 20)});
    let src = "{{ item.a }}".repeat(10_000);
    let err = render_lim(&src, &item, 16 << 20).unwrap_err();
    match err {
        RenderError::TooLarge { at_least, limit } => {
            assert_eq!(limit, 16 << 20);
            assert!(at_least > limit);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(err_text(&src, &item).contains("16777216"));
}

fn err_text(src: &str, item: &Value) -> String {
    render_lim(src, item, 16 << 20).unwrap_err().to_string()
}

#[test]
fn budget_is_exact_at_the_edge() {
    let item = json!({"a": "abc", "o": {"k": [1, 2]}, "n": 12.5});
    // "abc-abc" is 7 bytes.
    assert_eq!(
        render_lim("{{item.a}}-{{item.a}}", &item, 7).unwrap(),
        "abc-abc"
    );
    assert!(matches!(
        render_lim("{{item.a}}-{{item.a}}", &item, 6),
        Err(RenderError::TooLarge { limit: 6, .. })
    ));
    // Non-string values are measured as their compact JSON: {"k":[1,2]} is 11 bytes.
    assert_eq!(
        render_lim("{{item.o}}", &item, 11).unwrap(),
        r#"{"k":[1,2]}"#
    );
    assert!(render_lim("{{item.o}}", &item, 10).is_err());
    assert!(render_lim("<{{item.o}}>", &item, 12).is_err());
    assert_eq!(
        render_lim("<{{item.o}}>", &item, 13).unwrap(),
        r#"<{"k":[1,2]}>"#
    );
    // A single string reference is borrowed, but still bounded.
    assert!(render_lim("{{item.a}}", &item, 2).is_err());
    // Literals count too.
    assert!(render_lim("abcdef", &item, 5).is_err());
    assert_eq!(render_lim("abcdef", &item, 6).unwrap(), "abcdef");
    // A missing path is still a Missing, not a size error.
    assert!(matches!(
        render_lim("{{item.zz}}", &item, 100),
        Err(RenderError::Missing(_))
    ));
}

/// Numbers of every rendering shape: integers, positional floats, exponent forms, `-0.0`.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(1.5)),
        Just(json!(-0.0)),
        Just(json!(1e-7)),
        Just(json!(1.5e-5)),
        Just(json!(1e16)),
        Just(json!(null)),
        Just(json!(true)),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::from),
    ]
}

proptest! {
    /// Within budget, the bounded rendering equals the unbounded one; over it, it refuses.
    #[test]
    fn limited_agrees_with_unbounded(
        parts in proptest::collection::vec(prop_oneof![
            Just("{{item.s}}".to_string()),
            Just("{{ item.o }}".to_string()),
            Just("{{item.n}}".to_string()),
            "[a-z é]{0,5}",
        ], 0..8),
        s in "[a-zA-Z0-9 é]{0,20}",
        n in number(),
        limit in 0usize..120,
    ) {
        let src = parts.concat();
        let item = json!({"s": s, "o": {"x": [1, "y", n]}, "n": n});
        let full = render(&src, &item, &json!({})).unwrap();
        match render_lim(&src, &item, limit) {
            Ok(r) => {
                prop_assert_eq!(&r, &full);
                prop_assert!(r.len() <= limit);
            }
            Err(RenderError::TooLarge { at_least, .. }) => {
                prop_assert!(full.len() > limit);
                prop_assert!(at_least > limit && at_least <= full.len().max(limit + 1));
            }
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }
}

/// A scope that holds the item's top-level values apart (strings borrowed, others owned per
/// resolution), like the lean scopes of the engine: it must render exactly like the tree.
struct Lean<'a> {
    item: &'a Value,
}

impl Scope for Lean<'_> {
    fn resolve_ref<'s>(&'s self, path: &Path) -> Result<Resolved<'s>, Missing> {
        match path.steps.first() {
            Some(Step::Key(k)) if path.root == Root::Item => match self.item.get(k) {
                Some(Value::String(s)) if path.steps.len() == 1 => Ok(Resolved::Str(s)),
                Some(v) => path.resolve_from(1, v).map(|v| Resolved::Owned(v.clone())),
                None => Err(path.missing_at(0, self.item)),
            },
            _ => {
                let empty = json!({});
                let ctx = Context {
                    item: self.item,
                    sample: &empty,
                };
                path.resolve(&ctx).map(|v| Resolved::Owned(v.clone()))
            }
        }
    }
}

proptest! {
    /// Any scope renders what the JSON tree renders: the same bytes, the same budget answer and
    /// the same missing-path details.
    #[test]
    fn scoped_agrees_with_tree(
        parts in proptest::collection::vec(prop_oneof![
            Just("{{item.s}}".to_string()),
            Just("{{ item.o }}".to_string()),
            Just("{{ item.o.x[1] }}".to_string()),
            Just("{{item.n}}".to_string()),
            Just("{{item.zz}}".to_string()),
            Just("{{item.s.k}}".to_string()),
            Just("{{item.o.x[9]}}".to_string()),
            Just("{{ item }}".to_string()),
            "[a-z é]{0,5}",
        ], 0..6),
        s in "[a-zA-Z0-9 é]{0,20}",
        n in number(),
        limit in 0usize..160,
    ) {
        let src = parts.concat();
        let t = Template::parse(&src).unwrap();
        let item = json!({"s": s, "o": {"x": [1, "y", n]}, "n": n});
        let sample = json!({});
        let tree = t.render_limited(&Context { item: &item, sample: &sample }, limit);
        let scope = Lean { item: &item };
        let lean = t.render_scoped(&scope, limit);
        prop_assert_eq!(tree, lean);
    }
}

#[test]
fn missing_at_an_empty_path_does_not_panic() {
    let p = Path {
        root: Root::Item,
        steps: vec![],
    };
    assert_eq!(p.missing_at(0, &json!(1)).details, "item: not found");
}

/// `single_ref` is the template's reference exactly when the template is that reference and
/// nothing else (no literal around it, not two references).
#[test]
fn single_ref_only_for_a_lone_reference() {
    let path = |t: &str| {
        Template::parse(t)
            .unwrap()
            .single_ref()
            .map(|p| p.to_string())
    };
    assert_eq!(
        path("{{ item.reference }}").as_deref(),
        Some("item.reference")
    );
    assert_eq!(
        path("<<sample.output_text>>").as_deref(),
        Some("sample.output_text")
    );
    assert_eq!(path("{{item.a.b[0]}}").as_deref(), Some("item.a.b[0]"));
    for t in [
        "",
        "x",
        " {{ item.r }}",
        "{{ item.r }} ",
        "{{item.r}}{{item.r}}",
        "{{ other }}",
    ] {
        assert_eq!(path(t), None, "{t:?}");
    }
}

/// The scanner as it was before it remembered closers: a search for the closer from every
/// opener. Quadratic on `{{ {{ … }} }}`, but the plainest statement of the grammar; the
/// one-sweep scanner must agree with it on every input.
fn parse_searching_from_every_opener(src: &str) -> Result<Vec<Segment>, TemplateError> {
    let (bytes, mut segs, mut i, mut lit_start) = (src.as_bytes(), Vec::new(), 0, 0);
    while i + 1 < bytes.len() {
        let close = match (bytes[i], bytes[i + 1]) {
            (b'{', b'{') => "}}",
            (b'<', b'<') => ">>",
            _ => {
                i += 1;
                continue;
            }
        };
        let Some(rel) = src[i + 2..].find(close) else {
            break;
        };
        let end = i + 2 + rel + 2;
        match parse::parse_ref(&src[i + 2..i + 2 + rel]) {
            Ok(Some(path)) => {
                if lit_start < i {
                    segs.push(Segment::Lit(src[lit_start..i].to_string()));
                }
                segs.push(Segment::Ref(path));
                (i, lit_start) = (end, end);
            }
            Ok(None) => i += 1,
            Err(message) => {
                return Err(TemplateError {
                    expression: src[i..end].to_string(),
                    offset: i,
                    message,
                })
            }
        }
    }
    if lit_start < src.len() {
        segs.push(Segment::Lit(src[lit_start..].to_string()));
    }
    Ok(segs)
}

/// Openers that all reach for one far closer, and a closer behind a long run of spaces: each
/// used to cost a scan to the closer per opener (n = 200,000: minutes to compile one grader
/// field, from a 1.2 MB request). They parse in one sweep and render as before.
#[test]
fn many_openers_before_one_closer_parse_in_one_sweep() {
    let n = 200_000;
    let item = json!({"a": "v"});
    for (open, close) in [("{{ ", " }}"), ("<< ", " >>")] {
        let src = format!("{}item.a{}", open.repeat(n), close.repeat(n));
        let want = format!("{}v{}", open.repeat(n - 1), close.repeat(n - 1));
        assert_eq!(render(&src, &item, &json!({})).unwrap(), want);
    }
    let src = format!("{}{}}}}}", "{{x".repeat(n), " ".repeat(n));
    assert!(Template::parse(&src).unwrap().is_literal());
    let src = format!("{}{}item.a }}}}", "{{".repeat(n), "<< ".repeat(n));
    assert!(Template::parse(&src).unwrap().is_literal());
}

proptest! {
    #[test]
    fn one_sweep_agrees_with_searching_from_every_opener(
        s in "[{}<> .\\[\\]\"'itemsaplx0-9é]{0,60}"
    ) {
        prop_assert_eq!(parse::parse(&s), parse_searching_from_every_opener(&s));
    }
}
