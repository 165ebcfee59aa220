//! Compiles grader configs and grades samples.
