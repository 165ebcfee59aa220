//! Any string and any values: parse and eval never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, Vec<f64>)| {
    let (src, values) = input;
    if let Ok(f) = gradekit_formula::Formula::parse(src, &["a", "b", "c"]) {
        let _ = f.eval(&values);
        let _ = f.referenced_slots();
    }
});
