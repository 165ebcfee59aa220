//! The budget of JSON request bodies held at once (`--max-inflight-body`), counted in KiB.
//!
//! A body holds a [`Share`] of the budget that covers the buffer it is read into, and that
//! buffer grows only as bytes arrive: a request first reserves its declared length up to
//! [`FIRST_STEP`] (what it declares when smaller), and each time the buffer must grow it
//! reserves the next step before allocating it — a step as large as what it already holds,
//! at least [`FIRST_STEP`] and at most [`MAX_STEP`], never past the declared length or the
//! body limit. So a body never holds more than twice what it has sent plus 64 KiB, nor more
//! than 1 MiB beyond it, and the memory of a buffer is always covered by its share.
//!
//! Why not reserve the declared length up front (the rule before): a client that keeps the
//! minimum body rate may take until the request deadline, so 16 clients declaring 16 MiB and
//! sending 64 KiB a second held the whole default budget for minutes while sending almost
//! nothing, and every honest request was refused. Counting what arrived, filling the budget
//! takes sending it.
//!
//! A share is released when it is dropped: when the answer is sent, the body fails, or the
//! client disconnects (the request's future is dropped with it).

use crate::error::ApiError;
use axum::http::StatusCode;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What a body reserves before its first byte: its declared length when smaller.
pub(crate) const FIRST_STEP: usize = 64 << 10;
/// The largest step a body's reservation grows by.
pub(crate) const MAX_STEP: usize = 1 << 20;

/// `n` bytes in KiB (rounded up, at least 1), as permits of the body budget.
pub(crate) fn kib(n: usize) -> usize {
    n.div_ceil(1024).clamp(1, Semaphore::MAX_PERMITS)
}

/// The buffer size a body grows to when it must hold `need` bytes and has room for `cap`:
/// one step more than it holds (see the module docs), never past `limit` (the declared
/// length or the body limit), and never less than `need`.
pub(crate) fn next_capacity(cap: usize, need: usize, limit: usize) -> usize {
    let step = cap.clamp(FIRST_STEP, MAX_STEP);
    need.max(cap.saturating_add(step)).min(limit).max(need)
}

/// The 429 of a request whose body does not fit in what is left of the budget.
pub(crate) fn full(limit: usize) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        Some("server_busy"),
        format!(
            "the server is holding its limit of {limit} bytes of request bodies; retry shortly"
        ),
    );
    e.retry_after = Some(1);
    e
}

/// One request's part of the budget; released when dropped.
pub(crate) struct Share {
    budget: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
    /// The budget in bytes, for the message of [`full`].
    pub(crate) limit: usize,
}

impl Share {
    pub(crate) fn new(budget: Arc<Semaphore>, limit: usize) -> Share {
        Share {
            budget,
            held: None,
            limit,
        }
    }

    /// KiB this share holds.
    pub(crate) fn held_kib(&self) -> usize {
        self.held
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }

    /// Gives back everything this share holds.
    pub(crate) fn release(&mut self) {
        self.held = None;
    }

    /// Makes the share cover `bytes` bytes; false (and nothing taken) when the budget has not
    /// that much left.
    pub(crate) fn cover(&mut self, bytes: usize) -> bool {
        let want = kib(bytes);
        let have = self.held_kib();
        if want <= have {
            return true;
        }
        let Ok(more) = u32::try_from(want - have) else {
            return false;
        };
        match self.budget.clone().try_acquire_many_owned(more) {
            Ok(p) => {
                match &mut self.held {
                    Some(h) => h.merge(p),
                    None => self.held = Some(p),
                }
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_what_is_held() {
        // A small declared body: exactly its length.
        assert_eq!(next_capacity(0, 700, 1000), 1000);
        // Undeclared (limit = the body limit): 64 KiB first, then doubling up to 1 MiB steps.
        let limit = 16 << 20;
        let mut cap = 0;
        let mut caps = Vec::new();
        while cap < limit {
            cap = next_capacity(cap, cap + 1, limit);
            caps.push(cap);
        }
        assert_eq!(
            &caps[..6],
            &[64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20]
        );
        assert_eq!(caps[6], 3 << 20);
        assert_eq!(*caps.last().unwrap_or(&0), limit);
        // A frame larger than a step is held whole.
        assert_eq!(next_capacity(64 << 10, 5 << 20, limit), 5 << 20);
        // Never past the limit, never below what must be held.
        assert_eq!(next_capacity(limit - 10, limit, limit), limit);
        assert_eq!(next_capacity(0, 10, 4), 10);
    }

    #[test]
    fn a_share_takes_only_what_is_left_and_gives_it_back() {
        let budget = Arc::new(Semaphore::new(100));
        let mut a = Share::new(budget.clone(), 100 << 10);
        assert!(a.cover(10 * 1024));
        assert!(a.cover(60 * 1024));
        assert_eq!(a.held_kib(), 60);
        assert!(a.cover(1)); // already covered
        let mut b = Share::new(budget.clone(), 100 << 10);
        assert!(!b.cover(41 * 1024));
        assert_eq!(b.held_kib(), 0, "a refused step takes nothing");
        assert!(b.cover(40 * 1024));
        assert_eq!(budget.available_permits(), 0);
        drop(a);
        assert_eq!(budget.available_permits(), 60);
        drop(b);
        assert_eq!(budget.available_permits(), 100);
    }
}
