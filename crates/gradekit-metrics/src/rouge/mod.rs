//! rouge (in progress).
