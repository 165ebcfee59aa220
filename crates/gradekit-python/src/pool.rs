//! The worker pool of one compiled grader: lazy spawning up to `size` workers, checkout/checkin,
//! frame-level batching, and the recovery rules of research/python-graders.md §5.7:
//!
//! * a sample whose `grade()` was running when its worker died or missed the hard deadline gets a
//!   runtime error and is **not** retried (deterministic crashes would loop);
//! * the other samples of that frame are resubmitted to a fresh worker, at most
//!   [`MAX_ATTEMPTS`] times each (a grader that kills its worker outside `grade()` cannot loop);
//! * a worker is recycled after a `MemoryError`, after [`MAX_CALLS`] calls, and whenever its
//!   state is in doubt; spawn failures back off after [`SPAWN_FAILURES`] in a row.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::worker::{BatchEnd, SpawnError, Spec, Worker};
use crate::PyOutcome;

const MAX_ATTEMPTS: u8 = 3;
const MAX_CALLS: u64 = 1_000_000;
const SPAWN_FAILURES: u32 = 3;
const SPAWN_BACKOFF: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct State {
    idle: Vec<Worker>,
    live: usize,
    next_id: u64,
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
}

pub(crate) fn server_error(kind: &str, details: impl Into<String>) -> PyOutcome {
    PyOutcome::ServerError {
        error_type: kind.to_string(),
        details: details.into(),
    }
}

impl Pool {
    pub fn new(spec: Spec, size: usize, batch: usize, first: Option<Worker>) -> Pool {
        let live = usize::from(first.is_some());
        Pool {
            spec,
            size: size.max(1),
            batch: batch.max(1),
            fatal: None,
            state: Mutex::new(State {
                idle: first.into_iter().collect(),
                live,
                next_id: 1,
                failures: 0,
                last_failure: None,
            }),
            ready: Condvar::new(),
        }
    }

    /// A pool that answers every sample with `outcome` (fail closed).
    pub fn failed(spec: Spec, outcome: PyOutcome) -> Pool {
        let mut p = Pool::new(spec, 1, 1, None);
        p.fatal = Some(outcome);
        p
    }

    pub fn fatal(&self) -> Option<&PyOutcome> {
        self.fatal.as_ref()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn checkout(&self) -> Result<Worker, PyOutcome> {
        if let Some(f) = &self.fatal {
            return Err(f.clone());
        }
        let mut st = self.lock();
        loop {
            if let Some(w) = st.idle.pop() {
                return Ok(w);
            }
            if st.live < self.size {
                if st.failures >= SPAWN_FAILURES {
                    if let Some((at, err)) = &st.last_failure {
                        if at.elapsed() < SPAWN_BACKOFF {
                            return Err(err.clone());
                        }
                    }
                }
                st.live += 1;
                let id = st.next_id;
                st.next_id += 1;
                drop(st);
                let spawned = Worker::spawn(&self.spec, id);
                let mut st = self.lock();
                return match spawned {
                    Ok(w) => {
                        st.failures = 0;
                        Ok(w)
                    }
                    Err(e) => {
                        st.live -= 1;
                        let out = match e {
                            SpawnError::Sandbox(m) => server_error("sandbox_unavailable", m),
                            SpawnError::Spawn(m) => server_error("spawn_failed", m),
                            SpawnError::Compile(_, m) => server_error(
                                "spawn_failed",
                                format!("grader failed to load in a new worker: {m}"),
                            ),
                        };
                        st.failures += 1;
                        st.last_failure = Some((Instant::now(), out.clone()));
                        self.ready.notify_one();
                        Err(out)
                    }
                };
            }
            st = self.ready.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn checkin(&self, w: Worker) {
        let keep = !w.recycle && w.calls < MAX_CALLS;
        let mut st = self.lock();
        if keep {
            st.idle.push(w);
        } else {
            st.live -= 1;
            drop(st);
            drop(w);
        }
        self.ready.notify_one();
    }

    fn discard(&self, w: Worker) {
        drop(w);
        self.lock().live -= 1;
        self.ready.notify_one();
    }

    /// Grades `inputs` in order: frames of up to `batch` pairs, spread over up to `size` workers.
    pub fn grade_batch(&self, inputs: &[(&Value, &Value)]) -> Vec<PyOutcome> {
        if inputs.is_empty() {
            return Vec::new();
        }
        if let Some(f) = &self.fatal {
            return vec![f.clone(); inputs.len()];
        }
        let per = inputs.len().div_ceil(self.size).clamp(1, self.batch);
        let chunks: Vec<&[(&Value, &Value)]> = inputs.chunks(per).collect();
        if chunks.len() == 1 {
            return self.run_chunk(inputs);
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let slots: Vec<Mutex<Vec<PyOutcome>>> =
            chunks.iter().map(|_| Mutex::new(Vec::new())).collect();
        let work = || loop {
            let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(chunk) = chunks.get(c) else { break };
            let r = self.run_chunk(chunk);
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

    /// One frame, with resubmission of the samples a lost worker left unanswered.
    fn run_chunk(&self, pairs: &[(&Value, &Value)]) -> Vec<PyOutcome> {
        let mut out: Vec<Option<PyOutcome>> = vec![None; pairs.len()];
        let mut attempts = vec![0u8; pairs.len()];
        let mut pending: Vec<usize> = (0..pairs.len()).collect();
        let mut frame: Vec<(&Value, &Value)> = Vec::with_capacity(pairs.len());
        while !pending.is_empty() {
            let mut w = match self.checkout() {
                Ok(w) => w,
                Err(e) => {
                    for &i in &pending {
                        out[i] = Some(e.clone());
                    }
                    break;
                }
            };
            frame.clear();
            frame.extend(pending.iter().map(|&i| pairs[i]));
            match w.run_batch(&frame, &self.spec) {
                BatchEnd::Done(records) => {
                    for (rec, &i) in records.into_iter().zip(&pending) {
                        w.recycle |= rec.recycle;
                        out[i] = Some(rec.outcome);
                    }
                    pending.clear();
                    self.checkin(w);
                }
                BatchEnd::Lost { in_flight, details } => {
                    self.discard(w);
                    if let Some(j) = in_flight {
                        let i = pending.remove(j);
                        out[i] = Some(PyOutcome::RuntimeError { details });
                    }
                    pending.retain(|&i| {
                        attempts[i] += 1;
                        if attempts[i] >= MAX_ATTEMPTS {
                            out[i] = Some(server_error(
                                "worker_lost",
                                "the grader's worker died repeatedly outside grade()",
                            ));
                            false
                        } else {
                            true
                        }
                    });
                }
                BatchEnd::Protocol(m) => {
                    self.discard(w);
                    for &i in &pending {
                        out[i] = Some(server_error("protocol_error", m.clone()));
                    }
                    pending.clear();
                }
            }
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| server_error("internal", "no result")))
            .collect()
    }
}
