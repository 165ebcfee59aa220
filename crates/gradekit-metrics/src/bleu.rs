//! bleu (in progress).
