//! fuzzy (in progress).
