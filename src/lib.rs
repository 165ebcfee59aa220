//! gradekit — run OpenAI-style fine-tuning graders locally.
//!
//! This facade re-exports the engine and the wire model so that a Rust user needs one
//! dependency. See `README.md` for the two-command quick start.

pub use gradekit_engine as engine;

pub use gradekit_model as model;
