//! Cooperative cancellation: work whose answer nobody waits for any more stops early.
//!
//! A server request past its deadline is answered 504 at once, but the grading it started
//! runs on a pool thread that cannot be killed; left alone it keeps its cores (and its slot of
//! the concurrency limit) for as long as the batch takes, and the cheap requests behind it
//! time out too. A [`Cancel`] token is therefore checked between samples of a batch, between
//! the sub-graders of a multi grader and between the frames of a python batch: once it fires,
//! the remaining samples are not graded but answered with `other_error` ("cancelled"), so a
//! batch stops within one sample's cost. A python call still running when the token fires is
//! stopped too (its worker killed, polled about once a second). The token fires when [`Cancel::cancel`] is called
//! (the request was dropped) or when its deadline passes, whichever comes first.
//!
//! Work inside one sample (a metric over long texts) is bounded by the size limits instead;
//! [`Cancel::is_cancelled`] is cheap (an atomic load and, with a deadline, a clock read), so a
//! long loop may also poll it through [`Cancel::checker`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A cancellation token; clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    deadline: Option<Instant>,
}

impl Cancel {
    /// A token that fires only when [`Self::cancel`] is called.
    pub fn new() -> Self {
        Self::default()
    }

    /// A token that also fires at `deadline`.
    pub fn with_deadline(deadline: Instant) -> Self {
        Cancel {
            flag: Arc::default(),
            deadline: Some(deadline),
        }
    }

    /// Fires the token (every clone sees it).
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }

    /// True once the token fired or its deadline passed.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// A `Fn() -> bool` for code that knows nothing of the engine (a metric's long loop):
    /// true when it should stop.
    pub fn checker(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let c = self.clone();
        move || c.is_cancelled()
    }

    /// A guard that fires the token when dropped, unless disarmed: held by the future that
    /// waits for the work, it cancels the work when that future is dropped (client gone,
    /// deadline hit).
    pub fn on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(Some(self.clone()))
    }
}

/// See [`Cancel::on_drop`].
#[derive(Debug)]
pub struct CancelOnDrop(Option<Cancel>);

impl CancelOnDrop {
    /// The work finished: dropping the guard no longer cancels.
    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &self.0 {
            c.cancel();
        }
    }
}

/// The details of a sample that was not graded because its request was cancelled.
pub(crate) const CANCELLED: &str =
    "cancelled: the request was abandoned (deadline passed or client gone) before this sample was graded";

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fires_by_call_by_deadline_and_by_drop() {
        let c = Cancel::new();
        assert!(!c.is_cancelled());
        let clone = c.clone();
        c.cancel();
        assert!(clone.is_cancelled());

        let past = Cancel::with_deadline(Instant::now() - Duration::from_millis(1));
        assert!(past.is_cancelled());
        let later = Cancel::with_deadline(Instant::now() + Duration::from_secs(60));
        assert!(!later.is_cancelled());

        let d = Cancel::new();
        drop(d.on_drop());
        assert!(d.is_cancelled());
        let k = Cancel::new();
        k.on_drop().disarm();
        assert!(!k.is_cancelled());
        assert!(!(Cancel::new().checker())());
    }
}
