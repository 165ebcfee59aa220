//! Any two strings: every metric returns a finite score in [0, 1] without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str)| {
    let (a, b) = input;
    let scores = [
        gradekit_metrics::bleu::bleu(a, b),
        gradekit_metrics::gleu::gleu(a, b),
        gradekit_metrics::meteor::meteor(a, b),
        gradekit_metrics::rouge::rouge_n(a, b, 2),
        gradekit_metrics::rouge::rouge_l(a, b),
        gradekit_metrics::fuzzy::fuzzy_match(a, b),
    ];
    for s in scores {
        assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{s} for {a:?} / {b:?}");
    }
});
