//! The lean line scan against serde_json's reading: accepted lines, rejected lines, escapes.

#![allow(clippy::unwrap_used)]
use super::*;

fn keys(k: &[&str]) -> Vec<String> {
    k.iter().map(|s| s.to_string()).collect()
}

/// The fields of `line` and the observed item values. Every string the scan copied is the
/// text `push_str` gives its token.
fn fields(line: &str, k: &[&str]) -> Option<(Fields, Vec<Option<Token>>)> {
    let mut scratch = Scratch::default();
    let mut copied = String::from("before");
    match scan(line, &keys(k), &mut scratch, &mut copied) {
        Scan::Fast(f) => {
            let values = scratch.item_values;
            let strings = values.iter().chain([&f.sample]).flatten();
            for t in strings.filter(|t| matches!(t.kind, Kind::Str { .. })) {
                let r = t.text.clone().expect("a string the grader reads is copied");
                assert_eq!(copied[r].to_string(), text(line, t), "{line}");
            }
            assert!(copied.starts_with("before"));
            Some((f, values))
        }
        Scan::Other => None,
    }
}

fn text(line: &str, t: &Token) -> String {
    let mut s = String::new();
    assert!(push_str(line, t, &mut s));
    s
}

/// The strings the grader reads are copied as they are scanned, escapes decoded; the others
/// (the id, keys not observed, the legacy reference answer) are not.
#[test]
fn observed_strings_are_copied_as_they_are_scanned() {
    let line = r#"{"id": "i\\d", "item": {"n": "not \"read\"", "reference": "r\u00e9f \ud83d\ude00 \/\b\f\n\r\t\\ end", "o": 1}, "model_sample": "s\"", "reference_answer": "x"}"#;
    let mut scratch = Scratch::default();
    let mut copied = String::new();
    let Scan::Fast(f) = scan(line, &keys(&["reference", "o"]), &mut scratch, &mut copied) else {
        panic!("fast");
    };
    assert_eq!(copied, "r\u{e9}f \u{1f600} /\u{8}\u{c}\n\r\t\\ ends\"");
    let reference = scratch.item_values[0].as_ref().unwrap();
    assert_eq!(
        copied[reference.text.clone().unwrap()].to_string(),
        text(line, reference)
    );
    assert_eq!(&copied[f.sample.unwrap().text.unwrap()], "s\"");
    assert_eq!(scratch.item_values[1].as_ref().unwrap().text, None);
    assert_eq!(f.id.unwrap().text, None);
    // Samples of every kind of escape, each alone and between plain bytes.
    for esc in [
        r#"\""#,
        r#"\\"#,
        r#"\/"#,
        r#"\b"#,
        r#"\f"#,
        r#"\n"#,
        r#"\r"#,
        r#"\t"#,
        r#"\u0041"#,
        r#"\u00e9"#,
        r#"\u20ac"#,
        r#"\ud83d\ude00"#,
        r#"\u0000"#,
    ] {
        for sample in [
            esc.to_string(),
            format!("a{esc}b"),
            format!("{esc}{esc}é{esc}"),
            "x".repeat(40) + esc,
        ] {
            let line = format!(r#"{{"model_sample": "{sample}", "item": {{"k": "{sample}"}}}}"#);
            fields(&line, &["k"]).unwrap_or_else(|| panic!("fast: {line}"));
        }
    }
}

#[test]
fn the_common_line_is_read_in_one_pass() {
    let plain = r#" {"item": {"reference": "a \"b\" \u00e9\ud83d\ude00", "x": [1, {"y": null}]}, "model_sample": "tab\there", "id": 12} "#;
    // A raw tab between tokens: the byte-by-byte string scan.
    let tabbed = plain.replace(", \"id\"", ",\t\"id\"");
    for line in [plain, &tabbed] {
        let (f, values) = fields(line, &["reference", "nope"]).expect("fast");
        assert_eq!(text(line, f.sample.as_ref().unwrap()), "tab\there");
        let r = values[0].as_ref().unwrap();
        assert_eq!(text(line, r), "a \"b\" \u{e9}\u{1f600}");
        assert_eq!(values[1], None);
        let id = f.id.unwrap();
        assert_eq!((&line[id.span], id.kind), ("12", Kind::SmallUint));
    }
}

#[test]
fn unusual_or_invalid_lines_go_the_established_way() {
    for line in [
        r#"{"model_sample": "a", "model_sample": "b"}"#,
        r#"{"model_sample": "a", "x": {"k": 1, "k": 2}}"#,
        r#"{"model_sample": "a", "x": [{"k": 1, "k": 2}]}"#,
        r#"{"model_sample": "a", "\u0069d": 1}"#,
        r#"{"model_sample": "a", "x": 1e5}"#,
        r#"{"model_sample": "a", "x": 01}"#,
        r#"{"model_sample": "a", "x": 1.}"#,
        r#"{"model_sample": "a", "x": NaN}"#,
        r#"{"model_sample": "\ud800"}"#,
        r#"{"model_sample": "\udc00x"}"#,
        r#"{"model_sample": "\ud800\u0041"}"#,
        r#"{"model_sample": "\x"}"#,
        "{\"model_sample\": \"a\u{1}\"}",
        "{\"model_sample\": \"a\tb\"}",
        r#"{"model_sample": "a\"}"#,
        r#"{"model_sample": "a"} x"#,
        r#"{"model_sample": "a",}"#,
        r#"{"model_sample": "a""#,
        r#"["model_sample"]"#,
        r#"{"model_sample": {"output_text": "a"}}"#,
        r#"{"model_sample": "a", "sample": "b"}"#,
        r#"{"model_sample": null}"#,
        r#"{"item": {}}"#,
        r#"{"model_sample": "a", "item": "ref"}"#,
        r#"{"model_sample": 3}"#,
    ] {
        assert_eq!(fields(line, &["k"]), None, "{line}");
    }
    let deep = format!(
        "{{\"model_sample\": \"a\", \"x\": {}{}}}",
        "[".repeat(MAX_DEPTH + 1),
        "]".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(fields(&deep, &[]), None);
    let ok = format!(
        "{{\"model_sample\": \"a\", \"x\": {}{}}}",
        "[".repeat(MAX_DEPTH - 2),
        "]".repeat(MAX_DEPTH - 2)
    );
    assert!(fields(&ok, &[]).is_some());
}

#[test]
fn null_is_absent_and_the_legacy_reference_counts_only_without_an_item() {
    let (f, _) = fields(
        r#"{"model_sample": null, "sample": "s", "item": null, "reference_answer": "r"}"#,
        &[],
    )
    .unwrap();
    assert!(f.item.is_none() && f.reference_answer.is_some());
    let (f, values) = fields(
        r#"{"sample": "s", "item": {"a": 1}, "reference_answer": "r"}"#,
        &["a"],
    )
    .unwrap();
    assert!(f.reference_answer.is_none());
    assert_eq!(values[0].as_ref().unwrap().kind, Kind::SmallUint);
}

#[test]
fn special_bytes_are_found_in_any_lane() {
    for at in 0..16 {
        for c in [b'"', b'\\', 0, 0x1f] {
            let mut w = [b'a'; 16];
            w[at] = c;
            assert_eq!(special_mask(&w), 1 << at, "{at} {c}");
        }
        let mut w = [0xC3u8; 16];
        w[at] = b' ';
        assert_eq!(special_mask(&w), 0);
    }
    let high: [u8; 16] =
        std::array::from_fn(|k| [0x7f, 0x80, 0xff, 0x21, 0x5b, 0x5d, 0x23, 0x20][k % 8]);
    assert_eq!(special_mask(&high), 0);
    let all: [u8; 16] = std::array::from_fn(|k| [b'"', b'\\', 0, 0x1f][k % 4]);
    assert_eq!(special_mask(&all), 0xffff);
}

/// The first special byte from any start, wherever it is (in a 16-byte block or in the bytes
/// after the last one), or none.
#[test]
fn the_first_special_byte_is_found_from_any_start() {
    for len in 0..70 {
        for at in (0..len).map(Some).chain([None]) {
            for c in [b'"', b'\\', b'\n', 0x01] {
                let mut b: Vec<u8> = (0..len).map(|k| [b'a', 0xC3, 0xA9, b' '][k % 4]).collect();
                if let Some(at) = at {
                    b[at] = c;
                    // A second one after it changes nothing.
                    if at + 3 < len {
                        b[at + 3] = b'"';
                    }
                }
                for from in 0..=len {
                    let want = (from..len).find(|&k| special(b[k]));
                    assert_eq!(special_from(&b, from), want, "{len} {at:?} {from}");
                }
            }
        }
    }
    assert_eq!(special_from(b"ab", 5), None);
}
