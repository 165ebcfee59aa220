//! Thread pools for `grade_batch`, safe across `fork()`.
//!
//! A process that forks keeps only the forking thread: every worker thread of a rayon pool
//! built before the fork is gone in the child, so the first `install` there would wait forever
//! for threads that do not exist. Data loaders and multiprocessing in `fork` mode do exactly
//! that to RL trainers. Hence pools are owned here (never rayon's global pool) and tagged with
//! the pid that built them: a child sees a foreign pid, abandons the inherited pools without
//! dropping them (their destructors would signal threads that do not exist) and builds its own
//! on first use. The lock is held only to look a pool up, never while grading, so a fork in the
//! middle of a batch cannot leave it locked.
//!
//! Pools are kept for the [`MAX_POOLS`] most recently used widths only: every distinct
//! `threads=` (or judge concurrency) would otherwise keep its threads for the life of the
//! process. An evicted pool ends its threads once the batches still using it finish.

use rayon::ThreadPool;
use std::sync::{Arc, Mutex};

/// Upper bound on one pool's threads (I/O-bound judge batches ask for their concurrency).
const MAX_THREADS: usize = 1024;

/// Widths kept at once (most recently used first).
pub const MAX_POOLS: usize = 4;

/// The pid that built them, and (width, pool) most recently used first.
type Pools = (u32, Vec<(usize, Arc<ThreadPool>)>);

static POOLS: Mutex<Option<Pools>> = Mutex::new(None);

/// Threads of a CPU-bound batch when the caller did not say: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// This process's pool `threads` wide; `None` when threads cannot be spawned (the caller then
/// grades on the calling thread: slower, never wrong).
pub fn pool(threads: usize) -> Option<Arc<ThreadPool>> {
    let threads = threads.clamp(1, MAX_THREADS);
    let pid = std::process::id();
    let mut guard = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    if guard.as_ref().is_some_and(|(p, _)| *p != pid) {
        std::mem::forget(guard.take()); // the parent's pools: leak, never touch
    }
    let (_, pools) = guard.get_or_insert_with(|| (pid, Vec::new()));
    if let Some(i) = pools.iter().position(|(w, _)| *w == threads) {
        let hit = pools.remove(i);
        let p = Arc::clone(&hit.1);
        pools.insert(0, hit);
        return Some(p);
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("gradekit-py-{i}"))
            .build()
            .ok()?,
    );
    pools.insert(0, (threads, Arc::clone(&p)));
    let evicted = pools.split_off(pools.len().min(MAX_POOLS));
    drop(guard);
    drop(evicted); // outside the lock: dropping tells their threads to finish
    Some(p)
}
