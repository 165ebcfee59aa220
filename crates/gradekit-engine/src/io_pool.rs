//! Wide thread pools for graders that call a judge.
//!
//! A judge call blocks its thread for the whole round trip while using almost no CPU, so a
//! batch of model-graded samples needs as many threads as judge calls should be in flight
//! (`--judge-concurrency`), not as many as there are cores. One pool per width is built on
//! first use and kept for the process, so repeated batches do not respawn threads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Upper bound on a pool's threads, whatever the configured concurrency.
const MAX_WIDTH: usize = 1024;

/// The shared pool `width` threads wide; `None` when it cannot be built (the caller then uses
/// the current pool: slower, never wrong).
pub(crate) fn pool(width: usize) -> Option<Arc<rayon::ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let width = width.clamp(1, MAX_WIDTH);
    let mut pools = POOLS.get_or_init(Default::default).lock().ok()?;
    if let Some(p) = pools.get(&width) {
        return Some(Arc::clone(p));
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(width)
            .thread_name(|i| format!("gradekit-judge-batch-{i}"))
            .build()
            .ok()?,
    );
    pools.insert(width, Arc::clone(&p));
    Some(p)
}
