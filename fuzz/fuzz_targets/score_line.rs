//! Any bytes as one `gradekit score` input line: parsing, grading and writing the row never
//! panic (body: `fuzz/bodies.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../bodies.rs"]
mod bodies;

fuzz_target!(|data: &[u8]| bodies::score_line(data));
