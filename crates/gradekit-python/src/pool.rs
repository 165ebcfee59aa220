//! The worker pool of one compiled grader: lazy spawning up to `size` workers within the
//! process-wide budget (`registry.rs`), checkout/checkin, frame-level batching, and recovery.
//!
//! Recovery (research/python-graders.md §5.7, hardened by issue 12 item 7). When a worker dies,
//! misses its hard deadline or answers something that is not a valid reply, the samples of its
//! frame have no result. The harness notes in a shared page which sample it is running, but that
//! page lives in the worker's memory, where the grader can overwrite it, so it is a *hint*:
//! * a hint is used only when it is consistent (sequence number and index agree);
//! * the hinted sample is re-run **alone**; a sample that breaks a worker while alone in its
//!   frame (inside `grade()`, or with the page overwritten) is the culprit and gets a runtime error (never retried: deterministic crashes would
//!   loop) — except after a hard deadline with a consistent hint, which is trusted (re-running a
//!   hang alone would double the wait);
//! * the other samples are resubmitted together once; samples lost a second time are re-run one
//!   per frame, so an innocent neighbour is only ever blamed for what it does alone;
//! * at most [`MAX_ATTEMPTS`] losses per sample, then `worker_lost`.
//!
//! A worker is recycled after a `MemoryError`, after [`MAX_CALLS`] calls, when its scratch
//! directory passes its quota, and whenever its state is in doubt; the reaper ends idle ones
//! (`registry.rs`). Spawn failures back off after [`SPAWN_FAILURES`] in a row.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::registry;
use crate::worker::{BatchEnd, Hint, SpawnError, Spec, Worker};
use crate::PyOutcome;

const MAX_ATTEMPTS: u8 = 3;
const MAX_CALLS: u64 = 1_000_000;
const SPAWN_FAILURES: u32 = 3;
const SPAWN_BACKOFF: Duration = Duration::from_secs(2);
/// How long a checkout waits for a check-in before asking the budget again.
const BUDGET_WAIT: Duration = Duration::from_millis(50);

#[derive(Debug)]
struct State {
    idle: Vec<Worker>,
    live: usize,
    failures: u32,
    last_failure: Option<(Instant, PyOutcome)>,
}

#[derive(Debug)]
pub(crate) struct Pool {
    spec: Spec,
    size: usize,
    batch: usize,
    /// Set when the pool can never work (sandbox unavailable): every sample gets this outcome.
    fatal: Option<PyOutcome>,
    state: Mutex<State>,
    ready: Condvar,
    last_used: AtomicU64,
}

pub(crate) fn server_error(kind: &str, details: impl Into<String>) -> PyOutcome {
    PyOutcome::ServerError {
        error_type: kind.to_string(),
        details: details.into(),
    }
}

fn spawn_outcome(e: SpawnError) -> PyOutcome {
    match e {
        SpawnError::Sandbox(m) => server_error("sandbox_unavailable", m),
        SpawnError::Spawn(m) => server_error("spawn_failed", m),
        SpawnError::Busy => server_error("internal", "no worker available"),
        SpawnError::Compile(_, m) => server_error(
            "spawn_failed",
            format!("grader failed to load in a new worker: {m}"),
        ),
    }
}

impl Pool {
    fn build(spec: Spec, size: usize, batch: usize, fatal: Option<PyOutcome>) -> Pool {
        Pool {
            spec,
            size: size.max(1),
            batch: batch.max(1),
            fatal,
            state: Mutex::new(State {
                idle: Vec::new(),
                live: 0,
                failures: 0,
                last_failure: None,
            }),
            ready: Condvar::new(),
            last_used: AtomicU64::new(registry::tick()),
        }
    }

    /// A pool registered with the process budget, with no worker yet.
    pub fn new(spec: Spec, size: usize, batch: usize) -> Arc<Pool> {
        let pool = Arc::new(Pool::build(spec, size, batch, None));
        registry::current().register(&pool);
        pool
    }

    /// A pool that answers every sample with `outcome` (fail closed).
    pub fn failed(spec: Spec, outcome: PyOutcome) -> Arc<Pool> {
        Arc::new(Pool::build(spec, 1, 1, Some(outcome)))
    }

