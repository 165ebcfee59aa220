//! Grading a batch in chunks: conversion under the GIL overlapped with grading without it, and
//! Ctrl-C answered between polls.
//!
//! A batch is cut into chunks of [`CHUNK`] samples. The calling thread converts a chunk's
//! Python objects into contexts (it must hold the GIL for that), hands the chunk to this
//! process's thread pool, and converts the next one while the pool grades — so for cheap
//! graders conversion and grading run at once, and for expensive ones the pool's threads are
//! all busy. While it waits for a chunk, the calling thread releases the GIL and wakes every
//! [`POLL`] to run Python's signal handlers: a `KeyboardInterrupt` (or any exception a handler
//! raises) is returned at once, and the engine's cancellation token stops the chunks in flight
//! before their next sample (python graders: their next frame). Memory stays bounded by two
//! chunks of contexts, however long the batch.

use crate::pool::pool;
use gradekit_engine::{Cancel, CompiledGrader, EvalContext, GradeResult};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// Samples per chunk: large enough that handing a chunk to the pool is noise, small enough that
/// two chunks of contexts are a few MB.
pub const CHUNK: usize = 4096;

/// How often a waiting caller checks for signals.
const POLL: Duration = Duration::from_millis(20);

/// Grades `ctxs` on the calling thread's pool (the caller is inside `pool.install`/`spawn`).
fn grade_all(g: &CompiledGrader, ctxs: &[EvalContext], cancel: &Cancel) -> Vec<GradeResult> {
    g.grade_batch_cancellable(ctxs, cancel)
}

/// Results of a chunk being graded.
type Pending<T> = mpsc::Receiver<Vec<T>>;

/// Grades `n` samples whose contexts `build` makes chunk by chunk (under the GIL), mapping each
/// result with `map` on the pool (so only what the caller keeps crosses back). Results in
/// input order. `width`: the pool's threads for CPU-bound graders.
pub fn run<T, B, M>(
    py: Python<'_>,
    g: &Arc<CompiledGrader>,
    n: usize,
    width: usize,
    mut build: B,
    map: M,
) -> PyResult<Vec<T>>
where
    T: Send + 'static,
    B: FnMut(std::ops::Range<usize>) -> PyResult<Vec<EvalContext>>,
    M: Fn(GradeResult) -> T + Send + Sync + Copy + 'static,
{
    let cancel = Cancel::new();
    let result = run_chunks(py, g, n, width, &mut build, map, &cancel);
    if result.is_err() {
        cancel.cancel(); // stop the chunks still in flight
    }
    result
}

fn run_chunks<T, B, M>(
    py: Python<'_>,
    g: &Arc<CompiledGrader>,
    n: usize,
    width: usize,
    build: &mut B,
    map: M,
    cancel: &Cancel,
) -> PyResult<Vec<T>>
where
    T: Send + 'static,
    B: FnMut(std::ops::Range<usize>) -> PyResult<Vec<EvalContext>>,
    M: Fn(GradeResult) -> T + Send + Sync + Copy + 'static,
{
    // (Judge-calling graders run on the engine's own I/O pool inside the job.)
    let pool = pool(width);
    let mut out: Vec<T> = Vec::with_capacity(n);
    let mut pending: Option<Pending<T>> = None;
    let mut start = 0;
    while start < n {
        let end = n.min(start + CHUNK);
        let ctxs = build(start..end)?;
        start = end;
        let Some(p) = &pool else {
            // No threads to be had: grade here, the GIL released, one chunk at a time.
            let g = Arc::clone(g);
            let c = cancel.clone();
            out.extend(py.detach(move || {
                grade_all(&g, &ctxs, &c)
                    .into_iter()
                    .map(map)
                    .collect::<Vec<_>>()
            }));
            py.check_signals()?;
            continue;
        };
        let (tx, rx) = mpsc::sync_channel(1);
        let (g2, c2) = (Arc::clone(g), cancel.clone());
        p.spawn(move || {
            let r: Vec<T> = grade_all(&g2, &ctxs, &c2).into_iter().map(map).collect();
            let _ = tx.send(r); // the caller may have gone (Ctrl-C): drop the results
        });
        if let Some(prev) = pending.take() {
            out.extend(wait(py, prev)?);
            // As in `run_lean`: a chunk back within one POLL ran no signal handler.
            py.check_signals()?;
        }
        pending = Some(rx);
    }
    if let Some(prev) = pending {
        out.extend(wait(py, prev)?);
    }
    Ok(out)
}

/// Waits for a chunk with the GIL released, checking for signals every [`POLL`].
fn wait<T: Send>(py: Python<'_>, rx: Pending<T>) -> PyResult<Vec<T>> {
    recv_polling(py, rx)
}

/// Receives from `rx` with the GIL released, running signal handlers every [`POLL`] (a
/// receiver is not `Sync`: it moves into the detached closure and back).
fn recv_polling<T: Send>(py: Python<'_>, mut rx: mpsc::Receiver<T>) -> PyResult<T> {
    loop {
        let (got, back) = py.detach(move || {
            let got = rx.recv_timeout(POLL);
            (got, rx)
        });
        rx = back;
        match got {
            Ok(v) => return Ok(v),
            Err(mpsc::RecvTimeoutError::Timeout) => py.check_signals()?,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err(
                    "a grading thread stopped without an answer (a panic in the engine)",
                ))
            }
        }
    }
}

/// Runs `f` on a new thread with the GIL released, checking for signals while it runs: for
/// single long calls (compiling a python grader runs its module in the workers). On an
/// interrupt the thread is left to finish on its own and its result dropped.
pub fn interruptible<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("gradekit-py-call".into())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if spawned.is_err() {
        return Err(PyRuntimeError::new_err("cannot start a thread"));
    }
    recv_polling(py, rx)
}

