//! Work a thread with nothing to do can take off the grading thread's hands: mapping the
//! compiled-in tables a metric of this process uses before the grading thread first reads
//! them.
//!
//! Why (#17 "meteor17"): a one-pass `gradekit score` over new text meets most of METEOR's
//! WordNet tables (8 MiB of the executable's read-only data) for the first time. Each first
//! read of a 64 KiB window of them is a page fault (the kernel maps the window's pages from
//! the page cache, ~2 µs here), ~120 of them in a 2,000-pair run, and every first read of a
//! page a TLB fill under nested paging, all on the grading thread, the one that bounds the
//! run. Mapped by another thread, they cost the grading thread only its own TLB fills: in
//! process, the first pass over 2,000 new pairs went from ~4.06 to ~3.62 µs a pair with a
//! second thread reading one byte a page of the tables meanwhile (~0.35 ms of its time).
//!
//! How: a metric that has such tables is announced when a grader using it is compiled
//! ([`expect`]; METEOR also says so at a thread's first call); an idle thread calls [`idle_step`] while it would otherwise
//! wait (`score`'s I/O thread, between reading chunks and writing rows), and each step maps
//! one piece of [`STEP`] bytes — short, so whatever the idle thread waits for is picked up
//! soon. Nothing is asked of a process that never scores METEOR (its steps return at once),
//! nothing is computed, and no value a metric gives depends on it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::meteor::wordnet::WordNet;
use crate::Metric;

/// Set by a thread's first METEOR call: its tables are worth mapping ahead.
static METEOR_USED: AtomicBool = AtomicBool::new(false);

/// The next piece of the tables to map (pieces are taken once per process, by any thread).
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Bytes of the tables one [`idle_step`] maps (64 pages, ~4 fault-around windows: ~10–20 µs).
pub const STEP: usize = 256 << 10;

/// A page (the distance between the bytes a step reads).
const PAGE: usize = 4096;

/// METEOR was called on this thread for the first time (its tables will be read).
pub(crate) fn meteor_used() {
    METEOR_USED.store(true, Ordering::Release);
}

/// This process is about to score `metric` (a grader using it was compiled): its tables are
/// worth mapping ahead from now on, before its first call.
pub fn expect(metric: Metric) {
    if metric == Metric::Meteor {
        meteor_used();
    }
}

/// Maps the next piece of the tables of the metrics this process scores, if any is left;
/// whether it did any work (`false`: nothing to do now — no such metric has been called yet,
/// or every piece is mapped). Call it from a thread that would otherwise wait.
pub fn idle_step() -> bool {
    if !METEOR_USED.load(Ordering::Acquire) {
        return false;
    }
    let tables = WordNet::get().tables();
    let total: usize = tables.iter().map(|t| t.len().div_ceil(STEP)).sum();
    if NEXT.load(Ordering::Relaxed) >= total {
        return false;
    }
    let mut piece = NEXT.fetch_add(1, Ordering::Relaxed);
    for t in tables {
        let n = t.len().div_ceil(STEP);
        if piece < n {
            touch(t.get(piece * STEP..).unwrap_or_default());
            return true;
        }
        piece -= n;
    }
    false
}

/// Reads one byte of every page of the first [`STEP`] bytes of `bytes`.
fn touch(bytes: &[u8]) {
    let end = bytes.len().min(STEP);
    let mut sum = 0u8;
    for at in (0..end).step_by(PAGE) {
        // A read the compiler keeps (the value itself is not needed).
        sum = sum.wrapping_add(std::hint::black_box(bytes.get(at).copied().unwrap_or(0)));
    }
    std::hint::black_box(sum);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minor page faults this thread has taken (`/proc/thread-self/stat`, field 10).
    #[cfg(target_os = "linux")]
    fn thread_faults() -> u64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        after_name
            .split_ascii_whitespace()
            .nth(7)
            .and_then(|f| f.parse().ok())
            .unwrap_or(u64::MAX)
    }

    /// Once METEOR is expected, steps on another thread map every page of the WordNet
    /// tables: reading them afterwards takes this thread no page fault. Fails when a step
    /// maps nothing (or less than its piece), or the steps stop before the last table.
    #[test]
    fn steps_map_every_table_page() {
        expect(Metric::Meteor);
        let steps = std::thread::spawn(|| std::iter::from_fn(|| idle_step().then_some(())).count())
            .join()
            .unwrap_or(0);
        // Every piece is taken once per process (another test may have taken some).
        let pieces: usize = WordNet::get()
            .tables()
            .iter()
            .map(|t| t.len().div_ceil(STEP))
            .sum();
        assert!(steps <= pieces && pieces > 30, "{steps} of {pieces}");
        assert!(!idle_step(), "every piece is mapped");
        #[cfg(target_os = "linux")]
        {
            let read = |tables: &[&[u8]]| {
                let mut sum = 0u64;
                for t in tables {
                    for at in (0..t.len()).step_by(PAGE) {
                        sum += u64::from(std::hint::black_box(t[at]));
                    }
                }
                std::hint::black_box(sum)
            };
            let tables = WordNet::get().tables();
            // The reading code's own pages, and the fault counter's buffers, first.
            read(&[&tables[0][..1]]);
            thread_faults();
            let before = thread_faults();
            read(&tables);
            let faults = thread_faults() - before;
            assert_eq!(faults, 0, "pages not mapped ahead");
        }
    }
}
