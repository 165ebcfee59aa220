//! Any bytes as grader JSON (and as a run request): compile, validate and grade never panic
//! (body: `fuzz/bodies.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../bodies.rs"]
mod bodies;

fuzz_target!(|data: &[u8]| bodies::grader(data));
