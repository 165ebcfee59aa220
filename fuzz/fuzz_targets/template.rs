//! Any string: the template parser never panics, and rendering never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|s: &str| {
    if let Ok(t) = gradekit_template::Template::parse(s) {
        let item = json!({"a": [1, {"b": "c"}], "x y": null});
        let sample = json!({"output_text": s});
        let _ = t.render(&gradekit_template::Context { item: &item, sample: &sample });
    }
});
