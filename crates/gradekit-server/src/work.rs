//! Where CPU work runs: never on the async workers.
//!
//! Two pools, chosen per grader ([`crate::Compiled::io_bound`]):
//! - **rayon** for graders that only compute (string_check, text_similarity, formulas): as many
//!   threads as cores, so 32 concurrent requests queue instead of starting 32 threads that
//!   fight over 2 cores;
//! - **tokio's blocking pool** for work that waits (python workers, judge calls, compiles that
//!   start worker pools, whole batches that block on rayon or on the engine's I/O pool):
//!   waiting must not occupy a CPU thread.
//!
//! A panic in either pool becomes a 500 (rayon would otherwise abort the process).

use crate::error::ApiError;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f` on tokio's blocking pool.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::internal("the grading task failed unexpectedly"))
}

/// Runs `f` on the rayon pool.
pub async fn cpu<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.await {
        Ok(Ok(v)) => Ok(v),
        _ => Err(ApiError::internal("the grading task failed unexpectedly")),
    }
}

/// Runs grading work on the pool that suits it.
pub async fn grade<T, F>(io_bound: bool, f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if io_bound {
        blocking(f).await
    } else {
        cpu(f).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn panics_become_internal_errors() {
        let r: Result<(), _> = cpu(|| panic!("boom")).await;
        assert_eq!(r.err().map(|e| e.status.as_u16()), Some(500));
        let r: Result<(), _> = blocking(|| panic!("boom")).await;
        assert_eq!(r.err().map(|e| e.status.as_u16()), Some(500));
        assert_eq!(grade(false, || 2 + 2).await.ok(), Some(4));
        assert_eq!(grade(true, || 2 + 3).await.ok(), Some(5));
    }
}
