//! Grading one chunk of `score`'s input into output rows, in input order.
//!
//! CPU-bound graders take the fused path: each task parses, grades and serialises a run of
//! consecutive lines into its own buffer, so a line's data is touched by one thread and freed
//! where it was made. Python graders (which send many samples per worker frame), graders that
//! call a judge (their own I/O pool) and runs with `--report` (which keeps the rendered inputs
//! of some rows) take the staged path: parse everything, grade the batch, serialise.

use super::line::Parsed;
use super::plan::{Planner, Plans};
use super::read::Chunk;
use super::report;
use super::row::{Outcome, RowWriter};
use gradekit_engine::{CompiledGrader, GradeInput, GradeResult};
use rayon::prelude::*;
use serde_json::Value;
use std::cell::Cell;
use std::time::Instant;

/// Consecutive lines handled by one task: large enough to amortise the scheduling, small
/// enough to balance a chunk over the threads.
const TASK_LINES: usize = 64;

/// The output of a run of consecutive lines: their rows, and per line the result when it was
/// graded (`None` for an error line).
pub struct Part {
    pub text: Vec<u8>,
    pub results: Vec<Option<GradeResult>>,
}

impl Part {
    fn with_lines(n: usize) -> Part {
        Part {
            text: Vec::with_capacity(n * 1200),
            results: Vec::with_capacity(n),
        }
    }
}

/// What one non-blank line became before grading.
pub enum Slot {
    /// Index into the batch of contexts handed to the grader.
    Graded(Option<Value>, usize),
    Invalid(Option<Value>, &'static str, String),
}

/// Parses, grades and serialises the lines of `chunk`: on the current rayon pool when
/// `parallel`, else on this thread alone (no pool: a CPU-bound grader without `--report`).
pub fn process_chunk(
    grader: &CompiledGrader,
    rows: &RowWriter,
    chunk: &Chunk,
    sample_key: Option<&str>,
    report: Option<&mut report::Collector>,
    parallel: bool,
) -> Vec<Part> {
    match report {
        None if !grader.grades_in_batches() => fused(grader, rows, chunk, sample_key, parallel),
        report => staged(grader, rows, chunk, sample_key, report),
    }
}

/// Grades the lines of a chunk read into plans on the reader thread (see [`Plans`]): per line
/// its result, `None` for an error row. Only grading happens here: the rows are written by
/// the writer. `parallel`: on the current rayon pool (else on this thread).
pub fn grade_plans(
    grader: &CompiledGrader,
    planner: &Planner,
    plans: &Plans,
    out: &mut Vec<Option<Outcome>>,
    parallel: bool,
) {
    let n = plans.plans.len();
    // The lines of `range`, graded in turn; the clock is read once per line: the end of one
    // line's grading is the start of the next's, and a clean result comes back as a reward and
    // a time (see `CompiledGrader::grade_compact_since`).
    let run = |range: std::ops::Range<usize>, out: &mut Vec<Option<Outcome>>| {
        let clock = Cell::new(Instant::now());
        let timed = |input: &dyn GradeInput| {
            let mut t = clock.get();
            let r = grader.grade_compact_since(input, &mut t);
            clock.set(t);
            Outcome::from(r)
        };
        for i in range {
            let graded = plans.grade(i, planner, |lean| timed(lean), |ctx| timed(ctx));
            if graded.is_none() {
                // An error row: the next line's time starts now, not at the line before.
                clock.set(Instant::now());
            }
            out.push(graded);
        }
    };
    // (`current_num_threads` outside a pool would start rayon's global pool.)
    if !parallel || rayon::current_num_threads() == 1 {
        out.reserve(n);
        return run(0..n, out);
    }
    let parts: Vec<Vec<Option<Outcome>>> = tasks(n)
        .map(|range| {
            let mut part = Vec::with_capacity(range.len());
            run(range, &mut part);
            part
        })
        .collect();
    out.extend(parts.into_iter().flatten());
}

/// The lines of task `t` of a chunk of `n` lines.
fn task_range(t: usize, n: usize) -> std::ops::Range<usize> {
    t * TASK_LINES..((t + 1) * TASK_LINES).min(n)
}

fn tasks(n: usize) -> impl IndexedParallelIterator<Item = std::ops::Range<usize>> {
    (0..n.div_ceil(TASK_LINES))
        .into_par_iter()
        .map(move |t| task_range(t, n))
}

fn fused(
    grader: &CompiledGrader,
    rows: &RowWriter,
    chunk: &Chunk,
    sample_key: Option<&str>,
    parallel: bool,
) -> Vec<Part> {
    let part = |range: std::ops::Range<usize>| {
        let mut part = Part::with_lines(range.len());
        for i in range {
            let n = chunk.line(i).0;
            match chunk.parse(i, sample_key, grader.sample_parts()) {
                Parsed::Grade { id, ctx } => {
                    let r = grader.grade(&ctx);
                    rows.graded(&mut part.text, n, id.as_ref(), &r);
                    part.results.push(Some(r));
                }
                Parsed::Invalid { id, code, message } => {
                    RowWriter::invalid(&mut part.text, n, id.as_ref(), code, &message);
                    part.results.push(None);
                }
            }
        }
        part
    };
    if !parallel {
        return vec![part(0..chunk.len())];
    }
    tasks(chunk.len()).map(part).collect()
}

fn staged(
    grader: &CompiledGrader,
    rows: &RowWriter,
    chunk: &Chunk,
    sample_key: Option<&str>,
    report: Option<&mut report::Collector>,
) -> Vec<Part> {
    let parsed: Vec<Parsed> = (0..chunk.len())
        .into_par_iter()
        .map(|i| chunk.parse(i, sample_key, grader.sample_parts()))
        .collect();
    let mut ctxs = Vec::with_capacity(parsed.len());
    let slots: Vec<Slot> = parsed
        .into_iter()
        .map(|p| match p {
            Parsed::Grade { id, ctx } => {
                ctxs.push(ctx);
                Slot::Graded(id, ctxs.len() - 1)
            }
            Parsed::Invalid { id, code, message } => Slot::Invalid(id, code, message),
        })
        .collect();
    let results = grader.grade_batch(&ctxs);
    let mut parts: Vec<Part> = tasks(chunk.len())
        .map(|range| {
            let mut part = Part::with_lines(range.len());
            for i in range {
                let n = chunk.line(i).0;
                match &slots[i] {
                    Slot::Graded(id, k) => {
                        rows.graded(&mut part.text, n, id.as_ref(), &results[*k])
                    }
                    Slot::Invalid(id, code, message) => {
                        RowWriter::invalid(&mut part.text, n, id.as_ref(), code, message)
                    }
                }
            }
            part
        })
        .collect();
    if let Some(rep) = report {
        rep.observe(&chunk.lines(), &slots, &ctxs, &results);
    }
    // Hand each graded result to the part that holds its row.
    let mut results = results.into_iter();
    for (t, part) in parts.iter_mut().enumerate() {
        for slot in &slots[task_range(t, slots.len())] {
            part.results.push(match slot {
                Slot::Graded(..) => results.next(),
                Slot::Invalid(..) => None,
            });
        }
    }
    parts
}
