//! The tokenizing floor of each metric, for the cost target of issue #17 ("each metric's
//! in-process cost ≤ 2× the cost of tokenizing its two texts"): [`tokenize_pair`] runs only
//! the tokenizer a metric starts with, on both texts, into reused per-thread buffers and
//! without the text cache (`crate::cache`), so it is what a metric could not do without.
//! `examples/metrics_speed.rs` times it next to [`crate::score`].
//!
//! The tokenizer of each metric:
//! * bleu, gleu, meteor: `nltk_tokenize` (Punkt sentences, then Treebank or NIST words);
//! * rouge_1..5, rouge_l: rouge-score's tokenizer (lowercased runs of `[a-z0-9]`);
//! * fuzzy_match: rapidfuzz's `default_process` of both texts and the sorted word split
//!   WRatio's token scorers start from.

use crate::Metric;
use std::cell::RefCell;

#[derive(Default)]
struct Buffers {
    nltk: (crate::tokenize::Tokens, crate::tokenize::Tokens),
    fuzzy: (Vec<u32>, Vec<u32>, Vec<crate::fuzzy::FloorWord>),
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

/// Tokenizes `input` and `reference` as `metric` would before scoring them; returns the
/// number of tokens (so the work cannot be optimised away). Not cached.
#[doc(hidden)]
pub fn tokenize_pair(metric: Metric, input: &str, reference: &str) -> usize {
    BUFFERS.with(|b| {
        let Ok(mut b) = b.try_borrow_mut() else {
            return 0;
        };
        let b = &mut *b;
        match metric {
            Metric::Bleu | Metric::Gleu | Metric::Meteor => {
                crate::tokenize::nltk_tokenize_into(input, &mut b.nltk.0);
                crate::tokenize::nltk_tokenize_into(reference, &mut b.nltk.1);
                b.nltk.0.len() + b.nltk.1.len()
            }
            Metric::RougeN(_) | Metric::RougeL => crate::rouge::tokenize_floor(input, reference),
            Metric::FuzzyMatch => crate::fuzzy::tokenize_floor(input, reference, &mut b.fuzzy),
        }
    })
}
