//! Any string: the template parser and renderer never panic (body: `fuzz/bodies.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../bodies.rs"]
mod bodies;

fuzz_target!(|s: &str| bodies::template(s));
