//! Any two strings: every metric returns a finite score in [0, 1] or a limit error, never a
//! panic (body: `fuzz/bodies.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../bodies.rs"]
mod bodies;

fuzz_target!(|input: (&str, &str)| bodies::metrics(input.0, input.1));
