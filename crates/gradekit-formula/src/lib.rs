//! The multi grader formula language: parse once, evaluate many.
