//! Compiled graders by content hash: a small bounded LRU whose slots compile at most once.
//!
//! The key is the SHA-256 of the grader's compact JSON *in the order given*. Key order is part
//! of what a grader means to a client — a multi grader's `sub_rewards` follow the order of its
//! `graders` map — so two graders that differ only in key order are two entries, not one
//! (the generated `name` still comes from the sorted canonical form, in the engine).
//!
//! A slot is an async once-cell: the first request compiles (on the blocking pool), concurrent
//! requests for the same grader wait for that compile instead of starting their own. A failed
//! compile leaves the slot empty, so the error is never cached (python compile failures can be
//! transient). Eviction scans for the least recently used slot; with a few hundred slots that
//! costs less than hashing one request, and it only happens on a miss when full.
//!
//! **Weighed as well as counted.** A compiled grader takes ~15× the bytes of its JSON (a
//! 13.5 MB multi of 100,000 sub-graders: ~200 MB), so 256 slots of graders as large as the body
//! limit would hold ~50 GB. Each slot weighs its grader's compact JSON length; the slots
//! together weigh at most [`MAX_CACHED_GRADER_BYTES`] (the least recently used go first), and a
//! grader heavier than that alone is compiled for its request and not kept.
//!
//! Python graders are bounded separately ([`MAX_PYTHON`] slots, LRU among themselves): each holds
//! a worker pool, and a pool lives as long as a compiled grader refers to it. The workers
//! themselves are bounded process-wide by the python runtime (`max_workers`, idle timeout), so a
//! cached pool usually holds no process at all; this bound keeps the pools' own bookkeeping small
//! too, and an evicted grader's pool — with any worker it still has — ends at once.

use crate::error::ApiError;
use gradekit_engine::CompiledGrader;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::OnceCell;

/// Content hash of a grader.
pub type Key = [u8; 32];

/// Python graders kept compiled at once (the rest of the capacity serves the other kinds).
pub const MAX_PYTHON: usize = 64;

/// Bytes of grader JSON (compact) the cached graders may weigh together: 32 MiB, about
/// 500 MB compiled at worst.
pub const MAX_CACHED_GRADER_BYTES: usize = 32 * 1024 * 1024;

/// A compiled grader and how to schedule it.
#[derive(Debug)]
pub struct Compiled {
    pub grader: CompiledGrader,
    /// Grading waits on something other than this CPU (a python worker, a judge call): run
    /// it on the blocking pool, not on the CPU pool.
    pub io_bound: bool,
    /// Holds a python worker pool (counted against [`MAX_PYTHON`]).
    pub python: bool,
}

impl Compiled {
    /// Wraps a compiled grader.
    pub fn new(grader: CompiledGrader) -> Self {
        // Asked of the compiled grader (python anywhere, a multi's sub-graders included).
        let schedule = grader.schedule();
        let python = schedule.python;
        let io_bound = schedule.io_bound();
        Compiled {
            grader,
            io_bound,
            python,
        }
    }
}

/// The SHA-256 of `grader` written as compact JSON, without building the string.
pub fn grader_key(grader: &Value) -> Key {
    hash_grader(Sha256::new(), grader).0
}

/// [`grader_key`] of `grader` for one scope (the caller's project): the same grader sent by
/// two projects is two entries, each compiled with its project's python workers.
pub fn scoped_grader_key(scope: &str, grader: &Value) -> Key {
    scoped_grader_key_and_weight(scope, grader).0
}

/// [`scoped_grader_key`] and the grader's weight in the cache (its compact JSON length).
pub fn scoped_grader_key_and_weight(scope: &str, grader: &Value) -> (Key, usize) {
    let mut h = Sha256::new();
    h.update((scope.len() as u64).to_le_bytes());
    h.update(scope.as_bytes());
    hash_grader(h, grader)
}

fn hash_grader(h: Sha256, grader: &Value) -> (Key, usize) {
    struct HashWriter(Sha256, usize);
    impl std::io::Write for HashWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            self.1 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = HashWriter(h, 0);
    // Writing a `Value` into a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut w, grader);
    (w.0.finalize().into(), w.1)
}

type Cell = Arc<OnceCell<Arc<Compiled>>>;

struct Slot {
    cell: Cell,
    last_used: u64,
    weight: usize,
}

#[derive(Default)]
struct Lru {
    tick: u64,
    slots: HashMap<Key, Slot>,
    /// Sum of the slots' weights.
    weight: usize,
}

impl Lru {
    /// Takes out the least recently used python graders other than `keep` past `max`.
    fn bound_python(&mut self, keep: &Key, max: usize) -> Vec<Slot> {
        let is_py = |s: &Slot| s.cell.get().is_some_and(|c| c.python);
        let mut py: Vec<(u64, Key)> = self
            .slots
            .iter()
            .filter(|(k, s)| *k != keep && is_py(s))
            .map(|(k, s)| (s.last_used, *k))
            .collect();
        let over = (py.len() + 1).saturating_sub(max);
        py.sort_unstable();
        py.into_iter()
            .take(over)
            .filter_map(|(_, k)| self.remove(&k))
            .collect()
    }

