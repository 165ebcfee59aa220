//! Any two strings: every metric, through the checked entry point the engine uses, returns a
//! finite score in [0, 1] (or a limit error) without panicking; below the limits the checked
//! score is the unchecked one.
#![no_main]
use gradekit_metrics::{score, Metric};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str)| {
    let (a, b) = input;
    for m in Metric::ALL {
        if let Ok(s) = score(m, a, b) {
            assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{m}: {s} for {a:?} / {b:?}");
        }
    }
    let unchecked = [
        (Metric::RougeL, gradekit_metrics::rouge::rouge_l(a, b)),
        (Metric::FuzzyMatch, gradekit_metrics::fuzzy::fuzzy_match(a, b)),
    ];
    for (m, s) in unchecked {
        assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{m}: {s}");
        if let Ok(c) = score(m, a, b) {
            assert_eq!(c.to_bits(), s.to_bits(), "{m}");
        }
    }
});
