//! `gradekit_metrics::warm` in a process of its own: an idle thread's steps do nothing until
//! a metric with tables is expected or called (the lib tests share one process, where other
//! tests call METEOR first).

use gradekit_metrics::{score, warm, Metric};

#[test]
fn steps_wait_for_meteor() {
    // Nothing expected: nothing to map, for any other metric either.
    assert!(!warm::idle_step());
    for m in Metric::ALL.into_iter().filter(|&m| m != Metric::Meteor) {
        warm::expect(m);
        assert!(score(m, "the cat sat", "the cat sat").is_ok());
    }
    assert!(!warm::idle_step());
    // A thread's first METEOR call asks for its tables (as compiling a grader that uses it
    // does, through `warm::expect`).
    assert_eq!(score(Metric::Meteor, "cat", "cat"), Ok(0.5));
    assert!(warm::idle_step());
    while warm::idle_step() {}
    assert!(!warm::idle_step());
}