/// Wall time a chunk of a lean batch aims at: between chunks the calling thread runs Python's
/// signal handlers, so Ctrl-C lands within about this much plus one sample.
const CHUNK_TIME: Duration = Duration::from_millis(20);
/// Bounds of a lean chunk, in samples.
const LEAN_MIN: usize = 256;
const LEAN_MAX: usize = 1 << 16;

/// The next chunk size: as many samples as took [`CHUNK_TIME`] at the last chunk's pace.
fn next_size(took: Duration, samples: usize) -> usize {
    let per = took.as_secs_f64() / samples.max(1) as f64;
    if per > 0.0 {
        ((CHUNK_TIME.as_secs_f64() / per) as usize).clamp(LEAN_MIN, LEAN_MAX)
    } else {
        LEAN_MAX
    }
}

/// A chunk holding a string this long (bytes) leaves the lean path (see [`run_lean`]). One
/// fuzzy_match pair of two 32 KiB texts costs tens of ms; at the metric's limit (~110k
/// characters a side) about half a second, which a scoped chunk would make Ctrl-C wait for.
pub const LEAN_MAX_STR: usize = 32 << 10;

/// Grades a batch read without JSON trees (`lean.rs`), pipelined: while this process's pool
/// (`width` grading threads; the caller is not one of them) grades one chunk with the GIL
/// released, the calling thread reads the next one under the GIL, then waits for the graded
/// chunk with the GIL released, answering signals every [`POLL`]. Reading is the serial part of
/// a batch; overlapping it with grading is what keeps one grading thread at the engine's own
/// pace and lets two grade twice as fast as one. Chunks are sized from the pace of the previous
/// one (see [`CHUNK_TIME`]). Results in input order, `map`ped on the grading threads.
///
/// Returns the results and where it stopped: `batch.len()`, or the start of the first chunk
/// holding a string of [`LEAN_MAX_STR`] bytes or more, which the caller grades through [`run`]
/// instead. Lean contexts borrow from the caller's stack, so their chunk must finish before
/// `run_lean` can return — Ctrl-C waits for the samples in flight; [`run`]'s contexts are
/// owned, its chunks detached, and Ctrl-C returns at once while the pair in flight (a long
/// fuzzy_match) finishes in the background.
pub fn run_lean<T, M>(
    py: Python<'_>,
    g: &CompiledGrader,
    batch: &crate::inputs::Batch<'_>,
    width: usize,
    map: M,
) -> PyResult<(Vec<T>, usize)>
where
    T: Send,
    M: Fn(GradeResult) -> T + Send + Sync + Copy,
{
    use crate::lean::{column_index, Chunk};
    let n = batch.len();
    let keys = g.item_keys().unwrap_or(&[]);
    let parts = g.sample_parts();
    let cols = column_index(batch);
    let cancel = Cancel::new();
    let mut out: Vec<T> = Vec::with_capacity(n);
    let Some(pool) = pool(width) else {
        // No threads to be had: read and grade in turn on this thread, the GIL released.
        let mut start = 0;
        let mut size = LEAN_MIN;
        while start < n {
            let end = n.min(start.saturating_add(size));
            let chunk = Chunk::read(batch, &cols, start..end)?;
            let strs = chunk.strs();
            if chunk.longest(&strs) >= LEAN_MAX_STR {
                return Ok((out, start));
            }
            let fields = chunk.fields(&strs);
            let ctxs = chunk.contexts(&strs, &fields, keys, parts);
            let began = std::time::Instant::now();
            let graded: Vec<T> = py.detach(|| g.grade_inputs_map(&ctxs, None, &cancel, map));
            out.extend(graded);
            py.check_signals()?;
            size = next_size(began.elapsed(), end - start);
            start = end;
        }
        return Ok((out, n));
    };
    let mut size = LEAN_MIN;
    let first = 0..n.min(size);
    let mut cur = Some((Chunk::read(batch, &cols, first.clone())?, first));
    while let Some((chunk, range)) = cur.take() {
        let strs = chunk.strs();
        if chunk.longest(&strs) >= LEAN_MAX_STR {
            return Ok((out, range.start));
        }
        let fields = chunk.fields(&strs);
        let ctxs = chunk.contexts(&strs, &fields, keys, parts);
        let began = std::time::Instant::now();
        let next = range.end..n.min(range.end.saturating_add(size));
        let (tx, rx) = mpsc::sync_channel(1);
        let (read, graded) = pool.in_place_scope(|s| {
            let (ctxs, cancel, pool) = (&ctxs, &cancel, &pool);
            s.spawn(move |_| {
                let _ = tx.send(g.grade_inputs_map(ctxs, Some(pool), cancel, map));
            });
            let read = (!next.is_empty()).then(|| Chunk::read(batch, &cols, next.clone()));
            if matches!(read, Some(Err(_))) {
                cancel.cancel(); // the batch fails: stop grading this chunk
            }
            let graded = recv_polling(py, rx);
            if graded.is_err() {
                cancel.cancel();
            }
            (read, graded)
        });
        out.extend(graded?);
        // A chunk that comes back within one POLL never let `recv_polling` run the signal
        // handlers (chunks aim at CHUNK_TIME, about one POLL): run them between chunks too, or
        // Ctrl-C would wait for a slow chunk or the end of the batch.
        py.check_signals()?;
        size = next_size(began.elapsed(), range.len());
        cur = match read {
            Some(r) => Some((r?, next)),
            None => None,
        };
    }
    Ok((out, n))
}
