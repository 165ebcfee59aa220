//! Text-similarity metrics as pure functions `(input, reference) -> f64`.
//!
//! (Design essay to be completed when the metrics land: one module per metric, tokenizers
//! shared, reference data compiled in from `data/`.)

pub mod bleu;
mod fasthash;
pub mod fuzzy;
pub mod gleu;
pub mod meteor;
mod ngram;
pub mod rouge;
pub mod tokenize;
pub use tokenize::nltk_tokenize;
