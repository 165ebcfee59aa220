//! gleu (in progress).
