//! Any string and any values: parse and eval never panic (body: `fuzz/bodies.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../bodies.rs"]
mod bodies;

fuzz_target!(|input: (&str, Vec<f64>)| bodies::formula(input.0, &input.1));
