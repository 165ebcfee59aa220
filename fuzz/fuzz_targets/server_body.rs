//! Any bytes as a server request body (first byte: the route — run, validate, run_batch, an
//! endpoint grader, get_reward): every answer is JSON, never a 500 or a panic (body:
//! `fuzz/bodies.rs`, driver: `gradekit_server::fuzz`).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../bodies.rs"]
mod bodies;

fuzz_target!(|data: &[u8]| bodies::server_body(data));
