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