    pub fn fatal(&self) -> Option<&PyOutcome> {
        self.fatal.as_ref()
    }

    pub fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the first worker (validating the grader in it) and keeps it idle; nothing to do
    /// when the pool already has an idle worker.
    pub fn warm(&self) -> Result<(), SpawnError> {
        match self.spawn_one() {
            Ok(w) => {
                self.checkin(w);
                Ok(())
            }
            Err(SpawnError::Busy) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Reserves a place in this pool and in the process budget, then spawns. Waits while the
    /// pool is full or the budget is spent and nothing can be evicted; `Busy` when a worker of
    /// this pool became idle meanwhile (take that one instead).
    fn spawn_one(&self) -> Result<Worker, SpawnError> {
        let proc = registry::current();
        loop {
            {
                let mut st = self.lock();
                while st.live >= self.size {
                    if !st.idle.is_empty() {
                        return Err(SpawnError::Busy);
                    }
                    st = self.ready.wait(st).unwrap_or_else(|p| p.into_inner());
                }
            }
            let slot = proc.try_acquire(self, self.size);
            let mut st = self.lock();
            match slot {
                Some(slot) if st.live < self.size => {
                    st.live += 1;
                    drop(st);
                    let spawned = Worker::spawn(&self.spec, slot);
                    if spawned.is_err() {
                        self.lock().live -= 1;
                        self.ready.notify_one();
                    }
                    return spawned;
                }
                Some(slot) => {
                    drop(st);
                    drop(slot);
                }
                None => {
                    if st.idle.is_empty() {
                        st = self
                            .ready
                            .wait_timeout(st, BUDGET_WAIT)
                            .unwrap_or_else(|p| p.into_inner())
                            .0;
                    }
                    if !st.idle.is_empty() {
                        return Err(SpawnError::Busy);
                    }
                }
            }
        }
    }

    fn checkout(&self) -> Result<Worker, PyOutcome> {
        if let Some(f) = &self.fatal {
            return Err(f.clone());
        }
        self.last_used.store(registry::tick(), Ordering::Relaxed);
        loop {
            {
                let mut st = self.lock();
                if let Some(w) = st.idle.pop() {
                    return Ok(w);
                }
                if st.failures >= SPAWN_FAILURES {
                    if let Some((at, err)) = &st.last_failure {
                        if at.elapsed() < SPAWN_BACKOFF {
                            return Err(err.clone());
                        }
                    }
                }
            }
            match self.spawn_one() {
                Ok(w) => {
                    self.lock().failures = 0;
                    return Ok(w);
                }
                Err(SpawnError::Busy) => continue,
                Err(e) => {
                    let out = spawn_outcome(e);
                    let mut st = self.lock();
                    st.failures += 1;
                    st.last_failure = Some((Instant::now(), out.clone()));
                    return Err(out);
                }
            }
        }
    }

    fn checkin(&self, mut w: Worker) {
        let keep = !w.recycle && w.calls < MAX_CALLS && !w.over_quota_due(&self.spec);
        if keep {
            w.idle_since = Instant::now();
            w.cpu_mark = None;
            self.lock().idle.push(w);
        } else {
            self.lock().live -= 1;
            drop(w);
        }
        self.ready.notify_one();
    }

    fn discard(&self, w: Worker) {
        drop(w);
        self.lock().live -= 1;
        self.ready.notify_one();
    }

    /// Takes the longest-idle worker out of the pool (for the budget's LRU eviction).
    pub fn evict_oldest_idle(&self) -> Option<Worker> {
        let mut st = self.lock();
        if st.idle.is_empty() {
            return None;
        }
        let w = st.idle.remove(0);
        st.live -= 1;
        drop(st);
        self.ready.notify_one();
        Some(w)
    }

    /// The reaper's visit: ends idle workers past the idle timeout, spinning while idle, or over
    /// their scratch quota.
    pub fn reap(&self, now: Instant) {
        let mut gone = Vec::new();
        {
            let mut st = self.lock();
            let mut i = 0;
            while i < st.idle.len() {
                if st.idle[i].idle_verdict(now, &self.spec) {
                    gone.push(st.idle.remove(i));
                    st.live -= 1;
                } else {
                    i += 1;
                }
            }
        }
        if !gone.is_empty() {
            drop(gone);
            self.ready.notify_all();
        }
    }

    /// Grades `inputs` in order: frames of up to `batch` pairs, spread over up to `size` workers.
    pub fn grade_batch(
        &self,
        inputs: &[(&Value, &Value)],
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Vec<PyOutcome> {
        if inputs.is_empty() {
            return Vec::new();
        }
        if let Some(f) = &self.fatal {
            return vec![f.clone(); inputs.len()];
        }
        let per = inputs.len().div_ceil(self.size).clamp(1, self.batch);
        let chunks: Vec<&[(&Value, &Value)]> = inputs.chunks(per).collect();
        if chunks.len() == 1 {
            return self.run_chunk(inputs, stop);
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let slots: Vec<Mutex<Vec<PyOutcome>>> =
            chunks.iter().map(|_| Mutex::new(Vec::new())).collect();
        let work = || loop {
            let c = next.fetch_add(1, Ordering::Relaxed);
            let Some(chunk) = chunks.get(c) else { break };
            let r = self.run_chunk(chunk, stop);
            if let Some(slot) = slots.get(c) {
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = r;
            }
        };
        let helpers = self.size.min(chunks.len()) - 1;
        std::thread::scope(|s| {
            for _ in 0..helpers {
                s.spawn(work);
            }
            work();
        });
        let mut out = Vec::with_capacity(inputs.len());
        for (slot, chunk) in slots.into_iter().zip(&chunks) {
            let v = slot.into_inner().unwrap_or_else(|p| p.into_inner());
            if v.len() == chunk.len() {
                out.extend(v);
            } else {
                out.extend(
                    chunk
                        .iter()
                        .map(|_| server_error("internal", "a grading thread panicked")),
                );
            }
        }
        out
    }

    /// One chunk, with the recovery rules of the module docs.
    fn run_chunk(
        &self,
        pairs: &[(&Value, &Value)],
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Vec<PyOutcome> {
        let mut out: Vec<Option<PyOutcome>> = vec![None; pairs.len()];
        let mut attempts = vec![0u8; pairs.len()];
        let mut queue: VecDeque<Vec<usize>> = VecDeque::from([(0..pairs.len()).collect()]);
        let mut frame: Vec<(&Value, &Value)> = Vec::with_capacity(pairs.len());
        while let Some(idx) = queue.pop_front() {
            if stop() {
                for &i in idx.iter().chain(queue.iter().flatten()) {
                    out[i] = Some(cancelled());
                }
                break;
            }
            let mut w = match self.checkout() {
                Ok(w) => w,
                Err(e) => {
                    for &i in idx.iter().chain(queue.iter().flatten()) {
                        out[i] = Some(e.clone());
                    }
                    break;
                }
            };
            frame.clear();
            frame.extend(idx.iter().map(|&i| pairs[i]));
            match w.run_batch(&frame, &self.spec, stop) {
                BatchEnd::Cancelled => {
                    self.discard(w);
                    for &i in idx.iter().chain(queue.iter().flatten()) {
                        out[i] = Some(cancelled());
                    }
                    break;
                }
                BatchEnd::Done(records) => {
                    for (rec, &i) in records.into_iter().zip(&idx) {
                        w.recycle |= rec.recycle;
                        out[i] = Some(rec.outcome);
                    }
                    self.checkin(w);
                }
                BatchEnd::Refused(m) => {
                    self.checkin(w);
                    for &i in &idx {
                        out[i] = Some(server_error("protocol_error", m.clone()));
                    }
                }
                BatchEnd::Lost {
                    hint,
                    details,
                    trusted,
                } => {
                    self.discard(w);
                    recover(
                        &idx,
                        hint,
                        trusted,
                        details,
                        &mut attempts,
                        &mut out,
                        &mut queue,
                    );
                }
            }
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| server_error("internal", "no result")))
            .collect()
    }
}

/// The outcome of a sample given up because its caller stopped waiting.
fn cancelled() -> PyOutcome {
    server_error(
        "cancelled",
        "the caller stopped waiting (request deadline passed or client gone); the worker was stopped",
    )
}

/// Decides what happens to the samples of a lost frame `idx` (see the module docs).
fn recover(
    idx: &[usize],
    hint: Hint,
    trusted: bool,
    details: String,
    attempts: &mut [u8],
    out: &mut [Option<PyOutcome>],
    queue: &mut VecDeque<Vec<usize>>,
) {
    let culprit = match hint {
        Hint::InFlight(j) => idx.get(j).copied(),
        Hint::NotStarted | Hint::Unknown => None,
    };
    // Alone in its frame, a sample whose grade() started (or whose code scribbled over the
    // page, which only grader code can do) broke the worker itself.
    if let ([i], Hint::InFlight(_) | Hint::Unknown) = (idx, hint) {
        out[*i] = Some(PyOutcome::RuntimeError { details });
        return;
    }
    let mut rest = Vec::with_capacity(idx.len());
    for &i in idx {
        attempts[i] += 1;
        if Some(i) == culprit {
            if trusted {
                out[i] = Some(PyOutcome::RuntimeError {
                    details: details.clone(),
                });
            } else {
                queue.push_back(vec![i]);
            }
        } else if attempts[i] >= MAX_ATTEMPTS {
            out[i] = Some(server_error(
                "worker_lost",
                format!("the grader's worker was lost {MAX_ATTEMPTS} times while this sample waited; last: {details}"),
            ));
        } else {
            rest.push(i);
        }
    }
    if rest.is_empty() {
        return;
    }
    if rest.len() > 1 && rest.iter().all(|&i| attempts[i] < 2) {
        queue.push_back(rest);
    } else {
        queue.extend(rest.into_iter().map(|i| vec![i]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        idx: &[usize],
        hint: Hint,
        trusted: bool,
        attempts: &mut [u8],
    ) -> (Vec<Option<PyOutcome>>, Vec<Vec<usize>>) {
        let mut out = vec![None; attempts.len()];
        let mut q = VecDeque::new();
        recover(
            idx,
            hint,
            trusted,
            "boom".into(),
            attempts,
            &mut out,
            &mut q,
        );
        (out, q.into_iter().collect())
    }

    #[test]
    fn a_hinted_sample_is_confirmed_alone_and_the_rest_retried_together() {
        let mut a = [0u8; 4];
        let (out, q) = run(&[0, 1, 2, 3], Hint::InFlight(1), false, &mut a);
        assert!(out.iter().all(Option::is_none));
        assert_eq!(q, vec![vec![1], vec![0, 2, 3]]);
        // Lost again (the hint pointed at an innocent sample): everyone alone from now on.
        let (out, q) = run(&[0, 2, 3], Hint::Unknown, false, &mut a);
        assert!(out.iter().all(Option::is_none));
        assert_eq!(q, vec![vec![0], vec![2], vec![3]]);
        // Alone and in grade(): the culprit.
        let (out, q) = run(&[2], Hint::InFlight(0), false, &mut a);
        assert!(matches!(out[2], Some(PyOutcome::RuntimeError { .. })));
        assert!(q.is_empty());
    }

    #[test]
    fn trusted_hints_and_the_attempt_limit() {
        let mut a = [0u8; 3];
        let (out, q) = run(&[0, 1, 2], Hint::InFlight(2), true, &mut a);
        assert!(matches!(out[2], Some(PyOutcome::RuntimeError { .. })));
        assert_eq!(q, vec![vec![0, 1]]);
        // Never in grade() (dies while decoding, say): retried, then worker_lost.
        let mut a = [0u8; 1];
        for _ in 0..2 {
            let (out, q) = run(&[0], Hint::NotStarted, false, &mut a);
            assert!(out[0].is_none());
            assert_eq!(q, vec![vec![0]]);
        }
        let (out, q) = run(&[0], Hint::NotStarted, false, &mut a);
        assert!(
            matches!(&out[0], Some(PyOutcome::ServerError { error_type, .. }) if error_type == "worker_lost")
        );
        assert!(q.is_empty());
    }
}
