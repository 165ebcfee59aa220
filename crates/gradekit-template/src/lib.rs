//! Grader templates: parsed once, rendered many times.
