//! gradekit — run OpenAI-style fine-tuning graders locally.
//!
//! This facade re-exports the engine and the wire model so that a Rust user needs one
//! dependency:
//!
//! ```
//! use gradekit::{compile, EngineOptions, EvalContext};
//! use serde_json::json;
//!
//! let grader = compile(
//!     &json!({"type": "string_check", "input": "{{ sample.output_text }}",
//!             "reference": "{{ item.answer }}", "operation": "eq"}),
//!     &EngineOptions::default(),
//! )
//! .expect("valid grader");
//! let result = grader.grade(&EvalContext::from_text("Paris", Some(json!({"answer": "Paris"}))));
//! assert_eq!(result.reward, 1.0);
//! ```

pub use gradekit_engine as engine;
pub use gradekit_engine::{
    compile, compile_for_run, run, validate, CompiledGrader, ConfigError, ConfigErrors,
    EngineOptions, ErrorFlags, EvalContext, GradeResult, RunResponse,
};
pub use gradekit_model as model;