    fn remove(&mut self, key: &Key) -> Option<Slot> {
        let s = self.slots.remove(key)?;
        self.weight -= s.weight;
        Some(s)
    }
}

/// Bounded map from grader hash to compiled grader.
pub struct GraderCache {
    capacity: usize,
    max_python: usize,
    max_weight: usize,
    inner: Mutex<Lru>,
}

impl std::fmt::Debug for GraderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraderCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl GraderCache {
    pub fn new(capacity: usize) -> Self {
        GraderCache {
            capacity,
            max_python: MAX_PYTHON,
            max_weight: MAX_CACHED_GRADER_BYTES,
            inner: Mutex::new(Lru::default()),
        }
    }

    /// With another bound on the slots' total weight (tests).
    pub fn with_max_weight(mut self, max: usize) -> Self {
        self.max_weight = max;
        self
    }

    /// The slots' total weight (grader JSON bytes).
    pub fn weight(&self) -> usize {
        self.lock().weight
    }

    /// With another bound on python graders (tests).
    pub fn with_max_python(mut self, max: usize) -> Self {
        self.max_python = max.max(1);
        self
    }

    fn lock(&self) -> MutexGuard<'_, Lru> {
        // A panic while holding this lock leaves the map consistent (no multi-step updates).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Slots holding a compiled grader.
    pub fn len(&self) -> usize {
        self.lock()
            .slots
            .values()
            .filter(|s| s.cell.initialized())
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot of `key`, created if absent (evicting the least recently used slots until
    /// one more fits the capacity and `weight` fits the weight bound); `None` when `weight`
    /// alone is past the bound (the grader is not kept).
    fn slot(&self, key: Key, weight: usize) -> Option<Cell> {
        let mut lru = self.lock();
        lru.tick += 1;
        let tick = lru.tick;
        if let Some(s) = lru.slots.get_mut(&key) {
            s.last_used = tick;
            return Some(s.cell.clone());
        }
        if weight > self.max_weight {
            return None;
        }
        let mut evicted = Vec::new();
        while lru.slots.len() >= self.capacity || lru.weight + weight > self.max_weight {
            let oldest = lru
                .slots
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| *k);
            match oldest.and_then(|k| lru.remove(&k)) {
                Some(s) => evicted.push(s),
                None => break,
            }
        }
        let cell = Cell::default();
        lru.weight += weight;
        lru.slots.insert(
            key,
            Slot {
                cell: cell.clone(),
                last_used: tick,
                weight,
            },
        );
        drop(lru);
        // Dropped outside the lock: a python grader's pool ending kills and reaps its workers.
        drop(evicted);
        Some(cell)
    }

    /// The compiled grader for `key`, compiling it with `compile` (on the blocking pool) when
    /// it is not cached. Concurrent callers with the same key share one compile.
    pub async fn get_or_compile<F>(&self, key: Key, compile: F) -> Result<Arc<Compiled>, ApiError>
    where
        F: FnOnce() -> Result<Compiled, ApiError> + Send + 'static,
    {
        self.get_or_compile_weighed(key, 0, compile).await
    }

    /// [`Self::get_or_compile`] for a grader weighing `weight` (its compact JSON length,
    /// [`scoped_grader_key_and_weight`]): kept only within the cache's weight bound.
    pub async fn get_or_compile_weighed<F>(
        &self,
        key: Key,
        weight: usize,
        compile: F,
    ) -> Result<Arc<Compiled>, ApiError>
    where
        F: FnOnce() -> Result<Compiled, ApiError> + Send + 'static,
    {
        let run = || async move { crate::work::blocking(compile).await?.map(Arc::new) };
        if self.capacity == 0 {
            return run().await;
        }
        let Some(cell) = self.slot(key, weight) else {
            return run().await;
        };
        let compiled = cell.get_or_try_init(run).await.cloned()?;
        if compiled.python {
            let evicted = self.lock().bound_python(&key, self.max_python);
            // Dropped outside the lock: a pool ending kills and reaps its workers.
            drop(evicted);
        }
        Ok(compiled)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gradekit_engine::{compile, EngineOptions};
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn string_check(reference: &str) -> Value {
        json!({"type": "string_check", "name": "s", "input": "{{ sample.output_text }}",
               "reference": reference, "operation": "eq"})
    }

    fn compiled(v: &Value) -> Result<Compiled, ApiError> {
        Ok(Compiled::new(
            compile(v, &EngineOptions::default()).unwrap(),
        ))
    }

    #[test]
    fn key_follows_content_and_key_order() {
        let a = json!({"a": 1, "b": [1, 2]});
        let b = json!({"b": [1, 2], "a": 1});
        assert_eq!(grader_key(&a), grader_key(&a.clone()));
        assert_ne!(grader_key(&a), grader_key(&b));
        assert_ne!(grader_key(&a), grader_key(&json!({"a": 1, "b": [2, 1]})));
        assert_ne!(scoped_grader_key("p", &a), grader_key(&a));
        assert_ne!(scoped_grader_key("p", &a), scoped_grader_key("q", &a));
        assert_eq!(
            scoped_grader_key("p", &a),
            scoped_grader_key("p", &a.clone())
        );
    }

    #[tokio::test]
    async fn compiles_once_and_evicts_the_least_recently_used() {
        let cache = GraderCache::new(2);
        let compiles = Arc::new(AtomicUsize::new(0));
        async fn get(cache: &GraderCache, n: &Arc<AtomicUsize>, r: &str) {
            let v = string_check(r);
            let n = n.clone();
            cache
                .get_or_compile(grader_key(&v), move || {
                    n.fetch_add(1, Ordering::SeqCst);
                    compiled(&v)
                })
                .await
                .unwrap();
        }
        get(&cache, &compiles, "a").await;
        get(&cache, &compiles, "a").await;
        assert_eq!(compiles.load(Ordering::SeqCst), 1);
        get(&cache, &compiles, "b").await;
        get(&cache, &compiles, "a").await; // a is now more recent than b
        get(&cache, &compiles, "c").await; // evicts b
        assert_eq!(cache.len(), 2);
        assert_eq!(compiles.load(Ordering::SeqCst), 3);
        get(&cache, &compiles, "a").await;
        assert_eq!(compiles.load(Ordering::SeqCst), 3);
        get(&cache, &compiles, "b").await;
        assert_eq!(compiles.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_share_one_compile() {
        let cache = Arc::new(GraderCache::new(8));
        let compiles = Arc::new(AtomicUsize::new(0));
        let v = string_check("x");
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, n, v) = (cache.clone(), compiles.clone(), v.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_compile(grader_key(&v), move || {
                        n.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        compiled(&v)
                    })
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(compiles.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let cache = GraderCache::new(4);
        let v = string_check("x");
        let r = cache
            .get_or_compile(grader_key(&v), || {
                Err(ApiError::bad_request("invalid_grader", "nope"))
            })
            .await;
        assert!(r.is_err());
        assert_eq!(cache.len(), 0);
        let v2 = v.clone();
        let ok = cache
            .get_or_compile(grader_key(&v), move || compiled(&v2))
            .await;
        assert!(ok.is_ok());
        assert_eq!(cache.len(), 1);
    }

    #[tokio::test]
    async fn slots_are_bounded_by_their_weight_too() {
        let cache = GraderCache::new(100).with_max_weight(1000);
        let compiles = Arc::new(AtomicUsize::new(0));
        async fn get(cache: &GraderCache, n: &Arc<AtomicUsize>, r: &str) {
            let v = string_check(r);
            let (key, weight) = scoped_grader_key_and_weight("p", &v);
            assert_eq!(weight, serde_json::to_vec(&v).unwrap().len());
            let n = n.clone();
            cache
                .get_or_compile_weighed(key, weight, move || {
                    n.fetch_add(1, Ordering::SeqCst);
                    compiled(&v)
                })
                .await
                .unwrap();
        }
        // Each grader weighs ~100 bytes + its 200-byte reference: three fit in 1000, not four.
        let r = |c: char| c.to_string().repeat(200);
        for c in ['a', 'b', 'c'] {
            get(&cache, &compiles, &r(c)).await;
        }
        assert_eq!(cache.len(), 3);
        get(&cache, &compiles, &r('d')).await; // evicts a, the least recently used
        assert_eq!(cache.len(), 3);
        assert!(cache.weight() <= 1000, "{}", cache.weight());
        assert_eq!(compiles.load(Ordering::SeqCst), 4);
        get(&cache, &compiles, &r('d')).await;
        assert_eq!(compiles.load(Ordering::SeqCst), 4, "d was kept");
        get(&cache, &compiles, &r('a')).await;
        assert_eq!(compiles.load(Ordering::SeqCst), 5, "a was evicted");
        // Heavier than the bound alone: compiled for each request, never kept, nothing evicted.
        let big = "z".repeat(2000);
        get(&cache, &compiles, &big).await;
        get(&cache, &compiles, &big).await;
        assert_eq!(compiles.load(Ordering::SeqCst), 7);
        assert_eq!(cache.len(), 3);
        assert!(cache.weight() <= 1000);
    }

    #[tokio::test]
    async fn python_graders_are_bounded_among_themselves() {
        let cache = GraderCache::new(100).with_max_python(2);
        let fake_python = |r: &str| {
            let v = string_check(r);
            let mut c = compiled(&v).unwrap();
            c.python = true;
            Ok(c)
        };
        for r in ["p1", "p2", "p3"] {
            let r = r.to_string();
            cache
                .get_or_compile(grader_key(&string_check(&r)), move || fake_python(&r))
                .await
                .unwrap();
        }
        let other = string_check("plain");
        let o = other.clone();
        cache
            .get_or_compile(grader_key(&other), move || compiled(&o))
            .await
            .unwrap();
        assert_eq!(cache.len(), 3, "two python graders and the plain one");
        let lru = cache.lock();
        assert!(!lru.slots.contains_key(&grader_key(&string_check("p1"))));
        assert!(lru.slots.contains_key(&grader_key(&string_check("p3"))));
    }
}
