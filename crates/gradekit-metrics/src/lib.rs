//! Text-similarity metrics of OpenAI's `text_similarity` grader as pure functions
//! `(input, reference) -> f64`, score-identical to the Python libraries the grader is matched
//! against (NLTK 3.9.1, rouge-score 0.1.2, rapidfuzz 3.10.1; research/metrics.md).
//!
//! # Design
//!
//! * **One module per metric** (`bleu`, `gleu`, `meteor`, `rouge`, `fuzzy`), each reproducing
//!   its reference's float operations in the same order, so scores are equal to the bit;
//!   tokenizers are shared (`tokenize` = azure-ai-evaluation's `nltk_tokenize`; rouge and fuzzy
//!   have their own, as their libraries do). Reference data (Punkt, perluniprops, WordNet) is
//!   compiled in from `data/`.
//! * **Exact first, fast second.** Every fast path is checked against an exact port or the
//!   reference itself on the shared vectors, on generated adversarial sets and by property
//!   tests (`tests/`).
//! * **Bounded cost.** [`score`] is the entry point for untrusted input (the engine's): the two
//!   metrics whose exact algorithm is quadratic in the worst case (rouge_l's LCS, fuzzy_match's
//!   Indel and `partial_ratio`) refuse a pair whose cost would pass a fixed limit with a
//!   [`LimitError`]; everything else is linear. See `limits` for the limits and why.
//! * **No allocation per call once warm**: buffers are kept per thread and reused.

pub mod bleu;
mod cache;
mod fasthash;
mod floor;
pub mod fuzzy;
pub mod gleu;
mod limits;
pub mod meteor;
mod ngram;
pub mod rouge;
pub mod tokenize;
#[doc(hidden)]
pub use floor::tokenize_pair;
pub use limits::{
    score, LimitError, Metric, FUZZY_MAX_PARTIAL_CELLS, FUZZY_MAX_STEPS, ROUGE_L_MAX_STEPS,
};
pub use tokenize::nltk_tokenize;
